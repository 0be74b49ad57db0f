package engine

import (
	"container/heap"
	"slices"

	"github.com/tripline/tripline/event"
)

// partial is an in-flight sequence: its positive events so far.
type partial struct {
	events  []*event.Event // one slot per expanded stage; nil for unfilled and missing stages
	ts      []int64        // timestamps of the positive events, by positive index
	lastOrd ordinal
	ks      *keyState
	at      int // positive index of the last filled stage; -1 once dead or complete
	// inline storage for short sequences: one allocation per partial
	evArr [4]*event.Event
	tsArr [4]int64
}

func newPartial(nStages, nPos int, ks *keyState) *partial {
	p := &partial{ks: ks}
	if nStages <= len(p.evArr) {
		p.events = p.evArr[:nStages]
	} else {
		p.events = make([]*event.Event, nStages)
	}
	if nPos <= len(p.tsArr) {
		p.ts = p.tsArr[:nPos]
	} else {
		p.ts = make([]int64, nPos)
	}
	return p
}

// keyState is the state of one join-key tuple.
type keyState struct {
	enc      string
	tuple    []keyVal
	lists    [][]*partial // by positive index of the sequences' last filled stage
	missing  [][]int64    // by term: timestamps of missing-stage events, ascending
	awaiting []*pending   // completed sequences waiting for a trailing missing event
	// inline storage for the common shapes: one allocation per key besides its name
	tupArr  [2]keyVal
	listArr [4][]*partial
}

func (ks *keyState) empty() bool {
	for _, l := range ks.lists {
		if len(l) > 0 {
			return false
		}
	}
	for _, l := range ks.missing {
		if len(l) > 0 {
			return false
		}
	}
	return len(ks.awaiting) == 0
}

// decision of a completed sequence.
const (
	undecided uint8 = iota
	keep
	drop
)

// pending is a completed sequence in the output queue.
type pending struct {
	res      *Result
	ord      ordinal // its last positive event
	tuple    []keyVal
	ks       *keyState
	lastTS   int64
	base     int64 // the time a trailing missing event is measured from
	deadline int64
	state    uint8
	hidx     int // index in the deadline heap, -1 when not in it
}

// missingRef records a missing-stage timestamp for expiry, and the event it came from
// (see Run.OldestHeld and Run.EachHeld: a restart must see it again).
type missingRef struct {
	ks *keyState
	ts int64
	ev *event.Event
}

// seqMatcher is Elasticsearch's sequence matcher run event by event in ordinal order (see
// the package documentation). Processing an event's stages from the last to the first makes
// the event-by-event run equal to Elasticsearch's stage-by-stage one.
type seqMatcher struct {
	q    *Query
	r    *Run
	keys map[string]*keyState

	fifo     []*partial // partials by creation (= first timestamp) order
	fifoHead int
	live     int

	mfifo     []missingRef
	mfifoHead int

	out     []*pending // completed sequences in result order
	outHead int
	await   deadlineHeap

	termKind   []uint8 // for missing terms: where they stand
	hasMissing bool
	batch      []*pending

	it keyIter
}

const (
	termPositive uint8 = iota
	termLeading
	termMiddle
	termTrailing
)

func newSeqMatcher(q *Query, r *Run) *seqMatcher {
	m := &seqMatcher{q: q, r: r, keys: make(map[string]*keyState)}
	m.termKind = make([]uint8, len(q.terms))
	first, last := q.pos[0], q.pos[len(q.pos)-1]
	for i, st := range q.stages {
		if !st.missing {
			continue
		}
		switch {
		case i < first:
			m.termKind[st.term] = termLeading
		case i > last:
			m.termKind[st.term] = termTrailing
		default:
			m.termKind[st.term] = termMiddle
		}
	}
	m.it = newKeyIter(q.nKeys, q.opts.KeyFilter)
	m.hasMissing = len(q.pos) != len(q.stages)
	return m
}

func (m *seqMatcher) addPending(d int) {
	m.r.stats.Pending += int64(d)
	m.r.peak()
}

