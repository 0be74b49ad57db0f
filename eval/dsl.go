package eval

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/query"
)

// CompileDSL compiles an Elasticsearch query (the translation of a KQL query, a rule's
// filters, an exception list) into the same Filter an EQL condition compiles to.
//
// The DSL's logic is two-valued: a leaf holds when some value of the (possibly
// multi-valued) field matches it, and must_not(x) holds when x does not, so events that
// lack the field satisfy it. Each leaf has Elasticsearch's answer for the field's mapped
// type (env.Mapping; nil is the dynamic mapping, as for EQL): keyword exact and
// case-sensitive (its normalizer applied to the query too), text analysed, ip with CIDR,
// numbers, booleans and dates parsed from the query's strings, dates with date math.
// A value a field type cannot parse is the error Elasticsearch reports ("failed to
// create query: ..."), unless the query is lenient. A field no event can have indexed
// (an undeclared field where the mapping's dynamic is false or strict, an object, a
// field of a nested object outside a nested query on it) matches nothing.
func CompileDSL(q query.Query, env *Env) (*Filter, error) {
	d := newDSL(newCompiler(env), env.Fields, "")
	cd, err := d.query(q, false)
	if err != nil {
		return nil, err
	}
	return cd.filter(), nil
}

// dsl compiles the queries of one scope: the top-level document, or the objects of a
// nested field (nested: its path), whose fields are registered in fields relative to it.
type dsl struct {
	c      *compiler
	fields *event.Fields
	nested string
	byName map[string]*dslField
	now    func() time.Time
}

func newDSL(c *compiler, fields *event.Fields, nested string) *dsl {
	now := c.env.Now
	if now == nil {
		now = time.Now
	}
	return &dsl{c: c, fields: fields, nested: nested, byName: map[string]*dslField{}, now: now}
}

// dslKind is how a field's type answers queries.
type dslKind uint8

const (
	dkNone    dslKind = iota // nothing indexed: matches nothing
	dkKeyword                // keyword, constant_keyword, wildcard (and flattened keys)
	dkText                   // text, match_only_text
	dkNumber                 // long ... scaled_float
	dkBool
	dkIP
	dkDate // date, date_nanos
	dkVersion
	dkDynamic // no mapping: each value's JSON type decides
)

// dslField is a field a query names, resolved in the scope.
type dslField struct {
	ref        *fieldRef // nil for dkNone
	kind       dslKind
	lowercase  bool     // a keyword with normalizer lowercase
	an         analyzer // text: the search analyzer
	typeName   string
	objectPath string // an object field's path (for exists)
}

func qerr(format string, args ...any) error {
	return &Error{Msg: "failed to create query: " + fmt.Sprintf(format, args...)}
}

// field resolves name in the scope.
func (d *dsl) field(name string) (*dslField, error) {
	if f, ok := d.byName[name]; ok {
		return f, nil
	}
	m := d.c.env.Mapping
	mf, declared := m.Resolve(name)
	f := &dslField{typeName: mf.Type.String()}
	d.byName[name] = f
	if !declared && m != nil {
		if mode := m.DynamicAt(name); mode == mapping.DynamicFalse || mode == mapping.DynamicStrict {
			return f, nil
		}
	}
	if m.NestedPath(mf.Source) != d.nested {
		return f, nil // indexed in other (nested) documents
	}
	switch t := mf.Type; {
	case t == mapping.Dynamic:
		f.kind = dkDynamic
	case t.IsKeywordLike():
		f.kind = dkKeyword
		switch mf.Normalizer {
		case "":
		case "lowercase":
			f.lowercase = true
		default:
			return nil, qerr("normalizer [%s] of field [%s] is not supported", mf.Normalizer, name)
		}
	case t == mapping.Text:
		f.kind = dkText
		an := mf.SearchAnalyzer
		if an == "" {
			an = mf.Analyzer
		}
		a, err := analyzerNamed(an)
		if err != nil {
			return nil, qerr("%v (field [%s])", err, name)
		}
		f.an = a
		mf.Exact = nil // the text itself, not a keyword sub-field, is searched
	case t.IsNumeric():
		f.kind = dkNumber
	case t == mapping.Boolean:
		f.kind = dkBool
	case t == mapping.IP:
		f.kind = dkIP
	case t.IsDate():
		f.kind = dkDate
	case t == mapping.Version:
		f.kind = dkVersion
	case t == mapping.Object:
		f.objectPath = mf.Source
		return f, nil
	default:
		return f, nil // an alias to nothing, a flattened root, unknown types
	}
	src := mf.Source
	if d.nested != "" {
		src = strings.TrimPrefix(src, d.nested+".")
	}
	f.ref = newFieldRef(name, mf)
	f.ref.slot = d.fields.Add(src)
	return f, nil
}

