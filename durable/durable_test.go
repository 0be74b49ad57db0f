package durable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/rule"
	"github.com/tripline/tripline/state"
)

var t0 = time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC)

// doc is an event document at t0 plus sec seconds, numbered n.
func doc(sec, n int) []byte {
	return fmt.Appendf(nil, `{"@timestamp":%q,"n":%d}`, t0.Add(time.Duration(sec)*time.Second).Format(time.RFC3339Nano), n)
}

func openStore(t *testing.T, dir string) *state.Store {
	t.Helper()
	st, err := state.Open(dir, state.Meta{Format: state.Format, Tripline: "test", Fingerprint: "f1", Rules: 1})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// session is one run over a state directory.
type session struct {
	t  *testing.T
	st *state.Store
	r  *Run
}

func begin(t *testing.T, dir string, opts Options) *session {
	t.Helper()
	st := openStore(t, dir)
	r, err := Begin(st, opts)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return &session{t: t, st: st, r: r}
}

// replayed is one event a Replay gave.
type replayed struct {
	Doc string
	Src detect.EventSource
}

func (s *session) replay() []replayed {
	s.t.Helper()
	var got []replayed
	if _, err := s.r.Replay(context.Background(), func(doc []byte, src detect.EventSource) error {
		got = append(got, replayed{string(doc), src})
		return nil
	}); err != nil {
		s.t.Fatal(err)
	}
	return got
}

func (s *session) end(checkpoint bool) {
	s.t.Helper()
	if checkpoint {
		if err := s.r.Checkpoint(nil); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := s.r.Close(); err != nil {
		s.t.Fatal(err)
	}
	if err := s.st.Close(); err != nil {
		s.t.Fatal(err)
	}
}

// docNumbers returns the "n" of each replayed document, with its arrival number.
func docNumbers(t *testing.T, rs []replayed) []string {
	t.Helper()
	var out []string
	for _, r := range rs {
		_, n, ok := strings.Cut(r.Doc, `"n":`)
		if !ok {
			t.Fatalf("replayed %s", r.Doc)
		}
		out = append(out, fmt.Sprintf("%s@%d", strings.TrimSuffix(n, "}"), r.Src.Seq))
	}
	return out
}

// holder is a detector for the tests: Unfinished returns seq, ok; Held gives held.
type holder struct {
	seq  uint64
	ok   bool
	held []replayed
}

func (h *holder) Unfinished() (uint64, bool) { return h.seq, h.ok }

func (h *holder) Held(fn func(doc []byte, src detect.EventSource) error) error {
	for _, e := range h.held {
		if err := fn([]byte(e.Doc), e.Src); err != nil {
			return err
		}
	}
	return nil
}

// TestJournalKeeps records events at the given seconds in a first run, checkpointing
// every few of them with the detector holding what held says, and checks what a second
// run is given: the events from the oldest the detector holds on, none that came while
// the newest time was more than Keep before the newest, in arrival order, with their
// arrival numbers and sources.
func TestJournalKeeps(t *testing.T) {
	type hold struct {
		seq uint64
		ok  bool
	}
	for _, tc := range []struct {
		name    string
		keep    time.Duration
		samples bool
		secs    []int  // -1: an event without @timestamp
		held    []hold // what the detector holds after each event (nil: no detector)
		every   int    // checkpoint after every so many events (0: at the end only)
		want    []string
	}{
		{"nothing held", time.Hour, false, []int{0, 1, 2, 3}, []hold{{}, {}, {}, {}}, 1, nil},
		{"held from the third", time.Hour, false, []int{0, 1, 2, 3, 4}, []hold{{1, true}, {1, true}, {3, true}, {3, true}, {3, true}}, 0,
			[]string{"2@3", "3@4", "4@5"}},
		{"a checkpoint after each event", time.Hour, false, []int{0, 1, 2, 3, 4}, []hold{{1, true}, {1, true}, {3, true}, {3, true}, {3, true}}, 1,
			[]string{"2@3", "3@4", "4@5"}},
		{"the cut never goes back", time.Hour, false, []int{0, 1, 2, 3}, []hold{{1, true}, {2, true}, {1, true}, {4, true}}, 1,
			[]string{"3@4"}},
		{"held far behind: Keep bounds it", 3 * time.Second, false, []int{0, 1, 2, 3, 4, 5, 6}, []hold{{1, true}, {1, true}, {1, true}, {1, true}, {1, true}, {1, true}, {1, true}}, 2,
			[]string{"3@4", "4@5", "5@6", "6@7"}},
		{"samples: Keep in full", 3 * time.Second, true, []int{0, 1, 2, 3, 4, 5, 6}, []hold{{}, {}, {}, {}, {}, {}, {7, true}}, 0,
			[]string{"3@4", "4@5", "5@6", "6@7"}},
		{"out of order: arrival order kept", 3 * time.Second, false, []int{5, 1, 9, 3, 8, 6}, []hold{{}, {}, {}, {}, {}, {2, true}}, 0,
			[]string{"1@2", "2@3", "3@4", "4@5", "5@6"}},
		{"Keep goes by arrival: an event that came late is kept", 3 * time.Second, false, []int{5, 9, 1, 8}, nil, 0,
			[]string{"1@2", "2@3", "3@4"}},
		{"no time: not journalled, numbered", time.Hour, false, []int{1, -1, 2}, nil, 1, []string{"0@1", "2@3"}},
		{"no detector: everything within Keep", time.Hour, false, []int{4, 3, 2, 1}, nil, 0, []string{"0@1", "1@2", "2@3", "3@4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Keep: tc.keep, Samples: tc.samples}
			s := begin(t, dir, opts)
			if got := s.replay(); len(got) != 0 {
				t.Fatalf("a new directory replays %v", got)
			}
			h := &holder{}
			if tc.held != nil {
				s.r.Track(h)
			}
			for i, sec := range tc.secs {
				d := doc(sec, i)
				if sec < 0 {
					d = fmt.Appendf(nil, `{"n":%d}`, i)
				}
				src := s.r.Record(d, detect.EventSource{Name: "in.ndjson", Line: i + 1, Index: "logs-x", ID: fmt.Sprint("id", i), Offset: 7, HasOffset: true})
				if src.Seq != uint64(i+1) || src.HasOffset || src.Offset != 0 {
					t.Fatalf("Record gave %+v", src)
				}
				if tc.held != nil {
					h.seq, h.ok = tc.held[i].seq, tc.held[i].ok
				}
				if tc.every > 0 && (i+1)%tc.every == 0 {
					if err := s.r.Checkpoint(nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			s.end(true)
			s = begin(t, dir, opts)
			defer s.end(false)
			got := s.replay()
			if g := docNumbers(t, got); !slices.Equal(g, tc.want) {
				t.Errorf("replayed %v, want %v", g, tc.want)
			}
			for _, r := range got {
				line := r.Src.Seq
				want := detect.EventSource{Name: "in.ndjson", Line: int(line), Index: "logs-x", ID: fmt.Sprint("id", line-1), Seq: line}
				if r.Src != want {
					t.Errorf("source %+v, want %+v", r.Src, want)
				}
			}
			if s.r.Replayed() != len(tc.want) {
				t.Errorf("Replayed %d, want %d", s.r.Replayed(), len(tc.want))
			}
			if n := uint64(len(tc.secs)); s.r.Seq() != n {
				t.Errorf("Seq %d, want %d", s.r.Seq(), n)
			}
			if src := s.r.Record(doc(100, 99), detect.EventSource{}); src.Seq != uint64(len(tc.secs)+1) {
				t.Errorf("the next run numbers on from %d", src.Seq)
			}
		})
	}
}

// TestJournalBatch: a batch run journals at its end the events, those it was given first
// and those it read, from the time of the oldest its detector holds on, less those more
// than Keep before the newest, in a journal of their own (the last one's segments go); it
// journals none when its rules hold nothing past its end.
func TestJournalBatch(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Keep: 10 * time.Second, Batch: true, Holds: true}
	held := func(sec int, seq uint64) replayed {
		return replayed{string(doc(sec, int(seq))), detect.EventSource{Seq: seq}}
	}
	jdir := filepath.Join(dir, journalDir)
	runs := []struct {
		opts Options
		secs []int
		held []replayed
		want []string
		segs []uint64
	}{
		{opts, []int{0, 3, 1, 2}, []replayed{held(1, 3)}, []string{"3@2", "1@3", "2@4"}, []uint64{1}},
		// The oldest held is more than Keep before the newest: Keep cuts.
		{opts, []int{4, 15, 9, 20}, []replayed{held(1, 3), held(15, 6)}, []string{"15@6", "20@8"}, []uint64{2}},
		// Given the journal first, holding its first event: it is journalled again.
		{opts, []int{21}, []replayed{held(15, 6)}, []string{"15@6", "20@8", "21@9"}, []uint64{3}},
		{opts, []int{22}, nil, nil, nil},
		{Options{Keep: time.Hour, Batch: true}, []int{23, 24}, []replayed{held(23, 11)}, nil, nil},
	}
	for i, run := range runs {
		s := begin(t, dir, run.opts)
		s.replay()
		s.r.Track(&holder{held: run.held})
		for _, sec := range run.secs {
			s.r.Record(doc(sec, sec), detect.EventSource{})
		}
		s.end(true)
		s = begin(t, dir, run.opts)
		if g := docNumbers(t, s.replay()); !slices.Equal(g, run.want) {
			t.Errorf("run %d: replayed %v, want %v", i, g, run.want)
		}
		s.end(false)
		if ids, _ := listSegments(jdir); !slices.Equal(ids, run.segs) {
			t.Errorf("run %d: segments %v, want %v", i, ids, run.segs)
		}
	}
}

// TestJournalSpill: a batch run writes its events to spill files as they come, and
// journals at its end those it keeps, from there and from memory; a crash leaves no spill
// file behind.
func TestJournalSpill(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Keep: time.Hour, Batch: true, Holds: true}
	s := begin(t, dir, opts)
	s.r.j.segSize = 4 << 20
	big := strings.Repeat("x", 64<<10)
	n := 2 * spillAt / len(big) // two spills, into segments of their own
	for i := range n {
		s.r.Record(fmt.Appendf(nil, `{"@timestamp":%q,"pad":%q,"n":%d}`, t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), big, i), detect.EventSource{})
	}
	if got := len(s.r.j.spills); got < 4 {
		t.Fatalf("%d spill segments, want 4 or more", got)
	}
	jdir := filepath.Join(dir, journalDir)
	s.r.Track(&holder{held: []replayed{{Doc: string(doc(n-3, 0)), Src: detect.EventSource{Seq: uint64(n - 2)}}}})
	s.end(true)
	s = begin(t, dir, opts)
	got := docNumbers(t, s.replay())
	s.end(false)
	want := []string{fmt.Sprintf("%d@%d", n-3, n-2), fmt.Sprintf("%d@%d", n-2, n-1), fmt.Sprintf("%d@%d", n-1, n)}
	if !slices.Equal(got, want) {
		t.Errorf("replayed %v, want %v", got, want)
	}
	if ids, _ := listSegments(jdir); len(ids) != 1 {
		t.Errorf("segments %v, want one", ids)
	}
	// A crash after spilling: the next run finds the last checkpoint's journal alone.
	s = begin(t, dir, opts)
	s.replay()
	for i := range n {
		s.r.Record(fmt.Appendf(nil, `{"@timestamp":%q,"pad":%q,"n":%d}`, t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), big, i), detect.EventSource{})
	}
	s.st.Close()
	s = begin(t, dir, opts)
	defer s.end(false)
	if got := docNumbers(t, s.replay()); !slices.Equal(got, want) {
		t.Errorf("after a crash: replayed %v, want %v", got, want)
	}
	if ids, _ := listSegments(jdir); len(ids) != 1 {
		t.Errorf("after a crash: segments %v, want one", ids)
	}
}

// TestJournalForgetDrop takes events back before a checkpoint writes them.
func TestJournalForgetDrop(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(r *Run, srcs []detect.EventSource)
		want []string
	}{
		{"nothing", func(*Run, []detect.EventSource) {}, []string{"0@1", "1@2", "2@3", "3@4"}},
		{"forget the last", func(r *Run, s []detect.EventSource) { r.Forget(s[3]) }, []string{"0@1", "1@2", "2@3"}},
		{"forget one that is not the last: nothing", func(r *Run, s []detect.EventSource) { r.Forget(s[1]) }, []string{"0@1", "1@2", "2@3", "3@4"}},
		{"drop the second", func(r *Run, s []detect.EventSource) { r.Drop(s[1].Seq) }, []string{"0@1", "2@3", "3@4"}},
		{"drop the first and the last", func(r *Run, s []detect.EventSource) { r.Drop(s[0].Seq); r.Drop(s[3].Seq) }, []string{"1@2", "2@3"}},
		{"drop one never given", func(r *Run, s []detect.EventSource) { r.Drop(42) }, []string{"0@1", "1@2", "2@3", "3@4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := begin(t, dir, Options{Keep: time.Hour})
			var srcs []detect.EventSource
			for i := range 4 {
				srcs = append(srcs, s.r.Record(doc(i, i), detect.EventSource{}))
			}
			tc.do(s.r, srcs)
			s.end(true)
			s = begin(t, dir, Options{Keep: time.Hour})
			defer s.end(false)
			if g := docNumbers(t, s.replay()); !slices.Equal(g, tc.want) {
				t.Errorf("replayed %v, want %v", g, tc.want)
			}
		})
	}
}

