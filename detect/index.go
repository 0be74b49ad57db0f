package detect

import (
	"slices"
	"strings"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/internal/engine"
	"github.com/tripline/tripline/mapping"
)

// Route is what an event must have for one term of a rule (an event query, a stage of a
// sequence or sample, an until clause) to match it: a rule is offered only the events that
// satisfy the Route of at least one of its terms.
type Route struct {
	// Category is the category the term requires in the rule's category field, unless Any.
	Category string
	// Any is set for "any where" terms.
	Any bool
	// Requires are conditions on constant field values the term's where clause implies:
	// an event that satisfies none of the FieldValues of a Requirement cannot match the
	// term. Any one Requirement is a valid pre-filter; the Detector picks the most selective.
	Requires []Requirement
}

// Requirement is a disjunction: the event holds, at one of the fields, one of its values.
type Requirement []FieldValues

// FieldValues is a requirement that the event hold at Field one of Values, or a string
// that starts with one of Prefixes, ends with one of Suffixes or contains one of Infixes,
// or, when Present is set, any value at all. Values, Prefixes, Suffixes and Infixes are
// ASCII lower-cased: the requirement is checked ASCII-case-insensitively, a superset of
// "==", ":" and like (the filter itself decides). Every prefix, suffix and infix is at
// least PrefixLen bytes long. Present stands for comparisons no constant can key (a
// number, a range, a regex, a wildcard with no literal part that long): they are false on
// an event without the field, so the field's presence is necessary.
type FieldValues struct {
	Field    string
	Values   []string
	Prefixes []string
	Suffixes []string
	Infixes  []string
	Present  bool
}

// PrefixLen is the shortest length of FieldValues.Prefixes and Suffixes: a wildcard pattern
// whose literal beginning (end) is shorter gives no requirement. The index looks up the
// first (last) PrefixLen bytes of each value, then checks the whole prefix (suffix)
// of each value, once.
const PrefixLen = 3

// maxRequirements bounds the requirements kept for one expression (a disjunction of
// conjunctions multiplies them).
const maxRequirements = 32

// Routes returns the routes of the terms of stmt, route i for the term of engine.Terms whose
// Bit is i (the bit of engine masks), or nil when it has a shape engine.Terms does not know
// (the Detector then offers the rule every event of its categories). A comparison is
// used only when it is certain that an event without one of its values cannot satisfy it:
// a field compared with string constants by ==, in, in~ or ":" without wildcards, the
// constants plain ASCII and not dates; with a mapping, the field must be a keyword field
// read from its own path (no alias, null_value or runtime script). A ":", like or like~
// pattern with a wildcard gives the prefix before its first wildcard, when that is at
// least PrefixLen plain ASCII bytes not starting like a date (a digit, + or -). Requirements come from
// the top-level conjuncts of the where clause and from disjunctions whose every branch
// has one (their union); a negation gives none.
func Routes(stmt *eql.Statement, m *mapping.Mapping) []Route {
	var out []Route
	for _, t := range engine.Terms(stmt) {
		q := t.Query
		out = append(out, Route{Category: q.Category, Any: q.Any, Requires: requirements(q.Where, m)})
	}
	return out
}

