//go:build e2e

// End-to-end tests of `tripline serve` with real shippers and clients, started by the test
// against a server on 127.0.0.1: Debian's rsyslog with omelasticsearch shipping a log file,
// and the official Elasticsearch Python client doing a bulk index. Both ship the example
// scenario and the alerts written must be the ones examples/README.md lists. They need the
// packages .ci/e2e-deps.sh installs, and fail (not skip) without them.
//
//	go test -tags e2e -count=1 ./cmd/tripline/ -run E2E -v
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The credentials the clients send; the server reads them from this environment variable.
const (
	e2eCredEnv  = "TRIPLINE_E2E_CREDENTIALS"
	e2eUser     = "shipper"
	e2ePassword = "pa55word"
)

// The data streams the example events belong to.
const (
	processIndex = "logs-cloud_defend.process-default"
	auditIndex   = "logs-kubernetes.audit_logs-default"
)

// e2eNeed fails the test when an executable the end-to-end tests run is missing.
func e2eNeed(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing (%v): run .ci/e2e-deps.sh to install the end-to-end test dependencies", path, err)
	}
}

// shipped is one example event as a client ships it: the index it is sent to and the
// document, one line of JSON.
type shipped struct {
	at     time.Time
	index  string
	source string
}

// exampleEvents returns the 25 events of the example scenario in timestamp order (stable,
// so the order is the same on every run): the 15 process events without their _index (a
// metadata field Elasticsearch keeps out of _source), and the 10 audit events, as ECS
// documents or, with rawAudit, as the raw kube-apiserver records the server normalises.
func exampleEvents(t *testing.T, rawAudit bool) []shipped {
	t.Helper()
	type file struct {
		path, index, timeField string
	}
	files := []file{{example(t, "events", "cloud-defend-process.ndjson"), processIndex, "@timestamp"}}
	if rawAudit {
		files = append(files, file{example(t, "raw-audit", "kube-apiserver-audit.log"), auditIndex, "stageTimestamp"})
	} else {
		files = append(files, file{example(t, "events", "kubernetes-audit.ndjson"), auditIndex, "@timestamp"})
	}
	var out []shipped
	for _, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range lines(string(data)) {
			var doc map[string]json.RawMessage
			if err := json.Unmarshal([]byte(l), &doc); err != nil {
				t.Fatalf("%s:%d: %v", f.path, i+1, err)
			}
			var ts string
			if err := json.Unmarshal(doc[f.timeField], &ts); err != nil {
				t.Fatalf("%s:%d: %s: %v", f.path, i+1, f.timeField, err)
			}
			at, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				t.Fatalf("%s:%d: %v", f.path, i+1, err)
			}
			if index, ok := doc["_index"]; ok {
				prefix := `{"_index":` + string(index) + `,`
				if !strings.HasPrefix(l, prefix) {
					t.Fatalf("%s:%d: _index is not the first field", f.path, i+1)
				}
				l = "{" + strings.TrimPrefix(l, prefix)
			}
			out = append(out, shipped{at: at, index: f.index, source: l})
		}
	}
	slices.SortStableFunc(out, func(a, b shipped) int { return a.at.Compare(b.at) })
	if len(out) != 25 {
		t.Fatalf("%d example events, want 25", len(out))
	}
	return out
}

// startE2EServe runs `tripline serve` on the example rules with credentials, writing alerts
// to the returned file. The default --max-lateness applies: the clients ship in order.
func startE2EServe(t *testing.T) (base string, stop func() int, alerts string, stderr *syncBuffer) {
	t.Helper()
	t.Setenv(e2eCredEnv, e2eUser+":"+e2ePassword+"\n")
	alerts = filepath.Join(t.TempDir(), "alerts.ndjson")
	base, stop, stdout, stderr := startServe(t, "--rules", example(t, "rules"), "--now", fixedNow,
		"--credentials-env", e2eCredEnv, "--public-metrics", "-o", alerts)
	t.Cleanup(func() {
		if stdout.String() != "" {
			t.Errorf("stdout %q, want nothing (alerts go to --output)", stdout)
		}
	})
	return base, stop, alerts, stderr
}

var receivedRE = regexp.MustCompile(`(?m)^tripline_events_received_total (\d+)$`)

