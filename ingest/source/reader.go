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

// Options tune a Reader (or Records). The zero value reads every record in the Auto format
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
	// an *ingest.LineError, a *RecordError (or what a reader of another input gives
	// Records.Malformed), each reading "SOURCE:LINE: reason".
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
	// clock; Unsupported the bulk update and delete actions refused. Reader does not set
	// them: they are a server's counts.
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

// Records turns the records of an input into its documents, as Reader does: it normalises
// each record (Options.Format), checks the documents (Options.Reject), numbers them (Seq),
// and counts and reports what it skips. A reader of another kind of input (package stream)
// adds each record it reads, then takes the record's documents with Next. Not safe for
// concurrent use.
type Records struct {
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

// NewRecords returns a Records with the options opts (Follow and Stdin aside).
func NewRecords(opts Options) *Records {
	return &Records{opts: opts, norm: NewNormalizer(opts.Format)}
}

// Add takes in one record read from source at line (a stream's position), whose bytes
// are at offset in the file source (-1 when they cannot be read there again): it counts
// it (and calls Options.OnRecord) and turns it into the documents Next gives, reporting a
// record that cannot be normalised. The record must stay valid until Next has given its
// documents.
func (r *Records) Add(record []byte, source string, line int, offset int64) {
	r.st.Records++
	if r.opts.OnRecord != nil {
		r.opts.OnRecord(r.st.Records)
	}
	var normalized bool
	var err error
	r.list, normalized, err = r.norm.Normalize(record, r.list[:0])
	if err != nil {
		// For an EventList the valid items are still in the list.
		r.st.Malformed++
		r.report(&RecordError{Source: source, Line: line, Err: err})
	}
	if normalized {
		r.st.Normalized += int64(len(r.list))
		offset = -1 // made from the record: not in the file as it is
	}
	r.next, r.source, r.line, r.offset = 0, source, line, offset
}

// Next returns the next document of the last record added that the strict check
// accepts, reporting those it refuses; false when there is none left.
func (r *Records) Next() (Doc, bool) {
	for r.next < len(r.list) {
		doc := r.list[r.next]
		r.next++
		if r.opts.Reject != nil {
			if err := r.opts.Reject(doc); err != nil {
				r.st.Malformed++
				r.report(&RecordError{Source: r.source, Line: r.line, Err: err})
				continue
			}
		}
		r.seq++
		return Doc{Bytes: doc, Source: r.source, Line: r.line, Offset: r.offset, Seq: r.seq}, true
	}
	return Doc{}, false
}

// Malformed counts a record read but skipped before Add (one that is not a JSON object)
// and reports err (Options.Skip), which says where and why.
func (r *Records) Malformed(err error) {
	r.st.Records++
	r.st.Malformed++
	r.report(err)
}

// Notice passes msg to Options.Notice, if set.
func (r *Records) Notice(msg string) {
	if r.opts.Notice != nil {
		r.opts.Notice(msg)
	}
}

// Stats returns the counts so far; Bytes and InputsSkipped are the reader's to count.
func (r *Records) Stats() Stats { return r.st }

func (r *Records) report(err error) {
	if r.opts.Skip != nil {
		r.opts.Skip(err)
	}
}

// Reader reads the documents of input files and standard input, one at a time. A Reader is
// not safe for concurrent use, except BytesRead and Size.
type Reader struct {
	ctx     context.Context
	opts    Options
	in      *ingest.Reader
	recs    *Records
	bytes   int64 // Stats.Bytes, once the input has ended
	skipped int64 // Stats.InputsSkipped
	err     error // the error Next returns from now on
}

// NewReader returns a Reader over the inputs ins (Expand gives them); the count of inputs
// skipped there starts Stats.InputsSkipped.
func NewReader(ctx context.Context, ins Inputs, opts Options) *Reader {
	r := &Reader{ctx: ctx, opts: opts, recs: NewRecords(opts), skipped: ins.Skipped}
	r.in = ingest.NewReader(ctx, ins.Paths, ingest.Options{Follow: opts.Follow, Stdin: opts.Stdin, Notice: r.recs.Notice})
	return r
}

// Next returns the next document. A malformed record or a refused document is reported
// (Options.Skip) and skipped; an input that cannot be opened or read is reported
// (Options.Notice) and skipped, and the others are read. At the end of the input, and with
// Options.Follow when the context is cancelled, it returns io.EOF; when the context is
// cancelled otherwise, the context's error. Either is returned from then on.
func (r *Reader) Next() (Doc, error) {
	for {
		if doc, ok := r.recs.Next(); ok {
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
				r.recs.Malformed(le)
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
			r.skipped++
			r.recs.Notice(describePathError(err) + " (skipped)")
			continue
		}
		r.recs.Add(rec.Doc, rec.Source, rec.Line, rec.Offset)
	}
}

// end ends the input: Stats counts its bytes, Next returns io.EOF.
func (r *Reader) end() {
	r.bytes = r.in.BytesRead()
	r.err = io.EOF
}

// Stats returns the counts so far.
func (r *Reader) Stats() Stats {
	st := r.recs.Stats()
	st.Bytes, st.InputsSkipped = r.bytes, r.skipped
	return st
}

// BytesRead returns the number of bytes read so far (see ingest.Reader.BytesRead). Safe
// for concurrent use.
func (r *Reader) BytesRead() int64 { return r.in.BytesRead() }

// Size returns the total size of the inputs, or -1 (see ingest.Reader.Size).
func (r *Reader) Size() int64 { return r.in.Size() }

// Close closes the current input.
func (r *Reader) Close() error { return r.in.Close() }