// requirements returns requirements that x being true implies (at most maxRequirements).
func requirements(x eql.Expr, m *mapping.Mapping) []Requirement {
	switch x := x.(type) {
	case *eql.Paren:
		return requirements(x.X, m)
	case *eql.Search:
		return searchRequirements(x.Query, m)
	case *eql.Binary:
		switch x.Op {
		case eql.OpAnd:
			rs := append(requirements(x.X, m), requirements(x.Y, m)...)
			return rs[:min(len(rs), maxRequirements)]
		case eql.OpOr:
			// Every pair of a requirement of each side, by increasing sum of their places
			// (the first of each side with the first of the other, then the next ones):
			// when there are more pairs than maxRequirements, each side's requirements
			// all still take part, not only the first of one side with all of the other.
			a, b := requirements(x.X, m), requirements(x.Y, m)
			var rs []Requirement
			for sum := 0; sum < len(a)+len(b)-1 && len(rs) < maxRequirements; sum++ {
				for i := max(0, sum-len(b)+1); i <= min(sum, len(a)-1) && len(rs) < maxRequirements; i++ {
					rs = append(rs, union(a[i], b[sum-i]))
				}
			}
			return rs
		case eql.OpEq, eql.OpNeq, eql.OpLt, eql.OpLte, eql.OpGt, eql.OpGte:
			f, lit := fieldAndLiteral(x.X, x.Y)
			if f == nil {
				f, lit = fieldAndLiteral(x.Y, x.X)
			}
			if f == nil {
				return nil
			}
			isNull := lit.(*eql.Literal).Kind == eql.LitNull
			switch {
			case x.Op == eql.OpNeq:
				// != is a negation (true where the field is missing), except != null.
				if isNull {
					return present(f.Name, m)
				}
			case isNull: // == null and the like: true (or not false) where the field is missing
			case x.Op == eql.OpEq:
				if v, ok := constString(lit); ok {
					if rs := single(FieldValues{Field: f.Name, Values: []string{v}}, m); rs != nil {
						return rs
					}
				}
				return present(f.Name, m)
			default:
				return present(f.Name, m)
			}
		}
	case *eql.In:
		f, ok := x.X.(*eql.Field)
		if !ok || x.Not {
			return nil
		}
		if vs, ok := constStrings(x.List); ok {
			if rs := single(FieldValues{Field: f.Name, Values: vs}, m); rs != nil {
				return rs
			}
		}
		return present(f.Name, m)
	case *eql.Match:
		f, ok := x.X.(*eql.Field)
		if !ok || len(x.Patterns) == 0 {
			return nil
		}
		if x.Op != eql.MatchSeq && x.Op != eql.MatchLike {
			return present(f.Name, m) // regex
		}
		fv := FieldValues{Field: f.Name}
		for _, p := range x.Patterns {
			if v, ok := constString(p); ok {
				fv.Values = append(fv.Values, v)
			} else if pre, ok := constPrefix(p); ok {
				if !slices.Contains(fv.Prefixes, pre) {
					fv.Prefixes = append(fv.Prefixes, pre)
				}
			} else if suf, ok := constSuffix(p); ok {
				if !slices.Contains(fv.Suffixes, suf) {
					fv.Suffixes = append(fv.Suffixes, suf)
				}
			} else if inf, ok := constInfix(p); ok {
				if !slices.Contains(fv.Infixes, inf) {
					fv.Infixes = append(fv.Infixes, inf)
				}
			} else {
				return present(f.Name, m)
			}
		}
		if rs := single(fv, m); rs != nil {
			return rs
		}
		return present(f.Name, m)
	}
	return nil
}

// present is the requirement that the event hold a value at field: what a comparison that
// is false on a missing field implies when no constant can key it. Without a mapping the
// filters read the field's own path; with one, only a field read from its own path, with no
// null_value (which stands in for an explicit null) and no constant or script value, can be
// judged by what the document holds.
func present(field string, m *mapping.Mapping) []Requirement {
	if m != nil {
		f, ok := m.Resolve(field)
		if ok && (f.Source != field || f.NullValue != nil || f.Runtime || f.Type == mapping.ConstantKeyword) {
			return nil
		}
	}
	return []Requirement{{{Field: field, Present: true}}}
}

// constPrefix returns the lower-cased literal beginning of a wildcard pattern (before its
// first * or ?, or non-ASCII byte) when it is at least PrefixLen bytes long and
// does not start as a date or a number could (digit, + or -).
func constPrefix(x eql.Expr) (string, bool) {
	lit, ok := x.(*eql.Literal)
	if !ok || lit.Kind != eql.LitString {
		return "", false
	}
	n := 0
	for n < len(lit.Str) && plainByte(lit.Str[n]) {
		n++
	}
	if n < PrefixLen {
		return "", false
	}
	if c := lit.Str[0]; ('0' <= c && c <= '9') || c == '+' || c == '-' {
		return "", false
	}
	return asciiLower(lit.Str[:n]), true
}