// TestJournalMaxFuture leaves out events stamped beyond the clock plus MaxFuture, and
// lets the clock, not an event ahead of it, set the newest time Keep goes by.
func TestJournalMaxFuture(t *testing.T) {
	now := t0.Add(time.Hour)
	opts := Options{Keep: 5 * time.Second, MaxFuture: time.Minute, Clock: func() time.Time { return now }}
	dir := t.TempDir()
	s := begin(t, dir, opts)
	for i, d := range []time.Duration{-10 * time.Second, -4 * time.Second, 30 * time.Second, 2 * time.Minute} {
		s.r.Record(doc(int((time.Hour+d)/time.Second), i), detect.EventSource{})
	}
	s.end(true)
	s = begin(t, dir, opts)
	defer s.end(false)
	// -10s is before the clock less 5s (not the +30s event less 5s); +2m is not journalled.
	if g, want := docNumbers(t, s.replay()), []string{"1@2", "2@3"}; !slices.Equal(g, want) {
		t.Errorf("replayed %v, want %v", g, want)
	}
}

// TestJournalCutOff: what a crash left after the last checkpoint (records written but not
// committed, a segment of its own) is not replayed, and the next run goes on from there.
func TestJournalCutOff(t *testing.T) {
	dir := t.TempDir()
	s := begin(t, dir, Options{Keep: time.Hour})
	for i := range 3 {
		s.r.Record(doc(i, i), detect.EventSource{})
	}
	if err := s.r.Checkpoint(nil); err != nil {
		t.Fatal(err)
	}
	committed := s.r.j.size
	// Two more events reach the segment, and a segment of the next number is begun; the
	// crash comes before the store commits them.
	s.r.Record(doc(3, 3), detect.EventSource{})
	s.r.Record(doc(4, 4), detect.EventSource{})
	if _, err := s.r.j.write(s.r.pending, false); err != nil {
		t.Fatal(err)
	}
	jdir := filepath.Join(dir, journalDir)
	if err := os.WriteFile(filepath.Join(jdir, segmentName(s.r.j.id+1)), []byte("half a record"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.end(false)

	s = begin(t, dir, Options{Keep: time.Hour})
	if g, want := docNumbers(t, s.replay()), []string{"0@1", "1@2", "2@3"}; !slices.Equal(g, want) {
		t.Errorf("replayed %v, want %v", g, want)
	}
	ids, _ := listSegments(jdir)
	if !slices.Equal(ids, []uint64{1}) {
		t.Errorf("segments %v, want [1]", ids)
	}
	if fi, err := os.Stat(filepath.Join(jdir, segmentName(1))); err != nil || fi.Size() != committed {
		t.Errorf("segment 1: %v, want %d bytes", fi.Size(), committed)
	}
	s.r.Record(doc(5, 5), detect.EventSource{})
	s.end(true)

	s = begin(t, dir, Options{Keep: time.Hour})
	defer s.end(false)
	if g, want := docNumbers(t, s.replay()), []string{"0@1", "1@2", "2@3", "5@4"}; !slices.Equal(g, want) {
		t.Errorf("after the next run: replayed %v, want %v", g, want)
	}
	if ids, _ := listSegments(jdir); !slices.Equal(ids, []uint64{1, 2}) {
		t.Errorf("segments %v, want [1 2]", ids)
	}
}

// TestJournalCorrupt reports a record of the committed journal that is damaged.
func TestJournalCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
		want   string
	}{
		{"a byte of a document", func(b []byte) []byte { b[len(b)-3] ^= 1; return b }, "offset 0: checksum mismatch"},
		{"cut short", func(b []byte) []byte { return b[:len(b)-3] }, "offset 0: record cut short"},
		{"a length too small", func(b []byte) []byte { b[0], b[1], b[2], b[3] = 0, 0, 0, 3; return b }, "offset 0: malformed record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := begin(t, dir, Options{Keep: time.Hour})
			s.r.Record(doc(0, 0), detect.EventSource{})
			s.end(true)
			p := filepath.Join(dir, journalDir, segmentName(1))
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(p, tc.damage(b), 0o600)
			s = begin(t, dir, Options{Keep: time.Hour})
			defer s.end(false)
			_, err = s.r.Replay(context.Background(), func([]byte, detect.EventSource) error { return nil })
			want := "state directory " + dir + ": journal " + segmentName(1) + ": " + tc.want
			if err == nil || err.Error() != want {
				t.Errorf("Replay: %v, want %s", err, want)
			}
		})
	}
}

