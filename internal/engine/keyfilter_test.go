package engine

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
)

// TestKeyFilterPartitions splits the join-key tuples among n owners by a hash of their
// encoding, gives each owner only the events JoinKeys reports a tuple of it for, and runs the
// query there with KeyFilter: the owners' results together must be exactly those of one run
// over every event, for sequences (keys per stage, multi-valued keys, optional keys with
// nulls, until, missing events, no keys at all) and samples.
func TestKeyFilterPartitions(t *testing.T) {
	cat := func(c string) string { return `"` + c + `"` }
	var seedDocs []string
	for i := range 40 {
		pod := fmt.Sprintf("pod-%d", i%4)
		if i%3 == 0 {
			seedDocs = append(seedDocs, exec(i, int64(i*150), pod))
		} else {
			seedDocs = append(seedDocs, audit(i, int64(i*150), pod))
		}
	}
	var multi []string
	for i := range 40 {
		c := []string{"x", "y"}[i%2]
		if i%9 == 8 {
			c = "u"
		}
		k := fmt.Sprintf(`["k%d","k%d"]`, i%5, (i+2)%5)
		if i%7 == 0 {
			k = "null"
		}
		multi = append(multi, ev(i, int64(i*10), "event.category", cat(c), "k", k, "h", fmt.Sprintf(`"k%d"`, i%3)))
	}
	cases := []struct {
		name, query string
		docs        []string
		routed      int // the events that can join (any owner)
	}{
		{"seed rule: stages joined on different fields", seedShape, seedDocs, 40},
		{"multi-valued key, until", `sequence by k [x where true] [y where true] until [u where true]`, multi, 34},
		{"keys per stage", `sequence [x where true] by k [y where true] by h`, multi, 33},
		{"optional key with nulls", `sequence by ?k [x where true] [y where true]`, multi, 36},
		{"missing event", `sequence by h with maxspan=100ms [x where true] ![u where true] [y where true]`, multi, 40},
		{"no join key", `sequence with maxspan=50ms [x where true] [y where true]`, multi, 36},
		{"sample", `sample by h [x where true] [y where true] [u where true]`, multi, 40},
		{"sample, keys per filter", `sample [x where true] by k [y where true] by h`, multi, 33},
	}
	for _, c := range cases {
		for _, mode := range []Mode{Batch, Streaming} {
			opts := Options{MaxLateness: time.Second}
			want, _ := run(t, c.query, c.docs, opts, mode)
			if len(want.ids) == 0 {
				t.Fatalf("%s: the workload gives no match: it tests nothing", c.name)
			}
			wantS := flatResults(want)
			for _, n := range []int{1, 2, 3} {
				t.Run(fmt.Sprintf("%s/%v/%d", c.name, mode, n), func(t *testing.T) {
					var got []string
					sent := 0
					for o := range n {
						own := func(key []byte) bool { return ownerOf(key, n) == o }
						routed := routeByKeys(t, c.query, c.docs, own)
						sent += len(routed)
						opts := opts
						opts.KeyFilter = own
						g := runDocs(t, c.query, c.docs, routed, opts, mode)
						got = append(got, flatResults(g)...)
					}
					slices.Sort(got)
					if !slices.Equal(got, wantS) {
						t.Fatalf("owners' results\n%v\nwant\n%v", got, wantS)
					}
					if n == 1 && sent != c.routed {
						t.Fatalf("%d events have a join key, want %d", sent, c.routed)
					}
				})
			}
		}
	}
}

// ownerOf is the owner of a key tuple among n.
func ownerOf(key []byte, n int) int {
	h := fnv.New32a()
	h.Write(key)
	return int(h.Sum32() % uint32(n))
}

// flatResults returns a run's results as sorted strings "ids keys".
func flatResults(g got) []string {
	var out []string
	for i, ids := range g.ids {
		out = append(out, fmt.Sprint(ids, g.keys[i]))
	}
	slices.Sort(out)
	return out
}

