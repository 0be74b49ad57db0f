// Command gokaeval compares lovoo/goka (Kafka Streams' processors, group tables and
// changelogs in Go, on IBM/sarama) with franz-go and Tripline's stream.ChangelogStore on
// the simplest stateful topology: count the events of each key, the count kept in a
// changelog (goka's group table topic; the store's changelog partition). It is a module
// of its own so that goka and sarama stay out of Tripline's go.mod; run.sh drives it.
//
//	gokaeval broker  -addr A -partitions P      an in-process Kafka (kfake) until killed
//	gokaeval produce -addr A -n N -keys K [-hash fnv|murmur2]
//	                                            N events, keyed k0000..k(K-1) in turn,
//	                                            partitioned as goka does (FNV-32a, the
//	                                            default) or as Kafka's clients do (murmur2)
//	gokaeval goka    -addr A [-until N]         the goka processor (group "count")
//	gokaeval franz   -addr A [-until N]         the franz-go processor (group "fcount")
//	gokaeval check   -addr A -impl goka|franz -n N -keys K
//	                                            wait until the group committed the input's
//	                                            end, then count lost and repeated updates
//
// With -until, a processor exits once it has processed N events and committed them, and
// prints its rate and CPU time; without, it runs until killed.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/tripline/tripline/stream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	input      = "input"
	gokaGroup  = "count"
	franzGroup = "fcount"
	countNS    = "count"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gokaeval broker|produce|goka|franz|check [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:19092", "broker address")
	parts := fs.Int("partitions", 4, "partitions of the input topic (broker)")
	n := fs.Int("n", 100_000, "events (produce, check)")
	keys := fs.Int("keys", 1000, "distinct keys (produce, check)")
	until := fs.Int("until", 0, "exit after processing this many events (goka, franz)")
	impl := fs.String("impl", "goka", "goka or franz (check)")
	dir := fs.String("dir", os.TempDir()+"/gokaeval-leveldb", "goka's local storage (goka)")
	hash := fs.String("hash", "fnv", "partitioning of produce: fnv (goka's) or murmur2 (Kafka's default)")
	ckEvery := fs.Duration("checkpoint", 100*time.Millisecond, "checkpoint and commit interval (franz)")
	fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "broker":
		err = broker(ctx, *addr, int32(*parts))
	case "produce":
		err = produce(ctx, *addr, *n, *keys, *hash)
	case "goka":
		err = runGoka(ctx, *addr, *until, *dir)
	case "franz":
		err = runFranz(ctx, *addr, *until, *ckEvery)
	case "check":
		err = check(ctx, *addr, *impl, *n, *keys)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gokaeval:", err)
		os.Exit(1)
	}
}

func broker(ctx context.Context, addr string, parts int32) error {
	_, port, _ := splitPort(addr)
	c, err := kfake.NewCluster(kfake.Ports(port), kfake.SeedTopics(parts, input))
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("broker at", c.ListenAddrs())
	<-ctx.Done()
	return nil
}

func splitPort(addr string) (string, int, error) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			p, err := strconv.Atoi(addr[i+1:])
			return addr[:i], p, err
		}
	}
	return addr, 0, errors.New("no port")
}

func key(i, keys int) string { return fmt.Sprintf("k%04d", i%keys) }

// fnvPartitioner partitions as goka's producers do (sarama's hash partitioner with
// FNV-32a): goka needs its input partitioned so, or a key's table row is written to
// another partition than the one whose processor holds it.
func fnvPartitioner() kgo.Partitioner {
	return kgo.BasicConsistentPartitioner(func(string) func(*kgo.Record, int) int {
		return func(r *kgo.Record, n int) int {
			h := fnv.New32a()
			h.Write(r.Key)
			p := int32(h.Sum32()) % int32(n)
			if p < 0 {
				p = -p
			}
			return int(p)
		}
	})
}

func produce(ctx context.Context, addr string, n, keys int, hash string) error {
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(input), kgo.ProducerLinger(5 * time.Millisecond)}
	switch hash {
	case "fnv":
		opts = append(opts, kgo.RecordPartitioner(fnvPartitioner()))
	case "murmur2": // franz-go's default, as Kafka's Java client
	default:
		return fmt.Errorf("unknown partitioning %q", hash)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i := range n {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Key: []byte(key(i, keys)), Value: []byte(strconv.Itoa(i))}, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	return first
}

// report prints a processor's rate and CPU time.
func report(impl string, n int, took time.Duration) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("%s: %d events in %.2fs: %.0f events/s, %.2f CPU s per million events, peak RSS %d MB\n",
		impl, n, took.Seconds(), float64(n)/took.Seconds(), cpu.Seconds()/float64(n)*1e6, ru.Maxrss/1024)
}

