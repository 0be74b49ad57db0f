package stream

import (
	"context"
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

// closeTimeout bounds the final commit and the group leave of Close.
const closeTimeout = 10 * time.Second

// Kafka is a Source reading one Kafka topic as a member of a consumer group (or, with
// KafkaConfig.Partitions, from partitions assigned by hand, with the group's offsets).
type Kafka struct {
	ctx    context.Context
	cfg    KafkaConfig
	cl     *kgo.Client
	manual bool // partitions assigned by hand: offsets committed by this type, not the group
	// topicUUID is the topic's id (manual mode), for offset commits.
	topicUUID [16]byte

	mu sync.Mutex // guards what the group's rebalance callbacks touch
	// parts holds the state of each partition delivered from under the current
	// assignment (group mode) or since Open (manual mode).
	parts map[int32]*partition
	// gen counts revocations; revokedAt[p] is gen after p's last revocation, so that
	// records polled before a revocation are dropped rather than delivered under a new
	// assignment.
	gen       uint64
	revokedAt map[int32]uint64
	owned     []int32 // the partitions this process reads, ascending
	// queues hold the records polled and not yet returned, by partition (see pick);
	// queued counts them; eventTime reads a record's event time.
	queues    map[int32]*queue
	queued    int
	eventTime func([]byte) (int64, bool)

	sources  map[int32]string // "kafka:TOPIC/PARTITION", made once per partition
	marks    map[string]map[int32]kgo.EpochOffset
	reported *partition // a malformed record returned by the last Next, committed by this one
	repOff   int64

	// hwm and fetchedTo are, by partition, the high watermark of its last fetch and the
	// offset after the last record fetched (see Progress); inNext says the caller is in
	// Next, so that every record handed out before was processed.
	hwm, fetchedTo map[int32]int64
	inNext         bool

	// idle, when set, is called about every CommitInterval while Next waits for records, on
	// the caller's goroutine (Docs: to commit what the caller finished meanwhile).
	idle     func()
	lastIdle time.Time

	commitErr error // a background commit's error, returned by the next Next
	dirty     bool  // manual mode: a committable offset moved since the last flush
	lastFlush time.Time
	closed    bool
}

// OpenKafka connects to the brokers and joins the consumer group (or, with
// cfg.Partitions, fetches the group's offsets for those partitions). Records are read
// until ctx is cancelled.
func OpenKafka(ctx context.Context, cfg KafkaConfig) (*Kafka, error) {
	if len(cfg.Brokers) == 0 || cfg.Topic == "" || cfg.Group == "" {
		return nil, errors.New("stream: Kafka needs brokers, a topic and a group")
	}
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = DefaultCommitInterval
	}
	k := &Kafka{
		ctx: ctx, cfg: cfg, manual: len(cfg.Partitions) > 0,
		parts: map[int32]*partition{}, revokedAt: map[int32]uint64{}, sources: map[int32]string{},
		marks:  map[string]map[int32]kgo.EpochOffset{cfg.Topic: {}},
		queues: map[int32]*queue{}, eventTime: cfg.EventTime,
		hwm: map[int32]int64{}, fetchedTo: map[int32]int64{},
	}
	if k.eventTime == nil {
		k.eventTime = EventTime()
	}
	if k.cfg.PartitionWait == 0 {
		k.cfg.PartitionWait = DefaultPartitionWait
	}
	reset := kgo.NewOffset().AtStart()
	if cfg.Start == StartLatest {
		reset = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumeResetOffset(reset),
		kgo.FetchMaxWait(time.Second),
	}
	if cfg.ClientID != "" {
		opts = append(opts, kgo.ClientID(cfg.ClientID))
	}
	opts = append(opts, kafkaAuth(&cfg)...)
	if cfg.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(cfg.SessionTimeout))
	}
	if cfg.RebalanceTimeout > 0 {
		opts = append(opts, kgo.RebalanceTimeout(cfg.RebalanceTimeout))
	}
	if !k.manual {
		opts = append(opts,
			kgo.ConsumeTopics(cfg.Topic),
			kgo.ConsumerGroup(cfg.Group),
			kgo.AutoCommitMarks(),
			kgo.AutoCommitInterval(cfg.CommitInterval),
			kgo.AutoCommitCallback(k.autoCommitted),
			kgo.OnPartitionsAssigned(k.assigned),
			kgo.OnPartitionsRevoked(k.revoked),
			kgo.OnPartitionsLost(k.lost),
		)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	k.cl = cl
	if k.manual {
		if err := k.topicID(ctx); err != nil {
			cl.Close()
			return nil, err
		}
		start, err := k.groupOffsets(ctx)
		if err != nil {
			cl.Close()
			return nil, err
		}
		offs := map[int32]kgo.Offset{}
		for _, p := range cfg.Partitions {
			offs[p] = reset
			if o, ok := start[p]; ok {
				offs[p] = kgo.NewOffset().At(o)
				k.partition(p).next = o
			}
		}
		k.owned = slices.Clone(cfg.Partitions)
		for _, p := range k.owned {
			k.queueOf(p, time.Now())
		}
		cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: offs})
		k.lastFlush = time.Now()
	}
	return k, nil
}

