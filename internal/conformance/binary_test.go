package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tripline/tripline/internal/testenv"
)

// index is one index of the suite's data as a user would give it to the binary: its
// documents as an NDJSON file and its mapping as a --mapping file.
type index struct {
	name      string
	data      string // the .data or .json file, relative to the suite's directory
	mapping   string // the .mapping file, likewise
	transform func(map[string]json.RawMessage) error
}

// binaryIndices are the indices each dataset of the suites stands for.
var binaryIndices = map[string][]index{
	"endgame-140":       {{"endgame-140", "test_data.json", "data/endgame-140.mapping", filetimeToMillis}},
	"endgame-140-nanos": {{"endgame-140-nanos", "test_data.json", "data/endgame-140-nanos.mapping", filetimeToNanos}},
	"extra":             {{"extra", "data/extra.data", "data/extra.mapping", nil}},
	"missing-events":    {{"missing-events", "data/missing-events.data", "data/missing-events.mapping", nil}},
	"sample": {{"sample1", "data/sample1.data", "data/sample1.mapping", nil},
		{"sample2", "data/sample2.data", "data/sample2.mapping", nil},
		{"sample3", "data/sample3.data", "data/sample3.mapping", nil}},
	"sample-multi": {{"sample-multi", "data/sample-multi.data", "data/sample-multi.mapping", nil}},
}

// writeIndex writes the index's documents, in file order, as NDJSON into dir, and its
// mapping as Elasticsearch's DataLoader reads it (# lines dropped, the random keyword type
// placeholders as keyword); it returns the two paths.
func writeIndex(dir, suiteDir string, ix index) (data, mappingFile string, err error) {
	docs, err := readDocs(filepath.Join(suiteDir, ix.data))
	if err != nil {
		return "", "", err
	}
	var b bytes.Buffer
	for _, d := range docs {
		if ix.transform != nil {
			if err := ix.transform(d); err != nil {
				return "", "", err
			}
		}
		line, err := json.Marshal(d)
		if err != nil {
			return "", "", err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	data = filepath.Join(dir, ix.name+".ndjson")
	if err := os.WriteFile(data, b.Bytes(), 0o644); err != nil {
		return "", "", err
	}
	raw, err := os.ReadFile(filepath.Join(suiteDir, ix.mapping))
	if err != nil {
		return "", "", err
	}
	var m strings.Builder
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			m.WriteString(strings.ReplaceAll(line, "[runtime_random_keyword_type]", "keyword"))
		}
	}
	mappingFile = filepath.Join(dir, ix.name+".mapping.json")
	return data, mappingFile, os.WriteFile(mappingFile, []byte(m.String()), 0o644)
}

// buildBinary builds cmd/tripline into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "tripline")
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/tripline")
	cmd.Dir = testenv.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// esResponse is the part of an _eql/search response the harness reads.
type esResponse struct {
	Hits struct {
		Events    []esHit `json:"events"`
		Sequences []struct {
			JoinKeys []any   `json:"join_keys"`
			Events   []esHit `json:"events"`
		} `json:"sequences"`
	} `json:"hits"`
}

type esHit struct {
	Source  map[string]any `json:"_source"`
	Missing bool           `json:"missing"`
}

// outcomeOf reads the ids and join keys of a response as the harness does: the id field of
// each hit's _source (-1 for a missing event), join keys through toString.
func outcomeOf(body []byte, idField string) (outcome, error) {
	var r esResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return outcome{}, fmt.Errorf("response: %v\n%s", err, body)
	}
	var out outcome
	id := func(h esHit) (int64, error) {
		if h.Missing {
			return -1, nil
		}
		n, ok := h.Source[idField].(json.Number)
		if !ok {
			return 0, fmt.Errorf("hit without a numeric %s: %v", idField, h.Source)
		}
		return n.Int64()
	}
	for _, h := range r.Hits.Events {
		n, err := id(h)
		if err != nil {
			return out, err
		}
		out.ids = append(out.ids, n)
	}
	for _, s := range r.Hits.Sequences {
		for _, h := range s.Events {
			n, err := id(h)
			if err != nil {
				return out, err
			}
			out.ids = append(out.ids, n)
		}
		for _, k := range s.JoinKeys {
			if k == nil {
				out.keys = append(out.keys, "null")
			} else {
				out.keys = append(out.keys, fmt.Sprint(k))
			}
		}
	}
	return out, nil
}

