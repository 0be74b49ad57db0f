package mapping

import (
	"math"
	"strconv"
	"strings"

	"github.com/tripline/tripline/event"
)

// DefaultDateFormat is the format of a date field whose mapping gives none.
const DefaultDateFormat = "strict_date_optional_time||epoch_millis"

// namedPatterns are Elasticsearch's built-in formats that are plain patterns.
var namedPatterns = map[string]string{
	"basic_date": "yyyyMMdd", "basic_date_time": "yyyyMMdd'T'HHmmss.SSSZ",
	"basic_date_time_no_millis": "yyyyMMdd'T'HHmmssZ",
	"date":                      "yyyy-MM-dd", "strict_date": "yyyy-MM-dd",
	"date_hour_minute_second": "yyyy-MM-dd'T'HH:mm:ss", "strict_date_hour_minute_second": "yyyy-MM-dd'T'HH:mm:ss",
	"date_hour_minute": "yyyy-MM-dd'T'HH:mm", "strict_date_hour_minute": "yyyy-MM-dd'T'HH:mm",
	"date_hour_minute_second_millis": "yyyy-MM-dd'T'HH:mm:ss.SSS", "strict_date_hour_minute_second_millis": "yyyy-MM-dd'T'HH:mm:ss.SSS",
	"date_hour_minute_second_fraction": "yyyy-MM-dd'T'HH:mm:ss.SSS", "strict_date_hour_minute_second_fraction": "yyyy-MM-dd'T'HH:mm:ss.SSS",
	"date_time_no_millis": "yyyy-MM-dd'T'HH:mm:ssXXX", "strict_date_time_no_millis": "yyyy-MM-dd'T'HH:mm:ssXXX",
	"hour_minute_second": "HH:mm:ss", "strict_hour_minute_second": "HH:mm:ss",
	"year_month_day": "yyyy-MM-dd", "strict_year_month_day": "yyyy-MM-dd",
	"year_month": "yyyy-MM", "strict_year_month": "yyyy-MM", "year": "yyyy", "strict_year": "yyyy",
}

// ParseDate returns the instant v denotes under an Elasticsearch date format. format may
// hold alternatives separated by "||" (the first that parses wins); "" is
// DefaultDateFormat. Supported: epoch_millis and epoch_second (numbers or numeric strings,
// fractions allowed), the ISO 8601 formats (strict_)date_optional_time(_nanos) and
// (strict_)date_time with 0 to 9 fractional digits and an optional offset (Z, +HH, +HHmm,
// +HH:mm; UTC when absent), the other named formats listed in namedPatterns, and
// Java-style patterns (yyyy, yy, MM, M, dd, d, HH, H, mm, ss, S..., Z/X offsets, 'quoted'
// literals). Any instant a long of milliseconds counts parses, as in a date field
// (years 0000 to 9999 in the ISO formats); whether a date_nanos field can hold it is
// Normalize's business.
func ParseDate(v event.Value, format string) (event.Instant, bool) {
	if format == "" {
		format = DefaultDateFormat
	}
	for {
		f, rest, more := strings.Cut(format, "||")
		if t, ok := parseDateOne(v, strings.TrimSpace(f)); ok {
			return t, true
		}
		if !more {
			return event.Instant{}, false
		}
		format = rest
	}
}

func parseDateOne(v event.Value, f string) (event.Instant, bool) {
	switch f {
	case "epoch_millis":
		return parseEpoch(v, false)
	case "epoch_second":
		return parseEpoch(v, true)
	}
	var s string
	switch v.Kind {
	case event.KindString:
		s = v.Str
	case event.KindInt, event.KindFloat:
		s, _ = v.Text()
	default:
		return event.Instant{}, false
	}
	switch f {
	case "strict_date_optional_time", "date_optional_time", "strict_date_optional_time_nanos":
		return parseISO(s, false)
	case "strict_date_time", "date_time", "strict_date_time_nanos", "date_time_nanos":
		return parseISO(s, true)
	}
	if p, ok := namedPatterns[f]; ok {
		f = p
	}
	return parsePattern(s, f)
}

