package main

import (
	"strings"
	"testing"
)

// Events for the mapping tests: pid as a string and as a number, an IPv6 address written
// in a long form, a process name of 1,025 characters, undeclared fields (unique_pid).
var (
	mapEv1 = `{"@timestamp":"2026-01-01T00:00:01Z","event":{"category":"network"},"destination":{"ip":"822e:0::1"},"process":{"pid":"4242","name":"curl"},"unique_pid":7}`
	mapEv2 = `{"@timestamp":"2026-01-01T00:00:02Z","event":{"category":"network"},"destination":{"ip":"10.0.0.1"},"process":{"pid":4242,"name":"` + strings.Repeat("x", 1025) + `"}}`
	mapEv3 = `{"@timestamp":"2026-01-01T00:00:03Z","event":{"category":"process"},"process":{"pid":7,"name":"sh"},"unique_pid":7}`
)

const ipRule = `[metadata]
creation_date = "2026/01/01"
maturity = "production"
updated_date = "2026/01/01"

[rule]
author = ["Tripline"]
description = "CIDR on an ip field, a long given as a string."
from = "now-9m"
index = ["logs-*"]
language = "eql"
license = "Apache-2.0"
name = "IPv6 CIDR"
risk_score = 21
rule_id = "00000000-0000-0000-0000-000000000001"
severity = "low"
type = "eql"
query = '''
network where destination.ip == "822e::/16" and process.pid == 4242
'''
`

