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
	ids, counters, errs, _ = streamRun(t, rules, lines, opts, lateness, 7)
	return ids, counters, errs
}

// streamRun is streamIDs flushing after every flushEvery events (a server's requests),
// returning the closed Detector too.
func streamRun(t *testing.T, rules []*rule.Rule, lines [][]byte, opts Options, lateness time.Duration, flushEvery int) (ids []string, counters string, errs []string, d *Detector) {
	t.Helper()
	var mu sync.Mutex
	opts.Now, opts.Streaming = testNow, true
	opts.Compile = EngineCompiler(EngineOptions{MaxLateness: lateness})
	opts.OnEventError = func(err error) { mu.Lock(); errs = append(errs, err.Error()); mu.Unlock() }
	var err error
	d, err = New(rules, SinkFunc(func(_ context.Context, as []Alert) error {
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
		if i%flushEvery == flushEvery-1 { // a server flushes after each request
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
	return ids, fmt.Sprintf("read %d unused %d skipped %d alerts %d", s.EventsRead, s.EventsUnused, s.EventsSkipped, s.Alerts), errs, d
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
// alerts of one buffer per rule, with the example rules over the example events in order
// (one file after the other: the second starts before the first ends) and shuffled, for
// several max latenesses (0: nearly every shuffled event too late), with the in-order work
// in Process, on the caller's goroutine with workers, and on a goroutine of its own. The
// counters and event errors are the same too when no event is too late (lateness 1h);
// otherwise the stage's single event time may find more events too late (see
// TestSharedStageEventTime).
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
					if lateness < time.Hour {
						counters, errs = wantCounters, wantErrs
					} else if len(wantErrs) > 0 {
						t.Fatalf("events too late with lateness %s: %q", lateness, wantErrs)
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

// TestSharedStageEventTime checks what the stage's single event time changes: the events of
// a rule that lag behind another rule's by more than the max lateness are too late (each
// reported once), where a buffer of the rule's own, going by its own events' time, took
// them.
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
	// The network events are an hour behind the process events; the one at 0 s comes after
	// one at 90 s, more than the max lateness (1m) later: too late for b and c either way.
	lines := [][]byte{doc("process", 3600, 0), doc("network", 10, 1), doc("process", 3601, 0), doc("network", 90, 3),
		doc("network", 0, 2), doc("network", 95, 1), doc("process", 3700, 0)}
	late := func(lines ...int) (errs []string) {
		for _, l := range lines {
			errs = append(errs, fmt.Sprintf("events.ndjson:%d: event later than max lateness 1m0s", l))
		}
		return errs
	}
	for _, c := range []struct {
		own          bool
		wantAlerts   int
		wantCounters string
		wantErrs     []string
	}{
		// a: its 3 events; b and c: none, every network event is too late.
		{false, 3, "read 7 unused 4 skipped 0 alerts 3", late(2, 4, 5, 6)},
		// a: 3; c: 3 of its 4; b: the sequence by port 1, 10 s then 95 s (a shell and 2
		// building blocks).
		{true, 9, "read 7 unused 1 skipped 0 alerts 9", late(5)},
	} {
		t.Run(fmt.Sprintf("ownBuffers=%v", c.own), func(t *testing.T) {
			ids, counters, errs := streamIDs(t, rules, lines, Options{ownBuffers: c.own}, time.Minute)
			if len(ids) != c.wantAlerts || counters != c.wantCounters || !slices.Equal(errs, c.wantErrs) {
				t.Errorf("%d alerts, %s, errors %q; want %d alerts, %s, errors %q",
					len(ids), counters, errs, c.wantAlerts, c.wantCounters, c.wantErrs)
			}
		})
	}
}

// TestLentStageSameAlerts checks that a stage holding the events of the workers' batches
// themselves (lent, not copied: see Detector.lend) gives the alerts, counters and event
// errors of a stage that copies each event (no workers), over a stream long enough for
// batches to be reused while the stage still holds events of others: in order with jitter,
// every event offered to a sequence, an event query and a sample, flushed as a server's
// requests of 1,000 events (full batches and one of 232, all lent) or of 300 (a full batch
// lent, then one of 44, copied). Afterwards the reordering buffers hold nothing, lent or
// copied. Built with the tripline_scribble tag, a batch reused while one of its events is
// held would be overwritten first.
func TestLentStageSameAlerts(t *testing.T) {
	q := func(id, query string) *rule.Rule {
		return &rule.Rule{RuleID: id, Name: id, Type: "eql", Language: "eql", Severity: "low", MaxSignals: 10000, Query: query}
	}
	rules := []*rule.Rule{
		q("seq", `sequence by host.name with maxspan=30s [process where process.name == "a"] [process where process.name == "b"] [network where true]`),
		q("evt", `process where process.name == "b" and host.name == "h3"`),
		q("smp", `sample by host.name [process where process.name == "a"] [network where true]`),
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rnd := rand.New(rand.NewPCG(3, 4))
	var lines [][]byte
	for i := range 6000 {
		// 10 events a second, each up to 5 s late.
		at := t0.Add(time.Duration(i)*100*time.Millisecond - time.Duration(rnd.IntN(5000))*time.Millisecond)
		host := fmt.Sprintf("h%d", rnd.IntN(8))
		if rnd.IntN(3) == 0 {
			lines = append(lines, fmt.Appendf(nil, `{"@timestamp":%q,"event":{"category":"network"},"host":{"name":%q}}`, at.Format(time.RFC3339Nano), host))
			continue
		}
		lines = append(lines, fmt.Appendf(nil, `{"@timestamp":%q,"event":{"category":"process"},"host":{"name":%q},"process":{"name":%q}}`,
			at.Format(time.RFC3339Nano), host, []string{"a", "b", "c"}[rnd.IntN(3)]))
	}
	// A lateness the jitter mostly stays within: some events are too late, most are not.
	const lateness = 4 * time.Second
	want, wantCounters, wantErrs := streamIDs(t, rules, lines, Options{}, lateness)
	if len(want) < 100 || len(wantErrs) == 0 || len(wantErrs) > len(lines)/10 {
		t.Fatalf("%d alerts, %d events too late: the comparison proves little", len(want), len(wantErrs))
	}
	for _, flush := range []int{1000, 300} {
		for _, async := range []bool{false, true} {
			t.Run(fmt.Sprintf("flush=%d/async=%v", flush, async), func(t *testing.T) {
				ids, counters, errs, d := streamRun(t, rules, lines, Options{Workers: 2, Async: async}, lateness, flush)
				if !slices.Equal(ids, want) || counters != wantCounters || !slices.Equal(errs, wantErrs) {
					t.Errorf("lent stage: %d alerts, %s, %d errors; copied stage: %d alerts, %s, %d errors",
						len(ids), counters, len(errs), len(want), wantCounters, len(wantErrs))
				}
				// Of the events after the first 2,048 (which choose the rule index, in Process),
				// about three quarters are held, and most of those lent.
				if d.lent < 2000 {
					t.Errorf("%d events lent to the stage, want 2,000 or more", d.lent)
				}
				if n, b := d.Buffered(); n != 0 || b != 0 {
					t.Errorf("after Close the buffers hold %d events, %d bytes", n, b)
				}
			})
		}
	}
}