// parseEpoch parses a number of milliseconds, or of seconds.
func parseEpoch(v event.Value, seconds bool) (event.Instant, bool) {
	var s string
	switch v.Kind {
	case event.KindInt:
		if !seconds {
			return event.Instant{Ms: v.Int}, true
		}
		if v.Int > math.MaxInt64/1000 || v.Int < math.MinInt64/1000 {
			return event.Instant{}, false
		}
		return event.Instant{Ms: v.Int * 1000}, true
	case event.KindFloat:
		if v.Str == "" {
			return floatInstant(v.Float64(), seconds)
		}
		s = v.Str
	case event.KindString:
		s = v.Str
	default:
		return event.Instant{}, false
	}
	// A decimal string: the integer part and the fraction, exactly.
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	ip, frac, _ := strings.Cut(body, ".")
	if ip == "" || strings.ContainsAny(body, "eE+") {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return event.Instant{}, false
		}
		return floatInstant(x, seconds)
	}
	n, err := strconv.ParseUint(ip, 10, 63)
	if err != nil {
		return event.Instant{}, false
	}
	// The fraction in nanoseconds: 9 digits of a second, or 6 of a millisecond.
	digits := 6
	if seconds {
		digits = 9
	}
	var fn int64
	for i := 0; i < digits; i++ {
		fn *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return event.Instant{}, false
			}
			fn += int64(c - '0')
		}
	}
	for i := digits; i < len(frac); i++ {
		if frac[i] < '0' || frac[i] > '9' {
			return event.Instant{}, false
		}
	}
	whole := int64(n)
	if seconds {
		if whole > math.MaxInt64/1000-1 {
			return event.Instant{}, false
		}
		whole, fn = whole*1000+fn/1e6, fn%1e6
	}
	t := event.Instant{Ms: whole, Nanos: int32(fn)}
	if neg {
		t = negate(t)
	}
	return t, true
}

// negate returns the instant as far before the epoch as t is after it.
func negate(t event.Instant) event.Instant {
	if t.Nanos == 0 {
		return event.Instant{Ms: -t.Ms}
	}
	return event.Instant{Ms: -t.Ms - 1, Nanos: 1e6 - t.Nanos}
}

// floatInstant converts a number of milliseconds (or seconds) with a fraction.
func floatInstant(x float64, seconds bool) (event.Instant, bool) {
	if seconds {
		x *= 1000
	}
	if math.IsNaN(x) || x >= 9.2e18 || x <= -9.2e18 {
		return event.Instant{}, false
	}
	ms := math.Floor(x)
	ns := math.Round((x - ms) * 1e6)
	t := event.Instant{Ms: int64(ms)}
	if ns >= 1e6 {
		t.Ms++
	} else {
		t.Nanos = int32(ns)
	}
	return t, true
}

// parseISO parses yyyy[-MM[-dd]][Thh[:mm[:ss[.f]]]][offset]; needTime requires the time.
func parseISO(s string, needTime bool) (event.Instant, bool) {
	p := isoParser{s: s}
	year, ok := p.digits(4, 4)
	if !ok {
		return event.Instant{}, false
	}
	month, day := 1, 1
	if p.lit('-') {
		if month, ok = p.digits(2, 2); !ok {
			return event.Instant{}, false
		}
		if p.lit('-') {
			if day, ok = p.digits(2, 2); !ok {
				return event.Instant{}, false
			}
		}
	}
	var hour, min, sec, nano int
	if p.lit('T') {
		if hour, ok = p.digits(2, 2); !ok {
			return event.Instant{}, false
		}
		if p.lit(':') {
			if min, ok = p.digits(2, 2); !ok {
				return event.Instant{}, false
			}
			if p.lit(':') {
				if sec, ok = p.digits(2, 2); !ok {
					return event.Instant{}, false
				}
				if p.lit('.') || p.lit(',') {
					if nano, ok = p.fraction(); !ok {
						return event.Instant{}, false
					}
				}
			}
		}
	} else if needTime {
		return event.Instant{}, false
	}
	off, ok := p.offset()
	if !ok || p.i != len(s) {
		return event.Instant{}, false
	}
	return instant(year, month, day, hour, min, sec, nano, off)
}

type isoParser struct {
	s string
	i int
}

func (p *isoParser) lit(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// digits reads between lo and hi decimal digits.
func (p *isoParser) digits(lo, hi int) (int, bool) {
	n, k := 0, 0
	for k < hi && p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		n = n*10 + int(p.s[p.i]-'0')
		p.i++
		k++
	}
	return n, k >= lo
}

// fraction reads 1 to 9 digits of a second and returns them as nanoseconds.
func (p *isoParser) fraction() (int, bool) {
	start := p.i
	n, ok := p.digits(1, 9)
	for k := p.i - start; k < 9; k++ {
		n *= 10
	}
	return n, ok
}

