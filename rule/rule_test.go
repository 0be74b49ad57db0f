package rule

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/internal/testenv"
)

func TestLoadCorpus(t *testing.T) {
	dir := testenv.Shared(t, "rules", "detection-rules")
	set, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range set.Errors {
		t.Errorf("load error: %v", e)
	}
	var eqlRules, queryRules, threshold, newTerms, threat int
	for _, r := range set.Rules {
		switch {
		case r.IsEQL():
			eqlRules++
		case r.IsQuery() && r.Language == "kuery":
			queryRules++
		case r.IsThreshold():
			threshold++
		case r.IsNewTerms():
			newTerms++
		case r.IsThreatMatch():
			threat++
		}
	}
	if len(set.Rules) != 1024+454+28+241+6 || eqlRules != 1024 || queryRules != 454 || threshold != 28 || newTerms != 241 || threat != 6 {
		t.Errorf("rules loaded = %d (EQL %d, KQL query %d, threshold %d, new_terms %d, threat_match %d), want 1753 (1024, 454, 28, 241, 6)",
			len(set.Rules), eqlRules, queryRules, threshold, newTerms, threat)
	}
	want := map[string]int{
		"not a rule type Tripline runs (esql/esql)":        209,
		"not a rule type Tripline runs (machine_learning)": 106,
	}
	if got := set.SkippedByReason(); !reflect.DeepEqual(got, want) {
		t.Errorf("skipped by reason = %v, want %v", got, want)
	}
	var bbr, override, ingested, maxSig int
	for _, r := range set.Rules {
		if !r.IsEQL() {
			continue
		}
		if r.BuildingBlockType == "default" {
			bbr++
		}
		if r.EventCategoryOverride != "" {
			override++
		}
		if r.TimestampOverride == "event.ingested" {
			ingested++
		}
		if r.MaxSignals != DefaultMaxSignals {
			maxSig++
		}
		if len(r.Index) == 0 || r.Query == "" || r.Source.Path == "" {
			t.Errorf("%s: index, query or source missing", r.Source)
		}
	}
	if override != 15 || ingested != 881 {
		t.Errorf("event_category_override rules = %d (want 15), event.ingested overrides = %d (want 881; rule-format.md says 880, grep of the corpus finds 881)", override, ingested)
	}
	if bbr != 70 || maxSig != 11 {
		t.Errorf("EQL building blocks = %d (want 70), non-default max_signals = %d (want 11)", bbr, maxSig)
	}
}

