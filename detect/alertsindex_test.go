package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/rule"
)

// This file models how Elasticsearch indexes a document under a mapping with dynamic: false
// (as Kibana's alerts index has: unmapped fields are kept in _source, not indexed), to check
// that the alerts Tripline writes would be indexed. It is independent of fit.go, which
// decides what to remove: it reads the mapping through mapping.Resolve and values through
// mapping.Field.Normalize.

// alertsIndexMapping is the mapping of Kibana's security alerts index as the tests see it:
// mapping.ECS(), the kibana.* fields of testdata/alerts-index-kibana.json, and
// kibana.alert.original_event.* and .original_data_stream.* with the ECS types of event.*
// and data_stream.*.
var alertsIndexMapping = sync.OnceValues(func() (*mapping.Mapping, error) {
	raw, err := os.ReadFile("testdata/alerts-index-kibana.json")
	if err != nil {
		return nil, err
	}
	kib, err := mapping.Parse(raw)
	if err != nil {
		return nil, err
	}
	ecs := mapping.ECS()
	props := map[string]any{}
	for _, p := range ecs.Paths() {
		f, _ := ecs.Resolve(p)
		var dst string
		switch {
		case f.Source != p || f.Type == mapping.Unknown:
			continue
		case strings.HasPrefix(p, "event."):
			dst = "kibana.alert.original_event." + p[len("event."):]
		case strings.HasPrefix(p, "data_stream."):
			dst = "kibana.alert.original_data_stream." + p[len("data_stream."):]
		default:
			continue
		}
		// Nested properties, one level per part of the path.
		m := props
		parts := strings.Split(dst, ".")
		for _, part := range parts[:len(parts)-1] {
			obj, _ := m[part].(map[string]any)
			if obj == nil {
				obj = map[string]any{"properties": map[string]any{}}
				m[part] = obj
			}
			m = obj["properties"].(map[string]any)
		}
		m[parts[len(parts)-1]] = map[string]any{"type": f.Type.String()}
	}
	origRaw, err := json.Marshal(map[string]any{"properties": props})
	if err != nil {
		return nil, err
	}
	orig, err := mapping.Parse(origRaw)
	if err != nil {
		return nil, err
	}
	return mapping.Merge(ecs, kib, orig)
})

// testAlertsMapping returns alertsIndexMapping or fails the test.
func testAlertsMapping(t testing.TB) *mapping.Mapping {
	t.Helper()
	m, err := alertsIndexMapping()
	if err != nil {
		t.Fatalf("alerts index mapping: %v", err)
	}
	return m
}

// esMetadataFields are the names Elasticsearch refuses at the top of a document.
var esMetadataFields = []string{"_id", "_index", "_routing", "_ignored", "_ignored_source", "_source",
	"_seq_no", "_primary_term", "_version", "_field_names", "_tier", "_nested_path", "_data_stream_timestamp"}

// indexViolations returns why Elasticsearch would refuse to index the JSON document raw
// under m with dynamic: false, one message per offending value, sorted; none when it would
// index it.
func indexViolations(m *mapping.Mapping, raw []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return []string{"not a JSON object: " + err.Error()}
	}
	var out []string
	for _, k := range esMetadataFields {
		if _, ok := doc[k]; ok {
			out = append(out, k+": a metadata field in the document")
		}
	}
	v := validator{m: m, out: &out}
	v.object("", doc)
	sort.Strings(out)
	return out
}

type validator struct {
	m   *mapping.Mapping
	out *[]string
}

