package engine

import (
	"context"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
)

// appendBenchEvent writes event i of the benchmark stream, one millisecond apart: alternately
// an exec in pod (i/2) % keys and an audit event from pod (i/2 - 100) % keys, so that every
// exec is followed 200 ms later by an audit from its pod (one sequence per exec).
func appendBenchEvent(dst []byte, i, keys int) []byte {
	ts := baseMillis + int64(i)
	pod := (i / 2) % keys
	dst = append(dst, `{"@timestamp":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	if i%2 == 0 {
		dst = append(dst, `,"event":{"category":["process"],"action":"exec"},"orchestrator":{"resource":{"name":"pod-`...)
		dst = strconv.AppendInt(dst, int64(pod), 10)
		dst = append(dst, `"}}}`...)
		return dst
	}
	pod = (pod - 100 + keys) % keys
	dst = append(dst, `,"event":{"dataset":"kubernetes.audit_logs"},"kubernetes":{"audit":{"user":{"extra":{"authentication.kubernetes.io/pod-name":["pod-`...)
	dst = strconv.AppendInt(dst, int64(pod), 10)
	dst = append(dst, `"]}}}}}`...)
	return dst
}

// BenchmarkSequenceByMaxspan runs the seed rule's shape (2-stage sequence by, maxspan=1s) in
// streaming mode over a generated stream with many distinct keys, decoding included. It
// reports events/s, the peak live heap (as marked by the garbage collector) and the peak
// pending state.
func BenchmarkSequenceByMaxspan(b *testing.B) {
	n, keys := 1_000_000, 200_000
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
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		r := q.NewRun(Streaming, func(*Result) {})
		var ev event.Event
		var buf []byte
		for i := range n {
			buf = appendBenchEvent(buf[:0], i, keys)
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
}