// binaryCase is one run of the binary: a case of a suite with one result position.
type binaryCase struct {
	suite *suite
	spec  *spec
	pos   string
	args  []string
	err   error
}

// TestConformanceBinary runs the suite as a user would: each index of the suite's data in
// its own NDJSON file on disk, the suite's own mapping files as --mapping (placeholders as
// keyword), each case through the built binary's `tripline query --format es` with the
// case's size (50 when it has none) and both result positions; ids and join keys are
// compared as the harness compares them. It prints "N passed, M failed" per file.
func TestConformanceBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary 868 times: skipped with -short")
	}
	suiteDir := testenv.Shared(t, "conformance", "es")
	tmp := t.TempDir()
	bin := buildBinary(t, tmp)
	files := map[string][]string{}    // dataset: data files
	mappings := map[string][]string{} // dataset: --mapping arguments
	for name, ixs := range binaryIndices {
		for _, ix := range ixs {
			data, m, err := writeIndex(tmp, suiteDir, ix)
			if err != nil {
				t.Fatal(err)
			}
			files[name] = append(files[name], data)
			mappings[name] = append(mappings[name], "--mapping", m)
		}
	}
	var cases []*binaryCase
	perFile := make([][]*binaryCase, len(suites))
	for i := range suites {
		su := &suites[i]
		specs, err := loadSpecs(filepath.Join(suiteDir, su.file))
		if err != nil {
			t.Fatal(err)
		}
		for j := range specs {
			sp := &specs[j]
			size := 50
			if sp.Size != nil {
				size = *sp.Size
			}
			for _, pos := range []string{"head", "tail"} {
				args := []string{"query", "--format", "es", "--size", strconv.Itoa(size), "--result-position", pos, "--progress", "never"}
				if su.tiebreaker != "" {
					args = append(args, "--tiebreaker-field", su.tiebreaker)
				}
				if sp.MaxSamplesPerKey > 0 {
					args = append(args, "--max-samples-per-key", strconv.Itoa(sp.MaxSamplesPerKey))
				}
				args = append(args, mappings[su.data]...)
				args = append(args, "--", sp.Query)
				args = append(args, files[su.data]...)
				c := &binaryCase{suite: su, spec: sp, pos: pos, args: args}
				cases = append(cases, c)
				perFile[i] = append(perFile[i], c)
			}
		}
	}
	work := make(chan *binaryCase)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				c.err = runBinaryCase(t.Context(), bin, c)
			}
		}()
	}
	for _, c := range cases {
		work <- c
	}
	close(work)
	wg.Wait()
	total := 0
	for i := range suites {
		su := &suites[i]
		passed, failed := 0, 0
		cs := perFile[i]
		for j := 0; j < len(cs); j += 2 { // head and tail of one case
			var errs []string
			for _, c := range cs[j : j+2] {
				if c.err != nil {
					errs = append(errs, c.pos+": "+c.err.Error())
				}
			}
			if len(errs) > 0 {
				failed++
				t.Errorf("%s [%s on %s] %s\n  %v", su.file, cs[j].spec.Name, su.data, cs[j].spec.Query, errs)
			} else {
				passed++
			}
		}
		total += passed + failed
		fmt.Printf("conformance-binary: %s on %s: %d passed, %d failed\n", su.file, su.data, passed, failed)
	}
	if total == 0 {
		t.Fatal("no case ran")
	}
}

// runBinaryCase runs one case through the binary and checks its answer.
func runBinaryCase(ctx context.Context, bin string, c *binaryCase) error {
	cmd := exec.CommandContext(ctx, bin, c.args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	got, err := outcomeOf(stdout.Bytes(), c.suite.idField)
	if err != nil {
		return err
	}
	if err := check(c.spec, got); err != nil {
		return fmt.Errorf("%v (stderr: %s)", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
