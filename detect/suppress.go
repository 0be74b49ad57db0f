package detect

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/rule"
)

// Alert suppression (a rule's alert_suppression), as Kibana's in-memory suppression does
// it for EQL rules: the matches of one group (equal values of the group_by fields, read
// from the event for an event query and from the shell alert for a sequence) within the
// suppression window become one alert, the group's first, which carries
// kibana.alert.instance.id, kibana.alert.suppression.terms, .start, .end and .docs_count
// (the other matches it stands for). The window is the duration from the first match's
// time, or one rule execution without a duration: the whole input in batch mode, one rule
// interval of event time in streaming mode (as max_signals). Time is event time: the
// rule's timestamp_override, else @timestamp, of the match's (first) event.
//
// Outputs are append-only (files, webhooks) or insert-if-absent (Elasticsearch writes
// alerts with the create op, so a second write of an _id is dropped), so a suppressed
// alert cannot be written and then updated as Kibana updates it. It is held instead, and
// written once, complete, when its window has closed: in batch mode at Close; in streaming
// mode when a later match of the same rule falls after the window (the rule emits its
// matches in event-time order), when the stream's event time has moved past it
// (expireSuppression), or at Close. Its building blocks (a sequence's) are held with
// it; those of the matches it suppresses are dropped, as Kibana drops them.

// suppressKey is what suppression reads of one match, when its alerts are built.
type suppressKey struct {
	instance   string    // kibana.alert.instance.id: object-hash of [terms, rule uuid, space]
	terms      []any     // kibana.alert.suppression.terms: [{field, value}]
	at         time.Time // the match's event time, which its window is measured from
	start, end time.Time // the event times it stands for (a threshold group's first and last)
	missing    bool      // a group_by field has no value
}

// suppressionKey computes the key of a match whose alerts are built (the first is an
// event alert or a sequence's shell).
func (b *builder) suppressionKey(ri *ruleInfo, events []*matchedEvent, alerts []Alert) (suppressKey, error) {
	cfg := ri.r.AlertSuppression
	var first *matchedEvent
	for _, me := range events {
		if me != nil {
			first = me
			break
		}
	}
	var k suppressKey
	var shell document
	if alerts[0].Kind == ShellAlert {
		// Kibana reads a sequence's terms from its shell alert's source.
		var err error
		if shell, err = parseDocument(alerts[0].Doc); err != nil {
			return k, err
		}
	}
	for _, field := range cfg.GroupBy {
		var value any
		if shell != nil {
			if v, ok := lookup(shell, field); ok && v != nil {
				value = v
				if a, ok := v.([]any); ok {
					value = sortedValues(a)
				}
			}
		} else if v, ok := lookup(first.src, field); ok {
			// An event's terms come from the search response's fields, which give every
			// field's values as an array (none: the field is missing).
			var vals []any
			for _, x := range leaves(v) {
				if x != nil {
					vals = append(vals, x)
				}
			}
			if len(vals) > 0 {
				value = sortedValues(vals)
			}
		}
		k.missing = k.missing || value == nil
		k.terms = append(k.terms, document{"field": field, "value": value})
	}
	k.instance = objectHash([]any{k.terms, ri.uuid, b.space})
	k.at = b.matchTime(ri.r, first)
	k.start, k.end = k.at, k.at
	return k, nil
}

// matchTime is the event time of a match: its first event's timestamp_override, else its
// @timestamp, else the alerts' creation time (Kibana's order). For a sequence Kibana reads
// the shell's source, which seldom has either; Tripline uses the first event's.
func (b *builder) matchTime(r *rule.Rule, me *matchedEvent) time.Time {
	for _, f := range []string{r.TimestampOverride, "@timestamp"} {
		if f == "" || me == nil {
			continue
		}
		if v, ok := lookup(me.src, f); ok {
			if t, ok := parseTime(v); ok {
				return t
			}
		}
	}
	t, _ := time.Parse(time.RFC3339Nano, b.now)
	return t
}

