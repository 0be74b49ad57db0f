package engine

import (
	"bytes"
	"context"
	"flag"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
)

// appendBenchEvent writes event i of the benchmark stream, perMs events per millisecond:
// alternately an exec in pod (i/2) % keys and an audit event from pod (i/2 - lag) % keys, so
// that every exec is followed 2*lag events later by an audit from its pod (one sequence per
// exec when that is within the maxspan of 1 s, none otherwise).
func appendBenchEvent(dst []byte, i, keys, perMs, lag int) []byte {
	ts := baseMillis + int64(i/perMs)
	pod := (i / 2) % keys
	dst = append(dst, `{"@timestamp":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	if i%2 == 0 {
		dst = append(dst, `,"event":{"category":["process"],"action":"exec"},"orchestrator":{"resource":{"name":"pod-`...)
		dst = strconv.AppendInt(dst, int64(pod), 10)
		dst = append(dst, `"}}}`...)
		return dst
	}
	pod = ((pod-lag)%keys + keys) % keys
	dst = append(dst, `,"event":{"dataset":"kubernetes.audit_logs"},"kubernetes":{"audit":{"user":{"extra":{"authentication.kubernetes.io/pod-name":["pod-`...)
	dst = strconv.AppendInt(dst, int64(pod), 10)
	dst = append(dst, `"]}}}}}`...)
	return dst
}

// The size of BenchmarkSequenceByMaxspan's stream, for the memory figures of issue 7: run
// it with -seq.events 1000000 and -seq.events 10000000, both with -seq.keys 1000000, and
// compare peak-live-heap-MB (bench/run.sh -m does this).
var (
	seqEvents = flag.Int("seq.events", 1_000_000, "BenchmarkSequenceByMaxspan: events in the stream")
	seqKeys   = flag.Int("seq.keys", 200_000, "BenchmarkSequenceByMaxspan: distinct join keys")
	seqPerMs  = flag.Int("seq.perms", 1, "BenchmarkSequenceByMaxspan: events per millisecond of event time")
	seqLag    = flag.Int("seq.lag", 100, "BenchmarkSequenceByMaxspan: an exec's audit event comes 2*lag events later")
)

// BenchmarkSequenceByMaxspan runs the seed rule's shape (2-stage sequence by, maxspan=1s) in
// streaming mode over a generated stream with many distinct keys, decoding included. It
// reports events/s, the peak live heap (as marked by the garbage collector), the peak
// pending state (partial sequences and buffered events) and the live heap per pending
// candidate above the heap before the run.
func BenchmarkSequenceByMaxspan(b *testing.B) {
	n, keys, perMs, lag := *seqEvents, *seqKeys, max(*seqPerMs, 1), *seqLag
	if testing.Short() {
		n, keys = 100_000, 20_000
	}
	stmt, err := eql.Parse(seedShape)
	if err != nil {
		b.Fatal(err)
	}
	fields := event.NewFields()
	q, err := Compile(stmt, fields, Options{})
	if err != nil {
		b.Fatal(err)
	}
	dec := event.NewDecoder(fields)
	var peak uint64
	var results, peakPending int64
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	runtime.GC()
	metrics.Read(live)
	base := live[0].Value.Uint64()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		r := q.NewRun(Streaming, func(*Result) {})
		var ev event.Event
		var buf []byte
		for i := range n {
			buf = appendBenchEvent(buf[:0], i, keys, perMs, lag)
			if err := dec.Decode(buf, &ev); err != nil {
				b.Fatal(err)
			}
			ev.Seq = uint64(i)
			_ = r.Push(&ev)
			if i%65536 == 0 {
				metrics.Read(live) // the heap marked live by the last GC
				peak = max(peak, live[0].Value.Uint64())
			}
		}
		if err := r.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		results, peakPending = r.Stats().Results, r.Stats().PeakPending
	}
	el := time.Since(start)
	b.ReportMetric(float64(n)*float64(b.N)/el.Seconds(), "events/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-live-heap-MB")
	b.ReportMetric(float64(peakPending), "peak-pending")
	b.ReportMetric(float64(results), "results")
	if peakPending > 0 && peak > base {
		b.ReportMetric(float64(peak-base)/float64(peakPending), "heap-bytes/pending")
	}
}

// BenchmarkFilterPath is the per-event cost of a single-event filter over an event it does
// not keep: decoding (with the fields of the query registered) and Push, in batch and
// streaming modes. The filter path must allocate nothing (0 allocs/op).
func BenchmarkFilterPath(b *testing.B) {
	doc, err := os.ReadFile("../../event/testdata/ecs_process.json")
	if err != nil {
		b.Fatal(err)
	}
	doc = bytes.TrimSpace(doc)
	for _, mode := range []Mode{Batch, Streaming} {
		b.Run(mode.String(), func(b *testing.B) {
			stmt, err := eql.Parse(`process where host.os.type == "linux" and process.name == "bash" and process.args : "-c"`)
			if err != nil {
				b.Fatal(err)
			}
			fields := event.NewFields()
			q, err := Compile(stmt, fields, Options{})
			if err != nil {
				b.Fatal(err)
			}
			dec := event.NewDecoder(fields)
			r := q.NewRun(mode, func(*Result) {})
			var ev event.Event
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			i := uint64(0)
			for b.Loop() {
				if err := dec.Decode(doc, &ev); err != nil {
					b.Fatal(err)
				}
				i++
				ev.Seq = i
				if err := r.Push(&ev); err != nil {
					b.Fatal(err)
				}
			}
			if r.Stats().Results != 0 || r.Stats().Pending != 0 {
				b.Fatalf("the event matched: %+v", r.Stats())
			}
		})
	}
}
