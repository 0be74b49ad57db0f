package main

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestDetectAlertDocuments runs detect over rule and event files on disk and checks, in
// the alerts it writes, the fields Kibana writes that come from the rule file (dates from
// [metadata], immutable for a production rule, the timeline template, investigation fields),
// from --kibana-url and --space (kibana.alert.url), event.kind as a dotted key, the source
// values that conflict with ECS left out (host.os "linux", source.ip "not-an-ip",
// process.pid "abc", empty arrays), and the shell of a sequence with one present event and a
// missing one, which has no group.index.
func TestDetectAlertDocuments(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	writeFile(t, rules, "prebuilt.toml", `[metadata]
creation_date = "2020/07/07"
maturity = "production"
updated_date = "2026/02/02"

[rule]
author = ["Elastic"]
description = "A shell in a container."
index = ["logs-*"]
language = "eql"
license = "Elastic License v2"
name = "Shell in a container"
risk_score = 47
rule_id = "aaaaaaaa-1111-4111-8111-000000000001"
severity = "medium"
tags = ["Domain: Container"]
timeline_id = "e70679c2-6cde-4510-9764-4823df18f7db"
timeline_title = "Comprehensive Process Timeline"
type = "eql"
query = '''
process where process.name == "bash"
'''

[rule.investigation_fields]
field_names = ["host.name", "process.name"]
`)
	writeFile(t, rules, "custom.toml", `[metadata]
creation_date = "2026/03/12"
maturity = "development"
updated_date = "2026/03/12"

[rule]
author = ["SOC"]
description = "A process nothing follows."
index = ["logs-*"]
language = "eql"
license = "Apache-2.0"
name = "Lonely process"
risk_score = 73
rule_id = "aaaaaaaa-1111-4111-8111-000000000002"
severity = "high"
tags = []
type = "eql"
query = '''
sequence with maxspan=1s [process where process.name == "lonely"] ![file where true]
'''
`)
	events := writeFile(t, dir, "events.ndjson", strings.Join([]string{
		`{"@timestamp":"2026-03-12T09:14:03.000Z","event":{"kind":"event","category":["process"],"type":["start"]},"host":{"name":"node-1","os":"linux"},"source":{"ip":"not-an-ip"},"process":{"name":"bash","pid":"abc","args":[]},"data_stream":{"type":"logs","dataset":"cloud_defend.process","namespace":"default"}}`,
		`{"@timestamp":"2026-03-12T09:15:00.000Z","event":{"kind":"event","category":["process"],"type":["start"]},"host":{"name":"node-2","os":{"type":"linux"}},"process":{"name":"lonely","pid":42},"data_stream":{"type":"logs","dataset":"cloud_defend.process","namespace":"default"}}`,
	}, "\n")+"\n")

	r := runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow, "--space", "soc",
		"--kibana-url", "https://kibana.example.com:5601/", events)
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	fields := []string{"kibana.alert.rule.name", "kibana.alert.rule.created_at", "kibana.alert.rule.created_by",
		"kibana.alert.rule.updated_at", "kibana.alert.rule.updated_by", "kibana.alert.rule.immutable",
		"kibana.alert.rule.timeline_id", "kibana.alert.rule.timeline_title", "event.kind", "event", "host", "source", "process",
		"kibana.alert.building_block_type", "kibana.alert.group.index"}
	var got []string
	for _, l := range lines(r.stdout) {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &doc); err != nil {
			t.Fatal(err)
		}
		var uuid string
		_ = json.Unmarshal(doc["kibana.alert.uuid"], &uuid)
		var parts []string
		for _, f := range fields {
			if v, ok := doc[f]; ok {
				parts = append(parts, f+"="+string(v))
			}
		}
		var p map[string]json.RawMessage
		_ = json.Unmarshal(doc["kibana.alert.rule.parameters"], &p)
		var pk []string
		for _, k := range []string{"immutable", "rule_source", "investigation_fields", "timeline_id", "filters", "note"} {
			if v, ok := p[k]; ok {
				pk = append(pk, k+"="+string(v))
			}
		}
		sort.Strings(pk)
		parts = append(parts, "parameters: "+strings.Join(pk, " "))
		url := strings.ReplaceAll(string(doc["kibana.alert.url"]), uuid, "{uuid}")
		parts = append(parts, "url="+url)
		got = append(got, strings.Join(parts, " "))
	}
	const (
		prebuilt = `kibana.alert.rule.name="Shell in a container" kibana.alert.rule.created_at="2020-07-07T00:00:00.000Z" kibana.alert.rule.created_by="elastic" ` +
			`kibana.alert.rule.updated_at="2026-02-02T00:00:00.000Z" kibana.alert.rule.updated_by="elastic" kibana.alert.rule.immutable=true ` +
			`kibana.alert.rule.timeline_id="e70679c2-6cde-4510-9764-4823df18f7db" kibana.alert.rule.timeline_title="Comprehensive Process Timeline" `
		lonely = `kibana.alert.rule.name="Lonely process" kibana.alert.rule.created_at="2026-03-12T00:00:00.000Z" kibana.alert.rule.created_by="elastic" ` +
			`kibana.alert.rule.updated_at="2026-03-12T00:00:00.000Z" kibana.alert.rule.updated_by="elastic" kibana.alert.rule.immutable=false `
		lonelyEvent = `event.kind="signal" event={"category":["process"],"type":["start"]} host={"name":"node-2","os":{"type":"linux"}} process={"name":"lonely","pid":42} `
		url         = `url="https://kibana.example.com:5601/s/soc/app/security/alerts/redirect/{uuid}?index=.alerts-security.alerts-soc\u0026timestamp=2026-03-12T10:00:00.000Z"`
	)
	// Rule files are read in lexical order, and a batch run writes the alerts rule by rule.
	want := []string{
		lonely + lonelyEvent + `parameters: immutable=false rule_source={"type":"internal"} ` + url,
		lonely + lonelyEvent + `kibana.alert.building_block_type="default" kibana.alert.group.index=0 parameters: immutable=false rule_source={"type":"internal"} ` + url,
		prebuilt + `event.kind="signal" event={"category":["process"],"type":["start"]} host={"name":"node-1"} process={"name":"bash"} ` +
			`parameters: immutable=true investigation_fields={"field_names":["host.name","process.name"]} rule_source={"is_customized":false,"type":"external"} ` +
			`timeline_id="e70679c2-6cde-4510-9764-4823df18f7db" ` + url,
	}
	if len(got) != len(want) {
		t.Fatalf("%d alerts, want %d:\n%s", len(got), len(want), r.stdout)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("alert %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}

	for _, bad := range []string{"kibana.example.com", "ftp://kibana.example.com", "https://kibana.example.com/?x=1", "https:///app"} {
		r := runCLI(t, "", "detect", "--rules", rules, "--kibana-url", bad, events)
		r.check(t, exitUsage, "", "tripline: --kibana-url \""+bad+"\": want the URL Kibana is reached at, such as https://kibana.example.com:5601 (http or https, a host, an optional path, no query or fragment)\n")
	}
}