// runGoka runs the goka processor: a group table of counts by key.
func runGoka(ctx context.Context, addr string, until int, dir string) error {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	goka.ReplaceGlobalConfig(cfg)
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication, tmc.Stream.Replication = 1, 1
	var (
		mu        sync.Mutex
		processed atomic.Int64
		began     time.Time
		done      = make(chan time.Duration, 1)
	)
	go progress(ctx, "goka", &processed)
	cb := func(gctx goka.Context, _ any) {
		var c int64
		if v := gctx.Value(); v != nil {
			c = v.(int64)
		}
		gctx.SetValue(c + 1)
		mu.Lock()
		if processed.Load() == 0 {
			began = time.Now()
		}
		if processed.Add(1) == int64(until) {
			done <- time.Since(began)
		}
		mu.Unlock()
	}
	g := goka.DefineGroup(gokaGroup, goka.Input(input, new(codec.String), cb), goka.Persist(new(codec.Int64)))
	p, err := goka.NewProcessor([]string{addr}, g,
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc)),
		goka.WithConsumerGroupBuilder(goka.DefaultConsumerGroupBuilder),
		goka.WithStorageBuilder(storage.DefaultBuilder(dir)),
	)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(rctx) }()
	select {
	case took := <-done:
		cancel() // a clean stop: goka waits for the pending emits and commits
		err := <-errc
		report("goka", until, took)
		return err
	case err := <-errc:
		return err
	}
}

// progress prints, every 10 ms, how many events this run has processed (what a run
// killed with kill -9 got through).
func progress(ctx context.Context, impl string, n *atomic.Int64) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fmt.Printf("%s: processed %d\n", impl, n.Load())
		}
	}
}

// franzPart is the franz-go processor's state of one input partition.
type franzPart struct {
	store  *stream.ChangelogStore
	counts map[string]int64
	next   int64 // the next input offset to apply: the state covers those before
	dirty  bool
}

// runFranz runs the franz-go processor: counts by key in ChangelogStores, a checkpoint
// (changes and the next input offset, in one transaction) before each offsets commit.
func runFranz(ctx context.Context, addr string, until int, every time.Duration) error {
	changelog := stream.ChangelogTopic(franzGroup)
	parts := map[int32]*franzPart{}
	var cl *kgo.Client
	flush := func(ctx context.Context, ps []int32) error {
		offs := map[int32]kgo.EpochOffset{}
		for _, p := range ps {
			fp := parts[p]
			if fp == nil || !fp.dirty {
				continue
			}
			if err := fp.store.Checkpoint(ctx, binary.BigEndian.AppendUint64(nil, uint64(fp.next))); err != nil {
				return err
			}
			fp.dirty = false
			offs[p] = kgo.EpochOffset{Epoch: -1, Offset: fp.next}
		}
		if len(offs) == 0 {
			return nil
		}
		var cerr error
		cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{input: offs}, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) { cerr = err })
		return cerr
	}
	var cbErr error
	assigned := func(ctx context.Context, cl *kgo.Client, got map[string][]int32) {
		for _, p := range got[input] {
			s, err := stream.NewChangelogStore(cl, changelog, p)
			if err == nil {
				_, err = s.Restore(ctx)
			}
			if err != nil {
				cbErr = err
				return
			}
			fp := &franzPart{store: s, counts: map[string]int64{}}
			if m := s.Mark(); len(m) == 8 {
				// The group's offset may be behind the state (a crash between a checkpoint
				// and its commit): commit the mark at the next flush even if no record
				// after it comes.
				fp.next, fp.dirty = int64(binary.BigEndian.Uint64(m)), true
			}
			s.Scan(countNS, nil, nil, func(k, v []byte) error {
				fp.counts[string(k)] = int64(binary.BigEndian.Uint64(v))
				return nil
			})
			parts[p] = fp
		}
		fmt.Println("franz: owns partitions", owned(parts))
	}
	revoked := func(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
		if err := flush(ctx, lost[input]); err != nil && cbErr == nil {
			cbErr = err
		}
		for _, p := range lost[input] {
			if fp := parts[p]; fp != nil {
				fp.store.Close()
				delete(parts, p)
			}
		}
	}
	var err error
	cl, err = kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(franzGroup), kgo.ConsumeTopics(input),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(10*time.Second), // sarama's default, for the same takeover time
		kgo.OnPartitionsAssigned(assigned), kgo.OnPartitionsRevoked(revoked),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
			for _, p := range lost[input] {
				if fp := parts[p]; fp != nil {
					fp.store.Close()
					delete(parts, p)
				}
			}
		}))
	if err != nil {
		return err
	}
	defer cl.Close()
	// The changelog topic has the input's partitions.
	np, err := partitions(ctx, cl, input)
	if err != nil {
		return err
	}
	if err := stream.EnsureChangelogTopic(ctx, cl, changelog, np); err != nil {
		return err
	}
	var (
		processed int
		began     time.Time
		last      = time.Now()
		shown     atomic.Int64
	)
	go progress(ctx, "franz", &shown)
	for {
		// Poll for at most the checkpoint interval, so that what was processed is
		// checkpointed and committed even when no more records come.
		pctx, cancel := context.WithTimeout(ctx, every)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			cl.AllowRebalance()
			return flush(context.Background(), owned(parts))
		}
		if cbErr != nil {
			return cbErr
		}
		if err := fs.Err0(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		fs.EachRecord(func(r *kgo.Record) {
			fp := parts[r.Partition]
			if fp == nil || r.Offset < fp.next {
				return // covered by the restored state
			}
			c := fp.counts[string(r.Key)] + 1
			fp.counts[string(r.Key)] = c
			fp.store.Put(countNS, r.Key, binary.BigEndian.AppendUint64(nil, uint64(c)))
			fp.next, fp.dirty = r.Offset+1, true
			if processed == 0 {
				began = time.Now()
			}
			processed++
		})
		shown.Store(int64(processed))
		if time.Since(last) >= every || (until > 0 && processed >= until) {
			if err := flush(ctx, owned(parts)); err != nil {
				return err
			}
			last = time.Now()
		}
		cl.AllowRebalance()
		if until > 0 && processed >= until {
			report("franz", processed, time.Since(began))
			return nil
		}
	}
}

