package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
)

// TestReorderBufOrder pushes ordinals in the orders a stream brings them, with pops in
// between, and checks that they come out ascending, whichever of the runs and the heap
// holds them.
func TestReorderBufOrder(t *testing.T) {
	const n = 5000
	for _, tc := range []struct {
		name string
		ts   func(rng *rand.Rand, i int) int64
	}{
		{"jitter", func(rng *rand.Rand, i int) int64 { // a few arrive late
			if rng.IntN(10) == 0 {
				return int64(i - rng.IntN(50))
			}
			return int64(i)
		}},
		{"bulks overtaking", func(_ *rand.Rand, i int) int64 { // bulks of 100, pairs swapped
			bulk := i / 100
			return int64((bulk^1)*100 + i%100)
		}},
		{"descending", func(_ *rand.Rand, i int) int64 { return int64(n - i) }}, // runs full: the heap
		{"random", func(rng *rand.Rand, _ int) int64 { return rng.Int64N(n) }},
		{"equal", func(*rand.Rand, int) int64 { return 7 }}, // ordered by seq
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			tss := make([]int64, n)
			for i := range tss {
				tss[i] = tc.ts(rng, i)
			}
			// Nothing older than low[i] comes from push i on: what may be released then.
			low := make([]int64, n+1)
			low[n] = math.MaxInt64
			for i := n - 1; i >= 0; i-- {
				low[i] = min(low[i+1], tss[i])
			}
			var b reorderBuf
			var out []ordinal
			for i, ts := range tss {
				b.push(item{ord: ordinal{ts: ts, seq: uint64(i)}})
				for b.Len() > 0 && rng.IntN(3) > 0 && b.min().ord.ts < low[i+1] {
					out = append(out, b.pop().ord)
				}
			}
			for b.Len() > 0 {
				out = append(out, b.pop().ord)
			}
			if len(out) != n || !slices.IsSortedFunc(out, func(a, b ordinal) int { return a.compare(&b) }) {
				t.Fatalf("%d of %d items out, sorted %v", len(out), n,
					slices.IsSortedFunc(out, func(a, b ordinal) int { return a.compare(&b) }))
			}
			if len(b.runs) > maxRuns || len(b.runs)+len(b.spare) > maxRuns {
				t.Fatalf("%d runs and %d spare slices, more than %d", len(b.runs), len(b.spare), maxRuns)
			}
		})
	}
}

// streamRuns compiles the queries with one Memo and returns a function pushing a document
// (id, ms after baseMillis) to every Run, the Runs, and the ids each emitted.
func streamRuns(t *testing.T, m *Memo, lateness time.Duration, queries ...string) (push func(id int, ts int64) []error, runs []*Run, emitted *[][]int64) {
	t.Helper()
	fields := event.NewFields()
	idSlot := fields.Add("id")
	out := make([][]int64, len(queries))
	for i, q := range queries {
		stmt, err := eql.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		cq, err := Compile(stmt, fields, Options{Memo: m, MaxLateness: lateness})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, cq.NewRun(Streaming, func(res *Result) {
			for _, ev := range res.Events {
				if ev != nil {
					out[i] = append(out[i], ev.Values(idSlot)[0].Int)
				}
			}
		}))
	}
	dec := event.NewDecoder(fields)
	var e event.Event
	push = func(id int, ts int64) []error {
		if err := dec.Decode([]byte(ev(id, ts, "event", `{"category":"process"}`)), &e); err != nil {
			t.Fatal(err)
		}
		e.Seq = uint64(id)
		m.Next(&e)
		var errs []error
		for _, r := range runs {
			if err := r.Push(&e); err != nil {
				errs = append(errs, err)
			}
		}
		return errs
	}
	return push, runs, &out
}

