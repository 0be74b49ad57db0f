package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader in different goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var servingRE = regexp.MustCompile(`tripline: serving on http://(\S+) with (\d+) rules\n`)

// startServe runs `tripline serve args...` in-process and returns its base URL, a function
// that stops it (as SIGTERM does) and returns its exit code, and its stdout and stderr.
func startServe(t *testing.T, args ...string) (url string, stop func() int, stdout, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = new(syncBuffer), new(syncBuffer)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), strings.NewReader(""), stdout, stderr)
	}()
	stopped := false
	stop = func() int {
		cancel()
		select {
		case code := <-done:
			stopped = true
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop within 30s of its context ending")
			return -1
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingRE.FindStringSubmatch(stderr.String()); m != nil {
			return "http://" + m[1], stop, stdout, stderr
		}
		select {
		case code := <-done:
			stopped = true
			t.Fatalf("serve exited with %d before listening; stderr:\n%s", code, stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not report its address; stderr:\n%s", stderr)
	return
}

// exampleBulkBody builds a _bulk body with every example event in timestamp order, each
// routed by its index: the document's _index (taken out of the source, as Elasticsearch
// keeps it out of _source) or its data stream.
func exampleBulkBody(t *testing.T) string {
	t.Helper()
	type item struct{ ts, index, source string }
	var items []item
	for _, name := range []string{"cloud-defend-process.ndjson", "kubernetes-audit.ndjson"} {
		data, err := os.ReadFile(example(t, "events", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines(string(data)) {
			var doc struct {
				TS         string `json:"@timestamp"`
				Index      string `json:"_index"`
				DataStream struct {
					Type, Dataset, Namespace string
				} `json:"data_stream"`
			}
			if err := json.Unmarshal([]byte(l), &doc); err != nil {
				t.Fatal(err)
			}
			it := item{ts: doc.TS, index: doc.Index, source: l}
			if it.index != "" {
				prefix := `{"_index":"` + doc.Index + `",`
				if !strings.HasPrefix(l, prefix) {
					t.Fatalf("_index is not the first field: %s", l)
				}
				it.source = "{" + strings.TrimPrefix(l, prefix)
			} else {
				it.index = doc.DataStream.Type + "-" + doc.DataStream.Dataset + "-" + doc.DataStream.Namespace
			}
			items = append(items, it)
		}
	}
	slices.SortStableFunc(items, func(a, b item) int { return strings.Compare(a.ts, b.ts) })
	var b strings.Builder
	for _, it := range items {
		b.WriteString(`{"create":{"_index":"` + it.index + `"}}` + "\n" + it.source + "\n")
	}
	return b.String()
}

func httpDo(t *testing.T, method, url, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServe(t *testing.T) {
	out := filepath.Join(t.TempDir(), "alerts.ndjson")
	url, stop, stdout, stderr := startServe(t, "--rules", example(t, "rules"), "--now", fixedNow,
		"--max-lateness", "1m", "-o", out)

	if code, body := httpDo(t, "GET", url+"/healthz", "", ""); code != http.StatusOK {
		t.Errorf("GET /healthz: %d %s", code, body)
	}
	code, body := httpDo(t, "POST", url+"/_bulk", "application/x-ndjson", exampleBulkBody(t))
	var resp struct {
		Errors bool             `json:"errors"`
		Items  []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil || code != http.StatusOK || resp.Errors || len(resp.Items) != 25 {
		t.Fatalf("POST /_bulk: %d (%v), errors=%v, %d items: %s", code, err, resp.Errors, len(resp.Items), body)
	}
	// The reordering buffer (--max-lateness 1m behind the last event, 09:15:37, the event
	// time all the rules share) still holds d4c-p10 (09:15:10); every other match is out.
	// The pending state also counts the events held for a sequence's later stages,
	// evaluated when they come out, once for each rule that holds one.
	code, metrics := httpDo(t, "GET", url+"/metrics", "", "")
	wantMetrics := "# HELP tripline_alerts_total Alert documents written, per rule.\n" +
		"# TYPE tripline_alerts_total counter\n" +
		"tripline_alerts_total{rule=\"Burst of Discovery Commands in a Kubernetes Container\"} 4\n" +
		"tripline_alerts_total{rule=\"Direct Interactive Kubernetes API Request by Unusual Utilities\"} 3\n" +
		"tripline_alerts_total{rule=\"Interactive Shell Opened in a Kubernetes Container\"} 1\n" +
		"tripline_alerts_total{rule=\"Service Account Token Read Followed by Secret Access from the Same Pod\"} 3\n"
	if code != http.StatusOK || !strings.Contains(metrics, wantMetrics) ||
		!strings.Contains(metrics, "\ntripline_events_received_total 25\n") ||
		!strings.Contains(metrics, "\ntripline_pending_state 21\n") ||
		!strings.Contains(metrics, "\n# TYPE process_cpu_seconds_total counter\n") ||
		!strings.Contains(metrics, "\n# TYPE go_goroutines gauge\n") {
		t.Errorf("GET /metrics: %d\n%s\nwant among them:\n%s", code, metrics, wantMetrics)
	}

	if code := stop(); code != exitOK {
		t.Fatalf("exit %d after the context ended; stderr:\n%s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := describeMatches(t, parseAlerts(t, string(data))); !slices.Equal(got, exampleAlerts) {
		t.Errorf("alerts in %s:\n%s\nwant:\n%s", out, strings.Join(got, "\n"), strings.Join(exampleAlerts, "\n"))
	}
	if stdout.String() != "" {
		t.Errorf("stdout %q, want nothing (alerts go to --output)", stdout)
	}
	wantErr := "rules:  4 loaded, 0 skipped\n" +
		"events: 25 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index\n" +
		"alerts: 12\n"
	if !strings.Contains(stderr.String(), wantErr) {
		t.Errorf("stderr:\n%s\nwant the summary:\n%s", stderr, wantErr)
	}
}

// TestServeStdout sends the example to a server writing alerts to stdout (the default
// output): what the reordering buffer holds at the end is flushed, not lost. The bulk
// asks for the response Logstash asks for (filter_path), which holds each item's status
// only.
func TestServeStdout(t *testing.T) {
	url, stop, stdout, _ := startServe(t, "--rules", example(t, "rules", "interactive_shell_in_kubernetes_container.toml"), "--now", fixedNow)
	code, body := httpDo(t, "POST", url+"/_bulk?filter_path=errors,items.*.error,items.*.status", "application/x-ndjson", exampleBulkBody(t))
	want := `{"errors":false,"items":[` + strings.Repeat(`{"create":{"status":201}},`, 24) + `{"create":{"status":201}}]}`
	if code != http.StatusOK || body != want {
		t.Fatalf("POST /_bulk: %d %s\nwant %s", code, body, want)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	wantAlerts := []string{shellRule + " event d4c-p01", shellRule + " event d4c-p10"}
	if got := describeMatches(t, parseAlerts(t, stdout.String())); !slices.Equal(got, wantAlerts) {
		t.Errorf("alerts on stdout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantAlerts, "\n"))
	}
}

func TestServeUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"missing --rules", []string{"serve"}, "tripline: no rules: give --rules PATH (a detection-rules TOML file or directory, or a Kibana export NDJSON)\n"},
		{"tls half", []string{"serve", "--rules", "x", "--tls-cert", "c.pem"}, "tripline: --tls-cert and --tls-key go together\n"},
		{"bad --max-body", []string{"serve", "--rules", "x", "--max-body", "lots"}, ""},
		{"no arguments", []string{"serve", "--rules", "x", "events.ndjson"}, "tripline: unknown command \"events.ndjson\" for \"tripline serve\"\nRun 'tripline --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			if r.code != exitUsage || r.stdout != "" || (tt.stderr != "" && r.stderr != tt.stderr) ||
				!strings.HasPrefix(r.stderr, "tripline: ") {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", r.code, r.stdout, r.stderr, tt.stderr)
			}
		})
	}
}
