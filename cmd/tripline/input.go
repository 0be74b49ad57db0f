package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/ingest/k8saudit"
	"github.com/tripline/tripline/mapping"
)

// inputFlags are the flags every command that reads events shares.
type inputFlags struct {
	inputFormat string
	index       string
	mappings    []string
	follow      bool
	maxLateness time.Duration
	maxFuture   time.Duration
	maxPending  int
	progress    string
}

// inputUse says which command registers the input flags: their meaning differs a little.
type inputUse uint8

const (
	forQuery  inputUse = iota // files or stdin, one index per file
	forDetect                 // files or stdin, index routing to rules
	forServe                  // HTTP requests: always streaming, the request names the index
)

func (f *inputFlags) register(fs *pflag.FlagSet, use inputUse) {
	fs.StringVar(&f.inputFormat, "input-format", "auto", "auto, ecs or k8s-audit: auto turns raw kube-apiserver audit records (Event, EventList, AKS or GKE envelopes) into ECS documents and leaves other documents alone; k8s-audit reports and skips whatever is not an audit record")
	fs.StringArrayVar(&f.mappings, "mapping", nil, "Elasticsearch mapping file giving field types, {\"properties\":...} or {\"mappings\":{...}} (repeatable; merged)")
	fs.IntVar(&f.maxPending, "max-pending", 0, "most partial sequences a sequence without maxspan keeps, per query (0: 1,000,000)")
	switch use {
	case forServe:
		f.progress = "never"
		fs.DurationVar(&f.maxLateness, "max-lateness", 5*time.Second, "how late an event may arrive and still be put in timestamp order")
		fs.DurationVar(&f.maxFuture, "max-future", defaultMaxFuture, maxFutureHelp)
		return
	case forQuery:
		fs.StringVar(&f.index, "index", "", "index name of every event, as _index in --format es (default: the file name without extensions, \"stdin\" for standard input)")
	case forDetect:
		fs.StringVar(&f.index, "index", "", "index name of every event, matched against the rules' index patterns (default: the document's _index, else data_stream.type-dataset-namespace, else none: offered to every rule)")
	}
	fs.BoolVar(&f.follow, "follow", false, "keep reading the last input as it grows (like tail -f) and match in arrival order until interrupted")
	fs.DurationVar(&f.maxLateness, "max-lateness", 5*time.Second, "with --follow: how late an event may arrive and still be put in timestamp order")
	if use == forDetect {
		fs.DurationVar(&f.maxFuture, "max-future", defaultMaxFuture, "with --follow or a stream: "+maxFutureHelp)
	}
	fs.StringVar(&f.progress, "progress", "auto", "progress on stderr: auto (when stderr is a terminal and every input is a file), always or never")
}

// defaultMaxFuture is --max-future's default: more than any clock skew between hosts that
// keep time, less than the smallest time-zone error (a local time written as UTC), and the
// default interval of a Kibana rule.
const defaultMaxFuture = 5 * time.Minute

const maxFutureHelp = "how far ahead of this machine's clock an event may be stamped: an event further ahead is refused and reported; one less far ahead is put in order but moves event time no further than the clock, so that it makes no later event too late (0: no bound)"

func (f *inputFlags) validate() error {
	switch f.inputFormat {
	case "auto", "ecs", "k8s-audit":
	default:
		return fmt.Errorf("unknown --input-format %q (want auto, ecs or k8s-audit)", f.inputFormat)
	}
	switch f.progress {
	case "auto", "always", "never":
	default:
		return fmt.Errorf("unknown --progress %q (want auto, always or never)", f.progress)
	}
	if f.maxLateness < 0 {
		return fmt.Errorf("--max-lateness must not be negative")
	}
	if f.maxFuture < 0 {
		return fmt.Errorf("--max-future must not be negative")
	}
	return nil
}

// loadMapping reads and merges the --mapping files; nil when there are none.
func (f *inputFlags) loadMapping() (*mapping.Mapping, error) {
	var ms []*mapping.Mapping
	for _, path := range f.mappings {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		mm, err := mapping.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ms = append(ms, mm)
	}
	if len(ms) == 0 {
		return nil, nil
	}
	return mapping.Merge(ms...)
}

// newAuditNormalizer returns the normaliser of raw Kubernetes audit records the commands
// use: @timestamp from stageTimestamp and event.ingested from stageTimestamp truncated to
// seconds, a reproducible stand-in for the ingest time Elastic's pipeline would set (rules
// such as the prebuilt Kubernetes ones order events by event.ingested).
func newAuditNormalizer() *k8saudit.Normalizer {
	return k8saudit.New(k8saudit.Options{Timestamp: k8saudit.TimestampStage, Ingested: k8saudit.IngestedStage})
}

