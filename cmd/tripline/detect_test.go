package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/internal/testenv"
)

// The rule ids of the example rules.
const (
	seedRule      = "02275e05-57a1-46ab-a443-7fb444da6b28"
	shellRule     = "8c5d2b1e-4f7a-4e3b-9a61-2d0c7e5f1b93"
	tokenRule     = "3e9f6a20-b1c4-4d87-8f52-6a0d9c3b7e14"
	discoveryRule = "b47e0c93-2a6d-4f18-8e35-c91f5d7a0b26"
)

// exampleAlerts are the matches examples/README.md expects: the rule, then the events of
// each match by event.id (process events) or the last 3 characters of the audit id; sorted
// as describeMatches sorts.
var exampleAlerts = []string{
	seedRule + " sequence d4c-p05 a03",
	tokenRule + " sequence d4c-p04 a03",
	shellRule + " event d4c-p01",
	shellRule + " event d4c-p10",
	discoveryRule + " sequence d4c-p02 d4c-p03 d4c-p04",
}

const fixedNow = "2026-03-12T10:00:00Z"

// alertDoc holds the fields of an alert document the tests look at.
type alertDoc struct {
	UUID      string `json:"kibana.alert.uuid"`
	RuleID    string `json:"kibana.alert.rule.rule_id"`
	Building  string `json:"kibana.alert.building_block_type"`
	GroupID   string `json:"kibana.alert.group.id"`
	Timestamp string `json:"@timestamp"`
	Ancestors []struct {
		ID    string `json:"id"`
		Type  string `json:"type"`
		Index string `json:"index"`
		Depth int    `json:"depth"`
	} `json:"kibana.alert.ancestors"`
	Event struct {
		ID string `json:"id"`
	} `json:"event"`
	Kubernetes struct {
		Audit struct {
			AuditID string `json:"auditID"`
		} `json:"audit"`
	} `json:"kubernetes"`
}

// key names the event an alert is about, as examples/README.md does.
func (a *alertDoc) key() string {
	if a.Event.ID != "" {
		return a.Event.ID
	}
	if id := a.Kubernetes.Audit.AuditID; len(id) >= 3 {
		return id[len(id)-3:]
	}
	return ""
}

func parseAlerts(t *testing.T, ndjson string) []*alertDoc {
	t.Helper()
	var out []*alertDoc
	for i, l := range lines(ndjson) {
		a := new(alertDoc)
		if err := json.Unmarshal([]byte(l), a); err != nil {
			t.Fatalf("alert %d: %v: %s", i+1, err, l)
		}
		out = append(out, a)
	}
	return out
}

// describeMatches turns alert documents into one line per match ("RULE event KEY" or
// "RULE sequence KEY..."), sorted, after checking that the building blocks of each
// sequence and its shell alert are linked as Kibana links them.
func describeMatches(t *testing.T, alerts []*alertDoc) []string {
	t.Helper()
	var out []string
	shells := map[string]*alertDoc{}
	blocks := map[string][]*alertDoc{}
	var groups []string
	for _, a := range alerts {
		switch {
		case a.GroupID == "": // an event query's alert (a building-block rule's too)
			out = append(out, a.RuleID+" event "+a.key())
		case a.Building == "":
			if shells[a.GroupID] != nil {
				t.Errorf("two shell alerts for group %s", a.GroupID)
			}
			shells[a.GroupID] = a
			groups = append(groups, a.GroupID)
		default:
			blocks[a.GroupID] = append(blocks[a.GroupID], a)
		}
	}
	for _, g := range groups {
		shell := shells[g]
		keys := []string{shell.RuleID, "sequence"}
		var signals []string
		for _, anc := range shell.Ancestors {
			if anc.Type == "signal" {
				signals = append(signals, anc.ID)
			}
		}
		var ids []string
		for _, b := range blocks[g] {
			if b.RuleID != shell.RuleID || b.Building != "default" {
				t.Errorf("group %s: building block %s of rule %s, type %q", g, b.UUID, b.RuleID, b.Building)
			}
			keys = append(keys, b.key())
			ids = append(ids, b.UUID)
		}
		if !slices.Equal(signals, ids) {
			t.Errorf("group %s: shell ancestors %v, building blocks %v", g, signals, ids)
		}
		out = append(out, strings.Join(keys, " "))
		delete(blocks, g)
	}
	for g := range blocks {
		t.Errorf("building blocks of group %s have no shell alert", g)
	}
	slices.Sort(out)
	return out
}