func (m *seqMatcher) getKey(enc []byte, tuple []keyVal) *keyState {
	if ks, ok := m.keys[string(enc)]; ok {
		return ks
	}
	ks := &keyState{enc: string(enc)}
	// The strings may point into an event that is not kept.
	if len(tuple) <= len(ks.tupArr) {
		ks.tuple = appendOwned(ks.tupArr[:0], tuple)
	} else {
		ks.tuple = appendOwned(make([]keyVal, 0, len(tuple)), tuple)
	}
	if len(m.q.pos) <= len(ks.listArr) {
		ks.lists = ks.listArr[:len(m.q.pos)]
	} else {
		ks.lists = make([][]*partial, len(m.q.pos))
	}
	if m.hasMissing {
		ks.missing = make([][]int64, len(m.q.terms))
	}
	m.keys[ks.enc] = ks
	return ks
}

func (m *seqMatcher) maybeDelete(ks *keyState) {
	if ks.empty() {
		if cur, ok := m.keys[ks.enc]; ok && cur == ks {
			delete(m.keys, ks.enc)
		}
	}
}

// kill removes a live partial from its key's list.
func (m *seqMatcher) kill(p *partial) {
	if p.at < 0 {
		return
	}
	l := p.ks.lists[p.at]
	if i := slices.Index(l, p); i >= 0 {
		p.ks.lists[p.at] = slices.Delete(l, i, i+1)
	}
	p.at = -1
	m.live--
	m.addPending(-1)
}

// clearList kills every partial of a list.
func (m *seqMatcher) clearList(ks *keyState, at int) {
	l := ks.lists[at]
	for i, p := range l {
		p.at = -1
		l[i] = nil
	}
	m.live -= len(l)
	m.addPending(-len(l))
	ks.lists[at] = l[:0]
}

func (m *seqMatcher) process(it *item) {
	q := m.q
	now := it.ord.ts
	if q.maxspan > 0 {
		m.expire(now)
	}
	m.batch = m.batch[:0]
	for pi := len(q.pos) - 1; pi >= 0; pi-- {
		si := q.pos[pi]
		t := q.stages[si].term
		if it.mask&(1<<t) == 0 {
			continue
		}
		n := m.it.collect(q.terms[t].keys, it.ev, q.opts.Memo)
		for j := range n {
			m.advance(it, pi, si, m.it.encoding(j), m.it.tuple(j))
		}
	}
	// missing-stage events: remember leading and middle ones (complete reads them), and
	// decide the sequences waiting for a trailing one (only those: a trailing event is
	// never read again, and a key with no sequence waiting needs no state for it)
	for t := range q.terms {
		if it.mask&(1<<t) == 0 || !q.terms[t].missing {
			continue
		}
		n := m.it.collect(q.terms[t].keys, it.ev, q.opts.Memo)
		for j := range n {
			if m.termKind[t] != termTrailing {
				ks := m.getKey(m.it.encoding(j), m.it.tuple(j))
				ks.missing[t] = append(ks.missing[t], now)
				m.mfifo = append(m.mfifo, missingRef{ks: ks, ts: now, ev: m.r.keepCopy(it.ev)})
				continue
			}
			ks, ok := m.keys[string(m.it.encoding(j))]
			if !ok || len(ks.awaiting) == 0 {
				continue
			}
			kept := ks.awaiting[:0]
			for _, p := range ks.awaiting {
				if now <= p.lastTS {
					kept = append(kept, p)
					continue
				}
				if subSat(now, p.base) > q.maxspan {
					m.settle(p, keep)
				} else {
					m.settle(p, drop)
				}
			}
			clear(ks.awaiting[len(kept):])
			ks.awaiting = kept
		}
	}
	if q.until >= 0 && it.mask&(1<<q.until) != 0 {
		n := m.it.collect(q.terms[q.until].keys, it.ev, q.opts.Memo)
		for j := range n {
			if ks, ok := m.keys[string(m.it.encoding(j))]; ok {
				for at := range ks.lists {
					m.clearList(ks, at)
				}
				m.maybeDelete(ks)
			}
		}
	}
	if len(m.batch) > 1 {
		slices.SortStableFunc(m.batch, func(a, b *pending) int { return compareTuples(a.tuple, b.tuple) })
	}
	m.out = append(m.out, m.batch...)
	m.releaseOut()
}

