package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/ingest/source"
	"github.com/tripline/tripline/rule"
)

// stageReport is what `rules test` says about one stage of a rule's query.
type stageReport struct {
	Stage   string       `json:"stage"` // "1", "2", ..., "until"
	Query   string       `json:"query"`
	Missing bool         `json:"missing,omitempty"`
	By      []string     `json:"by,omitempty"`
	Events  []stageEvent `json:"events"`
}

// stageEvent is an event that passed a stage's filter, with its join-key values there.
type stageEvent struct {
	Where     string     `json:"where"` // FILE:LINE
	Timestamp string     `json:"timestamp"`
	Keys      [][]string `json:"keys,omitempty"`
}

// matchReport is one result of the whole query.
type matchReport struct {
	JoinKeys []string `json:"join_keys,omitempty"`
	Events   []string `json:"events"` // FILE:LINE per stage, "(missing)" for a missing event
}

// rulesTestOptions are the flags and arguments of rules test.
type rulesTestOptions struct {
	in         inputFlags
	exceptions []string
	format     string
	rulePath   string   // the rule file
	paths      []string // the inputs
}

func newRulesTestCmd() *cobra.Command {
	o := &rulesTestOptions{}
	cmd := &cobra.Command{
		Use:   "test [flags] RULE [FILE...]",
		Short: "Run one rule over events and show which events matched which stage",
		Long: `Run one rule over events, the way a rule author tries a rule while writing it: for every
stage of the query (for an event query, the query itself; for a sequence or sample, each
bracketed stage and the until stage) list the events that pass its filter, with their
join-key values there, then list the rule's results with the events that form each one.
A threshold or new-terms rule is run as detect runs it: the report lists the groups that
reached the threshold, with their counts, or the values that were new, with their events.

A query rule (KQL or Lucene) has one stage: its query, as detect runs it. The rule's filters
and the exception filter of its lists (--exceptions, or the lists of a Kibana rule export)
are ANDed into every stage, as detect applies them: an event they exclude does not pass.

RULE is a rule file (detection-rules TOML, or a Kibana export NDJSON holding one rule). Every
event is tried, whatever the rule's index patterns. Events are read as detect reads them
(files, directories, .gz, standard input; raw Kubernetes audit records turned into ECS).

Exits 0 when the rule produced at least one result, 1 when it produced none, 2 when the
rule cannot run, and 3 when input was skipped.`,
		Example: `  tripline rules test examples/rules/direct_interactive_kubernetes_api_request_by_unusual_utilities.toml examples/events
  tripline rules test --format json my-rule.toml events.ndjson | jq '.stages[0].events | length'
  tripline rules test my-kql-rule.toml events.ndjson                     # a query rule: language kuery
  tripline rules test --exceptions exception_lists.ndjson my-rule.toml events.ndjson`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.rulePath, o.paths = args[0], args[1:]
			return o.run(cmd.Context(), streamsOf(cmd))
		},
	}
	o.in.register(cmd.Flags(), forRulesTest) // --mapping ecs by default, as detect runs the rule
	registerExceptions(cmd.Flags(), &o.exceptions)
	cmd.Flags().StringVar(&o.format, "format", "text", "output: text or json")
	return cmd
}

func (o *rulesTestOptions) validate() error {
	if err := o.in.validate(); err != nil {
		return exitWith(exitUsage, err)
	}
	if o.format != "text" && o.format != "json" {
		return exitWith(exitUsage, fmt.Errorf("unknown --format %q (want text or json)", o.format))
	}
	return nil
}

