package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/tripline/tripline/internal/scribble"
)

// Defaults of Options.
const (
	DefaultMaxRecord = 256 << 20
	DefaultPoll      = 250 * time.Millisecond
	readChunk        = 256 << 10
)

// Record is one JSON object read from an input.
type Record struct {
	// Doc is the object's JSON text, without surrounding white space. It points into
	// the Reader's buffer: it is valid until the next call to Next.
	Doc []byte
	// Source is the input's name as given ("-" for standard input).
	Source string
	// Line is the 1-based line of the input where the object starts.
	Line int
	// Offset is the byte offset of Doc in the file Source, where it can be read again; -1
	// when it cannot (standard input, a pipe or anything but a regular file, a
	// gzip-compressed file, an element of a JSON array).
	Offset int64
}

// LineError reports a record that was skipped: where it is, and why.
type LineError struct {
	Source string
	Line   int
	Reason string
}

// Error returns "source:line: reason".
func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, e.Reason) }

// Options tune a Reader. The zero value is ready to use.
type Options struct {
	// Follow keeps reading the last input after its end, as it grows, until the
	// context is cancelled, when it is a regular file (standard input too, when it is
	// one); a pipe or a terminal ends at its end, when its writer closes it. Like tail -F,
	// a followed file that is truncated is read again from its start, and one that is
	// replaced at its path (rotated) is read to its end, then the new file from its start;
	// line numbers restart at 1.
	Follow bool
	// Poll is how often a followed input is checked for new data (DefaultPoll if 0).
	Poll time.Duration
	// MaxRecord is the size of the longest record accepted (DefaultMaxRecord if 0).
	MaxRecord int
	// Stdin is what the input "-" reads (os.Stdin if nil).
	Stdin io.Reader
	// Notice, if not nil, is told of events that are not errors but that a user may
	// want to know, such as a followed file that was truncated or replaced (the message
	// starts with the input's name).
	Notice func(msg string)
}

// format of an input, found from its first non-space byte.
type format uint8

const (
	formatUnknown format = iota
	formatNDJSON
	formatArray
)

// array-mode states.
const (
	arrOpen  = iota // before '['
	arrFirst        // after '[': an element or ']'
	arrElem         // after ',': an element
	arrAfter        // after an element: ',' or ']'
	arrDone         // after ']': only white space
)

// Reader reads JSON objects from a list of inputs, one at a time, into a reused buffer.
// Each input is NDJSON (one object per line; blank lines are skipped) or a JSON array of
// objects, as its first non-space byte says; gzip-compressed inputs are decompressed,
// and a UTF-8 byte order mark is ignored. A Reader is not safe for concurrent use, except
// BytesRead, which any goroutine may call.
type Reader struct {
	ctx   context.Context
	paths []string
	opt   Options
	next  int // index in paths of the next input to open

	// The current input.
	src     string
	closer  io.Closer
	r       io.Reader
	follow  bool        // follow this input at its end
	gz      bool        // the input is gzip-compressed
	regular bool        // the input is a regular file (it can be read again at an offset)
	file    *os.File    // the followed file, to find its offset
	fi      os.FileInfo // its identity when opened
	reopen  bool        // the followed file was truncated or replaced: open its path again
	rotate  bool        // the followed file was replaced: one more read of it is done
	fmt     format
	arr     int // array-mode state
	eof     bool
	line    int // line number of buf[start]
	skip    bool

	buf        []byte
	handed     []byte // the last record's Doc, scribbled over at the next call (see internal/scribble)
	start, end int    // unread bytes are buf[start:end]
	bufOff     int64  // the offset in the input of buf[0]

	read atomic.Int64
}

// NewReader returns a Reader over paths ("-" is standard input; no path at all means
// standard input too).
func NewReader(ctx context.Context, paths []string, opt Options) *Reader {
	if len(paths) == 0 {
		paths = []string{"-"}
	}
	if opt.Poll <= 0 {
		opt.Poll = DefaultPoll
	}
	if opt.MaxRecord <= 0 {
		opt.MaxRecord = DefaultMaxRecord
	}
	if opt.Stdin == nil {
		opt.Stdin = os.Stdin
	}
	return &Reader{ctx: ctx, paths: paths, opt: opt}
}

// BytesRead returns the number of bytes read so far from the inputs (compressed bytes for
// a gzip input), for a progress display.
func (r *Reader) BytesRead() int64 { return r.read.Load() }

