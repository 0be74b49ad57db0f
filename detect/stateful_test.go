package detect

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/rule"
)

func TestUUIDv5(t *testing.T) {
	// The RFC 4122 example, as Python's uuid.uuid5(NAMESPACE_DNS, "www.example.com") gives it.
	if got := uuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com"); got != "2ed6657d-e927-568b-95e1-2665a8aea6a2" {
		t.Errorf("uuidV5 = %s", got)
	}
}

func TestCombinations(t *testing.T) {
	raw := []byte(`{"a":["x",null,"y","x"],"b":{"c":[1,2]},"d":null,"e":{"f":"z"}}`)
	for _, tc := range []struct {
		fields []string
		want   string
	}{
		{[]string{"a"}, `[["x"],["y"]]`},
		{[]string{"a", "b.c"}, `[["x",1],["x",2],["y",1],["y",2]]`},
		{[]string{"b.c", "e.f", "a"}, `[[1,"z","x"],[1,"z","y"],[2,"z","x"],[2,"z","y"]]`},
		{[]string{"a", "missing"}, `null`},
		{[]string{"d"}, `null`},
		{[]string{"e"}, `null`}, // an object is no term
		{nil, `[[]]`},           // no field: one group of every event
	} {
		fr, slots := newFieldReader(&rule.Rule{}, tc.fields)
		if _, _, err := fr.read(raw); err != nil {
			t.Fatal(err)
		}
		var combos [][]any
		var keys []string
		if ts := fr.combinations(slots); ts != nil {
			combos, keys = ts.combos, ts.keys
		}
		out, _ := json.Marshal(combos)
		if string(out) != tc.want || len(keys) != len(combos) {
			t.Errorf("combinations(%v) = %s (%d keys), want %s", tc.fields, out, len(keys), tc.want)
		}
	}
	// Keys tell values apart by type.
	fr, slots := newFieldReader(&rule.Rule{}, []string{"a"})
	_, _, _ = fr.read([]byte(`{"a":"1"}`))
	k1 := fr.combinations(slots).keys
	_, _, _ = fr.read([]byte(`{"a":1}`))
	k2 := fr.combinations(slots).keys
	if k1[0] == k2[0] {
		t.Errorf("the string 1 and the number 1 have the same key %q", k1[0])
	}
}

// feed reads raw with agg's reader and adds it.
func feed(t *testing.T, agg aggregator, b *builder, ri *ruleInfo, raw []byte) []Alert {
	t.Helper()
	at, ok, err := agg.reader().read(raw)
	if err != nil || !ok {
		t.Fatalf("%s: time %v, %v", raw, ok, err)
	}
	sel := &selected{ev: &event.Event{}, raw: raw, t: at.UnixNano()}
	agg.take(sel)
	alerts, _, err := agg.add(b, ri, sel)
	if err != nil {
		t.Fatal(err)
	}
	return alerts
}

// testEvent is an event with the given host.id at minute m (and second s) of 2026-04-20 10:00.
func testEvent(host string, m, s int) []byte {
	at := time.Date(2026, 4, 20, 10, m, s, 0, time.UTC)
	return fmt.Appendf(nil, `{"@timestamp":%q,"host":{"id":%q}}`, at.Format(time.RFC3339), host)
}

// TestThresholdBounded checks that a threshold rule keeps only the events of the windows
// still to run and the signal history of the last look-back, over two hours of events.
func TestThresholdBounded(t *testing.T) {
	r := &rule.Rule{RuleID: "r", Name: "n", Type: "threshold", Language: "kuery", From: "now-9m", To: "now",
		MaxSignals: 100, Index: []string{"logs-*"}, Threshold: &rule.Threshold{Field: []string{"host.id"}, Value: 60}}
	kind := thresholdKind{language: "kuery"}
	agg, err := kind.newAggregator(r, 5*time.Minute, false)
	if err != nil {
		t.Fatal(err)
	}
	b := &builder{space: "default", now: "2026-04-20T12:00:00.000Z"}
	ri := b.newRuleInfo(r, kind)
	a := agg.(*thresholdAgg)
	store := a.store.(*memThresholdStore)
	alerts, maxEvents := 0, 0
	for s := range 2 * 3600 {
		// busy: one event a second; m<minute>: one event a minute, each a new group.
		hosts := []string{"busy"}
		if s%60 == 0 {
			hosts = append(hosts, fmt.Sprintf("m%d", s/60))
		}
		for _, host := range hosts {
			alerts += len(feed(t, a, b, ri, testEvent(host, s/60, s%60)))
		}
		maxEvents = max(maxEvents, store.events())
	}
	got, _, _ := a.flush(b, ri)
	alerts += len(got)
	// The busy host alerts at every execution from 10:05 to 12:00: each has at least 60
	// events it has not alerted for.
	if alerts != 24 {
		t.Errorf("%d alerts, want 24", alerts)
	}
	// At most the events of from + interval (14 minutes) plus one.
	if limit := 14*60 + 14 + 2; maxEvents > limit {
		t.Errorf("%d events held, want at most %d", maxEvents, limit)
	}
	if len(store.history) > 1 || len(store.names) > 2*(14+1)+1024 {
		t.Errorf("history %d, group names %d", len(store.history), len(store.names))
	}
}

