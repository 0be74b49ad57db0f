package stream

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// SourceProgress is how far the process reading an input partition has gone in it.
type SourceProgress struct {
	Partition int32
	// AtEnd says the partition was read to its end (as of the last fetch) and every record
	// handed out was processed; End is then its end offset (the next one to come).
	AtEnd bool
	End   int64
}

// RepartitionEvent is one event of the input topic, to send to the repartition partitions
// that own its join keys (RepartitionWriter.Send).
type RepartitionEvent struct {
	// Partition and Offset place the event in the input topic; Seq numbers it among the
	// events the caller processes (source.Doc.Seq).
	Partition int32
	Offset    int64
	Seq       uint64
	// Time is the event time in Unix nanoseconds (HasTime false when it has none).
	Time    int64
	HasTime bool
	// Doc is the event's document; Key the record key (the first signature and join-key
	// tuple it is sent under, for people reading the topic). Both are copied.
	Doc, Key []byte
}

// RepartitionWriter sends events to the repartition topic, and watermarks for the input
// partitions this process reads (see doc.go). The producer is idempotent and waits for every
// in-sync replica (acks=all); Unacked says which events are not yet acknowledged, so that
// their input offsets are not committed before. Send, Unacked and Err may be called from
// any goroutine.
type RepartitionWriter struct {
	cl       *kgo.Client
	topic    string
	n        int32
	progress func() []SourceProgress

	// mu orders the calls to the producer (a watermark follows the records it speaks of);
	// the producer is never called with ackMu held, which the acknowledgements take.
	mu   sync.Mutex
	srcs map[int32]*sourceSent // by input partition: the last event sent
	sent int                   // events since the last watermarks

	ackMu sync.Mutex
	// inflight are the events whose records are not all acknowledged, in Seq order, each
	// with its count (a slot is found by its index minus ifBase).
	inflight []inflightEvent
	ifHead   int
	ifBase   int
	err      error
	hdr, val []byte

	stop chan struct{}
	done chan struct{}
}

type sourceSent struct {
	off     int64
	ns      int64
	hasTime bool
}

type inflightEvent struct {
	seq uint64
	n   int
}

// NewRepartitionWriter connects a producer to cfg's brokers (cfg.Topic and cfg.Group are
// not used) for topic, of n partitions. progress tells the input partitions this process
// reads now (Kafka.Progress). Watermarks are sent every interval (DefaultMarkInterval if
// 0), and every few thousand events, until Close.
func NewRepartitionWriter(cfg KafkaConfig, topic string, n int32, interval time.Duration, progress func() []SourceProgress) (*RepartitionWriter, error) {
	opts := append(kafkaClientOpts(&cfg),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5*time.Millisecond),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	if interval <= 0 {
		interval = DefaultMarkInterval
	}
	w := &RepartitionWriter{cl: cl, topic: topic, n: n, progress: progress, srcs: map[int32]*sourceSent{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.tick(interval)
	return w, nil
}

// tick sends watermarks every interval, so that they go on when no event comes.
func (w *RepartitionWriter) tick(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.mu.Lock()
			w.marks()
			w.mu.Unlock()
		}
	}
}

// Send sends ev to each partition of dests (none: ev only moves its input partition's
// watermark on). It does not wait: Unacked tells when the brokers have the records, and
// Err reports a failure.
func (w *RepartitionWriter) Send(ev RepartitionEvent, dests []int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.srcs[ev.Partition]
	if st == nil {
		st = &sourceSent{}
		w.srcs[ev.Partition] = st
	}
	st.off = ev.Offset
	if ev.HasTime {
		st.ns, st.hasTime = ev.Time, true
	}
	if len(dests) > 0 {
		w.hdr = appendSourceHeader(w.hdr[:0], ev.Partition, ev.Offset, ev.Time, ev.HasTime)
		w.ackMu.Lock()
		slot := w.ifBase + len(w.inflight)
		w.inflight = append(w.inflight, inflightEvent{seq: ev.Seq, n: len(dests)})
		w.ackMu.Unlock()
		doc := append([]byte(nil), ev.Doc...)
		key := append([]byte(nil), ev.Key...)
		hdr := string(w.hdr)
		var ts time.Time
		if ev.HasTime {
			ts = time.Unix(0, ev.Time)
		}
		for _, p := range dests {
			r := &kgo.Record{Partition: p, Key: key, Value: doc, Timestamp: ts,
				Headers: []kgo.RecordHeader{{Key: headerSource, Value: []byte(hdr)}}}
			w.cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) { w.acked(slot, err) })
		}
	}
	if w.sent++; w.sent >= markEvery {
		w.marks()
	}
}

