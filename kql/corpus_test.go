package kql

import (
	"context"
	"os"
	"sort"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/tripline/tripline/internal/testenv"
	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/rule"
)

type corpusQuery struct {
	name, query string
}

// corpusQueries returns every KQL string of the detection-rules corpus: the query of
// each rule whose language is kuery, and the threat_query of each of those that has one.
func corpusQueries(tb testing.TB) (queries, threatQueries []corpusQuery) {
	tb.Helper()
	root := testenv.Shared(tb, "rules", "detection-rules")
	set, err := rule.Load(context.Background(), root)
	if err != nil {
		tb.Fatal(err)
	}
	if len(set.Errors) > 0 {
		tb.Fatalf("corpus: %d files do not load, first: %v", len(set.Errors), set.Errors[0])
	}
	rules := append([]*rule.Rule(nil), set.Rules...)
	for _, sk := range set.Skipped {
		rules = append(rules, sk.Rule)
	}
	for _, r := range rules {
		if r.Language != "kuery" {
			continue
		}
		queries = append(queries, corpusQuery{r.Source.Path, r.Query})
		// package rule does not read threat_query: read it from the file.
		data, err := os.ReadFile(r.Source.Path)
		if err != nil {
			tb.Fatal(err)
		}
		var doc struct {
			Rule struct {
				ThreatQuery *string `toml:"threat_query"`
			} `toml:"rule"`
		}
		if err := toml.Unmarshal(data, &doc); err != nil {
			tb.Fatalf("%s: %v", r.Source.Path, err)
		}
		if doc.Rule.ThreatQuery != nil {
			threatQueries = append(threatQueries, corpusQuery{r.Source.Path + " (threat_query)", *doc.Rule.ThreatQuery})
		}
	}
	sort.Slice(queries, func(i, j int) bool { return queries[i].name < queries[j].name })
	sort.Slice(threatQueries, func(i, j int) bool { return threatQueries[i].name < threatQueries[j].name })
	return queries, threatQueries
}

// TestCorpus parses every KQL string of the corpus (kql-and-rule-types.md §9: 729 queries
// and 6 threat queries, all valid for Kibana), prints it and checks the printed form
// parses to the same tree, and translates it with the ECS mapping.
func TestCorpus(t *testing.T) {
	queries, threats := corpusQueries(t)
	if len(queries) != 729 || len(threats) != 6 {
		t.Fatalf("corpus has %d kuery queries and %d threat queries, want 729 and 6", len(queries), len(threats))
	}
	ecs := MappingFields(ecsMapping())
	parsed := 0
	for _, q := range append(queries, threats...) {
		n, err := Parse(q.query)
		if err != nil {
			t.Errorf("%s: %v", q.name, err)
			continue
		}
		out := Format(n)
		n2, err := Parse(out)
		if err != nil {
			t.Errorf("%s: printed form does not parse: %v\n%s", q.name, err, out)
			continue
		}
		if !Equal(n, n2) {
			t.Errorf("%s: printed form parses to another tree\n%s\n%s", q.name, sexpr(n), sexpr(n2))
			continue
		}
		if _, err := ToQuery(n, ecs); err != nil {
			t.Errorf("%s: ToQuery: %v", q.name, err)
			continue
		}
		parsed++
	}
	if parsed != 735 {
		t.Errorf("%d of 735 corpus KQL strings parse, round-trip and translate", parsed)
	}
}

func ecsMapping() *mapping.Mapping { return mapping.ECS() }
