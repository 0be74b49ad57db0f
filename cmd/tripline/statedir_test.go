package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// sortedExampleEvents returns the events of examples/events in @timestamp order, one
// stream as a collector would send it (the seed sequence's events come from both files).
func sortedExampleEvents(t *testing.T) []string {
	t.Helper()
	var evs []string
	for _, f := range []string{"cloud-defend-process.ndjson", "kubernetes-audit.ndjson"} {
		b, err := os.ReadFile(example(t, "events", f))
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, lines(string(b))...)
	}
	ts := func(s string) string {
		var d struct {
			T string `json:"@timestamp"`
		}
		if err := json.Unmarshal([]byte(s), &d); err != nil {
			t.Fatal(err)
		}
		return d.T
	}
	sort.SliceStable(evs, func(i, j int) bool { return ts(evs[i]) < ts(evs[j]) })
	return evs
}

// alertDocs returns the alert documents of NDJSON text by id (failing on a duplicate id).
func alertDocs(t *testing.T, text string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range lines(text) {
		var a struct {
			ID string `json:"kibana.alert.uuid"`
		}
		if err := json.Unmarshal([]byte(l), &a); err != nil || a.ID == "" {
			t.Fatalf("not an alert: %s", l)
		}
		if _, dup := out[a.ID]; dup {
			t.Errorf("alert %s written twice", a.ID)
		}
		out[a.ID] = l
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// compareAlerts fails when got and want differ in ids or documents.
func compareAlerts(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if g, w := sortedKeys(got), sortedKeys(want); !slices.Equal(g, w) {
		t.Errorf("%s: alert ids\n%v\nwant\n%v", what, g, w)
		for id, doc := range got {
			if _, ok := want[id]; !ok {
				t.Logf("extra alert: %s", doc)
			}
		}
		return
	}
	for id, doc := range want {
		if got[id] != doc {
			t.Errorf("%s: alert %s:\n%s\nwant\n%s", what, id, got[id], doc)
		}
	}
}

// TestStateDirSplitEveryEvent splits the example scenario after every event: a run over
// the first part and a run over the rest with the same --state-dir write exactly the
// alerts (ids and documents) of one run over all of it, the seed sequence that straddles
// the two parts included, over files (whole input) and standard input (--follow). With
// --follow and one rule that is no sequence (over the events of its index), the events
// of the reordering buffer at the end of the first run are in the journal too.
func TestStateDirSplitEveryEvent(t *testing.T) {
	all := sortedExampleEvents(t)
	var process []string
	for _, e := range all {
		if strings.Contains(e, `"agent":{"type":"cloud-defend"`) {
			process = append(process, e)
		}
	}
	for _, mode := range []struct {
		name    string
		rules   string
		evs     []string
		follow  bool
		nAlerts int
	}{
		{"files", example(t, "rules"), all, false, 12},
		{"--follow", example(t, "rules"), all, true, 12},
		{"--follow, an event rule", example(t, "rules", "interactive_shell_in_kubernetes_container.toml"), all, true, 2},
	} {
		t.Run(mode.name, func(t *testing.T) {
			evs := mode.evs
			common := []string{"detect", "--rules", mode.rules, "--now", "2026-04-01T00:00:00Z"}
			dir := t.TempDir()
			runOver := func(stateDir, out string, part []string, name string) {
				t.Helper()
				args := append(slices.Clone(common), "--state-dir", stateDir, "-o", out)
				stdin := ""
				if mode.follow {
					args = append(args, "--follow")
					stdin = strings.Join(part, "\n") + "\n"
				} else {
					args = append(args, writeFile(t, dir, name, strings.Join(part, "\n")+"\n"))
				}
				if r := runCLI(t, stdin, args...); r.code != 0 {
					t.Fatalf("exit %d\n%s", r.code, r.stderr)
				}
			}
			read := func(p string) string {
				b, err := os.ReadFile(p)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				return string(b)
			}
			oneOut := filepath.Join(dir, "one.ndjson")
			runOver(filepath.Join(dir, "one-state"), oneOut, evs, "all.ndjson")
			want := alertDocs(t, read(oneOut))
			if len(want) != mode.nAlerts {
				t.Fatalf("one run: %d alerts, want %d", len(want), mode.nAlerts)
			}
			for k := 0; k <= len(evs); k++ {
				st, out := filepath.Join(dir, fmt.Sprintf("state-%d", k)), filepath.Join(dir, fmt.Sprintf("out-%d.ndjson", k))
				runOver(st, out, evs[:k], fmt.Sprintf("part1-%d.ndjson", k))
				runOver(st, out, evs[k:], fmt.Sprintf("part2-%d.ndjson", k))
				compareAlerts(t, fmt.Sprintf("split after event %d", k), alertDocs(t, read(out)), want)
			}
		})
	}
}

// TestStateDirResumesFiles runs twice over the same file, then over the file with events
// appended: the second run reads nothing again, the third only the new events.
func TestStateDirResumesFiles(t *testing.T) {
	evs := sortedExampleEvents(t)
	dir := t.TempDir()
	st, out := filepath.Join(dir, "state"), filepath.Join(dir, "alerts.ndjson")
	in := writeFile(t, dir, "events.ndjson", strings.Join(evs[:10], "\n")+"\n")
	args := []string{"detect", "--rules", example(t, "rules"), "--now", "2026-04-01T00:00:00Z", "--state-dir", st, "-o", out, "--format", "summary", in}
	if r := runCLI(t, "", args...); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	first, _ := os.ReadFile(out)
	r := runCLI(t, "", args...)
	again, _ := os.ReadFile(out)
	if r.code != 0 || !strings.Contains(r.stdout, "events: 10 read") || !strings.Contains(r.stdout, "alerts: 0\n") || string(again) != string(first) {
		t.Errorf("second run over the same file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	f, err := os.OpenFile(in, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(strings.Join(evs[10:], "\n") + "\n")
	f.Close()
	if r := runCLI(t, "", args...); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	b, _ := os.ReadFile(out)
	if got := len(alertDocs(t, string(b))); got != 12 {
		t.Errorf("%d alerts after the three runs, want 12", got)
	}
	// A file rewritten in place is reported, and the rest of it is not read.
	changed := slices.Clone(evs)
	changed[24] = evs[0]
	os.WriteFile(in, []byte(strings.Join(changed, "\n")+"\n"), 0o644)
	r = runCLI(t, "", args...)
	want := fmt.Sprintf("tripline: state: %s changed since the last run (its document 25 is not the one processed then): the rest of it is not read; give the changed file another name, or clear the state with 'tripline state reset'\n", in)
	if r.code != 0 || r.stderr != want {
		t.Errorf("changed file: exit %d, stderr\n%s\nwant\n%s", r.code, r.stderr, want)
	}
}

// TestStateDirStatefulRulesAcrossRestart splits the threshold scenario of
// TestThresholdRules after every event: two runs with one --state-dir give the alerts of
// one run (the last execution, whose window has not ended, waits for more input).
func TestStateDirStatefulRulesAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	writeFile(t, rules, "count.toml", statefulRule("aaaaaaaa-0000-4000-8000-000000000001", "Logon failures", "threshold",
		`event.action: "logon-failed"`, "[rule.threshold]\nfield = \"host.id\"\nvalue = 3\n"))
	writeFile(t, rules, "card.toml", statefulRule("aaaaaaaa-0000-4000-8000-000000000002", "Logon failures for users", "threshold",
		`event.action: "logon-failed"`, "[rule.threshold]\nfield = [\"host.id\"]\nvalue = 2\n[[rule.threshold.cardinality]]\nfield = \"user.name\"\nvalue = 2\n"))
	writeFile(t, rules, "nt.toml", statefulRule("bbbbbbbb-0000-4000-8000-000000000001", "New user on host", "new_terms",
		`event.action: "logon-failed"`, "[rule.new_terms]\nfield = \"new_terms_fields\"\nvalue = [\"host.id\", \"user.name\"]\n[[rule.new_terms.history_window_start]]\nfield = \"history_window_start\"\nvalue = \"now-10m\"\n"))
	evs := thresholdEvents
	run := func(st, out, name string, part []string) {
		t.Helper()
		in := writeFile(t, dir, name, strings.Join(part, "\n")+"\n")
		r := runCLI(t, "", "detect", "--rules", rules, "--now", "2026-04-20T12:00:00Z", "--state-dir", st, "-o", out, in)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
	}
	oneOut := filepath.Join(dir, "one.ndjson")
	run(filepath.Join(dir, "one"), oneOut, "all.ndjson", evs)
	b, _ := os.ReadFile(oneOut)
	want := alertDocs(t, string(b))
	kinds := map[string]int{}
	for _, doc := range want {
		var a struct {
			Type string `json:"kibana.alert.rule.type"`
		}
		json.Unmarshal([]byte(doc), &a)
		kinds[a.Type]++
	}
	// TestThresholdRules's 8 alerts of these two rules less h4's and h5's, whose
	// execution (10:25) waits for an event after its window; 10 new user/host pairs.
	if kinds["threshold"] != 6 || kinds["new_terms"] != 10 {
		t.Fatalf("one run: alerts by type %v", kinds)
	}
	for k := 0; k <= len(evs); k++ {
		st, out := filepath.Join(dir, fmt.Sprintf("s%d", k)), filepath.Join(dir, fmt.Sprintf("o%d.ndjson", k))
		run(st, out, fmt.Sprintf("a%d.ndjson", k), evs[:k])
		run(st, out, fmt.Sprintf("b%d.ndjson", k), evs[k:])
		b, _ := os.ReadFile(out)
		compareAlerts(t, fmt.Sprintf("split after event %d", k), alertDocs(t, string(b)), want)
	}
}

// TestStateDirOtherRuleSet refuses a state directory made by another rule set, and state
// inspect and reset show and clear it.
func TestStateDirOtherRuleSet(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "state")
	in := writeFile(t, dir, "events.ndjson", strings.Join(sortedExampleEvents(t), "\n")+"\n")
	seed := example(t, "rules", "direct_interactive_kubernetes_api_request_by_unusual_utilities.toml")
	r := runCLI(t, "", "detect", "--rules", seed, "--now", "2026-04-01T00:00:00Z", "--state-dir", st, "-o", filepath.Join(dir, "a.ndjson"), in)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	runCLI(t, "", "detect", "--rules", example(t, "rules"), "--state-dir", st, in).check(t, exitUsage, "",
		"tripline: state directory "+st+" was made by another rule set (fingerprint 876f549fb6f020d8, 1 rules, Tripline dev; these rules: fingerprint 15aa7671b985f39d, 4 rules): its state cannot be used with these rules; use another --state-dir, or clear it with 'tripline state reset "+st+"'\n")
	abs, _ := filepath.Abs(in)
	r = runCLI(t, "", "state", "inspect", st)
	wantHead := "state directory " + st + "\n  format 3, written by Tripline dev\n  rule set: 1 rules, fingerprint 876f549fb6f020d8\n"
	if r.code != 0 || !strings.HasPrefix(r.stdout, wantHead) || !strings.Contains(r.stdout, "  input "+abs+": 25 documents, up to byte ") {
		t.Errorf("inspect: exit %d\n%s\nwant it to start\n%s", r.code, r.stdout+r.stderr, wantHead)
	}
	runCLI(t, "", "state", "reset", st).check(t, 0, "state in "+st+" removed\n", "")
	runCLI(t, "", "state", "inspect", st).check(t, exitFailure, "", "tripline: "+st+" is not a state directory (no state was written there)\n")
}

// TestStateDirRuleTypes checks that a state directory is the rules --rule-types selects:
// their fingerprint, and their journal (no sequence among them: no event is journalled).
func TestStateDirRuleTypes(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	for _, f := range []string{"direct_interactive_kubernetes_api_request_by_unusual_utilities.toml", "service_account_token_read_then_secret_access.toml"} {
		b, err := os.ReadFile(example(t, "rules", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, rules, f, string(b))
	}
	writeFile(t, rules, "count.toml", statefulRule("aaaaaaaa-0000-4000-8000-000000000001", "Logon failures", "threshold",
		`event.action: "logon-failed"`, "[rule.threshold]\nfield = \"host.id\"\nvalue = 3\n"))
	st := filepath.Join(dir, "state")
	in := writeFile(t, dir, "events.ndjson", strings.Join(thresholdEvents, "\n")+"\n")
	if r := runCLI(t, "", "detect", "--rules", rules, "--rule-types", "threshold", "--state-dir", st, "-o", filepath.Join(dir, "a.ndjson"), in); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	r := runCLI(t, "", "state", "inspect", st)
	for _, want := range []string{"  rule set: 1 rules, fingerprint ", "  journal: empty (0 bytes in 0 files)\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("inspect lacks %q:\n%s", want, r.stdout)
		}
	}
}

// aThenBRule is a sequence rule over logs-test.proc-*: process "a" then "b" within a
// minute.
const aThenBRule = `[rule]
author = ["Tripline tests"]
description = "a then b"
from = "now-6m"
index = ["logs-test.proc-*"]
language = "eql"
name = "a then b"
risk_score = 21
rule_id = "cccccccc-0000-4000-8000-000000000001"
severity = "low"
type = "eql"
query = 'sequence with maxspan=1m [process where process.name == "a"] [process where process.name == "b"]'
`

// TestStateDirLaggingIndex: a sequence rule reads an index whose events lag behind
// another index's by more than its maxspan. Split after every event, two runs with one
// --state-dir write the alerts of one run: the journal keeps what the rule still holds
// (its partial sequence, or its reordering buffer), whatever the newest event of the
// other index.
func TestStateDirLaggingIndex(t *testing.T) {
	dir := t.TempDir()
	rules := writeFile(t, dir, "rules/seq.toml", aThenBRule)
	ev := func(index, ts, name string) string {
		return fmt.Sprintf(`{"_index":%q,"@timestamp":"2026-05-01T%sZ","event":{"category":["process"]},"process":{"name":%q}}`, index, ts, name)
	}
	evs := []string{
		ev("logs-test.proc-default", "10:00:00", "a"),
		ev("logs-test.other-default", "10:30:00", "x"), // the other index, half an hour ahead
		ev("logs-test.proc-default", "10:00:30", "b"),
		ev("logs-test.proc-default", "10:01:00", "a"), // moves the rule's clock past b (an event the rule cannot use would not)
	}
	for _, follow := range []bool{false, true} {
		t.Run(fmt.Sprintf("follow=%v", follow), func(t *testing.T) {
			run := func(st, out string, part []string, name string) {
				t.Helper()
				args := []string{"detect", "--rules", filepath.Dir(rules), "--now", "2026-06-01T00:00:00Z", "--state-dir", st, "-o", out}
				stdin := ""
				if follow {
					args = append(args, "--follow")
					stdin = strings.Join(part, "\n") + "\n"
				} else {
					args = append(args, writeFile(t, dir, name, strings.Join(part, "\n")+"\n"))
				}
				if r := runCLI(t, stdin, args...); r.code != 0 {
					t.Fatalf("exit %d\n%s", r.code, r.stderr)
				}
			}
			read := func(p string) map[string]string {
				b, _ := os.ReadFile(p)
				return alertDocs(t, string(b))
			}
			tag := fmt.Sprint(follow)
			oneOut := filepath.Join(dir, "one-"+tag+".ndjson")
			run(filepath.Join(dir, "one-"+tag), oneOut, evs, "all.ndjson")
			want := read(oneOut)
			if len(want) != 3 { // the sequence's shell and its two building blocks
				t.Fatalf("one run: %d alerts, want 3", len(want))
			}
			for k := 0; k <= len(evs); k++ {
				st, out := filepath.Join(dir, fmt.Sprintf("st-%s-%d", tag, k)), filepath.Join(dir, fmt.Sprintf("out-%s-%d.ndjson", tag, k))
				run(st, out, evs[:k], fmt.Sprintf("a-%d.ndjson", k))
				run(st, out, evs[k:], fmt.Sprintf("b-%d.ndjson", k))
				compareAlerts(t, fmt.Sprintf("split after event %d", k), read(out), want)
			}
		})
	}
}

// TestStateDirSuppression: with --follow, an alert that suppression holds until its window
// closes is rebuilt by the next run, split after every event, with the count of the
// matches it suppressed: the journal keeps the events of the held group's matches.
func TestStateDirSuppression(t *testing.T) {
	dir := t.TempDir()
	rules := writeFile(t, dir, "rules/supp.toml", suppRule("duration = {value = 5, unit = \"m\"}\n"))
	evs := lines(suppEventsNDJSON())
	// A later match moves the rule's event time past the windows: their groups are
	// written; its own is held when the input ends.
	evs = append(evs, fmt.Sprintf(`{"@timestamp":"2026-03-12T10:20:00.000Z","_index":%q,"_id":"e8","event":{"category":["process"],"type":["start"]},"process":{"name":"sh"},"host":{"name":"h3"}}`, suppIndex))
	run := func(st, out string, part []string) {
		t.Helper()
		r := runCLI(t, strings.Join(part, "\n")+"\n", "detect", "--rules", filepath.Dir(rules), "--now", "2026-04-01T00:00:00Z",
			"--state-dir", st, "-o", out, "--follow")
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
	}
	read := func(p string) map[string]string {
		b, _ := os.ReadFile(p)
		return alertDocs(t, string(b))
	}
	oneOut := filepath.Join(dir, "one.ndjson")
	run(filepath.Join(dir, "one"), oneOut, evs)
	want := read(oneOut)
	if len(want) != 4 { // h1 (e1 with e2, e4), h1 (e5), h2 (e3), no host (e6 with e7); h3's is held
		t.Fatalf("one run: %d alerts, want 4", len(want))
	}
	for k := 0; k <= len(evs); k++ {
		st, out := filepath.Join(dir, fmt.Sprintf("st-%d", k)), filepath.Join(dir, fmt.Sprintf("out-%d.ndjson", k))
		run(st, out, evs[:k])
		run(st, out, evs[k:])
		compareAlerts(t, fmt.Sprintf("split after event %d", k), read(out), want)
	}
}

// TestStateDirUnwrittenAlerts: alerts no output could write (a file output that fails, a
// webhook that refuses them with a dead-letter file that cannot be written either) are
// not recorded as written: the next run with the same --state-dir writes them first, to
// its own outputs, and no later run again. Alerts in a dead-letter file count as written.
// With --follow over 4,250 events (the example scenario on 170 days) the run takes a
// checkpoint as it goes, after alerts failed.
func TestStateDirUnwrittenAlerts(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("this test writes to /dev/full: %v", err)
	}
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "refused", http.StatusBadRequest) // not retried
	}))
	defer refuse.Close()
	dir := t.TempDir()
	scenario := sortedExampleEvents(t)
	var days []string
	for day := range 170 {
		d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, day).Format("2006-01-02")
		for _, e := range scenario {
			days = append(days, strings.ReplaceAll(e, "2026-03-12", d))
		}
	}
	common := []string{"detect", "--rules", example(t, "rules"), "--now", "2026-04-01T00:00:00Z", "--format", "summary"}
	deadLetter := filepath.Join(dir, "dead.ndjson")
	for _, tc := range []struct {
		name   string
		follow bool
		evs    []string
		output string
		dead   bool // the first run's alerts are in the dead-letter file
	}{
		{"a file output that fails, --follow", true, days, "/dev/full", false},
		{"a file output that fails, a whole file", false, scenario, "/dev/full", false},
		{"a webhook, the dead-letter file not writable", false, scenario, "webhook:" + refuse.URL + "#dead-letter=" + filepath.Join(dir, "no", "dl.ndjson"), false},
		{"a webhook, the alerts dead-lettered", false, scenario, "webhook:" + refuse.URL + "#dead-letter=" + deadLetter, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			in := writeFile(t, tmp, "events.ndjson", strings.Join(tc.evs, "\n")+"\n")
			run := func(st, output string) result {
				t.Helper()
				args := append(slices.Clone(common), "--state-dir", st, "-o", output)
				if tc.follow {
					return runCLI(t, strings.Join(tc.evs, "\n")+"\n", append(args, "--follow")...)
				}
				return runCLI(t, "", append(args, in)...)
			}
			// One run that writes: what the two runs must write, once.
			oneOut := filepath.Join(tmp, "one.ndjson")
			if r := run(filepath.Join(tmp, "one"), oneOut); r.code != 0 {
				t.Fatalf("one run: exit %d\n%s", r.code, r.stderr)
			}
			want := alertDocs(t, readOrEmpty(t, oneOut))
			st := filepath.Join(tmp, "state")
			r := run(st, tc.output)
			notDelivered := fmt.Sprintf("tripline: %d alerts were not delivered to an output", len(want))
			if r.code != exitFailure || !strings.Contains(r.stderr, notDelivered) {
				t.Fatalf("first run: exit %d, want %d and %q\n%s", r.code, exitFailure, notDelivered, lastLines(r.stderr, 3))
			}
			retried := fmt.Sprintf("tripline: state: %d alerts that the last run could not write: written now\n", len(want))
			if tc.dead {
				if n := len(lines(readOrEmpty(t, deadLetter))); n != len(want) {
					t.Errorf("%d alerts in the dead-letter file, want %d", n, len(want))
				}
				want, retried = map[string]string{}, ""
			}
			// No new events: the alerts not written are written now.
			out := filepath.Join(tmp, "alerts.ndjson")
			if tc.follow {
				tc.evs = nil
			}
			r = run(st, out)
			if r.code != 0 || !strings.HasPrefix(r.stderr, retried) {
				t.Errorf("second run: exit %d, stderr\n%s\nwant it to start\n%s", r.code, lastLines(r.stderr, 3), retried)
			}
			compareAlerts(t, "second run", alertDocs(t, readOrEmpty(t, out)), want)
			// Written once: a third run writes nothing.
			r = run(st, out)
			if r.code != 0 || strings.Contains(r.stderr, "tripline: state:") {
				t.Errorf("third run: exit %d\n%s", r.code, r.stderr)
			}
			compareAlerts(t, "third run", alertDocs(t, readOrEmpty(t, out)), want)
		})
	}
}