// TestJournalSegments starts a new segment once one is full, removes the segments whose
// events are all below the cut, and Journal describes what is left.
func TestJournalSegments(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Keep: 2 * time.Second}
	s := begin(t, dir, opts)
	rec := recordSize(doc(10, 10), &detect.EventSource{})
	s.r.j.segSize = int64(3 * rec) // three events a segment
	for i := range 31 {
		s.r.Record(doc(i, i+10), detect.EventSource{}) // numbered 10.. : records of one size
		if err := s.r.Checkpoint(nil); err != nil {
			t.Fatal(err)
		}
	}
	s.end(false)
	// Segment k holds seconds 3(k-1) .. 3k-1; Keep cuts at second 28 (arrival 29):
	// segments 1 to 9 are gone, 10 (27..29) and 11 (30) are left.
	ids, err := listSegments(filepath.Join(dir, journalDir))
	if err != nil || !slices.Equal(ids, []uint64{10, 11}) {
		t.Errorf("segments %v (%v), want [10 11]", ids, err)
	}
	st := openStore(t, dir)
	js, err := Journal(st)
	st.Close()
	want := JournalStats{Events: 3, First: t0.Add(28 * time.Second), Last: t0.Add(30 * time.Second), Segments: 2, Bytes: int64(4 * rec)}
	if err != nil || js != want {
		t.Errorf("Journal: %+v (%v), want %+v", js, err, want)
	}
	s = begin(t, dir, opts)
	defer s.end(false)
	if g, want := docNumbers(t, s.replay()), []string{"38@29", "39@30", "40@31"}; !slices.Equal(g, want) {
		t.Errorf("replayed %v, want %v", g, want)
	}
}