// query compiles q, complemented when neg is set (a must_not).
func (d *dsl) query(q query.Query, neg bool) (cond, error) {
	switch n := q.(type) {
	case *query.Bool:
		return d.boolQuery(n, neg)
	case *query.MatchAll:
		return constCond(!neg), nil
	case nil:
		return cond{}, &Error{Msg: "failed to create query: a query is missing"}
	}
	x, err := d.leaf(q)
	if err != nil {
		return cond{}, err
	}
	return x.negIf(neg), nil
}

// boolQuery compiles a bool query; a negation (neg) is pushed down by De Morgan, so that
// its and/or stay junctions the detector can reorder.
func (d *dsl) boolQuery(b *query.Bool, neg bool) (cond, error) {
	var parts []cond
	for _, list := range [][]query.Query{b.Must, b.Filter} {
		for _, x := range list {
			c, err := d.query(x, neg)
			if err != nil {
				return cond{}, err
			}
			parts = append(parts, c)
		}
	}
	for _, x := range b.MustNot {
		c, err := d.query(x, !neg)
		if err != nil {
			return cond{}, err
		}
		parts = append(parts, c)
	}
	need := b.MinimumShouldMatch
	if need == 0 && len(b.Must)+len(b.Filter) == 0 && len(b.Should) > 0 {
		need = 1
	}
	switch {
	case need > len(b.Should):
		parts = append(parts, constCond(neg))
	case need == 1:
		// some should clause; negated: none
		r := constCond(neg)
		for _, x := range b.Should {
			c, err := d.query(x, neg)
			if err != nil {
				return cond{}, err
			}
			r = junction(neg, r, c)
		}
		parts = append(parts, r)
	case need > 1:
		should := make([]cond, len(b.Should))
		for i, x := range b.Should {
			c, err := d.query(x, false)
			if err != nil {
				return cond{}, err
			}
			should[i] = c
		}
		parts = append(parts, atLeast(need, should).negIf(neg))
	}
	r := constCond(!neg)
	for _, c := range parts {
		r = junction(!neg, r, c)
	}
	return r, nil
}

// atLeast holds when n of cs hold (minimum_should_match).
func atLeast(n int, cs []cond) cond {
	if n == 1 {
		r := constCond(false)
		for _, c := range cs {
			r = or(r, c)
		}
		return r
	}
	if n == len(cs) {
		r := constCond(true)
		for _, c := range cs {
			r = and(r, c)
		}
		return r
	}
	var cost int32
	fns := make([]func(*event.Event) bool, len(cs))
	for i, c := range cs {
		cost += c.cost
		switch c.k {
		case 1:
			fns[i] = func(*event.Event) bool { return true }
		case -1:
			fns[i] = func(*event.Event) bool { return false }
		default:
			fns[i] = c.fn
		}
	}
	return cond{cost: cost, fn: func(ev *event.Event) bool {
		k := 0
		for i, fn := range fns {
			if fn(ev) {
				if k++; k >= n {
					return true
				}
			}
			if k+len(fns)-1-i < n {
				return false
			}
		}
		return false
	}}
}

