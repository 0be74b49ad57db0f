package stream

import (
	"cmp"
	"slices"
)

// partition tracks the records of one Kafka partition delivered under one assignment,
// to find the offset that may be committed: the one after the longest run of committed
// records from the oldest delivered one. Offsets are delivered in increasing order (not
// always consecutive: compaction and transaction markers leave gaps).
type partition struct {
	source string // "kafka:TOPIC/PARTITION"
	id     int32

	recs []delivered // delivered records, by offset; recs[head:] are not yet all committed
	head int

	// next is the offset that may be committed (the next one to read after a
	// restart), -1 before any record was committed; epoch is the leader epoch of the
	// record before it.
	next  int64
	epoch int32
	// owned is false once the partition was revoked or lost: commits are then ignored.
	owned bool
}

func newPartition(source string, id int32) *partition {
	return &partition{source: source, id: id, next: -1, owned: true}
}

// delivered is one record handed to the caller.
type delivered struct {
	off   int64
	epoch int32
	done  bool
}

// deliver records that the record at offset off, of leader epoch epoch, was handed to
// the caller.
func (p *partition) deliver(off int64, epoch int32) {
	if n := len(p.recs); n > p.head && off <= p.recs[n-1].off {
		return // a record seen again (cannot happen within one assignment)
	}
	if p.head == len(p.recs) {
		p.recs, p.head = p.recs[:0], 0
	} else if p.head >= 1024 && 2*p.head >= len(p.recs) {
		n := copy(p.recs, p.recs[p.head:])
		p.recs, p.head = p.recs[:n], 0
	}
	p.recs = append(p.recs, delivered{off: off, epoch: epoch})
}

// commit marks offset off processed. It reports whether the committable offset moved.
func (p *partition) commit(off int64) bool {
	live := p.recs[p.head:]
	i, found := slices.BinarySearchFunc(live, off, func(d delivered, off int64) int {
		return cmp.Compare(d.off, off)
	})
	if !found || live[i].done {
		return false // committed before, or behind the committable offset already
	}
	live[i].done = true
	if i != 0 {
		return false
	}
	for p.head < len(p.recs) && p.recs[p.head].done {
		p.head++
	}
	last := p.recs[p.head-1]
	p.next, p.epoch = last.off+1, last.epoch
	return true
}

// outstanding returns how many delivered records are not yet committed.
func (p *partition) outstanding() int {
	n := 0
	for _, d := range p.recs[p.head:] {
		if !d.done {
			n++
		}
	}
	return n
}
