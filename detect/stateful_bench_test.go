package detect

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/rule"
)

// BenchmarkStatefulRules runs one threshold or new-terms rule (streaming, as serve runs
// it) over events that all match its query: the cost per selected event of reading its
// document and updating the rule's state. Events: 1,000 hosts, 50 process names, one a
// millisecond.
func BenchmarkStatefulRules(b *testing.B) {
	const n = 20000
	docs := make([][]byte, n)
	for i := range docs {
		at := time.Date(2026, 4, 20, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
		docs[i] = fmt.Appendf(nil, `{"@timestamp":%q,"event":{"action":"x","category":"process"},"host":{"id":"h%d"},"user":{"name":"u%d"},"process":{"name":"p%d"}}`,
			at.Format(time.RFC3339Nano), i%1000, i%7, i%50)
	}
	base := rule.Rule{RuleID: "r", Name: "r", Language: "kuery", Query: "event.action: x", From: "now-9m", To: "now",
		Interval: "5m", MaxSignals: 100, Severity: "low", Index: []string{"*"}}
	th, nt := base, base
	th.Type, th.Threshold = "threshold", &rule.Threshold{Field: []string{"host.id"}, Value: 100000,
		Cardinality: []rule.ThresholdCardinality{{Field: "user.name", Value: 2}}}
	nt.Type, nt.NewTermsFields, nt.HistoryWindowStart = "new_terms", []string{"host.id", "process.name"}, "now-7d"
	for _, r := range []*rule.Rule{&th, &nt} {
		b.Run(r.Type, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d, err := New([]*rule.Rule{r}, SinkFunc(func(context.Context, []Alert) error { return nil }),
					Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow, Streaming: true, IgnoreIndexPatterns: true})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				for i, doc := range docs {
					if err := d.Process(ctx, doc, EventSource{Name: "bench", Line: i + 1, Seq: uint64(i)}); err != nil {
						b.Fatal(err)
					}
				}
				if err := d.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}

// BenchmarkTermHistory1M records 1M distinct two-field values (host, process name: keys
// of 34 bytes, allocated as the rule allocates them) in a new-terms rule's in-memory
// history and reports its heap per value, keys included.
func BenchmarkTermHistory1M(b *testing.B) {
	const n = 1 << 20
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("shost-%07d\x00sprocess-%05d.exe", i/50, i%50*997%100000)
	}
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		h := newMemTermHistory()
		for i, k := range keys {
			h.see(strings.Clone(k), int64(i))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/value")
		runtime.KeepAlive(h)
	}
}
