package detect

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/rule"
)

// TestCorpusRulesECS compiles every EQL rule of the corpus with the built-in ECS mapping,
// detect's default, and runs them over the test events and the examples: all 1,024 run,
// and they raise exactly the alerts they raise with dynamic mapping alone.
func TestCorpusRulesECS(t *testing.T) {
	set, err := rule.Load(context.Background(), sharedPath(t, "rules/detection-rules"))
	if err != nil || len(set.Errors) > 0 {
		t.Fatalf("load: %v %v", err, set.Errors)
	}
	set.Rules = eqlOnly(set.Rules)
	inputs := []string{"testdata/events.ndjson", "testdata/seed_scenario.ndjson"}
	ex, _ := filepath.Glob(filepath.Join(repoRoot(t), "examples", "*", "*.ndjson"))
	inputs = append(inputs, ex...)
	total := 0
	for _, in := range inputs {
		var docs [2][]string
		for i, m := range []*mapping.Mapping{nil, mapping.ECS()} {
			alerts, sum, _ := runFile(t, set.Rules, in, Options{Compile: EngineCompiler(EngineOptions{Mapping: m}), Now: testNow})
			for _, s := range sum.RulesSkipped {
				t.Errorf("%s: mapping %d: rule %s (%s) skipped: %s", in, i, s.RuleID, s.Source, s.Reason)
			}
			if sum.RulesLoaded != 1024 {
				t.Errorf("%s: mapping %d: %d rules running, want 1024", in, i, sum.RulesLoaded)
			}
			for _, a := range alerts {
				docs[i] = append(docs[i], string(a.Doc))
			}
		}
		if len(docs[0]) != len(docs[1]) {
			t.Errorf("%s: %d alerts with dynamic mapping, %d with ECS", in, len(docs[0]), len(docs[1]))
			continue
		}
		for j := range docs[0] {
			if docs[0][j] != docs[1][j] {
				t.Errorf("%s: alert %d differs with ECS:\n%s\nwant:\n%s", in, j, docs[1][j], docs[0][j])
			}
		}
		total += len(docs[0])
	}
	if total == 0 {
		t.Error("no alert at all: the comparison proves nothing")
	}
	t.Logf("%d alerts, the same with ECS", total)
}

// eqlOnly returns the EQL rules of rules: the corpus tests that count 1,024 rules or parse
// their queries as EQL leave the query rules out.
func eqlOnly(rules []*rule.Rule) []*rule.Rule {
	return slices.DeleteFunc(rules, func(r *rule.Rule) bool { return !r.IsEQL() })
}
