package kql

import (
	"fmt"
	"strings"

	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/query"
)

// Fields is what ToQuery needs to know about the fields of the indices a query runs on,
// as Kibana learns it from _field_caps.
type Fields interface {
	// Types returns the Elasticsearch types of the field across the indices (several
	// when indices disagree), or nil when no index has the field.
	Types(name string) []string
	// Names returns every field name the indices have, sorted; field-name patterns
	// (process.*) expand over them.
	Names() []string
}

// ToQuery translates a KQL tree into the query Kibana's detection engine sends for it
// (kbn-es-query's toElasticsearchQuery with the detection engine's settings: field types
// loaded, dateFormatTZ Zulu, no case_insensitive). fields may be nil: then every field is
// queried by its name, untyped, as Kibana does for a field its data view lacks.
//
//   - a and b: bool.filter [a, b]; a or b: bool.should [a, b] with minimum_should_match
//     1; not a: bool.must_not a.
//   - p:{ q }: nested {path: p, query: q}, the names in q prefixed with p.
//   - *:* (and the empty query): match_all.
//   - free text v: multi_match {type: best_fields (phrase if quoted), query: v,
//     lenient: true}; with a wildcard, query_string {query: escaped v}.
//   - f:v, f:w*, f:* and f op v: one clause per field f resolves to, in a bool.should
//     with minimum_should_match 1. f:* is exists. On a field whose only type is keyword,
//     f:v is term and f:w* wildcard; on a date field, f:v is range gte = lte = v; on any
//     other field (or an unknown one), f:v is match (match_phrase if quoted) and f:w*
//     query_string {fields: [f]}. Date ranges, and f:v on date fields, get time_zone
//     Zulu unless v is all digits (epoch).
//
// A field name with a wildcard resolves to every name of fields.Names it matches (* also
// matches dots); a name (or pattern) that resolves to nothing is queried as it is.
// Boolean and null literals are sent as their text ("true"), where Kibana sends JSON
// true; Elasticsearch reads both the same.
func ToQuery(n Node, fields Fields) (query.Query, error) {
	t := translator{fields: fields}
	return t.node(n, "")
}

type translator struct {
	fields Fields
}

func (t *translator) node(n Node, nested string) (query.Query, error) {
	switch n := n.(type) {
	case *Or:
		qs, err := t.list(n.Args, nested)
		if err != nil {
			return nil, err
		}
		return &query.Bool{Should: qs, MinimumShouldMatch: 1}, nil
	case *And:
		qs, err := t.list(n.Args, nested)
		if err != nil {
			return nil, err
		}
		return &query.Bool{Filter: qs}, nil
	case *Not:
		q, err := t.node(n.Arg, nested)
		if err != nil {
			return nil, err
		}
		return &query.Bool{MustNot: []query.Query{q}}, nil
	case *Is:
		return t.is(n, nested), nil
	case *Range:
		return t.rangeQuery(n, nested), nil
	case *Nested:
		path := literalText(n.Path)
		if nested != "" {
			path = nested + "." + path
		}
		q, err := t.node(n.Query, path)
		if err != nil {
			return nil, err
		}
		return &query.Nested{Path: path, Query: q}, nil
	case nil:
		return nil, fmt.Errorf("kql: no query")
	}
	return nil, fmt.Errorf("kql: unknown node %T", n)
}

func (t *translator) list(ns []Node, nested string) ([]query.Query, error) {
	out := make([]query.Query, len(ns))
	for i, n := range ns {
		q, err := t.node(n, nested)
		if err != nil {
			return nil, err
		}
		out[i] = q
	}
	return out, nil
}

// field is a field a name resolved to, with its types (nil: unknown to the indices).
type field struct {
	name  string
	types []string
}

func (f field) isKeyword() bool { return len(f.types) == 1 && f.types[0] == "keyword" }

// isDate: Kibana's field type is date when every type is date or date_nanos.
func (f field) isDate() bool {
	for _, t := range f.types {
		if t != "date" && t != "date_nanos" {
			return false
		}
	}
	return len(f.types) > 0
}

// resolve returns the fields a field literal names, inside the nested path nested.
func (t *translator) resolve(l *Literal, nested string) []field {
	prefix := ""
	if nested != "" {
		prefix = nested + "."
	}
	if l.Kind != Wildcard {
		name := prefix + l.Value
		if t.fields != nil {
			if ts := t.fields.Types(name); ts != nil {
				return []field{{name, ts}}
			}
		}
		return []field{{name: name}}
	}
	segs := append([]string(nil), l.Segments...)
	segs[0] = prefix + segs[0]
	var out []field
	if t.fields != nil {
		for _, name := range t.fields.Names() {
			if matchSegments(segs, name) {
				out = append(out, field{name, t.fields.Types(name)})
			}
		}
	}
	if len(out) == 0 {
		out = []field{{name: strings.Join(segs, "*")}}
	}
	return out
}

