package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/internal/testenv"
)

// seedFirstStage returns the seed rule's first sequence stage as an event query.
func seedFirstStage(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(testenv.Shared(tb, "seed", "000_bd5888970135322b.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "[process where")
	end := strings.Index(text, "] by orchestrator.resource.name")
	if start < 0 || end < start {
		tb.Fatal("the seed file does not hold the expected sequence")
	}
	return text[start+1 : end]
}

func TestSeedFirstStage(t *testing.T) {
	query := seedFirstStage(t)
	const base = `"host":{"os":{"type":"linux"}},"container":{"id":"c1"},"event":{"category":["process"],"type":["start"],"action":"exec"}`
	ev := func(process string) string { return `{` + base + `,"process":{` + process + `}}` }
	cases := []struct {
		name string
		doc  string
		want bool
	}{
		{"interactive python", ev(`"interactive":true,"name":"python3","args":["python3","x.py"]`), true},
		{"event.type array with start", `{"host":{"os":{"type":"linux"}},"container":{"id":"c1"},"event":{"category":["process"],"type":["info","start"],"action":"exec"},"process":{"interactive":true,"name":"id"}}`, true},
		{"event.type without start", `{"host":{"os":{"type":"linux"}},"container":{"id":"c1"},"event":{"category":["process"],"type":["info","end"],"action":"exec"},"process":{"interactive":true,"name":"id"}}`, false},
		{"missing container.id", `{"host":{"os":{"type":"linux"}},"container":{"image":{"name":"x"}},"event":{"category":["process"],"type":["start"],"action":"exec"},"process":{"interactive":true,"name":"id"}}`, false},
		{"null container.id", `{"host":{"os":{"type":"linux"}},"container":{"id":null},"event":{"category":["process"],"type":["start"],"action":"exec"},"process":{"interactive":true,"name":"id"}}`, false},
		{"empty container.id", `{"host":{"os":{"type":"linux"}},"container":{"id":""},"event":{"category":["process"],"type":["start"],"action":"exec"},"process":{"interactive":true,"name":"id"}}`, true},
		{"dotted keys", `{"host.os.type":"linux","container.id":"c1","event.category":"process","event.type":"start","event.action":"exec","process.interactive":true,"process.name":"id"}`, true},
		{"curl excluded", ev(`"interactive":true,"name":"curl","args":["curl","https://x"]`), false},
		{"upper-case Curl is not curl", ev(`"interactive":true,"name":"Curl","args":["Curl","https://x"]`), true},
		{"bash running curl", ev(`"interactive":true,"name":"bash","args":["bash","-c","curl"]`), false},
		{"bash running /usr/bin/wget", ev(`"interactive":true,"name":"bash","args":["bash","/usr/bin/wget","-q"]`), false},
		{"bash running curl and which", ev(`"interactive":true,"name":"bash","args":["bash","curl","which"]`), true},
		{"bash running ls", ev(`"interactive":true,"name":"bash","args":["bash","-c","ls"]`), true},
		{"sh with a whole command line", ev(`"interactive":true,"name":"sh","args":["sh","-c","curl http://x"]`), true},
		{"busybox running kubectl", ev(`"interactive":true,"name":"busybox","args":["busybox","kubectl","get","pods"]`), false},
		{"bash without args", ev(`"interactive":true,"name":"bash"`), true},
		{"upper-case BASH running curl", ev(`"interactive":true,"name":"BASH","args":["BASH","curl"]`), true},
		{"sleep excluded", ev(`"interactive":true,"name":"sleep","args":["sleep","10"]`), false},
		{"no process.name", ev(`"interactive":true,"args":["curl"]`), true},
		{"not interactive", ev(`"interactive":false,"name":"python3"`), false},
		{"interactive missing", ev(`"name":"python3"`), false},
		{"windows host", `{"host":{"os":{"type":"windows"}},"container":{"id":"c1"},"event":{"category":["process"],"type":["start"],"action":"exec"},"process":{"interactive":true,"name":"id"}}`, false},
		{"fork, not exec", `{"host":{"os":{"type":"linux"}},"container":{"id":"c1"},"event":{"category":["process"],"type":["start"],"action":"fork"},"process":{"interactive":true,"name":"id"}}`, false},
		{"network category", `{"host":{"os":{"type":"linux"}},"container":{"id":"c1"},"event":{"category":["network"],"type":["start"],"action":"exec"},"process":{"interactive":true,"name":"id"}}`, false},
		{"Process category (case)", `{"host":{"os":{"type":"linux"}},"container":{"id":"c1"},"event":{"category":"Process","type":["start"],"action":"exec"},"process":{"interactive":true,"name":"id"}}`, false},
	}
	docs := make([]string, len(cases))
	for i, c := range cases {
		docs[i] = c.doc
	}
	// The same results without a mapping and with the ECS mapping of these fields.
	for _, env := range []struct {
		name string
		env  *Env
	}{{"dynamic", nil}, {"ecs mapping", &Env{Mapping: mustMapping(t, ecsMapping)}}} {
		got := matchDocs(t, query, env.env, docs...)
		for i, c := range cases {
			if got[i] != c.want {
				t.Errorf("%s: %s: match = %v, want %v", env.name, c.name, got[i], c.want)
			}
		}
	}
}

// benchMatch measures f.Match on the realistic ECS process event of
// testdata/ecs_process_interactive.json, decoded once with fields, which f must match.
func benchMatch(b *testing.B, fields *event.Fields, f *Filter) {
	b.Helper()
	doc, err := os.ReadFile(filepath.Join("testdata", "ecs_process_interactive.json"))
	if err != nil {
		b.Fatal(err)
	}
	var ev event.Event
	if err := event.NewDecoder(fields).Decode(doc, &ev); err != nil {
		b.Fatal(err)
	}
	if !f.Match(&ev) {
		b.Fatal("the benchmark event should match")
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Match(&ev)
	}
}

// BenchmarkSeedFirstStage evaluates the seed rule's first stage on a realistic ECS
// process event (decoded once): it must not allocate.
func BenchmarkSeedFirstStage(b *testing.B) {
	env := &Env{Fields: event.NewFields()}
	f, err := compileText(b, seedFirstStage(b), env)
	if err != nil {
		b.Fatal(err)
	}
	benchMatch(b, env.Fields, f)
}

// ecsMapping declares the fields of the seed rule's first stage as ECS maps them.
const ecsMapping = `{"properties": {
  "event": {"properties": {"category": {"type": "keyword", "ignore_above": 1024},
    "type": {"type": "keyword", "ignore_above": 1024}, "action": {"type": "keyword", "ignore_above": 1024}}},
  "host": {"properties": {"os": {"properties": {"type": {"type": "keyword", "ignore_above": 1024}}}}},
  "container": {"properties": {"id": {"type": "keyword", "ignore_above": 1024}}},
  "process": {"properties": {"interactive": {"type": "boolean"},
    "name": {"type": "keyword", "ignore_above": 1024, "fields": {"text": {"type": "match_only_text"}}},
    "args": {"type": "keyword", "ignore_above": 1024}}}
}}`

// BenchmarkSeedFirstStageMapped is BenchmarkSeedFirstStage with the ECS mapping.
func BenchmarkSeedFirstStageMapped(b *testing.B) {
	env := &Env{Fields: event.NewFields(), Mapping: mustMapping(b, ecsMapping)}
	f, err := compileText(b, seedFirstStage(b), env)
	if err != nil {
		b.Fatal(err)
	}
	benchMatch(b, env.Fields, f)
}

// BenchmarkFieldLookup measures one term leaf: slot lookup, value conversion and the
// string comparison.
func BenchmarkFieldLookup(b *testing.B) {
	env := &Env{Fields: event.NewFields()}
	f, err := CompileExpr(mustParseExpr(b, `process.parent.name == "bash"`), env)
	if err != nil {
		b.Fatal(err)
	}
	benchMatch(b, env.Fields, f)
}

// BenchmarkScriptLeaf measures a script leaf (a function of a field).
func BenchmarkScriptLeaf(b *testing.B) {
	env := &Env{Fields: event.NewFields()}
	f, err := CompileExpr(mustParseExpr(b, `length(process.name) > 3 and substring(process.executable, -4) == "bash"`), env)
	if err != nil {
		b.Fatal(err)
	}
	benchMatch(b, env.Fields, f)
}
