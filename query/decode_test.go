package query

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/tripline/tripline/internal/testenv"
	"github.com/tripline/tripline/rule"
)

func TestDecode(t *testing.T) {
	cases := []struct {
		src  string
		want Query
	}{
		{`{"match_all": {}}`, &MatchAll{}},
		{`{"match_none": {}}`, &Bool{MinimumShouldMatch: 1}},
		{`{"term": {"f": "v"}}`, &Term{Field: "f", Value: "v"}},
		{`{"term": {"f": 443}}`, &Term{Field: "f", Value: "443"}},
		{`{"term": {"f": 1.50}}`, &Term{Field: "f", Value: "1.50"}},
		{`{"term": {"f": true}}`, &Term{Field: "f", Value: "true"}},
		{`{"term": {"f": {"value": "V", "case_insensitive": true, "boost": 2}}}`, &Term{Field: "f", Value: "V", CaseInsensitive: true}},
		{`{"terms": {"f": ["a", 2]}}`, &Bool{Should: []Query{&Term{Field: "f", Value: "a"}, &Term{Field: "f", Value: "2"}}, MinimumShouldMatch: 1}},
		{`{"match": {"f": "a b"}}`, &Match{Field: "f", Query: "a b"}},
		{`{"match": {"f": {"query": "a b", "operator": "AND", "lenient": true}}}`, &Match{Field: "f", Query: "a b", Operator: "and", Lenient: true}},
		{`{"match_phrase": {"event.category": "threat"}}`, &MatchPhrase{Field: "event.category", Query: "threat"}},
		{`{"match_phrase": {"f": {"query": "a b"}}}`, &MatchPhrase{Field: "f", Query: "a b"}},
		{`{"multi_match": {"query": "x", "type": "phrase", "lenient": true}}`, &MultiMatch{Query: "x", Type: "phrase", Lenient: true}},
		{`{"multi_match": {"query": "x", "fields": ["a", "b*"]}}`, &MultiMatch{Query: "x", Fields: []string{"a", "b*"}, Type: "best_fields"}},
		{`{"wildcard": {"f": "a*"}}`, &Wildcard{Field: "f", Value: "a*"}},
		{`{"wildcard": {"file.path": {"value": "C:\\P*", "case_insensitive": true}}}`, &Wildcard{Field: "file.path", Value: `C:\P*`, CaseInsensitive: true}},
		{`{"wildcard": {"f": {"wildcard": "x?"}}}`, &Wildcard{Field: "f", Value: "x?"}},
		{`{"prefix": {"f": "a*\\"}}`, &Wildcard{Field: "f", Value: `a\*\\*`}},
		{`{"exists": {"field": "f"}}`, &Exists{Field: "f"}},
		{`{"range": {"f": {"gte": 1, "lt": "now-1d/d", "format": "strict_date", "time_zone": "Zulu"}}}`, &Range{Field: "f", GTE: "1", LT: "now-1d/d", Format: "strict_date", TimeZone: "Zulu"}},
		{`{"range": {"f": {"from": 1, "to": 5, "include_upper": false, "gt": null}}}`, &Range{Field: "f", GTE: "1", LT: "5"}},
		{`{"query_string": {"fields": ["f"], "query": "a\\ b*", "analyze_wildcard": true, "time_zone": "Zulu"}}`, &QueryString{Fields: []string{"f"}, Query: `a\ b*`, AnalyzeWildcard: true, TimeZone: "Zulu"}},
		{`{"query_string": {"default_field": "f", "query": "x"}}`, &QueryString{Fields: []string{"f"}, Query: "x"}},
		{`{"nested": {"path": "p", "query": {"term": {"p.a": "1"}}, "score_mode": "none"}}`, &Nested{Path: "p", Query: &Term{Field: "p.a", Value: "1"}}},
		{`{"bool": {"filter": {"term": {"a": "1"}}, "must": [{"exists": {"field": "b"}}], "should": [{"term": {"c": "2"}}, {"term": {"c": "3"}}], "must_not": [], "minimum_should_match": "1"}}`,
			&Bool{Filter: []Query{&Term{Field: "a", Value: "1"}}, Must: []Query{&Exists{Field: "b"}},
				Should: []Query{&Term{Field: "c", Value: "2"}, &Term{Field: "c", Value: "3"}}, MustNot: []Query{}, MinimumShouldMatch: 1}},
		{`{"bool": {"should": [{"match_all": {}}, {"match_all": {}}, {"match_all": {}}, {"match_all": {}}], "minimum_should_match": "50%"}}`,
			&Bool{Should: []Query{&MatchAll{}, &MatchAll{}, &MatchAll{}, &MatchAll{}}, MinimumShouldMatch: 2}},
		{`{"bool": {"should": [{"match_all": {}}, {"match_all": {}}, {"match_all": {}}], "minimum_should_match": -1}}`,
			&Bool{Should: []Query{&MatchAll{}, &MatchAll{}, &MatchAll{}}, MinimumShouldMatch: 2}},
	}
	for _, tc := range cases {
		got, err := Decode(tc.src)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(tc.want)
			t.Errorf("%s:\n got  %s\n want %s", tc.src, g, w)
		}
	}
	// A decoded value (as a TOML or JSON decoder gives) reads the same as the text.
	v := map[string]any{"term": map[string]any{"n": int64(5)}}
	if got, err := Decode(v); err != nil || !reflect.DeepEqual(got, &Term{Field: "n", Value: "5"}) {
		t.Errorf("decoded value: %v, %v", got, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`{"regexp": {"f": "a.*"}}`, "regexp: [regexp] queries are not supported"},
		{`{"bool": {"filter": [{"term": {"a": "1"}}, {"fuzzy": {"f": "x"}}]}}`, "bool.filter[1].fuzzy: [fuzzy] queries are not supported"},
		{`{"bool": {"must": {"wildcard": {"f": {"value": "x", "rewrite": "y", "flags": 1}}}}}`, "bool.must.wildcard.f.flags: [wildcard] query does not support [flags]"},
		{`{"term": {"a": "1"}, "match": {"b": "2"}}`, "a query must have exactly one key, found [match, term]"},
		{`{"term": {"a": "1", "b": "2"}}`, "term.b: [term] query doesn't support multiple fields, found [a] and [b]"},
		{`{"term": {"a": {"case_insensitive": true}}}`, "term.a: [term] query has no [value]"},
		{`{"term": {"a": ["x"]}}`, "term.a.value: expected a string, number or boolean, found an array"},
		{`{"terms": {"a": {"index": "i", "id": "1", "path": "p"}}}`, "terms.a: [terms] query needs an array of values (terms lookup is not supported), found an object"},
		{`{"match": {"f": {"query": "x", "operator": "xor"}}}`, "match.f.operator: Unknown operator [xor]"},
		{`{"match_phrase": {"f": {"query": "x", "slop": 2}}}`, "match_phrase.f.slop: [match_phrase] slop other than 0 is not supported"},
		{`{"exists": {}}`, "exists: [exists] must be provided with a [field]"},
		{`{"range": {"f": 5}}`, "range.f: [range] query needs an object of bounds"},
		{`{"nested": {"path": "p"}}`, "nested: [nested] requires 'path' and 'query' fields"},
		{`{"query_string": {"query": "x", "default_operator": "AND"}}`, "query_string.default_operator: [query_string] default_operator [AND] is not supported"},
		{`{"bool": {"minimum_should_match": "2<75%"}}`, "bool.minimum_should_match: minimum_should_match [2<75%] is not supported"},
		{`[1]`, "a query must be an object, found an array"},
		{`{"term": `, "invalid JSON: unexpected EOF"},
	}
	for _, tc := range cases {
		_, err := Decode(tc.src)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got  %v\n want %s", tc.src, err, tc.want)
		}
	}
}

