package detect

import (
	"slices"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
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
// that starts with one of Prefixes or ends with one of Suffixes. Values, Prefixes and
// Suffixes are ASCII lower-cased: the requirement is checked ASCII-case-insensitively, a
// superset of "==", ":" and like (the filter itself decides). Every prefix and suffix is
// PrefixLen bytes long.
type FieldValues struct {
	Field    string
	Values   []string
	Prefixes []string
	Suffixes []string
}

// PrefixLen is the length of FieldValues.Prefixes: a wildcard pattern whose literal
// beginning is shorter gives no requirement. The index looks up the first PrefixLen bytes
// of each value, once.
const PrefixLen = 3

// maxRequirements bounds the requirements kept for one expression (a disjunction of
// conjunctions multiplies them).
const maxRequirements = 8

// Routes returns the routes of the terms of stmt, or nil when it has a shape Routes does not
// know (the Detector then offers the rule every event of its categories). A comparison is
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
	term := func(q *eql.EventQuery) {
		out = append(out, Route{Category: q.Category, Any: q.Any, Requires: requirements(q.Where, m)})
	}
	switch q := stmt.Query.(type) {
	case *eql.EventQuery:
		term(q)
	case *eql.Sequence:
		for _, st := range q.Stages {
			term(st.Query)
		}
		if q.Until != nil {
			term(q.Until.Query)
		}
	case *eql.Sample:
		for _, st := range q.Stages {
			term(st.Query)
		}
	default:
		return nil
	}
	return out
}

// requirements returns requirements that x being true implies (at most maxRequirements).
func requirements(x eql.Expr, m *mapping.Mapping) []Requirement {
	switch x := x.(type) {
	case *eql.Paren:
		return requirements(x.X, m)
	case *eql.Binary:
		switch x.Op {
		case eql.OpAnd:
			rs := append(requirements(x.X, m), requirements(x.Y, m)...)
			return rs[:min(len(rs), maxRequirements)]
		case eql.OpOr:
			a, b := requirements(x.X, m), requirements(x.Y, m)
			var rs []Requirement
			for _, ra := range a {
				for _, rb := range b {
					if len(rs) < maxRequirements {
						rs = append(rs, union(ra, rb))
					}
				}
			}
			return rs
		case eql.OpEq:
			f, lit := fieldAndLiteral(x.X, x.Y)
			if f == nil {
				f, lit = fieldAndLiteral(x.Y, x.X)
			}
			if f != nil {
				if v, ok := constString(lit); ok {
					return single(FieldValues{Field: f.Name, Values: []string{v}}, m)
				}
			}
		}
	case *eql.In:
		f, ok := x.X.(*eql.Field)
		if !ok || x.Not {
			return nil
		}
		if vs, ok := constStrings(x.List); ok {
			return single(FieldValues{Field: f.Name, Values: vs}, m)
		}
	case *eql.Match:
		f, ok := x.X.(*eql.Field)
		if !ok || (x.Op != eql.MatchSeq && x.Op != eql.MatchLike) || len(x.Patterns) == 0 {
			return nil
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
			} else {
				return nil
			}
		}
		return single(fv, m)
	}
	return nil
}

// constPrefix returns the lower-cased first PrefixLen bytes of a wildcard pattern whose
// literal beginning (before the first *, ? or backslash) has that many plain ASCII bytes
// and does not start as a date or a number could (digit, + or -).
func constPrefix(x eql.Expr) (string, bool) {
	lit, ok := x.(*eql.Literal)
	if !ok || lit.Kind != eql.LitString || len(lit.Str) < PrefixLen {
		return "", false
	}
	p, ok := plainLower(lit.Str[:PrefixLen])
	if !ok {
		return "", false
	}
	if c := p[0]; ('0' <= c && c <= '9') || c == '+' || c == '-' {
		return "", false
	}
	return p, true
}

// constSuffix returns the lower-cased last PrefixLen bytes of a wildcard pattern whose
// literal end (after the last *, ? or backslash) has that many ASCII letters, '.', '_' or
// '/' (no digit, sign or colon, which a date or a number could end with), e.g. "exe" for
// "*\\cmd.exe" (a backslash before them is an ordinary character in ':' and like patterns).
func constSuffix(x eql.Expr) (string, bool) {
	lit, ok := x.(*eql.Literal)
	if !ok || lit.Kind != eql.LitString || len(lit.Str) < PrefixLen {
		return "", false
	}
	b := []byte(lit.Str[len(lit.Str)-PrefixLen:])
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z', c == '.', c == '_', c == '/':
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		default:
			return "", false
		}
	}
	return string(b), true
}

func single(fv FieldValues, m *mapping.Mapping) []Requirement {
	if !indexable(fv, m) {
		return nil
	}
	return []Requirement{{fv}}
}

