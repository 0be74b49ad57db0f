package stream

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
)

// repTracker follows the records of one repartition partition, in offset order, to find
// the offset that may be committed: the one after the longest run of finished records, a
// record being finished once the merge handed it out and the handler no longer holds it
// (or at once, for a watermark or a repeat dropped by the merge). It also keeps, for the
// commit's metadata, the highest source offset of each source partition among the
// finished records: a process that reads the partition again from the committed offset
// drops the records its sources send again below them.
type repTracker struct {
	ents []repEntry
	head int
	base int // the slot of ents[0]
	// next is the offset that may be committed, -1 before any record finished; seen is the
	// highest source offset by source partition among the records before it.
	next int64
	seen map[int32]int64
}

type repEntry struct {
	off   int64
	seq   uint64 // the handler's sequence number, once handed out
	state uint8
	marks []sourceMark // a watermark's marks; a data record's source in marks[0]
}

const (
	entQueued uint8 = iota
	entDelivered
	entDone
)

func newRepTracker(seen map[int32]int64) *repTracker {
	if seen == nil {
		seen = map[int32]int64{}
	}
	return &repTracker{next: -1, seen: seen}
}

// add records the record at offset off, with the source marks it carries, and returns its
// slot. done says it is finished at once.
func (t *repTracker) add(off int64, marks []sourceMark, done bool) int {
	if t.head == len(t.ents) {
		t.base += len(t.ents)
		clear(t.ents)
		t.ents, t.head = t.ents[:0], 0
	} else if t.head >= 1024 && 2*t.head >= len(t.ents) {
		n := copy(t.ents, t.ents[t.head:])
		clear(t.ents[n:])
		t.ents, t.base, t.head = t.ents[:n], t.base+t.head, 0
	}
	st := entQueued
	if done {
		st = entDone
	}
	t.ents = append(t.ents, repEntry{off: off, state: st, marks: marks})
	return t.base + len(t.ents) - 1
}

// deliver records that the record of slot was handed to the handler as number seq.
func (t *repTracker) deliver(slot int, seq uint64) {
	e := &t.ents[slot-t.base]
	e.seq, e.state = seq, entDelivered
}

// finish moves the committable offset past the finished records: those handed out whose
// number is below below (any, when held is false). It reports whether it moved.
func (t *repTracker) finish(below uint64, held bool) bool {
	moved := false
	for t.head < len(t.ents) {
		e := &t.ents[t.head]
		if e.state == entQueued || (e.state == entDelivered && held && e.seq >= below) {
			break
		}
		for _, m := range e.marks {
			if o, ok := t.seen[m.Partition]; !ok || m.Offset > o {
				t.seen[m.Partition] = m.Offset
			}
		}
		t.next = e.off + 1
		*e = repEntry{}
		t.head++
		moved = true
	}
	return moved
}

// pending returns how many records are not finished.
func (t *repTracker) pending() int { return len(t.ents) - t.head }

// seenMetadata encodes source offsets for a commit's metadata: "tripline1:" and the
// base64 of (partition, offset) pairs as varints, in partition order.
func seenMetadata(seen map[int32]int64) string {
	ps := make([]int32, 0, len(seen))
	for p := range seen {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	var b []byte
	for _, p := range ps {
		b = binary.AppendVarint(b, int64(p))
		b = binary.AppendVarint(b, seen[p])
	}
	return metadataPrefix + base64.RawStdEncoding.EncodeToString(b)
}

const metadataPrefix = "tripline1:"

// parseSeenMetadata decodes seenMetadata's text; anything else (another client's
// metadata, none) gives an empty map and an error.
func parseSeenMetadata(s string) (map[int32]int64, error) {
	out := map[int32]int64{}
	rest, ok := strings.CutPrefix(s, metadataPrefix)
	if !ok {
		return out, errors.New("no source offsets in the commit's metadata")
	}
	b, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil {
		return out, err
	}
	for len(b) > 0 {
		p, n := binary.Varint(b)
		if n <= 0 {
			return map[int32]int64{}, errors.New("malformed source offsets")
		}
		b = b[n:]
		o, n := binary.Varint(b)
		if n <= 0 {
			return map[int32]int64{}, errors.New("malformed source offsets")
		}
		b = b[n:]
		out[int32(p)] = o
	}
	return out, nil
}
