package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tripline/tripline/rule"
)

// suppView is what TestStatefulSuppression compares of an alert: its rule, id, the
// suppression fields, and its new terms or threshold count.
func suppView(t *testing.T, a Alert) string {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(a.Doc, &d); err != nil {
		t.Fatal(err)
	}
	s := fmt.Sprintf("%s %s", d["kibana.alert.rule.rule_id"], d["kibana.alert.uuid"])
	if id, ok := d["kibana.alert.instance.id"]; ok {
		terms, _ := json.Marshal(d["kibana.alert.suppression.terms"])
		s += fmt.Sprintf(" instance=%s terms=%s %s..%s docs=%v", id, terms,
			d["kibana.alert.suppression.start"], d["kibana.alert.suppression.end"], d["kibana.alert.suppression.docs_count"])
	}
	if nt, ok := d["kibana.alert.new_terms"]; ok {
		b, _ := json.Marshal(nt)
		s += " new_terms=" + string(b)
	}
	if tr, ok := d["kibana.alert.threshold_result"].(map[string]any); ok {
		s += fmt.Sprintf(" count=%v from=%v", tr["count"], tr["from"])
	}
	if en, ok := d["threat"].(map[string]any); ok {
		s += fmt.Sprintf(" enrichments=%d", len(en["enrichments"].([]any)))
	}
	return s
}

