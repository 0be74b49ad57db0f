package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRuleIntervalErrors checks a rule file whose interval is malformed, which Kibana
// refuses to create: rules validate reports it and the other rules, and detect reports it
// and runs the other rules.
func TestRuleIntervalErrors(t *testing.T) {
	dir := t.TempDir()
	const head = "[rule]\nauthor = [\"t\"]\ndescription = \"d\"\nname = \"n\"\nrisk_score = 21\nseverity = \"low\"\n" +
		"type = \"eql\"\nlanguage = \"eql\"\nlicense = \"x\"\nquery = 'process where true'\n"
	bad := writeFile(t, dir, "bad.toml", head+"rule_id = \"r1\"\ninterval = \"5x\"\n")
	writeFile(t, dir, "good.toml", head+"rule_id = \"r2\"\ninterval = \"90s\"\n")
	runCLI(t, "", "rules", "validate", dir).check(t, exitFailure,
		"error        "+bad+": [rule] rule r1: interval: string is not a valid duration: 5x\n"+
			"ok           "+filepath.Join(dir, "good.toml")+"\n"+
			"\n1 rule ok (1 eql), 1 with errors, 0 of types Tripline does not run (2 files read)\n", "")
	r := runCLI(t, `{"@timestamp":"2026-01-01T00:00:00Z","event":{"category":"process"}}`+"\n",
		"detect", "--rules", dir, "--now", "2026-01-02T00:00:00Z", "--format", "summary")
	r.check(t, exitSkipped,
		"rules:  1 loaded, 0 skipped, 1 rule file unreadable\n"+
			"events: 1 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 1 without index\n"+
			"alerts: 1\n"+
			"   ALERTS MATCHES  CAPPED  RULE\n"+
			"        1       1       0  n\n",
		"tripline: rule file "+bad+": [rule] rule r1: interval: string is not a valid duration: 5x (unreadable)\n")
}

// TestDetectSpillFileError checks that detect fails, saying where, when the temporary file
// its sequence rules need for standard input cannot be created, instead of going on without.
func TestDetectSpillFileError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	t.Setenv("TMPDIR", missing) // os.TempDir
	runCLI(t, "", "detect", "--rules", example(t, "rules")).check(t, exitUsage, "",
		"tripline: detect: cannot create the temporary file for the events of sequence rules in "+missing+": no such file or directory\n")
}

// TestQueryCompileErrors checks the engine's compile errors through the command line: the
// place in the query, then the message, as before they were *eval.Error values.
func TestQueryCompileErrors(t *testing.T) {
	dir := t.TempDir()
	closed := writeFile(t, dir, "closed.json", `{"dynamic":false,"properties":{"@timestamp":{"type":"date"},"event":{"properties":{"category":{"type":"keyword"}}}}}`)
	long := "sequence" + strings.Repeat(" [any where true]", 65)
	runCLICases(t, []cliCase{
		{name: "join key no mapping declares", args: []string{"query", "--mapping", closed, "sequence by nope [any where true] [any where true]"},
			code: exitUsage, stderr: "error: 1:13: Unknown column [nope]\n"},
		{name: "too many terms", args: []string{"query", long}, code: exitUsage, stderr: "error: 1:1099: too many terms (at most 64)\n"},
	})
}
