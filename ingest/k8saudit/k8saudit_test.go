package k8saudit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"github.com/valyala/fastjson"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/internal/testenv"
)

// lines returns the non-blank lines of a file.
func lines(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, append([]byte(nil), l...))
		}
	}
	return out
}

func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("output is not a JSON object: %v\n%s", err, b)
	}
	return m
}

// del removes a dotted path from a decoded document, and parents left empty.
func del(m map[string]any, path string) {
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		delete(m, path)
		return
	}
	if sub, ok := m[head].(map[string]any); ok {
		del(sub, rest)
		if len(sub) == 0 {
			delete(m, head)
		}
	}
}

// diff lists the dotted paths where a and b differ.
func diff(prefix string, a, b any, out *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			diff(prefix+"."+k, am[k], bm[k], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, prefix+": got "+mustJSON(a)+", want "+mustJSON(b))
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// The fields the comparison with Elastic's expected documents leaves out, and why:
//
//   - tags: ["preserve_original_event"] comes from the pipeline test's config file
//     (test-audit.log-config.yml), not from the pipeline; its only effect, keeping
//     event.original, is Options.KeepOriginal.
//   - data_stream.type, data_stream.dataset, data_stream.namespace and event.dataset: set by
//     Elasticsearch's data stream (and the agent), not by the pipeline, so the pipeline test
//     output lacks them; Tripline adds them for index routing and rules that test them.
//
// The expected files hold no ingest-time fields (event.ingested, ecs.version, agent.*,
// elastic_agent.*, host.*, input.type, log.*): those come from the agent and Fleet's final
// pipeline. Options.Timestamp is TimestampNone so that @timestamp is set only where the
// pipeline sets it (AKS). Every other field is compared.
var ignoredOurs = []string{"data_stream", "event.dataset"}
var ignoredExpected = []string{"tags"}

func TestIntegrationExpectedDocuments(t *testing.T) {
	dir := testenv.Shared(t, "samples", "elastic-integrations", "kubernetes-audit_logs")
	tests := []struct {
		input, expected string
		compared        int // expected documents (the first lines of input)
		inputs          int
	}{
		{"test-audit.log", "test-audit.log-expected.json", 4, 5},
		{"test-kube-audit.log", "test-kube-audit.log-expected.json", 1, 1},
	}
	n := New(Options{KeepOriginal: true, Timestamp: TimestampNone})
	for _, tc := range tests {
		t.Run(tc.input, func(t *testing.T) {
			in := lines(t, filepath.Join(dir, tc.input))
			if len(in) != tc.inputs {
				t.Fatalf("%s: %d lines, want %d", tc.input, len(in), tc.inputs)
			}
			raw, err := os.ReadFile(filepath.Join(dir, tc.expected))
			if err != nil {
				t.Fatal(err)
			}
			var exp struct{ Expected []map[string]any }
			if err := json.Unmarshal(raw, &exp); err != nil {
				t.Fatal(err)
			}
			if len(exp.Expected) != tc.compared {
				t.Fatalf("%s: %d expected documents, want %d", tc.expected, len(exp.Expected), tc.compared)
			}
			for i, want := range exp.Expected {
				docs, err := n.Normalize(in[i], nil)
				if err != nil || len(docs) != 1 {
					t.Fatalf("line %d: %d documents, error %v", i+1, len(docs), err)
				}
				got := decode(t, docs[0])
				for _, p := range ignoredOurs {
					del(got, p)
				}
				for _, p := range ignoredExpected {
					del(want, p)
				}
				var d []string
				diff("", got, want, &d)
				for _, s := range d {
					t.Errorf("%s line %d: %s", tc.input, i+1, s)
				}
			}
		})
	}
}

// test-audit.log line 5 (AKS envelope with properties.log as an object) has no expected
// document from Elastic. testdata/aks-object-expected.json is ours: the same steps as the
// string form (checked field by field against data-sources.md §2), including the fields
// Tripline adds (data_stream.*, event.dataset).
func TestAKSObjectForm(t *testing.T) {
	in := lines(t, "testdata/aks-object.log")
	raw, err := os.ReadFile("testdata/aks-object-expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var exp struct{ Expected []map[string]any }
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	docs, err := New(Options{KeepOriginal: true, Timestamp: TimestampNone}).Normalize(in[0], nil)
	if err != nil || len(docs) != 1 {
		t.Fatalf("%d documents, error %v", len(docs), err)
	}
	var d []string
	diff("", decode(t, docs[0]), exp.Expected[0], &d)
	for _, s := range d {
		t.Error(s)
	}
}

// Every raw audit sample in ../shared/samples reads without error, except the falco trace
// that is a deliberately invalid event.
func TestSharedSamples(t *testing.T) {
	samples := testenv.Shared(t, "samples")
	tests := []struct {
		glob       string
		files      int
		lines      int
		docs       int
		badLines   int // lines rejected (with an error)
		withExtra  int // documents whose user.extra holds a pod-name
		responseSt int // documents at stage ResponseStarted
	}{
		{"falco-k8s_audit-trace_files/*.json", 47, 52, 51, 1, 0, 2},
		{"liggitt-audit2rbac/demo.log", 1, 37, 37, 0, 0, 0},
		{"gtrekter-hori-linkerd-k3s/audit-excerpt.jsonl", 1, 6, 6, 0, 6, 2},
		{"elastic-integrations/kubernetes-audit_logs/test-audit.log", 1, 5, 5, 0, 0, 0},
		{"elastic-integrations/kubernetes-audit_logs/test-kube-audit.log", 1, 1, 1, 0, 0, 0},
	}
	n := New(Options{})
	for _, tc := range tests {
		t.Run(tc.glob, func(t *testing.T) {
			files, err := filepath.Glob(filepath.Join(samples, tc.glob))
			if err != nil {
				t.Fatal(err)
			}
			var nLines, nDocs, nBad, nExtra, nStarted int
			for _, f := range files {
				for i, l := range lines(t, f) {
					nLines++
					detected := Detect(l)
					docs, err := n.Normalize(l, nil)
					if err != nil {
						nBad++
						if detected {
							t.Errorf("%s:%d: Detect true but Normalize failed: %v", f, i+1, err)
						}
						var e *Error
						if !errors.As(err, &e) {
							t.Errorf("%s:%d: error %T, want *Error", f, i+1, err)
						}
						continue
					}
					if !detected {
						t.Errorf("%s:%d: normalised, but Detect is false", f, i+1)
					}
					for _, d := range docs {
						nDocs++
						m := decode(t, d)
						audit := m["kubernetes"].(map[string]any)["audit"].(map[string]any)
						if u, ok := audit["user"].(map[string]any); ok {
							if x, ok := u["extra"].(map[string]any); ok && x["authentication.kubernetes.io/pod-name"] != nil {
								nExtra++
							}
						}
						if audit["stage"] == "ResponseStarted" {
							nStarted++
						}
						if Detect(d) {
							t.Errorf("%s:%d: Detect true on the normalised document", f, i+1)
						}
					}
				}
			}
			got := [6]int{len(files), nLines, nDocs, nBad, nExtra, nStarted}
			want := [6]int{tc.files, tc.lines, tc.docs, tc.badLines, tc.withExtra, tc.responseSt}
			if got != want {
				t.Errorf("files, lines, docs, bad, pod-name extras, ResponseStarted = %v, want %v", got, want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	const ev = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"a1","stage":"ResponseComplete",` +
		`"verb":"list","user":{"username":"system:serviceaccount:shop:cart","uid":"u1","extra":{"authentication.kubernetes.io/pod-name":["cart-7f9c"],"empty":[]}},` +
		`"sourceIPs":["10.0.0.7","10.0.0.7"],"objectRef":{"resource":"secrets","namespace":"shop","apiGroup":""},` +
		`"responseStatus":{"metadata":{},"code":403},"requestObject":{"metadata":{"name":"x"},"spec":{"a":[null,"",{},[],1]}},` +
		`"requestReceivedTimestamp":"2026-01-21T10:15:30.120000Z","stageTimestamp":"2026-01-21T10:15:30.999999Z",` +
		`"annotations":{"authorization.k8s.io/decision":"forbid","a.b.c":"x"}}`
	tests := []struct {
		name string
		opts Options
		in   string
		want []string // expected documents, JSON
	}{
		{
			name: "native event, default options",
			in:   ev,
			want: []string{`{"@timestamp":"2026-01-21T10:15:30.999999Z","client":{"ip":["10.0.0.7","10.0.0.7"]},` +
				`"data_stream":{"dataset":"kubernetes.audit_logs","namespace":"default","type":"logs"},` +
				`"event":{"action":"list","dataset":"kubernetes.audit_logs","kind":"event","outcome":"failure"},` +
				`"kubernetes":{"audit":{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"a1","stage":"ResponseComplete","verb":"list",` +
				`"user":{"username":"system:serviceaccount:shop:cart","uid":"u1","extra":{"authentication.kubernetes.io/pod-name":["cart-7f9c"]}},` +
				`"sourceIPs":["10.0.0.7","10.0.0.7"],"objectRef":{"resource":"secrets","namespace":"shop"},"responseStatus":{"code":403},` +
				`"requestObject":{"spec":{"a":[1]}},"requestReceivedTimestamp":"2026-01-21T10:15:30.120000Z","stageTimestamp":"2026-01-21T10:15:30.999999Z",` +
				`"annotations":{"authorization_k8s_io/decision":"forbid","a_b_c":"x"}}},` +
				`"orchestrator":{"api_version":"audit.k8s.io/v1","namespace":"shop","resource":{"type":"secrets"},"type":"kubernetes"},` +
				`"related":{"ip":["10.0.0.7"],"user":["u1","system:serviceaccount:shop:cart"]},"source":{"ip":["10.0.0.7","10.0.0.7"]},` +
				`"user":{"id":"u1","name":"system:serviceaccount:shop:cart"}}`},
		},
		{
			name: "received time, ingested from stage, namespace, original",
			opts: Options{Timestamp: TimestampReceived, Ingested: IngestedStage, Namespace: "prod", KeepOriginal: true},
			in:   `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a2","verb":"get","requestReceivedTimestamp":"2026-01-21T10:15:30.120000Z","stageTimestamp":"2026-01-21T10:15:31.5Z"}`,
			want: []string{`{"@timestamp":"2026-01-21T10:15:30.120000Z","data_stream":{"dataset":"kubernetes.audit_logs","namespace":"prod","type":"logs"},` +
				`"event":{"action":"get","dataset":"kubernetes.audit_logs","ingested":"2026-01-21T10:15:31Z","kind":"event",` +
				`"original":"{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"auditID\":\"a2\",\"verb\":\"get\",\"requestReceivedTimestamp\":\"2026-01-21T10:15:30.120000Z\",\"stageTimestamp\":\"2026-01-21T10:15:31.5Z\"}"},` +
				`"kubernetes":{"audit":{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a2","verb":"get","requestReceivedTimestamp":"2026-01-21T10:15:30.120000Z","stageTimestamp":"2026-01-21T10:15:31.5Z"}},` +
				`"orchestrator":{"api_version":"audit.k8s.io/v1","type":"kubernetes"}}`},
		},
		{
			name: "ingested now, bad source IP drops source/client/related ip",
			opts: Options{Timestamp: TimestampNone, Ingested: IngestedNow, Now: func() time.Time { return time.Date(2026, 1, 21, 10, 0, 5, 999, time.UTC) }},
			in:   `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a3","sourceIPs":["10.0.0.1","not-an-ip"],"user":{"username":"bob","uid":"bob"}}`,
			want: []string{`{"data_stream":{"dataset":"kubernetes.audit_logs","namespace":"default","type":"logs"},` +
				`"event":{"dataset":"kubernetes.audit_logs","ingested":"2026-01-21T10:00:05Z","kind":"event"},` +
				`"kubernetes":{"audit":{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a3","sourceIPs":["10.0.0.1","not-an-ip"],"user":{"username":"bob","uid":"bob"}}},` +
				`"orchestrator":{"api_version":"audit.k8s.io/v1","type":"kubernetes"},"related":{"user":["bob"]},"user":{"id":"bob","name":"bob"}}`},
		},
		{
			name: "EventList: items get kind and apiVersion, one document each",
			opts: Options{Timestamp: TimestampNone},
			in: `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[` +
				`{"auditID":"i1","verb":"get","userAgent":"python-requests/2.32.3"},{"auditID":"i2","verb":"watch","stage":"ResponseStarted"}]}`,
			want: []string{
				`{"data_stream":{"dataset":"kubernetes.audit_logs","namespace":"default","type":"logs"},"event":{"action":"get","dataset":"kubernetes.audit_logs","kind":"event"},` +
					`"kubernetes":{"audit":{"auditID":"i1","verb":"get","userAgent":"python-requests/2.32.3","kind":"Event","apiVersion":"audit.k8s.io/v1"}},` +
					`"orchestrator":{"api_version":"audit.k8s.io/v1","type":"kubernetes"},"user_agent":{"original":"python-requests/2.32.3"}}`,
				`{"data_stream":{"dataset":"kubernetes.audit_logs","namespace":"default","type":"logs"},"event":{"action":"watch","dataset":"kubernetes.audit_logs","kind":"event"},` +
					`"kubernetes":{"audit":{"auditID":"i2","verb":"watch","stage":"ResponseStarted","kind":"Event","apiVersion":"audit.k8s.io/v1"}},` +
					`"orchestrator":{"api_version":"audit.k8s.io/v1","type":"kubernetes"}}`,
			},
		},
		{
			name: "v1beta1 with timestamp and stageTimestamp keeps both",
			opts: Options{Timestamp: TimestampNone},
			in:   `{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","timestamp":"2018-10-26T13:38:34Z","stageTimestamp":"2018-10-26T13:38:34.902914Z","auditID":"o"}`,
			want: []string{`{"data_stream":{"dataset":"kubernetes.audit_logs","namespace":"default","type":"logs"},"event":{"dataset":"kubernetes.audit_logs","kind":"event"},` +
				`"kubernetes":{"audit":{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","timestamp":"2018-10-26T13:38:34Z","stageTimestamp":"2018-10-26T13:38:34.902914Z","auditID":"o"}},` +
				`"orchestrator":{"api_version":"audit.k8s.io/v1beta1","type":"kubernetes"}}`},
		},
		{
			name: "control characters and invalid UTF-8 are escaped",
			opts: Options{Timestamp: TimestampNone},
			in:   "{\"kind\":\"Event\",\"auditID\":\"x\",\"userAgent\":\"a\\u0001b\xffc\\\"\"}",
			want: []string{`{"data_stream":{"dataset":"kubernetes.audit_logs","namespace":"default","type":"logs"},"event":{"dataset":"kubernetes.audit_logs","kind":"event"},` +
				`"kubernetes":{"audit":{"kind":"Event","auditID":"x","userAgent":"a\u0001b\ufffdc\""}},"orchestrator":{"type":"kubernetes"},"user_agent":{"original":"a\u0001b\ufffdc\""}}`},
		},
		{
			name: "annotation keys are dedotted and escaped",
			opts: Options{Timestamp: TimestampNone},
			in:   "{\"kind\":\"Event\",\"auditID\":\"x\",\"annotations\":{\"a.\\\"q\\\".\\u0001.\xff.é.\\u002e\":\"v.1\"}}",
			want: []string{`{"data_stream":{"dataset":"kubernetes.audit_logs","namespace":"default","type":"logs"},"event":{"dataset":"kubernetes.audit_logs","kind":"event"},` +
				`"kubernetes":{"audit":{"kind":"Event","auditID":"x","annotations":{"a_\"q\"_\u0001_\ufffd_é__":"v.1"}}},"orchestrator":{"type":"kubernetes"}}`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := New(tc.opts).Normalize([]byte(tc.in), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != len(tc.want) {
				t.Fatalf("%d documents, want %d", len(docs), len(tc.want))
			}
			for i := range docs {
				if string(docs[i]) != tc.want[i] {
					t.Errorf("document %d:\n got %s\nwant %s", i, docs[i], tc.want[i])
				}
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		in      string
		docs    int
		wantErr string
	}{
		{`{"kind": 0}`, 0, "k8saudit: not a Kubernetes audit record: no audit.k8s.io apiVersion with kind Event or EventList, AKS envelope or GKE k8s.io AuditLog"},
		{`[1,2]`, 0, "k8saudit: not a Kubernetes audit record: the document is a JSON array, not an object"},
		{`{"kind":"Event",`, 0, "k8saudit: invalid JSON: cannot parse JSON: cannot parse object: cannot find opening '\"\" for object key; unparsed tail: \"\""},
		{`{"@timestamp":"2026-01-01T00:00:00Z","kubernetes":{"audit":{"kind":"Event"}}}`, 0, "k8saudit: not a Kubernetes audit record: no audit.k8s.io apiVersion with kind Event or EventList, AKS envelope or GKE k8s.io AuditLog"},
		{`{"category":"kube-audit","operationName":"o","resourceId":"r","time":"t","properties":{"log":"{not json"}}`, 0, "k8saudit: AKS properties.log: invalid JSON: cannot parse JSON: cannot parse object: cannot find opening '\"\" for object key; unparsed tail: \"not json\""},
		{`{"category":"kube-audit","operationName":"o","resourceId":"r","time":"t","properties":{"log":"[]"}}`, 0, "k8saudit: AKS properties.log is not a JSON object"},
		{`{"category":"kube-audit","operationName":"o","resourceId":"r","time":"t","properties":{"log":7}}`, 0, "k8saudit: AKS properties.log is neither an object nor a JSON string"},
		{`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":{}}`, 0, "k8saudit: EventList items is not an array"},
		{`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"auditID":"ok"},3,"x"]}`, 1, "k8saudit: EventList items[1]: not a JSON object\nk8saudit: EventList items[2]: not a JSON object"},
		{`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}`, 0, ""},
	}
	n := New(Options{})
	for _, tc := range tests {
		docs, err := n.Normalize([]byte(tc.in), nil)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.wantErr || len(docs) != tc.docs {
			t.Errorf("Normalize(%s) = %d docs, %q; want %d, %q", tc.in, len(docs), got, tc.docs, tc.wantErr)
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a"}`, true},
		{`{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1"}`, true},
		{`{"kind":"Event","auditID":"a"}`, true}, // 2018 falco traces have no apiVersion
		{`{"kind":"Event"}`, false},
		{`{"kind":"Event","apiVersion":"v1","auditID":"a"}`, false}, // a core/v1 Event object
		{`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}`, true},
		{`{"kind":"EventList","apiVersion":"v1","items":[]}`, false},
		{`{"category":"kube-audit","operationName":"o","resourceId":"r","time":"t","properties":{"log":"{}"}}`, true},
		{`{"category":"kube-audit","operationName":"o","resourceId":"r","properties":{"log":"{}"}}`, false},
		{`{"protoPayload":{"serviceName":"k8s.io"},"insertId":"x"}`, true},
		{`{"protoPayload":{"serviceName":"compute.googleapis.com"}}`, false},
		{`{"@timestamp":"2026-01-01T00:00:00Z","event":{"dataset":"kubernetes.audit_logs"},"kubernetes":{"audit":{"kind":"Event"}}}`, false},
		{`{"kind": 0}`, false},
		{`not json`, false},
		{``, false},
	}
	for _, tc := range tests {
		if got := Detect([]byte(tc.in)); got != tc.want {
			t.Errorf("Detect(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestPackageNormalize checks the package-level function uses the default options.
func TestPackageNormalize(t *testing.T) {
	docs, err := Normalize([]byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"p","stageTimestamp":"2026-01-21T10:15:30.1Z"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"@timestamp":"2026-01-21T10:15:30.1Z","data_stream":{"dataset":"kubernetes.audit_logs","namespace":"default","type":"logs"},` +
		`"event":{"dataset":"kubernetes.audit_logs","kind":"event"},"kubernetes":{"audit":{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"p","stageTimestamp":"2026-01-21T10:15:30.1Z"}},` +
		`"orchestrator":{"api_version":"audit.k8s.io/v1","type":"kubernetes"}}`
	if len(docs) != 1 || string(docs[0]) != want {
		t.Errorf("got %q, want %s", docs, want)
	}
	// The documents are the caller's: later calls, which may reuse the pooled Normalizer,
	// leave them alone.
	for range 4 {
		if _, err := Normalize([]byte(benchEvent), nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(docs) != 1 || string(docs[0]) != want {
		t.Errorf("after later calls: got %q, want %s", docs, want)
	}
}

const benchEvent = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"c59d6a7c-1e07-43cb-8bf6-4d41a9c98ddb","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/wareville/secrets/pull-creds","verb":"get","user":{"username":"system:serviceaccount:wareville:job-runner-sa","uid":"9e88bb94-0000-4000-8000-000000000000","groups":["system:serviceaccounts","system:serviceaccounts:wareville","system:authenticated"],"extra":{"authentication.kubernetes.io/pod-name":["morality-checker"],"authentication.kubernetes.io/pod-uid":["a20761b8-1a36-4318-a048-96d61644b436"]}},"sourceIPs":["10.244.120.126"],"userAgent":"kubectl/v1.31.1 (linux/amd64) kubernetes/948afe5","objectRef":{"resource":"secrets","namespace":"wareville","name":"pull-creds","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2024-10-29T12:22:15.861424Z","stageTimestamp":"2024-10-29T12:22:15.864166Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding"}}`

// After warm-up, normalising an event into a reused dst allocates nothing.
func TestNormalizeAllocs(t *testing.T) {
	n := New(Options{Ingested: IngestedStage, KeepOriginal: true})
	doc := []byte(benchEvent)
	dst, err := n.Normalize(doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		dst, _ = n.Normalize(doc, dst[:0])
	})
	if allocs != 0 {
		t.Errorf("%v allocations per event, want 0", allocs)
	}
}

func BenchmarkNormalize(b *testing.B) {
	n := New(Options{Ingested: IngestedStage})
	doc := []byte(benchEvent)
	var dst [][]byte
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = n.Normalize(doc, dst[:0])
	}
}

// BenchmarkDetect measures Detect on a raw audit record (parsed) and on an ECS process
// event (rejected by the quick test), beside a full parse of the latter, the cost Detect
// had for every document before the quick test.
func BenchmarkDetect(b *testing.B) {
	ecs := []byte(`{"@timestamp":"2026-03-02T09:00:00.003Z","agent":{"id":"7244e5d2","type":"endpoint","version":"9.3.0"},` +
		`"event":{"action":"start","category":["process"],"kind":"event","type":["start"],"dataset":"endpoint.events.process"},` +
		`"host":{"name":"WKS-01022","os":{"type":"windows","name":"Windows","full":"Windows 11 Enterprise 23H2"}},` +
		`"process":{"name":"cmd.exe","executable":"C:\\Windows\\System32\\cmd.exe","args":["cmd.exe","/c","echo Event"],` +
		`"command_line":"cmd.exe /c echo Event","parent":{"name":"explorer.exe","executable":"C:\\Windows\\explorer.exe"}},` +
		`"user":{"domain":"CORP","name":"heidi3","id":"S-1-5-21-1004336348-1068"},"message":"Endpoint process event"}`)
	for _, c := range []struct {
		name string
		doc  []byte
		want bool
	}{{"audit", []byte(benchEvent), true}, {"ecs", ecs, false}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.doc)))
			b.ReportAllocs()
			for b.Loop() {
				if Detect(c.doc) != c.want {
					b.Fatal("wrong answer")
				}
			}
		})
	}
	b.Run("ecs-full-parse", func(b *testing.B) {
		b.SetBytes(int64(len(ecs)))
		var p fastjson.Parser
		for b.Loop() {
			if _, err := p.ParseBytes(ecs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestMayBeRecord checks Detect's quick test: what it rejects is never a record, and the
// shapes and escapes it must leave to the parser go through.
func TestMayBeRecord(t *testing.T) {
	for _, c := range []struct {
		doc  string
		want bool
	}{
		{`{"event":{"kind":"event"},"process":{"name":"bash"}}`, false},
		{`{"kind":"Event","apiVersion":"audit.k8s.io/v1"}`, true},
		{`{"kind" :	"EventList","apiVersion":"audit.k8s.io/v1","items":[]}`, true},
		{`{"apiVersion":"audit.k8s.io/v1", "kind"` + "\n" + `: "Event"}`, true},
		{`{"operationName":"x"}`, true},
		{`{"protoPayload":{}}`, true},
		{`{"kind":"Pod"}`, false},
		{`{"\u006bind":"Event"}`, true},                                                     // an escaped key: left to the parser
		{`{"path":"C:\\users\\x"}`, false},                                                  // an escaped backslash before u is not \u
		{`{"path":"C:\\\u0075sers"}`, true},                                                 // \\ then \u
		{`{"message":"\"kind\":\"Event\""}`, false},                                         // inside a string
		{`{"kubernetes":{"audit":{"kind":"Event","apiVersion":"audit.k8s.io/v1"}}}`, false}, // ECS, nested
		{`{"a":"}\"{","b":[{}],"kind":"Event"}`, true},                                      // braces in strings
		{`{"a":["x\\"],"kind":"EventList"}`, true},
		{`{"a":"\\"}`, false}, // ends with an escape
		{``, false},
	} {
		if got := mayBeRecord([]byte(c.doc)); got != c.want {
			t.Errorf("mayBeRecord(%s) = %v, want %v", c.doc, got, c.want)
		}
		if !mayBeRecord([]byte(c.doc)) && Detect([]byte(c.doc)) {
			t.Errorf("Detect(%s) is true but the quick test rejects it", c.doc)
		}
	}
}
