package detect

import (
	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/query"
)

// searchRequirements returns requirements that q matching an event implies, as
// requirements does for EQL: a term, match or match_phrase query of a plain value on a
// keyword field keys on the value; a wildcard pattern on its literal beginning, end or
// middle (only without backslash escapes, whose meaning differs from EQL's ":"); a
// query that is false on a missing field needs the field present. A must_not, a nested
// query and free text give none.
func searchRequirements(q query.Query, m *mapping.Mapping) []Requirement {
	switch q := q.(type) {
	case *query.Bool:
		var rs []Requirement
		for _, c := range q.Must {
			rs = append(rs, searchRequirements(c, m)...)
		}
		for _, c := range q.Filter {
			rs = append(rs, searchRequirements(c, m)...)
		}
		if len(q.Should) > 0 && (q.MinimumShouldMatch > 0 || len(q.Must)+len(q.Filter) == 0) {
			rs = append(rs, anyOf(q.Should, m)...)
		}
		return rs[:min(len(rs), maxRequirements)]
	case *query.Term:
		if q.CaseInsensitive {
			return present(q.Field, m)
		}
		return valueRequirement(q.Field, q.Value, m)
	case *query.Match:
		if q.Operator == "and" || q.Lenient {
			return present(q.Field, m)
		}
		return valueRequirement(q.Field, q.Query, m)
	case *query.MatchPhrase:
		return valueRequirement(q.Field, q.Query, m)
	case *query.Wildcard:
		return patternRequirement(q.Field, q.Value, m)
	case *query.Exists:
		return present(q.Field, m)
	case *query.Range:
		return present(q.Field, m)
	case *query.QueryString:
		if len(q.Fields) == 1 {
			return present(q.Fields[0], m)
		}
	}
	return nil
}

// anyOf returns the requirements of a disjunction: the union of one requirement of each
// clause, for the first requirements of each (none when a clause has none).
func anyOf(clauses []query.Query, m *mapping.Mapping) []Requirement {
	var acc []Requirement
	for i, c := range clauses {
		rs := searchRequirements(c, m)
		if len(rs) == 0 {
			return nil
		}
		if i == 0 {
			acc = rs
			continue
		}
		var next []Requirement
		for _, a := range acc {
			for _, b := range rs {
				if len(next) < maxRequirements {
					next = append(next, union(a, b))
				}
			}
		}
		acc = next
	}
	return acc
}

// valueRequirement keys on v at field when v is plain ASCII and the field a plain keyword
// field (single checks the mapping); otherwise it requires the field's presence.
func valueRequirement(field, v string, m *mapping.Mapping) []Requirement {
	if p, ok := constString(&eql.Literal{Kind: eql.LitString, Str: v}); ok {
		if rs := single(FieldValues{Field: field, Values: []string{p}}, m); rs != nil {
			return rs
		}
	}
	return present(field, m)
}

// patternRequirement keys a wildcard query's pattern on its literal parts, as a ":" pattern
// is keyed; a pattern with a backslash only requires the field.
func patternRequirement(field, pat string, m *mapping.Mapping) []Requirement {
	for i := 0; i < len(pat); i++ {
		if pat[i] == '\\' {
			return present(field, m)
		}
	}
	lit := &eql.Literal{Kind: eql.LitString, Str: pat}
	fv := FieldValues{Field: field}
	if v, ok := constString(lit); ok {
		fv.Values = []string{v}
	} else if pre, ok := constPrefix(lit); ok {
		fv.Prefixes = []string{pre}
	} else if suf, ok := constSuffix(lit); ok {
		fv.Suffixes = []string{suf}
	} else if inf, ok := constInfix(lit); ok {
		fv.Infixes = []string{inf}
	} else {
		return present(field, m)
	}
	if rs := single(fv, m); rs != nil {
		return rs
	}
	return present(field, m)
}