func (v validator) fail(path, format string, args ...any) {
	*v.out = append(*v.out, path+": "+fmt.Sprintf(format, args...))
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// object checks the keys of an object at path prefix ("" for the document).
func (v validator) object(prefix string, obj map[string]any) {
	for k, val := range obj {
		parts := strings.Split(k, ".")
		bad := false
		for _, p := range parts {
			if strings.TrimSpace(p) == "" {
				bad = true
			}
		}
		if bad {
			v.fail(join(prefix, k), "a field name with an empty part")
			continue
		}
		// A dotted name stands for objects: each part before the last must be one.
		path, below := prefix, false
		for _, p := range parts[:len(parts)-1] {
			path = join(path, p)
			f, ok := v.m.Resolve(path)
			if !ok {
				continue
			}
			if f.Type == mapping.Flattened {
				below = true // one keyword field for all below
				break
			}
			if f.Type != mapping.Object {
				v.fail(join(prefix, k), "runs through %s, a %s field", path, f.Type)
				bad = true
				break
			}
		}
		if !bad && !below {
			v.value(join(prefix, k), val)
		}
	}
}

// value checks the value of the field path.
func (v validator) value(path string, val any) {
	f, ok := v.m.Resolve(path)
	if ok && f.Source != path {
		v.fail(path, "a value for a multi-field or alias")
		return
	}
	switch x := val.(type) {
	case nil:
		return
	case []any:
		for _, e := range x {
			v.value(path, e)
		}
		return
	case map[string]any:
		switch {
		case !ok || f.Type == mapping.Object:
			v.object(path, x)
		case f.Type == mapping.Flattened || f.Type == mapping.Unknown:
		default:
			v.fail(path, "an object for a %s field", f.Type)
		}
		return
	}
	if !ok {
		return
	}
	switch {
	case f.Type == mapping.Object:
		v.fail(path, "a value (%v) for an object field", val)
	case f.Type.IsKeywordLike() || f.Type == mapping.Text || f.Type == mapping.Version ||
		f.Type == mapping.Flattened || f.Type == mapping.Unknown:
	default:
		var ev event.Value
		switch x := val.(type) {
		case string:
			if x == "" && f.Type.IsNumeric() {
				return // null to Elasticsearch
			}
			if f.Type.IsNumeric() && !f.Type.IsInteger() {
				x = strings.Trim(x, " \t\n\v\f\r") // Java's parseFloat trims
			}
			ev = event.Value{Kind: event.KindString, Str: x}
		case json.Number:
			ev = numberValue(x)
		case bool:
			ev = event.Value{Kind: event.KindBool}
			if x {
				ev.Int = 1
			}
		}
		if _, ok := f.Normalize(ev); !ok {
			v.fail(path, "%s is not a %s", val, f.Type)
		}
	}
}

// TestIndexViolations checks that the validator finds each kind of document Elasticsearch
// refuses, and passes what it takes.
func TestIndexViolations(t *testing.T) {
	m := testAlertsMapping(t)
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"a clean alert", `{"@timestamp":"2026-01-01T00:00:00.000Z","event.kind":"signal","event":{"category":["process"]},"host":{"name":"h","ip":["10.0.0.1"]},
			"kibana.alert.group.index":0,"kibana.alert.rule.parameters":{"any":{"thing":[1,"x"]}},"kibana.alert.original_event.ingested":"2026-01-01T00:00:00Z","foo":{"bar":{"x":1}}}`, nil},
		{"an ip that is not one", `{"source":{"ip":"not-an-ip"}}`, []string{"source.ip: not-an-ip is not a ip"}},
		{"a long that is not one", `{"process":{"pid":"abc"}}`, []string{"process.pid: abc is not a long"}},
		{"a date that is not one", `{"@timestamp":"yesterday"}`, []string{"@timestamp: yesterday is not a date"}},
		{"a boolean that is not one", `{"dll":{"code_signature":{"exists":"yes"}}}`, []string{"dll.code_signature.exists: yes is not a boolean"}},
		{"a float that is not one", `{"event":{"risk_score":"high"}}`, []string{"event.risk_score: high is not a float"}},
		{"an element of an array", `{"host":{"ip":["10.0.0.1","x"]}}`, []string{"host.ip: x is not a ip"}},
		{"a scalar for an object", `{"host":{"os":"linux"}}`, []string{"host.os: a value (linux) for an object field"}},
		{"a dotted scalar for an object", `{"host.os":"linux"}`, []string{"host.os: a value (linux) for an object field"}},
		{"an object for a keyword", `{"host":{"name":{"first":"h"}}}`, []string{"host.name: an object for a keyword field"}},
		{"a name through a keyword", `{"host.name.first":"h"}`, []string{"host.name.first: runs through host.name, a keyword field"}},
		{"a multi-field", `{"process":{"command_line":{"text":"x"}}}`, []string{"process.command_line: an object for a wildcard field"}},
		{"a kibana field of the wrong type", `{"kibana.alert.group.index":"first","kibana.alert.rule.created_at":"now"}`,
			[]string{"kibana.alert.group.index: first is not a integer", "kibana.alert.rule.created_at: now is not a date"}},
		{"an original_event field of the wrong type", `{"kibana.alert.original_event.ingested":"soon"}`,
			[]string{"kibana.alert.original_event.ingested: soon is not a date"}},
		{"metadata fields", `{"_id":"x","_index":"i"}`, []string{"_id: a metadata field in the document", "_index: a metadata field in the document"}},
		{"bad names", `{"a..b":1,"c":{"":2}}`, []string{"a..b: a field name with an empty part", "c.: a field name with an empty part"}},
		{"unmapped fields take anything", `{"foo":{"ip":"x"},"process":{"Ext2":{"pid":"abc"}}}`, nil},
	} {
		if got := indexViolations(m, []byte(tc.doc)); !equalStrings(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkAlertsIndex fails the test for every alert that would not be indexed under the
// alerts index's mapping, and returns how many it checked.
func checkAlertsIndex(t *testing.T, what string, alerts []Alert) int {
	t.Helper()
	m := testAlertsMapping(t)
	bad := 0
	for _, a := range alerts {
		if vs := indexViolations(m, a.Doc); len(vs) > 0 {
			if bad++; bad <= 5 {
				t.Errorf("%s: alert %s (%s, rule %s) would not be indexed: %q", what, a.ID, a.Kind, a.Rule.Name, vs)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d alerts in all would not be indexed", what, bad)
	}
	return len(alerts)
}

// TestAlertsIndexMapping runs rules over events whose values conflict with ECS (an ip, a
// long and a date that are not ones, scalars where ECS maps objects and objects where it
// maps scalars, a multi-field key, empty arrays and objects, a forged kibana.* field), and
// the example rules over the example events: Elasticsearch would refuse the events as they
// are under the alerts index's mapping, and take every alert. The values left out are
// exactly the conflicting ones; ids and reasons come from the events as they are, as in
// Kibana (source 127.0.0.1 in a reason is the event's, even when not an address).
func TestAlertsIndexMapping(t *testing.T) {
	m := testAlertsMapping(t)
	lines := readLines(t, "testdata/conflicts.ndjson")
	wantRaw := [][]string{
		{"_id: a metadata field in the document", "event.created: yesterday is not a date", "host.ip: 10.0.0 is not a ip",
			"host.os: a value (linux) for an object field", "process.command_line.text: runs through process.command_line, a wildcard field",
			"process.pid: abc is not a long", "source.ip: not-an-ip is not a ip", "user.name.first: runs through user.name, a keyword field"},
		{"_id: a metadata field in the document", "destination.port: http is not a long", "dns.answers: a value (a) for an object field",
			"network.bytes: many is not a long"},
		{"_id: a metadata field in the document", "process.exit_code: none is not a long"},
	}
	for i, l := range lines {
		if got := indexViolations(m, l); !equalStrings(got, wantRaw[i]) {
			t.Errorf("event %d as it is:\n got %q\nwant %q", i+1, got, wantRaw[i])
		}
	}
	rules := []*rule.Rule{
		{RuleID: "cccccccc-0000-4000-8000-000000000001", Name: "Any event", Type: "eql", Language: "eql", Severity: "low",
			RiskScore: 21, MaxSignals: 100, Interval: "5m", Query: `any where true`},
		{RuleID: "cccccccc-0000-4000-8000-000000000002", Name: "Process then network", Type: "eql", Language: "eql", Severity: "medium",
			RiskScore: 47, MaxSignals: 100, Interval: "5m", Query: `sequence by host.name with maxspan=1m [process where true] [network where true]`},
		{RuleID: "cccccccc-0000-4000-8000-000000000003", Name: "Lonely process", Type: "eql", Language: "eql", Severity: "high",
			RiskScore: 73, MaxSignals: 100, Interval: "5m", Query: `sequence with maxspan=1s [process where process.name == "lonely"] ![file where true]`},
	}
	alerts, _, evErrs := runFile(t, rules, "testdata/conflicts.ndjson", Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow})
	if len(evErrs) > 0 {
		t.Fatalf("event errors: %q", evErrs)
	}
	checkAlertsIndex(t, "conflicts", alerts)
	var got []string
	for _, a := range alerts {
		f := flatDoc(t, a.Doc)
		var keys []string
		for k := range f {
			if !strings.HasPrefix(k, "kibana.alert.rule.") && k != "kibana.alert.ancestors" && k != "kibana.alert.uuid" &&
				k != "kibana.alert.group.id" && k != "@timestamp" && k != "kibana.alert.start" && k != "kibana.alert.last_detected" &&
				k != "kibana.alert.intended_timestamp" && k != "kibana.space_ids" && k != "kibana.version" && !strings.HasPrefix(k, "kibana.alert.workflow") {
				keys = append(keys, k+"="+f[k])
			}
		}
		sort.Strings(keys)
		got = append(got, a.Rule.Name+" "+a.Kind.String()+": "+strings.Join(keys, " "))
	}
	common := func(risk int, sev string) []string {
		return []string{fmt.Sprintf("kibana.alert.risk_score=%d", risk), `kibana.alert.severity="` + sev + `"`, `kibana.alert.status="active"`}
	}
	reason := func(format, sev, name string) []string {
		return []string{`kibana.alert.reason="` + fmt.Sprintf(format, sev, name) + `"`}
	}
	bb := func(i int) []string {
		return []string{`kibana.alert.building_block_type="default"`, `kibana.alert.depth=1`, fmt.Sprintf("kibana.alert.group.index=%d", i)}
	}
	// What is left of each event: host.os, source.ip, process.pid, event.created, the
	// multi-field and keyword-crossing keys, the empty tags and labels, the forged kibana
	// field, host.ip's "10.0.0", destination.port, network.bytes, dns.answers' "a" and
	// process.exit_code are gone.
	e1 := []string{`data_stream.dataset="cloud_defend.process"`, `data_stream.namespace="default"`, `data_stream.type="logs"`,
		`event.category=["process"]`, `event.dataset="cloud_defend.process"`, `event.kind="signal"`, `event.type=["start"]`,
		`host.ip=["10.0.0.5"]`, `host.name="node-1"`, `kibana.alert.original_data_stream.dataset="cloud_defend.process"`,
		`kibana.alert.original_data_stream.namespace="default"`, `kibana.alert.original_data_stream.type="logs"`,
		`kibana.alert.original_event.category=["process"]`, `kibana.alert.original_event.dataset="cloud_defend.process"`,
		`kibana.alert.original_event.kind="event"`, `kibana.alert.original_event.type=["start"]`,
		`kibana.alert.original_time="2026-03-12T09:14:03.000Z"`, `process.name="bash"`, `process.parent.name="containerd-shim"`,
		`process.parent.pid=1`, `source.port=5000`}
	e1reason := "process event with process bash, parent process containerd-shim, source not-an-ip:5000, on node-1 created %s alert %s."
	e2 := []string{`destination.ip="10.0.0.9"`, `dns.answers=[{"name":"b"}]`, `event.category=["network"]`, `event.kind="signal"`,
		`event.type=["connection"]`, `host.name="node-1"`, `host.os.type="linux"`, `kibana.alert.original_event.category=["network"]`,
		`kibana.alert.original_event.kind="event"`, `kibana.alert.original_event.type=["connection"]`,
		`kibana.alert.original_time="2026-03-12T09:14:04.000Z"`}
	e2reason := "network event with destination 10.0.0.9:http, on node-1 created %s alert %s."
	e3 := []string{`event.category=["process"]`, `event.kind="signal"`, `event.type=["start"]`, `host.name="node-2"`,
		`host.os.type=["linux"]`, `kibana.alert.original_event.category=["process"]`, `kibana.alert.original_event.kind="event"`,
		`kibana.alert.original_event.type=["start"]`, `process.name="lonely"`, `process.pid=42`}
	e3reason := "process event with process lonely, on node-2 created %s alert %s."
	alert := func(head string, parts ...[]string) string {
		var all []string
		for _, p := range parts {
			all = append(all, p...)
		}
		sort.Strings(all)
		return head + ": " + strings.Join(all, " ")
	}
	want := []string{
		alert("Any event event", e1, []string{"kibana.alert.depth=1"}, reason(e1reason, "low", "Any event"), common(21, "low")),
		alert("Any event event", e2, []string{"kibana.alert.depth=1"}, reason(e2reason, "low", "Any event"), common(21, "low")),
		alert("Any event event", e3, []string{"kibana.alert.depth=1", `kibana.alert.original_time="2026-03-12T09:15:00.000Z"`},
			reason(e3reason, "low", "Any event"), common(21, "low")),
		// The shell's source is what both building blocks have in common.
		alert("Process then network shell", []string{`event.kind="signal"`, `host.name="node-1"`, "kibana.alert.depth=2",
			`kibana.alert.original_event.kind="event"`, `kibana.alert.original_time="2026-04-20T12:00:00.000Z"`},
			reason("event on node-1 created %s alert %s.", "medium", "Process then network"), common(47, "medium")),
		alert("Process then network building_block", e1, bb(0), reason(e1reason, "medium", "Process then network"), common(47, "medium")),
		alert("Process then network building_block", e2, bb(1), reason(e2reason, "medium", "Process then network"), common(47, "medium")),
		// One present event and a missing one: the shell is that event's alert as a shell,
		// without group.index nor building_block_type.
		alert("Lonely process shell", e3, []string{"kibana.alert.depth=2", `kibana.alert.original_time="2026-04-20T12:00:00.000Z"`},
			reason(e3reason, "high", "Lonely process"), common(73, "high")),
		alert("Lonely process building_block", e3, bb(0), []string{`kibana.alert.original_time="2026-03-12T09:15:00.000Z"`},
			reason(e3reason, "high", "Lonely process"), common(73, "high")),
	}
	for i := range max(len(got), len(want)) {
		g, w := "(none)", "(none)"
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("alert %d:\n got %s\nwant %s", i, g, w)
		}
	}

	// The example rules over the example events (the README's scenario).
	set, err := rule.Load(context.Background(), filepath.Join(repoRoot(t), "examples", "rules"))
	if err != nil || len(set.Errors) > 0 {
		t.Fatalf("example rules: %v %v", err, set.Errors)
	}
	n := 0
	for _, in := range []string{"cloud-defend-process.ndjson", "kubernetes-audit.ndjson"} {
		alerts, _, _ := runFile(t, set.Rules, filepath.Join(repoRoot(t), "examples", "events", in), Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow})
		n += checkAlertsIndex(t, in, alerts)
	}
	if n == 0 {
		t.Errorf("the example rules raised no alert over the example events")
	}
}
