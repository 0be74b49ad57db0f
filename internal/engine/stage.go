package engine

import (
	"context"
	"time"

	"github.com/tripline/tripline/event"
)

// OrderKey is what decides how a streaming Run puts events in order and when it releases
// them: its timestamp and tiebreaker fields, its MaxLateness and its Memo. Runs with equal
// keys can share one Stage.
type OrderKey struct {
	ts, tb   valueReader
	hasTB    bool
	lateness time.Duration
	memo     *Memo
}

// OrderKey returns the key of a streaming Run that can join a Stage; ok is false for a
// batch run, a sample (it orders nothing as it goes) and a run without a Memo.
func (r Stepper) OrderKey() (key OrderKey, ok bool) {
	q := r.q
	if r.mode != Streaming || q.kind == kindSample || q.opts.Memo == nil {
		return OrderKey{}, false
	}
	return OrderKey{ts: q.ts, tb: q.tb, hasTB: q.hasTB, lateness: q.opts.MaxLateness, memo: q.opts.Memo}, true
}

// Join makes the Run put its events in order through st instead of a reordering buffer of
// its own; it reports false, and the Run keeps its own buffer, when its OrderKey is not
// st's or it has been pushed events already.
func (r Stepper) Join(st *Stage) bool {
	key, ok := r.OrderKey()
	if !ok || key != st.key || r.stats.EventsIn > 0 || r.stage != nil {
		return false
	}
	r.stage = st
	return true
}

// Stage is a reordering buffer shared by the streaming Runs of several queries that order
// events alike (the same OrderKey; a detector's rules, as a rule), instead of one buffer
// each. An event is buffered once, as one copy (Event.Keep, or Event.KeepRaw when no Run
// needs its values), with, for each Run that wants it, the terms it matched and the terms
// left unevaluated (Stepper.PushLater); it comes out in order, once its timestamp falls
// behind the stage's event time less MaxLateness, and is handed to each of those Runs in
// turn. What a Run then does with it is what it does with an event out of its own buffer
// (see Run.releaseOne): an event that may only extend a sequence is dropped unread while
// the sequence has no state.
//
// The stage has one event time for all its Runs: the latest timestamp of the events
// offered to any of them (capped by Memo.SetCeiling), as Kafka Streams keeps one stream
// time per task, where a buffer of a Run's own went by the latest timestamp of the events
// offered to that Run. An event stamped earlier than that time less MaxLateness, or than an
// event the stage has handed out, is too late for every Run of the stage at once (each
// refuses it, and a detector reports it once). The difference shows only when the events
// of some rules lag behind the others' by more than MaxLateness: those rules used to wait
// for their own events to move their time on (holding their events the while), and now go
// by the stream's. Going by each Run's time would keep most events in per-Run buffers
// again: a rule offered few events has a time far behind the stream's.
//
// The Runs push the event as usual (Push, PushMatched, PushLater); the caller ends each
// event with End once every Run has been offered it, and Flushes the stage before the Runs
// (each Run's Flush does, too). A Stage is not safe for concurrent use.
type Stage struct {
	key  OrderKey
	unit int64 // nanoseconds per unit of the timestamps
	buf  reorderBuf

	maxTS    int64
	maxSeq   uint64 // the Seq of the event that set maxTS (see OldestHeld)
	seenTS   bool
	released ordinal
	anyOut   bool
	flushed  bool // Flush was called: the input ended

	// The event being offered (from the first Run it is pushed to until End).
	ev    *event.Event
	gen   uint32 // the Memo's generation for ev
	ord   ordinal
	hasTS bool
	late  bool  // too late for every Run of the stage
	subs  []sub // the Runs that want it so far

	free  [][][]sub // by length: the subs of released events, cleared, for carve
	chunk []sub     // what is left of the chunk carve takes new subs from
}

// sub is one Run's interest in a buffered event: the terms it matched and those left to
// evaluate when the event comes out (see item.unsure).
type sub struct {
	run         *Run
	mask, later uint64
}

// NewStage returns an empty Stage for the Runs whose OrderKey is key.
func NewStage(key OrderKey) *Stage {
	return &Stage{key: key, unit: key.ts.tsUnit()}
}

// Bound returns the stream's event time less MaxLateness: no event stamped earlier can still
// come out of the stage. ok is false before the first timestamped event.
func (st *Stage) Bound() (t time.Time, ok bool) {
	if !st.seenTS {
		return time.Time{}, false
	}
	return time.Unix(0, st.bound()*st.unit), true
}

// Len returns the number of events the stage holds.
func (st *Stage) Len() int { return st.buf.Len() }

// bound is the time MaxLateness behind the latest timestamp seen: no event stamped
// earlier may still come.
func (st *Stage) bound() int64 {
	return subSat(st.maxTS, int64(st.key.lateness/time.Nanosecond)/st.unit)
}

// order returns ev's place in the order, read once for all the Runs (ok is false when it
// has no valid timestamp); the first call for an event ends the previous one (End).
func (st *Stage) order(ev *event.Event) (ordinal, bool) {
	m := st.key.memo
	if st.ev == ev && st.gen == m.gen {
		return st.ord, st.hasTS
	}
	st.End()
	st.ev, st.gen = ev, m.gen
	ts, ok := m.timestamp(&st.key.ts, ev)
	st.hasTS, st.late = ok, false
	if !ok {
		return ordinal{}, false
	}
	st.ord = ordinal{seq: ev.Seq, ts: ts}
	if st.key.hasTB {
		if tb, ok := st.key.tb.first(ev); ok {
			st.ord.tb = tb
		}
	}
	if (st.seenTS && ts < st.bound()) || (st.anyOut && st.ord.compare(&st.released) < 0) {
		st.late = true
		return st.ord, true
	}
	if ts > st.maxTS || !st.seenTS {
		st.maxTS, st.maxSeq, st.seenTS = ts, ev.Seq, true
		if m.hasCeiling {
			if c := m.ceilingIn(st.unit); st.maxTS > c {
				st.maxTS = c // see Memo.SetCeiling
			}
		}
	}
	return st.ord, true
}

