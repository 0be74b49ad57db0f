package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream is a Source reading a NATS JetStream stream through a durable pull consumer
// with explicit acknowledgements.
type JetStream struct {
	ctx    context.Context
	cfg    JetStreamConfig
	nc     *nats.Conn
	iter   jetstream.MessagesContext
	source string // "nats:STREAM"

	// unacked holds the messages returned by Next and not yet committed, by stream
	// sequence: Close naks them so that they are delivered again at once. Every AckWait/3
	// Next tells the server they are still being worked on (touched), so that it does not
	// deliver them again meanwhile; redelivered is how many deliveries of a message still
	// held were absorbed (see Redelivered).
	unacked     map[uint64]jetstream.Msg
	touched     time.Time
	redelivered int64
	warned      time.Time     // when Next last reported that max_ack_pending was reached
	reported    jetstream.Msg // a malformed message returned by the last Next, acked by this one
	repSeq      uint64
	stop        func() bool // stops the goroutine that ends the iterator with ctx
	closed      bool
}

// OpenJetStream connects to the servers, creates or updates the durable consumer, and
// starts pulling messages. Messages are read until ctx is cancelled.
func OpenJetStream(ctx context.Context, cfg JetStreamConfig) (*JetStream, error) {
	if len(cfg.Servers) == 0 || cfg.Stream == "" || cfg.Durable == "" {
		return nil, errors.New("stream: NATS needs servers, a stream and a durable consumer name")
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.MaxAckPending <= 0 {
		cfg.MaxAckPending = DefaultMaxAckPending
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	where := "nats:" + cfg.Stream
	nc, err := nats.Connect(strings.Join(cfg.Servers, ","), append(natsAuth(&cfg), nats.Name("tripline"))...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	deliver := jetstream.DeliverAllPolicy
	if cfg.Start == StartLatest {
		deliver = jetstream.DeliverNewPolicy
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		FilterSubject: cfg.Subject,
		DeliverPolicy: deliver,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxAckPending: cfg.MaxAckPending,
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: durable consumer %s: %w", where, cfg.Durable, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(min(cfg.Batch, cfg.MaxAckPending)))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	s := &JetStream{ctx: ctx, cfg: cfg, nc: nc, iter: iter, source: where, unacked: map[uint64]jetstream.Msg{}}
	// Drain, rather than stop, on cancellation: the messages already pulled are still
	// returned by Next, which Close naks.
	s.stop = context.AfterFunc(ctx, iter.Drain)
	return s, nil
}

// Next returns the next message of the stream (see Source).
func (s *JetStream) Next() (Record, error) {
	if s.closed {
		return Record{}, ErrClosed
	}
	if s.reported != nil {
		s.ack(s.reported, s.repSeq)
		s.reported = nil
	}
	for {
		rec, again, err := s.next()
		if !again {
			return rec, err
		}
	}
}

// next is one step of Next; again is true for a delivery absorbed (a message still held).
func (s *JetStream) next() (rec Record, again bool, err error) {
	if err := s.ctx.Err(); err != nil {
		return Record{}, false, err
	}
	s.touch()
	msg, err := s.iter.Next(jetstream.NextMaxWait(max(s.cfg.AckWait/3, 100*time.Millisecond)))
	if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		if len(s.unacked) >= s.cfg.MaxAckPending && time.Since(s.warned) >= s.cfg.AckWait {
			s.warned = time.Now()
			return Record{}, false, fmt.Errorf("%s: %d messages delivered and not yet finished by the detector (max_ack_pending): the server delivers no more until some are; raise max_ack_pending above what the reordering window and partial sequences hold", s.source, len(s.unacked))
		}
		return Record{}, true, nil // to touch what is held while the stream is idle
	}
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			if err := s.ctx.Err(); err != nil {
				return Record{}, false, err
			}
			return Record{}, false, ErrClosed
		}
		return Record{}, false, fmt.Errorf("%s: %w", s.source, err)
	}
	if err := s.ctx.Err(); err != nil {
		// Pulled during the drain: hand it back rather than process it.
		msg.Nak()
		return Record{}, false, err
	}
	md, err := msg.Metadata()
	if err != nil {
		msg.Term() // not a JetStream message: it cannot be acknowledged or delivered again
		return Record{}, false, fmt.Errorf("%s: %w", s.source, err)
	}
	seq := md.Sequence.Stream
	if _, held := s.unacked[seq]; held {
		// Delivered again (its AckWait passed) while the caller still holds it: the copy it
		// has is the one it finishes and commits; acknowledge through the newest delivery.
		s.unacked[seq] = msg
		s.redelivered++
		return Record{}, true, nil
	}
	s.unacked[seq] = msg
	doc, why := checkDoc(msg.Data())
	rec = Record{Doc: doc, Source: s.source, Position: int64(seq), Time: md.Timestamp, handle: handle{msg: msg}}
	if why != "" {
		s.reported, s.repSeq = msg, seq
		return rec, false, &PositionError{Source: s.source, Position: int64(seq), Reason: why}
	}
	return rec, false, nil
}

// touch tells the server, every AckWait/3, that the messages held are still being worked
// on, which restarts their AckWait: the detector may hold an event longer than AckWait
// (its reordering window, a partial sequence's maxspan) before its message may be acked.
func (s *JetStream) touch() {
	if len(s.unacked) == 0 || time.Since(s.touched) < s.cfg.AckWait/3 {
		return
	}
	s.touched = time.Now()
	for _, msg := range s.unacked {
		msg.InProgress()
	}
}

// Redelivered returns how many deliveries of messages this Source still held were absorbed
// (not returned again): the server's AckWait passed before the caller finished them.
func (s *JetStream) Redelivered() int64 { return s.redelivered }

// Commit acknowledges rec's message (see Source).
func (s *JetStream) Commit(rec Record) error {
	msg, ok := rec.handle.msg.(jetstream.Msg)
	if !ok {
		return fmt.Errorf("stream: commit of a message not read from JetStream (%s:%d)", rec.Source, rec.Position)
	}
	return s.ack(msg, uint64(rec.Position))
}

func (s *JetStream) ack(msg jetstream.Msg, seq uint64) error {
	if _, ok := s.unacked[seq]; !ok {
		return nil // acknowledged before
	}
	delete(s.unacked, seq)
	if err := msg.Ack(); err != nil {
		return fmt.Errorf("%s:%d: ack: %w", s.source, seq, err)
	}
	return nil
}

// Close naks the messages returned and never committed, and those pulled and never
// returned, so that they are delivered again at once (to this durable's other
// processes, or after a restart); makes sure the acknowledgements reached the server;
// and closes the connection.
func (s *JetStream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.stop()
	if s.reported != nil {
		s.ack(s.reported, s.repSeq)
		s.reported = nil
	}
	for seq, msg := range s.unacked {
		msg.Nak()
		delete(s.unacked, seq)
	}
	s.iter.Drain()
	deadline := time.Now().Add(closeTimeout)
	for time.Now().Before(deadline) {
		msg, err := s.iter.Next(jetstream.NextMaxWait(time.Until(deadline)))
		if err != nil {
			break
		}
		msg.Nak()
	}
	err := s.nc.FlushTimeout(closeTimeout)
	s.nc.Close()
	if err != nil {
		return fmt.Errorf("%s: flushing acknowledgements: %w", s.source, err)
	}
	return nil
}
