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

// RepartitionedEvent is one event of a repartition partition, handed to that partition's
// handler in event-time order.
type RepartitionedEvent struct {
	// Doc is the event's document, valid during the call.
	Doc []byte
	// Source and Position say where the event is in the input topic ("kafka:TOPIC/P" and
	// its offset), as for the events read there.
	Source   string
	Position int64
	// Seq numbers the events handed to one handler: 1, 2, ...
	Seq uint64
}

// PartitionHandler processes the events of one repartition partition (a detector running
// the sequences and samples of the join keys the partition owns).
type PartitionHandler interface {
	// Process takes the next event.
	Process(ctx context.Context, ev RepartitionedEvent) error
	// Unfinished returns the smallest Seq of the events the handler still holds (ok false:
	// none): the partition's offsets are committed only below the records of those.
	Unfinished() (seq uint64, ok bool)
	// Close ends the handler. finish is true when the process stops: it writes what it can
	// (a detector's Close); false when the partition moved to another process, which reads
	// again what was not committed: then it drops what it holds.
	Close(ctx context.Context, finish bool) error
}

// RepartitionConfig configures ReadRepartitioned.
type RepartitionConfig struct {
	// Kafka holds the brokers, credentials, client id, session timeout and commit interval;
	// its Topic and Group are the input topic and group (the repartition topic and its
	// group are named after the group, RepartitionTopic).
	Kafka KafkaConfig
	// InputPartitions is the input topic's partition count: the merge of each repartition
	// partition waits for those.
	InputPartitions int32
	// SourceWait is how long an input partition that sends nothing is waited for
	// (DefaultSourceWait if 0).
	SourceWait time.Duration
	// Notice, when set, is told of errors that do not stop the reading (a commit refused
	// during a rebalance, a malformed record).
	Notice func(msg string)
}

// repPart is one repartition partition this process owns.
type repPart struct {
	id      int32
	merge   *wmerge
	tracker *repTracker
	h       PartitionHandler
	seq     uint64
	dirty   bool // the committable offset moved since the last commit
	closed  bool // the handler was closed (Run ended)
}

// RepartitionReader is the consumer of a repartition topic (OpenRepartitioned).
type RepartitionReader struct {
	ctx        context.Context
	cfg        RepartitionConfig
	topic      string
	group      string
	topicID    [16]byte
	cl         *kgo.Client
	newHandler func(p int32) (PartitionHandler, error)
	sources    []string // "kafka:TOPIC/P" by input partition

	mu    sync.Mutex // guards parts against the group's callbacks
	parts map[int32]*repPart
	err   error // a handler's failure, made in a callback
}

// OpenRepartitioned joins the consumer group of the repartition topic of cfg.Kafka.Group
// (both named RepartitionTopic(group)). Run then reads it: for each partition the group
// gives this process, a handler made by newHandler is given the partition's events merged
// in event time (the watermark merge), records sent again dropped, and the partition's
// offset is committed (with, in the commit's metadata, how far each input partition was
// taken in) only below the events the handler holds. When a partition moves to another
// process, its handler is closed with finish false, after a last commit.
func OpenRepartitioned(ctx context.Context, cfg RepartitionConfig, newHandler func(p int32) (PartitionHandler, error)) (*RepartitionReader, error) {
	if cfg.SourceWait <= 0 {
		cfg.SourceWait = DefaultSourceWait
	}
	if cfg.Kafka.CommitInterval <= 0 {
		cfg.Kafka.CommitInterval = DefaultCommitInterval
	}
	r := &RepartitionReader{ctx: ctx, cfg: cfg, topic: RepartitionTopic(cfg.Kafka.Group), group: RepartitionTopic(cfg.Kafka.Group),
		newHandler: newHandler, parts: map[int32]*repPart{}}
	for p := range cfg.InputPartitions {
		r.sources = append(r.sources, "kafka:"+cfg.Kafka.Topic+"/"+strconv.Itoa(int(p)))
	}
	opts := append(kafkaClientOpts(&cfg.Kafka),
		kgo.ConsumeTopics(r.topic),
		kgo.ConsumerGroup(r.group),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.OnPartitionsAssigned(r.assigned),
		kgo.OnOffsetsFetched(r.fetched),
		kgo.OnPartitionsRevoked(r.revoked),
		kgo.OnPartitionsLost(r.lost),
	)
	if cfg.Kafka.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(cfg.Kafka.SessionTimeout))
	}
	if cfg.Kafka.RebalanceTimeout > 0 {
		opts = append(opts, kgo.RebalanceTimeout(cfg.Kafka.RebalanceTimeout))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	r.cl = cl
	if _, r.topicID, err = topicInfo(ctx, cl, r.topic); err != nil {
		cl.Close()
		return nil, err
	}
	return r, nil
}

// Run reads until the context given to OpenRepartitioned is cancelled, or a handler fails
// (its error is returned); then it closes every handler with finish true. Call Close after,
// once what the handlers wrote is delivered.
func (r *RepartitionReader) Run() error {
	err := r.loop()
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), closeTimeout)
	defer cancel()
	var errs []error
	for _, pt := range r.parts {
		if !pt.closed {
			pt.closed = true
			errs = append(errs, pt.h.Close(ctx, true))
		}
	}
	return errors.Join(append(errs, err)...)
}

