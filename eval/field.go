package eval

import (
	"math"
	"net/netip"
	"strconv"

	"github.com/tripline/tripline/event"
)

// ftype is the indexed type of a field, the way it decides comparison semantics.
type ftype uint8

const (
	ftDynamic   ftype = iota // no mapping: the type of each JSON value decides
	ftKeyword                // keyword, constant_keyword, wildcard, text via its keyword sub-field
	ftLong                   // long, integer, short, byte
	ftDouble                 // double, float, half_float, scaled_float
	ftBool                   // boolean
	ftIP                     // ip
	ftVersion                // version
	ftDate                   // date (millisecond precision)
	ftDateNanos              // date_nanos
	ftText                   // text without a keyword sub-field: not searchable by EQL
	ftOther                  // a type EQL cannot compare (object, nested, ...)
)

func (t ftype) String() string {
	return [...]string{"dynamic", "keyword", "long", "double", "boolean", "ip", "version", "date", "date_nanos", "text", "unsupported"}[t]
}

// static returns the static type of values of a field of type t.
func (t ftype) static() stype {
	switch t {
	case ftKeyword:
		return stString
	case ftLong, ftDouble:
		return stNumber
	case ftBool:
		return stBool
	case ftIP:
		return stIP
	case ftVersion:
		return stVersion
	case ftDate, ftDateNanos:
		return stDate
	}
	return stAny
}

// fieldRef is a field read by a compiled expression: where its values live in an
// event and how a source value becomes the value Elasticsearch indexed.
type fieldRef struct {
	name string // as written in the query
	slot event.Slot
	typ  ftype
	// normalize turns a source leaf value into the indexed value of this field; ok is
	// false when Elasticsearch would not index it (a malformed value, a keyword above
	// ignore_above). Set from the mapping; nil means convert by typ.
	normalize func(event.Value) (event.Value, bool)
	// parseDate parses a date string with the field's formats (nil: the default).
	parseDate    func(string) (int64, bool)
	hasNullValue bool
	nullValue    value // the indexed value of an explicit null (mapping null_value)
}

// convert turns one source value of the field into a runtime value.
func (f *fieldRef) convert(v event.Value) (value, bool) {
	if f.normalize != nil {
		var ok bool
		if v, ok = f.normalize(v); !ok {
			return nullValue, false
		}
	}
	return convertAs(f.typ, v, f.parseDate)
}

// convertAs converts a source value to the indexed value of a field of type t.
func convertAs(t ftype, v event.Value, parseDate func(string) (int64, bool)) (value, bool) {
	switch t {
	case ftDynamic:
		switch v.Kind {
		case event.KindString:
			return strValue(v.Str), true
		case event.KindInt:
			return longValue(v.Int), true
		case event.KindFloat:
			return dblValue(v.Float), true
		case event.KindBool:
			return boolValue(v.Int != 0), true
		}
	case ftKeyword, ftText:
		switch v.Kind {
		case event.KindString:
			return strValue(v.Str), true
		case event.KindInt, event.KindFloat:
			// A keyword indexes the JSON text of a number as it was written.
			if v.Str != "" {
				return strValue(v.Str), true
			}
			if v.Kind == event.KindInt {
				return strValue(strconv.FormatInt(v.Int, 10)), true
			}
			return strValue(strconv.FormatFloat(v.Float, 'f', -1, 64)), true
		case event.KindBool:
			if v.Int != 0 {
				return strValue("true"), true
			}
			return strValue("false"), true
		}
	case ftLong:
		switch v.Kind {
		case event.KindInt:
			return longValue(v.Int), true
		case event.KindFloat:
			if v.Float >= math.MinInt64 && v.Float < math.MaxInt64 {
				return longValue(int64(v.Float)), true // Elasticsearch coerces by truncation
			}
		case event.KindString:
			if n, err := strconv.ParseInt(v.Str, 10, 64); err == nil {
				return longValue(n), true
			}
			if f, err := strconv.ParseFloat(v.Str, 64); err == nil && f >= math.MinInt64 && f < math.MaxInt64 {
				return longValue(int64(f)), true
			}
		}
	case ftDouble:
		switch v.Kind {
		case event.KindInt:
			return dblValue(float64(v.Int)), true
		case event.KindFloat:
			return dblValue(v.Float), true
		case event.KindString:
			if f, err := strconv.ParseFloat(v.Str, 64); err == nil {
				return dblValue(f), true
			}
		}
	case ftBool:
		switch v.Kind {
		case event.KindBool:
			return boolValue(v.Int != 0), true
		case event.KindString:
			switch v.Str {
			case "true":
				return trueValue, true
			case "false", "":
				return falseValue, true
			}
		}
	case ftIP:
		if v.Kind == event.KindString {
			if a, err := netip.ParseAddr(v.Str); err == nil {
				return value{k: kIP, ip: a.Unmap()}, true
			}
		}
	case ftVersion:
		if v.Kind == event.KindString {
			return value{k: kVersion, s: v.Str}, true
		}
	case ftDate, ftDateNanos:
		var ns int64
		switch v.Kind {
		case event.KindInt:
			if v.Int > math.MaxInt64/int64(1e6) || v.Int < math.MinInt64/int64(1e6) {
				return nullValue, false
			}
			ns = v.Int * 1e6
		case event.KindFloat:
			ns = int64(v.Float * 1e6)
		case event.KindString:
			parse := parseDateConst
			if parseDate != nil {
				parse = parseDate
			}
			var ok bool
			if ns, ok = parse(v.Str); !ok {
				return nullValue, false
			}
		default:
			return nullValue, false
		}
		if t == ftDate {
			ns = floorDiv(ns, 1e6) * 1e6
		}
		return value{k: kDate, i: ns}, true
	}
	return nullValue, false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