func TestFilters(t *testing.T) {
	cases := []struct {
		src  string // a JSON array of filters
		want Query
	}{
		{`[]`, &MatchAll{}},
		{`[{"meta": {"disabled": true, "negate": true}, "query": {"term": {"a": "1"}}}]`, &MatchAll{}},
		{`[{"meta": {"negate": false}, "query": {"match_phrase": {"a": "1"}}, "$state": {"store": "appState"}},
		   {"meta": {"negate": true}, "query": {"wildcard": {"b": {"value": "x*", "case_insensitive": true}}}},
		   {"meta": {"negate": true, "key": "c", "type": "exists", "value": "exists"}, "exists": {"field": "c"}}]`,
			&Bool{Filter: []Query{&MatchPhrase{Field: "a", Query: "1"}},
				MustNot: []Query{&Wildcard{Field: "b", Value: "x*", CaseInsensitive: true}, &Exists{Field: "c"}}}},
		{`[{"meta": {"type": "combined", "relation": "OR", "params": [
		     {"meta": {}, "query": {"term": {"a": "1"}}},
		     {"meta": {"negate": true}, "query": {"term": {"a": "2"}}},
		     {"meta": {"disabled": true}, "query": {"term": {"a": "3"}}}]}}]`,
			&Bool{Filter: []Query{&Bool{Should: []Query{&Term{Field: "a", Value: "1"},
				&Bool{MustNot: []Query{&Term{Field: "a", Value: "2"}}}}, MinimumShouldMatch: 1}}}},
		{`[{"meta": {"type": "combined", "relation": "AND", "negate": true, "params": [{"query": {"term": {"a": "1"}}}]}}]`,
			&Bool{MustNot: []Query{&Bool{Filter: []Query{&Term{Field: "a", Value: "1"}}}}}},
	}
	for _, tc := range cases {
		var fs []any
		if err := json.Unmarshal([]byte(tc.src), &fs); err != nil {
			t.Fatal(err)
		}
		got, err := Filters(fs)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(tc.want)
			t.Errorf("%s:\n got  %s\n want %s", tc.src, g, w)
		}
	}
	errs := []struct{ src, want string }{
		{`[{"meta": {}, "query": {"term": {"a": "1"}}}, "x"]`, "filters[1]: a filter must be an object, found a string"},
		{`[{"meta": {"negate": "maybe"}, "query": {"match_all": {}}}]`, "filters[0].meta.negate: expected true or false, found a string"},
		{`[{"meta": {}}]`, "filters[0]: the filter has no query"},
		{`[{"meta": {}, "query": {"bool": {"filter": [{"script": {}}]}}}]`, "filters[0].query.bool.filter[0].script: [script] queries are not supported"},
		{`[{"meta": {"type": "combined", "params": {}}}]`, "filters[0].meta.params: a combined filter needs an array of filters, found an object"},
	}
	for _, tc := range errs {
		var fs []any
		if err := json.Unmarshal([]byte(tc.src), &fs); err != nil {
			t.Fatal(err)
		}
		_, err := Filters(fs)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got  %v\n want %s", tc.src, err, tc.want)
		}
	}
}

