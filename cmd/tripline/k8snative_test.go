package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const seedRuleID = "02275e05-57a1-46ab-a443-7fb444da6b28"

// seedAlerts runs detect over inputs with examples/rules and returns the seed rule's alert
// documents, in output order (the shell alert, then its building blocks in sequence order),
// and the number of alert documents of each rule.
func seedAlerts(t *testing.T, args ...string) ([]map[string]any, map[string]int) {
	t.Helper()
	r := runCLI(t, "", append([]string{"detect", "--rules", example(t, "rules"), "--now", "2026-03-12T10:00:00Z"}, args...)...)
	if r.code != 0 {
		t.Fatalf("detect exited %d\n%s", r.code, r.stderr)
	}
	var seed []map[string]any
	perRule := map[string]int{}
	for _, l := range lines(r.stdout) {
		var a map[string]any
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatal(err)
		}
		perRule[a["kibana.alert.rule.name"].(string)]++
		if a["kibana.alert.rule.rule_id"] == seedRuleID {
			seed = append(seed, a)
		}
	}
	return seed, perRule
}

// TestK8sNativeSeedAlert runs the seed scenario as Falco or Tetragon and the API server's
// audit webhook write it (examples/k8s-native) and checks that the seed rule gives the
// alert it gives on the Defend for Containers form (examples/events): one sequence, a shell
// alert and two building blocks, with the same kibana.alert fields but for those that name
// the source events (ids, data stream, original event) and the process building block's
// reason, which says what each sensor knows.
func TestK8sNativeSeedAlert(t *testing.T) {
	want, _ := seedAlerts(t, example(t, "events"))
	if len(want) != 3 {
		t.Fatalf("the Defend for Containers form gives %d seed alert documents, want 3", len(want))
	}
	// Fields that name the source events: their ids, index and original event.
	sourceField := func(k string) bool {
		switch k {
		case "kibana.alert.ancestors", "kibana.alert.uuid", "kibana.alert.group.id", "kibana.alert.reason",
			"kibana.alert.original_data_stream.dataset":
			return true
		}
		return strings.HasPrefix(k, "kibana.alert.original_event.")
	}
	for _, c := range []struct {
		sensor  string
		reasons [3]string
	}{
		{"falco", [3]string{
			"event created low alert Direct Interactive Kubernetes API Request by Unusual Utilities.",
			"process event with process python3, parent process bash, by root on aks-userpool-31842977-vmss000002 created low alert Direct Interactive Kubernetes API Request by Unusual Utilities.",
			"event with source 10.244.2.17 by system:serviceaccount:storefront:checkout created low alert Direct Interactive Kubernetes API Request by Unusual Utilities.",
		}},
		{"tetragon", [3]string{
			"event created low alert Direct Interactive Kubernetes API Request by Unusual Utilities.",
			"process event with process python3.11, parent process bash, on aks-userpool-31842977-vmss000002 created low alert Direct Interactive Kubernetes API Request by Unusual Utilities.",
			"event with source 10.244.2.17 by system:serviceaccount:storefront:checkout created low alert Direct Interactive Kubernetes API Request by Unusual Utilities.",
		}},
	} {
		t.Run(c.sensor, func(t *testing.T) {
			got, perRule := seedAlerts(t, "--ignore-index-patterns",
				example(t, "k8s-native", c.sensor+"-events.ndjson"), example(t, "k8s-native", "audit-webhook-batches.ndjson"))
			if len(got) != len(want) {
				t.Fatalf("%d seed alert documents, want %d", len(got), len(want))
			}
			for i := range want {
				keys := slices.Sorted(maps.Keys(want[i]))
				gotKeys := slices.Sorted(maps.Keys(got[i]))
				for _, k := range keys {
					if !strings.HasPrefix(k, "kibana.alert.") || sourceField(k) {
						continue
					}
					wj, _ := json.Marshal(want[i][k])
					gj, _ := json.Marshal(got[i][k])
					if string(wj) != string(gj) {
						t.Errorf("alert %d: %s = %s, want %s (as on Defend for Containers)", i, k, gj, wj)
					}
				}
				for _, k := range gotKeys {
					if _, ok := want[i][k]; !ok && strings.HasPrefix(k, "kibana.alert.") && !sourceField(k) {
						t.Errorf("alert %d: %s is set, not on Defend for Containers", i, k)
					}
				}
				if r := got[i]["kibana.alert.reason"]; r != c.reasons[i] {
					t.Errorf("alert %d: reason %q, want %q", i, r, c.reasons[i])
				}
			}
			// The building blocks are about d4c-p05's process and audit event a03.
			proc, audit := got[1], got[2]
			for _, f := range []struct {
				doc   map[string]any
				field string
				want  any
			}{
				{proc, "kibana.alert.original_time", "2026-03-12T09:14:30.650Z"},
				{proc, "process.pid", 48290.0},
				{proc, "process.interactive", true},
				{proc, "orchestrator.resource.name", "checkout-7c9d5b6f8-x2lkq"},
				{proc, "kibana.alert.original_data_stream.dataset", map[string]string{"falco": "falco.syscall", "tetragon": "tetragon.process"}[c.sensor]},
				{audit, "kubernetes.audit.auditID", "0b7e2c41-9f3a-4d6e-8a15-3c7d9e1f5a03"},
				{audit, "kibana.alert.original_data_stream.dataset", "kubernetes.audit_logs"},
			} {
				if v := lookup(f.doc, f.field); !jsonEqual(v, f.want) {
					t.Errorf("%s = %v, want %v", f.field, v, f.want)
				}
			}
			// The other example rules: no entry_leader from either sensor, so no
			// interactive-shell alert and no cancelled token sequence (see examples/k8s-native).
			wantPerRule := map[string]int{
				"Direct Interactive Kubernetes API Request by Unusual Utilities":         3,
				"Burst of Discovery Commands in a Kubernetes Container":                  4,
				"Service Account Token Read Followed by Secret Access from the Same Pod": 6,
			}
			if !maps.Equal(perRule, wantPerRule) {
				t.Errorf("alert documents per rule %v, want %v", perRule, wantPerRule)
			}
		})
	}
}

