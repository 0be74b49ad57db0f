package detect

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/rule"
)

// Stateful rule kinds (threshold, new_terms) select events as query rules do (the rule's
// KQL or Lucene query, filters and exceptions, compiled as `any where <search>`), but their
// alerts come from state kept over the selected events, not from each event: the
// aggregator. The rule's matches reach it in the order of the rule's event time (the
// timestamp_override, else @timestamp: Kibana's aggregatable timestamp): in batch mode all
// matches are sorted at Close; in streaming mode they come as the engine releases them
// (its reordering buffer orders them by @timestamp), and an aggregator tolerates an event
// older than the newest it has seen.

// statefulKind is a ruleKind whose alerts an aggregator makes.
type statefulKind interface {
	ruleKind
	// newAggregator returns the state of one rule; learn makes it record what it sees
	// without alerting (Options.History).
	newAggregator(r *rule.Rule, interval time.Duration, learn bool) (aggregator, error)
}

// aggregator is a stateful rule's state.
type aggregator interface {
	// add takes one selected event, at time t (the rule's event time), and returns the
	// alerts it makes due, and how many alerts max_signals dropped.
	add(b *builder, ri *ruleInfo, me *matchedEvent, t time.Time) ([]Alert, int, error)
	// flush ends the input and returns the alerts still due.
	flush(b *builder, ri *ruleInfo) ([]Alert, int, error)
}

// compileSelection compiles the events a stateful rule selects: its query as a query
// rule's, every match emitted (no max_signals cap: the aggregator applies it to alerts).
func compileSelection(k ruleKind, req CompileRequest, fn CompileFunc) (*Compiled, alertShape, error) {
	q, err := searchQuery(req.Rule.Language, req.Rule.Query, req.KQLFields)
	if err != nil {
		return nil, nil, err
	}
	where := &eql.Search{Language: req.Rule.Language, Source: req.Rule.Query, Query: q}
	req.Statement = &eql.Statement{Query: &eql.EventQuery{Any: true, Where: where}}
	req.MaxResults, req.MaxFirst = 0, false
	comp, err := compileRestricted(req, fn)
	if err != nil {
		return nil, nil, err
	}
	return comp, nil, nil
}

