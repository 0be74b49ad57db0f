package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/event"
)

// Four events, out of timestamp order in the file. ev1 is at 00:00:01, ev2 at :02, ev3
// at :03, ev4 at :04.
const (
	ev3 = `{"@timestamp":"2026-01-01T00:00:03Z","event":{"category":"process"},"user":"u1","process":{"name":"b"},"source":{"ip":"10.1.2.3"},"code":"7"}`
	ev1 = `{"@timestamp":"2026-01-01T00:00:01Z","event":{"category":"process"},"user":"u1","process":{"name":"a"},"source":{"ip":"192.168.0.1"},"code":"10"}`
	ev2 = `{"@timestamp":"2026-01-01T00:00:02Z","event":{"category":"network"},"user":"u2","process":{"name":"a"},"source":{"ip":"10.9.9.9"},"code":"9"}`
	ev4 = `{"@timestamp":"2026-01-01T00:00:04Z","event":{"category":"process"},"user":"u2","process":{"name":"b"},"code":"8"}`
)

// queryFixtures writes the event files of the query tests into a temporary directory.
func queryFixtures(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "ev.ndjson", ev3+"\n"+ev1+"\n"+ev2+"\n"+ev4+"\n")
	writeFile(t, dir, "arr.json", "[\n  "+ev3+",\n  "+ev1+"\n]\n")
	writeFile(t, dir, "bad.ndjson", ev3+"\n"+`{"@timestamp": broken`+"\n\n"+ev1+"\n[1,2]\n"+
		`{"event":{"category":"process"},"process":{"name":"c"}}`+"\n")
	// An indented array: its documents span lines, and their numbers are written in ways
	// (1.50, 1e3, -0.0) that must come out as they are.
	writeFile(t, dir, "pretty.json", "[\n  "+pretty6Raw+",\n  "+pretty5Raw+"\n]\n")
	writeFile(t, dir, "empty/README.txt", "no events here\n")
	if err := os.Symlink(filepath.Join(dir, "ev.ndjson"), filepath.Join(dir, "empty", "link.txt")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "map.json", `{"mappings":{"properties":{"code":{"type":"long"},"source":{"properties":{"ip":{"type":"ip"}}}}}}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(ev2 + "\n" + ev4 + "\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "z.ndjson.gz", gz.String())
	return dir
}

// hit is the _eql/search form of one event of an index.
func hit(index, raw string) string {
	return `{"_index":"` + index + `","_id":"` + event.DocID([]byte(raw)) + `","_source":` + raw + `}`
}

const missingHit = `{"_index":"","_id":"","_source":{},"missing":true}`

// The documents of pretty.json as written there, and compacted: the keys in their order,
// the numbers as written.
const (
	pretty6Raw = "{\n    \"@timestamp\": \"2026-01-01T00:00:06Z\",\n    \"z\": 1.50,\n    \"a\": 1e3,\n" +
		"    \"event\": {\"category\": \"process\"},\n    \"process\": {\n      \"name\": \"p\"\n    }\n  }"
	pretty5Raw = "{\r\n    \"@timestamp\": \"2026-01-01T00:00:05Z\",\r\n    \"event\": {\n      \"category\": \"network\"\n    },\n    \"n\": -0.0\n  }"

	pretty6 = `{"@timestamp":"2026-01-01T00:00:06Z","z":1.50,"a":1e3,"event":{"category":"process"},"process":{"name":"p"}}`
	pretty5 = `{"@timestamp":"2026-01-01T00:00:05Z","event":{"category":"network"},"n":-0.0}`
)

var tookRE = regexp.MustCompile(`"took":\d+,`)

func TestQuery(t *testing.T) {
	dir := queryFixtures(t)
	evFile := filepath.Join(dir, "ev.ndjson")
	bad := filepath.Join(dir, "bad.ndjson")
	const missingSeq = `sequence by user with maxspan=10s [process where process.name == "a"] ![process where process.name == "z"] [any where true]`
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{
			name:   "ndjson in timestamp order",
			args:   []string{"query", "any where true", evFile},
			stdout: ev1 + "\n" + ev2 + "\n" + ev3 + "\n" + ev4 + "\n",
			stderr: "4 records read, 0 skipped, 4 results; pending state at the end 0, peak 4\n",
		},
		{
			name:   "category and condition",
			args:   []string{"query", `process where process.name == "b"`, evFile},
			stdout: ev3 + "\n" + ev4 + "\n",
			stderr: "4 records read, 0 skipped, 2 results; pending state at the end 0, peak 2\n",
		},
		{
			name:   "es event query",
			args:   []string{"query", "--format", "es", `process where process.name == "b"`, evFile},
			stdout: `{"is_partial":false,"is_running":false,"took":0,"timed_out":false,"hits":{"total":{"value":2,"relation":"eq"},"events":[` + hit("ev", ev3) + "," + hit("ev", ev4) + "]}}\n",
			stderr: "4 records read, 0 skipped, 2 results; pending state at the end 0, peak 2\n",
		},
		{
			name:   "es, no match",
			args:   []string{"query", "--format", "es", `process where process.name == "q"`, evFile},
			stdout: `{"is_partial":false,"is_running":false,"took":0,"timed_out":false,"hits":{"total":{"value":0,"relation":"eq"},"events":[]}}` + "\n",
			stderr: "4 records read, 0 skipped, 0 results; pending state at the end 0, peak 0\n",
		},
		{
			name:   "es sequence with join keys",
			args:   []string{"query", "--format", "es", "sequence by user [any where true] [any where true]", evFile},
			stdout: `{"is_partial":false,"is_running":false,"took":0,"timed_out":false,"hits":{"total":{"value":2,"relation":"eq"},"sequences":[{"join_keys":["u1"],"events":[` + hit("ev", ev1) + "," + hit("ev", ev3) + `]},{"join_keys":["u2"],"events":[` + hit("ev", ev2) + "," + hit("ev", ev4) + "]}]}}\n",
			stderr: "4 records read, 0 skipped, 2 results; pending state at the end 2, peak 4\n",
		},
		{
			name:   "es sequence without join keys",
			args:   []string{"query", "--format", "es", `sequence [any where process.name == "a"] [any where process.name == "b"]`, evFile},
			stdout: `{"is_partial":false,"is_running":false,"took":0,"timed_out":false,"hits":{"total":{"value":1,"relation":"eq"},"sequences":[{"events":[` + hit("ev", ev2) + "," + hit("ev", ev3) + "]}]}}\n",
			stderr: "4 records read, 0 skipped, 1 result; pending state at the end 0, peak 4\n",
		},
		{
			name:   "es sequence with a missing event",
			args:   []string{"query", "--format", "es", missingSeq, evFile},
			stdout: `{"is_partial":false,"is_running":false,"took":0,"timed_out":false,"hits":{"total":{"value":1,"relation":"eq"},"sequences":[{"join_keys":["u1"],"events":[` + hit("ev", ev1) + "," + missingHit + "," + hit("ev", ev3) + "]}]}}\n",
			stderr: "4 records read, 0 skipped, 1 result; pending state at the end 0, peak 4\n",
		},
		{
			name:   "es sequence, no match",
			args:   []string{"query", "--format", "es", `sequence [any where process.name == "q"] [any where true]`, evFile},
			stdout: `{"is_partial":false,"is_running":false,"took":0,"timed_out":false,"hits":{"total":{"value":0,"relation":"eq"},"sequences":[]}}` + "\n",
			stderr: "4 records read, 0 skipped, 0 results; pending state at the end 0, peak 4\n",
		},
		{
			name:   "ndjson sequence with a missing event",
			args:   []string{"query", missingSeq, evFile},
			stdout: `{"join_keys":["u1"],"events":[` + ev1 + ",null," + ev3 + "]}\n",
			stderr: "4 records read, 0 skipped, 1 result; pending state at the end 0, peak 4\n",
		},
		{
			name: "table",
			args: []string{"query", "--format", "table", missingSeq, evFile},
			stdout: "" +
				"#    @timestamp            event.category  event.action  host.name  user.name  process.name  process.args  kubernetes.audit.verb  kubernetes.audit.objectRef.resource  orchestrator.resource.name\n" +
				"1.1  2026-01-01T00:00:01Z  process         -             -          -          a             -             -                      -                                    -\n" +
				"1.2  (missing)             (missing)       (missing)     (missing)  (missing)  (missing)     (missing)     (missing)              (missing)                            (missing)\n" +
				"1.3  2026-01-01T00:00:03Z  process         -             -          -          b             -             -                      -                                    -\n",
			stderr: "4 records read, 0 skipped, 1 result; pending state at the end 0, peak 4\n",
		},
		{
			name:   "table, no match",
			args:   []string{"query", "--format", "table", `any where process.name == "q"`, evFile},
			stdout: "(no results)\n",
			stderr: "4 records read, 0 skipped, 0 results; pending state at the end 0, peak 0\n",
		},
		{
			name: "table leaves out the columns no result has",
			args: []string{"query", "--format", "table", `process where true`, evFile},
			stdout: "" +
				"#  @timestamp            event.category  process.name\n" +
				"1  2026-01-01T00:00:01Z  process         a\n" +
				"2  2026-01-01T00:00:03Z  process         b\n" +
				"3  2026-01-01T00:00:04Z  process         b\n",
			stderr: "4 records read, 0 skipped, 3 results; pending state at the end 0, peak 3\n",
		},
		{
			name:   "size head",
			args:   []string{"query", "--size", "2", "--result-position", "head", "any where true", evFile},
			stdout: ev1 + "\n" + ev2 + "\n",
			stderr: "4 records read, 0 skipped, 2 results; pending state at the end 2, peak 4\n",
		},
		{
			name:   "size tail (the default position), ascending",
			args:   []string{"query", "--size", "2", "any where true", evFile},
			stdout: ev3 + "\n" + ev4 + "\n",
			stderr: "4 records read, 0 skipped, 2 results; pending state at the end 0, peak 4\n",
		},
		{
			name:   "size head on sequences",
			args:   []string{"query", "--size", "1", "--result-position", "head", "sequence by user [any where true] [any where true]", evFile},
			stdout: `{"join_keys":["u1"],"events":[` + ev1 + "," + ev3 + "]}\n",
			stderr: "4 records read, 0 skipped, 1 result; pending state at the end 3, peak 4\n",
		},
		{
			name:   "size tail on sequences",
			args:   []string{"query", "--size", "1", "--result-position", "tail", "sequence by user [any where true] [any where true]", evFile},
			stdout: `{"join_keys":["u2"],"events":[` + ev2 + "," + ev4 + "]}\n",
			stderr: "4 records read, 0 skipped, 1 result; pending state at the end 2, peak 4\n",
		},
		{
			name:   "malformed lines are reported and skipped",
			args:   []string{"query", "any where true", bad},
			code:   exitSkipped,
			stdout: ev1 + "\n" + ev3 + "\n",
			stderr: bad + ":2: not a JSON object (no closing brace) (skipped)\n" +
				bad + ":5: not a JSON object (skipped)\n" +
				bad + ":6: no valid timestamp in field @timestamp (skipped)\n" +
				"5 records read, 3 skipped, 2 results (skipped: 2 malformed, 1 without a valid timestamp, 0 later than --max-lateness); pending state at the end 0, peak 2\n",
		},
		{
			name:   "indented json array: one document a line",
			args:   []string{"query", "any where true", filepath.Join(dir, "pretty.json")},
			stdout: pretty5 + "\n" + pretty6 + "\n",
			stderr: "2 records read, 0 skipped, 2 results; pending state at the end 0, peak 2\n",
		},
		{
			name:   "indented json array: one sequence a line",
			args:   []string{"query", "sequence [network where true] [process where true]", filepath.Join(dir, "pretty.json")},
			stdout: `{"join_keys":[],"events":[` + pretty5 + "," + pretty6 + "]}\n",
			stderr: "2 records read, 0 skipped, 1 result; pending state at the end 0, peak 2\n",
		},
		{
			name:   "indented json array, es",
			args:   []string{"query", "--format", "es", "process where true", filepath.Join(dir, "pretty.json")},
			stdout: `{"is_partial":false,"is_running":false,"took":0,"timed_out":false,"hits":{"total":{"value":1,"relation":"eq"},"events":[{"_index":"pretty","_id":"` + event.DocID([]byte(pretty6Raw)) + `","_source":` + pretty6 + "}]}}\n",
			stderr: "2 records read, 0 skipped, 1 result; pending state at the end 0, peak 1\n",
		},
		{
			name:   "size 0: no event, as Elasticsearch",
			args:   []string{"query", "--size", "0", "any where true", evFile},
			stderr: "4 records read, 0 skipped, 0 results; pending state at the end 0, peak 0\n",
		},
		{
			name:   "size 0: no sequence, as Elasticsearch",
			args:   []string{"query", "--format", "es", "--size", "0", "--result-position", "head", "sequence by user [any where true] [any where true]", evFile},
			stdout: `{"is_partial":false,"is_running":false,"took":0,"timed_out":false,"hits":{"total":{"value":0,"relation":"eq"},"sequences":[]}}` + "\n",
			stderr: "4 records read, 0 skipped, 0 results; pending state at the end 0, peak 0\n",
		},
		{
			name:   "size 0: no sample, as Elasticsearch (test_sample.toml size0)",
			args:   []string{"query", "--format", "table", "--size", "0", "sample by user [any where true] [any where true]", evFile},
			stdout: "(no results)\n",
			stderr: "4 records read, 0 skipped, 0 results; pending state at the end 0, peak 0\n",
		},
		{
			name: "size 0: the input is still read, and malformed records reported",
			args: []string{"query", "--size", "0", "any where true", bad},
			code: exitSkipped,
			stderr: bad + ":2: not a JSON object (no closing brace) (skipped)\n" +
				bad + ":5: not a JSON object (skipped)\n" +
				"5 records read, 2 skipped, 0 results (skipped: 2 malformed, 0 without a valid timestamp, 0 later than --max-lateness); pending state at the end 0, peak 0\n",
		},
		{
			name:   "size: negative",
			args:   []string{"query", "--size", "-1", "any where true", evFile},
			code:   exitUsage,
			stderr: "tripline: --size must not be negative\n",
		},
		{
			name:   "json array",
			args:   []string{"query", "any where true", filepath.Join(dir, "arr.json")},
			stdout: ev1 + "\n" + ev3 + "\n",
			stderr: "2 records read, 0 skipped, 2 results; pending state at the end 0, peak 2\n",
		},
		{
			name:   "gzip, index named after the file",
			args:   []string{"query", "--format", "es", "any where true", filepath.Join(dir, "z.ndjson.gz")},
			stdout: `{"is_partial":false,"is_running":false,"took":0,"timed_out":false,"hits":{"total":{"value":2,"relation":"eq"},"events":[` + hit("z", ev2) + "," + hit("z", ev4) + "]}}\n",
			stderr: "2 records read, 0 skipped, 2 results; pending state at the end 0, peak 2\n",
		},
		{
			name:   "several files merged in timestamp order, --index",
			args:   []string{"query", "--format", "es", "--index", "logs-x", `any where process.name == "a"`, filepath.Join(dir, "z.ndjson.gz"), filepath.Join(dir, "arr.json")},
			stdout: `{"is_partial":false,"is_running":false,"took":0,"timed_out":false,"hits":{"total":{"value":2,"relation":"eq"},"events":[` + hit("logs-x", ev1) + "," + hit("logs-x", ev2) + "]}}\n",
			stderr: "4 records read, 0 skipped, 2 results; pending state at the end 0, peak 2\n",
		},
		{
			name:   "stdin with no file",
			stdin:  ev4 + "\n" + ev1 + "\n",
			args:   []string{"query", "--format", "es", "any where true"},
			stdout: `{"is_partial":false,"is_running":false,"took":0,"timed_out":false,"hits":{"total":{"value":2,"relation":"eq"},"events":[` + hit("stdin", ev1) + "," + hit("stdin", ev4) + "]}}\n",
			stderr: "2 records read, 0 skipped, 2 results; pending state at the end 0, peak 2\n",
		},
		{
			name:   "stdin as - next to a file",
			stdin:  "[" + ev4 + "]",
			args:   []string{"query", "any where true", "-", filepath.Join(dir, "arr.json")},
			stdout: ev1 + "\n" + ev3 + "\n" + ev4 + "\n",
			stderr: "3 records read, 0 skipped, 3 results; pending state at the end 0, peak 3\n",
		},
		{
			name:   "without a mapping, a string field compares as a string",
			args:   []string{"query", `any where code > "8"`, evFile},
			stdout: ev2 + "\n",
			stderr: "4 records read, 0 skipped, 1 result; pending state at the end 0, peak 1\n",
		},
		{
			name:   "mapping: long",
			args:   []string{"query", "--mapping", filepath.Join(dir, "map.json"), "any where code > 8", evFile},
			stdout: ev1 + "\n" + ev2 + "\n",
			stderr: "4 records read, 0 skipped, 2 results; pending state at the end 0, peak 2\n",
		},
		{
			name:   "mapping: ip",
			args:   []string{"query", "--mapping", filepath.Join(dir, "map.json"), `any where cidrMatch(source.ip, "10.0.0.0/8")`, evFile},
			stdout: ev2 + "\n" + ev3 + "\n",
			stderr: "4 records read, 0 skipped, 2 results; pending state at the end 0, peak 2\n",
		},
		{
			name:   "invalid query",
			args:   []string{"query", "any where foo(x)", evFile},
			code:   exitUsage,
			stderr: "error: line 1:11: Unknown function [foo]\nany where foo(x)\n          ^\n",
		},
		{
			name:   "missing file",
			args:   []string{"query", "any where true", filepath.Join(dir, "nope.ndjson")},
			code:   exitSkipped,
			stderr: "tripline: " + filepath.Join(dir, "nope.ndjson") + ": no such file or directory (skipped)\n0 records read (1 input skipped), 0 skipped, 0 results; pending state at the end 0, peak 0\n",
		},
		{
			name:   "missing file first: the other files are read",
			args:   []string{"query", "any where true", filepath.Join(dir, "nope.ndjson"), filepath.Join(dir, "arr.json"), filepath.Join(dir, "z.ndjson.gz")},
			code:   exitSkipped,
			stdout: ev1 + "\n" + ev2 + "\n" + ev3 + "\n" + ev4 + "\n",
			stderr: "tripline: " + filepath.Join(dir, "nope.ndjson") + ": no such file or directory (skipped)\n4 records read (1 input skipped), 0 skipped, 4 results; pending state at the end 0, peak 4\n",
		},
		{
			name:   "missing file in the middle",
			args:   []string{"query", "any where true", filepath.Join(dir, "arr.json"), filepath.Join(dir, "nope.ndjson"), filepath.Join(dir, "z.ndjson.gz")},
			code:   exitSkipped,
			stdout: ev1 + "\n" + ev2 + "\n" + ev3 + "\n" + ev4 + "\n",
			stderr: "tripline: " + filepath.Join(dir, "nope.ndjson") + ": no such file or directory (skipped)\n4 records read (1 input skipped), 0 skipped, 4 results; pending state at the end 0, peak 4\n",
		},
		{
			name:   "missing file last, and a directory without event files",
			args:   []string{"query", "any where true", filepath.Join(dir, "arr.json"), filepath.Join(dir, "empty"), filepath.Join(dir, "z.ndjson.gz"), filepath.Join(dir, "nope.ndjson")},
			code:   exitSkipped,
			stdout: ev1 + "\n" + ev2 + "\n" + ev3 + "\n" + ev4 + "\n",
			stderr: "tripline: " + filepath.Join(dir, "empty") + ": no event files (.ndjson, .jsonl, .json, .log, .gz) in this directory (skipped)\n" +
				"tripline: " + filepath.Join(dir, "nope.ndjson") + ": no such file or directory (skipped)\n" +
				"4 records read (2 inputs skipped), 0 skipped, 4 results; pending state at the end 0, peak 4\n",
		},
		{
			name:   "the same file twice is read once",
			args:   []string{"query", "any where true", evFile, evFile},
			stdout: ev1 + "\n" + ev2 + "\n" + ev3 + "\n" + ev4 + "\n",
			stderr: "tripline: " + evFile + ": given twice; read once\n4 records read, 0 skipped, 4 results; pending state at the end 0, peak 4\n",
		},
		{
			name:   "the same file by two names is read once",
			args:   []string{"query", "any where true", evFile, filepath.Join(dir, "empty", "link.txt")},
			stdout: ev1 + "\n" + ev2 + "\n" + ev3 + "\n" + ev4 + "\n",
			stderr: "tripline: " + filepath.Join(dir, "empty", "link.txt") + ": the same file as " + evFile + "; read once\n4 records read, 0 skipped, 4 results; pending state at the end 0, peak 4\n",
		},
		{
			name:   "standard input twice is read once",
			stdin:  ev4 + "\n",
			args:   []string{"query", "any where true", "-", "-"},
			stdout: ev4 + "\n",
			stderr: "tripline: -: standard input given twice; read once\n1 record read, 0 skipped, 1 result; pending state at the end 0, peak 1\n",
		},
		{
			name:   "missing mapping file",
			args:   []string{"query", "--mapping", filepath.Join(dir, "nope.json"), "any where true", evFile},
			code:   exitUsage,
			stderr: "tripline: open " + filepath.Join(dir, "nope.json") + ": no such file or directory\n",
		},
		{
			name:   "unknown format",
			args:   []string{"query", "--format", "csv", "any where true", evFile},
			code:   exitUsage,
			stderr: "tripline: unknown --format \"csv\" (want ndjson, es or table)\n",
		},
		{
			name:   "unknown result position",
			args:   []string{"query", "--result-position", "middle", "any where true", evFile},
			code:   exitUsage,
			stderr: "tripline: unknown --result-position \"middle\" (want head or tail)\n",
		},
		{
			name:   "negative size",
			args:   []string{"query", "--size", "-1", "any where true", evFile},
			code:   exitUsage,
			stderr: "tripline: --size must not be negative\n",
		},
		{
			name:   "unknown input format",
			args:   []string{"query", "--input-format", "xml", "any where true", evFile},
			code:   exitUsage,
			stderr: "tripline: unknown --input-format \"xml\" (want auto, ecs or k8s-audit)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.stdin, tt.args...)
			r.stdout = tookRE.ReplaceAllString(r.stdout, `"took":0,`)
			r.check(t, tt.code, tt.stdout, tt.stderr)
		})
	}
}

// TestQueryRawAudit reads the example's raw kube-apiserver audit log: normalised, it is
// exactly the example's ECS audit events.
func TestQueryRawAudit(t *testing.T) {
	want, err := os.ReadFile(example(t, "events", "kubernetes-audit.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	raw := example(t, "raw-audit", "kube-apiserver-audit.log")
	for _, format := range []string{"k8s-audit", "auto"} {
		t.Run(format, func(t *testing.T) {
			runCLI(t, "", "query", "--input-format", format, "any where true", example(t, "raw-audit")).
				check(t, exitOK, string(want), "10 records read, 0 skipped, 10 results; pending state at the end 0, peak 10\n")
		})
	}
	t.Run("a query on the normalised fields", func(t *testing.T) {
		var b strings.Builder
		for _, l := range lines(string(want)) {
			if strings.Contains(l, `"verb":"list"`) && strings.Contains(l, `"resource":"secrets"`) {
				b.WriteString(l + "\n")
			}
		}
		if b.Len() == 0 {
			t.Fatal("the example has no list of secrets")
		}
		runCLI(t, "", "query", "--input-format", "k8s-audit",
			`any where kubernetes.audit.verb == "list" and kubernetes.audit.objectRef.resource == "secrets"`, raw).
			check(t, exitOK, b.String(), "10 records read, 0 skipped, 1 result; pending state at the end 0, peak 1\n")
	})
	t.Run("ECS events read as k8s-audit are skipped", func(t *testing.T) {
		ecs := example(t, "events", "kubernetes-audit.ndjson")
		var stderr strings.Builder
		for i := 1; i <= 10; i++ {
			stderr.WriteString(ecs + ":" + strconv.Itoa(i) + ": k8saudit: not a Kubernetes audit record: no audit.k8s.io apiVersion with kind Event or EventList, AKS envelope or GKE k8s.io AuditLog (skipped)\n")
		}
		stderr.WriteString("10 records read, 10 skipped, 0 results (skipped: 10 malformed, 0 without a valid timestamp, 0 later than --max-lateness); pending state at the end 0, peak 0\n")
		runCLI(t, "", "query", "--input-format", "k8s-audit", "any where true", ecs).check(t, exitSkipped, "", stderr.String())
	})
}

// TestQueryFollowFlushesOnStop checks that stopping query --follow (^C, SIGTERM) prints the
// results still held in the reordering buffer instead of dropping them.
func TestQueryFollowFlushesOnStop(t *testing.T) {
	f := filepath.Join(t.TempDir(), "g.ndjson")
	one := `{"@timestamp":"2026-01-01T00:00:00Z","event":{"category":"process"},"process":{"name":"one"}}`
	two := `{"@timestamp":"2026-01-01T00:00:10Z","event":{"category":"process"},"process":{"name":"two"}}`
	if err := os.WriteFile(f, []byte(one+"\n"+two+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	r := runCLIContext(t, ctx, strings.NewReader(""), "query", "--follow", "process where true", f)
	r.check(t, exitOK, one+"\n"+two+"\n", "2 records read, 0 skipped, 2 results; pending state at the end 0, peak 2\n")
}

// TestQueryInterrupted checks that a query stopped by a signal before the end of its input
// (not with --follow, where a signal is how the input ends) exits 130 and says so.
func TestQueryInterrupted(t *testing.T) {
	f := writeFile(t, t.TempDir(), "e.ndjson", ev1+"\n")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	runCLIContext(t, ctx, strings.NewReader(""), "query", "any where true", f).check(t, exitSignaled, "",
		"0 records read, 0 skipped, 0 results; pending state at the end 0, peak 0\n"+
			"tripline: interrupted before the end of the input (what was read went through)\n")
}

// TestQueryDirectorySymlink checks that a symbolic link to an event file inside a directory
// argument is read like the file.
func TestQueryDirectorySymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "events.ndjson")
	ev := `{"@timestamp":"2026-01-01T00:00:00Z","event":{"category":"process"},"process":{"name":"one"}}`
	if err := os.WriteFile(target, []byte(ev+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "link.ndjson")); err != nil {
		t.Fatal(err)
	}
	runCLI(t, "", "query", "process where true", dir).
		check(t, exitOK, ev+"\n", "1 record read, 0 skipped, 1 result; pending state at the end 0, peak 1\n")
}
