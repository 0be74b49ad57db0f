package detect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripline/tripline/rule"
)

// streamDetector builds a streaming Detector running the event query `any where true` with
// the engine, writing the "n" of each alerted event to *got, with the given options.
func streamDetector(t *testing.T, opts Options, lateness time.Duration) (d *Detector, got *[]int, errs *[]error) {
	t.Helper()
	r := &rule.Rule{RuleID: "e", Name: "e", Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100000, Query: `any where true`}
	got, errs = new([]int), new([]error)
	var mu sync.Mutex // the sink and OnEventError are called from the in-order goroutine
	opts.Now, opts.Streaming = testNow, true
	opts.Compile = EngineCompiler(EngineOptions{MaxLateness: lateness})
	opts.OnEventError = func(err error) { mu.Lock(); *errs = append(*errs, err); mu.Unlock() }
	d, err := New([]*rule.Rule{r}, SinkFunc(func(_ context.Context, as []Alert) error {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range as {
			doc, err := parseDocument(a.Doc)
			if err != nil {
				return err
			}
			n, _ := lookup(doc, "n")
			v, _ := n.(interface{ Int64() (int64, error) }).Int64()
			*got = append(*got, int(v))
		}
		return nil
	}), opts)
	if err != nil {
		t.Fatal(err)
	}
	return d, got, errs
}

// stampedDoc is a document numbered n, stamped at t.
func stampedDoc(n int, t time.Time) []byte {
	return fmt.Appendf(nil, `{"@timestamp":%q,"n":%d}`, t.UTC().Format(time.RFC3339Nano), n)
}

// TestMaxFuture checks Options.MaxFuture: an event stamped further ahead of the clock than
// the bound is skipped, counted and reported with its source, and no rule sees it; one
// less far ahead is matched, without making the events after it too late; without the
// bound, that one event makes them late. With the in-order work in Process, on the caller's
// goroutine with workers, and on a goroutine of its own (Async).
func TestMaxFuture(t *testing.T) {
	clock := testNow
	docs := []struct {
		n  int
		at time.Time
	}{
		{1, clock.Add(-10 * time.Second)},
		{2, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}, // decades ahead
		{3, clock.Add(2 * time.Minute)},                  // ahead, within 5m
		{4, clock.Add(-time.Second)},
	}
	cases := []struct {
		name                 string
		maxFuture            time.Duration
		alerts               []int
		future, unused, errs int
	}{
		{"bound", 5 * time.Minute, []int{1, 4, 3}, 1, 0, 1},
		{"no bound", 0, []int{1, 2}, 0, 2, 2},
	}
	for _, c := range cases {
		for _, mode := range []struct {
			workers int
			async   bool
		}{{0, false}, {2, false}, {2, true}} {
			t.Run(fmt.Sprintf("%s/workers=%d/async=%v", c.name, mode.workers, mode.async), func(t *testing.T) {
				d, got, errs := streamDetector(t, Options{MaxFuture: c.maxFuture, Clock: func() time.Time { return clock },
					Workers: mode.workers, Async: mode.async, indexSample: -1}, 5*time.Second)
				ctx := context.Background()
				for i, doc := range docs {
					if err := d.Process(ctx, stampedDoc(doc.n, doc.at), EventSource{Name: "in", Line: i + 1, Seq: uint64(i + 1)}); err != nil {
						t.Fatal(err)
					}
				}
				done, err := d.Flush(ctx)
				if err != nil {
					t.Fatal(err)
				}
				<-done
				if l := d.Live(); l.Read != 4 || l.Unused != int64(c.unused) {
					t.Errorf("Live after Flush: %+v, want 4 read, %d unused", l, c.unused)
				}
				if err := d.Close(ctx); err != nil {
					t.Fatal(err)
				}
				sum := d.Summary()
				if !slices.Equal(*got, c.alerts) || sum.EventsFuture != int64(c.future) || sum.EventsUnused != int64(c.unused) || len(*errs) != c.errs {
					t.Fatalf("alerts for %v, %d future, %d unused, errors %v; want %v, %d, %d, %d errors",
						*got, sum.EventsFuture, sum.EventsUnused, *errs, c.alerts, c.future, c.unused, c.errs)
				}
				var ee *EventError
				if !errors.As((*errs)[0], &ee) {
					t.Fatalf("error %v is not an *EventError", (*errs)[0])
				}
				if c.maxFuture > 0 {
					want := "in:2: timestamp [2099-01-01T00:00:00.000Z] is more than 5m0s ahead of the clock"
					if ee.Kind != EventFuture || ee.Source.Seq != 2 || ee.Error() != want {
						t.Errorf("error %q kind %d seq %d, want %q, EventFuture, seq 2", ee, ee.Kind, ee.Source.Seq, want)
					}
				} else if ee.Kind != EventUnused || ee.Source.Seq != 3 || !strings.HasPrefix(ee.Error(), "in:3: event later than max lateness") {
					t.Errorf("error %q kind %d seq %d, want event 3 unused, too late", ee, ee.Kind, ee.Source.Seq)
				}
			})
		}
	}
}

