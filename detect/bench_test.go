package detect

import (
	"context"
	"fmt"
	"testing"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/rule"
)

// nopRunner counts pushes: the benchmark measures routing, not matching.
type nopRunner struct{ n int }

func (r *nopRunner) Push(*event.Event) error     { r.n++; return nil }
func (r *nopRunner) Flush(context.Context) error { return nil }

// benchDetector builds n rules spread over four categories and two index patterns.
func benchDetector(b *testing.B, n int, opts Options) *Detector {
	cats := []string{"process", "network", "file", "registry"}
	idx := []string{"logs-endpoint.events.*", "logs-windows.*"}
	var rules []*rule.Rule
	for i := range n {
		rules = append(rules, &rule.Rule{
			RuleID: fmt.Sprintf("r%d", i), Name: "r", Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100,
			Query: cats[i%4] + ` where process.name == "x"`, Index: []string{idx[i/4%2]},
		})
	}
	opts.Compile = func(req CompileRequest) (*Compiled, error) {
		req.Fields.Add("process.name")
		return &Compiled{Runner: &nopRunner{}, Categories: Categories(req.Statement)}, nil
	}
	d, err := New(rules, SinkFunc(func(context.Context, []Alert) error { return nil }), opts)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkRoute1000Rules offers events to 1,000 rules: an event of a category that 250
// rules read (half of them on its index), and one of a category no rule reads. The second
// shows the cost of the rules ruled out: decoding plus one map lookup.
func BenchmarkRoute1000Rules(b *testing.B) {
	for _, tc := range []struct{ name, category string }{{"matching-category", "process"}, {"other-category", "authentication"}} {
		b.Run(tc.name, func(b *testing.B) {
			d := benchDetector(b, 1000, Options{})
			doc := []byte(`{"@timestamp":"2026-01-01T00:00:00Z","data_stream":{"type":"logs","dataset":"endpoint.events.process","namespace":"default"},"event":{"category":["` + tc.category + `"],"type":["start"]},"process":{"name":"bash","args":["bash","-c","id"]},"host":{"name":"h"}}`)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := d.Process(ctx, doc, EventSource{Name: "b", Line: i}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(d.Summary().Rules[0].EventsOffered)/float64(b.N), "pushes-of-rule0/op")
		})
	}
}

// BenchmarkDecodeOnly is the floor: decoding the same event with the same fields.
func BenchmarkDecodeOnly(b *testing.B) {
	d := benchDetector(b, 1000, Options{})
	doc := []byte(`{"@timestamp":"2026-01-01T00:00:00Z","data_stream":{"type":"logs","dataset":"endpoint.events.process","namespace":"default"},"event":{"category":["authentication"],"type":["start"]},"process":{"name":"bash","args":["bash","-c","id"]},"host":{"name":"h"}}`)
	var ev event.Event
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := d.dec.Decode(doc, &ev); err != nil {
			b.Fatal(err)
		}
	}
}
