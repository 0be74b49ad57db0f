package detect

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/rule"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// testNow is the fixed alert creation time of the golden files.
var testNow = time.Date(2026, 4, 20, 12, 0, 0, 0, time.UTC)

// cond is a field equality for the fake compiler: the field's string or boolean value.
type cond struct{ field, value string }

// fakeCompiler stands in for the engine: each rule's stages are a conjunction of conds,
// matched in input order (a sequence is the next event of each stage in turn).
func fakeCompiler(stages map[string][][]cond) CompileFunc {
	return func(req CompileRequest) (*Compiled, error) {
		sts, ok := stages[req.Rule.RuleID]
		if !ok {
			return nil, fmt.Errorf("fake compiler: no stages for %s", req.Rule.RuleID)
		}
		fr := &fakeRunner{emit: req.Emit, seq: IsSequence(req.Statement)}
		for _, st := range sts {
			var fs []fakeCond
			for _, c := range st {
				fs = append(fs, fakeCond{req.Fields.Add(c.field), c.value})
			}
			fr.stages = append(fr.stages, fs)
		}
		return &Compiled{Runner: fr, Sequence: fr.seq, Categories: Categories(req.Statement),
			CategoryField: req.Rule.EventCategoryOverride}, nil
	}
}

type fakeCond struct {
	slot  event.Slot
	value string
}

type fakeRunner struct {
	stages [][]fakeCond
	seq    bool
	buf    []*event.Event
	emit   func([]*event.Event)
	pushed int
}

