package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
)

func doc(id, ts int, cat, host string) []byte {
	return fmt.Appendf(nil, `{"@timestamp":%d,"id":%d,"event":{"category":%q},"host":{"name":%q}}`, 1_700_000_000_000+ts, id, cat, host)
}

// TestFacade runs a sequence through the library API in each mode, and an in-order batch
// run that gives up and is run again: the results and counters come through the wrappers.
func TestFacade(t *testing.T) {
	docs := [][]byte{
		doc(1, 1000, "process", "a"),
		doc(2, 2000, "process", "b"),
		doc(3, 3000, "network", "a"),
		doc(4, 2500, "network", "b"), // out of order for InOrder
		doc(5, 4000, "network", "b"),
	}
	cases := []struct {
		mode       engine.Mode
		inOrder    bool
		want       []string
		disordered bool
	}{
		{engine.Batch, false, []string{"[b] 2,4", "[a] 1,3"}, false},
		{engine.Streaming, false, []string{"[b] 2,4", "[a] 1,3"}, false},
		// gives up at event 4, after emitting a's sequence; the rerun emits both
		{engine.Batch, true, []string{"[a] 1,3", "[b] 2,4", "[a] 1,3"}, true},
	}
	stmt, err := eql.Parse(`sequence by host.name [process where true] [network where true]`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		fields := event.NewFields()
		q, err := engine.Compile(stmt, fields, engine.Options{MaxLateness: time.Hour, InOrder: c.inOrder})
		if err != nil {
			t.Fatal(err)
		}
		idSlot := fields.Add("id")
		dec := event.NewDecoder(fields)
		var got []string
		emit := func(res *engine.Result) {
			s := fmt.Sprint(res.JoinKeys, " ")
			for i, ev := range res.Events {
				if i > 0 {
					s += ","
				}
				s += ev.Values(idSlot)[0].String()
			}
			got = append(got, s)
		}
		r := q.NewRun(c.mode, emit)
		push := func(r *engine.Run) {
			for i, d := range docs {
				var ev event.Event
				if err := dec.Decode(d, &ev); err != nil {
					t.Fatal(err)
				}
				ev.Seq = uint64(i + 1)
				if err := r.Push(&ev); err != nil {
					t.Fatalf("%v: push %d: %v", c.mode, i, err)
				}
			}
			if err := r.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		push(r)
		if r.Disordered() != c.disordered {
			t.Errorf("%v inOrder %v: Disordered %v, want %v", c.mode, c.inOrder, r.Disordered(), c.disordered)
		}
		if r.Disordered() {
			r = r.Rerun()
			push(r)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v inOrder %v: got %q, want %q", c.mode, c.inOrder, got, c.want)
		}
		if s := r.Stats(); s.EventsIn != 5 || s.Results != 2 || r.Pending() != 0 || r.Buffered() != 0 || r.Done() {
			t.Errorf("%v inOrder %v: stats %+v pending %d buffered %d done %v", c.mode, c.inOrder, s, r.Pending(), r.Buffered(), r.Done())
		}
	}
}

// BenchmarkFilterPath is internal/engine's BenchmarkFilterPath through the library API:
// the wrappers must add nothing (0 allocs/op).
func BenchmarkFilterPath(b *testing.B) {
	d, err := os.ReadFile("../event/testdata/ecs_process.json")
	if err != nil {
		b.Fatal(err)
	}
	d = bytes.TrimSpace(d)
	stmt, err := eql.Parse(`process where host.os.type == "linux" and process.name == "bash" and process.args : "-c"`)
	if err != nil {
		b.Fatal(err)
	}
	fields := event.NewFields()
	q, err := engine.Compile(stmt, fields, engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	dec := event.NewDecoder(fields)
	r := q.NewRun(engine.Streaming, func(*engine.Result) {})
	var ev event.Event
	b.SetBytes(int64(len(d)))
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		if err := dec.Decode(d, &ev); err != nil {
			b.Fatal(err)
		}
		i++
		ev.Seq = i
		if err := r.Push(&ev); err != nil {
			b.Fatal(err)
		}
	}
	if r.Stats().Results != 0 {
		b.Fatalf("the event matched: %+v", r.Stats())
	}
}
