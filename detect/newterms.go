package detect

import (
	"fmt"
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/rule"
)

// newTermsKind is the kind of new-terms rules. Kibana runs such a rule every interval:
// a value of new_terms_fields (with 2 or 3 fields, a combination: the cartesian product of
// a document's values) in a matching document of the look-back is new when no matching
// document between history_window_start and the look-back's start has it, and its oldest
// document in the look-back becomes the alert (the same document, so the same alert id,
// in every overlapping execution).
//
// Tripline decides per event, over event time (timestamp_override, else @timestamp): a
// value is new when the rule has not seen it in a matching event within the history
// window before the event (at or after t−window, window = now minus history_window_start,
// 7 days for now-7d). The first event of a burst alerts, as Kibana's oldest document
// does; the two differ only at the window's edges (Kibana's history ends at from, not at
// the event). History expires as event time moves: the rule keeps one entry per value
// seen within the window. A value with no sighting in the window is new, also on the
// first day of a deployment, as in Kibana; Options.History builds history from past data
// first.
type newTermsKind struct{ language string }

func (k newTermsKind) meta() kindMeta {
	return kindMeta{ruleType: "new_terms", language: k.language, typeID: "siem.newTermsRule", category: "New Terms Rule"}
}

// suppresses is true: Kibana suppresses new-terms alerts in memory as a query rule's, by
// the alert_suppression group_by values of the alert's event.
func (newTermsKind) suppresses() bool { return true }

func (k newTermsKind) compile(req CompileRequest, fn CompileFunc) (*Compiled, alertShape, error) {
	return compileSelection(k, req, fn)
}

func (newTermsKind) newAggregator(r *rule.Rule, interval time.Duration, learn bool) (aggregator, error) {
	window, err := rule.Lookback(r.HistoryWindowStart)
	if err != nil {
		return nil, fmt.Errorf("history_window_start: %w", err)
	}
	a := &newTermsAgg{
		fields: r.NewTermsFields, window: int64(window), interval: int64(interval),
		maxSignals: r.MaxSignals, learn: learn, hist: newMemTermHistory(), buckets: map[int64]int{},
	}
	a.fr, a.slots = newFieldReader(r, r.NewTermsFields)
	return a, nil
}

// termHistory is the state of a new-terms rule that a durable store keeps: the last time
// each value (combination, by key) was seen in a matching event.
type termHistory interface {
	// see records a sighting of key at t (ns) and returns the last one before it.
	see(key string, t int64) (last int64, ok bool)
	// expire forgets the values last seen before the given time.
	expire(before int64)
	// len is the number of values held.
	len() int
}

// memTermHistory keeps a new-terms rule's history in memory.
type memTermHistory struct{ last map[string]int64 }

func newMemTermHistory() *memTermHistory { return &memTermHistory{last: map[string]int64{}} }

func (h *memTermHistory) see(key string, t int64) (int64, bool) {
	last, ok := h.last[key]
	if !ok || t > last {
		h.last[key] = t
	}
	return last, ok
}

func (h *memTermHistory) expire(before int64) {
	for k, t := range h.last {
		if t < before {
			delete(h.last, k)
		}
	}
}

func (h *memTermHistory) len() int { return len(h.last) }

// newTermsAgg decides which values of a new-terms rule are new.
type newTermsAgg struct {
	fields     []string
	window     int64 // history length (ns)
	interval   int64 // the rule's interval: max_signals applies per interval of event time
	maxSignals int
	learn      bool // record only (Options.History)
	hist       termHistory
	newest     int64 // the latest event time seen
	swept      int64 // newest at the last expiry
	held       int   // hist.len() after the last expiry
	buckets    map[int64]int
	fr         *fieldReader
	slots      []event.Slot // new_terms_fields
	state      StateStore   // Options.State, when set
	stateNS    string
}

func (a *newTermsAgg) reader() *fieldReader { return a.fr }

// take reads the event's values (combinations) of new_terms_fields.
func (a *newTermsAgg) take(sel *selected) { sel.terms = a.fr.combinations(a.slots) }

// needsDoc is true: an alert is the event's.
func (a *newTermsAgg) needsDoc() bool { return !a.learn }

func (a *newTermsAgg) add(b *builder, ri *ruleInfo, sel *selected) ([]Alert, int, error) {
	t := sel.t
	if t > a.newest {
		a.newest = t
	}
	// Expire once event time has moved on by an eighth of the window, or the history
	// doubled, so that expiry costs little per event.
	if a.newest-a.swept >= a.window/8 || a.hist.len() > 2*a.held+1024 {
		a.hist.expire(a.newest - a.window)
		a.swept, a.held = a.newest, a.hist.len()
	}
	if sel.terms == nil {
		return nil, 0, nil // a document lacking a field has no value
	}
	combos := sel.terms.combos
	var alerts []Alert
	capped := 0
	for i, k := range sel.terms.keys {
		last, seen := a.hist.see(k, t)
		if (seen && last >= t-a.window) || a.learn {
			continue
		}
		bucket := t / a.interval
		if a.buckets[bucket] >= a.maxSignals {
			capped++
			continue
		}
		a.buckets[bucket]++
		a.saveBucket(bucket)
		if len(a.buckets) > 64 {
			for k := range a.buckets {
				if k < bucket-1 {
					delete(a.buckets, k)
				}
			}
		}
		me, err := sel.doc()
		if err != nil {
			return alerts, capped, err
		}
		al, err := newTermsAlert(b, ri, me, combos[i])
		if err != nil {
			return alerts, capped, err
		}
		alerts = append(alerts, al)
	}
	return alerts, capped, nil
}

func (a *newTermsAgg) flush(*builder, *ruleInfo) ([]Alert, int, error) { return nil, 0, nil }

// adopt takes the history another aggregator of the same rule learnt (Options.History).
func (a *newTermsAgg) adopt(o *newTermsAgg) {
	if h, ok := a.hist.(*durableTermHistory); ok {
		for k, t := range o.hist.(*memTermHistory).last {
			h.see(k, t)
		}
		a.newest, a.swept, a.held = max(a.newest, o.newest), max(a.swept, o.swept), h.len()
		return
	}
	a.hist, a.newest, a.swept, a.held = o.hist, o.newest, o.swept, o.held
}

// newTermsAlert builds the alert of a new value (combination) terms of an event: the
// event's alert with kibana.alert.new_terms, its id object-hash([_index, _id, _version,
// space:rule uuid, terms]).
func newTermsAlert(b *builder, ri *ruleInfo, me *matchedEvent, terms []any) (Alert, error) {
	doc := b.baseAlert(ri, *me)
	doc["kibana.alert.new_terms"] = terms
	doc["kibana.alert.depth"] = 1
	doc["kibana.alert.ancestors"] = []ancestor{{ID: me.id, Type: "event", Index: me.index, Depth: 0}}
	id := objectHash([]any{me.index, me.id, "undefined", b.space + ":" + ri.uuid, terms})
	return b.finish(ri, EventAlert, id, doc)
}
