package detect

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/internal/scribble"
)

// The parallel Detector is an ordered hand-off. Process copies documents into batches; worker
// goroutines take whole batches and do the stateless, per-event work: decoding, index
// routing and every candidate rule's filters (SplitRunner.Match). One consumer goroutine
// then takes the batches back strictly in input order and does the stateful work:
// PushMatched (event order, sequence state, keeping events), alerts, counters and error
// reports. Sequence state therefore sees exactly the event order of the sequential
// Detector, so the results are identical, without partitioning rules or keys: a partition
// by join key would not fit a rule set whose rules have different keys (or none), and the
// filters, the bulk of the cost, are what runs in parallel. In batch mode the in-order work
// has a goroutine of its own rather than being done by the caller between two Process
// calls: the caller reads and copies the input meanwhile, so that neither waits for the
// other and the workers are not left without batches (10% less time with two cores,
// measured on the all-rules benchmark). In streaming mode it stays on the caller's
// goroutine, in Process, Flush and Close, so that the Detector's state (its Summary, its
// pending state) is the caller's to read between two calls, unless Options.Async asks for
// the consumer goroutine: a server then hands over one request's events and waits for the
// channel Flush returns, while the next request's are copied and filtered, and reads the
// state through Live.

// batchSize is the number of events per batch: large enough to make the hand-off cheap,
// small enough to keep the pipeline's memory low.
const batchSize = 256

// batch is a run of consecutive documents and, once a worker has processed them, their
// decoded events, candidate rules and filter results.
type batch struct {
	n   int
	buf []byte // the documents, copied
	evs []event.Event
	*batchWork
	done chan struct{}

	// Streaming with Options.Async: consumed is closed once the consumer has done the
	// batch's in-order work (see Detector.Flush); tick asks it to Shed afterwards.
	consumed chan struct{}
	tick     bool

	// Streaming: loans is the number of the batch's events the shared stage holds (lent,
	// not copied: see Detector.lend); the batch is reused only once its in-order work is
	// done (finished) and the stage has returned them all. On the in-order goroutine.
	p        *pipeline
	loans    int
	finished bool
}

// batchWork is what a batch needs until its in-order work is done: where its documents
// end and come from, and the workers' results. A batch whose events the shared stage still
// holds once that work is done hands it over to the batches to come (see pipeline.finish),
// as it waits with its documents and events only.
type batchWork struct {
	ends    []int // end of document i in buf
	srcs    []EventSource
	errs    []error // decode error of event i
	noIndex []bool
	candEnd []int // candidates of event i: cands[candEnd[i-1]:candEnd[i]]
	cands   []int
	masks   []uint64 // for each candidate, the terms it matches
	terms   []uint64 // for each candidate, the terms the index found possible
	later   []uint64 // for each candidate, the terms left to the in-order part
	evOf    []int32  // for each candidate, its event
}

func (b *batch) reset() {
	b.n = 0
	b.buf = b.buf[:0]
	b.ends = b.ends[:0]
	b.srcs = b.srcs[:0]
	b.cands = b.cands[:0]
	b.masks = b.masks[:0]
	b.candEnd = b.candEnd[:0]
	b.consumed, b.tick = nil, false
	b.loans, b.finished = 0, false
}

// pipeline runs a Detector's per-event work on worker goroutines and its in-order work on a
// consumer goroutine (async) or the caller's (see above), or both on the caller's goroutine
// (inline).
type pipeline struct {
	d     *Detector
	work  chan *batch // to the workers
	cur   *batch      // the batch being filled
	maxIn int         // batches sent and not yet consumed, at most
	wg    sync.WaitGroup

	// async: the consumer goroutine's.
	async   bool
	ordered chan handoff         // to the consumer, in input order
	closing chan context.Context // Close's context, handed to the consumer (see consumer)
	done    chan struct{}        // closed when the consumer has returned
	err     atomic.Pointer[error]
	sent    bool          // a batch was sent (streaming: the consumer has the state)
	last    chan struct{} // streaming: closed once the last batch sent is consumed

	// Otherwise, on the caller's goroutine.
	inline   *worker  // set when the batches run on the caller's goroutine
	inflight []*batch // sent to the workers, in input order

	// free holds the batches done with, for reuse. In streaming mode the shared stage holds
	// the events of the last --max-lateness (see Detector.lend), a hundred batches and more,
	// returned one by one as it hands them out: a pool keeps them for the batches to come
	// rather than a fixed number, and lets the garbage collector have those left unused.
	free    sync.Pool
	works   sync.Pool // *batchWork handed over by batches the stage holds events of
	bufHint int       // the most document bytes a batch held so far, to size new batches
}

