package engine

import (
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// Memo remembers what Runs read from the event being pushed to them, its timestamp and its
// join key values, so that Runs that share it (the rules of a detector, pushed the same
// events one at a time on one goroutine) convert them once per event instead of once per
// Run. Next must be called with each new event before it is pushed; the Runs use the memo
// only for that event (not, for example, for the events batch mode orders at Flush). A Memo
// is not safe for concurrent use.
type Memo struct {
	ev   *event.Event
	gen  uint32
	ts   []tsMemo  // by slot
	keys []keyMemo // by slot

	// The timestamp readers of the queries compiled with the memo, at most
	// event.MaxStamps of them (see Prime); fixed once the queries are compiled.
	stamps []valueReader

	// ceiling, when hasCeiling, is the latest event time of the streaming Runs (SetCeiling),
	// in milliseconds.
	ceiling    int64
	hasCeiling bool
	// held counts the events in the reordering buffers of the streaming Runs sharing the
	// memo (they share one copy per event: Run.Keep, counted once with event.Hold);
	// heldBytes sums the sizes of the documents of those that are copies (see Buffered):
	// the memory of an event lent to a Stage is its lender's to count.
	held, heldBytes int64
}

// hold records that a Run buffers ev, a copy when owned.
func (m *Memo) hold(ev *event.Event, owned bool) {
	if ev.Hold() {
		m.held++
		if owned {
			m.heldBytes += int64(len(ev.Raw))
		}
	}
}

// unhold records that a Run no longer buffers ev, a copy when owned.
func (m *Memo) unhold(ev *event.Event, owned bool) {
	if ev.Release() {
		m.held--
		if owned {
			m.heldBytes -= int64(len(ev.Raw))
		}
	}
}

type tsMemo struct {
	gen   uint32
	field mapping.Field
	ns    int64
	ok    bool
}

type keyMemo struct {
	gen   uint32
	field mapping.Field
	vals  []keyVal
}

// NewMemo returns an empty Memo.
func NewMemo() *Memo { return &Memo{} }

// SetCeiling caps at t the event time of the streaming Runs that share the memo: an event
// stamped later is still put in order, but the latest timestamp a Run has seen, which
// decides which buffered events it releases and which later events are too late, never
// passes t. A caller sets it to the wall clock so that one event stamped ahead of the
// clock does not make every event that follows it too late.
func (m *Memo) SetCeiling(t time.Time) { m.ceiling, m.hasCeiling = t.UnixMilli(), true }

// ceilingIn returns the ceiling in a timestamp unit (nanoseconds per unit: 1e6 for
// milliseconds, 1 for nanoseconds).
func (m *Memo) ceilingIn(unit int64) int64 { return m.ceiling * (1e6 / unit) }

// Ahead returns the first of ev's timestamps, as Prime converted them for the queries
// compiled with the memo, that is later than limit.
func (m *Memo) Ahead(ev *event.Event, limit time.Time) (time.Time, bool) {
	for i := range m.stamps {
		v, ok, set := ev.Stamp(i)
		if !set || !ok {
			continue
		}
		if m.stamps[i].tsUnit() == 1 { // date_nanos
			if v > limit.UnixNano() {
				return time.Unix(0, v), true
			}
		} else if v > limit.UnixMilli() {
			return time.UnixMilli(v), true
		}
	}
	return time.Time{}, false
}

// Buffered returns the number of events held in the reordering buffers of the streaming
// Runs that share the memo and the bytes of the documents of the copies among them (not of
// the events lent to a Stage, which their lender counts); an event several Runs hold
// counts once, as they share one copy of it.
func (m *Memo) Buffered() (events, bytes int64) { return m.held, m.heldBytes }

// Next makes ev the event the memo is for, forgetting what it held.
func (m *Memo) Next(ev *event.Event) {
	m.ev = ev
	m.gen++
	if m.gen == 0 { // wrapped: forget every entry for good
		clear(m.ts)
		clear(m.keys)
		m.gen = 1
	}
}

// register returns the number of r among the timestamp readers Prime converts: the number
// of an equal reader registered before, a new one while fewer than event.MaxStamps are, else
// -1 (also for a nil memo).
func (m *Memo) register(r valueReader) int {
	if m == nil || r.slot < 0 {
		return -1
	}
	r.stamp = 0
	for i, s := range m.stamps {
		if s == r {
			return i
		}
	}
	if len(m.stamps) == event.MaxStamps {
		return -1
	}
	m.stamps = append(m.stamps, r)
	return len(m.stamps) - 1
}

// Prime converts ev's timestamps as the queries compiled with m read them, and records them
// in ev (event.Event.SetStamp), where the Runs find them instead of converting them again.
// Unlike the rest of a Memo, Prime is safe for concurrent use (once the queries are
// compiled): a detector calls it on the goroutine that decoded the event, where its values
// are in the processor's caches, so that the goroutine that orders the events need not load
// them.
func (m *Memo) Prime(ev *event.Event) {
	for i := range m.stamps {
		ns, ok := m.stamps[i].timestamp(ev)
		ev.SetStamp(i, ns, ok)
	}
}

// timestamp is r.timestamp(ev), remembered for ev when m is its memo.
func (m *Memo) timestamp(r *valueReader, ev *event.Event) (int64, bool) {
	if r.stamp >= 0 {
		if ns, ok, set := ev.Stamp(r.stamp); set {
			return ns, ok
		}
	}
	if m == nil || ev != m.ev || r.slot < 0 {
		return r.timestamp(ev)
	}
	if int(r.slot) >= len(m.ts) {
		m.ts = append(m.ts, make([]tsMemo, int(r.slot)+1-len(m.ts))...)
	}
	e := &m.ts[r.slot]
	if e.gen != m.gen || e.field != r.field {
		e.ns, e.ok = r.timestamp(ev)
		e.gen, e.field = m.gen, r.field
	}
	return e.ns, e.ok
}

// keyValues is r.keyValues(ev, dst), with the field's converted values remembered for ev
// when m is its memo.
func (m *Memo) keyValues(r *valueReader, ev *event.Event, dst []keyVal) []keyVal {
	if m == nil || ev != m.ev || r.absent || r.slot < 0 {
		return r.keyValues(ev, dst)
	}
	if int(r.slot) >= len(m.keys) {
		m.keys = append(m.keys, make([]keyMemo, int(r.slot)+1-len(m.keys))...)
	}
	e := &m.keys[r.slot]
	if e.gen != m.gen || e.field != r.field {
		plain := *r
		plain.optional = false
		e.vals = plain.keyValues(ev, e.vals[:0])
		e.gen, e.field = m.gen, r.field
	}
	dst = append(dst, e.vals...)
	if len(e.vals) == 0 && r.optional {
		dst = append(dst, keyVal{kind: kNull})
	}
	return dst
}