// advance handles one (key, hit) pair of positive stage si (positive index pi): a new
// partial sequence at the first positive stage, otherwise the advance of the key's latest
// partial sequence of the previous positive stage (the older ones are discarded).
func (m *seqMatcher) advance(it *item, pi, si int, enc []byte, tuple []keyVal) {
	q := m.q
	now := it.ord.ts
	if pi == 0 {
		ks := m.getKey(enc, tuple)
		p := newPartial(len(q.stages), len(q.pos), ks)
		p.events[si] = m.r.keepItem(it)
		p.ts[0] = now
		p.lastOrd = it.ord
		if it.shared {
			p.lastOrd = it.ord.owned()
		}
		if len(q.pos) == 1 {
			m.complete(p)
			return
		}
		p.at = 0
		ks.lists[0] = append(ks.lists[0], p)
		m.live++
		m.addPending(1)
		m.fifo = append(m.fifo, p)
		m.capPending()
		return
	}
	ks, ok := m.keys[string(enc)]
	if !ok || len(ks.lists[pi-1]) == 0 {
		return
	}
	l := ks.lists[pi-1]
	p := l[len(l)-1]
	l[len(l)-1] = nil
	ks.lists[pi-1] = l[:len(l)-1]
	m.clearList(ks, pi-1) // trim the older candidates
	p.at = -1
	m.live--
	m.addPending(-1)
	if q.maxspan > 0 && subSat(now, p.ts[0]) > q.maxspan {
		m.maybeDelete(ks)
		return
	}
	p.events[si] = m.r.keepItem(it)
	p.ts[pi] = now
	p.lastOrd = it.ord
	if it.shared {
		p.lastOrd = it.ord.owned()
	}
	if pi == len(q.pos)-1 {
		m.complete(p)
		m.maybeDelete(ks)
		return
	}
	p.at = pi
	ks.lists[pi] = append(ks.lists[pi], p)
	m.live++
	m.addPending(1)
}

// capPending enforces MaxPending for sequences without maxspan.
func (m *seqMatcher) capPending() {
	for m.live > m.q.opts.MaxPending && m.fifoHead < len(m.fifo) {
		p := m.fifo[m.fifoHead]
		m.fifo[m.fifoHead] = nil
		m.fifoHead++
		if p.at >= 0 {
			m.kill(p)
			m.maybeDelete(p.ks)
			m.r.stats.PendingCapHits++
		}
	}
	m.compactFIFO()
}

func (m *seqMatcher) compactFIFO() {
	if m.fifoHead > 1024 && m.fifoHead > len(m.fifo)/2 {
		m.fifo = append(m.fifo[:0], m.fifo[m.fifoHead:]...)
		m.fifoHead = 0
	}
	if m.q.maxspan == 0 && len(m.fifo)-m.fifoHead > 2*m.live+1024 {
		kept := m.fifo[:0]
		for _, p := range m.fifo[m.fifoHead:] {
			if p.at >= 0 {
				kept = append(kept, p)
			}
		}
		clear(m.fifo[len(kept):])
		m.fifo, m.fifoHead = kept, 0
	}
	if m.mfifoHead > 1024 && m.mfifoHead > len(m.mfifo)/2 {
		m.mfifo = append(m.mfifo[:0], m.mfifo[m.mfifoHead:]...)
		m.mfifoHead = 0
	}
}

// expire drops the state that maxspan makes unreachable from now on, and decides the
// sequences whose trailing missing event can no longer come within maxspan.
func (m *seqMatcher) expire(now int64) {
	limit := subSat(now, m.q.maxspan) // a first event before limit can no longer be extended
	for m.fifoHead < len(m.fifo) {
		p := m.fifo[m.fifoHead]
		if p.ts[0] >= limit {
			break
		}
		m.fifo[m.fifoHead] = nil
		m.fifoHead++
		if p.at >= 0 {
			m.kill(p)
			m.maybeDelete(p.ks)
		}
	}
	for m.mfifoHead < len(m.mfifo) {
		ref := m.mfifo[m.mfifoHead]
		if ref.ts >= limit {
			break
		}
		m.mfifo[m.mfifoHead] = missingRef{}
		m.mfifoHead++
		for t, l := range ref.ks.missing {
			n := 0
			for n < len(l) && l[n] < limit {
				n++
			}
			if n > 0 {
				ref.ks.missing[t] = append(l[:0], l[n:]...)
			}
		}
		m.maybeDelete(ref.ks)
	}
	for m.await.Len() > 0 && m.await[0].deadline < now {
		p := heap.Pop(&m.await).(*pending)
		m.decide(p, keep)
	}
	m.compactFIFO()
	m.releaseOut()
}

