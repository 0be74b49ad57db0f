package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDetectRuleTypes runs detect over a directory of an EQL rule, a KQL query rule and a
// machine learning rule (which cannot run) with and without --rule-types: only the rules of the
// types named are loaded, and skipped rules of other types are not reported.
func TestDetectRuleTypes(t *testing.T) {
	dir := t.TempDir()
	eqlRule, err := os.ReadFile(example(t, "rules", "interactive_shell_in_kubernetes_container.toml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "eql.toml", string(eqlRule))
	writeFile(t, dir, "kuery.toml", `[rule]
author = ["Tripline"]
description = "A KQL rule."
index = ["logs-cloud_defend.process*"]
language = "kuery"
name = "KQL zsh"
risk_score = 21
rule_id = "22222222-2222-3333-4444-555555555555"
severity = "low"
type = "query"
query = 'process.parent.name : "zsh" and event.type : "start"'
`)
	writeFile(t, dir, "ml.toml", `[rule]
anomaly_threshold = 75
author = ["Tripline"]
description = "A machine learning rule."
machine_learning_job_id = "rare_process"
name = "ML rule"
risk_score = 21
rule_id = "33333333-2222-3333-4444-555555555555"
severity = "low"
type = "machine_learning"
`)
	events := example(t, "events")
	args := func(extra ...string) []string {
		return append([]string{"detect", "--rules", dir, "--now", fixedNow, "--format", "summary", events}, extra...)
	}
	const (
		evLine = "events: 25 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index\n"
		eqlRow = "        2       2       0  Interactive Shell Opened in a Kubernetes Container\n"
		kqlRow = "        2       2       0  KQL zsh\n"
		header = "   ALERTS MATCHES  CAPPED  RULE\n"
	)
	runCLICases(t, []cliCase{
		{name: "every type", args: args(),
			stdout: "rules:  2 loaded, 1 skipped\n" +
				"            1 not a rule type Tripline runs (machine_learning), in " + filepath.Join(dir, "ml.toml") + "\n" +
				evLine + "alerts: 4\n" + header + eqlRow + kqlRow},
		{name: "eql only", args: args("--rule-types", "eql"),
			stdout: "rules:  1 loaded, 0 skipped\n" + evLine + "alerts: 2\n" + header + eqlRow},
		{name: "query only", args: args("--rule-types", "query"),
			stdout: "rules:  1 loaded, 0 skipped\n" + evLine + "alerts: 2\n" + header + kqlRow},
		{name: "both, as a list", args: args("--rule-types", "eql,query"),
			stdout: "rules:  2 loaded, 0 skipped\n" + evLine + "alerts: 4\n" + header + eqlRow + kqlRow},
		{name: "both, repeated", args: args("--rule-types", "query", "--rule-types", "eql"),
			stdout: "rules:  2 loaded, 0 skipped\n" + evLine + "alerts: 4\n" + header + eqlRow + kqlRow},
		{name: "a type Tripline does not run", args: args("--rule-types", "eql,machine_learning"), code: exitUsage,
			stderr: "tripline: --rule-types: unknown rule type \"machine_learning\" (want eql, query, threshold, new_terms, threat_match)\n"},
	})
}