// constSuffix returns the lower-cased literal end of a wildcard pattern (after its last * or
// ?, or non-ASCII byte) when it is at least PrefixLen bytes long and its last PrefixLen
// bytes are ASCII letters, '.', '_' or '/' (no digit, sign or colon, which a date or a
// number could end with), e.g. "\\cmd.exe" for "*\\cmd.exe".
func constSuffix(x eql.Expr) (string, bool) {
	lit, ok := x.(*eql.Literal)
	if !ok || lit.Kind != eql.LitString {
		return "", false
	}
	n := 0
	for n < len(lit.Str) && plainByte(lit.Str[len(lit.Str)-1-n]) {
		n++
	}
	if n < PrefixLen {
		return "", false
	}
	for _, c := range []byte(lit.Str[len(lit.Str)-PrefixLen:]) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '.', c == '_', c == '/':
		default:
			return "", false
		}
	}
	return asciiLower(lit.Str[len(lit.Str)-n:]), true
}

// constInfix returns the lower-cased longest literal part of a wildcard pattern (between
// wildcards, without non-ASCII bytes) when it is at least PrefixLen bytes long, e.g. "get
// secret" for "*get secret*": a value the pattern matches contains it. (A ':' or like
// pattern is only tested on strings that are not dates, so that no date formatting can
// make a value match that its source text does not.)
func constInfix(x eql.Expr) (string, bool) {
	lit, ok := x.(*eql.Literal)
	if !ok || lit.Kind != eql.LitString {
		return "", false
	}
	best, start := "", 0
	for i := 0; i <= len(lit.Str); i++ {
		if i < len(lit.Str) && plainByte(lit.Str[i]) {
			continue
		}
		if i-start > len(best) {
			best = lit.Str[start:i]
		}
		start = i + 1
	}
	if len(best) < PrefixLen {
		return "", false
	}
	return asciiLower(best), true
}

// plainByte reports whether c can be part of a pattern's literal beginning or end: any
// ASCII byte but the wildcards (a backslash is an ordinary character in ':' and like
// patterns, as eval matches them).
func plainByte(c byte) bool { return c < 0x80 && c != '*' && c != '?' }

// asciiLower lower-cases the ASCII letters of s.
func asciiLower(s string) string { return string(appendLower(nil, s)) }

// appendLower appends s to dst with its ASCII letters lower-cased: how the rule index
// compares values and constants (every lookup key is lower-cased this way).
func appendLower(dst []byte, s string) []byte {
	n := len(dst)
	dst = append(dst, s...)
	for i, c := range dst[n:] {
		if 'A' <= c && c <= 'Z' {
			dst[n+i] = c + 'a' - 'A'
		}
	}
	return dst
}

func single(fv FieldValues, m *mapping.Mapping) []Requirement {
	if !indexable(fv, m) {
		return nil
	}
	return []Requirement{{fv}}
}

// union returns the disjunction of two requirements, the values of a field merged (the
// field's presence stands for all of them when either side requires only that).
func union(a, b Requirement) Requirement {
	out := make(Requirement, 0, len(a)+len(b))
	for _, fv := range a {
		out = append(out, shared(fv))
	}
next:
	for _, fv := range b {
		for i := range out {
			if out[i].Field == fv.Field {
				if out[i].Present || fv.Present {
					out[i] = FieldValues{Field: fv.Field, Present: true}
					continue next
				}
				o := &out[i]
				o.Values, o.Prefixes = addNew(o.Values, fv.Values), addNew(o.Prefixes, fv.Prefixes)
				o.Suffixes, o.Infixes = addNew(o.Suffixes, fv.Suffixes), addNew(o.Infixes, fv.Infixes)
				continue next
			}
		}
		out = append(out, shared(fv))
	}
	return out
}

// addNew appends to dst the strings of src it does not hold yet.
func addNew(dst, src []string) []string {
	for _, v := range src {
		if !slices.Contains(dst, v) {
			dst = append(dst, v)
		}
	}
	return dst
}

// shared returns fv with its lists clipped to their length: they share their arrays with
// fv's (requirements are only built, never changed in place), and appending to them makes
// new ones.
func shared(fv FieldValues) FieldValues {
	fv.Values, fv.Prefixes = slices.Clip(fv.Values), slices.Clip(fv.Prefixes)
	fv.Suffixes, fv.Infixes = slices.Clip(fv.Suffixes), slices.Clip(fv.Infixes)
	return fv
}

func fieldAndLiteral(a, b eql.Expr) (*eql.Field, eql.Expr) {
	if f, ok := a.(*eql.Field); ok {
		if _, ok := b.(*eql.Literal); ok {
			return f, b
		}
	}
	return nil, nil
}

