package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// anyRule is a rule with one alert per event of a logs-* index (max_signals is high enough
// for every test): the alerts written are then the events the rules took in.
const anyRule = `[rule]
author = ["Tripline"]
description = "Every event."
index = ["logs-*"]
language = "eql"
max_signals = 100000
name = "Any"
risk_score = 1
rule_id = "7f0c9a52-1e3b-4d8a-9b6f-0a1c2d3e4f50"
severity = "low"
type = "eql"
query = '''
any where true
'''
`

// bulkItems sends a _bulk request and returns the status of each item, or the status of
// the response when it is not 200.
func bulkItems(t *testing.T, url, body string) []int {
	t.Helper()
	code, resp := httpDo(t, "POST", url+"/_bulk", "application/x-ndjson", body)
	if code != http.StatusOK {
		return []int{code}
	}
	var r struct {
		Items []map[string]struct {
			Status int `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(resp), &r); err != nil {
		t.Fatalf("bulk response: %v: %s", err, resp)
	}
	var out []int
	for _, it := range r.Items {
		for _, v := range it {
			out = append(out, v.Status)
		}
	}
	return out
}

// metricValue returns the value of one sample line of /metrics, or -1 when absent.
func metricValue(t *testing.T, url, sample string) float64 {
	t.Helper()
	_, body := httpDo(t, "GET", url+"/metrics", "", "")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	var v float64
	fmt.Sscan(m[1], &v)
	return v
}

// countLines counts the lines of a file (the alerts of an NDJSON output).
func countLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return len(lines(string(data)))
}

// rawAudit is a raw kube-apiserver audit record stamped at stage.
func rawAudit(id int, stage string) string {
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-%d","stage":"ResponseComplete","verb":"get",`+
		`"user":{"username":"u"},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"pods","namespace":"n","name":"p"},`+
		`"responseStatus":{"code":200},"requestReceivedTimestamp":%q,"stageTimestamp":%q}`, id, stage, stage)
}

// TestServeAcknowledgedNeverDropped sends bulk requests of ECS documents and of raw audit
// records in turn, as the issue did: every item is answered, before the acknowledgement,
// with what becomes of it (a document that is not JSON, an audit record that cannot be
// normalised: 400); every acknowledged event reaches the rules (one alert each); and the
// summary counts what /metrics counts.
func TestServeAcknowledgedNeverDropped(t *testing.T) {
	dir := t.TempDir()
	rules := writeFile(t, dir, "rules/any.toml", anyRule)
	out := filepath.Join(dir, "alerts.ndjson")
	url, stop, _, stderr := startServe(t, "--rules", rules, "--max-lateness", "1h", "-o", out)
	action := `{"create":{"_index":"logs-app-default"}}` + "\n"
	audit := `{"create":{"_index":"logs-kubernetes.audit_logs-default"}}` + "\n"
	ecs := action + `{"@timestamp":"2026-03-12T09:14:03.412Z","message":"ok"}` + "\n" +
		action + `{"@timestamp":"2026-03-12T09:14:03.413Z","message": }` + "\n" + // not JSON: the detector's to tell
		action + `{"@timestamp":"2026-03-12T09:14:03.414Z","message":"ok too"}` + "\n"
	var raw strings.Builder
	for i := range 8 {
		raw.WriteString(audit + rawAudit(i, "2026-03-12T09:14:04.000000Z") + "\n")
	}
	raw.WriteString(audit + `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + rawAudit(90, "2026-03-12T09:14:05Z") + `,1]}` + "\n") // cannot be normalised
	raw.WriteString(audit + `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + rawAudit(91, "2026-03-12T09:14:05Z") + "," + rawAudit(92, "2026-03-12T09:14:05Z") + `]}` + "\n")
	wantECS := []int{201, 400, 201}
	// The ECS bulk once more, first, for the whole response.
	code, resp := httpDo(t, "POST", url+"/_bulk", "application/x-ndjson", ecs)
	wantItem := `{"create":{"_index":"logs-app-default","_id":"GEN","status":400,"error":{"type":"document_parsing_exception",` +
		`"reason":"[1:53] failed to parse: unexpected character '}' looking for the beginning of a value (request body line 4)"}}}`
	if gen := regexp.MustCompile(`"_id":"[^"]{20}"`); code != http.StatusOK || !strings.Contains(gen.ReplaceAllString(resp, `"_id":"GEN"`), wantItem) {
		t.Fatalf("ECS bulk: %d %s\nwant the item %s", code, resp, wantItem)
	}
	wantRaw := []int{201, 201, 201, 201, 201, 201, 201, 201, 400, 201}
	const rounds = 6
	for range rounds {
		if got := bulkItems(t, url, ecs); !slices.Equal(got, wantECS) {
			t.Fatalf("ECS bulk: items %v, want %v", got, wantECS)
		}
		if got := bulkItems(t, url, raw.String()); !slices.Equal(got, wantRaw) {
			t.Fatalf("raw audit bulk: items %v, want %v", got, wantRaw)
		}
	}
	acknowledged := 2 + rounds*(2+9) // the first ECS bulk; the last EventList item counts once
	events := 2 + rounds*(2+8+2)     // and makes two events
	refused := 1 + rounds*2
	if got := metricValue(t, url, "tripline_events_received_total"); got != float64(acknowledged) {
		t.Errorf("tripline_events_received_total %v, want %d", got, acknowledged)
	}
	if got := metricValue(t, url, `tripline_events_rejected_total{reason="document_parsing_exception"}`); got != float64(refused) {
		t.Errorf(`tripline_events_rejected_total{reason="document_parsing_exception"} %v, want %d`, got, refused)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if got := countLines(t, out); got != events {
		t.Errorf("%d alerts, want one for each of the %d events acknowledged", got, events)
	}
	wantSum := fmt.Sprintf("events: %d read, %d malformed (skipped), 0 unused (no timestamp or too late), 0 without index, %d normalised from raw audit records or sensor events\n",
		acknowledged+refused, refused, rounds*10)
	if !strings.Contains(stderr.String(), wantSum) {
		t.Errorf("stderr:\n%s\nwant the summary line:\n%s", stderr, wantSum)
	}
	for _, want := range []string{
		"bulk:logs-app-default:4: offset 52: unexpected character '}' looking for the beginning of a value\n",
		"bulk:logs-kubernetes.audit_logs-default:18: k8saudit: EventList items[1]: not a JSON object (refused)\n",
	} {
		if n := strings.Count(stderr.String(), want); n != rounds && n != rounds+1 {
			t.Errorf("stderr does not report %q for each bulk:\n%s", want, stderr)
		}
	}
}

