package detect

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripline/tripline/rule"
)

// streamIDs runs rules in streaming mode over lines and returns the sorted alert ids, the
// summary's counters and the event errors reported.
func streamIDs(t *testing.T, rules []*rule.Rule, lines [][]byte, opts Options, lateness time.Duration) (ids []string, counters string, errs []string) {
	t.Helper()
	var mu sync.Mutex
	opts.Now, opts.Streaming = testNow, true
	opts.Compile = EngineCompiler(EngineOptions{MaxLateness: lateness})
	opts.OnEventError = func(err error) { mu.Lock(); errs = append(errs, err.Error()); mu.Unlock() }
	d, err := New(rules, SinkFunc(func(_ context.Context, as []Alert) error {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range as {
			ids = append(ids, a.ID)
		}
		return nil
	}), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, l := range lines {
		if err := d.Process(ctx, l, EventSource{Name: "events.ndjson", Line: i + 1, Seq: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
		if i%7 == 6 { // a server flushes after each request
			if _, err := d.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s := d.Summary()
	slices.Sort(ids)
	slices.Sort(errs)
	return ids, fmt.Sprintf("read %d unused %d skipped %d alerts %d", s.EventsRead, s.EventsUnused, s.EventsSkipped, s.Alerts), errs
}

// exampleLines returns the example events, in file order and shuffled (a stream out of
// order, so that the reordering buffers and max lateness matter).
func exampleLines(t *testing.T) (inOrder, shuffled [][]byte) {
	t.Helper()
	for _, f := range []string{"cloud-defend-process.ndjson", "kubernetes-audit.ndjson"} {
		data, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "events", f))
		if err != nil {
			t.Fatal(err)
		}
		inOrder = append(inOrder, bytes.Split(bytes.TrimSpace(data), []byte{'\n'})...)
	}
	shuffled = slices.Clone(inOrder)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	return inOrder, shuffled
}

// TestSharedStageSameAlerts checks that the reordering stage the rules share gives the
// alerts, counters and event errors of one buffer per rule, with the example rules over
// the example events in order and shuffled, for several max latenesses (0: nearly every
// shuffled event too late), with the in-order work in Process, on the caller's goroutine
// with workers, and on a goroutine of its own. The example events of both indices share
// one event time (they are interleaved in time), so the stage's single event time decides
// as each rule's did.
func TestSharedStageSameAlerts(t *testing.T) {
	set, err := rule.Load(context.Background(), filepath.Join(repoRoot(t), "examples", "rules"))
	if err != nil || len(set.Rules) != 4 {
		t.Fatalf("loading the example rules: %v (%d rules)", err, len(set.Rules))
	}
	inOrder, shuffled := exampleLines(t)
	for _, in := range []struct {
		name  string
		lines [][]byte
	}{{"in order", inOrder}, {"shuffled", shuffled}} {
		for _, lateness := range []time.Duration{0, 30 * time.Second, time.Hour} {
			for _, mode := range []struct {
				workers int
				async   bool
			}{{0, false}, {2, false}, {2, true}} {
				name := fmt.Sprintf("%s/lateness=%s/workers=%d/async=%v", in.name, lateness, mode.workers, mode.async)
				t.Run(name, func(t *testing.T) {
					opts := Options{Workers: mode.workers, Async: mode.async}
					ids, counters, errs := streamIDs(t, set.Rules, in.lines, opts, lateness)
					opts.ownBuffers = true
					wantIDs, wantCounters, wantErrs := streamIDs(t, set.Rules, in.lines, opts, lateness)
					if len(wantIDs) == 0 && lateness > 0 {
						t.Fatal("no alert at all: the comparison proves nothing")
					}
					if !slices.Equal(ids, wantIDs) || counters != wantCounters || !slices.Equal(errs, wantErrs) {
						t.Errorf("shared stage: %d alerts, %s, errors:\n%s\none buffer per rule: %d alerts, %s, errors:\n%s",
							len(ids), counters, strings.Join(errs, "\n"), len(wantIDs), wantCounters, strings.Join(wantErrs, "\n"))
					}
				})
			}
		}
	}
}

// TestSharedStageEventTime checks that each rule keeps its own event time with the shared
// stage: a rule whose events lag behind another rule's by more than the max lateness still
// gets them, in order (they wait in its own buffer), as with a buffer of its own; an event
// too late for its rules is reported once.
func TestSharedStageEventTime(t *testing.T) {
	rules := []*rule.Rule{
		{RuleID: "a", Name: "a", Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100, Query: `process where true`},
		{RuleID: "b", Name: "b", Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100,
			Query: `sequence by destination.port [network where true] [network where true]`},
		{RuleID: "c", Name: "c", Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100, Query: `network where true`},
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	doc := func(cat string, sec, port int) []byte {
		return fmt.Appendf(nil, `{"@timestamp":%q,"event":{"category":%q},"destination":{"port":%d}}`,
			t0.Add(time.Duration(sec)*time.Second).Format(time.RFC3339), cat, port)
	}
	// The network events are an hour behind the process events; the network event at 0 s
	// comes after one at 90 s, more than the max lateness (1m) later: too late for b and c.
	lines := [][]byte{doc("process", 3600, 0), doc("network", 10, 1), doc("process", 3601, 0), doc("network", 90, 3),
		doc("network", 0, 2), doc("network", 95, 1), doc("process", 3700, 0)}
	want := []string{"events.ndjson:5: event later than max lateness 1m0s"}
	for _, own := range []bool{false, true} {
		t.Run(fmt.Sprintf("ownBuffers=%v", own), func(t *testing.T) {
			ids, counters, errs := streamIDs(t, rules, lines, Options{ownBuffers: own}, time.Minute)
			// a: 3 events; c: 3 of its 4; b: the sequence by port 1, 10 s then 95 s (a shell and 2 building blocks).
			if len(ids) != 9 || counters != "read 7 unused 1 skipped 0 alerts 9" || !slices.Equal(errs, want) {
				t.Errorf("%d alerts, %s, errors %q; want 9 alerts, read 7 unused 1 skipped 0 alerts 9, errors %q",
					len(ids), counters, errs, want)
			}
		})
	}
}
