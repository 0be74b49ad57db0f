package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func testConfig(n int, seed uint64, planted, decoys int) config {
	return config{n: n, seed: seed, hosts: 40, users: 50, pods: 60, planted: planted, decoys: decoys,
		rate: 1000, start: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano(), ingestLag: 2}
}

func generate(t testing.TB, cfg config) ([]byte, manifest) {
	t.Helper()
	g, err := newGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	st, err := g.run(context.Background(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), g.manifest(st, true)
}

func TestDeterminism(t *testing.T) {
	a, ma := generate(t, testConfig(20000, 7, 20, 40))
	b, mb := generate(t, testConfig(20000, 7, 20, 40))
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed gave different bytes")
	}
	ja, _ := json.Marshal(ma)
	jb, _ := json.Marshal(mb)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("the same seed gave different manifests:\n%s\n%s", ja, jb)
	}
	c, _ := generate(t, testConfig(20000, 8, 20, 40))
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same bytes")
	}
}

// classify names the kind of a decoded event from its fields alone.
func classify(d map[string]any) string {
	ds, _ := get(d, "data_stream.dataset").(string)
	os, _ := get(d, "host.os.type").(string)
	switch ds {
	case "endpoint.events.process":
		return os + "_process"
	case "cloud_defend.process":
		return "container_process"
	case "endpoint.events.network":
		if get(d, "dns.question.name") != nil {
			return "dns"
		}
		return "network"
	case "endpoint.events.file":
		return "file"
	case "endpoint.events.registry":
		return "registry"
	case "kubernetes.audit_logs":
		return "k8s_audit"
	}
	return "unknown:" + ds
}

// get follows a dotted path through nested objects, also trying keys that contain dots.
func get(v any, path string) any {
	if path == "" {
		return v
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	for i := len(path); i > 0; i = strings.LastIndexByte(path[:i], '.') {
		if child, ok := m[path[:i]]; ok {
			if i == len(path) {
				return child
			}
			if r := get(child, path[i+1:]); r != nil {
				return r
			}
		}
	}
	return nil
}

func TestEventsValidSizedAndCounted(t *testing.T) {
	tests := []struct {
		name string
		cfg  config
	}{
		{"default mix", testConfig(30000, 1, 30, 60)},
		{"two hosts one user two pods", config{n: 5000, seed: 3, hosts: 2, users: 1, pods: 2, planted: 5, decoys: 12, rate: 50, start: 0, ingestLag: 2}},
		{"no episodes", testConfig(3000, 4, 0, 0)},
		{"only episodes", testConfig(2*9, 5, 0, 9)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, m := generate(t, tc.cfg)
			lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
			if len(lines) != tc.cfg.n || m.Events != int64(tc.cfg.n) || m.Bytes != int64(len(data)) {
				t.Fatalf("got %d lines, manifest %d events %d bytes; want %d events, %d bytes", len(lines), m.Events, m.Bytes, tc.cfg.n, len(data))
			}
			counts := map[string]int{}
			var prev int64
			for i, l := range lines {
				if len(l) < 512 || len(l) > 2048 {
					t.Errorf("line %d: %d bytes, want 512 to 2048", i+1, len(l))
				}
				var d map[string]any
				if err := json.Unmarshal(l, &d); err != nil {
					t.Fatalf("line %d: %v\n%s", i+1, err, l)
				}
				counts[classify(d)]++
				ts, err := time.Parse(time.RFC3339Nano, d["@timestamp"].(string))
				if err != nil {
					t.Fatalf("line %d: @timestamp: %v", i+1, err)
				}
				// @timestamp has 3 or 7 digits, so compare at millisecond precision.
				if ms := ts.UnixMilli(); ms < prev {
					t.Errorf("line %d: @timestamp %s goes back in time", i+1, ts)
				} else {
					prev = ms
				}
				ing, err := time.Parse(time.RFC3339, get(d, "event.ingested").(string))
				if err != nil || ing.Nanosecond() != 0 || ing.Unix() != ts.Unix()+2 {
					t.Errorf("line %d: event.ingested %v (err %v) is not @timestamp+2s in whole seconds", i+1, ing, err)
				}
			}
			want := map[string]int{}
			for k, c := range m.Kinds {
				if c > 0 {
					want[strings.Replace(k, "windows_process", "windows_process", 1)] = c
				}
			}
			if fmt.Sprint(counts) != fmt.Sprint(want) {
				t.Errorf("kinds in data %v, manifest says %v", counts, want)
			}
		})
	}
}

