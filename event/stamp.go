package event

// MaxStamps is the number of timestamps an event holds for its consumers (see SetStamp).
const MaxStamps = 2

// stamps are timestamps converted from an event's values by a consumer, numbered by it; bit
// i of set tells that ns[i] and ok[i] hold one since the last Decode.
type stamps struct {
	ns  [MaxStamps]int64
	ok  [MaxStamps]bool
	set uint8
}

// SetStamp records timestamp i (0 <= i < MaxStamps) of the event, as its consumer converted
// it (ok false: the event has none), until the next Decode into it. A detector converts the
// timestamp its rules read on the goroutine that decoded the event, while its values are in
// that processor's caches, for the goroutine that orders events to read with Stamp.
func (e *Event) SetStamp(i int, ns int64, ok bool) {
	e.stamps.ns[i], e.stamps.ok[i] = ns, ok
	e.stamps.set |= 1 << i
}

// Stamp returns timestamp i as SetStamp recorded it since the last Decode; set is false
// when it did not.
func (e *Event) Stamp(i int) (ns int64, ok, set bool) {
	if e.stamps.set&(1<<i) == 0 {
		return 0, false, false
	}
	return e.stamps.ns[i], e.stamps.ok[i], true
}

// Hold counts one more holder of the event (a copy that several consumers keep, such as
// the rules of a detector buffering it) and reports whether it is the first; Release counts
// one fewer and reports whether it was the last. They let the holders account for the
// copy once. Not safe for concurrent use.
func (e *Event) Hold() bool {
	e.holders++
	return e.holders == 1
}

// Release: see Hold.
func (e *Event) Release() bool {
	e.holders--
	return e.holders == 0
}
