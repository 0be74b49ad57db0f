package detect

import (
	"cmp"
	"slices"

	"github.com/tripline/tripline/event"
)

// oldestHolder is a Runner that can tell the oldest input position it still needs
// (engine.Stepper: engine.Run.OldestHeld).
type oldestHolder interface {
	OldestHeld() (seq uint64, ok bool)
	OldestHeldWithoutClock() (seq uint64, ok bool)
}

// heldWalker is a Runner that can list the events it holds (engine.Stepper:
// engine.Run.EachHeld).
type heldWalker interface {
	EachHeld(fn func(ev *event.Event))
}

// Unfinished (streaming mode) returns the smallest EventSource.Seq of the events given to
// Process that the Detector has not finished with: events still in a rule's reordering
// buffer or in the reordering stage the rules share (--max-lateness), and the event that
// set each one's event time until Close; in a partial sequence a later event may still extend, in a
// missing-event stage still in reach, or in a completed sequence not yet written; in a
// match whose alert suppression holds its alert until its window closes, or in the first
// match of a suppressed group already written whose later matches are after that seq
// (read again without it, they would open a group of their own); and, with
// Workers above 1, events Process copied into a batch whose in-order work is not done. ok
// is false when there is none: no event given so far, or, after Close, no partial
// sequence left.
//
// A caller reading a log (Kafka, JetStream) commits only the positions of the events whose
// Seq is below it, so that a crash loses no alert: what it did not commit is read again and
// rebuilds the state, the event time of the reordering buffers included. Samples (a
// streaming sample emits only at Close) and a rule's max_signals counts per interval are
// not included. Seq must increase with the order of the Process calls. It walks the rules'
// state (O(events held)): call it from time to time, not per event. Like Process it must
// not run concurrently with the Detector's other methods; with Options.Async it returns 0,
// true (nothing is finished for sure) unless the channel the last Flush or Shed returned
// is closed and no event was given since.
func (d *Detector) Unfinished() (seq uint64, ok bool) {
	d.asked = true
	oldest := func(s uint64) {
		if !ok || s < seq {
			seq, ok = s, true
		}
	}
	if p := d.pipe; p != nil {
		if p.async && !p.idle() {
			return 0, true
		}
		for _, b := range p.inflight {
			if b.n > 0 {
				oldest(b.srcs[0].Seq)
				break
			}
		}
		if p.cur != nil && p.cur.n > 0 {
			oldest(p.cur.srcs[0].Seq)
		}
	}
	if d.stage != nil {
		if s, held := d.oldestOf(d.stage); held {
			oldest(s)
		}
	}
	for _, rs := range d.rules {
		if h, is := rs.comp.Runner.(oldestHolder); is {
			if s, held := d.oldestOf(h); held {
				oldest(s)
			}
		}
		if rs.supp != nil {
			if s, held := rs.supp.oldestHeld(); held {
				oldest(s)
			}
		}
		// With OwnsKey, the log the events come from is the samples' only record of their
		// hits: they hold the commits back too.
		if sh, is := rs.comp.Runner.(sampleHolder); is && d.opts.OwnsKey != nil {
			sh.EachHit(oldest)
		}
	}
	if ok && len(d.suppressors) > 0 {
		// Read again from seq on, the later matches of a suppressed group already written
		// need its first one (which may take in another group's).
		for lowered := true; lowered; {
			lowered = false
			for _, rs := range d.suppressors {
				lowered = rs.supp.widen(&seq) || lowered
			}
		}
		for _, rs := range d.suppressors {
			rs.supp.forget(seq)
		}
	}
	return seq, ok
}

// idle reports, with Options.Async, whether the consumer goroutine has done the in-order
// work of every batch sent: the Detector's state is then the caller's to read.
func (p *pipeline) idle() bool {
	if !p.sent {
		return true
	}
	select {
	case <-p.last:
		return true
	default:
		return false
	}
}

// Held (batch mode, once Close has returned) calls fn, in Seq order, with each event the
// rules still hold: the events of the partial sequences a later event may still extend,
// of the missing-event stages still in reach of them, and the hits samples keep. A later
// Detector given these events first (with the same sources and Seq), then the events that
// follow, gives the alerts of one run over all of them (those already written again,
// with the same ids). src is the event's source as Process was given it, its index
// resolved; doc is valid during the call only. Like Unfinished it walks the rules' state.
func (d *Detector) Held(fn func(doc []byte, src EventSource) error) error {
	seen := map[uint64]*event.Event{}
	for _, rs := range d.rules {
		if w, ok := rs.comp.Runner.(heldWalker); ok {
			w.EachHeld(func(ev *event.Event) { seen[ev.Seq] = ev })
		}
	}
	evs := make([]*event.Event, 0, len(seen))
	for _, ev := range seen {
		evs = append(evs, ev)
	}
	slices.SortFunc(evs, func(a, b *event.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, ev := range evs {
		doc, err := ev.Doc()
		if err != nil {
			return err
		}
		if err := fn(doc, EventSource{Name: ev.Source, Line: ev.Line, Index: ev.Index, ID: ev.ID, Seq: ev.Seq}); err != nil {
			return err
		}
	}
	return nil
}

// HeldSeqs (streaming mode) calls fn with the EventSource.Seq of each event Unfinished
// looks at, the events the Detector is not finished with (one may be given more than
// once; for a match suppression holds, the oldest event of its group): a caller that
// commits log positions one by one commits every other one, however old the held events
// are (a partition taken over from another process brings events older than the ones
// held). It reports false, calling fn for none, with Options.Async while the consumer
// goroutine has work: nothing is known to be finished. Like Unfinished it walks the state:
// call it from time to time.
func (d *Detector) HeldSeqs(fn func(seq uint64)) bool {
	if p := d.pipe; p != nil {
		if p.async && !p.idle() {
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
		d.stage.EachHeldSeq(fn)
	}
	for _, rs := range d.rules {
		if h, is := rs.comp.Runner.(seqLister); is {
			h.EachHeldSeq(fn)
		}
		if rs.supp != nil {
			if s, held := rs.supp.oldestHeld(); held {
				fn(s)
			}
		}
		if sh, is := rs.comp.Runner.(sampleHolder); is && d.opts.OwnsKey != nil {
			sh.EachHit(fn)
		}
	}
	return true
}

// seqLister is a Runner that tells the input positions it still needs (engine.Stepper:
// engine.Run.EachHeldSeq).
type seqLister interface {
	EachHeldSeq(fn func(seq uint64))
}

// sampleHolder is a Runner that tells the hits a streaming sample holds (engine.Stepper).
type sampleHolder interface {
	EachHit(fn func(seq uint64))
}

// oldestOf returns h's oldest held event: with Options.State, the event that set its event
// time included (a restart replays it, so that late events are judged as in one run);
// without, as a log consumer needs it, not (see engine.Run.OldestHeldWithoutClock).
func (d *Detector) oldestOf(h oldestHolder) (uint64, bool) {
	if d.opts.State != nil {
		return h.OldestHeld()
	}
	return h.OldestHeldWithoutClock()
}