// lastLines returns the last n lines of s, for messages.
func lastLines(s string, n int) string {
	ls := lines(s)
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}

// readOrEmpty returns the file's text, or "" when it does not exist.
func readOrEmpty(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// TestStateDirReplayNotCounted: the journal's events a restart replays are counted apart
// in its summary, not as events read, unused or without index again, and their errors are
// not reported again.
func TestStateDirReplayNotCounted(t *testing.T) {
	dir := t.TempDir()
	rules := writeFile(t, dir, "rules/seq.toml", aThenBRule)
	ev := func(index, ts string) string {
		if index != "" {
			index = fmt.Sprintf(`"_index":%q,`, index)
		}
		return fmt.Sprintf(`{%s"@timestamp":"2026-05-01T%sZ","event":{"category":["process"]},"process":{"name":"a"}}`, index, ts)
	}
	summary := func(read, unused, noIndex, replayed int) string {
		s := fmt.Sprintf("rules:  1 loaded, 0 skipped\nevents: %d read, 0 malformed (skipped), %d unused (no timestamp or too late), %d without index", read, unused, noIndex)
		if replayed > 0 {
			s += fmt.Sprintf("; %d replayed first from the state directory's journal (--state-dir)", replayed)
		}
		return s + "\nalerts: 0\n"
	}
	for _, tc := range []struct {
		name          string
		follow        bool
		evs           []string
		first, second string // the summaries
		firstErr      string // the first run's stderr
		firstCode     int
	}{
		// The second event is too late: unused, and journalled (the first one is held).
		{name: "--follow, an event too late", follow: true,
			evs:   []string{ev("logs-test.proc-default", "10:05:00"), ev("logs-test.proc-default", "10:00:00")},
			first: summary(2, 1, 0, 0), second: summary(0, 0, 0, 2), firstErr: "-:2: event later than max lateness 5s\n", firstCode: exitSkipped},
		// An event without an index starts a partial sequence: journalled.
		{name: "a whole file, an event without an index",
			evs:   []string{ev("", "10:00:00")},
			first: summary(1, 0, 1, 0), second: summary(0, 0, 0, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := filepath.Join(t.TempDir(), "state")
			run := func(evs []string) result {
				args := []string{"detect", "--rules", filepath.Dir(rules), "--state-dir", st, "--format", "summary"}
				if tc.follow {
					return runCLI(t, strings.Join(evs, "\n")+"\n", append(args, "--follow")...)
				}
				return runCLI(t, "", append(args, writeFile(t, t.TempDir(), "in.ndjson", strings.Join(evs, "\n")+"\n"))...)
			}
			run(tc.evs).check(t, tc.firstCode, tc.first, tc.firstErr)
			run(nil).check(t, 0, tc.second, "")
		})
	}
}
