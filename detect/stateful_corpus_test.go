package detect

import (
	"context"
	"reflect"
	"testing"

	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/rule"
)

// TestCorpusStatefulRules compiles every threshold, new-terms and indicator-match rule of
// the corpus, with dynamic mapping and with ECS (detect's default): all 28 threshold rules,
// 240 of the 241 new-terms rules and, given indicators, all 6 indicator-match rules run; the
// one left is refused, as Elasticsearch refuses its query, because its nested query names a
// field that is not mapped as nested. Without indicators, the 6 are refused with the reason.
func TestCorpusStatefulRules(t *testing.T) {
	set, err := rule.Load(context.Background(), sharedPath(t, "rules/detection-rules"))
	if err != nil || len(set.Errors) > 0 {
		t.Fatalf("load: %v %v", err, set.Errors)
	}
	var rules []*rule.Rule
	kinds := map[string]int{}
	for _, r := range set.Rules {
		if r.IsThreshold() || r.IsNewTerms() || r.IsThreatMatch() {
			rules = append(rules, r)
			kinds[r.Type]++
		}
	}
	if want := map[string]int{"threshold": 28, "new_terms": 241, "threat_match": 6}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("rules loaded %v, want %v", kinds, want)
	}
	const gcp = "[nested] failed to find nested object under path [gcp.audit.service_data.policy_delta.binding_deltas]"
	for _, m := range []*mapping.Mapping{nil, mapping.ECS()} {
		none := func(context.Context, func([]byte, EventSource) error) error { return nil }
		alerts, sum, _ := runFile(t, rules, "testdata/events.ndjson",
			Options{Compile: EngineCompiler(EngineOptions{Mapping: m}), Mapping: m, Now: testNow, Indicators: none})
		running := map[string]int{}
		for _, rs := range sum.Rules {
			for _, r := range rules {
				if r.RuleID == rs.RuleID {
					running[r.Type]++
				}
			}
		}
		var reasons []string
		for _, s := range sum.RulesSkipped {
			reasons = append(reasons, s.Source[len(s.Source)-len("persistence_gcp_service_account_impersonation_role_grant.toml"):]+": "+s.Reason)
		}
		want := []string{"persistence_gcp_service_account_impersonation_role_grant.toml: failed to create query: " + gcp}
		if !reflect.DeepEqual(running, map[string]int{"threshold": 28, "new_terms": 240, "threat_match": 6}) || !reflect.DeepEqual(reasons, want) {
			t.Errorf("mapping %v: running %v, skipped %q; want 28 threshold, 240 new_terms, 6 threat_match, skipped %q", m != nil, running, reasons, want)
		}
		checkAlertsIndex(t, "testdata/events.ndjson", alerts)
		t.Logf("mapping %v: %d events, %d alerts", m != nil, sum.EventsRead, len(alerts))
	}
}

// TestThreatMatchNeedsIndicators checks that an indicator-match rule without indicators is
// skipped with the reason.
func TestThreatMatchNeedsIndicators(t *testing.T) {
	r, err := rule.LoadTOMLFile(sharedPath(t, "rules/detection-rules/rules/threat_intel/threat_intel_indicator_match_address.toml"))
	if err != nil {
		t.Fatal(err)
	}
	_, sum, _ := runFile(t, []*rule.Rule{r}, "testdata/events.ndjson", Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow})
	want := "indicator match rule without indicators: give the documents of its threat index (detect --indicators)"
	if len(sum.RulesSkipped) != 1 || sum.RulesSkipped[0].Reason != want {
		t.Errorf("skipped %+v, want the reason %q", sum.RulesSkipped, want)
	}
}
