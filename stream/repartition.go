package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Repartitioning: see doc.go ("Scaling out"). The records of a repartition topic are of two
// kinds. A data record holds one event's document as its value; its key is the signature
// and the join-key tuple it was first sent under (for people reading the topic: the
// partition is chosen by the sender, KeyPartition), its timestamp the event time, and its
// header tripline-source "P:O:NS" the input partition P, offset O and event time NS (Unix
// nanoseconds; empty when the event has none). A watermark record has no key and no value,
// and a header tripline-watermark listing "P:O:NS:IDLE" entries separated by ";": its
// sender has sent to this partition, before the watermark, every record of input partition
// P up to offset O that is bound here, has gone in P up to event time NS, and has read P to
// its end when IDLE is 1.

// Header names of the repartition topic's records.
const (
	headerSource    = "tripline-source"
	headerWatermark = "tripline-watermark"
)

// Repartitioning defaults.
const (
	// DefaultSourceWait is how long the merge of a repartition partition waits for an input
	// partition that sends nothing (no record, no later watermark) before it goes on without
	// it: longer than a group takes to give a dead process's partitions to another, its
	// session timeout (45 s by default) or, when a process joins meanwhile (one restarted),
	// its rebalance timeout (60 s by default).
	DefaultSourceWait = 2 * time.Minute
	// DefaultMarkInterval is how often a process sends watermarks for the input partitions
	// it reads, and markEvery after how many events at most.
	DefaultMarkInterval = 200 * time.Millisecond
	markEvery           = 2000
	// idleTTL is how long an idle mark counts: a process repeats it every mark interval
	// while the partition stays idle, so that the mark of a process that died lapses.
	idleTTL = 3 * time.Second
	// endsEvery is how often a repartition reader reads the input topic's end offsets, to
	// know whether an input partition said to be idle still is.
	endsEvery = 200 * time.Millisecond
	// maxMergeQueued bounds the records a repartition partition's merge holds: past it,
	// it stops waiting for silent input partitions.
	maxMergeQueued = 500_000
)

// RepartitionTopic returns the name of the internal topic of consumer group group:
// "GROUP-repartition". Its consumer group has the same name.
func RepartitionTopic(group string) string { return group + "-repartition" }

// KeyPartition returns the repartition partition, among n, that owns a join-key tuple of a
// signature: FNV-1a (32 bits) of the signature, a zero byte and the tuple's encoding,
// modulo n. Every process must use the same function and the same n.
func KeyPartition(signature string, key []byte, n int32) int32 {
	h := fnv.New32a()
	h.Write([]byte(signature))
	h.Write([]byte{0})
	h.Write(key)
	return int32(h.Sum32() % uint32(n))
}

// appendSourceHeader appends "P:O:NS" (NS empty when hasTime is false).
func appendSourceHeader(b []byte, p int32, off, ns int64, hasTime bool) []byte {
	b = strconv.AppendInt(b, int64(p), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, off, 10)
	b = append(b, ':')
	if hasTime {
		b = strconv.AppendInt(b, ns, 10)
	}
	return b
}

// parseSourceHeader reads appendSourceHeader's text.
func parseSourceHeader(v []byte) (p int32, off, ns int64, hasTime bool, err error) {
	bad := func() (int32, int64, int64, bool, error) {
		return 0, 0, 0, false, fmt.Errorf("header %s %q: want P:O:NS", headerSource, v)
	}
	i := bytes.IndexByte(v, ':')
	if i < 0 {
		return bad()
	}
	j := bytes.IndexByte(v[i+1:], ':')
	if j < 0 {
		return bad()
	}
	j += i + 1
	pp, ok1 := atoi(v[:i])
	off, ok2 := atoi(v[i+1 : j])
	if !ok1 || !ok2 || pp < 0 || pp > 1<<31-1 {
		return bad()
	}
	if rest := v[j+1:]; len(rest) > 0 {
		var ok bool
		if ns, ok = atoi(rest); !ok {
			return bad()
		}
		hasTime = true
	}
	return int32(pp), off, ns, hasTime, nil
}

// atoi reads a decimal integer (an optional minus sign, then digits) without allocating.
func atoi(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if n < 0 {
		return 0, false // overflow
	}
	if neg {
		n = -n
	}
	return n, true
}

