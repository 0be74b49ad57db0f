package detect

import (
	"context"
	"errors"
	"fmt"

	"github.com/tripline/tripline/event"
)

// Process decodes one JSON document and offers it to every rule that can match it. A
// malformed document is counted, reported through Options.OnEventError and skipped; the
// error returned is only a Sink error or ctx's. With Options.Workers > 1 the document is
// copied and handled later (by Close at the latest): its alerts, errors and counters come
// from a later Process or Close call in streaming mode; in batch mode from another
// goroutine, one call at a time, a Sink error being returned by every later Process call
// and by Close.
func (d *Detector) Process(ctx context.Context, doc []byte, src EventSource) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.opts.History != nil && !d.historyDone {
		if err := d.loadHistory(ctx); err != nil {
			return err
		}
	}
	if d.opts.Indicators != nil && !d.indicatorsDone {
		if err := d.loadIndicators(ctx); err != nil {
			return err
		}
	}
	if d.pipe != nil && d.sampler == nil {
		// The first events (until the index is chosen from them) are processed here, in
		// order, so that every event meets the same index whatever the number of workers.
		return d.pipe.add(ctx, doc, src)
	}
	sum := d.counters(src.Seq)
	sum.EventsRead++
	if d.replayed(src.Seq) {
		d.summary.EventsReplayed++
	}
	ev := &d.ev
	if err := d.dec.Decode(doc, ev); err != nil {
		sum.EventsSkipped++
		d.reportEvent(&EventError{Source: src, Kind: EventMalformed, Err: err})
		return nil
	}
	if limit, ok := d.clockLimits(); ok {
		d.memo.Prime(ev)
		if d.tooFarAhead(ev, &src, limit) {
			return nil
		}
	}
	if !d.rt.prepare(ev, src) && !d.opts.IgnoreIndexPatterns {
		sum.EventsWithoutIndex++
	}
	err := d.push(ctx, ev, d.rt.candidates(ev), nil, nil, nil)
	d.sample(ev)
	if err == nil {
		err = d.expireSuppression(ctx)
	}
	return err
}

// push offers ev to the candidate rules, in order. masks, when given, holds for each
// candidate the terms it matches (from its SplitRunner's Match), and later the terms of it
// the workers left unevaluated (see ruleState.later). lend, when not nil, is the batch ev
// belongs to: the shared stage may hold ev itself rather than a copy (see batch.Returned).
func (d *Detector) push(ctx context.Context, ev *event.Event, cand []int, masks, later []uint64, lend *batch) error {
	d.memo.Next(ev)
	if d.clocked {
		d.tick(ev)
	}
	if masks == nil && d.opts.Streaming {
		// Evaluate the filters first, to make the copies the rules keep as the workers do
		// (keepAhead): one per event.
		masks, later = d.maskBuf[:0], d.laterBuf[:0]
		for _, i := range cand {
			var mask, lt uint64
			if rs := d.rules[i]; rs.split != nil {
				t := d.rt.terms[i]
				if lt = t & rs.later; lt != 0 && rs.laterNow(true) {
					lt = 0
				}
				if t &^= lt; t != 0 {
					mask = matchTerms(rs, ev, t)
				}
			}
			masks, later = append(masks, mask), append(later, lt)
		}
		d.maskBuf, d.laterBuf = masks, later
		d.keepAhead(cand, masks, later, false, func(int) *event.Event { return ev })
	}
	unused, spill := true, false
	replayed := d.replayed(ev.Seq)
	var firstErr error
	for k, i := range cand {
		rs := d.rules[i]
		if !replayed {
			rs.stats.EventsOffered++
		}
		var err error
		switch {
		case rs.repart:
			var mask uint64
			if masks != nil {
				mask = masks[k] // rs.later is 0: every term was evaluated
			} else {
				mask = matchTerms(rs, ev, d.rt.terms[i])
			}
			if mask != 0 {
				d.addJoinKeys(rs, ev, mask)
			}
			unused = false
			continue
		case rs.split != nil:
			var mask uint64
			if masks != nil {
				mask = masks[k]
				if lt := later[k]; lt != 0 && rs.deferrer != nil {
					err = rs.deferrer.PushLater(ev, mask, lt)
					break
				}
				if lt := later[k]; lt != 0 && (mask != 0 || !rs.skipper.SkipLater(ev)) {
					mask |= matchTerms(rs, ev, lt)
				}
			} else {
				mask = matchTerms(rs, ev, d.rt.terms[i])
			}
			if rs.admit != nil { // batch, a stateful kind: the Detector keeps its matches
				if mask != 0 {
					err = d.take(rs, ev)
				}
				break
			}
			// In batch mode an event no term matched changes nothing in the rule's state
			// (SplitRunner.PushMatched of engine.Stepper returns at once): skip the call.
			if mask != 0 || d.opts.Streaming {
				err = rs.split.PushMatched(ev, mask)
			}
			spill = spill || (rs.inOrder && mask != 0)
		default:
			err = rs.comp.Runner.Push(ev)
			spill = spill || rs.inOrder
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
		} else {
			unused = false
		}
		if err := d.writeEmitted(ctx); err != nil {
			return err
		}
	}
	if d.stage != nil {
		// The rules that share the stage have all been offered the event: it is buffered
		// once, and the events whose time has come are released to them.
		if lend != nil {
			d.lend(lend)
		} else {
			d.stage.End()
		}
		if err := d.writeEmitted(ctx); err != nil {
			return err
		}
	}
	if firstErr != nil && unused {
		d.counters(ev.Seq).EventsUnused++
		d.reportEvent(&EventError{Source: EventSource{Name: ev.Source, Line: ev.Line, Index: ev.Index, Seq: ev.Seq, ID: ev.ID},
			Kind: EventUnused, Err: firstErr})
	}
	if spill && d.spill != nil {
		d.spill.write(ev)
	}
	if d.opts.Repartition != nil {
		d.repartition(ev)
	}
	return nil
}

