package kql

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/query"
)

// testFields is a Fields with types given by hand.
type testFields map[string][]string

func (f testFields) Types(name string) []string { return f[name] }

func (f testFields) Names() []string {
	var out []string
	for n := range f {
		out = append(out, n)
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// dsl encodes q as the DSL JSON, compact and without HTML escaping.
func dsl(t *testing.T, q query.Query) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(q); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestToQuery(t *testing.T) {
	fields := testFields{
		"k": {"keyword"}, "t": {"text"}, "d": {"date"}, "dn": {"date", "date_nanos"}, "n": {"long"},
		"c": {"keyword", "text"}, "w": {"wildcard"}, "ck": {"constant_keyword"},
		"process.name": {"keyword"}, "process.name.text": {"match_only_text"}, "process.pid": {"long"},
		"p.q": {"keyword"},
	}
	should := func(qs ...string) string {
		return `{"bool":{"should":[` + strings.Join(qs, ",") + `],"minimum_should_match":1}}`
	}
	term := func(f, v string) string { return should(`{"term":{"` + f + `":{"value":"` + v + `"}}}`) }
	tests := []struct{ name, kql, want string }{
		{"and", `k:a and k:b`, `{"bool":{"filter":[` + term("k", "a") + `,` + term("k", "b") + `]}}`},
		{"or", `k:a or k:b`, should(term("k", "a"), term("k", "b"))},
		{"not", `not k:a`, `{"bool":{"must_not":` + term("k", "a") + `}}`},
		{"precedence", `not k:a and k:b or k:c`,
			should(`{"bool":{"filter":[{"bool":{"must_not":`+term("k", "a")+`}},`+term("k", "b")+`]}}`, term("k", "c"))},
		{"value list", `k:(a or b)`, should(term("k", "a"), term("k", "b"))},
		{"nested", `p:{ q:x }`, `{"nested":{"path":"p","query":` + term("p.q", "x") + `,"score_mode":"none"}}`},
		{"nested in nested", `p:{ r:{ s:x } }`,
			`{"nested":{"path":"p","query":{"nested":{"path":"p.r","query":{"bool":{"should":[{"match":{"p.r.s":"x"}}],"minimum_should_match":1}},"score_mode":"none"}},"score_mode":"none"}}`},
		{"exists", `k:*`, should(`{"exists":{"field":"k"}}`)},
		{"exists over a field pattern", `process.name*:*`, should(`{"exists":{"field":"process.name"}}`, `{"exists":{"field":"process.name.text"}}`)},
		{"exists on an unknown field", `u:*`, should(`{"exists":{"field":"u"}}`)},
		{"match all", `*:*`, `{"match_all":{}}`},
		{"empty query", ``, `{"match_all":{}}`},
		{"free text", `foo bar`, `{"multi_match":{"type":"best_fields","query":"foo bar","lenient":true}}`},
		{"quoted free text", `"foo bar"`, `{"multi_match":{"type":"phrase","query":"foo bar","lenient":true}}`},
		{"free text wildcard", `a-b*c?`, `{"query_string":{"query":"a\\-b*c\\?"}}`},
		{"keyword term", `k:a b`, term("k", "a b")},
		{"keyword quoted term", `k:"a*b"`, term("k", "a*b")},
		{"keyword wildcard, escaped, whitespace kept", `k:*a b?\\*`, should(`{"wildcard":{"k":{"value":"*a b\\?\\\\*"}}}`)},
		{"date", `d:2024-01-01`, should(`{"range":{"d":{"gte":"2024-01-01","lte":"2024-01-01","time_zone":"Zulu"}}}`)},
		{"date epoch", `d:1700000000000`, should(`{"range":{"d":{"gte":"1700000000000","lte":"1700000000000"}}}`)},
		{"date and date_nanos", `dn:"2024"`, should(`{"range":{"dn":{"gte":"2024","lte":"2024"}}}`)},
		{"text match", `t:a b`, should(`{"match":{"t":"a b"}}`)},
		{"text match_phrase", `t:"a b"`, should(`{"match_phrase":{"t":"a b"}}`)},
		{"numeric field", `n:5`, should(`{"match":{"n":"5"}}`)},
		{"boolean literal", `n:true`, should(`{"match":{"n":"true"}}`)},
		{"conflicting types", `c:x`, should(`{"match":{"c":"x"}}`)},
		{"wildcard type", `w:x`, should(`{"match":{"w":"x"}}`)},
		{"constant_keyword", `ck:x`, should(`{"match":{"ck":"x"}}`)},
		{"unmapped", `u:x`, should(`{"match":{"u":"x"}}`)},
		{"unmapped quoted", `u:"x y"`, should(`{"match_phrase":{"u":"x y"}}`)},
		{"wildcard on text", `t:a*`, should(`{"query_string":{"fields":["t"],"query":"a*"}}`)},
		{"wildcard on unmapped, whitespace splits", `u:* curl*`, should(`{"query_string":{"fields":["u"],"query":"* curl*"}}`)},
		{"field pattern", `process.*:x`, should(`{"term":{"process.name":{"value":"x"}}}`,
			`{"match":{"process.name.text":"x"}}`, `{"match":{"process.pid":"x"}}`)},
		{"field pattern matching nothing", `zz*:x`, should(`{"match":{"zz*":"x"}}`)},
		{"quoted field is no pattern", `"process.*":x`, should(`{"match":{"process.*":"x"}}`)},
		{"range", `n > 5`, should(`{"range":{"n":{"gt":"5"}}}`)},
		{"range ops", `n < 1 or n <= 2 or n >= 3`,
			should(should(`{"range":{"n":{"lt":"1"}}}`), should(`{"range":{"n":{"lte":"2"}}}`), should(`{"range":{"n":{"gte":"3"}}}`))},
		{"date range", `d >= "now-30d/d"`, should(`{"range":{"d":{"gte":"now-30d/d","time_zone":"Zulu"}}}`)},
		{"date range epoch", `d < 1700`, should(`{"range":{"d":{"lt":"1700"}}}`)},
		{"range on a field pattern", `process.p* > 1`, should(`{"range":{"process.pid":{"gt":"1"}}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse(tt.kql)
			if err != nil {
				t.Fatal(err)
			}
			q, err := ToQuery(n, fields)
			if err != nil {
				t.Fatal(err)
			}
			if got := dsl(t, q); got != tt.want {
				t.Errorf("ToQuery(%q)\n got %s\nwant %s", tt.kql, got, tt.want)
			}
		})
	}
}

// TestToQueryWithoutFields: with no field information every field is untyped, as for a
// threat-list query.
func TestToQueryWithoutFields(t *testing.T) {
	for _, tt := range []struct{ kql, want string }{
		{`process.name:a`, `{"bool":{"should":[{"match":{"process.name":"a"}}],"minimum_should_match":1}}`},
		{`process.*:a*`, `{"bool":{"should":[{"query_string":{"fields":["process.*"],"query":"a*"}}],"minimum_should_match":1}}`},
		{`@timestamp >= "now-30d"`, `{"bool":{"should":[{"range":{"@timestamp":{"gte":"now-30d"}}}],"minimum_should_match":1}}`},
	} {
		n, err := Parse(tt.kql)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ToQuery(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := dsl(t, q); got != tt.want {
			t.Errorf("ToQuery(%q)\n got %s\nwant %s", tt.kql, got, tt.want)
		}
	}
}

// TestToQueryECS translates with the built-in ECS mapping, including the worked example
// of kql-and-rule-types.md §2.2 (execution_suspicious_powershell_imgload).
func TestToQueryECS(t *testing.T) {
	ecs := MappingFields(mapping.ECS())
	for _, tt := range []struct{ kql, want string }{
		{`process.executable:(C\:\\Program*Files*\(x86\)\\*.exe or C\:\\Program*Files\\*.exe)`,
			`{"bool":{"should":[` +
				`{"bool":{"should":[{"wildcard":{"process.executable":{"value":"C\\:\\\\Program*Files*\\(x86\\)\\\\*.exe"}}}],"minimum_should_match":1}},` +
				`{"bool":{"should":[{"wildcard":{"process.executable":{"value":"C\\:\\\\Program*Files\\\\*.exe"}}}],"minimum_should_match":1}}` +
				`],"minimum_should_match":1}}`},
		{`event.category:process and @timestamp:"2024-01-01"`,
			`{"bool":{"filter":[{"bool":{"should":[{"term":{"event.category":{"value":"process"}}}],"minimum_should_match":1}},` +
				`{"bool":{"should":[{"range":{"@timestamp":{"gte":"2024-01-01","lte":"2024-01-01","time_zone":"Zulu"}}}],"minimum_should_match":1}}]}}`},
		{`message:"a b"`, `{"bool":{"should":[{"match_phrase":{"message":"a b"}}],"minimum_should_match":1}}`},
		{`source.ip:10.0.0.0/8`, `{"bool":{"should":[{"match":{"source.ip":"10.0.0.0/8"}}],"minimum_should_match":1}}`},
		{`process.parent.na*:*`, `{"bool":{"should":[{"exists":{"field":"process.parent.name"}},{"exists":{"field":"process.parent.name.text"}}],"minimum_should_match":1}}`},
	} {
		n, err := Parse(tt.kql)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ToQuery(n, ecs)
		if err != nil {
			t.Fatal(err)
		}
		if got := dsl(t, q); got != tt.want {
			t.Errorf("ToQuery(%q)\n got %s\nwant %s", tt.kql, got, tt.want)
		}
	}
}
