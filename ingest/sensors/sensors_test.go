package sensors

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected documents in testdata")

// TestSamples normalises the sensors' own samples (testdata/README.md says where each
// comes from) and compares each document with testdata/*.ecs.ndjson.
func TestSamples(t *testing.T) {
	for _, c := range []struct {
		file string
		kind Kind
	}{
		{"falco.ndjson", Falco},
		{"tetragon.ndjson", Tetragon},
	} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			n := New(Options{})
			var got bytes.Buffer
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(nil, 1<<20)
			for line := 1; sc.Scan(); line++ {
				if k := Detect(sc.Bytes()); k != c.kind {
					t.Fatalf("line %d: Detect = %v, want %v", line, k, c.kind)
				}
				docs, err := n.Normalize(sc.Bytes(), nil)
				if err != nil {
					t.Fatalf("line %d: %v", line, err)
				}
				if len(docs) != 1 {
					t.Fatalf("line %d: %d documents, want 1", line, len(docs))
				}
				if Detect(docs[0]) != None {
					t.Errorf("line %d: the normalised document is detected as a sensor event", line)
				}
				got.Write(docs[0])
				got.WriteByte('\n')
			}
			want := filepath.Join("testdata", strings.TrimSuffix(c.file, ".ndjson")+".ecs.ndjson")
			if *update {
				if err := os.WriteFile(want, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			exp, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != string(exp) {
				t.Errorf("documents differ from %s:\ngot:\n%s\nwant:\n%s", want, got.String(), exp)
			}
		})
	}
}
