package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tripline/tripline/internal/testenv"
)

// layoutCorpus returns the lines of a corpus built from the example scenario: copies of the
// example events, each copy on another hour and with its own pod names, the Kubernetes audit
// events of odd copies as the raw kube-apiserver records they were normalised from. Every
// event has its own timestamp, so every order of the input has one right answer.
func layoutCorpus(t testing.TB, copies int) []string {
	t.Helper()
	read := func(parts ...string) []string {
		data, err := os.ReadFile(filepath.Join(append([]string{testenv.RepoRoot(t), "examples"}, parts...)...))
		if err != nil {
			t.Fatal(err)
		}
		return lines(string(data))
	}
	process := read("events", "cloud-defend-process.ndjson")
	audit := read("events", "kubernetes-audit.ndjson")
	raw := read("raw-audit", "kube-apiserver-audit.log")
	pods := []string{"checkout-7c9d5b6f8-x2lkq", "inventory-api-66b8f9d7c4-mz5tn", "web-frontend-5f7d8c9b4-q8r2m", "debug-toolbox"}
	var out []string
	for c := range copies {
		r := strings.NewReplacer(append([]string{"2026-03-12T09", fmt.Sprintf("2026-03-%02dT%02d", 1+c/24, c%24)},
			podRenames(pods, c)...)...)
		src := append(slices.Clone(process), audit...)
		if c%2 == 1 {
			src = append(slices.Clone(process), raw...)
		}
		for _, l := range src {
			out = append(out, r.Replace(l))
		}
	}
	return out
}

// podRenames gives each copy its own pod names, so that sequences stay within a copy.
func podRenames(pods []string, c int) []string {
	var r []string
	for _, p := range pods {
		r = append(r, `"`+p+`"`, fmt.Sprintf(`"%s-c%d"`, p, c))
	}
	return r
}

// inputLayout is one way of giving a corpus to the command line: its lines shuffled, split into
// files of several formats, some inside directories, one part maybe on standard input.
type inputLayout struct {
	args  []string // the input arguments, in order
	stdin string
	desc  []string // what each part is, for failure messages
}

// makeLayout writes corpus to dir in a layout chosen by rng.
func makeLayout(t testing.TB, rng *rand.Rand, dir string, corpus []string) inputLayout {
	t.Helper()
	docs := slices.Clone(corpus)
	rng.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
	nParts := 1 + rng.IntN(6)
	cuts := []int{0, len(docs)}
	for range nParts - 1 {
		cuts = append(cuts, rng.IntN(len(docs)+1))
	}
	slices.Sort(cuts)
	var lay inputLayout
	stdinUsed := false
	var dirs []string
	for p := range len(cuts) - 1 {
		part := docs[cuts[p]:cuts[p+1]]
		kind := rng.IntN(6)
		var data []byte
		name := fmt.Sprintf("part%02d", p)
		switch kind {
		case 0, 1: // NDJSON, with or without a last newline
			data = []byte(strings.Join(part, "\n"))
			if kind == 0 && len(part) > 0 {
				data = append(data, '\n')
			}
			name += ".ndjson"
		case 2: // CRLF lines after a byte order mark, blank lines between
			data = []byte("\xef\xbb\xbf" + strings.Join(part, "\r\n\r\n") + "\r\n")
			name += ".jsonl"
		case 3, 4: // an indented JSON array
			var b bytes.Buffer
			if err := json.Indent(&b, []byte("["+strings.Join(part, ",")+"]"), "", "  "); err != nil {
				t.Fatal(err)
			}
			data = b.Bytes()
			name += ".json"
		case 5: // gzip-compressed NDJSON
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write([]byte(strings.Join(part, "\n") + "\n"))
			zw.Close()
			data = b.Bytes()
			name += ".ndjson.gz"
		}
		if kind == 4 { // and gzip-compressed
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(data)
			zw.Close()
			data = b.Bytes()
			name += ".gz"
		}
		switch where := rng.IntN(4); {
		case where == 0 && !stdinUsed && kind != 5 && kind != 4:
			stdinUsed = true
			lay.stdin = string(data)
			lay.args = append(lay.args, "-")
			lay.desc = append(lay.desc, fmt.Sprintf("stdin: %d docs as %s", len(part), name))
		case where == 1: // inside a directory, read in name order
			d := filepath.Join(dir, fmt.Sprintf("dir%d", rng.IntN(2)))
			writeBytes(t, filepath.Join(d, name), data)
			if !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
				lay.args = append(lay.args, d)
			}
			lay.desc = append(lay.desc, fmt.Sprintf("%s/%s: %d docs", filepath.Base(d), name, len(part)))
		default:
			p := filepath.Join(dir, name)
			writeBytes(t, p, data)
			lay.args = append(lay.args, p)
			lay.desc = append(lay.desc, fmt.Sprintf("%s: %d docs", name, len(part)))
		}
	}
	rng.Shuffle(len(lay.args), func(i, j int) { lay.args[i], lay.args[j] = lay.args[j], lay.args[i] })
	return lay
}