// TestStatefulSuppression runs threshold, new-terms and indicator-match rules with
// alert_suppression over files, in batch and streaming mode, and checks every alert: ids,
// instance ids and suppression fields as Kibana writes them, window edges, a threshold
// group suppressed across executions, two new terms of one event, a missing group_by
// field with doNotSuppress, and a window of one execution.
func TestStatefulSuppression(t *testing.T) {
	const idx = "logs-test-default"
	at := func(hm string) string { return "2026-04-20T" + hm + ":00.000Z" }
	ev := func(id, hm, fields string) string {
		return fmt.Sprintf(`{"_index":%q,"_id":%q,"@timestamp":%q,"event":{"action":"x"},%s}`, idx, id, at(hm), fields)
	}
	base := func(id, typ string) *rule.Rule {
		return &rule.Rule{RuleID: id, Name: id, Type: typ, Language: "kuery", Query: "event.action: x", From: "now-9m",
			To: "now", Interval: "5m", MaxSignals: 100, Severity: "low", Index: []string{"logs-*"}}
	}
	supp := func(groupBy []string, minutes int, strategy string) *rule.AlertSuppression {
		s := &rule.AlertSuppression{GroupBy: groupBy, MissingFieldsStrategy: strategy}
		if minutes > 0 {
			s.Duration = &rule.SuppressionDuration{Value: minutes, Unit: "m"}
		}
		return s
	}
	// Kibana's recipes: an event's terms are [{field, value: [its sorted values]}]; its
	// instance id object-hash([terms, rule, space]).
	eventInstance := func(r *rule.Rule, field string, vals ...any) (string, string) {
		var v any
		if len(vals) > 0 {
			v = vals
		}
		terms := []any{document{"field": field, "value": v}}
		b, _ := json.Marshal(terms)
		return objectHash([]any{terms, r.UUID(), "default"}), string(b)
	}

	// Threshold: by host.id, 2 events, look-back 9m every 5m, suppressed for 10 minutes.
	th := base("th", "threshold")
	th.Threshold = &rule.Threshold{Field: []string{"host.id"}, Value: 2}
	th.AlertSuppression = &rule.AlertSuppression{Duration: &rule.SuppressionDuration{Value: 10, Unit: "m"}}
	thEvents := []string{
		ev("t1", "10:01", `"host":{"id":"h1"}`), ev("t2", "10:02", `"host":{"id":"h1"}`),
		ev("t3", "10:03", `"host":{"id":"h2"}`), ev("t4", "10:04", `"host":{"id":"h2"}`),
		ev("t5", "10:06", `"host":{"id":"h1"}`), ev("t6", "10:07", `"host":{"id":"h1"}`),
		ev("t7", "10:16", `"host":{"id":"h1"}`), ev("t8", "10:17", `"host":{"id":"h1"}`),
	}
	thAlert := func(exec, host, first, last, docs string, count int) string {
		hit := uuidV5(thresholdNamespace, "th"+at(exec)+"host.id"+host)
		id := objectHash([]any{"logs-*", hit, "default:" + th.UUID()})
		inst := objectHash([]any{[]any{host}, th.UUID(), "default"})
		return fmt.Sprintf(`th %s instance=%s terms=[{"field":"host.id","value":"%s"}] %s..%s docs=%s count=%d from=%s`,
			id, inst, host, at(first), at(last), docs, count, at(first))
	}
	thWant := []string{
		// Execution 10:05: h1 (10:01, 10:02) and h2 (10:03, 10:04). Execution 10:10: h1's
		// 10:06 and 10:07 (the signal history leaves the first two out) reach it again,
		// within 10 minutes of the first alert: suppressed into it. Execution 10:20: h1's
		// 10:16 and 10:17, after the window (10:05 + 10m): a new alert.
		thAlert("10:05", "h1", "10:01", "10:07", "1", 2),
		thAlert("10:05", "h2", "10:03", "10:04", "0", 2),
		thAlert("10:20", "h1", "10:16", "10:17", "0", 2),
	}

	// New terms: user.name over the last hour, suppressed by host.name for 5 minutes,
	// events without host.name alerting alone.
	nt := base("nt", "new_terms")
	nt.NewTermsFields, nt.HistoryWindowStart = []string{"user.name"}, "now-1h"
	nt.AlertSuppression = supp([]string{"host.name"}, 5, rule.DoNotSuppressMissing)
	ntEvents := []string{
		ev("n1", "10:00", `"host":{"name":"a"},"user":{"name":"u1"}`),
		ev("n2", "10:01", `"host":{"name":"a"},"user":{"name":"u2"}`),
		ev("n3", "10:02", `"host":{"name":"a"},"user":{"name":"u1"}`), // not new
		ev("n4", "10:03", `"host":{"name":"b"},"user":{"name":["u3","u4"]}`),
		ev("n5", "10:05", `"host":{"name":"a"},"user":{"name":"u5"}`), // the window's last instant
		ev("n6", "10:06", `"host":{"name":"a"},"user":{"name":"u6"}`),
		ev("n7", "10:07", `"user":{"name":"u7"}`),
	}
	ntAlert := func(id, host, start, end, docs string, terms ...any) string {
		tb, _ := json.Marshal(terms)
		s := fmt.Sprintf("nt %s", objectHash([]any{idx, id, "undefined", "default:" + nt.UUID(), terms}))
		if host != "" {
			inst, tj := eventInstance(nt, "host.name", host)
			s += fmt.Sprintf(" instance=%s terms=%s %s..%s docs=%s", inst, tj, at(start), at(end), docs)
		}
		return s + " new_terms=" + string(tb)
	}
	ntWant := []string{
		ntAlert("n1", "a", "10:00", "10:05", "2", "u1"), // n2 and n5 within 5 minutes
		ntAlert("n4", "b", "10:03", "10:03", "1", "u3"), // and its u4
		ntAlert("n6", "a", "10:06", "10:06", "0", "u6"),
		ntAlert("n7", "", "", "", "", "u7"), // no host.name: doNotSuppress
	}

	// Indicator match: source.ip against threat.indicator.ip, suppressed by source.ip for
	// one execution (no duration): the whole input in batch mode, one interval (1h) of
	// event time when streaming.
	tm := base("tm", "threat_match")
	tm.Interval = "1h"
	tm.ThreatIndex, tm.ThreatQuery, tm.ThreatLanguage = []string{"ti-*"}, "*:*", "kuery"
	tm.ThreatMapping = []rule.ThreatMapping{{Entries: []rule.ThreatMappingEntry{{Field: "source.ip", Type: "mapping", Value: "threat.indicator.ip"}}}}
	tm.AlertSuppression = supp([]string{"source.ip"}, 0, "")
	tmEvents := []string{
		ev("m1", "10:00", `"source":{"ip":"192.0.2.1"}`),
		ev("m2", "10:10", `"source":{"ip":"192.0.2.2"}`),
		ev("m3", "10:20", `"source":{"ip":"192.0.2.1"}`),
		ev("m4", "10:30", `"source":{"ip":"192.0.2.3"}`), // no indicator
		ev("m5", "11:10", `"source":{"ip":"192.0.2.1"}`),
	}
	indicators := []string{
		`{"_index":"ti-x","_id":"i1","@timestamp":"2026-04-19T00:00:00Z","threat":{"indicator":{"ip":"192.0.2.1"}}}`,
		`{"_index":"ti-x","_id":"i2","@timestamp":"2026-04-19T00:00:00Z","threat":{"indicator":{"ip":"192.0.2.2"}}}`,
	}
	tmAlert := func(id, ip, start, end, docs string) string {
		inst, tj := eventInstance(tm, "source.ip", ip)
		return fmt.Sprintf("tm %s instance=%s terms=%s %s..%s docs=%s enrichments=1",
			sha256Hex(idx, id, "undefined", "default", ":", tm.UUID()), inst, tj, at(start), at(end), docs)
	}
	tmBatch := []string{
		tmAlert("m1", "192.0.2.1", "10:00", "11:10", "2"),
		tmAlert("m2", "192.0.2.2", "10:10", "10:10", "0"),
	}
	tmStreaming := []string{
		tmAlert("m1", "192.0.2.1", "10:00", "10:20", "1"),
		tmAlert("m2", "192.0.2.2", "10:10", "10:10", "0"),
		tmAlert("m5", "192.0.2.1", "11:10", "11:10", "0"),
	}

	tests := []struct {
		name            string
		rule            *rule.Rule
		events          []string
		batch, streamed []string
		// the matches suppressed, in batch and streaming mode
		suppressed, suppressedStreamed int
	}{
		{"threshold", th, thEvents, thWant, thWant, 1, 1},
		{"new_terms", nt, ntEvents, ntWant, ntWant, 3, 3},
		{"threat_match", tm, tmEvents, tmBatch, tmStreaming, 2, 1},
	}
	dir := t.TempDir()
	tiPath := filepath.Join(dir, "ti.ndjson")
	if err := os.WriteFile(tiPath, []byte(strings.Join(indicators, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	readIndicators := func(ctx context.Context, fn func([]byte, EventSource) error) error {
		for i, l := range indicators {
			if err := fn([]byte(l), EventSource{Name: tiPath, Line: i + 1, Seq: uint64(i)}); err != nil {
				return err
			}
		}
		return nil
	}
	for _, tc := range tests {
		path := filepath.Join(dir, tc.name+".ndjson")
		if err := os.WriteFile(path, []byte(strings.Join(tc.events, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []struct {
			name string
			opts Options
		}{
			{"batch", Options{}},
			{"batch-origin", Options{Origin: &fileOrigin{}, Workers: 2}},
			{"streaming", Options{Streaming: true}},
			{"streaming-workers", Options{Streaming: true, Workers: 2}},
		} {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				opts := mode.opts
				opts.Compile, opts.Now, opts.Indicators = EngineCompiler(EngineOptions{}), testNow, readIndicators
				alerts, sum, errs := runFile(t, []*rule.Rule{tc.rule}, path, opts)
				if len(errs) > 0 || len(sum.RulesSkipped) > 0 {
					t.Fatalf("errors %v, skipped %v", errs, sum.RulesSkipped)
				}
				var got []string
				for _, a := range alerts {
					got = append(got, suppView(t, a))
				}
				want, wantSuppressed := tc.batch, tc.suppressed
				if opts.Streaming {
					want, wantSuppressed = tc.streamed, tc.suppressedStreamed
				}
				slices.Sort(got)
				want = slices.Sorted(slices.Values(want))
				if !slices.Equal(got, want) {
					t.Errorf("alerts\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				if n := sum.Rules[0].Suppressed; n != wantSuppressed {
					t.Errorf("%d suppressed, want %d", n, wantSuppressed)
				}
			})
		}
	}
}

// TestThresholdSuppressionParams checks that a threshold rule's alert_suppression is
// given to alerts as Kibana stores it, a duration only.
func TestThresholdSuppressionParams(t *testing.T) {
	r := &rule.Rule{RuleID: "th", Name: "th", Type: "threshold", Language: "kuery", Query: "*", From: "now-9m", To: "now",
		Interval: "5m", MaxSignals: 100, Severity: "low", Index: []string{"logs-*"},
		Threshold:        &rule.Threshold{Field: []string{"host.id"}, Value: 1},
		AlertSuppression: &rule.AlertSuppression{GroupBy: []string{"ignored"}, Duration: &rule.SuppressionDuration{Value: 1, Unit: "h"}}}
	b := &builder{space: "default", now: isoMillis(testNow)}
	fields := b.newRuleFields(b.newRuleInfo(r, thresholdKind{language: "kuery"}))
	got, _ := json.Marshal(fields["kibana.alert.rule.parameters"].(document)["alert_suppression"])
	if want := `{"duration":{"unit":"h","value":1}}`; string(got) != want {
		t.Errorf("alert_suppression parameter %s, want %s", got, want)
	}
}