// TestMappings runs query and detect with the built-in ECS mapping, mapping files,
// dynamic mapping of undeclared fields, "dynamic": false and "strict".
func TestMappings(t *testing.T) {
	dir := t.TempDir()
	events := writeFile(t, dir, "ev.ndjson", mapEv1+"\n"+mapEv2+"\n"+mapEv3+"\n")
	rules := writeFile(t, dir, "r.toml", ipRule)
	some := writeFile(t, dir, "some.json", `{"mappings":{"properties":{"process":{"properties":{"pid":{"type":"long"}}}}}}`)
	closed := writeFile(t, dir, "closed.json", `{"dynamic":false,"properties":{"@timestamp":{"type":"date"},"event":{"properties":{"category":{"type":"keyword"}}}}}`)
	strict := writeFile(t, dir, "strict.json", `{"dynamic":"strict","properties":{"@timestamp":{"type":"date"},
	  "event":{"properties":{"category":{"type":"keyword"}}},"destination":{"properties":{"ip":{"type":"ip"}}},
	  "process":{"properties":{"pid":{"type":"long"},"name":{"type":"keyword"}}}}}`)
	bad := writeFile(t, dir, "bad.json", `{"properties":{"process":{"properties":{"pid":{"type":"keyword"}}}}}`)
	runCLICases(t, []cliCase{
		{
			name:   "query: dynamic mapping by default, an ip written as a string",
			args:   []string{"query", `any where destination.ip == "822e::/16"`, events},
			stderr: "3 records read, 0 skipped, 0 results; pending state at the end 0, peak 0\n",
		},
		{
			name:   "query --mapping ecs: ip matches a CIDR, a long is given as a string",
			args:   []string{"query", "--mapping", "ecs", `any where destination.ip == "822e::/16" and process.pid == 4242`, events},
			stdout: mapEv1 + "\n",
			stderr: "3 records read, 0 skipped, 1 result; pending state at the end 0, peak 1\n",
		},
		{
			name:   "query --mapping ecs: keyword ignore_above 1024",
			args:   []string{"query", "--mapping", "ecs", `any where process.name : "x*"`, events},
			stderr: "3 records read, 0 skipped, 0 results; pending state at the end 0, peak 0\n",
		},
		{
			name:   "query: without a mapping, strings are compared whole",
			args:   []string{"query", `any where process.name : "x*"`, events},
			stdout: mapEv2 + "\n",
			stderr: "3 records read, 0 skipped, 1 result; pending state at the end 0, peak 1\n",
		},
		{
			name:   "query --mapping file: undeclared fields are mapped dynamically",
			args:   []string{"query", "--mapping", some, `sequence by unique_pid [network where true] [process where process.pid == 7]`, events},
			stdout: `{"join_keys":["7"],"events":[` + mapEv1 + `,` + mapEv3 + `]}` + "\n",
			stderr: "3 records read, 0 skipped, 1 result; pending state at the end 0, peak 3\n",
		},
		{
			name:   "query --mapping ecs --mapping file: merged",
			args:   []string{"query", "--mapping", "ecs", "--mapping", some, `any where destination.ip == "822e::/16"`, events},
			stdout: mapEv1 + "\n",
			stderr: "3 records read, 0 skipped, 1 result; pending state at the end 0, peak 1\n",
		},
		{
			name:   "query: a field no mapping declares and no event has is a warning",
			args:   []string{"query", "--mapping", some, `any where unique_pid == 7 or unqiue_pid == 7 or ?optional == 1`, events},
			stdout: mapEv1 + "\n" + mapEv3 + "\n",
			stderr: "tripline: warning: no mapping declares [unqiue_pid] and no event had it: a typo? (Elasticsearch would answer \"Unknown column [unqiue_pid]\")\n" +
				"3 records read, 0 skipped, 2 results; pending state at the end 0, peak 2\n",
		},
		{
			name:   "query --mapping with dynamic false: undeclared fields are not indexed",
			args:   []string{"query", "--mapping", closed, `any where unique_pid == 7`, events},
			code:   exitUsage,
			stderr: "error: 1:11: Unknown column [unique_pid]\n",
		},
		{
			name:   "query --mapping with dynamic false: an optional undeclared field is null",
			args:   []string{"query", "--mapping", closed, `network where ?unique_pid == null`, events},
			stdout: mapEv1 + "\n" + mapEv2 + "\n",
			stderr: "3 records read, 0 skipped, 2 results; pending state at the end 0, peak 2\n",
		},
		{
			name:   "query --mapping strict: documents with undeclared fields are rejected",
			args:   []string{"query", "--mapping", strict, `any where true`, events},
			code:   exitSkipped,
			stdout: mapEv2 + "\n",
			stderr: events + ":1: mapping set to strict, dynamic introduction of [unique_pid] within [_doc] is not allowed (skipped)\n" +
				events + ":3: mapping set to strict, dynamic introduction of [unique_pid] within [_doc] is not allowed (skipped)\n" +
				"3 records read, 2 skipped, 1 result (skipped: 2 malformed, 0 without a valid timestamp, 0 later than --max-lateness); pending state at the end 0, peak 1\n",
		},
		{
			name:   "--mapping none alone",
			args:   []string{"query", "--mapping", "none", "--mapping", some, `any where true`, events},
			code:   exitUsage,
			stderr: "tripline: --mapping none cannot be combined with other mappings\n",
		},
		{
			name:   "conflicting mappings",
			args:   []string{"query", "--mapping", "ecs", "--mapping", bad, `any where true`, events},
			code:   exitUsage,
			stderr: "tripline: mapping: field \"process.pid\" is long in one mapping and keyword in another\n",
		},
		{
			name: "detect: the ECS mapping by default",
			args: []string{"detect", "--rules", rules, "--format", "summary", "--now", fixedNow, events},
			stdout: "rules:  1 loaded, 0 skipped\n" +
				"events: 3 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 3 without index\n" +
				"alerts: 1\n" +
				"   ALERTS MATCHES  CAPPED  RULE\n" +
				"        1       1       0  IPv6 CIDR\n",
		},
		{
			name: "detect --mapping none",
			args: []string{"detect", "--rules", rules, "--format", "summary", "--mapping", "none", events},
			stdout: "rules:  1 loaded, 0 skipped\n" +
				"events: 3 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 3 without index\n" +
				"alerts: 0\n",
		},
		{
			name: "detect --mapping strict",
			args: []string{"detect", "--rules", rules, "--format", "summary", "--mapping", strict, events},
			code: exitSkipped,
			stdout: "rules:  1 loaded, 0 skipped\n" +
				"events: 3 read, 2 malformed (skipped), 0 unused (no timestamp or too late), 1 without index\n" +
				"alerts: 0\n",
			stderr: events + ":1: mapping set to strict, dynamic introduction of [unique_pid] within [_doc] is not allowed (skipped)\n" +
				events + ":3: mapping set to strict, dynamic introduction of [unique_pid] within [_doc] is not allowed (skipped)\n",
		},
	})
}

