package engine

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/tripline/tripline/event"
)

// item is an event that matched at least one term, or may match one of unsure, with its
// place in the order.
type item struct {
	ev   *event.Event // owned (cloned), unless shared
	ord  ordinal
	mask uint64 // bit i set: term i matched
	// unsure (streaming sequences): later terms not evaluated yet, which the event may
	// match (see PushLater); they are evaluated when it comes out of the reordering buffer,
	// if the sequence then has state.
	unsure uint64
	// shared: ev and the strings of ord are the caller's, valid only during Push; whatever
	// outlives it is copied (Run.keepCopy, ord.owned()) when it is stored.
	shared bool
	// subs (a Stage's buffer) are the Runs that want the event, each with its mask and
	// unsure terms; mask and unsure are then unused. lender, in a Stage's buffer, owns ev
	// when it was lent (Stage.EndLent) rather than copied.
	subs   []sub
	lender Lender
}

// Run is one execution of a Query over a stream of events. It is not safe for concurrent use,
// except for the methods that say so.
//
// Push, Flush and Stats are what most callers need; Done, Pending, Buffered and Shed
// (streaming), and Disordered and Rerun (Options.InOrder) tell more or bound the run.
// Stepper gives the finer-grained API package detect drives.
type Run struct {
	q     *Query
	mode  Mode
	emit  func(*Result)
	stats Stats

	// batch
	items []item
	// streaming
	buf      reorderBuf
	maxTS    int64  // in the timestamp's unit
	maxSeq   uint64 // the Seq of the event that set maxTS (see OldestHeld)
	seenTS   bool
	released ordinal
	anyOut   bool
	// stage, when the Run joined one (Stepper.Join), orders its events instead of buf.
	stage *Stage

	seq    *seqMatcher
	sample *sampler
	// later (streaming sequences) is the query's LaterTerms: an event that matched only
	// these is kept as a document (Event.KeepRaw) and skipped when it comes out of the
	// reordering buffer while the sequence has no state (see releaseOne).
	later uint64

	// batch with Options.InOrder: events are processed as they come while in order
	inOrder    bool
	disordered bool

	// JoinKeys' scratch: its key iterator and the tuples it reported for the event.
	keys     keyIter
	seen     []byte
	seenEnds []int

	// limits
	lim     limiter
	flushed bool
}

// NewRun starts a run of q in the given mode. emit receives each result; the Result and
// its events stay valid after the call (events are clones owned by the result).
func (q *Query) NewRun(mode Mode, emit func(*Result)) *Run {
	r := &Run{q: q, mode: mode, emit: emit}
	r.lim = newLimiter(q.limits, r.deliver)
	switch q.kind {
	case kindSequence:
		r.seq = newSeqMatcher(q, r)
		r.inOrder = mode == Batch && q.opts.InOrder
		if mode == Streaming {
			r.later = q.laterTerms()
		}
	case kindSample:
		r.sample = newSampler(q)
	}
	return r
}

// Stepper is a Run's stepping API, which package detect's Detector drives: it splits Push
// into a stateless half (Match, MatchTerms), which worker goroutines run concurrently on
// many events, and the in-order rest (PushMatched, PushLater, SkipLater), tells which events
// the Run will keep (KeepsEvent, KeepsWhole, KeepMatched) so that the workers copy them
// ahead, and tunes the query's filters (ObserveFilters, ReorderFilters). Most callers need
// only Run's own methods; these are exported for package detect and may change with it.
type Stepper struct{ *Run }

// Stepper returns r's stepping API.
func (r *Run) Stepper() Stepper { return Stepper{r} }

// Stats returns the run's counters.
func (r *Run) Stats() Stats { return r.stats }

// Pending returns the state the run holds now (Stats().Pending): buffered events, partial
// sequences and undecided results.
func (r *Run) Pending() int64 { return r.stats.Pending }

// Rerun returns a new batch Run of r's query, emitting to the same function, that keeps
// every matching event until Flush (without Options.InOrder): for running the query again
// over all its events after Disordered.
func (r *Run) Rerun() *Run {
	n := r.q.NewRun(Batch, r.emit)
	n.inOrder = false
	return n
}