func TestTooSmall(t *testing.T) {
	g, err := newGenerator(testConfig(10, 1, 5, 5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.run(context.Background(), io.Discard); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Fatalf("got error %v, want one saying -n is too small", err)
	}
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func anyIn(vals []string, set ...string) bool {
	for _, v := range vals {
		if slices.Contains(set, v) {
			return true
		}
	}
	return false
}

func withPaths(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, n, "/bin/"+n, "/usr/bin/"+n, "/usr/local/bin/"+n)
	}
	return out
}

// seedStage1 is the seed rule's first stage, written out by hand; published selects the newest
// rule's longer list of general exclusions, otherwise the documented (seed) version's.
func seedStage1(d map[string]any, published bool) bool {
	if !anyIn(strs(get(d, "event.category")), "process") || get(d, "host.os.type") != "linux" ||
		!anyIn(strs(get(d, "event.type")), "start") || get(d, "event.action") != "exec" ||
		get(d, "process.interactive") != true {
		return false
	}
	if _, ok := get(d, "container.id").(string); !ok {
		return false
	}
	name, _ := get(d, "process.name").(string)
	args := strs(get(d, "process.args"))
	general := []string{"sleep", "head", "tail"}
	if published {
		general = append(general, "apk", "apt", "apt-get", "dnf", "microdnf", "yum", "zypper", "tdnf", "pacman", "rpm", "dpkg")
	}
	excluded := slices.Contains([]string{"wget", "curl", "openssl", "socat", "ncat", "kubectl"}, name) ||
		(slices.Contains([]string{"bash", "dash", "sh", "tcsh", "csh", "zsh", "ksh", "fish", "busybox"}, name) &&
			anyIn(args, withPaths("wget", "ssl_client", "curl", "openssl", "socat", "ncat", "kubectl")...) &&
			!anyIn(args, withPaths("which", "man", "chmod", "chown")...)) ||
		slices.Contains(general, name)
	return !excluded
}

func seedStage2(d map[string]any, published bool) bool {
	field := "event.dataset"
	if published {
		field = "data_stream.dataset"
	}
	if get(d, field) != "kubernetes.audit_logs" ||
		!anyIn(strs(get(d, "kubernetes.audit.stage")), "ResponseStarted", "ResponseComplete") ||
		!anyIn(strs(get(d, "kubernetes.audit.verb")), "get", "list", "watch", "create", "patch", "update") {
		return false
	}
	res := strs(get(d, "kubernetes.audit.objectRef.resource"))
	return anyIn(res, "pods", "secrets", "serviceaccounts", "configmaps", "roles", "rolebindings", "clusterroles",
		"clusterrolebindings", "deployments", "daemonsets", "statefulsets", "jobs", "cronjobs", "nodes", "namespaces",
		"selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews") ||
		(anyIn(res, "pods") && anyIn(strs(get(d, "kubernetes.audit.objectRef.subresource")), "exec", "attach", "portforward", "log"))
}

type hit struct {
	ts    int64 // nanoseconds on the chosen clock
	line  int   // implicit tiebreaker
	stage int
	keys  []string
}

// runSequences applies Elasticsearch's two-stage sequence algorithm (es-eql-semantics.md §9.2):
// hits in ordinal order; a stage-1 hit advances the latest earlier stage-0 candidate of its key,
// discarding older ones; maxspan is inclusive. It returns the stage-0 keys of completed sequences.
func runSequences(hits []hit, maxspan int64) []string {
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].ts != hits[j].ts {
			return hits[i].ts < hits[j].ts
		}
		return hits[i].line < hits[j].line
	})
	pending := map[string][]int64{}
	var done []string
	for _, h := range hits {
		for _, k := range h.keys {
			if h.stage == 0 {
				pending[k] = append(pending[k], h.ts)
				continue
			}
			c := pending[k]
			if len(c) == 0 {
				continue
			}
			first := c[len(c)-1]
			delete(pending, k)
			if h.ts-first <= maxspan {
				done = append(done, k)
			}
		}
	}
	return done
}

