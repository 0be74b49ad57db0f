package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

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

	// With CommitBelow: the function, the records whose documents were all taken and not
	// yet committed (in the order read, each with the Seq of its last document), the Seq of
	// the last document returned, and when the function was last asked.
	unfinished func() (uint64, bool)
	waiting    []waitingRec
	wHead      int
	lastSeq    uint64
	lastCheck  time.Time
	// With CommitHeld: the function, the Seq of the document before the message being
	// read, and the held Seqs (sorted, reused).
	held    func(fn func(seq uint64)) bool
	recFrom uint64
	heldBuf []uint64
}

// waitingRec is a record read whose commit waits for the caller to finish its documents.
type waitingRec struct {
	rec  Record
	from uint64 // the Seq of the document before its first
	last uint64 // the Seq of its last document (of the one before when it gave none)
}

// commitCheckEvery is how often Next asks CommitBelow's function which records are
// finished: it may walk the detector's state.
const commitCheckEvery = 100 * time.Millisecond

// CommitBelow makes the commit of a message wait until every document it gave is finished:
// fn returns the smallest Seq (source.Doc.Seq) among the documents given out that the
// caller still holds (a detector's Unfinished: events in its reordering buffers, in partial
// sequences), ok false when it holds none; a message is committed once the Seq of its last
// document is below it. Without it, a message is committed as soon as Next is called again
// after its last document. Next asks fn at most every 100ms, and, while it waits for Kafka
// messages, every commit interval; Close asks it once more.
func (d *Docs) CommitBelow(fn func() (seq uint64, ok bool)) {
	d.unfinished = fn
	d.commitWhileIdle()
}

// commitWhileIdle makes a Kafka source commit what the caller finished while it waits for
// records: at the end of a backlog, the events the caller releases late are committed
// without waiting for more messages.
func (d *Docs) commitWhileIdle() {
	if k, ok := d.src.(*Kafka); ok {
		k.idle = func() {
			if len(d.waiting) > d.wHead {
				d.commitFinished()
			}
		}
	}
}

// CommitHeld is CommitBelow with the Seq of every document the caller still holds (fn calls
// each with them, and reports false when it cannot tell: then nothing is committed): a
// message is committed once none of its documents is held, whatever the others. A message
// read after a held one is committed before it (a Kafka partition's offset still only moves
// past messages all committed): the messages of a partition taken over from another
// process, older than the events held, are committed as they are finished.
func (d *Docs) CommitHeld(fn func(each func(seq uint64)) bool) {
	d.held = fn
	d.unfinished = func() (uint64, bool) { return 0, true } // commitFinished asks held instead
	d.commitWhileIdle()
}

// OpenDocs connects to the stream url names (kafka://... or nats://..., see Parse), with
// the credentials cred, until ctx is cancelled, which ends it. set, when not nil, may change
// the configuration before the connection is made (KafkaConfig.PartitionWait). Of opts,
// Follow and Stdin mean nothing here.
func OpenDocs(ctx context.Context, url string, cred Credentials, set func(*Config), opts source.Options) (*Docs, error) {
	cfg, err := Parse(url)
	if err != nil {
		return nil, err
	}
	if err := cred.Apply(&cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if set != nil {
		set(&cfg)
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
			d.lastSeq = doc.Seq
			return doc, nil
		}
		if d.pending {
			d.pending = false
			if d.unfinished == nil {
				if err := d.src.Commit(d.rec); err != nil {
					d.err = err
				}
			} else {
				rec := d.rec
				rec.Doc = nil // not needed to commit; let its memory go
				d.waiting = append(d.waiting, waitingRec{rec, d.recFrom, d.lastSeq})
				if time.Since(d.lastCheck) >= commitCheckEvery {
					d.commitFinished()
				}
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
		d.rec, d.pending, d.recFrom = rec, true, d.lastSeq
		d.recs.Add(rec.Doc, rec.Source, int(rec.Position), -1)
	}
}

// commitFinished commits the waiting records whose documents the caller finished with.
func (d *Docs) commitFinished() {
	d.lastCheck = time.Now()
	if d.held != nil {
		d.commitUnheld()
		return
	}
	below, held := d.unfinished()
	for d.wHead < len(d.waiting) {
		w := &d.waiting[d.wHead]
		if held && w.last >= below {
			break
		}
		if err := d.src.Commit(w.rec); err != nil && d.err == nil {
			d.err = err
		}
		*w = waitingRec{}
		d.wHead++
	}
	if d.wHead == len(d.waiting) {
		d.waiting, d.wHead = d.waiting[:0], 0
	} else if d.wHead >= 1024 && 2*d.wHead >= len(d.waiting) {
		n := copy(d.waiting, d.waiting[d.wHead:])
		clear(d.waiting[n:])
		d.waiting, d.wHead = d.waiting[:n], 0
	}
}

// Kafka returns the Kafka Source the documents come from, or nil (JetStream).
func (d *Docs) Kafka() *Kafka {
	k, _ := d.src.(*Kafka)
	return k
}

// commitUnheld commits the waiting records none of whose documents is held (CommitHeld).
func (d *Docs) commitUnheld() {
	h := d.heldBuf[:0]
	if !d.held(func(seq uint64) { h = append(h, seq) }) {
		d.heldBuf = h
		return
	}
	slices.Sort(h)
	d.heldBuf = h
	kept := d.waiting[:d.wHead]
	for _, w := range d.waiting[d.wHead:] {
		// Held: a Seq in (from, last].
		if i, _ := slices.BinarySearch(h, w.from+1); i < len(h) && h[i] <= w.last {
			kept = append(kept, w)
			continue
		}
		if err := d.src.Commit(w.rec); err != nil && d.err == nil {
			d.err = err
		}
	}
	clear(d.waiting[len(kept):])
	d.waiting = kept
	if d.wHead == len(d.waiting) {
		d.waiting, d.wHead = d.waiting[:0], 0
	}
}

// Stats returns the counts so far; Bytes counts the messages that were JSON objects.
func (d *Docs) Stats() source.Stats {
	st := d.recs.Stats()
	st.Bytes = d.bytes
	return st
}

// Close commits what was committed and not yet sent, and closes the connection (see
// Source.Close): call it once the documents Next gave were processed (a detector closed,
// its alerts written). With CommitBelow, the messages whose documents the caller still
// holds (the events of partial sequences a closed detector drops) are not committed: they
// are read again after a restart.
func (d *Docs) Close() error {
	if d.unfinished != nil && len(d.waiting) > d.wHead {
		d.commitFinished()
	}
	return d.src.Close()
}