func constStrings(xs []eql.Expr) ([]string, bool) {
	if len(xs) == 0 {
		return nil, false
	}
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		v, ok := constString(x)
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// constString returns the lower-cased string of a string literal that is plain ASCII, with
// no wildcard or escape character and not a date (which a date field would compare as a
// date).
func constString(x eql.Expr) (string, bool) {
	lit, ok := x.(*eql.Literal)
	if !ok || lit.Kind != eql.LitString {
		return "", false
	}
	p, ok := plainLower(lit.Str)
	if !ok || mapping.DynamicType(event.Value{Kind: event.KindString, Str: lit.Str}) == mapping.Date {
		return "", false
	}
	return p, true
}

// plainLower returns s lower-cased when it is plain ASCII with no wildcard (*, ?) or
// backslash, the strings the rule index can key on.
func plainLower(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !plainByte(c) || c == '\\' {
			return "", false
		}
	}
	return asciiLower(s), true
}

// indexable reports whether events can be pre-filtered on fv: always without a mapping
// (strings are keywords); with one, only for a plain keyword field.
func indexable(fv FieldValues, m *mapping.Mapping) bool {
	if m == nil {
		return true
	}
	f, ok := m.Resolve(fv.Field)
	return ok && f.Type == mapping.Keyword && f.Source == fv.Field && f.NullValue == nil && !f.Runtime
}

// fieldIndex routes events by the value of one field: to the rules with a term that
// requires one of the values found, or to all of them for a value the index cannot judge.
type fieldIndex struct {
	slot     event.Slot
	byVal    map[string][]ruleTerms
	byPrefix map[string][]affixTerms // by the first PrefixLen bytes of the value
	bySuffix map[string][]affixTerms // by the last PrefixLen bytes of the value
	infixes  *infixSet               // literals a value may contain, nil when none
	byInfix  [][]ruleTerms           // by infix id
	present  []ruleTerms             // rules that need a value, any value, at the field
	all      []ruleTerms
}

// infixID returns the id of lit in f's infix set, made at the first literal, with byInfix
// grown to hold it.
func (f *fieldIndex) infixID(lit string) int32 {
	if f.infixes == nil {
		f.infixes = newInfixSet()
	}
	id := f.infixes.add(lit)
	if int(id) == len(f.byInfix) {
		f.byInfix = append(f.byInfix, nil)
	}
	return id
}

// affixTerms is an entry of a prefix or suffix index: the rule's terms, for a value that
// starts (ends) with lit.
type affixTerms struct {
	ruleTerms
	lit string
}

// addAffix adds rule i's terms under the prefix or suffix lit, found by key.
func addAffix(m map[string][]affixTerms, key, lit string, i int, terms uint64) {
	l := m[key]
	for k := range l {
		if l[k].rule == i && l[k].lit == lit {
			l[k].terms |= terms
			return
		}
	}
	m[key] = append(l, affixTerms{ruleTerms{i, terms}, lit})
}

// ruleTerms is an entry of the index: a rule, and the terms of it (a bit per term, in the
// order of its Routes) whose pre-filter the entry stands for. Only those terms of the rule
// can match an event found under the entry alone.
type ruleTerms struct {
	rule  int
	terms uint64
}

// ruleIndex routes events to rules: a field's constants (fieldIdx), else the category
// (catFields), else nothing (anyRules). It is read-only once built; the Detector replaces it
// whole (see indexSampler).
type ruleIndex struct {
	catFields []catField   // rules routed by category
	fieldIdx  []fieldIndex // rules routed by a constant equality
	anyRules  []ruleTerms  // rules offered every event
}

// indexKey names one value a pre-filter looks up: in field, a category (kind 'c'), a value
// ('v'), a prefix ('p'), a suffix ('s'), an infix ('i') or any value ('e', value "").
type indexKey struct {
	field string
	kind  byte
	value string
}

// indexRoutes returns each rule's routes as the index uses them: its query's Routes, or one
// route per category when it has none, or an "any" route.
func (d *Detector) indexRoutes() [][]Route {
	routes := make([][]Route, len(d.rules))
	for i, rs := range d.rules {
		routes[i] = rs.comp.Routes
		if d.opts.noPrefilter {
			routes[i] = []Route{{Any: true}}
		} else if routes[i] == nil {
			if rs.comp.Categories == nil {
				routes[i] = []Route{{Any: true}}
			} else {
				for _, c := range rs.comp.Categories {
					routes[i] = append(routes[i], Route{Category: c})
				}
			}
		}
	}
	return routes
}

