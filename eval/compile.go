package eval

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
)

// DefaultCategoryField is the field an event query's category is compared with when
// Env.CategoryField is empty.
const DefaultCategoryField = "event.category"

// Error is a compile error: what is wrong with the query, and where.
type Error struct {
	Pos eql.Pos
	Msg string
}

func (e *Error) Error() string {
	if !e.Pos.IsValid() {
		return e.Msg
	}
	return fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Column, e.Msg)
}

func errorf(pos eql.Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Filter is a compiled condition. Match may be called from several goroutines at once
// (except while it observes, see Observe).
type Filter struct {
	match       func(*event.Event) bool
	constant    int8 // 1: matches every event, -1: matches none, 0: depends on the event
	category    string
	hasCategory bool
	junctions   []*junctionState // every and/or of the condition, to reorder (see Reorder)
}

// Match reports whether ev satisfies the condition.
func (f *Filter) Match(ev *event.Event) bool { return f.match(ev) }

// Category returns the event category the filter requires (an event query other than
// "any where"): only events whose category field holds exactly this value can match.
// A rule index can use it to skip a filter without calling Match.
func (f *Filter) Category() (string, bool) { return f.category, f.hasCategory }

// Constant reports whether the filter's result is known without looking at events
// (for example "any where true", or a condition folded to false); ok is false when
// it depends on the event.
func (f *Filter) Constant() (result, ok bool) { return f.constant > 0, f.constant != 0 }

// CompileQuery compiles an event query: its category condition (a case-sensitive
// equality on the category field; "any" matches every event, including events
// without the field) and its where condition.
func CompileQuery(q *eql.EventQuery, env *Env) (*Filter, error) {
	c := newCompiler(env)
	where, err := c.cond(q.Where, false)
	if err != nil {
		return nil, err
	}
	if q.Any {
		return where.filter(), nil
	}
	catField := env.CategoryField
	if catField == "" {
		catField = DefaultCategoryField
	}
	f, isNull, err := c.resolve(&eql.Field{At: q.CategoryPos, Name: catField})
	if err != nil {
		return nil, err
	}
	var cat cond
	if isNull {
		cat = constCond(false)
	} else {
		o, err := c.operandFor(f, strValue(q.Category), true, q.CategoryPos)
		if err != nil {
			return nil, err
		}
		cat = termCond(f, &o)
	}
	flt := and(cat, where).filter()
	flt.category, flt.hasCategory = q.Category, true
	return flt, nil
}

// CompileExpr compiles a boolean expression (the where condition of a query).
func CompileExpr(e eql.Expr, env *Env) (*Filter, error) {
	c := newCompiler(env)
	cd, err := c.cond(e, false)
	if err != nil {
		return nil, err
	}
	return cd.filter(), nil
}

// cond is a compiled condition at the level of Elasticsearch's boolean query. Every
// cond is two-valued and free of side effects (a script leaf's three-valued logic
// stays inside it, see script.any), so the operands of and/or may be evaluated in
// any order: and/or evaluate the cheaper ones first.
type cond struct {
	fn   func(*event.Event) bool
	k    int8  // 1 always true, -1 always false, 0 call fn
	cost int32 // estimated work of fn, to order and/or operands

	// An and/or of more than one operand keeps them (listAnd tells which), so that
	// chains flatten into one list.
	list    []cond
	listAnd bool

	// leaf, when set, is the string leaf fn evaluates: a junction calls it directly.
	leaf *strLeaf
	// js, for an and/or, is the state fn evaluates (see junctionState).
	js *junctionState
}

// Estimated costs of leaves (see cond.cost).
const (
	costTerm   = 1  // a term, range or exists test on one field
	costRegex  = 20 // per regular expression
	costScript = 30 // a script leaf, plus costTerm per field it reads
)

func constCond(b bool) cond {
	if b {
		return cond{k: 1}
	}
	return cond{k: -1}
}

func (c cond) filter() *Filter {
	f := &Filter{constant: c.k, match: c.fn}
	switch c.k {
	case 1:
		f.match = func(*event.Event) bool { return true }
	case -1:
		f.match = func(*event.Event) bool { return false }
	default:
		c.junctions(&f.junctions)
	}
	return f
}

// junctions appends the state of every and/or of c (its own and its operands').
func (c cond) junctions(out *[]*junctionState) {
	if c.js != nil {
		*out = append(*out, c.js)
	}
	for _, p := range c.list {
		p.junctions(out)
	}
}

func and(a, b cond) cond { return junction(true, a, b) }

func or(a, b cond) cond { return junction(false, a, b) }

// junction is the and (isAnd) or the or of a and b: constants fold, nested
// junctions of the same kind flatten into one list, and the operands are ordered
// by cost (a stable sort, so equal costs keep the query's order).
func junction(isAnd bool, a, b cond) cond {
	// absorb: the constant that decides the junction (false for and, true for or).
	absorb := int8(1)
	if isAnd {
		absorb = -1
	}
	var parts []cond
	for _, x := range [2]cond{a, b} {
		switch {
		case x.k == absorb:
			return x
		case x.k != 0: // the neutral constant
		case x.list != nil && x.listAnd == isAnd:
			parts = append(parts, x.list...)
		default:
			parts = append(parts, x)
		}
	}
	switch len(parts) {
	case 0:
		return constCond(isAnd)
	case 1:
		return parts[0]
	}
	slices.SortStableFunc(parts, func(x, y cond) int { return cmp.Compare(x.cost, y.cost) })
	j := cond{list: parts, listAnd: isAnd}
	items := make([]junctionItem, len(parts))
	for i, p := range parts {
		if p.leaf != nil {
			items[i].leaf = *p.leaf
		} else {
			items[i].fn = p.fn
		}
		items[i].cost = p.cost
		j.cost += p.cost
	}
	j.js = &junctionState{isAnd: isAnd, items: items}
	j.fn = j.js.eval
	return j
}

// junctionItem is one operand of a junction: a string leaf evaluated in place, or
// fn when it is nil; cost is its estimated cost, and the counts are what Observe saw.
type junctionItem struct {
	fn   func(*event.Event) bool
	leaf strLeaf
	cost int32

	evals, decided int32
	ns             int64 // time spent evaluating it, while observed
}

// junctionState is an and (isAnd) or an or of items: eval evaluates them in order,
// stopping at the first false (and) or true (or). The items are held by value in one
// slice, and string leaves are called directly: fewer indirect calls and pointer loads
// per event. While observing, eval counts how often each item is evaluated and decides
// the junction, for Reorder.
type junctionState struct {
	isAnd     bool
	observing bool
	items     []junctionItem
}

func (j *junctionState) eval(ev *event.Event) bool {
	if j.observing {
		return j.evalObserved(ev)
	}
	for i := range j.items {
		it := &j.items[i]
		var r bool
		if it.fn != nil {
			r = it.fn(ev)
		} else {
			r = it.leaf.eval(ev)
		}
		if r != j.isAnd {
			return r
		}
	}
	return j.isAnd
}

func (j *junctionState) evalObserved(ev *event.Event) bool {
	for i := range j.items {
		it := &j.items[i]
		var r bool
		start := time.Now()
		if it.fn != nil {
			r = it.fn(ev)
		} else {
			r = it.leaf.eval(ev)
		}
		it.ns += time.Since(start).Nanoseconds()
		it.evals++
		if r != j.isAnd {
			it.decided++
			return r
		}
	}
	return j.isAnd
}

// reorder sorts the items by their expected cost of deciding: an item's estimated cost
// over the chance (Laplace-smoothed) that it decides the junction when reached (false
// for an and, true for an or), lowest first. Stable: items seen alike keep their order.
func (j *junctionState) reorder() {
	key := func(it *junctionItem) float64 {
		p := (float64(it.decided) + 1) / (float64(it.evals) + 2)
		cost := float64(max(it.cost, 1)) * 50 // ns: a prior for items not seen
		if it.evals > 0 {
			cost = float64(it.ns) / float64(it.evals)
		}
		return cost / p
	}
	slices.SortStableFunc(j.items, func(a, b junctionItem) int { return cmp.Compare(key(&a), key(&b)) })
	for i := range j.items {
		j.items[i].evals, j.items[i].decided, j.items[i].ns = 0, 0, 0
	}
}

// Observe starts (on) or stops counting, in every and/or of the filter, how often each
// operand decides it. While it observes, Match must not be called from several goroutines
// at once. A detector observes the first events of its input, then calls Reorder.
func (f *Filter) Observe(on bool) {
	for _, j := range f.junctions {
		j.observing = on
	}
}

// Reorder stops observing and puts the operands of every and/or of the filter in the
// order that the events observed make cheapest: first the operands that most often
// decided it for their cost (an and stops at its first false operand, an or at its first
// true one), instead of the static order of estimated costs. The results are the same in
// any order: the operands have no side effects. It must not run concurrently with Match.
func (f *Filter) Reorder() {
	for _, j := range f.junctions {
		j.observing = false
		j.reorder()
	}
}

// complement negates a query-translated leaf the way a Lucene must_not does: events
// that lack the field satisfy it.
func complement(a cond) cond {
	if a.k != 0 {
		return constCond(a.k < 0)
	}
	if a.leaf != nil {
		l := *a.leaf
		l.neg = !l.neg
		return leafCond(&l, a.cost)
	}
	x := a.fn
	return cond{fn: func(ev *event.Event) bool { return !x(ev) }, cost: a.cost}
}

type compiler struct {
	env  *Env
	refs []*fieldRef // the fields read by the script being compiled
	byNm map[string]*fieldRef
	// inConstant: compiling where Elasticsearch requires a constant (see constant).
	inConstant bool
}

func newCompiler(env *Env) *compiler {
	if env.Fields == nil {
		env.Fields = event.NewFields()
	}
	return &compiler{env: env, byNm: make(map[string]*fieldRef)}
}

// cond compiles e as a condition; neg is set under an odd number of "not"s, which
// are pushed down to the leaves as Elasticsearch's optimizer does.
func (c *compiler) cond(e eql.Expr, neg bool) (cond, error) {
	switch n := e.(type) {
	case *eql.Paren:
		return c.cond(n.X, neg)
	case *eql.Not:
		return c.cond(n.X, !neg)
	case *eql.Search:
		// A rule's KQL query, filters or exceptions: the DSL's two-valued logic.
		return newDSL(c, c.env.Fields, "").query(n.Query, neg)
	case *eql.Binary:
		if n.Op == eql.OpAnd || n.Op == eql.OpOr {
			l, err := c.cond(n.X, neg)
			if err != nil {
				return cond{}, err
			}
			r, err := c.cond(n.Y, neg)
			if err != nil {
				return cond{}, err
			}
			if (n.Op == eql.OpAnd) != neg {
				return and(l, r), nil
			}
			return or(l, r), nil
		}
	}
	leaf, ok, err := c.queryLeaf(e, neg)
	if err != nil || ok {
		return leaf, err
	}
	return c.scriptLeaf(e, neg)
}

// scriptLeaf compiles a leaf Elasticsearch evaluates with a Painless script.
func (c *compiler) scriptLeaf(e eql.Expr, neg bool) (cond, error) {
	if neg {
		if flipped, ok := negateComparison(e); ok {
			e, neg = flipped, false
		}
	}
	c.refs = nil
	x, err := c.value(e)
	if err != nil {
		return cond{}, err
	}
	if x.st != stBool && x.st != stAny && x.st != stNull {
		return cond{}, errorf(e.Pos(), "Condition expression needs to be boolean, found [%s]", x.st)
	}
	if x.fn == nil {
		if x.c.k != kBool {
			return constCond(false), nil // a null condition never matches, negated or not
		}
		return constCond(x.c.b != neg), nil
	}
	s := &script{refs: c.refs, fn: x.fn}
	c.refs = nil
	n := len(s.refs)
	s.pool.New = func() any { return &sctx{cur: make([]value, n)} }
	cost := costScript + costTerm*int32(n)
	if neg {
		return cond{fn: func(ev *event.Event) bool { return !s.any(ev) }, cost: cost}, nil
	}
	return cond{fn: s.any, cost: cost}, nil
}

// negateComparison returns the negation of a negatable node (Elasticsearch's
// Negatable: ==/!=, the ranges and ':' without wildcards), so that "not" disappears.
func negateComparison(e eql.Expr) (eql.Expr, bool) {
	switch n := e.(type) {
	case *eql.Paren:
		return negateComparison(n.X)
	case *eql.Binary:
		var op eql.BinaryOp
		switch n.Op {
		case eql.OpEq:
			op = eql.OpNeq
		case eql.OpNeq:
			op = eql.OpEq
		case eql.OpLt:
			op = eql.OpGte
		case eql.OpLte:
			op = eql.OpGt
		case eql.OpGt:
			op = eql.OpLte
		case eql.OpGte:
			op = eql.OpLt
		default:
			return nil, false
		}
		m := *n
		m.Op = op
		return &m, true
	case *eql.Match:
		if n.Op == eql.MatchSeq && len(n.Patterns) == 1 {
			if lit, ok := n.Patterns[0].(*eql.Literal); ok && lit.Kind == eql.LitString && !hasWildcard(lit.Str) {
				return sneq{n}, true
			}
		}
	}
	return nil, false
}

// sneq is the insensitive not-equal ("not x : c" without wildcards), an internal node.
type sneq struct{ *eql.Match }

// script is a compiled script leaf: fn reads the current value of each field in refs
// from sctx.cur; any tries every combination of the fields' values.
type script struct {
	refs []*fieldRef
	fn   func(*sctx) value
	pool sync.Pool
}

type sctx struct {
	ev  *event.Event
	cur []value
}

func (s *script) any(ev *event.Event) bool {
	ctx := s.pool.Get().(*sctx)
	ctx.ev = ev
	r := s.iter(ctx, 0)
	ctx.ev = nil
	s.pool.Put(ctx)
	return r
}

// iter binds field i to each of its values in turn (a missing field to null) and
// reports whether the script is true for some combination, as
// InternalEqlScriptUtils.multiValueDocValues does.
func (s *script) iter(ctx *sctx, i int) bool {
	if i == len(s.refs) {
		v := s.fn(ctx)
		return v.k == kBool && v.b
	}
	f := s.refs[i]
	if f.hasConst {
		ctx.cur[i] = f.constVal
		return s.iter(ctx, i+1)
	}
	seen := false
	for _, raw := range ctx.ev.Values(f.slot) {
		v, ok := f.convert(raw)
		if !ok {
			continue
		}
		seen = true
		ctx.cur[i] = v
		if s.iter(ctx, i+1) {
			return true
		}
	}
	if f.hasNullValue && ctx.ev.HasNull(f.slot) {
		seen = true
		ctx.cur[i] = f.nullValue
		if s.iter(ctx, i+1) {
			return true
		}
	}
	if !seen {
		ctx.cur[i] = nullValue
		return s.iter(ctx, i+1)
	}
	return false
}

// anyValue returns a leaf that is true when some indexed value of f passes test;
// cost estimates one test.
func anyValue(f *fieldRef, test func(value) bool, cost int32) cond {
	if f.hasConst {
		return constCond(test(f.constVal))
	}
	return cond{cost: cost, fn: func(ev *event.Event) bool {
		for _, raw := range ev.Values(f.slot) {
			if v, ok := f.convert(raw); ok && test(v) {
				return true
			}
		}
		return f.hasNullValue && ev.HasNull(f.slot) && test(f.nullValue)
	}}
}

// strLeaf is a query leaf on the string values of one field: some value equals eq,
// or, when m is set, matches m; other, when not nil, tests the indexed values that
// are not strings (a dynamic field's numbers, booleans and detected dates). neg
// complements the result (a must_not). A junction evaluates strLeafs with a direct
// call rather than through a closure.
type strLeaf struct {
	f     *fieldRef
	ff    fieldFacts // copied from f, so that the common path does not load f
	eq    string
	m     *strMatcher
	other func(value) bool
	neg   bool
}

func (l *strLeaf) test(s string) bool {
	if l.m != nil {
		return l.m.match(s)
	}
	return s == l.eq
}

// eval evaluates the leaf on ev.
func (l *strLeaf) eval(ev *event.Event) bool { return l.any(ev) != l.neg }

// any reports whether some indexed value of the field passes the test, with a fast
// path for source strings indexed as they are.
func (l *strLeaf) any(ev *event.Event) bool {
	for _, raw := range ev.Values(l.ff.slot) {
		if raw.Kind == event.KindString && l.ff.fastString(raw) {
			if l.test(raw.Str) {
				return true
			}
			continue
		}
		if v, ok := l.f.convert(raw); ok && l.testValue(v) {
			return true
		}
	}
	return l.ff.hasNullValue && ev.HasNull(l.ff.slot) && l.testValue(l.f.nullValue)
}

// fieldFacts are the facts about a field the string fast path reads (see
// fieldRef.fastString), in a few bytes.
type fieldFacts struct {
	slot         event.Slot
	strMax       int32 // 0: no bound; -1: no fast path at all
	dynamic      bool  // a string that starts with a year may be a date (fieldRef.yearCheck)
	hasNullValue bool
}

func factsOf(f *fieldRef) fieldFacts {
	ff := fieldFacts{slot: f.slot, strMax: -1, dynamic: f.yearCheck, hasNullValue: f.hasNullValue}
	if f.fastStr && f.strMax >= 0 && f.strMax <= math.MaxInt32 {
		ff.strMax = int32(f.strMax)
	}
	return ff
}

// fastString is fieldRef.fastString on the copied facts, for a string value (its
// NoYearPrefix flag spares reading its bytes).
func (ff *fieldFacts) fastString(v event.Value) bool {
	if ff.strMax < 0 || ff.strMax > 0 && len(v.Str) > int(ff.strMax) {
		return false
	}
	return !ff.dynamic || v.Flags&event.NoYearPrefix != 0 || !startsWithYear(v.Str)
}

func (l *strLeaf) testValue(v value) bool {
	if v.k == kString {
		return l.test(v.s)
	}
	return l.other != nil && l.other(v)
}

// leafCond makes a cond of l.
func leafCond(l *strLeaf, cost int32) cond {
	if l.f.hasConst {
		return constCond(l.testValue(l.f.constVal) != l.neg)
	}
	l.ff = factsOf(l.f)
	return cond{fn: l.eval, cost: cost, leaf: l}
}

// matcherCond is the leaf "some string value of f matches m".
func matcherCond(f *fieldRef, m *strMatcher, other func(value) bool) cond {
	return leafCond(&strLeaf{f: f, m: m, other: other}, m.cost())
}

// anyString is anyValue for tests on strings, with a fast path for source strings
// indexed as they are. other, when not nil, tests the indexed values that are not
// strings.
func anyString(f *fieldRef, test func(string) bool, other func(value) bool, cost int32) cond {
	if f.hasConst {
		return constCond(test(f.constVal.s))
	}
	return cond{cost: cost, fn: func(ev *event.Event) bool {
		for _, raw := range ev.Values(f.slot) {
			if raw.Kind == event.KindString && f.fastString(raw.Str) {
				if test(raw.Str) {
					return true
				}
				continue
			}
			v, ok := f.convert(raw)
			if ok && (v.k == kString && test(v.s) || v.k != kString && other != nil && other(v)) {
				return true
			}
		}
		if !f.hasNullValue || !ev.HasNull(f.slot) {
			return false
		}
		v := f.nullValue
		return v.k == kString && test(v.s) || v.k != kString && other != nil && other(v)
	}}
}

// exists is Elasticsearch's exists query on f.
func exists(f *fieldRef) cond {
	if f.hasConst {
		return constCond(true)
	}
	return cond{cost: costTerm, fn: func(ev *event.Event) bool {
		for _, raw := range ev.Values(f.slot) {
			if _, ok := f.convert(raw); ok {
				return true
			}
		}
		return f.hasNullValue && ev.HasNull(f.slot)
	}}
}

// isStringType reports whether a field of type t can be compared with strings by
// ':', like, regex and the string functions.
func isStringType(t ftype) bool { return t == ftKeyword || t == ftDynamic }

func lower(s string) string { return strings.ToLower(s) }
