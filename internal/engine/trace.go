package engine

import (
	"context"
	"strings"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/eval"
	"github.com/tripline/tripline/event"
)

// Trace runs a statement over events in Batch mode, as a Query's Run does, and records what
// a rule author looks at when a rule does not match as expected: for each of its terms
// (Terms: the event query, or each stage and the until clause), the events that pass the
// term's filter on its own, with their join-key values there; and, for each result, where
// its events came from. It keeps every event that passes a filter: it is a tool for trying
// a rule over a sample, not for a stream.
type Trace struct {
	run     *Run
	filters []termFilter
	ts      event.Slot
	terms   []TermTrace
	results []TraceResult
}

// termFilter is one term's filter, compiled on its own, and the slots of its join keys.
type termFilter struct {
	filter *eval.Filter
	keys   []event.Slot
}

// TermTrace is what a Trace recorded of one term.
type TermTrace struct {
	Term Term
	// Events are the events that passed the term's filter, in input order.
	Events []TracedEvent
}

// TracedEvent is an event that passed a term's filter.
type TracedEvent struct {
	// Source and Line say where the event came from (event.Event.Source and Line).
	Source string
	Line   int
	// Timestamp holds the values of the timestamp field (Options.TimestampField) as
	// strings; none when the event has none.
	Timestamp []string
	// Keys holds, for each join key of the term (Term.By, read as the field's source
	// values), its values as strings, an empty list for a key the event has no value of;
	// nil for a term without join keys.
	Keys [][]string
}

// TraceResult is one result of the statement.
type TraceResult struct {
	// JoinKeys are the result's join keys (Result.JoinKeys).
	JoinKeys []string
	// Events say where each event of the result came from, in stage order.
	Events []TraceRef
}

// TraceRef says where an event of a result came from, or that the stage is a missing
// event.
type TraceRef struct {
	Source  string
	Line    int
	Missing bool
}

// NewTrace compiles stmt for a Trace: the filter of each of its terms on its own, then the
// statement as Compile does with opts, registering every field they read in fields (create
// the decoder after). An error about a place in the query is an *eval.Error.
func NewTrace(stmt *eql.Statement, fields *event.Fields, opts Options) (*Trace, error) {
	opts.setDefaults()
	t := &Trace{}
	env := &eval.Env{Fields: fields, Mapping: opts.Mapping, CategoryField: opts.CategoryField}
	for _, term := range Terms(stmt) {
		f, err := eval.CompileQuery(term.Query, env)
		if err != nil {
			return nil, err
		}
		tf := termFilter{filter: f}
		for _, k := range term.By {
			tf.keys = append(tf.keys, fields.Add(k.Name))
		}
		t.filters = append(t.filters, tf)
		t.terms = append(t.terms, TermTrace{Term: term, Events: []TracedEvent{}})
	}
	q, err := Compile(stmt, fields, opts)
	if err != nil {
		return nil, err
	}
	t.ts = fields.Add(opts.TimestampField)
	t.run = q.NewRun(Batch, t.emit)
	return t, nil
}

// emit records a result of the run.
func (t *Trace) emit(res *Result) {
	tr := TraceResult{JoinKeys: res.JoinKeys}
	for _, ev := range res.Events {
		if ev == nil {
			tr.Events = append(tr.Events, TraceRef{Missing: true})
		} else {
			tr.Events = append(tr.Events, TraceRef{Source: ev.Source, Line: ev.Line})
		}
	}
	t.results = append(t.results, tr)
}

// Push offers ev to the filter of every term, recording it where it passes, then pushes it
// to the statement's run (Run.Push, whose error it returns). ev is not kept: the values
// recorded are copied.
func (t *Trace) Push(ev *event.Event) error {
	for i := range t.filters {
		f := &t.filters[i]
		if !f.filter.Match(ev) {
			continue
		}
		te := TracedEvent{Source: ev.Source, Line: ev.Line, Timestamp: valueStrings(ev.Values(t.ts))}
		for _, k := range f.keys {
			te.Keys = append(te.Keys, valueStrings(ev.Values(k)))
		}
		t.terms[i].Events = append(t.terms[i].Events, te)
	}
	return t.run.Push(ev)
}

// Flush ends the input and matches the statement (Run.Flush): Results are then complete.
func (t *Trace) Flush(ctx context.Context) error { return t.run.Flush(ctx) }

// Terms returns what was recorded of each term, in the order of Terms.
func (t *Trace) Terms() []TermTrace { return t.terms }

// Results returns the statement's results so far: all of them once flushed.
func (t *Trace) Results() []TraceResult { return t.results }

// valueStrings formats values as strings that own their memory (an event's strings point
// into the input buffer, which the reader reuses).
func valueStrings(vs []event.Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.Clone(v.String())
	}
	return out
}