// TestEventErrorMalformed checks the error of a document that is not JSON: an *EventError
// with its source, worded as before (file:line: why), through both in-order paths.
func TestEventErrorMalformed(t *testing.T) {
	for _, workers := range []int{0, 2} {
		d, got, errs := streamDetector(t, Options{Workers: workers, Async: workers > 1, indexSample: -1}, time.Second)
		ctx := context.Background()
		d.Process(ctx, stampedDoc(1, testNow), EventSource{Name: "in", Line: 1, Seq: 1})
		d.Process(ctx, []byte(`{"n":`), EventSource{Name: "in", Line: 2, Seq: 2})
		if err := d.Close(ctx); err != nil {
			t.Fatal(err)
		}
		var ee *EventError
		if len(*errs) != 1 || !errors.As((*errs)[0], &ee) || ee.Kind != EventMalformed || ee.Source.Seq != 2 ||
			!strings.HasPrefix(ee.Error(), "in:2: ") || d.Summary().EventsSkipped != 1 || !slices.Equal(*got, []int{1}) {
			t.Errorf("workers %d: errors %v, alerts %v, summary %+v", workers, *errs, *got, d.Summary())
		}
	}
}

// TestAsyncFlush checks the asynchronous in-order goroutine: once Flush's channel is
// closed, every event given to Process so far has been matched and its alert written, and
// Live counts it; the alerts are those of the in-order work done in Process.
func TestAsyncFlush(t *testing.T) {
	const events = 3*batchSize + 17
	var want []int
	for _, async := range []bool{false, true} {
		d, got, _ := streamDetector(t, Options{Workers: 2, Async: async, indexSample: 100}, 0)
		ctx := context.Background()
		for round := range 3 {
			for i := range events {
				n := round*events + i
				if err := d.Process(ctx, stampedDoc(n, testNow.Add(time.Duration(n)*time.Millisecond)), EventSource{Name: "in", Line: n + 1, Seq: uint64(n + 1)}); err != nil {
					t.Fatal(err)
				}
			}
			done, err := d.Flush(ctx)
			if err != nil {
				t.Fatal(err)
			}
			<-done
			// Lateness 0: everything but the events of the last millisecond is out.
			if l := d.Live(); l.Read != int64((round+1)*events) || len(*got) != (round+1)*events-1 || l.Buffered != 1 {
				t.Fatalf("async %v, round %d: Live %+v, %d alerts; want %d read, %d alerts, 1 buffered", async, round, l, len(*got), (round+1)*events, (round+1)*events-1)
			}
		}
		if err := d.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if !async {
			want = *got
		} else if !slices.Equal(*got, want) {
			t.Errorf("async alerts differ from the in-Process ones")
		}
	}
}

// TestBufferBound checks MaxBuffered: BufferFull once the reordering buffer holds that many
// events, and Shed then processes the older half of them at once, counting them.
func TestBufferBound(t *testing.T) {
	for _, async := range []bool{false, true} {
		d, got, _ := streamDetector(t, Options{Workers: 2, Async: async, MaxBuffered: 6, indexSample: -1}, time.Hour)
		ctx := context.Background()
		for n := range 8 {
			d.Process(ctx, stampedDoc(n, testNow.Add(time.Duration(n)*time.Second)), EventSource{Name: "in", Line: n + 1, Seq: uint64(n + 1)})
		}
		done, _ := d.Flush(ctx)
		<-done
		if l := d.Live(); !l.Full || l.Buffered != 8 || l.BufferedBytes != 8*int64(len(stampedDoc(0, testNow))) || len(*got) != 0 {
			t.Fatalf("async %v: Live %+v, %d alerts; want full with 8 events", async, l, len(*got))
		}
		done, err := d.Shed(ctx)
		if err != nil {
			t.Fatal(err)
		}
		<-done
		if l := d.Live(); l.Full || l.Buffered != 4 || l.Shed != 4 || !slices.Equal(*got, []int{0, 1, 2, 3}) {
			t.Fatalf("async %v: after Shed: Live %+v, alerts %v; want 4 shed, 4 held, alerts 0-3", async, l, *got)
		}
		done, _ = d.Shed(ctx) // not full: nothing to do
		<-done
		if l := d.Live(); l.Shed != 4 || len(*got) != 4 {
			t.Fatalf("async %v: a second Shed: Live %+v, alerts %v", async, l, *got)
		}
		if err := d.Close(ctx); err != nil || len(*got) != 8 {
			t.Fatalf("async %v: Close: %v, alerts %v", async, err, *got)
		}
	}
}

// TestDocTimestamp checks the @timestamp the streaming max_signals buckets use, read
// without parsing when it comes first and plain, else from the parsed document.
func TestDocTimestamp(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 500_000_000, time.UTC)
	for _, c := range []struct {
		doc string
		ok  bool
	}{
		{`{"@timestamp":"2026-03-02T09:00:00.5Z","a":1}`, true},
		{`{"a":1,"@timestamp":"2026-03-02T09:00:00.500Z"}`, true},
		{`{"@timestamp":"2026-03-02T09:00:00.5\u005a","a":1}`, true},                          // an escape: parsed
		{`{"@timestamp":"1999-01-01T00:00:00Z","@timestamp":"2026-03-02T09:00:00.5Z"}`, true}, // the last one counts
		{`{"@timestamp":"not a time"}`, false},
		{`{"a":1}`, false},
	} {
		got, ok := docTimestamp([]byte(c.doc))
		if ok != c.ok || (ok && !got.Equal(at)) {
			t.Errorf("docTimestamp(%s) = %v, %v; want %v, %v", c.doc, got, ok, at, c.ok)
		}
	}
}
