package detect

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/tripline/tripline/ingest/source"
)

// TestReplayFiles checks that the input read again gives the documents and sources of the
// first reading, the refused and malformed ones left out alike and nothing reported, and
// that only regular files are read again.
func TestReplayFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.ndjson")
	b := filepath.Join(dir, "b.json")
	for p, content := range map[string]string{
		a: "{\"x\":1}\nnot json\n{\"refuse\":1}\n{\"x\":2}\n",
		b: "[{\"y\":1},{\"y\":2}]\n",
	} {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reported := 0
	opts := source.Options{
		Reject: func(doc []byte) error {
			if strings.Contains(string(doc), "refuse") {
				return errors.New("refused")
			}
			return nil
		},
		Skip:   func(error) { reported++ },
		Notice: func(string) { reported++ },
	}
	type item struct {
		doc string
		src EventSource
	}
	var first []item
	r := source.NewReader(t.Context(), source.Inputs{Paths: []string{a, b}}, opts)
	for {
		d, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, item{string(d.Bytes), SourceOf(d)})
	}
	r.Close()
	if len(first) != 4 || reported != 2 {
		t.Fatalf("first reading: %d documents, %d reports; want 4 and 2", len(first), reported)
	}
	if want := (EventSource{Name: a, Line: 4, Seq: 2, Offset: 30, HasOffset: true}); first[1].src != want {
		t.Errorf("source %+v, want %+v", first[1].src, want)
	}
	if want := (EventSource{Name: b, Line: 1, Seq: 3, Offset: -1}); first[2].src != want {
		t.Errorf("source %+v, want %+v", first[2].src, want)
	}

	replay := ReplayFiles([]string{a, b}, opts)
	if replay == nil {
		t.Fatal("regular files are not read again")
	}
	reported = 0
	var again []item
	err := replay(t.Context(), func(doc []byte, src EventSource) error {
		again = append(again, item{string(doc), src})
		return nil
	})
	if err != nil || !slices.Equal(again, first) || reported != 0 {
		t.Errorf("read again: %v, %d reports\n%v\nwant\n%v", err, reported, again, first)
	}
	// The caller's error stops the reading.
	stop := errors.New("stop")
	if err := replay(context.Background(), func([]byte, EventSource) error { return stop }); err != stop {
		t.Errorf("replay returned %v, want the caller's error", err)
	}

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, paths := range [][]string{{a, "-"}, {fifo}} {
		if ReplayFiles(paths, opts) != nil {
			t.Errorf("%q read again", paths)
		}
	}
}
