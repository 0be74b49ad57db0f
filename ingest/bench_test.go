package ingest

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// BenchmarkReaderNDJSON measures framing alone: 1,000 lines of 1.5 KB per iteration.
func BenchmarkReaderNDJSON(b *testing.B) {
	line := `{"@timestamp":"2024-05-14T09:21:17.532Z","message":"` + strings.Repeat("x", 1500) + `"}` + "\n"
	input := []byte(strings.Repeat(line, 1000))
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(context.Background(), []string{"-"}, Options{Stdin: bytes.NewReader(input)})
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
			b.Fatalf("%d records", n)
		}
	}
}
