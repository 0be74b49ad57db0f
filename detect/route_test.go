package detect

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/rule"
)

func TestIndexPatterns(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		index    string
		want     bool
	}{
		{[]string{"logs-*"}, "logs-kubernetes.audit_logs-default", true},
		{[]string{"logs-*"}, "metrics-system-default", false},
		{[]string{"logs-cloud_defend.process*"}, "logs-cloud_defend.process-default", true},
		{[]string{"logs-cloud_defend.process*"}, "logs-cloud_defend.file-default", false},
		{[]string{"logs-endpoint.events.*"}, "logs-endpoint.events.process-default", true},
		{[]string{"exact"}, "exact", true},
		{[]string{"exact"}, "exactly", false},
		{[]string{"*"}, "anything", true},
		{[]string{"_all"}, "anything", true},
		{[]string{"a*b*c"}, "axxbyyc", true},
		{[]string{"a*b*c"}, "axxbyy", false},
		// Exclusions remove what earlier patterns matched; a later inclusion adds back.
		{[]string{"logs-*", "-logs-test-*"}, "logs-test-default", false},
		{[]string{"logs-*", "-logs-test-*"}, "logs-prod-default", true},
		{[]string{"logs-*", "-logs-test-*", "logs-test-keep"}, "logs-test-keep", true},
		{[]string{"-logs-*"}, "-logs-x", true}, // a leading "-" is part of the name
		{[]string{"-logs-*"}, "logs-x", false},
		// Hidden indices need a pattern that starts with ".".
		{[]string{"*"}, ".alerts-security.alerts-default", false},
		{[]string{".alerts-security.*"}, ".alerts-security.alerts-default", true},
		// A data stream's backing index matches the data stream's patterns.
		{[]string{"logs-kubernetes.audit_logs-*"}, ".ds-logs-kubernetes.audit_logs-default-2026.04.20-000001", true},
		{[]string{"logs-kubernetes.audit_logs-*", "-logs-kubernetes.audit_logs-default"}, ".ds-logs-kubernetes.audit_logs-default-2026.04.20-000001", false},
		// Remote cluster prefixes are ignored.
		{[]string{"*:logs-*"}, "logs-a-b", true},
		{nil, "logs-a", false},
		{rule.DefaultIndex(), "logs-a-b", true},
		{rule.DefaultIndex(), "logs-elastic-cloud-logs-x", false},
	} {
		if got := NewIndexPatterns(tc.patterns).Match(tc.index); got != tc.want {
			t.Errorf("%q matching %q = %v, want %v", tc.patterns, tc.index, got, tc.want)
		}
	}
}

// TestRouting checks which rules see which events: the index given by the input, the
// document's _index, the data stream fields, no index at all, and --ignore-index-patterns.
func TestRouting(t *testing.T) {
	mk := func(id string, index ...string) *rule.Rule {
		return &rule.Rule{RuleID: id, Name: id, Type: "eql", Language: "eql", Query: "any where true",
			Index: index, Severity: "low", MaxSignals: 100, Enabled: true}
	}
	rules := []*rule.Rule{
		mk("audit", "logs-kubernetes.audit_logs-*"),
		mk("proc", "logs-cloud_defend.process*", "-logs-cloud_defend.process-test"),
		mk("all", "*"),
	}
	stages := map[string][][]cond{"audit": {{}}, "proc": {{}}, "all": {{}}}
	for _, tc := range []struct {
		name   string
		opts   Options
		srcIdx string
		doc    string
		want   string // rule ids that alerted
		noIdx  int64
	}{
		{"data stream fields", Options{}, "", `{"@timestamp":"2026-01-01T00:00:00Z","data_stream":{"type":"logs","dataset":"kubernetes.audit_logs","namespace":"default"}}`, "audit all", 0},
		{"dotted data stream fields", Options{}, "", `{"data_stream.type":"logs","data_stream.dataset":"cloud_defend.process","data_stream.namespace":"default"}`, "proc all", 0},
		{"excluded data stream", Options{}, "", `{"data_stream":{"type":"logs","dataset":"cloud_defend.process","namespace":"test"}}`, "all", 0},
		{"document _index wins over data stream", Options{}, "", `{"_index":"logs-kubernetes.audit_logs-x","data_stream":{"type":"logs","dataset":"cloud_defend.process","namespace":"default"}}`, "audit all", 0},
		{"input index wins", Options{}, "logs-cloud_defend.process-a", `{"_index":"logs-kubernetes.audit_logs-x"}`, "proc all", 0},
		{"--index", Options{Index: "logs-cloud_defend.process-b"}, "", `{"_index":"logs-kubernetes.audit_logs-x"}`, "proc all", 0},
		{"hidden index", Options{}, ".internal-x", `{}`, "", 0},
		{"no index", Options{}, "", `{"a":1}`, "audit proc all", 1},
		{"incomplete data stream", Options{}, "", `{"data_stream":{"type":"logs","dataset":"x"}}`, "audit proc all", 1},
		{"ignore index patterns", Options{IgnoreIndexPatterns: true}, "metrics-x", `{}`, "audit proc all", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			opts := tc.opts
			opts.Compile = fakeCompiler(stages)
			d, err := New(rules, SinkFunc(func(_ context.Context, as []Alert) error {
				for _, a := range as {
					if got != "" {
						got += " "
					}
					got += a.Rule.RuleID
				}
				return nil
			}), opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := d.Process(ctx, []byte(tc.doc), EventSource{Name: "t", Line: 1, Index: tc.srcIdx}); err != nil {
				t.Fatal(err)
			}
			if err := d.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if got != tc.want || d.Summary().EventsWithoutIndex != tc.noIdx {
				t.Errorf("rules alerted %q, want %q; events without index %d, want %d", got, tc.want, d.Summary().EventsWithoutIndex, tc.noIdx)
			}
		})
	}
}