// Disordered reports whether a batch run with Options.InOrder met an event out of order
// and gave up: its results are incomplete and the query must be run again without InOrder.
func (r *Run) Disordered() bool { return r.disordered }

// Done reports whether no further result can be emitted (a head limit was reached), so
// the caller may stop reading.
func (r *Run) Done() bool { return r.lim.done() }

func (r *Run) deliver(res *Result) {
	r.stats.Results++
	r.emit(res)
}

// Push offers one event. The event is only read during the call; if kept it is copied (see
// Stepper.KeepsWhole), so that every Run given the same decoded event shares one copy.
// A non-nil error is a *SkipError: the event was not used (no timestamp, or too late);
// the run goes on.
func (r *Run) Push(ev *event.Event) error {
	if r.lim.done() {
		r.stats.EventsIn++
		return nil
	}
	return r.pushLater(ev, r.q.match(ev), 0)
}

// match is Stepper.Match.
func (q *Query) match(ev *event.Event) uint64 {
	var mask uint64
	for i := range q.terms {
		if q.terms[i].filter.Match(ev) {
			mask |= 1 << i
		}
	}
	return mask
}

// matchTerms is Stepper.MatchTerms.
func (q *Query) matchTerms(ev *event.Event, terms uint64) uint64 {
	var mask uint64
	for i := range q.terms {
		if terms&(1<<i) != 0 && q.terms[i].filter.Match(ev) {
			mask |= 1 << i
		}
	}
	return mask
}

// keepsEvent is Stepper.KeepsEvent.
func (q *Query) keepsEvent(mask uint64) bool {
	if q.kind == kindSequence {
		return mask&(1<<q.stages[q.pos[0]].term) != 0
	}
	return mask != 0
}

// laterTerms is Stepper.LaterTerms.
func (q *Query) laterTerms() uint64 {
	if q.kind != kindSequence {
		return 0
	}
	var later, other uint64
	first := q.pos[0]
	for i, st := range q.stages {
		bit := uint64(1) << st.term
		if i <= first { // the first positive stage and the leading missing ones
			other |= bit
		} else {
			later |= bit
		}
	}
	if q.until >= 0 {
		later |= 1 << q.until
	}
	return later &^ other
}

// observeFilters is Stepper.ObserveFilters.
func (q *Query) observeFilters(on bool) {
	for i := range q.terms {
		q.terms[i].filter.Observe(on)
	}
}

// reorderFilters is Stepper.ReorderFilters.
func (q *Query) reorderFilters() {
	for i := range q.terms {
		q.terms[i].filter.Reorder()
	}
}

// ObserveFilters calls eval.Filter.Observe on the filter of every term (see Reorder).
func (r Stepper) ObserveFilters(on bool) { r.q.observeFilters(on) }

// ReorderFilters calls eval.Filter.Reorder on the filter of every term: the and/or
// operands that decided most often, for their cost, in the events observed since
// ObserveFilters come first. Neither may run concurrently with Match.
func (r Stepper) ReorderFilters() { r.q.reorderFilters() }

// LaterTerms returns the terms of a sequence that only matter while it has state: its
// positive stages after the first, its middle and trailing missing stages and its until
// clause, unless the first positive stage or a leading missing stage uses the term too. An
// event that matches only these changes nothing while the sequence has no partial sequence
// and no complete one waiting for its trailing stages (see Stepper.SkipLater): a later stage
// extends, an until clause ends and a trailing stage settles only such sequences, and a
// middle missing event is only looked for between two events of one partial sequence (an
// event in timestamp order cannot fall strictly between two events of a partial sequence
// begun after it). 0 for other queries.
func (r Stepper) LaterTerms() uint64 { return r.q.laterTerms() }

