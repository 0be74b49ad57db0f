package eval

import (
	"bytes"
	"cmp"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tripline/tripline/event"
)

// kind is the type of a runtime value, following the Java types Elasticsearch's
// scripts and queries use.
type kind uint8

const (
	kNull    kind = iota
	kBool         // b
	kInt          // i: a Java int (32 bits): integer literals and int arithmetic
	kLong         // i: a Java long: integer fields and long arithmetic
	kDouble       // f
	kString       // s
	kDate         // i, ns: an instant (see dateValue)
	kIP           // ip
	kVersion      // s: the version text; ordered by compareVersions
)

// value is one runtime value. Only the members that match k are set.
type value struct {
	k  kind
	b  bool
	ns int32 // kDate: nanoseconds into the millisecond i
	i  int64
	f  float64
	s  string
	ip netip.Addr
}

var (
	nullValue  = value{}
	trueValue  = value{k: kBool, b: true}
	falseValue = value{k: kBool}
)

func boolValue(b bool) value {
	if b {
		return trueValue
	}
	return falseValue
}

func strValue(s string) value { return value{k: kString, s: s} }
func intValue(i int64) value  { return value{k: kInt, i: i} }
func longValue(i int64) value { return value{k: kLong, i: i} }
func dblValue(f float64) value {
	return value{k: kDouble, f: f}
}

// dateValue is the date value of an instant: i its milliseconds since the epoch, ns the
// nanoseconds into that millisecond.
func dateValue(t event.Instant) value { return value{k: kDate, i: t.Ms, ns: t.Nanos} }

// instant returns the instant of a kDate value.
func (v value) instant() event.Instant { return event.Instant{Ms: v.i, Nanos: v.ns} }

func (v value) isNumber() bool { return v.k == kInt || v.k == kLong || v.k == kDouble }
func (v value) isInteger() bool {
	return v.k == kInt || v.k == kLong
}

// float returns a numeric value as a float64.
func (v value) float() float64 {
	if v.k == kDouble {
		return v.f
	}
	return float64(v.i)
}

// String renders v the way Java's String.valueOf does for the boxed value, which
// is what concat() and string() produce.
func (v value) String() string {
	switch v.k {
	case kNull:
		return "null"
	case kBool:
		return strconv.FormatBool(v.b)
	case kInt, kLong:
		return strconv.FormatInt(v.i, 10)
	case kDouble:
		return JavaDouble(v.f)
	case kString, kVersion:
		return v.s
	case kIP:
		return v.ip.String()
	case kDate:
		return formatDate(v.instant())
	}
	return ""
}

// JavaDouble formats f as Java's Double.toString, which is how Elasticsearch prints a
// double (in concat, string and join keys): "42.0", "42.5", "1.0E10", "1.0E-5".
func JavaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	a := math.Abs(f)
	if a != 0 && (a < 1e-3 || a >= 1e7) {
		// Java: computerized scientific notation with at least one fractional digit.
		s := strconv.FormatFloat(f, 'E', -1, 64)
		mant, exp, _ := strings.Cut(s, "E")
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		sign := ""
		switch exp[0] {
		case '+':
			exp = exp[1:]
		case '-':
			sign, exp = "-", exp[1:]
		}
		return mant + "E" + sign + strings.TrimLeft(exp, "0")
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// compareNumbers orders two numeric values as Java's Number comparison in QL does:
// integers exactly, otherwise as doubles.
func compareNumbers(a, b value) int {
	if a.isInteger() && b.isInteger() {
		return cmp.Compare(a.i, b.i)
	}
	x, y := a.float(), b.float()
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	case x == y:
		return 0
	}
	// NaN: Java's Double.compare puts NaN above everything.
	if math.IsNaN(x) {
		if math.IsNaN(y) {
			return 0
		}
		return 1
	}
	return -1
}

// compareValues orders a and b. ok is false when they cannot be compared (different
// types, or a null).
func compareValues(a, b value) (c int, ok bool) {
	switch {
	case a.isNumber() && b.isNumber():
		return compareNumbers(a, b), true
	case a.k != b.k:
		return 0, false
	}
	switch a.k {
	case kString:
		return strings.Compare(a.s, b.s), true
	case kBool:
		switch {
		case a.b == b.b:
			return 0, true
		case !a.b:
			return -1, true
		}
		return 1, true
	case kDate:
		return a.instant().Compare(b.instant()), true
	case kIP:
		// Lucene's InetAddressPoint orders the 16-byte form, IPv4 as IPv4-mapped IPv6
		// (so ::1 sorts before every IPv4 address; netip.Addr.Compare would not).
		x, y := a.ip.As16(), b.ip.As16()
		return bytes.Compare(x[:], y[:]), true
	case kVersion:
		return compareVersions(a.s, b.s), true
	}
	return 0, false
}

// equalValues reports whether a and b are equal; ok is false when they cannot be compared.
func equalValues(a, b value) (eq, ok bool) {
	if a.k == kVersion && b.k == kVersion {
		// Equality of versions is exact (the indexed term).
		return a.s == b.s, true
	}
	c, ok := compareValues(a, b)
	return ok && c == 0, ok
}