// waitReceived polls the server's /metrics until it has handed n events to detection (a
// request is answered only once its events went through the rules) and returns the last
// metrics read. It fails the test after timeout, or when more than n arrive.
func waitReceived(t *testing.T, base string, n int, timeout time.Duration) string {
	t.Helper()
	want := fmt.Sprint(n)
	deadline := time.Now().Add(timeout)
	for {
		code, metrics := httpDo(t, "GET", base+"/metrics", "", "")
		got := "none"
		if m := receivedRE.FindStringSubmatch(metrics); code == 200 && m != nil {
			got = m[1]
		}
		if got == want {
			return metrics
		}
		if len(got) > len(want) || (len(got) == len(want) && got > want) {
			t.Fatalf("the server received %s events, want %s", got, want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server received %s events within %v, want %s (GET /metrics: %d)", got, timeout, want, code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkRejections fails the test when the metrics count a refused request or event.
func checkRejections(t *testing.T, metrics string) {
	t.Helper()
	for _, l := range strings.Split(metrics, "\n") {
		if (strings.HasPrefix(l, "tripline_requests_rejected_total") || strings.HasPrefix(l, "tripline_events_rejected_total")) &&
			!strings.HasSuffix(l, " 0") {
			t.Errorf("metrics: %s", l)
		}
	}
}

// checkExampleAlerts stops the server, then checks its exit code, its summary and that the
// alerts file holds exactly the 12 alert documents of examples/README.md.
func checkExampleAlerts(t *testing.T, stop func() int, alertsFile string, stderr *syncBuffer, rawAudit bool) {
	t.Helper()
	if code := stop(); code != exitOK {
		t.Fatalf("serve exited with %d; stderr:\n%s", code, stderr)
	}
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	alerts := parseAlerts(t, string(data))
	if got := describeMatches(t, alerts); !slices.Equal(got, exampleAlerts) {
		t.Errorf("alerts in %s:\n%s\nwant:\n%s", alertsFile, strings.Join(got, "\n"), strings.Join(exampleAlerts, "\n"))
	}
	if len(alerts) != 12 {
		t.Errorf("%d alert documents, want 12", len(alerts))
	}
	// The seed rule: one sequence, its shell alert and the building blocks of d4c-p05 and a03.
	var seed []string
	for _, a := range alerts {
		if a.RuleID == seedRule {
			kind := "shell"
			if a.Building != "" {
				kind = "building block " + a.key()
			}
			seed = append(seed, kind)
		}
	}
	slices.Sort(seed)
	if want := []string{"building block a03", "building block d4c-p05", "shell"}; !slices.Equal(seed, want) {
		t.Errorf("seed rule alerts %q, want %q", seed, want)
	}
	summary := "rules:  4 loaded, 0 skipped\n" +
		"events: 25 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index"
	if rawAudit {
		summary += ", 10 normalised from raw audit records or sensor events"
	}
	summary += "\nalerts: 12\n"
	if !strings.Contains(stderr.String(), summary) {
		t.Errorf("serve stderr:\n%s\nwant the summary:\n%s", stderr, summary)
	}
	if strings.Contains(stderr.String(), "(skipped)\n") {
		t.Errorf("serve skipped input:\n%s", stderr)
	}
}

// TestE2ERsyslogOmelasticsearch has rsyslog follow a log file of the example scenario (the
// process events and the raw kube-apiserver audit records, in timestamp order) with imfile
// and ship each line as a document with omelasticsearch in bulk mode, the index chosen per
// line with dynSearchIndex.
func TestE2ERsyslogOmelasticsearch(t *testing.T) {
	e2eNeed(t, "/usr/sbin/rsyslogd")
	if m, _ := filepath.Glob("/usr/lib/*/rsyslog/omelasticsearch.so"); len(m) == 0 {
		t.Fatal("rsyslog's omelasticsearch module is missing: run .ci/e2e-deps.sh (package rsyslog-elasticsearch)")
	}
	events := exampleEvents(t, true)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "scenario.log")
	var b strings.Builder
	for _, e := range events {
		b.WriteString(e.source + "\n")
	}
	if err := os.WriteFile(logFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	base, stop, alerts, stderr := startE2EServe(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	errFile := filepath.Join(dir, "es-errors.json")
	conf := fmt.Sprintf(`
global(workDirectory=%[1]q maxMessageSize="64k")
module(load="imfile" mode="polling" PollingInterval="1")
module(load="omelasticsearch")
template(name="doc" type="string" string="%%msg%%")
template(name="index" type="string" string="%%$.index%%")
input(type="imfile" File=%[2]q Tag="scenario" ruleset="ship")
ruleset(name="ship") {
	if ($msg contains '"apiVersion":"audit.k8s.io/v1"') then {
		set $.index = %[3]q;
	} else {
		set $.index = %[4]q;
	}
	action(type="omelasticsearch" server=%[5]q serverport=%[6]q uid=%[7]q pwd=%[8]q
		searchIndex="index" dynSearchIndex="on" searchType="" esVersion.major="8" template="doc"
		bulkmode="on" errorFile=%[9]q)
}
`, dir, logFile, auditIndex, processIndex, host, port, e2eUser, e2ePassword, errFile)
	confFile := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("/usr/sbin/rsyslogd", "-N1", "-f", confFile).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd rejects the configuration: %v\n%s", err, out)
	}
	cmd := exec.Command("/usr/sbin/rsyslogd", "-n", "-f", confFile, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stopRsyslog := func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("rsyslogd did not stop within 10s of SIGTERM")
		}
	}
	defer func() {
		stopRsyslog()
		if t.Failed() {
			errs, _ := os.ReadFile(errFile)
			t.Logf("rsyslogd output:\n%s\nomelasticsearch error file:\n%s", out.String(), errs)
		}
	}()

	metrics := waitReceived(t, base, len(events), 30*time.Second)
	stopRsyslog()
	checkRejections(t, metrics)
	if errs, err := os.ReadFile(errFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("omelasticsearch wrote an error file (%v):\n%s", err, errs)
	}
	checkExampleAlerts(t, stop, alerts, stderr, true)
}

// e2ePythonClient indexes the actions of a file ({"index":…,"source":…} a line) with the
// official client's helpers.bulk, 10 documents a request, and prints what it reports.
const e2ePythonClient = `
import json, sys
from elasticsearch import Elasticsearch, helpers
url, user, password, path = sys.argv[1:5]
es = Elasticsearch([url], http_auth=(user, password))
def actions():
    with open(path) as f:
        for line in f:
            a = json.loads(line)
            yield {"_op_type": "create", "_index": a["index"], "_source": a["source"]}
ok, errors = helpers.bulk(es, actions(), chunk_size=10, max_retries=0)
print(json.dumps({"ok": ok, "errors": errors}))
`

// TestE2EPythonClient has the official Elasticsearch Python client bulk-index the example
// scenario's ECS events, in timestamp order, to their data streams.
func TestE2EPythonClient(t *testing.T) {
	e2eNeed(t, "/usr/bin/python3")
	if out, err := exec.Command("/usr/bin/python3", "-c", "import elasticsearch").CombinedOutput(); err != nil {
		t.Fatalf("the Python elasticsearch client is missing (%v: %s): run .ci/e2e-deps.sh (package python3-elasticsearch)", err, out)
	}
	events := exampleEvents(t, false)
	dir := t.TempDir()
	var b strings.Builder
	for _, e := range events {
		line, err := json.Marshal(struct {
			Index  string          `json:"index"`
			Source json.RawMessage `json:"source"`
		}{e.index, json.RawMessage(e.source)})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	actions := filepath.Join(dir, "actions.ndjson")
	script := filepath.Join(dir, "client.py")
	if err := os.WriteFile(actions, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte(e2ePythonClient), 0o644); err != nil {
		t.Fatal(err)
	}

	base, stop, alerts, stderr := startE2EServe(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", script, base, e2eUser, e2ePassword, actions)
	var clientErr strings.Builder
	cmd.Stderr = &clientErr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client failed: %v\n%s%s", err, out, clientErr.String())
	}
	if clientErr.Len() > 0 {
		t.Errorf("client warnings:\n%s", clientErr.String())
	}
	var res struct {
		OK     int   `json:"ok"`
		Errors []any `json:"errors"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("client output: %v\n%s", err, out)
	}
	if res.OK != len(events) || len(res.Errors) != 0 {
		t.Errorf("client indexed %d events with errors %v, want %d and none", res.OK, res.Errors, len(events))
	}
	// helpers.bulk returns once every request was answered: the events are all in.
	checkRejections(t, waitReceived(t, base, len(events), 0))
	checkExampleAlerts(t, stop, alerts, stderr, false)
}
