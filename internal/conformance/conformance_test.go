package conformance

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/internal/testenv"
	"github.com/tripline/tripline/mapping"
)

// suite is one spec file run against one dataset, as one of Elasticsearch's suite classes does.
type suite struct {
	file       string
	data       string // dataset name
	idField    string
	tiebreaker string
}

// The suites of Elasticsearch's harness (README section 3.7). test_failing_shards.toml is
// left out: it tests Elasticsearch's shard-failure handling (allow_partial_search_results),
// which has no counterpart in a single-process engine.
var suites = []suite{
	{"test_queries.toml", "endgame-140", "serial_event_id", "serial_event_id"},
	{"additional_test_queries.toml", "endgame-140", "serial_event_id", "serial_event_id"},
	{"test_queries_date.toml", "endgame-140", "serial_event_id", "serial_event_id"},
	{"test_queries_date_nanos.toml", "endgame-140-nanos", "serial_event_id", "serial_event_id"},
	{"test_queries.toml", "endgame-140-nanos", "serial_event_id", "serial_event_id"},
	{"test_extra.toml", "extra", "sequence", "sequence"},
	{"test_missing_events.toml", "missing-events", "sequence", "sequence"},
	{"test_sample.toml", "sample", "id", ""},
	{"test_sample_multi.toml", "sample-multi", "id", ""},
}

func loadDataset(dir, name string) (*dataset, error) {
	data := filepath.Join(dir, "data")
	switch name {
	case "endgame-140":
		return loadIndices(dir, []indexPart{{"test_data.json", "data/endgame-140.mapping", filetimeToMillis}})
	case "endgame-140-nanos":
		return loadIndices(dir, []indexPart{{"test_data.json", "data/endgame-140-nanos.mapping", filetimeToNanos}})
	case "sample":
		return loadIndices(data, []indexPart{{"sample1.data", "sample1.mapping", nil},
			{"sample2.data", "sample2.mapping", nil}, {"sample3.data", "sample3.mapping", nil}})
	default:
		return loadIndices(data, []indexPart{{name + ".data", name + ".mapping", nil}})
	}
}

// outcome is what one run returned: the ids (-1 for a missing event) and the join keys.
type outcome struct {
	ids  []int64
	keys []string
}

// runCase runs q over docs (in the given order) in one mode.
func runCase(sp *spec, su *suite, m *mapping.Mapping, docs [][]byte, order []int, mode engine.Mode,
	pos engine.Position, lateness time.Duration) (outcome, error) {
	var out outcome
	size := 50
	if sp.Size != nil {
		size = *sp.Size
	}
	if size == 0 { // Elasticsearch skips a query whose limit is 0 (Optimizer.SkipQueryOnLimitZero)
		return out, nil
	}
	stmt, err := eql.Parse(sp.Query)
	if err != nil {
		return out, err
	}
	fields := event.NewFields()
	q, err := engine.Compile(stmt, fields, engine.Options{
		Mapping: m, TiebreakerField: su.tiebreaker, Size: size, ResultPosition: pos,
		MaxSamplesPerKey: sp.MaxSamplesPerKey, MaxLateness: lateness,
	})
	if err != nil {
		return out, err
	}
	idSlot := fields.Add(su.idField)
	dec := event.NewDecoder(fields)
	run := q.NewRun(mode, func(r *engine.Result) {
		for _, ev := range r.Events {
			if ev == nil {
				out.ids = append(out.ids, -1)
				continue
			}
			var id int64 = -2
			if vs := ev.Values(idSlot); len(vs) > 0 {
				id = vs[0].Int
			}
			out.ids = append(out.ids, id)
		}
		out.keys = append(out.keys, r.JoinKeys...)
	})
	var ev event.Event
	for _, i := range order {
		if err := dec.Decode(docs[i], &ev); err != nil {
			return out, fmt.Errorf("doc %d: %w", i, err)
		}
		ev.Seq = uint64(i)
		ev.Line = i + 1
		if err := run.Push(&ev); err != nil {
			return out, err
		}
	}
	return out, run.Flush(context.Background())
}

