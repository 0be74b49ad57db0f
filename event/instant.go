package event

import (
	"math"
	"time"
)

// Instant is a point in time as Elasticsearch's date types hold one: Ms milliseconds since
// the Unix epoch (all a date field keeps, for any instant a long of milliseconds can
// count: some 292 million years either side of 1970) and Nanos nanoseconds into that
// millisecond (the rest of a date_nanos value, 0 to 999,999). Instants order as (Ms,
// Nanos); the zero Instant is the epoch.
type Instant struct {
	Ms    int64
	Nanos int32
}

// InstantOfNanos returns the instant ns nanoseconds after the epoch.
func InstantOfNanos(ns int64) Instant {
	ms := ns / 1e6
	sub := ns % 1e6
	if sub < 0 {
		ms, sub = ms-1, sub+1e6
	}
	return Instant{Ms: ms, Nanos: int32(sub)}
}

// UnixNano returns the instant in nanoseconds since the epoch; ok is false outside the
// range of an int64 of nanoseconds (1677-09-21 to 2262-04-11).
func (a Instant) UnixNano() (ns int64, ok bool) {
	if a.Ms >= 0 {
		if a.Ms > math.MaxInt64/1_000_000 {
			return 0, false
		}
		ns = a.Ms * 1e6
		if ns > math.MaxInt64-int64(a.Nanos) {
			return 0, false
		}
		return ns + int64(a.Nanos), true
	}
	// Before the epoch: (Ms+1) ms less the rest of the millisecond, which cannot overflow
	// on the way.
	if a.Ms+1 < math.MinInt64/1_000_000 {
		return 0, false
	}
	ns = (a.Ms + 1) * 1e6
	rest := 1e6 - int64(a.Nanos)
	if ns < math.MinInt64+rest {
		return 0, false
	}
	return ns - rest, true
}

// Compare returns -1, 0 or +1 as a is before, at or after b.
func (a Instant) Compare(b Instant) int {
	switch {
	case a.Ms < b.Ms:
		return -1
	case a.Ms > b.Ms:
		return 1
	case a.Nanos < b.Nanos:
		return -1
	case a.Nanos > b.Nanos:
		return 1
	}
	return 0
}

// Before reports whether a is before b.
func (a Instant) Before(b Instant) bool {
	return a.Ms < b.Ms || a.Ms == b.Ms && a.Nanos < b.Nanos
}

// Sub returns a-b in nanoseconds, saturated to the range of an int64.
func (a Instant) Sub(b Instant) int64 {
	dms := a.Ms - b.Ms
	if (a.Ms >= 0) != (b.Ms >= 0) && (dms >= 0) != (a.Ms >= 0) { // the difference overflowed
		if a.Ms >= 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	if dms > math.MaxInt64/1_000_000-1 {
		return math.MaxInt64
	}
	if dms < math.MinInt64/1_000_000+1 {
		return math.MinInt64
	}
	return dms*1e6 + int64(a.Nanos) - int64(b.Nanos)
}

// Add returns a moved by d nanoseconds (negative: earlier), saturated at the ends of the
// range of Ms.
func (a Instant) Add(d int64) Instant {
	b := InstantOfNanos(d) // d as milliseconds and a remainder in [0, 1e6)
	ms, ns := a.Ms, int64(a.Nanos)+int64(b.Nanos)
	if ns >= 1e6 {
		ms, ns = AddSaturated(ms, 1), ns-1e6
	}
	return Instant{Ms: AddSaturated(ms, b.Ms), Nanos: int32(ns)}
}

// AddSaturated returns a+b, held at the bounds of an int64 instead of wrapping around.
func AddSaturated(a, b int64) int64 {
	s := a + b
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		if a >= 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}

// Time returns the instant as a time.Time in UTC.
func (a Instant) Time() time.Time {
	sec := a.Ms / 1000
	ms := a.Ms % 1000
	if ms < 0 {
		sec, ms = sec-1, ms+1000
	}
	return time.Unix(sec, ms*1e6+int64(a.Nanos)).UTC()
}
