package stream

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// mstep is one step of a merge script: push a record, take in a watermark, move the clock,
// or check what next hands out (until it blocks) and how long it says to wait.
type mstep struct {
	push *mergeRec
	mark *sourceMark
	ends map[int32]int64 // the input topic's end offsets, read now
	// after moves the clock on.
	after time.Duration
	// want lists the records next must hand out now, as "S/O" (source/offset), then block
	// with wait (0: until something comes); dropped lists the pushes push refused.
	want    string
	wait    time.Duration
	check   bool
	dropped bool
}

func rec(src int32, off int64, ns int64) mstep {
	return mstep{push: &mergeRec{src: src, off: off, ns: ns}}
}
func dup(src int32, off int64, ns int64) mstep {
	return mstep{push: &mergeRec{src: src, off: off, ns: ns}, dropped: true}
}
func mark(src int32, off, ns int64, idle bool) mstep {
	return mstep{mark: &sourceMark{Partition: src, Offset: off, Time: ns, HasTime: ns >= 0, Idle: idle}}
}
func after(d time.Duration) mstep  { return mstep{after: d} }
func ends(e map[int32]int64) mstep { return mstep{ends: e} }
func out(want string, wait time.Duration) mstep {
	return mstep{want: want, wait: wait, check: true}
}