// forKeys calls fn with the keys a route's category and requirement j (-1: the category)
// look up.
func forKeys(catField string, r Route, j int, fn func(indexKey)) {
	if j < 0 {
		if !r.Any {
			fn(indexKey{catField, 'c', r.Category})
		}
		return
	}
	for _, e := range r.Requires[j] {
		if e.Present {
			fn(indexKey{e.Field, 'e', ""})
			continue
		}
		for _, v := range e.Values {
			fn(indexKey{e.Field, 'v', v})
		}
		for _, v := range e.Prefixes {
			fn(indexKey{e.Field, 'p', v})
		}
		for _, v := range e.Suffixes {
			fn(indexKey{e.Field, 's', v})
		}
		for _, v := range e.Infixes {
			fn(indexKey{e.Field, 'i', v})
		}
	}
}

// staticCosts is the cost of each key before any event is seen: the number of terms of the
// whole rule set that share it. Values many rules name ("start", "windows") are common in
// events too, while rare ones (a process name) rule most events out.
func (d *Detector) staticCosts(routes [][]Route) map[indexKey]int64 {
	usage := map[indexKey]int64{}
	for i, rs := range d.rules {
		for _, r := range routes[i] {
			for j := -1; j < len(r.Requires); j++ {
				forKeys(catFieldOf(rs), r, j, func(k indexKey) { usage[k]++ })
			}
		}
	}
	// Every field a pre-filter names is decoded (the rules' filters read them anyway).
	for k := range usage {
		d.fields.Add(k.field)
	}
	return usage
}

// buildIndex chooses, for each term of each rule, the cheapest pre-filter its route allows
// (its category or one of its requirements; the cost of a choice is the sum of its keys'
// costs) and indexes the rule under it. Fields are looked up, not added: every field a
// pre-filter names was registered by staticCosts, before the decoders were made.
func (d *Detector) buildIndex(routes [][]Route, cost map[indexKey]int64) *ruleIndex {
	x := &ruleIndex{}
	catIdx := map[string]int{}
	fieldIdx := map[string]int{}
	for i, rs := range d.rules {
		catName := catFieldOf(rs)
		for j, r := range routes[i] {
			// The terms this route stands for: its own, or every term when the routes come
			// from the categories alone (or there are too many terms for a mask).
			terms := uint64(1) << j
			if rs.comp.Routes == nil || d.opts.noPrefilter || len(routes[i]) > engine.MaxTerms {
				terms = ^uint64(0)
			}
			best, bestCost := -2, int64(1)<<62
			for k := -1; k < len(r.Requires); k++ {
				if k < 0 && r.Any {
					continue
				}
				var c int64
				usable := true
				forKeys(catName, r, k, func(key indexKey) {
					c += cost[key]
					if _, ok := d.fields.Lookup(key.field); !ok {
						usable = false
					}
				})
				if usable && c < bestCost {
					best, bestCost = k, c
				}
			}
			switch {
			case best >= 0:
				for _, e := range r.Requires[best] {
					fi, ok := fieldIdx[e.Field]
					if !ok {
						fi = len(x.fieldIdx)
						fieldIdx[e.Field] = fi
						slot, _ := d.fields.Lookup(e.Field)
						x.fieldIdx = append(x.fieldIdx, fieldIndex{slot: slot,
							byVal: map[string][]ruleTerms{}, byPrefix: map[string][]affixTerms{}, bySuffix: map[string][]affixTerms{}})
					}
					f := &x.fieldIdx[fi]
					f.all = appendRule(f.all, i, terms)
					if e.Present {
						f.present = appendRule(f.present, i, terms)
						continue
					}
					for _, v := range e.Values {
						f.byVal[v] = appendRule(f.byVal[v], i, terms)
					}
					for _, v := range e.Prefixes {
						addAffix(f.byPrefix, v[:PrefixLen], v, i, terms)
					}
					for _, v := range e.Suffixes {
						addAffix(f.bySuffix, v[len(v)-PrefixLen:], v, i, terms)
					}
					for _, v := range e.Infixes {
						id := f.infixID(v)
						f.byInfix[id] = appendRule(f.byInfix[id], i, terms)
					}
				}
			case best == -1:
				ci, ok := catIdx[catName]
				if !ok {
					ci = len(x.catFields)
					catIdx[catName] = ci
					slot, _ := d.fields.Lookup(catName)
					x.catFields = append(x.catFields, catField{slot: slot, byCat: map[string][]ruleTerms{}})
				}
				cf := &x.catFields[ci]
				cf.all = appendRule(cf.all, i, terms)
				cf.byCat[r.Category] = appendRule(cf.byCat[r.Category], i, terms)
			default:
				x.anyRules = appendRule(x.anyRules, i, terms)
			}
		}
	}
	return x
}

