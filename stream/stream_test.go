package stream

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		url  string
		want Config
		err  string
	}{
		{url: "kafka://broker1:9092,broker2:9092/topic?group=tripline", want: Config{Kafka: &KafkaConfig{
			Brokers: []string{"broker1:9092", "broker2:9092"}, Topic: "topic", Group: "tripline", CommitInterval: time.Second}}},
		{url: "kafka://b:9092/audit", want: Config{Kafka: &KafkaConfig{
			Brokers: []string{"b:9092"}, Topic: "audit", Group: "tripline", CommitInterval: time.Second}}},
		{url: "kafka://b:9092/audit?group=g&partitions=2,0,2&start=latest&commit_interval=250ms&client_id=t1", want: Config{Kafka: &KafkaConfig{
			Brokers: []string{"b:9092"}, Topic: "audit", Group: "g", Partitions: []int32{0, 2}, Start: StartLatest,
			CommitInterval: 250 * time.Millisecond, ClientID: "t1"}}},
		{url: "kafka://b:9092/audit?repartition=false", want: Config{Kafka: &KafkaConfig{
			Brokers: []string{"b:9092"}, Topic: "audit", Group: "tripline", CommitInterval: time.Second, NoRepartition: true}}},
		{url: "kafka://b:9092/audit?repartition=true&repartition_partitions=8&source_wait=90s&session_timeout=6s&rebalance_timeout=9s", want: Config{Kafka: &KafkaConfig{
			Brokers: []string{"b:9092"}, Topic: "audit", Group: "tripline", CommitInterval: time.Second,
			RepartitionPartitions: 8, SourceWait: 90 * time.Second, SessionTimeout: 6 * time.Second, RebalanceTimeout: 9 * time.Second}}},
		{url: "nats://host:4222/stream?subject=events.>&durable=tripline", want: Config{NATS: &JetStreamConfig{
			Servers: []string{"nats://host:4222"}, Stream: "stream", Subject: "events.>", Durable: "tripline",
			AckWait: 30 * time.Second, MaxAckPending: 100_000, Batch: 256}}},
		{url: "nats://a:4222,b:4222/EVENTS?start=latest&ack_wait=1m&max_ack_pending=10&batch=5", want: Config{NATS: &JetStreamConfig{
			Servers: []string{"nats://a:4222", "nats://b:4222"}, Stream: "EVENTS", Durable: "tripline", Start: StartLatest,
			AckWait: time.Minute, MaxAckPending: 10, Batch: 5}}},
		{url: "events.ndjson", err: `stream URL "events.ndjson": want kafka://BROKERS/TOPIC or nats://SERVERS/STREAM`},
		{url: "http://x/y", err: `stream URL "http://x/y": unknown scheme "http" (want kafka or nats)`},
		{url: "kafka:///topic", err: `stream URL "kafka:///topic": no broker (want kafka://HOST:PORT/TOPIC)`},
		{url: "kafka://b:9092", err: `stream URL "kafka://b:9092": want one topic after the brokers (kafka://HOST:PORT/TOPIC)`},
		{url: "kafka://b:9092/a/b", err: `stream URL "kafka://b:9092/a/b": want one topic after the brokers (kafka://HOST:PORT/TOPIC)`},
		{url: "kafka://b:9092/t?grup=x", err: `stream URL "kafka://b:9092/t?grup=x": unknown parameter "grup" (known: group, partitions, start, commit_interval, client_id, session_timeout, rebalance_timeout, repartition, repartition_partitions, source_wait)`},
		{url: "kafka://b:9092/t?repartition=no", err: `stream URL "kafka://b:9092/t?repartition=no": parameter repartition: "no": want true or false`},
		{url: "kafka://b:9092/t?repartition_partitions=0", err: `stream URL "kafka://b:9092/t?repartition_partitions=0": parameter repartition_partitions: "0" is not a positive integer`},
		{url: "kafka://b:9092/t?group=", err: `stream URL "kafka://b:9092/t?group=": parameter group: must not be empty`},
		{url: "kafka://b:9092/t?partitions=0,x", err: `stream URL "kafka://b:9092/t?partitions=0,x": parameter partitions: "x" is not a partition number`},
		{url: "kafka://b:9092/t?start=oldest", err: `stream URL "kafka://b:9092/t?start=oldest": parameter start: "oldest": want earliest or latest`},
		{url: "kafka://b:9092/t?commit_interval=0s", err: `stream URL "kafka://b:9092/t?commit_interval=0s": parameter commit_interval: "0s" is not a positive duration such as 500ms or 30s`},
		{url: "kafka://b:9092/t?group=a&group=b", err: `stream URL "kafka://b:9092/t?group=a&group=b": parameter group: given more than once`},
		{url: "nats://h:4222/events.>", err: `stream URL "nats://h:4222/events.>": want one stream name after the servers (nats://HOST:PORT/STREAM; a subject goes in ?subject=)`},
		{url: "nats://h:4222/S?durable=a.b", err: `stream URL "nats://h:4222/S?durable=a.b": parameter durable: must be a name without '.', '*', '>' or spaces`},
		{url: "nats://h:4222/S?batch=-1", err: `stream URL "nats://h:4222/S?batch=-1": parameter batch: "-1" is not a positive integer`},
		{url: "nats://h:4222/S?group=x", err: `stream URL "nats://h:4222/S?group=x": unknown parameter "group" (known: subject, durable, start, ack_wait, max_ack_pending, batch)`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := Parse(tt.url)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v %+v, want %+v %+v", got.Kafka, got.NATS, tt.want.Kafka, tt.want.NATS)
			}
			if !IsURL(tt.url) {
				t.Errorf("IsURL(%q) = false", tt.url)
			}
		})
	}
	for _, arg := range []string{"-", "events.ndjson", "/var/log/kafka://x", "http://x"} {
		if IsURL(arg) {
			t.Errorf("IsURL(%q) = true", arg)
		}
	}
}