// TestJournalEmpty: a directory where nothing was journalled.
func TestJournalEmpty(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	js, err := Journal(st)
	if err != nil || js != (JournalStats{}) {
		t.Errorf("Journal of a new directory: %+v, %v", js, err)
	}
	st.Close()
	s := begin(t, dir, Options{})
	s.end(true)
	st = openStore(t, dir)
	defer st.Close()
	if js, err := Journal(st); err != nil || js != (JournalStats{}) {
		t.Errorf("Journal after an empty run: %+v, %v", js, err)
	}
}

func alert(id, ruleID string) detect.Alert {
	return detect.Alert{ID: id, Rule: &rule.Rule{RuleID: ruleID}}
}

// TestSinkEmitted leaves out the alerts an earlier run (or this one) wrote, records none
// that the next sink did not take, and forgets an id once the journal holds no event
// numbered up to the last one that gave it; an id read back from a file output is kept
// until its events give it again.
func TestSinkEmitted(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Keep: time.Hour}
	var got []string
	fail := false
	next := detect.SinkFunc(func(_ context.Context, as []detect.Alert) error {
		if fail {
			return errors.New("down")
		}
		for _, a := range as {
			got = append(got, a.ID)
		}
		return nil
	})
	write := func(r *Run, ids ...string) error {
		var as []detect.Alert
		for _, id := range ids {
			as = append(as, alert(id, "rule-"+id[:1]))
		}
		return r.Sink(next).Write(context.Background(), as)
	}
	emitted := func(s *session, want map[string]bool) {
		t.Helper()
		for id, w := range want {
			if s.r.Emitted(id) != w {
				t.Errorf("Emitted(%s) = %v", id, !w)
			}
		}
	}
	h := &holder{}

	// Run 1: a1 and b1 for event 1, which the detector is done with; d1 read back.
	s := begin(t, dir, opts)
	s.r.Track(h)
	s.r.Record(doc(0, 0), detect.EventSource{})
	if err := write(s.r, "a1", "b1"); err != nil {
		t.Fatal(err)
	}
	fail = true
	if err := write(s.r, "c1"); err == nil {
		t.Fatal("the sink's error was not returned")
	}
	fail = false
	s.r.AddEmitted([]string{"d1"})
	if err := write(s.r, "a1", "a2"); err != nil { // a1 again, within the run
		t.Fatal(err)
	}
	emitted(s, map[string]bool{"a1": true, "b1": true, "a2": true, "d1": true, "c1": false})
	s.end(true)
	if want := []string{"a1", "b1", "a2"}; !slices.Equal(got, want) {
		t.Errorf("written %v, want %v", got, want)
	}

	// Run 2: event 1 left the journal, and a1, b1, a2 with it; d1 waits for its events.
	s = begin(t, dir, opts)
	s.r.Track(h)
	emitted(s, map[string]bool{"a1": false, "b1": false, "a2": false, "d1": true, "c1": false})
	got = nil
	s.r.Record(doc(1, 1), detect.EventSource{})
	if err := write(s.r, "a1", "c1", "d1"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a1", "c1"}; !slices.Equal(got, want) {
		t.Errorf("written %v, want %v", got, want)
	}
	if want := map[string]int{"rule-d": 1}; !maps.Equal(s.r.LeftOut(), want) {
		t.Errorf("LeftOut %v, want %v", s.r.LeftOut(), want)
	}
	h.seq, h.ok = 2, true // event 2 is held: its alerts stay
	s.end(true)

	s = begin(t, dir, opts)
	s.r.Track(h)
	emitted(s, map[string]bool{"a1": true, "c1": true, "d1": true})
	s.r.Record(doc(2, 2), detect.EventSource{})
	h.ok = false
	s.end(true)

	s = begin(t, dir, opts)
	defer s.end(false)
	emitted(s, map[string]bool{"a1": false, "c1": false, "d1": false})
}

