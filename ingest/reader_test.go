package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// item is one result of Next, rendered for comparison.
type item struct {
	Doc  string
	Line int
	Err  string
}

func readAll(t *testing.T, r *Reader) []item {
	t.Helper()
	var out []item
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		it := item{Doc: string(rec.Doc), Line: rec.Line}
		if err != nil {
			it = item{Err: err.Error()}
			if len(out) > 1000 {
				t.Fatal("no end")
			}
		}
		out = append(out, it)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReader(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []item
	}{
		{"ndjson", "{\"a\":1}\n{\"a\":2}\n", []item{{`{"a":1}`, 1, ""}, {`{"a":2}`, 2, ""}}},
		{"no final newline", "{\"a\":1}\n{\"a\":2}", []item{{`{"a":1}`, 1, ""}, {`{"a":2}`, 2, ""}}},
		{"cut-off last line", "{\"a\":1}\n{\"a\":", []item{{`{"a":1}`, 1, ""},
			{Err: "IN:2: incomplete JSON object at the end of the input"}}},
		{"crlf", "{\"a\":1}\r\n{\"a\":2}\r\n", []item{{`{"a":1}`, 1, ""}, {`{"a":2}`, 2, ""}}},
		{"blank lines", "\n  \n{\"a\":1}\n\r\n\t\n{\"a\":2}\n\n", []item{{`{"a":1}`, 3, ""}, {`{"a":2}`, 6, ""}}},
		{"bom", "\xef\xbb\xbf{\"a\":1}\n", []item{{`{"a":1}`, 1, ""}}},
		{"bad lines go on", "{\"a\":1}\nhello\n[1]\n{\"a\"\n{\"b\":2}\n", []item{{`{"a":1}`, 1, ""},
			{Err: "IN:2: not a JSON object"}, {Err: "IN:3: not a JSON object"},
			{Err: "IN:4: not a JSON object (no closing brace)"}, {`{"b":2}`, 5, ""}}},
		{"empty", "", nil},
		{"only spaces", " \n \n", nil},
		{"array", "[{\"a\":1},{\"a\":\"x]}\\\"\"}]", []item{{`{"a":1}`, 1, ""}, {`{"a":"x]}\""}`, 1, ""}}},
		{"pretty array", "\xef\xbb\xbf[\n {\n  \"a\": [1,\n 2]\n },\n {\"b\": {}}\n]\n",
			[]item{{"{\n  \"a\": [1,\n 2]\n }", 2, ""}, {`{"b": {}}`, 6, ""}}},
		{"empty array", " [ ] ", nil},
		{"array with non-objects", `[1, "s", {"a":1}, [2], null]`, []item{
			{Err: "IN:1: array element is not a JSON object"}, {Err: "IN:1: array element is not a JSON object"},
			{`{"a":1}`, 1, ""}, {Err: "IN:1: array element is not a JSON object"}, {Err: "IN:1: array element is not a JSON object"}}},
		{"cut-off array", "[{\"a\":1},\n{\"a\":", []item{{`{"a":1}`, 1, ""},
			{Err: "IN:2: unexpected end of input inside an array element"}}},
		{"unterminated array", "[{\"a\":1}", []item{{`{"a":1}`, 1, ""},
			{Err: "IN:1: unexpected end of input inside the JSON array"}}},
		{"garbage after array", "[{\"a\":1}] x", []item{{`{"a":1}`, 1, ""},
			{Err: "IN:1: unexpected 'x' after the end of the JSON array"}}},
		{"missing comma", "[{\"a\":1} {\"a\":2}]", []item{{`{"a":1}`, 1, ""},
			{Err: "IN:1: unexpected '{' after an array element, expected ',' or ']'"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeFile(t, dir, "IN", tt.input)
			t.Chdir(dir)
			r := NewReader(context.Background(), []string{"IN"}, Options{})
			defer r.Close()
			got := readAll(t, r)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if r.BytesRead() != int64(len(tt.input)) || r.Size() != int64(len(tt.input)) {
				t.Errorf("BytesRead %d, Size %d, want %d", r.BytesRead(), r.Size(), len(tt.input))
			}
			_ = p
		})
	}
}

func TestStdinGzipAndSeveralInputs(t *testing.T) {
	dir := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("{\"z\":1}\n{\"z\":2}\n"))
	zw.Close()
	gzPath := writeFile(t, dir, "a.ndjson.gz", gz.String())
	plain := writeFile(t, dir, "b.json", `[{"b":1}]`)
	r := NewReader(context.Background(), []string{gzPath, filepath.Join(dir, "nope"), "-", plain},
		Options{Stdin: strings.NewReader("{\"s\":1}\n")})
	var got []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			got = append(got, "error: "+strings.TrimPrefix(err.Error(), dir))
			continue
		}
		got = append(got, strings.TrimPrefix(rec.Source, dir)+" "+string(rec.Doc))
	}
	want := []string{"/a.ndjson.gz {\"z\":1}", "/a.ndjson.gz {\"z\":2}",
		"error: open " + dir + "/nope: no such file or directory", "- {\"s\":1}", "/b.json {\"b\":1}"}
	want[2] = "error: open " + dir + "/nope: no such file or directory"
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if r.Size() != -1 {
		t.Errorf("Size with stdin = %d, want -1", r.Size())
	}
	if r.BytesRead() != int64(gz.Len()+len("{\"s\":1}\n")+len(`[{"b":1}]`)) {
		t.Errorf("BytesRead = %d", r.BytesRead())
	}
}

