package stream

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const testStream = "EVENTS"

// newJetStream starts an embedded NATS server with JetStream and a stream EVENTS on
// events.>; it returns the server's URL.
func newJetStream(t *testing.T) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	js := connectJS(t, s.ClientURL())
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: testStream, Subjects: []string{"events.>"}}); err != nil {
		t.Fatal(err)
	}
	return s.ClientURL()
}

func connectJS(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// publish writes docs to events.k8s (events.other for every third) and returns the
// stream sequence of each.
func publish(t *testing.T, url string, docs []string) []produced {
	t.Helper()
	js := connectJS(t, url)
	out := make([]produced, len(docs))
	for i, d := range docs {
		subj := "events.k8s"
		if i%3 == 2 {
			subj = "events.other"
		}
		ack, err := js.Publish(context.Background(), subj, []byte(d))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = produced{n: docNumber(d), offset: int64(ack.Sequence)}
	}
	return out
}

func natsConfig(url, durable string) JetStreamConfig {
	return JetStreamConfig{Servers: []string{url}, Stream: testStream, Durable: durable, Batch: 16}
}

// consumerState returns the durable's acknowledgement floor and counts.
func consumerState(t *testing.T, url, durable string) (ackFloor uint64, ackPending, pending int) {
	t.Helper()
	js := connectJS(t, url)
	c, err := js.Consumer(context.Background(), testStream, durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.AckFloor.Stream, info.NumAckPending, int(info.NumPending)
}

func TestJetStreamDurableSharedExactlyOnce(t *testing.T) {
	const n, bad = 300, 40
	url := newJetStream(t)
	docs := events(n, bad)
	prod := publish(t, url, docs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var srcs [2]*JetStream
	for i := range srcs {
		s, err := OpenJetStream(ctx, natsConfig(url, "tripline"))
		if err != nil {
			t.Fatal(err)
		}
		srcs[i] = s
	}
	got := consumeAll(t, ctx, cancel, len(docs), srcs[0], srcs[1])
	bySeq := map[int64]seen{}
	for _, s := range slices.Concat(got[0], got[1]) {
		if s.source != "nats:"+testStream {
			t.Errorf("source %q", s.source)
		}
		if prev, ok := bySeq[s.pos]; ok {
			t.Errorf("sequence %d seen twice (members %d and %d)", s.pos, prev.member, s.member)
		}
		bySeq[s.pos] = s
	}
	for _, p := range prod {
		if s, ok := bySeq[p.offset]; !ok {
			t.Errorf("sequence %d (n=%d) never seen", p.offset, p.n)
		} else if s.n != p.n {
			t.Errorf("sequence %d: got n=%d, want %d", p.offset, s.n, p.n)
		}
	}
	if len(bySeq) != len(prod) {
		t.Errorf("seen %d messages, published %d", len(bySeq), len(prod))
	}
	// Everything, malformed messages included, was acknowledged.
	waitConsumerState(t, url, "tripline", uint64(len(prod)), 0, 0)
}

// waitConsumerState waits until the durable's acknowledgement floor and counts are the
// ones given. Close flushed the acknowledgements to the server, but the server applies
// them to the consumer on its own goroutine, so its state catches up a moment later.
func waitConsumerState(t *testing.T, url, durable string, floor uint64, ackPending, pending int) {
	t.Helper()
	var f uint64
	var a, p int
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, a, p = consumerState(t, url, durable)
		if f == floor && a == ackPending && p == pending {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ack floor %d, ack pending %d, pending %d; want %d, %d, %d", f, a, p, floor, ackPending, pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestJetStreamAcksOnlyProcessedAndResumes(t *testing.T) {
	const n = 60
	url := newJetStream(t)
	prod := publish(t, url, events(n, 0))
	// Sequences 1..20 are committed, 21 is not, 22..60 are committed after the first
	// consumer has seen everything; 30 and 45 never are.
	skip := map[int64]bool{21: true, 30: true, 45: true}

	ctx, cancel := context.WithCancel(context.Background())
	a, err := OpenJetStream(ctx, natsConfig(url, "d2"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	total := 0
	var held []Record
	gotA, err := consume(ctx, a, 0, &mu, &total, n, cancel, func(rec Record) bool {
		switch {
		case skip[rec.Position]:
			return false
		case rec.Position < 21:
			return true
		}
		held = append(held, rec)
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(gotA) != n {
		t.Fatalf("first consumer saw %d messages, want %d", len(gotA), n)
	}
	waitFor(t, 5*time.Second, "acks of 1..20", func() bool {
		floor, ackPending, _ := consumerState(t, url, "d2")
		return floor == 20 && ackPending == n-20
	})
	for _, rec := range held {
		if err := a.Commit(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// The floor stays below the first unacknowledged message.
	if floor, _, _ := consumerState(t, url, "d2"); floor != 20 {
		t.Errorf("ack floor %d, want 20", floor)
	}

	// A restarted consumer gets exactly the messages never committed, at once (Close
	// naked them: no wait for AckWait).
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	b, err := OpenJetStream(ctx2, natsConfig(url, "d2"))
	if err != nil {
		t.Fatal(err)
	}
	total = 0
	start := time.Now()
	gotB, err := consume(ctx2, b, 1, &mu, &total, len(skip), cancel2, func(Record) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("redelivery took %v", d)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, s := range gotB {
		seqs = append(seqs, s.pos)
		if want := prod[s.pos-1].n; s.n != want {
			t.Errorf("sequence %d: n=%d, want %d", s.pos, s.n, want)
		}
	}
	slices.Sort(seqs)
	if want := []int64{21, 30, 45}; !slices.Equal(seqs, want) {
		t.Errorf("after restart read sequences %v, want %v", seqs, want)
	}
	waitConsumerState(t, url, "d2", n, 0, 0)
}

// TestJetStreamHeldPastAckWait holds a message uncommitted for three times AckWait while
// reading on: the Source tells the server it is still in progress, so it is not delivered
// again (a second copy would reach the detector as a duplicate, or as too late); once
// committed, it is acknowledged.
func TestJetStreamHeldPastAckWait(t *testing.T) {
	url := newJetStream(t)
	publish(t, url, events(3, 0))
	ctx, cancel := context.WithCancel(context.Background())
	cfg := natsConfig(url, "held")
	cfg.AckWait = time.Second
	s, err := OpenJetStream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var held []Record
	for range 3 {
		rec, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, rec)
	}
	// Nothing else comes for 3 s: Next must not return a held message again.
	time.AfterFunc(3*time.Second, cancel)
	if rec, err := s.Next(); err == nil {
		t.Errorf("got %s:%d again while it was held", rec.Source, rec.Position)
	}
	if n := s.Redelivered(); n != 0 {
		t.Errorf("%d redeliveries absorbed, want 0 (kept in progress)", n)
	}
	for _, rec := range held {
		if err := s.Commit(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitConsumerState(t, url, "held", 3, 0, 0)
}
