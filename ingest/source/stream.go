package source

import (
	"context"
	"errors"
	"io"

	"github.com/tripline/tripline/stream"
)

// Stream reads the documents of a Kafka topic or a NATS JetStream stream, one at a time,
// normalised and checked as a Reader's. A message is committed (Kafka offset, JetStream
// ack) when Next is called again after its last document: the caller has taken in every
// document it held (a detector has, and has written the alerts they completed). A caller
// that stops on an error does not call Next again, so the message being worked on is read
// again after a restart. Delivery is at least once. A Stream is not safe for concurrent
// use.
type Stream struct {
	url string
	ctx context.Context
	src stream.Source
	docs
	rec     stream.Record // the message whose documents pop gives
	pending bool          // rec is still to commit
	err     error         // the error Next returns from now on
}

// OpenStream connects to the stream url names (kafka://... or nats://..., see
// stream.Parse) until ctx is cancelled, which ends it.
func OpenStream(ctx context.Context, url string, opts Options) (*Stream, error) {
	cfg, err := stream.Parse(url)
	if err != nil {
		return nil, err
	}
	src, err := stream.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Stream{url: url, ctx: ctx, src: src, docs: newDocs(opts)}, nil
}

// Next returns the next document. A message that is not a JSON object and a record that
// cannot be normalised are reported (Options.Skip) and skipped; an error of the broker or
// of the connection is reported (Options.Notice, as "URL: error") and Next goes on. When
// ctx is cancelled, or the stream closed, it returns io.EOF; when a commit fails, that
// error. Either is returned from then on.
func (s *Stream) Next() (Doc, error) {
	for {
		if doc, ok := s.pop(); ok {
			return doc, nil
		}
		if s.pending {
			s.pending = false
			if err := s.src.Commit(s.rec); err != nil {
				s.err = err
			}
		}
		if s.err != nil {
			return Doc{}, s.err
		}
		rec, err := s.src.Next()
		if err != nil {
			var pe *stream.PositionError
			switch {
			case errors.As(err, &pe):
				s.st.Records++
				s.st.Malformed++
				s.skip(pe)
			case s.ctx.Err() != nil, errors.Is(err, stream.ErrClosed):
				s.err = io.EOF
			default:
				s.notice(s.url + ": " + err.Error())
			}
			continue
		}
		s.st.Bytes += int64(len(rec.Doc))
		s.rec, s.pending = rec, true
		s.record(rec.Doc, rec.Source, int(rec.Position), -1)
	}
}

// Stats returns the counts so far.
func (s *Stream) Stats() Stats { return s.st }

// Close commits what was committed and not yet sent, and closes the connection (see
// stream.Source.Close): call it once the documents Next gave were fully processed (a
// detector closed, its alerts written).
func (s *Stream) Close() error { return s.src.Close() }