// TestCorpusFilters decodes the filters of every rule of the detection-rules corpus, and
// the threat_filters of its indicator match rules (which package rule does not keep).
func TestCorpusFilters(t *testing.T) {
	corpusDir := testenv.Shared(t, "rules", "detection-rules")
	set, err := rule.Load(context.Background(), corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	rules := append([]*rule.Rule(nil), set.Rules...)
	for _, s := range set.Skipped {
		rules = append(rules, s.Rule)
	}
	shapes := map[string]int{}
	nRules, nFilters := 0, 0
	for _, r := range rules {
		if len(r.Filters) == 0 {
			continue
		}
		nRules++
		nFilters += len(r.Filters)
		q, err := Filters(r.Filters)
		if err != nil {
			t.Errorf("%s: %v", r.Source, err)
			continue
		}
		b := q.(*Bool)
		for _, x := range b.MustNot {
			shapes["not "+describeQuery(x)]++
		}
		for _, x := range b.Filter {
			shapes[describeQuery(x)]++
		}
	}
	if nRules != 18 || nFilters != 42 {
		t.Errorf("%d rules with %d filters, want 18 with 42", nRules, nFilters)
	}
	want := map[string]int{"not wildcard case_insensitive": 41, "not exists": 1}
	if !reflect.DeepEqual(shapes, want) {
		t.Errorf("filter shapes %v, want %v", shapes, want)
	}

	// threat_filters
	nThreat, nFiles := 0, 0
	threat := map[string]int{}
	err = filepath.WalkDir(corpusDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".toml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.Contains(string(data), "threat_filters") {
			return nil
		}
		var f struct {
			Rule struct {
				ThreatFilters []any `toml:"threat_filters"`
			} `toml:"rule"`
		}
		if err := toml.Unmarshal(data, &f); err != nil {
			return err
		}
		if len(f.Rule.ThreatFilters) == 0 {
			return nil
		}
		nFiles++
		nThreat += len(f.Rule.ThreatFilters)
		q, err := Filters(f.Rule.ThreatFilters)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		for _, x := range q.(*Bool).Filter {
			threat[describeQuery(x)]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if nFiles != 5 || nThreat != 15 || !reflect.DeepEqual(threat, map[string]int{"match_phrase": 15}) {
		t.Errorf("threat_filters: %d files, %d filters, shapes %v; want 5, 15, 15 match_phrase", nFiles, nThreat, threat)
	}
}

func describeQuery(q Query) string {
	if w, ok := q.(*Wildcard); ok && w.CaseInsensitive {
		return "wildcard case_insensitive"
	}
	return q.Name()
}

// FuzzDecode checks that Decode never panics and that what it accepts is a whole tree.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"bool": {"filter": [{"term": {"a": "1"}}], "must_not": {"wildcard": {"b": {"value": "x*", "case_insensitive": true}}}}}`,
		`{"range": {"ts": {"gte": "now-30d/d", "time_zone": "Zulu"}}}`,
		`{"nested": {"path": "p", "query": {"match_phrase": {"p.a": "x y"}}}}`,
		`{"terms": {"a": [1, "b", true]}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Decode(s)
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		checkTree(t, q)
	})
}

func checkTree(t *testing.T, q Query) {
	switch n := q.(type) {
	case nil:
		t.Fatal("nil query in the tree")
	case *Bool:
		for _, l := range [][]Query{n.Must, n.Filter, n.Should, n.MustNot} {
			for _, x := range l {
				checkTree(t, x)
			}
		}
	case *Nested:
		if n.Path == "" {
			t.Fatal("nested without a path")
		}
		checkTree(t, n.Query)
	}
}
