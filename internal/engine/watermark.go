package engine

import "github.com/tripline/tripline/event"

// OldestHeld (streaming mode) returns the smallest event.Event.Seq among the events the run
// still needs to give the results a single pass over the whole input would: those in its
// reordering buffer, those of its partial sequences that a later event may still extend
// (with a maxspan, those whose first event is no more than maxspan before the oldest time an
// event may still come), the events of its missing-event stages within that reach (a later
// sequence is dropped for them), those of its completed sequences not yet emitted, of the
// results held by a tail limit, and the event that set its reordering buffer's event time
// (read again, it sets the same time, so that an event too late for one run is too late
// after a restart too, until Flush ends the input; a Run that joined a Stage leaves that
// to the Stage). ok is false when it holds none: before the first event, or after Flush
// when no partial sequence is left. A caller that reads its events from a log commits positions only
// below this one, so that a crash loses no alert: what is read again after it rebuilds this
// state. Samples are left out: a streaming sample emits only at Flush, so its hits would
// hold commits back for the whole run (EachHeld gives them).
//
// It walks the run's state (O(events held)): call it from time to time, not per event.
func (r *Run) OldestHeld() (seq uint64, ok bool) { return r.oldestHeld(true) }

// OldestHeldWithoutClock is OldestHeld without the event that set the reordering buffer's
// event time: for a caller that does not need a restart to judge late events as this run
// did (a log consumer: holding that event until Flush would hold its commits back for as
// long as a rule sees no later event).
func (r *Run) OldestHeldWithoutClock() (seq uint64, ok bool) { return r.oldestHeld(false) }

func (r *Run) oldestHeld(clock bool) (seq uint64, ok bool) {
	r.eachHeld(false, func(ev *event.Event) {
		if !ok || ev.Seq < seq {
			seq, ok = ev.Seq, true
		}
	})
	if clock && r.mode == Streaming && r.stage == nil && r.seenTS && !r.flushed && (!ok || r.maxSeq < seq) {
		seq, ok = r.maxSeq, true
	}
	return seq, ok
}

// EachHeld calls fn with each event OldestHeld accounts for, and with the hits a sample
// keeps (the first of each filter and join key), in no particular order; an event may
// come more than once. After a batch run's Flush it gives what a later run must be given
// first, in Seq order, to go on as one run over both inputs: the events of the partial
// sequences and of the missing-event stages still within reach, and the samples' hits.
// Like OldestHeld, it walks the run's state.
func (r *Run) EachHeld(fn func(ev *event.Event)) { r.eachHeld(true, fn) }

// eachHeld is OldestHeld's and EachHeld's walk (samples: with the samples' hits).
func (r *Run) eachHeld(samples bool, fn func(ev *event.Event)) {
	held := func(ev *event.Event) {
		if ev != nil {
			fn(ev)
		}
	}
	r.buf.each(func(it *item) { held(it.ev) })
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
				held(ev)
			}
		}
		// A leading missing event counts for a sequence whose last event is within maxspan
		// of it, a middle one between two events of a partial sequence: neither before from.
		for _, ref := range m.mfifo[m.mfifoHead:] {
			if !bounded || ref.ts >= from {
				held(ref.ev)
			}
		}
		for _, p := range m.out[m.outHead:] {
			for _, ev := range p.res.Events {
				held(ev)
			}
		}
	}
	if samples && r.sample != nil {
		for _, sk := range r.sample.keys {
			for _, hits := range sk.hits {
				for _, it := range hits {
					held(it.ev)
				}
			}
		}
	}
	for _, res := range r.lim.held {
		for _, ev := range res.Events {
			held(ev)
		}
	}
}

// OldestHeld returns the smallest event.Event.Seq among the events the stage holds in
// its buffer for its Runs (see Run.OldestHeld, which leaves them out) and of the event
// that set its event time until Flush; ok is false when it holds none.
func (st *Stage) OldestHeld() (seq uint64, ok bool) { return st.oldestHeld(true) }

// OldestHeldWithoutClock is OldestHeld without the event that set its event time (see
// Run.OldestHeldWithoutClock).
func (st *Stage) OldestHeldWithoutClock() (seq uint64, ok bool) { return st.oldestHeld(false) }

func (st *Stage) oldestHeld(clock bool) (seq uint64, ok bool) {
	st.buf.each(func(it *item) {
		if it.ev != nil && (!ok || it.ev.Seq < seq) {
			seq, ok = it.ev.Seq, true
		}
	})
	if clock && st.seenTS && !st.flushed && (!ok || st.maxSeq < seq) {
		seq, ok = st.maxSeq, true
	}
	return seq, ok
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

// EachHeldSeq calls fn with the Seq of each event OldestHeldWithoutClock accounts for (an
// event held twice may be given twice): a caller that commits log positions one by one
// commits those of the other events, however old the held ones are.
func (r *Run) EachHeldSeq(fn func(seq uint64)) {
	r.eachHeld(false, func(ev *event.Event) { fn(ev.Seq) })
}

// EachHeldSeq calls fn with the Seq of each event the stage holds in its buffer.
func (st *Stage) EachHeldSeq(fn func(seq uint64)) {
	st.buf.each(func(it *item) {
		if it.ev != nil {
			fn(it.ev.Seq)
		}
	})
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

// EachHit calls fn with the Seq of each hit a streaming sample holds (see OldestHit): none
// once Flush emitted them (the hits a batch run keeps after it are for EachHeld).
func (r *Run) EachHit(fn func(seq uint64)) {
	if r.sample == nil || r.flushed {
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