func TestSeedRuleFields(t *testing.T) {
	dir := testenv.Shared(t, "rules", "detection-rules")
	r, err := LoadTOMLFile(filepath.Join(dir, "rules/cross-platform/execution_d4c_k8s_mda_kubernetes_api_activity_by_unusual_utilities.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if r.RuleID != "02275e05-57a1-46ab-a443-7fb444da6b28" || r.Severity != "low" || r.RiskScore != 21 ||
		r.From != "now-6m" || r.Interval != "5m" || r.MaxSignals != 100 || !r.Enabled ||
		r.TimestampOverride != "event.ingested" || r.UUID() != r.RuleID || r.Version != 0 {
		t.Errorf("unexpected seed rule fields: %+v", r)
	}
	if want := []string{"logs-cloud_defend.process*", "logs-kubernetes.audit_logs-*"}; !reflect.DeepEqual(r.Index, want) {
		t.Errorf("index = %q", r.Index)
	}
	if len(r.Threat) != 2 || r.Threat[0].Tactic.ID != "TA0002" || len(r.Threat[0].Technique) != 3 ||
		r.Threat[0].Technique[0].Subtechnique[0].ID != "T1059.004" || r.Threat[1].Tactic.Name != "Discovery" {
		t.Errorf("threat = %+v", r.Threat)
	}
	if !strings.HasPrefix(r.Query, "sequence with maxspan=1s\n") || len(r.FalsePositives) != 2 || len(r.Tags) != 9 {
		t.Errorf("query/false_positives/tags not read as written")
	}
	if !r.Immutable || r.CreatedAt != "2026-01-21T00:00:00.000Z" || r.UpdatedAt != "2026-04-10T00:00:00.000Z" ||
		r.CreatedBy != "" || r.RuleSource != nil || r.InvestigationFields != nil || r.TimelineID != "" {
		t.Errorf("seed rule metadata: immutable %v, created %q, updated %q, by %q, source %v, investigation %v, timeline %q",
			r.Immutable, r.CreatedAt, r.UpdatedAt, r.CreatedBy, r.RuleSource, r.InvestigationFields, r.TimelineID)
	}
}

// TestCorpusAlertFields reads the rule fields alerts copy (timeline template, investigation
// fields, dates from [metadata]) from corpus files that have them.
func TestCorpusAlertFields(t *testing.T) {
	dir := testenv.Shared(t, "rules", "detection-rules")
	for _, tc := range []struct {
		file string
		want string
	}{
		{"rules/cross-platform/impact_hosts_file_modified.toml",
			`timeline 4d4c0b59-ea83-483f-b8c1-8c360ee53c5c "Comprehensive File Timeline", investigation <nil>, created 2020-07-07T00:00:00.000Z, updated 2026-02-02T00:00:00.000Z, immutable true`},
		{"rules/integrations/google_workspace/initial_access_external_user_added_to_google_workspace_group.toml",
			`timeline  "", investigation &{[@timestamp user.name user.email source.ip google_workspace.actor.type user.target.email google_workspace.admin.group.email event.action cloud.account.id]}, created 2023-02-16T00:00:00.000Z, updated 2026-05-22T00:00:00.000Z, immutable true`},
	} {
		r, err := LoadTOMLFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("timeline %s %q, investigation %v, created %s, updated %s, immutable %v",
			r.TimelineID, r.TimelineTitle, r.InvestigationFields, r.CreatedAt, r.UpdatedAt, r.Immutable)
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.file, got, tc.want)
		}
	}
}

// TestTOMLMetadata checks how [metadata] and the newer [rule] fields are read.
func TestTOMLMetadata(t *testing.T) {
	const rule = "[rule]\nrule_id = \"x\"\nname = \"n\"\ntype = \"eql\"\nseverity = \"low\"\n"
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"production", "[metadata]\ncreation_date = \"2024/02/29\"\nupdated_date = \"2025/12/31\"\nmaturity = \"production\"\n" + rule,
			`immutable=true created="2024-02-29T00:00:00.000Z" updated="2025-12-31T00:00:00.000Z"`},
		{"development", "[metadata]\ncreation_date = \"2024/02/29\"\nmaturity = \"development\"\n" + rule,
			`immutable=false created="2024-02-29T00:00:00.000Z" updated=""`},
		{"no metadata", rule, `immutable=false created="" updated=""`},
		{"metadata values of other types are passed over", "[metadata]\ncreation_date = 20240229\nmaturity = [\"production\"]\n" + rule,
			`immutable=false created="" updated=""`},
		{"bad date", "[metadata]\ncreation_date = \"2024-02-29\"\n" + rule,
			`error: x.toml: [metadata] creation_date "2024-02-29" is not a date written YYYY/MM/DD`},
		{"impossible date", "[metadata]\nupdated_date = \"2023/02/29\"\n" + rule,
			`error: x.toml: [metadata] updated_date "2023/02/29" is not a date written YYYY/MM/DD`},
		{"timeline and investigation fields", rule + "timeline_id = \"t1\"\ntimeline_title = \"T\"\n[rule.investigation_fields]\nfield_names = [\"host.name\", \"user.name\"]\n",
			`immutable=false created="" updated="" timeline=t1/T investigation=[host.name user.name]`},
		{"related integrations and required fields", rule + "[[rule.related_integrations]]\npackage = \"endpoint\"\nversion = \"^8.2.0\"\n[[rule.required_fields]]\nname = \"process.name\"\ntype = \"keyword\"\necs = true\n",
			`immutable=false created="" updated="" related=[{endpoint ^8.2.0 }] required=[{process.name keyword true}]`},
		{"fields only a Kibana export or [metadata] sets are not read from [rule]", "[metadata]\nmaturity = \"development\"\n" + rule +
			"immutable = true\nImmutable = true\ncreated_at = \"2020-01-01T00:00:00Z\"\nrule_source = {type = \"external\"}\nsource = \"elsewhere\"\n",
			`immutable=false created="" updated=""`},
		{"byte order mark", "\ufeff[metadata]\nmaturity = \"production\"\n" + rule, `immutable=true created="" updated=""`},
	} {
		r, err := ParseTOML([]byte(tc.doc), "x.toml")
		got := ""
		if err != nil {
			got = "error: " + err.Error()
		} else {
			got = fmt.Sprintf("immutable=%v created=%q updated=%q", r.Immutable, r.CreatedAt, r.UpdatedAt)
			if r.TimelineID != "" || r.InvestigationFields != nil {
				got += fmt.Sprintf(" timeline=%s/%s investigation=%v", r.TimelineID, r.TimelineTitle, r.InvestigationFields.FieldNames)
			}
			if r.RelatedIntegrations != nil || r.RequiredFields != nil {
				got += fmt.Sprintf(" related=%v required=%v", r.RelatedIntegrations, r.RequiredFields)
			}
		}
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if err == nil && (r.Source != Source{Path: "x.toml"} || r.RuleSource != nil) {
			t.Errorf("%s: source %+v, rule_source %v; want x.toml and none", tc.name, r.Source, r.RuleSource)
		}
	}
}

