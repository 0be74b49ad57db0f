package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/ingest/source"
	"github.com/tripline/tripline/output"
	"github.com/tripline/tripline/rule"
)

// detectFlags are the flags of detect and serve: which rules, where alerts go, how alerts look.
type detectFlags struct {
	rules               []string
	outputs             []string
	now                 string
	space               string
	kibanaURL           string
	ignoreIndexPatterns bool
	statsJSON           bool
	workers             int
	spillDir            string
	exceptions          []string
	// exceptionErrors are the lines of the exception list files that could not be read
	// (newDetector reports them; the run report counts them).
	exceptionErrors []string
	ruleTypes       []string
}

func (f *detectFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringArrayVar(&f.rules, "rules", nil, "rule file or directory: detection-rules TOML or Kibana export NDJSON (repeatable; required)")
	fs.StringArrayVarP(&f.outputs, "output", "o", nil, "where alerts go (repeatable): - (stdout, the default), FILE, file:FILE?max-size=100MB, webhook:URL, es:URL/INDEX; what webhook: and es: cannot deliver goes to tripline-dead-letter.ndjson in the working directory (URL#dead-letter=FILE for another)")
	fs.StringVar(&f.now, "now", "", "alert creation time (RFC 3339) written as @timestamp, for reproducible output (default: the current time)")
	fs.StringVar(&f.space, "space", "default", "Kibana space id; like Kibana, it is part of every alert's id")
	fs.StringVar(&f.kibanaURL, "kibana-url", "", "the URL Kibana is reached at (its server.publicBaseUrl), such as https://kibana.example.com:5601: every alert then links to itself in kibana.alert.url")
	fs.BoolVar(&f.ignoreIndexPatterns, "ignore-index-patterns", false, "offer every event to every rule, whatever its index patterns")
	fs.BoolVar(&f.statsJSON, "stats", false, "print the end-of-run summary as one JSON object instead of a table")
	registerExceptions(fs, &f.exceptions)
	fs.StringSliceVar(&f.ruleTypes, "rule-types", nil, "run only the rules of these types (comma-separated: eql, query, threshold, new_terms, threat_match); the others under --rules are left out, not reported as skipped (default: every type)")
	fs.IntVar(&f.workers, "workers", 0, "goroutines that decode events and run the rules' filters ahead of the in-order matching; 0: one per CPU when the whole input is read and for serve, none with --follow or a stream; 1: none. Results are the same whatever the number")
}