// SkipLater spares evaluating the LaterTerms of an event for a Run that matches in order
// (batch mode with Options.InOrder) while it holds no partial sequence and no complete one
// waiting for its trailing missing stages, when no other term
// matched the event: if the Run is in that state and the event comes in order, SkipLater
// records the event's place in the order as if it had matched (so that an earlier event
// coming after it still makes the Run give up, as an event that matched would) and reports
// true: pushing the event would have changed nothing. Otherwise it reports false, and the
// caller evaluates the terms and calls PushMatched as usual.
func (r Stepper) SkipLater(ev *event.Event) bool {
	if !r.inOrder || r.disordered || r.seq == nil || r.seq.live != 0 || r.seq.await.Len() != 0 {
		return false
	}
	if r.lim.done() {
		return true // PushMatched ignores every event now
	}
	ts, ok := r.q.opts.Memo.timestamp(&r.q.ts, ev)
	if !ok {
		return false // PushMatched reports a match without a timestamp
	}
	ord := ordinal{seq: ev.Seq, ts: ts}
	if r.q.hasTB {
		if tb, ok := r.q.tb.first(ev); ok {
			ord.tb = tb
		}
	}
	if r.anyOut && ord.compare(&r.released) < 0 {
		return false
	}
	r.released, r.anyOut = ord.owned(), true
	return true
}

// HasState reports whether a sequence run holds a partial sequence or a complete one
// waiting for its trailing missing stages: what decides whether an event that matches only
// its LaterTerms changes anything.
func (r Stepper) HasState() bool { return r.hasState() }

// hasState is Stepper.HasState.
func (r *Run) hasState() bool {
	return r.seq != nil && (r.seq.live != 0 || r.seq.await.Len() != 0)
}

// Admit returns the error PushMatched gives for a match of ev it cannot place in time (the
// event has no valid timestamp in the query's timestamp field), nil otherwise: a caller
// that takes an event query's matches itself, in batch mode, refuses the same events.
func (r Stepper) Admit(ev *event.Event) error {
	if _, ok := r.q.opts.Memo.timestamp(&r.q.ts, ev); !ok {
		r.stats.NoTimestamp++
		return &SkipError{Source: ev.Source, Line: ev.Line, Reason: "no valid timestamp in field " + r.q.opts.TimestampField}
	}
	return nil
}

// KeepsEvent reports whether pushing an event that matches the terms in mask makes the
// Run keep a copy of it (Event.Keep): an event query's or a sample's match, or a match of a
// sequence's first positive stage. A caller with spare goroutines may then make the copy
// ahead, on the goroutine that decoded the event; later stages of a sequence may keep an
// event too, which this does not tell. Safe for concurrent use.
func (r Stepper) KeepsEvent(mask uint64) bool { return r.q.keepsEvent(mask) }

// keepCopy returns the copy of ev that r stores when it keeps ev (ev itself when ev is a
// copy already; Stepper.KeepMatched lets a caller with spare goroutines make it ahead). An
// event query's or a sample's matches and an in-order batch run's events are kept with
// Event.KeepRaw: their values are read before they are stored, if ever, and the copies only
// go into results, whose documents are written. The events a sequence buffers for later matching are kept
// whole (Event.Keep): their join keys are read again. Safe for concurrent use on different
// events.
func (r *Run) keepCopy(ev *event.Event) *event.Event {
	if r.inOrder || r.q.kind != kindSequence {
		return ev.KeepRaw()
	}
	return ev.Keep()
}

// keepItem returns the copy of it.ev that a partial sequence stores: it.ev itself when it
// is a copy already (from the Run's reordering buffer), else, for a shared item (the
// caller's event, or an event lent to a Stage: its values were read when it came), a
// copy of its document (Event.KeepRaw), as an in-order batch run keeps: nothing reads the
// values of a partial sequence's events again, which only go into results, whose documents
// are written.
func (r *Run) keepItem(it *item) *event.Event {
	if it.shared {
		return it.ev.KeepRaw()
	}
	return r.keepCopy(it.ev)
}

// KeepsWhole reports whether the copy r keeps of an event that matched the terms in mask
// is a whole one (Event.Keep) rather than its document (Event.KeepRaw): a sequence's,
// outside in-order batch runs, unless the event matched only terms of its later stages in
// streaming mode. Such an event is seldom read again (see releaseOne), and then decodes its
// document again. A caller that makes the copies ahead makes the whole ones first, so that
// every Run shares the one copy (KeepRaw returns Keep's copy when there is one). Safe for
// concurrent use.
func (r Stepper) KeepsWhole(mask uint64) bool { return r.keepsWhole(mask) }

