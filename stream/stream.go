package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
)

// Source yields the event documents of a stream, one at a time, and takes back the
// caller's word that an event was fully processed. A Source is used from one goroutine:
// Next, Commit and Close must not be called concurrently.
type Source interface {
	// Next returns the next message. It blocks until one arrives or the context given to
	// Open is cancelled (then it returns that context's error). A *PositionError reports
	// a message that is not a JSON object, with the Record it came in; the message counts
	// as processed once the caller calls Next again (it was reported), so it never holds
	// back the commits of the messages after it. Any other error is the broker's or the
	// connection's; the caller may call Next again to go on, or stop.
	Next() (Record, error)
	// Commit says that rec was fully processed: its alerts, if any, were delivered.
	// Only then is its offset committed (Kafka) or the message acknowledged (JetStream).
	// Records may be committed in any order; a Kafka partition's committed offset only
	// moves past records that were all committed. Committing a record twice, or a
	// record of a partition this process no longer owns, is harmless.
	Commit(rec Record) error
	// Close commits (Kafka) what was committed and not yet sent to the broker, leaves the
	// consumer group, hands back (JetStream: naks) the messages received but never
	// committed, and closes the connection. Call it after the context is cancelled for a
	// clean shutdown.
	Close() error
}

// Record is one message of a stream.
type Record struct {
	// Doc is the message's JSON text, without surrounding white space. It is valid until
	// the next call to Next.
	Doc []byte
	// Source says where the message is: "kafka:TOPIC/PARTITION" or "nats:STREAM".
	Source string
	// Position is the message's place in Source: the Kafka offset, or the JetStream
	// stream sequence. Together with Source it names the message, as FILE:LINE does
	// for a file.
	Position int64
	// Key is the Kafka message key (nil for JetStream).
	Key []byte
	// Time is the time the broker gives the message (the Kafka record timestamp, the
	// JetStream stored time).
	Time time.Time

	// handle lets the Source that made the record commit it.
	handle handle
}

// handle is what a Source needs to commit a record: the partition state it was delivered
// under (Kafka) or the message (JetStream).
type handle struct {
	part *partition
	msg  ackable
}

// ackable is the part of a JetStream message a Source acknowledges.
type ackable interface {
	Ack() error
	Nak() error
}

// PositionError reports a message that was skipped: where it is, and why.
type PositionError struct {
	Source   string
	Position int64
	Reason   string
}

// Error returns "source:position: reason".
func (e *PositionError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.Source, e.Position, e.Reason)
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("stream: source closed")

// checkDoc trims white space around a message and says why it is not a JSON object
// ("" when it looks like one). Like package ingest, it only checks the braces: the
// detector's decoder reports anything deeper, with the same source and position.
func checkDoc(data []byte) ([]byte, string) {
	doc := bytes.TrimSpace(data)
	switch {
	case len(doc) == 0:
		return doc, "empty message"
	case doc[0] != '{':
		return doc, "not a JSON object"
	case doc[len(doc)-1] != '}':
		return doc, "not a JSON object (no closing brace)"
	}
	return doc, ""
}

// Open connects to the stream cfg describes (see Parse). The context bounds the life of
// the Source: when it is cancelled, Next returns its error.
func Open(ctx context.Context, cfg Config) (Source, error) {
	switch {
	case cfg.Kafka != nil && cfg.NATS == nil:
		return OpenKafka(ctx, *cfg.Kafka)
	case cfg.NATS != nil && cfg.Kafka == nil:
		return OpenJetStream(ctx, *cfg.NATS)
	}
	return nil, errors.New("stream: the configuration must name exactly one of Kafka and NATS")
}