// TestNewTermsBounded checks that a new-terms rule's history holds only the values seen in
// the history window (plus the eighth of a window between expiries).
func TestNewTermsBounded(t *testing.T) {
	r := &rule.Rule{RuleID: "r", Type: "new_terms", Language: "kuery", HistoryWindowStart: "now-1h", MaxSignals: 100,
		NewTermsFields: []string{"host.id"}}
	agg, err := newTermsKind{language: "kuery"}.newAggregator(r, 5*time.Minute, true)
	if err != nil {
		t.Fatal(err)
	}
	a := agg.(*newTermsAgg)
	held := 0
	// Ten hours, 100 new values a minute.
	for m := range 600 {
		for i := range 100 {
			feed(t, a, nil, nil, testEvent(fmt.Sprintf("h%d-%d", m, i), m, i%60))
		}
		held = max(held, a.hist.len())
	}
	if limit := 100 * (60 + 8 + 1); held > limit || held < 6000 {
		t.Errorf("history held up to %d values, want 6000 to %d", held, limit)
	}
}

func TestThresholdRefusesBadLookback(t *testing.T) {
	r := &rule.Rule{From: "now-5m", To: "now-5m", Threshold: &rule.Threshold{Value: 1}}
	if _, err := (thresholdKind{}).newAggregator(r, time.Minute, false); err == nil ||
		err.Error() != `from "now-5m" is not before to "now-5m"` {
		t.Errorf("err = %v", err)
	}
	r.From = "now-1M"
	_, err := (thresholdKind{}).newAggregator(r, time.Minute, false)
	if want := `from: "now-1M": unit "M" is not one of s, m, h, d, w`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

// TestThresholdDocumentExclusion checks Kibana's signal-history filter: it leaves out a
// whole document, so an event that fed group a's alert no longer counts for group b either.
func TestThresholdDocumentExclusion(t *testing.T) {
	r := &rule.Rule{RuleID: "r", Name: "n", Type: "threshold", Language: "kuery", From: "now-9m", To: "now",
		MaxSignals: 100, Index: []string{"logs-*"}, Threshold: &rule.Threshold{Field: []string{"host.id"}, Value: 2}}
	kind := thresholdKind{language: "kuery"}
	agg, _ := kind.newAggregator(r, 5*time.Minute, false)
	b := &builder{space: "default", now: "2026-04-20T12:00:00.000Z"}
	ri := b.newRuleInfo(r, kind)
	var got []string
	for _, e := range []struct {
		host string
		m    int
	}{{`["a","b"]`, 1}, {`"a"`, 2}, {`"b"`, 6}, {`"c"`, 30}} {
		at := time.Date(2026, 4, 20, 10, e.m, 0, 0, time.UTC)
		raw := fmt.Appendf(nil, `{"@timestamp":%q,"host":{"id":%s}}`, at.Format(time.RFC3339), e.host)
		for _, a := range feed(t, agg, b, ri, raw) {
			doc := mustParse(t, a.Doc)
			res, _ := json.Marshal(doc["kibana.alert.threshold_result"])
			got = append(got, string(res))
		}
	}
	want := []string{`{"count":2,"from":"2026-04-20T10:01:00.000Z","terms":[{"field":"host.id","value":"a"}]}`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("alerts %q, want %q", got, want)
	}
}

// TestThresholdMaxSignals checks that an execution alerts for at most max_signals groups,
// the first in composite key order, and counts the others; a group left out alerts at the
// next execution whose window still holds its events, as in Kibana.
func TestThresholdMaxSignals(t *testing.T) {
	r := &rule.Rule{RuleID: "r", Name: "n", Type: "threshold", Language: "kuery", From: "now-9m", To: "now",
		MaxSignals: 2, Index: []string{"logs-*"}, Threshold: &rule.Threshold{Field: []string{"host.id"}, Value: 1}}
	kind := thresholdKind{language: "kuery"}
	agg, _ := kind.newAggregator(r, 5*time.Minute, false)
	b := &builder{space: "default", now: "2026-04-20T12:00:00.000Z"}
	ri := b.newRuleInfo(r, kind)
	for _, h := range []string{"c", "a", "b"} {
		feed(t, agg, b, ri, testEvent(h, 1, 30))
	}
	alerts, capped, err := agg.flush(b, ri)
	var got []any
	for _, a := range alerts {
		got = append(got, mustParse(t, a.Doc)["host.id"])
	}
	if err != nil || capped != 1 || !reflect.DeepEqual(got, []any{"a", "b", "c"}) {
		t.Errorf("alerts for %v, %d capped (%v); want a, b (10:05), c (10:10) and 1", got, capped, err)
	}
}

// TestThresholdHistoryEdge checks Kibana's edge: a signal history entry is dropped at the
// first execution whose from is at or after it, so an event exactly at that from counts
// again, and a group of one such event (value 1) alerts at both executions.
func TestThresholdHistoryEdge(t *testing.T) {
	r := &rule.Rule{RuleID: "r", Name: "n", Type: "threshold", Language: "kuery", From: "now-9m", To: "now",
		MaxSignals: 100, Index: []string{"logs-*"}, Threshold: &rule.Threshold{Field: []string{"host.id"}, Value: 1}}
	kind := thresholdKind{language: "kuery"}
	b := &builder{space: "default", now: "2026-04-20T12:00:00.000Z"}
	ri := b.newRuleInfo(r, kind)
	for _, tc := range []struct {
		sec, want int
	}{{0, 2}, {1, 1}} {
		agg, _ := kind.newAggregator(r, 5*time.Minute, false)
		feed(t, agg, b, ri, testEvent("a", 1, tc.sec)) // executions 10:05 ([09:56, 10:05]) and 10:10 ([10:01, 10:10])
		alerts, _, _ := agg.flush(b, ri)
		if len(alerts) != tc.want {
			t.Errorf("event at 10:01:%02d: %d alerts, want %d", tc.sec, len(alerts), tc.want)
		}
	}
}

// TestStatefulModesAgree runs a threshold and a new-terms rule over the same events in
// batch mode (with and without reading documents again from the file) and in streaming
// mode (with and without workers): the alerts are the same documents.
func TestStatefulModesAgree(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	hosts := []string{`"a"`, `"b"`, `["a","c"]`, `"d"`}
	for i := range 400 {
		at := time.Date(2026, 4, 20, 10, 0, 0, 0, time.UTC).Add(time.Duration(i*7) * time.Second)
		lines = append(lines, fmt.Sprintf(`{"@timestamp":%q,"event":{"action":"x"},"host":{"id":%s},"user":{"name":"u%d"},"process":{"name":"p%d"}}`,
			at.Format(time.RFC3339), hosts[i%len(hosts)], i%5, i%13))
	}
	path := dir + "/events.ndjson"
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	th := &rule.Rule{RuleID: "t", Name: "t", Type: "threshold", Language: "kuery", Query: "event.action: x", From: "now-9m",
		To: "now", Interval: "5m", MaxSignals: 100, Severity: "low", Index: []string{"*"},
		Threshold: &rule.Threshold{Field: []string{"host.id"}, Value: 20, Cardinality: []rule.ThresholdCardinality{{Field: "user.name", Value: 3}}}}
	nt := &rule.Rule{RuleID: "n", Name: "n", Type: "new_terms", Language: "kuery", Query: "event.action: x", From: "now-9m",
		To: "now", Interval: "5m", MaxSignals: 100, Severity: "low", Index: []string{"*"},
		NewTermsFields: []string{"host.id", "process.name"}, HistoryWindowStart: "now-20m"}
	var ref []string
	for i, opts := range []Options{
		{},
		{Origin: &fileOrigin{}, Workers: 2},
		{Streaming: true},
		{Streaming: true, Workers: 2},
	} {
		opts.Compile, opts.Now, opts.IgnoreIndexPatterns = EngineCompiler(EngineOptions{}), testNow, true
		alerts, _, errs := runFile(t, []*rule.Rule{th, nt}, path, opts)
		var docs []string
		for _, a := range alerts {
			docs = append(docs, string(a.Doc))
		}
		sort.Strings(docs)
		if i == 0 {
			ref = docs
			if len(docs) < 20 || len(errs) > 0 {
				t.Fatalf("%d alerts, errors %v", len(docs), errs)
			}
			continue
		}
		if !reflect.DeepEqual(docs, ref) {
			t.Errorf("options %d: %d alerts differ from batch mode's %d", i, len(docs), len(ref))
		}
	}
}
