package detect

import (
	"testing"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/kql"
	"github.com/tripline/tripline/mapping"
)

// TestRoutesSearch checks the requirements drawn from the DSL a KQL query translates to:
// keyword terms and wildcards key on their values and literal parts, or-lists on their
// union, must_not on nothing; text, numbers, ranges, exists and escaped wildcards need the
// field present; free text needs nothing.
func TestRoutesSearch(t *testing.T) {
	m, err := mapping.Parse([]byte(`{"properties":{"k":{"type":"keyword"},"j":{"type":"keyword"},` +
		`"t":{"type":"text"},"n":{"type":"long"},"d":{"type":"date"},` +
		`"c":{"type":"keyword","fields":{"caseless":{"type":"keyword","normalizer":"lowercase"}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kql  string
		m    *mapping.Mapping
		want string
	}{
		{`k:Foo and j:(a or B)`, m, `any [k=foo] [j=a,b]`},
		{`k:foo or j:bar`, m, `any [k=foo|j=bar]`},
		{`(k:foo and n:1) or j:bar`, m, `any [k=foo|j=bar] [n exists|j=bar]`},
		{`k:foo or not j:bar`, m, `any`},
		{`not k:foo`, m, `any`},
		{`k:Python* and j:*.exe and c:*Get*Item*`, m, `any [k=python*] [j=*.exe] [c=*item*]`},
		// KQL has no ? wildcard: the translation escapes it, and escaped characters are literal
		// parts of the pattern like the others
		{`k:ab?d*`, m, `any [k=ab?d*]`},
		{`k:ab* and j:C\:\\x\\*`, m, `any [k exists] [j=c:\x\*]`},
		{`k:*/etc/kubernetes/manifests/* and j:*/.aws/credentials`, m, `any [k=*/etc/kubernetes/manifests/*] [j=*/.aws/credentials]`},
		{`k:*/etc/* and j:2024*`, m, `any [k=*/etc/*] [j exists]`},
		{`t:hello and n:5 and n >= 3 and d:2024-01-01 and k:*`, m, `any [t exists] [n exists] [n exists] [d exists] [k exists]`},
		{`c.caseless:abc`, m, `any`},
		{`k:é`, m, `any [k exists]`},
		{`hello`, m, `any`},
		// without a mapping strings are keywords (the dynamic mapping), and an untyped wildcard is a
		// query_string, keyed on its terms (split at blanks) as a wildcard query is
		{`k:Foo and j:bar*`, nil, `any [k=foo] [j=bar*]`},
		{`j:(*ssm-user or */install/_script.sh)`, nil, `any [j=*ssm-user,*/install/_script.sh]`},
		{`j:ab*`, nil, `any [j exists]`},
		{`j:(ab* or cde*)`, nil, `any [j exists]`},
	}
	for _, tc := range tests {
		n, err := kql.Parse(tc.kql)
		if err != nil {
			t.Fatalf("%s: %v", tc.kql, err)
		}
		q, err := kql.ToQuery(n, kql.MappingFields(tc.m))
		if err != nil {
			t.Fatalf("%s: %v", tc.kql, err)
		}
		stmt := &eql.Statement{Query: &eql.EventQuery{Any: true, Where: &eql.Search{Language: "kuery", Source: tc.kql, Query: q}}}
		if got := formatRoutes(Routes(stmt, tc.m)); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.kql, got, tc.want)
		}
	}
}