// partition returns the state of partition p, made when missing. k.mu must be held in
// group mode.
func (k *Kafka) partition(p int32) *partition {
	if st := k.parts[p]; st != nil {
		return st
	}
	src, ok := k.sources[p]
	if !ok {
		src = "kafka:" + k.cfg.Topic + "/" + strconv.Itoa(int(p))
		k.sources[p] = src
	}
	st := newPartition(src, p)
	k.parts[p] = st
	return st
}

// Next returns the next record of the topic (see Source).
func (k *Kafka) Next() (Record, error) {
	if k.closed {
		return Record{}, ErrClosed
	}
	k.settleReported()
	k.mu.Lock()
	k.inNext = true
	k.mu.Unlock()
	for {
		if err := k.ctx.Err(); err != nil {
			return Record{}, err
		}
		k.mu.Lock()
		cerr := k.commitErr
		k.commitErr = nil
		k.mu.Unlock()
		if cerr != nil {
			return Record{}, cerr
		}
		rec, ok, wait, err := k.fromBuffer()
		if ok {
			return rec, err
		}
		if k.idle != nil && (wait <= 0 || wait > k.cfg.CommitInterval) {
			wait = k.cfg.CommitInterval
		}
		if err := k.poll(wait); err != nil {
			return Record{}, err
		}
		if k.idle != nil && time.Since(k.lastIdle) >= k.cfg.CommitInterval {
			k.lastIdle = time.Now()
			k.idle()
		}
	}
}

// fromBuffer returns the queued record whose turn it is (see pick), or how long to poll
// for more (0: until some come).
func (k *Kafka) fromBuffer() (Record, bool, time.Duration, error) {
	k.mu.Lock()
	now := time.Now()
	p, ok, wait := k.pick(now)
	if !ok {
		k.mu.Unlock()
		return Record{}, false, wait, nil
	}
	r := k.queues[p].pop(now)
	k.queued--
	k.inNext = false
	st := k.partition(r.Partition)
	st.deliver(r.Offset, r.LeaderEpoch)
	k.mu.Unlock()
	doc, why := checkDoc(r.Value)
	rec := Record{Doc: doc, Source: st.source, Position: r.Offset, Key: r.Key, Time: r.Timestamp, handle: handle{part: st}}
	if why != "" {
		k.reported, k.repOff = st, r.Offset
		return rec, true, 0, &PositionError{Source: st.source, Position: r.Offset, Reason: why}
	}
	return rec, true, 0, nil
}

// settleReported commits the malformed record the last Next returned: it was reported.
func (k *Kafka) settleReported() {
	if k.reported != nil {
		k.commitOffset(k.reported, k.repOff)
		k.reported = nil
	}
}

// poll fetches more records into the queues, waiting for them at most wait when it is
// positive.
func (k *Kafka) poll(wait time.Duration) error {
	ctx := k.ctx
	if wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	if k.manual {
		if k.dirty && time.Since(k.lastFlush) >= k.cfg.CommitInterval {
			if err := k.flush(ctx); err != nil {
				return err
			}
		}
		// Wake up in time to send the offsets committed meanwhile.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, k.cfg.CommitInterval)
		defer cancel()
	}
	k.mu.Lock()
	gen := k.gen
	k.mu.Unlock()
	fetches := k.cl.PollRecords(ctx, 0)
	if fetches.IsClientClosed() {
		return ErrClosed
	}
	if err := k.ctx.Err(); err != nil {
		return err
	}
	var ferr error
	fetches.EachError(func(topic string, p int32, err error) {
		if ferr == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			ferr = fmt.Errorf("kafka:%s/%d: %w", topic, p, err)
		}
	})
	now := time.Now()
	k.mu.Lock()
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if at, ok := k.revokedAt[fp.Partition]; (ok && at > gen) || fp.Err != nil || fp.Topic != k.cfg.Topic {
			return // polled before the partition was revoked: its new owner reads it
		}
		for _, r := range fp.Records {
			k.queueOf(r.Partition, now).push(r, unread)
			k.queued++
		}
		k.hwm[fp.Partition] = fp.HighWatermark
		if n := len(fp.Records); n > 0 {
			k.fetchedTo[fp.Partition] = fp.Records[n-1].Offset + 1
		} else {
			// Nothing after the fetch position: the partition was read to its end.
			k.fetchedTo[fp.Partition] = max(k.fetchedTo[fp.Partition], fp.HighWatermark)
		}
	})
	k.mu.Unlock()
	return ferr
}