// lookup returns the value of a dotted field in an alert document, whose fields may be
// flattened ("kibana.alert.x") or nested ("process": {"pid": …}).
func lookup(doc map[string]any, field string) any {
	if v, ok := doc[field]; ok {
		return v
	}
	for i := len(field) - 1; i > 0; i-- {
		if field[i] != '.' {
			continue
		}
		if sub, ok := doc[field[:i]].(map[string]any); ok {
			if v := lookup(sub, field[i+1:]); v != nil {
				return v
			}
		}
	}
	return nil
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestServeK8sNative runs the scenario through serve as a cluster sends it: Falco's events
// over _bulk (as Falcosidekick's Elasticsearch output posts them) and the API server's
// audit batches to /k8s-audit, retried on 429 and 5xx as its webhook backend does. The
// alerts are those detect gives on the same files.
func TestServeK8sNative(t *testing.T) {
	describe := func(data string) []string {
		var d []string
		for _, l := range lines(data) {
			var a map[string]any
			if err := json.Unmarshal([]byte(l), &a); err != nil {
				t.Fatal(err)
			}
			bb, _ := a["kibana.alert.building_block_type"].(string)
			d = append(d, fmt.Sprintf("%s|%s|%v|%v", a["kibana.alert.rule.name"], bb, a["kibana.alert.original_time"], a["kibana.alert.reason"]))
		}
		slices.Sort(d)
		return d
	}
	falco, audit := example(t, "k8s-native", "falco-events.ndjson"), example(t, "k8s-native", "audit-webhook-batches.ndjson")
	r := runCLI(t, "", "detect", "--rules", example(t, "rules"), "--now", fixedNow, "--ignore-index-patterns", falco, audit)
	if r.code != 0 {
		t.Fatalf("detect: %d\n%s", r.code, r.stderr)
	}
	want := describe(r.stdout)

	out := filepath.Join(t.TempDir(), "alerts.ndjson")
	url, stop, _, stderr := startServe(t, "--rules", example(t, "rules"), "--now", fixedNow,
		"--ignore-index-patterns", "--max-lateness", "1h", "-o", out)
	events, err := os.ReadFile(falco)
	if err != nil {
		t.Fatal(err)
	}
	var bulk strings.Builder
	for _, l := range lines(string(events)) {
		bulk.WriteString(`{"create":{"_index":"falco"}}` + "\n" + l + "\n")
	}
	if code, body := httpDo(t, "POST", url+"/_bulk", "application/x-ndjson", bulk.String()); code != http.StatusOK || strings.Contains(body, `"errors":true`) {
		t.Fatalf("POST /_bulk: %d %s", code, body)
	}
	batches, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range lines(string(batches)) {
		for try := 0; ; try++ {
			code, body := httpDo(t, "POST", url+"/k8s-audit", "application/json", b)
			if code == http.StatusOK && body == `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","code":200}` {
				break
			}
			if (code != http.StatusTooManyRequests && code < 500) || try == 5 {
				t.Fatalf("batch %d: %d %s", i+1, code, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if code := stop(); code != exitOK {
		t.Fatalf("serve exited %d\n%s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(string(data)); !slices.Equal(got, want) {
		t.Errorf("serve's alerts:\n%s\ndetect's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(stderr.String(), "events: 25 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index, 25 normalised from raw audit records or sensor events\n") {
		t.Errorf("stderr:\n%s\nwant 25 events read and normalised (15 Falco events, 10 audit events)", stderr)
	}
}