// keepsWhole is Stepper.KeepsWhole.
func (r *Run) keepsWhole(mask uint64) bool {
	return !r.inOrder && r.q.kind == kindSequence && (r.later == 0 || mask&^r.later != 0)
}

// KeepMatched returns the copy of ev that r stores when it keeps ev after it matched the
// terms in mask (see KeepsWhole). Safe for concurrent use on different events.
func (r Stepper) KeepMatched(ev *event.Event, mask uint64) *event.Event {
	return r.keepMatched(ev, mask)
}

// keepMatched is Stepper.KeepMatched.
func (r *Run) keepMatched(ev *event.Event, mask uint64) *event.Event {
	if r.keepsWhole(mask) {
		return ev.Keep()
	}
	return ev.KeepRaw()
}

// MatchTerms is Match restricted to the terms in the mask terms (bit i: term i): the
// others are not evaluated and their bits are 0. A caller that knows some terms cannot
// match the event (a rule index) saves their evaluation. Safe for concurrent use.
func (r Stepper) MatchTerms(ev *event.Event, terms uint64) uint64 { return r.q.matchTerms(ev, terms) }

// Match returns which terms of the query ev matches (bit i for the term of Terms whose Bit
// is i): the stateless half of Push, which may run on any goroutine, concurrently with other
// calls and with the Run's own methods, while PushMatched does the rest in order.
func (r Stepper) Match(ev *event.Event) uint64 { return r.q.match(ev) }

// PushMatched is Push with the terms ev matches already known (from Match on the same
// event): Push(ev) is PushMatched(ev, r.Match(ev)).
func (r Stepper) PushMatched(ev *event.Event, mask uint64) error {
	return r.pushLater(ev, mask, 0)
}

// PushLater is PushMatched for an event whose terms in later, among the query's
// LaterTerms, were not evaluated (mask has none of them): in streaming mode the event then
// waits in the reordering buffer, and those terms are evaluated when it comes out, only if
// the sequence has state then (see releaseOne); a sequence has none most of the time, so
// that most of these terms are never evaluated. Otherwise they are evaluated now. The
// results are those of PushMatched(ev, mask|r.MatchTerms(ev, later)).
func (r Stepper) PushLater(ev *event.Event, mask, later uint64) error {
	return r.pushLater(ev, mask, later)
}

