package source

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestOrigin checks that documents are read back right from more input files than stay
// open at once, files being closed and opened again as needed.
func TestOrigin(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := range maxOriginFiles + 6 {
		p := filepath.Join(dir, fmt.Sprintf("f%03d.ndjson", i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("{\"a\":1}\n{\"file\":%d}\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	o := &Origin{}
	defer o.Close()
	for round := range 2 {
		for i, p := range paths {
			want := fmt.Sprintf("{\"file\":%d}", i)
			doc, err := o.ReadDoc(p, 8, len(want))
			if err != nil || string(doc) != want {
				t.Fatalf("round %d, %s: %q, %v; want %q", round, p, doc, err, want)
			}
			if len(o.files) > maxOriginFiles {
				t.Fatalf("%d files open, want at most %d", len(o.files), maxOriginFiles)
			}
		}
	}
	if _, err := o.ReadDoc(filepath.Join(dir, "gone"), 0, 1); err == nil {
		t.Error("reading a file that does not exist gave no error")
	}
}