// check compares an outcome with the spec as the harness does.
func check(sp *spec, got outcome) error {
	answers, err := sp.answers()
	if err != nil {
		return err
	}
	ok := false
	for _, a := range answers {
		if slices.Equal(a, got.ids) || (len(a) == 0 && len(got.ids) == 0) {
			ok = true
			break
		}
	}
	if !ok {
		return fmt.Errorf("ids %v, want %v", got.ids, answers)
	}
	if want := sp.joinKeys(); len(want) > 0 && !slices.Equal(want, got.keys) {
		return fmt.Errorf("join keys %q, want %q", got.keys, want)
	}
	return nil
}

type loaded struct {
	ds    *dataset
	m     *mapping.Mapping
	order []int // documents in timestamp order, for streaming runs
}

func loadAll(t *testing.T, dir string) map[string]*loaded {
	t.Helper()
	out := map[string]*loaded{}
	for _, su := range suites {
		if out[su.data] != nil {
			continue
		}
		ds, err := loadDataset(dir, su.data)
		if err != nil {
			t.Fatalf("load %s: %v", su.data, err)
		}
		m, err := mapping.Parse(ds.mapping)
		if err != nil {
			t.Fatalf("mapping of %s: %v", su.data, err)
		}
		out[su.data] = &loaded{ds: ds, m: m, order: timeOrder(t, ds, m, su.tiebreaker)}
	}
	return out
}

// timeOrder sorts the documents by timestamp, tiebreaker and file order.
func timeOrder(t *testing.T, ds *dataset, m *mapping.Mapping, tiebreaker string) []int {
	fields := event.NewFields()
	tsf := "@timestamp"
	if f, ok := m.Resolve(tsf); ok && f.Path != "" {
		tsf = f.Path
	}
	ts := fields.Add(tsf)
	var tb event.Slot = -1
	if tiebreaker != "" {
		tb = fields.Add(tiebreaker)
	}
	dec := event.NewDecoder(fields)
	type key struct {
		ts    event.Instant
		tb    float64
		hasTB bool
	}
	keys := make([]key, len(ds.docs))
	var ev event.Event
	for i, d := range ds.docs {
		if err := dec.Decode(d, &ev); err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		for _, v := range ev.Values(ts) {
			if t, ok := mapping.ParseDate(v, ""); ok {
				keys[i].ts = t
				break
			}
		}
		if tb >= 0 {
			for _, v := range ev.Values(tb) {
				switch v.Kind {
				case event.KindInt:
					keys[i].tb, keys[i].hasTB = float64(v.Int), true
				case event.KindFloat:
					keys[i].tb, keys[i].hasTB = v.Float64(), true
				case event.KindString:
					f, err := strconv.ParseFloat(v.Str, 64)
					keys[i].tb, keys[i].hasTB = f, err == nil
				}
				break
			}
		}
	}
	order := make([]int, len(ds.docs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ka, kb := keys[a], keys[b]
		switch {
		case ka.ts != kb.ts:
			return ka.ts.Compare(kb.ts)
		case ka.hasTB != kb.hasTB:
			if ka.hasTB {
				return -1
			}
			return 1
		case ka.tb < kb.tb:
			return -1
		case ka.tb > kb.tb:
			return 1
		}
		return cmp.Compare(a, b)
	})
	return order
}

