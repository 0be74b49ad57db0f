package stream

import (
	"context"
	"errors"
	"io"

	"github.com/tripline/tripline/ingest/source"
)

// Docs reads the documents of a Kafka topic or a NATS JetStream stream, one at a time,
// normalised, checked, numbered and counted as package source's Reader does for files
// (source.Records). A message is committed (Kafka offset, JetStream ack) when Next is
// called again after its last document: the caller has taken in every document it held (a
// detector has, and has written the alerts they completed). A caller that stops on an
// error does not call Next again, so the message being worked on is read again after a
// restart. Delivery is at least once. Docs is not safe for concurrent use.
type Docs struct {
	url     string
	ctx     context.Context
	src     Source
	recs    *source.Records
	bytes   int64  // Stats.Bytes
	rec     Record // the message whose documents recs gives
	pending bool   // rec is still to commit
	err     error  // the error Next returns from now on
}

// OpenDocs connects to the stream url names (kafka://... or nats://..., see Parse) until
// ctx is cancelled, which ends it. Of opts, Follow and Stdin mean nothing here.
func OpenDocs(ctx context.Context, url string, opts source.Options) (*Docs, error) {
	cfg, err := Parse(url)
	if err != nil {
		return nil, err
	}
	src, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Docs{url: url, ctx: ctx, src: src, recs: source.NewRecords(opts)}, nil
}

// Next returns the next document, its Source the message's source and its Line the
// message's position. A message that is not a JSON object and a record that cannot be
// normalised are reported (Options.Skip) and skipped; an error of the broker or of the
// connection is reported (Options.Notice, as "URL: error") and Next goes on. When ctx is
// cancelled, or the stream closed, it returns io.EOF; when a commit fails, that error.
// Either is returned from then on.
func (d *Docs) Next() (source.Doc, error) {
	for {
		if doc, ok := d.recs.Next(); ok {
			return doc, nil
		}
		if d.pending {
			d.pending = false
			if err := d.src.Commit(d.rec); err != nil {
				d.err = err
			}
		}
		if d.err != nil {
			return source.Doc{}, d.err
		}
		rec, err := d.src.Next()
		if err != nil {
			var pe *PositionError
			switch {
			case errors.As(err, &pe):
				d.recs.Malformed(pe)
			case d.ctx.Err() != nil, errors.Is(err, ErrClosed):
				d.err = io.EOF
			default:
				d.recs.Notice(d.url + ": " + err.Error())
			}
			continue
		}
		d.bytes += int64(len(rec.Doc))
		d.rec, d.pending = rec, true
		d.recs.Add(rec.Doc, rec.Source, int(rec.Position), -1)
	}
}

// Stats returns the counts so far; Bytes counts the messages that were JSON objects.
func (d *Docs) Stats() source.Stats {
	st := d.recs.Stats()
	st.Bytes = d.bytes
	return st
}

// Close commits what was committed and not yet sent, and closes the connection (see
// Source.Close): call it once the documents Next gave were fully processed (a detector
// closed, its alerts written).
func (d *Docs) Close() error { return d.src.Close() }