// leaf compiles a query on fields.
func (d *dsl) leaf(q query.Query) (cond, error) {
	switch n := q.(type) {
	case *query.Term:
		f, err := d.field(n.Field)
		if err != nil {
			return cond{}, err
		}
		return d.term(f, n.Value, n.CaseInsensitive, false, true)
	case *query.Match:
		f, err := d.field(n.Field)
		if err != nil {
			return cond{}, err
		}
		return d.match(f, n.Query, n.Operator, n.Lenient, false)
	case *query.MatchPhrase:
		f, err := d.field(n.Field)
		if err != nil {
			return cond{}, err
		}
		return d.match(f, n.Query, "", false, true)
	case *query.MultiMatch:
		return d.multiMatch(n)
	case *query.Wildcard:
		f, err := d.field(n.Field)
		if err != nil {
			return cond{}, err
		}
		return d.wildcard(f, n.Field, n.Value, n.CaseInsensitive, false)
	case *query.QueryString:
		return d.queryString(n)
	case *query.Range:
		f, err := d.field(n.Field)
		if err != nil {
			return cond{}, err
		}
		return d.rangeQuery(f, n)
	case *query.Exists:
		f, err := d.field(n.Field)
		if err != nil {
			return cond{}, err
		}
		return d.exists(f), nil
	case *query.Nested:
		return d.nestedQuery(n)
	}
	return cond{}, &Error{Msg: fmt.Sprintf("failed to create query: [%s] queries are not supported", q.Name())}
}

// term is the term query of v on f: the value the field type parses v as (a keyword's
// normalizer applied), case-insensitive on keywords when insensitive is set. On a text
// field, exactText makes it a term query (one token equals v) and otherwise a match
// query (match on a non-text field is this term query). lenient turns a parse error
// into no match.
func (d *dsl) term(f *dslField, v string, insensitive, lenient, exactText bool) (cond, error) {
	c, err := d.termOrErr(f, v, insensitive, exactText)
	if err != nil && lenient {
		return constCond(false), nil
	}
	return c, err
}

func (d *dsl) termOrErr(f *dslField, v string, insensitive, exactText bool) (cond, error) {
	ref := f.ref
	switch f.kind {
	case dkNone:
		return constCond(false), nil
	case dkKeyword:
		if f.lowercase || insensitive {
			pat := v
			if f.lowercase {
				pat = lowerRunes(v)
			}
			return matcherCond(ref, stringSetMatcher([]string{pat}, true), nil), nil
		}
		return leafCond(&strLeaf{f: ref, eq: v}, costTerm), nil
	case dkText:
		if exactText { // a term query is not analysed: one token must equal v
			return textCond(ref, func(s string) bool { return hasToken(f.an, s, v) }), nil
		}
		return d.textMatch(f, v, "", false)
	case dkNumber:
		k, err := parseNumberLike(v, ref)
		if err != nil {
			return cond{}, err
		}
		if k.k == kNull {
			return constCond(false), nil // a decimal or out of range on an integer field
		}
		o, err := d.c.operandFor(ref, k, true, eql.Pos{})
		if err != nil {
			return cond{}, qerr("%s", err.(*Error).Msg)
		}
		return termCond(ref, &o), nil
	case dkBool:
		if _, ok := parseBool(v); !ok {
			return cond{}, qerr("Can't parse boolean value [%s], expected [true] or [false]", v)
		}
	case dkIP:
	case dkDate:
		return d.dateRange(f, []rangeBound{{eql.OpGte, v}, {eql.OpLte, v}}, "", "")
	}
	o, err := d.c.operandFor(ref, strValue(v), true, eql.Pos{})
	if err != nil {
		return cond{}, qerr("%s", err.(*Error).Msg)
	}
	return termCond(ref, &o), nil
}

