package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const testTopic = "events"

// newKafka starts an in-process Kafka cluster with one topic of the given partitions.
func newKafka(t *testing.T, partitions int32) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, testTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// produced is what the test wrote where.
type produced struct {
	n         int   // event number, from the document ({"n":N}), -1 for a malformed message
	partition int32 // where the broker put it
	offset    int64
}

// produce writes docs, keyed by key(i), and returns where each went.
func produce(t *testing.T, addrs []string, docs []string, key func(i int) string) []produced {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(testTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(docs))
	for i, d := range docs {
		recs[i] = &kgo.Record{Key: []byte(key(i)), Value: []byte(d)}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	out := make([]produced, len(recs))
	for i, r := range recs {
		out[i] = produced{n: docNumber(docs[i]), partition: r.Partition, offset: r.Offset}
	}
	return out
}

// events returns n event documents {"n":0} ... and, every bad-th one, a malformed message
// in between (bad 0: none).
func events(n, bad int) []string {
	var docs []string
	for i := range n {
		if bad > 0 && i%bad == bad-1 {
			docs = append(docs, fmt.Sprintf("not json %d", i))
		}
		docs = append(docs, fmt.Sprintf(` {"n":%d,"pod":"pod-%d"}`+"\n", i, i%7))
	}
	return docs
}

// docNumber returns N of a {"n":N,...} document, -1 for anything else.
func docNumber(doc string) int {
	var n int
	if _, err := fmt.Sscanf(doc, ` {"n":%d,`, &n); err != nil {
		if _, err := fmt.Sscanf(doc, `{"n":%d,`, &n); err != nil {
			return -1
		}
	}
	return n
}

// committed returns the group's committed offsets of the test topic, by partition.
func committed(t *testing.T, addrs []string, group string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	req.Topics = nil // every topic
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rt.Topic == testTopic && rp.Offset >= 0 {
				out[rp.Partition] = rp.Offset
			}
		}
	}
	return out
}

// seen is one record a consumer returned.
type seen struct {
	source string
	pos    int64
	n      int // -1 for a malformed message (a *PositionError)
	member int
}

func kafkaConfig(addrs []string, group string) KafkaConfig {
	return KafkaConfig{Brokers: addrs, Topic: testTopic, Group: group, CommitInterval: 100 * time.Millisecond}
}

// waitFor polls cond every 20ms until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// consume reads src until want records were seen by all consumers together (counted in
// total), committing each one when commit says so, then cancels. It returns what it saw.
// consumeAll runs two members of one consumer group until they saw want messages between
// them, committing everything, then closes them; it returns what each saw.
func consumeAll(t *testing.T, ctx context.Context, cancel func(), want int, a, b Source) [2][]seen {
	t.Helper()
	var (
		mu    sync.Mutex
		total int
		wg    sync.WaitGroup
		got   [2][]seen
		errs  [2]error
	)
	srcs := [2]Source{a, b}
	for i, src := range srcs {
		wg.Go(func() {
			got[i], errs[i] = consume(ctx, src, i, &mu, &total, want, cancel, func(Record) bool { return true })
		})
	}
	wg.Wait()
	for i, src := range srcs {
		if errs[i] != nil {
			t.Errorf("member %d: %v", i, errs[i])
		}
		if err := src.Close(); err != nil {
			t.Errorf("member %d: close: %v", i, err)
		}
	}
	return got
}

func consume(ctx context.Context, src Source, member int, mu *sync.Mutex, total *int, want int, cancel func(), commit func(Record) bool) ([]seen, error) {
	var out []seen
	for {
		rec, err := src.Next()
		var pe *PositionError
		switch {
		case errors.As(err, &pe):
			if pe.Source != rec.Source || pe.Position != rec.Position {
				return out, fmt.Errorf("PositionError %v for record %s:%d", pe, rec.Source, rec.Position)
			}
			out = append(out, seen{rec.Source, rec.Position, -1, member})
		case err != nil:
			if ctx.Err() != nil {
				return out, nil
			}
			return out, err
		default:
			out = append(out, seen{rec.Source, rec.Position, docNumber(string(rec.Doc)), member})
			if commit(rec) {
				if err := src.Commit(rec); err != nil {
					return out, err
				}
			}
		}
		mu.Lock()
		*total++
		if *total >= want {
			cancel()
		}
		mu.Unlock()
	}
}

