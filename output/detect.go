package output

import (
	"context"

	"github.com/tripline/tripline/detect"
)

// Delivery writes the detector's alerts to a Sink: it implements detect.Sink. An output
// that does not take a batch does not stop the run (the events were processed, and
// stopping would only lose the alerts of the events still to come): Delivery counts the
// alerts not delivered, keeps the first error, and tells OnError of each.
//
// Write is called by the detector from one goroutine at a time; read Failed and Err once
// the detector is closed.
type Delivery struct {
	// Out receives the alerts; when nil, they are discarded.
	Out Sink
	// Context, when set, is the context of every write instead of the detector's: one that
	// outlives the run's by a grace period after a signal, so that the alerts found are
	// delivered, or put in a dead-letter file, within a bound. Without it, a write that
	// fails once the detector's context is done returns its error and stops the run.
	Context context.Context
	// OnError, when set, is told of each failed write as it happens.
	OnError func(err error)

	buf    []Alert
	failed int
	first  error
}

// Write implements detect.Sink: it hands alerts to Out, as output.Alert values.
func (d *Delivery) Write(ctx context.Context, alerts []detect.Alert) error {
	_, err := d.Deliver(ctx, alerts)
	return err
}

// Deliver is Write, and also reports whether the alerts were written: Out took them, or
// put those it could not deliver in its dead-letter files (DeadLettered). An alert not
// written is counted and reported, and err is nil as for Write: a caller that records
// what was written (a state directory) must not record it. Without Out, the alerts are
// discarded by design: written.
func (d *Delivery) Deliver(ctx context.Context, alerts []detect.Alert) (written bool, err error) {
	if d.Out == nil {
		return true, nil
	}
	d.buf = d.buf[:0]
	for _, a := range alerts {
		d.buf = append(d.buf, Alert{ID: a.ID, Doc: a.Doc})
	}
	wctx := ctx
	if d.Context != nil {
		wctx = d.Context
	}
	if err := d.Out.Write(wctx, d.buf); err != nil {
		if d.Context == nil && ctx.Err() != nil {
			return false, err
		}
		d.failed += len(alerts)
		if d.first == nil {
			d.first = err
		}
		if d.OnError != nil {
			d.OnError(err)
		}
		return DeadLettered(err), nil
	}
	return true, nil
}

// Failed returns the number of alerts Out did not take (a sink with a dead-letter file has
// put them there, unless that failed too).
func (d *Delivery) Failed() int { return d.failed }

// Err returns the first error of a write Out failed, or nil.
func (d *Delivery) Err() error { return d.first }