// add records that r wants the current event, with the terms in mask matched and those
// in later left to evaluate.
func (st *Stage) add(r *Run, mask, later uint64) {
	st.subs = append(st.subs, sub{run: r, mask: mask, later: later})
}

// carve returns a slice of n subs for a buffered event: a released one of that length, or
// a piece of a chunk allocated for many (an allocation per event would cost more than the
// rest of buffering it).
func (st *Stage) carve(n int) []sub {
	if n < len(st.free) {
		if k := len(st.free[n]); k > 0 {
			s := st.free[n][k-1]
			st.free[n] = st.free[n][:k-1]
			return s
		}
	}
	if len(st.chunk) < n {
		st.chunk = make([]sub, max(subChunk, n))
	}
	s := st.chunk[:n:n]
	st.chunk = st.chunk[n:]
	return s
}

// recycle takes back the subs of a released event for carve.
func (st *Stage) recycle(s []sub) {
	clear(s)
	n := len(s)
	for len(st.free) <= n {
		st.free = append(st.free, nil)
	}
	st.free[n] = append(st.free[n], s)
}

// subChunk is the number of subs carve allocates at once.
const subChunk = 4096

// End ends the offer of the current event: if a Run wants it, one copy of it is buffered,
// and the events whose time has come are released to their Runs. Their results are
// emitted during the call.
func (st *Stage) End() { st.end(nil) }

// A Lender owns events it lends to a Stage (EndLent) and is told when the stage no longer
// holds one of them.
type Lender interface {
	// Returned is called on the stage's goroutine once for each event lent, after the stage
	// has handed it out to its Runs (which copied what they keep of it) or dropped it.
	Returned()
}

// EndLent is End for an event the caller lends to the stage instead of letting it copy
// it: the stage buffers the event itself, and the caller must leave it unchanged (not
// decode into it again) until l.Returned is called for it. A caller whose events stay in
// memory anyway (a detector's batches) saves the copy; the Runs copy, when it comes out,
// only what they keep, as in batch mode. It reports whether the stage holds the event
// (then l.Returned will be called once for it); a Run may not want it.
func (st *Stage) EndLent(l Lender) bool { return st.end(l) }

// end is End, lending the event when l is not nil; it reports whether it buffered it.
func (st *Stage) end(l Lender) bool {
	ev := st.ev
	if ev == nil {
		return false
	}
	st.ev = nil
	held := len(st.subs) > 0
	if held {
		c := ev
		if l == nil {
			whole := false
			for i := range st.subs {
				if s := &st.subs[i]; s.run.keepsWhole(s.mask | s.later) {
					whole = true
					break
				}
			}
			if whole {
				c = ev.Keep()
			} else {
				c = ev.KeepRaw()
			}
		}
		subs := st.carve(len(st.subs))
		copy(subs, st.subs)
		clear(st.subs)
		st.subs = st.subs[:0]
		st.buf.push(item{ev: c, ord: st.ord.owned(), subs: subs, lender: l})
		st.key.memo.hold(c, l == nil)
	}
	if st.seenTS {
		st.release(st.bound())
	}
	return held
}

// release hands out the buffered events stamped strictly before upTo.
func (st *Stage) release(upTo int64) {
	for st.buf.Len() > 0 && st.buf.min().ord.ts < upTo {
		st.releaseOldest()
	}
}

// releaseOldest takes the oldest event out of the buffer and hands it to each Run that
// wants it, in the order they were offered it.
func (st *Stage) releaseOldest() {
	it := st.buf.pop()
	st.released, st.anyOut = it.ord, true
	for i := range it.subs {
		s := &it.subs[i]
		r := s.run
		r.stats.Pending--
		if r.lim.done() {
			continue
		}
		// A lent event is the lender's: the Run copies what it keeps of it.
		x := item{ev: it.ev, ord: it.ord, mask: s.mask, unsure: s.later, shared: it.lender != nil}
		r.releaseOne(&x)
	}
	st.key.memo.unhold(it.ev, it.lender == nil)
	st.recycle(it.subs)
	if it.lender != nil {
		it.lender.Returned()
	}
}

// Shed hands out at once the n oldest events of the buffer, as if later events had come,
// for a caller whose buffers are over their memory bound: an event that arrives
// afterwards and is older than them is too late. It returns the number handed out.
func (st *Stage) Shed(n int) int {
	st.End()
	done := 0
	for ; done < n && st.buf.Len() > 0; done++ {
		st.releaseOldest()
	}
	return done
}

// Flush ends the input of the stage: it hands out every event it holds, in order. Each
// Run's own Flush calls it (the first one empties it); a caller flushes it first so that
// no Run flushes its state before the events it still has to get. A cancelled context
// stops it early with ctx.Err().
func (st *Stage) Flush(ctx context.Context) error {
	st.flushed = true
	st.End()
	for n := 0; st.buf.Len() > 0; n++ {
		if n&255 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		st.releaseOldest()
	}
	return nil
}
