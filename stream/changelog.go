package stream

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ChangelogFormat is the version of the layout of a changelog's records; Restore refuses a
// changelog that holds another.
const ChangelogFormat = 1

// markerKey is the key of a checkpoint's last record. It is not the encoding of any
// namespace and key (a lone 0xFF is an unfinished uvarint), so it cannot collide.
var markerKey = []byte{0xFF}

// ChangelogTopic returns the name of the changelog topic of consumer group group.
func ChangelogTopic(group string) string { return group + "-changelog" }

// ChangelogTransactionalID returns the transactional id of the store of a changelog
// partition, "TOPIC-PARTITION" (a cluster with ACLs must let the group's principal write
// the transactional ids prefixed with the topic's name).
func ChangelogTransactionalID(topic string, partition int32) string {
	return topic + "-" + strconv.Itoa(int(partition))
}

// ChangelogStore is a detect.StateStore kept in one partition of a compacted Kafka topic,
// as Kafka Streams keeps a task's state store in its changelog: the partition holds every
// key's latest value (a record keyed by namespace and key; a tombstone for a deleted key),
// and a local cache in memory holds what the last checkpoint holds, for Scan.
//
// Put, Delete and DeleteRange are buffered; Checkpoint writes them in one Kafka
// transaction (idempotent, acks=all), ending with a marker record that carries the
// caller's mark (the input position the checkpoint covers), and returns once the brokers
// committed it. Restore reads the committed records of the partition (read_committed) from
// its start to its end into the cache: a checkpoint cut off by a crash is aborted, never
// half restored. The transactional id is the partition's (ChangelogTransactionalID), so a
// Restore fences any other store of the same partition (a process that lost the partition
// and has not noticed yet): its next Checkpoint fails instead of interleaving stale
// writes, and the fenced store can only be closed.
//
// The cache is a map in memory (about 140 bytes a key, on top of the detector's own copy
// of the state) rather than a Pebble database in a local directory: one per partition
// costs some 12.5 MB before its first key, and restores 1.4 to 1.8 times slower
// (BenchmarkChangelogRestore).
//
// The methods are safe for concurrent use; Put, Delete and DeleteRange may run while a
// Checkpoint is in flight (they go into the next one).
type ChangelogStore struct {
	topic     string
	partition int32
	base      []kgo.Opt   // the connection options of the client given to NewChangelogStore
	prod      *kgo.Client // the transactional producer of this partition
	src       string      // "kafka:TOPIC/PARTITION", for messages

	ck sync.Mutex // serialises Restore, Checkpoint and Close

	mu       sync.Mutex
	cache    map[string]map[string][]byte // namespace → key → value, as of the last checkpoint
	pend     map[string]map[string]pendOp // namespace → key → change since the last checkpoint
	npend    int
	mark     []byte
	seq      uint64 // checkpoints written to the partition, as the last marker says
	restored bool
	failed   error // a checkpoint that may be half applied: the cache is ahead of the log
	closed   bool
}

type pendOp struct {
	v   []byte
	del bool
}

// ChangelogStats is what a Restore read.
type ChangelogStats struct {
	// Records is the number of records read (markers included, control records not);
	// Keys is the number of keys restored.
	Records, Keys int
	// Checkpoints is the checkpoint count of the last marker read: how many checkpoints
	// were ever written to the partition.
	Checkpoints uint64
	// Start and End are the partition's offsets read from and up to (exclusive).
	Start, End int64
	Took       time.Duration
}

