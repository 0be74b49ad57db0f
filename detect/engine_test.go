package detect

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tripline/tripline/internal/testenv"
	"github.com/tripline/tripline/rule"
)

func sharedPath(t *testing.T, sub string) string {
	t.Helper()
	return testenv.Shared(t, sub)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	return testenv.RepoRoot(t)
}

// seedQuery returns the seed rule's query as Elastic's documentation page shows it.
func seedQuery(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sharedPath(t, "seed"), "000_bd5888970135322b.txt"))
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	q, ok := strings.CutPrefix(line, "text code block:")
	if !ok {
		t.Fatalf("unexpected seed document layout: %q", line[:40])
	}
	return q
}

// scenarioEvents names the events of each alert by their labels.scenario_event.
func scenarioEvents(t *testing.T, alerts []Alert) []string {
	t.Helper()
	var out []string
	for _, a := range alerts {
		doc, err := parseDocument(a.Doc)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.Join(strValues(doc, "labels.scenario_event"), "+")
		out = append(out, a.Kind.String()+":"+name)
	}
	return out
}

// TestSeedRuleScenario runs the seed rule (the corpus version, and the query of the seed
// document) over a scenario: two sequences must alert, (E1,E2) and (E11,E12); the excluded
// utilities (curl E3, bash running /usr/bin/curl E5, sleep E14), a request 1.5 s after the
// exec (E7,E8), a request from another pod (E9,E10) and the second request after a completed
// sequence (E13) must not.
func TestSeedRuleScenario(t *testing.T) {
	seedFile := filepath.Join(sharedPath(t, "rules/detection-rules"),
		"rules/cross-platform/execution_d4c_k8s_mda_kubernetes_api_activity_by_unusual_utilities.toml")
	corpusRule, err := rule.LoadTOMLFile(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	docRule := *corpusRule
	docRule.Query = seedQuery(t)
	want := []string{
		"shell:", "building_block:E1", "building_block:E2",
		"shell:", "building_block:E11", "building_block:E12",
	}
	for _, r := range []*rule.Rule{corpusRule, &docRule} {
		for _, streaming := range []bool{false, true} {
			alerts, sum, evErrs := runFile(t, []*rule.Rule{r}, "testdata/seed_scenario.ndjson",
				Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow, Streaming: streaming})
			if len(sum.RulesSkipped) > 0 || len(evErrs) > 0 {
				t.Fatalf("skipped %v, event errors %v", sum.RulesSkipped, evErrs)
			}
			if got := scenarioEvents(t, alerts); !reflect.DeepEqual(got, want) {
				t.Errorf("streaming=%v query %.40q...: alerts %q, want %q", streaming, r.Query, got, want)
			}
		}
	}
}

// TestCorpusRulesRun loads every rule of the corpus, compiles all 1,024 EQL rules with the
// engine and runs them over the test events (and the examples, when present) without error,
// into alerts that index under the alerts index's mapping.
func TestCorpusRulesRun(t *testing.T) {
	set, err := rule.Load(context.Background(), sharedPath(t, "rules/detection-rules"))
	if err != nil || len(set.Errors) > 0 {
		t.Fatalf("load: %v %v", err, set.Errors)
	}
	set.Rules = eqlOnly(set.Rules)
	inputs := []string{"testdata/events.ndjson", "testdata/seed_scenario.ndjson"}
	if ex, _ := filepath.Glob(filepath.Join(repoRoot(t), "examples", "*", "*.ndjson")); len(ex) > 0 {
		inputs = append(inputs, ex...)
	}
	if ex, _ := filepath.Glob(filepath.Join(repoRoot(t), "examples", "*.ndjson")); len(ex) > 0 {
		inputs = append(inputs, ex...)
	}
	for _, in := range inputs {
		alerts, sum, evErrs := runFile(t, set.Rules, in, Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow})
		checkAlertsIndex(t, in, alerts)
		for _, s := range sum.RulesSkipped {
			t.Errorf("%s: rule %s (%s) skipped: %s", in, s.RuleID, s.Source, s.Reason)
		}
		if sum.RulesLoaded != 1024 {
			t.Errorf("%s: %d rules running, want 1024", in, sum.RulesLoaded)
		}
		t.Logf("%s: %d events, %d alerts, %d unusable events (%v)", in, sum.EventsRead, sum.Alerts, len(evErrs), evErrs)
	}

	// Over the seed scenario, the whole corpus raises exactly the seed rule's two sequences
	// and, for the utilities the seed rule excludes (curl E3, bash running curl E5), the
	// sequences of its companion rule.
	alerts, _, _ := runFile(t, set.Rules, "testdata/seed_scenario.ndjson", Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow})
	var got []string
	for i, n := range scenarioEvents(t, alerts) {
		got = append(got, alerts[i].Rule.Name+" "+n)
	}
	common, unusual := "Direct Interactive Kubernetes API Request by Common Utilities", "Direct Interactive Kubernetes API Request by Unusual Utilities"
	want := []string{
		common + " shell:", common + " building_block:E3", common + " building_block:E4",
		common + " shell:", common + " building_block:E5", common + " building_block:E6",
		unusual + " shell:", unusual + " building_block:E1", unusual + " building_block:E2",
		unusual + " shell:", unusual + " building_block:E11", unusual + " building_block:E12",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("corpus alerts on the seed scenario:\n%q\nwant\n%q", got, want)
	}
}
