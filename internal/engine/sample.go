package engine

import (
	"slices"

	"github.com/tripline/tripline/event"
)

// sampleKey holds, for one join-key tuple, the first hits of every filter.
type sampleKey struct {
	tuple []keyVal
	hits  [][]*item
}

// sampler assembles samples (section 11 of the semantics notes): for every key tuple that
// has a hit for every filter, in ascending key order, up to MaxSamplesPerKey samples made of
// distinct events, one per filter, chosen in hit order.
type sampler struct {
	q    *Query
	held int // hits held, for Stats.Pending
	keys map[string]*sampleKey
	cap  int // hits kept per key and filter
	it   keyIter
}

func newSampler(q *Query) *sampler {
	return &sampler{q: q, keys: make(map[string]*sampleKey),
		cap: len(q.terms) * q.opts.MaxSamplesPerKey, it: newKeyIter(q.nKeys, q.opts.KeyFilter)}
}

// add records a hit, it, whose join keys are read from ev, the event as pushed (it.ev is
// the copy stored), and returns the change in hits held.
func (s *sampler) add(it *item, ev *event.Event) int {
	before := s.held
	for t := range s.q.terms {
		if it.mask&(1<<t) == 0 {
			continue
		}
		n := s.it.collect(s.q.terms[t].keys, ev, s.q.opts.Memo)
		for j := range n {
			enc, tuple := s.it.encoding(j), s.it.tuple(j)
			sk, ok := s.keys[string(enc)]
			if !ok {
				// The strings may point into an event that is not kept.
				sk = &sampleKey{tuple: appendOwned(make([]keyVal, 0, len(tuple)), tuple), hits: make([][]*item, len(s.q.terms))}
				s.keys[string(enc)] = sk
			}
			// keep the first cap hits in hit order, whatever the arrival order
			h := sk.hits[t]
			i, _ := slices.BinarySearchFunc(h, it, func(a, b *item) int { return a.ord.compare(&b.ord) })
			if i < s.cap {
				if len(h) == s.cap {
					h = h[:s.cap-1]
					s.held--
				}
				sk.hits[t] = slices.Insert(h, i, it)
				s.held++
			}
		}
	}
	return s.held - before
}

func (s *sampler) flush(out func(*Result)) {
	var ready []*sampleKey
	for _, sk := range s.keys {
		complete := true
		for _, h := range sk.hits {
			if len(h) == 0 {
				complete = false
				break
			}
		}
		if complete {
			ready = append(ready, sk)
		}
	}
	slices.SortFunc(ready, func(a, b *sampleKey) int { return compareTuples(a.tuple, b.tuple) })
	n := len(s.q.terms)
	chosen := make([]*item, n)
	for _, sk := range ready {
		left := s.q.opts.MaxSamplesPerKey
		var walk func(t int) bool // reports whether to stop
		walk = func(t int) bool {
			if t == n {
				res := &Result{Events: make([]*event.Event, n), JoinKeys: make([]string, len(sk.tuple))}
				for i, c := range chosen {
					res.Events[i] = c.ev
				}
				for i, v := range sk.tuple {
					res.JoinKeys[i] = v.sampleString()
				}
				out(res)
				left--
				return left == 0
			}
			for _, h := range sk.hits[t] {
				if slices.Contains(chosen[:t], h) {
					continue
				}
				chosen[t] = h
				if walk(t + 1) {
					return true
				}
			}
			return false
		}
		walk(0)
	}
	// The hits stay: after a batch run they are what a later run must see again (see
	// Run.EachHeld); the Run is done with them.
}