// newDetector loads the mapping and the rules and builds a detector writing to sink. It
// reports rule files that failed to load on stderr; they do not stop the others.
//
// tune, when given, adjusts the detector's options last, once the mapping is loaded (how
// detect reads its input again, serve's workers and bounds).
func newDetector(ctx context.Context, df *detectFlags, in *inputFlags, streaming bool, sink detect.Sink, stderr io.Writer,
	tune ...func(*detect.Options)) (*detect.Detector, *rule.Set, error) {
	if len(df.rules) == 0 {
		return nil, nil, exitWith(exitUsage, fmt.Errorf("no rules: give --rules PATH (a detection-rules TOML file or directory, or a Kibana export NDJSON)"))
	}
	var now time.Time
	if df.now != "" {
		t, err := time.Parse(time.RFC3339Nano, df.now)
		if err != nil {
			return nil, nil, exitWith(exitUsage, fmt.Errorf("--now %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", df.now))
		}
		now = t
	}
	if df.spillDir != "" {
		if fi, err := os.Stat(df.spillDir); err != nil || !fi.IsDir() {
			return nil, nil, exitWith(exitUsage, fmt.Errorf("--spill-dir %s: not a directory", df.spillDir))
		}
	}
	if err := checkKibanaURL(df.kibanaURL); err != nil {
		return nil, nil, exitWith(exitUsage, err)
	}
	if df.workers < 0 {
		return nil, nil, exitWith(exitUsage, fmt.Errorf("--workers %d: want 0 (the default) or more", df.workers))
	}
	for _, t := range df.ruleTypes {
		if !slices.Contains(ruleTypes, t) {
			return nil, nil, exitWith(exitUsage, fmt.Errorf("--rule-types: unknown rule type %q (want %s)", t, strings.Join(ruleTypes, ", ")))
		}
	}
	m, err := in.loadMapping()
	if err != nil {
		return nil, nil, exitWith(exitUsage, err)
	}
	set, err := rule.Load(ctx, df.rules...)
	if err != nil {
		return nil, nil, err
	}
	if len(df.ruleTypes) > 0 {
		selectRuleTypes(set, df.ruleTypes)
	}
	for _, e := range set.Errors {
		fmt.Fprintf(stderr, "tripline: rule file %s (unreadable)\n", describeRuleFileError(e))
	}
	ex, exErrs := loadExceptions(df.exceptions, set)
	for _, e := range exErrs {
		msg := describeExceptionsError(e)
		fmt.Fprintf(stderr, "tripline: exception list file %s (unreadable)\n", msg)
		df.exceptionErrors = append(df.exceptionErrors, msg)
	}
	opts := detect.Options{
		Compile: detect.EngineCompiler(detect.EngineOptions{
			Mapping: m, MaxLateness: in.maxLateness, MaxPending: in.maxPending,
		}),
		Streaming:           streaming,
		Now:                 now,
		Space:               df.space,
		KibanaURL:           df.kibanaURL,
		Index:               in.index,
		Mapping:             m,
		Exceptions:          ex,
		IgnoreIndexPatterns: df.ignoreIndexPatterns,
		Workers:             df.workers,
		SpillDir:            df.spillDir,
		OnEventError: func(err error) {
			fmt.Fprintf(stderr, "%v\n", err)
		},
	}
	if streaming {
		opts.MaxFuture = in.maxFuture
	}
	for _, t := range tune {
		t(&opts)
	}
	d, err := detect.New(set.Rules, sink, opts)
	if err != nil {
		return nil, nil, exitWith(exitUsage, err)
	}
	if d.Summary().RulesLoaded == 0 {
		// Why, as the summary would say.
		if skipped := newRunReport(source.Stats{}, d, set, nil).Run.RulesSkipped; len(skipped) > 0 {
			fmt.Fprintln(stderr, "tripline: rules skipped:")
			writeSkipReasons(stderr, "  ", skipped)
		}
		why := fmt.Sprintf("%d skipped", len(set.Skipped)+len(d.Summary().RulesSkipped))
		if n := len(set.Errors); n > 0 {
			why += fmt.Sprintf(", %s unreadable", plural(int64(n), "rule file"))
		}
		if n := len(exErrs); n > 0 {
			why += fmt.Sprintf(", %s", plural(int64(n), "exception list error"))
		}
		return nil, nil, exitWith(exitUsage, fmt.Errorf("none of the rules can run (%s: see 'tripline rules list')", why))
	}
	return d, set, nil
}

// ruleTypes are the rule types Tripline runs, which --rule-types selects among.
var ruleTypes = []string{"eql", "query", "threshold", "new_terms", "threat_match"}

// selectRuleTypes leaves in set only the rules, skipped ones included, whose type is one
// of types (--rule-types).
func selectRuleTypes(set *rule.Set, types []string) {
	set.Rules = slices.DeleteFunc(set.Rules, func(r *rule.Rule) bool { return !slices.Contains(types, r.Type) })
	set.Skipped = slices.DeleteFunc(set.Skipped, func(s rule.Skip) bool { return !slices.Contains(types, s.Rule.Type) })
}

// checkKibanaURL checks --kibana-url as Kibana checks server.publicBaseUrl: an http or
// https URL with a host, and no query, fragment or user.
func checkKibanaURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Errorf("--kibana-url %q: want the URL Kibana is reached at, such as https://kibana.example.com:5601 (http or https, a host, an optional path, no query or fragment)", s)
	}
	return nil
}

// openOutputs opens the --output sinks (stdout when none is given and toStdout is set).
func openOutputs(specs []string, toStdout bool, stdout io.Writer) (output.Sink, error) {
	if len(specs) == 0 {
		if !toStdout {
			return nil, nil
		}
		specs = []string{"-"}
	}
	var sinks []output.Sink
	for _, s := range specs {
		if _, err := output.Parse(s); err != nil {
			return nil, exitWith(exitUsage, err)
		}
		sink, err := output.Open(s, stdout)
		if err != nil {
			for _, o := range sinks {
				o.Close()
			}
			return nil, exitWith(exitFailure, err)
		}
		sinks = append(sinks, sink)
	}
	if len(sinks) == 1 {
		return sinks[0], nil
	}
	return output.Multi(sinks...), nil
}

// newAlertSink returns the detector's sink writing to out (nil: none), each failure
// reported on stderr as it happens. deliver, when set, is the context of every write (see
// output.Delivery.Context).
func newAlertSink(out output.Sink, deliver context.Context, stderr io.Writer) *output.Delivery {
	return &output.Delivery{Out: out, Context: deliver, OnError: func(err error) {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "tripline: output: %s\n", strings.TrimPrefix(line, "output: "))
		}
	}}
}