// run loads the rule, runs it over the inputs under an engine.Trace, and reports what
// passed each stage and the results.
func (o *rulesTestOptions) run(ctx context.Context, ios ioStreams) error {
	if err := o.validate(); err != nil {
		return err
	}
	stdout, stderr := ios.out, ios.errOut
	r, set, err := o.loadRule(ctx)
	if err != nil {
		return err
	}
	if isStatefulKQL(r) {
		return o.runStateful(ctx, ios, r) // rules_stateful.go
	}
	m, err := o.in.loadMapping()
	if err != nil {
		return exitWith(exitUsage, err)
	}
	ex, exErrs := loadExceptions(o.exceptions, set)
	if len(exErrs) > 0 {
		for _, e := range exErrs {
			fmt.Fprintf(stderr, "tripline: exception list file %s\n", describeExceptionsError(e))
		}
		return exitWith(exitUsage, nil)
	}
	// The statement detect runs: the query (a query rule's as any where <search>), with
	// the rule's filters and exception lists.
	stmt, err := detect.RuleStatement(r, detect.Options{Mapping: m, Exceptions: ex})
	if err != nil {
		fmt.Fprint(stderr, describeQueryError(r.Query, err))
		return exitWith(exitUsage, nil)
	}
	fields := event.NewFields()
	tr, err := engine.NewTrace(stmt, fields, engine.Options{
		TimestampField:  r.TimestampField,
		TiebreakerField: r.TiebreakerField,
		CategoryField:   r.EventCategoryOverride,
		Mapping:         m,
	})
	if err != nil {
		fmt.Fprint(stderr, describeQueryError(r.Query, err))
		return exitWith(exitUsage, nil)
	}
	dec := event.NewDecoder(fields)
	unseen := newUnseenFields(stmt, m, fields)

	var ev event.Event
	var seq uint64
	var skipped int64
	docs, done := o.in.openInputs(ctx, expandInputs(o.paths, stderr), ios.in, stderr)
	rerr := eachDoc(docs, func(doc source.Doc) error {
		if err := dec.Decode(doc.Bytes, &ev); err != nil {
			skipped++
			fmt.Fprintf(stderr, "%s:%d: %v (skipped)\n", doc.Source, doc.Line, err)
			return nil
		}
		seq++
		unseen.see(&ev)
		ev.Source, ev.Line, ev.Seq = doc.Source, doc.Line, seq
		if err := tr.Push(&ev); err != nil {
			skipped++
			fmt.Fprintf(stderr, "%v (skipped)\n", err)
		}
		return nil
	})
	done()
	ist := docs.Stats()
	if err := tr.Flush(context.WithoutCancel(ctx)); err != nil && rerr == nil {
		rerr = err
	}
	if rerr != nil && ctx.Err() != nil {
		if !o.in.follow { // with --follow, a signal is how the input ends
			return exitWith(exitSignaled, errInterrupted)
		}
		rerr = nil
	}
	if rerr != nil {
		return exitWith(exitFailure, rerr)
	}
	unseen.warn(stderr, stmt)
	reports, matches := stageReports(tr.Terms()), matchReports(tr.Results())
	if err := o.write(stdout, r, ist, reports, matches); err != nil {
		return exitWith(exitFailure, err)
	}
	switch {
	case ist.Malformed+skipped > 0 || ist.InputsSkipped > 0:
		return exitWith(exitSkipped, nil)
	case len(matches) == 0:
		return exitWith(exitFailure, nil)
	}
	return nil
}

// write writes the report in the --format asked.
func (o *rulesTestOptions) write(w io.Writer, r *rule.Rule, ist source.Stats, reports []*stageReport, matches []matchReport) error {
	if o.format == "text" {
		writeRulesTestText(w, r, ist, reports, matches)
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		RuleID        string         `json:"rule_id"`
		Name          string         `json:"name"`
		Events        int64          `json:"events_read"`
		InputsSkipped int64          `json:"inputs_skipped,omitempty"`
		Stages        []*stageReport `json:"stages"`
		Matches       []matchReport  `json:"matches"`
	}{r.RuleID, r.Name, ist.Records, ist.InputsSkipped, reports, matches})
}

