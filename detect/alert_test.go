package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/rule"
)

func TestIntersect(t *testing.T) {
	for _, tc := range []struct {
		name string
		docs []string
		want string
	}{
		{"equal scalars kept, others dropped", []string{`{"a":1,"b":"x","c":true}`, `{"a":1,"b":"y"}`}, `{"a":1}`},
		{"nested objects intersected", []string{`{"host":{"name":"h","ip":"1"}}`, `{"host":{"name":"h","ip":"2"}}`}, `{"host":{"name":"h"}}`},
		{"arrays become the common elements", []string{`{"client":{"ip":["a","b"]}}`, `{"client":{"ip":["a","c"]}}`}, `{"client":{"ip":["a"]}}`},
		{"empty intersections disappear", []string{`{"x":{"y":1},"z":[1]}`, `{"x":{"y":2},"z":[2]}`}, `{}`},
		{"one document is itself", []string{`{"a":{"b":[1,2]}}`}, `{"a":{"b":[1,2]}}`},
		{"type mismatch dropped", []string{`{"a":{"b":1}}`, `{"a":"s"}`}, `{}`},
	} {
		var docs []document
		for _, s := range tc.docs {
			d, err := parseDocument([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, d)
		}
		got, _ := json.Marshal(intersect(docs))
		if string(got) != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestCategories(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  []string
		seq   bool
	}{
		{`process where true`, []string{"process"}, false},
		{`any where true`, nil, false},
		{`sequence [process where true] [network where true] until [process where true]`, []string{"process", "network"}, true},
		{`sequence with maxspan=1s [process where true] ![file where true] [network where true]`, []string{"process", "file", "network"}, true},
		{`sequence [process where true] [any where true]`, nil, true},
		{`sequence [process where true] [network where true] until [any where true]`, nil, true},
		{`sample by host.id [process where true] [dns where true]`, []string{"process", "dns"}, true},
		{`"my-cat" where true`, []string{"my-cat"}, false},
	} {
		stmt, err := eql.Parse(tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		if got := Categories(stmt); !reflect.DeepEqual(got, tc.want) || IsSequence(stmt) != tc.seq {
			t.Errorf("%s: categories %q sequence %v, want %q %v", tc.query, got, IsSequence(stmt), tc.want, tc.seq)
		}
	}
}

// emitRunner emits, at Flush, one match whose events are the pushed events at the given
// positions (-1 for a missing event).
type emitRunner struct {
	emit func([]*event.Event)
	pos  []int
	evs  []*event.Event
}

func (r *emitRunner) Push(ev *event.Event) error { r.evs = append(r.evs, ev.Clone()); return nil }
func (r *emitRunner) Flush(context.Context) error {
	var m []*event.Event
	for _, p := range r.pos {
		if p < 0 {
			m = append(m, nil)
		} else {
			m = append(m, r.evs[p])
		}
	}
	r.emit(m)
	return nil
}

// TestMissingEventSequence: a missing-event placeholder gets no building block and does
// not take part in the shell; group.index numbers the present events.
func TestMissingEventSequence(t *testing.T) {
	r := &rule.Rule{RuleID: "m", Name: "m", Type: "eql", Language: "eql", Severity: "high", MaxSignals: 100,
		Query: `sequence with maxspan=1m [process where true] ![file where true] [network where true]`}
	var alerts []Alert
	d, err := New([]*rule.Rule{r}, SinkFunc(func(_ context.Context, as []Alert) error {
		alerts = append(alerts, as...)
		return nil
	}), Options{Now: testNow, Compile: func(req CompileRequest) (*Compiled, error) {
		return &Compiled{Runner: &emitRunner{emit: req.Emit, pos: []int{0, -1, 1}}, Sequence: true}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, doc := range []string{
		`{"@timestamp":"2026-01-01T00:00:00Z","host":{"name":"h"},"event":{"category":"process"},"n":1}`,
		`{"@timestamp":"2026-01-01T00:00:01Z","host":{"name":"h"},"event":{"category":"network"},"n":2}`,
	} {
		if err := d.Process(ctx, []byte(doc), EventSource{Name: "t", Line: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 3 {
		t.Fatalf("%d alerts, want shell + 2 building blocks", len(alerts))
	}
	var got []string
	for _, a := range alerts {
		f := flatDoc(t, a.Doc)
		got = append(got, a.Kind.String()+" n="+orAbsent(f["n"])+" group.index="+orAbsent(f["kibana.alert.group.index"])+
			" host="+orAbsent(f["host.name"])+" reason="+f["kibana.alert.reason"])
	}
	want := []string{
		`shell n=(absent) group.index=(absent) host="h" reason="event on h created high alert m."`,
		`building_block n=1 group.index=0 host="h" reason="process event on h created high alert m."`,
		`building_block n=2 group.index=1 host="h" reason="network event on h created high alert m."`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("alerts\n%q\nwant\n%q", got, want)
	}
}

// TestSinkError: a sink failure is returned, not swallowed: by Process itself when events are
// handled in its goroutine, by Close (which handles the last batch) and later Process calls
// with workers, by Close in batch mode.
func TestSinkError(t *testing.T) {
	r := &rule.Rule{RuleID: "e", Name: "e", Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100, Query: `any where true`}
	boom := errors.New("disk full")
	for _, workers := range []int{1, 2} {
		d, err := New([]*rule.Rule{r}, SinkFunc(func(context.Context, []Alert) error { return boom }),
			Options{Now: testNow, Compile: fakeCompiler(map[string][][]cond{"e": {{}}}), Streaming: true, Workers: workers,
				IndexSample: -1}) // no sampled events, which Process handles itself
		if err != nil {
			t.Fatal(err)
		}
		perr := d.Process(context.Background(), []byte(`{"a":1}`), EventSource{Name: "t", Line: 1})
		cerr := d.Close(context.Background())
		if workers == 1 && !errors.Is(perr, boom) {
			t.Errorf("workers %d: Process error = %v, want %v", workers, perr, boom)
		}
		if workers > 1 && (perr != nil || !errors.Is(cerr, boom)) {
			t.Errorf("workers %d: Process error = %v, Close error = %v, want nil and %v", workers, perr, cerr, boom)
		}
	}
	// With workers in streaming mode, a later Process call returns the error of a batch's
	// in-order work, at the latest once the batches in flight are full (a few thousand
	// events). In batch mode alerts are written at Close, on the caller's goroutine, while
	// the in-order work runs on another: Close returns the error.
	for _, streaming := range []bool{true, false} {
		d, err := New([]*rule.Rule{r}, SinkFunc(func(context.Context, []Alert) error { return boom }),
			Options{Now: testNow, Compile: fakeCompiler(map[string][][]cond{"e": {{}}}), Streaming: streaming, Workers: 2,
				IndexSample: -1})
		if err != nil {
			t.Fatal(err)
		}
		var perr error
		n := 0
		for ; n < 20*batchSize && perr == nil; n++ {
			perr = d.Process(context.Background(), []byte(`{"@timestamp":"2026-01-01T00:00:00Z","a":1}`), EventSource{Name: "t", Line: n + 1})
		}
		cerr := d.Close(context.Background())
		if streaming && !errors.Is(perr, boom) || !streaming && (perr != nil || !errors.Is(cerr, boom)) {
			t.Errorf("streaming %v, after %d events: Process error = %v, Close error = %v", streaming, n, perr, cerr)
		}
	}
}

// TestCloseAfterCancel checks that Close flushes, with its own context, what Process calls
// whose context was cancelled since left in flight (as `detect --follow` does at ^C): every
// alert is written and Close returns no error, with workers, in batch and streaming mode.
// The sink, like a real output, refuses to write with a done context.
func TestCloseAfterCancel(t *testing.T) {
	r := &rule.Rule{RuleID: "e", Name: "e", Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100000, Query: `any where true`}
	const events = 3*batchSize + 10
	for _, streaming := range []bool{true, false} {
		for _, workers := range []int{1, 2} {
			written := 0
			d, err := New([]*rule.Rule{r}, SinkFunc(func(ctx context.Context, as []Alert) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				written += len(as)
				return nil
			}), Options{Now: testNow, Compile: fakeCompiler(map[string][][]cond{"e": {{}}}), Streaming: streaming,
				Workers: workers, IndexSample: -1})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			for i := range events {
				doc := fmt.Sprintf(`{"@timestamp":"2026-01-01T00:00:%02d.%03dZ","a":%d}`, i/1000, i%1000, i)
				if err := d.Process(ctx, []byte(doc), EventSource{Name: "t", Line: i + 1, Seq: uint64(i + 1)}); err != nil {
					t.Fatal(err)
				}
			}
			cancel()
			if err := d.Close(context.Background()); err != nil || written != events {
				t.Errorf("streaming %v, %d workers: Close error %v, %d alerts written, want none and %d", streaming, workers, err, written, events)
			}
		}
	}
}