// TestParseTOMLErrors checks that a malformed rule file, or a value of the wrong type, is
// reported with its line and column.
func TestParseTOMLErrors(t *testing.T) {
	const rule = "[rule]\nrule_id = \"x\"\nname = \"n\"\ntype = \"eql\"\nseverity = \"low\"\n"
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"not TOML", "this is [not toml\n", "x.toml:1: column 6: expected '=' after key"},
		{"newline in a string", rule + "note = \"abc\ndef\"\n", "x.toml:6: column 12: basic strings cannot have new lines"},
		{"unterminated query", rule + "query = '''\nprocess where true\n", "x.toml:7: column 19: multiline literal string not terminated by '''"},
		{"duplicate key", rule + "name = \"m\"\n", "x.toml:6: column 1: key name is already defined"},
		{"table defined twice", rule + "[rule]\n", "x.toml:6: column 2: table rule already exists"},
		{"string for an integer", rule + "risk_score = \"47\"\n",
			"x.toml:6: column 14: cannot decode TOML string into struct field rule.Rule.RiskScore of type int"},
		{"integer in a list of strings", rule + "tags = [\"a\", 1]\n",
			"x.toml:6: column 14: cannot decode TOML integer into struct field rule.Rule.Tags of type string"},
		{"tactic not a table", rule + "[[rule.threat]]\ntactic = \"TA0002\"\n",
			"x.toml:7: column 10: cannot decode TOML string into struct field rule.Threat.Tactic of type rule.ThreatRef"},
		{"integer out of range", rule + "max_signals = 99999999999999999999\n",
			"x.toml:6: column 15: decimal number is too large to fit in a 64-bit signed integer"},
		{"no [rule] table", "[metadata]\nmaturity = \"production\"\n", "x.toml: [rule] missing required field(s) rule_id, name, type"},
		{"malformed interval", rule + "interval = \"5x\"\n", "x.toml: [rule] rule x: interval: string is not a valid duration: 5x"},
	} {
		_, err := ParseTOML([]byte(tc.doc), "x.toml")
		var fe *FileError
		if err == nil || !errors.As(err, &fe) || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.name, err, tc.want)
		}
	}
}

