package detect

import (
	"strings"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/eval"
	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/query"
)

// searchRequirements returns requirements that q matching an event implies, as
// requirements does for EQL: a term, match or match_phrase query of a plain value on a
// keyword field keys on the value; a wildcard pattern on its literal beginning, end or
// middle (its backslash escapes unescaped); a query that is false on a missing field needs
// the field present. A must_not, a nested query and free text give none.
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
			return queryStringRequirement(q.Fields[0], q.Query, m)
		}
	}
	return nil
}

// queryStringRequirement keys a query_string query on one field (KQL's translation of a
// wildcard on a field it has no keyword type for) on the union of its terms' keys, each
// term as CompileDSL reads it: * needs the field, a pattern keys as a wildcard query, other
// text as a match query.
func queryStringRequirement(field, text string, m *mapping.Mapping) []Requirement {
	field, _, _ = strings.Cut(field, "^") // a boost
	if strings.Contains(field, "*") {
		return nil // a field pattern
	}
	terms, err := eval.SplitQueryString(text)
	if err != nil || len(terms) == 0 {
		return present(field, m)
	}
	var acc Requirement
	for i, t := range terms {
		var rs []Requirement
		switch {
		case t.Raw == "*":
			rs = present(field, m)
		case t.Wild:
			rs = patternRequirement(field, t.Raw, m)
		default:
			rs = valueRequirement(field, t.Text, m)
		}
		if len(rs) == 0 {
			return nil
		}
		if i == 0 {
			acc = rs[0]
		} else {
			acc = union(acc, rs[0])
		}
	}
	return []Requirement{acc}
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
// is keyed: its whole value when it has no wildcard, else its literal beginning, end or
// longest middle part, under the conditions constPrefix and constSuffix set. The
// pattern's backslash escapes (KQL's translation escapes / : - and
// others) stand for the character they escape.
func patternRequirement(field, pat string, m *mapping.Mapping) []Requirement {
	segs, ok := wildcardSegments(pat)
	if !ok {
		return present(field, m)
	}
	fv := FieldValues{Field: field}
	first, last := segs[0], segs[len(segs)-1]
	longest := ""
	for _, sg := range segs {
		if len(sg) > len(longest) {
			longest = sg
		}
	}
	switch {
	case len(segs) == 1:
		if v, ok := constString(&eql.Literal{Kind: eql.LitString, Str: first}); ok {
			fv.Values = []string{v}
		}
	case first != "" && numberStart(first[0]):
		// a number or a date could start so: only the field is needed, as for constPrefix
	case len(first) >= PrefixLen:
		fv.Prefixes = []string{asciiLower(first)}
	case len(last) >= PrefixLen && suffixEnd(last[len(last)-PrefixLen:]):
		fv.Suffixes = []string{asciiLower(last)}
	case len(longest) >= PrefixLen:
		fv.Infixes = []string{asciiLower(longest)}
	}
	if len(fv.Values)+len(fv.Prefixes)+len(fv.Suffixes)+len(fv.Infixes) > 0 {
		if rs := single(fv, m); rs != nil {
			return rs
		}
	}
	return present(field, m)
}

// wildcardSegments splits a wildcard query's pattern at its unescaped * and ? into its
// literal parts, unescaped (n wildcards give n+1 parts, empty ones included); false when a
// part has a non-ASCII byte (whose case the index cannot fold) or the pattern ends in a
// lone backslash.
func wildcardSegments(pat string) ([]string, bool) {
	var segs []string
	var cur []byte
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch c {
		case '\\':
			if i+1 >= len(pat) {
				return nil, false
			}
			i++
			c = pat[i]
		case '*', '?':
			segs = append(segs, string(cur))
			cur = cur[:0]
			continue
		}
		if c >= 0x80 {
			return nil, false
		}
		cur = append(cur, c)
	}
	return append(segs, string(cur)), true
}

// numberStart reports whether a value starting with c could be a number or a date (a digit,
// + or -), which no prefix keys.
func numberStart(c byte) bool { return ('0' <= c && c <= '9') || c == '+' || c == '-' }

// suffixEnd reports whether the last PrefixLen bytes of a suffix, end, can key it: ASCII
// letters, '.', '_' or '/', which no date or number ends with.
func suffixEnd(end string) bool {
	for i := 0; i < len(end); i++ {
		switch c := end[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '.', c == '_', c == '/':
		default:
			return false
		}
	}
	return true
}