// TestWMerge runs merge scripts: order across sources, watermarks, idle and silent
// sources, records sent again (after a rebalance or a crash upstream), and the bound on
// what is held.
func TestWMerge(t *testing.T) {
	const wait = 10 * time.Second
	cases := []struct {
		name      string
		sources   int32
		accepted  map[int32]int64
		maxQueued int
		steps     []mstep
	}{
		{name: "smallest time first, waiting for an empty source", sources: 2, steps: []mstep{
			rec(0, 0, 10), rec(0, 1, 30), rec(1, 0, 20), rec(1, 1, 40),
			out("0/0 1/0 0/1", wait),
			after(time.Second), out("", wait-time.Second),
			mark(0, 1, 45, false), out("1/1", 0),
		}},
		{name: "a watermark behind the head does not release it", sources: 2, steps: []mstep{
			rec(0, 0, 100), mark(1, 5, 99, false), out("", wait),
			mark(1, 6, 100, false), out("0/0", 0),
		}},
		{name: "ties go to the lower source", sources: 2, steps: []mstep{
			rec(1, 0, 5), rec(0, 0, 5), out("0/0", wait), mark(0, 0, 5, false), out("1/0", 0),
		}},
		{name: "records sent again are dropped", sources: 1, steps: []mstep{
			rec(0, 0, 1), rec(0, 1, 2), rec(0, 2, 3),
			dup(0, 1, 2), dup(0, 2, 3), rec(0, 3, 4),
			out("0/0 0/1 0/2 0/3", 0),
			dup(0, 3, 4), dup(0, 0, 1), rec(0, 7, 8), out("0/7", 0),
		}},
		{name: "a watermark's offset makes earlier records repeats", sources: 1, steps: []mstep{
			mark(0, 5, 50, false), dup(0, 4, 40), dup(0, 5, 50), rec(0, 6, 60), out("0/6", 0),
		}},
		{name: "the offsets a previous owner took in", sources: 2, accepted: map[int32]int64{0: 10, 1: 3}, steps: []mstep{
			dup(0, 9, 1), dup(0, 10, 2), dup(1, 3, 3), rec(0, 11, 4), rec(1, 4, 5), out("0/11", wait),
			mark(0, 11, 6, false), out("1/4", 0),
		}},
		{name: "an idle source at its end is not waited for", sources: 2, steps: []mstep{
			rec(0, 0, 10), mark(1, 4, -1, true), out("", 10*time.Millisecond),
			after(time.Millisecond), ends(map[int32]int64{0: 9, 1: 5}), out("0/0", 0),
		}},
		{name: "end offsets read before the head came do not count", sources: 2, steps: []mstep{
			mark(1, 4, -1, true), ends(map[int32]int64{1: 5}), rec(0, 0, 10), out("", endsEvery),
			after(endsEvery / 2), out("", endsEvery/2),
			after(endsEvery / 2), ends(map[int32]int64{1: 5}), out("0/0", 0),
		}},
		{name: "an idle source whose input partition grew is waited for", sources: 2, steps: []mstep{
			// Its producer read it to offset 4; events came into it since, which the
			// producer of source 0 may have overtaken.
			rec(0, 0, 10), mark(1, 4, -1, true), after(time.Millisecond), ends(map[int32]int64{1: 9}),
			out("", wait-time.Millisecond),
			rec(1, 5, 5), out("1/5", wait), mark(1, 5, 12, false), out("0/0", 0),
		}},
		{name: "an idle mark lapses when its producer stops repeating it", sources: 2, steps: []mstep{
			mark(1, 4, -1, true), after(idleTTL), rec(0, 0, 10), after(time.Millisecond),
			ends(map[int32]int64{1: 5}), out("", wait-idleTTL-time.Millisecond),
			mark(1, 4, -1, true), out("0/0", 0),
		}},
		{name: "a record after an idle mark makes the source waited for again", sources: 2, steps: []mstep{
			mark(1, 3, 5, true), rec(1, 4, 30), rec(0, 0, 10), rec(0, 1, 40),
			out("0/0 1/4", wait), mark(1, 4, 50, false), out("0/1", 0),
		}},
		{name: "a silent source is given up after the wait, until it progresses", sources: 2, steps: []mstep{
			rec(0, 0, 10), out("", wait),
			after(wait - time.Second), out("", time.Second),
			after(time.Second), out("0/0", 0),
			rec(0, 1, 20), out("0/1", 0),
			// It comes back: late records go in order among those queued, and it is
			// waited for again.
			rec(1, 0, 15), rec(0, 2, 25), out("1/0", wait),
			mark(1, 0, 30, false), out("0/2", 0),
		}},
		{name: "watermarks that advance keep a source waited for", sources: 2, steps: []mstep{
			rec(0, 0, 100),
			after(wait - time.Second), mark(1, 0, 50, false),
			after(wait - time.Second), mark(1, 1, 60, false), out("", wait),
			after(wait), out("0/0", 0),
		}},
		{name: "an event without time goes at once", sources: 2, steps: []mstep{
			rec(0, 0, noTime), rec(0, 1, 5), out("0/0", wait),
		}},
		{name: "a source not in the count is merged too", sources: 1, steps: []mstep{
			rec(0, 0, 10), rec(0, 1, 30), rec(3, 0, 20), out("0/0 3/0", wait),
			mark(3, 0, 30, false), out("0/1", 0),
		}},
		{name: "the bound on held records stops the waiting", sources: 2, maxQueued: 2, steps: []mstep{
			rec(0, 0, 10), out("", wait), rec(0, 1, 20), out("0/0", wait),
		}},
		{name: "a re-send interleaved with the old owner's records", sources: 2, steps: []mstep{
			// The old owner of source 0 sent 0..3 and died; its successor, which read
			// source 0 from the committed offset 2, sends 2..5 again.
			rec(0, 0, 10), rec(0, 1, 20), rec(0, 2, 30), rec(0, 3, 40),
			rec(1, 0, 15), rec(1, 1, 35), mark(1, 1, 60, false),
			dup(0, 2, 30), dup(0, 3, 40), rec(0, 4, 50), rec(0, 5, 60), mark(0, 5, 70, false),
			out("0/0 1/0 0/1 0/2 1/1 0/3 0/4 0/5", 0),
		}},
	}
	start := time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := start
			mq := c.maxQueued
			if mq == 0 {
				mq = 1000
			}
			m := newWMerge(c.sources, c.accepted, wait, idleTTL, endsEvery, mq, now)
			for i, s := range c.steps {
				switch {
				case s.push != nil:
					if got := m.push(*s.push, now); got == s.dropped {
						t.Fatalf("step %d: push %d/%d took it in: %v, want %v", i, s.push.src, s.push.off, got, !s.dropped)
					}
				case s.mark != nil:
					m.mark(*s.mark, now)
				case s.ends != nil:
					m.setEnds(s.ends, now)
				case s.after > 0:
					now = now.Add(s.after)
				case s.check:
					var got []string
					var w time.Duration
					for {
						r, ok, wt := m.next(now)
						if !ok {
							w = wt
							break
						}
						got = append(got, fmt.Sprintf("%d/%d", r.src, r.off))
					}
					if g := strings.Join(got, " "); g != s.want || w != s.wait {
						t.Fatalf("step %d: handed out %q and waits %s, want %q and %s", i, g, w, s.want, s.wait)
					}
				}
			}
		})
	}
}

