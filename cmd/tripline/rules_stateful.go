package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/ingest/source"
	"github.com/tripline/tripline/rule"
)

// isStatefulKQL reports whether r is a threshold, new-terms or indicator-match rule: a KQL
// (or Lucene) query whose matching events are counted, remembered or matched against
// indicators.
func isStatefulKQL(r *rule.Rule) bool { return r.IsThreshold() || r.IsNewTerms() || r.IsThreatMatch() }

// statefulResult is what rules test reports of one alert of a threshold or new-terms rule.
type statefulResult struct {
	// Threshold: the group, its count (and distinct count), its first and last event.
	Terms       []map[string]any `json:"terms,omitempty"`
	Count       int              `json:"count,omitempty"`
	Cardinality []map[string]any `json:"cardinality,omitempty"`
	From        string           `json:"from,omitempty"`
	To          string           `json:"to,omitempty"`
	// New terms: the new value (combination) and the event it was new in.
	NewTerms []any  `json:"new_terms,omitempty"`
	Event    string `json:"event,omitempty"` // FILE:LINE
	Time     string `json:"time,omitempty"`
}

// runStateful runs a threshold or new-terms rule over the inputs as detect runs it and
// reports its alerts: for a threshold rule the groups that reached the threshold with their
// counts, for a new-terms rule the values that were new and where.
func (o *rulesTestOptions) runStateful(ctx context.Context, ios ioStreams, r *rule.Rule) error {
	stdout, stderr := ios.out, ios.errOut
	if err := parseRuleQuery(r); err != nil {
		fmt.Fprintf(stderr, "tripline: %s: query: %v\n", o.rulePath, err)
		return exitWith(exitUsage, nil)
	}
	m, err := o.in.loadMapping()
	if err != nil {
		return exitWith(exitUsage, err)
	}
	var results []statefulResult
	where := map[string]string{} // event _id (content-derived) -> FILE:LINE
	sink := detect.SinkFunc(func(_ context.Context, alerts []detect.Alert) error {
		for _, a := range alerts {
			var doc struct {
				Result *struct {
					Terms       []map[string]any `json:"terms"`
					Count       int              `json:"count"`
					Cardinality []map[string]any `json:"cardinality"`
					From        string           `json:"from"`
				} `json:"kibana.alert.threshold_result"`
				NewTerms  []any  `json:"kibana.alert.new_terms"`
				Original  string `json:"kibana.alert.original_time"`
				Ancestors []struct {
					ID string `json:"id"`
				} `json:"kibana.alert.ancestors"`
			}
			if err := json.Unmarshal(a.Doc, &doc); err != nil {
				return err
			}
			res := statefulResult{NewTerms: doc.NewTerms}
			if t := doc.Result; t != nil {
				res.Terms, res.Count, res.Cardinality, res.From, res.To = t.Terms, t.Count, t.Cardinality, t.From, doc.Original
			} else {
				res.Time = doc.Original
				if len(doc.Ancestors) > 0 {
					res.Event = where[doc.Ancestors[0].ID]
				}
			}
			results = append(results, res)
		}
		return nil
	})
	d, err := detect.New([]*rule.Rule{r}, sink, detect.Options{
		Compile:             detect.EngineCompiler(detect.EngineOptions{Mapping: m}),
		Mapping:             m,
		IgnoreIndexPatterns: true,
		Workers:             1,
		OnEventError:        func(err error) { fmt.Fprintf(stderr, "%v (skipped)\n", err) },
	})
	if err != nil {
		return exitWith(exitFailure, err)
	}
	if s := d.Summary().RulesSkipped; len(s) > 0 {
		fmt.Fprintf(stderr, "tripline: %s: the rule cannot run: %s\n", o.rulePath, s[0].Reason)
		return exitWith(exitUsage, nil)
	}
	docs, done := o.in.openInputs(ctx, expandInputs(o.paths, stderr), ios.in, stderr)
	rerr := eachDoc(docs, func(doc source.Doc) error {
		if r.IsNewTerms() {
			where[event.DocID(doc.Bytes)] = fmt.Sprintf("%s:%d", doc.Source, doc.Line)
		}
		src := detect.SourceOf(doc)
		src.HasOffset = false
		return d.Process(ctx, doc.Bytes, src)
	})
	done()
	ist := docs.Stats()
	if err := d.Close(context.WithoutCancel(ctx)); err != nil && rerr == nil {
		rerr = err
	}
	if rerr != nil {
		if ctx.Err() != nil && !o.in.follow {
			return exitWith(exitSignaled, errInterrupted)
		}
		if ctx.Err() == nil {
			return exitWith(exitFailure, rerr)
		}
	}
	sum := d.Summary()
	if o.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		if results == nil {
			results = []statefulResult{}
		}
		err = enc.Encode(struct {
			RuleID  string           `json:"rule_id"`
			Name    string           `json:"name"`
			Type    string           `json:"type"`
			Events  int64            `json:"events_read"`
			Matched int              `json:"events_matched"`
			Results []statefulResult `json:"results"`
		}{r.RuleID, r.Name, r.Type, ist.Records, sum.Rules[0].Matches, results})
	} else {
		writeStatefulText(stdout, r, ist, sum.Rules[0].Matches, results)
	}
	if err != nil {
		return exitWith(exitFailure, err)
	}
	switch {
	case ist.Malformed+sum.EventsSkipped+sum.EventsUnused > 0 || ist.InputsSkipped > 0:
		return exitWith(exitSkipped, nil)
	case len(results) == 0:
		return exitWith(exitFailure, nil)
	}
	return nil
}