// newPipeline starts workers goroutines, or none when workers is 1: each batch is then
// run on the caller's goroutine as soon as it is full, still rule by rule (see worker.run).
// With async, a consumer goroutine does the in-order work.
func (d *Detector) newPipeline(workers int, async bool) *pipeline {
	if workers == 1 {
		return &pipeline{d: d, inline: &worker{d: d, dec: event.NewDecoder(d.fields), rt: d.newRouter()}}
	}
	p := &pipeline{d: d, work: make(chan *batch, 2*workers), maxIn: 4 * workers, async: async}
	if async {
		p.ordered, p.done = make(chan handoff, p.maxIn), make(chan struct{})
		p.closing = make(chan context.Context, 1)
		go p.consumer()
	}
	for range workers {
		w := &worker{d: d, dec: event.NewDecoder(d.fields), rt: d.newRouter()}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for b := range p.work {
				w.run(b)
				close(b.done)
			}
		}()
	}
	return p
}

// add copies one document into the current batch and sends the batch when it is full. It
// returns the first error of the in-order work so far (a Sink's or a context's).
func (p *pipeline) add(ctx context.Context, doc []byte, src EventSource) error {
	if err := p.error(); err != nil {
		return err
	}
	if p.cur == nil {
		p.cur = p.newBatch()
	}
	b := p.cur
	b.buf = append(b.buf, doc...)
	b.ends = append(b.ends, len(b.buf))
	b.srcs = append(b.srcs, src)
	b.n++
	if b.n < batchSize {
		return nil
	}
	return p.send(ctx)
}

// newBatch returns an empty batch: one done with, or a new one, its buffer sized for the
// documents of the largest batch so far and an eighth more.
func (p *pipeline) newBatch() *batch {
	b, _ := p.free.Get().(*batch)
	if b == nil {
		b = &batch{p: p, buf: make([]byte, 0, p.bufHint+p.bufHint/8)}
	}
	if b.batchWork == nil {
		b.batchWork, _ = p.works.Get().(*batchWork)
		if b.batchWork == nil {
			b.batchWork = new(batchWork)
		}
	}
	b.reset()
	return b
}

// finish returns a batch whose in-order work is done for reuse, unless the stage still
// holds some of its events: then the last of them returned does (Returned).
func (p *pipeline) finish(b *batch) {
	b.finished = true
	if b.loans == 0 {
		p.reuse(b)
		return
	}
	p.works.Put(b.batchWork)
	b.batchWork = nil
}

// reuse makes a batch available to newBatch.
func (p *pipeline) reuse(b *batch) {
	scribble.Bytes(b.buf) // its documents end here
	p.free.Put(b)
}

// lend ends the stage's offer of an event of batch b (Stage.EndLent): the stage holds the
// event itself, and b is not reused until the stage has handed it out. Only the batch's
// documents are counted in the bytes of the reordering buffers (Buffered), once, while
// the stage holds any of its events: its decoded values are not, as for the copies.
func (d *Detector) lend(b *batch) {
	if b.loans == 0 {
		d.lentBytes += int64(len(b.buf))
	}
	b.loans++
	if !d.stage.EndLent(b) {
		b.Returned()
		return
	}
	d.lent++
}

// lendable reports whether the shared stage may hold the batch's events themselves
// (Detector.lend): when it is three quarters full or more. A batch the stage holds stays
// whole in memory while it holds any of its events, so the stage copies those of a batch
// mostly empty instead (a server's small requests), as a copy takes less than the batch's
// share of each.
func (b *batch) lendable() bool { return 4*b.n >= 3*batchSize }

