package eval

import (
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// operand is a constant compared with a field by a query-translated leaf, converted
// the way the field type's term and range queries convert it.
type operand struct {
	v value // the constant in the field's domain
	// f32: for a dynamic field, v as a float field rounds it (dynamic mapping maps
	// fractions to float, and a float field's queries round their bounds to float).
	f32 value
	// For a dynamic field, whose type each value decides: the constant's text
	// (str, for a keyword value; Lucene indexes a term from the text of a number)
	// and, for a string constant, its number (num) and boolean (bl), as a numeric
	// or boolean field's query parses a string.
	str, num, bl value
	// isDate: lo and hi are the instants (ns) the constant denotes on a date field:
	// Elasticsearch parses a bound with the field's format as date math, with the
	// time fields the text lacks rounded up for the upper bound (see dateBounds).
	isDate bool
	lo, hi event.Instant
	// isPrefix: an ip term query with "a.b.c.d/n" is a CIDR query.
	isPrefix bool
	prefix   netip.Prefix
}

// eq is the term query: does the indexed value v equal the constant?
func (o *operand) eq(v value) bool {
	switch {
	case v.k == kDate:
		t := v.instant()
		return o.isDate && !t.Before(o.lo) && !o.hi.Before(t)
	case o.isPrefix:
		return v.k == kIP && o.prefix.Contains(v.ip)
	}
	k := o.operandFor(v)
	eq, _ := equalValues(v, k)
	return eq
}

// operandFor returns the constant to compare with the value v of a dynamic field (the
// constant itself for a typed field, which operandFor converted already).
func (o *operand) operandFor(v value) value {
	switch {
	case v.k == kDouble && o.f32.k == kDouble:
		return o.f32
	case v.k == kString && o.str.k == kString:
		return o.str
	case v.isNumber() && o.v.k == kString:
		return o.num
	case v.k == kBool && o.v.k == kString:
		return o.bl
	}
	return o.v
}

// in is the range query v op constant.
func (o *operand) in(op eql.BinaryOp, v value) bool {
	if v.k == kDate {
		if !o.isDate {
			return false
		}
		t := v.instant()
		switch op {
		case eql.OpLt:
			return t.Before(o.lo)
		case eql.OpLte:
			return !o.hi.Before(t)
		case eql.OpGt:
			return o.hi.Before(t)
		}
		return !t.Before(o.lo)
	}
	k := o.operandFor(v)
	cmp, ok := compareValues(v, k)
	if !ok {
		return false
	}
	switch op {
	case eql.OpLt:
		return cmp < 0
	case eql.OpLte:
		return cmp <= 0
	case eql.OpGt:
		return cmp > 0
	}
	return cmp >= 0
}

// dynamicDateFormats is Elasticsearch's default dynamic_date_formats: the formats a
// dynamically mapped date field (a string date detection took for a date) parses with.
const dynamicDateFormats = "strict_date_optional_time||yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z"

// operandFor converts the constant k compared with field f (eq: by a term query,
// otherwise by a range query), or reports the error Elasticsearch reports.
func (c *compiler) operandFor(f *fieldRef, k value, eq bool, pos eql.Pos) (operand, error) {
	o := operand{v: k}
	mismatch := func() (operand, error) {
		return o, errorf(pos, "cannot compare [%s] field [%s] with [%s] value [%s]", f.typ, f.name, k.staticType(), k.String())
	}
	// Elasticsearch's verifier accepts a constant of any type against a field (test:
	// test_extra.toml optionalNoDocsFieldNumericEquality, keyword == 123 returns no
	// event, no error); the field type's query converts it: a keyword takes the
	// constant's text, a number or boolean field parses a string (and fails the search
	// when it cannot: here a compile error).
	switch f.typ {
	case ftDynamic:
		if k.k != kString {
			o.str = strValue(k.String())
		} else {
			o.num, _ = parseNumber(k.s)
			o.bl, _ = parseBool(k.s)
		}
		if n := o.v; n.isNumber() || o.num.isNumber() {
			if !n.isNumber() {
				n = o.num
			}
			if x := float64(float32(n.float())); !math.IsInf(x, 0) {
				o.f32 = dblValue(x)
			}
		}
		// A detected date parses a constant with the format that detected it
		// (dynamic_date_formats); Elasticsearch would fail the search on an epoch
		// number there, which a per-event evaluation cannot do: it is taken as epoch
		// milliseconds instead.
		if k.k == kString || k.isNumber() {
			format := dynamicDateFormats
			if d := f.mf.Detect; d != nil && d.Date.Format != "" {
				format = d.Date.Format
			}
			o.lo, o.hi, o.isDate = dateBounds(k, format+"||epoch_millis", true)
		}
	case ftKeyword:
		o.v = strValue(k.String())
	case ftLong, ftDouble:
		if k.k == kString {
			n, ok := parseNumber(k.s)
			if !ok {
				return o, errorf(pos, "For input string: \"%s\" (field [%s] of type [%s])", k.s, f.name, f.mf.Type)
			}
			k, o.v = n, n
		}
		if !k.isNumber() {
			return mismatch()
		}
		if f.typ == ftLong {
			break
		}
		// float and half_float queries round their bounds to the field's precision,
		// scaled_float its terms (its ranges compare scaled bounds exactly).
		t := f.mf.Type
		if t == mapping.Float || t == mapping.HalfFloat || (t == mapping.ScaledFloat && eq) {
			nv, ok := f.mf.Normalize(event.FloatValue(k.float(), ""))
			if !ok {
				return o, errorf(pos, "[%s] is out of range for field [%s] of type [%s]", k.String(), f.name, t)
			}
			o.v = dblValue(nv.Float64())
		}
	case ftBool:
		if k.k == kString {
			b, ok := parseBool(k.s)
			if !ok {
				return o, errorf(pos, "Can't parse boolean value [%s], expected [true] or [false] (field [%s])", k.s, f.name)
			}
			o.v = b
		} else if k.k != kBool {
			return mismatch()
		}
	case ftIP:
		if k.k != kString {
			return mismatch()
		}
		if eq && strings.Contains(k.s, "/") {
			p, err := netip.ParsePrefix(k.s)
			if err != nil {
				return o, errorf(pos, "'%s' is not an IP string literal.", k.s)
			}
			o.isPrefix, o.prefix = true, unmapPrefix(p)
			return o, nil
		}
		a, err := netip.ParseAddr(k.s)
		if err != nil || a.Zone() != "" {
			return o, errorf(pos, "'%s' is not an IP string literal.", k.s)
		}
		o.v = value{k: kIP, ip: a.Unmap()}
	case ftVersion:
		o.v = value{k: kVersion, s: k.String()}
	case ftDate, ftDateNanos:
		if k.k != kString && !k.isNumber() {
			return mismatch()
		}
		var ok bool
		o.lo, o.hi, ok = dateBounds(k, f.mf.Format, f.typ == ftDate)
		if !ok {
			format := f.mf.Format
			if format == "" {
				format = mapping.DefaultDateFormat
			}
			return o, errorf(pos, "failed to parse date field [%s] with format [%s]", k.String(), format)
		}
		o.isDate = true
	case ftText:
		return o, errorf(pos, "No keyword/multi-field defined exact matches for [%s]; define one or use MATCH/QUERY instead", f.name)
	default:
		return o, errorf(pos, "cannot compare field [%s] of type [%s]", f.name, f.mf.Type)
	}
	return o, nil
}

// parseNumber parses a numeric string as a number field's query does: an integer,
// else a decimal.
func parseNumber(s string) (value, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return longValue(n), true
	}
	if !isDecimal(s) {
		return nullValue, false
	}
	x, err := strconv.ParseFloat(s, 64)
	return dblValue(x), err == nil
}

