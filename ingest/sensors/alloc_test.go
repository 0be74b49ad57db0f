package sensors

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestNormalizeAllocs checks doc.go's promise: once warm, a Normalizer allocates nothing
// per event.
func TestNormalizeAllocs(t *testing.T) {
	for _, name := range []string{"falco.ndjson", "tetragon.ndjson"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			doc := bytes.Clone(sc.Bytes())
			n := New(Options{})
			dst := make([][]byte, 0, 1)
			n.Normalize(doc, dst)
			if a := testing.AllocsPerRun(20, func() { n.Normalize(doc, dst[:0]) }); a != 0 {
				t.Errorf("%s: %.0f allocations per event, want 0", name, a)
			}
		}
	}
}