// TestPositions keeps the input positions and the file outputs' sizes.
func TestPositions(t *testing.T) {
	dir := t.TempDir()
	s := begin(t, dir, Options{})
	pa := Position{Docs: 3, Offset: 200, Inode: 77, Size: 260, LastSum: "abc"}
	pb := Position{Docs: 1, Size: 10}
	s.r.SetPosition("/in/a.ndjson", Position{Docs: 1})
	s.r.SetPosition("/in/a.ndjson", pa)
	s.r.SetPosition("/in/b.ndjson", pb)
	if p, ok := s.r.Position("/in/a.ndjson"); !ok || p != pa {
		t.Errorf("Position in the run: %+v %v", p, ok)
	}
	if err := s.r.Checkpoint(map[string]int64{"/out/alerts.ndjson": 1234}); err != nil {
		t.Fatal(err)
	}
	s.end(false)

	s = begin(t, dir, Options{})
	defer s.end(false)
	for _, tc := range []struct {
		name string
		want Position
		ok   bool
	}{{"/in/a.ndjson", pa, true}, {"/in/b.ndjson", pb, true}, {"/in/c.ndjson", Position{}, false}} {
		if p, ok := s.r.Position(tc.name); ok != tc.ok || p != tc.want {
			t.Errorf("Position(%s) = %+v %v, want %+v %v", tc.name, p, ok, tc.want, tc.ok)
		}
	}
	if n, ok := s.r.OutputSize("/out/alerts.ndjson"); !ok || n != 1234 {
		t.Errorf("OutputSize = %d %v", n, ok)
	}
	if _, ok := s.r.OutputSize("/out/other"); ok {
		t.Error("OutputSize of an output never checkpointed")
	}
	ins, err := Inputs(s.st)
	if want := map[string]Position{"/in/a.ndjson": pa, "/in/b.ndjson": pb}; err != nil || !reflect.DeepEqual(ins, want) {
		t.Errorf("Inputs = %v, %v", ins, err)
	}
}