func (t *translator) is(n *Is, nested string) query.Query {
	v := n.Value
	exists := v.IsLoneWildcard()
	if exists && n.Field.IsLoneWildcard() {
		return &query.MatchAll{}
	}
	field := n.Field
	if field == nil {
		if nested == "" {
			if v.Kind == Wildcard {
				return &query.QueryString{Query: queryStringEscape(v.Segments)}
			}
			typ := "best_fields"
			if v.Quoted {
				typ = "phrase"
			}
			return &query.MultiMatch{Type: typ, Query: v.Value, Lenient: true}
		}
		// Kibana prefixes the missing field name (null) with the nested path.
		field = &Literal{Kind: Null, Value: "null"}
	}
	fs := t.resolve(field, nested)
	should := make([]query.Query, 0, len(fs))
	for _, f := range fs {
		var q query.Query
		switch {
		case exists:
			q = &query.Exists{Field: f.name}
		case v.Kind == Wildcard:
			if f.isKeyword() {
				q = &query.Wildcard{Field: f.name, Value: queryStringEscape(v.Segments)}
			} else {
				q = &query.QueryString{Fields: []string{f.name}, Query: queryStringEscape(v.Segments)}
			}
		case f.isDate():
			q = &query.Range{Field: f.name, GTE: v.Value, LTE: v.Value, TimeZone: timeZone(v.Value)}
		case f.isKeyword():
			q = &query.Term{Field: f.name, Value: v.Value}
		case v.Quoted:
			q = &query.MatchPhrase{Field: f.name, Query: v.Value}
		default:
			q = &query.Match{Field: f.name, Query: v.Value}
		}
		should = append(should, q)
	}
	return &query.Bool{Should: should, MinimumShouldMatch: 1}
}

func (t *translator) rangeQuery(n *Range, nested string) query.Query {
	fs := t.resolve(n.Field, nested)
	v := literalText(n.Value)
	should := make([]query.Query, 0, len(fs))
	for _, f := range fs {
		r := &query.Range{Field: f.name}
		switch n.Op {
		case "<":
			r.LT = v
		case "<=":
			r.LTE = v
		case ">":
			r.GT = v
		case ">=":
			r.GTE = v
		}
		if f.isDate() {
			r.TimeZone = timeZone(v)
		}
		should = append(should, r)
	}
	return &query.Bool{Should: should, MinimumShouldMatch: 1}
}

// timeZone is the detection engine's dateFormatTZ, except for epoch values.
func timeZone(v string) string {
	if v == "" {
		return "Zulu"
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return "Zulu"
		}
	}
	return ""
}

// literalText is a literal's value as Kibana passes it on: a wildcard's segments joined
// with *.
func literalText(l *Literal) string {
	if l.Kind == Wildcard {
		return strings.Join(l.Segments, "*")
	}
	return l.Value
}

// queryStringEscape escapes each segment for query_string (and wildcard) queries and joins
// them with *: a backslash before each of + - = & | > < ! ( ) { } [ ] ^ " ~ * ? : \ /.
// Whitespace is left alone, as Kibana leaves it.
func queryStringEscape(segs []string) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteByte('*')
		}
		for _, r := range s {
			if strings.ContainsRune(`+-=&|><!(){}[]^"~*?:\/`, r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// matchSegments reports whether s is segs[0] * segs[1] * ... segs[n-1], where each * is any
// text, dots included.
func matchSegments(segs []string, s string) bool {
	if len(segs) == 1 {
		return s == segs[0]
	}
	first, last := segs[0], segs[len(segs)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, seg := range segs[1 : len(segs)-1] {
		i := strings.Index(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return true
}

// mappingFields is Fields over a mapping.
type mappingFields struct {
	names []string
	types map[string][]string
}

// MappingFields returns the Fields of indices mapped by m: every declared field (aliases
// and multi-fields included, objects left out) with its type. A nil m knows no field.
// Keys below a flattened field are not fields here, as _field_caps does not list them.
func MappingFields(m *mapping.Mapping) Fields {
	mf := &mappingFields{types: map[string][]string{}}
	for _, p := range m.Paths() {
		f, _ := m.Resolve(p)
		if f.Type == mapping.Object {
			continue
		}
		mf.names = append(mf.names, p)
		mf.types[p] = []string{f.Type.String()}
	}
	return mf
}

func (m *mappingFields) Types(name string) []string { return m.types[name] }
func (m *mappingFields) Names() []string            { return m.names }
