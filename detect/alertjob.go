package detect

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tripline/tripline/event"
)

// eventID returns the event's _id: the one its input gave (a _bulk action), else the
// document's own _id field, else an id derived from its content raw (event.DocID), so that
// the same event gets the same id in every run.
func eventID(ev *event.Event, raw []byte, doc document) string {
	if ev.ID != "" {
		return ev.ID
	}
	if s, ok := doc["_id"].(string); ok && s != "" {
		return s
	}
	return event.DocID(raw)
}

// writeMatch builds the alerts of one match and writes them to the sink.
func (d *Detector) writeMatch(ctx context.Context, rs *ruleState, evs []*event.Event) error {
	if rs.agg != nil {
		return d.aggregate(ctx, rs, evs[0])
	}
	j := alertJob{rs: rs, evs: evs}
	d.b.build(&j)
	return d.writeJob(ctx, &j)
}

// alertJob is one match to write: its alerts, once built (builder.build), or why not.
type alertJob struct {
	rs  *ruleState
	evs []*event.Event

	alerts []Alert
	key    suppressKey // the rule suppresses alerts: the match's group and time
	lost   error       // a kept event's document could not be read again: the alerts are not written
	err    error
}

// build builds the alerts of a job. It reads the documents of kept events again
// (event.Event.Doc) and only reads the builder and the rule: jobs can be built
// concurrently.
func (b *builder) build(j *alertJob) {
	mes := make([]*matchedEvent, len(j.evs))
	for i, ev := range j.evs {
		if ev == nil {
			continue
		}
		raw, err := ev.Doc()
		if err != nil {
			j.lost = err
			return
		}
		src, err := parseDocument(raw)
		if err != nil {
			j.err = fmt.Errorf("%s:%d: %w", ev.Source, ev.Line, err)
			return
		}
		mes[i] = &matchedEvent{id: eventID(ev, raw, src), index: ev.Index, src: src}
	}
	j.alerts, j.err = j.rs.shape(b, j.rs.info, mes)
	if j.rs.supp != nil && j.err == nil && len(j.alerts) > 0 {
		j.key, j.err = b.suppressionKey(j.rs.info, mes, j.alerts)
	}
}

// writeJob writes the alerts of a built job to the sink, or reports why it has none.
func (d *Detector) writeJob(ctx context.Context, j *alertJob) error {
	switch {
	case j.lost != nil:
		// The input file changed under us: this match cannot be written, the rest can.
		d.summary.AlertsNotWritten++
		d.report(fmt.Errorf("%w: an alert of rule %q not written", j.lost, j.rs.info.r.Name))
		return nil
	case j.err != nil:
		return j.err
	case len(j.alerts) == 0:
		return nil
	case j.rs.supp != nil:
		return d.suppress(ctx, j)
	}
	return d.writeAlerts(ctx, j.rs, j.alerts)
}

// writeAlerts writes the alerts of one match of rs to the sink.
func (d *Detector) writeAlerts(ctx context.Context, rs *ruleState, alerts []Alert) error {
	if err := d.sink.Write(ctx, alerts); err != nil {
		return err
	}
	rs.stats.Alerts += len(alerts)
	d.summary.Alerts += int64(len(alerts))
	return nil
}

// writeJobs builds the alerts of jobs on d.workers goroutines, a chunk at a time (building
// them, mostly JSON work, is a tenth of a batch run's time with a thousand rules), and
// writes them in order. It returns the first error; the jobs after it are still written.
func (d *Detector) writeJobs(ctx context.Context, jobs []alertJob) error {
	var first error
	chunk := 64 * max(d.workers, 1)
	for start := 0; start < len(jobs); start += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		part := jobs[start:min(start+chunk, len(jobs))]
		if d.workers > 1 && len(part) > 1 {
			var next atomic.Int64
			var wg sync.WaitGroup
			for range min(d.workers, len(part)) {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(len(part)); i = next.Add(1) - 1 {
						d.b.build(&part[i])
					}
				})
			}
			wg.Wait()
		} else {
			for i := range part {
				d.b.build(&part[i])
			}
		}
		for i := range part {
			if err := d.writeJob(ctx, &part[i]); err != nil && first == nil {
				first = err
			}
			part[i] = alertJob{} // the alerts are written: let them go
		}
	}
	return first
}