// toECS appends to dst the documents one input record stands for: the record itself, or,
// when it is a raw Kubernetes audit record (recognised with --input-format auto, assumed
// with k8s-audit), the ECS documents it becomes; normalized says which. An error names a
// record that could not be normalised; for an EventList the valid items are still in dst.
func toECS(doc []byte, inputFormat string, norm *k8saudit.Normalizer, dst [][]byte) (docs [][]byte, normalized bool, err error) {
	if inputFormat != "k8s-audit" && !(inputFormat == "auto" && k8saudit.Detect(doc)) {
		return append(dst, doc), false, nil
	}
	docs, err = norm.Normalize(doc, dst)
	return docs, true, err
}

// inputStats count what the input side read and skipped.
type inputStats struct {
	// Records counts the records read (lines, or objects of a JSON array), malformed ones
	// included; Malformed those skipped because they were not JSON objects or not valid
	// audit records; Normalized the ECS documents made from raw audit records.
	Records    int64 `json:"records"`
	Malformed  int64 `json:"malformed"`
	Normalized int64 `json:"k8s_audit_normalized"`
	Bytes      int64 `json:"bytes"`
	// Future counts the events refused because they were stamped further ahead of the
	// clock than --max-future; Unsupported the update and delete actions serve refused.
	Future      int64 `json:"future,omitempty"`
	Unsupported int64 `json:"unsupported_actions,omitempty"`
}

// docFunc receives one JSON document with where it came from: its source and line, and its
// byte offset in the file source when it can be read there again (else -1). doc is valid
// during the call only.
type docFunc func(doc []byte, source string, line int, offset int64) error

// readDocs reads every input (files, "-" for standard input; none means standard input),
// normalises raw Kubernetes audit records when asked, and calls fn for each document. A
// malformed record is reported on stderr as FILE:LINE: reason and skipped. It returns when
// the input ends (or, with --follow, when ctx is cancelled).
func readDocs(ctx context.Context, paths []string, f *inputFlags, stdin io.Reader, stderr io.Writer, fn docFunc) (inputStats, error) {
	var st inputStats
	paths, err := expandPaths(paths)
	if err != nil {
		return st, err
	}
	r := ingest.NewReader(ctx, paths, ingest.Options{Follow: f.follow, Stdin: stdin,
		Notice: func(msg string) { fmt.Fprintf(stderr, "tripline: %s\n", msg) }})
	defer r.Close()
	prog := newProgress(stderr, f.progress, r, paths)
	defer prog.done()
	auditNorm := newAuditNormalizer()
	var norm [][]byte
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var le *ingest.LineError
			if errors.As(err, &le) {
				st.Records++
				st.Malformed++
				fmt.Fprintf(stderr, "%v (skipped)\n", le)
				continue
			}
			if ctx.Err() != nil && f.follow {
				break
			}
			return st, err
		}
		st.Records++
		prog.tick(st.Records)
		var normalized bool
		norm, normalized, err = toECS(rec.Doc, f.inputFormat, auditNorm, norm[:0])
		if err != nil {
			// For an EventList the valid items are still in norm.
			st.Malformed++
			fmt.Fprintf(stderr, "%s:%d: %v (skipped)\n", rec.Source, rec.Line, err)
		}
		if normalized {
			st.Normalized += int64(len(norm))
		}
		offset := rec.Offset
		if normalized { // made from the record: not in the file as it is
			offset = -1
		}
		for _, doc := range norm {
			if err := fn(doc, rec.Source, rec.Line, offset); err != nil {
				return st, err
			}
		}
	}
	st.Bytes = r.BytesRead()
	return st, nil
}

// eventFileExts are the file names a directory argument contributes, in lexical order.
var eventFileExts = []string{".ndjson", ".jsonl", ".json", ".log", ".gz"}

// expandPaths replaces each directory by the event files below it (recursively, in lexical
// order); no path at all means standard input.
func expandPaths(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return []string{"-"}, nil
	}
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if p == "-" || err != nil || !fi.IsDir() {
			out = append(out, p) // the reader reports a missing file
			continue
		}
		n := len(out)
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !slices.Contains(eventFileExts, filepath.Ext(path)) {
				return nil
			}
			regular := d.Type().IsRegular()
			if d.Type()&fs.ModeSymlink != 0 { // a link to an event file counts as one
				fi, err := os.Stat(path)
				regular = err == nil && fi.Mode().IsRegular()
			}
			if regular {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s: no event files (%s) in this directory", p, strings.Join(eventFileExts, ", "))
		}
	}
	return out, nil
}
