package stream

import (
	"time"
)

// The records of one repartition partition come from every process that reads the input
// topic, each sending the events of the input partitions it owns, and are interleaved in
// the partition as those processes happen to go: a backlog read faster by one process than
// by another puts minutes of event time between neighbours. wmerge puts them back in
// event-time order. It keeps one queue per input (source) partition, in the order the
// producer of that partition sent its records, and hands out the head with the smallest
// event time once every other source partition has a head at least as late, or has said
// with a watermark that it has gone at least as far, or is idle, or has made no progress
// for the wait bound. Idle means that its producer read it to its end, and that the input
// topic's end offset of the partition, read after the head came, is still there: events
// that came into the partition since (read by its producer a moment after the others read
// theirs) may be older than the head. A record that its source partition's producer sent
// before (the same source offset, or an earlier one) is dropped: a process that takes a
// source partition over after a crash or a rebalance sends again what its previous owner
// may have sent.

// sourceMark is what a watermark says of one source partition: its producer has sent every
// record of the partition up to source offset Offset (-1: none yet) that is bound for this
// repartition partition, and has gone in the partition up to event time Time (HasTime false
// when it knows none); Idle says it has read the partition to its end, Offset being then
// the partition's last.
type sourceMark struct {
	Partition int32
	Offset    int64
	Time      int64
	HasTime   bool
	Idle      bool
}

// mergeRec is one record of a repartition partition, as the merge holds it.
type mergeRec struct {
	src  int32 // source partition
	off  int64 // source offset
	ns   int64 // event time (noTime when unknown: it goes at once)
	pos  int64 // offset in the repartition partition
	doc  []byte
	slot int       // its entry in the partition's commit tracker
	at   time.Time // when it was taken in
}

// srcQueue holds the records of one source partition not yet handed out.
type srcQueue struct {
	recs []mergeRec
	head int
	// accepted is the highest source offset taken in (records at or below it are
	// dropped), -1 before any.
	accepted int64
	// wm is the latest watermark time (hasWM: one was seen); idleUntil is when the last
	// idle mark stops counting (its producer repeats it while the partition stays idle, so
	// that the mark of a producer that died lapses), idleOff the last offset it names.
	wm        int64
	hasWM     bool
	idleUntil time.Time
	idleOff   int64
	// since is when the queue last made progress (a record or a later watermark) while it
	// had no record; gaveUp says the merge stopped waiting for it, until it progresses.
	since  time.Time
	gaveUp bool
}

func (q *srcQueue) len() int { return len(q.recs) - q.head }

// wmerge is the event-time merge of one repartition partition. It is not safe for
// concurrent use.
type wmerge struct {
	srcs map[int32]*srcQueue
	// order lists the source partitions, ascending (ties in time go to the lower one).
	order []int32
	// wait is how long an empty source partition that makes no progress is waited for;
	// idleTTL how long an idle mark counts; maxQueued bounds the records held.
	wait, idleTTL time.Duration
	maxQueued     int
	queued        int
	// ends are the input topic's end offsets by partition, read at endsAt (see setEnds);
	// endsEvery is how often the reader reads them.
	ends      map[int32]int64
	endsAt    time.Time
	endsEvery time.Duration
}

// newWMerge returns a merge expecting the source partitions 0 to sources-1 (others are
// added when they send), with the accepted source offsets of a previous owner (may be nil).
func newWMerge(sources int32, accepted map[int32]int64, wait, idleTTL, endsEvery time.Duration, maxQueued int, now time.Time) *wmerge {
	m := &wmerge{srcs: map[int32]*srcQueue{}, wait: wait, idleTTL: idleTTL, endsEvery: endsEvery, maxQueued: maxQueued}
	for p := range sources {
		m.source(p, now)
	}
	for p, off := range accepted {
		m.source(p, now).accepted = off
	}
	return m
}

// source returns the queue of source partition p, made when missing.
func (m *wmerge) source(p int32, now time.Time) *srcQueue {
	q := m.srcs[p]
	if q == nil {
		q = &srcQueue{accepted: -1, since: now}
		m.srcs[p] = q
		i := 0
		for i < len(m.order) && m.order[i] < p {
			i++
		}
		m.order = append(m.order, 0)
		copy(m.order[i+1:], m.order[i:])
		m.order[i] = p
	}
	return q
}

