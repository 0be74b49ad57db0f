package event

import (
	"bytes"
	"unsafe"
)

// Values returns the non-null leaf values recorded at slot s, in document order, with
// arrays (at any level) flattened. It returns nil for a missing field, an empty array or
// a slot the decoder does not know. The slice is owned by the event: do not modify it.
func (e *Event) Values(s Slot) []Value {
	if s < 0 || int(s) >= len(e.vals) {
		return nil
	}
	return e.vals[s]
}

// HasNull reports whether an explicit JSON null was seen at slot s (alone, or as an
// element of an array). A field with HasNull and no Values is null; an empty array is
// neither null nor present.
func (e *Event) HasNull(s Slot) bool {
	return s >= 0 && int(s) < len(e.marks) && e.marks[s]&markNull != 0
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
// the input buffer and to e afterwards.
func (e *Event) Clone() *Event {
	c := &Event{Index: e.Index, ID: e.ID, Seq: e.Seq, Source: e.Source, Line: e.Line}
	if e.Raw != nil {
		c.Raw = bytes.Clone(e.Raw)
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
	c.vals = make([][]Value, len(e.vals))
	c.marks = make([]uint8, len(e.marks))
	c.touched = append([]Slot(nil), e.touched...)
	vals := make([]Value, total)
	arena := make([]byte, 0, extra)
	for _, s := range e.touched {
		c.marks[s] = e.marks[s]
		n := copy(vals, e.vals[s])
		for i := range vals[:n] {
			v := &vals[i]
			if v.Str == "" {
				continue
			}
			if off := e.rawOffset(v.Str); off >= 0 {
				v.Str = unsafe.String(&c.Raw[off], len(v.Str))
			} else {
				start := len(arena)
				arena = append(arena, v.Str...) // within capacity: no reallocation
				v.Str = unsafe.String(&arena[start], len(v.Str))
			}
		}
		c.vals[s] = vals[:n:n]
		vals = vals[n:]
	}
	return c
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