// parseNumberLike parses a query value for a numeric field as Elasticsearch's
// NumberFieldMapper term query does: a number (Java's parseDouble trims blanks), else
// the error "For input string"; on an integer type a value with a decimal part or out of
// the type's range matches nothing ("has a decimal part", "is out of range"), which the
// null result says.
func parseNumberLike(v string, ref *fieldRef) (value, error) {
	s := strings.TrimSpace(v)
	x, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) || math.IsNaN(x) {
		return nullValue, qerr("For input string: \"%s\"", v)
	}
	t := ref.mf.Type
	if !t.IsInteger() {
		return dblValue(x), nil
	}
	if x != math.Trunc(x) {
		return nullValue, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if x < -9.223372036854775808e18 || x >= 9.223372036854775808e18 {
			return nullValue, nil
		}
		n = int64(x)
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	switch t {
	case mapping.Integer:
		lo, hi = math.MinInt32, math.MaxInt32
	case mapping.Short:
		lo, hi = math.MinInt16, math.MaxInt16
	case mapping.Byte:
		lo, hi = math.MinInt8, math.MaxInt8
	}
	if n < lo || n > hi {
		return nullValue, nil
	}
	return longValue(n), nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// textCond is the leaf "test holds for some value of the text field": a string as it
// is, a number as its JSON text, a boolean as true/false (text fields index them so).
func textCond(f *fieldRef, test func(string) bool) cond {
	return cond{cost: costRegex, fn: func(ev *event.Event) bool {
		for _, raw := range ev.Values(f.slot) {
			if s, ok := raw.Text(); ok && test(s) {
				return true
			}
		}
		return false
	}}
}

// match is the match (phrase: match_phrase) query.
func (d *dsl) match(f *dslField, q, operator string, lenient, phrase bool) (cond, error) {
	switch strings.ToLower(operator) {
	case "", "or", "and":
	default:
		return cond{}, &Error{Msg: fmt.Sprintf("failed to create query: Unknown operator [%s]", operator)}
	}
	if f.kind != dkText {
		return d.term(f, q, false, lenient, false)
	}
	return d.textMatch(f, q, operator, phrase)
}

// textMatch analyses q with the field's analyzer: phrase needs its tokens consecutively
// in one value, operator "and" all of them in the field, otherwise any of them.
func (d *dsl) textMatch(f *dslField, q, operator string, phrase bool) (cond, error) {
	terms := analyze(f.an, q)
	an := f.an
	switch {
	case len(terms) == 0:
		return constCond(false), nil // zero_terms_query: none
	case len(terms) == 1:
		t := terms[0]
		return textCond(f.ref, func(s string) bool { return hasToken(an, s, t) }), nil
	case phrase:
		return textCond(f.ref, func(s string) bool { return hasPhrase(an, s, terms) }), nil
	case strings.EqualFold(operator, "and"):
		r := constCond(true)
		for _, t := range terms {
			r = and(r, textCond(f.ref, func(s string) bool { return hasToken(an, s, t) }))
		}
		return r, nil
	}
	return textCond(f.ref, func(s string) bool { return hasAnyToken(an, s, terms) }), nil
}

// wildcard is the wildcard query: on keyword-like fields a glob on the whole value (after
// the normalizer, which also lower-cases the pattern), on text fields on one token with
// the pattern lower-cased; other types reject it. pattern uses \ escapes.
func (d *dsl) wildcard(f *dslField, name, pattern string, insensitive, lenient bool) (cond, error) {
	switch f.kind {
	case dkNone:
		return constCond(false), nil
	case dkKeyword, dkDynamic:
		if f.lowercase {
			pattern, insensitive = lowerRunes(pattern), true
		}
		m := newStrMatcher(insensitive)
		m.addWildcard(pattern, true)
		return matcherCond(f.ref, m.done(), nil), nil
	case dkText:
		m := newStrMatcher(true)
		m.addWildcard(lowerRunes(pattern), true)
		m = m.done()
		an := f.an
		return textCond(f.ref, func(s string) bool { return tokenMatches(an, s, m) }), nil
	}
	if lenient {
		return constCond(false), nil
	}
	return cond{}, qerr("Can only use wildcard queries on keyword, text and wildcard fields - not on [%s] which is of type [%s]", name, f.typeName)
}

// exists is the exists query: an indexed value (a keyword over ignore_above, a
// malformed number or date, null and [] have none; "" has one).
func (d *dsl) exists(f *dslField) cond {
	switch f.kind {
	case dkNone:
		return d.existsBelow(f)
	case dkText:
		return textCond(f.ref, func(string) bool { return true })
	}
	return exists(f.ref)
}

// existsBelow is the exists query on an object field: some field below it exists
// (ExistsQueryBuilder expands "path.*" over the mapped fields).
func (d *dsl) existsBelow(f *dslField) cond {
	m := d.c.env.Mapping
	if f.objectPath == "" || m == nil {
		return constCond(false)
	}
	r := constCond(false)
	for _, p := range m.Paths() {
		if !strings.HasPrefix(p, f.objectPath+".") {
			continue
		}
		sub, err := d.field(p)
		if err != nil || sub.kind == dkNone {
			continue
		}
		r = or(r, d.exists(sub))
	}
	return r
}

// expandFields returns the fields a multi_match or query_string names: "*" (or none)
// and other patterns stand for the mapped fields they match (of a searchable type), and
// lenient reports whether a pattern was expanded (Elasticsearch is lenient then).
func (d *dsl) expandFields(fields []string) (names []string, lenient bool, err error) {
	if len(fields) == 0 {
		fields = []string{"*"}
	}
	m := d.c.env.Mapping
	for _, f := range fields {
		f, _, _ = strings.Cut(f, "^") // a boost
		if !strings.Contains(f, "*") {
			names = append(names, f)
			continue
		}
		if m == nil {
			return nil, false, &Error{Msg: fmt.Sprintf("failed to create query: field pattern [%s] needs a mapping: without one the fields are not known", f)}
		}
		lenient = true
		w := newWildcard(f, false, false)
		for _, p := range m.Paths() {
			if !w.match(p) {
				continue
			}
			mf, _ := m.Resolve(p)
			switch t := mf.Type; {
			case t.IsKeywordLike(), t == mapping.Text, t.IsNumeric(), t == mapping.Boolean, t == mapping.IP,
				t.IsDate(), t == mapping.Version:
				names = append(names, p)
			}
		}
	}
	return names, lenient, nil
}

// multiMatch runs match (best_fields, most_fields, ...) or match_phrase (phrase) on each
// field; one matching is enough.
func (d *dsl) multiMatch(n *query.MultiMatch) (cond, error) {
	names, lenient, err := d.expandFields(n.Fields)
	if err != nil {
		return cond{}, err
	}
	lenient = lenient || n.Lenient
	phrase := n.Type == "phrase"
	r := constCond(false)
	for _, name := range names {
		f, err := d.field(name)
		if err != nil {
			return cond{}, err
		}
		c, err := d.match(f, n.Query, "", lenient, phrase)
		if err != nil {
			return cond{}, err
		}
		r = or(r, c)
	}
	return r, nil
}

// queryString compiles the query_string forms Kibana builds: terms separated by
// whitespace, OR-ed, with \ escapes; a term with * or ? is a wildcard query (on text on
// one token, lower-cased), a lone * an exists query, other terms match queries.
func (d *dsl) queryString(n *query.QueryString) (cond, error) {
	terms, err := SplitQueryString(n.Query)
	if err != nil {
		return cond{}, err
	}
	names, lenient, err := d.expandFields(n.Fields)
	if err != nil {
		return cond{}, err
	}
	r := constCond(false)
	for _, name := range names {
		f, err := d.field(name)
		if err != nil {
			return cond{}, err
		}
		for _, t := range terms {
			var c cond
			switch {
			case t.Raw == "*":
				c = d.exists(f)
			case t.Wild:
				c, err = d.wildcard(f, name, t.Raw, false, lenient)
			case f.kind == dkDate:
				c, err = d.dateRange(f, []rangeBound{{eql.OpGte, t.Text}, {eql.OpLte, t.Text}}, "", n.TimeZone)
				if err != nil && lenient {
					c, err = constCond(false), nil
				}
			default:
				c, err = d.match(f, t.Text, "", lenient, false)
			}
			if err != nil {
				return cond{}, err
			}
			r = or(r, c)
		}
	}
	return r, nil
}

// QueryStringTerm is one term of a query string: Raw keeps its escapes (a wildcard
// pattern), Text is the literal text, Wild reports an unescaped * or ?.
type QueryStringTerm struct {
	Raw, Text string
	Wild      bool
}

// SplitQueryString splits a query string into the terms CompileDSL ORs (the rule index
// keys on them too). Lucene syntax beyond terms, escapes and wildcards (operators,
// groups, fields, phrases, ranges, regexes) is reported as unsupported rather than
// misread.
func SplitQueryString(q string) ([]QueryStringTerm, error) {
	var out []QueryStringTerm
	var raw, text strings.Builder
	wild := false
	flush := func() {
		if raw.Len() > 0 {
			out = append(out, QueryStringTerm{Raw: raw.String(), Text: text.String(), Wild: wild})
		}
		raw.Reset()
		text.Reset()
		wild = false
	}
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\\':
			if i+1 >= len(q) {
				return nil, &Error{Msg: fmt.Sprintf("failed to create query: Cannot parse '%s': Lexical error at end of input", q)}
			}
			raw.WriteByte(c)
			i++
			raw.WriteByte(q[i])
			text.WriteByte(q[i])
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		case c == '*' || c == '?':
			wild = true
			raw.WriteByte(c)
			text.WriteByte(c)
		case strings.IndexByte("+-=&|><!(){}[]^\"~:/", c) >= 0 && !(c == '-' && raw.Len() > 0):
			return nil, &Error{Msg: fmt.Sprintf("failed to create query: query_string: [%c] at offset %d of %q is Lucene syntax Tripline does not evaluate", c, i, q)}
		default:
			raw.WriteByte(c)
			text.WriteByte(c)
		}
	}
	flush()
	for _, t := range out {
		switch t.Raw {
		case "AND", "OR", "NOT", "&&", "||":
			return nil, &Error{Msg: fmt.Sprintf("failed to create query: query_string: operator [%s] in %q is Lucene syntax Tripline does not evaluate", t.Raw, q)}
		}
	}
	return out, nil
}