// loadRule loads the one rule of the rule file, and returns the set it was loaded in (for
// the exception lists of a rule export).
func (o *rulesTestOptions) loadRule(ctx context.Context) (*rule.Rule, *rule.Set, error) {
	set, err := rule.Load(ctx, o.rulePath)
	if err != nil {
		return nil, nil, exitWith(exitFailure, err)
	}
	if len(set.Errors) > 0 {
		return nil, nil, exitWith(exitUsage, fmt.Errorf("%s", describeRuleFileError(set.Errors[0])))
	}
	switch {
	case len(set.Rules) == 1 && len(set.Skipped) == 0:
		return set.Rules[0], set, nil
	case len(set.Rules)+len(set.Skipped) != 1:
		return nil, nil, exitWith(exitUsage, fmt.Errorf("%s holds %d rules: give a file with exactly one", o.rulePath, len(set.Rules)+len(set.Skipped)))
	default:
		return nil, nil, exitWith(exitUsage, fmt.Errorf("%s: the rule cannot run: %s", o.rulePath, set.Skipped[0].Reason))
	}
}

// stageReports turns what the trace recorded of each term into the stages reported.
func stageReports(terms []engine.TermTrace) []*stageReport {
	out := make([]*stageReport, 0, len(terms))
	for _, tt := range terms {
		name := strconv.Itoa(tt.Term.Stage + 1)
		if tt.Term.Role == engine.TermUntil {
			name = "until"
		}
		rep := &stageReport{Stage: name, Query: eql.Format(tt.Term.Query), Missing: tt.Term.Missing, Events: []stageEvent{}}
		for _, k := range tt.Term.By {
			rep.By = append(rep.By, eql.Format(k))
		}
		for _, e := range tt.Events {
			ts := "-"
			if len(e.Timestamp) > 0 {
				ts = strings.Join(e.Timestamp, ",")
			}
			rep.Events = append(rep.Events, stageEvent{Where: fmt.Sprintf("%s:%d", e.Source, e.Line), Timestamp: ts, Keys: e.Keys})
		}
		out = append(out, rep)
	}
	return out
}

// matchReports turns the trace's results into the matches reported (nil for none).
func matchReports(results []engine.TraceResult) []matchReport {
	var out []matchReport
	for _, res := range results {
		mr := matchReport{JoinKeys: res.JoinKeys}
		for _, ref := range res.Events {
			if ref.Missing {
				mr.Events = append(mr.Events, "(missing)")
			} else {
				mr.Events = append(mr.Events, fmt.Sprintf("%s:%d", ref.Source, ref.Line))
			}
		}
		out = append(out, mr)
	}
	return out
}

func writeRulesTestText(w io.Writer, r *rule.Rule, ist source.Stats, stages []*stageReport, matches []matchReport) {
	fmt.Fprintf(w, "rule:   %s (%s)\n", r.Name, r.RuleID)
	fmt.Fprintf(w, "events: %d read", ist.Records)
	if ist.InputsSkipped > 0 {
		fmt.Fprintf(w, " (%s skipped)", plural(ist.InputsSkipped, "input"))
	}
	fmt.Fprintln(w)
	for _, s := range stages {
		label := "stage " + s.Stage
		if s.Stage == "until" {
			label = "until"
		}
		if s.Missing {
			label += " (missing event)"
		}
		fmt.Fprintf(w, "\n%s: [%s]", label, s.Query)
		if len(s.By) > 0 {
			fmt.Fprintf(w, " by %s", strings.Join(s.By, ", "))
		}
		fmt.Fprintf(w, "\n  %s passed the filter\n", plural(int64(len(s.Events)), "event"))
		for _, e := range s.Events {
			fmt.Fprintf(w, "    %s  %s", e.Where, e.Timestamp)
			if len(e.Keys) > 0 {
				keys := make([]string, len(e.Keys))
				for i, k := range e.Keys {
					if len(k) == 0 {
						keys[i] = "null"
					} else {
						keys[i] = strings.Join(k, "|")
					}
				}
				fmt.Fprintf(w, "  keys=[%s]", strings.Join(keys, ", "))
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "\n%s\n", plural(int64(len(matches)), "result"))
	for i, m := range matches {
		fmt.Fprintf(w, "  #%d", i+1)
		if len(m.JoinKeys) > 0 {
			fmt.Fprintf(w, " join_keys=[%s]", strings.Join(m.JoinKeys, ", "))
		}
		fmt.Fprintln(w)
		for j, e := range m.Events {
			fmt.Fprintf(w, "    stage %d  %s\n", j+1, e)
		}
	}
}