func writeBytes(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// layoutCommands are the runs every layout must answer exactly as the single file does:
// queries of each kind (an event query, sequences, a sample; standard and es formats) and
// detection with the example rules. Input arguments go at the end. The sample's filters
// match one event per key each: which of several hits a sample takes follows the input
// order, as in Elasticsearch, where it follows the index order.
var layoutCommands = [][]string{
	{"query", "--index", "corpus", "process where process.interactive == true and process.name : (\"*sh\", \"python*\")"},
	{"query", "--index", "corpus", "--format", "es", "--size", "7", "--result-position", "tail",
		"sequence by orchestrator.resource.name with maxspan=1m [process where true] [process where process.name == \"cat\"]"},
	{"query", "--index", "corpus",
		"sequence with maxspan=1s [process where process.interactive == true] by orchestrator.resource.name " +
			"[any where event.dataset == \"kubernetes.audit_logs\"] by `kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name`"},
	{"query", "--index", "corpus", "sample by orchestrator.resource.name [process where process.name in (\"cat\", \"df\")] [process where process.name in (\"curl\", \"top\", \"nginx\")]"},
	{"detect", "--rules", "examples/rules", "--now", "2026-11-27T00:00:00Z", "--workers", "2"},
}

// checkLayout runs every layoutCommand over lay and compares exit code and standard output
// with want (the runs over the single file).
func checkLayout(t *testing.T, lay inputLayout, want []result) {
	t.Helper()
	for i, cmd := range layoutCommands {
		args := append(slices.Clone(cmd), lay.args...)
		got := runCLIContext(t, t.Context(), strings.NewReader(lay.stdin), args...)
		got.stdout = tookRE.ReplaceAllString(got.stdout, `"took":0,`)
		if got.code != want[i].code || got.stdout != want[i].stdout {
			t.Errorf("%s over %s:\nexit %d, want %d\n%s", cmd[0], strings.Join(lay.desc, ", "), got.code, want[i].code,
				firstDiff(got.stdout, want[i].stdout))
			t.Logf("stderr: %s", got.stderr)
		}
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := lines(got), lines(want)
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d of %d (want %d lines):\n got  %.300s\n want %.300s", i+1, len(g), len(w), gl, wl)
		}
	}
	return "same lines"
}

// layoutBaseline runs every layoutCommand over corpus as one NDJSON file in corpus order.
func layoutBaseline(t *testing.T, corpus []string) []result {
	t.Helper()
	single := filepath.Join(t.TempDir(), "single.ndjson")
	writeBytes(t, single, []byte(strings.Join(corpus, "\n")+"\n"))
	var want []result
	for _, cmd := range layoutCommands {
		r := runCLI(t, "", append(slices.Clone(cmd), single)...)
		r.stdout = tookRE.ReplaceAllString(r.stdout, `"took":0,`)
		if r.code != 0 || len(lines(r.stdout)) == 0 {
			t.Fatalf("%s over the single file: exit %d, %d lines\n%s", cmd[0], r.code, len(lines(r.stdout)), r.stderr)
		}
		want = append(want, r)
	}
	return want
}

// TestInputLayouts splits one corpus into files of every input format (NDJSON, CRLF and BOM,
// indented JSON arrays, gzip, both), shuffled, some in directories and one maybe on standard
// input, and requires every command to give the single file's results and alert ids.
func TestInputLayouts(t *testing.T) {
	t.Chdir(testenv.RepoRoot(t))
	corpus := layoutCorpus(t, 8)
	want := layoutBaseline(t, corpus)
	if n := len(lines(want[len(want)-1].stdout)); n != 8*12 {
		t.Fatalf("detect over the single file wrote %d alerts, want %d (12 per copy)", n, 8*12)
	}
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			lay := makeLayout(t, rand.New(rand.NewPCG(seed, 13)), t.TempDir(), corpus)
			checkLayout(t, lay, want)
		})
	}
}

// FuzzInputLayouts is TestInputLayouts with layouts chosen by the fuzzer's seeds (corpus in
// testdata/fuzz/FuzzInputLayouts).
func FuzzInputLayouts(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	root := testenv.RepoRoot(f)
	corpus := layoutCorpus(f, 3)
	var want []result
	f.Fuzz(func(t *testing.T, a, b uint64) {
		t.Chdir(root)
		if want == nil {
			want = layoutBaseline(t, corpus)
		}
		checkLayout(t, makeLayout(t, rand.New(rand.NewPCG(a, b)), t.TempDir(), corpus), want)
	})
}
