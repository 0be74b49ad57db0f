package detect

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
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

// BenchmarkSequenceAlerts builds the alerts of one 3-event sequence (a shell and three
// building blocks) for the corpus rule with the most text (description, note, query) among
// the cross-platform ones, else a test rule: the cost of each sequence match at Close.
func BenchmarkSequenceAlerts(b *testing.B) {
	dir := "../../shared/rules/detection-rules/rules/cross-platform"
	if _, err := os.Stat(dir); err != nil {
		dir = "testdata/rules"
	}
	set, err := rule.Load(context.Background(), dir)
	if err != nil || len(set.Rules) == 0 {
		b.Fatalf("loading test rules: %v", err)
	}
	r := set.Rules[0]
	for _, x := range set.Rules {
		if len(x.Description)+len(x.Note)+len(x.Query) > len(r.Description)+len(r.Note)+len(r.Query) {
			r = x
		}
	}
	bl := builder{space: "default", now: isoMillis(testNow), version: "9.3.0", alertIdx: AlertsIndex("default"), fit: ecsTree}
	ri := bl.newRuleInfo(r, eqlKind{})
	mes := benchEvents(b, 3)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bl.sequenceAlerts(ri, mes); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventAlert builds the alert of one event matched by an event query (a typical
// Endpoint process event, without conflicts with ECS): the cost of each event match.
func BenchmarkEventAlert(b *testing.B) {
	set, err := rule.Load(context.Background(), "testdata/rules")
	if err != nil || len(set.Rules) == 0 {
		b.Fatalf("loading test rules: %v", err)
	}
	bl := builder{space: "default", now: isoMillis(testNow), version: "9.3.0", alertIdx: AlertsIndex("default"), fit: ecsTree}
	ri := bl.newRuleInfo(set.Rules[0], eqlKind{})
	me := benchEvents(b, 1)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bl.eventAlert(ri, *me); err != nil {
			b.Fatal(err)
		}
	}
}

// ecsTree returns the tree the detector checks alert sources against by default, built once.
var ecsTree = sync.OnceValue(func() *fitTree { return newFitTree(mapping.ECS()) })

// benchEvents returns n Endpoint process events, parsed.
func benchEvents(b *testing.B, n int) []*matchedEvent {
	var mes []*matchedEvent
	for i := range n {
		doc := fmt.Sprintf(`{"@timestamp":"2026-01-01T00:00:0%dZ","event":{"category":["process"],"type":["start"],"kind":"event","action":"exec","dataset":"endpoint.events.process"},
			"host":{"name":"web-1","os":{"type":"linux","platform":"ubuntu","version":"22.04"},"id":"c0ffee"},"user":{"name":"root","id":"0"},
			"process":{"name":"curl","pid":%d,"executable":"/usr/bin/curl","args":["curl","-s","http://example.com/x.sh"],"command_line":"curl -s http://example.com/x.sh",
			"parent":{"name":"bash","pid":100,"executable":"/bin/bash"},"entity_id":"e%d"},"agent":{"type":"endpoint","version":"8.15.0","id":"a1"},
			"data_stream":{"type":"logs","dataset":"endpoint.events.process","namespace":"default"},"ecs":{"version":"8.11.0"}}`, i, 1000+i, i)
		src, err := parseDocument([]byte(doc))
		if err != nil {
			b.Fatal(err)
		}
		mes = append(mes, &matchedEvent{id: fmt.Sprintf("id%d", i), index: "logs-endpoint.events.process-default", src: src})
	}
	return mes
}

// BenchmarkAlertSourceFit checks an event's source against the ECS mapping (fitSource) when
// nothing conflicts, the case of nearly every alert: no allocation, a map lookup per key.
func BenchmarkAlertSourceFit(b *testing.B) {
	src := benchEvents(b, 1)[0].src
	tree := ecsTree()
	doc := make(document, len(src))
	b.ReportAllocs()
	for b.Loop() {
		for k, v := range src {
			doc[k] = v
		}
		tree.fitSource(doc)
	}
	if len(doc) != len(src) {
		b.Fatalf("fitSource removed fields of a document without conflicts: %d of %d left", len(doc), len(src))
	}
}
