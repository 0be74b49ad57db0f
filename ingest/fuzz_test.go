package ingest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReader reads any bytes as an input file and checks what every reader must hold: it
// ends, each record starts a JSON object (the reader splits the input; the decoder judges
// the rest, and reports a malformed one), line numbers do not decrease, and a record with
// an offset is exactly the file's bytes there. It also reads the same bytes through a one-byte-at-a-time reader (standard input)
// and requires the same records.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"{\"a\":1}\n{\"a\":2}\n", "\xef\xbb\xbf{\"a\":1}\r\n\n  {\"b\":[1]}  \n", "[{\"a\":1},\n{\"b\":\"]\"}]",
		"{\"a\"\nhello\n{}", " [ ] ", "{\"a\":\"x\\\"}\"}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "in")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		read := func(paths []string, stdin io.Reader) []Record {
			r := NewReader(context.Background(), paths, Options{Stdin: stdin, MaxRecord: 1 << 16})
			defer r.Close()
			var out []Record
			line := 0
			for n := 0; ; n++ {
				if n > len(data)+2 {
					t.Fatalf("more results than bytes: %d", n)
				}
				rec, err := r.Next()
				if err == io.EOF {
					return out
				}
				if err != nil {
					continue // a reported bad record
				}
				if len(rec.Doc) == 0 || rec.Doc[0] != '{' {
					t.Fatalf("record %q does not start an object", rec.Doc)
				}
				if rec.Line < line {
					t.Fatalf("line %d after line %d", rec.Line, line)
				}
				line = rec.Line
				if rec.Offset >= 0 && (rec.Offset+int64(len(rec.Doc)) > int64(len(data)) ||
					!bytes.Equal(data[rec.Offset:rec.Offset+int64(len(rec.Doc))], rec.Doc)) {
					t.Fatalf("record %q is not at offset %d", rec.Doc, rec.Offset)
				}
				rec.Doc = bytes.Clone(rec.Doc)
				rec.Source, rec.Offset = "", 0
				out = append(out, rec)
			}
		}
		fromFile := read([]string{p}, nil)
		fromStdin := read([]string{"-"}, iotestOneByte{bytes.NewReader(data)})
		if len(fromFile) != len(fromStdin) {
			t.Fatalf("%d records from the file, %d from standard input", len(fromFile), len(fromStdin))
		}
		for i := range fromFile {
			if !bytes.Equal(fromFile[i].Doc, fromStdin[i].Doc) || fromFile[i].Line != fromStdin[i].Line {
				t.Fatalf("record %d: %q line %d from the file, %q line %d from standard input", i,
					fromFile[i].Doc, fromFile[i].Line, fromStdin[i].Doc, fromStdin[i].Line)
			}
		}
	})
}

// iotestOneByte reads one byte at a time (as testing/iotest.OneByteReader, without its
// import here).
type iotestOneByte struct{ r io.Reader }

func (o iotestOneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}
