package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Alert suppression on threshold, new-terms and indicator-match rules (their events are
// thresholdEvents, clocked on event.ingested).
const (
	suppThresholdTOML = "[rule.threshold]\nfield = \"host.id\"\nvalue = 3\n\n[rule.alert_suppression.duration]\nvalue = 10\nunit = \"m\"\n"
	suppNewTermsTOML  = "[rule.new_terms]\nfield = \"new_terms_fields\"\nvalue = [\"user.name\"]\n[[rule.new_terms.history_window_start]]\nfield = \"history_window_start\"\nvalue = \"now-1h\"\n\n" +
		"[rule.alert_suppression]\ngroup_by = [\"host.id\"]\n[rule.alert_suppression.duration]\nvalue = 5\nunit = \"m\"\n"
	suppThreatTOML = "threat_index = [\"logs-ti_users-*\"]\nthreat_query = \"*:*\"\nthreat_language = \"kuery\"\n\n" +
		"[[rule.threat_mapping]]\n[[rule.threat_mapping.entries]]\nfield = \"user.name\"\ntype = \"mapping\"\nvalue = \"threat.indicator.user\"\n\n" +
		"[rule.alert_suppression]\ngroup_by = [\"user.name\"]\n[rule.alert_suppression.duration]\nvalue = 5\nunit = \"m\"\n"
)

// writeSuppressedStatefulRules writes the three rules to dir/rules and the indicators of
// the indicator-match rule to dir/ti, and returns both directories.
func writeSuppressedStatefulRules(t *testing.T, dir string) (rules, ti string) {
	t.Helper()
	rules = filepath.Join(dir, "rules")
	writeFile(t, rules, "th.toml", statefulRule("cccccccc-0000-4000-8000-000000000001", "Logon failures", "threshold",
		`event.action: "logon-failed"`, suppThresholdTOML))
	writeFile(t, rules, "nt.toml", statefulRule("cccccccc-0000-4000-8000-000000000002", "New user", "new_terms",
		`event.action: "logon-failed"`, suppNewTermsTOML))
	// threat_* keys go into [rule], before the tables.
	tm := statefulRule("cccccccc-0000-4000-8000-000000000003", "Watched user", "threat_match", `event.action: "logon-failed"`, "")
	writeFile(t, rules, "tm.toml", tm+suppThreatTOML)
	ti = filepath.Join(dir, "ti")
	writeFile(t, ti, "users.ndjson",
		`{"_id":"ind-c","@timestamp":"2026-04-19T00:00:00Z","threat":{"indicator":{"user":"c"}},"data_stream":{"type":"logs","dataset":"ti_users","namespace":"default"}}`+"\n")
	return rules, ti
}

// suppressedView is what TestStatefulRuleSuppression compares of an alert.
func suppressedView(t *testing.T, line string) string {
	t.Helper()
	var a map[string]any
	if err := json.Unmarshal([]byte(line), &a); err != nil {
		t.Fatal(err)
	}
	terms, _ := json.Marshal(a["kibana.alert.suppression.terms"])
	s := fmt.Sprintf("%s %s terms=%s %s..%s docs=%v", a["kibana.alert.rule.name"], a["kibana.alert.uuid"], terms,
		a["kibana.alert.suppression.start"], a["kibana.alert.suppression.end"], a["kibana.alert.suppression.docs_count"])
	if nt, ok := a["kibana.alert.new_terms"]; ok {
		b, _ := json.Marshal(nt)
		s += " new_terms=" + string(b)
	}
	if tr, ok := a["kibana.alert.threshold_result"].(map[string]any); ok {
		s += fmt.Sprintf(" count=%v", tr["count"])
	}
	if a["kibana.alert.instance.id"] == nil {
		s += " NO INSTANCE ID"
	}
	return s
}

// TestStatefulRuleSuppression runs threshold, new-terms and indicator-match rules with
// alert_suppression over a file, and checks every alert and the summary's suppressed
// counts; rules validate takes the three rules.
func TestStatefulRuleSuppression(t *testing.T) {
	dir := t.TempDir()
	rules, ti := writeSuppressedStatefulRules(t, dir)
	events := writeFile(t, dir, "events.ndjson", strings.Join(thresholdEvents, "\n")+"\n")
	r := runCLI(t, "", "detect", "--rules", rules, "--indicators", ti, "--now", "2026-04-20T12:00:00Z", "--stats", events)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var got []string
	for _, l := range lines(r.stdout) {
		got = append(got, suppressedView(t, l))
	}
	at := func(hms string) string { return "2026-04-20T" + hms + ".000Z" }
	th := func(id, host, start, end string, docs int) string {
		return fmt.Sprintf(`Logon failures %s terms=[{"field":"host.id","value":"%s"}] %s..%s docs=%d count=3`, id, host, at(start), at(end), docs)
	}
	nt := func(id, host, start, end string, docs int, user string) string {
		return fmt.Sprintf(`New user %s terms=[{"field":"host.id","value":%s}] %s..%s docs=%d new_terms=["%s"]`, id, host, at(start), at(end), docs, user)
	}
	want := []string{
		// h1 reaches 3 at the 10:05 and 10:10 executions: one alert, docs_count 1, from
		// its first event to the last of the second execution's.
		th("c6a1b7842c8da1e94bb2fa69cc846b927dcb032a", "h1", "10:01:00", "10:08:00", 1),
		th("0dd0a57f7fcdde11d6c477f900bd9d5f60d6d393", "h3", "10:11:00", "10:20:00", 0),
		th("52c39f1acf3750e190a2e6fd528d28d164b4d787", "h4", "10:21:00", "10:23:00", 0),
		th("6fda1343c11f62620ecce407a6c0d20dcbfce6ea", "h5", "10:21:00", "10:23:00", 0),
		// New users, suppressed by host for 5 minutes of event time: h2's q (10:04) into p
		// (10:00:30); h1's b and c (10:06, the window's last instant) into a; h3's y
		// (10:16) into x; h4 and h5's m is one group (both values); r (10:08:30) is after
		// h2's window.
		nt("2ad1b1a0dae9983b4d3bf075782ff9ec214ea276", `["h2"]`, "10:00:30", "10:04:00", 1, "p"),
		nt("99e8d81c82c0fb04dbf47ad7ccaad0beed54193e", `["h1"]`, "10:01:00", "10:06:00", 2, "a"),
		nt("09f4cf44daa52bcb1b3ad86cdafbc06fb68162f1", `["h2"]`, "10:08:30", "10:08:30", 0, "r"),
		nt("da475371ade87246ca6b9cae433992b5a2ee0fd9", `["h3"]`, "10:11:00", "10:16:00", 1, "x"),
		nt("080e41e9a876fa8f76f894806ab797bf395fbbd8", `["h4","h5"]`, "10:21:00", "10:21:00", 0, "m"),
		// User c's three failures (10:06, 10:07, 10:08) match the indicator: one alert.
		`Watched user 1d981e68e72fb720d395e5c98fb2b92b6476c983cf2f6a2b1d9dd28d594fd92a terms=[{"field":"user.name","value":["c"]}] ` + at("10:06:00") + ".." + at("10:08:00") + " docs=2",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("alerts\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var stats struct {
		Detect struct {
			Rules []struct {
				Name               string
				Alerts, Suppressed int
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stderr), &stats); err != nil {
		t.Fatalf("--stats: %v\n%s", err, r.stderr)
	}
	counts := map[string][2]int{}
	for _, rs := range stats.Detect.Rules {
		counts[rs.Name] = [2]int{rs.Alerts, rs.Suppressed}
	}
	if want := map[string][2]int{"Logon failures": {4, 1}, "New user": {5, 4}, "Watched user": {1, 2}}; !maps.Equal(counts, want) {
		t.Errorf("alerts and suppressed by rule %v, want %v", counts, want)
	}
	// rules validate takes them.
	r = runCLI(t, "", "rules", "validate", "--format", "json", rules)
	if r.code != 0 {
		t.Fatalf("rules validate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, l := range lines(r.stdout) {
		var v validation
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.Status != "ok" {
			t.Errorf("rules validate: %s (%v)", l, err)
		}
	}
}

// TestStateDirSuppressionSplitEveryEvent splits the scenario of TestStatefulRuleSuppression
// after every event, over files and standard input (--follow): two runs with one
// --state-dir write exactly the alerts of one run, the groups held across the runs
// included (a suppressing query rule too, and one without a duration).
func TestStateDirSuppressionSplitEveryEvent(t *testing.T) {
	dir := t.TempDir()
	rules, ti := writeSuppressedStatefulRules(t, dir)
	writeFile(t, rules, "q.toml", statefulRule("cccccccc-0000-4000-8000-000000000004", "Failures by host", "query",
		`event.action: "logon-failed"`, "[rule.alert_suppression]\ngroup_by = [\"host.id\"]\n[rule.alert_suppression.duration]\nvalue = 3\nunit = \"m\"\n"))
	writeFile(t, rules, "q1.toml", statefulRule("cccccccc-0000-4000-8000-000000000005", "Failures by user", "query",
		`event.action: "logon-failed"`, "[rule.alert_suppression]\ngroup_by = [\"user.name\"]\n"))
	evs := thresholdEvents
	for _, mode := range []struct {
		name    string
		follow  bool
		nAlerts int
	}{{"files", false, 21}, {"--follow", true, 21}} {
		t.Run(mode.name, func(t *testing.T) {
			run := func(st, out, name string, part []string) {
				t.Helper()
				args := []string{"detect", "--rules", rules, "--indicators", ti, "--now", "2026-04-20T12:00:00Z", "--state-dir", st, "-o", out}
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
			oneOut := filepath.Join(dir, mode.name+"-one.ndjson")
			run(filepath.Join(dir, mode.name+"-one"), oneOut, "all.ndjson", evs)
			want := alertDocs(t, read(oneOut))
			if len(want) != mode.nAlerts {
				t.Fatalf("one run: %d alerts, want %d", len(want), mode.nAlerts)
			}
			for k := 0; k <= len(evs); k++ {
				st, out := filepath.Join(dir, fmt.Sprintf("%s-s%d", mode.name, k)), filepath.Join(dir, fmt.Sprintf("%s-o%d.ndjson", mode.name, k))
				run(st, out, fmt.Sprintf("a%d.ndjson", k), evs[:k])
				run(st, out, fmt.Sprintf("b%d.ndjson", k), evs[k:])
				compareAlerts(t, fmt.Sprintf("split after event %d", k), alertDocs(t, read(out)), want)
			}
		})
	}
}
