package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/internal/testenv"
)

// statefulRule returns a KQL rule file of type typ with the extra TOML (its parameters).
func statefulRule(id, name, typ, query, extra string) string {
	return fmt.Sprintf(`[rule]
author = ["Tripline tests"]
description = "%s"
from = "now-9m"
interval = "5m"
index = ["logs-*"]
language = "kuery"
license = "Apache-2.0"
name = "%s"
risk_score = 47
rule_id = "%s"
severity = "medium"
timestamp_override = "event.ingested"
type = "%s"
query = '%s'
%s`, name, name, id, typ, query, extra)
}

// authEvent is a logon event ingested at the clock time hh:mm:ss of 2026-04-20 (its
// @timestamp 30 s earlier), with host.id host (a JSON value: "h1", ["h4","h5"], or "" for
// none), user.name user and event.action action.
func authEvent(ingested, host, user, action string) string {
	t, err := time.Parse(time.RFC3339, "2026-04-20T"+ingested+"Z")
	if err != nil {
		panic(err)
	}
	h := ""
	if host != "" {
		h = `"host":{"id":` + host + `},`
	}
	return fmt.Sprintf(`{"@timestamp":"%s","event":{"action":"%s","ingested":"%s"},%s"user":{"name":"%s"},"data_stream":{"type":"logs","dataset":"auth","namespace":"default"}}`,
		t.Add(-30*time.Second).Format(time.RFC3339), action, t.Format(time.RFC3339), h, user)
}

// thresholdEvents are the events of TestThresholdRules, in time order.
var thresholdEvents = []string{
	// h2: three events within 8 minutes, but no execution's 9-minute window holds all three.
	authEvent("10:00:30", `"h2"`, "p", "logon-failed"),
	// h1: three events, one alert (execution 10:05); three more, a second alert (10:10).
	authEvent("10:01:00", `"h1"`, "a", "logon-failed"),
	authEvent("10:02:00", `"h1"`, "a", "logon-failed"),
	authEvent("10:03:00", `"h1"`, "b", "logon-failed"),
	authEvent("10:04:00", `"h2"`, "q", "logon-failed"),
	authEvent("10:06:00", `"h1"`, "c", "logon-failed"),
	authEvent("10:07:00", `"h1"`, "c", "logon-failed"),
	authEvent("10:08:00", `"h1"`, "c", "logon-failed"),
	authEvent("10:08:30", `"h2"`, "r", "logon-failed"),
	// h3: at the start and at the end of execution 10:20's window [10:11, 10:20].
	authEvent("10:11:00", `"h3"`, "x", "logon-failed"),
	authEvent("10:16:00", `"h3"`, "y", "logon-failed"),
	authEvent("10:20:00", `"h3"`, "x", "logon-failed"),
	// A multi-valued host.id: the events count for h4 and for h5; events without host.id
	// count for no group; events the query does not match, for nothing.
	authEvent("10:21:00", `["h4","h5"]`, "m", "logon-failed"),
	authEvent("10:21:10", "", "m", "logon-failed"),
	authEvent("10:21:20", "", "m", "logon-failed"),
	authEvent("10:21:30", "", "m", "logon-failed"),
	authEvent("10:21:40", `"h6"`, "m", "logon"),
	authEvent("10:21:50", `"h6"`, "m", "logon"),
	authEvent("10:22:00", `["h4","h5"]`, "m", "logon-failed"),
	authEvent("10:22:10", `"h6"`, "m", "logon"),
	authEvent("10:23:00", `["h5","h4"]`, "m", "logon-failed"),
}

// thresholdAlert is what TestThresholdRules compares of an alert.
func thresholdAlert(t *testing.T, line string) string {
	t.Helper()
	var a map[string]any
	if err := json.Unmarshal([]byte(line), &a); err != nil {
		t.Fatal(err)
	}
	res, _ := json.Marshal(a["kibana.alert.threshold_result"])
	return fmt.Sprintf("%s host.id=%v original_time=%v %s", a["kibana.alert.rule.name"], a["host.id"], a["kibana.alert.original_time"], res)
}