func TestLoadMixedDirectory(t *testing.T) {
	set, err := Load(context.Background(), "testdata/mixed")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range set.Rules {
		ids = append(ids, r.RuleID+" "+r.Source.String())
	}
	wantIDs := []string{
		"11111111-1111-4111-8111-111111111111 testdata/mixed/a_good.toml",
		"55555555-5555-4555-8555-555555555555 testdata/mixed/sub/e_good.toml",
	}
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Errorf("rules = %q, want %q", ids, wantIDs)
	}
	var errs []string
	for _, e := range set.Errors {
		var fe *FileError
		if !errors.As(e, &fe) {
			t.Errorf("error %v is not a *FileError", e)
		}
		errs = append(errs, e.Error())
	}
	wantErrs := []string{
		"testdata/mixed/b_broken.toml:2: column 36: basic strings cannot have new lines",
		`testdata/mixed/sub/d_bad_severity.toml: [rule] rule 44444444-4444-4444-8444-444444444444: severity "urgent" is not one of low, medium, high, critical`,
	}
	if !reflect.DeepEqual(errs, wantErrs) {
		t.Errorf("errors =\n%q\nwant\n%q", errs, wantErrs)
	}
	var skipped []string
	for _, s := range set.Skipped {
		skipped = append(skipped, s.Rule.Source.String()+": "+s.Reason)
	}
	wantSkipped := []string{
		"testdata/mixed/c_kuery.toml: not a rule type Tripline runs (esql/esql)",
		"testdata/mixed/sub/f_dup.toml: duplicate rule_id (first loaded from testdata/mixed/a_good.toml)",
	}
	if !reflect.DeepEqual(skipped, wantSkipped) {
		t.Errorf("skipped = %q, want %q", skipped, wantSkipped)
	}

	a, e := set.Rules[0], set.Rules[1]
	wantA := &Rule{
		RuleID: "11111111-1111-4111-8111-111111111111", Name: "Interactive shell in a container",
		Description: "An interactive shell in a container.", Type: "eql", Language: "eql",
		Query: "process where process.interactive == true and process.name : \"bash\"\n",
		Index: []string{"logs-cloud_defend.process*"}, RiskScore: 47, Severity: "medium",
		Tags: []string{"Domain: Container"},
		Threat: []Threat{{
			Framework: "MITRE ATT&CK",
			Tactic:    ThreatRef{"TA0002", "Execution", "https://attack.mitre.org/tactics/TA0002/"},
			Technique: []Technique{{
				ID: "T1059", Name: "Command and Scripting Interpreter", Reference: "https://attack.mitre.org/techniques/T1059/",
				Subtechnique: []ThreatRef{{"T1059.004", "Unix Shell", "https://attack.mitre.org/techniques/T1059/004/"}},
			}},
		}},
		TimestampOverride: "event.ingested", MaxSignals: 100, From: "now-6m", To: "now", Interval: "5m",
		Enabled: true, Author: []string{"Tripline tests"}, License: "Apache-2.0",
		Immutable: true, CreatedAt: "2026-01-01T00:00:00.000Z", UpdatedAt: "2026-01-01T00:00:00.000Z",
		Source: Source{Path: "testdata/mixed/a_good.toml"},
	}
	if !reflect.DeepEqual(a, wantA) {
		t.Errorf("a_good.toml =\n%+v\nwant\n%+v", a, wantA)
	}
	if e.Enabled || e.MaxSignals != 33 || e.From != "now-9m" || e.BuildingBlockType != "default" ||
		e.EventCategoryOverride != "event.type" || len(e.Index) != 2 {
		t.Errorf("e_good.toml = %+v", e)
	}
}