// Returned implements engine.Lender: the stage no longer holds one of the batch's events.
func (b *batch) Returned() {
	b.loans--
	if b.loans > 0 {
		return
	}
	b.p.d.lentBytes -= int64(len(b.buf))
	if b.finished {
		b.p.reuse(b)
	}
}

// send hands the current batch to the workers and, in input order, to the consumer (it
// waits while too many are in flight), or does the in-order work of the batches the
// workers have finished; inline, it runs the batch and its in-order work.
func (p *pipeline) send(ctx context.Context) error {
	b := p.cur
	p.cur = nil
	p.bufHint = max(p.bufHint, len(b.buf))
	if p.inline != nil {
		p.inline.run(b)
		err := p.consume(b, ctx)
		p.finish(b)
		if err != nil {
			return err
		}
		return ctx.Err()
	}
	b.done = make(chan struct{})
	if p.async {
		if p.d.opts.Streaming {
			b.consumed = make(chan struct{})
			p.last, p.sent = b.consumed, true
		}
		p.ordered <- handoff{b, ctx}
		p.work <- b
		return p.error()
	}
	p.inflight = append(p.inflight, b)
	p.work <- b
	return p.drain(ctx, false)
}

// drain does, on the caller's goroutine, the in-order work of the batches the workers have
// finished, in input order: those that are ready, and the oldest anyway while too many
// are in flight, stopping at an error or when ctx is done; with all, every batch sent,
// going on after an error. It returns the first error.
func (p *pipeline) drain(ctx context.Context, all bool) error {
	var first error
	for len(p.inflight) > 0 {
		b := p.inflight[0]
		if !all && len(p.inflight) < p.maxIn {
			select {
			case <-b.done:
			default:
				return nil
			}
		} else {
			<-b.done
		}
		p.inflight = p.inflight[1:]
		err := p.consume(b, ctx)
		p.finish(b)
		if err == nil && !all {
			err = ctx.Err()
		}
		if err != nil && first == nil {
			if !all {
				return err
			}
			first = err
		}
	}
	return first
}

// handoff is a batch on its way to the consumer with the context of the call that sent it.
type handoff struct {
	b   *batch
	ctx context.Context
}

// consumer does the in-order work of the batches, in input order, as the workers finish
// them, each with the context of the call that sent it; it keeps the first error and goes
// on (Close still flushes what was sent). Once Close has handed over its context, the
// batches still to consume are Close's work and use that context instead: a caller that
// cancels Process and then closes with a live context loses no alert. (In batch mode the
// in-order work writes nothing, Close writes the alerts kept; in streaming mode with
// Options.Async, it does.)
func (p *pipeline) consumer() {
	defer close(p.done)
	d := p.d
	var closeCtx context.Context
	for o := range p.ordered {
		b, ctx := o.b, o.ctx
		<-b.done
		if closeCtx == nil {
			select {
			case closeCtx = <-p.closing:
			default:
			}
		}
		if closeCtx != nil {
			ctx = closeCtx
		}
		err := p.consume(b, ctx)
		if err == nil && b.tick {
			err = d.shed(ctx)
		}
		if err != nil {
			p.err.CompareAndSwap(nil, &err)
		}
		consumed := b.consumed
		p.finish(b) // b may be reused from here on
		if consumed != nil {
			d.publish()
			close(consumed)
		}
	}
}

// error returns the first error of the in-order work, if any.
func (p *pipeline) error() error {
	if e := p.err.Load(); e != nil {
		return *e
	}
	return nil
}

// consume does the in-order work of one finished batch, writing alerts with ctx.
func (p *pipeline) consume(b *batch, ctx context.Context) error {
	d := p.d
	var lend *batch
	if d.stage != nil && b.lendable() {
		lend = b // the batch's events stay as they are until it is reused
	}
	limit, future := d.clockLimits()
	start := 0
	for i := 0; i < b.n; i++ {
		end := b.candEnd[i]
		sum := d.counters(b.srcs[i].Seq)
		sum.EventsRead++
		if d.replayed(b.srcs[i].Seq) {
			d.summary.EventsReplayed++
		}
		if b.errs[i] != nil {
			sum.EventsSkipped++
			d.reportEvent(&EventError{Source: b.srcs[i], Kind: EventMalformed, Err: b.errs[i]})
			start = end
			continue
		}
		if future && d.tooFarAhead(&b.evs[i], &b.srcs[i], limit) {
			start = end
			continue
		}
		if b.noIndex[i] && !d.opts.IgnoreIndexPatterns {
			sum.EventsWithoutIndex++
		}
		if err := d.push(ctx, &b.evs[i], b.cands[start:end], b.masks[start:end], b.later[start:end], lend); err != nil {
			return err
		}
		start = end
	}
	if d.opts.Streaming {
		for _, rs := range d.rules {
			if rs.deferrer != nil {
				rs.busy.Store(rs.deferrer.HasState())
			}
		}
		return d.expireSuppression(ctx)
	}
	return nil
}