// pushLater is Stepper.PushLater; Push is pushLater(ev, q.match(ev), 0).
func (r *Run) pushLater(ev *event.Event, mask, later uint64) error {
	if later != 0 && (r.mode != Streaming || r.later == 0) {
		mask, later = mask|r.q.matchTerms(ev, later), 0
	}
	r.stats.EventsIn++
	if r.lim.done() {
		return nil
	}
	if (mask == 0 && r.mode == Batch) || r.disordered {
		return nil // batch order needs no timestamp of an event no term matched
	}
	var ord ordinal
	ord.seq = ev.Seq
	if r.stage != nil {
		// The stage reads the event's place in the order once for all its Runs.
		o, ok := r.stage.order(ev)
		if !ok {
			if later != 0 { // whether it is refused depends on them
				mask, later = mask|r.q.matchTerms(ev, later), 0
			}
			if mask == 0 {
				return nil // it would not be used anyway
			}
			r.stats.NoTimestamp++
			return &SkipError{Source: ev.Source, Line: ev.Line,
				Reason: "no valid timestamp in field " + r.q.opts.TimestampField}
		}
		ord = o
	} else if r.q.kind != kindSample {
		ts, ok := r.q.opts.Memo.timestamp(&r.q.ts, ev)
		if !ok {
			if later != 0 { // whether it is refused depends on them
				mask, later = mask|r.q.matchTerms(ev, later), 0
			}
			if mask == 0 {
				return nil // it would not be used anyway
			}
			r.stats.NoTimestamp++
			return &SkipError{Source: ev.Source, Line: ev.Line,
				Reason: "no valid timestamp in field " + r.q.opts.TimestampField}
		}
		ord.ts = ts
		if r.q.hasTB {
			if tb, ok := r.q.tb.first(ev); ok {
				ord.tb = tb
			}
		}
	} else if r.q.hasTB {
		if tb, ok := r.q.tb.first(ev); ok {
			ord.tb = tb
		}
	}
	if r.mode == Streaming && r.q.kind != kindSample {
		var late bool
		if r.stage != nil {
			late = r.stage.late // the stage's event time decides, once for all its Runs
		} else {
			late = (r.seenTS && ord.ts < r.releaseBound()) || (r.anyOut && ord.compare(&r.released) < 0)
		}
		if late && r.q.kind == kindEvent && r.q.opts.LateAtOnce {
			// Its result does not depend on the order: it goes now, out of it.
			if mask != 0 {
				r.stats.Matched++
				r.lim.push(&Result{Events: []*event.Event{r.keepCopy(ev)}})
			}
			return nil
		}
		if late {
			r.stats.Late++
			if r.q.opts.OnLate != nil {
				r.q.opts.OnLate(ev)
			}
			return &SkipError{Source: ev.Source, Line: ev.Line,
				Reason: "event later than max lateness " + r.q.opts.MaxLateness.String()}
		}
		if r.stage == nil && (ord.ts > r.maxTS || !r.seenTS) {
			r.maxTS, r.maxSeq, r.seenTS = ord.ts, ev.Seq, true
			if m := r.q.opts.Memo; m != nil && m.hasCeiling {
				if c := m.ceilingIn(r.q.ts.tsUnit()); r.maxTS > c {
					r.maxTS = c // see Memo.SetCeiling
				}
			}
		}
	}
	if mask == 0 && later == 0 {
		if r.mode == Streaming && r.stage == nil {
			r.release(r.releaseBound())
		}
		return nil
	}
	if !r.inOrder && r.stage == nil {
		ord = ord.owned() // stored: its tiebreaker must not point into the caller's event
	}
	switch {
	case r.q.kind == kindSample:
		r.stats.Pending += int64(r.sample.add(&item{ev: r.keepCopy(ev), ord: ord, mask: mask}, ev))
		r.peak()
	case r.inOrder:
		if r.anyOut && ord.compare(&r.released) < 0 {
			r.giveUp()
			return nil
		}
		// the event is copied only if a partial sequence or a result stores it
		r.process(&item{ev: ev, ord: ord, mask: mask, shared: true})
	case r.mode == Batch:
		if r.q.kind == kindEvent {
			r.stats.Matched++
		}
		r.items = append(r.items, item{ev: r.keepCopy(ev), ord: ord, mask: mask})
		r.stats.Pending++
		r.peak()
		r.trimBatch()
	default:
		if r.q.kind == kindEvent {
			r.stats.Matched++
		}
		if r.stage != nil {
			r.stats.Pending++
			r.peak()
			r.stage.add(r, mask, later)
			return nil
		}
		r.bufPush(item{ev: r.keepMatched(ev, mask|later), ord: ord, mask: mask, unsure: later})
		r.stats.Pending++
		r.peak()
		r.release(r.releaseBound())
	}
	return nil
}

// releaseBound is the time MaxLateness behind the latest timestamp seen: no event stamped
// earlier may still come.
func (r *Run) releaseBound() int64 {
	return subSat(r.maxTS, int64(r.q.opts.MaxLateness/time.Nanosecond)/r.q.ts.tsUnit())
}