// TestMemoBuffered checks what Memo.Buffered counts: the events held by the reordering
// buffers of the Runs sharing the memo, once each however many Runs hold them, with their
// documents' bytes, down to nothing once released.
func TestMemoBuffered(t *testing.T) {
	m := NewMemo()
	push, runs, _ := streamRuns(t, m, 5*time.Second, `process where true`, `process where id > 1`)
	size := int64(len(ev(1, 0, "event", `{"category":"process"}`)))
	steps := []struct {
		id, ts       int
		events, runs int64 // held events, and items over both runs
	}{
		{1, 0, 1, 1},    // only the first query matches id 1
		{2, 1000, 2, 3}, // both hold id 2: one event
		{3, 2000, 3, 5},
		{4, 7000, 2, 4}, // 7000 - 5s releases what is before 2000: ids 1 and 2
	}
	for _, s := range steps {
		push(s.id, int64(s.ts))
		n, b := m.Buffered()
		var items int64
		for _, r := range runs {
			items += int64(r.Buffered())
		}
		if n != s.events || b != s.events*size || items != s.runs {
			t.Fatalf("after id %d: %d events, %d bytes, %d items; want %d, %d, %d", s.id, n, b, items, s.events, s.events*size, s.runs)
		}
	}
	for _, r := range runs {
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n, b := m.Buffered(); n != 0 || b != 0 {
		t.Fatalf("after Flush: %d events, %d bytes held", n, b)
	}
}

// TestShed checks that Shed processes the oldest buffered events at once, and that an event
// older than those is then too late.
func TestShed(t *testing.T) {
	m := NewMemo()
	push, runs, out := streamRuns(t, m, time.Hour, `process where true`)
	for id := 1; id <= 6; id++ {
		push(id, int64(id)*1000)
	}
	if got := runs[0].Shed(4); got != 4 || len((*out)[0]) != 4 || runs[0].Buffered() != 2 {
		t.Fatalf("Shed(4) = %d, emitted %v, %d left; want 4, [1 2 3 4], 2", got, (*out)[0], runs[0].Buffered())
	}
	if errs := push(7, 3500); len(errs) != 1 { // before id 4, released: too late
		t.Fatalf("an event older than the shed ones: errors %v, want one", errs)
	}
	if errs := push(8, 4500); len(errs) != 0 {
		t.Fatalf("an event after the shed ones: errors %v, want none", errs)
	}
	if got := runs[0].Shed(10); got != 3 || !slices.Equal((*out)[0], []int64{1, 2, 3, 4, 8, 5, 6}) {
		t.Fatalf("Shed(10) = %d, emitted %v; want 3 and [1 2 3 4 8 5 6]", got, (*out)[0])
	}
}

// TestSetCeiling checks that an event stamped after the memo's ceiling is put in order but
// does not move event time past the ceiling: the events after it are not too late.
func TestSetCeiling(t *testing.T) {
	for _, c := range []struct {
		name    string
		ceiling bool
		late    int
	}{{"no ceiling", false, 2}, {"ceiling", true, 0}} {
		t.Run(c.name, func(t *testing.T) {
			m := NewMemo()
			if c.ceiling {
				m.SetCeiling(time.UnixMilli(baseMillis + 10_000))
			}
			push, runs, out := streamRuns(t, m, 5*time.Second, `process where true`)
			late := 0
			for _, e := range []struct {
				id int
				ts int64
			}{{1, 9000}, {2, 3_600_000}, {3, 9500}, {4, 10_000}} { // id 2: an hour ahead
				late += len(push(e.id, e.ts))
			}
			if err := runs[0].Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := []int64{1, 3, 4, 2}
			if c.late > 0 {
				want = []int64{1, 2}
			}
			if late != c.late || !slices.Equal((*out)[0], want) {
				t.Fatalf("%d late, emitted %v; want %d late, %v", late, (*out)[0], c.late, want)
			}
		})
	}
}

// BenchmarkReorderBuf pushes events as serve's rules see them (bulks of 1,000 from four
// connections, so that one bulk sometimes overtakes the one before it, 5% of events late
// by up to 50 ms) and releases those older than 30 s of event time, per event.
func BenchmarkReorderBuf(b *testing.B) {
	const n = 1 << 16
	rng := rand.New(rand.NewPCG(1, 2))
	tss := make([]int64, n)
	for i := range tss {
		bulk := i / 1000
		if bulk%4 == 1 && (bulk+1)*1000 <= n { // overtaken by the next bulk
			bulk++
		} else if bulk%4 == 2 {
			bulk--
		}
		tss[i] = int64(bulk*1000 + i%1000)
		if rng.IntN(20) == 0 {
			tss[i] -= int64(rng.IntN(50))
		}
	}
	var buf reorderBuf
	var maxTS int64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ts := tss[i%n] + int64(i/n)*n
		buf.push(item{ord: ordinal{ts: ts, seq: uint64(i)}})
		maxTS = max(maxTS, ts)
		for buf.Len() > 0 && buf.min().ord.ts < maxTS-30000 {
			buf.pop()
		}
	}
}
