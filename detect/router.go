package detect

import (
	mathbits "math/bits"
	"unsafe"

	"github.com/tripline/tripline/event"
)

// catField indexes the rules that read one category field by category name.
type catField struct {
	slot  event.Slot
	byCat map[string][]ruleTerms
	all   []ruleTerms // rules of this field, for events whose category is not a string
}

// maxRoutes bounds the index-name routing cache.
const maxRoutes = 4096

// sample gives an event, in input order, to the index sampler; once it has seen enough, the
// rule index is built again with what it learnt (routers pick it up at their next event).
func (d *Detector) sample(ev *event.Event) {
	if d.sampler == nil || !d.sampler.observe(ev, d.sampleN) {
		return
	}
	d.index.Store(d.buildIndex(d.sampler.routes, d.sampler.costs()))
	d.sampler = nil
	// No worker has run a filter yet (the sampled events were handled here, in order).
	d.tuneFilters(filterTuner.ReorderFilters)
}

// router is the routing state of one goroutine: the index-name cache and scratch space.
// The index itself (the Detector's ruleIndex) is shared, read-only.
type router struct {
	d      *Detector
	routes map[string]*route
	dsBuf  []byte
	lowBuf []byte
	found  []uint64 // a bit per rule: found for the current event (see candidates)
	terms  []uint64 // by rule: the terms the index found possible for the current event
	cand   []int
	cur    *route // the route of the event prepare last saw (nil: it has no index)
	// restricted counts the routes with a restricted index (see router.index).
	restricted int
}

func (d *Detector) newRouter() *router {
	return &router{d: d, routes: make(map[string]*route), found: make([]uint64, (len(d.rules)+63)/64), terms: make([]uint64, len(d.rules)),
		cand: make([]int, 0, len(d.rules))}
}

// prepare sets the event's source fields and index name, and finds the name's route for
// candidates (rt.cur); false means it has no index.
func (rt *router) prepare(ev *event.Event, src EventSource) bool {
	ev.Source, ev.Line, ev.Seq, ev.ID = src.Name, src.Line, src.Seq, src.ID
	if o := rt.d.opts.Origin; o != nil && src.HasOffset && !rt.d.opts.Streaming {
		ev.SetOrigin(o, src.Offset)
	}
	rt.cur = nil
	index := src.Index
	if index == "" {
		index = rt.d.opts.Index
	}
	var name []byte
	if index == "" {
		name = rt.docIndex(ev)
	} else {
		name = unsafe.Slice(unsafe.StringData(index), len(index))
	}
	if len(name) == 0 {
		ev.Index = ""
		return false
	}
	// The name may point into the input buffer, which the reader reuses: the event gets
	// the route's copy (kept events, alerts and the route cache outlive this event).
	rt.cur = rt.routeOf(name)
	ev.Index = rt.cur.name
	return true
}

// docIndex returns the document's _index, else its data stream name, else nothing. The
// result aliases the input or the router's buffer.
func (rt *router) docIndex(ev *event.Event) []byte {
	d := rt.d
	if vs := ev.Values(d.slotIndex); len(vs) == 1 && vs[0].Kind == event.KindString {
		return unsafe.Slice(unsafe.StringData(vs[0].Str), len(vs[0].Str))
	}
	t, ds, ns := ev.Values(d.slotDSType), ev.Values(d.slotDSDataset), ev.Values(d.slotDSNamespace)
	if len(t) == 1 && len(ds) == 1 && len(ns) == 1 && t[0].Kind == event.KindString &&
		ds[0].Kind == event.KindString && ns[0].Kind == event.KindString {
		b := append(rt.dsBuf[:0], t[0].Str...)
		b = append(b, '-')
		b = append(b, ds[0].Str...)
		b = append(b, '-')
		b = append(b, ns[0].Str...)
		rt.dsBuf = b
		return b
	}
	return nil
}

// routeOf returns the route of an index name: which rules its events go to, from the cache
// when the name is known (one lookup, no allocation), else a new one, cached.
func (rt *router) routeOf(name []byte) *route {
	if r, ok := rt.routes[string(name)]; ok {
		return r
	}
	r := &route{name: string(name), allowed: make([]bool, len(rt.d.rules))}
	for i, rs := range rt.d.rules {
		r.allowed[i] = rs.patterns.Match(r.name)
	}
	if len(rt.routes) >= maxRoutes {
		clear(rt.routes)
		rt.restricted = 0
	}
	rt.routes[r.name] = r
	return r
}