// TestServeMaxFuture checks --max-future through the server: a document stamped decades
// ahead is refused in its item (400) and reported, and the real-time events after it are
// matched, not reported late; one stamped a minute ahead is acknowledged and matched too.
func TestServeMaxFuture(t *testing.T) {
	dir := t.TempDir()
	rules := writeFile(t, dir, "rules/any.toml", anyRule)
	out := filepath.Join(dir, "alerts.ndjson")
	url, stop, _, stderr := startServe(t, "--rules", rules, "-o", out) // --max-lateness 5s, --max-future 5m
	now := time.Now().UTC()
	doc := func(at time.Time) string {
		return `{"create":{"_index":"logs-app-default"}}` + "\n" + `{"@timestamp":"` + at.Format(time.RFC3339Nano) + `"}` + "\n"
	}
	first := doc(now.Add(-2*time.Second)) + doc(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)) + doc(now.Add(time.Minute))
	if got, want := bulkItems(t, url, first), []int{201, 400, 201}; !slices.Equal(got, want) {
		t.Fatalf("items %v, want %v", got, want)
	}
	var next string
	for i := range 5 {
		next += doc(now.Add(time.Duration(i) * 100 * time.Millisecond))
	}
	if got, want := bulkItems(t, url, next), []int{201, 201, 201, 201, 201}; !slices.Equal(got, want) {
		t.Fatalf("items %v, want %v", got, want)
	}
	if got := metricValue(t, url, `tripline_events_rejected_total{reason="future_timestamp"}`); got != 1 {
		t.Errorf(`tripline_events_rejected_total{reason="future_timestamp"} %v, want 1`, got)
	}
	if got := metricValue(t, url, "tripline_events_unused"); got != 0 {
		t.Errorf("tripline_events_unused %v, want 0", got)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if got := countLines(t, out); got != 7 {
		t.Errorf("%d alerts, want 7 (every event but the one of 2099)", got)
	}
	for _, want := range []string{
		"bulk:logs-app-default:4: timestamp [2099-01-01T00:00:00.000Z] is more than 5m0s ahead of the clock\n",
		"events: 8 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index, 1 too far in the future (skipped)\n",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr:\n%s\nwant %q", stderr, want)
		}
	}
}