func TestReadNDJSONExport(t *testing.T) {
	set, err := Load(context.Background(), "testdata/export.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Errors) != 0 {
		t.Fatalf("errors: %v", set.Errors)
	}
	if len(set.Rules) != 2 || len(set.Skipped) != 0 || !set.Rules[1].IsQuery() {
		t.Fatalf("rules %d skipped %d, want 2 (an EQL rule and a query rule) and 0", len(set.Rules), len(set.Skipped))
	}
	r := set.Rules[0]
	if r.UUID() != "8a1d4e52-7d0b-4c64-9d8e-3f0c2b6a9e11" || r.RuleID != "c6f0a5b4-3f1e-4a7d-9b2c-5e8d7f6a1b20" ||
		r.Version != 3 || r.MaxSignals != 50 || r.From != "now-360s" || r.Source.String() != "testdata/export.ndjson:1" ||
		r.Threat[0].Technique[0].Subtechnique[0].ID != "T1505.003" || r.Severity != "high" || r.RiskScore != 73 ||
		r.Query != `process where event.type == "start" and process.parent.name in ("nginx", "apache2") and process.name in ("sh", "bash")` {
		t.Errorf("rule 1 = %+v", r)
	}
	if q := set.Rules[1]; q.Source.String() != "testdata/export.ndjson:2" || q.Enabled || q.Language != "kuery" {
		t.Errorf("query rule = %+v (%s)", q, q.Source)
	}
}

// TestReadNDJSONPrebuilt reads the rule metadata alerts copy from a Kibana export of a
// prebuilt rule, with investigation_fields in the list form Kibana stored before 8.11.
func TestReadNDJSONPrebuilt(t *testing.T) {
	set, err := Load(context.Background(), "testdata/export_prebuilt.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	for _, e := range set.Errors {
		errs = append(errs, e.Error())
	}
	wantErrs := []string{`testdata/export_prebuilt.ndjson:2: rule 5d1c2a3b-0000-4000-8000-00000000e1e3: created_at "yesterday" is not an RFC 3339 time`}
	if !reflect.DeepEqual(errs, wantErrs) || len(set.Rules) != 1 {
		t.Fatalf("%d rules, errors %q, want 1 and %q", len(set.Rules), errs, wantErrs)
	}
	r := set.Rules[0]
	got := fmt.Sprintf("immutable=%v source=%v created=%s/%s updated=%s/%s timeline=%s/%s investigation=%v related=%v required=%v",
		r.Immutable, r.RuleSource, r.CreatedAt, r.CreatedBy, r.UpdatedAt, r.UpdatedBy, r.TimelineID, r.TimelineTitle,
		r.InvestigationFields.FieldNames, r.RelatedIntegrations, r.RequiredFields)
	want := "immutable=true source=map[is_customized:false type:external] created=2025-06-01T07:00:00Z/soc-admin " +
		"updated=2025-06-02T08:30:00.5Z/soc-admin timeline=4d4c0b59-ea83-483f-b8c1-8c360ee53c5c/Comprehensive File Timeline " +
		"investigation=[host.name file.path] related=[{endpoint ^8.2.0 } {windows ^2.0.0 sysmon_operational}] " +
		"required=[{event.type keyword true} {file.path keyword true}]"
	if got != want {
		t.Errorf("rule:\n got %s\nwant %s", got, want)
	}
}