// appendMarks appends the watermark entries "P:O:NS:IDLE;...".
func appendMarks(b []byte, marks []sourceMark) []byte {
	for i, m := range marks {
		if i > 0 {
			b = append(b, ';')
		}
		b = appendSourceHeader(b, m.Partition, m.Offset, m.Time, m.HasTime)
		if m.Idle {
			b = append(b, ":1"...)
		} else {
			b = append(b, ":0"...)
		}
	}
	return b
}

// parseMarks reads appendMarks's text.
func parseMarks(v []byte) ([]sourceMark, error) {
	var out []sourceMark
	for e := range strings.SplitSeq(string(v), ";") {
		if e == "" {
			continue
		}
		i := strings.LastIndexByte(e, ':')
		idle := e[i+1:]
		if i < 0 || (idle != "0" && idle != "1") {
			return nil, fmt.Errorf("header %s entry %q: want P:O:NS:IDLE", headerWatermark, e)
		}
		p, off, ns, has, err := parseSourceHeader([]byte(e[:i]))
		if err != nil {
			return nil, fmt.Errorf("header %s entry %q: want P:O:NS:IDLE", headerWatermark, e)
		}
		out = append(out, sourceMark{Partition: p, Offset: off, Time: ns, HasTime: has, Idle: idle == "1"})
	}
	return out, nil
}

// topicInfo returns a topic's partition count and id (0 partitions: it does not exist).
func topicInfo(ctx context.Context, cl *kgo.Client, topic string) (int32, [16]byte, error) {
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, [16]byte{}, fmt.Errorf("kafka: metadata of topic %s: %w", topic, err)
	}
	for _, rt := range resp.Topics {
		if rt.Topic == nil || *rt.Topic != topic {
			continue
		}
		if err := kerr.ErrorForCode(rt.ErrorCode); errors.Is(err, kerr.UnknownTopicOrPartition) {
			return 0, [16]byte{}, nil
		} else if err != nil {
			return 0, [16]byte{}, fmt.Errorf("kafka: topic %s: %w", topic, err)
		}
		return int32(len(rt.Partitions)), rt.TopicID, nil
	}
	return 0, [16]byte{}, nil
}

// EnsureRepartitionTopic makes sure the repartition topic exists: when missing, it is
// created (CreateTopics) with partitions partitions (0: as many as the input topic has)
// and the brokers' default replication and settings. It returns the topic's partition
// count and the input topic's. An existing topic keeps its partition count (a count
// that changes moves join keys between partitions: do not change it while its group
// has records to read).
func EnsureRepartitionTopic(ctx context.Context, cfg KafkaConfig, topic string, partitions int32) (repart, input int32, err error) {
	cl, err := kgo.NewClient(kafkaClientOpts(&cfg)...)
	if err != nil {
		return 0, 0, fmt.Errorf("kafka: %w", err)
	}
	defer cl.Close()
	input, _, err = topicInfo(ctx, cl, cfg.Topic)
	if err != nil {
		return 0, 0, err
	}
	if input == 0 {
		return 0, 0, fmt.Errorf("kafka: topic %s: %w", cfg.Topic, kerr.UnknownTopicOrPartition)
	}
	if partitions <= 0 {
		partitions = input
	}
	for attempt := 0; ; attempt++ {
		n, _, err := topicInfo(ctx, cl, topic)
		if err != nil {
			return 0, 0, err
		}
		if n > 0 {
			return n, input, nil
		}
		if attempt > 0 {
			// Created, not yet in the metadata.
			select {
			case <-ctx.Done():
				return 0, 0, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if attempt > 100 {
				return 0, 0, fmt.Errorf("kafka: topic %s: created but not in the cluster's metadata", topic)
			}
			continue
		}
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, -1
		req.Topics = append(req.Topics, rt)
		req.TimeoutMillis = 30_000
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return 0, 0, fmt.Errorf("kafka: create topic %s: %w", topic, err)
		}
		for _, t := range resp.Topics {
			if err := kerr.ErrorForCode(t.ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
				msg := ""
				if t.ErrorMessage != nil {
					msg = ": " + *t.ErrorMessage
				}
				return 0, 0, fmt.Errorf("kafka: create topic %s: %w%s", topic, err, msg)
			}
		}
	}
}

// kafkaClientOpts are the options every client of cfg's cluster takes: brokers, client id
// and credentials.
func kafkaClientOpts(cfg *KafkaConfig) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}
	if cfg.ClientID != "" {
		opts = append(opts, kgo.ClientID(cfg.ClientID))
	}
	return append(opts, kafkaAuth(cfg)...)
}