func (d *Detector) report(err error) {
	if d.opts.OnEventError != nil {
		d.opts.OnEventError(err)
	}
}

// onMatch receives one match of a rule from its runner. The events may be the
// Detector's own (engine.Options.EmitShared), valid during the call only: what it keeps
// of them it copies (Event.KeepRaw, which returns a copy as it is).
func (d *Detector) onMatch(rs *ruleState, evs []*event.Event) {
	rs.stats.Matches++
	if !d.opts.Streaming {
		if rs.agg != nil {
			// A Runner the Detector does not take matches from (see take).
			sel, ok, err := d.selectedOf(rs, evs[0])
			if err != nil {
				d.report(err)
			} else if ok {
				var kept *event.Event
				if rs.agg.needsDoc() {
					kept = evs[0].KeepRaw()
				}
				rs.keepSelected(&sel, kept)
			}
			return
		}
		rs.pending = append(rs.pending, keepEvents(evs))
		return
	}
	if rs.agg != nil {
		// Its aggregator caps the alerts, not the events.
		d.emitted = append(d.emitted, emitted{rs, keepEvents(evs)})
		return
	}
	// Streaming: at most max_signals per rule interval, by the first event's time (its
	// timestamp_override, as Kibana's executions select events by it).
	var bucket int64
	for _, ev := range evs {
		if ev == nil {
			continue
		}
		raw, _ := ev.Doc()
		if t, ok := executionTime(rs.info, raw); ok {
			bucket = t.UnixNano() / int64(rs.interval)
		}
		break
	}
	if rs.buckets[bucket] >= rs.info.r.MaxSignals {
		rs.stats.Capped++
		return
	}
	rs.buckets[bucket]++
	if len(rs.buckets) > 1024 {
		for k := range rs.buckets {
			if k < bucket-1 {
				delete(rs.buckets, k)
			}
		}
	}
	d.emitted = append(d.emitted, emitted{rs, keepEvents(evs)})
}

// keepEvents makes evs copies (Event.KeepRaw) that outlive the Runner's call.
func keepEvents(evs []*event.Event) []*event.Event {
	for i, ev := range evs {
		if ev != nil {
			evs[i] = ev.KeepRaw()
		}
	}
	return evs
}

// emitted is a match a rule emitted in streaming mode, to write once its runner returns.
type emitted struct {
	rs  *ruleState
	evs []*event.Event
}

// writeEmitted writes, with ctx, the alerts of the matches the rules emitted (streaming)
// during the runner calls since the last call, in order, and returns the first Sink error
// of the run. Runners emit without a context: the Detector's method that called them
// writes what they emitted with its own.
func (d *Detector) writeEmitted(ctx context.Context) error {
	for i, m := range d.emitted {
		if err := d.writeMatch(ctx, m.rs, m.evs); err != nil && d.alertErr == nil {
			d.alertErr = err
		}
		d.emitted[i] = emitted{}
	}
	d.emitted = d.emitted[:0]
	return d.alertErr
}

