package engine

import "github.com/tripline/tripline/event"

// OldestHeld (streaming mode) returns the smallest event.Event.Seq among the events the run
// still needs to give the results a single pass over the whole input would: those in its
// reordering buffer, those of its partial sequences that a later event may still extend
// (with a maxspan, those whose first event is no more than maxspan before the oldest time an
// event may still come), of its completed sequences not yet emitted, and of the results
// held by a tail limit. ok is false when it holds none. A caller that reads its events from
// a log commits positions only below this one, so that a crash loses no alert: what
// is read again after it rebuilds this state. Samples are left out: a streaming sample
// emits only at Flush, so its hits would hold commits back for the whole run.
//
// It walks the run's state (O(events held)): call it from time to time, not per event.
func (r *Run) OldestHeld() (seq uint64, ok bool) {
	r.EachHeld(func(s uint64) {
		if !ok || s < seq {
			seq, ok = s, true
		}
	})
	return seq, ok
}

// EachHeld calls fn with the Seq of each event OldestHeld looks at (an event held twice
// may be given twice): a caller that commits log positions one by one commits those of
// the other events, however old the held ones are.
func (r *Run) EachHeld(fn func(seq uint64)) {
	each := func(ev *event.Event) {
		if ev != nil {
			fn(ev.Seq)
		}
	}
	r.buf.each(func(it *item) { each(it.ev) })
	if m := r.seq; m != nil {
		// The oldest time an event may still come: the Run's own, or its Stage's.
		release, seen := r.releaseBound(), r.seenTS
		if r.stage != nil {
			release, seen = r.stage.bound(), r.stage.seenTS
		}
		from, bounded := int64(0), m.q.maxspan > 0 && seen
		if bounded {
			from = subSat(release, m.q.maxspan)
		}
		for _, p := range m.fifo[m.fifoHead:] {
			if p.at < 0 || (bounded && p.ts[0] < from) {
				continue // dead, complete, or out of reach of any event still to come
			}
			for _, ev := range p.events {
				each(ev)
			}
		}
		for _, p := range m.out[m.outHead:] {
			for _, ev := range p.res.Events {
				each(ev)
			}
		}
	}
	for _, res := range r.lim.held {
		for _, ev := range res.Events {
			each(ev)
		}
	}
}

// OldestHeld returns the smallest event.Event.Seq among the events the stage holds in
// its buffer for its Runs (see Run.OldestHeld, which leaves them out); ok is false when
// it holds none.
func (st *Stage) OldestHeld() (seq uint64, ok bool) {
	st.EachHeld(func(s uint64) {
		if !ok || s < seq {
			seq, ok = s, true
		}
	})
	return seq, ok
}

// EachHeld calls fn with the Seq of each event the stage holds in its buffer.
func (st *Stage) EachHeld(fn func(seq uint64)) {
	st.buf.each(func(it *item) {
		if it.ev != nil {
			fn(it.ev.Seq)
		}
	})
}

// each calls fn for every item the buffer holds, in no particular order.
func (b *reorderBuf) each(fn func(*item)) {
	for i := range b.runs {
		r := &b.runs[i]
		for k := 0; k < r.n; k++ {
			fn(&r.items[(r.head+k)&(len(r.items)-1)])
		}
	}
	for i := range b.heap {
		fn(&b.heap[i])
	}
}

// OldestHit (streaming mode) returns the smallest event.Event.Seq among the hits a sample
// holds (a streaming sample emits them only at Flush); ok is false when it holds none or
// the query is not a sample. A caller whose log is the only record of a sample's hits
// (package stream's repartition topics) commits below it too, so that a partition moved to
// another process is read again from the oldest hit. It walks the hits: call it from time
// to time.
func (r *Run) OldestHit() (seq uint64, ok bool) {
	r.EachHit(func(s uint64) {
		if !ok || s < seq {
			seq, ok = s, true
		}
	})
	return seq, ok
}

// EachHit calls fn with the Seq of each hit a streaming sample holds (see OldestHit).
func (r *Run) EachHit(fn func(seq uint64)) {
	if r.sample == nil {
		return
	}
	for _, sk := range r.sample.keys {
		for _, h := range sk.hits {
			for _, it := range h {
				if it.ev != nil {
					fn(it.ev.Seq)
				}
			}
		}
	}
}