// routeByKeys returns the indices of the documents that have a join-key tuple own accepts
// under the terms of the query they match, as JoinKeys reports them.
func routeByKeys(t *testing.T, query string, docs []string, own func([]byte) bool) []int {
	t.Helper()
	stmt, err := eql.Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	fields := event.NewFields()
	memo := NewMemo()
	q, err := Compile(stmt, fields, Options{Memo: memo})
	if err != nil {
		t.Fatal(err)
	}
	st := q.NewRun(Streaming, func(*Result) {}).Stepper()
	dec := event.NewDecoder(fields)
	var ev event.Event
	var out []int
	for i, d := range docs {
		if err := dec.Decode([]byte(d), &ev); err != nil {
			t.Fatal(err)
		}
		memo.Next(&ev)
		mine := false
		st.JoinKeys(&ev, st.Match(&ev), func(key []byte) { mine = mine || own(key) })
		if mine {
			out = append(out, i)
		}
	}
	return out
}

// runDocs runs the query over the documents of indices idx, in timestamp order when
// streaming, and returns its results.
func runDocs(t *testing.T, query string, docs []string, idx []int, opts Options, mode Mode) got {
	t.Helper()
	sub := make([]string, len(docs))
	copy(sub, docs)
	keep := map[int]bool{}
	for _, i := range idx {
		keep[i] = true
	}
	// Keep the documents' positions (their Seq) and leave the others out.
	var order []int
	for i := range docs {
		if keep[i] {
			order = append(order, i)
		}
	}
	if mode == Streaming {
		slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(tsOf(docs[a]), tsOf(docs[b])) })
	}
	g, _ := runOrder(t, query, sub, order, opts, mode)
	return g
}

// tsOf returns the @timestamp of a test document, zero-padded for comparison.
func tsOf(doc string) string {
	_, rest, _ := strings.Cut(doc, `"@timestamp":`)
	n, _, _ := strings.Cut(rest, ",")
	n = strings.TrimSuffix(n, "}")
	return fmt.Sprintf("%020s", n)
}

// TestLateAtOnce checks Options.LateAtOnce: an event query takes an event later than the
// reordering window at once (out of order), with a buffer of its own or a shared Stage;
// a sequence still refuses it; without the option the event query refuses it too.
func TestLateAtOnce(t *testing.T) {
	for _, c := range []struct {
		name       string
		query      string
		lateAtOnce bool
		stage      bool
		want       []int64
		refused    int
	}{
		{"event query", `process where true`, true, false, []int64{1, 3, 2, 4}, 0}, // 2 is still in the window
		{"event query, stage", `process where true`, true, true, []int64{1, 3, 2, 4}, 0},
		{"event query without it", `process where true`, false, false, []int64{1, 2, 4}, 1},
		{"sequence", `sequence [process where true] [process where true]`, true, false, []int64{1, 2, 2, 4}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			fields := event.NewFields()
			idSlot := fields.Add("id")
			stmt, err := eql.Parse(c.query)
			if err != nil {
				t.Fatal(err)
			}
			memo := NewMemo()
			q, err := Compile(stmt, fields, Options{Memo: memo, MaxLateness: time.Second, LateAtOnce: c.lateAtOnce})
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			r := q.NewRun(Streaming, func(res *Result) {
				for _, ev := range res.Events {
					got = append(got, ev.Values(idSlot)[0].Int)
				}
			})
			var st *Stage
			if c.stage {
				key, ok := r.Stepper().OrderKey()
				if !ok {
					t.Fatal("no order key")
				}
				st = NewStage(key)
				r.Stepper().Join(st)
			}
			dec := event.NewDecoder(fields)
			var e event.Event
			refused := 0
			// 3 comes 5 s after 2 was stamped: later than the 1 s window.
			for _, d := range []struct {
				id int
				ts int64
			}{{1, 0}, {2, 6000}, {3, 1000}, {4, 9000}} {
				if err := dec.Decode([]byte(ev(d.id, d.ts, "event", `{"category":"process"}`)), &e); err != nil {
					t.Fatal(err)
				}
				e.Seq = uint64(d.id)
				memo.Next(&e)
				if err := r.Push(&e); err != nil {
					refused++
				}
				if st != nil {
					st.End()
				}
			}
			if st != nil {
				if err := st.Flush(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) || refused != c.refused {
				t.Fatalf("emitted %v, %d refused; want %v, %d", got, refused, c.want, c.refused)
			}
		})
	}
}
