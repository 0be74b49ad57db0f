package detect

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/rule"
)

// thresholdKind is the kind of threshold rules. Kibana runs such a rule every interval over
// its look-back [from, to] (now-9m .. now every 5m: most events are seen by two executions),
// counts the matching events per group of threshold.field values and alerts for every group
// that reaches threshold.value (and, with cardinality, as many distinct values of the
// cardinality field). Its signal history keeps, per group that alerted, the newest event
// time the alert counted; later executions leave out the events of that group up to that
// time, so that a group alerts again only for events it has not alerted for.
//
// Tripline runs the same executions over event time: execution k ends at t_k = k×interval
// (from the Unix epoch, UTC) and counts the events whose time (timestamp_override, else
// @timestamp) lies in [t_k−from, t_k−to], both ends included, as Kibana's range filter
// does, less those its signal history leaves out. An execution runs once an event later
// than its window's end has arrived (streaming), or at the end of the input. The alerts
// are thus those of a Kibana whose executions had run at those instants with every event
// already searchable: a group alerts once for the events that reached the threshold, and
// a burst that is split by no look-back (it never has value events within one window)
// does not alert. Kibana's own schedule starts when the rule is enabled; only the phase
// differs.
type thresholdKind struct{ language string }

func (k thresholdKind) meta() kindMeta {
	return kindMeta{ruleType: "threshold", language: k.language, typeID: "siem.thresholdRule", category: "Threshold Rule"}
}

// suppresses is false: Kibana suppresses threshold alerts by their own group (§8 of the
// notes), which Tripline does not implement; such a rule is refused.
func (thresholdKind) suppresses() bool { return false }

func (k thresholdKind) compile(req CompileRequest, fn CompileFunc) (*Compiled, alertShape, error) {
	return compileSelection(k, req, fn)
}

// thresholdNamespace is the UUID v5 namespace of the synthetic hits of threshold alerts.
const thresholdNamespace = "0684ec03-7201-4ee0-8ee0-3a3f6b2479b2"

func (thresholdKind) newAggregator(r *rule.Rule, interval time.Duration, learn bool) (aggregator, error) {
	from, err := rule.Lookback(r.From)
	if err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	to, err := rule.Lookback(r.To)
	if err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	if from <= to {
		return nil, fmt.Errorf("from %q is not before to %q", r.From, r.To)
	}
	th := r.Threshold
	a := &thresholdAgg{
		fields: th.Field, value: th.Value, from: int64(from), to: int64(to), interval: int64(interval),
		maxSignals: r.MaxSignals, index: strings.Join(r.IndexPatterns(), ","),
		store: newMemThresholdStore(), counts: map[string]*thCount{},
	}
	paths := slices.Clone(th.Field)
	if len(th.Cardinality) > 0 {
		c := th.Cardinality[0]
		a.card = &c
		paths = append(paths, c.Field)
	}
	var slots []event.Slot
	a.fr, slots = newFieldReader(r, paths)
	a.groupSlots = slots[:len(th.Field)]
	if a.card != nil {
		a.cardSlot = slots[len(th.Field)]
	}
	return a, nil
}

// thresholdStore is the state of a threshold rule that a durable store keeps: the events
// within the look-back of the executions still to run (their time, groups and cardinality
// values) and the signal history.
type thresholdStore interface {
	// addEvent buffers an event; eachEvent calls fn for every buffered event; expireEvents
	// drops those before the given time (ns); events counts them.
	addEvent(e thEvent)
	eachEvent(fn func(e *thEvent))
	expireEvents(before int64)
	events() int
	// lastSignal returns a group's signal history entry (the newest event time, ns, its
	// last alert counted); setLastSignal records one; expireSignals drops the entries at
	// or before the given time, as Kibana drops those at or before an execution's from.
	lastSignal(group string) (int64, bool)
	setLastSignal(group string, t int64, terms []any)
	expireSignals(upTo int64)
	// terms returns a group's values (its composite key), as addEvent or setLastSignal
	// gave them.
	terms(group string) []any
}

// thEvent is an event a threshold rule counts.
type thEvent struct {
	t      int64    // event time, ns
	seq    uint64   // arrival number (EventSource.Seq)
	groups []string // the groups (keys) it is in: one per combination of its values
	card   []string // its values of the cardinality field (keys)
}

// memThresholdStore keeps a threshold rule's state in memory.
type memThresholdStore struct {
	buf     []thEvent
	history map[string]int64
	names   map[string][]any
}

func newMemThresholdStore() *memThresholdStore {
	return &memThresholdStore{history: map[string]int64{}, names: map[string][]any{}}
}

