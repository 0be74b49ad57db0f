package detect

import (
	"context"
	"fmt"
	"sync"

	"github.com/tripline/tripline/event"
)

// The parallel Detector is an ordered hand-off. Process copies documents into batches; worker
// goroutines take whole batches and do the stateless, per-event work: decoding, index
// routing and every candidate rule's filters (SplitRunner.Match). The caller's goroutine
// then takes the batches back strictly in input order and does the stateful work:
// PushMatched (event order, sequence state, keeping events), alerts, counters and error
// reports. Sequence state therefore sees exactly the event order of the sequential
// Detector, so the results are identical, without partitioning rules or keys: a partition
// by join key would not fit a rule set whose rules have different keys (or none), and the
// filters, the bulk of the cost, are what runs in parallel.

// batchSize is the number of events per batch: large enough to make the hand-off cheap,
// small enough to keep the pipeline's memory low.
const batchSize = 256

// batch is a run of consecutive documents and, once a worker has processed them, their
// decoded events, candidate rules and filter results.
type batch struct {
	n    int
	buf  []byte // the documents, copied
	ends []int  // end of document i in buf
	srcs []EventSource

	evs     []event.Event
	errs    []error // decode error of event i
	noIndex []bool
	candEnd []int // candidates of event i: cands[candEnd[i-1]:candEnd[i]]
	cands   []int
	masks   []uint64 // for each candidate, the terms it matches
	terms   []uint64 // for each candidate, the terms the index found possible
	later   []uint64 // for each candidate, the terms left to the in-order part
	evOf    []int32  // for each candidate, its event
	done    chan struct{}
}

func (b *batch) reset() {
	b.n = 0
	b.buf = b.buf[:0]
	b.ends = b.ends[:0]
	b.srcs = b.srcs[:0]
	b.cands = b.cands[:0]
	b.masks = b.masks[:0]
	b.candEnd = b.candEnd[:0]
}

// pipeline runs a Detector's per-event work on worker goroutines (see above).
type pipeline struct {
	d        *Detector
	work     chan *batch
	inflight []*batch // sent to the workers, in input order
	free     []*batch
	cur      *batch
	maxIn    int
	wg       sync.WaitGroup
	inline   *worker // set when the batches run on the caller's goroutine
}

// newPipeline starts workers goroutines, or none when workers is 1: each batch is then
// run on the caller's goroutine as soon as it is full, still rule by rule (see worker.run).
func (d *Detector) newPipeline(workers int) *pipeline {
	if workers == 1 {
		return &pipeline{d: d, inline: &worker{d: d, dec: event.NewDecoder(d.fields), rt: d.newRouter()}}
	}
	p := &pipeline{d: d, work: make(chan *batch, 2*workers), maxIn: 4 * workers}
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

// add copies one document into the current batch, sends the batch when it is full and
// consumes the batches the workers have finished.
func (p *pipeline) add(ctx context.Context, doc []byte, src EventSource) error {
	if p.cur == nil {
		if n := len(p.free); n > 0 {
			p.cur, p.free = p.free[n-1], p.free[:n-1]
			p.cur.reset()
		} else {
			p.cur = &batch{}
		}
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

// send hands the current batch to the workers, then consumes finished batches: all that are
// ready, and the oldest anyway when too many are in flight.
func (p *pipeline) send(ctx context.Context) error {
	b := p.cur
	p.cur = nil
	if p.inline != nil {
		p.inline.run(b)
		p.inflight = append(p.inflight, b)
		return p.consume(ctx, b)
	}
	b.done = make(chan struct{})
	p.inflight = append(p.inflight, b)
	p.work <- b
	for len(p.inflight) > 0 {
		front := p.inflight[0]
		if len(p.inflight) < p.maxIn {
			select {
			case <-front.done:
			default:
				return nil
			}
		} else {
			<-front.done
		}
		if err := p.consume(ctx, front); err != nil {
			return err
		}
	}
	return nil
}

// consume does the in-order work of one finished batch.
func (p *pipeline) consume(ctx context.Context, b *batch) error {
	p.inflight = p.inflight[1:]
	defer func() { p.free = append(p.free, b) }()
	d := p.d
	start := 0
	for i := 0; i < b.n; i++ {
		end := b.candEnd[i]
		d.summary.EventsRead++
		if b.errs[i] != nil {
			d.summary.EventsSkipped++
			d.report(fmt.Errorf("%s:%d: %w", b.srcs[i].Name, b.srcs[i].Line, b.errs[i]))
			start = end
			continue
		}
		if b.noIndex[i] && !d.opts.IgnoreIndexPatterns {
			d.summary.EventsWithoutIndex++
		}
		if err := d.push(&b.evs[i], b.cands[start:end], b.masks[start:end], b.later[start:end]); err != nil {
			return err
		}
		start = end
	}
	return ctx.Err()
}

// close processes every document added and stops the workers.
func (p *pipeline) close(ctx context.Context) error {
	if p.inline != nil {
		if p.cur != nil && p.cur.n > 0 {
			return p.send(ctx)
		}
		return nil
	}
	var first error
	if p.cur != nil && p.cur.n > 0 {
		b := p.cur
		p.cur = nil
		b.done = make(chan struct{})
		p.inflight = append(p.inflight, b)
		p.work <- b
	}
	close(p.work)
	for len(p.inflight) > 0 {
		front := p.inflight[0]
		<-front.done
		if err := p.consume(ctx, front); err != nil && first == nil {
			first = err
		}
	}
	p.wg.Wait()
	return first
}

// worker is one worker goroutine's state: its decoder and router.
type worker struct {
	d     *Detector
	dec   *event.Decoder
	rt    *router
	count []int32 // scratch for grouping a batch's candidates by rule
	order []int32
}

// run decodes, routes and filters the events of a batch. The filters run rule by rule, not
// event by event: each rule evaluates all the events of the batch offered to it in a row,
// so that its compiled filter stays in the processor's caches while the batch's events
// (a few hundred kilobytes of decoded values) do too. Event by event, with a few dozen of
// the 1,024 rules offered each event, nearly every filter evaluation began with cache misses.
func (w *worker) run(b *batch) {
	d := w.d
	if cap(b.evs) < b.n {
		b.evs = make([]event.Event, b.n)
	}
	b.evs = b.evs[:b.n]
	if cap(b.errs) < b.n {
		b.errs, b.noIndex = make([]error, b.n), make([]bool, b.n)
	}
	b.errs, b.noIndex = b.errs[:b.n], b.noIndex[:b.n]
	clear(b.errs)
	clear(b.noIndex)
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
		if len(cands) > 0 {
			d.memo.Prime(ev) // the in-order part reads the timestamps: convert them here, hot
		}
		for _, r := range cands {
			b.cands = append(b.cands, r)
			b.masks = append(b.masks, 0)
			t := w.rt.terms[r]
			lt := t & d.rules[r].later
			b.terms = append(b.terms, t&^lt)
			b.later = append(b.later, lt)
			b.evOf = append(b.evOf, int32(i))
		}
		b.candEnd = append(b.candEnd, len(b.cands))
	}
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
	// per event: Event.Keep, Event.KeepRaw).
	for k, mask := range b.masks {
		if mask == 0 {
			continue
		}
		if kr := d.rules[b.cands[k]].keeper; kr != nil && kr.KeepsEvent(mask) {
			kr.Keep(&b.evs[b.evOf[k]])
		}
	}
}

// eventKeeper is a SplitRunner that tells which matches it keeps a copy of, and makes that
// copy (engine.Run).
type eventKeeper interface {
	KeepsEvent(mask uint64) bool
	Keep(ev *event.Event) *event.Event
}