// subSat is a-b, saturated to the range of an int64 (times in milliseconds span it all).
func subSat(a, b int64) int64 {
	d := a - b
	if (a >= 0) != (b >= 0) && (d >= 0) != (a >= 0) {
		if a >= 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return d
}

// giveUp ends an in-order batch run that met an event out of order: its state is dropped
// and the rest of its input ignored (Disordered).
func (r *Run) giveUp() {
	r.disordered = true
	r.seq = newSeqMatcher(r.q, r)
	r.lim = newLimiter(r.q.limits, r.deliver)
	r.stats.Pending = 0
}

func (r *Run) peak() {
	if r.stats.Pending > r.stats.PeakPending {
		r.stats.PeakPending = r.stats.Pending
	}
}

// batchTrimSlack is how many events beyond twice its limit a batch event query buffers
// before trimBatch cuts the buffer: sorting 2N+slack events every N+slack pushes costs
// O(log N) per event.
const batchTrimSlack = 256

// trimBatch bounds the memory of a batch event query whose first limit is head N or
// tail N: only the first (or last) N events in order can be in its result, so from time to
// time the buffer is sorted and cut to those N.
func (r *Run) trimBatch() {
	if r.q.kind != kindEvent || len(r.q.limits) == 0 {
		return
	}
	first := r.q.limits[0]
	if len(r.items) < 2*first.n+batchTrimSlack {
		return
	}
	slices.SortFunc(r.items, func(a, b item) int { return a.ord.compare(&b.ord) })
	var keep []item
	if first.tail {
		keep = r.items[len(r.items)-first.n:]
	} else {
		keep = r.items[:first.n]
	}
	r.stats.Pending -= int64(len(r.items) - len(keep))
	n := copy(r.items, keep) // in place: the buffer keeps its capacity, the rest is released
	clear(r.items[n:])
	r.items = r.items[:n]
}

// release processes the buffered events stamped strictly before upTo: an event that may
// still come (no later than MaxLateness behind the latest one seen) is stamped upTo or later.
func (r *Run) release(upTo int64) {
	for r.buf.Len() > 0 && r.buf.min().ord.ts < upTo {
		it := r.bufPop()
		r.stats.Pending--
		r.releaseOne(&it)
		if r.lim.done() {
			return
		}
	}
}

// bufPush adds an item to the reordering buffer, counting it in the memo.
func (r *Run) bufPush(it item) {
	r.buf.push(it)
	if m := r.q.opts.Memo; m != nil {
		m.hold(it.ev, true)
	}
}

// bufPop takes the oldest item out of the reordering buffer.
func (r *Run) bufPop() item {
	it := r.buf.pop()
	if m := r.q.opts.Memo; m != nil {
		m.unhold(it.ev, true)
	}
	return it
}

// Buffered returns the number of events in the reordering buffer (streaming mode).
func (r *Run) Buffered() int { return r.buf.Len() }

// Shed processes at once the n oldest events of the reordering buffer (streaming mode), as
// if later events had come, for a caller whose buffers are over their memory bound: an
// event that arrives afterwards and is older than them is too late. It returns the number
// processed.
func (r *Run) Shed(n int) int {
	done := 0
	for ; done < n && r.buf.Len() > 0 && !r.lim.done(); done++ {
		it := r.bufPop()
		r.stats.Pending--
		r.releaseOne(&it)
	}
	return done
}

// releaseOne handles an event taken out of the reordering buffer, in order. One that
// matched (or may match) only the sequence's later terms changes nothing while the
// sequence holds no partial sequence and no complete one waiting for its trailing missing
// stages (see LaterTerms; in-order batch runs skip the same events, SkipLater): it only
// takes its place in the order, its unsure terms are not evaluated and its join keys not
// read.
func (r *Run) releaseOne(it *item) {
	if r.later != 0 && it.mask&^r.later == 0 && !r.hasState() {
		r.released, r.anyOut = it.ord, true
		return
	}
	if it.unsure != 0 {
		it.mask |= r.q.matchTerms(it.ev, it.unsure)
		it.unsure = 0
		if it.mask == 0 {
			r.released, r.anyOut = it.ord, true
			return
		}
	}
	r.process(it)
}

// process handles one event in order.
func (r *Run) process(it *item) {
	r.released = it.ord
	if it.shared {
		r.released = it.ord.owned()
	}
	r.anyOut = true
	switch r.q.kind {
	case kindEvent:
		ev := it.ev
		if !it.shared || !r.q.opts.EmitShared || !r.lim.through {
			ev = r.keepCopy(ev)
		}
		r.lim.push(&Result{Events: []*event.Event{ev}})
	case kindSequence:
		r.seq.process(it)
	}
}

// Flush ends the input: it orders and matches what batch mode buffered, releases the
// reordering buffer, decides pending sequences and emits the held results. A cancelled
// context stops it early with ctx.Err().
func (r *Run) Flush(ctx context.Context) error {
	if r.flushed {
		return nil
	}
	r.flushed = true
	if r.stage != nil {
		if err := r.stage.Flush(ctx); err != nil {
			return err
		}
	}
	if r.mode == Batch && len(r.items) > 0 {
		slices.SortFunc(r.items, func(a, b item) int { return a.ord.compare(&b.ord) })
		for i := range r.items {
			if i&1023 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			r.stats.Pending--
			r.process(&r.items[i])
			r.items[i] = item{}
			if r.lim.done() {
				break
			}
		}
		r.items = nil
	}
	for r.buf.Len() > 0 && !r.lim.done() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		it := r.bufPop()
		r.stats.Pending--
		r.releaseOne(&it)
	}
	for r.buf.Len() > 0 { // a head limit was reached: what is left is not used
		r.bufPop()
		r.stats.Pending--
	}
	switch {
	case r.seq != nil:
		r.seq.flush()
	case r.sample != nil:
		r.sample.flush(r.lim.push)
		r.stats.Pending -= int64(r.sample.held)
		r.sample.held = 0
	}
	r.lim.flush()
	return nil
}