// loop polls the partitions and hands out their events until ctx is cancelled.
func (r *RepartitionReader) loop() error {
	lastCommit := time.Now()
	var lastEnds time.Time
	wait := time.Duration(0)
	for {
		pollFor := r.cfg.Kafka.CommitInterval
		if wait > 0 && wait < pollFor {
			pollFor = wait
		}
		pctx, cancel := context.WithTimeout(r.ctx, pollFor)
		r.cl.AllowRebalance()
		fetches := r.cl.PollRecords(pctx, 10_000)
		cancel()
		if fetches.IsClientClosed() || r.ctx.Err() != nil {
			return nil
		}
		var ferr error
		fetches.EachError(func(topic string, p int32, err error) {
			if ferr == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("kafka:%s/%d: %w", topic, p, err)
			}
		})
		if ferr != nil && r.cfg.Notice != nil {
			r.cfg.Notice(ferr.Error())
		}
		var ends map[int32]int64
		endsAt := time.Now()
		if endsAt.Sub(lastEnds) >= endsEvery {
			lastEnds = endsAt
			ends = r.inputEnds()
		}
		r.mu.Lock()
		now := time.Now()
		fetches.EachRecord(func(rec *kgo.Record) { r.take(rec, now) })
		if ends != nil {
			// Read before the records above were taken in: good for those taken before.
			for _, pt := range r.parts {
				pt.merge.setEnds(ends, endsAt)
			}
		}
		var err error
		wait, err = r.release(now)
		if err == nil {
			err = r.err
		}
		if err == nil && time.Since(lastCommit) >= r.cfg.Kafka.CommitInterval {
			lastCommit = time.Now()
			r.commit(r.ctx, nil)
		}
		r.mu.Unlock()
		if r.ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// inputEnds reads the input topic's end offsets (nil when it cannot: idle input
// partitions are then waited for as the others).
func (r *RepartitionReader) inputEnds() map[int32]int64 {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	t := kmsg.NewListOffsetsRequestTopic()
	t.Topic = r.cfg.Kafka.Topic
	for p := range r.cfg.InputPartitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = p, -1, -1
		t.Partitions = append(t.Partitions, rp)
	}
	req.Topics = append(req.Topics, t)
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, r.cl)
	if err != nil {
		return nil
	}
	ends := map[int32]int64{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if kerr.ErrorForCode(rp.ErrorCode) == nil {
				ends[rp.Partition] = rp.Offset
			}
		}
	}
	return ends
}

// take gives one polled record to its partition's merge. r.mu is held.
func (r *RepartitionReader) take(rec *kgo.Record, now time.Time) {
	pt := r.parts[rec.Partition]
	if pt == nil {
		return // not ours (any more)
	}
	for _, h := range rec.Headers {
		switch h.Key {
		case headerWatermark:
			marks, err := parseMarks(h.Value)
			if err != nil {
				r.notice(rec, err)
				pt.tracker.add(rec.Offset, nil, true)
				return
			}
			for _, m := range marks {
				pt.merge.mark(m, now)
			}
			pt.tracker.add(rec.Offset, marks, true)
			return
		case headerSource:
			p, off, ns, has, err := parseSourceHeader(h.Value)
			if err != nil {
				r.notice(rec, err)
				pt.tracker.add(rec.Offset, nil, true)
				return
			}
			if !has {
				ns = noTime
			}
			m := mergeRec{src: p, off: off, ns: ns, pos: rec.Offset, doc: rec.Value}
			m.slot = pt.tracker.add(rec.Offset, []sourceMark{{Partition: p, Offset: off}}, false)
			if !pt.merge.push(m, now) {
				pt.tracker.ents[m.slot-pt.tracker.base].state = entDone // sent again: dropped
			}
			return
		}
	}
	r.notice(rec, errors.New("neither an event nor a watermark"))
	pt.tracker.add(rec.Offset, nil, true)
}

func (r *RepartitionReader) notice(rec *kgo.Record, err error) {
	if r.cfg.Notice != nil {
		r.cfg.Notice(fmt.Sprintf("kafka:%s/%d:%d: %v (skipped)", rec.Topic, rec.Partition, rec.Offset, err))
	}
}

// release hands out the records whose turn it is, partition by partition, and returns
// how long to wait at most for the input partitions still waited for (0: none). r.mu is
// held.
func (r *RepartitionReader) release(now time.Time) (time.Duration, error) {
	var wait time.Duration
	for _, pt := range r.parts {
		for {
			m, ok, w := pt.merge.next(now)
			if !ok {
				if w > 0 && (wait == 0 || w < wait) {
					wait = w
				}
				break
			}
			pt.seq++
			pt.tracker.deliver(m.slot, pt.seq)
			src := "kafka:" + r.cfg.Kafka.Topic + "/" + strconv.Itoa(int(m.src))
			if int(m.src) < len(r.sources) {
				src = r.sources[m.src]
			}
			if err := pt.h.Process(r.ctx, RepartitionedEvent{Doc: m.doc, Source: src, Position: m.off, Seq: pt.seq}); err != nil {
				return 0, err
			}
		}
	}
	return wait, nil
}