// TestRepTracker checks the committable offset and the source offsets committed with it:
// a record is finished once handed out and below the handler's oldest held event, at once
// when it is a watermark or a repeat; the offset stops at the first record not finished,
// whatever the order records were handed out in.
func TestRepTracker(t *testing.T) {
	tr := newRepTracker(map[int32]int64{2: 7})
	data := func(off int64, src int32, soff int64) int {
		return tr.add(off, []sourceMark{{Partition: src, Offset: soff}}, false)
	}
	s0 := data(100, 0, 10)
	s1 := data(101, 1, 20)
	tr.add(102, []sourceMark{{Partition: 0, Offset: 12}, {Partition: 1, Offset: 21}}, true) // watermark
	s3 := data(103, 0, 13)
	// Handed out in event-time order: 101 before 100; 103 still queued.
	tr.deliver(s1, 1)
	tr.deliver(s0, 2)
	steps := []struct {
		below uint64
		held  bool
		moved bool
		next  int64
		seen  map[int32]int64
	}{
		{below: 1, held: true, moved: false, next: -1, seen: map[int32]int64{2: 7}},
		{below: 2, held: true, moved: false, next: -1, seen: map[int32]int64{2: 7}},               // 100 (seq 2) held
		{below: 3, held: true, moved: true, next: 103, seen: map[int32]int64{0: 12, 1: 21, 2: 7}}, // up to the queued 103
		{below: 0, held: false, moved: false, next: 103, seen: map[int32]int64{0: 12, 1: 21, 2: 7}},
	}
	for i, s := range steps {
		moved := tr.finish(s.below, s.held)
		if moved != s.moved || tr.next != s.next || !maps.Equal(tr.seen, s.seen) {
			t.Fatalf("step %d: moved %v, next %d, seen %v; want %v, %d, %v", i, moved, tr.next, tr.seen, s.moved, s.next, s.seen)
		}
	}
	tr.deliver(s3, 3)
	if !tr.finish(0, false) || tr.next != 104 || tr.seen[0] != 13 || tr.pending() != 0 {
		t.Fatalf("after the last: next %d, seen %v, pending %d", tr.next, tr.seen, tr.pending())
	}
	// Many records: the slots stay valid as the tracker compacts.
	var slots []int
	for i := range 5000 {
		slots = append(slots, data(int64(200+i), 0, int64(100+i)))
	}
	for i := len(slots) - 1; i >= 0; i-- {
		tr.deliver(slots[i], uint64(10+len(slots)-i))
		tr.finish(0, false)
	}
	if tr.next != 5200 || tr.seen[0] != 5099 {
		t.Fatalf("after 5000 more: next %d, seen %v", tr.next, tr.seen)
	}
}

func TestSeenMetadata(t *testing.T) {
	for _, seen := range []map[int32]int64{{}, {0: 0}, {0: 12, 3: 1 << 40, 17: 5}} {
		s := seenMetadata(seen)
		got, err := parseSeenMetadata(s)
		if err != nil || !maps.Equal(got, seen) {
			t.Errorf("%v: encoded %q, decoded %v, %v", seen, s, got, err)
		}
	}
	for _, bad := range []string{"", "member-1", "tripline1:!!", "tripline1:AQ"} {
		if got, err := parseSeenMetadata(bad); err == nil || len(got) != 0 {
			t.Errorf("%q: decoded %v, %v; want an error", bad, got, err)
		}
	}
}

func TestRepartitionHeaders(t *testing.T) {
	marks := []sourceMark{{Partition: 0, Offset: 12, Time: 1773309600123456789, HasTime: true},
		{Partition: 3, Offset: -1, Idle: true}}
	v := appendMarks(nil, marks)
	if string(v) != "0:12:1773309600123456789:0;3:-1::1" {
		t.Fatalf("marks encoded as %q", v)
	}
	got, err := parseMarks(v)
	if err != nil || !slices.Equal(got, marks) {
		t.Fatalf("decoded %v, %v", got, err)
	}
	for _, bad := range []string{"0:1:2", "0:1:2:3", "x:1::0", "0:1:y:1", "-1:0::0", "0::5:0", "0:99999999999999999999::1"} {
		if _, err := parseMarks([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	p, off, ns, has, err := parseSourceHeader(appendSourceHeader(nil, 2, 77, 0, false))
	if err != nil || p != 2 || off != 77 || has || ns != 0 {
		t.Fatalf("source header: %d %d %d %v %v", p, off, ns, has, err)
	}
	// The owner of a tuple depends on the signature too, and spreads the tuples.
	count := map[int32]int{}
	for i := range 1000 {
		count[KeyPartition("[user.name]", fmt.Appendf(nil, "u%d", i), 4)]++
	}
	for p := range int32(4) {
		if count[p] < 200 || count[p] > 300 {
			t.Fatalf("1000 keys over 4 partitions: %v", count)
		}
	}
	if KeyPartition("[a]", []byte("k"), 1<<20) == KeyPartition("[b]", []byte("k"), 1<<20) {
		t.Fatalf("the signature does not change the partition")
	}
}