// ruleTime is the rule's event time of a document: its timestamp_override, else its
// @timestamp (Kibana's kibana.combined_timestamp).
func ruleTime(r *rule.Rule, src document) (time.Time, bool) {
	for _, f := range []string{r.TimestampOverride, "@timestamp"} {
		if f == "" {
			continue
		}
		if v, ok := lookup(src, f); ok {
			if t, ok := parseTime(v); ok {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// matched reads a kept event's document for a stateful rule; lost is set when it could
// not be read again from its file.
func matched(ev *event.Event) (me *matchedEvent, lost, err error) {
	raw, err := ev.Doc()
	if err != nil {
		return nil, err, nil
	}
	src, err := parseDocument(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s:%d: %w", ev.Source, ev.Line, err)
	}
	return &matchedEvent{id: eventID(ev, raw, src), index: ev.Index, src: src}, nil, nil
}

// aggregate gives one selected event of rule rs to its aggregator and writes the alerts
// that become due.
func (d *Detector) aggregate(ctx context.Context, rs *ruleState, ev *event.Event) error {
	me, lost, err := matched(ev)
	switch {
	case lost != nil:
		d.report(fmt.Errorf("%w: an event of rule %q not used", lost, rs.info.r.Name))
		return nil
	case err != nil:
		return err
	}
	t, ok := ruleTime(rs.info.r, me.src)
	if !ok {
		return nil // the range filter of Kibana's search would not find it
	}
	return d.aggregated(ctx, rs, me, t)
}

// aggregated gives a parsed event to rs's aggregator and writes the alerts it returns.
func (d *Detector) aggregated(ctx context.Context, rs *ruleState, me *matchedEvent, t time.Time) error {
	alerts, capped, err := rs.agg.add(&d.b, rs.info, me, t)
	rs.stats.Capped += capped
	if err != nil {
		return err
	}
	return d.writeEach(ctx, rs, alerts)
}

// writeEach writes alerts one per Sink call (each stands for one group or term).
func (d *Detector) writeEach(ctx context.Context, rs *ruleState, alerts []Alert) error {
	for _, a := range alerts {
		if err := d.writeAlerts(ctx, rs, []Alert{a}); err != nil {
			return err
		}
	}
	return nil
}

// closeStateful ends the stateful rules (Close): in batch mode it first gives each its
// selected events in event-time order (input order among equal times).
func (d *Detector) closeStateful(ctx context.Context) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for _, rs := range d.rules {
		if rs.agg == nil {
			continue
		}
		pending := rs.pending
		rs.pending = nil
		type timed struct {
			t  time.Time
			me *matchedEvent
		}
		var evs []timed
		for _, m := range pending {
			me, lost, err := matched(m[0])
			switch {
			case lost != nil:
				d.report(fmt.Errorf("%w: an event of rule %q not used", lost, rs.info.r.Name))
				continue
			case err != nil:
				keep(err)
				continue
			}
			if t, ok := ruleTime(rs.info.r, me.src); ok {
				evs = append(evs, timed{t, me})
			}
		}
		slices.SortStableFunc(evs, func(a, b timed) int { return a.t.Compare(b.t) })
		for i, e := range evs {
			keep(d.aggregated(ctx, rs, e.me, e.t))
			evs[i] = timed{}
		}
		alerts, capped, err := rs.agg.flush(&d.b, rs.info)
		rs.stats.Capped += capped
		keep(err)
		keep(d.writeEach(ctx, rs, alerts))
	}
	return first
}

// termValues returns the distinct non-null scalar values of field in src (arrays
// flattened), in the order they appear, as a terms aggregation buckets them.
func termValues(src document, field string) []any {
	v, ok := lookup(src, field)
	if !ok {
		return nil
	}
	var out []any
	seen := map[string]bool{}
	for _, x := range leaves(v) {
		switch x.(type) {
		case nil, map[string]any:
			continue
		}
		k := termKey(x)
		if !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	return out
}

// termKey encodes a term value so that equal values, and only they, have equal keys.
func termKey(v any) string {
	switch x := v.(type) {
	case string:
		return "s" + x
	case json.Number:
		return "n" + x.String()
	case bool:
		if x {
			return "btrue"
		}
		return "bfalse"
	}
	raw, _ := json.Marshal(v)
	return "j" + string(raw)
}

// combinations returns the cartesian product of the values of fields in src (Kibana's
// composite aggregation over one terms source per field), each with its key; none when a
// field has no value.
func combinations(src document, fields []string) (combos [][]any, keys []string) {
	combos = [][]any{{}}
	for _, f := range fields {
		vals := termValues(src, f)
		if len(vals) == 0 {
			return nil, nil
		}
		next := make([][]any, 0, len(combos)*len(vals))
		for _, c := range combos {
			for _, v := range vals {
				next = append(next, append(slices.Clip(c), v))
			}
		}
		combos = next
	}
	keys = make([]string, len(combos))
	for i, c := range combos {
		var sb strings.Builder
		for j, v := range c {
			if j > 0 {
				sb.WriteByte(0)
			}
			sb.WriteString(termKey(v))
		}
		keys[i] = sb.String()
	}
	return combos, keys
}

// compareTerms orders term values as a composite aggregation orders its keys: numbers by
// value before strings, strings by their bytes.
func compareTerms(a, b any) int {
	na, aNum := a.(json.Number)
	nb, bNum := b.(json.Number)
	switch {
	case aNum && bNum:
		fa, _ := na.Float64()
		fb, _ := nb.Float64()
		return cmp.Compare(fa, fb)
	case aNum:
		return -1
	case bNum:
		return 1
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// uuidV5 returns the name-based (SHA-1) UUID of name in namespace ns, as npm uuid's v5.
func uuidV5(ns, name string) string {
	nsBytes, _ := hex.DecodeString(strings.ReplaceAll(ns, "-", ""))
	h := sha1.New()
	h.Write(nsBytes)
	h.Write([]byte(name))
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}
