package source

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tripline/tripline/ingest"
)

// Doc is one document of the input, with where it came from.
type Doc struct {
	// Bytes is the document's JSON text. It points into the reader's buffers: it is valid
	// until the next call to Next.
	Bytes []byte
	// Source is the input's name ("-" for standard input, the topic or stream for a
	// stream); Line is the line of the record there (for a stream, the message's position).
	Source string
	Line   int
	// Offset is the byte offset of the document in the file Source, where it can be read
	// again (Origin); -1 when it cannot (see ingest.Record.Offset, and a document made from
	// a raw audit record is not in the file as it is).
	Offset int64
	// Seq is the document's number in the input, from 1: the implicit tiebreaker of events
	// that share a timestamp.
	Seq uint64
}

// Options tune a Reader or a Stream. The zero value reads every record in the Auto format
// and reports nothing.
type Options struct {
	// Format says how records become documents (Auto when empty).
	Format Format
	// Follow keeps reading the last input as it grows, until the context is cancelled (see
	// ingest.Options.Follow); the cancellation is then the end of the input.
	Follow bool
	// Stdin is what the input "-" reads (os.Stdin if nil).
	Stdin io.Reader
	// Reject, when set, is the check of a strict mapping: a document it returns an error
	// for is counted as malformed, reported and skipped, as Elasticsearch refuses it at
	// index time.
	Reject func(doc []byte) error
	// Notice, when set, is told what is no record's fault: an input that cannot be read and
	// is skipped ("PATH: reason (skipped)"), a followed file truncated or replaced, a stream
	// error it retries after.
	Notice func(msg string)
	// Skip, when set, is told of every record, or document made from one, that is skipped:
	// an *ingest.LineError, a *stream.PositionError or a *RecordError, each reading
	// "SOURCE:LINE: reason".
	Skip func(err error)
	// OnRecord, when set, is called after each record read, with the number read so far
	// (for a progress display).
	OnRecord func(records int64)
}

// Stats count what the input side read and skipped.
type Stats struct {
	// Records counts the records read (lines, objects of a JSON array, messages), malformed
	// ones included; Malformed those skipped because they were not JSON objects or not valid
	// audit records, and the documents a strict mapping refused; Normalized the ECS
	// documents made from raw audit records; Bytes the bytes read: for files, once the
	// input has ended (compressed bytes for a gzip-compressed file); for a stream, those of
	// the messages that were JSON objects.
	Records    int64 `json:"records"`
	Malformed  int64 `json:"malformed"`
	Normalized int64 `json:"k8s_audit_normalized"`
	Bytes      int64 `json:"bytes"`
	// Future counts the events refused because they were stamped too far ahead of the
	// clock; Unsupported the bulk update and delete actions refused. Neither Reader nor
	// Stream sets them: they are a server's counts.
	Future      int64 `json:"future,omitempty"`
	Unsupported int64 `json:"unsupported_actions,omitempty"`

	// InputsSkipped counts the inputs that could not be read (or not to their end), and
	// the directories without event files.
	InputsSkipped int64 `json:"inputs_skipped"`
}

// RecordError reports a record, or a document made from one, that was skipped: where it
// is, and why.
type RecordError struct {
	Source string
	Line   int
	Err    error
}

// Error returns "source:line: reason".
func (e *RecordError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Source, e.Line, e.Err) }

// Unwrap returns the reason.
func (e *RecordError) Unwrap() error { return e.Err }

// docs holds the documents of the current record and what Reader and Stream share: the
// normaliser, the strict check, the counters and the numbering.
type docs struct {
	opts   Options
	norm   *Normalizer
	st     Stats
	seq    uint64
	list   [][]byte // the current record's documents
	next   int      // index in list of the next one
	source string   // the current record's source, line and offset
	line   int
	offset int64
}

func newDocs(opts Options) docs {
	return docs{opts: opts, norm: NewNormalizer(opts.Format)}
}