func TestLongLines(t *testing.T) {
	big := `{"a":"` + strings.Repeat("x", 10<<20) + `"}`
	input := "{\"a\":1}\n" + big + "\n" + `{"c":` + strings.Repeat("9", 300) + "}\n{\"d\":1}\n"
	r := NewReader(context.Background(), []string{"-"}, Options{Stdin: strings.NewReader(input)})
	rec, err := r.Next()
	if err != nil || string(rec.Doc) != `{"a":1}` {
		t.Fatalf("first: %q %v", rec.Doc, err)
	}
	rec, err = r.Next()
	if err != nil || string(rec.Doc) != big || rec.Line != 2 {
		t.Fatalf("10 MB line: len %d line %d err %v", len(rec.Doc), rec.Line, err)
	}
	// With a 100-byte limit, the 300-byte line is reported and skipped, whether it is
	// read at once or one byte at a time.
	small := "{\"a\":1}\n" + `{"c":` + strings.Repeat("9", 300) + "}\n{\"d\":1}\n"
	for _, in := range []io.Reader{strings.NewReader(small), iotest.OneByteReader(strings.NewReader(small))} {
		r = NewReader(context.Background(), []string{"-"}, Options{MaxRecord: 100, Stdin: in})
		got := readAll(t, r)
		want := []item{{`{"a":1}`, 1, ""}, {Err: "-:2: line longer than 100 bytes, skipped"}, {`{"d":1}`, 3, ""}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	}
	// A pretty-printed array read one byte at a time.
	arr := "[\n {\"a\": \"x\\\"}\"},\n {\"b\": [1, {}]}\n]"
	r = NewReader(context.Background(), []string{"-"}, Options{Stdin: iotest.OneByteReader(strings.NewReader(arr))})
	got := readAll(t, r)
	want := []item{{`{"a": "x\"}"}`, 2, ""}, {`{"b": [1, {}]}`, 3, ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestFollow(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "grow.ndjson", "{\"n\":1}\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := NewReader(ctx, []string{p}, Options{Follow: true, Poll: 5 * time.Millisecond})
	defer r.Close()
	recs := make(chan string)
	done := make(chan error, 1)
	go func() {
		for {
			rec, err := r.Next()
			if err != nil {
				done <- err
				return
			}
			recs <- string(rec.Doc)
		}
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-recs:
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("timeout waiting for %q", want)
		}
	}
	expect(`{"n":1}`)
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString(`{"n":`) // half a line: nothing yet
	time.Sleep(30 * time.Millisecond)
	f.WriteString("2}\n{\"n\":3}\n")
	expect(`{"n":2}`)
	expect(`{"n":3}`)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return after cancel")
	}
}

// TestFollowPipeEnds checks that Follow does not wait at the end of a pipe, as it does at
// the end of a regular file: the writer closed it, nothing more can come.
func TestFollowPipeEnds(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	go func() {
		pw.WriteString("{\"n\":1}\n{\"n\":2}\n")
		pw.Close()
	}()
	r := NewReader(context.Background(), []string{"-"}, Options{Follow: true, Poll: 5 * time.Millisecond, Stdin: pr})
	defer r.Close()
	done := make(chan []item, 1)
	go func() { done <- readAll(t, r) }()
	select {
	case got := <-done:
		if want := []item{{`{"n":1}`, 1, ""}, {`{"n":2}`, 2, ""}}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return io.EOF at the end of the pipe")
	}
}

func TestFollowTruncateAndRotate(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, p string)
		want   []item
		notice string // a regular expression, after "PATH: "
	}{
		{
			name: "truncate",
			change: func(t *testing.T, p string) {
				if err := os.Truncate(p, 0); err != nil {
					t.Fatal(err)
				}
				appendFile(t, p, "{\"e\":3}\n")
			},
			want: []item{{Doc: `{"e":1}`, Line: 1}, {Doc: `{"e":2}`, Line: 2}, {Doc: `{"e":3}`, Line: 1}},
			// The size is 0 or 8, as the poll falls before or after the write.
			notice: `truncated \(size [08], read up to 16\); reading it again from the start`,
		},
		{
			name: "rotate",
			change: func(t *testing.T, p string) {
				if err := os.Rename(p, p+".1"); err != nil {
					t.Fatal(err)
				}
				// Written to the old file after the rename: still read before the new file.
				appendFile(t, p+".1", "{\"e\":\"late\"}\n")
				appendFile(t, p, "{\"e\":3}\n")
			},
			want:   []item{{Doc: `{"e":1}`, Line: 1}, {Doc: `{"e":2}`, Line: 2}, {Doc: `{"e":"late"}`, Line: 3}, {Doc: `{"e":3}`, Line: 1}},
			notice: "replaced by a new file; reading the new file from its start",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "f.ndjson", "{\"e\":1}\n{\"e\":2}\n")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			notices := make(chan string, 10)
			r := NewReader(ctx, []string{p}, Options{Follow: true, Poll: 20 * time.Millisecond,
				Notice: func(msg string) { notices <- msg }})
			items := make(chan item)
			done := make(chan struct{})
			defer func() { // stop the reading goroutine before closing the Reader
				cancel()
				<-done
				r.Close()
			}()
			go func() {
				defer close(done)
				for {
					rec, err := r.Next()
					it := item{Doc: string(rec.Doc), Line: rec.Line}
					if err != nil {
						if ctx.Err() != nil {
							return
						}
						it = item{Err: err.Error()}
					}
					select {
					case items <- it:
					case <-ctx.Done():
						return
					}
				}
			}()
			next := func() item {
				t.Helper()
				select {
				case it := <-items:
					return it
				case <-time.After(5 * time.Second):
					t.Fatal("timeout waiting for a record")
				}
				return item{}
			}
			got := []item{next(), next()}
			tc.change(t, p)
			for len(got) < len(tc.want) {
				got = append(got, next())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			select {
			case msg := <-notices:
				if want := "^" + regexp.QuoteMeta(p+": ") + tc.notice + "$"; !regexp.MustCompile(want).MatchString(msg) {
					t.Errorf("notice %q, want %q", msg, want)
				}
			default:
				t.Error("no notice")
			}
		})
	}
}