// close processes every document added, stops the workers and the consumer, and returns
// the first error of the in-order work.
func (p *pipeline) close(ctx context.Context) error {
	if p.inline != nil {
		if p.cur != nil && p.cur.n > 0 {
			return p.send(ctx)
		}
		return nil
	}
	if p.async {
		p.closing <- ctx
	}
	if p.cur != nil && p.cur.n > 0 {
		b := p.cur
		p.cur = nil
		b.done = make(chan struct{})
		if p.async {
			p.ordered <- handoff{b, ctx}
		} else {
			p.inflight = append(p.inflight, b)
		}
		p.work <- b
	}
	close(p.work)
	if !p.async {
		err := p.drain(ctx, true)
		p.wg.Wait()
		return err
	}
	close(p.ordered)
	<-p.done
	p.wg.Wait()
	return p.error()
}

// worker is one worker goroutine's state: its decoder and router.
type worker struct {
	d     *Detector
	dec   *event.Decoder
	rt    *router
	count []int32 // scratch for grouping a batch's candidates by rule
	order []int32
	// mostCands is the most candidates a batch had so far: a batch whose arrays must grow
	// gets room for that many at once (see newBatch).
	mostCands int
}

// run decodes, routes and filters the events of a batch. The filters run rule by rule, not
// event by event: each rule evaluates all the events of the batch offered to it in a row,
// so that its compiled filter stays in the processor's caches while the batch's events
// (a few hundred kilobytes of decoded values) do too. Event by event, with a few dozen of
// the 1,024 rules offered each event, nearly every filter evaluation began with cache misses.
func (w *worker) run(b *batch) {
	d := w.d
	if cap(b.evs) < b.n {
		// Room for a full batch: the events keep the arrays they decode into.
		b.evs = make([]event.Event, max(b.n, batchSize))
	}
	b.evs = b.evs[:b.n]
	if cap(b.errs) < b.n {
		b.errs, b.noIndex = make([]error, max(b.n, batchSize)), make([]bool, max(b.n, batchSize))
	}
	b.errs, b.noIndex = b.errs[:b.n], b.noIndex[:b.n]
	clear(b.errs)
	clear(b.noIndex)
	if n := w.mostCands; cap(b.cands) < n {
		b.cands, b.masks, b.terms, b.later, b.evOf = make([]int, 0, n), make([]uint64, 0, n), make([]uint64, 0, n), make([]uint64, 0, n), make([]int32, 0, n)
	}
	b.terms, b.evOf, b.later = b.terms[:0], b.evOf[:0], b.later[:0]
	start := 0
	for i := 0; i < b.n; i++ {
		doc := b.buf[start:b.ends[i]:b.ends[i]]
		start = b.ends[i]
		ev := &b.evs[i]
		if err := w.dec.Decode(doc, ev); err != nil {
			b.errs[i] = err
			b.candEnd = append(b.candEnd, len(b.cands))
			continue
		}
		b.noIndex[i] = !w.rt.prepare(ev, b.srcs[i])
		cands := w.rt.candidates(ev)
		if len(cands) > 0 || (d.opts.MaxFuture > 0 && d.opts.Streaming) {
			// The in-order part reads the timestamps: convert them here, hot.
			d.memo.Prime(ev)
		}
		for _, r := range cands {
			b.cands = append(b.cands, r)
			b.masks = append(b.masks, 0)
			t := w.rt.terms[r]
			rs := d.rules[r]
			lt := t & rs.later
			if lt != 0 && rs.deferrer != nil && rs.laterNow(false) {
				lt = 0
			}
			b.terms = append(b.terms, t&^lt)
			b.later = append(b.later, lt)
			b.evOf = append(b.evOf, int32(i))
		}
		b.candEnd = append(b.candEnd, len(b.cands))
	}
	w.mostCands = max(w.mostCands, len(b.cands))
	// Group the candidates by rule (a counting sort, stable: events stay in order).
	if cap(w.count) < len(d.rules)+1 {
		w.count = make([]int32, len(d.rules)+1)
	}
	count := w.count[:len(d.rules)+1]
	clear(count)
	for _, r := range b.cands {
		count[r+1]++
	}
	for r := 1; r < len(count); r++ {
		count[r] += count[r-1]
	}
	if cap(w.order) < len(b.cands) {
		w.order = make([]int32, len(b.cands))
	}
	order := w.order[:len(b.cands)]
	for k, r := range b.cands {
		order[count[r]] = int32(k)
		count[r]++
	}
	for _, k := range order {
		if rs := d.rules[b.cands[k]]; rs.split != nil && b.terms[k] != 0 {
			b.masks[k] = matchTerms(rs, &b.evs[b.evOf[k]], b.terms[k])
		}
	}
	// Copy here, off the in-order goroutine, the events a rule will keep (one shared copy
	// per event: Event.Keep, Event.KeepRaw); in streaming mode, every event a term
	// matches waits in the rule's reordering buffer.
	d.keepAhead(b.cands, b.masks, b.later, b.lendable(), func(k int) *event.Event { return &b.evs[b.evOf[k]] })
}