// Commit says rec was processed (see Source).
func (k *Kafka) Commit(rec Record) error {
	if rec.handle.part == nil {
		return fmt.Errorf("stream: commit of a record not read from Kafka (%s:%d)", rec.Source, rec.Position)
	}
	k.commitOffset(rec.handle.part, rec.Position)
	return nil
}

func (k *Kafka) commitOffset(st *partition, off int64) {
	k.mu.Lock()
	if !st.owned || !st.commit(off) {
		k.mu.Unlock()
		return
	}
	if k.manual {
		k.dirty = true
		k.mu.Unlock()
		return
	}
	eo := kgo.EpochOffset{Epoch: st.epoch, Offset: st.next}
	k.mu.Unlock()
	// Outside the lock: the group may be calling k.revoked. A mark that arrives after the
	// revocation is dropped by the client, and one that arrives under a new assignment
	// is still an offset whose records were all processed.
	m := k.marks[k.cfg.Topic]
	m[st.id] = eo
	k.cl.MarkCommitOffsets(k.marks)
	delete(m, st.id)
}

// revoked is called by the group before partitions move to another member: the records
// not yet returned are dropped (the new owner reads them from the committed offset), and
// what was committed is sent.
func (k *Kafka) revoked(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
	k.drop(lost)
	k.noteCommit(cl.CommitMarkedOffsets(ctx))
}

// noteCommit keeps the first error of a commit made in the background, for Next to
// return.
func (k *Kafka) noteCommit(err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	k.mu.Lock()
	if k.commitErr == nil {
		k.commitErr = fmt.Errorf("kafka: commit of group %s: %w", k.cfg.Group, err)
	}
	k.mu.Unlock()
}

// autoCommitted checks the result of a background commit.
func (k *Kafka) autoCommitted(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
	if err == nil && resp != nil {
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if e := kerr.ErrorForCode(rp.ErrorCode); e != nil && err == nil {
					err = fmt.Errorf("%s/%d: %w", rt.Topic, rp.Partition, e)
				}
			}
		}
	}
	k.noteCommit(err)
}

// lost is called when the group lost partitions without a chance to commit.
func (k *Kafka) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	k.drop(lost)
}

// assigned is called by the group when this process is given partitions.
func (k *Kafka) assigned(_ context.Context, _ *kgo.Client, got map[string][]int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := time.Now()
	for _, p := range got[k.cfg.Topic] {
		if !slices.Contains(k.owned, p) {
			k.owned = append(k.owned, p)
		}
		q := k.queueOf(p, now)
		q.since, q.gaveUp = now, false
	}
	slices.Sort(k.owned)
}

// Progress returns, for each partition this process reads now, whether it was read to its
// end (as of its last fetch: no record after those fetched, all of them handed out) and
// every record handed out was processed (the caller is waiting in Next for more). Any
// goroutine may call it.
func (k *Kafka) Progress() []SourceProgress {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]SourceProgress, 0, len(k.owned))
	for _, p := range k.owned {
		hwm, known := k.hwm[p]
		q := k.queues[p]
		end := known && k.inNext && (q == nil || q.len() == 0) && k.fetchedTo[p] >= hwm
		sp := SourceProgress{Partition: p, AtEnd: end}
		if end {
			sp.End = hwm
		}
		out = append(out, sp)
	}
	return out
}

// Partitions returns the partitions this process reads now: those the group assigned
// to it, or those KafkaConfig.Partitions names. Any goroutine may call it.
func (k *Kafka) Partitions() []int32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.owned)
}