func (f *fakeRunner) matches(ev *event.Event, st []fakeCond) bool {
	for _, c := range st {
		ok := false
		for _, v := range ev.Values(c.slot) {
			if (v.Kind == event.KindString && v.Str == c.value) ||
				(v.Kind == event.KindBool && fmt.Sprint(v.Int == 1) == c.value) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (f *fakeRunner) Push(ev *event.Event) error {
	f.pushed++
	st := f.stages[len(f.buf)]
	if !f.matches(ev, st) {
		return nil
	}
	f.buf = append(f.buf, ev.Clone())
	if len(f.buf) == len(f.stages) {
		f.emit(f.buf)
		f.buf = nil
	}
	return nil
}

func (f *fakeRunner) Flush(context.Context) error { return nil }

var testStages = map[string][][]cond{
	"aaaaaaaa-0000-4000-8000-000000000001": {{{"process.interactive", "true"}, {"process.name", "python3"}}},
	"aaaaaaaa-0000-4000-8000-000000000002": {{{"process.interactive", "true"}}, {{"data_stream.dataset", "kubernetes.audit_logs"}}},
}

// runFile runs the rules over an NDJSON file and returns the alerts and the summary.
// fileOrigin is an event.Origin reading documents again from their files, counting reads.
type fileOrigin struct{ reads atomic.Int64 }

func (o *fileOrigin) ReadDoc(source string, offset int64, n int) ([]byte, error) {
	o.reads.Add(1)
	f, err := os.Open(source)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc := make([]byte, n)
	_, err = f.ReadAt(doc, offset)
	return doc, err
}

func runFile(t *testing.T, rules []*rule.Rule, path string, opts Options) ([]Alert, *Summary, []string) {
	t.Helper()
	return runFileDetector(t, rules, path, opts, nil)
}

// runFileDetector is runFile that also sets *dp, when given, to the Detector.
func runFileDetector(t *testing.T, rules []*rule.Rule, path string, opts Options, dp **Detector) ([]Alert, *Summary, []string) {
	t.Helper()
	if opts.Origin != nil { // a stand-in: read documents again from the file
		opts.Origin = &fileOrigin{}
	}
	// source returns the EventSource of line i at offset off: with the offset when the
	// documents can be read again.
	source := func(i int, off int64) EventSource {
		return EventSource{Name: path, Line: i + 1, Seq: uint64(i), Offset: off, HasOffset: opts.Origin != nil}
	}
	if opts.Replay != nil { // a stand-in: read the file again
		opts.Replay = func(ctx context.Context, fn func([]byte, EventSource) error) error {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			off := int64(0)
			for i, line := range bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n")) {
				if err := fn(line, source(i, off)); err != nil {
					return err
				}
				off += int64(len(line)) + 1
			}
			return nil
		}
	}
	var alerts []Alert
	var evErrs []string
	opts.OnEventError = func(err error) { evErrs = append(evErrs, err.Error()) }
	d, err := New(rules, SinkFunc(func(_ context.Context, as []Alert) error { alerts = append(alerts, as...); return nil }), opts)
	if err != nil {
		t.Fatal(err)
	}
	if dp != nil {
		*dp = d
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	off := int64(0)
	var buf []byte
	for i, line := range lines {
		// The document lives in a buffer that is overwritten once Process returns, as an
		// input reader's is: whatever the Detector keeps must be its own copy.
		buf = append(buf[:0], line...)
		if err := d.Process(ctx, buf, source(i, off)); err != nil {
			t.Fatal(err)
		}
		for j := range buf {
			buf[j] = '#'
		}
		off += int64(len(line)) + 1
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return alerts, d.Summary(), evErrs
}

func loadTestRules(t *testing.T) []*rule.Rule {
	t.Helper()
	set, err := rule.Load(context.Background(), "testdata/rules")
	if err != nil || len(set.Errors) > 0 || len(set.Skipped) > 0 {
		t.Fatalf("loading test rules: %v %v %v", err, set.Errors, set.Skipped)
	}
	return set.Rules
}

// flatten turns a JSON document into dotted paths → JSON text of the leaf (arrays whole).
func flatten(prefix string, v any, out map[string]string) {
	if m, ok := v.(map[string]any); ok {
		for k, sub := range m {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, sub, out)
		}
		return
	}
	b, _ := json.Marshal(v)
	out[prefix] = string(b)
}

func flatDoc(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("alert is not JSON: %v", err)
	}
	out := map[string]string{}
	flatten("", v, out)
	return out
}

// compareGolden compares alerts with a golden NDJSON file field by field.
func compareGolden(t *testing.T, alerts []Alert, golden string) {
	t.Helper()
	if *update {
		var buf bytes.Buffer
		for _, a := range alerts {
			var v any
			_ = json.Unmarshal(a.Doc, &v)
			b, _ := json.MarshalIndent(v, "", "")
			buf.Write(bytes.ReplaceAll(b, []byte("\n"), nil))
			buf.WriteByte('\n')
		}
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var want [][]byte
	for sc.Scan() {
		want = append(want, append([]byte(nil), sc.Bytes()...))
	}
	if len(want) != len(alerts) {
		t.Fatalf("%d alerts, golden %s has %d", len(alerts), golden, len(want))
	}
	for i := range alerts {
		// Flattened, {"event.kind":...} and {"event":{"kind":...}} look the same: the
		// top-level keys tell them apart.
		if got, exp := topKeys(t, alerts[i].Doc), topKeys(t, want[i]); !reflect.DeepEqual(got, exp) {
			t.Errorf("alert %d top-level keys\n%q\nwant\n%q", i, got, exp)
		}
		got, exp := flatDoc(t, alerts[i].Doc), flatDoc(t, want[i])
		var keys []string
		for k := range exp {
			keys = append(keys, k)
		}
		for k := range got {
			if _, ok := exp[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if got[k] != exp[k] {
				t.Errorf("alert %d field %s = %s, want %s", i, k, orAbsent(got[k]), orAbsent(exp[k]))
			}
		}
	}
}

// topKeys returns the top-level keys of a JSON object, sorted.
func topKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("alert is not a JSON object: %v", err)
	}
	return sortedKeysOf(m)
}

func sortedKeysOf[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func orAbsent(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}

func TestAlertsGolden(t *testing.T) {
	rules := loadTestRules(t)
	alerts, sum, evErrs := runFile(t, rules, "testdata/events.ndjson", Options{Compile: fakeCompiler(testStages), Now: testNow})
	compareGolden(t, alerts, "testdata/alerts.golden.ndjson")

	var kinds []string
	for _, a := range alerts {
		kinds = append(kinds, a.Kind.String()+" "+a.Rule.RuleID[len(a.Rule.RuleID)-1:])
	}
	if want := []string{"event 1", "event 1", "shell 2", "building_block 2", "building_block 2"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("alert kinds = %q, want %q", kinds, want)
	}

	// Ids recomputed here from alert-schema.md section 7, independently of the builder.
	lines := readLines(t, "testdata/events.ndjson")
	evID := func(n int) string {
		s := sha256.Sum256(lines[n-1])
		return base64.RawURLEncoding.EncodeToString(s[:15])
	}
	hexsum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	r1, r2 := "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"
	procIdx, auditIdx := "logs-cloud_defend.process-default", "logs-kubernetes.audit_logs-default"
	base := evID(1) + procIdx + r2 + evID(2) + auditIdx + r2
	bb0, bb1 := hexsum(base+"0"), hexsum(base+"1")
	shell := hexsum(evID(1) + procIdx + bb0 + "" + evID(2) + auditIdx + bb1 + "" + r2)
	wantIDs := []string{
		hexsum(procIdx + evID(1) + "undefined" + "default" + ":" + r1),
		hexsum("" + evID(4) + "undefined" + "default" + ":" + r1),
		shell, bb0, bb1,
	}
	for i, a := range alerts {
		if i < len(wantIDs) && a.ID != wantIDs[i] {
			t.Errorf("alert %d id = %s, want %s", i, a.ID, wantIDs[i])
		}
		if got := flatDoc(t, a.Doc)["kibana.alert.uuid"]; got != `"`+a.ID+`"` {
			t.Errorf("alert %d kibana.alert.uuid = %s, Alert.ID %s", i, got, a.ID)
		}
	}

	wantSum := Summary{
		RulesLoaded: 2,
		RulesSkipped: []SkippedRule{{RuleID: "aaaaaaaa-0000-4000-8000-000000000003", Name: "Broken query",
			Source: "testdata/rules/broken_query.toml",
			Reason: "query: line 2:1: Unexpected end of query, expected an expression"}},
		EventsRead: 7, EventsSkipped: 1, EventsWithoutIndex: 1, Alerts: 5,
		Rules: []*RuleStats{
			{RuleID: r1, Name: "Interactive python in a container", EventsOffered: 3, Matches: 2, Alerts: 2},
			{RuleID: r2, Name: "Interactive API request from a pod", EventsOffered: 6, Matches: 1, Alerts: 3},
		},
	}
	if !reflect.DeepEqual(*sum, wantSum) {
		gotJ, _ := json.MarshalIndent(sum, "", " ")
		wantJ, _ := json.MarshalIndent(wantSum, "", " ")
		t.Errorf("summary =\n%s\nwant\n%s", gotJ, wantJ)
	}
	if len(evErrs) != 1 || !strings.HasPrefix(evErrs[0], "testdata/events.ndjson:5: offset ") {
		t.Errorf("event errors = %q", evErrs)
	}

	// A second run gives the same documents byte for byte.
	again, _, _ := runFile(t, rules, "testdata/events.ndjson", Options{Compile: fakeCompiler(testStages), Now: testNow})
	for i := range alerts {
		if !bytes.Equal(alerts[i].Doc, again[i].Doc) {
			t.Errorf("alert %d differs between runs", i)
		}
	}
}

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
}

// TestOriginChangedFile checks Options.Origin when an input file changes before the alerts
// are written: the event a sequence kept by reference no longer reads the same, so its alert
// is reported through OnEventError and not written, and the other sequence's alerts are; the
// file as it was gives both. With two workers the alerts are built concurrently at Close.
func TestOriginChangedFile(t *testing.T) {
	r := &rule.Rule{RuleID: "seq", Name: "seq", Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100,
		Index: []string{"logs-*"}, Query: `sequence by host.id [process where process.name == "a"] [process where process.name == "b"]`}
	docs := `{"@timestamp":"2026-01-01T00:00:01Z","_index":"logs-x","event":{"category":"process"},"host":{"id":"h"},"process":{"name":"a"}}` + "\n" +
		`{"@timestamp":"2026-01-01T00:00:02Z","_index":"logs-x","event":{"category":"process"},"host":{"id":"k"},"process":{"name":"a"}}` + "\n" +
		`{"@timestamp":"2026-01-01T00:00:03Z","_index":"logs-x","event":{"category":"process"},"host":{"id":"h"},"process":{"name":"b"}}` + "\n" +
		`{"@timestamp":"2026-01-01T00:00:04Z","_index":"logs-x","event":{"category":"process"},"host":{"id":"k"},"process":{"name":"b"}}` + "\n"
	for _, c := range []struct {
		change  bool
		workers int
	}{{false, 1}, {true, 1}, {false, 2}, {true, 2}} {
		path := filepath.Join(t.TempDir(), "events.ndjson")
		if err := os.WriteFile(path, []byte(docs), 0o644); err != nil {
			t.Fatal(err)
		}
		var alerts []Alert
		var evErrs []string
		o := &fileOrigin{}
		d, err := New([]*rule.Rule{r}, SinkFunc(func(_ context.Context, as []Alert) error { alerts = append(alerts, as...); return nil }),
			Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow, Workers: c.workers, Origin: o,
				OnEventError: func(err error) { evErrs = append(evErrs, err.Error()) }})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		off := int64(0)
		for i, line := range strings.SplitAfter(strings.TrimSuffix(docs, "\n"), "\n") {
			doc := strings.TrimSuffix(line, "\n")
			if err := d.Process(ctx, []byte(doc), EventSource{Name: path, Line: i + 1, Seq: uint64(i), Offset: off, HasOffset: true}); err != nil {
				t.Fatal(err)
			}
			off += int64(len(line))
		}
		if c.change { // the first event's host, same length
			if err := os.WriteFile(path, []byte(strings.Replace(docs, `"id":"h"`, `"id":"g"`, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if o.reads.Load() == 0 {
			t.Errorf("%+v: the kept events were copied, not read again", c)
		}
		var hosts []string
		for _, a := range alerts {
			if a.Kind == ShellAlert {
				hosts = append(hosts, strings.Join(strValues(mustParse(t, a.Doc), "host.id"), ","))
			}
		}
		switch {
		case !c.change && (len(alerts) != 6 || strings.Join(hosts, " ") != "h k" || len(evErrs) != 0 || d.Summary().AlertsNotWritten != 0):
			t.Errorf("%+v: %d alerts (shells of %q), errors %q, %d not written; want 6 (h and k: a shell and two building blocks each), none",
				c, len(alerts), hosts, evErrs, d.Summary().AlertsNotWritten)
		case c.change && (len(alerts) != 3 || strings.Join(hosts, " ") != "k" || len(evErrs) != 1 || d.Summary().AlertsNotWritten != 1 ||
			evErrs[0] != path+`:1: the document changed since it was read: an alert of rule "seq" not written`):
			t.Errorf("%+v: %d alerts (shells of %q), errors %q, %d not written; want k's 3, the change reported and counted",
				c, len(alerts), hosts, evErrs, d.Summary().AlertsNotWritten)
		}
	}
}

func mustParse(t *testing.T, raw []byte) document {
	t.Helper()
	doc, err := parseDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