// sampleEvents is the number of events the Detector looks at before it chooses its rule
// index again with what they hold (see indexSampler).
const sampleEvents = 2048

// indexSampler counts, over the first sampleEvents events, how many hold each key the rule
// index could look up; the Detector then builds its index again with these counts as costs
// (ties broken by the static cost), so that each term is routed by the pre-filter that
// fewest events of this input pass. Any choice gives the same results (every pre-filter is
// a necessary condition of its term); only the number of filters evaluated changes.
type indexSampler struct {
	routes [][]Route
	static map[indexKey]int64
	// seen counts the events holding each key of static. Its keys are static's: a key built
	// from an event's value (a category) only looks a counter up, since a map assignment
	// would store that string, which points into the reader's reused buffer.
	seen   map[indexKey]*int64
	any    map[string]int64 // by field: values the index cannot judge (not ASCII strings)
	fields []sampledField
	n      int
	low    []byte
}

type sampledField struct {
	name       string
	slot       event.Slot
	cats, vals bool
	present    bool
	infixes    *infixSet
	infixKeys  []indexKey          // by infix id
	prefixes   map[string][]string // by their first PrefixLen bytes
	suffixes   map[string][]string // by their last PrefixLen bytes
}

func (d *Detector) newIndexSampler(routes [][]Route, static map[indexKey]int64) *indexSampler {
	s := &indexSampler{routes: routes, static: static, seen: make(map[indexKey]*int64, len(static)), any: map[string]int64{}}
	counts := make([]int64, len(static))
	for k := range static {
		s.seen[k] = &counts[len(s.seen)]
	}
	byName := map[string]int{}
	for k := range static {
		slot, ok := d.fields.Lookup(k.field)
		if !ok {
			continue
		}
		i, ok := byName[k.field]
		if !ok {
			i = len(s.fields)
			byName[k.field] = i
			s.fields = append(s.fields, sampledField{name: k.field, slot: slot})
		}
		f := &s.fields[i]
		switch k.kind {
		case 'c':
			f.cats = true
		case 'v':
			f.vals = true
		case 'e':
			f.present = true
		case 'p':
			if f.prefixes == nil {
				f.prefixes = map[string][]string{}
			}
			f.prefixes[k.value[:PrefixLen]] = append(f.prefixes[k.value[:PrefixLen]], k.value)
		case 'i':
			if f.infixes == nil {
				f.infixes = newInfixSet()
			}
			if id := f.infixes.add(k.value); int(id) == len(f.infixKeys) {
				f.infixKeys = append(f.infixKeys, k)
			}
		case 's':
			if f.suffixes == nil {
				f.suffixes = map[string][]string{}
			}
			key := k.value[len(k.value)-PrefixLen:]
			f.suffixes[key] = append(f.suffixes[key], k.value)
		}
	}
	slices.SortFunc(s.fields, func(a, b sampledField) int { return strings.Compare(a.name, b.name) })
	return s
}

