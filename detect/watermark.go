package detect

// Unfinished (streaming mode) returns the smallest EventSource.Seq of the events given to
// Process that the Detector has not finished with: events still in a rule's reordering
// buffer or in the reordering stage the rules share (--max-lateness), in a partial sequence a later event may still extend or a
// completed one not yet written, and, with Workers above 1, events Process copied into a
// batch whose in-order work is not done. ok is false when there is none: every event given
// so far went through the rules and the alerts it completed were written to the Sink.
//
// A caller reading a log (Kafka, JetStream) commits only the positions of the events whose
// Seq is below it, so that a crash loses no alert: what it did not commit is read again and
// rebuilds the state. Samples are not included (a streaming sample emits only at Close),
// except with Options.OwnsKey, and nor are a rule's max_signals counts. Seq must increase with the order of the Process calls. It
// walks the rules' state (O(events held)): call it from time to time, not per event. It is
// not for Options.Async (it then returns 0, true: nothing is finished for sure), and like
// Process must not run concurrently with the Detector's other methods.
func (d *Detector) Unfinished() (seq uint64, ok bool) {
	if !d.Held(func(s uint64) {
		if !ok || s < seq {
			seq, ok = s, true
		}
	}) {
		return 0, true
	}
	return seq, ok
}

// Held (streaming mode) calls fn with the EventSource.Seq of each event Unfinished looks
// at, the events the Detector is not finished with (one may be given more than once): a
// caller that commits log positions one by one commits every other one, however old the
// held events are (a partition taken over from another process brings events older than
// the ones held). It reports false, calling fn for none, with Options.Async: nothing is
// known to be finished. Like Unfinished it walks the state: call it from time to time.
func (d *Detector) Held(fn func(seq uint64)) bool {
	if p := d.pipe; p != nil {
		if p.async {
			return false
		}
		for _, b := range p.inflight {
			for i := range b.n {
				fn(b.srcs[i].Seq)
			}
		}
		if p.cur != nil {
			for i := range p.cur.n {
				fn(p.cur.srcs[i].Seq)
			}
		}
	}
	if d.stage != nil {
		d.stage.EachHeld(fn)
	}
	for _, rs := range d.rules {
		if h, is := rs.comp.Runner.(heldLister); is {
			h.EachHeld(fn)
		}
		// With OwnsKey, the log the events come from is the samples' only record of their
		// hits: they hold the commits back too.
		if sh, is := rs.comp.Runner.(sampleHolder); is && d.opts.OwnsKey != nil {
			sh.EachHit(fn)
		}
	}
	return true
}

// heldLister is a Runner that tells the input positions it still needs (engine.Stepper:
// engine.Run.EachHeld).
type heldLister interface {
	EachHeld(fn func(seq uint64))
}

// sampleHolder is a Runner that tells the hits a streaming sample holds (engine.Stepper).
type sampleHolder interface {
	EachHit(fn func(seq uint64))
}