// union returns the disjunction of two requirements, the values of a field merged.
func union(a, b Requirement) Requirement {
	out := make(Requirement, 0, len(a)+len(b))
	for _, fv := range a {
		out = append(out, FieldValues{Field: fv.Field, Values: slices.Clone(fv.Values),
			Prefixes: slices.Clone(fv.Prefixes), Suffixes: slices.Clone(fv.Suffixes)})
	}
next:
	for _, fv := range b {
		for i := range out {
			if out[i].Field == fv.Field {
				for _, v := range fv.Values {
					if !slices.Contains(out[i].Values, v) {
						out[i].Values = append(out[i].Values, v)
					}
				}
				for _, v := range fv.Prefixes {
					if !slices.Contains(out[i].Prefixes, v) {
						out[i].Prefixes = append(out[i].Prefixes, v)
					}
				}
				for _, v := range fv.Suffixes {
					if !slices.Contains(out[i].Suffixes, v) {
						out[i].Suffixes = append(out[i].Suffixes, v)
					}
				}
				continue next
			}
		}
		out = append(out, FieldValues{Field: fv.Field, Values: slices.Clone(fv.Values),
			Prefixes: slices.Clone(fv.Prefixes), Suffixes: slices.Clone(fv.Suffixes)})
	}
	return out
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
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 0x80 || c == '*' || c == '?' || c == '\\':
			return "", false
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b), true
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
	byPrefix map[string][]ruleTerms // by the first PrefixLen bytes of the value
	bySuffix map[string][]ruleTerms // by the last PrefixLen bytes of the value
	all      []ruleTerms
}

// ruleTerms is an entry of the index: a rule, and the terms of it (a bit per term, in the
// order of its Routes) whose pre-filter the entry stands for. Only those terms of the rule
// can match an event found under the entry alone.
type ruleTerms struct {
	rule  int
	terms uint64
}

// buildIndex chooses, for each term of each rule, the cheapest pre-filter its Route allows,
// and indexes the rule under it: a field's constants (fieldIdx), else its category
// (catFields), else nothing (anyRules). The cost of a choice is the number of terms of the
// whole rule set that share its values: values many rules name ("start", "windows") are
// common in events too, while rare ones (a process name) rule most events out.
func (d *Detector) buildIndex() {
	type key struct{ field, value string }
	usage := map[key]int{}
	routes := make([][]Route, len(d.rules))
	for i, rs := range d.rules {
		routes[i] = rs.comp.Routes
		if d.opts.NoPrefilter {
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
		for _, r := range routes[i] {
			if !r.Any {
				usage[key{"\x00" + catFieldOf(rs), r.Category}]++
			}
			for _, req := range r.Requires {
				for _, e := range req {
					for _, v := range e.Values {
						usage[key{e.Field, v}]++
					}
					for _, v := range e.Prefixes {
						usage[key{e.Field, "\x01" + v}]++
					}
					for _, v := range e.Suffixes {
						usage[key{e.Field, "\x02" + v}]++
					}
				}
			}
		}
	}
	catIdx := map[string]int{}
	fieldIdx := map[string]int{}
	for i, rs := range d.rules {
		for j, r := range routes[i] {
			// The terms this route stands for: its own, or every term when the routes come
			// from the categories alone (or there are too many terms for a mask).
			terms := uint64(1) << j
			if rs.comp.Routes == nil || d.opts.NoPrefilter || len(routes[i]) > 64 {
				terms = ^uint64(0)
			}
			best, bestCost := -1, int(^uint(0)>>1)
			if !r.Any {
				bestCost = usage[key{"\x00" + catFieldOf(rs), r.Category}]
			}
			for j, req := range r.Requires {
				cost := 0
				for _, e := range req {
					for _, v := range e.Values {
						cost += usage[key{e.Field, v}]
					}
					for _, v := range e.Prefixes {
						cost += usage[key{e.Field, "\x01" + v}]
					}
					for _, v := range e.Suffixes {
						cost += usage[key{e.Field, "\x02" + v}]
					}
				}
				if cost < bestCost {
					best, bestCost = j, cost
				}
			}
			switch {
			case best >= 0:
				for _, e := range r.Requires[best] {
					fi, ok := fieldIdx[e.Field]
					if !ok {
						fi = len(d.fieldIdx)
						fieldIdx[e.Field] = fi
						d.fieldIdx = append(d.fieldIdx, fieldIndex{slot: d.fields.Add(e.Field),
							byVal: map[string][]ruleTerms{}, byPrefix: map[string][]ruleTerms{}, bySuffix: map[string][]ruleTerms{}})
					}
					x := &d.fieldIdx[fi]
					x.all = appendRule(x.all, i, terms)
					for _, v := range e.Values {
						x.byVal[v] = appendRule(x.byVal[v], i, terms)
					}
					for _, v := range e.Prefixes {
						x.byPrefix[v] = appendRule(x.byPrefix[v], i, terms)
					}
					for _, v := range e.Suffixes {
						x.bySuffix[v] = appendRule(x.bySuffix[v], i, terms)
					}
				}
			case r.Any:
				d.anyRules = appendRule(d.anyRules, i, terms)
			default:
				field := catFieldOf(rs)
				ci, ok := catIdx[field]
				if !ok {
					ci = len(d.catFields)
					catIdx[field] = ci
					d.catFields = append(d.catFields, catField{slot: d.fields.Add(field), byCat: map[string][]ruleTerms{}})
				}
				cf := &d.catFields[ci]
				cf.all = appendRule(cf.all, i, terms)
				cf.byCat[r.Category] = appendRule(cf.byCat[r.Category], i, terms)
			}
		}
	}
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