// push takes in a record; it reports false when the record was sent before (its source
// offset is not after the last one taken in from its source partition) and is dropped.
func (m *wmerge) push(r mergeRec, now time.Time) bool {
	q := m.source(r.src, now)
	if r.off <= q.accepted {
		return false
	}
	q.accepted = r.off
	r.at = now
	if q.head == len(q.recs) && q.head > 0 {
		clear(q.recs)
		q.recs, q.head = q.recs[:0], 0
	}
	q.recs = append(q.recs, r)
	q.idleUntil, q.gaveUp = time.Time{}, false
	m.queued++
	return true
}

// mark takes in what a watermark says of one source partition.
func (m *wmerge) mark(w sourceMark, now time.Time) {
	q := m.source(w.Partition, now)
	// Its producer sent every record of the partition up to w.Offset bound here before
	// the mark: one sent again later by another process is a repeat.
	q.accepted = max(q.accepted, w.Offset)
	if w.HasTime && (!q.hasWM || w.Time > q.wm) {
		q.wm, q.hasWM = w.Time, true
		q.since, q.gaveUp = now, false
	}
	if w.Idle {
		// A sign of life too: when its producer dies and the mark lapses, the source is
		// waited for from here.
		q.idleUntil, q.idleOff = now.Add(m.idleTTL), w.Offset
		q.since, q.gaveUp = now, false
	} else {
		q.idleUntil = time.Time{}
	}
}

// next returns the record whose turn it is, or, when a source partition must still be
// waited for, how long at most (0: until a record or a watermark comes).
func (m *wmerge) next(now time.Time) (mergeRec, bool, time.Duration) {
	var best *srcQueue
	for _, p := range m.order {
		q := m.srcs[p]
		if q.len() == 0 {
			continue
		}
		// Ties go to the lower source partition, then (within one) to the lower offset.
		if best == nil || q.recs[q.head].ns < best.recs[best.head].ns {
			best = q
		}
	}
	if best == nil {
		return mergeRec{}, false, 0
	}
	h := best.recs[best.head]
	var wait time.Duration
	if h.ns != noTime && m.queued < m.maxQueued {
		for _, p := range m.order {
			q := m.srcs[p]
			if q == best || q.len() > 0 || q.gaveUp || (q.hasWM && q.wm >= h.ns) {
				continue
			}
			if now.Before(q.idleUntil) {
				end, known := m.ends[p]
				switch {
				case !m.endsAt.After(h.at):
					// Read the end offsets again: nothing may have come into it since.
					if d := max(m.endsAt.Add(m.endsEvery).Sub(now), 10*time.Millisecond); wait == 0 || d < wait {
						wait = d
					}
					continue
				case known && end <= q.idleOff+1:
					continue // still at its end
				}
			}
			deadline := q.since.Add(m.wait)
			if !now.Before(deadline) {
				q.gaveUp = true
				continue
			}
			if d := deadline.Sub(now); wait == 0 || d < wait {
				wait = d
			}
		}
	}
	if wait > 0 {
		// The idle marks that lapse meanwhile do not shorten the wait: their producers
		// repeat them, and a lapsed one is then waited for as any other.
		return mergeRec{}, false, wait
	}
	best.recs[best.head] = mergeRec{}
	best.head++
	m.queued--
	if best.head == len(best.recs) {
		best.since = now
	} else if best.head >= 1024 && 2*best.head >= len(best.recs) {
		n := copy(best.recs, best.recs[best.head:])
		clear(best.recs[n:])
		best.recs, best.head = best.recs[:n], 0
	}
	return h, true, 0
}

// setEnds gives the input topic's end offsets by partition, read at at (after the records
// taken in before at).
func (m *wmerge) setEnds(ends map[int32]int64, at time.Time) { m.ends, m.endsAt = ends, at }

// accepted returns, by source partition, the highest source offset taken in.
func (m *wmerge) acceptedOffsets() map[int32]int64 {
	out := make(map[int32]int64, len(m.srcs))
	for p, q := range m.srcs {
		if q.accepted >= 0 {
			out[p] = q.accepted
		}
	}
	return out
}