// TestServeBufferBound checks the bounds of the reordering buffers: once they hold
// --max-buffered events (or --max-buffered-bytes of documents), requests get 429 with
// es_rejected_execution_exception and nothing of them is taken; within a few seconds the
// rules process the older half of what they hold and requests get in again; every event
// acknowledged is matched by the end.
func TestServeBufferBound(t *testing.T) {
	body := func(n, from int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `{"create":{"_index":"logs-app-default"}}`+"\n"+`{"@timestamp":"2026-03-12T09:00:00Z","n":%d}`+"\n", from+i)
		}
		return b.String()
	}
	docSize := len(`{"@timestamp":"2026-03-12T09:00:00Z","n":10}`)
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"events", []string{"--max-buffered", "10"}},
		{"bytes", []string{"--max-buffered-bytes", fmt.Sprint(10 * docSize)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			rules := writeFile(t, dir, "rules/any.toml", anyRule)
			out := filepath.Join(dir, "alerts.ndjson")
			// One timestamp for all: event time never moves, nothing leaves the buffer by itself.
			url, stop, _, stderr := startServe(t, append([]string{"--rules", rules, "--max-lateness", "1h", "-o", out}, tc.flags...)...)
			if got := bulkItems(t, url, body(12, 10)); len(got) != 12 || slices.ContainsFunc(got, func(s int) bool { return s != 201 }) {
				t.Fatalf("first bulk: %v, want 12 x 201", got)
			}
			if got := metricValue(t, url, "tripline_buffered_events"); got != 12 {
				t.Fatalf("tripline_buffered_events %v, want 12", got)
			}
			code, resp := httpDo(t, "POST", url+"/_bulk", "application/x-ndjson", body(3, 30))
			if code != http.StatusTooManyRequests || !strings.Contains(resp, `"type":"es_rejected_execution_exception"`) ||
				!strings.Contains(resp, "the reordering buffer holds 12 events") {
				t.Fatalf("over the bound: %d %s, want 429 es_rejected_execution_exception", code, resp)
			}
			// The shipper retries; the buffer is relieved each second.
			deadline := time.Now().Add(10 * time.Second)
			for {
				if got := bulkItems(t, url, body(3, 30)); slices.Equal(got, []int{201, 201, 201}) {
					break
				} else if !slices.Equal(got, []int{429}) || time.Now().After(deadline) {
					t.Fatalf("retry: %v, want 429 then 3 x 201", got)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if got := metricValue(t, url, `tripline_requests_rejected_total{reason="busy"}`); got < 1 {
				t.Errorf(`tripline_requests_rejected_total{reason="busy"} %v, want at least 1`, got)
			}
			if got := metricValue(t, url, "tripline_events_shed"); got != 6 {
				t.Errorf("tripline_events_shed %v, want 6 (half of 12)", got)
			}
			if code := stop(); code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			if got := countLines(t, out); got != 15 {
				t.Errorf("%d alerts, want 15: every event acknowledged", got)
			}
			if want := "events: 15 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index, 6 released early from a full reordering buffer\n"; !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr:\n%s\nwant %q", stderr, want)
			}
		})
	}
}

// TestDetectFollowMaxFuture checks --max-future with --follow: an event stamped decades
// ahead is reported as FILE:LINE, skipped and counted, the events after it are matched,
// and the exit code says input was skipped.
func TestDetectFollowMaxFuture(t *testing.T) {
	dir := t.TempDir()
	rules := writeFile(t, dir, "rules/any.toml", anyRule)
	now := time.Now().UTC()
	var in strings.Builder
	for i, at := range []time.Time{now.Add(-3 * time.Second), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), now.Add(-2 * time.Second), now.Add(-time.Second)} {
		fmt.Fprintf(&in, `{"@timestamp":%q,"data_stream":{"type":"logs","dataset":"app","namespace":"default"},"n":%d}`+"\n", at.Format(time.RFC3339Nano), i+1)
	}
	events := writeFile(t, dir, "events.ndjson", in.String())
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	r := runCLIContext(t, ctx, strings.NewReader(""), "detect", "--follow", "--rules", rules, "--format", "summary", events)
	if r.code != exitSkipped {
		t.Errorf("exit %d, want %d", r.code, exitSkipped)
	}
	for _, want := range []string{
		events + ":2: timestamp [2099-01-01T00:00:00.000Z] is more than 5m0s ahead of the clock\n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr:\n%s\nwant %q", r.stderr, want)
		}
	}
	if want := "events: 4 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index, 1 too far in the future (skipped)\nalerts: 3\n"; !strings.Contains(r.stdout, want) {
		t.Errorf("summary:\n%s\nwant %q", r.stdout, want)
	}
}

func TestServeBoundUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--max-future", "-1s"}, "tripline: --max-future must not be negative\n"},
		{[]string{"--max-buffered", "-1"}, "tripline: --max-buffered must not be negative\n"},
		{[]string{"--max-buffered-bytes", "lots"}, `tripline: --max-buffered-bytes: "lots" is not a size such as 100MB` + "\n"},
	} {
		r := runCLI(t, "", append([]string{"serve", "--rules", "x"}, tc.args...)...)
		r.check(t, exitUsage, "", tc.stderr)
	}
}