// commit sends the committable offsets of the partitions in only (all when nil), with
// how far each input partition was taken in as their metadata. r.mu is held. A failure is
// told (Notice) and the offsets are sent again at the next commit.
func (r *RepartitionReader) commit(ctx context.Context, only []int32) {
	offs := map[int32]kgo.EpochOffset{}
	meta := map[int32]string{}
	var sent []*repPart
	for id, pt := range r.parts {
		if only != nil && !slices.Contains(only, id) {
			continue
		}
		below, held := pt.h.Unfinished()
		if pt.tracker.finish(below, held) {
			pt.dirty = true
		}
		if !pt.dirty || pt.tracker.next < 0 {
			continue
		}
		offs[id] = kgo.EpochOffset{Epoch: -1, Offset: pt.tracker.next}
		meta[id] = seenMetadata(pt.tracker.seen)
		sent = append(sent, pt)
		pt.dirty = false
	}
	if len(sent) == 0 {
		return
	}
	ctx = kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			for j := range req.Topics[i].Partitions {
				rp := &req.Topics[i].Partitions[j]
				if m, ok := meta[rp.Partition]; ok {
					rp.Metadata = &m
				}
			}
		}
		return nil
	})
	var err error
	r.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{r.topic: offs},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, cerr error) {
			err = cerr
			if err == nil {
				for _, rt := range resp.Topics {
					for _, rp := range rt.Partitions {
						if e := kerr.ErrorForCode(rp.ErrorCode); e != nil && err == nil {
							err = fmt.Errorf("%s/%d: %w", r.topic, rp.Partition, e)
						}
					}
				}
			}
		})
	if err != nil {
		for _, pt := range sent {
			pt.dirty = true
		}
		if r.cfg.Notice != nil && ctx.Err() == nil {
			r.cfg.Notice(fmt.Sprintf("kafka: commit of group %s: %v (sent again later)", r.group, err))
		}
	}
}

// assigned makes the merge, the tracker and the handler of each partition given.
func (r *RepartitionReader) assigned(_ context.Context, _ *kgo.Client, got map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for _, p := range got[r.topic] {
		if r.parts[p] != nil {
			continue
		}
		h, err := r.newHandler(p)
		if err != nil {
			if r.err == nil {
				r.err = err
			}
			continue
		}
		r.parts[p] = &repPart{id: p, h: h, tracker: newRepTracker(nil),
			merge: newWMerge(r.cfg.InputPartitions, nil, r.cfg.SourceWait, idleTTL, endsEvery, maxMergeQueued, now)}
	}
}

// fetched gives the partitions just assigned how far their last owner took each input
// partition in (the metadata of the committed offsets), before any record is read.
func (r *RepartitionReader) fetched(_ context.Context, _ *kgo.Client, resp *kmsg.OffsetFetchResponse) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	read := func(p int32, offset int64, meta *string) {
		pt := r.parts[p]
		if pt == nil || meta == nil || offset < 0 || pt.tracker.pending() > 0 {
			return
		}
		seen, err := parseSeenMetadata(*meta)
		if err != nil {
			return // none committed by Tripline: nothing is known to be a repeat
		}
		for src, off := range seen {
			pt.merge.mark(sourceMark{Partition: src, Offset: off}, time.Now())
		}
		pt.tracker.seen = seen
	}
	for _, rt := range resp.Topics {
		if rt.Topic != r.topic {
			continue
		}
		for _, rp := range rt.Partitions {
			read(rp.Partition, rp.Offset, rp.Metadata)
		}
	}
	for _, g := range resp.Groups {
		for _, rt := range g.Topics {
			if rt.Topic != r.topic {
				continue
			}
			for _, rp := range rt.Partitions {
				read(rp.Partition, rp.Offset, rp.Metadata)
			}
		}
	}
	return nil
}

// revoked commits what the handlers of the partitions taken away finished and drops them.
func (r *RepartitionReader) revoked(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ps := lost[r.topic]
	r.commit(ctx, ps)
	r.drop(ps)
}

// lost drops the partitions the group took away without a chance to commit.
func (r *RepartitionReader) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drop(lost[r.topic])
}

// drop closes, without finishing, the handlers of partitions ps. r.mu is held.
func (r *RepartitionReader) drop(ps []int32) {
	for _, p := range ps {
		if pt := r.parts[p]; pt != nil {
			if !pt.closed {
				if err := pt.h.Close(r.ctx, false); err != nil && r.err == nil {
					r.err = err
				}
			}
			delete(r.parts, p)
		}
	}
}

// Close commits what the handlers finished (after Run) and leaves the group.
func (r *RepartitionReader) Close() error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), closeTimeout)
	defer cancel()
	r.mu.Lock()
	r.commit(ctx, nil)
	r.parts = map[int32]*repPart{}
	r.mu.Unlock()
	// Leaving the group runs the revocation, which waits for the last poll's records to
	// be allowed.
	r.cl.AllowRebalance()
	r.cl.Close()
	return nil
}
