package mapping

import (
	"math"
	"net/netip"
	"strconv"

	"github.com/tripline/tripline/event"
)

// dynamicDateFormats are the formats date detection tries (Elasticsearch's default
// dynamic_date_formats); a detected date field parses with them.
const dynamicDateFormats = "strict_date_optional_time||yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z"

// dynamicKeyword is how a string is indexed without a mapping. Elasticsearch's own dynamic
// mapping gives strings a keyword multi-field with ignore_above 256, so longer strings
// would never match; but the indices detection rules run on have ECS mappings, where
// long strings such as process.command_line are wildcard fields (or keywords with
// ignore_above 1024 and more). Without a mapping Tripline therefore compares strings whole,
// whatever their length; give --mapping to get a mapping's exact limits.
var dynamicKeyword = Field{Type: Keyword}

// DynamicType returns the type Elasticsearch's dynamic mapping (default settings) gives a
// field whose first value is v: a string is a date when it parses as
// strict_date_optional_time or "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z" (date detection),
// text with a keyword multi-field otherwise; an integer is long, a fraction float, a
// boolean boolean. A null is Unknown.
func DynamicType(v event.Value) Type {
	switch v.Kind {
	case event.KindString:
		// Each of dynamicDateFormats begins with a year of four digits or more: most strings
		// are ruled out without parsing.
		if !startsWithFourDigits(v.Str) {
			return Text
		}
		if _, ok := ParseDate(v, dynamicDateFormats); ok {
			return Date
		}
		return Text
	case event.KindInt:
		return Long
	case event.KindFloat:
		return Float
	case event.KindBool:
		return Boolean
	}
	return Unknown
}

func startsWithFourDigits(s string) bool {
	if len(s) < 4 {
		return false
	}
	for i := range 4 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Normalize returns the value Elasticsearch indexes for the source value v in a field of
// f's type, and false when it indexes nothing (a malformed value, which Elasticsearch
// would reject, a keyword over ignore_above, an object). Results:
//   - keyword, constant_keyword, wildcard, version: KindString (a number becomes its JSON
//     text, a boolean "true" or "false");
//   - text: the Exact multi-field's value, or the string itself;
//   - long, integer, short, byte: KindInt, from a number (a fraction is truncated) or a
//     numeric string, within the type's range;
//   - double: KindFloat; float and half_float rounded to their precision; scaled_float
//     rounded to the scaling factor;
//   - boolean: KindBool from true/false, "true"/"false" or "" (false);
//   - ip: KindString, the address in canonical form (IPv4-mapped IPv6 shown as IPv4);
//   - date: KindInt epoch milliseconds (any instant a long of milliseconds holds);
//   - date_nanos: KindInt epoch nanoseconds (1970-01-01 to 2262-04-11, as Elasticsearch);
//   - dynamic: as the field Concrete gives v (without a mapping, a string is a keyword
//     with no length limit, unless it is a date: see dynamicKeyword).
//
// A KindNull v is replaced by the field's null_value, if it has one.
func (f Field) Normalize(v event.Value) (event.Value, bool) {
	if v.Kind == event.KindNull {
		if f.NullValue == nil || f.NullValue.Kind == event.KindNull {
			return event.Value{}, false
		}
		v = *f.NullValue
	}
	switch f.Type {
	case Keyword, ConstantKeyword, Wildcard, Version:
		s, ok := v.Text()
		if !ok || (f.IgnoreAbove > 0 && javaLen(s) > f.IgnoreAbove) {
			return event.Value{}, false
		}
		return event.Value{Kind: event.KindString, Str: s}, true
	case Text:
		if f.Exact != nil {
			return f.Exact.Normalize(v)
		}
		s, ok := v.Text()
		return event.Value{Kind: event.KindString, Str: s}, ok
	case Long, Integer, Short, Byte:
		n, ok := asInt(v)
		if !ok {
			return event.Value{}, false
		}
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		switch f.Type {
		case Integer:
			lo, hi = math.MinInt32, math.MaxInt32
		case Short:
			lo, hi = math.MinInt16, math.MaxInt16
		case Byte:
			lo, hi = math.MinInt8, math.MaxInt8
		}
		if n < lo || n > hi {
			return event.Value{}, false
		}
		return event.Value{Kind: event.KindInt, Int: n}, true
	case Double, Float, HalfFloat, ScaledFloat:
		x, ok := asFloat(v)
		if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
			return event.Value{}, false
		}
		switch f.Type {
		case Float:
			x = float64(float32(x))
		case HalfFloat:
			x = roundHalf(x)
		case ScaledFloat:
			if f.ScalingFactor > 0 {
				x = math.Round(x*f.ScalingFactor) / f.ScalingFactor
			}
		}
		return event.FloatValue(x, ""), true
	case Boolean:
		switch {
		case v.Kind == event.KindBool:
			return event.Value{Kind: event.KindBool, Int: v.Int}, true
		case v.Kind == event.KindString && v.Str == "true":
			return event.Value{Kind: event.KindBool, Int: 1}, true
		case v.Kind == event.KindString && (v.Str == "false" || v.Str == ""):
			return event.Value{Kind: event.KindBool}, true
		}
		return event.Value{}, false
	case IP:
		if v.Kind != event.KindString {
			return event.Value{}, false
		}
		a, err := netip.ParseAddr(v.Str)
		if err != nil || a.Zone() != "" {
			return event.Value{}, false
		}
		return event.Value{Kind: event.KindString, Str: a.Unmap().String()}, true
	case Date, DateNanos:
		t, ok := ParseDate(v, f.Format)
		if !ok {
			return event.Value{}, false
		}
		if f.Type == Date {
			return event.Value{Kind: event.KindInt, Int: t.Ms}, true
		}
		// date_nanos holds 1970-01-01 to 2262-04-11 (a non-negative long of nanoseconds).
		n, ok := t.UnixNano()
		if !ok || n < 0 {
			return event.Value{}, false
		}
		return event.Value{Kind: event.KindInt, Int: n}, true
	case Dynamic:
		c := f.Concrete(v)
		if c.Type == Dynamic {
			return event.Value{}, false
		}
		return c.Normalize(v)
	case Object, Alias:
		return event.Value{}, false
	}
	return v, true // Unknown: as in the source
}