func (s *memThresholdStore) addEvent(e thEvent) { s.buf = append(s.buf, e) }
func (s *memThresholdStore) events() int        { return len(s.buf) }

func (s *memThresholdStore) eachEvent(fn func(e *thEvent)) {
	for i := range s.buf {
		fn(&s.buf[i])
	}
}

func (s *memThresholdStore) expireEvents(before int64) {
	s.buf = slices.DeleteFunc(s.buf, func(e thEvent) bool { return e.t < before })
	// Forget the values of groups nothing refers to any more, once they are many.
	if len(s.names) > 1024 && len(s.names) > 4*(len(s.buf)+len(s.history)) {
		live := make(map[string][]any, len(s.history))
		for _, e := range s.buf {
			for _, g := range e.groups {
				live[g] = s.names[g]
			}
		}
		for g := range s.history {
			live[g] = s.names[g]
		}
		s.names = live
	}
}

func (s *memThresholdStore) lastSignal(g string) (int64, bool) {
	t, ok := s.history[g]
	return t, ok
}

func (s *memThresholdStore) setLastSignal(g string, t int64, terms []any) {
	s.history[g] = t
	s.names[g] = terms
}

func (s *memThresholdStore) expireSignals(upTo int64) {
	for g, t := range s.history {
		if t <= upTo {
			delete(s.history, g)
		}
	}
}

func (s *memThresholdStore) terms(g string) []any { return s.names[g] }

// setTerms records a group's values.
func (s *memThresholdStore) setTerms(g string, terms []any) {
	if _, ok := s.names[g]; !ok {
		s.names[g] = terms
	}
}

// thresholdAgg runs a threshold rule's executions over event time.
type thresholdAgg struct {
	fields             []string
	value              int
	card               *rule.ThresholdCardinality
	from, to, interval int64 // look-back start and end before an execution, its period (ns)
	maxSignals         int
	index              string // the rule's index patterns, joined with ","
	store              thresholdStore
	next               int64 // end t_k of the next execution to run
	started            bool
	counts             map[string]*thCount // one execution's counts (reused)
	fr                 *fieldReader
	durable            bool         // the store is durable: the end of the input is not the end of the stream
	saveCursor         func()       // records next in the durable store
	groupSlots         []event.Slot // threshold.field
	cardSlot           event.Slot   // threshold.cardinality's field
}

func (a *thresholdAgg) reader() *fieldReader { return a.fr }

// thCount is one group's count in one execution.
type thCount struct {
	n        int
	min, max int64
	card     map[string]struct{}
}

// firstExec returns the end of the first execution whose window ends at or after t.
func (a *thresholdAgg) firstExec(t int64) int64 {
	end := t + a.to
	k := end / a.interval
	if k*a.interval < end {
		k++
	}
	return k * a.interval
}

func (a *thresholdAgg) add(b *builder, ri *ruleInfo, sel *selected) ([]Alert, int, error) {
	t := sel.t.UnixNano()
	var alerts []Alert
	var capped int
	if !a.started {
		a.next, a.started = a.firstExec(t), true
		if a.saveCursor != nil {
			// Recorded now: a run that ends before this execution runs hands it on.
			a.saveCursor()
		}
	}
	if a.saveCursor != nil {
		defer func(next int64) {
			if a.next != next {
				a.saveCursor()
			}
		}(a.next)
	}
	for a.store.events() > 0 && a.next-a.to < t {
		got, c, err := a.run(b, ri)
		alerts, capped = append(alerts, got...), capped+c
		if err != nil {
			return alerts, capped, err
		}
	}
	if a.store.events() == 0 {
		a.next = max(a.next, a.firstExec(t))
	}
	if t < a.next-a.from {
		return alerts, capped, nil // older than every window still to run
	}
	combos, keys := a.fr.combinations(a.groupSlots)
	if len(keys) == 0 {
		return alerts, capped, nil // a document lacking a field is in no bucket
	}
	e := thEvent{t: t, seq: sel.ev.Seq, groups: keys}
	if ms, ok := a.store.(interface{ setTerms(string, []any) }); ok {
		for i, k := range keys {
			ms.setTerms(k, combos[i])
		}
	}
	if a.card != nil {
		for _, v := range a.fr.values(a.cardSlot) {
			e.card = append(e.card, termKey(v))
		}
	}
	a.store.addEvent(e)
	return alerts, capped, nil
}