// offset reads an optional Z, +HH, +HHmm or +HH:mm; it returns seconds east of UTC.
func (p *isoParser) offset() (int, bool) {
	if p.i >= len(p.s) {
		return 0, true
	}
	if p.lit('Z') {
		return 0, true
	}
	sign := 1
	switch {
	case p.lit('+'):
	case p.lit('-'):
		sign = -1
	default:
		return 0, true // not an offset: the caller checks the end
	}
	h, ok := p.digits(2, 2)
	if !ok || h > 18 {
		return 0, false
	}
	m := 0
	if p.lit(':') {
		if m, ok = p.digits(2, 2); !ok {
			return 0, false
		}
	} else if p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		if m, ok = p.digits(2, 2); !ok {
			return 0, false
		}
	}
	if m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// instant checks the fields and converts them to an instant (off: seconds east of UTC).
func instant(year, month, day, hour, min, sec, nano, off int) (event.Instant, bool) {
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || min > 59 || sec > 59 {
		return event.Instant{}, false
	}
	secs := daysFromCivil(int64(year), month, day)*86400 + int64(hour*3600+min*60+sec-off)
	if secs > math.MaxInt64/1000-1 || secs < math.MinInt64/1000+1 {
		return event.Instant{}, false
	}
	return event.Instant{Ms: secs*1000 + int64(nano/1e6), Nanos: int32(nano % 1e6)}, true
}

// daysIn returns the number of days of a month of the proleptic Gregorian calendar.
func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to a date of the proleptic
// Gregorian calendar (year 0 is 1 BC), the inverse of the civil calendar's count of days
// by eras of 400 years.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400 // [0, 399]
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// parsePattern parses s with a Java DateTimeFormatter-style pattern.
func parsePattern(s, pattern string) (event.Instant, bool) {
	p := isoParser{s: s}
	year, month, day, hour, min, sec, nano, off := 1970, 1, 1, 0, 0, 0, 0, 0
	pm, h12 := -1, false
	for i := 0; i < len(pattern); {
		c := pattern[i]
		if c == '\'' { // quoted literal; '' is a quote
			j := i + 1
			for j < len(pattern) && pattern[j] != '\'' {
				j++
			}
			lit := pattern[i+1 : min2(j, len(pattern))]
			if lit == "" {
				lit = "'"
			}
			if !strings.HasPrefix(s[p.i:], lit) {
				return event.Instant{}, false
			}
			p.i += len(lit)
			i = j + 1
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			if !p.lit(c) {
				return event.Instant{}, false
			}
			i++
			continue
		}
		n := 1
		for i+n < len(pattern) && pattern[i+n] == c {
			n++
		}
		i += n
		// A numeric field followed directly by another takes exactly its width.
		nextNumeric := i < len(pattern) && strings.IndexByte("yuMdHhmsS", pattern[i]) >= 0
		width := func(lo, hi int) (int, bool) {
			if n >= 2 || nextNumeric {
				return p.digits(max(n, lo), max(n, lo))
			}
			return p.digits(lo, hi)
		}
		var ok bool
		switch c {
		case 'y', 'u':
			if n == 2 {
				var yy int
				if yy, ok = p.digits(2, 2); ok {
					year = 2000 + yy
				}
			} else if nextNumeric {
				year, ok = p.digits(n, n)
			} else {
				year, ok = p.digits(n, 9)
			}
		case 'M':
			month, ok = width(1, 2)
		case 'd':
			day, ok = width(1, 2)
		case 'H':
			hour, ok = width(1, 2)
		case 'h':
			hour, ok = width(1, 2)
			h12 = true
		case 'm':
			min, ok = width(1, 2)
		case 's':
			sec, ok = width(1, 2)
		case 'S':
			nano, ok = p.fraction()
		case 'a':
			switch {
			case strings.HasPrefix(s[p.i:], "AM"), strings.HasPrefix(s[p.i:], "am"):
				pm, ok = 0, true
			case strings.HasPrefix(s[p.i:], "PM"), strings.HasPrefix(s[p.i:], "pm"):
				pm, ok = 1, true
			}
			p.i += 2
		case 'Z', 'X', 'x':
			if p.i >= len(p.s) {
				return event.Instant{}, false
			}
			off, ok = p.offset()
		default:
			return event.Instant{}, false
		}
		if !ok || p.i > len(s) {
			return event.Instant{}, false
		}
	}
	if p.i != len(s) {
		return event.Instant{}, false
	}
	if h12 {
		if hour < 1 || hour > 12 {
			return event.Instant{}, false
		}
		hour %= 12
		if pm == 1 {
			hour += 12
		}
	}
	return instant(year, month, day, hour, min, sec, nano, off)
}

func min2(a, b int) int {
	if a < b {
		return a
	}
	return b
}