// NewChangelogStore returns the store of partition partition of the changelog topic
// topic (see EnsureChangelogTopic). cl gives the connection: the store makes its own
// clients with cl's seed brokers, TLS, SASL and other client options (not its producer,
// consumer or group options). The store is empty until Restore, which must come before
// the first Checkpoint.
func NewChangelogStore(cl *kgo.Client, topic string, partition int32) (*ChangelogStore, error) {
	if topic == "" || partition < 0 {
		return nil, fmt.Errorf("changelog: bad topic %q or partition %d", topic, partition)
	}
	s := &ChangelogStore{
		topic: topic, partition: partition, base: clientOpts(cl),
		src:   "kafka:" + topic + "/" + strconv.Itoa(int(partition)),
		cache: map[string]map[string][]byte{}, pend: map[string]map[string]pendOp{},
	}
	prod, err := kgo.NewClient(append(slices.Clone(s.base),
		kgo.TransactionalID(ChangelogTransactionalID(topic, partition)),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DefaultProduceTopic(topic),
	)...)
	if err != nil {
		return nil, fmt.Errorf("changelog %s: %w", s.src, err)
	}
	s.prod = prod
	return s, nil
}

// clientOpts returns cl's options that are about the connection, not about producing,
// consuming or the group.
func clientOpts(cl *kgo.Client) []kgo.Opt {
	var out []kgo.Opt
	for _, o := range cl.Opts() {
		switch o.(type) {
		case kgo.ProducerOpt, kgo.ConsumerOpt, kgo.GroupOpt:
			continue
		}
		out = append(out, o)
	}
	return out
}

// Restore makes the store hold what the partition's committed checkpoints hold, read from
// the partition's start to its end at the time of the call, dropping what was buffered.
// It first fences any other store of the partition (its open transaction is aborted).
func (s *ChangelogStore) Restore(ctx context.Context) (ChangelogStats, error) {
	s.ck.Lock()
	defer s.ck.Unlock()
	began := time.Now()
	var st ChangelogStats
	if s.isClosed() {
		return st, fmt.Errorf("changelog %s: %w", s.src, ErrClosed)
	}
	if _, _, err := s.prod.ProducerID(ctx); err != nil {
		return st, fmt.Errorf("changelog %s: transactional producer: %w", s.src, err)
	}
	start, end, err := s.bounds(ctx)
	if err != nil {
		return st, err
	}
	st.Start, st.End = start, end
	cache := map[string]map[string][]byte{}
	var (
		mark []byte
		seq  uint64
	)
	err = s.read(ctx, start, end, func(r *kgo.Record) error {
		st.Records++
		return restoreRecord(cache, r, &mark, &seq)
	})
	if err != nil {
		return st, err
	}
	for _, m := range cache {
		st.Keys += len(m)
	}
	st.Checkpoints, st.Took = seq, time.Since(began)
	s.mu.Lock()
	s.cache, s.pend, s.npend = cache, map[string]map[string]pendOp{}, 0
	s.mark, s.seq, s.restored, s.failed = mark, seq, true, nil
	s.mu.Unlock()
	return st, nil
}

// read calls fn for each committed record of the partition in [start, end), in order;
// control records (transaction markers) are not given to fn.
func (s *ChangelogStore) read(ctx context.Context, start, end int64, fn func(r *kgo.Record) error) error {
	if end <= start {
		return nil
	}
	rd, err := kgo.NewClient(append(slices.Clone(s.base),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.topic: {s.partition: kgo.NewOffset().At(start)}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxPartitionBytes(8<<20),
	)...)
	if err != nil {
		return fmt.Errorf("changelog %s: %w", s.src, err)
	}
	defer rd.Close()
	for {
		fs := rd.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if ferr == nil {
				ferr = err
			}
		})
		if ferr != nil {
			return fmt.Errorf("changelog %s: %w", s.src, ferr)
		}
		for it := fs.RecordIter(); !it.Done(); {
			r := it.Next()
			// Control records are kept only to see where the partition ends: its last
			// offset is often one (the commit of the last checkpoint).
			if !r.Attrs.IsControl() {
				if err := fn(r); err != nil {
					return fmt.Errorf("changelog %s:%d: %w", s.src, r.Offset, err)
				}
			}
			if r.Offset >= end-1 {
				return nil
			}
		}
	}
}

