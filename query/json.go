package query

import (
	"strconv"

	"github.com/tripline/tripline/internal/jsonw"
)

// The JSON encoding of every query type is the Elasticsearch DSL as Kibana writes it:
// each query is {"<name>": {...}}, keys in Kibana's order, empty parameters left out.
// A Bool writes its non-empty clause lists in the order must, filter, should, must_not,
// then minimum_should_match when it is not 0; a must_not of one clause is written as
// that clause's object, as Kibana's KQL not writes it. Match and MatchPhrase use the
// short form {"match":{"f":"v"}} unless they have parameters. Nested always carries
// "score_mode":"none". A nil Query is null. Strings are not HTML-escaped.

// MarshalJSON returns {"bool":{...}}.
func (q *Bool) MarshalJSON() ([]byte, error) { return appendQuery(nil, q), nil }

// MarshalJSON returns {"match_all":{}}.
func (q *MatchAll) MarshalJSON() ([]byte, error) { return appendQuery(nil, q), nil }

// MarshalJSON returns {"term":{"field":{"value":...}}}.
func (q *Term) MarshalJSON() ([]byte, error) { return appendQuery(nil, q), nil }

// MarshalJSON returns {"match":{"field":"query"}} (or the long form with parameters).
func (q *Match) MarshalJSON() ([]byte, error) { return appendQuery(nil, q), nil }

// MarshalJSON returns {"match_phrase":{"field":"query"}}.
func (q *MatchPhrase) MarshalJSON() ([]byte, error) { return appendQuery(nil, q), nil }

// MarshalJSON returns {"multi_match":{"type":...,"query":...,"lenient":...}}.
func (q *MultiMatch) MarshalJSON() ([]byte, error) { return appendQuery(nil, q), nil }

// MarshalJSON returns {"wildcard":{"field":{"value":...}}}.
func (q *Wildcard) MarshalJSON() ([]byte, error) { return appendQuery(nil, q), nil }

// MarshalJSON returns {"query_string":{"fields":[...],"query":...}}.
func (q *QueryString) MarshalJSON() ([]byte, error) { return appendQuery(nil, q), nil }

// MarshalJSON returns {"range":{"field":{"gte":...,...}}}.
func (q *Range) MarshalJSON() ([]byte, error) { return appendQuery(nil, q), nil }

// MarshalJSON returns {"exists":{"field":...}}.
func (q *Exists) MarshalJSON() ([]byte, error) { return appendQuery(nil, q), nil }

// MarshalJSON returns {"nested":{"path":...,"query":...,"score_mode":"none"}}.
func (q *Nested) MarshalJSON() ([]byte, error) { return appendQuery(nil, q), nil }

