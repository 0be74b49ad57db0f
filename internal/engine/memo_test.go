package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
)

// TestMemoSameResults pushes the same events to several Runs that share a Memo, as a
// detector does, and checks that each Run gives what it gives alone: join keys that are
// optional in one query and not in another, multi-valued and null keys, keys missing from
// some events, timestamps as strings and as epoch milliseconds, in batch (in order and not)
// and streaming modes.
func TestMemoSameResults(t *testing.T) {
	queries := []string{
		`sequence by host.id [process where process.name == "a"] [process where process.name == "b"]`,
		`sequence by host.id, ?user.name with maxspan=5s [process where true] [process where process.name == "c"] until [process where process.name == "x"]`,
		`sequence by user.name with maxspan=10s [process where process.name == "a"] ![process where process.name == "x"] [process where true]`,
		`sample by host.id [process where process.name == "a"] [process where process.name == "c"]`,
		`process where process.name in ("b", "c")`,
	}
	var docs []string
	names := []string{"a", "b", "c", "x", "a", "c", "b"}
	users := []string{`"u1"`, `["u1","u2"]`, `null`, "", `"u2"`}
	for i := range 60 {
		ms := baseMillis + int64(i)*700
		ts := fmt.Sprintf("%d", ms)
		if i%3 == 0 { // the same instant as a string
			ts = fmt.Sprintf("%q", time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z"))
		}
		user := ""
		if u := users[i%len(users)]; u != "" {
			user = `,"user":{"name":` + u + `}`
		}
		docs = append(docs, fmt.Sprintf(`{"id":%d,"@timestamp":%s,"event":{"category":"process"},"host":{"id":"h%d"},"process":{"name":%q}%s}`,
			i, ts, i%2, names[i%len(names)], user))
	}
	for _, c := range []struct {
		mode    Mode
		inOrder bool
	}{{Batch, false}, {Batch, true}, {Streaming, false}} {
		alone := runShared(t, queries, docs, c.mode, c.inOrder, false)
		shared := runShared(t, queries, docs, c.mode, c.inOrder, true)
		for i := range queries {
			if len(alone[i]) == 0 && i != 2 {
				t.Errorf("mode %v inOrder %v: query %d found nothing: the test exercises nothing", c.mode, c.inOrder, i)
			}
			if !reflect.DeepEqual(alone[i], shared[i]) {
				t.Errorf("mode %v inOrder %v: query %d\nalone  %v\nshared %v", c.mode, c.inOrder, i, alone[i], shared[i])
			}
		}
	}
}

// runShared compiles the queries over one field set and pushes every document to each
// Run, with one Memo for all when memo is set; it returns each query's results as text.
func runShared(t *testing.T, queries, docs []string, mode Mode, inOrder, memo bool) [][]string {
	t.Helper()
	fields := event.NewFields()
	var m *Memo
	if memo {
		m = NewMemo()
	}
	out := make([][]string, len(queries))
	var runs []*Run
	idSlot := fields.Add("id")
	for i, q := range queries {
		stmt, err := eql.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		cq, err := Compile(stmt, fields, Options{Memo: m, InOrder: inOrder})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		runs = append(runs, cq.NewRun(mode, func(res *Result) {
			s := fmt.Sprint(res.JoinKeys)
			for _, ev := range res.Events {
				if ev == nil {
					s += " -"
				} else {
					s += fmt.Sprintf(" %d", ev.Values(idSlot)[0].Int)
				}
			}
			out[i] = append(out[i], s)
		}))
	}
	dec := event.NewDecoder(fields)
	var ev event.Event
	for i, d := range docs {
		if err := dec.Decode([]byte(d), &ev); err != nil {
			t.Fatal(err)
		}
		ev.Seq = uint64(i)
		if m != nil {
			m.Next(&ev)
		}
		for _, r := range runs {
			_ = r.Push(&ev) // an event without a usable key is refused the same way both times
		}
	}
	for _, r := range runs {
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestSkipLater drives an in-order batch sequence the way the detector does with
// LaterTerms: an event that may match only later stages is first offered to SkipLater, and
// evaluated and pushed only when SkipLater refuses. The results and the give-up must be
// those of pushing every event.
func TestSkipLater(t *testing.T) {
	query := `sequence by host.id with maxspan=10s [process where process.name == "a"] [process where process.name == "b"] [process where process.name == "c"]`
	stmt, err := eql.Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	doc := func(id, ms int, host, name string) string {
		return fmt.Sprintf(`{"id":%d,"@timestamp":%d,"event":{"category":"process"},"host":{"id":%q},"process":{"name":%q}}`,
			id, baseMillis+int64(ms), host, name)
	}
	for _, c := range []struct {
		name     string
		docs     []string
		gaveUp   bool
		sequence int // sequences found when the run did not give up
	}{
		{"in order", []string{doc(0, 0, "h", "b"), doc(1, 1, "h", "a"), doc(2, 2, "h", "b"), doc(3, 3, "h", "c"), doc(4, 4, "h", "c")}, false, 1},
		{"a later stage skipped, then an earlier first stage", []string{doc(0, 5, "h", "b"), doc(1, 1, "h", "a"), doc(2, 6, "h", "c")}, true, 0},
		{"nothing but later stages", []string{doc(0, 1, "h", "b"), doc(1, 2, "h", "c")}, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var results [2]int
			var gaveUp [2]bool
			for i, skip := range []bool{false, true} {
				fields, m, q := compileLater(t, query, stmt, 0b110)
				r := q.NewRun(Batch, func(*Result) { results[i]++ })
				pushLater(t, q, r, m, event.NewDecoder(fields), c.docs, skip)
				gaveUp[i] = r.Disordered()
			}
			if gaveUp[0] != c.gaveUp || gaveUp[1] != c.gaveUp {
				t.Errorf("gave up: pushing all %v, skipping %v; want %v", gaveUp[0], gaveUp[1], c.gaveUp)
			}
			if !c.gaveUp && (results[0] != c.sequence || results[1] != c.sequence) {
				t.Errorf("sequences: pushing all %d, skipping %d; want %d", results[0], results[1], c.sequence)
			}
		})
	}
}

// pushLater pushes docs in order to r, a Run of q sharing the memo m, as a detector does:
// the LaterTerms evaluated apart, and, with skip, only when SkipLater does not spare them;
// then flushes r.
// compileLater compiles stmt (the query src) to match in order with a Memo, and checks its
// LaterTerms.
func compileLater(t *testing.T, src string, stmt *eql.Statement, wantLater uint64) (*event.Fields, *Memo, *Query) {
	t.Helper()
	fields := event.NewFields()
	m := NewMemo()
	q, err := Compile(stmt, fields, Options{InOrder: true, Memo: m})
	if err != nil {
		t.Fatal(err)
	}
	if later := q.laterTerms(); later != wantLater {
		t.Fatalf("%s: LaterTerms = %b, want %b", src, later, wantLater)
	}
	return fields, m, q
}

func pushLater(t *testing.T, q *Query, r *Run, m *Memo, dec *event.Decoder, docs []string, skip bool) {
	t.Helper()
	later := q.laterTerms()
	s := r.Stepper()
	var ev event.Event
	for seq, d := range docs {
		if err := dec.Decode([]byte(d), &ev); err != nil {
			t.Fatal(err)
		}
		ev.Seq = uint64(seq)
		m.Next(&ev)
		mask := q.matchTerms(&ev, ^later)
		if skip && mask == 0 && s.SkipLater(&ev) {
			continue
		}
		mask |= q.matchTerms(&ev, later)
		if err := s.PushMatched(&ev, mask); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestLaterTermsSkipSameResults runs sequences with later stages, missing stages (leading,
// middle, trailing) and until clauses over a random in-order stream, pushing every event and
// skipping the LaterTerms of events as a detector does (SkipLater): the results must be the
// same, event for event.
func TestLaterTermsSkipSameResults(t *testing.T) {
	for _, c := range []struct {
		query string
		later uint64
	}{
		{`sequence by h with maxspan=30ms [a where true] [b where true] ![c where true]`, 0b110},
		{`sequence by h with maxspan=30ms ![c where true] [a where true] ![b where true] [d where true]`, 0b1100},
		{`sequence by h with maxspan=30ms [a where true] ![b where true] [a where true]`, 0b110},
		{`sequence by h with maxspan=30ms [a where true] with runs=2 [b where true]`, 0b10},
		{`sequence by h [a where true] [b where true] until [c where true]`, 0b110},
		{`sequence by h with maxspan=30ms [a where true] ![a where true]`, 0b10},
	} {
		stmt, err := eql.Parse(c.query)
		if err != nil {
			t.Fatal(err)
		}
		var docs []string
		rnd := rand.New(rand.NewPCG(7, 7))
		ts := int64(0)
		for i := range 3000 {
			cat := "aaabbbcddd"[rnd.IntN(10)]
			ts += int64(rnd.IntN(8))
			docs = append(docs, fmt.Sprintf(`{"id":%d,"@timestamp":%d,"event":{"category":"%c"},"h":"h%d"}`,
				i, baseMillis+ts, cat, rnd.IntN(4)))
		}
		var results [2][]string
		for i, skip := range []bool{false, true} {
			fields, m, q := compileLater(t, c.query, stmt, c.later)
			idSlot := fields.Add("id")
			r := q.NewRun(Batch, func(res *Result) {
				var ids []int64
				for _, e := range res.Events {
					if e == nil {
						ids = append(ids, -1)
						continue
					}
					ids = append(ids, e.Values(idSlot)[0].Int)
				}
				results[i] = append(results[i], fmt.Sprint(ids))
			})
			pushLater(t, q, r, m, event.NewDecoder(fields), docs, skip)
			if r.Disordered() {
				t.Fatalf("%s: gave up on an in-order stream", c.query)
			}
		}
		if len(results[0]) == 0 {
			t.Errorf("%s: no sequence found: the test shows nothing", c.query)
		}
		if !reflect.DeepEqual(results[0], results[1]) {
			t.Errorf("%s: pushing every event gives %d sequences, skipping later terms %d, or others", c.query, len(results[0]), len(results[1]))
		}
	}
}

// TestMemoPrime checks Memo.Prime: it numbers the distinct timestamp readers of the queries
// compiled with the memo (up to event.MaxStamps), records their conversions in the event, and
// the Runs read those instead of converting again.
func TestMemoPrime(t *testing.T) {
	fields := event.NewFields()
	m := NewMemo()
	var qs []*Query
	for _, c := range []struct {
		query, tsField string
		stamp          int
	}{
		{`any where true`, "", 0},
		{`sequence [any where true] [any where true]`, "", 0},
		{`any where true`, "t2", 1},
		{`any where true`, "t3", -1}, // beyond event.MaxStamps
		{`sample by x [any where true] [any where true]`, "", -1},
	} {
		stmt, err := eql.Parse(c.query)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Compile(stmt, fields, Options{Memo: m, TimestampField: c.tsField})
		if err != nil {
			t.Fatal(err)
		}
		if q.ts.stamp != c.stamp {
			t.Errorf("%s (%q): stamp %d, want %d", c.query, c.tsField, q.ts.stamp, c.stamp)
		}
		qs = append(qs, q)
	}
	idSlot := fields.Add("id")
	dec := event.NewDecoder(fields)
	docs := []string{
		fmt.Sprintf(`{"id":1,"@timestamp":%d,"t2":"2024-01-01T00:00:00Z"}`, baseMillis+20),
		fmt.Sprintf(`{"id":2,"@timestamp":%d,"t2":"not a date"}`, baseMillis+10),
		`{"id":3}`,
	}
	want := []struct {
		ns0, ns1 int64 // milliseconds: neither field is date_nanos
		ok0, ok1 bool
	}{
		{baseMillis + 20, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), true, true},
		{baseMillis + 10, 0, true, false},
		{0, 0, false, false},
	}
	// The first query's Run orders its matches by the stamp it is given: swapping the
	// stamps of the first two events must swap them in its results.
	for _, swap := range []bool{false, true} {
		var order []int64
		r := qs[0].NewRun(Batch, func(res *Result) { order = append(order, res.Events[0].Values(idSlot)[0].Int) })
		var ev event.Event
		for i, d := range docs {
			if err := dec.Decode([]byte(d), &ev); err != nil {
				t.Fatal(err)
			}
			ev.Seq = uint64(i)
			if _, _, set := ev.Stamp(0); set {
				t.Fatal("a decoded event has a stamp")
			}
			m.Prime(&ev)
			ns0, ok0, _ := ev.Stamp(0)
			ns1, ok1, _ := ev.Stamp(1)
			if w := want[i]; ns0 != w.ns0 || ok0 != w.ok0 || ns1 != w.ns1 || ok1 != w.ok1 {
				t.Errorf("doc %d: stamps %d %v, %d %v; want %d %v, %d %v", i, ns0, ok0, ns1, ok1, w.ns0, w.ok0, w.ns1, w.ok1)
			}
			if swap && i < 2 {
				ev.SetStamp(0, want[1-i].ns0, true)
			}
			m.Next(&ev)
			if err := r.Push(&ev); err != nil && i < 2 {
				t.Fatal(err)
			}
		}
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		wantOrder := []int64{2, 1}
		if swap {
			wantOrder = []int64{1, 2}
		}
		if !reflect.DeepEqual(order, wantOrder) {
			t.Errorf("swap=%v: order %v, want %v", swap, order, wantOrder)
		}
	}
}
