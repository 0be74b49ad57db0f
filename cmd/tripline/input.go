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
	// defaultECS: without --mapping, the built-in ECS mapping applies (detect, serve,
	// rules test); query keeps dynamic mapping.
	defaultECS bool
	// loaded is the mapping loadMapping returned, shared by copies of the flags (a
	// replay of the input rejects what the first reading rejected).
	loaded *loadedMapping
}

// loadedMapping holds the mapping of a run once loaded.
type loadedMapping struct{ m *mapping.Mapping }

// inputUse says which command registers the input flags: their meaning differs a little.
type inputUse uint8

const (
	forQuery     inputUse = iota // files or stdin, one index per file
	forDetect                    // files or stdin, index routing to rules
	forServe                     // HTTP requests: always streaming, the request names the index
	forRulesTest                 // files or stdin, every event offered to the rule: no index
)

func (f *inputFlags) register(fs *pflag.FlagSet, use inputUse) {
	fs.StringVar(&f.inputFormat, "input-format", "auto", "auto, ecs or k8s-audit: auto turns raw kube-apiserver audit records (Event, EventList, AKS or GKE envelopes) into ECS documents and leaves other documents alone; k8s-audit reports and skips whatever is not an audit record")
	f.loaded = &loadedMapping{}
	fs.StringArrayVar(&f.mappings, "mapping", nil, mappingUsage)
	if use != forQuery {
		f.ecsByDefault(fs)
	}
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
	fs.BoolVar(&f.follow, "follow", false, "keep reading the last input as it grows (like tail -f) and match in arrival order until interrupted; a pipe or standard input that is not a file ends the run at its end")
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

const mappingUsage = "field types: an Elasticsearch mapping file ({\"properties\":...}, {\"mappings\":{...}} or GET _mapping's answer), ecs (the built-in ECS mapping) or none (dynamic mapping only); repeatable, merged"

// ecsByDefault makes the built-in ECS mapping the default of --mapping.
func (f *inputFlags) ecsByDefault(fs *pflag.FlagSet) {
	f.defaultECS = true
	fs.Lookup("mapping").Usage = mappingUsage + " (default ecs)"
}

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

// loadMapping reads and merges the --mapping arguments: files, "ecs" for the built-in
// ECS mapping, "none" for no mapping (alone). Without --mapping it is the built-in ECS
// mapping for the commands whose default that is, else nil (dynamic mapping).
func (f *inputFlags) loadMapping() (*mapping.Mapping, error) {
	m, err := f.readMappings()
	if err == nil && f.loaded != nil {
		f.loaded.m = m
	}
	return m, err
}

func (f *inputFlags) readMappings() (*mapping.Mapping, error) {
	if len(f.mappings) == 0 {
		if f.defaultECS {
			return mapping.ECS(), nil
		}
		return nil, nil
	}
	var ms []*mapping.Mapping
	for _, arg := range f.mappings {
		switch arg {
		case "none":
			if len(f.mappings) > 1 {
				return nil, errors.New("--mapping none cannot be combined with other mappings")
			}
			return nil, nil
		case "ecs":
			ms = append(ms, mapping.ECS())
			continue
		}
		data, err := os.ReadFile(arg)
		if err != nil {
			return nil, err
		}
		mm, err := mapping.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", arg, err)
		}
		ms = append(ms, mm)
	}
	if len(ms) == 1 {
		return ms[0], nil
	}
	return mapping.Merge(ms...)
}

// rejects returns the check of documents a strict mapping rejects at index time, or nil
// when the run's mapping (once loaded) rejects none.
func (f *inputFlags) rejects() func(doc []byte) error {
	if f.loaded == nil || !f.loaded.m.Strict() {
		return nil
	}
	return f.loaded.m.Check
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

	// InputsSkipped counts the inputs that could not be read (or not to their end), and
	// the directories without event files.
	InputsSkipped int64 `json:"inputs_skipped"`
}

// docFunc receives one JSON document with where it came from: its source and line, and its
// byte offset in the file source when it can be read there again (else -1). doc is valid
// during the call only.
type docFunc func(doc []byte, source string, line int, offset int64) error