func TestKafkaGroupSharesPartitionsExactlyOnce(t *testing.T) {
	const parts, n, bad = 4, 400, 50
	addrs := newKafka(t, parts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var srcs [2]*Kafka
	for i := range srcs {
		k, err := OpenKafka(ctx, kafkaConfig(addrs, "g1"))
		if err != nil {
			t.Fatal(err)
		}
		srcs[i] = k
	}
	// Produce once both members hold partitions, so that no rebalance moves a partition
	// while it is read (which would legitimately repeat records).
	waitFor(t, 20*time.Second, "two members sharing the partitions", func() bool {
		a, b := srcs[0].Partitions(), srcs[1].Partitions()
		return len(a) > 0 && len(b) > 0 && len(a)+len(b) == parts
	})
	docs := events(n, bad)
	prod := produce(t, addrs, docs, func(i int) string { return "pod-" + strconv.Itoa(i%7) })

	got := consumeAll(t, ctx, cancel, len(docs), srcs[0], srcs[1])

	// Every message was seen exactly once, by the member owning its partition.
	byPos := map[string]seen{}
	members := map[string]int{}
	for _, s := range slices.Concat(got[0], got[1]) {
		key := fmt.Sprintf("%s:%d", s.source, s.pos)
		if prev, ok := byPos[key]; ok {
			t.Errorf("%s seen twice (members %d and %d)", key, prev.member, s.member)
		}
		byPos[key] = s
		if m, ok := members[s.source]; ok && m != s.member {
			t.Errorf("%s read by both members", s.source)
		}
		members[s.source] = s.member
	}
	ends := map[int32]int64{}
	for _, p := range prod {
		key := fmt.Sprintf("kafka:%s/%d:%d", testTopic, p.partition, p.offset)
		s, ok := byPos[key]
		if !ok {
			t.Errorf("%s (n=%d) never seen", key, p.n)
		} else if s.n != p.n {
			t.Errorf("%s: got n=%d, want %d", key, s.n, p.n)
		}
		ends[p.partition] = max(ends[p.partition], p.offset+1)
	}
	if len(byPos) != len(prod) {
		t.Errorf("seen %d messages, produced %d", len(byPos), len(prod))
	}
	if len(got[0]) == 0 || len(got[1]) == 0 {
		t.Errorf("one member did all the work: %d and %d records", len(got[0]), len(got[1]))
	}
	// Malformed messages were reported, and committed: every partition is committed to its end.
	if c := committed(t, addrs, "g1"); !mapsEqual(c, ends) {
		t.Errorf("committed offsets %v, want the ends %v", c, ends)
	}
}

func mapsEqual(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestKafkaCommitsOnlyProcessedAndResumes(t *testing.T) {
	const parts, n = 3, 90
	addrs := newKafka(t, parts)
	docs := events(n, 0)
	prod := produce(t, addrs, docs, func(i int) string { return "pod-" + strconv.Itoa(i%5) })
	perPart := map[int32]int{}
	for _, p := range prod {
		perPart[p.partition]++
	}
	// In each partition, the first cut records are committed, the one at cut is not,
	// and the one after it is (out of order: it must not move the committed offset).
	cut := map[int32]int64{}
	for p, c := range perPart {
		cut[p] = int64(c / 2)
	}
	commit := func(rec Record) bool {
		var p int32
		fmt.Sscanf(rec.Source, "kafka:"+testTopic+"/%d", &p)
		return rec.Position != cut[p]
	}

	ctx, cancel := context.WithCancel(context.Background())
	a, err := OpenKafka(ctx, kafkaConfig(addrs, "g2"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	total := 0
	// Hold records at and after the cut: they are not committed yet.
	var held []Record
	gotA, err := consume(ctx, a, 0, &mu, &total, n, cancel, func(rec Record) bool {
		if commit(rec) {
			var p int32
			fmt.Sscanf(rec.Source, "kafka:"+testTopic+"/%d", &p)
			if rec.Position < cut[p] {
				return true
			}
			held = append(held, rec)
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(gotA) != n {
		t.Fatalf("first consumer saw %d records, want %d", len(gotA), n)
	}
	// Offsets reach the broker every CommitInterval, and only for committed records.
	want := map[int32]int64{}
	for p, c := range cut {
		if c > 0 {
			want[p] = c
		}
	}
	waitFor(t, 5*time.Second, "the committed offsets", func() bool { return mapsEqual(committed(t, addrs, "g2"), want) })
	// Records after the uncommitted one are committed: the offset must not move.
	for _, rec := range held {
		if err := a.Commit(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if c := committed(t, addrs, "g2"); !mapsEqual(c, want) {
		t.Fatalf("after Close: committed %v, want %v (the first uncommitted record of each partition)", c, want)
	}

	// A new member of the group resumes at the committed offsets.
	wantB := 0
	for p, c := range perPart {
		wantB += c - int(cut[p])
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	b, err := OpenKafka(ctx2, kafkaConfig(addrs, "g2"))
	if err != nil {
		t.Fatal(err)
	}
	total = 0
	gotB, err := consume(ctx2, b, 1, &mu, &total, wantB, cancel2, func(Record) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	var wantSeen, gotSeen []string
	for _, p := range prod {
		if p.offset >= cut[p.partition] {
			wantSeen = append(wantSeen, fmt.Sprintf("kafka:%s/%d:%d", testTopic, p.partition, p.offset))
		}
	}
	for _, s := range gotB {
		gotSeen = append(gotSeen, fmt.Sprintf("%s:%d", s.source, s.pos))
	}
	slices.Sort(wantSeen)
	slices.Sort(gotSeen)
	if !slices.Equal(gotSeen, wantSeen) {
		t.Errorf("after restart read\n%v\nwant\n%v", gotSeen, wantSeen)
	}
	ends := map[int32]int64{}
	for p, c := range perPart {
		ends[p] = int64(c)
	}
	if c := committed(t, addrs, "g2"); !mapsEqual(c, ends) {
		t.Errorf("after the second consumer: committed %v, want %v", c, ends)
	}
}

func TestKafkaAssignedPartitions(t *testing.T) {
	const parts, n = 3, 60
	addrs := newKafka(t, parts)
	prod := produce(t, addrs, events(n, 0), func(i int) string { return "k" + strconv.Itoa(i) })
	mine := []int32{0, 2}
	count := map[int32]int{}
	for _, p := range prod {
		count[p.partition]++
	}
	want := count[0] + count[2]
	run := func(stopAt int) []seen {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg := kafkaConfig(addrs, "g3")
		cfg.Partitions = mine
		k, err := OpenKafka(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := k.Partitions(); !slices.Equal(got, mine) {
			t.Errorf("Partitions() = %v, want %v", got, mine)
		}
		var mu sync.Mutex
		total := 0
		got, err := consume(ctx, k, 0, &mu, &total, stopAt, cancel, func(Record) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Close(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := run(want / 2)
	c := committed(t, addrs, "g3")
	var sum int64
	for p, off := range c {
		if p == 1 {
			t.Errorf("partition 1 committed (%d) but not assigned", off)
		}
		sum += off
	}
	if int(sum) != len(first) {
		t.Errorf("committed offsets %v add up to %d, read %d", c, sum, len(first))
	}
	second := run(want - len(first))
	all := map[string]bool{}
	for _, s := range slices.Concat(first, second) {
		key := fmt.Sprintf("%s:%d", s.source, s.pos)
		if all[key] {
			t.Errorf("%s read twice", key)
		}
		all[key] = true
	}
	for _, p := range prod {
		key := fmt.Sprintf("kafka:%s/%d:%d", testTopic, p.partition, p.offset)
		if all[key] != (p.partition != 1) {
			t.Errorf("%s read: %v", key, all[key])
		}
	}
	if c := committed(t, addrs, "g3"); !mapsEqual(c, map[int32]int64{0: int64(count[0]), 2: int64(count[2])}) {
		t.Errorf("committed %v, want ends of partitions 0 and 2 (%d, %d)", c, count[0], count[2])
	}
}

// TestKafkaRebalanceHandsOver checks a member joining while another is mid-stream: the
// partitions that move are read by the new member from the committed offsets, and the
// records the first member had fetched from them but not returned are dropped, so that
// with every returned record committed before the rebalance, each record is read once.
func TestKafkaRebalanceHandsOver(t *testing.T) {
	const parts, n = 4, 400
	addrs := newKafka(t, parts)
	prod := produce(t, addrs, events(n, 0), func(i int) string { return "pod-" + strconv.Itoa(i%11) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := OpenKafka(ctx, kafkaConfig(addrs, "g4"))
	if err != nil {
		t.Fatal(err)
	}
	var got []seen
	for range n / 4 {
		rec, err := a.Next()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, seen{rec.Source, rec.Position, docNumber(string(rec.Doc)), 0})
		if err := a.Commit(rec); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.Partitions()) != parts {
		t.Fatalf("first member holds %v, want all %d partitions", a.Partitions(), parts)
	}
	a.mu.Lock()
	buffered := a.queued
	a.mu.Unlock()
	b, err := OpenKafka(ctx, kafkaConfig(addrs, "g4"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the second member to take partitions", func() bool {
		pa, pb := a.Partitions(), b.Partitions()
		return len(pa) > 0 && len(pb) > 0 && len(pa)+len(pb) == parts
	})
	t.Logf("first member had %d records fetched and not returned; now holds %v, second %v", buffered, a.Partitions(), b.Partitions())
	var (
		mu    sync.Mutex
		total = len(got)
		wg    sync.WaitGroup
		rest  [2][]seen
		errs  [2]error
	)
	for i, src := range []*Kafka{a, b} {
		wg.Go(func() {
			rest[i], errs[i] = consume(ctx, src, i, &mu, &total, n, cancel, func(Record) bool { return true })
		})
	}
	wg.Wait()
	for i, src := range []*Kafka{a, b} {
		if errs[i] != nil {
			t.Errorf("member %d: %v", i, errs[i])
		}
		if err := src.Close(); err != nil {
			t.Errorf("member %d: close: %v", i, err)
		}
	}
	if len(rest[1]) == 0 {
		t.Error("the second member read nothing")
	}
	count := map[string]int{}
	for _, s := range slices.Concat(got, rest[0], rest[1]) {
		count[fmt.Sprintf("%s:%d", s.source, s.pos)]++
	}
	ends := map[int32]int64{}
	for _, p := range prod {
		key := fmt.Sprintf("kafka:%s/%d:%d", testTopic, p.partition, p.offset)
		if count[key] != 1 {
			t.Errorf("%s read %d times", key, count[key])
		}
		ends[p.partition] = max(ends[p.partition], p.offset+1)
	}
	if c := committed(t, addrs, "g4"); !mapsEqual(c, ends) {
		t.Errorf("committed offsets %v, want the ends %v", c, ends)
	}
}