// Size returns the total size in bytes of the inputs, or -1 if one of them has no known
// size (standard input, a pipe).
func (r *Reader) Size() int64 {
	var total int64
	for _, p := range r.paths {
		if p == "-" {
			return -1
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			return -1
		}
		total += fi.Size()
	}
	return total
}

// Close closes the current input.
func (r *Reader) Close() error {
	if r.closer != nil {
		err := r.closer.Close()
		r.closer = nil
		return err
	}
	return nil
}

// Next returns the next record. At the end of all inputs it returns io.EOF; when the
// context is cancelled, the context's error. A *LineError reports a record that was
// skipped (not a JSON object, cut off, too long, or the rest of a truncated or corrupt
// gzip input, which is abandoned); any other error (an input that cannot
// be opened or read) abandons the current input. In both cases the caller may call Next
// again to go on.
func (r *Reader) Next() (Record, error) {
	scribble.Bytes(r.handed)
	rec, err := r.nextRecord()
	r.handed = rec.Doc
	return rec, err
}

func (r *Reader) nextRecord() (Record, error) {
	for {
		if err := r.ctx.Err(); err != nil {
			return Record{}, err
		}
		if r.r == nil {
			if r.next >= len(r.paths) {
				return Record{}, io.EOF
			}
			if err := r.open(r.paths[r.next]); err != nil {
				r.next++
				return Record{}, err
			}
			r.next++
		}
		rec, ok, err := r.record()
		if !ok { // the end of this input, or an error that ends it
			r.closeInput()
			if r.reopen { // follow the file now at the path, from its start
				r.reopen = false
				r.next--
			}
		}
		if ok || err != nil {
			return rec, err
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (r *Reader) open(path string) error {
	var f *os.File // the input, when it is a file (standard input may be one)
	if path == "-" {
		f, _ = r.opt.Stdin.(*os.File)
	} else {
		var err error
		if f, err = os.Open(path); err != nil {
			return err
		}
		r.closer = f
	}
	var fi os.FileInfo
	regular := false
	if f != nil {
		var err error
		fi, err = f.Stat()
		regular = err == nil && fi.Mode().IsRegular()
	}
	var in io.Reader = r.opt.Stdin
	switch {
	case f != nil && regular:
		in = f
	case f != nil: // a pipe, a terminal or a device: a read may wait for its writer
		in = newInterruptible(r.ctx, f)
	default:
		in = newInterruptible(r.ctx, in)
	}
	br := bufio.NewReaderSize(countingReader{in, &r.read}, 64<<10)
	r.src, r.r = path, br
	r.reopen, r.rotate, r.gz = false, false, false
	// Only a regular file can be read again at an offset, and grow: a pipe, a terminal or a
	// socket at its end was closed by its writer, and following it would wait forever.
	r.regular = regular && path != "-"
	r.follow = regular && r.opt.Follow && r.next == len(r.paths)-1
	r.file, r.fi = nil, nil
	if r.follow {
		r.file, r.fi = f, fi
	}
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			r.closeInput()
			return fmt.Errorf("%s: %w", path, err)
		}
		r.r, r.follow, r.file, r.gz = zr, false, nil, true
	}
	r.fmt, r.arr, r.eof, r.line, r.skip = formatUnknown, arrOpen, false, 1, false
	r.start, r.end, r.bufOff = 0, 0, 0
	return nil
}

func (r *Reader) closeInput() {
	r.Close()
	r.r, r.file = nil, nil
}

// Changes of a followed file found by changed.
const (
	unchanged = iota
	truncated
	rotated
)

// changed reports whether the followed file, read to its end, was truncated (its size is
// below the read offset) or replaced by another file at its path (rotated), as tail -F
// checks. A missing path is no change: a rotation may be under way.
func (r *Reader) changed() int {
	if r.file == nil {
		return unchanged
	}
	fi, err := os.Stat(r.src)
	if err != nil {
		return unchanged
	}
	if !os.SameFile(fi, r.fi) {
		r.notice("%s: replaced by a new file; reading the new file from its start", r.src)
		return rotated
	}
	off, err := r.file.Seek(0, io.SeekCurrent)
	if err == nil && fi.Size() < off {
		r.notice("%s: truncated (size %d, read up to %d); reading it again from the start", r.src, fi.Size(), off)
		return truncated
	}
	return unchanged
}

func (r *Reader) notice(format string, args ...any) {
	if r.opt.Notice != nil {
		r.opt.Notice(fmt.Sprintf(format, args...))
	}
}

// fill reads more input after buf[end], keeping buf[start:end]. It returns false at the
// end of the input (or when the context is cancelled while following).
func (r *Reader) fill() (bool, error) {
	if r.start > 0 {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.bufOff += int64(r.start)
		r.start = 0
	}
	if r.end == len(r.buf) {
		size := max(2*len(r.buf), readChunk)
		if size > r.opt.MaxRecord+readChunk {
			size = r.opt.MaxRecord + readChunk
		}
		if size <= len(r.buf) {
			return false, errors.New("record too long") // caller checks MaxRecord first
		}
		nb := make([]byte, size)
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for {
		if r.eof && !r.follow {
			return false, nil
		}
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		if n > 0 {
			return true, nil
		}
		if err == io.EOF || (err == nil && n == 0) {
			r.eof = true
			if !r.follow {
				return false, nil
			}
			if r.rotate {
				// The old file is read to its end: end it and open the new one.
				r.reopen = true
				return false, nil
			}
			switch r.changed() {
			case truncated: // the old content is gone: start again now
				r.reopen = true
				return false, nil
			case rotated: // read what was appended to the old file before the switch
				r.rotate = true
				continue
			}
			select {
			case <-r.ctx.Done():
				return false, r.ctx.Err()
			case <-time.After(r.opt.Poll):
			}
			continue
		}
		if err != nil {
			if r.gz {
				return false, r.gzipError(err)
			}
			return false, fmt.Errorf("%s: %w", r.src, err)
		}
	}
}

// gzipError says where a gzip input's data ends early or is corrupt: the lines before
// r.line were read whole.
func (r *Reader) gzipError(err error) error {
	what := "truncated gzip data"
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
		what = "corrupt gzip data (" + err.Error() + ")"
	default:
		return fmt.Errorf("%s:%d: %w", r.src, r.line, err)
	}
	if r.line <= 1 {
		return &LineError{r.src, r.line, what + " in the first line"}
	}
	return &LineError{r.src, r.line, fmt.Sprintf("%s after line %d", what, r.line-1)}
}

// record returns the next record of the current input; ok is false at its end.
func (r *Reader) record() (Record, bool, error) {
	if r.fmt == formatUnknown {
		if ok, err := r.detect(); !ok || err != nil {
			return Record{}, false, err
		}
	}
	if r.fmt == formatArray {
		return r.element()
	}
	return r.ndjsonLine()
}

// detect skips a byte order mark and finds the input's format.
func (r *Reader) detect() (bool, error) {
	for r.end-r.start < 3 && !r.eof {
		if ok, err := r.fill(); err != nil {
			return false, err
		} else if !ok {
			break
		}
	}
	if bytes.HasPrefix(r.buf[r.start:r.end], []byte("\xef\xbb\xbf")) {
		r.start += 3
	}
	for {
		for ; r.start < r.end; r.start++ {
			switch c := r.buf[r.start]; c {
			case ' ', '\t', '\r':
			case '\n':
				r.line++
			default:
				if c == '[' {
					r.fmt = formatArray
				} else {
					r.fmt = formatNDJSON
				}
				return true, nil
			}
		}
		if ok, err := r.fill(); !ok || err != nil {
			return false, err
		}
	}
}

// ndjsonLine returns the next non-blank line.
func (r *Reader) ndjsonLine() (Record, bool, error) {
	scan := r.start
	for {
		i := bytes.IndexByte(r.buf[scan:r.end], '\n')
		var lineText []byte
		last := false
		if i >= 0 {
			lineText = r.buf[r.start : scan+i]
			scan += i + 1
		} else {
			if r.end-r.start > r.opt.MaxRecord {
				if !r.skip {
					r.skip = true
					err := &LineError{r.src, r.line, fmt.Sprintf("line longer than %d bytes, skipped", r.opt.MaxRecord)}
					r.start = r.end
					return Record{}, true, err
				}
				r.start = r.end
				scan = r.end
			}
			off := scan - r.start
			ok, err := r.fill()
			if err != nil {
				return Record{}, false, err
			}
			scan = r.start + off
			if ok {
				continue
			}
			if r.start == r.end {
				return Record{}, false, nil
			}
			lineText, last = r.buf[r.start:r.end], true
			scan = r.end
		}
		lineNo := r.line
		r.start = scan
		r.line++
		if r.skip { // the rest of an overlong line
			r.skip = false
			continue
		}
		if len(lineText) > r.opt.MaxRecord {
			return Record{}, true, &LineError{r.src, lineNo, fmt.Sprintf("line longer than %d bytes, skipped", r.opt.MaxRecord)}
		}
		doc := bytes.TrimSpace(lineText)
		if len(doc) == 0 {
			continue
		}
		rec := Record{Doc: doc, Source: r.src, Line: lineNo, Offset: -1}
		if r.regular && !r.gz {
			rec.Offset = r.bufOff + int64(cap(r.buf)-cap(doc)) // doc is r.buf[cap(r.buf)-cap(doc):]
		}
		switch {
		case doc[0] != '{':
			return rec, true, &LineError{r.src, lineNo, "not a JSON object"}
		case doc[len(doc)-1] != '}':
			reason := "not a JSON object (no closing brace)"
			if last {
				reason = "incomplete JSON object at the end of the input"
			}
			return rec, true, &LineError{r.src, lineNo, reason}
		}
		return rec, true, nil
	}
}

// element returns the next object of a JSON array input.
func (r *Reader) element() (Record, bool, error) {
	for {
		// Skip white space, counting lines.
		for r.start < r.end {
			c := r.buf[r.start]
			if c == '\n' {
				r.line++
			} else if c != ' ' && c != '\t' && c != '\r' {
				break
			}
			r.start++
		}
		if r.start == r.end {
			ok, err := r.fill()
			if err != nil {
				return Record{}, false, err
			}
			if !ok {
				if r.arr != arrDone {
					return Record{}, false, &LineError{r.src, r.line, "unexpected end of input inside the JSON array"}
				}
				return Record{}, false, nil
			}
			continue
		}
		c := r.buf[r.start]
		switch r.arr {
		case arrOpen:
			r.start++ // '[', seen by detect
			r.arr = arrFirst
		case arrFirst, arrElem:
			if c == ']' && r.arr == arrFirst {
				r.start++
				r.arr = arrDone
				continue
			}
			return r.value()
		case arrAfter:
			switch c {
			case ',':
				r.start++
				r.arr = arrElem
			case ']':
				r.start++
				r.arr = arrDone
			default:
				return Record{}, false, &LineError{r.src, r.line, fmt.Sprintf("unexpected %q after an array element, expected ',' or ']'", c)}
			}
		case arrDone:
			return Record{}, false, &LineError{r.src, r.line, fmt.Sprintf("unexpected %q after the end of the JSON array", c)}
		}
	}
}

// value reads one array element starting at buf[start]; objects are returned, other
// values are reported and skipped.
func (r *Reader) value() (Record, bool, error) {
	line := r.line
	var depth, nl int
	inStr, esc := false, false
	i := r.start
	first := r.buf[r.start]
	for {
		for ; i < r.end; i++ {
			c := r.buf[i]
			if c == '\n' {
				nl++
			}
			if inStr {
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
					if depth == 0 {
						return r.emit(i+1, line, nl, first)
					}
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				if depth == 0 {
					return r.emit(i, line, nl, first)
				}
				depth--
				if depth == 0 {
					return r.emit(i+1, line, nl, first)
				}
			case ',', ' ', '\t', '\r', '\n':
				if depth == 0 {
					return r.emit(i, line, nl, first)
				}
			}
		}
		if i-r.start > r.opt.MaxRecord {
			return Record{}, false, &LineError{r.src, line, fmt.Sprintf("array element longer than %d bytes; rest of the input skipped", r.opt.MaxRecord)}
		}
		off := i - r.start
		ok, err := r.fill()
		if err != nil {
			return Record{}, false, err
		}
		i = r.start + off
		if !ok {
			if i > r.start && depth == 0 && !inStr && first != '{' && first != '[' && first != '"' {
				return r.emit(i, line, nl, first)
			}
			return Record{}, false, &LineError{r.src, line, "unexpected end of input inside an array element"}
		}
	}
}

func (r *Reader) emit(end, line, nl int, first byte) (Record, bool, error) {
	doc := r.buf[r.start:end]
	r.start = end
	r.line += nl
	r.arr = arrAfter
	rec := Record{Doc: doc, Source: r.src, Line: line, Offset: -1}
	if first != '{' {
		return rec, true, &LineError{r.src, line, "array element is not a JSON object"}
	}
	return rec, true, nil
}