// exampleSummary is the summary of the example run.
const exampleSummary = `rules:  4 loaded, 0 skipped
events: 25 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index
alerts: 12
   ALERTS MATCHES  CAPPED  RULE
        3       1       0  Direct Interactive Kubernetes API Request by Unusual Utilities
        4       1       0  Burst of Discovery Commands in a Kubernetes Container
        2       2       0  Interactive Shell Opened in a Kubernetes Container
        3       1       0  Service Account Token Read Followed by Secret Access from the Same Pod
`

func TestDetectExample(t *testing.T) {
	rules, events := example(t, "rules"), example(t, "events")
	first := runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow, events)
	if first.code != exitOK || first.stderr != exampleSummary {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 0, stderr:\n%s", first.code, first.stderr, exampleSummary)
	}
	alerts := parseAlerts(t, first.stdout)
	if len(alerts) != 12 {
		t.Errorf("%d alert documents, want 12", len(alerts))
	}
	if got := describeMatches(t, alerts); !slices.Equal(got, exampleAlerts) {
		t.Errorf("matches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(exampleAlerts, "\n"))
	}
	for _, a := range alerts {
		if a.Timestamp != "2026-03-12T10:00:00.000Z" {
			t.Errorf("alert %s: @timestamp %q, want the --now time", a.UUID, a.Timestamp)
		}
	}
	second := runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow, events)
	if second.stdout != first.stdout || second.stderr != first.stderr || second.code != first.code {
		t.Errorf("a second run differs:\n%s\nfirst:\n%s", second.stdout, first.stdout)
	}
	// The same alerts with the files named one by one, and with the output in a file.
	out := filepath.Join(t.TempDir(), "alerts.ndjson")
	runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow, "-o", out,
		filepath.Join(events, "cloud-defend-process.ndjson"), filepath.Join(events, "kubernetes-audit.ndjson")).
		check(t, exitOK, "", exampleSummary)
	if b, err := os.ReadFile(out); err != nil || string(b) != first.stdout {
		t.Errorf("--output file (%v):\n%s\nwant:\n%s", err, b, first.stdout)
	}
}