// restoreRecord applies one changelog record to cache.
func restoreRecord(cache map[string]map[string][]byte, r *kgo.Record, mark *[]byte, seq *uint64) error {
	if bytes.Equal(r.Key, markerKey) {
		if len(r.Value) == 0 || r.Value[0] != ChangelogFormat {
			f := -1
			if len(r.Value) > 0 {
				f = int(r.Value[0])
			}
			return fmt.Errorf("checkpoint marker of format %d (this Tripline reads format %d)", f, ChangelogFormat)
		}
		n, w := binary.Uvarint(r.Value[1:])
		if w <= 0 {
			return errors.New("malformed checkpoint marker")
		}
		*seq, *mark = n, nil
		if len(r.Value) > 1+w {
			*mark = bytes.Clone(r.Value[1+w:])
		}
		return nil
	}
	ns, k, err := decodeChangelogKey(r.Key)
	if err != nil {
		return err
	}
	m := cache[ns]
	if r.Value == nil {
		delete(m, k)
		if len(m) == 0 {
			delete(cache, ns)
		}
		return nil
	}
	if m == nil {
		m = map[string][]byte{}
		cache[ns] = m
	}
	m[k] = bytes.Clone(r.Value) // not a slice of the fetched batch, which it would keep alive
	return nil
}

// bounds returns the partition's first offset and its last stable offset (read_committed).
func (s *ChangelogStore) bounds(ctx context.Context) (start, end int64, err error) {
	get := func(ts int64) (int64, error) {
		req := kmsg.NewPtrListOffsetsRequest()
		req.IsolationLevel = 1
		t := kmsg.NewListOffsetsRequestTopic()
		t.Topic = s.topic
		p := kmsg.NewListOffsetsRequestTopicPartition()
		p.Partition, p.Timestamp, p.CurrentLeaderEpoch = s.partition, ts, -1
		t.Partitions = append(t.Partitions, p)
		req.Topics = append(req.Topics, t)
		resp, err := req.RequestWith(ctx, s.prod)
		if err != nil {
			return 0, err
		}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if rt.Topic == s.topic && rp.Partition == s.partition {
					if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
						return 0, err
					}
					return rp.Offset, nil
				}
			}
		}
		return 0, errors.New("no offset in the broker's answer")
	}
	if start, err = get(-2); err == nil {
		end, err = get(-1)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("changelog %s: offsets: %w", s.src, err)
	}
	return start, end, nil
}

// Scan calls fn for the keys of namespace ns in [lo, hi) (hi nil: to the namespace's end),
// in key order, as the last checkpoint (or Restore) left them.
func (s *ChangelogStore) Scan(ns string, lo, hi []byte, fn func(k, v []byte) error) error {
	s.mu.Lock()
	m := s.cache[ns]
	keys := make([]string, 0, len(m))
	for k := range m {
		if inRange(k, lo, hi) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = m[k]
	}
	s.mu.Unlock()
	for i, k := range keys {
		if err := fn([]byte(k), vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// Get returns the value of k in ns as the last checkpoint left it.
func (s *ChangelogStore) Get(ns string, k []byte) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.cache[ns][string(k)]
	return v, ok
}

func inRange(k string, lo, hi []byte) bool {
	return k >= string(lo) && (hi == nil || k < string(hi))
}

// Put sets k to v in namespace ns at the next checkpoint (both are copied).
func (s *ChangelogStore) Put(ns string, k, v []byte) {
	s.set(ns, string(k), pendOp{v: append(make([]byte, 0, len(v)), v...)})
}

// Delete removes k from namespace ns at the next checkpoint.
func (s *ChangelogStore) Delete(ns string, k []byte) {
	s.set(ns, string(k), pendOp{del: true})
}

func (s *ChangelogStore) set(ns, k string, op pendOp) {
	s.mu.Lock()
	m := s.pend[ns]
	if m == nil {
		m = map[string]pendOp{}
		s.pend[ns] = m
	}
	if _, ok := m[k]; !ok {
		s.npend++
	}
	m[k] = op
	s.mu.Unlock()
}

// DeleteRange removes the keys of namespace ns in [lo, hi) (hi nil: to the namespace's
// end) at the next checkpoint: a tombstone for each key in range that the last checkpoint
// holds, and the changes buffered since to keys in range are dropped.
func (s *ChangelogStore) DeleteRange(ns string, lo, hi []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.pend[ns]
	for k := range m {
		if inRange(k, lo, hi) {
			delete(m, k)
			s.npend--
		}
	}
	for k := range s.cache[ns] {
		if inRange(k, lo, hi) {
			if m == nil {
				m = map[string]pendOp{}
				s.pend[ns] = m
			}
			m[k] = pendOp{del: true}
			s.npend++
		}
	}
}

// Pending returns the number of keys changed since the last checkpoint.
func (s *ChangelogStore) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.npend
}

// Mark returns the mark of the last checkpoint, written or restored (nil when none).
func (s *ChangelogStore) Mark() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.mark)
}

