package stream

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestEventTime(t *testing.T) {
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		doc  string
		want time.Time
		ok   bool
	}{
		{`{"@timestamp":"2026-03-02T09:00:00.0004467Z","x":1}`, base.Add(446700 * time.Nanosecond), true},
		{`{"a":{"@timestamp":"nested, not read"},"@timestamp":"2026-03-02T10:00:00+01:00"}`, base, true},
		{`{"@timestamp":1772442000000}`, base, true},
		{`{"@timestamp":"1772442000000"}`, base, true},
		{`{"kind":"Event","stageTimestamp":"2026-03-02T09:00:01.000000Z"}`, base.Add(time.Second), true},
		{`{"@timestamp":"yesterday"}`, time.Time{}, false},
		{`{"@timestamp":null}`, time.Time{}, false},
		{`{"message":"no time"}`, time.Time{}, false},
		{`not json`, time.Time{}, false},
	}
	et := EventTime()
	for _, tc := range cases {
		ns, ok := et([]byte(tc.doc))
		if ok != tc.ok || (ok && ns != tc.want.UnixNano()) {
			t.Errorf("%s: %d %v, want %d %v", tc.doc, ns, ok, tc.want.UnixNano(), tc.ok)
		}
	}
}

// TestKafkaMergesPartitionsByEventTime produces to 3 partitions, each in time order but
// each far ahead of the next in offset order, and checks one consumer returns every record
// in event-time order; a record with no readable time goes first; then an idle
// partition holds the others back no longer than PartitionWait.
func TestKafkaMergesPartitionsByEventTime(t *testing.T) {
	const parts, per = 3, 200
	addrs := newKafka(t, parts)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(testTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	// A record with no readable time, at the head of partition 2: it goes first.
	recs := []*kgo.Record{{Value: []byte(`{"n":-1}`), Partition: 2}}
	// Event i (0..599) at base+i seconds goes to partition i%3: in each partition the
	// times rise, and reading one partition's records before another's is out of order by
	// minutes.
	for p := range parts {
		for j := range per {
			i := j*parts + p
			doc := fmt.Sprintf(`{"@timestamp":%q,"n":%d}`, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), i)
			recs = append(recs, &kgo.Record{Value: []byte(doc), Partition: int32(p)})
		}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := kafkaConfig(addrs, "merge")
	cfg.PartitionWait = 300 * time.Millisecond
	k, err := OpenKafka(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	var got []int
	for len(got) < 1+parts*per {
		rec, err := k.Next()
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if _, err := fmt.Sscanf(string(rec.Doc[strings.Index(string(rec.Doc), `"n":`)+4:]), "%d", &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	want := []int{-1}
	for i := range parts * per {
		want = append(want, i)
	}
	if !slices.Equal(got, want) {
		t.Errorf("records not in event-time order (the one with no time first): %v", got)
	}
	// Partition 0 gets a record later than everything queued so far; partitions 1 and 2
	// stay idle: it is returned after at most about PartitionWait, not held forever.
	late := fmt.Sprintf(`{"@timestamp":%q,"n":999}`, base.Add(time.Hour).Format(time.RFC3339Nano))
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Value: []byte(late), Partition: 0}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rec, err := k.Next()
	if err != nil {
		t.Fatal(err)
	}
	if string(rec.Doc) != late {
		t.Errorf("got %s, want %s", rec.Doc, late)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("an idle partition held a record back %v", d)
	}
}

// BenchmarkEventTime reads the time of a bench/gen-sized document.
func BenchmarkEventTime(b *testing.B) {
	doc := []byte(`{"@timestamp":"2026-03-02T09:00:00.0004467Z","agent":{"id":"30305625-a439-4eae-bbfe-25a8b368a551","type":"endpoint","version":"9.3.0"},"data_stream":{"dataset":"endpoint.events.network","namespace":"default","type":"logs"},"host":{"hostname":"WKS-01082","ip":["10.10.0.83"],"os":{"family":"windows","name":"Windows"}},"event":{"category":["network"],"created":"2026-03-02T09:00:00.0004467Z","dataset":"endpoint.events.network","id":"e5194","kind":"event","type":["start"]},"message":"` + strings.Repeat("x", 800) + `"}`)
	et := EventTime()
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, ok := et(doc); !ok {
			b.Fatal("no time")
		}
	}
}