// readDocs reads every input of ins, normalises raw Kubernetes audit records when asked,
// and calls fn for each document. A malformed record is reported on stderr as FILE:LINE:
// reason and skipped; an input that cannot be opened or read is reported and skipped, and
// the others are read. It returns when the input ends (or, with --follow, when ctx is
// cancelled).
func readDocs(ctx context.Context, ins inputs, f *inputFlags, stdin io.Reader, stderr io.Writer, fn docFunc) (inputStats, error) {
	st := inputStats{InputsSkipped: ins.skipped}
	paths := ins.paths
	r := ingest.NewReader(ctx, paths, ingest.Options{Follow: f.follow, Stdin: stdin,
		Notice: func(msg string) { fmt.Fprintf(stderr, "tripline: %s\n", msg) }})
	defer r.Close()
	prog := newProgress(stderr, f.progress, r, paths)
	defer prog.done()
	auditNorm := newAuditNormalizer()
	var norm [][]byte
	reject := f.rejects()
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
			if ctx.Err() != nil {
				if f.follow {
					break
				}
				return st, err
			}
			// The input could not be opened or read: the reader goes on with the next.
			st.InputsSkipped++
			fmt.Fprintf(stderr, "tripline: %s (skipped)\n", describePathError(err))
			continue
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
			if reject != nil {
				if err := reject(doc); err != nil {
					st.Malformed++
					fmt.Fprintf(stderr, "%s:%d: %v (skipped)\n", rec.Source, rec.Line, err)
					continue
				}
			}
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

// inputs are the inputs of a run: paths ("-" for standard input) once directories are
// expanded, and how many of the paths given were skipped.
type inputs struct {
	paths   []string
	skipped int64
}

// expandInputs replaces each directory by the event files below it (recursively, in lexical
// order); no path at all means standard input. A path that cannot be read and a directory
// without event files are reported on stderr and skipped. A file given twice, by the same
// name or by another (a link, a directory that holds it), is read once, where it comes
// first, with a warning: its events would otherwise be seen twice and give every alert
// twice.
func expandInputs(paths []string, stderr io.Writer) inputs {
	if len(paths) == 0 {
		return inputs{paths: []string{"-"}}
	}
	var (
		ins    inputs
		stdin  bool
		seen   []os.FileInfo // of ins.paths but "-", in the same order
		named  []string
		warned []bool // a file given more than twice is warned about once
	)
	add := func(p string, fi os.FileInfo) {
		for i, prev := range seen {
			if os.SameFile(prev, fi) {
				if warned[i] {
					return
				}
				warned[i] = true
				if named[i] == p {
					fmt.Fprintf(stderr, "tripline: %s: given twice; read once\n", p)
				} else {
					fmt.Fprintf(stderr, "tripline: %s: the same file as %s; read once\n", p, named[i])
				}
				return
			}
		}
		seen, named, warned = append(seen, fi), append(named, p), append(warned, false)
		ins.paths = append(ins.paths, p)
	}
	skip := func(err error) {
		ins.skipped++
		fmt.Fprintf(stderr, "tripline: %s (skipped)\n", describePathError(err))
	}
	for _, p := range paths {
		if p == "-" {
			if stdin {
				fmt.Fprintf(stderr, "tripline: -: standard input given twice; read once\n")
				continue
			}
			stdin = true
			ins.paths = append(ins.paths, p)
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			skip(err)
			continue
		}
		if !fi.IsDir() {
			add(p, fi)
			continue
		}
		found, unreadable := false, false
		filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				skip(err)
				unreadable = unreadable || path == p
				if d != nil && d.IsDir() && path != p {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() || !slices.Contains(eventFileExts, filepath.Ext(path)) {
				return nil
			}
			fi, err := os.Stat(path) // a link to an event file counts as one
			if err != nil {
				skip(err)
				return nil
			}
			if fi.Mode().IsRegular() {
				found = true
				add(path, fi)
			}
			return nil
		})
		if !found && !unreadable {
			skip(fmt.Errorf("%s: no event files (%s) in this directory", p, strings.Join(eventFileExts, ", ")))
		}
	}
	return ins
}

// describePathError words an error about a file as "PATH: reason", without the operation
// that failed ("open PATH: no such file or directory" becomes "PATH: no such file or
// directory").
func describePathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}