// deliveryErr reports the outputs' failures at the end of a run, or nil.
func deliveryErr(d *output.Delivery) error {
	if d.Err() == nil {
		return nil
	}
	first, _, _ := strings.Cut(d.Err().Error(), "\n")
	return fmt.Errorf("%d alerts were not delivered to an output (first error: %s)", d.Failed(), strings.TrimPrefix(first, "output: "))
}

// detectOptions are the flags and arguments of detect.
type detectOptions struct {
	in     inputFlags
	df     detectFlags
	hist   historyFlag // --history and --indicators (history.go)
	sf     streamFlags
	state  stateFlags // --state-dir (state.go)
	format string
	args   []string // the inputs: files, directories, "-", or one stream URL
}

func newDetectCmd() *cobra.Command {
	o := &detectOptions{}
	cmd := &cobra.Command{
		Use:   "detect --rules PATH [flags] [FILE...]",
		Short: "Run detection rules over events and write Kibana-shaped alerts",
		Long: `Run every EQL rule and every query rule (KQL, language kuery) found under --rules over the
events, in one pass, and write one alert document per match, shaped as Kibana's detection
engine writes them (kibana.alert.*). KQL is translated with the field types of --mapping (the
built-in ECS mapping by default), as Kibana translates it with the indices' mappings. A rule's
filters, and the items of the exception lists it references (loaded from --exceptions and
from the Kibana rule exports given to --rules), exclude events as in Kibana; a rule that
references a list that was not loaded is reported and skipped.

Events are read from the files (NDJSON, a JSON array, or .gz of either), from standard input
when no file (or "-") is given, or from one Kafka topic or NATS JetStream stream given as a
URL (kafka://broker:9092/topic?group=tripline, nats://host:4222/STREAM?subject=events.>&durable=tripline):
several tripline processes in one consumer group share the partitions, each reading its own
merged in event-time order (--partition-wait); a message is committed only once the rules
are finished with its events (out of the --max-lateness buffer and of every partial sequence
that may still complete, alerts written), so a crash loses no alert. Raw kube-apiserver audit records are turned into the ECS
documents Elastic's Kubernetes integration produces (--input-format), with event.ingested
set to stageTimestamp truncated to seconds: a reproducible stand-in for the ingest time. A rule sees the events
whose index matches its index patterns: the index comes from --index, the document's _index,
or its data_stream.type-dataset-namespace; events with no index go to every rule.

By default the whole input is read and ordered by timestamp before matching, so results are
Elasticsearch's. Input files may be read more than once (the events sequences keep are read
back for their alerts, out-of-order input is read again): leave them alone until the run ends.
With --follow, events are matched in arrival order, with a reordering buffer of --max-lateness,
and alerts come out as soon as they are known.

Alerts go to --output (stdout by default) as NDJSON; a summary of rules, events and alerts
per rule goes to stderr at the end (--format summary prints it to stdout instead of alerts;
--stats prints it as JSON). Alerts a webhook: or es: output cannot deliver, after its
retries, go to its dead-letter file (tripline-dead-letter.ndjson in the working directory
unless the URL ends in #dead-letter=FILE).

An input that cannot be read is reported and skipped, and the others are read (exit 3); a
file named twice (or by two names) is read once. SIGINT or SIGTERM stops reading: the
alerts of what was read are written, and the outputs have 5s more to deliver them, then
what is left goes to the dead-letter files; a second signal stops at once.

` + exitCodesHelp,
		Example: `  tripline detect --rules examples/rules examples/events
  tripline detect --rules ../detection-rules/rules --format summary events.ndjson.gz
  kubectl logs ... | tripline detect --rules rules/ --follow -o file:alerts.ndjson?max-size=100MB
  tripline detect --rules rules/ --now 2026-01-01T00:00:00Z -o es:http://localhost:9200 events/
  tripline detect --rules rules/ -o webhook:https://soar.example/hook 'kafka://k1:9092,k2:9092/ecs-events?group=tripline'
  tripline detect --rules rules/ --exceptions exception_lists.ndjson --mapping ecs --mapping my-fields.json events/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.args = args
			return o.run(cmd.Context(), streamsOf(cmd))
		},
	}
	o.in.register(cmd.Flags(), forDetect)
	o.df.register(cmd)
	o.hist.register(cmd)
	o.sf.register(cmd.Flags())
	o.state.register(cmd.Flags())
	cmd.Flags().StringVar(&o.df.spillDir, "spill-dir", "", "directory of the temporary file that holds, when events come from standard input, the events sequence rules matched, in case the input is not in timestamp order (default $TMPDIR or /tmp; it can grow to the input's size and is removed at once); files are read again instead")
	cmd.Flags().StringVar(&o.format, "format", "ndjson", "ndjson (alerts on stdout unless --output says otherwise, summary on stderr) or summary (only the summary, on stdout)")
	return cmd
}

func (o *detectOptions) validate() error {
	if err := o.in.validate(); err != nil {
		return exitWith(exitUsage, err)
	}
	if o.format != "ndjson" && o.format != "summary" {
		return exitWith(exitUsage, fmt.Errorf("unknown --format %q (want ndjson or summary)", o.format))
	}
	return nil
}

// run loads the rules, gives the detector every event of the inputs (files, standard input
// or a stream), writes the alerts to the outputs and the summary, and returns the exit
// status.
func (o *detectOptions) run(ctx context.Context, ios ioStreams) error {
	if err := o.validate(); err != nil {
		return err
	}
	// The detector reports (skipped events, output errors) from its own goroutine while the
	// input is read, and reported on, from this one.
	stdout, stderr := ios.out, io.Writer(&syncWriter{w: ios.errOut})
	sr, err := o.openState(ctx, stderr)
	if err != nil {
		return err
	}
	out, err := openOutputs(o.df.outputs, o.format == "ndjson", stdout)
	if err != nil {
		return err
	}
	url, err := streamArg(o.args)
	if err != nil {
		return exitWith(exitUsage, err)
	}
	// After a signal, the alerts of what was read are still found and delivered, for
	// shutdownGrace; then what is left goes to the dead-letter files. A second signal ends
	// both at once.
	finish, deliver, stopAfter := afterStop(ctx)
	defer stopAfter()
	sink := newAlertSink(out, deliver, stderr)
	if err := sr.retry(ctx, sink); err != nil {
		if out != nil {
			out.Close()
		}
		sr.finish(false)
		return exitWith(exitFailure, err)
	}
	// A stream never ends: match in arrival order, as with --follow.
	streaming := o.in.follow || url != ""
	var ins source.Inputs
	if url == "" {
		ins = expandInputs(o.args, stderr)
	}
	// In batch mode over regular files, the detector reads the input again when it is out
	// of order, and the documents of the events it keeps (detect.ReplayFiles).
	origin := &source.Origin{}
	defer origin.Close()
	// A Kafka topic read by several processes: sequences and samples are shared out by join
	// key (repartition.go); the detectors of the process then write from two goroutines.
	var rp *repartition
	dsink := sr.sink(sink)
	if url != "" {
		if rp = newRepartition(url); rp != nil {
			rp.sink = &lockedSink{s: dsink}
			dsink = rp.sink
		}
	}
	var herr error
	d, set, err := newDetector(ctx, &o.df, &o.in, streaming, dsink, stderr, func(opts *detect.Options) {
		herr = o.hist.apply(opts, &o.in, stderr)
		if streaming {
			return
		}
		if opts.Replay = detect.ReplayFiles(ins.Paths, o.in.sourceOptions(nil, io.Discard)); opts.Replay != nil {
			opts.Origin = origin
		}
	}, sr.tune, rp.tuner())
	if err == nil && rp != nil {
		rp.rules = set.Rules
	}
	if err == nil && sr != nil {
		err = sr.replay(ctx, d)
	}
	if err == nil {
		err = herr
	}
	if err != nil {
		if out != nil {
			out.Close()
		}
		sr.finish(false)
		return err
	}
	var (
		ist         source.Stats
		rerr        error
		closeStream func() error
	)
	switch {
	case rp.active():
		ist, closeStream, rerr = rp.readRepartitioned(ctx, url, &o.in, &o.sf, stderr, d)
	case url != "":
		ist, closeStream, rerr = readStream(ctx, url, &o.in, &o.sf, stderr, d)
	default:
		ist, rerr = readFiles(ctx, ins, &o.in, ios.in, stderr, d, sr.process(streaming))
	}
	// Flush what is pending even when interrupted (--follow ends with ^C): an alert found is
	// never lost, unless a second signal says to stop at once. With --state-dir a streaming
	// run's reordering buffer is not flushed: its events are in the journal, for the next run.
	var cerr error
	if sr == nil || !streaming {
		cerr = d.Close(finish)
	}
	// A second signal stopped the matching (not only the deliveries): matches were lost.
	lost := finish.Err() != nil && errors.Is(cerr, context.Canceled)
	// With --state-dir the alerts an output failed to write are kept for the next run:
	// only the matching decides whether this run's state is committed.
	matched := cerr == nil && finish.Err() == nil
	if out != nil {
		if err := out.Close(); err != nil && cerr == nil {
			cerr = err
		}
	}
	if err := deliveryErr(sink); err != nil && cerr == nil {
		cerr = err
	}
	if err := sr.finish(matched); err != nil && cerr == nil {
		cerr = err
	}
	// Only now, with the alerts written, commit the stream's last offsets.
	if closeStream != nil {
		if err := closeStream(); err != nil && cerr == nil {
			cerr = err
		}
	}
	rep := newRunReport(ist, d, set, o.df.exceptionErrors)
	sr.adjust(&rep)
	sumOut := stderr
	if o.format == "summary" {
		sumOut = stdout
	}
	o.df.writeReport(sumOut, rep)
	sum := rep.Run
	if lost {
		return exitWith(exitSignaled, errors.New("interrupted twice: stopped at once, the matches not yet written are lost"))
	}
	if rerr != nil && ctx.Err() != nil && !streaming {
		if cerr != nil {
			fmt.Fprintf(stderr, "tripline: %v\n", cerr)
		}
		return exitWith(exitSignaled, errInterrupted)
	}
	if rerr != nil && !(streaming && ctx.Err() != nil) {
		return exitWith(exitFailure, rerr)
	}
	if cerr != nil {
		return exitWith(exitFailure, cerr)
	}
	if ist.Malformed > 0 || ist.InputsSkipped > 0 || sum.EventsSkipped > 0 || sum.EventsUnused > 0 || sum.EventsFuture > 0 || sum.AlertsNotWritten > 0 || rep.brokenRules() > 0 {
		return exitWith(exitSkipped, nil)
	}
	return nil
}

// readFiles gives the detector every document of the inputs ins (files and standard input)
// until they end, with the --progress display on stderr.
func readFiles(ctx context.Context, ins source.Inputs, in *inputFlags, stdin io.Reader, stderr io.Writer, d *detect.Detector,
	process func(context.Context, *detect.Detector, source.Doc) error) (source.Stats, error) {
	r, done := in.openInputs(ctx, ins, stdin, stderr)
	err := eachDoc(r, func(doc source.Doc) error {
		if process != nil {
			return process(ctx, d, doc)
		}
		return d.Process(ctx, doc.Bytes, detect.SourceOf(doc))
	})
	done()
	return r.Stats(), err
}

// runReport is what detect and serve report at the end of a run.
type runReport struct {
	Input source.Stats `json:"input"`
	// RuleFileErrors are the rule files (or export lines) that could not be read.
	RuleFileErrors []string `json:"rule_file_errors,omitempty"`
	// ExceptionErrors are the exception list files (or export lines) that could not be read.
	ExceptionErrors []string        `json:"exception_errors,omitempty"`
	Run             *detect.Summary `json:"detect"`
	// compileErrors counts the rules the detector skipped because their query did not compile.
	compileErrors int
}

// newRunReport gathers the input counters and the detector's summary, with the rules the
// rule loader left out (not EQL, unsupported features, duplicates) listed among the skipped.
func newRunReport(ist source.Stats, d *detect.Detector, set *rule.Set, exErrs []string) runReport {
	sum := *d.Summary()
	skipped := make([]detect.SkippedRule, 0, len(set.Skipped)+len(sum.RulesSkipped))
	for _, sk := range set.Skipped {
		skipped = append(skipped, detect.SkippedRule{
			RuleID: sk.Rule.RuleID, Name: sk.Rule.Name, Source: sk.Rule.Source.String(), Reason: sk.Reason,
		})
	}
	sum.RulesSkipped = append(skipped, sum.RulesSkipped...)
	rep := runReport{Input: ist, Run: &sum, compileErrors: len(d.Summary().RulesSkipped), ExceptionErrors: exErrs}
	for _, e := range set.Errors {
		rep.RuleFileErrors = append(rep.RuleFileErrors, describeRuleFileError(e))
	}
	return rep
}

// brokenRules counts the rule and exception list files (or lines) that could not be read
// and the rules the detector skipped (a query that failed to compile, an exception list not
// loaded): rules the user meant to run that do not, or not as written (rules of a kind
// Tripline does not run are skipped by design and not counted).
func (rep runReport) brokenRules() int {
	return len(rep.RuleFileErrors) + len(rep.ExceptionErrors) + rep.compileErrors
}

// writeReport writes the end-of-run summary: a table, or one JSON object with --stats.
func (f *detectFlags) writeReport(w io.Writer, rep runReport) {
	if f.statsJSON {
		writeJSONSummary(w, rep)
	} else {
		writeSummary(w, rep)
	}
}

func writeJSONSummary(w io.Writer, rep runReport) {
	b, _ := json.Marshal(rep)
	fmt.Fprintln(w, string(b))
}

// writeSkipReasons writes one line per reason rules were skipped for, the most frequent
// first: prefix, the count, the reason, and the rule's file when one rule has it.
func writeSkipReasons(w io.Writer, prefix string, skipped []detect.SkippedRule) {
	reasons := map[string]int{}
	where := map[string]string{} // the rule of a reason given once (a query error, say)
	for _, s := range skipped {
		reasons[s.Reason]++
		where[s.Reason] = s.Source
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if reasons[keys[i]] != reasons[keys[j]] {
			return reasons[keys[i]] > reasons[keys[j]]
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		if reasons[k] == 1 && where[k] != "" {
			fmt.Fprintf(w, "%s%5d %s, in %s\n", prefix, reasons[k], k, where[k])
		} else {
			fmt.Fprintf(w, "%s%5d %s\n", prefix, reasons[k], k)
		}
	}
}

// writeSummary prints the end-of-run table: rules, events, alerts per rule.
func writeSummary(w io.Writer, rep runReport) {
	ist, sum := rep.Input, rep.Run
	fmt.Fprintf(w, "rules:  %d loaded, %d skipped", sum.RulesLoaded, len(sum.RulesSkipped))
	if n := len(rep.RuleFileErrors); n > 0 {
		fmt.Fprintf(w, ", %s unreadable", plural(int64(n), "rule file"))
	}
	if n := len(rep.ExceptionErrors); n > 0 {
		fmt.Fprintf(w, ", %s (see above)", plural(int64(n), "exception list error"))
	}
	fmt.Fprintln(w)
	writeSkipReasons(w, "        ", sum.RulesSkipped)
	fmt.Fprintf(w, "events: %d read, %d malformed (skipped), %d unused (no timestamp or too late), %d without index",
		ist.Records, ist.Malformed+sum.EventsSkipped, sum.EventsUnused, sum.EventsWithoutIndex)
	if n := ist.Future + sum.EventsFuture; n > 0 {
		fmt.Fprintf(w, ", %d too far in the future (skipped)", n)
	}
	if ist.Unsupported > 0 {
		fmt.Fprintf(w, ", %d update or delete actions refused", ist.Unsupported)
	}
	if sum.EventsShed > 0 {
		fmt.Fprintf(w, ", %d released early from a full reordering buffer", sum.EventsShed)
	}
	if ist.Normalized > 0 {
		fmt.Fprintf(w, ", %d normalised from raw audit records or sensor events", ist.Normalized)
	}
	if ist.InputsSkipped > 0 {
		fmt.Fprintf(w, ", %s skipped", plural(ist.InputsSkipped, "input"))
	}
	if sum.EventsReplayed > 0 {
		fmt.Fprintf(w, "; %d replayed first from the state directory's journal (--state-dir)", sum.EventsReplayed)
	}
	if sum.HistoryEvents > 0 {
		fmt.Fprintf(w, "; %d history events read first (--history)", sum.HistoryEvents)
	}
	if sum.IndicatorEvents > 0 {
		fmt.Fprintf(w, "; %d indicator documents read first (--indicators)", sum.IndicatorEvents)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "alerts: %d", sum.Alerts)
	if sum.AlertsNotWritten > 0 {
		fmt.Fprintf(w, ", %d matches not written (their input file changed)", sum.AlertsNotWritten)
	}
	fmt.Fprintln(w)
	var rows []*detect.RuleStats
	for _, r := range sum.Rules {
		if r.Alerts > 0 || r.Capped > 0 {
			rows = append(rows, r)
		}
	}
	if len(rows) > 0 {
		fmt.Fprintf(w, "  %7s %7s %7s  %s\n", "ALERTS", "MATCHES", "CAPPED", "RULE")
		for _, r := range rows {
			fmt.Fprintf(w, "  %7d %7d %7d  %s\n", r.Alerts, r.Matches, r.Capped, r.Name)
		}
	}
	for _, warn := range sum.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}