// TestMaxSignals checks that a batch run keeps the most recent max_signals matches per rule
// (as Elasticsearch's EQL size does), counts the rest and warns; for a sequence rule the cap
// counts sequences, not documents.
func TestMaxSignals(t *testing.T) {
	mk := func(id, query string, max int) *rule.Rule {
		return &rule.Rule{RuleID: id, Name: id, Type: "eql", Language: "eql", Query: query,
			Index: []string{"logs-*"}, Severity: "low", MaxSignals: max, Enabled: true}
	}
	rules := []*rule.Rule{
		mk("ev", "any where true", 3),
		mk("seq", "sequence [any where true] [any where true]", 2),
		mk("big", "any where true", 100),
	}
	stages := map[string][][]cond{
		"ev":  {{}},
		"seq": {{{"k", "a"}}, {{"k", "b"}}},
		"big": {{}},
	}
	var got []string
	d, err := New(rules, SinkFunc(func(_ context.Context, as []Alert) error {
		for _, a := range as {
			var n string
			if a.Kind != ShellAlert {
				n = flatDocString(a.Doc, "n")
			}
			got = append(got, a.Rule.RuleID+":"+a.Kind.String()+":"+n)
		}
		return nil
	}), Options{Compile: fakeCompiler(stages), Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 1; i <= 10; i++ {
		k := "a"
		if i%2 == 0 {
			k = "b"
		}
		doc := fmt.Sprintf(`{"_index":"logs-x","@timestamp":"2026-01-01T00:00:%02dZ","n":%d,"k":%q}`, i, i, k)
		if err := d.Process(ctx, []byte(doc), EventSource{Name: "t", Line: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := 8; i <= 10; i++ {
		want = append(want, fmt.Sprintf("ev:event:%d", i))
	}
	// Five sequences (1,2) (3,4) ... (9,10); the last two are kept.
	want = append(want, "seq:shell:", "seq:building_block:7", "seq:building_block:8",
		"seq:shell:", "seq:building_block:9", "seq:building_block:10")
	for i := 1; i <= 10; i++ {
		want = append(want, fmt.Sprintf("big:event:%d", i))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("alerts =\n%q\nwant\n%q", got, want)
	}
	s := d.Summary()
	if s.Rules[0].Capped != 7 || s.Rules[1].Capped != 3 || s.Rules[2].Capped != 0 || len(s.Warnings) != 2 {
		t.Errorf("capped %d %d %d, warnings %q", s.Rules[0].Capped, s.Rules[1].Capped, s.Rules[2].Capped, s.Warnings)
	}
	wantWarn := "rule ev (ev): This rule reached the maximum alert limit for the rule execution. Some alerts were not created. (max_signals 3, 7 more matches)"
	if len(s.Warnings) > 0 && s.Warnings[0] != wantWarn {
		t.Errorf("warning = %q, want %q", s.Warnings[0], wantWarn)
	}
}

// TestMaxSignalsStreaming checks the streaming cap: at most max_signals alerts per rule and
// rule interval (by the first event's @timestamp).
func TestMaxSignalsStreaming(t *testing.T) {
	r := &rule.Rule{RuleID: "ev", Name: "ev", Type: "eql", Language: "eql", Query: "any where true",
		Index: []string{"logs-*"}, Severity: "low", MaxSignals: 2, Interval: "1m", Enabled: true}
	var got []string
	d, err := New([]*rule.Rule{r}, SinkFunc(func(_ context.Context, as []Alert) error {
		for _, a := range as {
			got = append(got, flatDocString(a.Doc, "n"))
		}
		return nil
	}), Options{Compile: fakeCompiler(map[string][][]cond{"ev": {{}}}), Now: testNow, Streaming: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Events at 0s, 20s, 40s (minute 0), 60s, 80s (minute 1), 120s (minute 2).
	for i, sec := range []int{0, 20, 40, 60, 80, 120} {
		doc := fmt.Sprintf(`{"_index":"logs-x","@timestamp":"2026-01-01T00:%02d:%02dZ","n":%d}`, sec/60, sec%60, i)
		if err := d.Process(ctx, []byte(doc), EventSource{Name: "t", Line: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 1 3 4 5]" || d.Summary().Rules[0].Capped != 1 {
		t.Errorf("alerts for events %v (want [0 1 3 4 5]), capped %d (want 1)", got, d.Summary().Rules[0].Capped)
	}
}

// flatDocString returns the JSON text of a top-level field of an alert document.
func flatDocString(doc []byte, key string) string {
	m, err := parseDocument(doc)
	if err != nil {
		return "!" + err.Error()
	}
	return fmt.Sprint(m[key])
}

// TestMaxSignalsEngineCap checks that with the engine compiler, whose batch event queries
// keep only the most recent max_signals events, the alerts and the Matches and Capped
// counters are those of keeping every match: events out of order, far more matches than the
// cap (so that the engine trims its buffer many times), and a rule under its cap.
func TestMaxSignalsEngineCap(t *testing.T) {
	mk := func(id, query string, max int) *rule.Rule {
		return &rule.Rule{RuleID: id, Name: id, Type: "eql", Language: "eql", Query: query,
			Index: []string{"logs-*"}, Severity: "low", MaxSignals: max, Enabled: true}
	}
	rules := []*rule.Rule{
		mk("all", "any where true", 3),
		mk("some", "any where n <= 50", 100),
		mk("piped", "any where true | head 2", 3),
	}
	var got []string
	d, err := New(rules, SinkFunc(func(_ context.Context, as []Alert) error {
		for _, a := range as {
			got = append(got, a.Rule.RuleID+":"+flatDocString(a.Doc, "n"))
		}
		return nil
	}), Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 2000
	for i := range n {
		k := (i*7919)%n + 1 // a permutation of 1..n: timestamps out of input order
		doc := fmt.Sprintf(`{"_index":"logs-x","@timestamp":"%s","n":%d}`,
			time.Unix(int64(k), 0).UTC().Format(time.RFC3339), k)
		if err := d.Process(ctx, []byte(doc), EventSource{Name: "t", Line: i + 1, Seq: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"all:1998", "all:1999", "all:2000"}
	for i := 1; i <= 50; i++ {
		want = append(want, fmt.Sprintf("some:%d", i))
	}
	want = append(want, "piped:1", "piped:2")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("alerts =\n%q\nwant\n%q", got, want)
	}
	s := d.Summary()
	type mc struct{ matches, capped, alerts int }
	wantStats := []mc{{n, n - 3, 3}, {50, 0, 50}, {2, 0, 2}}
	for i, w := range wantStats {
		r := s.Rules[i]
		if g := (mc{r.Matches, r.Capped, r.Alerts}); g != w {
			t.Errorf("rule %s: matches/capped/alerts %+v, want %+v", r.RuleID, g, w)
		}
	}
}

// TestRestrictedIndex checks the rule index a router restricts to the rules an index name
// allows: past restrictAfter events of one name, events are routed through it (without the
// fields only other rules name), to exactly the rules and terms the whole index and the
// name's patterns give; a name seen fewer times keeps the whole index.
func TestRestrictedIndex(t *testing.T) {
	mk := func(id, query string, index ...string) *rule.Rule {
		return &rule.Rule{RuleID: id, Name: id, Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100,
			Index: index, Query: query}
	}
	rules := []*rule.Rule{
		// "any where": no category to route by, only the fields' values
		mk("proc", `any where process.name in ("a", "b") or process.command_line : "*get secret*"`, "logs-proc-*"),
		mk("net", `any where destination.port == 22 and source.ip != null`, "logs-net-*"),
		mk("both", `any where user.name : "root*"`, "logs-*"),
		mk("seq", `sequence [any where process.name == "a"] [any where destination.port == 22]`, "logs-proc-*", "logs-net-*"),
	}
	d, err := New(rules, SinkFunc(func(context.Context, []Alert) error { return nil }),
		Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow, Workers: 1, indexSample: -1})
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{
		`{"_index":"logs-proc-x","event":{"category":"process"},"process":{"name":"A","command_line":"kubectl GET secrets"},"user":{"name":"rootkit"}}`,
		`{"_index":"logs-proc-x","event":{"category":"process"},"process":{"name":"c"},"destination":{"port":22},"source":{"ip":"1.2.3.4"}}`,
		`{"_index":"logs-net-x","event":{"category":"network"},"process":{"name":"a"},"destination":{"port":22},"source":{"ip":"1.2.3.4"}}`,
		`{"_index":"logs-net-x","event":{"category":"network"},"user":{"name":"ROOT"}}`,
		`{"_index":"other","event":{"category":"process"},"process":{"name":"a"}}`,
	}
	rt := d.rt
	var ev event.Event
	route := func(doc string, x *ruleIndex) string {
		if err := d.dec.Decode([]byte(doc), &ev); err != nil {
			t.Fatal(err)
		}
		rt.prepare(&ev, EventSource{Name: "t"})
		var got []string
		for _, i := range rt.candidates(&ev) {
			got = append(got, fmt.Sprintf("%s:%b", d.rules[i].stats.RuleID, rt.terms[i]))
		}
		return strings.Join(got, " ")
	}
	var before []string
	for _, doc := range docs {
		before = append(before, route(doc, nil))
	}
	// Whole index: the rules (and terms) the values select, among those the name allows.
	want := []string{"proc:1 both:1 seq:1", "seq:10", "net:1 seq:11", "both:1", ""}
	if strings.Join(before, "|") != strings.Join(want, "|") {
		t.Fatalf("whole index: %q, want %q", before, want)
	}
	for range restrictAfter {
		route(docs[0], nil)
		route(docs[2], nil)
	}
	for i, doc := range docs {
		if got := route(doc, nil); got != before[i] {
			t.Errorf("%s: restricted index gives %q, the whole index %q", doc, got, before[i])
		}
	}
	x := d.index.Load()
	proc, net := rt.routes["logs-proc-x"], rt.routes["logs-net-x"]
	if proc.idx == nil || net.idx == nil || proc.from != x || rt.routes["other"].idx != nil {
		t.Fatal("the routes seen often have no restricted index, or the rare one has")
	}
	fields := func(x *ruleIndex) int { return len(x.fieldIdx) }
	if fields(proc.idx) >= fields(x) || fields(net.idx) > fields(x) {
		t.Errorf("restricted indexes have %d and %d fields, the whole one %d: nothing dropped", fields(proc.idx), fields(net.idx), fields(x))
	}
}

// TestMaxSignalsStreamingOverride checks that the streaming cap counts matches per rule
// interval of the rule's timestamp_override (Kibana's executions select events by it),
// and of @timestamp for an event without it.
func TestMaxSignalsStreamingOverride(t *testing.T) {
	r := &rule.Rule{RuleID: "ev", Name: "ev", Type: "eql", Language: "eql", Query: "any where true",
		Index: []string{"logs-*"}, Severity: "low", MaxSignals: 1, Interval: "1m", Enabled: true,
		TimestampOverride: "event.ingested"}
	var got []string
	d, err := New([]*rule.Rule{r}, SinkFunc(func(_ context.Context, as []Alert) error {
		for _, a := range as {
			got = append(got, flatDocString(a.Doc, "n"))
		}
		return nil
	}), Options{Compile: fakeCompiler(map[string][][]cond{"ev": {{}}}), Now: testNow, Streaming: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// All stamped in minute 0; ingested in minutes 0, 1, 1 (written as one dotted key) and
	// (none) 0, 2.
	docs := []string{
		`{"_index":"logs-x","@timestamp":"2026-01-01T00:00:01Z","event":{"ingested":"2026-01-01T00:00:30Z"},"n":0}`,
		`{"_index":"logs-x","@timestamp":"2026-01-01T00:00:02Z","event":{"ingested":"2026-01-01T00:01:10Z"},"n":1}`,
		`{"_index":"logs-x","@timestamp":"2026-01-01T00:00:03Z","event.ingested":"2026-01-01T00:01:20Z","n":2}`,
		`{"_index":"logs-x","@timestamp":"2026-01-01T00:00:04Z","n":3}`,
		`{"_index":"logs-x","@timestamp":"2026-01-01T00:00:05Z","event":{"ingested":"2026-01-01T00:02:00Z"},"n":4}`,
	}
	for i, doc := range docs {
		if err := d.Process(ctx, []byte(doc), EventSource{Name: "t", Line: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 1 4]" || d.Summary().Rules[0].Capped != 2 {
		t.Errorf("alerts for events %v (want [0 1 4]), capped %d (want 2)", got, d.Summary().Rules[0].Capped)
	}
}