// Close ends the input: it flushes every rule, writes the alerts batch mode kept (at most
// max_signals per rule, the most recent, as Elasticsearch's EQL size keeps them), and
// returns the first error met. The Summary is complete after Close.
func (d *Detector) Close(ctx context.Context) error {
	var first error
	if d.opts.History != nil && !d.historyDone {
		first = d.loadHistory(ctx)
	}
	if d.opts.Indicators != nil && !d.indicatorsDone {
		if err := d.loadIndicators(ctx); err != nil && first == nil {
			first = err
		}
	}
	if d.pipe != nil {
		first = d.pipe.close(ctx)
	}
	if d.stage != nil {
		// Before the rules' own Flush: they must get every event it holds first.
		err := d.stage.Flush(ctx)
		_ = d.writeEmitted(ctx) // a Sink error is d.alertErr, returned below
		if err != nil {
			return err
		}
	}
	for _, rs := range d.rules {
		if err := rs.comp.Runner.Flush(ctx); err != nil && first == nil {
			first = fmt.Errorf("rule %s (%s): %w", rs.info.r.RuleID, rs.info.r.Name, err)
		}
		_ = d.writeEmitted(ctx) // a Sink error is d.alertErr, returned below
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := d.rerun(ctx); err != nil && first == nil {
		first = err
	}
	if err := d.closeStateful(ctx); err != nil && first == nil {
		first = err
	}
	if d.alertErr != nil && first == nil {
		first = d.alertErr
	}
	var jobs []alertJob
	for _, rs := range d.rules {
		matches := rs.pending
		rs.pending = nil
		if rs.agg != nil {
			continue // closeStateful gave its matches to its aggregator
		}
		if rs.comp.Matched != nil {
			// The runner kept only the most recent max_signals matches; it counted them all.
			rs.stats.Matches = rs.comp.Matched()
			rs.stats.Capped += rs.stats.Matches - len(matches)
		}
		if max := rs.info.r.MaxSignals; len(matches) > max {
			rs.stats.Capped += len(matches) - max
			matches = matches[len(matches)-max:]
		}
		for _, evs := range matches {
			jobs = append(jobs, alertJob{rs: rs, evs: evs})
		}
	}
	if err := d.writeJobs(ctx, jobs); err != nil && first == nil {
		first = err
	}
	for _, rs := range d.rules {
		if rs.supp == nil {
			continue
		}
		if err := d.closeSuppression(ctx, rs); err != nil && first == nil {
			first = err
		}
	}
	d.saveClock()
	for _, rs := range d.rules {
		if rs.stats.Capped > 0 {
			d.summary.Warnings = append(d.summary.Warnings, fmt.Sprintf(
				"rule %s (%s): This rule reached the maximum alert limit for the rule execution. Some alerts were not created. (max_signals %d, %d more matches)",
				rs.info.r.RuleID, rs.info.r.Name, rs.info.r.MaxSignals, rs.stats.Capped))
		}
	}
	return first
}

// rerun runs again, over the events kept in the spill file, the in-order rules whose input
// was not in order, discarding what they matched; then it removes the file.
func (d *Detector) rerun(ctx context.Context) error {
	if d.spill == nil && (d.opts.Replay == nil || !d.inOrderOK) {
		return nil
	}
	defer func() {
		if d.spill != nil {
			d.spill.close()
			d.spill = nil
		}
		d.inOrderOK = false
	}()
	again := make([]bool, len(d.rules))
	var any bool
	for i, rs := range d.rules {
		if rs.inOrder && rs.comp.Disordered() {
			again[i], any = true, true
			d.reruns++
			rs.pending, rs.stats.Matches = nil, 0
			rs.comp.Runner, rs.split, rs.inOrder = rs.comp.Rerun(), nil, false
			rs.terms, rs.keeper, rs.later, rs.skipper, rs.deferrer = nil, nil, 0, nil, nil
		}
	}
	if !any {
		return nil
	}
	ev := &d.ev
	var n int64
	fromInput := d.spill == nil
	replay := func(doc []byte, src EventSource) error {
		if n++; n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if fromInput && n > d.summary.EventsRead {
			return errReplayDone // the input grew since it was read
		}
		if err := d.dec.Decode(doc, ev); err != nil {
			if fromInput {
				return nil // reported when Process read it
			}
			return fmt.Errorf("%s:%d: %w", src.Name, src.Line, err) // it decoded the first time
		}
		d.rt.prepare(ev, src)
		d.memo.Next(ev)
		for _, i := range d.rt.candidates(ev) {
			if again[i] {
				_ = d.rules[i].comp.Runner.Push(ev) // a refusal was reported the first time
			}
		}
		return nil
	}
	var err error
	if fromInput {
		if err = d.opts.Replay(ctx, replay); errors.Is(err, errReplayDone) {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("reading the input again: %w", err)
		}
	} else {
		err = d.spill.replay(replay)
	}
	if err != nil {
		return err
	}
	for i, rs := range d.rules {
		if !again[i] {
			continue
		}
		if err := rs.comp.Runner.Flush(ctx); err != nil {
			return fmt.Errorf("rule %s (%s): %w", rs.info.r.RuleID, rs.info.r.Name, err)
		}
	}
	return nil
}

// errReplayDone stops Options.Replay once it has given as many documents as Process had.
var errReplayDone = errors.New("replay: all documents read")

// PendingState returns the state the rules hold now, summed over the rules whose engine
// reports it: buffered events, partial sequences and undecided results. Like Process, it
// must not run concurrently with the Detector's other methods.
func (d *Detector) PendingState() int64 {
	var n int64
	for _, rs := range d.rules {
		if p, ok := rs.comp.Runner.(interface{ Pending() int64 }); ok {
			n += p.Pending()
		}
	}
	return n
}
