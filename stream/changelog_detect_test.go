package stream

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/rule"
)

// statefulEvents returns n logon failures 40 s apart from 10:00, over four hosts (one
// event in four has two) and five users.
func statefulEvents(n int) [][]byte {
	hosts := []string{`"a"`, `"b"`, `["a","c"]`, `"d"`}
	var out [][]byte
	for i := range n {
		at := time.Date(2026, 4, 20, 10, 0, 0, 0, time.UTC).Add(time.Duration(i*40) * time.Second)
		out = append(out, fmt.Appendf(nil, `{"@timestamp":%q,"event":{"action":"logon-failed"},"host":{"id":%s},"user":{"name":"u%d"}}`,
			at.Format(time.RFC3339), hosts[i%len(hosts)], (i*3)%5))
	}
	return out
}

func statefulRules() []*rule.Rule {
	th := &rule.Rule{RuleID: "t", Name: "t", Type: "threshold", Language: "kuery", Query: "event.action: logon-failed", From: "now-9m",
		To: "now", Interval: "5m", MaxSignals: 100, Severity: "low", Index: []string{"*"},
		Threshold: &rule.Threshold{Field: []string{"host.id"}, Value: 4, Cardinality: []rule.ThresholdCardinality{{Field: "user.name", Value: 2}}}}
	nt := &rule.Rule{RuleID: "n", Name: "n", Type: "new_terms", Language: "kuery", Query: "event.action: logon-failed", From: "now-9m",
		To: "now", Interval: "5m", MaxSignals: 100, Severity: "low", Index: []string{"*"},
		NewTermsFields: []string{"host.id", "user.name"}, HistoryWindowStart: "now-10m"}
	return []*rule.Rule{th, nt}
}

// detectRun is one process's run over part of the events, with the state of a changelog
// partition: it restores the store, resumes after the position the restored checkpoint's
// mark names, processes events up to end (checkpointing after each ckEvery events, the
// mark being the number of the first event it still holds or has not read: what the next
// run reads again), closes the detector and, unless crash, checkpoints. It returns the
// alerts written, by id the number of the event whose processing wrote each, and the
// mark of the last checkpoint.
func detectRun(t *testing.T, s *ChangelogStore, evs [][]byte, end, ckEvery int, streaming, crash bool) (alerts map[string]string, at map[string]int, lastMark int) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	from := 0
	if m := s.Mark(); m != nil {
		from, _ = strconv.Atoi(string(m))
	}
	alerts, at = map[string]string{}, map[string]int{}
	pos := from
	lastMark = from
	sink := detect.SinkFunc(func(_ context.Context, as []detect.Alert) error {
		for _, a := range as {
			if _, dup := alerts[a.ID]; dup {
				t.Errorf("alert %s written twice by one run", a.ID)
			}
			alerts[a.ID], at[a.ID] = string(a.Doc), pos
		}
		return nil
	})
	d, err := detect.New(statefulRules(), sink, detect.Options{
		Compile: detect.EngineCompiler(detect.EngineOptions{}), Now: time.Date(2026, 4, 20, 12, 0, 0, 0, time.UTC),
		IgnoreIndexPatterns: true, Streaming: streaming, State: s,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < end; i++ {
		if err := d.Process(ctx, evs[i], detect.EventSource{Name: "events", Line: i + 1, Seq: uint64(i)}); err != nil {
			t.Fatal(err)
		}
		pos = i + 1
		if ckEvery > 0 && pos%ckEvery == 0 {
			// The events the detector still holds (in its reordering buffer) are not
			// covered: the next run reads them again.
			mark := pos
			if seq, held := d.Unfinished(); held && int(seq) < mark {
				mark = int(seq)
			}
			lastMark = mark
			if err := s.Checkpoint(ctx, []byte(strconv.Itoa(mark))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if crash {
		return alerts, at, lastMark
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(ctx, []byte(strconv.Itoa(end))); err != nil {
		t.Fatal(err)
	}
	return alerts, at, end
}

// TestChangelogDetectorHalves runs a threshold and a new-terms rule over events in two
// halves, split after every event, the second half by a new store restored from the
// partition the first checkpointed: exactly the alerts (ids and documents) of one run.
// With a crash instead (the first process dies after its last checkpoint, having read
// further), the second run resumes from that checkpoint: no alert is missing, and the only
// repeats are those the dead process wrote after its last checkpoint.
func TestChangelogDetectorHalves(t *testing.T) {
	const n = 60
	evs := statefulEvents(n)
	_, cl := changelogCluster(t, 2*(n+10))
	part := int32(-1) // each run of one process after another has a partition of its own
	for _, streaming := range []bool{false, true} {
		t.Run(fmt.Sprintf("streaming=%v", streaming), func(t *testing.T) {
			part++
			newStore := func() *ChangelogStore {
				s, err := NewChangelogStore(cl, testChangelog, part)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			want, _, _ := detectRun(t, newStore(), evs, n, 0, streaming, false)
			kinds := map[string]int{}
			for _, doc := range want {
				switch {
				case strings.Contains(doc, `"kibana.alert.rule.type":"threshold"`):
					kinds["threshold"]++
				case strings.Contains(doc, `"kibana.alert.rule.type":"new_terms"`):
					kinds["new_terms"]++
				}
			}
			if kinds["threshold"] < 5 || kinds["new_terms"] < 5 {
				t.Fatalf("one run: alerts by type %v", kinds)
			}
			for k := 0; k <= n; k++ {
				part++
				first, _, _ := detectRun(t, newStore(), evs, k, 0, streaming, false)
				second, _, _ := detectRun(t, newStore(), evs, n, 0, streaming, false)
				got := maps.Clone(first)
				for id, doc := range second {
					if _, dup := got[id]; dup {
						t.Errorf("split after %d: alert %s written by both runs", k, id)
					}
					got[id] = doc
				}
				if !maps.Equal(got, want) {
					t.Errorf("split after %d: %d alerts (ids %v), want %d (ids %v)", k, len(got), sortedIDs(got), len(want), sortedIDs(want))
				}
			}
			// A crash after event k; the last checkpoint was after event k/7*7. (Batch
			// mode finishes nothing before Close: there is no checkpoint to crash after.)
			if !streaming {
				return
			}
			for _, k := range []int{0, 6, 13, 20, 33, 41, 55, 59} {
				part++
				dead, at, mark := detectRun(t, newStore(), evs, k, 7, streaming, true)
				if (k >= 7) != (mark > 0) {
					t.Errorf("crash after %d: last checkpoint's mark %d", k, mark)
				}
				second, _, _ := detectRun(t, newStore(), evs, n, 7, streaming, false)
				got := maps.Clone(second)
				for id, doc := range dead {
					if _, dup := second[id]; dup && at[id] < mark {
						t.Errorf("crash after %d: alert %s (written at event %d, before the last checkpoint's mark %d) written again", k, id, at[id], mark)
					}
					got[id] = doc
				}
				if !maps.Equal(got, want) {
					t.Errorf("crash after %d: %d alerts, want %d", k, len(got), len(want))
				}
			}
		})
	}
}

func sortedIDs(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
