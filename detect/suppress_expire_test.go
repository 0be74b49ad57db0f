package detect

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tripline/tripline/rule"
)

// TestSuppressionExpiresWithStreamTime checks that, when streaming, a suppressed alert is
// written once the stream's event time has passed its window (less --max-lateness), even
// though its rule never matches again, and not before: an event query (no reach) and a
// sequence with maxspan (its window closes maxspan later).
func TestSuppressionExpiresWithStreamTime(t *testing.T) {
	supp := &rule.AlertSuppression{GroupBy: []string{"host.name"}, Duration: &rule.SuppressionDuration{Value: 1, Unit: "m"}}
	tests := []struct {
		query string
		// after the Process of the event at this index, the alert has been written
		writtenAfter int
	}{
		// window 00:00:00-00:01:00, lateness 10s: written once an event at 00:01:10+ came
		{`process where process.name == "sh"`, 4},
		// and a sequence's maxspan (2m) later: once an event at 00:03:10+ came
		{`sequence with maxspan=2m [process where process.name == "sh"] [process where process.name == "id"]`, 6},
	}
	for _, tc := range tests {
		r := &rule.Rule{RuleID: "s", Name: "s", Type: "eql", Language: "eql", Query: tc.query,
			Index: []string{"logs-*"}, Severity: "low", MaxSignals: 100, Interval: "5m", Enabled: true, AlertSuppression: supp}
		// The stream's event time moves with the events offered to the rules: a rule that
		// takes every process event (as, among a thousand rules, some rule does).
		all := &rule.Rule{RuleID: "all", Name: "all", Type: "eql", Language: "eql", Query: `process where process.name == "ls"`,
			Index: []string{"logs-*"}, Severity: "low", MaxSignals: 100, Interval: "5m", Enabled: true}
		written := -1
		step := 0
		d, err := New([]*rule.Rule{r, all}, SinkFunc(func(_ context.Context, as []Alert) error {
			if written < 0 && as[0].Rule.RuleID == "s" {
				written = step
			}
			return nil
		}), Options{Compile: EngineCompiler(EngineOptions{MaxLateness: 10 * time.Second}), Now: testNow, Streaming: true})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		events := []struct{ at, name string }{
			{"00:00:00", "sh"}, {"00:00:01", "id"}, {"00:00:30", "sh"}, {"00:00:31", "id"},
			{"00:01:20", "ls"}, {"00:02:00", "ls"}, {"00:03:30", "ls"}, {"00:04:00", "ls"},
		}
		for i, e := range events {
			step = i
			doc := fmt.Sprintf(`{"_index":"logs-x","@timestamp":"2026-01-01T%sZ","event":{"category":"process"},"host":{"name":"h"},"process":{"name":%q}}`, e.at, e.name)
			if err := d.Process(ctx, []byte(doc), EventSource{Name: "t", Line: i + 1}); err != nil {
				t.Fatal(err)
			}
		}
		step = len(events)
		if err := d.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if written != tc.writtenAfter || d.Summary().Rules[0].Suppressed != 1 || d.Summary().Rules[0].RuleID != "s" {
			t.Errorf("%s: alert written after event %d (want %d), %d suppressed (want 1)", tc.query, written, tc.writtenAfter, d.Summary().Rules[0].Suppressed)
		}
	}
}

// TestThresholdSuppressionExpires checks that, when streaming, a threshold rule's
// suppressed alert is written once the rule's executions have passed its window (from the
// alert's execution time), and not before: h1's window (10:05 + 10m) ends at 10:15; the
// event at 10:14 runs the executions up to 10:10, the one at 10:16 the one at 10:15, once
// the reordering stage gives it to the rule (when the next event comes).
func TestThresholdSuppressionExpires(t *testing.T) {
	r := &rule.Rule{RuleID: "th", Name: "th", Type: "threshold", Language: "kuery", Query: "event.action: x", From: "now-9m",
		To: "now", Interval: "5m", MaxSignals: 100, Severity: "low", Index: []string{"logs-*"},
		Threshold:        &rule.Threshold{Field: []string{"host.id"}, Value: 2},
		AlertSuppression: &rule.AlertSuppression{Duration: &rule.SuppressionDuration{Value: 10, Unit: "m"}}}
	written := -1
	step := 0
	d, err := New([]*rule.Rule{r}, SinkFunc(func(_ context.Context, as []Alert) error {
		if written < 0 {
			written = step
		}
		return nil
	}), Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow, Streaming: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	events := []struct{ at, host string }{{"10:01", "h1"}, {"10:02", "h1"}, {"10:12", "h2"}, {"10:14", "h2"}, {"10:16", "h2"}, {"10:17", "h2"}, {"10:30", "h2"}}
	for i, e := range events {
		step = i
		doc := fmt.Sprintf(`{"_index":"logs-x","@timestamp":"2026-04-20T%s:00Z","event":{"action":"x"},"host":{"id":%q}}`, e.at, e.host)
		if err := d.Process(ctx, []byte(doc), EventSource{Name: "t", Line: i + 1, Seq: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	step = len(events)
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := d.Summary().Rules[0]; written != 5 || s.Alerts != 2 || s.Suppressed != 1 {
		t.Errorf("first alert written after event %d (want 5); %d alerts (want 2: h1's, h2's), %d suppressed (want 1: h2's at 10:20)",
			written, s.Alerts, s.Suppressed)
	}
}
