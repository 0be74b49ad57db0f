package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
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
				indexSample: -1}) // no sampled events, which Process handles itself
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
				indexSample: -1})
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
				Workers: workers, indexSample: -1})
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

// TestCloseAfterCancelAsync checks the same with Options.Async, where the in-order goroutine
// writes the alerts: the batches it has not consumed yet when Close is called are written
// with Close's context, not with the cancelled one of the Process calls that sent them. The
// first batch ends with a malformed document, whose report holds the in-order goroutine
// between two batches until Close has handed over its context.
func TestCloseAfterCancelAsync(t *testing.T) {
	r := &rule.Rule{RuleID: "e", Name: "e", Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100000, Query: `any where true`}
	const events = 3*batchSize + 10
	held, release := make(chan struct{}), make(chan struct{})
	written := 0
	d, err := New([]*rule.Rule{r}, SinkFunc(func(ctx context.Context, as []Alert) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		written += len(as)
		return nil
	}), Options{Now: testNow, Compile: fakeCompiler(map[string][][]cond{"e": {{}}}), Streaming: true,
		Workers: 2, Async: true, indexSample: -1, OnEventError: func(error) {
			close(held)
			<-release
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	for i := range events {
		doc := fmt.Sprintf(`{"@timestamp":"2026-01-01T00:00:%02d.%03dZ","a":%d}`, i/1000, i%1000, i)
		if i == batchSize-1 {
			doc = `{`
		}
		if err := d.Process(ctx, []byte(doc), EventSource{Name: "t", Line: i + 1, Seq: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	<-held // the in-order goroutine is at the end of the first batch
	cancel()
	closed := make(chan error)
	go func() { closed <- d.Close(context.Background()) }()
	for len(d.pipe.closing) == 0 {
		runtime.Gosched()
	}
	close(release)
	if err := <-closed; err != nil || written != events-1 {
		t.Errorf("Close error %v, %d alerts written, want none and %d", err, written, events-1)
	}
}

// TestAlertRuleFields checks the rule fields alerts carry, for a prebuilt rule read from a
// TOML file (dates from [metadata]), a rule from a Kibana export (its own users, dates,
// rule_source, related integrations and required fields) and a custom rule that says
// nothing (the defaults), and kibana.alert.url with and without a Kibana URL and space.
func TestAlertRuleFields(t *testing.T) {
	prebuilt := &rule.Rule{RuleID: "9c260313-c811-4ec8-ab89-8f6530e0246c", Name: "Hosts File Modified", Type: "eql", Language: "eql",
		Severity: "medium", RiskScore: 47, MaxSignals: 100, From: "now-9m", To: "now", Interval: "5m", Enabled: true,
		Query: `file where true`, Note: "## Triage", Immutable: true,
		CreatedAt: "2020-07-07T00:00:00.000Z", UpdatedAt: "2026-02-02T00:00:00.000Z",
		TimelineID: "4d4c0b59-ea83-483f-b8c1-8c360ee53c5c", TimelineTitle: "Comprehensive File Timeline",
		InvestigationFields: &rule.InvestigationFields{FieldNames: []string{"host.name", "file.path"}}}
	exported := &rule.Rule{ID: "5d1c2a3b-0000-4000-8000-00000000e1e1", RuleID: "x-exported", Name: "Exported", Type: "eql", Language: "eql",
		Severity: "low", RiskScore: 21, MaxSignals: 100, From: "now-6m", To: "now", Interval: "5m", Query: `any where true`,
		Immutable: true, RuleSource: map[string]any{"type": "external", "is_customized": true},
		CreatedAt: "2025-06-01T07:00:00Z", CreatedBy: "soc-admin", UpdatedAt: "2025-06-02T08:30:00.5+02:00", UpdatedBy: "jane",
		RelatedIntegrations: []rule.RelatedIntegration{{Package: "endpoint", Version: "^8.2.0"}, {Package: "windows", Version: "^2.0.0", Integration: "sysmon_operational"}},
		RequiredFields:      []rule.RequiredField{{Name: "event.type", Type: "keyword", ECS: true}}}
	custom := &rule.Rule{RuleID: "x-custom", Name: "Custom", Type: "eql", Language: "eql", Severity: "high", RiskScore: 73,
		MaxSignals: 100, From: "now-6m", To: "now", Interval: "5m", Query: `any where true`}
	keys := []string{"event.kind", "kibana.alert.rule.created_at", "kibana.alert.rule.created_by", "kibana.alert.rule.updated_at",
		"kibana.alert.rule.updated_by", "kibana.alert.rule.immutable", "kibana.alert.rule.timeline_id", "kibana.alert.rule.timeline_title",
		"kibana.alert.rule.note", "kibana.alert.url"}
	params := []string{"immutable", "rule_source", "investigation_fields", "related_integrations", "required_fields",
		"timeline_id", "timeline_title", "note", "filters", "setup"}
	src := `{"@timestamp":"2026-01-01T00:00:00Z","event":{"kind":"event","category":"file"},"host":{"name":"h"}}`
	for _, tc := range []struct {
		r          *rule.Rule
		url, space string
		want       string
	}{
		{prebuilt, "https://kibana.example.com:5601/", "default", `event.kind="signal" ` +
			`kibana.alert.rule.created_at="2020-07-07T00:00:00.000Z" kibana.alert.rule.created_by="elastic" ` +
			`kibana.alert.rule.updated_at="2026-02-02T00:00:00.000Z" kibana.alert.rule.updated_by="elastic" kibana.alert.rule.immutable=true ` +
			`kibana.alert.rule.timeline_id="4d4c0b59-ea83-483f-b8c1-8c360ee53c5c" kibana.alert.rule.timeline_title="Comprehensive File Timeline" ` +
			`kibana.alert.rule.note="## Triage" ` +
			`kibana.alert.url="https://kibana.example.com:5601/app/security/alerts/redirect/{id}?index=.alerts-security.alerts-default\u0026timestamp=2026-04-20T12:00:00.000Z" ` +
			`| immutable=true rule_source={"is_customized":false,"type":"external"} investigation_fields={"field_names":["host.name","file.path"]} ` +
			`related_integrations=[] required_fields=[] timeline_id="4d4c0b59-ea83-483f-b8c1-8c360ee53c5c" timeline_title="Comprehensive File Timeline" ` +
			`note="## Triage" filters=(absent) setup=""`},
		{exported, "http://localhost:5601/kbn", "soc", `event.kind="signal" ` +
			`kibana.alert.rule.created_at="2025-06-01T07:00:00.000Z" kibana.alert.rule.created_by="soc-admin" ` +
			`kibana.alert.rule.updated_at="2025-06-02T06:30:00.500Z" kibana.alert.rule.updated_by="jane" kibana.alert.rule.immutable=true ` +
			`kibana.alert.rule.timeline_id=(absent) kibana.alert.rule.timeline_title=(absent) kibana.alert.rule.note=(absent) ` +
			`kibana.alert.url="http://localhost:5601/kbn/s/soc/app/security/alerts/redirect/{id}?index=.alerts-security.alerts-soc\u0026timestamp=2026-04-20T12:00:00.000Z" ` +
			`| immutable=true rule_source={"is_customized":true,"type":"external"} investigation_fields=(absent) ` +
			`related_integrations=[{"package":"endpoint","version":"^8.2.0"},{"integration":"sysmon_operational","package":"windows","version":"^2.0.0"}] ` +
			`required_fields=[{"ecs":true,"name":"event.type","type":"keyword"}] timeline_id=(absent) timeline_title=(absent) ` +
			`note=(absent) filters=(absent) setup=""`},
		{custom, "", "default", `event.kind="signal" ` +
			`kibana.alert.rule.created_at="2026-04-20T12:00:00.000Z" kibana.alert.rule.created_by="elastic" ` +
			`kibana.alert.rule.updated_at="2026-04-20T12:00:00.000Z" kibana.alert.rule.updated_by="elastic" kibana.alert.rule.immutable=false ` +
			`kibana.alert.rule.timeline_id=(absent) kibana.alert.rule.timeline_title=(absent) kibana.alert.rule.note=(absent) kibana.alert.url=(absent) ` +
			`| immutable=false rule_source={"type":"internal"} investigation_fields=(absent) related_integrations=[] required_fields=[] ` +
			`timeline_id=(absent) timeline_title=(absent) note=(absent) filters=(absent) setup=""`},
	} {
		bl := builder{space: tc.space, now: isoMillis(testNow), url: tc.url, version: "9.3.0", alertIdx: AlertsIndex(tc.space), fit: ecsTree}
		doc, err := parseDocument([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		a, err := bl.eventAlert(bl.newRuleInfo(tc.r, eqlKind{}), matchedEvent{id: "e1", index: "logs-x", src: doc})
		if err != nil {
			t.Fatal(err)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(a.Doc, &top); err != nil {
			t.Fatal(err)
		}
		var p map[string]json.RawMessage
		if err := json.Unmarshal(top["kibana.alert.rule.parameters"], &p); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+"="+orAbsent(string(top[k])))
		}
		parts = append(parts, "|")
		for _, k := range params {
			parts = append(parts, k+"="+orAbsent(string(p[k])))
		}
		want := strings.ReplaceAll(tc.want, "{id}", a.ID)
		if got := strings.Join(parts, " "); got != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.r.Name, got, want)
		}
		// Kibana removes kind from the source's event object and writes event.kind beside it.
		if got := string(top["event"]); got != `{"category":"file"}` {
			t.Errorf("%s: event = %s, want the source's without kind", tc.r.Name, got)
		}
		if vs := indexViolations(testAlertsMapping(t), a.Doc); len(vs) > 0 {
			t.Errorf("%s: the alert would not be indexed: %q", tc.r.Name, vs)
		}
	}
}

// TestSinkContext: the Sink is called with the context of the Detector method whose work
// made the alerts: Process's for an event handled there (streaming, no workers), Close's
// for the alerts batch mode keeps until Close.
func TestSinkContext(t *testing.T) {
	type key struct{}
	r := &rule.Rule{RuleID: "e", Name: "e", Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100, Query: `any where true`}
	for _, c := range []struct {
		name      string
		streaming bool
		want      []string
	}{
		{"streaming", true, []string{"process 1", "process 2"}},
		{"batch", false, []string{"close", "close"}},
	} {
		var got []string
		sink := SinkFunc(func(ctx context.Context, alerts []Alert) error {
			s, _ := ctx.Value(key{}).(string)
			got = append(got, s)
			return nil
		})
		d, err := New([]*rule.Rule{r}, sink, Options{Now: testNow, Compile: fakeCompiler(map[string][][]cond{"e": {{}}}),
			Streaming: c.streaming, Workers: 1, indexSample: -1})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 2; i++ {
			ctx := context.WithValue(context.Background(), key{}, fmt.Sprintf("process %d", i))
			if err := d.Process(ctx, []byte(`{"@timestamp":"2026-01-01T00:00:00Z","a":1}`), EventSource{Name: "t", Line: i}); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Close(context.WithValue(context.Background(), key{}, "close")); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: sink contexts %q, want %q", c.name, got, c.want)
		}
	}
}