// route is the routing of one index name: which rules its events go to.
type route struct {
	name    string
	allowed []bool
	// The Detector's rule index restricted to the allowed rules (see ruleIndex.restrict),
	// made once the route has seen restrictAfter events, and the index it was made from.
	events int
	idx    *ruleIndex
	from   *ruleIndex
}

// restrictAfter is the number of events of one index name after which a router restricts
// the rule index to the rules the name allows: routing an event then looks up only the
// fields and values those rules name. maxRestricted bounds the restricted indexes a router
// keeps (each costs about what the whole index does).
const (
	restrictAfter = 256
	maxRestricted = 32
)

// index returns the rule index for the events of r: x restricted to r's rules once r has
// seen restrictAfter events (while the router keeps fewer than maxRestricted), else x.
func (rt *router) index(r *route, x *ruleIndex) *ruleIndex {
	if r.idx != nil && r.from == x {
		return r.idx
	}
	r.events++
	if r.events < restrictAfter {
		return x
	}
	if r.idx == nil {
		if rt.restricted >= maxRestricted {
			return x
		}
		rt.restricted++
	}
	r.idx, r.from = x.restrict(r.allowed), x
	return r.idx
}

// candidates returns the rules ev is offered to, in rule order: those its index patterns
// allow, among those the rule index finds for its category and field values. The slice is
// reused by the next call; rt.terms[i] holds, for each rule i returned, the terms of it
// that ev can match (the others' pre-filters rule ev out).
func (rt *router) candidates(ev *event.Event) []int {
	d := rt.d
	var allowed []bool
	if !d.opts.IgnoreIndexPatterns && rt.cur != nil {
		allowed = rt.cur.allowed // prepare found the event's route
	}
	// The rules found are marked in a bitmap (a bit per rule): read in order at the end,
	// it gives them in rule order, each once, with no sorting.
	found := rt.found
	addOne := func(e ruleTerms) {
		i := e.rule
		w, bit := i>>6, uint64(1)<<(i&63)
		switch {
		case found[w]&bit != 0:
			rt.terms[i] |= e.terms
		case allowed == nil || allowed[i]:
			found[w] |= bit
			rt.terms[i] = e.terms
		}
	}
	add := func(list []ruleTerms) {
		for _, e := range list {
			addOne(e)
		}
	}
	x := d.index.Load()
	if allowed != nil {
		x = rt.index(rt.cur, x)
	}
	add(x.anyRules)
	for ci := range x.catFields {
		cf := &x.catFields[ci]
		for _, v := range ev.Values(cf.slot) {
			if v.Kind != event.KindString {
				add(cf.all) // not a keyword value: let the rules decide
				break
			}
			add(cf.byCat[v.Str])
		}
	}
	for fi := range x.fieldIdx {
		f := &x.fieldIdx[fi]
		vals := ev.Values(f.slot)
		if len(vals) > 0 {
			add(f.present)
		}
		for _, v := range vals {
			if v.Kind != event.KindString {
				add(f.all) // a number or a boolean may equal a string constant: let the rules decide
				break
			}
			upper, nonASCII := hasUpperOrNonASCII(v.Str)
			if nonASCII {
				add(f.all)
				continue
			}
			// low is the value ASCII-lower-cased: a copy when it has upper-case letters,
			// else its own bytes (only read).
			var low []byte
			if upper {
				rt.lowBuf = appendLower(rt.lowBuf[:0], v.Str)
				low = rt.lowBuf
			} else {
				low = unsafe.Slice(unsafe.StringData(v.Str), len(v.Str))
			}
			add(f.byVal[string(low)])
			if len(low) < PrefixLen {
				continue
			}
			if len(f.byPrefix) > 0 {
				for _, e := range f.byPrefix[string(low[:PrefixLen])] {
					if hasPrefix(low, e.lit) {
						addOne(e.ruleTerms)
					}
				}
			}
			if len(f.bySuffix) > 0 {
				for _, e := range f.bySuffix[string(low[len(low)-PrefixLen:])] {
					if hasSuffix(low, e.lit) {
						addOne(e.ruleTerms)
					}
				}
			}
			if f.infixes != nil {
				f.infixes.each(low, func(id int32) { add(f.byInfix[id]) })
			}
		}
	}
	cand := rt.cand[:0]
	for w, bits := range found {
		if bits == 0 {
			continue
		}
		found[w] = 0
		for ; bits != 0; bits &= bits - 1 {
			cand = append(cand, w<<6|mathbits.TrailingZeros64(bits))
		}
	}
	rt.cand = cand
	return cand
}