// observe counts the keys ev holds; it reports true once n events were seen.
func (s *indexSampler) observe(ev *event.Event, n int) bool {
	for i := range s.fields {
		f := &s.fields[i]
		if f.present && ev.Has(f.slot) {
			s.count(indexKey{f.name, 'e', ""})
		}
		for _, v := range ev.Values(f.slot) {
			if _, nonASCII := hasUpperOrNonASCII(v.Str); v.Kind != event.KindString || nonASCII {
				s.any[f.name]++ // the router offers such a value to every rule indexed on the field
				continue
			}
			if f.cats {
				s.count(indexKey{f.name, 'c', v.Str})
			}
			s.low = appendLower(s.low[:0], v.Str)
			if f.vals {
				s.count(indexKey{f.name, 'v', string(s.low)})
			}
			if len(s.low) >= PrefixLen {
				for _, lit := range f.prefixes[string(s.low[:PrefixLen])] {
					if hasPrefix(s.low, lit) {
						s.count(indexKey{f.name, 'p', lit})
					}
				}
				for _, lit := range f.suffixes[string(s.low[len(s.low)-PrefixLen:])] {
					if hasSuffix(s.low, lit) {
						s.count(indexKey{f.name, 's', lit})
					}
				}
				if f.infixes != nil {
					f.infixes.each(s.low, func(id int32) { s.count(f.infixKeys[id]) })
				}
			}
		}
	}
	s.n++
	return s.n >= n
}

func (s *indexSampler) count(k indexKey) {
	if c := s.seen[k]; c != nil {
		*c++
	}
}

// costs returns the costs learnt: events seen holding the key first, the static cost to
// break ties.
func (s *indexSampler) costs() map[indexKey]int64 {
	c := make(map[indexKey]int64, len(s.static))
	for k, u := range s.static {
		c[k] = (*s.seen[k]+s.any[k.field])<<20 + u
	}
	return c
}

// catFieldOf is the field holding a rule's event category.
func catFieldOf(rs *ruleState) string {
	if rs.comp.CategoryField != "" {
		return rs.comp.CategoryField
	}
	return "event.category"
}

// appendRule adds terms of rule i to a list built in rule order (one entry per rule).
func appendRule(l []ruleTerms, i int, terms uint64) []ruleTerms {
	if n := len(l); n > 0 && l[n-1].rule == i {
		l[n-1].terms |= terms
		return l
	}
	return append(l, ruleTerms{rule: i, terms: terms})
}

// hasUpperOrNonASCII reports whether s needs lower-casing (upper) or cannot be looked up in
// an index at all (a non-ASCII byte, whose case folding the index cannot predict).
func hasUpperOrNonASCII(s string) (upper, nonASCII bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return upper, true
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	return upper, false
}

// hasPrefix and hasSuffix are strings.HasPrefix and HasSuffix for a byte slice, without
// converting it.
func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

func hasSuffix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[len(b)-len(s):]) == s
}

// restrict returns x without the rules allowed does not allow: the index of the events
// of one index name. Fields left with no rule are dropped, so routing an event looks up
// only what the allowed rules name.
func (x *ruleIndex) restrict(allowed []bool) *ruleIndex {
	keep := func(l []ruleTerms) []ruleTerms {
		var out []ruleTerms
		for _, e := range l {
			if allowed[e.rule] {
				out = append(out, e)
			}
		}
		return out
	}
	keepAffix := func(m map[string][]affixTerms) map[string][]affixTerms {
		out := map[string][]affixTerms{}
		for k, l := range m {
			for _, e := range l {
				if allowed[e.rule] {
					out[k] = append(out[k], e)
				}
			}
		}
		return out
	}
	r := &ruleIndex{anyRules: keep(x.anyRules)}
	for _, cf := range x.catFields {
		n := catField{slot: cf.slot, byCat: map[string][]ruleTerms{}, all: keep(cf.all)}
		if len(n.all) == 0 {
			continue
		}
		for k, l := range cf.byCat {
			if l = keep(l); len(l) > 0 {
				n.byCat[k] = l
			}
		}
		r.catFields = append(r.catFields, n)
	}
	for _, f := range x.fieldIdx {
		n := fieldIndex{slot: f.slot, byVal: map[string][]ruleTerms{}, all: keep(f.all), present: keep(f.present),
			byPrefix: keepAffix(f.byPrefix), bySuffix: keepAffix(f.bySuffix)}
		if len(n.all) == 0 {
			continue
		}
		for k, l := range f.byVal {
			if l = keep(l); len(l) > 0 {
				n.byVal[k] = l
			}
		}
		if f.infixes != nil {
			for lit, id := range f.infixes.ids {
				if l := keep(f.byInfix[id]); len(l) > 0 {
					n.byInfix[n.infixID(lit)] = l
				}
			}
		}
		r.fieldIdx = append(r.fieldIdx, n)
	}
	return r
}