func (a *thresholdAgg) flush(b *builder, ri *ruleInfo) ([]Alert, int, error) {
	if a.durable {
		// With a state directory the input goes on in the next run: executions whose
		// window has not ended (no later event came) wait for it, as in a single run.
		return nil, 0, nil
	}
	var alerts []Alert
	var capped int
	for a.store.events() > 0 {
		got, c, err := a.run(b, ri)
		alerts, capped = append(alerts, got...), capped+c
		if err != nil {
			return alerts, capped, err
		}
	}
	return alerts, capped, nil
}

// run runs execution a.next and moves to the next one.
func (a *thresholdAgg) run(b *builder, ri *ruleInfo) ([]Alert, int, error) {
	end := a.next
	ws, we := end-a.from, end-a.to
	a.next += a.interval
	defer a.store.expireEvents(a.next - a.from)
	a.store.expireSignals(ws)
	clear(a.counts)
	a.store.eachEvent(func(e *thEvent) {
		if e.t < ws || e.t > we {
			return
		}
		// Kibana's history filter leaves the whole document out when any of its groups
		// alerted on it.
		for _, g := range e.groups {
			if last, ok := a.store.lastSignal(g); ok && e.t <= last {
				return
			}
		}
		for _, g := range e.groups {
			c := a.counts[g]
			if c == nil {
				c = &thCount{min: e.t, max: e.t}
				if a.card != nil {
					c.card = map[string]struct{}{}
				}
				a.counts[g] = c
			}
			c.n++
			c.min, c.max = min(c.min, e.t), max(c.max, e.t)
			for _, v := range e.card {
				c.card[v] = struct{}{}
			}
		}
	})
	var due []string
	for g, c := range a.counts {
		if c.n >= a.value && (a.card == nil || len(c.card) >= a.card.Value) {
			due = append(due, g)
		}
	}
	if len(due) == 0 {
		return nil, 0, nil
	}
	// Composite key order.
	slices.SortFunc(due, func(x, y string) int {
		tx, ty := a.store.terms(x), a.store.terms(y)
		for i := range tx {
			if c := compareTerms(tx[i], ty[i]); c != 0 {
				return c
			}
		}
		return strings.Compare(x, y)
	})
	capped := 0
	if len(due) > a.maxSignals {
		capped, due = len(due)-a.maxSignals, due[:a.maxSignals]
	}
	alerts := make([]Alert, 0, len(due))
	for _, g := range due {
		c, terms := a.counts[g], a.store.terms(g)
		al, err := a.alert(b, ri, end, terms, c)
		if err != nil {
			return alerts, capped, err
		}
		alerts = append(alerts, al)
		a.store.setLastSignal(g, c.max, terms)
	}
	return alerts, capped, nil
}

// alert builds the alert of a group that reached the threshold in the execution ending at
// end, as Kibana builds it from a synthetic hit: the hit's source is the group's values
// (dotted keys) and @timestamp its newest event time; its _id a UUID v5 of the rule_id,
// the execution's start, the fields and the sorted values; its _index the rule's index
// patterns.
func (a *thresholdAgg) alert(b *builder, ri *ruleInfo, end int64, terms []any, c *thCount) (Alert, error) {
	maxT, minT := time.Unix(0, c.max).UTC(), time.Unix(0, c.min).UTC()
	src := document{"@timestamp": isoMillis(maxT)}
	termList := make([]any, len(terms))
	strs := make([]string, len(terms))
	for i, v := range terms {
		src[a.fields[i]] = v // Kibana spreads the bucket's key into the hit's source
		termList[i] = document{"field": a.fields[i], "value": v}
		strs[i] = jsString(v)
	}
	slices.SortFunc(strs, compareUTF16)
	name := ri.r.RuleID + isoMillis(time.Unix(0, end)) + strings.Join(a.fields, ",") + strings.Join(strs, ",")
	hitID := uuidV5(thresholdNamespace, name)
	doc := b.baseAlert(ri, matchedEvent{id: hitID, index: a.index, src: src})
	result := document{"terms": termList, "count": c.n, "from": isoMillis(minT)}
	if a.card != nil {
		result["cardinality"] = []any{document{"field": a.card.Field, "value": len(c.card)}}
	}
	doc["kibana.alert.threshold_result"] = result
	doc["kibana.alert.depth"] = 1
	doc["kibana.alert.ancestors"] = []ancestor{{ID: hitID, Type: "event", Index: a.index, Depth: 0}}
	id := sha256Hex(a.index, hitID, "undefined", b.space, ":", ri.uuid)
	return b.finish(ri, EventAlert, id, doc)
}

// jsString is String(v) in JavaScript for a term value.
func jsString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		if f, err := strconv.ParseFloat(x.String(), 64); err == nil {
			return jsNumber(f)
		}
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}