// writeStatefulText writes rules test's text report of a threshold or new-terms rule.
func writeStatefulText(w io.Writer, r *rule.Rule, ist source.Stats, matched int, results []statefulResult) {
	fmt.Fprintf(w, "rule:   %s (%s)\n", r.Name, r.RuleID)
	fmt.Fprintf(w, "events: %d read, %d matched the query [%s]\n", ist.Records, matched, strings.TrimSpace(r.Query))
	if th := r.Threshold; th != nil {
		by := "all events"
		if len(th.Field) > 0 {
			by = "by " + strings.Join(th.Field, ", ")
		}
		fmt.Fprintf(w, "\nthreshold: %s, count >= %d", by, th.Value)
		for _, c := range th.Cardinality {
			fmt.Fprintf(w, ", distinct %s >= %d", c.Field, c.Value)
		}
		fmt.Fprintf(w, ", look-back %s every %s\n", r.From, r.Interval)
		fmt.Fprintf(w, "%s reached it\n", plural(int64(len(results)), "group"))
		for _, res := range results {
			var terms []string
			for _, t := range res.Terms {
				terms = append(terms, fmt.Sprintf("%v=%v", t["field"], t["value"]))
			}
			if len(terms) == 0 {
				terms = []string{"(all events)"}
			}
			fmt.Fprintf(w, "  %s  count=%d", strings.Join(terms, " "), res.Count)
			for _, c := range res.Cardinality {
				fmt.Fprintf(w, " distinct(%v)=%v", c["field"], c["value"])
			}
			fmt.Fprintf(w, "  %s .. %s\n", res.From, res.To)
		}
		return
	}
	fmt.Fprintf(w, "\nnew terms: %s, not seen since %s\n", strings.Join(r.NewTermsFields, ", "), r.HistoryWindowStart)
	fmt.Fprintf(w, "%s new\n", plural(int64(len(results)), "value"))
	for _, res := range results {
		vals := make([]string, len(res.NewTerms))
		for i, v := range res.NewTerms {
			vals[i] = fmt.Sprint(v)
		}
		fmt.Fprintf(w, "  [%s]  %s  %s\n", strings.Join(vals, ", "), res.Event, res.Time)
	}
}