func TestCheckDoc(t *testing.T) {
	tests := []struct{ in, doc, why string }{
		{" {\"a\":1}\r\n", `{"a":1}`, ""},
		{"", "", "empty message"},
		{" \n", "", "empty message"},
		{"[1]", "[1]", "not a JSON object"},
		{`{"a":`, `{"a":`, "not a JSON object (no closing brace)"},
	}
	for _, tt := range tests {
		doc, why := checkDoc([]byte(tt.in))
		if string(doc) != tt.doc || why != tt.why {
			t.Errorf("checkDoc(%q) = %q, %q; want %q, %q", tt.in, doc, why, tt.doc, tt.why)
		}
	}
	e := &PositionError{Source: "kafka:events/2", Position: 1234, Reason: "not a JSON object"}
	if got, want := e.Error(), "kafka:events/2:1234: not a JSON object"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestPartitionCommit(t *testing.T) {
	// Each step delivers or commits an offset; next is the committable offset after it.
	type step struct {
		deliver bool
		off     int64
		moved   bool
		next    int64
	}
	d := func(off int64, next int64) step { return step{deliver: true, off: off, next: next} }
	c := func(off int64, moved bool, next int64) step { return step{off: off, moved: moved, next: next} }
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{d(0, -1), c(0, true, 1), d(1, 1), d(2, 1), c(1, true, 2), c(2, true, 3)}},
		{"out of order", []step{d(5, -1), d(6, -1), d(7, -1), c(7, false, -1), c(6, false, -1), c(5, true, 8)}},
		{"gap in offsets", []step{d(10, -1), d(13, -1), c(10, true, 11), c(13, true, 14)}},
		{"hole stays", []step{d(0, -1), d(1, -1), d(2, -1), c(0, true, 1), c(2, false, 1), d(3, 1), c(3, false, 1), c(1, true, 4)}},
		{"twice and unknown", []step{d(0, -1), c(0, true, 1), c(0, false, 1), c(9, false, 1), d(1, 1), c(1, true, 2)}},
		{"redelivered offset ignored", []step{d(4, -1), d(4, -1), d(3, -1), c(4, true, 5)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPartition("kafka:t/0", 0)
			for i, s := range tt.steps {
				if s.deliver {
					p.deliver(s.off, 1)
				} else if moved := p.commit(s.off); moved != s.moved {
					t.Fatalf("step %d: commit(%d) moved = %v, want %v", i, s.off, moved, s.moved)
				}
				if p.next != s.next {
					t.Fatalf("step %d: next = %d, want %d", i, p.next, s.next)
				}
			}
		})
	}
}

