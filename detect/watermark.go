package detect

// oldestHolder is a Runner that can tell the oldest input position it still needs
// (engine.Stepper: engine.Run.OldestHeld).
type oldestHolder interface {
	OldestHeld() (seq uint64, ok bool)
}

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
	if p := d.pipe; p != nil {
		if p.async {
			return 0, true
		}
		for _, b := range p.inflight {
			if b.n > 0 {
				seq, ok = b.srcs[0].Seq, true
				break
			}
		}
		if !ok && p.cur != nil && p.cur.n > 0 {
			seq, ok = p.cur.srcs[0].Seq, true
		}
	}
	if d.stage != nil {
		if s, held := d.stage.OldestHeld(); held && (!ok || s < seq) {
			seq, ok = s, true
		}
	}
	for _, rs := range d.rules {
		h, is := rs.comp.Runner.(oldestHolder)
		if !is {
			continue
		}
		if s, held := h.OldestHeld(); held && (!ok || s < seq) {
			seq, ok = s, true
		}
		if d.opts.OwnsKey == nil {
			continue
		}
		// The log the events come from is the samples' only record of their hits: they
		// hold the commits back too.
		if sh, is := rs.comp.Runner.(sampleHolder); is {
			if s, held := sh.OldestHit(); held && (!ok || s < seq) {
				seq, ok = s, true
			}
		}
	}
	return seq, ok
}

// sampleHolder is a Runner that tells the oldest hit a streaming sample holds
// (engine.Stepper).
type sampleHolder interface {
	OldestHit() (seq uint64, ok bool)
}