// acked records the acknowledgement (or failure) of one record of the event in slot.
func (w *RepartitionWriter) acked(slot int, err error) {
	w.ackMu.Lock()
	defer w.ackMu.Unlock()
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("kafka: sending to %s: %w", w.topic, err)
	}
	w.inflight[slot-w.ifBase].n--
}

// Unacked returns the smallest Seq of the events sent whose records the brokers have not
// all acknowledged; ok is false when there is none.
func (w *RepartitionWriter) Unacked() (seq uint64, ok bool) {
	w.ackMu.Lock()
	defer w.ackMu.Unlock()
	w.trim()
	if w.ifHead == len(w.inflight) {
		return 0, false
	}
	return w.inflight[w.ifHead].seq, true
}

// trim drops the acknowledged events at the head of inflight. w.ackMu is held.
func (w *RepartitionWriter) trim() {
	for w.ifHead < len(w.inflight) && w.inflight[w.ifHead].n <= 0 {
		w.ifHead++
	}
	if w.ifHead == len(w.inflight) {
		w.ifBase += len(w.inflight)
		w.inflight, w.ifHead = w.inflight[:0], 0
	} else if w.ifHead >= 1024 && 2*w.ifHead >= len(w.inflight) {
		n := copy(w.inflight, w.inflight[w.ifHead:])
		w.inflight, w.ifBase, w.ifHead = w.inflight[:n], w.ifBase+w.ifHead, 0
	}
}

// EachUnacked calls fn with the Seq of each event sent whose records the brokers have not
// all acknowledged.
func (w *RepartitionWriter) EachUnacked(fn func(seq uint64)) {
	w.ackMu.Lock()
	defer w.ackMu.Unlock()
	w.trim()
	for _, e := range w.inflight[w.ifHead:] {
		if e.n > 0 {
			fn(e.seq)
		}
	}
}

// Err returns the first failure to send a record: the process must stop (without
// committing what was not acknowledged).
func (w *RepartitionWriter) Err() error {
	w.ackMu.Lock()
	defer w.ackMu.Unlock()
	return w.err
}

// marks sends a watermark to every partition: for each input partition this process reads,
// how far it has sent it. w.mu is held, so that no event of those partitions is sent
// meanwhile (a watermark follows the records it speaks of).
func (w *RepartitionWriter) marks() {
	w.sent = 0
	var ms []sourceMark
	for _, sp := range w.progress() {
		m := sourceMark{Partition: sp.Partition, Offset: -1, Idle: sp.AtEnd}
		if st := w.srcs[sp.Partition]; st != nil {
			m.Offset, m.Time, m.HasTime = st.off, st.ns, st.hasTime
		}
		if sp.AtEnd {
			// Every record before its end was sent, by this process or the one it took
			// the partition over from (whose records were acknowledged before the offsets
			// this process started from were committed).
			m.Offset = max(m.Offset, sp.End-1)
		}
		if m.Offset < 0 && !m.Idle {
			continue // nothing to say yet
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return
	}
	w.val = appendMarks(w.val[:0], ms)
	v := []byte(string(w.val))
	for p := range w.n {
		r := &kgo.Record{Partition: p, Headers: []kgo.RecordHeader{{Key: headerWatermark, Value: v}}}
		w.cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
			if err != nil {
				w.ackMu.Lock()
				if w.err == nil {
					w.err = fmt.Errorf("kafka: sending a watermark to %s: %w", w.topic, err)
				}
				w.ackMu.Unlock()
			}
		})
	}
}

// Close sends the last watermarks, waits at most until ctx ends for the brokers to
// acknowledge every record sent, and closes the producer. It returns the first failure.
func (w *RepartitionWriter) Close(ctx context.Context) error {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	w.marks()
	w.mu.Unlock()
	err := w.cl.Flush(ctx)
	w.cl.Close()
	if e := w.Err(); e != nil {
		return e
	}
	if err != nil {
		return fmt.Errorf("kafka: sending to %s: %w", w.topic, err)
	}
	return nil
}
