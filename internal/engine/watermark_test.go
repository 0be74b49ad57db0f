package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
)

// TestOldestHeld checks which events a streaming Run reports holding: those in its
// reordering buffer, those of a partial sequence until the sequence's maxspan, by the
// Run's clock less the lateness, has passed its first event, those of a missing-event
// stage as long, and the event that set the Run's clock.
func TestOldestHeld(t *testing.T) {
	push, runs, _ := streamRuns(t, NewMemo(), 5*time.Second,
		`process where true`,
		`sequence with maxspan=10s [process where id == 1] [process where id == 99]`,
		`sequence with maxspan=10s ![process where id == 7] [process where id == 8] [process where id == 99]`)
	type held struct {
		seq uint64
		ok  bool
	}
	steps := []struct {
		id, ts int
		want   [3]held // by run
	}{
		{1, 0, [3]held{{1, true}, {1, true}, {1, true}}},      // the first two buffer id 1; the third's clock
		{2, 1000, [3]held{{1, true}, {1, true}, {2, true}}},   // id 2 matches no stage of the sequences
		{3, 7000, [3]held{{3, true}, {1, true}, {3, true}}},   // 1 and 2 released; 1 starts a partial sequence
		{4, 16000, [3]held{{4, true}, {4, true}, {4, true}}},  // 16000-5s-10s passed the partial's start: the clock's event
		{5, 30000, [3]held{{5, true}, {5, true}, {5, true}}},  // only the buffer of the event query
		{1, 31000, [3]held{{1, true}, {1, true}, {1, true}}},  // a new partial (seq 1 again: the id)
		{7, 32000, [3]held{{1, true}, {1, true}, {7, true}}},  // a missing-stage event, buffered
		{9, 40000, [3]held{{9, true}, {1, true}, {7, true}}},  // 7 released: the third run's missing-stage event
		{10, 45000, [3]held{{9, true}, {1, true}, {7, true}}}, // 45000-5s-10s = 30000: both still in reach
		{11, 48000, [3]held{{10, true}, {11, true}, {11, true}}},
	}
	for _, s := range steps {
		push(s.id, int64(s.ts))
		for i, r := range runs {
			seq, ok := r.OldestHeld()
			if (held{seq, ok}) != s.want[i] {
				t.Errorf("after id %d at %d ms: run %d holds %d %v, want %d %v", s.id, s.ts, i, seq, ok, s.want[i].seq, s.want[i].ok)
			}
		}
	}
}

// TestEachHeld checks what a batch Run holds after Flush: the events of its partial
// sequences and missing-event stages still in reach of its last event, and a sample's hits.
func TestEachHeld(t *testing.T) {
	for _, tc := range []struct {
		query string
		ids   []int
		ts    []int64
		want  []uint64
	}{
		// 1 starts a partial sequence that 3, 2 s later, cannot extend: expired; 4 starts another.
		{`sequence with maxspan=1s [process where id in (1, 4)] [process where id == 99]`,
			[]int{1, 2, 3, 4, 5}, []int64{0, 500, 2000, 2500, 2600}, []uint64{4}},
		// Without maxspan every partial sequence is held; completed ones are not.
		{`sequence [process where id in (1, 2)] [process where id == 3]`,
			[]int{1, 2, 3, 4}, []int64{0, 1, 2, 3}, nil},
		{`sequence [process where id in (1, 4)] [process where id == 3]`,
			[]int{1, 2, 3, 4}, []int64{0, 1, 2, 3}, []uint64{4}},
		// A leading missing event (5) within maxspan of the last event (6) is held.
		{`sequence with maxspan=1s ![process where id in (2, 5)] [process where id == 1] [process where id == 99]`,
			[]int{2, 5, 6}, []int64{0, 2000, 2500}, []uint64{5}},
		// A sample holds the first hits of each filter and key.
		{`sample by id [process where id < 3] [process where id < 5]`,
			[]int{1, 2, 3, 9}, []int64{0, 1, 2, 3}, []uint64{1, 2, 3}},
	} {
		stmt, err := eql.Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		fields := event.NewFields()
		m := NewMemo()
		q, err := Compile(stmt, fields, Options{Memo: m})
		if err != nil {
			t.Fatal(err)
		}
		r := q.NewRun(Batch, func(*Result) {})
		dec := event.NewDecoder(fields)
		for i, id := range tc.ids {
			var e event.Event
			if err := dec.Decode([]byte(ev(id, tc.ts[i], "event", `{"category":"process"}`)), &e); err != nil {
				t.Fatal(err)
			}
			e.Seq = uint64(id)
			m.Next(&e)
			if err := r.Push(&e); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		var got []uint64
		r.EachHeld(func(e *event.Event) {
			if !slices.Contains(got, e.Seq) {
				got = append(got, e.Seq)
			}
		})
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: holds %v, want %v", tc.query, got, tc.want)
		}
	}
}

// TestOldestHeldFlushed: once a streaming Run is flushed, its clock no longer counts; a
// partial sequence it keeps does.
func TestOldestHeldFlushed(t *testing.T) {
	push, runs, _ := streamRuns(t, NewMemo(), 5*time.Second,
		`process where true`,
		`sequence [process where id == 1] [process where id == 99]`)
	push(1, 0)
	push(2, 1000)
	for _, r := range runs {
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []struct {
		seq uint64
		ok  bool
	}{{0, false}, {1, true}} {
		if seq, ok := runs[i].OldestHeld(); seq != want.seq || ok != want.ok {
			t.Errorf("run %d holds %d %v after Flush, want %d %v", i, seq, ok, want.seq, want.ok)
		}
	}
}
