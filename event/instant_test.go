package event

import (
	"math"
	"testing"
	"time"
)

func TestInstant(t *testing.T) {
	for _, ns := range []int64{0, 1, -1, 999_999, -999_999, 1_000_000, -1_000_001, math.MaxInt64, math.MinInt64, 1504126053123456789} {
		in := InstantOfNanos(ns)
		if in.Nanos < 0 || in.Nanos >= 1e6 {
			t.Errorf("InstantOfNanos(%d) = %+v: nanos out of [0, 1e6)", ns, in)
		}
		if back, ok := in.UnixNano(); !ok || back != ns {
			t.Errorf("InstantOfNanos(%d).UnixNano() = %d, %v", ns, back, ok)
		}
		if got := in.Time(); !got.Equal(time.Unix(0, ns)) {
			t.Errorf("InstantOfNanos(%d).Time() = %v", ns, got)
		}
	}
	y9999 := Instant{Ms: 253402300799999}
	if _, ok := y9999.UnixNano(); ok {
		t.Error("9999-12-31 fits int64 nanoseconds?")
	}
	if got := y9999.Time().Format(time.RFC3339Nano); got != "9999-12-31T23:59:59.999Z" {
		t.Errorf("Time() = %s", got)
	}
	if got := (Instant{Ms: -30610224000000}).Time().Format(time.RFC3339Nano); got != "1000-01-01T00:00:00Z" {
		t.Errorf("Time() = %s", got)
	}
	cases := []struct {
		a, b Instant
		sub  int64
		cmp  int
	}{
		{Instant{Ms: 2}, Instant{Ms: 1, Nanos: 999_999}, 1, 1},
		{Instant{Ms: 1, Nanos: 5}, Instant{Ms: 1, Nanos: 5}, 0, 0},
		{Instant{Ms: -1}, Instant{Ms: 1}, -2_000_000, -1},
		{y9999, Instant{Ms: -30610224000000}, math.MaxInt64, 1},
		{Instant{Ms: math.MinInt64}, Instant{Ms: math.MaxInt64}, math.MinInt64, -1},
		{Instant{Ms: math.MaxInt64}, Instant{Ms: -1}, math.MaxInt64, 1},
	}
	for _, c := range cases {
		if got := c.a.Sub(c.b); got != c.sub {
			t.Errorf("%+v.Sub(%+v) = %d, want %d", c.a, c.b, got, c.sub)
		}
		if got := c.a.Compare(c.b); got != c.cmp {
			t.Errorf("%+v.Compare(%+v) = %d, want %d", c.a, c.b, got, c.cmp)
		}
		if got := c.a.Before(c.b); got != (c.cmp < 0) {
			t.Errorf("%+v.Before(%+v) = %v", c.a, c.b, got)
		}
	}
	adds := []struct {
		a    Instant
		d    int64
		want Instant
	}{
		{Instant{Ms: 1, Nanos: 999_999}, 1, Instant{Ms: 2}},
		{Instant{Ms: 1}, -1, Instant{Ms: 0, Nanos: 999_999}},
		{y9999, 86_399_999_999_999, Instant{Ms: 253402387199998, Nanos: 999_999}},
		{Instant{Ms: math.MaxInt64}, 5_000_000, Instant{Ms: math.MaxInt64}},
	}
	for _, c := range adds {
		if got := c.a.Add(c.d); got != c.want {
			t.Errorf("%+v.Add(%d) = %+v, want %+v", c.a, c.d, got, c.want)
		}
	}
}
