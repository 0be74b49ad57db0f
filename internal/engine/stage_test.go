package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
)

// lender counts the events a Stage returned to it.
type lender struct{ returned int }

func (l *lender) Returned() { l.returned++ }

// TestStageLent checks Stage.EndLent: the stage holds the caller's event itself, tells the
// lender once for each event it held (Returned), after which the caller may decode another
// document into that event, and the Runs keep copies of what they keep: the results are
// End's, which copies every event it buffers. An event no Run wants is not held. With
// Options.EmitShared, the event query emits the lent events themselves (read during the
// emit call), the sequence copies.
func TestStageLent(t *testing.T) {
	queries := []string{
		`process where id != 3`,
		`sequence by user [process where id < 5] [process where true] [network where true]`,
	}
	type doc struct {
		id, ts int
		cat    string
	}
	// In order but for id 4, late by less than the lateness; id 6 is an event no query reads.
	docs := []doc{{1, 0, "process"}, {2, 1000, "process"}, {3, 3000, "process"}, {4, 2000, "process"},
		{5, 4000, "network"}, {6, 4500, "file"}, {7, 9000, "network"}, {8, 20000, "process"}}
	var ring []event.Event // the events given to the Runs
	shared := make([]int, len(queries))
	run := func(lend bool) (out [][]int64, lent []bool, ls []lender) {
		clear(shared)
		fields := event.NewFields()
		idSlot := fields.Add("id")
		memo := NewMemo()
		out = make([][]int64, len(queries))
		var runs []Stepper
		var st *Stage
		for i, q := range queries {
			stmt, err := eql.Parse(q)
			if err != nil {
				t.Fatal(err)
			}
			cq, err := Compile(stmt, fields, Options{Memo: memo, MaxLateness: 5 * time.Second, EmitShared: lend})
			if err != nil {
				t.Fatal(err)
			}
			r := cq.NewRun(Streaming, func(res *Result) {
				for _, ev := range res.Events {
					if ev != nil {
						out[i] = append(out[i], ev.Values(idSlot)[0].Int)
						for k := range ring {
							if ev == &ring[k] {
								shared[i]++
							}
						}
					}
				}
			}).Stepper()
			if st == nil {
				key, _ := r.OrderKey()
				st = NewStage(key)
			}
			if !r.Join(st) {
				t.Fatal("a Run did not join the stage")
			}
			runs = append(runs, r)
		}
		dec := event.NewDecoder(fields)
		// Events reused once returned, as a detector's batches are, each with its lender.
		ring = make([]event.Event, len(docs))
		ls = make([]lender, len(docs))
		for i, d := range docs {
			e := &ring[i]
			if err := dec.Decode(fmt.Appendf(nil, `{"id":%d,"@timestamp":%d,"user":"u","event":{"category":%q}}`, d.id, baseMillis+int64(d.ts), d.cat), e); err != nil {
				t.Fatal(err)
			}
			e.Seq = uint64(d.id)
			memo.Next(e)
			for _, r := range runs {
				_ = r.PushMatched(e, r.Match(e))
			}
			if lend {
				lent = append(lent, st.EndLent(&ls[i]))
			} else {
				st.End()
			}
			// Every event returned so far is the caller's again: overwrite it.
			for k := range i + 1 {
				if lend && ls[k].returned > 0 && ring[k].Seq != 99 {
					if err := dec.Decode([]byte(`{"id":99,"user":"x","event":{"category":"network"}}`), &ring[k]); err != nil {
						t.Fatal(err)
					}
					ring[k].Seq = 99
				}
			}
		}
		for _, r := range runs {
			if err := r.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		return out, lent, ls
	}
	want, _, _ := run(false)
	if !slices.Equal(want[0], []int64{1, 2, 4, 8}) || !slices.Equal(want[1], []int64{4, 3, 5}) {
		t.Fatalf("copied: results %v, want [[1 2 4 8] [4 3 5]]", want)
	}
	got, lent, ls := run(true)
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("lent: results %v, want %v", got, want)
	}
	if !slices.Equal(shared, []int{len(want[0]), 0}) {
		t.Errorf("lent: %v events emitted as lent, by query; want %d for the event query, none for the sequence", shared, len(want[0]))
	}
	// Every event but id 6 (no query reads files) was held, and returned once, by Flush
	// at the latest.
	for i, d := range docs {
		want := 1
		if d.id == 6 {
			want = 0
		}
		if ls[i].returned != want || lent[i] != (want == 1) {
			t.Errorf("lent: id %d held %v, returned %d times; want %v, %d", d.id, lent[i], ls[i].returned, want == 1, want)
		}
	}
}