func (k *Kafka) drop(lost map[string][]int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	for _, p := range lost[k.cfg.Topic] {
		if i := slices.Index(k.owned, p); i >= 0 {
			k.owned = slices.Delete(k.owned, i, i+1)
		}
		if st := k.parts[p]; st != nil {
			st.owned = false
			delete(k.parts, p)
		}
		k.revokedAt[p] = k.gen
		delete(k.hwm, p)
		delete(k.fetchedTo, p)
		if q := k.queues[p]; q != nil {
			k.queued -= q.len()
			delete(k.queues, p)
		}
	}
}

// Close sends the committed offsets and leaves the group (see Source).
func (k *Kafka) Close() error {
	if k.closed {
		return nil
	}
	k.closed = true
	k.settleReported()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(k.ctx), closeTimeout)
	defer cancel()
	var err error
	if k.manual {
		err = k.flush(ctx)
	} else {
		err = k.cl.CommitMarkedOffsets(ctx)
	}
	k.cl.Close()
	if errors.Is(err, kerr.RebalanceInProgress) || errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.UnknownMemberID) {
		// The group was moving the partitions (another process stopping or starting at
		// the same time): their new owner reads again what was not committed.
		return nil
	}
	if err != nil {
		return fmt.Errorf("kafka: final commit: %w", err)
	}
	return nil
}

// topicID finds the topic's id, which newer offset commit requests name it by.
func (k *Kafka) topicID(ctx context.Context) error {
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(k.cfg.Topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, k.cl)
	if err != nil {
		return fmt.Errorf("kafka: metadata of topic %s: %w", k.cfg.Topic, err)
	}
	for _, rt := range resp.Topics {
		if rt.Topic != nil && *rt.Topic == k.cfg.Topic {
			if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
				return fmt.Errorf("kafka: topic %s: %w", k.cfg.Topic, err)
			}
			k.topicUUID = rt.TopicID
			return nil
		}
	}
	return fmt.Errorf("kafka: topic %s: not in the cluster's metadata", k.cfg.Topic)
}

// groupOffsets returns the group's committed offsets of the topic (manual mode).
func (k *Kafka) groupOffsets(ctx context.Context) (map[int32]int64, error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = k.cfg.Group
	t := kmsg.NewOffsetFetchRequestTopic()
	t.Topic = k.cfg.Topic
	t.Partitions = k.cfg.Partitions
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, k.cl)
	if err != nil {
		return nil, fmt.Errorf("kafka: offsets of group %s: %w", k.cfg.Group, err)
	}
	out := map[int32]int64{}
	if err := kerr.ErrorForCode(resp.ErrorCode); errors.Is(err, kerr.GroupIDNotFound) {
		return out, nil // a new group: nothing committed yet
	} else if err != nil {
		return nil, fmt.Errorf("kafka: offsets of group %s: %w", k.cfg.Group, err)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				return nil, fmt.Errorf("kafka:%s/%d: offset of group %s: %w", rt.Topic, rp.Partition, k.cfg.Group, err)
			}
			if rp.Offset >= 0 {
				out[rp.Partition] = rp.Offset
			}
		}
	}
	return out, nil
}

// flush sends the committable offsets of the hand-assigned partitions to the group
// (manual mode), as a commit from outside the group's membership.
func (k *Kafka) flush(ctx context.Context) error {
	k.mu.Lock()
	if !k.dirty {
		k.mu.Unlock()
		return nil
	}
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = k.cfg.Group
	req.Generation = -1
	t := kmsg.NewOffsetCommitRequestTopic()
	t.Topic, t.TopicID = k.cfg.Topic, k.topicUUID
	for _, st := range k.parts {
		if st.next < 0 {
			continue
		}
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		p.Partition, p.Offset, p.LeaderEpoch = st.id, st.next, st.epoch
		t.Partitions = append(t.Partitions, p)
	}
	req.Topics = append(req.Topics, t)
	k.dirty = false
	k.mu.Unlock()
	k.lastFlush = time.Now()
	resp, err := req.RequestWith(ctx, k.cl)
	if err == nil {
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if e := kerr.ErrorForCode(rp.ErrorCode); e != nil && err == nil {
					err = fmt.Errorf("kafka:%s/%d: %w", rt.Topic, rp.Partition, e)
				}
			}
		}
	}
	if err != nil {
		k.mu.Lock()
		k.dirty = true // try again at the next flush
		k.mu.Unlock()
		return fmt.Errorf("kafka: commit of group %s: %w", k.cfg.Group, err)
	}
	return nil
}