func appendFile(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestTruncatedGzip(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("{\"z\":1}\n{\"z\":2}\n"))
	zw.Flush()
	flushed := gz.Len() // lines 1 and 2 are decodable from here on
	zw.Write([]byte("{\"z\":3,\"pad\":\"" + strings.Repeat("x", 40) + "\"}\n"))
	zw.Close()
	tests := []struct {
		name string
		cut  int // bytes kept
		want []item
	}{
		{"in the trailer", gz.Len() - 4, []item{
			{Doc: `{"z":1}`, Line: 1}, {Doc: `{"z":2}`, Line: 2}, {Doc: `{"z":3,"pad":"` + strings.Repeat("x", 40) + `"}`, Line: 3},
			{Err: "t.ndjson.gz:4: truncated gzip data after line 3"},
		}},
		{"in a line", flushed + 6, []item{
			{Doc: `{"z":1}`, Line: 1}, {Doc: `{"z":2}`, Line: 2},
			{Err: "t.ndjson.gz:3: truncated gzip data after line 2"},
		}},
		{"in the first line", 14, []item{
			{Err: "t.ndjson.gz:1: truncated gzip data in the first line"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeFile(t, dir, "t.ndjson.gz", gz.String()[:tc.cut])
			got := readAll(t, NewReader(context.Background(), []string{p}, Options{}))
			for i := range got {
				got[i].Err = strings.TrimPrefix(got[i].Err, dir+"/")
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestRecordOffsets checks Record.Offset: where each NDJSON record's text is in its file,
// across many buffer refills, CRLF line ends, blank lines, leading blanks and a BOM; and -1
// where the record cannot be read again as it is (an array element, a gzip file, standard
// input).
func TestRecordOffsets(t *testing.T) {
	var b strings.Builder
	b.WriteString("\xef\xbb\xbf")
	for i := range 20000 {
		switch i % 4 {
		case 0:
			b.WriteString(`{"i":` + strings.Repeat("1", i%97+1) + "}\n")
		case 1:
			b.WriteString("  \t{\"s\":\"" + strings.Repeat("x", i%301) + "\"}\r\n")
		case 2:
			b.WriteString("\n\n{\"k\":[1,2,3]}   \n")
		default:
			b.WriteString(`{"a":"é"}` + "\n")
		}
	}
	input := b.String()
	dir := t.TempDir()
	p := writeFile(t, dir, "in.ndjson", input)
	r := NewReader(context.Background(), []string{p}, Options{})
	n := 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Offset < 0 || rec.Offset+int64(len(rec.Doc)) > int64(len(input)) ||
			input[rec.Offset:rec.Offset+int64(len(rec.Doc))] != string(rec.Doc) {
			t.Fatalf("line %d: offset %d does not hold %q", rec.Line, rec.Offset, rec.Doc)
		}
		n++
	}
	r.Close()
	if n != 20000 {
		t.Fatalf("%d records, want 20000", n)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("{\"a\":1}\n"))
	zw.Close()
	for name, c := range map[string]struct {
		path  string
		stdin io.Reader
	}{
		"array": {writeFile(t, dir, "arr.json", `[{"a":1}]`), nil},
		"gzip":  {writeFile(t, dir, "in.ndjson.gz", gz.String()), nil},
		"stdin": {"-", strings.NewReader("{\"a\":1}\n")},
	} {
		r := NewReader(context.Background(), []string{c.path}, Options{Stdin: c.stdin})
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rec.Offset != -1 {
			t.Errorf("%s: offset %d, want -1", name, rec.Offset)
		}
		r.Close()
	}
	// A named pipe (what <(zcat f) gives) reads once: no offset either.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Write([]byte("{\"a\":1}\n"))
			w.Close()
		}
	}()
	r = NewReader(context.Background(), []string{fifo}, Options{})
	defer r.Close()
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if rec.Offset != -1 {
		t.Errorf("fifo: offset %d, want -1", rec.Offset)
	}
}

// TestInterruptWaitingRead checks that a cancelled context ends a Next waiting for a writer
// that keeps its end open (standard input as an os.Pipe, as a plain io.Reader, and a named
// pipe given as a path), after the records written so far were read.
func TestInterruptWaitingRead(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input func(t *testing.T) (path string, stdin io.Reader, w io.Writer)
	}{
		{"os.Pipe on stdin", func(t *testing.T) (string, io.Reader, io.Writer) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pr.Close(); pw.Close() })
			return "-", pr, pw
		}},
		{"io.Pipe on stdin", func(t *testing.T) (string, io.Reader, io.Writer) {
			pr, pw := io.Pipe()
			t.Cleanup(func() { pw.Close() })
			return "-", pr, pw
		}},
		{"named pipe", func(t *testing.T) (string, io.Reader, io.Writer) {
			opened := make(chan *os.File, 1)
			go func() { // opening a FIFO for writing waits for its reader
				w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
				if err != nil {
					t.Error(err)
				}
				opened <- w
			}()
			return fifo, nil, writerAfter(t, opened)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, stdin, w := tc.input(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := NewReader(ctx, []string{path}, Options{Stdin: stdin})
			defer r.Close()
			go w.Write([]byte("{\"n\":1}\n"))
			rec, err := r.Next()
			if err != nil || string(rec.Doc) != `{"n":1}` {
				t.Fatalf("Next = %q, %v; want the first record", rec.Doc, err)
			}
			done := make(chan error, 1)
			go func() { _, err := r.Next(); done <- err }()
			select { // Next waits for the writer...
			case err := <-done:
				t.Fatalf("Next returned %v with the writer still open", err)
			case <-time.After(100 * time.Millisecond):
			}
			cancel() // ...until the context is cancelled
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Next after cancel = %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Next still waits for the writer after the context was cancelled")
			}
		})
	}
}

// writerAfter returns a writer that writes to the file received from opened.
func writerAfter(t *testing.T, opened <-chan *os.File) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		w := <-opened
		t.Cleanup(func() { w.Close() })
		return w.Write(p)
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
