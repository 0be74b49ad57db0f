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

// seedFields are the paths the seed rule of issue 7 reads (a sequence over process and
// Kubernetes audit events), with the detector's own.
var seedFields = []string{
	"@timestamp", "event.ingested", "event.category", "host.os.type", "event.type", "event.action",
	"process.interactive", "container.id", "process.name", "process.args", "orchestrator.resource.name",
	"data_stream.dataset", "kubernetes.audit.stage", "kubernetes.audit.verb",
	"kubernetes.audit.objectRef.resource", "kubernetes.audit.objectRef.subresource",
	"kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name",
}

// BenchmarkDecodeGen decodes the 256 generated documents of testdata/gen256.ndjson.gz
// (the mix of the 1M-event workload) with the seed rule's paths, with none, and with
// the paths of the whole rule corpus.
func BenchmarkDecodeGen(b *testing.B) {
	docs := readGen256(b)
	size := 0
	for _, doc := range docs {
		size += len(doc)
	}
	for _, set := range []struct {
		name   string
		fields func() *Fields
	}{
		{"seed", func() *Fields { return fieldsOf(seedFields) }},
		{"none", func() *Fields { return fieldsOf(nil) }},
		{"corpus", func() *Fields { return corpusFields(b) }},
	} {
		b.Run(set.name, func(b *testing.B) {
			d := NewDecoder(set.fields())
			var ev Event
			b.SetBytes(int64(size))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for _, doc := range docs {
					if err := d.Decode(doc, &ev); err != nil {
						b.Fatal(err)
					}
				}
				n++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*len(docs)), "ns/event")
		})
	}
}

// fieldsOf returns a Fields set of paths.
func fieldsOf(paths []string) *Fields {
	f := NewFields()
	for _, p := range paths {
		f.Add(p)
	}
	return f
}