// Checkpoint writes the changes buffered since the last checkpoint, and mark, in one
// transaction, and returns once the brokers committed it: the caller commits the input
// offsets the checkpoint covers only then (see the package documentation). With nothing
// buffered and the same mark as the last checkpoint, it writes nothing.
//
// A Checkpoint that fails (the brokers are unreachable, or another store of the partition
// fenced this one) leaves the store unusable: the cache holds changes the log may not, so
// later Checkpoints return the same error until a Restore reads the log again.
func (s *ChangelogStore) Checkpoint(ctx context.Context, mark []byte) error {
	s.ck.Lock()
	defer s.ck.Unlock()
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return fmt.Errorf("changelog %s: %w", s.src, ErrClosed)
	case s.failed != nil:
		err := s.failed
		s.mu.Unlock()
		return err
	case !s.restored:
		s.mu.Unlock()
		return fmt.Errorf("changelog %s: checkpoint before Restore", s.src)
	case s.npend == 0 && bytes.Equal(mark, s.mark):
		s.mu.Unlock()
		return nil
	}
	recs := s.cut()
	s.seq++
	s.mark = nil
	if len(mark) > 0 {
		s.mark = bytes.Clone(mark)
	}
	v := binary.AppendUvarint([]byte{ChangelogFormat}, s.seq)
	recs = append(recs, &kgo.Record{Key: markerKey, Value: append(v, mark...), Partition: s.partition})
	s.mu.Unlock()

	if err := s.commit(ctx, recs); err != nil {
		err = fmt.Errorf("changelog %s: checkpoint: %w", s.src, err)
		s.mu.Lock()
		s.failed = err
		s.mu.Unlock()
		return err
	}
	return nil
}

// cut applies the buffered changes to the cache and returns them as records, in key
// order. s.mu is held.
func (s *ChangelogStore) cut() []*kgo.Record {
	recs := make([]*kgo.Record, 0, s.npend+1)
	nss := make([]string, 0, len(s.pend))
	for ns := range s.pend {
		nss = append(nss, ns)
	}
	slices.Sort(nss)
	for _, ns := range nss {
		m := s.pend[ns]
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		c := s.cache[ns]
		for _, k := range keys {
			op := m[k]
			r := &kgo.Record{Key: encodeChangelogKey(ns, k), Partition: s.partition}
			if op.del {
				delete(c, k)
			} else {
				if c == nil {
					c = map[string][]byte{}
					s.cache[ns] = c
				}
				c[k] = op.v
				r.Value = op.v
				if r.Value == nil {
					r.Value = []byte{} // an empty value, not a tombstone
				}
			}
			recs = append(recs, r)
		}
		if len(c) == 0 {
			delete(s.cache, ns)
		}
	}
	s.pend, s.npend = map[string]map[string]pendOp{}, 0
	return recs
}

// commit writes recs in one transaction.
func (s *ChangelogStore) commit(ctx context.Context, recs []*kgo.Record) error {
	if err := s.prod.BeginTransaction(); err != nil {
		return err
	}
	if err := s.prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		s.abort()
		return err
	}
	return s.prod.EndTransaction(ctx, kgo.TryCommit)
}