// reorderBuf is the streaming reordering buffer. Events mostly come in order, with a few
// late ones (jitter) and whole bulks that overtook one another: the buffer keeps them as a
// few ascending runs, queues that are appended at the tail and taken from the front, and
// only when more than maxRuns would be needed, in a heap. The oldest event is at the front
// of one of them. Appending to a run and taking a front is cheaper than a heap's log n
// moves and comparisons among scattered items.
type reorderBuf struct {
	// runs are ascending queues, ordered by their last item, the latest first: an item
	// goes to the first run whose last item is not later than it (the run it extends
	// best), so that the order of the runs holds.
	runs  []orderRun
	heap  itemHeap
	n     int
	minAt int      // the run whose front is the oldest item, or -1 for the heap; -2: unknown
	spare [][]item // the rings of runs that emptied, cleared, for new runs
}

// orderRun is one ascending run of a reorderBuf: a ring of n items from items[head], its
// length a power of two. A ring, because the run is a window sliding over the stream:
// appended at the tail as fast as it is taken at the front, it stays within twice its
// largest size without moving its items.
type orderRun struct {
	items   []item
	head, n int
}

func (r *orderRun) front() *item { return &r.items[r.head] }

func (r *orderRun) back() *item { return &r.items[(r.head+r.n-1)&(len(r.items)-1)] }

func (r *orderRun) pushBack(it item) {
	if r.n == len(r.items) {
		grown := make([]item, max(8, 2*len(r.items)))
		k := copy(grown, r.items[r.head:])
		copy(grown[k:], r.items[:r.head])
		r.items, r.head = grown, 0
	}
	r.items[(r.head+r.n)&(len(r.items)-1)] = it
	r.n++
}

func (r *orderRun) popFront() item {
	it := r.items[r.head]
	r.items[r.head] = item{}
	r.head = (r.head + 1) & (len(r.items) - 1)
	r.n--
	return it
}

// maxRuns bounds the runs of a reorderBuf: the oldest item is found among their fronts.
const maxRuns = 8

func (b *reorderBuf) Len() int { return b.n }

func (b *reorderBuf) push(it item) {
	b.n++
	b.minAt = -2
	for i := range b.runs {
		r := &b.runs[i]
		if it.ord.compare(&r.back().ord) >= 0 {
			r.pushBack(it)
			return
		}
	}
	if len(b.runs) < maxRuns {
		var r orderRun
		if k := len(b.spare); k > 0 {
			r.items, b.spare = b.spare[k-1], b.spare[:k-1]
		}
		r.pushBack(it)
		b.runs = append(b.runs, r)
		return
	}
	b.heap.push(it)
}

