package event

import (
	"bytes"
	"unsafe"
)

// Values returns the non-null leaf values recorded at slot s, in document order, with
// arrays (at any level) flattened. It returns nil for a missing field, an empty array or
// a slot the decoder does not know. The slice is owned by the event: do not modify it.
func (e *Event) Values(s Slot) []Value {
	if e.entries != nil {
		if ce := e.entry(s); ce != nil {
			return e.cvals[ce.start:ce.end:ce.end]
		}
		return nil
	}
	if s < 0 || int(s) >= len(e.vals) {
		return nil
	}
	return e.vals[s]
}

// HasNull reports whether an explicit JSON null was seen at slot s (alone, or as an
// element of an array). A field with HasNull and no Values is null; an empty array is
// neither null nor present.
func (e *Event) HasNull(s Slot) bool {
	if e.entries != nil {
		ce := e.entry(s)
		return ce != nil && ce.mark&markNull != 0
	}
	return s >= 0 && int(s) < len(e.marks) && e.marks[s]&markNull != 0
}

// entry finds slot s among a clone's entries (binary search), or returns nil.
func (e *Event) entry(s Slot) *cloneEntry {
	lo, hi := 0, len(e.entries)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if e.entries[m].slot < s {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(e.entries) && e.entries[lo].slot == s {
		return &e.entries[lo]
	}
	return nil
}

// Has reports whether the field at slot s has a non-null value.
func (e *Event) Has(s Slot) bool { return len(e.Values(s)) > 0 }

// reset forgets the values of the last Decode and makes room for n slots.
func (e *Event) reset(n int) {
	for _, s := range e.touched {
		e.vals[s] = e.vals[s][:0]
		e.marks[s] = 0
	}
	e.touched = e.touched[:0]
	e.kept = nil
	e.entries, e.cvals = nil, nil
	if len(e.vals) < n {
		vals := make([][]Value, n)
		copy(vals, e.vals)
		e.vals = vals
		marks := make([]uint8, n)
		copy(marks, e.marks)
		e.marks = marks
	}
	e.arena = e.arena[:0]
}

func (e *Event) add(s Slot, v Value) {
	if e.marks[s] == 0 {
		e.touched = append(e.touched, s)
	}
	e.marks[s] |= markSeen
	e.vals[s] = append(e.vals[s], v)
}

func (e *Event) addNull(s Slot) {
	if e.marks[s] == 0 {
		e.touched = append(e.touched, s)
	}
	e.marks[s] |= markSeen | markNull
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
// the input buffer and to e afterwards. The copy holds only the slots that have something
// recorded, in four allocations (the Event, its entries, its values, and one buffer for
// the document and the unescaped strings), whatever the number of registered paths.
func (e *Event) Clone() *Event {
	c := &Event{Index: e.Index, ID: e.ID, Seq: e.Seq, Source: e.Source, Line: e.Line}
	if e.entries != nil || e.vals == nil { // a clone (or an empty event): copy its compact form
		c.Raw = bytes.Clone(e.Raw)
		c.entries = append([]cloneEntry{}, e.entries...)
		c.cvals = append([]Value(nil), e.cvals...)
		for i := range c.cvals {
			if off := e.rawOffset(c.cvals[i].Str); off >= 0 && c.cvals[i].Str != "" {
				c.cvals[i].Str = unsafe.String(&c.Raw[off], len(c.cvals[i].Str))
			} else if c.cvals[i].Str != "" {
				c.cvals[i].Str = string([]byte(c.cvals[i].Str))
			}
		}
		return c
	}
	total, extra := 0, 0
	for _, s := range e.touched {
		total += len(e.vals[s])
		for _, v := range e.vals[s] {
			if v.Str != "" && e.rawOffset(v.Str) < 0 {
				extra += len(v.Str)
			}
		}
	}
	// One buffer: the document, then the strings that do not point into it.
	buf := make([]byte, len(e.Raw), len(e.Raw)+extra)
	copy(buf, e.Raw)
	if e.Raw != nil {
		c.Raw = buf[:len(e.Raw):len(e.Raw)]
	}
	c.entries = make([]cloneEntry, len(e.touched))
	for i, s := range e.touched {
		c.entries[i].slot = s
	}
	sortEntries(c.entries)
	vals := make([]Value, total)
	n := uint32(0)
	for i := range c.entries {
		ce := &c.entries[i]
		s := ce.slot
		ce.mark = e.marks[s]
		ce.start = n
		n += uint32(copy(vals[n:], e.vals[s]))
		ce.end = n
		for j := ce.start; j < ce.end; j++ {
			v := &vals[j]
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
	}
	c.cvals = vals
	if c.entries == nil {
		c.entries = []cloneEntry{} // a clone, even with nothing recorded
	}
	return c
}

// Keep returns a copy of e that owns its memory, like Clone, but made once per Decode: every
// call until the next Decode into e returns the same copy, so that many consumers of one
// event (the rules of a detector) keep it at the cost of one clone. The copy is shared:
// treat it as read-only.
func (e *Event) Keep() *Event {
	if e.entries != nil { // already a copy that owns its memory
		return e
	}
	if e.kept == nil {
		e.kept = e.Clone()
	}
	return e.kept
}

// sortEntries sorts a clone's entries by slot (insertion sort: there are few, often
// nearly in order).
func sortEntries(es []cloneEntry) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].slot < es[j-1].slot; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
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