// keepAhead makes the copies of the events that the rules cands[k] will keep after they
// matched the terms masks[k] (in streaming mode, or may match those of later[k], left to
// them), ev(k) being the event: the whole copies first, then the others, so that the rules
// share one copy of each event (Event.KeepRaw returns the copy Event.Keep made). lent says
// the events are a batch's, which the shared stage holds without a copy (Detector.lend):
// the rules that share it then keep copies of what they keep only, as in batch mode.
func (d *Detector) keepAhead(cands []int, masks, later []uint64, lent bool, ev func(k int) *event.Event) {
	// keeps says what rule k keeps of its event: nothing, a whole copy or its document.
	keeps := func(k int) (keep, whole bool, mask uint64) {
		rs := d.rules[cands[k]]
		kr := rs.keeper
		mask = masks[k]
		if kr == nil {
			return false, false, 0
		}
		streaming := d.opts.Streaming && !(lent && rs.staged)
		w := false
		if streaming {
			// Whole copies for the events that matched later terms evaluated at once (the
			// sequence is likely to read them): KeepRaw returns that copy to the rule.
			w = rs.deferrer != nil && later[k] == 0 && mask&rs.later != 0
			mask |= later[k]
		}
		if mask == 0 || (!streaming && !kr.KeepsEvent(mask)) {
			return false, false, 0
		}
		if lent && rs.staged {
			if !rs.comp.Sequence {
				// An event query's match is emitted as the lent event, and copied only
				// if kept (under max_signals: see Detector.onMatch).
				return false, false, 0
			}
			return true, false, mask // see Run.keepItem
		}
		return true, w || kr.KeepsWhole(mask), mask
	}
	others := false
	for k := range masks {
		switch keep, whole, _ := keeps(k); {
		case !keep:
		case whole:
			ev(k).Keep()
		default:
			others = true
		}
	}
	if !others { // most events: no rule keeps only a document
		return
	}
	for k := range masks {
		if keep, whole, mask := keeps(k); keep && !whole {
			if rs := d.rules[cands[k]]; lent && rs.staged {
				ev(k).KeepRaw() // what its Run keeps of an event the stage lends it
			} else {
				rs.keeper.KeepMatched(ev(k), mask)
			}
		}
	}
}

// eventKeeper is a SplitRunner that tells which matches it keeps a copy of, and makes that
// copy (engine.Stepper).
type eventKeeper interface {
	KeepsEvent(mask uint64) bool
	KeepsWhole(mask uint64) bool
	KeepMatched(ev *event.Event, mask uint64) *event.Event
}
