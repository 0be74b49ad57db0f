package rule

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestTypeParamsTOML checks that the threshold, new-terms and indicator-match parameters
// of a detection-rules TOML file are read, normalised and validated with Kibana's wording.
func TestTypeParamsTOML(t *testing.T) {
	const head = "[rule]\nrule_id = \"x\"\nname = \"n\"\nseverity = \"low\"\nlanguage = \"kuery\"\nquery = \"a:1\"\n"
	const nt = "type = \"new_terms\"\n[rule.new_terms]\nfield = \"new_terms_fields\"\nvalue = %s\n" +
		"[[rule.new_terms.history_window_start]]\nfield = \"history_window_start\"\nvalue = \"%s\"\n"
	newTerms := func(fields, start string) string {
		return head + sprintf(nt, fields, start)
	}
	for _, tc := range []struct {
		name, doc string
		check     func(r *Rule) bool
		err       string
	}{
		{"threshold field string", head + "type = \"threshold\"\n[rule.threshold]\nfield = \"host.id\"\nvalue = 20\n",
			func(r *Rule) bool {
				return reflect.DeepEqual(r.Threshold.Field, []string{"host.id"}) && r.Threshold.Value == 20
			}, ""},
		{"threshold field empty string", head + "type = \"threshold\"\n[rule.threshold]\nfield = \"\"\nvalue = 1\n",
			func(r *Rule) bool { return r.Threshold.Field == nil }, ""},
		{"threshold array and cardinality", head + "type = \"threshold\"\n[rule.threshold]\nfield = [\"a\", \"b\"]\nvalue = 1\n" +
			"[[rule.threshold.cardinality]]\nfield = \"c\"\nvalue = 5\n",
			func(r *Rule) bool {
				return reflect.DeepEqual(r.Threshold.Field, []string{"a", "b"}) &&
					reflect.DeepEqual(r.Threshold.Cardinality, []ThresholdCardinality{{"c", 5}})
			}, ""},
		{"threshold value 0", head + "type = \"threshold\"\n[rule.threshold]\nfield = \"a\"\nvalue = 0\n", nil,
			"x.toml: [rule] rule x: threshold.value: Number must be greater than or equal to 1"},
		{"threshold field number", head + "type = \"threshold\"\n[rule.threshold]\nfield = [\"a\", 2]\nvalue = 1\n", nil,
			"x.toml: [rule] rule x: threshold.field.1: Expected string, received number"},
		{"threshold missing", head + "type = \"threshold\"\n", nil, "x.toml: [rule] rule x: threshold: Required"},
		{"new terms", newTerms(`["host.id", "user.name"]`, "now-7d"),
			func(r *Rule) bool {
				return reflect.DeepEqual(r.NewTermsFields, []string{"host.id", "user.name"}) && r.HistoryWindowStart == "now-7d" && r.NewTerms == nil
			}, ""},
		{"new terms none", newTerms(`[]`, "now-7d"), nil,
			"x.toml: [rule] rule x: new_terms_fields: Array must contain at least 1 element(s)"},
		{"new terms four", newTerms(`["a", "b", "c", "d"]`, "now-7d"), nil,
			"x.toml: [rule] rule x: new_terms_fields: Array must contain at most 3 element(s)"},
		{"history after from", newTerms(`["a"]`, "now-1m"), nil,
			"x.toml: [rule] rule x: history_window_start: History window size is smaller than rule interval + additional lookback, 'historyWindowStart' must be earlier than 'from'"},
		{"history not date math", newTerms(`["a"]`, "yesterday"), nil,
			"x.toml: [rule] rule x: history_window_start: Failed to parse 'historyWindowStart' or 'from' (\"yesterday\", \"now-6m\")"},
		{"threat mapping type", head + "type = \"threat_match\"\nthreat_index = [\"ti\"]\n[[rule.threat_mapping]]\n[[rule.threat_mapping.entries]]\n" +
			"field = \"a\"\ntype = \"match\"\nvalue = \"b\"\n", nil,
			"x.toml: [rule] rule x: threat_mapping.0.entries.0.type: Invalid enum value. Expected 'mapping', received 'match'"},
		{"threat mapping", head + "type = \"threat_match\"\nthreat_index = [\"ti\"]\nthreat_indicator_path = \"threat.indicator\"\n" +
			"[[rule.threat_mapping]]\n[[rule.threat_mapping.entries]]\nfield = \"a\"\ntype = \"mapping\"\nvalue = \"b\"\n",
			func(r *Rule) bool {
				return reflect.DeepEqual(r.ThreatMapping, []ThreatMapping{{Entries: []ThreatMappingEntry{{"a", "mapping", "b"}}}}) &&
					r.Unsupported() == "" && r.IsThreatMatch()
			}, ""},
	} {
		r, err := ParseTOML([]byte(tc.doc), "x.toml")
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s:\n got %v\nwant %s", tc.name, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case !tc.check(r):
			t.Errorf("%s: rule %+v", tc.name, r)
		}
	}
}

func sprintf(format string, fields, start string) string {
	return strings.Replace(strings.Replace(format, "%s", fields, 1), "%s", start, 1)
}

// TestTypeParamsJSON checks the Kibana API form of the parameters (an export's lines).
func TestTypeParamsJSON(t *testing.T) {
	const line = `{"rule_id":"x","name":"n","type":"%s","language":"kuery","query":"a:1","severity":"low","risk_score":1,%s}`
	mk := func(typ, params string) string { return sprintf(line, typ, params) }
	rules, errs := ReadNDJSON(strings.NewReader(mk("threshold", `"threshold":{"field":"host.id","value":3,"cardinality":[{"field":"user.name","value":2}]}`)+"\n"+
		mk("new_terms", `"new_terms_fields":["host.id"],"history_window_start":"now-5d"`)+"\n"+
		mk("threshold", `"threshold":{"field":["a"],"value":-1}`)+"\n"), "x.ndjson")
	if len(rules) != 2 || len(errs) != 1 {
		t.Fatalf("rules %d, errors %v", len(rules), errs)
	}
	if th := rules[0].Threshold; !reflect.DeepEqual(th.Field, []string{"host.id"}) || th.Value != 3 || th.Cardinality[0] != (ThresholdCardinality{"user.name", 2}) {
		t.Errorf("threshold %+v", th)
	}
	if r := rules[1]; !reflect.DeepEqual(r.NewTermsFields, []string{"host.id"}) || r.HistoryWindowStart != "now-5d" || r.Unsupported() != "" {
		t.Errorf("new terms %+v", r)
	}
	if want := "x.ndjson:3: rule x: threshold.value: Number must be greater than or equal to 1"; errs[0].Error() != want {
		t.Errorf("error %v, want %s", errs[0], want)
	}
}

func TestLookback(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"now", 0, false}, {"now-9m", 9 * time.Minute, false}, {"now-7d", 7 * 24 * time.Hour, false},
		{"now-12h", 12 * time.Hour, false}, {"now-2w", 14 * 24 * time.Hour, false}, {"now-30s", 30 * time.Second, false},
		{"now-1M", 0, true}, {"now-7d/d", 0, true}, {"now+1d", 0, true}, {"2020-01-01", 0, true}, {"now-d", 0, true},
	} {
		got, err := Lookback(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("Lookback(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}