func owned(parts map[int32]*franzPart) []int32 {
	var ps []int32
	for p := range parts {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func partitions(ctx context.Context, cl *kgo.Client, topic string) (int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	for _, rt := range resp.Topics {
		if rt.Topic != nil && *rt.Topic == topic && len(rt.Partitions) > 0 {
			return int32(len(rt.Partitions)), nil
		}
	}
	return 0, fmt.Errorf("topic %s not found", topic)
}

// check waits until the group committed the input's end, then reads the counts from
// the changelog and compares them with what was produced.
func check(ctx context.Context, addr, impl string, n, keys int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	group := gokaGroup
	if impl == "franz" {
		group = franzGroup
	}
	ends, err := endOffsets(ctx, cl, input)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		com, err := committedOffsets(ctx, cl, group)
		if err != nil {
			return err
		}
		behind := int64(0)
		for p, e := range ends {
			behind += e - com[p]
		}
		if behind == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("group %s still %d events behind", group, behind)
		}
		time.Sleep(100 * time.Millisecond)
	}
	counts := map[string]int64{}
	switch impl {
	case "goka":
		if counts, err = readTable(ctx, addr, gokaGroup+"-table"); err != nil {
			return err
		}
	case "franz":
		for p := range int32(len(ends)) {
			s, err := stream.NewChangelogStore(cl, stream.ChangelogTopic(franzGroup), p)
			if err != nil {
				return err
			}
			if _, err := s.Restore(ctx); err != nil {
				return err
			}
			s.Scan(countNS, nil, nil, func(k, v []byte) error {
				counts[string(k)] = int64(binary.BigEndian.Uint64(v))
				return nil
			})
			s.Close()
		}
	default:
		return fmt.Errorf("unknown implementation %q", impl)
	}
	var lost, dup int64
	for i := range keys {
		k := key(i, keys)
		want := int64(n / keys)
		if i < n%keys {
			want++
		}
		got := counts[k]
		if got < want {
			lost += want - got
		} else {
			dup += got - want
		}
	}
	fmt.Printf("%s: %d keys, %d events: %d updates lost, %d applied twice\n", impl, keys, n, lost, dup)
	return nil
}

func endOffsets(ctx context.Context, cl *kgo.Client, topic string) (map[int32]int64, error) {
	np, err := partitions(ctx, cl, topic)
	if err != nil {
		return nil, err
	}
	req := kmsg.NewPtrListOffsetsRequest()
	t := kmsg.NewListOffsetsRequestTopic()
	t.Topic = topic
	for p := range np {
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Partition, lp.Timestamp = p, -1
		t.Partitions = append(t.Partitions, lp)
	}
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			out[rp.Partition] = rp.Offset
		}
	}
	return out, nil
}

func committedOffsets(ctx context.Context, cl *kgo.Client, group string) (map[int32]int64, error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	for _, rt := range resp.Topics {
		if rt.Topic != input {
			continue
		}
		for _, rp := range rt.Partitions {
			out[rp.Partition] = rp.Offset
		}
	}
	return out, nil
}

// readTable reads goka's group table topic: the last value of each key.
func readTable(ctx context.Context, addr, topic string) (map[string]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := endOffsets(ctx, cl, topic)
	if err != nil {
		return nil, err
	}
	left := len(ends)
	for _, e := range ends {
		if e == 0 {
			left--
		}
	}
	out := map[string]int64{}
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return nil, err
		}
		fs.EachRecord(func(r *kgo.Record) {
			v, _ := strconv.ParseInt(string(r.Value), 10, 64)
			out[string(r.Key)] = v
			if r.Offset == ends[r.Partition]-1 {
				left--
			}
		})
	}
	return out, nil
}