func TestReadNDJSONBadLines(t *testing.T) {
	f, err := os.Open("testdata/badlines.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules, errs := ReadNDJSON(f, "x.ndjson")
	if len(rules) != 1 || rules[0].RuleID != "99999999-9999-4999-8999-999999999999" || rules[0].MaxSignals != 100 {
		t.Errorf("rules = %+v", rules)
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		"x.ndjson:2: not a JSON object: invalid character 'o' looking for beginning of value",
		"x.ndjson:4: json: cannot unmarshal string into Go struct field Rule.risk_score of type int",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors =\n%q\nwant\n%q", got, want)
	}
}

// TestParseInterval checks rule intervals against what Kibana's alerting framework accepts:
// a whole number, no sign or leading zero, of s, m, h or d.
func TestParseInterval(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"30s", 30 * time.Second}, {"5m", 5 * time.Minute}, {"10m", 10 * time.Minute}, {"1h", time.Hour},
		{"2d", 48 * time.Hour}, {"100000000d", math.MaxInt64}, {"99999999999999999999s", math.MaxInt64},
	} {
		if got, err := ParseInterval(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseInterval(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "5", "m", "0s", "05m", "+5m", "-5m", "5 m", " 5m", "5M", "1.5h", "5mm", "1w", "5m0s", "1_0m"} {
		want := "string is not a valid duration: " + in
		if got, err := ParseInterval(in); err == nil || err.Error() != want {
			t.Errorf("ParseInterval(%q) = %v, %v; want the error %q", in, got, err, want)
		}
	}
	// In a Kibana export, the rule's line is reported and the other rules are read.
	rules, errs := ReadNDJSON(strings.NewReader(
		`{"rule_id":"a","name":"n","type":"eql","severity":"low","interval":"1h"}`+"\n"+
			`{"rule_id":"b","name":"n","type":"eql","severity":"low","interval":"05m"}`+"\n"), "x.ndjson")
	if len(rules) != 1 || rules[0].RuleID != "a" || len(errs) != 1 ||
		errs[0].Error() != "x.ndjson:2: rule b: interval: string is not a valid duration: 05m" {
		t.Errorf("rules %v, errors %v", rules, errs)
	}
}

func TestLoadMissingPath(t *testing.T) {
	set, err := Load(context.Background(), "testdata/does-not-exist")
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Errors) != 1 || !errors.Is(set.Errors[0], os.ErrNotExist) {
		t.Errorf("errors = %v", set.Errors)
	}
}

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		r    Rule
		kind string
		eql  bool
	}{
		{Rule{Type: "eql", Language: "eql"}, "eql/eql", true},
		{Rule{Type: "eql"}, "eql", true},
		{Rule{Type: "query", Language: "kuery"}, "query/kuery", false},
		{Rule{Type: "esql", Language: "esql"}, "esql/esql", false},
		{Rule{Type: "machine_learning"}, "machine_learning", false},
	} {
		if got := tc.r.Kind(); got != tc.kind || tc.r.IsEQL() != tc.eql {
			t.Errorf("Kind(%+v) = %q, IsEQL %v; want %q, %v", tc.r, got, tc.r.IsEQL(), tc.kind, tc.eql)
		}
	}
}

// BenchmarkLoadCorpus loads the 2,068 rule files of the corpus (the start-up cost of
// detect, serve and rules list).
func BenchmarkLoadCorpus(b *testing.B) {
	dir := testenv.Shared(b, "rules", "detection-rules")
	b.ReportAllocs()
	for b.Loop() {
		set, err := Load(context.Background(), dir)
		if err != nil || len(set.Rules) != 1753 { // 1,024 EQL, 454 query, 28 threshold, 241 new-terms, 6 indicator match
			b.Fatalf("Load: %d rules, %v", len(set.Rules), err)
		}
	}
}

// BenchmarkParseTOML decodes every TOML file of the corpus on one goroutine.
func BenchmarkParseTOML(b *testing.B) {
	dir := testenv.Shared(b, "rules", "detection-rules")
	var files [][]byte
	var size int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".toml" {
			return err
		}
		data, err := os.ReadFile(path)
		files = append(files, data)
		size += int64(len(data))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range files {
			if _, err := ParseTOML(d, "x.toml"); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestReadNDJSONExceptionExport checks that an exception list export among rule files (a
// list, an item, its summary line) gives no rule and no error.
func TestReadNDJSONExceptionExport(t *testing.T) {
	rules, errs := ReadNDJSON(strings.NewReader(strings.Join([]string{
		`{"list_id":"l","namespace_type":"single","type":"detection","name":"l"}`,
		`{"item_id":"i","list_id":"l","namespace_type":"single","type":"simple","entries":[{"field":"a","operator":"included","type":"exists"}]}`,
		`{"exported_exception_list_count":1,"exported_exception_list_item_count":1,"missing_exception_lists_count":0}`,
	}, "\n")), "lists.ndjson")
	if len(rules) != 0 || len(errs) != 0 {
		t.Errorf("rules %d, errors %v; want none", len(rules), errs)
	}
}
