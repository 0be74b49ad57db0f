package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/tripline/tripline/ingest/source"
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
	// mapping is the mapping loadMapping returned.
	mapping *mapping.Mapping
}

// inputUse says which command registers the input flags: their meaning differs a little.
type inputUse uint8

const (
	forQuery     inputUse = iota // files or stdin, one index per file
	forDetect                    // files or stdin, index routing to rules
	forServe                     // HTTP requests: always streaming, the request names the index
	forRulesTest                 // files or stdin, every event offered to the rule: no index
)

func (f *inputFlags) register(fs *pflag.FlagSet, use inputUse) {
	fs.StringVar(&f.inputFormat, "input-format", "auto", "auto, ecs or k8s-audit: auto turns raw kube-apiserver audit records (Event, EventList, AKS or GKE envelopes) and Falco or Tetragon process events into ECS documents and leaves other documents alone; k8s-audit reports and skips whatever is not an audit record")
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
// mapping for the commands whose default that is, else nil (dynamic mapping). The flags
// keep it for rejects.
func (f *inputFlags) loadMapping() (*mapping.Mapping, error) {
	m, err := f.readMappings()
	if err == nil {
		f.mapping = m
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
	if !f.mapping.Strict() {
		return nil
	}
	return f.mapping.Check
}

// sourceOptions returns the options of reading the input: --input-format, --follow, the
// check of a strict mapping (rejects: call it once the mapping is loaded), and the reports
// of the input side on stderr.
func (f *inputFlags) sourceOptions(stdin io.Reader, stderr io.Writer) source.Options {
	return source.Options{
		Format: source.Format(f.inputFormat),
		Follow: f.follow,
		Stdin:  stdin,
		Reject: f.rejects(),
		Notice: noticeTo(stderr),
		Skip:   func(err error) { fmt.Fprintf(stderr, "%v (skipped)\n", err) },
	}
}

// noticeTo returns the reporter of what the input side notices (an input skipped, a file
// given twice): a line "tripline: MESSAGE" on stderr.
func noticeTo(stderr io.Writer) func(string) {
	return func(msg string) { fmt.Fprintf(stderr, "tripline: %s\n", msg) }
}

// expandInputs expands the input arguments (source.Expand), reporting on stderr.
func expandInputs(paths []string, stderr io.Writer) source.Inputs {
	return source.Expand(paths, noticeTo(stderr))
}

// openInputs opens the inputs ins for reading with the --progress display on stderr; done
// ends the display and closes the reader.
func (f *inputFlags) openInputs(ctx context.Context, ins source.Inputs, stdin io.Reader, stderr io.Writer) (r *source.Reader, done func()) {
	prog := newProgress(stderr, f.progress, ins.Paths)
	opts := f.sourceOptions(stdin, stderr)
	opts.OnRecord = prog.tick
	r = source.NewReader(ctx, ins, opts)
	prog.watch(r)
	return r, func() {
		prog.done()
		r.Close()
	}
}

// eachDoc calls fn with every document of r until its input ends (then it returns nil), or
// until r or fn fails (then it returns that error).
func eachDoc(r interface{ Next() (source.Doc, error) }, fn func(source.Doc) error) error {
	for {
		doc, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(doc); err != nil {
			return err
		}
	}
}