func TestSeedRuleSequencesExact(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		data, m := generate(t, testConfig(30000, seed, 40, 90))
		var docs []map[string]any
		for _, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			var d map[string]any
			if err := json.Unmarshal(l, &d); err != nil {
				t.Fatal(err)
			}
			docs = append(docs, d)
		}
		var planted []string
		for _, p := range m.SeedRule.Planted {
			planted = append(planted, p.Pod)
		}
		sort.Strings(planted)
		if len(planted) != 40 || m.SeedRule.ExpectedSequences != 40 {
			t.Fatalf("seed %d: manifest lists %d planted, expects %d; want 40", seed, len(planted), m.SeedRule.ExpectedSequences)
		}
		for _, published := range []bool{true, false} {
			for _, clock := range []string{"@timestamp", "event.ingested"} {
				var hits []hit
				for i, d := range docs {
					var h hit
					switch {
					case seedStage1(d, published):
						h = hit{stage: 0, keys: strs(get(d, "orchestrator.resource.name"))}
					case seedStage2(d, published):
						h = hit{stage: 1, keys: strs(get(d, "kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name"))}
					default:
						continue
					}
					ts, err := time.Parse(time.RFC3339Nano, get(d, clock).(string))
					if err != nil {
						t.Fatal(err)
					}
					h.ts, h.line = ts.UnixNano(), i
					hits = append(hits, h)
				}
				got := runSequences(hits, int64(time.Second))
				sort.Strings(got)
				if !slices.Equal(got, planted) {
					t.Errorf("seed %d, published %v, clock %s: %d sequences %v, want the %d planted %v", seed, published, clock, len(got), got, len(planted), planted)
				}
			}
		}
	}
}

func TestAppendTime(t *testing.T) {
	tests := []struct {
		t      time.Time
		digits int
		want   string
	}{
		{time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC), 3, `"2026-03-02T09:00:00.123Z"`},
		{time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC), 7, `"2026-03-02T09:00:00.1234567Z"`},
		{time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC), 6, `"2024-02-29T23:59:59.999999Z"`},
		{time.Date(2000, 12, 31, 0, 0, 1, 5, time.UTC), 9, `"2000-12-31T00:00:01.000000005Z"`},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 0, `"1970-01-01T00:00:00Z"`},
		{time.Date(1969, 12, 31, 23, 59, 59, 500000000, time.UTC), 1, `"1969-12-31T23:59:59.5Z"`},
		{time.Date(2100, 3, 1, 12, 30, 45, 0, time.UTC), 0, `"2100-03-01T12:30:45Z"`},
	}
	for _, tc := range tests {
		if got := string(appendTime(nil, tc.t.UnixNano(), tc.digits)); got != tc.want {
			t.Errorf("appendTime(%v, %d) = %s, want %s", tc.t, tc.digits, got, tc.want)
		}
	}
}

func TestAppendCmd(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"ls", "-la"}, "ls -la"},
		{[]string{`C:\Program Files\Git\cmd\git.exe`, "fetch"}, `"C:\Program Files\Git\cmd\git.exe" fetch`},
		{[]string{"nginx", "-g", "daemon off;"}, `nginx -g "daemon off;"`},
	}
	for _, tc := range tests {
		var got string
		if err := json.Unmarshal(appendCmd(nil, tc.args), &got); err != nil || got != tc.want {
			t.Errorf("appendCmd(%q) = %q (err %v), want %q", tc.args, got, err, tc.want)
		}
	}
}

func TestPodNamesUnique(t *testing.T) {
	seen := map[int]bool{}
	for n := 0; n < 200000; n++ {
		s := podSuffix(n)
		key := 0
		for _, c := range []byte(s) {
			key = key*256 + int(c)
		}
		if seen[key] {
			t.Fatalf("podSuffix(%d) = %q repeats", n, s)
		}
		seen[key] = true
	}
}

func BenchmarkGenerate(b *testing.B) {
	cfg := testConfig(100000, 1, 100, 200)
	cfg.hosts, cfg.users, cfg.pods = 200, 500, 1000
	var bytesOut int64
	b.ReportAllocs()
	for b.Loop() {
		g, err := newGenerator(cfg)
		if err != nil {
			b.Fatal(err)
		}
		st, err := g.run(context.Background(), io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		bytesOut = st.bytes
	}
	b.SetBytes(bytesOut)
	b.ReportMetric(float64(cfg.n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
