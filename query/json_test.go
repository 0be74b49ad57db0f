package query

import (
	"encoding/json"
	"testing"
)

func TestMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"match_all", &MatchAll{}, `{"match_all":{}}`},
		{"empty bool", &Bool{}, `{"bool":{}}`},
		{"bool, every clause", &Bool{
			Must: []Query{&MatchAll{}}, Filter: []Query{&Exists{Field: "a"}}, Should: []Query{&Exists{Field: "b"}},
			MustNot: []Query{&Exists{Field: "c"}, &Exists{Field: "d"}}, MinimumShouldMatch: 1},
			`{"bool":{"must":[{"match_all":{}}],"filter":[{"exists":{"field":"a"}}],"should":[{"exists":{"field":"b"}}],` +
				`"must_not":[{"exists":{"field":"c"}},{"exists":{"field":"d"}}],"minimum_should_match":1}}`},
		{"bool, one must_not is an object", &Bool{MustNot: []Query{&Exists{Field: "c"}}}, `{"bool":{"must_not":{"exists":{"field":"c"}}}}`},
		{"term", &Term{Field: "f", Value: "v"}, `{"term":{"f":{"value":"v"}}}`},
		{"term, case-insensitive", &Term{Field: "f", Value: "v", CaseInsensitive: true}, `{"term":{"f":{"value":"v","case_insensitive":true}}}`},
		{"wildcard", &Wildcard{Field: "f", Value: `a\*b*`}, `{"wildcard":{"f":{"value":"a\\*b*"}}}`},
		{"match", &Match{Field: "f", Query: "a b"}, `{"match":{"f":"a b"}}`},
		{"match with parameters", &Match{Field: "f", Query: "a b", Operator: "and", Lenient: true}, `{"match":{"f":{"query":"a b","operator":"and","lenient":true}}}`},
		{"match_phrase", &MatchPhrase{Field: "f", Query: "a b"}, `{"match_phrase":{"f":"a b"}}`},
		{"multi_match", &MultiMatch{Type: "phrase", Query: "x", Lenient: true}, `{"multi_match":{"type":"phrase","query":"x","lenient":true}}`},
		{"multi_match with fields", &MultiMatch{Query: "x", Fields: []string{"a", "b*"}}, `{"multi_match":{"query":"x","fields":["a","b*"]}}`},
		{"query_string", &QueryString{Fields: []string{"f"}, Query: "a*"}, `{"query_string":{"fields":["f"],"query":"a*"}}`},
		{"query_string lucene", &QueryString{Query: "a:b", AnalyzeWildcard: true, TimeZone: "Zulu"}, `{"query_string":{"query":"a:b","analyze_wildcard":true,"time_zone":"Zulu"}}`},
		{"range", &Range{Field: "f", GTE: "1", LTE: "2", TimeZone: "Zulu"}, `{"range":{"f":{"gte":"1","lte":"2","time_zone":"Zulu"}}}`},
		{"range, every bound", &Range{Field: "f", GT: "1", GTE: "2", LT: "3", LTE: "4", Format: "epoch_millis"},
			`{"range":{"f":{"gt":"1","gte":"2","lt":"3","lte":"4","format":"epoch_millis"}}}`},
		{"exists", &Exists{Field: "f"}, `{"exists":{"field":"f"}}`},
		{"nested", &Nested{Path: "p", Query: &Exists{Field: "p.q"}}, `{"nested":{"path":"p","query":{"exists":{"field":"p.q"}},"score_mode":"none"}}`},
		{"nested without a query", &Nested{Path: "p"}, `{"nested":{"path":"p","query":null,"score_mode":"none"}}`},
		{"string escapes", &Term{Field: "f", Value: "\"\\\n\t\x01é\xff"}, `{"term":{"f":{"value":"\"\\\n\t\u0001é\ufffd"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