// TestConformance runs every active case of the suite in batch mode (with head and with
// tail result positions, which Elasticsearch's harness randomises) and in streaming mode with
// the input in timestamp order. It prints "N passed, M failed" per file.
func TestConformance(t *testing.T) {
	dir := testenv.Shared(t, "conformance", "es")
	data := loadAll(t, dir)
	total := 0
	for _, su := range suites {
		specs, err := loadSpecs(filepath.Join(dir, su.file))
		if err != nil {
			t.Fatal(err)
		}
		ld := data[su.data]
		identity := make([]int, len(ld.ds.docs))
		for i := range identity {
			identity[i] = i
		}
		passed, failed := 0, 0
		for i := range specs {
			sp := &specs[i]
			var errs []string
			for _, v := range []struct {
				name  string
				mode  engine.Mode
				pos   engine.Position
				order []int
			}{
				{"batch/head", engine.Batch, engine.Head, identity},
				{"batch/tail", engine.Batch, engine.Tail, identity},
				{"stream/tail", engine.Streaming, engine.Tail, ld.order},
				{"stream/head", engine.Streaming, engine.Head, ld.order},
			} {
				got, err := runCase(sp, &su, ld.m, ld.ds.docs, v.order, v.mode, v.pos, 0)
				if err == nil {
					err = check(sp, got)
				}
				if err != nil {
					errs = append(errs, v.name+": "+err.Error())
				}
			}
			if len(errs) > 0 {
				failed++
				t.Errorf("%s [%s on %s] %s\n  %v", su.file, sp.Name, su.data, sp.Query, errs)
			} else {
				passed++
			}
		}
		total += passed + failed
		t.Logf("%s on %s: %d passed, %d failed", su.file, su.data, passed, failed)
		fmt.Printf("conformance: %s on %s: %d passed, %d failed\n", su.file, su.data, passed, failed)
	}
	if total == 0 {
		t.Fatal("no case ran")
	}
}

// TestConformanceShuffledStream feeds every sequence case of the time-ordered suites as a
// stream whose events are shuffled within MaxLateness, and expects the batch results.
func TestConformanceShuffledStream(t *testing.T) {
	dir := testenv.Shared(t, "conformance", "es")
	data := loadAll(t, dir)
	const lateness = 10 * time.Second
	rng := rand.New(rand.NewPCG(1, 2))
	for _, su := range suites {
		if su.tiebreaker == "" { // samples are not ordered by time
			continue
		}
		specs, err := loadSpecs(filepath.Join(dir, su.file))
		if err != nil {
			t.Fatal(err)
		}
		ld := data[su.data]
		// arrival time = event time + a random delay in [0, lateness]
		shuffled := shuffleWithin(ld, lateness, rng)
		if slices.Equal(shuffled, ld.order) {
			t.Fatalf("%s: the shuffled stream is in timestamp order; the test would prove nothing", su.data)
		}
		n := 0
		for i := range specs {
			sp := &specs[i]
			got, err := runCase(sp, &su, ld.m, ld.ds.docs, shuffled, engine.Streaming, engine.Tail, lateness)
			if err == nil {
				err = check(sp, got)
			}
			if err != nil {
				t.Errorf("%s [%s] shuffled stream: %v", su.file, sp.Name, err)
			}
			n++
		}
		t.Logf("%s on %s: %d cases over a stream shuffled within %v", su.file, su.data, n, lateness)
	}
}

// shuffleWithin returns the documents in an arrival order where each is delayed by a random
// amount up to lateness from its time-ordered position.
func shuffleWithin(ld *loaded, lateness time.Duration, rng *rand.Rand) []int {
	fields := event.NewFields()
	ts := fields.Add("@timestamp")
	dec := event.NewDecoder(fields)
	arrival := make([]int64, len(ld.ds.docs))
	var ev event.Event
	for i, d := range ld.ds.docs {
		_ = dec.Decode(d, &ev)
		for _, v := range ev.Values(ts) {
			if t, ok := mapping.ParseDate(v, ""); ok {
				ns, _ := t.UnixNano() // the suite's dates are within int64 nanoseconds
				arrival[i] = ns + rng.Int64N(int64(lateness))
				break
			}
		}
	}
	order := slices.Clone(ld.order)
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(arrival[a], arrival[b]) })
	return order
}
