package detect

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/rule"
	"github.com/tripline/tripline/state"
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

// newTermsN is the number of distinct values BenchmarkNewTerms1M records.
var newTermsN = flag.Int("newterms.n", 1<<20, "BenchmarkNewTerms1M: distinct values (events)")

// BenchmarkNewTerms1M runs a new-terms rule on two fields (host.id and process.name, as
// most prebuilt ones) through the Detector, streaming, over 1M events that each have a
// value pair not seen before (20,972 hosts by 50 process names, one event every 50 ms, all
// within the rule's 7-day history), and reports what the rule's history costs per value:
// heap after GC with the Detector alive, less before it; and, with a state directory
// (package state, committed every 4,096 events as detect --follow does), the directory's
// size after the last checkpoint and after it is closed (Pebble then flushes its
// memtable to compressed tables).
func BenchmarkNewTerms1M(b *testing.B) {
	n := *newTermsN
	r := &rule.Rule{RuleID: "r", Name: "r", Type: "new_terms", Language: "kuery", Query: "event.action: x", From: "now-9m",
		To: "now", Interval: "5m", MaxSignals: 100, Severity: "low", Index: []string{"*"},
		NewTermsFields: []string{"host.id", "process.name"}, HistoryWindowStart: "now-7d"}
	start := time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC)
	doc := func(i int) []byte {
		at := start.Add(time.Duration(i) * 50 * time.Millisecond)
		return fmt.Appendf(nil, `{"@timestamp":%q,"event":{"action":"x","category":"process"},"host":{"id":"host-%06d"},"process":{"name":"proc-%02d.exe"}}`,
			at.Format(time.RFC3339Nano), i/50, i%50)
	}
	for _, withState := range []bool{false, true} {
		name := "memory"
		if withState {
			name = "state-dir"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				var st *state.Store
				var store *benchState
				opts := Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow, Streaming: true, IgnoreIndexPatterns: true}
				dir := b.TempDir()
				if withState {
					var err error
					if st, err = state.Open(dir, state.Meta{Format: state.Format, Tripline: "bench", Fingerprint: "x", Rules: 1}); err != nil {
						b.Fatal(err)
					}
					store = &benchState{st: st, b: st.NewBatch()}
					opts.State = store
				}
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				d, err := New([]*rule.Rule{r}, SinkFunc(func(context.Context, []Alert) error { return nil }), opts)
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				t0 := time.Now()
				for i := range n {
					if err := d.Process(ctx, doc(i), EventSource{Name: "bench", Line: i + 1, Seq: uint64(i)}); err != nil {
						b.Fatal(err)
					}
					if store != nil && i%4096 == 4095 {
						if err := st.Commit(store.b); err != nil {
							b.Fatal(err)
						}
					}
				}
				if err := d.Close(ctx); err != nil { // the last event, from the reordering stage
					b.Fatal(err)
				}
				if store != nil {
					if err := st.Commit(store.b); err != nil {
						b.Fatal(err)
					}
				}
				elapsed := time.Since(t0)
				runtime.GC()
				runtime.ReadMemStats(&after)
				if held := d.rules[0].agg.(*newTermsAgg).hist.len(); held != n {
					b.Fatalf("%d values held, want %d", held, n)
				}
				b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "heap-bytes/value")
				runtime.KeepAlive(d)
				if st != nil {
					b.ReportMetric(float64(st.DiskSize())/float64(n), "disk-bytes/value")
					if err := st.Close(); err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(dirSize(b, dir))/float64(n), "closed-disk-bytes/value")
				}
			}
		})
	}
}

// benchState is a StateStore over a state directory, its writes in a batch until Commit.
type benchState struct {
	st *state.Store
	b  *state.Batch
}

func (s *benchState) Scan(ns string, lo, hi []byte, fn func(k, v []byte) error) error {
	return s.st.Scan(ns, lo, hi, fn)
}
func (s *benchState) Put(ns string, k, v []byte)           { s.b.Put(ns, k, v) }
func (s *benchState) Delete(ns string, k []byte)           { s.b.Delete(ns, k) }
func (s *benchState) DeleteRange(ns string, lo, hi []byte) { s.b.DeleteRange(ns, lo, hi) }

// dirSize returns the bytes of the files under dir.
func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