// parseBool parses "true" or "false" (a boolean field's query also takes "" as false).
func parseBool(s string) (value, bool) {
	switch s {
	case "true":
		return trueValue, true
	case "false", "":
		return falseValue, true
	}
	return nullValue, false
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// dateBounds returns the first and last instant a constant
// denotes as a bound of a range query on a date field with the given format
// ("" is the default). Elasticsearch's DateFieldType.rangeQuery parses a lower bound
// as is and an upper bound with the round-up parser, which sets the time-of-day
// fields the text lacks to their maximum (23:59:59.999999999; month and day still
// default to 1: JavaDateFormatter's ROUND_UP_BASE_FIELDS); a term query on a date is
// the range [constant, constant]. So "2017-08-30T20:47:33Z" is the whole second, and
// "x < c" is x < lo, "x <= c" is x <= hi. millis truncates both to milliseconds (a
// date field's resolution). A number is parsed from its text, as Elasticsearch does.
func dateBounds(k value, format string, millis bool) (lo, hi event.Instant, ok bool) {
	var s string
	switch {
	case k.k == kString:
		s = k.s
	case k.isNumber():
		s = k.String()
	default:
		return lo, hi, false
	}
	if format == "" {
		format = mapping.DefaultDateFormat
	}
	v := event.Value{Kind: event.KindString, Str: s}
	for alt := range strings.SplitSeq(format, "||") {
		alt = strings.TrimSpace(alt)
		t, ok := mapping.ParseDate(v, alt)
		if !ok {
			continue
		}
		lo, hi = t, t.Add(roundUpFill(s, alt))
		if millis {
			lo.Nanos, hi.Nanos = 0, 0
		}
		return lo, hi, true
	}
	return lo, hi, false
}

// Time-of-day fills of the round-up parser, by the smallest field present.
const (
	fillDay    = 86_399_999_999_999 // no time: 23:59:59.999999999
	fillHour   = 3_599_999_999_999  // hour only: mm:ss.f at 59:59.999999999
	fillMinute = 59_999_999_999
	fillSecond = 999_999_999
)

// roundUpFill returns what the round-up parser adds to the instant s denotes under
// format (one alternative), for the time fields s does not give.
func roundUpFill(s, format string) int64 {
	switch format {
	case "epoch_millis":
		if strings.Contains(s, ".") {
			return 0
		}
		return 999_999 // the nanoseconds of the millisecond
	case "epoch_second":
		if strings.Contains(s, ".") {
			return 0
		}
		return fillSecond
	case "strict_date_optional_time", "date_optional_time", "strict_date_optional_time_nanos",
		"strict_date_time", "date_time", "strict_date_time_nanos", "date_time_nanos":
		return isoFill(s)
	}
	if isNamedFormat(format) {
		return namedFill(format)
	}
	return patternFill(format)
}

// isoFill reads which time fields an ISO 8601 text gives: [Thh[:mm[:ss[.f]]]].
func isoFill(s string) int64 {
	t := strings.IndexByte(s, 'T')
	if t < 0 {
		return fillDay
	}
	i := t + 3 // after hh
	if i >= len(s) || s[i] != ':' {
		return fillHour
	}
	i += 3 // after :mm
	if i >= len(s) || s[i] != ':' {
		return fillMinute
	}
	i += 3 // after :ss
	if i >= len(s) || (s[i] != '.' && s[i] != ',') {
		return fillSecond
	}
	return 0
}

// isNamedFormat reports whether f is a built-in format name rather than a pattern
// (names are lower case words joined by underscores).
func isNamedFormat(f string) bool {
	for i := 0; i < len(f); i++ {
		if c := f[i]; !(c >= 'a' && c <= 'z' || c == '_') {
			return false
		}
	}
	return strings.Contains(f, "_") || f == "date" || f == "year"
}

// namedFill is roundUpFill for the built-in formats other than the ISO ones above,
// from the finest field their name gives.
func namedFill(f string) int64 {
	switch {
	case strings.Contains(f, "fraction"), strings.Contains(f, "millis"),
		f == "basic_date_time", strings.HasSuffix(f, "date_time"):
		return 0
	case strings.Contains(f, "second"), strings.Contains(f, "no_millis"):
		return fillSecond
	case strings.Contains(f, "minute"):
		return fillMinute
	case strings.Contains(f, "hour"):
		return fillHour
	}
	return fillDay
}

// patternFill is roundUpFill for a Java-style pattern, from its letters outside
// quotes.
func patternFill(p string) int64 {
	var hour, minute, second, frac bool
	quoted := false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == 'H' || c == 'h' || c == 'k' || c == 'K':
			hour = true
		case c == 'm':
			minute = true
		case c == 's':
			second = true
		case c == 'S' || c == 'n' || c == 'N':
			frac = true
		}
	}
	var fill int64
	if !hour {
		fill += 23 * 3_600_000_000_000
	}
	if !minute {
		fill += 59 * 60_000_000_000
	}
	if !second {
		fill += 59 * 1_000_000_000
	}
	if !frac {
		fill += 999_999_999
	}
	return fill
}
