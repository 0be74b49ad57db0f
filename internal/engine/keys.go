package engine

import (
	"cmp"
	"encoding/binary"
	"math"
	"strconv"
	"strings"

	"github.com/tripline/tripline/eval"
	"github.com/tripline/tripline/event"
)

// keyKind is the type of one join-key value.
type keyKind uint8

const (
	kNull keyKind = iota
	kBool
	kInt
	kFloat
	kString
	kDate // i milliseconds since the Unix epoch and ns nanoseconds into the millisecond
)

// keyVal is one join-key (or tiebreaker) value in canonical form: numbers that are whole
// are kInt so that 1 and 1.0 are the same key, as Elasticsearch compares keys by value.
type keyVal struct {
	kind keyKind
	ns   int32 // kDate: the nanoseconds into the millisecond i (date_nanos)
	i    int64
	f    float64
	s    string
}

// appendEnc appends a self-delimiting binary encoding of v, used as a map key.
func (v keyVal) appendEnc(b []byte) []byte {
	b = append(b, byte(v.kind))
	switch v.kind {
	case kBool, kInt:
		b = binary.BigEndian.AppendUint64(b, uint64(v.i))
	case kDate:
		b = binary.BigEndian.AppendUint64(b, uint64(v.i))
		b = binary.BigEndian.AppendUint32(b, uint32(v.ns))
	case kFloat:
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(v.f))
	case kString:
		b = binary.AppendUvarint(b, uint64(len(v.s)))
		b = append(b, v.s...)
	}
	return b
}

// seqString is the value as the sequence response's join_keys show it.
func (v keyVal) seqString() string {
	if v.kind == kDate {
		return event.Instant{Ms: v.i}.Time().Format("2006-01-02T15:04:05.000Z")
	}
	return v.sampleString()
}

// sampleString is the value as the sample response's join_keys show it (dates as epoch ms).
func (v keyVal) sampleString() string {
	switch v.kind {
	case kNull:
		return "null"
	case kBool:
		if v.i != 0 {
			return "true"
		}
		return "false"
	case kInt:
		return strconv.FormatInt(v.i, 10)
	case kFloat:
		return eval.JavaDouble(v.f)
	case kDate:
		return strconv.FormatInt(v.i, 10)
	}
	return v.s
}