// TestRuleState: the rules' writes are read back once a checkpoint committed them.
func TestRuleState(t *testing.T) {
	dir := t.TempDir()
	s := begin(t, dir, Options{})
	ns := state.RuleNamespace("u1", "threshold")
	rs := s.r.RuleState()
	scan := func() []string {
		var kv []string
		if err := rs.Scan(ns, nil, nil, func(k, v []byte) error {
			kv = append(kv, string(k)+"="+string(v))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return kv
	}
	for _, k := range []string{"e/1", "e/2", "e/3", "s/a", "s/b"} {
		rs.Put(ns, []byte(k), []byte("v"+k))
	}
	if kv := scan(); kv != nil {
		t.Errorf("before a checkpoint: %v", kv)
	}
	if err := s.r.Checkpoint(nil); err != nil {
		t.Fatal(err)
	}
	rs.Delete(ns, []byte("s/a"))
	rs.DeleteRange(ns, []byte("e/"), []byte("e/3"))
	rs.Put(ns, []byte("c"), []byte("9"))
	if want := []string{"e/1=ve/1", "e/2=ve/2", "e/3=ve/3", "s/a=vs/a", "s/b=vs/b"}; !slices.Equal(scan(), want) {
		t.Errorf("after the first checkpoint: %v, want %v", scan(), want)
	}
	s.end(true)
	s = begin(t, dir, Options{})
	defer s.end(false)
	rs = s.r.RuleState()
	if want := []string{"c=9", "e/3=ve/3", "s/b=vs/b"}; !slices.Equal(scan(), want) {
		t.Errorf("next run: %v, want %v", scan(), want)
	}
}

// TestCheckpointOrder writes checkpoints in the order they were taken, whichever Apply
// is called first, and CheckpointAsync writes while the caller goes on.
func TestCheckpointOrder(t *testing.T) {
	dir := t.TempDir()
	s := begin(t, dir, Options{Keep: time.Hour})
	s.r.Record(doc(0, 0), detect.EventSource{})
	c1 := s.r.Snapshot(nil)
	s.r.Record(doc(1, 1), detect.EventSource{})
	s.r.SetPosition("in", Position{Docs: 2})
	c2 := s.r.Snapshot(nil)
	var wg sync.WaitGroup
	var err2 error
	wg.Go(func() { err2 = c2.Apply() })
	time.Sleep(10 * time.Millisecond) // c2 waits for c1
	if err := c1.Apply(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err2 != nil || c2.Apply() != nil {
		t.Fatal(err2)
	}
	s.r.Record(doc(2, 2), detect.EventSource{})
	if err := s.r.CheckpointAsync(nil); err != nil {
		t.Fatal(err)
	}
	s.r.Record(doc(3, 3), detect.EventSource{})
	if err := s.r.CheckpointAsync(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.r.Wait(); err != nil {
		t.Fatal(err)
	}
	s.end(false)
	s = begin(t, dir, Options{Keep: time.Hour})
	defer s.end(false)
	if g, want := docNumbers(t, s.replay()), []string{"0@1", "1@2", "2@3", "3@4"}; !slices.Equal(g, want) {
		t.Errorf("replayed %v, want %v", g, want)
	}
	if p, _ := s.r.Position("in"); p.Docs != 2 {
		t.Errorf("position %+v", p)
	}
}

// TestCheckpointFails: a checkpoint that cannot write the journal fails, and so does
// every later one; the directory keeps the last good checkpoint.
func TestCheckpointFails(t *testing.T) {
	dir := t.TempDir()
	s := begin(t, dir, Options{Keep: time.Hour})
	s.r.Record(doc(0, 0), detect.EventSource{})
	if err := s.r.Checkpoint(nil); err != nil {
		t.Fatal(err)
	}
	s.end(false)
	s = begin(t, dir, Options{Keep: time.Hour})
	s.replay()
	s.r.Record(doc(1, 1), detect.EventSource{})
	os.RemoveAll(filepath.Join(dir, journalDir)) // the new segment cannot be created
	err := s.r.Checkpoint(nil)
	if err == nil || !strings.HasPrefix(err.Error(), "state directory "+dir+": journal: open ") {
		t.Fatalf("Checkpoint: %v", err)
	}
	os.MkdirAll(filepath.Join(dir, journalDir), 0o700)
	s.r.Record(doc(2, 2), detect.EventSource{})
	if err2 := s.r.CheckpointAsync(nil); err2 != nil {
		t.Fatal(err2)
	}
	if err2 := s.r.Wait(); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("the next checkpoint: %v, want %v", err2, err)
	}
	s.end(false)
	s = begin(t, dir, Options{Keep: time.Hour})
	defer s.end(false)
	if got := s.replay(); len(got) != 0 { // the first segment went with the directory
		t.Errorf("replayed %v", docNumbers(t, got))
	}
	if s.r.Seq() != 1 {
		t.Errorf("Seq %d, want the last checkpoint's 1", s.r.Seq())
	}
}

// TestReplayInterrupted stops at the context's end, and at fn's error.
func TestReplayInterrupted(t *testing.T) {
	dir := t.TempDir()
	s := begin(t, dir, Options{Keep: time.Hour})
	for i := range 3 {
		s.r.Record(doc(i, i), detect.EventSource{})
	}
	s.end(true)
	s = begin(t, dir, Options{Keep: time.Hour})
	defer s.end(false)
	ctx, cancel := context.WithCancel(context.Background())
	n, err := s.r.Replay(ctx, func([]byte, detect.EventSource) error {
		cancel()
		return nil
	})
	if n != 1 || !errors.Is(err, context.Canceled) {
		t.Errorf("Replay: %d, %v", n, err)
	}
	boom := errors.New("boom")
	n, err = s.r.Replay(context.Background(), func([]byte, detect.EventSource) error { return boom })
	if n != 1 || !errors.Is(err, boom) {
		t.Errorf("Replay: %d, %v", n, err)
	}
}

// TestTimeFinder reads the journal time of documents as the detector's decoder does.
func TestTimeFinder(t *testing.T) {
	ts := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixNano()
	}
	for _, tc := range []struct {
		name   string
		fields []string
		doc    string
		want   int64
		ok     bool
	}{
		{"first field", []string{"@timestamp"}, `{"@timestamp":"2026-03-12T09:00:01.5Z","a":1}`, ts("2026-03-12T09:00:01.5Z"), true},
		{"after other values", []string{"@timestamp"}, `{"a":{"b":[1,"x\"}",{"c":null}]},"s":"q\\","@timestamp":"2026-03-12T09:00:01Z"}`, ts("2026-03-12T09:00:01Z"), true},
		{"spaces", []string{"@timestamp"}, " { \"a\" : true ,\n\t\"@timestamp\" : \"2026-03-12T09:00:01Z\" } ", ts("2026-03-12T09:00:01Z"), true},
		{"epoch milliseconds", []string{"@timestamp"}, `{"@timestamp":1773306001500}`, ts("2026-03-12T09:00:01.5Z"), true},
		{"epoch milliseconds in a string", []string{"@timestamp"}, `{"@timestamp":"1773306001500"}`, ts("2026-03-12T09:00:01.5Z"), true},
		{"a date", []string{"@timestamp"}, `{"@timestamp":"2026-03-12"}`, ts("2026-03-12T00:00:00Z"), true},
		{"no zone", []string{"@timestamp"}, `{"@timestamp":"2026-03-12T09:00:01"}`, ts("2026-03-12T09:00:01Z"), true},
		{"an array: its first", []string{"@timestamp"}, `{"@timestamp":["2026-03-12T09:00:02Z","2026-03-12T09:00:01Z"]}`, ts("2026-03-12T09:00:02Z"), true},
		{"nested", []string{"@timestamp", "event.ingested"}, `{"@timestamp":"2026-03-12T09:00:05Z","event":{"kind":"x","ingested":"2026-03-12T09:00:03Z"}}`, ts("2026-03-12T09:00:03Z"), true},
		{"dotted", []string{"@timestamp", "event.ingested"}, `{"event.ingested":"2026-03-12T09:00:03Z","@timestamp":"2026-03-12T09:00:05Z"}`, ts("2026-03-12T09:00:03Z"), true},
		{"the earliest of two", []string{"event.ingested", "@timestamp"}, `{"event":{"ingested":"2026-03-12T09:00:09Z"},"@timestamp":"2026-03-12T09:00:05Z"}`, ts("2026-03-12T09:00:05Z"), true},
		{"one of two missing", []string{"@timestamp", "event.ingested"}, `{"event":{"kind":"x"},"@timestamp":"2026-03-12T09:00:05Z"}`, ts("2026-03-12T09:00:05Z"), true},
		{"escaped key: decoded", []string{"@timestamp"}, `{"\u0040timestamp":"2026-03-12T09:00:05Z"}`, ts("2026-03-12T09:00:05Z"), true},
		{"escaped value: decoded", []string{"@timestamp"}, `{"@timestamp":"2026-03-12T09:00:05\u005a"}`, ts("2026-03-12T09:00:05Z"), true},
		{"missing", []string{"@timestamp"}, `{"a":"2026-03-12T09:00:05Z"}`, 0, false},
		{"not a date", []string{"@timestamp"}, `{"@timestamp":"yesterday"}`, 0, false},
		{"null", []string{"@timestamp"}, `{"@timestamp":null}`, 0, false},
		{"an object", []string{"@timestamp"}, `{"@timestamp":{"a":1}}`, 0, false},
		{"malformed", []string{"@timestamp"}, `{"a":[1,2}`, 0, false},
		{"not an object", []string{"@timestamp"}, `["2026-03-12T09:00:05Z"]`, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tf := newTimeFinder(tc.fields)
			if got, ok := tf.find([]byte(tc.doc)); got != tc.want || ok != tc.ok {
				t.Errorf("find = %d %v, want %d %v", got, ok, tc.want, tc.ok)
			}
			if got, ok := tf.decode([]byte(tc.doc)); got != tc.want || ok != tc.ok {
				t.Errorf("decode = %d %v, want %d %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// deliverer is a Deliverer for the tests: it writes to got what it takes, and takes
// nothing while down (written false, no error).
type deliverer struct {
	down bool
	got  []string
}

func (d *deliverer) Write(ctx context.Context, as []detect.Alert) error {
	_, err := d.Deliver(ctx, as)
	return err
}

func (d *deliverer) Deliver(_ context.Context, as []detect.Alert) (bool, error) {
	if d.down {
		return false, nil
	}
	for _, a := range as {
		d.got = append(d.got, a.ID+":"+string(a.Doc)+":"+a.Rule.RuleID)
	}
	return true, nil
}

// TestSinkUnsent: alerts no output took are not recorded as written; the next run
// writes them first (Retry), and again the run after while they still fail; one written
// meanwhile is not written twice.
func TestSinkUnsent(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Keep: time.Hour}
	d := &deliverer{down: true}
	as := []detect.Alert{
		{ID: "a1", Doc: json.RawMessage(`{"n":1}`), Rule: &rule.Rule{RuleID: "r1", Name: "R1"}},
		{ID: "a2", Doc: json.RawMessage(`{"n":2}`), Rule: &rule.Rule{RuleID: "r2", Name: "R2"}},
	}
	s := begin(t, dir, opts)
	if err := s.r.Sink(d).Write(context.Background(), as); err != nil {
		t.Fatal(err)
	}
	if s.r.Emitted("a1") || s.r.Emitted("a2") {
		t.Error("alerts not written recorded as written")
	}
	s.end(true)

	for i, tc := range []struct {
		down          bool
		written, left int
		got           []string
	}{
		{true, 0, 2, nil},
		{false, 2, 0, []string{`a1:{"n":1}:r1`, `a2:{"n":2}:r2`}},
		{false, 0, 0, nil},
	} {
		s = begin(t, dir, opts)
		d.down, d.got = tc.down, nil
		w, left, err := s.r.Retry(context.Background(), d)
		if err != nil || w != tc.written || left != tc.left || !slices.Equal(d.got, tc.got) {
			t.Errorf("run %d: Retry = %d, %d, %v, wrote %v; want %d, %d, nil, %v", i+2, w, left, err, d.got, tc.written, tc.left, tc.got)
		}
		if i == 1 {
			// Given again by the detector: written already.
			d.got = nil
			if err := s.r.Sink(d).Write(context.Background(), as[:1]); err != nil || d.got != nil {
				t.Errorf("a1 written again: %v, %v", d.got, err)
			}
		}
		s.end(true)
	}
}