// oldest returns the run whose front is the oldest item, or -1 for the heap's top; the
// buffer must not be empty.
func (b *reorderBuf) oldest() int {
	if b.minAt != -2 {
		return b.minAt
	}
	at := -1
	var m *ordinal
	if len(b.heap) > 0 {
		m = &b.heap[0].ord
	}
	for i := range b.runs {
		if o := &b.runs[i].front().ord; m == nil || o.compare(m) < 0 {
			at, m = i, o
		}
	}
	b.minAt = at
	return at
}

// min returns the oldest item; the buffer must not be empty.
func (b *reorderBuf) min() *item {
	if at := b.oldest(); at >= 0 {
		return b.runs[at].front()
	}
	return &b.heap[0]
}

// pop takes the oldest item out; the buffer must not be empty.
func (b *reorderBuf) pop() item {
	at := b.oldest()
	b.n--
	b.minAt = -2
	if at < 0 {
		return b.heap.pop()
	}
	r := &b.runs[at]
	it := r.popFront()
	if r.n == 0 { // empty: its space is kept for a later run
		b.spare = append(b.spare, r.items)
		b.runs = append(b.runs[:at], b.runs[at+1:]...)
		b.runs[len(b.runs):cap(b.runs)][0] = orderRun{}
	}
	return it
}

// itemHeap is a binary min-heap of buffered events by ordinal (hand-written so that pushing
// and popping items does not box them).
type itemHeap []item

func (h itemHeap) Len() int { return len(h) }

func (h *itemHeap) push(it item) {
	*h = append(*h, it)
	x := *h
	i := len(x) - 1
	for i > 0 {
		p := (i - 1) / 2
		if x[p].ord.compare(&x[i].ord) <= 0 {
			break
		}
		x[p], x[i] = x[i], x[p]
		i = p
	}
}

func (h *itemHeap) pop() item {
	x := *h
	top := x[0]
	n := len(x) - 1
	x[0] = x[n]
	x[n] = item{}
	x = x[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && x[r].ord.compare(&x[l].ord) < 0 {
			c = r
		}
		if x[i].ord.compare(&x[c].ord) <= 0 {
			break
		}
		x[i], x[c] = x[c], x[i]
		i = c
	}
	*h = x
	return top
}

// limiter applies the head/tail limits to the ascending stream of results. With only head
// limits, results pass through at once up to the smallest head. Otherwise it keeps what the
// first limit allows (the first n, or the last n in a ring) and applies every limit at flush.
type limiter struct {
	ops     []limitOp
	out     func(*Result)
	passN   int // pass-through mode: results left; -1 = unlimited
	through bool
	held    []*Result
	ring    bool
	start   int // ring start
	cap     int
}

func newLimiter(ops []limitOp, out func(*Result)) limiter {
	l := limiter{ops: ops, out: out, passN: -1, through: true}
	for _, op := range ops {
		if op.tail {
			l.through = false
		}
	}
	if l.through {
		for _, op := range ops {
			if l.passN < 0 || op.n < l.passN {
				l.passN = op.n
			}
		}
		return l
	}
	l.ring = ops[0].tail
	l.cap = ops[0].n
	return l
}

func (l *limiter) done() bool {
	if l.through {
		return l.passN == 0
	}
	return l.cap == 0 || (!l.ring && len(l.held) >= l.cap)
}

func (l *limiter) push(r *Result) {
	switch {
	case l.through:
		if l.passN == 0 {
			return
		}
		if l.passN > 0 {
			l.passN--
		}
		l.out(r)
	case !l.ring:
		if len(l.held) < l.cap {
			l.held = append(l.held, r)
		}
	case l.cap == 0:
	case len(l.held) < l.cap:
		l.held = append(l.held, r)
	default:
		l.held[l.start] = r
		l.start = (l.start + 1) % l.cap
	}
}

func (l *limiter) flush() {
	if l.through {
		return
	}
	xs := append(l.held[l.start:len(l.held):len(l.held)], l.held[:l.start]...)
	l.held, l.start = nil, 0
	for _, r := range applyLimits(l.ops, xs) {
		l.out(r)
	}
}
