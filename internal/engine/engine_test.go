package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// got is the flattened outcome of a run: ids (-1 for a missing event) per result, and keys.
type got struct {
	ids        [][]int64
	keys       [][]string
	disordered bool // an in-order batch run gave up (Run.Disordered)
}

func (g got) String() string { return fmt.Sprintf("ids=%v keys=%v", g.ids, g.keys) }

// run compiles query and pushes docs (JSON objects with an "id") in order. Event.Seq is the
// document's index in docs. In streaming mode the documents are sent in timestamp order.
func run(t *testing.T, query string, docs []string, opts Options, mode Mode) (got, Stats) {
	t.Helper()
	order := make([]int, len(docs))
	for i := range order {
		order[i] = i
	}
	if mode == Streaming || opts.InOrder {
		ts := func(d string) int64 {
			var v struct {
				TS int64 `json:"@timestamp"`
			}
			if err := json.Unmarshal([]byte(d), &v); err != nil {
				t.Fatal(err)
			}
			return v.TS
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(ts(docs[a]), ts(docs[b])) })
	}
	return runOrder(t, query, docs, order, opts, mode)
}

// runOrder is run with the documents sent in the given order.
func runOrder(t *testing.T, query string, docs []string, order []int, opts Options, mode Mode) (got, Stats) {
	t.Helper()
	stmt, err := eql.Parse(query)
	if err != nil {
		t.Fatalf("parse %q: %v", query, err)
	}
	fields := event.NewFields()
	q, err := Compile(stmt, fields, opts)
	if err != nil {
		t.Fatalf("compile %q: %v", query, err)
	}
	idSlot := fields.Add("id")
	dec := event.NewDecoder(fields)
	var g got
	r := q.NewRun(mode, func(res *Result) {
		var ids []int64
		for _, ev := range res.Events {
			if ev == nil {
				ids = append(ids, -1)
				continue
			}
			ids = append(ids, ev.Values(idSlot)[0].Int)
		}
		g.ids = append(g.ids, ids)
		g.keys = append(g.keys, res.JoinKeys)
	})
	var ev event.Event
	for _, i := range order {
		d := docs[i]
		if err := dec.Decode([]byte(d), &ev); err != nil {
			t.Fatalf("doc %d %s: %v", i, d, err)
		}
		ev.Seq = uint64(i)
		if err := r.Push(&ev); err != nil {
			t.Logf("push %d: %v", i, err)
		}
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	g.disordered = r.Disordered()
	return g, r.Stats()
}

// baseMillis is added to the test timestamps: small numbers such as 2000 would be read as
// years by the default date format (strict_date_optional_time first), as in Elasticsearch.
const baseMillis = 1_700_000_000_000

// ev builds a document: id, @timestamp (ms after baseMillis) and extra "k": value pairs as
// JSON text.
func ev(id int, ts int64, kv ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"id":%d,"@timestamp":%d`, id, baseMillis+ts)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, `,%q:%s`, kv[i], kv[i+1])
	}
	b.WriteString("}")
	return b.String()
}

func ids(xs ...[]int64) [][]int64 { return xs }
func seq(xs ...int64) []int64     { return xs }

type tcase struct {
	name  string
	query string
	docs  []string
	opts  Options
	want  [][]int64
	keys  [][]string // nil: not checked
}

func runCases(t *testing.T, cases []tcase) {
	t.Helper()
	for _, c := range cases {
		for _, mode := range []Mode{Batch, Streaming} {
			t.Run(fmt.Sprintf("%s/%v", c.name, mode), func(t *testing.T) {
				g, _ := run(t, c.query, c.docs, c.opts, mode)
				if !slices.EqualFunc(g.ids, c.want, slices.Equal[[]int64]) && !(len(g.ids) == 0 && len(c.want) == 0) {
					t.Fatalf("got %v, want ids %v", g, c.want)
				}
				if c.keys != nil && !slices.EqualFunc(g.keys, c.keys, slices.Equal[[]string]) {
					t.Fatalf("got %v, want keys %v", g, c.keys)
				}
			})
		}
		// Batch mode matching as events come (Options.InOrder), the documents sent in
		// timestamp order: the batch results, unless the run gave up (a tiebreaker orders
		// them otherwise), which only sequences may do.
		t.Run(c.name+"/batch-in-order", func(t *testing.T) {
			opts := c.opts
			opts.InOrder = true
			g, _ := run(t, c.query, c.docs, opts, Batch)
			if g.disordered {
				if !strings.HasPrefix(c.query, "sequence") || opts.TiebreakerField == "" {
					t.Fatalf("gave up on documents in timestamp order without a tiebreaker")
				}
				return
			}
			if !slices.EqualFunc(g.ids, c.want, slices.Equal[[]int64]) && !(len(g.ids) == 0 && len(c.want) == 0) {
				t.Fatalf("got %v, want ids %v", g, c.want)
			}
			if c.keys != nil && !slices.EqualFunc(g.keys, c.keys, slices.Equal[[]string]) {
				t.Fatalf("got %v, want keys %v", g, c.keys)
			}
		})
	}
}

// TestBatchInOrderGivesUp checks that an in-order batch sequence run reports the first
// event out of order and then ignores its input, and that without disorder its state is
// bounded by maxspan while a plain batch run keeps every matching event until Flush.
func TestBatchInOrderGivesUp(t *testing.T) {
	q := `sequence by h with maxspan=150ms [any where k == "a"] [any where k == "b"]`
	var docs []string
	for i := range 1000 {
		k := a
		if i%2 == 1 {
			k = b
		}
		docs = append(docs, ev(i, int64(i)*100, "h", fmt.Sprintf(`"h%d"`, i/2), "k", k))
	}
	order := identity(len(docs))
	want := make([][]int64, 500)
	for i := range want {
		want[i] = seq(int64(2*i), int64(2*i+1))
	}
	for _, c := range []struct {
		name       string
		opts       Options
		order      []int
		want       [][]int64
		disordered bool
		maxPeak    int64
	}{
		{"batch", Options{}, order, want, false, 1000},
		{"in order", Options{InOrder: true}, order, want, false, 2},
		// what came before the late event was matched (and emitted); the rest is ignored
		{"one late event", Options{InOrder: true}, append(slices.Clone(order[1:600]), 0), want[1:300], true, 2},
	} {
		g, st := runOrder(t, q, docs, c.order, c.opts, Batch)
		if !slices.EqualFunc(g.ids, c.want, slices.Equal[[]int64]) || g.disordered != c.disordered {
			t.Errorf("%s: got %v (disordered %v), want %v (%v)", c.name, g, g.disordered, c.want, c.disordered)
		}
		if st.PeakPending > c.maxPeak {
			t.Errorf("%s: peak pending %d, want at most %d", c.name, st.PeakPending, c.maxPeak)
		}
	}
}

const (
	a = `"a"`
	b = `"b"`
)

func TestSequenceRules(t *testing.T) {
	cat := func(c string) string { return `"` + c + `"` }
	runCases(t, []tcase{
		{name: "basic by key", query: `sequence by k [x where true] [y where true]`,
			docs: []string{ev(1, 1, "event.category", cat("x"), "k", a), ev(2, 2, "event.category", cat("y"), "k", a)},
			want: ids(seq(1, 2)), keys: [][]string{{"a"}}},
		{name: "no match across keys", query: `sequence by k [x where true] [y where true]`,
			docs: []string{ev(1, 1, "event.category", cat("x"), "k", a), ev(2, 2, "event.category", cat("y"), "k", b)},
			want: nil},
		{name: "latest candidate advances, older discarded", query: `sequence by k [x where true] [y where true]`,
			docs: []string{ev(1, 1, "event.category", cat("x"), "k", a), ev(2, 2, "event.category", cat("x"), "k", a),
				ev(3, 3, "event.category", cat("y"), "k", a), ev(4, 4, "event.category", cat("y"), "k", a)},
			want: ids(seq(2, 3))},
		{name: "many to many", query: `sequence [any where true] [any where true] [any where true]`,
			docs: []string{ev(1, 1), ev(2, 2), ev(3, 3), ev(4, 4), ev(5, 5)},
			want: ids(seq(1, 2, 3), seq(2, 3, 4), seq(3, 4, 5))},
		{name: "same timestamp uses input order", query: `sequence [x where true] [y where true]`,
			docs: []string{ev(1, 5, "event.category", cat("y")), ev(2, 5, "event.category", cat("x")), ev(3, 5, "event.category", cat("y"))},
			want: ids(seq(2, 3))},
		{name: "maxspan inclusive", query: `sequence with maxspan=1s [x where true] [y where true]`,
			docs: []string{ev(1, 0, "event.category", cat("x")), ev(2, 1000, "event.category", cat("y"))},
			want: ids(seq(1, 2))},
		{name: "maxspan exceeded by 1ms", query: `sequence with maxspan=1s [x where true] [y where true]`,
			docs: []string{ev(1, 0, "event.category", cat("x")), ev(2, 1001, "event.category", cat("y"))},
			want: nil},
		{name: "maxspan from the first event", query: `sequence with maxspan=10ms [x where true] [y where true] [z where true]`,
			docs: []string{ev(1, 0, "event.category", cat("x")), ev(2, 6, "event.category", cat("y")), ev(3, 11, "event.category", cat("z"))},
			want: nil},
		{name: "expired candidate trims older ones", query: `sequence with maxspan=10ms [x where true] [y where true]`,
			docs: []string{ev(1, 0, "event.category", cat("x")), ev(2, 20, "event.category", cat("y")), ev(3, 25, "event.category", cat("y"))},
			want: nil},
		{name: "until between events kills", query: `sequence by k [x where true] [y where true] until [u where true]`,
			docs: []string{ev(1, 1, "event.category", cat("x"), "k", a), ev(2, 2, "event.category", cat("u"), "k", a),
				ev(3, 3, "event.category", cat("y"), "k", a)},
			want: nil},
		{name: "until of another key does not", query: `sequence by k [x where true] [y where true] until [u where true]`,
			docs: []string{ev(1, 1, "event.category", cat("x"), "k", a), ev(2, 2, "event.category", cat("u"), "k", b),
				ev(3, 3, "event.category", cat("y"), "k", a)},
			want: ids(seq(1, 3))},
		{name: "until after completion", query: `sequence by k [x where true] [y where true] until [u where true]`,
			docs: []string{ev(1, 1, "event.category", cat("x"), "k", a), ev(2, 2, "event.category", cat("y"), "k", a),
				ev(3, 3, "event.category", cat("u"), "k", a)},
			want: ids(seq(1, 2))},
		{name: "runs", query: `sequence [x where true] with runs=3`,
			docs: []string{ev(1, 1, "event.category", cat("x")), ev(2, 2, "event.category", cat("x")), ev(3, 3, "event.category", cat("x")), ev(4, 4, "event.category", cat("x"))},
			want: ids(seq(1, 2, 3), seq(2, 3, 4))},
		{name: "null key excluded", query: `sequence by k [x where true] [y where true]`,
			docs: []string{ev(1, 1, "event.category", cat("x"), "k", "null"), ev(2, 2, "event.category", cat("y"))},
			want: nil},
		{name: "optional null key joins", query: `sequence by ?k [x where true] [y where true]`,
			docs: []string{ev(1, 1, "event.category", cat("x"), "k", "null"), ev(2, 2, "event.category", cat("y"))},
			want: ids(seq(1, 2)), keys: [][]string{{"null"}}},
		{name: "per-stage keys by position", query: `sequence [x where true] by a [y where true] by b`,
			docs: []string{ev(1, 1, "event.category", cat("x"), "a", "7"), ev(2, 2, "event.category", cat("y"), "a", "7", "b", "8"),
				ev(3, 3, "event.category", cat("y"), "b", "7")},
			want: ids(seq(1, 3)), keys: [][]string{{"7"}}},
		{name: "multi-valued keys: cartesian product, ties in key order", query: `sequence by t [x where true] [y where true]`,
			docs: []string{ev(1, 1, "event.category", cat("x"), "t", `["t2","t1"]`), ev(2, 2, "event.category", cat("y"), "t", `["t1","t2","t3"]`)},
			want: ids(seq(1, 2), seq(1, 2)), keys: [][]string{{"t1"}, {"t2"}}},
		{name: "results ordered by last event", query: `sequence by k [x where true] [y where true]`,
			docs: []string{ev(1, 1, "event.category", cat("x"), "k", a), ev(2, 2, "event.category", cat("x"), "k", b),
				ev(3, 3, "event.category", cat("y"), "k", b), ev(4, 4, "event.category", cat("y"), "k", a)},
			want: ids(seq(2, 3), seq(1, 4))},
		{name: "tail pipe", query: `sequence [any where true] [any where true] | tail 2`,
			docs: []string{ev(1, 1), ev(2, 2), ev(3, 3), ev(4, 4), ev(5, 5)},
			want: ids(seq(3, 4), seq(4, 5))},
		{name: "head 3 | tail 2", query: `sequence [any where true] [any where true] | head 3 | tail 2`,
			docs: []string{ev(1, 1), ev(2, 2), ev(3, 3), ev(4, 4), ev(5, 5)},
			want: ids(seq(2, 3), seq(3, 4))},
	})
}

func TestMissingEvents(t *testing.T) {
	cat := func(c string) string { return `"` + c + `"` }
	x, m := cat("x"), cat("m")
	runCases(t, []tcase{
		{name: "middle missing absent", query: `sequence with maxspan=1h [x where true] ![m where true] [x where true]`,
			docs: []string{ev(1, 1, "event.category", x), ev(2, 5, "event.category", x)},
			want: ids(seq(1, -1, 2))},
		{name: "middle missing present", query: `sequence with maxspan=1h [x where true] ![m where true] [x where true]`,
			docs: []string{ev(1, 1, "event.category", x), ev(2, 3, "event.category", m), ev(3, 5, "event.category", x)},
			want: nil},
		{name: "middle missing at the same timestamp does not count", query: `sequence with maxspan=1h [x where true] ![m where true] [x where true]`,
			docs: []string{ev(1, 1, "event.category", x), ev(2, 5, "event.category", m), ev(3, 5, "event.category", x)},
			want: ids(seq(1, -1, 3))},
		{name: "leading within maxspan drops", query: `sequence with maxspan=10ms ![m where true] [x where true]`,
			docs: []string{ev(1, 1, "event.category", m), ev(2, 5, "event.category", x), ev(3, 50, "event.category", x)},
			want: ids(seq(-1, 3))},
		{name: "trailing within maxspan drops", query: `sequence with maxspan=10ms [x where true] ![m where true]`,
			docs: []string{ev(1, 1, "event.category", x), ev(2, 5, "event.category", m), ev(3, 50, "event.category", x),
				ev(4, 100, "event.category", m)},
			want: ids(seq(3, -1))},
		{name: "leading and trailing both needed", query: `sequence with maxspan=20ms ![m where true] [x where true] ![m where true]`,
			docs: []string{ev(1, 0, "event.category", m), ev(2, 10, "event.category", x), ev(3, 21, "event.category", m),
				ev(4, 30, "event.category", x), ev(6, 35, "event.category", m), ev(5, 100, "event.category", x)},
			want: ids(seq(-1, 2, -1), seq(-1, 5, -1))},
	})
}

// TestTrailingMissingState checks that events of a trailing missing stage leave no state
// for keys with no sequence waiting for one: "Elastic Defend Alert Followed by Telemetry
// Loss" has a trailing stage that most events match.
func TestTrailingMissingState(t *testing.T) {
	stmt, err := eql.Parse(`sequence by k with maxspan=1h [x where true] ![m where true]`)
	if err != nil {
		t.Fatal(err)
	}
	fields := event.NewFields()
	q, err := Compile(stmt, fields, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dec := event.NewDecoder(fields)
	for _, mode := range []Mode{Batch, Streaming} {
		r := q.NewRun(mode, func(*Result) {})
		var e event.Event
		for i := range 1000 {
			if err := dec.Decode([]byte(ev(i, int64(i), "event.category", `"m"`, "k", strconv.Itoa(i))), &e); err != nil {
				t.Fatal(err)
			}
			e.Seq = uint64(i)
			if err := r.Push(&e); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := len(r.seq.keys); n != 0 {
			t.Errorf("%v: %d keys hold state after 1,000 trailing-stage events and no sequence", mode, n)
		}
	}
}

func TestSamples(t *testing.T) {
	cat := func(c string) string { return `"` + c + `"` }
	runCases(t, []tcase{
		{name: "keys ascending, distinct events", query: `sample by h [x where true] [y where true]`,
			docs: []string{ev(1, 1, "event.category", cat("x"), "h", `"b"`), ev(2, 2, "event.category", cat("y"), "h", `"b"`),
				ev(3, 3, "event.category", cat("x"), "h", `"a"`), ev(4, 4, "event.category", cat("y"), "h", `"a"`),
				ev(5, 5, "event.category", cat("x"), "h", `"c"`)},
			want: ids(seq(3, 4), seq(1, 2)), keys: [][]string{{"a"}, {"b"}}},
		{name: "one event cannot fill two filters", query: `sample by h [any where true] [any where true]`,
			docs: []string{ev(1, 1, "h", `"a"`)}, want: nil},
		{name: "two samples per key", query: `sample by h [x where true] [y where true]`, opts: Options{MaxSamplesPerKey: 2},
			docs: []string{ev(1, 1, "event.category", cat("x"), "h", a), ev(2, 2, "event.category", cat("x"), "h", a),
				ev(3, 3, "event.category", cat("y"), "h", a)},
			want: ids(seq(1, 3), seq(2, 3))},
		{name: "size caps from the head", query: `sample by h [any where true]`, opts: Options{Size: 1, ResultPosition: Tail},
			docs: []string{ev(1, 1, "h", b), ev(2, 2, "h", a)}, want: ids(seq(2)), keys: [][]string{{"a"}}},
	})
}

func TestEventQueryLimits(t *testing.T) {
	docs := []string{ev(3, 30), ev(1, 10), ev(2, 20), ev(4, 40), ev(5, 50)}
	runCases(t, []tcase{
		{name: "all, ordered by time", query: `any where true`, docs: docs, want: ids(seq(1), seq(2), seq(3), seq(4), seq(5))},
		{name: "size tail", query: `any where true`, docs: docs, opts: Options{Size: 2}, want: ids(seq(4), seq(5))},
		{name: "size head", query: `any where true`, docs: docs, opts: Options{Size: 2, ResultPosition: Head}, want: ids(seq(1), seq(2))},
		{name: "size before the first pipe", query: `any where true | tail 3`, docs: docs, opts: Options{Size: 4, ResultPosition: Head},
			want: ids(seq(3), seq(4), seq(5))},
		{name: "head 4 | tail 2", query: `any where true | head 4 | tail 2`, docs: docs, want: ids(seq(3), seq(4))},
		{name: "tail 4 | head 2", query: `any where true | tail 4 | head 2`, docs: docs, want: ids(seq(2), seq(3))},
		{name: "head 0", query: `any where true | head 0`, docs: docs, want: nil},
		{name: "tiebreaker, nulls last", query: `any where true`, opts: Options{TiebreakerField: "tb"},
			docs: []string{ev(1, 1), ev(2, 1, "tb", "5"), ev(3, 1, "tb", "2")}, want: ids(seq(3), seq(2), seq(1))},
	})
}

// The seed rule's shape: an exec in a pod, then an audit event from the same pod within 1 s.
const seedShape = "sequence with maxspan=1s\n" +
	`[process where event.action == "exec"] by orchestrator.resource.name` + "\n" +
	"[any where event.dataset == \"kubernetes.audit_logs\"] by `kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name`"

func exec(id int, ts int64, pod string) string {
	return ev(id, ts, "event.category", `["process"]`, "event.action", `"exec"`,
		"orchestrator", `{"resource":{"name":"`+pod+`"}}`)
}

func audit(id int, ts int64, pod string) string {
	return ev(id, ts, "event.dataset", `"kubernetes.audit_logs"`,
		"kubernetes", `{"audit":{"user":{"extra":{"authentication.kubernetes.io/pod-name":["`+pod+`"]}}}}`)
}

func TestSeedRuleSequence(t *testing.T) {
	runCases(t, []tcase{
		{name: "exec then audit", query: seedShape, docs: []string{exec(1, 0, "p"), audit(2, 500, "p")},
			want: ids(seq(1, 2)), keys: [][]string{{"p"}}},
		{name: "audit first", query: seedShape, docs: []string{audit(1, 0, "p"), exec(2, 100, "p")}, want: nil},
		{name: "two audits after one exec", query: seedShape,
			docs: []string{exec(1, 0, "p"), audit(2, 300, "p"), audit(3, 600, "p")}, want: ids(seq(1, 2))},
		{name: "two execs before one audit", query: seedShape,
			docs: []string{exec(1, 0, "p"), exec(2, 200, "p"), audit(3, 500, "p")}, want: ids(seq(2, 3))},
		{name: "exactly 1s apart", query: seedShape, docs: []string{exec(1, 0, "p"), audit(2, 1000, "p")}, want: ids(seq(1, 2))},
		{name: "1001ms apart", query: seedShape, docs: []string{exec(1, 0, "p"), audit(2, 1001, "p")}, want: nil},
		{name: "different pods", query: seedShape, docs: []string{exec(1, 0, "p"), audit(2, 500, "q")}, want: nil},
	})
}

func TestStreamingLateAndShuffled(t *testing.T) {
	docs := []string{exec(1, 0, "p"), exec(3, 2000, "q"), audit(2, 500, "p"), audit(4, 2400, "q"), exec(5, 100, "r")}
	arrival := []int{0, 1, 2, 3, 4}
	g, st := runOrder(t, seedShape, docs, arrival, Options{MaxLateness: 3 * time.Second}, Streaming)
	if want := ids(seq(1, 2), seq(3, 4)); !slices.EqualFunc(g.ids, want, slices.Equal[[]int64]) || st.Late != 0 {
		t.Fatalf("within lateness: %v, late %d; want %v", g, st.Late, want)
	}
	g, st = runOrder(t, seedShape, docs, arrival, Options{MaxLateness: 100 * time.Millisecond}, Streaming)
	if st.Late != 2 { // audit 2 (500 < 2000-100) and exec 5 arrive too late
		t.Fatalf("late = %d, want 2 (%v)", st.Late, g)
	}
	if want := ids(seq(3, 4)); !slices.EqualFunc(g.ids, want, slices.Equal[[]int64]) {
		t.Fatalf("got %v, want %v", g, want)
	}
}

func TestStreamingEvictionAndPendingCap(t *testing.T) {
	var docs []string
	for i := range 2000 {
		docs = append(docs, exec(i, int64(i)*100, fmt.Sprintf("pod%d", i)))
	}
	_, st := run(t, seedShape, docs, Options{}, Streaming)
	// maxspan=1s and one exec every 100 ms: at most ~11 partial sequences are reachable.
	if st.Pending > 12 || st.PeakPending > 13 {
		t.Fatalf("pending %d, peak %d: state not evicted", st.Pending, st.PeakPending)
	}
	noSpan := `sequence [process where true] by orchestrator.resource.name [any where event.dataset == "kubernetes.audit_logs"] by ` +
		"`kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name`"
	_, st = run(t, noSpan, docs, Options{MaxPending: 50}, Streaming)
	if st.Pending > 50 || st.PendingCapHits != 1950 {
		t.Fatalf("pending %d, cap hits %d; want <= 50 and 1950", st.Pending, st.PendingCapHits)
	}
}

func TestJoinKeyStrings(t *testing.T) {
	for _, c := range []struct {
		v    keyVal
		seq  string
		samp string
	}{
		{keyVal{kind: kNull}, "null", "null"},
		{keyVal{kind: kInt, i: 1234}, "1234", "1234"},
		{keyVal{kind: kFloat, f: 1.5}, "1.5", "1.5"},
		{keyVal{kind: kFloat, f: 2}, "2.0", "2.0"},
		{keyVal{kind: kBool, i: 1}, "true", "true"},
		{keyVal{kind: kString, s: "x"}, "x", "x"},
		{keyVal{kind: kDate, i: 1671235200000}, "2022-12-17T00:00:00.000Z", "1671235200000"},
		{keyVal{kind: kDate, i: 1671235200000, ns: 999999}, "2022-12-17T00:00:00.000Z", "1671235200000"},
		{keyVal{kind: kDate, i: 253402300799999}, "9999-12-31T23:59:59.999Z", "253402300799999"},
		{keyVal{kind: kDate, i: -30610224000000}, "1000-01-01T00:00:00.000Z", "-30610224000000"},
	} {
		if s := c.v.seqString(); s != c.seq {
			t.Errorf("%+v seqString = %q, want %q", c.v, s, c.seq)
		}
		if s := c.v.sampleString(); s != c.samp {
			t.Errorf("%+v sampleString = %q, want %q", c.v, s, c.samp)
		}
	}
}

func TestStats(t *testing.T) {
	docs := []string{exec(1, 0, "p"), exec(2, 100, "q"), audit(3, 500, "p"), ev(4, 600), `{"id":5}`}
	for _, c := range []struct {
		mode Mode
		want Stats
	}{
		// batch: the 3 matching events are held until Flush; the event without a timestamp
		// does not match anything, so it is not counted as skipped. At the end the exec in
		// pod q is still a pending partial sequence.
		{Batch, Stats{EventsIn: 5, Results: 1, Pending: 1, PeakPending: 3}},
		// streaming: each event waits in the buffer until a later one arrives.
		{Streaming, Stats{EventsIn: 5, Results: 1, Pending: 1, PeakPending: 3}},
	} {
		_, st := runOrder(t, seedShape, docs, []int{0, 1, 2, 3, 4}, Options{}, c.mode)
		if st != c.want {
			t.Errorf("%v: stats %+v, want %+v", c.mode, st, c.want)
		}
	}
	// a matching event without a timestamp is skipped and counted
	_, st := runOrder(t, `any where true`, []string{`{"id":1}`, ev(2, 0)}, []int{0, 1}, Options{}, Batch)
	if want := (Stats{EventsIn: 2, Results: 1, Matched: 1, NoTimestamp: 1, PeakPending: 1}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

// A batch event query with a size keeps only what its result can hold.
func TestBatchEventQueryMemoryBound(t *testing.T) {
	var docs []string
	for i := range 5000 {
		docs = append(docs, ev(i, int64(5000-i))) // newest first
	}
	for _, c := range []struct {
		pos  Position
		want [][]int64
	}{
		{Head, ids(seq(4999), seq(4998), seq(4997))},
		{Tail, ids(seq(2), seq(1), seq(0))},
	} {
		g, st := runOrder(t, `any where true`, docs, identity(len(docs)), Options{Size: 3, ResultPosition: c.pos}, Batch)
		if !slices.EqualFunc(g.ids, c.want, slices.Equal[[]int64]) {
			t.Errorf("%v: got %v, want %v", c.pos, g, c.want)
		}
		if st.PeakPending > 2*3+batchTrimSlack {
			t.Errorf("%v: peak pending %d: the buffer was not bounded", c.pos, st.PeakPending)
		}
		if st.Matched != 5000 || st.Results != 3 {
			t.Errorf("%v: matched %d, results %d; want 5000 and 3", c.pos, st.Matched, st.Results)
		}
	}
}

func identity(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// Join keys through a mapping: a date key prints in ISO form for sequences and as epoch
// milliseconds for samples; an ip key is canonical; a keyword key from a number is its text.
func TestJoinKeysThroughMapping(t *testing.T) {
	m, err := mapping.Parse([]byte(`{"properties":{"d":{"type":"date","format":"yyyy-MM-dd"},
		"ip":{"type":"ip"},"k":{"type":"keyword"},"@timestamp":{"type":"date"},"id":{"type":"long"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{
		ev(1, 1, "d", `"2022-12-17"`, "ip", `"::ffff:10.0.0.1"`, "k", "12"),
		ev(2, 2, "d", `"2022-12-17"`, "ip", `"10.0.0.1"`, "k", `"12"`),
	}
	opts := Options{Mapping: m}
	runCases(t, []tcase{
		{name: "sequence", query: `sequence by d, ip, k [any where id == 1] [any where id == 2]`, docs: docs, opts: opts,
			want: ids(seq(1, 2)), keys: [][]string{{"2022-12-17T00:00:00.000Z", "10.0.0.1", "12"}}},
		{name: "sample", query: `sample by d, ip, k [any where id == 1] [any where id == 2]`, docs: docs, opts: opts,
			want: ids(seq(1, 2)), keys: [][]string{{"1671235200000", "10.0.0.1", "12"}}},
	})
	// An undeclared key field is dynamic, unless the mapping says "dynamic": false.
	if _, err := Compile(mustParse(t, `sequence by nope [any where true] [any where true]`), event.NewFields(), opts); err != nil {
		t.Errorf("undeclared key field: err = %v", err)
	}
	closed, err := mapping.Parse([]byte(`{"dynamic":false,"properties":{"@timestamp":{"type":"date"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(mustParse(t, `sequence by nope [any where true] [any where true]`), event.NewFields(), Options{Mapping: closed}); err == nil ||
		!strings.Contains(err.Error(), "Unknown column [nope]") {
		t.Errorf("unknown key field with dynamic false: err = %v", err)
	}
	if _, err := Compile(mustParse(t, `sequence by ?nope [any where true] [any where true]`), event.NewFields(), Options{Mapping: closed}); err != nil {
		t.Errorf("optional unknown key field with dynamic false: err = %v", err)
	}
}

func mustParse(t *testing.T, q string) *eql.Statement {
	t.Helper()
	s, err := eql.Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStoredOrdinalsOwned pushes events decoded from one reused buffer, as the detectors do:
// what a Run stores for later ordering (a string tiebreaker) must not point into it. The
// events have one timestamp and tiebreakers "bbb", "aaa", "ccc", so every query kind must
// order them 2, 1, 3.
func TestStoredOrdinalsOwned(t *testing.T) {
	docs := []string{ev(1, 5, "tb", `"bbb"`, "k", `"x"`), ev(2, 5, "tb", `"aaa"`, "k", `"x"`), ev(3, 5, "tb", `"ccc"`, "k", `"x"`)}
	for _, tc := range []struct {
		query string
		mode  Mode
		want  [][]int64
	}{
		{`any where true`, Batch, [][]int64{{2}, {1}, {3}}},
		{`any where true`, Streaming, [][]int64{{2}, {1}, {3}}},
		{`sequence by k [any where true] [any where true]`, Batch, [][]int64{{2, 1}, {1, 3}}},
		{`sample by k [any where tb == "aaa"] [any where true]`, Batch, [][]int64{{2, 1}}},
	} {
		stmt, err := eql.Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		fields := event.NewFields()
		q, err := Compile(stmt, fields, Options{TiebreakerField: "tb"})
		if err != nil {
			t.Fatal(err)
		}
		idSlot := fields.Add("id")
		dec := event.NewDecoder(fields)
		var got [][]int64
		r := q.NewRun(tc.mode, func(res *Result) {
			var ids []int64
			for _, e := range res.Events {
				ids = append(ids, e.Values(idSlot)[0].Int)
			}
			got = append(got, ids)
		})
		buf := make([]byte, 256)
		var e event.Event
		for i, d := range docs {
			n := copy(buf, d)
			if err := dec.Decode(buf[:n], &e); err != nil {
				t.Fatal(err)
			}
			e.Seq = uint64(i)
			if err := r.Push(&e); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s (%v): got %v, want %v", tc.query, tc.mode, got, tc.want)
		}
	}
}
