package engine

import (
	"testing"
	"time"
)

// TestOldestHeld checks which events a streaming Run reports holding: those in its
// reordering buffer, and those of a partial sequence until the sequence's maxspan, by the
// Run's clock less the lateness, has passed its first event.
func TestOldestHeld(t *testing.T) {
	push, runs, _ := streamRuns(t, NewMemo(), 5*time.Second,
		`process where true`,
		`sequence with maxspan=10s [process where id == 1] [process where id == 99]`)
	type held struct {
		seq uint64
		ok  bool
	}
	steps := []struct {
		id, ts int
		want   [2]held // by run
	}{
		{1, 0, [2]held{{1, true}, {1, true}}},      // both buffer id 1
		{2, 1000, [2]held{{1, true}, {1, true}}},   // id 2 matches no stage of the sequence
		{3, 7000, [2]held{{3, true}, {1, true}}},   // 1 and 2 released; 1 starts a partial sequence
		{4, 16000, [2]held{{4, true}, {0, false}}}, // 16000-5s-10s passed the partial's start
		{5, 30000, [2]held{{5, true}, {0, false}}}, // only the buffer of the event query
		{1, 31000, [2]held{{1, true}, {1, true}}},  // a new partial (seq 1 again: the id)
		{6, 50000, [2]held{{6, true}, {0, false}}}, // expired
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