// appendQuery writes q and its whole subtree in one pass, so that deep trees encode in
// linear time.
func appendQuery(b []byte, q Query) []byte {
	switch q := q.(type) {
	case *Bool:
		if q == nil {
			break
		}
		b = append(b, `{"bool":{`...)
		first := true
		clauses := func(key string, qs []Query, single bool) {
			if len(qs) == 0 {
				return
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, key)
			b = append(b, ':')
			if single && len(qs) == 1 {
				b = appendQuery(b, qs[0])
				return
			}
			b = append(b, '[')
			for i, c := range qs {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendQuery(b, c)
			}
			b = append(b, ']')
		}
		clauses("must", q.Must, false)
		clauses("filter", q.Filter, false)
		clauses("should", q.Should, false)
		clauses("must_not", q.MustNot, true)
		if q.MinimumShouldMatch != 0 {
			if !first {
				b = append(b, ',')
			}
			b = append(b, `"minimum_should_match":`...)
			b = strconv.AppendInt(b, int64(q.MinimumShouldMatch), 10)
		}
		return append(b, "}}"...)
	case *MatchAll:
		if q == nil {
			break
		}
		return append(b, `{"match_all":{}}`...)
	case *Term:
		if q == nil {
			break
		}
		return appendValueQuery(b, "term", q.Field, q.Value, q.CaseInsensitive)
	case *Wildcard:
		if q == nil {
			break
		}
		return appendValueQuery(b, "wildcard", q.Field, q.Value, q.CaseInsensitive)
	case *Match:
		if q == nil {
			break
		}
		b = append(b, `{"match":{`...)
		b = appendString(b, q.Field)
		b = append(b, ':')
		if q.Operator == "" && !q.Lenient {
			b = appendString(b, q.Query)
			return append(b, "}}"...)
		}
		b = append(b, `{"query":`...)
		b = appendString(b, q.Query)
		if q.Operator != "" {
			b = append(b, `,"operator":`...)
			b = appendString(b, q.Operator)
		}
		if q.Lenient {
			b = append(b, `,"lenient":true`...)
		}
		return append(b, "}}}"...)
	case *MatchPhrase:
		if q == nil {
			break
		}
		b = append(b, `{"match_phrase":{`...)
		b = appendString(b, q.Field)
		b = append(b, ':')
		b = appendString(b, q.Query)
		return append(b, "}}"...)
	case *MultiMatch:
		if q == nil {
			break
		}
		b = append(b, `{"multi_match":{`...)
		sep := ""
		if q.Type != "" {
			b = append(b, `"type":`...)
			b = appendString(b, q.Type)
			sep = ","
		}
		b = append(b, sep+`"query":`...)
		b = appendString(b, q.Query)
		if q.Lenient {
			b = append(b, `,"lenient":true`...)
		}
		if len(q.Fields) > 0 {
			b = append(b, `,"fields":`...)
			b = appendStrings(b, q.Fields)
		}
		return append(b, "}}"...)
	case *QueryString:
		if q == nil {
			break
		}
		b = append(b, `{"query_string":{`...)
		if len(q.Fields) > 0 {
			b = append(b, `"fields":`...)
			b = appendStrings(b, q.Fields)
			b = append(b, ',')
		}
		b = append(b, `"query":`...)
		b = appendString(b, q.Query)
		if q.AnalyzeWildcard {
			b = append(b, `,"analyze_wildcard":true`...)
		}
		if q.TimeZone != "" {
			b = append(b, `,"time_zone":`...)
			b = appendString(b, q.TimeZone)
		}
		return append(b, "}}"...)
	case *Range:
		if q == nil {
			break
		}
		b = append(b, `{"range":{`...)
		b = appendString(b, q.Field)
		b = append(b, ":{"...)
		sep := ""
		for _, p := range [...]struct{ k, v string }{
			{"gt", q.GT}, {"gte", q.GTE}, {"lt", q.LT}, {"lte", q.LTE}, {"format", q.Format}, {"time_zone", q.TimeZone},
		} {
			if p.v == "" {
				continue
			}
			b = append(b, sep...)
			b = appendString(b, p.k)
			b = append(b, ':')
			b = appendString(b, p.v)
			sep = ","
		}
		return append(b, "}}}"...)
	case *Exists:
		if q == nil {
			break
		}
		b = append(b, `{"exists":{"field":`...)
		b = appendString(b, q.Field)
		return append(b, "}}"...)
	case *Nested:
		if q == nil {
			break
		}
		b = append(b, `{"nested":{"path":`...)
		b = appendString(b, q.Path)
		b = append(b, `,"query":`...)
		b = appendQuery(b, q.Query)
		return append(b, `,"score_mode":"none"}}`...)
	}
	return append(b, "null"...)
}

// appendValueQuery writes {"<name>":{"<field>":{"value":v[,"case_insensitive":true]}}}.
func appendValueQuery(b []byte, name, field, value string, caseInsensitive bool) []byte {
	b = append(b, '{')
	b = appendString(b, name)
	b = append(b, ":{"...)
	b = appendString(b, field)
	b = append(b, `:{"value":`...)
	b = appendString(b, value)
	if caseInsensitive {
		b = append(b, `,"case_insensitive":true`...)
	}
	return append(b, "}}}"...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString writes s as a JSON string, escaping only what JSON requires.
func appendString(b []byte, s string) []byte { return jsonw.AppendString(b, s, jsonw.Minimal) }
