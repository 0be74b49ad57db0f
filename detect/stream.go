package detect

import (
	"context"
	"fmt"
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/internal/engine"
)

// EventErrorKind says why the Detector skipped an event or could not use it.
type EventErrorKind uint8

// Event error kinds.
const (
	// EventMalformed: the document is not a JSON object; it is skipped
	// (Summary.EventsSkipped).
	EventMalformed EventErrorKind = iota
	// EventFuture: the event is stamped further ahead of the clock than
	// Options.MaxFuture; it is skipped before any rule sees it (Summary.EventsFuture).
	EventFuture
	// EventUnused: every rule it was offered to refused it, for example because it has no
	// timestamp or came later than the reordering buffer allows (Summary.EventsUnused).
	EventUnused
)

// EventError is an event the Detector skipped or no rule could use: what
// Options.OnEventError receives for each. Its message starts with the event's source and
// line ("events.ndjson:12: ...").
type EventError struct {
	// Source is where the event came from, as given to Process.
	Source EventSource
	Kind   EventErrorKind
	// Err says why: a decoding error, the bound passed, or the first refusal of a rule
	// (an *engine.SkipError, which names the source itself).
	Err error
}

func (e *EventError) Error() string {
	if e.Kind == EventUnused {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s:%d: %v", e.Source.Name, e.Source.Line, e.Err)
}

// Unwrap returns the cause.
func (e *EventError) Unwrap() error { return e.Err }

// clockLimits reads the clock for Options.MaxFuture: it caps the rules' event time at the
// clock and returns the latest time an event may be stamped; ok is false without the bound.
func (d *Detector) clockLimits() (limit time.Time, ok bool) {
	if d.opts.MaxFuture <= 0 || !d.opts.Streaming {
		return time.Time{}, false
	}
	now := time.Now
	if d.opts.Clock != nil {
		now = d.opts.Clock
	}
	t := now()
	d.memo.SetCeiling(t)
	return t.Add(d.opts.MaxFuture), true
}

// tooFarAhead reports whether one of the event's timestamps, as its rules read them, is
// later than limit; such an event is counted and reported, and no rule sees it. The
// timestamps must have been converted (engine.Memo.Prime).
func (d *Detector) tooFarAhead(ev *event.Event, src *EventSource, limit time.Time) bool {
	t, ahead := d.memo.Ahead(ev, limit)
	if !ahead {
		return false
	}
	d.counters(src.Seq).EventsFuture++
	d.reportEvent(&EventError{Source: *src, Kind: EventFuture, Err: fmt.Errorf(
		"timestamp [%s] is more than %s ahead of the clock", t.UTC().Format("2006-01-02T15:04:05.000Z"), d.opts.MaxFuture)})
	return true
}

// Flush (streaming mode) hands the events given to Process so far to the rules and returns
// a channel closed once the rules have taken every one of them in: their alerts are
// written, Live counts them and OnEventError has been told of those skipped. A server
// acknowledges a request once it is closed. Only with Options.Async does the channel close
// later, once the in-order goroutine has got there; then Flush must not run concurrently
// with Process, but the wait may, so that the next request's events are filtered
// meanwhile. It returns the first Sink error so far.
func (d *Detector) Flush(ctx context.Context) (<-chan struct{}, error) {
	p := d.pipe
	switch {
	case p != nil && p.async && p.sent:
		if p.cur == nil {
			p.cur = p.newBatch() // an empty batch, to know when the ones before are consumed
		}
		return p.last, p.send(ctx)
	case p != nil && p.inline == nil && !p.async:
		if p.cur != nil && p.cur.n > 0 {
			if err := p.send(ctx); err != nil {
				return closed, err
			}
		}
		if err := p.drain(ctx, true); err != nil {
			return closed, err
		}
	case p != nil && p.cur != nil && p.cur.n > 0:
		// Inline, or async before any batch was sent: every event so far went through
		// Process on this goroutine (the index sample) but the ones of this batch.
		if err := p.send(ctx); err != nil {
			return closed, err
		}
		if p.async {
			return p.last, nil
		}
	}
	d.publish()
	return closed, d.alertErr
}

// closed is a closed channel: Flush's when there is nothing to wait for.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Live is a snapshot of a streaming Detector's state, safe to read from any goroutine.
type Live struct {
	// Read, Unused and Shed are Summary's EventsRead, EventsUnused and EventsShed.
	Read, Unused, Shed int64
	// Buffered and BufferedBytes are what Buffered returns; Full what BufferFull does.
	Buffered, BufferedBytes int64
	Full                    bool
	// Pending is what PendingState returns.
	Pending int64
}

// Live returns the state of a streaming Detector as it was the last time Flush's channel
// was closed (before, the zero Live).
func (d *Detector) Live() Live {
	if l := d.live.Load(); l != nil {
		return *l
	}
	return Live{}
}

// publish stores the state Live returns; on the goroutine doing the in-order work.
func (d *Detector) publish() {
	n, b := d.Buffered()
	d.live.Store(&Live{Read: d.summary.EventsRead, Unused: d.summary.EventsUnused, Shed: d.summary.EventsShed,
		Buffered: n, BufferedBytes: b, Full: d.BufferFull(), Pending: d.PendingState()})
}

// shedder is a Runner whose reordering buffer can be released early (engine.Stepper).
type shedder interface {
	Buffered() int
	Shed(n int) int
}

// Buffered returns the events the rules' reordering buffers hold now (streaming mode; an
// event held by several rules counts once, as they share one copy of it) and the bytes of
// their documents, counted the same way, or, for the events the shared stage holds without
// a copy, the bytes of the documents of the batches that hold them (see pipeline.lend). Like
// Process, it must not run concurrently with the Detector's other methods.
func (d *Detector) Buffered() (events, bytes int64) {
	n, b := d.memo.Buffered()
	return n, b + d.lentBytes
}

// BufferFull reports whether the reordering buffers hold Options.MaxBuffered events or
// MaxBufferedBytes bytes (as Buffered counts them), when those are set.
func (d *Detector) BufferFull() bool {
	n, b := d.Buffered()
	return (d.opts.MaxBuffered > 0 && n >= d.opts.MaxBuffered) ||
		(d.opts.MaxBufferedBytes > 0 && b >= d.opts.MaxBufferedBytes)
}

// Shed, when the reordering buffers are full (BufferFull), lets every rule process the
// older half of the events it holds at once instead of waiting for later events to release
// them, counting in Summary.EventsShed the events no rule holds any more: memory stays bounded when events come faster
// than event time advances (many events sharing one timestamp), at the price of a shorter
// reordering window meanwhile, since an event older than those processed is then too late.
// With Options.Async it is done by the in-order goroutine after the events given to
// Process so far, and the returned channel is closed then, as Flush's; it returns the
// first Sink error so far.
func (d *Detector) Shed(ctx context.Context) (<-chan struct{}, error) {
	if p := d.pipe; p != nil && p.async && p.sent {
		if p.cur == nil {
			p.cur = p.newBatch()
		}
		p.cur.tick = true
		return p.last, p.send(ctx)
	}
	if _, err := d.Flush(ctx); err != nil {
		return closed, err
	}
	err := d.shed(ctx)
	d.publish()
	return closed, err
}

// shed is Shed's work, on the goroutine doing the in-order work.
func (d *Detector) shed(ctx context.Context) error {
	if !d.BufferFull() {
		return nil
	}
	before, _ := d.memo.Buffered()
	defer func() {
		after, _ := d.memo.Buffered()
		d.summary.EventsShed += before - after
	}()
	if d.stage != nil {
		if n := d.stage.Len(); n > 0 {
			d.stage.Shed((n + 1) / 2)
		}
		if err := d.writeEmitted(ctx); err != nil {
			return err
		}
	}
	for _, rs := range d.rules {
		if s, ok := rs.comp.Runner.(shedder); ok {
			if n := s.Buffered(); n > 0 {
				s.Shed((n + 1) / 2)
			}
		}
		if err := d.writeEmitted(ctx); err != nil {
			return err
		}
	}
	return nil
}

// stageJoiner is a Runner that can put its events in order through a shared Stage
// (engine.Stepper).
type stageJoiner interface {
	OrderKey() (engine.OrderKey, bool)
	Join(st *engine.Stage) bool
}

// joinStage (streaming) gives the rules one reordering stage: the rules that order events
// alike (in practice every rule but the few with a timestamp_field or tiebreaker_field of
// their own) buffer each event once between them, with each rule's interest in it, instead
// of once per rule (see engine.Stage). The others keep a buffer of their own. The stage's
// event time is the latest timestamp of all the events offered to its rules, where each
// rule's own buffer had the latest timestamp of its events: an event is too late for all
// of them at once, and reported once (EventUnused).
func (d *Detector) joinStage() {
	count := map[engine.OrderKey]int{}
	var best engine.OrderKey
	for _, rs := range d.rules {
		j, ok := rs.comp.Runner.(stageJoiner)
		if !ok || rs.split == nil || rs.repart {
			continue
		}
		if key, ok := j.OrderKey(); ok {
			count[key]++
			if count[key] > count[best] {
				best = key
			}
		}
	}
	if count[best] == 0 {
		return
	}
	st := engine.NewStage(best)
	for _, rs := range d.rules {
		if j, ok := rs.comp.Runner.(stageJoiner); ok && rs.split != nil && !rs.repart {
			rs.staged = j.Join(st)
		}
	}
	d.stage = st
}