func TestPartitionCompacts(t *testing.T) {
	// A record held uncommitted while thousands pass must not make the state grow
	// without bound once it is committed, nor lose track of the others.
	p := newPartition("kafka:t/0", 0)
	for off := range int64(5000) {
		p.deliver(off, 0)
		if off != 100 {
			p.commit(off)
		}
	}
	if p.next != 100 || p.outstanding() != 1 {
		t.Fatalf("next %d, outstanding %d; want 100, 1", p.next, p.outstanding())
	}
	p.commit(100)
	if p.next != 5000 || p.outstanding() != 0 {
		t.Fatalf("next %d, outstanding %d; want 5000, 0", p.next, p.outstanding())
	}
	for off := int64(5000); off < 10000; off++ {
		p.deliver(off, 0)
		p.commit(off)
	}
	if p.next != 10000 || len(p.recs) > 1 {
		t.Fatalf("next %d, %d records kept; want 10000, at most 1", p.next, len(p.recs))
	}
}

func TestOpenNeedsOneBackend(t *testing.T) {
	for _, cfg := range []Config{{}, {Kafka: &KafkaConfig{}, NATS: &JetStreamConfig{}}} {
		if _, err := Open(context.Background(), cfg); err == nil || err.Error() != "stream: the configuration must name exactly one of Kafka and NATS" {
			t.Errorf("Open(%+v) error %v", cfg, err)
		}
	}
}

// TestCancelUnblocksNext checks that a Next waiting for messages returns the context's
// error when it is cancelled, and that Close then commits what was processed.
func TestCancelUnblocksNext(t *testing.T) {
	kafkaAddrs := newKafka(t, 2)
	natsURL := newJetStream(t)
	produce(t, kafkaAddrs, events(10, 0), func(i int) string { return strconv.Itoa(i) })
	publish(t, natsURL, events(10, 0))
	tests := []struct {
		name      string
		cfg       Config
		committed func() int64 // how many messages the broker knows committed
	}{
		{"kafka", Config{Kafka: &KafkaConfig{Brokers: kafkaAddrs, Topic: testTopic, Group: "gc", CommitInterval: time.Hour}}, func() int64 {
			var sum int64
			for _, off := range committed(t, kafkaAddrs, "gc") {
				sum += off
			}
			return sum
		}},
		{"nats", Config{NATS: &JetStreamConfig{Servers: []string{natsURL}, Stream: testStream, Durable: "dc"}}, func() int64 {
			floor, _, _ := consumerState(t, natsURL, "dc")
			return int64(floor)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			src, err := Open(ctx, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for range 10 {
				rec, err := src.Next()
				if err != nil {
					t.Fatal(err)
				}
				if err := src.Commit(rec); err != nil {
					t.Fatal(err)
				}
			}
			if tt.name == "kafka" && tt.committed() != 0 {
				t.Errorf("kafka offsets sent before the commit interval or Close")
			}
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			if _, err := src.Next(); !errors.Is(err, context.Canceled) {
				t.Fatalf("Next after cancel: %v, want context.Canceled", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Next took %v to see the cancellation", d)
			}
			if err := src.Close(); err != nil {
				t.Fatal(err)
			}
			// Kafka's commit is synchronous; a JetStream server applies flushed acks
			// a moment later.
			waitFor(t, 10*time.Second, "10 committed after Close", func() bool { return tt.committed() == 10 })
			if _, err := src.Next(); !errors.Is(err, ErrClosed) {
				t.Errorf("Next after Close: %v, want ErrClosed", err)
			}
		})
	}
}

func BenchmarkPartitionDeliverCommit(b *testing.B) {
	p := newPartition("kafka:t/0", 0)
	b.ReportAllocs()
	for i := range b.N {
		p.deliver(int64(i), 0)
		p.commit(int64(i))
	}
}