// complete checks a sequence whose positive stages are all matched against its missing
// stages, and queues it for output.
func (m *seqMatcher) complete(p *partial) {
	q := m.q
	ks := p.ks
	pd := &pending{res: &Result{Events: p.events}, ord: p.lastOrd, tuple: ks.tuple, ks: ks,
		lastTS: p.ts[len(p.ts)-1], hidx: -1}
	m.batch = append(m.batch, pd)
	m.addPending(1)
	if len(q.pos) == len(q.stages) {
		pd.state = keep
		return
	}
	// middle missing stages: any event strictly between the neighbouring positive events
	pi := 0
	for _, st := range q.stages {
		if !st.missing {
			pi++
			continue
		}
		if m.termKind[st.term] != termMiddle {
			continue
		}
		lo, hi := p.ts[pi-1], p.ts[pi]
		for _, ts := range ks.missing[st.term] {
			if ts > lo && ts < hi {
				pd.state = drop
				return
			}
		}
	}
	first := p.ts[0]
	foundL, L := false, int64(0)
	if q.hasLead {
		for t, kind := range m.termKind {
			if kind != termLeading {
				continue
			}
			l := ks.missing[t]
			for i := len(l) - 1; i >= 0; i-- {
				if l[i] < first {
					if !foundL || l[i] > L {
						foundL, L = true, l[i]
					}
					break
				}
			}
		}
	}
	switch {
	case q.hasLead && !foundL, !q.hasLead && !q.hasTail:
		pd.state = keep
	case !q.hasTail:
		if subSat(pd.lastTS, L) > q.maxspan {
			pd.state = keep
		} else {
			pd.state = drop
		}
	default:
		pd.base = first
		if foundL {
			pd.base = L
		}
		pd.deadline = event.AddSaturated(pd.base, q.maxspan)
		ks.awaiting = append(ks.awaiting, pd)
		heap.Push(&m.await, pd)
	}
}

// settle records the decision on a sequence that waited for a trailing missing event and
// takes it out of the deadline heap.
func (m *seqMatcher) settle(p *pending, state uint8) {
	if p.state != undecided {
		return
	}
	p.state = state
	if p.hidx >= 0 {
		heap.Remove(&m.await, p.hidx)
	}
}

// decide is settle, and also takes the sequence out of its key's waiting list.
func (m *seqMatcher) decide(p *pending, state uint8) {
	m.settle(p, state)
	if i := slices.Index(p.ks.awaiting, p); i >= 0 {
		p.ks.awaiting = slices.Delete(p.ks.awaiting, i, i+1)
		m.maybeDelete(p.ks)
	}
}

// releaseOut emits the decided sequences at the head of the output queue.
func (m *seqMatcher) releaseOut() {
	for m.outHead < len(m.out) {
		p := m.out[m.outHead]
		if p.state == undecided {
			break
		}
		m.out[m.outHead] = nil
		m.outHead++
		m.addPending(-1)
		if p.state == keep {
			p.res.JoinKeys = make([]string, len(p.tuple))
			for i, v := range p.tuple {
				p.res.JoinKeys[i] = v.seqString()
			}
			m.r.lim.push(p.res)
		}
	}
	if m.outHead == len(m.out) {
		m.out, m.outHead = m.out[:0], 0
	} else if m.outHead > 1024 && m.outHead > len(m.out)/2 {
		m.out = append(m.out[:0], m.out[m.outHead:]...)
		m.outHead = 0
	}
}

// flush decides every waiting sequence (no trailing missing event came) and emits them.
func (m *seqMatcher) flush() {
	for m.await.Len() > 0 {
		p := heap.Pop(&m.await).(*pending)
		m.decide(p, keep)
	}
	m.releaseOut()
}

// deadlineHeap orders waiting sequences by deadline.
type deadlineHeap []*pending

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].deadline < h[j].deadline }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx = i
	h[j].hidx = j
}
func (h *deadlineHeap) Push(x any) {
	p := x.(*pending)
	p.hidx = len(*h)
	*h = append(*h, p)
}
func (h *deadlineHeap) Pop() any {
	old := *h
	n := len(old)
	p := old[n-1]
	old[n-1] = nil
	p.hidx = -1
	*h = old[:n-1]
	return p
}