// abort ends the open transaction without committing it (best effort: a transaction
// left open is aborted when the next store of the partition fences this one).
func (s *ChangelogStore) abort() {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if s.prod.AbortBufferedRecords(ctx) == nil {
		s.prod.EndTransaction(ctx, kgo.TryAbort)
	}
}

// Close drops what was not checkpointed and closes the store's producer.
func (s *ChangelogStore) Close() error {
	s.ck.Lock()
	defer s.ck.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cache, s.pend, s.npend = nil, nil, 0
	s.mu.Unlock()
	s.prod.Close()
	return nil
}

func (s *ChangelogStore) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// encodeChangelogKey returns the record key of k in namespace ns: the length of ns
// (uvarint), ns, k. Two different pairs never make the same key, and the keys of a
// namespace keep their order.
func encodeChangelogKey(ns, k string) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(ns)+len(k))
	b = binary.AppendUvarint(b, uint64(len(ns)))
	return append(append(b, ns...), k...)
}

// decodeChangelogKey splits a record key made by encodeChangelogKey.
func decodeChangelogKey(b []byte) (ns, k string, err error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return "", "", fmt.Errorf("malformed key %q", b)
	}
	return string(b[w : w+int(n)]), string(b[w+int(n):]), nil
}

// EnsureChangelogTopic creates the changelog topic topic (cleanup.policy=compact) with
// partitions partitions and the brokers' default replication, unless it exists; one that
// exists must have that many partitions and be compacted only (a topic that also deletes
// by age would lose state).
func EnsureChangelogTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = topic, partitions, -1
	c := kmsg.NewCreateTopicsRequestTopicConfig()
	c.Name, c.Value = "cleanup.policy", kmsg.StringPtr("compact")
	t.Configs = append(t.Configs, c)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("changelog topic %s: create: %w", topic, err)
	}
	for _, rt := range resp.Topics {
		err := kerr.ErrorForCode(rt.ErrorCode)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, kerr.TopicAlreadyExists):
			return checkChangelogTopic(ctx, cl, topic, partitions)
		default:
			return fmt.Errorf("changelog topic %s: create: %w", topic, err)
		}
	}
	return fmt.Errorf("changelog topic %s: create: no answer for the topic", topic)
}

// checkChangelogTopic checks the partitions and the cleanup policy of an existing topic.
func checkChangelogTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32) error {
	mreq := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	mreq.Topics = append(mreq.Topics, mt)
	mresp, err := mreq.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("changelog topic %s: metadata: %w", topic, err)
	}
	for _, rt := range mresp.Topics {
		if rt.Topic == nil || *rt.Topic != topic {
			continue
		}
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			return fmt.Errorf("changelog topic %s: %w", topic, err)
		}
		if n := int32(len(rt.Partitions)); n != partitions {
			return fmt.Errorf("changelog topic %s has %d partitions, not %d as its input: delete it, or give the input as many", topic, n, partitions)
		}
	}
	dreq := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName, r.ConfigNames = kmsg.ConfigResourceTypeTopic, topic, []string{"cleanup.policy"}
	dreq.Resources = append(dreq.Resources, r)
	dresp, err := dreq.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("changelog topic %s: configs: %w", topic, err)
	}
	for _, rr := range dresp.Resources {
		if err := kerr.ErrorForCode(rr.ErrorCode); err != nil {
			return fmt.Errorf("changelog topic %s: configs: %w", topic, err)
		}
		for _, c := range rr.Configs {
			if c.Name == "cleanup.policy" && (c.Value == nil || *c.Value != "compact") {
				v := "none"
				if c.Value != nil {
					v = *c.Value
				}
				return fmt.Errorf("changelog topic %s has cleanup.policy=%s: a changelog must be compact only", topic, v)
			}
		}
	}
	return nil
}