// rangeBound is one bound of a range query.
type rangeBound struct {
	op   eql.BinaryOp // OpGt, OpGte, OpLt, OpLte
	text string
}

// rangeQuery is the range query: every bound holds for one value of the field.
func (d *dsl) rangeQuery(f *dslField, n *query.Range) (cond, error) {
	var bs []rangeBound
	for _, b := range []rangeBound{{eql.OpGt, n.GT}, {eql.OpGte, n.GTE}, {eql.OpLt, n.LT}, {eql.OpLte, n.LTE}} {
		if b.text != "" {
			bs = append(bs, b)
		}
	}
	ref := f.ref
	switch f.kind {
	case dkNone:
		return constCond(false), nil
	case dkDate:
		return d.dateRange(f, bs, n.Format, n.TimeZone)
	case dkText:
		an := f.an
		return textCond(ref, func(s string) bool {
			t := newTokenizer(an, s)
			for {
				tok, ok := t.next()
				if !ok {
					return false
				}
				if inStringRange(tok, bs, true) {
					return true
				}
			}
		}), nil
	case dkKeyword:
		lc := f.lowercase
		if lc {
			for i := range bs {
				bs[i].text = lowerRunes(bs[i].text)
			}
		}
		return anyValue(ref, func(v value) bool { return v.k == kString && inStringRange(v.s, bs, lc) }, costTerm), nil
	}
	// Numbers, booleans, ips, versions, and dynamic fields (each value its own type).
	type bound struct {
		op eql.BinaryOp
		o  operand
		db dateBound
		dk bool // db parsed (a dynamic field's detected dates)
	}
	var obs []bound
	for _, b := range bs {
		var k value
		switch f.kind {
		case dkNumber:
			x, err := strconv.ParseFloat(strings.TrimSpace(b.text), 64)
			if err != nil && !isRangeErr(err) {
				return cond{}, qerr("For input string: \"%s\"", b.text)
			}
			k = dblValue(x)
			if n, err := strconv.ParseInt(strings.TrimSpace(b.text), 10, 64); err == nil {
				k = longValue(n)
			}
		case dkBool:
			bl, ok := parseBool(b.text)
			if !ok {
				return cond{}, qerr("Can't parse boolean value [%s], expected [true] or [false]", b.text)
			}
			k = bl
		default:
			k = strValue(b.text)
		}
		o, err := d.c.operandFor(ref, k, false, eql.Pos{})
		if err != nil {
			return cond{}, qerr("%s", err.(*Error).Msg)
		}
		ob := bound{op: b.op, o: o}
		if f.kind == dkDynamic {
			format := dynamicDateFormats + "||epoch_millis"
			if dd := ref.mf.Detect; dd != nil && dd.Date.Format != "" {
				format = dd.Date.Format + "||epoch_millis"
			}
			loc, _ := timeZone(n.TimeZone)
			if db, err := parseDateBound(b.text, format, b.op == eql.OpGt || b.op == eql.OpLte, false, loc); err == nil {
				ob.db, ob.dk = db, true
			}
		}
		obs = append(obs, ob)
	}
	now := d.now
	return anyValue(ref, func(v value) bool {
		for i := range obs {
			b := &obs[i]
			if v.k == kDate {
				if !b.dk || !dateIn(v.instant(), b.op, b.db.instant(now)) {
					return false
				}
				continue
			}
			if !b.o.in(b.op, v) {
				return false
			}
		}
		return true
	}, costTerm), nil
}