// sortedValues returns a sorted copy of vals, as lodash's sortBy orders them: numbers by
// value, strings by their text, numbers before strings, others last as they came.
func sortedValues(vals []any) []any {
	out := slices.Clone(vals)
	rank := func(v any) int {
		switch v.(type) {
		case json.Number, float64:
			return 0
		case string:
			return 1
		}
		return 2
	}
	num := func(v any) float64 {
		switch x := v.(type) {
		case json.Number:
			f, _ := x.Float64()
			return f
		case float64:
			return x
		}
		return 0
	}
	slices.SortStableFunc(out, func(a, b any) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		switch rank(a) {
		case 0:
			return cmp.Compare(num(a), num(b))
		case 1:
			return compareUTF16(a.(string), b.(string))
		}
		return 0
	})
	return out
}

// suppressor holds the alerts of one rule with alert_suppression until their windows close.
type suppressor struct {
	window time.Duration // the duration; 0: one execution
	bucket time.Duration // streaming (or durable) without a duration: the rule's interval
	open   map[string]*suppGroup
	next   time.Time    // the earliest closes of the open groups (zero: none closes)
	held   []*suppGroup // batch: one per match, grouped at Close
	seq    int
	// With Options.State the open groups are written through to the store (see
	// attachSuppression), and log, when the store keeps one, tells the matches an earlier
	// run took in.
	st  StateStore
	ns  string
	log MatchLog
	// written (streaming) are the arrival numbers of the matches of the groups written
	// lately, oldest and latest: see Detector.Unfinished.
	written []seqSpan
}

// seqSpan is the smallest and the largest EventSource.Seq of the events of a group's
// matches.
type seqSpan struct{ oldest, latest uint64 }

// suppGroup is a held alert (a match's alerts) and the matches it suppresses.
type suppGroup struct {
	id         string // its key in suppressor.open
	key        suppressKey
	alerts     []Alert
	seq        int
	start, end time.Time
	count      int       // the matches suppressed
	closes     time.Time // the window's last instant; zero: at Close
	span       seqSpan   // the arrival numbers of the events of its matches (Unfinished)
}

// newSuppressor returns the suppressor of rule r. Without a duration a window is one
// execution: the whole input in batch mode, one rule interval of event time when the
// input has no end (streaming, or a state directory, whose runs go on from one another).
func newSuppressor(r *rule.Rule, endless bool, interval time.Duration) *suppressor {
	s := &suppressor{window: r.AlertSuppression.Duration.Window(), open: make(map[string]*suppGroup)}
	if endless && s.window == 0 {
		s.bucket = interval
	}
	return s
}

// add takes a match in, whose events' arrival numbers span sp: it opens a group or is
// suppressed by the open one. It returns the groups whose windows closed before the
// match's time, in the order they opened.
func (s *suppressor) add(key suppressKey, alerts []Alert, sp seqSpan) (closed []*suppGroup, suppressed bool) {
	id := key.instance
	var closes time.Time
	switch {
	case s.window > 0:
		closes = key.at.Add(s.window)
	case s.bucket > 0:
		n := key.at.UnixNano() / int64(s.bucket)
		id += "@" + strconv.FormatInt(n, 10)
		closes = time.Unix(0, (n+1)*int64(s.bucket)-1)
	}
	if g := s.open[id]; g != nil && (g.closes.IsZero() || !key.at.After(g.closes)) {
		g.count++
		g.span = seqSpan{min(g.span.oldest, sp.oldest), max(g.span.latest, sp.latest)}
		if key.start.Before(g.start) {
			g.start = key.start
		}
		if key.end.After(g.end) {
			g.end = key.end
		}
		s.save(g, false)
		return nil, true
	}
	s.seq++
	g := &suppGroup{id: id, key: key, alerts: alerts, seq: s.seq, start: key.start, end: key.end, closes: closes, span: sp}
	if g := s.open[id]; g != nil {
		closed = append(closed, g) // its window ended before this match
		s.remove(id)
	}
	if !s.next.IsZero() && s.next.Before(key.at) {
		s.next = time.Time{}
		for k, o := range s.open {
			if o.closes.Before(key.at) {
				closed = append(closed, o)
				s.remove(k)
			} else if s.next.IsZero() || o.closes.Before(s.next) {
				s.next = o.closes
			}
		}
	}
	s.open[id] = g
	s.save(g, true)
	if !closes.IsZero() && (s.next.IsZero() || closes.Before(s.next)) {
		s.next = closes
	}
	slices.SortFunc(closed, func(a, b *suppGroup) int { return a.seq - b.seq })
	return closed, false
}

