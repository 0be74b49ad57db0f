package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripline/tripline/internal/testenv"
)

// TestRulesTestJSON runs one rule over the example events and checks, stage by stage,
// which events passed each filter with their join keys, and which events form the result.
func TestRulesTestJSON(t *testing.T) {
	root := testenv.RepoRoot(t)
	t.Chdir(root)
	seed := "examples/rules/direct_interactive_kubernetes_api_request_by_unusual_utilities.toml"
	r := runCLI(t, "", "rules", "test", "--format", "json", seed, "examples/events")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var got struct {
		RuleID string `json:"rule_id"`
		Events int    `json:"events_read"`
		Stages []struct {
			Stage  string
			By     []string
			Events []struct {
				Where string
				Keys  [][]string
			}
		}
		Matches []struct {
			JoinKeys []string `json:"join_keys"`
			Events   []string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	const proc, audit = "examples/events/cloud-defend-process.ndjson:", "examples/events/kubernetes-audit.ndjson:"
	wantStage := map[string][]string{
		"1": {proc + "1", proc + "3", proc + "4", proc + "5", proc + "6", proc + "9", proc + "10", proc + "11", proc + "13", proc + "14"},
		"2": {audit + "1", audit + "2", audit + "3", audit + "4", audit + "5", audit + "6", audit + "7", audit + "8", audit + "9", audit + "10"},
	}
	if got.RuleID != "02275e05-57a1-46ab-a443-7fb444da6b28" || got.Events != 25 || len(got.Stages) != 2 {
		t.Fatalf("rule %s, %d events, %d stages", got.RuleID, got.Events, len(got.Stages))
	}
	for _, s := range got.Stages {
		var where []string
		for _, e := range s.Events {
			where = append(where, e.Where)
		}
		if strings.Join(where, " ") != strings.Join(wantStage[s.Stage], " ") {
			t.Errorf("stage %s: events %v, want %v", s.Stage, where, wantStage[s.Stage])
		}
	}
	if k := got.Stages[0].Events[4].Keys; len(k) != 1 || len(k[0]) != 1 || k[0][0] != "checkout-7c9d5b6f8-x2lkq" {
		t.Errorf("stage 1, event 5 keys = %v", k)
	}
	if k := got.Stages[1].Events[0].Keys; len(k) != 1 || len(k[0]) != 0 {
		t.Errorf("stage 2, event 1 (a user, no pod name) keys = %v, want [[]]", k)
	}
	if len(got.Matches) != 1 || strings.Join(got.Matches[0].Events, " ") != proc+"6 "+audit+"3" ||
		strings.Join(got.Matches[0].JoinKeys, " ") != "checkout-7c9d5b6f8-x2lkq" {
		t.Errorf("matches = %+v", got.Matches)
	}
}

// TestRulesTestExitCodes checks the exit status of rules test: a result, none, and a rule
// that cannot run.
func TestRulesTestExitCodes(t *testing.T) {
	root := testenv.RepoRoot(t)
	t.Chdir(root)
	dir := t.TempDir()
	write := func(name, query string) string {
		p := filepath.Join(dir, name)
		doc := "[rule]\nrule_id = \"r-" + name + "\"\nname = \"" + name + "\"\ntype = \"eql\"\nlanguage = \"eql\"\n" +
			"risk_score = 21\nseverity = \"low\"\nindex = [\"logs-*\"]\nquery = '''\n" + query + "\n'''\n"
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, query string
		code        int
		stdoutHas   string
	}{
		{"hit.toml", `process where process.name == "cat"`, 0, "2 results\n  #1\n    stage 1  examples/events/cloud-defend-process.ndjson:5\n  #2\n    stage 1  examples/events/cloud-defend-process.ndjson:11\n"},
		{"none.toml", `process where process.name == "no-such-process"`, 1, "0 results\n"},
		{"bad.toml", `process where foo(process.name)`, 2, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, "", "rules", "test", write(c.name, c.query), "examples/events")
			if r.code != c.code || !strings.Contains(r.stdout, c.stdoutHas) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nwant it to contain:\n%s\nstderr:\n%s", r.code, c.code, r.stdout, c.stdoutHas, r.stderr)
			}
		})
	}
}