// TestDetectAncestorIndex checks the index recorded for each source event in the
// alerts: the document's _index when it has one, else its data stream name.
func TestDetectAncestorIndex(t *testing.T) {
	wantIndex := map[string]string{} // event key → index
	wantID := map[string]string{}    // event key → _id
	for _, name := range []string{"cloud-defend-process.ndjson", "kubernetes-audit.ndjson"} {
		f, err := os.Open(example(t, "events", name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var doc struct {
				alertDoc
				Index      string `json:"_index"`
				DataStream struct {
					Type, Dataset, Namespace string
				} `json:"data_stream"`
			}
			if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			index := doc.Index
			if index == "" {
				index = doc.DataStream.Type + "-" + doc.DataStream.Dataset + "-" + doc.DataStream.Namespace
			}
			wantIndex[doc.key()] = index
			wantID[doc.key()] = event.DocID(sc.Bytes())
		}
		f.Close()
	}
	r := runCLI(t, "", "detect", "--rules", example(t, "rules"), "--now", fixedNow, example(t, "events"))
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, a := range parseAlerts(t, r.stdout) {
		if a.GroupID != "" && a.Building == "" {
			continue // a shell alert is about no single event
		}
		if len(a.Ancestors) != 1 || a.Ancestors[0].Type != "event" {
			t.Errorf("alert %s of %s: ancestors %+v, want one event", a.UUID, a.key(), a.Ancestors)
			continue
		}
		anc := a.Ancestors[0]
		if anc.Index != wantIndex[a.key()] || anc.ID != wantID[a.key()] {
			t.Errorf("alert of %s (rule %s): ancestor index %q, id %q; want %q, %q",
				a.key(), a.RuleID, anc.Index, anc.ID, wantIndex[a.key()], wantID[a.key()])
		}
	}
}

// TestDetectRawAudit runs the rules over the process events and the raw audit log: the
// raw records, normalised, must give the alerts the ECS audit events give.
func TestDetectRawAudit(t *testing.T) {
	rules, events := example(t, "rules"), example(t, "events")
	ecs := runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow, events)
	raw := runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow,
		filepath.Join(events, "cloud-defend-process.ndjson"), example(t, "raw-audit"))
	wantSummary := strings.Replace(exampleSummary, "0 without index\n", "0 without index, 10 normalised from raw audit records or sensor events\n", 1)
	if raw.code != exitOK || raw.stderr != wantSummary {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 0, stderr:\n%s", raw.code, raw.stderr, wantSummary)
	}
	if got := describeMatches(t, parseAlerts(t, raw.stdout)); !slices.Equal(got, exampleAlerts) {
		t.Errorf("matches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(exampleAlerts, "\n"))
	}
	// The seed rule's alert documents are the same, byte for byte.
	seedOnly := func(s string) string {
		var b strings.Builder
		for _, l := range lines(s) {
			if strings.Contains(l, `"kibana.alert.rule.rule_id":"`+seedRule+`"`) {
				b.WriteString(l + "\n")
			}
		}
		return b.String()
	}
	want, got := seedOnly(ecs.stdout), seedOnly(raw.stdout)
	if len(lines(want)) != 3 || got != want {
		t.Errorf("seed rule alerts from raw audit:\n%s\nwant:\n%s", got, want)
	}
	// With --input-format k8s-audit, the process events are not audit records.
	r := runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow, "--input-format", "k8s-audit",
		filepath.Join(events, "cloud-defend-process.ndjson"))
	if r.code != exitSkipped || !strings.Contains(r.stderr, "cloud-defend-process.ndjson:15: k8saudit: not a Kubernetes audit record") {
		t.Errorf("k8s-audit on ECS events: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestDetect(t *testing.T) {
	rules, events := example(t, "rules"), example(t, "events")
	broken := brokenRulesDir(t)
	dir := t.TempDir()
	procs, err := os.ReadFile(filepath.Join(events, "cloud-defend-process.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	bad := writeFile(t, dir, "bad.ndjson", "{oops\n"+string(procs))
	esql := writeFile(t, dir, "esql.toml", `[rule]
author = ["Tripline"]
description = "An ES|QL rule."
language = "esql"
name = "ES|QL rule"
risk_score = 21
rule_id = "44444444-2222-3333-4444-555555555555"
severity = "low"
type = "esql"
query = 'from logs-* | limit 1'
`)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // "" and alerts set: compare the matches instead
		alerts []string
		stderr string
	}{
		{
			name:   "summary only",
			args:   []string{"detect", "--rules", rules, "--now", fixedNow, "--format", "summary", events},
			stdout: exampleSummary,
		},
		{
			name:   "missing --rules",
			args:   []string{"detect", events},
			code:   exitUsage,
			stderr: "tripline: no rules: give --rules PATH (a detection-rules TOML file or directory, or a Kibana export NDJSON)\n",
		},
		{
			name:   "bad --now",
			args:   []string{"detect", "--rules", rules, "--now", "yesterday", events},
			code:   exitUsage,
			stderr: "tripline: --now \"yesterday\": want an RFC 3339 time such as 2026-01-02T15:04:05Z\n",
		},
		{
			name:   "unknown format",
			args:   []string{"detect", "--rules", rules, "--format", "csv", events},
			code:   exitUsage,
			stderr: "tripline: unknown --format \"csv\" (want ndjson or summary)\n",
		},
		{
			name: "no rule can run",
			args: []string{"detect", "--rules", esql, events},
			code: exitUsage,
			stderr: "tripline: rules skipped:\n" +
				"      1 not a rule type Tripline runs (esql/esql), in " + esql + "\n" +
				"tripline: none of the rules can run (1 skipped: see 'tripline rules list')\n",
		},
		{
			name: "broken rules next to good ones: the good ones run, exit 3",
			args: []string{"detect", "--rules", broken, "--now", fixedNow, "--format", "summary", events},
			code: exitSkipped,
			stdout: "rules:  3 loaded, 2 skipped, 2 rule files unreadable\n" +
				"            1 query: line 2:27: Unknown function [foo], in " + filepath.Join(broken, "broken.toml") + "\n" +
				"            1 query: line 2:2: Unknown function [bar], in " + filepath.Join(broken, "sub/export.ndjson") + ":3\n" +
				"events: 25 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index\n" +
				"alerts: 2\n" +
				"   ALERTS MATCHES  CAPPED  RULE\n" +
				"        2       2       0  Interactive Shell Opened in a Kubernetes Container\n",
			stderr: "tripline: rule file " + filepath.Join(broken, "not-toml.toml") + ":1:6: expected '=' after key (unreadable)\n" +
				"tripline: rule file " + filepath.Join(broken, "sub/export.ndjson") + ":2: not a JSON object: invalid character 'n' looking for beginning of object key string (unreadable)\n",
		},
		{
			name:   "broken rules next to good ones: alerts",
			args:   []string{"detect", "--rules", broken, "--rules", filepath.Join(rules, "service_account_token_read_then_secret_access.toml"), "--now", fixedNow, events},
			code:   exitSkipped,
			alerts: []string{tokenRule + " sequence d4c-p04 a03", shellRule + " event d4c-p01", shellRule + " event d4c-p10"},
		},
		{
			name:   "a malformed line is reported and skipped, the rest runs",
			args:   []string{"detect", "--rules", filepath.Join(rules, "interactive_shell_in_kubernetes_container.toml"), "--now", fixedNow, bad},
			code:   exitSkipped,
			alerts: []string{shellRule + " event d4c-p01", shellRule + " event d4c-p10"},
		},
		{
			name:   "--index that no rule's patterns match",
			args:   []string{"detect", "--rules", rules, "--now", fixedNow, "--index", "other-index", "--format", "summary", events},
			stdout: "rules:  4 loaded, 0 skipped\nevents: 25 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index\nalerts: 0\n",
		},
		{
			name:   "--ignore-index-patterns",
			args:   []string{"detect", "--rules", rules, "--now", fixedNow, "--index", "other-index", "--ignore-index-patterns", events},
			alerts: exampleAlerts,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			if tt.alerts == nil {
				r.check(t, tt.code, tt.stdout, tt.stderr)
				return
			}
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
			if got := describeMatches(t, parseAlerts(t, r.stdout)); !slices.Equal(got, tt.alerts) {
				t.Errorf("matches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.alerts, "\n"))
			}
		})
	}
	t.Run("malformed line message", func(t *testing.T) {
		r := runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow, "--format", "summary", bad)
		want := bad + ":1: not a JSON object (no closing brace) (skipped)\n"
		if r.code != exitSkipped || r.stderr != want ||
			!strings.Contains(r.stdout, "events: 16 read, 1 malformed (skipped), ") {
			t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 3, stderr %q", r.code, r.stdout, r.stderr, want)
		}
	})
	t.Run("stats", func(t *testing.T) {
		r := runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow, "--stats", "--format", "summary", events)
		var rep struct {
			Input struct {
				Records int64 `json:"records"`
			} `json:"input"`
			Detect struct {
				RulesLoaded int   `json:"rules_loaded"`
				Alerts      int64 `json:"alerts"`
				Rules       []struct {
					RuleID string `json:"rule_id"`
					Alerts int    `json:"alerts"`
				} `json:"rules"`
			} `json:"detect"`
		}
		if r.code != exitOK || r.stderr != "" || len(lines(r.stdout)) != 1 {
			t.Fatalf("exit %d, stdout %q, stderr %q: want one JSON line on stdout", r.code, r.stdout, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatal(err)
		}
		perRule := map[string]int{}
		for _, x := range rep.Detect.Rules {
			perRule[x.RuleID] = x.Alerts
		}
		want := map[string]int{seedRule: 3, shellRule: 2, tokenRule: 3, discoveryRule: 4}
		if rep.Input.Records != 25 || rep.Detect.RulesLoaded != 4 || rep.Detect.Alerts != 12 || !mapsEqual(perRule, want) {
			t.Errorf("stats %s", r.stdout)
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestDetectPrebuiltRules runs Elastic's prebuilt rules of the types Tripline runs (1,024
// EQL, 454 query, 28 threshold, 240 of 241 new-terms) over the example: the 9 Defend
// promotion rules, which reference the endpoint_list exception list, are skipped until it
// is loaded (an empty export of it here), the 6 indicator-match rules without --indicators,
// one new-terms rule for its nested query; the others are listed as skipped by type; the seed rule's current version finds the example's sequence, and two
// query rules match the example's secret reads.
func TestDetectPrebuiltRules(t *testing.T) {
	dir := testenv.Shared(t, "rules", "detection-rules")
	byType := []string{
		"          209 not a rule type Tripline runs (esql/esql)",
		"          106 not a rule type Tripline runs (machine_learning)",
	}
	endpointList := "            9 exception list \"endpoint_list\" (namespace_type agnostic, type endpoint) is not loaded (load it with --exceptions)"
	indicators := "            6 indicator match rule without indicators: give the documents of its threat index (detect --indicators)"
	// Kibana fails this rule too unless the integration maps the field nested.
	nested := "            1 failed to create query: [nested] failed to find nested object under path [gcp.audit.service_data.policy_delta.binding_deltas], in " +
		filepath.Join(dir, "rules", "integrations", "gcp", "persistence_gcp_service_account_impersonation_role_grant.toml")
	// Without the list: the 9 rules are reported and skipped, and the run exits 3.
	r := runCLI(t, "", "detect", "--rules", dir, "--now", fixedNow, "--format", "summary", example(t, "events"))
	want := append(append([]string{"rules:  1737 loaded, 331 skipped"}, byType...), endpointList, indicators, nested)
	if got := lines(r.stdout); r.code != exitSkipped || len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("without endpoint_list: exit %d, summary:\n%s\nwant exit 3 and:\n%s", r.code, r.stdout, strings.Join(want, "\n"))
	}
	// With it, the indicator-match rules (no --indicators) and the nested rule are still
	// skipped: exit 3.
	r = runCLI(t, "", "detect", "--rules", dir, "--exceptions", filepath.Join("testdata", "exceptions", "endpoint_list.ndjson"),
		"--now", fixedNow, example(t, "events"))
	if r.code != exitSkipped {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	want = append(append([]string{"rules:  1746 loaded, 322 skipped"}, byType...), indicators, nested)
	if got := lines(r.stderr); len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("summary:\n%s\nwant:\n%s", r.stderr, strings.Join(want, "\n"))
	}
	// The query rules' alerts.
	const userAgentRule, serviceAccountRule = "a4c8e901-2b7f-4d6e-9a3c-8e1f0d5b6c2a", "f8a31c62-0d4e-4b9a-b7e1-6c2a9d4e8f10"
	var queryAlerts []string
	for _, m := range describeMatches(t, parseAlerts(t, r.stdout)) {
		if strings.HasPrefix(m, userAgentRule) || strings.HasPrefix(m, serviceAccountRule) {
			queryAlerts = append(queryAlerts, m)
		}
	}
	if n := strings.Count(r.stdout, `"kibana.alert.rule.type":"query"`); n != 5 {
		t.Errorf("%d query rule alerts, want 5", n)
	}
	// Python-urllib reads secrets in a03 and a04; a08 is client-go, from another service
	// account.
	wantQuery := []string{
		userAgentRule + " event a03", userAgentRule + " event a04",
		serviceAccountRule + " event a03", serviceAccountRule + " event a04", serviceAccountRule + " event a08",
	}
	slices.Sort(queryAlerts)
	if !slices.Equal(queryAlerts, wantQuery) {
		t.Errorf("query rule matches:\n%s\nwant:\n%s", strings.Join(queryAlerts, "\n"), strings.Join(wantQuery, "\n"))
	}
	// The prebuilt versions of the seed rule (same rule_id) and of its sibling by Common
	// Utilities, as examples/README.md says.
	const commonRule = "9d312839-339a-4e10-af2e-a49b15b15d13"
	var got []string
	for _, m := range describeMatches(t, parseAlerts(t, r.stdout)) {
		if strings.HasPrefix(m, seedRule) || strings.HasPrefix(m, commonRule) {
			got = append(got, m)
		}
	}
	want = []string{
		seedRule + " sequence d4c-p05 a03",
		commonRule + " sequence d4c-p06 a05",
		commonRule + " sequence d4c-p07 a06",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("matches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDetectWorkersAndSpill checks that --workers and --spill-dir change nothing in the
// alerts, and that bad values are usage errors.
func TestDetectWorkersAndSpill(t *testing.T) {
	t.Chdir(testenv.RepoRoot(t))
	const now = "2026-03-12T10:00:00Z"
	base := runCLI(t, "", "detect", "--rules", "examples/rules", "--now", now, "examples/events")
	if base.code != exitOK || base.stdout == "" {
		t.Fatalf("exit %d\n%s", base.code, base.stderr)
	}
	for _, args := range [][]string{
		{"--workers", "1"},
		{"--workers", "3"},
		{"--spill-dir", t.TempDir()},
	} {
		r := runCLI(t, "", append([]string{"detect", "--rules", "examples/rules", "--now", now}, append(args, "examples/events")...)...)
		if r.code != exitOK || r.stdout != base.stdout {
			t.Errorf("%v: exit %d, alerts differ from the default run: %v", args, r.code, r.stdout != base.stdout)
		}
	}
	// Events out of timestamp order: sequence rules that matched them as they came run
	// again, over the files read again or, from standard input, over the temporary file.
	var events []string
	for _, f := range []string{"examples/events/cloud-defend-process.ndjson", "examples/events/kubernetes-audit.ndjson"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, strings.Split(strings.TrimRight(string(data), "\n"), "\n")...)
	}
	slices.Reverse(events)
	reversed := filepath.Join(t.TempDir(), "reversed.ndjson")
	if err := os.WriteFile(reversed, []byte(strings.Join(events, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile := runCLI(t, "", "detect", "--rules", "examples/rules", "--now", now, reversed)
	fromStdin := runCLI(t, strings.Join(events, "\n")+"\n", "detect", "--rules", "examples/rules", "--now", now)
	if fromFile.code != exitOK || fromStdin.code != exitOK {
		t.Fatalf("reversed input: exit %d and %d\n%s\n%s", fromFile.code, fromStdin.code, fromFile.stderr, fromStdin.stderr)
	}
	if got := describeMatches(t, parseAlerts(t, fromFile.stdout)); !slices.Equal(got, exampleAlerts) {
		t.Errorf("reversed file: matches %q, want %q", got, exampleAlerts)
	}
	if fromStdin.stdout != fromFile.stdout {
		t.Errorf("reversed input: standard input and file give different alerts")
	}
	for _, c := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--workers", "-1"}, "tripline: --workers -1: want 0 (the default) or more\n"},
		{[]string{"--spill-dir", "no/such/dir"}, "tripline: --spill-dir no/such/dir: not a directory\n"},
	} {
		r := runCLI(t, "", append([]string{"detect", "--rules", "examples/rules"}, append(c.args, "examples/events")...)...)
		r.check(t, exitUsage, "", c.stderr)
	}
}

// TestDetectOutputFailure checks that an output that keeps failing does not stop the run:
// every event is processed, the alerts go to the dead-letter file, and the exit status is 1.
func TestDetectOutputFailure(t *testing.T) {
	t.Chdir(testenv.RepoRoot(t))
	dl := filepath.Join(t.TempDir(), "dead.ndjson")
	r := runCLI(t, "", "detect", "--rules", "examples/rules", "--now", "2026-03-12T10:00:00Z", "--format", "summary",
		"-o", "webhook:http://127.0.0.1:1/hook#retries=0&dead-letter="+dl, "examples/events")
	if r.code != exitFailure {
		t.Errorf("exit %d, want %d\n%s", r.code, exitFailure, r.stderr)
	}
	if !strings.Contains(r.stdout, "events: 25 read") || !strings.Contains(r.stderr, "12 alerts were not delivered to an output") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	data, err := os.ReadFile(dl)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != 12 {
		t.Errorf("%d alerts in the dead-letter file, want 12", n)
	}
}

// TestDetectStopsOutputs checks how detect stops on SIGINT or SIGTERM while an output
// cannot deliver: the receiver here never answers. After a first signal the outputs have
// the grace period, then what is left goes to the dead-letter file; a second signal ends
// the wait at once; a receiver that answers within the grace period gets every alert. In
// every case the run returns at once (it took minutes: the retries ignored the signal).
func TestDetectStopsOutputs(t *testing.T) {
	rules, events := example(t, "rules"), example(t, "events")
	batches := []int{3, 4, 1, 1, 3} // the example's alerts, as the detector writes them
	notDelivered := func(url, dl, why string) string {
		var b strings.Builder
		for _, n := range batches {
			what := fmt.Sprintf("%d alerts", n)
			if n == 1 {
				what = "1 alert"
			}
			fmt.Fprintf(&b, "tripline: output: %s not delivered to %s, written to dead-letter file %s: %s\n", what, url, dl, why)
		}
		fmt.Fprintf(&b, "tripline: 12 alerts were not delivered to an output (first error: 3 alerts not delivered to %s, written to dead-letter file %s: %s)\n", url, dl, why)
		return b.String()
	}
	tests := []struct {
		name      string
		es        bool          // Elasticsearch output, else webhook
		signals   int           // sent when the first request comes (0: before the run)
		grace     time.Duration // what the outputs have after the first signal
		answer    bool          // the receiver answers (200, every alert taken)
		code      int
		stdout    string
		stderr    func(url, dl string) string
		dead      int // alerts in the dead-letter file
		delivered int
	}{
		{name: "elasticsearch, SIGTERM, grace over", es: true, signals: 1, code: exitFailure, stdout: exampleSummary,
			stderr: func(url, dl string) string { return notDelivered(url, dl, "stopping: 0s after the signal") }, dead: 12},
		{name: "webhook, SIGINT, grace over", signals: 1, code: exitFailure, stdout: exampleSummary,
			stderr: func(url, dl string) string { return notDelivered(url, dl, "stopping: 0s after the signal") }, dead: 12},
		{name: "elasticsearch, two signals", es: true, signals: 2, grace: time.Hour, code: exitFailure, stdout: exampleSummary,
			stderr: func(url, dl string) string { return notDelivered(url, dl, "stopping: a second signal") }, dead: 12},
		{name: "webhook, two signals", signals: 2, grace: time.Hour, code: exitFailure, stdout: exampleSummary,
			stderr: func(url, dl string) string { return notDelivered(url, dl, "stopping: a second signal") }, dead: 12},
		{name: "webhook answers within the grace period", signals: 1, grace: time.Hour, answer: true, code: exitOK,
			stdout: exampleSummary, stderr: func(string, string) string { return "" }, delivered: 12},
		{name: "a signal while the rules load", es: true, signals: 0, code: exitSignaled,
			stderr: func(string, string) string { return "tripline: interrupted\n" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, first := context.WithCancel(t.Context())
			defer first()
			hard := make(chan struct{})
			signal := func(n int) {
				if n >= 1 {
					first()
				}
				if n >= 2 {
					close(hard)
				}
			}
			var (
				once      sync.Once
				mu        sync.Mutex
				delivered int
			)
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				once.Do(func() { signal(tc.signals) })
				if tc.answer {
					var batch []json.RawMessage
					if err := json.Unmarshal(body, &batch); err != nil {
						http.Error(w, err.Error(), http.StatusBadRequest)
						return
					}
					mu.Lock()
					delivered += len(batch)
					mu.Unlock()
					return
				}
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}))
			defer srv.Close()
			defer close(release)
			dl := filepath.Join(t.TempDir(), "dead.ndjson")
			spec, url := "webhook:"+srv.URL+"/hook", srv.URL+"/hook"
			if tc.es {
				spec, url = "es:"+srv.URL, srv.URL+"/_bulk"
			}
			if tc.signals == 0 {
				first()
			}
			done := make(chan result, 1)
			go func() {
				done <- runCLIContext(t, withStopPolicy(ctx, stopPolicy{hard: hard, grace: tc.grace}), strings.NewReader(""),
					"detect", "--rules", rules, "--now", fixedNow, "--format", "summary", "-o", spec+"#dead-letter="+dl, events)
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(20 * time.Second): // the retries alone take 30 s; one request's timeout too
				t.Fatal("detect did not return within 20 s of the signal")
			}
			r.check(t, tc.code, tc.stdout, tc.stderr(url, dl))
			dead := 0
			if data, err := os.ReadFile(dl); err == nil {
				dead = len(lines(string(data)))
			}
			mu.Lock()
			defer mu.Unlock()
			if dead != tc.dead || delivered != tc.delivered {
				t.Errorf("%d alerts dead-lettered, %d delivered; want %d and %d", dead, delivered, tc.dead, tc.delivered)
			}
		})
	}
}
