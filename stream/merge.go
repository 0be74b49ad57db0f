package stream

import (
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fastjson"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// The Kafka Source hands out the records of its partitions in event-time order: it holds
// the records polled from each partition in a queue and returns the head with the
// smallest event time (EventTime), as long as every partition it reads has a record
// queued. A partition with none is waited for, by polling, for at most PartitionWait after
// it became empty; then the others go on without it until it has records again. So a
// backlog read from several partitions comes out as one stream in time order, as a file
// sorted by time would, and the detector's reordering window (--max-lateness) only has to
// absorb the disorder within a partition and what an idle partition delivers late.

// DefaultPartitionWait is how long the Kafka Source waits for a record from an empty
// partition before it goes on without it.
const DefaultPartitionWait = 2 * time.Second

// maxQueued bounds the records the Source holds in its partition queues: past it, it
// stops waiting for empty partitions (their records may then come too late for the
// reordering window) rather than hold more.
const maxQueued = 200_000

// noTime is the event time of a record whose time cannot be read: it goes first, at once;
// unread that of a record whose time was not read yet (it is read once the record is the
// head of its queue and another partition has a head too: one partition needs no merge).
const (
	noTime = math.MinInt64
	unread = math.MaxInt64
)

// queue is the records polled from one partition and not yet returned.
type queue struct {
	recs []*kgo.Record
	ts   []int64 // event time of recs[i], Unix nanoseconds (noTime when unreadable, or unread)
	head int
	// since is when the queue became empty (or was made); gaveUp says the Source stopped
	// waiting for it, until it has records again.
	since  time.Time
	gaveUp bool
}

func (q *queue) len() int { return len(q.recs) - q.head }

func (q *queue) push(r *kgo.Record, ts int64) {
	if q.head == len(q.recs) && q.head > 0 {
		clear(q.recs)
		q.recs, q.ts, q.head = q.recs[:0], q.ts[:0], 0
	}
	q.recs = append(q.recs, r)
	q.ts = append(q.ts, ts)
	q.gaveUp = false
}

func (q *queue) pop(now time.Time) *kgo.Record {
	r := q.recs[q.head]
	q.recs[q.head] = nil
	q.head++
	if q.head == len(q.recs) {
		q.since = now
	} else if q.head >= 1024 && 2*q.head >= len(q.recs) {
		n := copy(q.recs, q.recs[q.head:])
		copy(q.ts, q.ts[q.head:])
		clear(q.recs[n:])
		q.recs, q.ts, q.head = q.recs[:n], q.ts[:n], 0
	}
	return r
}

// pick returns the partition whose head record goes next, or, when a partition it reads
// is empty and still waited for, how long to poll for it (0: block until records come).
// k.mu must be held.
func (k *Kafka) pick(now time.Time) (p int32, ok bool, wait time.Duration) {
	var best *queue
	var bestTS int64
	var until time.Time
	waiting := false
	for _, id := range k.owned {
		q := k.queues[id]
		if q == nil {
			continue
		}
		if q.len() == 0 {
			if q.gaveUp || k.cfg.PartitionWait < 0 || k.queued >= maxQueued {
				continue
			}
			deadline := q.since.Add(k.cfg.PartitionWait)
			if !now.Before(deadline) {
				q.gaveUp = true
				continue
			}
			if !waiting || deadline.Before(until) {
				until, waiting = deadline, true
			}
			continue
		}
		// Ties go to the lower partition, then (within one) to the lower offset.
		if best == nil {
			best, bestTS, p = q, unread, id
			continue
		}
		if bestTS == unread {
			bestTS = k.headTime(best)
		}
		if ts := k.headTime(q); ts < bestTS {
			best, bestTS, p = q, ts, id
		}
	}
	if waiting && best != nil && bestTS == unread {
		bestTS = k.headTime(best)
	}
	switch {
	case best != nil && (!waiting || bestTS == noTime):
		return p, true, 0
	case waiting:
		return 0, false, max(until.Sub(now), time.Millisecond)
	}
	return 0, false, 0
}

// headTime returns the event time of q's head record, reading it the first time.
func (k *Kafka) headTime(q *queue) int64 {
	ts := &q.ts[q.head]
	if *ts == unread {
		*ts = noTime
		if doc, why := checkDoc(q.recs[q.head].Value); why == "" {
			if t, ok := k.eventTime(doc); ok && t != unread {
				*ts = t
			}
		}
	}
	return *ts
}

// queueOf returns partition p's queue, made when missing. k.mu must be held.
func (k *Kafka) queueOf(p int32, now time.Time) *queue {
	q := k.queues[p]
	if q == nil {
		q = &queue{since: now}
		k.queues[p] = q
	}
	return q
}

// EventTime returns a function that reads the event time of a message the way the rules
// read an event's time by default: the document's top-level @timestamp (an ISO 8601 date
// or epoch milliseconds, as Elasticsearch's default date format), else, for a raw
// Kubernetes audit record, its stageTimestamp (which input normalisation copies to
// @timestamp), in Unix nanoseconds; ok is false when there is none that parses. The
// function is not safe for concurrent use (it reuses a parser).
func EventTime() func(doc []byte) (ns int64, ok bool) {
	var p fastjson.Parser
	return func(doc []byte) (int64, bool) {
		v, err := p.ParseBytes(doc)
		if err != nil {
			return 0, false
		}
		for _, field := range [...]string{"@timestamp", "stageTimestamp"} {
			f := v.Get(field)
			if f == nil {
				continue
			}
			var ev event.Value
			switch f.Type() {
			case fastjson.TypeString:
				ev = event.Value{Kind: event.KindString, Str: string(f.GetStringBytes())}
			case fastjson.TypeNumber:
				n, err := f.Int64()
				if err != nil {
					return 0, false
				}
				ev = event.Value{Kind: event.KindInt, Int: n}
			default:
				return 0, false
			}
			t, ok := mapping.ParseDate(ev, "")
			if !ok {
				return 0, false
			}
			return t.UnixNano()
		}
		return 0, false
	}
}