// javaLen is the length of s in UTF-16 code units, the unit of ignore_above.
func javaLen(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// asInt converts as Elasticsearch's coercion does: fractions truncated, numeric strings
// parsed.
func asInt(v event.Value) (int64, bool) {
	switch v.Kind {
	case event.KindInt:
		return v.Int, true
	case event.KindFloat:
		return truncate(v.Float64())
	case event.KindString:
		if n, err := strconv.ParseInt(v.Str, 10, 64); err == nil {
			return n, true
		}
		if x, err := strconv.ParseFloat(v.Str, 64); err == nil {
			return truncate(x)
		}
	}
	return 0, false
}

func truncate(x float64) (int64, bool) {
	if math.IsNaN(x) || x >= 9223372036854775807 || x < -9223372036854775808 {
		return 0, false
	}
	return int64(x), true
}

func asFloat(v event.Value) (float64, bool) {
	switch v.Kind {
	case event.KindInt:
		return float64(v.Int), true
	case event.KindFloat:
		return v.Float64(), true
	case event.KindString:
		x, err := strconv.ParseFloat(v.Str, 64)
		return x, err == nil
	}
	return 0, false
}

// roundHalf rounds x to the nearest IEEE 754 half-precision value (ties to even).
func roundHalf(x float64) float64 {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	ax := math.Abs(x)
	if ax >= 65520 { // rounds to infinity in half precision
		return math.Copysign(math.Inf(1), x)
	}
	_, exp := math.Frexp(ax) // ax = frac * 2^exp, frac in [0.5, 1)
	e := exp - 1             // ax = 1.m * 2^e
	if e < -14 {
		e = -14 // subnormal: fixed spacing 2^-24
	}
	ulp := math.Ldexp(1, e-10)
	return math.Copysign(math.RoundToEven(ax/ulp)*ulp, x)
}
