package source

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// BenchmarkReader measures a Reader over 1,000 NDJSON lines of 1.5 KB per iteration, in
// the Auto format (each record looked at for an audit record): compare with ingest's
// BenchmarkReaderNDJSON, the framing alone.
func BenchmarkReader(b *testing.B) {
	line := `{"@timestamp":"2024-05-14T09:21:17.532Z","message":"` + strings.Repeat("x", 1500) + `"}` + "\n"
	input := []byte(strings.Repeat(line, 1000))
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(context.Background(), Inputs{Paths: []string{"-"}}, Options{Stdin: bytes.NewReader(input)})
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 1000 {
			b.Fatalf("%d documents", n)
		}
	}
}

// TestReaderNextAllocs checks that Next allocates nothing per document once the reader's
// buffers have grown.
func TestReaderNextAllocs(t *testing.T) {
	line := `{"@timestamp":"2024-05-14T09:21:17.532Z","message":"hello"}` + "\n"
	r := NewReader(t.Context(), Inputs{Paths: []string{"-"}},
		Options{Stdin: strings.NewReader(strings.Repeat(line, 1000)), OnRecord: func(int64) {}})
	defer r.Close()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(500, func() {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per document, want 0", allocs)
	}
}