// compareKeyVal orders values as Elasticsearch's composite aggregation does: null first,
// then by value (numbers numerically, strings by bytes, false before true).
func compareKeyVal(a, b keyVal) int {
	if a.kind == kNull || b.kind == kNull {
		switch {
		case a.kind == b.kind:
			return 0
		case a.kind == kNull:
			return -1
		}
		return 1
	}
	an, aok := a.num()
	bn, bok := b.num()
	if aok && bok {
		if a.kind != kFloat && b.kind != kFloat {
			if c := cmp.Compare(a.i, b.i); c != 0 || a.kind != kDate || b.kind != kDate {
				return c
			}
			return cmp.Compare(a.ns, b.ns)
		}
		switch {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
		return 0
	}
	if a.kind != b.kind {
		return cmp.Compare(a.kind, b.kind)
	}
	return strings.Compare(a.s, b.s)
}

func (v keyVal) num() (float64, bool) {
	switch v.kind {
	case kBool, kInt, kDate:
		return float64(v.i), true
	case kFloat:
		return v.f, true
	}
	return 0, false
}

func compareTuples(a, b []keyVal) int {
	for i := range min(len(a), len(b)) {
		if c := compareKeyVal(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// ordinal is an event's place in Elasticsearch's order: timestamp, then the tiebreaker
// (missing last), then input order.
type ordinal struct {
	ts  int64 // in the timestamp's unit (valueReader.tsUnit)
	tb  keyVal
	seq uint64
}

// owned returns v with its string copied, so that it outlives the event it was read from.
func (v keyVal) owned() keyVal {
	if v.kind == kString {
		v.s = strings.Clone(v.s)
	}
	return v
}

// appendOwned appends to dst the values of tuple, each owned (see keyVal.owned).
func appendOwned(dst, tuple []keyVal) []keyVal {
	for _, v := range tuple {
		dst = append(dst, v.owned())
	}
	return dst
}

// owned returns o with its tiebreaker string copied, so that it outlives the event it was
// read from.
func (o ordinal) owned() ordinal {
	o.tb = o.tb.owned()
	return o
}

func (a *ordinal) compare(b *ordinal) int {
	if c := cmp.Compare(a.ts, b.ts); c != 0 {
		return c
	}
	an, bn := a.tb.kind == kNull, b.tb.kind == kNull
	switch {
	case an && !bn:
		return 1
	case !an && bn:
		return -1
	case !an && !bn:
		if c := compareKeyVal(a.tb, b.tb); c != 0 {
			return c
		}
	}
	switch {
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}

// keyIter enumerates the join-key tuples of an event: the cartesian product of the key
// fields' distinct values. Its buffers are reused from event to event, so enumerating
// allocates nothing in the steady state.
type keyIter struct {
	// own, when set, says which tuples (by encoding) to keep: the others are left out, as if
	// the event did not have them (Options.KeyFilter).
	own    func(enc []byte) bool
	vals   [][]keyVal
	idx    []int
	n      int      // tuples collected
	width  int      // keys per tuple
	tuples []keyVal // n*width values
	enc    []byte   // the encodings, back to back
	off    []int    // enc[off[i]:off[i+1]] is tuple i's encoding
}

func newKeyIter(n int, own func(enc []byte) bool) keyIter {
	return keyIter{vals: make([][]keyVal, n), idx: make([]int, n), own: own}
}

// collect enumerates the tuples of ev for keys and returns how many there are (none when
// a non-optional key is missing or null), leaving out those k.own refuses; memo, when not
// nil, may hold ev's key values. Tuple i is read with tuple(i) and encoding(i), valid until
// the next collect.
func (k *keyIter) collect(keys []valueReader, ev *event.Event, memo *Memo) int {
	k.n, k.width = 0, len(keys)
	k.tuples, k.enc, k.off = k.tuples[:0], k.enc[:0], append(k.off[:0], 0)
	for i := range keys {
		k.vals[i] = memo.keyValues(&keys[i], ev, k.vals[i][:0])
		if len(k.vals[i]) == 0 {
			return 0
		}
		k.idx[i] = 0
	}
	for {
		start, nt := len(k.enc), len(k.tuples)
		for i := range keys {
			v := k.vals[i][k.idx[i]]
			k.tuples = append(k.tuples, v)
			k.enc = v.appendEnc(k.enc)
		}
		if k.own == nil || k.own(k.enc[start:]) {
			k.off = append(k.off, len(k.enc))
			k.n++
		} else {
			k.enc, k.tuples = k.enc[:start], k.tuples[:nt]
		}
		i := len(keys) - 1
		for ; i >= 0; i-- {
			k.idx[i]++
			if k.idx[i] < len(k.vals[i]) {
				break
			}
			k.idx[i] = 0
		}
		if i < 0 {
			return k.n
		}
	}
}

func (k *keyIter) tuple(i int) []keyVal  { return k.tuples[i*k.width : (i+1)*k.width] }
func (k *keyIter) encoding(i int) []byte { return k.enc[k.off[i]:k.off[i+1]] }

// JoinKeys calls fn with the encoding of each distinct join-key tuple ev has under the
// terms of mask (bit i: term i, as Match numbers them), as a sequence or a sample would
// match ev under them, Options.KeyFilter applied: the tuples the statement can join ev
// by. Tuples that are equal compare equal by value in the engine, whatever the field they
// come from, so a tuple read from one stage's keys and the same tuple from another's are
// one. It reports nothing for an event query. The key is valid during the call only. Like
// PushMatched, it must be called in order with the Memo's event.
func (r Stepper) JoinKeys(ev *event.Event, mask uint64, fn func(key []byte)) {
	q := r.q
	if q.kind == kindEvent || mask == 0 {
		return
	}
	if r.keys.vals == nil {
		r.keys = newKeyIter(q.nKeys, q.opts.KeyFilter)
	}
	// The tuples reported so far, back to back in seen, each ending at an offset of ends.
	r.seen, r.seenEnds = r.seen[:0], r.seenEnds[:0]
	for t := range q.terms {
		if mask&(1<<t) == 0 {
			continue
		}
		n := r.keys.collect(q.terms[t].keys, ev, q.opts.Memo)
		for j := range n {
			enc := r.keys.encoding(j)
			dup, from := false, 0
			for _, end := range r.seenEnds {
				if string(r.seen[from:end]) == string(enc) {
					dup = true
					break
				}
				from = end
			}
			if dup {
				continue
			}
			r.seen = append(r.seen, enc...)
			r.seenEnds = append(r.seenEnds, len(r.seen))
			fn(enc)
		}
	}
}

// EventTime returns ev's timestamp as the query reads it (its timestamp field), in Unix
// nanoseconds; ok is false for a sample (which has no order) and for an event without a
// valid one.
func (r Stepper) EventTime(ev *event.Event) (ns int64, ok bool) {
	q := r.q
	if q.kind == kindSample {
		return 0, false
	}
	ts, ok := q.opts.Memo.timestamp(&q.ts, ev)
	if !ok {
		return 0, false
	}
	return ts * q.ts.tsUnit(), true
}