// expire returns the open groups whose windows closed before upTo, in the order they
// opened, and forgets them.
func (s *suppressor) expire(upTo time.Time) []*suppGroup {
	if s.next.IsZero() || !s.next.Before(upTo) {
		return nil
	}
	var out []*suppGroup
	s.next = time.Time{}
	for k, g := range s.open {
		switch {
		case g.closes.IsZero():
		case g.closes.Before(upTo):
			out = append(out, g)
			s.remove(k)
		case s.next.IsZero() || g.closes.Before(s.next):
			s.next = g.closes
		}
	}
	slices.SortFunc(out, func(a, b *suppGroup) int { return a.seq - b.seq })
	return out
}

// expireSuppression (streaming) writes the held alerts whose windows closed before the
// rules' event time can still reach them: the shared reordering stage's bound (no event
// stamped earlier can come out of it), less the rule's reach (a sequence's maxspan). So
// a group is written once the stream has moved past it, not only when its rule matches
// again. Match times are the rule's timestamp_override where events carry one; an event
// ingested before its @timestamp can thus come after its group was written, and opens a
// new one.
func (d *Detector) expireSuppression(ctx context.Context) error {
	if d.stage == nil || len(d.suppressors) == 0 {
		return nil
	}
	bound, ok := d.stage.Bound()
	if !ok {
		return nil
	}
	var first error
	for _, rs := range d.suppressors {
		upTo := bound.Add(-rs.comp.Reach)
		if sb, ok := rs.agg.(suppressionBounder); ok {
			var known bool
			if upTo, known = sb.suppressionBound(); !known {
				continue
			}
		} else if rs.comp.Reach < 0 {
			continue
		}
		if err := d.writeGroups(ctx, rs, rs.supp.expire(upTo)); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// suppressionBounder is an aggregator whose alerts come later than its events: it tells
// the earliest time a later alert of it can have (suppressKey.at).
type suppressionBounder interface {
	suppressionBound() (time.Time, bool)
}

// oldestHeld returns the smallest Seq of the events of the open groups' matches; ok is
// false when none is open.
func (s *suppressor) oldestHeld() (seq uint64, ok bool) {
	for _, g := range s.open {
		if !ok || g.span.oldest < seq {
			seq, ok = g.span.oldest, true
		}
	}
	return seq, ok
}

// widen lowers seq, a position from which the events would be read again, to the first
// event of a group written lately whose matches reach it (read again without it, its
// later matches would open a group of their own), and reports whether it did.
func (s *suppressor) widen(seq *uint64) bool {
	lowered := false
	for _, sp := range s.written {
		if sp.latest >= *seq && sp.oldest < *seq {
			*seq, lowered = sp.oldest, true
		}
	}
	return lowered
}

// forget drops the groups written whose matches are all before seq.
func (s *suppressor) forget(seq uint64) {
	s.written = slices.DeleteFunc(s.written, func(sp seqSpan) bool { return sp.latest < seq })
}

// spanOf returns the smallest and largest Seq of evs (nil entries, missing events, left
// out).
func spanOf(evs []*event.Event) seqSpan {
	var sp seqSpan
	first := true
	for _, ev := range evs {
		if ev == nil {
			continue
		}
		if first {
			sp, first = seqSpan{ev.Seq, ev.Seq}, false
		}
		sp = seqSpan{min(sp.oldest, ev.Seq), max(sp.latest, ev.Seq)}
	}
	return sp
}

// drain returns every open group, in the order they opened.
func (s *suppressor) drain() []*suppGroup {
	var out []*suppGroup
	for k, g := range s.open {
		out = append(out, g)
		s.remove(k)
	}
	slices.SortFunc(out, func(a, b *suppGroup) int { return a.seq - b.seq })
	return out
}

// suppress takes in the alerts of a built match of a suppressing rule: written at once
// when a group_by field is missing and the rule says doNotSuppress, held otherwise.
func (d *Detector) suppress(ctx context.Context, j *alertJob) error {
	rs := j.rs
	if j.key.missing && rs.info.r.AlertSuppression.Strategy() == rule.DoNotSuppressMissing {
		return d.writeAlerts(ctx, rs, j.alerts)
	}
	if log := rs.supp.log; log != nil {
		// With a state directory, a match an earlier run took in (the journal gives its
		// events again) was counted then.
		id := j.alerts[0].ID
		if log.Took(id) {
			return nil
		}
		log.Take(id)
	}
	if !d.opts.Streaming {
		rs.supp.held = append(rs.supp.held, &suppGroup{key: j.key, alerts: j.alerts, seq: len(rs.supp.held), span: spanOf(j.evs)})
		return nil
	}
	closed, suppressed := rs.supp.add(j.key, j.alerts, spanOf(j.evs))
	if suppressed {
		rs.stats.Suppressed++
	}
	return d.writeGroups(ctx, rs, closed)
}

// closeSuppression writes the alerts rs holds (Close): in batch mode it first groups the
// matches, in event-time order.
func (d *Detector) closeSuppression(ctx context.Context, rs *ruleState) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	held := rs.supp.held
	rs.supp.held = nil
	slices.SortStableFunc(held, func(a, b *suppGroup) int { return a.key.at.Compare(b.key.at) })
	for _, m := range held {
		closed, suppressed := rs.supp.add(m.key, m.alerts, m.span)
		if suppressed {
			rs.stats.Suppressed++
		}
		keep(d.writeGroups(ctx, rs, closed))
	}
	switch {
	case rs.supp.st == nil:
		keep(d.writeGroups(ctx, rs, rs.supp.drain()))
	case !d.opts.Streaming:
		// With a state directory the input goes on in the next run: the groups whose
		// window is still open wait for it; those the input has passed are written.
		upTo := d.clock
		if sb, ok := rs.agg.(suppressionBounder); ok {
			upTo, _ = sb.suppressionBound()
		}
		keep(d.writeGroups(ctx, rs, rs.supp.expire(upTo)))
	}
	return first
}

// writeGroups writes the held alert of each group with its suppression fields.
func (d *Detector) writeGroups(ctx context.Context, rs *ruleState, groups []*suppGroup) error {
	var first error
	for _, g := range groups {
		if d.opts.Streaming && (d.opts.State != nil || d.asked) {
			// Kept for Unfinished, which forgets them (asked: a caller asks it).
			rs.supp.written = append(rs.supp.written, g.span)
		}
		alerts := slices.Clone(g.alerts)
		a, err := withSuppression(alerts[0], g)
		if err == nil {
			alerts[0] = a
			err = d.writeAlerts(ctx, rs, alerts)
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// withSuppression returns the alert with its group's suppression fields.
func withSuppression(a Alert, g *suppGroup) (Alert, error) {
	doc, err := parseDocument(a.Doc)
	if err != nil {
		return a, fmt.Errorf("alert %s: %w", a.ID, err)
	}
	doc["kibana.alert.instance.id"] = g.key.instance
	doc["kibana.alert.suppression.terms"] = g.key.terms
	doc["kibana.alert.suppression.start"] = isoMillis(g.start)
	doc["kibana.alert.suppression.end"] = isoMillis(g.end)
	doc["kibana.alert.suppression.docs_count"] = g.count
	raw, err := appendJSON(make([]byte, 0, len(a.Doc)+512), doc)
	if err != nil {
		return a, err
	}
	a.Doc = raw
	return a, nil
}
