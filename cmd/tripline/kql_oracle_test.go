package main

import "testing"

// The oracle's documents (detection-rules tests/kuery/test_evaluator.py
// @14cf530f0d2177023092449cd9d9348b4a8884c2) with a timestamp, one per file, and the
// mappings of kql/oracle_test.go: every field keyword, ip mapped ip, the objects nested.
const (
	oracleEvent       = `{"@timestamp": "2026-03-12T09:00:00Z", "number": 1, "boolean": true, "ip": "192.168.16.3", "string": "hello world", "string_list": ["hello world", "example"], "number_list": [1, 2, 3], "boolean_list": [true, false], "structured": [{"a": [{"b": 1}]}]}`
	oracleNestedEvent = `{"@timestamp": "2026-03-12T09:00:01Z", "deltas": [{"action": "ADD", "role": "roles/target"}, {"action": "REMOVE", "role": "roles/other"}]}`

	oracleKeywordMapping = `{"properties": {"@timestamp": {"type": "date"}, "number": {"type": "keyword"}, "boolean": {"type": "keyword"}, "ip": {"type": "keyword"},
  "string": {"type": "keyword"}, "string_list": {"type": "keyword"}, "number_list": {"type": "keyword"}, "boolean_list": {"type": "keyword"},
  "structured": {"properties": {"a": {"properties": {"b": {"type": "keyword"}}}}}, "deltas": {"properties": {"action": {"type": "keyword"}, "role": {"type": "keyword"}}}}}`
	oracleIPMapping     = `{"properties": {"@timestamp": {"type": "date"}, "ip": {"type": "ip"}}}`
	oracleNestedMapping = `{"properties": {"@timestamp": {"type": "date"}, "structured": {"type": "nested", "properties": {"a": {"type": "nested", "properties": {"b": {"type": "keyword"}}}}},
  "deltas": {"type": "nested", "properties": {"action": {"type": "keyword"}, "role": {"type": "keyword"}}}}}`
)

// TestQueryKQLOracle runs a subset of the oracle's evaluator cases through tripline query
// --language kuery over files on disk; kql.TestOracleEvaluator runs every case in-process.
func TestQueryKQLOracle(t *testing.T) {
	dir := t.TempDir()
	doc := writeFile(t, dir, "doc.ndjson", oracleEvent+"\n")
	nested := writeFile(t, dir, "nested.ndjson", oracleNestedEvent+"\n")
	maps := map[string]string{
		"keyword": writeFile(t, dir, "keyword.json", oracleKeywordMapping),
		"ip":      writeFile(t, dir, "ip.json", oracleIPMapping),
		"nested":  writeFile(t, dir, "nested.json", oracleNestedMapping),
	}
	const one = "1 record read, 0 skipped, 1 result; pending state at the end 0, peak 1\n"
	const none = "1 record read, 0 skipped, 0 results; pending state at the end 0, peak 0\n"
	events := map[string]string{doc: oracleEvent + "\n", nested: oracleNestedEvent + "\n"}
	for _, tc := range []struct {
		q, mapping, file string
		match            bool   // the event is printed
		err              string // the query's error, exit 2
	}{
		{q: `number:1`, mapping: "keyword", file: doc, match: true},
		{q: `number:0`, mapping: "keyword", file: doc},
		{q: `number_list:(1 and 2)`, mapping: "keyword", file: doc, match: true},
		{q: `not number_list:1`, mapping: "keyword", file: doc},
		{q: `string:("missing" or "hello world")`, mapping: "keyword", file: doc, match: true},
		{q: `"hello world" and "missing"`, mapping: "keyword", file: doc},
		{q: `hello*`, mapping: "keyword", file: doc, match: true},
		{q: `number < 2`, mapping: "keyword", file: doc, match: true},
		{q: `string:*world`, mapping: "keyword", file: doc, match: true},
		{q: `string:'*'`, mapping: "keyword", file: doc},
		{q: `boolean_list:*`, mapping: "keyword", file: doc, match: true},
		{q: `a:*`, mapping: "keyword", file: doc},
		{q: `structured.a.b:1`, mapping: "keyword", file: doc, match: true},
		// Differs from the oracle (y): a term on a keyword field has no CIDR; mapped ip, it has.
		{q: `ip:192.168.0.0/16`, mapping: "keyword", file: doc},
		{q: `ip:192.168.0.0/16`, mapping: "ip", file: doc, match: true},
		// Differs from the oracle: a nested query needs a nested mapping.
		{q: `structured:{ a:{ b:1 } }`, mapping: "keyword", file: doc, err: "error: failed to create query: [nested] failed to find nested object under path [structured]\n"},
		{q: `structured:{ a:{ b:1 } }`, mapping: "nested", file: doc, match: true},
		{q: `deltas:{ action:ADD and role:"roles/target" }`, mapping: "nested", file: nested, match: true},
		{q: `deltas:{ action:ADD and role:"roles/other" }`, mapping: "nested", file: nested},
	} {
		t.Run(tc.q+" ["+tc.mapping+"]", func(t *testing.T) {
			r := runCLI(t, "", "query", "--language", "kuery", "--mapping", maps[tc.mapping], tc.q, tc.file)
			switch {
			case tc.err != "":
				r.check(t, 2, "", tc.err)
			case tc.match:
				r.check(t, 0, events[tc.file], one)
			default:
				r.check(t, 0, "", none)
			}
		})
	}
}
