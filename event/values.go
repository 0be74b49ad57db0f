package event

import (
	"fmt"
	"hash/crc32"
	"math/bits"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Values returns the non-null leaf values recorded at slot s, in document order, with
// arrays (at any level) flattened. It returns nil for a missing field, an empty array, a
// null or a slot the decoder does not know. The slice is owned by the event: do not
// modify it.
func (e *Event) Values(s Slot) []Value {
	if e.lazy != nil {
		e.load()
	}
	w := uint(s) >> 6
	if w >= uint(len(e.bits)) {
		return nil
	}
	b := &e.bits[w]
	bit := uint64(1) << (uint(s) & 63)
	if b.vals&bit == 0 {
		return nil
	}
	sp := e.spans[int(b.rank)+bits.OnesCount64(b.vals&(bit-1))]
	return e.vals[sp.start:sp.end:sp.end]
}

// HasNull reports whether an explicit JSON null was seen at slot s (alone, or as an
// element of an array). A field with HasNull and no Values is null; an empty array is
// neither null nor present.
func (e *Event) HasNull(s Slot) bool {
	if e.lazy != nil {
		e.load()
	}
	w := uint(s) >> 6
	return w < uint(len(e.bits)) && e.bits[w].nulls&(1<<(uint(s)&63)) != 0
}

// span returns the span of slot s, which has values.
func (e *Event) span(s Slot) *span {
	b := &e.bits[s>>6]
	return &e.spans[int(b.rank)+bits.OnesCount64(b.vals&(1<<(s&63)-1))]
}

// Has reports whether the field at slot s has a non-null value.
func (e *Event) Has(s Slot) bool {
	if e.lazy != nil {
		e.load()
	}
	w := uint(s) >> 6
	return w < uint(len(e.bits)) && e.bits[w].vals&(1<<(uint(s)&63)) != 0
}

// reset forgets the values of the last Decode and sizes bits for nw words (the Decoder
// rewrites them all).
func (e *Event) reset(nw int) {
	e.spans = e.spans[:0]
	e.vals = e.vals[:0]
	e.arena = e.arena[:0]
	e.kept, e.keptRaw = nil, nil
	e.clone = false
	e.origin = nil
	e.stamps.set = 0
	if cap(e.bits) < nw {
		e.bits = make([]bitWord, nw)
	}
	e.bits = e.bits[:nw]
}

// unescape decodes a checked JSON string body into the event's arena.
func (e *Event) unescape(raw []byte) string {
	start := len(e.arena)
	e.arena = appendUnescaped(e.arena, raw)
	if len(e.arena) == start {
		return ""
	}
	return unsafe.String(&e.arena[start], len(e.arena)-start)
}

// Clone returns a copy of e that owns all its memory: it stays valid whatever happens to
// the input buffer and to e afterwards. The copy is as compact as e: its values and spans
// are copied as they are, and its bits up to the last slot with something recorded (24
// bytes per 64 slots), in at most five allocations (the Event, its values, spans and
// bits, and one buffer for the document and the strings that do not point into it).
func (e *Event) Clone() *Event {
	if e.lazy != nil {
		e.load()
	}
	c := &Event{Index: e.Index, ID: e.ID, Seq: e.Seq, Source: e.Source, Line: e.Line, clone: true}
	extra := 0
	for i := range e.vals {
		if s := e.vals[i].Str; s != "" && e.rawOffset(s) < 0 {
			extra += len(s)
		}
	}
	// One buffer: the document, then the strings that do not point into it.
	buf := make([]byte, len(e.Raw), len(e.Raw)+extra)
	copy(buf, e.Raw)
	if e.Raw != nil {
		c.Raw = buf[:len(e.Raw):len(e.Raw)]
	}
	nw := len(e.bits)
	for nw > 0 && e.bits[nw-1].vals|e.bits[nw-1].nulls == 0 {
		nw--
	}
	if nw > 0 {
		c.bits = append([]bitWord(nil), e.bits[:nw]...)
	}
	if len(e.spans) > 0 {
		c.spans = append([]span(nil), e.spans...)
		c.vals = append([]Value(nil), e.vals...)
	}
	for i := range c.vals {
		v := &c.vals[i]
		if v.Str == "" {
			continue
		}
		if off := e.rawOffset(v.Str); off >= 0 {
			v.Str = unsafe.String(&buf[off], len(v.Str))
		} else {
			start := len(buf)
			buf = append(buf, v.Str...) // within capacity: no reallocation
			v.Str = unsafe.String(&buf[start], len(v.Str))
		}
	}
	return c
}

// Keep returns a copy of e that owns its memory, like Clone, but made once per Decode: every
// call until the next Decode into e returns the same copy, so that many consumers of one
// event (the rules of a detector) keep it at the cost of one clone. The copy is shared:
// treat it as read-only.
func (e *Event) Keep() *Event {
	if e.clone { // already a copy that owns its memory
		return e
	}
	if e.kept == nil {
		e.kept = e.Clone()
	}
	return e.kept
}

// KeepRaw is Keep for a consumer that will seldom read the copy's values: it copies only
// the document (one allocation), and the copy decodes it again, with the decoder's paths,
// the first time its values are read (safe for concurrent readers). When the event has an
// origin (SetOrigin), it does not even copy the document: the copy reads it again from
// there when it is first needed (Doc, or its values), and checks that it is the same (its
// length and CRC-32C). It returns Keep's copy when there is one, and, like Keep, the same
// copy until the next Decode into e. A rule that keeps the events of partial sequences only
// to write them in alerts, if ever, keeps them this way: copying their values cost more
// than all the rest of keeping them, and copying their documents a good part of what was
// left.
func (e *Event) KeepRaw() *Event {
	switch {
	case e.clone:
		return e
	case e.kept != nil:
		return e.kept
	case e.dec == nil: // not filled by a Decoder: nothing to decode with
		return e.Keep()
	}
	if e.keptRaw == nil {
		// The copy and its lazyValues in one allocation.
		rc := &rawCopy{ev: Event{Index: e.Index, ID: e.ID, Seq: e.Seq, Source: e.Source, Line: e.Line, clone: true},
			lazy: lazyValues{t: e.dec}}
		c := &rc.ev
		c.lazy = &rc.lazy
		if e.origin != nil {
			c.lazy.origin, c.lazy.at, c.lazy.n = e.origin, e.at, len(e.Raw)
			c.lazy.sum = crc32.Checksum(e.Raw, castagnoli)
		} else {
			// make and copy of the same length: the compiler allocates without zeroing first.
			src := e.Raw
			raw := make([]byte, len(src))
			copy(raw, src)
			c.Raw = raw
		}
		e.keptRaw = c
	}
	return e.keptRaw
}

// rawCopy is a copy KeepRaw makes, with its lazyValues.
type rawCopy struct {
	ev   Event
	lazy lazyValues
}

// castagnoli is the CRC-32C table (computed in hardware where the processor can).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SetOrigin records that the event's document can be read again through o, at offset in
// the input e.Source (until the next Decode): KeepRaw then keeps a reference to it instead
// of a copy.
func (e *Event) SetOrigin(o Origin, offset int64) { e.origin, e.at = o, offset }

// Doc returns the event's document: Raw, or, for a copy KeepRaw made by reference, the
// document read again from its origin (once; an error when it can no longer be read, or
// is no longer the same). For a copy KeepRaw made whose values were read, it is also an
// error when the document no longer decodes (the copy then has no values). Use it rather
// than Raw for events a consumer kept.
func (e *Event) Doc() ([]byte, error) {
	if e.lazy == nil {
		return e.Raw, nil
	}
	if e.lazy.origin != nil {
		e.fetch()
	}
	if err := e.lazy.err.Load(); err != nil {
		return e.Raw, *err
	}
	return e.Raw, nil
}

// lazyValues is how a copy made by KeepRaw finds its values: once, by decoding its
// document with the trie of the Decoder that filled the original; and, when origin is
// set, its document: n bytes at at in the input, with CRC-32C sum.
type lazyValues struct {
	once   sync.Once
	t      *trie
	read   sync.Once
	origin Origin
	at     int64
	n      int
	sum    uint32
	// err says why the copy has no document or no values: its document could not be read
	// again or changed (set under read), or no longer decodes (set under once).
	err atomic.Pointer[error]
}

// fetch reads the document of a copy made by reference (once).
func (e *Event) fetch() {
	l := e.lazy
	l.read.Do(func() {
		if l.origin == nil {
			return
		}
		doc, err := l.origin.ReadDoc(e.Source, l.at, l.n)
		switch {
		case err != nil:
			err = fmt.Errorf("%s:%d: reading the document again: %w", e.Source, e.Line, err)
			l.err.Store(&err)
		case len(doc) != l.n || crc32.Checksum(doc, castagnoli) != l.sum:
			err = fmt.Errorf("%s:%d: the document changed since it was read", e.Source, e.Line)
			l.err.Store(&err)
		default:
			e.Raw = doc
		}
	})
}

// load decodes the document of a copy made by KeepRaw (once: later calls wait for the
// first and return). The values' strings point into e.Raw, or into e's own arena. A copy
// whose document can no longer be read, or no longer decodes, has no values: Doc tells why.
func (e *Event) load() {
	e.lazy.once.Do(func() {
		e.fetch()
		if e.lazy.err.Load() != nil {
			return
		}
		t := e.lazy.t
		d, _ := t.lazy.Get().(*Decoder)
		if d == nil {
			d = newDecoderTrie(*t)
		}
		defer t.lazy.Put(d)
		var tmp Event
		if err := d.Decode(e.Raw, &tmp); err != nil {
			// It decoded when it was kept: a bug, which costs this event its values only.
			err = fmt.Errorf("%s:%d: the kept document no longer decodes: %w", e.Source, e.Line, err)
			e.lazy.err.Store(&err)
			return
		}
		e.vals, e.spans, e.bits, e.arena = tmp.vals, tmp.spans, tmp.bits, tmp.arena
	})
}

// rawOffset returns the offset in e.Raw of the bytes of s, or -1 if s does not point
// into e.Raw.
func (e *Event) rawOffset(s string) int {
	if len(e.Raw) == 0 {
		return -1
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(e.Raw)))
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	if p >= base && p+uintptr(len(s)) <= base+uintptr(len(e.Raw)) {
		return int(p - base)
	}
	return -1
}

// Text returns the value as a keyword or text field indexes it: a string as it is, a
// number as its JSON text (or Go's shortest form when it has none), a boolean as
// true/false; ok is false for other kinds (null, objects, arrays).
func (v Value) Text() (string, bool) {
	switch v.Kind {
	case KindString:
		return v.Str, true
	case KindInt:
		if v.Str != "" {
			return v.Str, true
		}
		return strconv.FormatInt(v.Int, 10), true
	case KindFloat:
		if v.Str != "" {
			return v.Str, true
		}
		return strconv.FormatFloat(v.Float64(), 'g', -1, 64), true
	case KindBool:
		if v.Int != 0 {
			return "true", true
		}
		return "false", true
	}
	return "", false
}