// inStringRange reports whether s is within the bounds, in byte (code point) order;
// lower compares s lower-cased (a lowercase normalizer, or text tokens).
func inStringRange(s string, bs []rangeBound, lower bool) bool {
	for _, b := range bs {
		var c int
		if lower {
			c = compareLower(s, b.text)
		} else {
			c = strings.Compare(s, b.text)
		}
		var ok bool
		switch b.op {
		case eql.OpGt:
			ok = c > 0
		case eql.OpGte:
			ok = c >= 0
		case eql.OpLt:
			ok = c < 0
		default:
			ok = c <= 0
		}
		if !ok {
			return false
		}
	}
	return true
}

// compareLower compares lowerRunes(a) with b, code point by code point (UTF-8 byte
// order), without building it.
func compareLower(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		r, n := decodeRune(a[i:])
		q, m := decodeRune(b[j:])
		if r < 0x80 {
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
		} else {
			r = unicode.ToLower(r)
		}
		if r != q {
			if r < q {
				return -1
			}
			return 1
		}
		i, j = i+n, j+m
	}
	switch {
	case i < len(a):
		return 1
	case j < len(b):
		return -1
	}
	return 0
}

// dateRange is a range on a date field: bounds in format (the field's when "") and
// time zone tz, with date math; gt and lte round up.
func (d *dsl) dateRange(f *dslField, bs []rangeBound, format, tz string) (cond, error) {
	ref := f.ref
	if format == "" {
		format = ref.mf.Format
	}
	loc, err := timeZone(tz)
	if err != nil {
		return cond{}, qerr("%v", err)
	}
	type bound struct {
		op eql.BinaryOp
		b  dateBound
	}
	dbs := make([]bound, len(bs))
	rel := false
	for i, b := range bs {
		db, err := parseDateBound(b.text, format, b.op == eql.OpGt || b.op == eql.OpLte, ref.typ == ftDateNanos, loc)
		if err != nil {
			return cond{}, qerr("%v", err)
		}
		dbs[i] = bound{b.op, db}
		rel = rel || db.rel
	}
	if ref.hasConst {
		return constCond(false), nil
	}
	now := d.now
	if !rel {
		// Fixed bounds: one interval [lo, hi].
		lo, hi := event.Instant{Ms: math.MinInt64}, event.Instant{Ms: math.MaxInt64}
		loIncl, hiIncl := true, true
		for _, b := range dbs {
			t := b.b.at
			switch b.op {
			case eql.OpGt:
				if !t.Before(lo) {
					lo, loIncl = t, false
				}
			case eql.OpGte:
				if lo.Before(t) {
					lo, loIncl = t, true
				}
			case eql.OpLt:
				if !hi.Before(t) {
					hi, hiIncl = t, false
				}
			default:
				if t.Before(hi) {
					hi, hiIncl = t, true
				}
			}
		}
		return anyValue(ref, func(v value) bool {
			if v.k != kDate {
				return false
			}
			t := v.instant()
			c1, c2 := t.Compare(lo), t.Compare(hi)
			return (c1 > 0 || c1 == 0 && loIncl) && (c2 < 0 || c2 == 0 && hiIncl)
		}, costTerm), nil
	}
	return cond{cost: costTerm * 2, fn: func(ev *event.Event) bool {
		vals := ev.Values(ref.slot)
		if len(vals) == 0 && !ref.hasNullValue {
			return false
		}
		var at [4]event.Instant
		for i := range dbs {
			at[i] = dbs[i].b.instant(now)
		}
		test := func(v value) bool {
			if v.k != kDate {
				return false
			}
			for i := range dbs {
				if !dateIn(v.instant(), dbs[i].op, at[i]) {
					return false
				}
			}
			return true
		}
		for _, raw := range vals {
			if v, ok := ref.convert(raw); ok && test(v) {
				return true
			}
		}
		return ref.hasNullValue && ev.HasNull(ref.slot) && test(ref.nullValue)
	}}, nil
}

func dateIn(t event.Instant, op eql.BinaryOp, b event.Instant) bool {
	switch op {
	case eql.OpGt:
		return b.Before(t)
	case eql.OpGte:
		return !t.Before(b)
	case eql.OpLt:
		return t.Before(b)
	}
	return !b.Before(t)
}
