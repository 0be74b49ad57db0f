package event

import (
	"encoding/json"
	"os"
	"strings"

	"github.com/valyala/fastjson"
	"testing"
)

// fields5 are the paths a single simple rule reads; fields40 what a large rule set reads.
var fields5 = []string{"event.category", "event.type", "process.name", "process.args", "container.id"}

var fields40 = []string{
	"@timestamp", "event.category", "event.type", "event.action", "event.kind", "event.dataset", "event.outcome",
	"event.module", "host.os.type", "host.os.name", "host.os.family", "host.name", "host.id", "host.ip",
	"process.name", "process.args", "process.args_count", "process.command_line", "process.executable",
	"process.pid", "process.entity_id", "process.working_directory", "process.hash.sha256",
	"process.parent.name", "process.parent.args", "process.parent.executable", "process.parent.pid",
	"process.parent.entity_id", "process.user.name", "process.user.id", "user.name", "user.id",
	"user.group.name", "container.id", "agent.type", "agent.version", "data_stream.dataset", "tags",
	"message", "process.Ext.token.integrity_level_name",
}

func readECS(tb testing.TB) []byte {
	tb.Helper()
	doc, err := os.ReadFile("testdata/ecs_process.json")
	if err != nil {
		tb.Fatal(err)
	}
	return doc
}

func benchDecode(b *testing.B, paths []string) {
	doc := readECS(b)
	f := NewFields()
	for _, p := range paths {
		f.Add(p)
	}
	d := NewDecoder(f)
	var ev Event
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(doc, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode5(b *testing.B)  { benchDecode(b, fields5) }
func BenchmarkDecode40(b *testing.B) { benchDecode(b, fields40) }

// BenchmarkDecodeNone measures the syntax check alone (no registered path).
func BenchmarkDecodeNone(b *testing.B) { benchDecode(b, nil) }

func BenchmarkEncodingJSONUnmarshal(b *testing.B) {
	doc := readECS(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]any
		if err := json.Unmarshal(doc, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodingJSONValid(b *testing.B) {
	doc := readECS(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if !json.Valid(doc) {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkFastjsonParse is the full-parse baseline of issue 7: fastjson parses every
// value of the document (with a reused Parser), nothing else is done.
func BenchmarkFastjsonParse(b *testing.B) {
	doc := readECS(b)
	var p fastjson.Parser
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.ParseBytes(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFastjsonParse5 is the full parse plus the lookups of the 5 fields.
func BenchmarkFastjsonParse5(b *testing.B) {
	doc := readECS(b)
	var p fastjson.Parser
	keys := make([][]string, len(fields5))
	for i, f := range fields5 {
		keys[i] = strings.Split(f, ".")
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		v, err := p.ParseBytes(doc)
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range keys {
			_ = v.Get(k...)
		}
	}
}