// TestThresholdRules runs threshold rules over files and standard input (--follow) and
// checks every alert: window edges, signal-history de-duplication, multi-valued and missing
// group-by fields, cardinality, and a rule without group-by fields.
func TestThresholdRules(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	writeFile(t, rules, "count.toml", statefulRule("aaaaaaaa-0000-4000-8000-000000000001", "Logon failures", "threshold",
		`event.action: "logon-failed"`, "[rule.threshold]\nfield = \"host.id\"\nvalue = 3\n"))
	writeFile(t, rules, "card.toml", statefulRule("aaaaaaaa-0000-4000-8000-000000000002", "Logon failures for users", "threshold",
		`event.action: "logon-failed"`, "[rule.threshold]\nfield = [\"host.id\"]\nvalue = 2\n[[rule.threshold.cardinality]]\nfield = \"user.name\"\nvalue = 2\n"))
	writeFile(t, rules, "total.toml", statefulRule("aaaaaaaa-0000-4000-8000-000000000003", "All logon failures", "threshold",
		`event.action: "logon-failed"`, "[rule.threshold]\nfield = []\nvalue = 5\n"))
	events := writeFile(t, dir, "events.ndjson", strings.Join(thresholdEvents, "\n")+"\n")
	const card = `"cardinality":[{"field":"user.name","value":2}],`
	want := []string{
		// Execution 10:05 ([09:56, 10:05]).
		`All logon failures host.id=<nil> original_time=2026-04-20T10:04:00.000Z {"count":5,"from":"2026-04-20T10:00:30.000Z","terms":[]}`,
		`Logon failures host.id=h1 original_time=2026-04-20T10:03:00.000Z {"count":3,"from":"2026-04-20T10:01:00.000Z","terms":[{"field":"host.id","value":"h1"}]}`,
		`Logon failures for users host.id=h1 original_time=2026-04-20T10:03:00.000Z {` + card + `"count":3,"from":"2026-04-20T10:01:00.000Z","terms":[{"field":"host.id","value":"h1"}]}`,
		`Logon failures for users host.id=h2 original_time=2026-04-20T10:04:00.000Z {` + card + `"count":2,"from":"2026-04-20T10:00:30.000Z","terms":[{"field":"host.id","value":"h2"}]}`,
		// Execution 10:10 ([10:01, 10:10]): h1's events up to 10:03 are left out.
		`Logon failures host.id=h1 original_time=2026-04-20T10:08:00.000Z {"count":3,"from":"2026-04-20T10:06:00.000Z","terms":[{"field":"host.id","value":"h1"}]}`,
		// Execution 10:15 ([10:06, 10:15]).
		`All logon failures host.id=<nil> original_time=2026-04-20T10:11:00.000Z {"count":5,"from":"2026-04-20T10:06:00.000Z","terms":[]}`,
		// Execution 10:20 ([10:11, 10:20], both ends in).
		`Logon failures host.id=h3 original_time=2026-04-20T10:20:00.000Z {"count":3,"from":"2026-04-20T10:11:00.000Z","terms":[{"field":"host.id","value":"h3"}]}`,
		`Logon failures for users host.id=h3 original_time=2026-04-20T10:20:00.000Z {` + card + `"count":3,"from":"2026-04-20T10:11:00.000Z","terms":[{"field":"host.id","value":"h3"}]}`,
		// Execution 10:25 ([10:16, 10:25]).
		`All logon failures host.id=<nil> original_time=2026-04-20T10:23:00.000Z {"count":8,"from":"2026-04-20T10:16:00.000Z","terms":[]}`,
		`Logon failures host.id=h4 original_time=2026-04-20T10:23:00.000Z {"count":3,"from":"2026-04-20T10:21:00.000Z","terms":[{"field":"host.id","value":"h4"}]}`,
		`Logon failures host.id=h5 original_time=2026-04-20T10:23:00.000Z {"count":3,"from":"2026-04-20T10:21:00.000Z","terms":[{"field":"host.id","value":"h5"}]}`,
	}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"files", "", []string{events}},
		{"--follow", strings.Join(thresholdEvents, "\n") + "\n", []string{"--follow"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.stdin, append([]string{"detect", "--rules", rules, "--now", "2026-04-20T12:00:00Z"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			var got []string
			ids := map[string]string{}
			for _, l := range lines(r.stdout) {
				got = append(got, thresholdAlert(t, l))
				var a struct {
					ID string `json:"kibana.alert.uuid"`
				}
				_ = json.Unmarshal([]byte(l), &a)
				ids[got[len(got)-1]] = a.ID
			}
			// Alerts of one execution come rule by rule; compare in execution order.
			if !reflect.DeepEqual(sortedByExecution(got), sortedByExecution(want)) {
				t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// The id of h1's first alert, computed with Python's uuid and hashlib:
			// sha256("logs-*" + uuid5(ns, rule_id + "2026-04-20T10:05:00.000Z" + "host.id" + "h1")
			// + "undefined" + "default:" + rule uuid).
			if id := ids[want[1]]; id != "8ea07c563ba8ab501d1b3208262381ef74e8cafbcbdeadca56bba7cbdba7644f" {
				t.Errorf("id of %s = %s", want[1], id)
			}
		})
	}
}

// sortedByExecution orders alert descriptions by original time, then text: the order of
// executions, whatever the order of rules within one.
func sortedByExecution(xs []string) []string {
	out := append([]string(nil), xs...)
	key := func(s string) string {
		i := strings.Index(s, "original_time=")
		return s[i:i+38] + s
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if key(out[j]) < key(out[i]) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// procEvent is a process start on host at ingested time hh:mm:ss of 2026-04-20 with
// process.name names (a JSON value, "" for none).
func procEvent(ingested, host, names string) string {
	t, err := time.Parse(time.RFC3339, "2026-04-20T"+ingested+"Z")
	if err != nil {
		panic(err)
	}
	p := ""
	if names != "" {
		p = `"process":{"name":` + names + `},`
	}
	return fmt.Sprintf(`{"@timestamp":"%s","event":{"category":"process","type":"start","ingested":"%s"},"host":{"id":"%s"},%s"data_stream":{"type":"logs","dataset":"proc","namespace":"default"}}`,
		t.Add(-30*time.Second).Format(time.RFC3339), t.Format(time.RFC3339), host, p)
}

// TestNewTermsRules runs a new-terms rule (host.id and process.name, history now-1h) over
// files and standard input (--follow), with and without --history, and checks every alert:
// the window's edge, expiry, multi-valued fields and missing fields.
func TestNewTermsRules(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	writeFile(t, rules, "nt.toml", statefulRule("bbbbbbbb-0000-4000-8000-000000000001", "New process on host", "new_terms",
		`event.category: "process" and event.type: "start"`,
		"[rule.new_terms]\nfield = \"new_terms_fields\"\nvalue = [\"host.id\", \"process.name\"]\n"+
			"[[rule.new_terms.history_window_start]]\nfield = \"history_window_start\"\nvalue = \"now-1h\"\n"))
	evs := []string{
		procEvent("10:00:00", "h1", `"a"`),       // new
		procEvent("10:05:00", "h2", `["b","c"]`), // (h2, b) and (h2, c) new
		procEvent("10:06:00", "h2", `["b","d"]`), // (h2, d) new
		procEvent("10:07:00", "h3", ""),          // no process.name: no value
		procEvent("11:00:00", "h1", `"a"`),       // seen at 10:00:00, exactly 1h before: not new
		procEvent("11:06:01", "h2", `"b"`),       // last seen 10:06:00, more than 1h before: new
		procEvent("12:00:01", "h1", `"a"`),       // last seen 11:00:00: new
	}
	events := writeFile(t, dir, "events.ndjson", strings.Join(evs, "\n")+"\n")
	history := writeFile(t, dir, "history/past.ndjson", strings.Join([]string{
		procEvent("09:30:00", "h1", `"a"`),
		procEvent("09:50:00", "h2", `"c"`),
		procEvent("09:00:00", "h2", `"d"`), // out of (h2, d)'s window at 10:06
		`{"@timestamp":"2026-04-20T09:55:00Z","event":{"category":"network"},"host":{"id":"h2"},"process":{"name":"b"},"data_stream":{"type":"logs","dataset":"proc","namespace":"default"}}`, // not a match
	}, "\n")+"\n")
	describe := func(t *testing.T, out string) []string {
		var got []string
		ids := map[string]bool{}
		for _, l := range lines(out) {
			var a map[string]any
			if err := json.Unmarshal([]byte(l), &a); err != nil {
				t.Fatal(err)
			}
			terms, _ := json.Marshal(a["kibana.alert.new_terms"])
			got = append(got, fmt.Sprintf("%v %s %v", a["event.ingested"], terms, a["kibana.alert.rule.type"]))
			if ev, ok := a["event"].(map[string]any); ok {
				got[len(got)-1] = fmt.Sprintf("%v %s %v", ev["ingested"], terms, a["kibana.alert.rule.type"])
			}
			id, _ := a["kibana.alert.uuid"].(string)
			if ids[id] {
				t.Errorf("id %s twice", id)
			}
			ids[id] = true
		}
		return got
	}
	all := []string{
		`2026-04-20T10:00:00Z ["h1","a"] new_terms`,
		`2026-04-20T10:05:00Z ["h2","b"] new_terms`,
		`2026-04-20T10:05:00Z ["h2","c"] new_terms`,
		`2026-04-20T10:06:00Z ["h2","d"] new_terms`,
		`2026-04-20T11:06:01Z ["h2","b"] new_terms`,
		`2026-04-20T12:00:01Z ["h1","a"] new_terms`,
	}
	withHistory := []string{
		`2026-04-20T10:05:00Z ["h2","b"] new_terms`,
		`2026-04-20T10:06:00Z ["h2","d"] new_terms`,
		`2026-04-20T11:06:01Z ["h2","b"] new_terms`,
		`2026-04-20T12:00:01Z ["h1","a"] new_terms`,
	}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  []string
	}{
		{"files", "", []string{events}, all},
		{"--follow", strings.Join(evs, "\n") + "\n", []string{"--follow"}, all},
		{"--history", "", []string{"--history", filepath.Join(dir, "history"), events}, withHistory},
		{"--history --follow", strings.Join(evs, "\n") + "\n", []string{"--history", history, "--follow"}, withHistory},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.stdin, append([]string{"detect", "--rules", rules, "--now", "2026-04-20T13:00:00Z"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			if got := describe(t, r.stdout); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestRulesTestStateful checks rules test, validate and list on a threshold and a
// new-terms rule: the groups that reached the threshold with their counts, the values
// that were new and where.
func TestRulesTestStateful(t *testing.T) {
	dir := t.TempDir()
	th := writeFile(t, dir, "rules/count.toml", statefulRule("aaaaaaaa-0000-4000-8000-000000000001", "Logon failures", "threshold",
		`event.action: "logon-failed"`, "[rule.threshold]\nfield = \"host.id\"\nvalue = 3\n"))
	nt := writeFile(t, dir, "rules/nt.toml", statefulRule("bbbbbbbb-0000-4000-8000-000000000001", "New user on host", "new_terms",
		`event.action: "logon-failed"`, "[rule.new_terms]\nfield = \"new_terms_fields\"\nvalue = [\"user.name\"]\n"+
			"[[rule.new_terms.history_window_start]]\nfield = \"history_window_start\"\nvalue = \"now-7d\"\n"))
	bad := writeFile(t, dir, "bad/bad.toml", statefulRule("cccccccc-0000-4000-8000-000000000001", "Bad query", "threshold",
		`event.action: (a or`, "[rule.threshold]\nfield = \"host.id\"\nvalue = 3\n"))
	events := writeFile(t, dir, "events.ndjson", strings.Join(thresholdEvents[:8], "\n")+"\n")
	runCLICases(t, []cliCase{
		{
			name: "rules test, threshold",
			args: []string{"rules", "test", th, events},
			stdout: `rule:   Logon failures (aaaaaaaa-0000-4000-8000-000000000001)
events: 8 read, 8 matched the query [event.action: "logon-failed"]

threshold: by host.id, count >= 3, look-back now-9m every 5m
2 groups reached it
  host.id=h1  count=3  2026-04-20T10:01:00.000Z .. 2026-04-20T10:03:00.000Z
  host.id=h1  count=3  2026-04-20T10:06:00.000Z .. 2026-04-20T10:08:00.000Z
`,
		},
		{
			name: "rules test, new terms",
			args: []string{"rules", "test", nt, events},
			stdout: `rule:   New user on host (bbbbbbbb-0000-4000-8000-000000000001)
events: 8 read, 8 matched the query [event.action: "logon-failed"]

new terms: user.name, not seen since now-7d
5 values new
  [p]  ` + events + `:1  2026-04-20T10:00:00.000Z
  [a]  ` + events + `:2  2026-04-20T10:00:30.000Z
  [b]  ` + events + `:4  2026-04-20T10:02:30.000Z
  [q]  ` + events + `:5  2026-04-20T10:03:30.000Z
  [c]  ` + events + `:6  2026-04-20T10:05:30.000Z
`,
		},
		{
			name:   "rules test, a query that does not parse",
			args:   []string{"rules", "test", bad, events},
			code:   exitUsage,
			stderr: "tripline: " + bad + ": query: line 1:20: Expected \")\", AND, OR, whitespace but end of input found.\n",
		},
		{
			name: "rules list",
			args: []string{"rules", "list", filepath.Join(dir, "rules")},
			stdout: "RULE ID                               NAME              TYPE             SEVERITY  SUPPORTED\n" +
				"aaaaaaaa-0000-4000-8000-000000000001  Logon failures    threshold/kuery  medium    yes\n" +
				"bbbbbbbb-0000-4000-8000-000000000001  New user on host  new_terms/kuery  medium    yes\n",
		},
	})
}

// TestIndicatorMatchRule runs the prebuilt IP address indicator-match rule over network
// events with indicators from a file (--indicators), over files and standard input
// (--follow): an event matching indicators alerts once with threat.enrichments naming each
// (source.ip OR destination.ip); a multi-valued indicator field, an indicator older than
// threat_query's 30 days and a document the threat filters leave out give nothing.
func TestIndicatorMatchRule(t *testing.T) {
	ruleFile := filepath.Join(testenv.Shared(t, "rules", "detection-rules"), "rules", "threat_intel", "threat_intel_indicator_match_address.toml")
	dir := t.TempDir()
	now := time.Now().UTC().Format(time.RFC3339)
	ind := func(id, ts, ip, extra string) string {
		return fmt.Sprintf(`{"_id":%q,"@timestamp":%q,"event":{"module":"ti_abusech","category":"threat","kind":"enrichment","type":"indicator"},"threat":{"indicator":{"ip":%s,"type":"ipv4-addr"}%s},"data_stream":{"type":"logs","dataset":"ti_abusech.ip","namespace":"default"}}`,
			id, ts, ip, extra)
	}
	indicators := writeFile(t, dir, "ti/indicators.ndjson", strings.Join([]string{
		ind("ind-1", now, `"203.0.113.7"`, `,"feed":{"name":"AbuseCH IP"}`),
		ind("ind-2", now, `"198.51.100.9"`, ""),
		ind("ind-3", now, `["192.0.2.1","192.0.2.2"]`, ""),                                                // multi-valued: no match
		ind("ind-old", "2020-01-01T00:00:00Z", `"192.0.2.50"`, ""),                                        // older than now-30d/d
		strings.Replace(ind("ind-x", now, `"192.0.2.60"`, ""), `"type":"indicator"`, `"type":"other"`, 1), // threat_filters
	}, "\n")+"\n")
	net := func(sec int, src, dst string) string {
		return fmt.Sprintf(`{"@timestamp":"2026-04-20T10:00:%02dZ","event":{"category":"network","ingested":"2026-04-20T10:00:%02dZ"},"source":{"ip":%q},"destination":{"ip":%q},"data_stream":{"type":"logs","dataset":"net","namespace":"default"}}`,
			sec, sec+1, src, dst)
	}
	evs := []string{
		net(0, "203.0.113.7", "198.51.100.9"), // two indicators: one alert, two enrichments
		net(2, "10.0.0.1", "192.0.2.1"),
		net(4, "10.0.0.1", "192.0.2.50"),
		net(6, "10.0.0.1", "192.0.2.60"),
		net(8, "198.51.100.9", "10.0.0.2"),
	}
	events := writeFile(t, dir, "net.ndjson", strings.Join(evs, "\n")+"\n")
	const index = "logs-ti_abusech.ip-default"
	enr := func(id, ip, field, feed string) string {
		return `{"feed":{` + feed + `},"indicator":{"ip":"` + ip + `","type":"ipv4-addr"},"matched":{"atomic":"` + ip +
			`","field":"` + field + `","id":"` + id + `","index":"` + index + `","type":"indicator_match_rule"}}`
	}
	want := []string{
		`203.0.113.7 [` + enr("ind-1", "203.0.113.7", "source.ip", `"name":"AbuseCH IP"`) + "," + enr("ind-2", "198.51.100.9", "destination.ip", "") + `]`,
		`198.51.100.9 [` + enr("ind-2", "198.51.100.9", "source.ip", "") + `]`,
	}
	for _, tc := range []struct {
		name, stdin string
		args        []string
	}{
		{"files", "", []string{events}},
		{"--follow", strings.Join(evs, "\n") + "\n", []string{"--follow"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.stdin, append([]string{"detect", "--rules", ruleFile, "--now", "2026-04-20T12:00:00Z",
				"--indicators", filepath.Dir(indicators)}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			var got []string
			for _, l := range lines(r.stdout) {
				var a struct {
					Source struct {
						IP string `json:"ip"`
					} `json:"source"`
					Threat struct {
						Enrichments json.RawMessage `json:"enrichments"`
					} `json:"threat"`
					Type string `json:"kibana.alert.rule.type"`
				}
				if err := json.Unmarshal([]byte(l), &a); err != nil || a.Type != "threat_match" {
					t.Fatalf("alert %s: %v", l, err)
				}
				got = append(got, a.Source.IP+" "+string(a.Threat.Enrichments))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if !strings.Contains(r.stderr, "; 5 indicator documents read first (--indicators)\n") {
				t.Errorf("summary:\n%s", r.stderr)
			}
		})
	}
	// Without indicators the rule cannot run.
	r := runCLI(t, "", "detect", "--rules", ruleFile, events)
	wantErr := "tripline: rules skipped:\n      1 indicator match rule without indicators: give the documents of its threat index (detect --indicators), in " +
		ruleFile + "\ntripline: none of the rules can run (1 skipped: see 'tripline rules list')\n"
	if r.code != exitUsage || r.stderr != wantErr {
		t.Errorf("without --indicators: exit %d, stderr %q, want %q", r.code, r.stderr, wantErr)
	}
}