// record takes in one record read: it counts it and turns it into the documents that
// pop gives.
func (d *docs) record(rec []byte, source string, line int, offset int64) {
	d.st.Records++
	if d.opts.OnRecord != nil {
		d.opts.OnRecord(d.st.Records)
	}
	var normalized bool
	var err error
	d.list, normalized, err = d.norm.Normalize(rec, d.list[:0])
	if err != nil {
		// For an EventList the valid items are still in the list.
		d.st.Malformed++
		d.skip(&RecordError{Source: source, Line: line, Err: err})
	}
	if normalized {
		d.st.Normalized += int64(len(d.list))
		offset = -1 // made from the record: not in the file as it is
	}
	d.next, d.source, d.line, d.offset = 0, source, line, offset
}

// pop returns the next document of the current record that the strict check accepts.
func (d *docs) pop() (Doc, bool) {
	for d.next < len(d.list) {
		doc := d.list[d.next]
		d.next++
		if d.opts.Reject != nil {
			if err := d.opts.Reject(doc); err != nil {
				d.st.Malformed++
				d.skip(&RecordError{Source: d.source, Line: d.line, Err: err})
				continue
			}
		}
		d.seq++
		return Doc{Bytes: doc, Source: d.source, Line: d.line, Offset: d.offset, Seq: d.seq}, true
	}
	return Doc{}, false
}

func (d *docs) skip(err error) {
	if d.opts.Skip != nil {
		d.opts.Skip(err)
	}
}

func (d *docs) notice(msg string) {
	if d.opts.Notice != nil {
		d.opts.Notice(msg)
	}
}

// Reader reads the documents of input files and standard input, one at a time. A Reader is
// not safe for concurrent use, except BytesRead and Size.
type Reader struct {
	ctx context.Context
	in  *ingest.Reader
	docs
	err error // the error Next returns from now on
}

// NewReader returns a Reader over the inputs ins (Expand gives them); the count of inputs
// skipped there starts Stats.InputsSkipped.
func NewReader(ctx context.Context, ins Inputs, opts Options) *Reader {
	r := &Reader{ctx: ctx, docs: newDocs(opts)}
	r.st.InputsSkipped = ins.Skipped
	r.in = ingest.NewReader(ctx, ins.Paths, ingest.Options{Follow: opts.Follow, Stdin: opts.Stdin, Notice: r.notice})
	return r
}

// Next returns the next document. A malformed record or a refused document is reported
// (Options.Skip) and skipped; an input that cannot be opened or read is reported
// (Options.Notice) and skipped, and the others are read. At the end of the input, and with
// Options.Follow when the context is cancelled, it returns io.EOF; when the context is
// cancelled otherwise, the context's error. Either is returned from then on.
func (r *Reader) Next() (Doc, error) {
	for {
		if doc, ok := r.pop(); ok {
			return doc, nil
		}
		if r.err != nil {
			return Doc{}, r.err
		}
		rec, err := r.in.Next()
		if err == io.EOF {
			r.end()
			continue
		}
		if err != nil {
			var le *ingest.LineError
			if errors.As(err, &le) {
				r.st.Records++
				r.st.Malformed++
				r.skip(le)
				continue
			}
			if r.ctx.Err() != nil {
				if r.opts.Follow {
					r.end()
				} else {
					r.err = err
				}
				continue
			}
			// The input could not be opened or read: the reader goes on with the next.
			r.st.InputsSkipped++
			r.notice(describePathError(err) + " (skipped)")
			continue
		}
		r.record(rec.Doc, rec.Source, rec.Line, rec.Offset)
	}
}

// end ends the input: Stats counts its bytes, Next returns io.EOF.
func (r *Reader) end() {
	r.st.Bytes = r.in.BytesRead()
	r.err = io.EOF
}

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.st }

// BytesRead returns the number of bytes read so far (see ingest.Reader.BytesRead). Safe
// for concurrent use.
func (r *Reader) BytesRead() int64 { return r.in.BytesRead() }

// Size returns the total size of the inputs, or -1 (see ingest.Reader.Size).
func (r *Reader) Size() int64 { return r.in.Size() }

// Close closes the current input.
func (r *Reader) Close() error { return r.in.Close() }