// TestDatesBeyondNanos: dates outside 1677-2262 are valid timestamps of a date (or dynamic)
// field, as in Elasticsearch; a date_nanos field holds 1970 to 2262 only.
func TestDatesBeyondNanos(t *testing.T) {
	dir := t.TempDir()
	d1 := `{"@timestamp":"9999-12-31T23:59:59.999Z","event":{"category":"process"},"n":1}`
	d2 := `{"@timestamp":"1000-01-01","event":{"category":"process"},"n":2}`
	d3 := `{"@timestamp":"2026-01-01T00:00:00Z","event":{"category":"process"},"n":3}`
	events := writeFile(t, dir, "dates.ndjson", d1+"\n"+d2+"\n"+d3+"\n")
	nanos := writeFile(t, dir, "nanos.json", `{"properties":{"@timestamp":{"type":"date_nanos"}}}`)
	runCLICases(t, []cliCase{
		{
			name:   "dynamic mapping",
			args:   []string{"query", `process where true`, events},
			stdout: d2 + "\n" + d3 + "\n" + d1 + "\n",
			stderr: "3 records read, 0 skipped, 3 results; pending state at the end 0, peak 3\n",
		},
		{
			name:   "ECS mapping, date comparison beyond 2262",
			args:   []string{"query", "--mapping", "ecs", `sequence [process where @timestamp < "1677-01-01"] [process where @timestamp >= "9999-12-31"]`, events},
			stdout: `{"join_keys":[],"events":[` + d2 + `,` + d1 + `]}` + "\n",
			stderr: "3 records read, 0 skipped, 1 result; pending state at the end 0, peak 2\n",
		},
		{
			name:   "date_nanos",
			args:   []string{"query", "--mapping", nanos, `process where true`, events},
			code:   exitSkipped,
			stdout: d3 + "\n",
			stderr: events + ":1: no valid timestamp in field @timestamp (skipped)\n" +
				events + ":2: no valid timestamp in field @timestamp (skipped)\n" +
				"3 records read, 2 skipped, 1 result (skipped: 0 malformed, 2 without a valid timestamp, 0 later than --max-lateness); pending state at the end 0, peak 1\n",
		},
	})
}

// TestServeStrictMapping: serve refuses, in their item, the documents a strict mapping
// rejects, as Elasticsearch does, and reports them.
func TestServeStrictMapping(t *testing.T) {
	dir := t.TempDir()
	strict := writeFile(t, dir, "strict.json", `{"dynamic":"strict","properties":{"@timestamp":{"type":"date"},
	  "event":{"properties":{"category":{"type":"keyword"}}},"destination":{"properties":{"ip":{"type":"ip"}}},
	  "process":{"properties":{"pid":{"type":"long"},"name":{"type":"keyword"}}}}}`)
	rules := writeFile(t, dir, "r.toml", ipRule)
	url, stop, stdout, stderr := startServe(t, "--rules", rules, "--mapping", strict, "--now", fixedNow)
	body := `{"index":{"_index":"logs-x"}}` + "\n" + mapEv1 + "\n" + `{"index":{"_index":"logs-x"}}` + "\n" +
		strings.Replace(mapEv1, `,"unique_pid":7`, "", 1) + "\n"
	wantItem := `"status":400,"error":{"type":"strict_dynamic_mapping_exception",` +
		`"reason":"mapping set to strict, dynamic introduction of [unique_pid] within [_doc] is not allowed (request body line 2)"}}}`
	if code, resp := httpDo(t, "POST", url+"/_bulk", "application/x-ndjson", body); code != 200 ||
		!strings.Contains(resp, wantItem) || strings.Count(resp, `"status":201`) != 1 {
		t.Fatalf("POST /_bulk: %d %s\nwant the first item refused with %s", code, resp, wantItem)
	}
	if code := stop(); code != exitOK {
		t.Errorf("exit %d, want %d (serve exits 0 on SIGTERM)", code, exitOK)
	}
	for _, want := range []string{
		"bulk:logs-x:2: mapping set to strict, dynamic introduction of [unique_pid] within [_doc] is not allowed (refused)\n",
		"events: 2 read, 1 malformed (skipped), 0 unused (no timestamp or too late), 0 without index\n",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr:\n%s\nwant a line %q", stderr, want)
		}
	}
	if n := strings.Count(stdout.String(), `"kibana.alert.rule.name":"IPv6 CIDR"`); n != 1 {
		t.Errorf("%d alerts, want 1 (for the document without unique_pid):\n%s", n, stdout)
	}
}
