package mapping

import (
	"math"
	"strconv"
	"strings"
	"time"

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

// ParseDate returns the instant v denotes under an Elasticsearch date format, as
// nanoseconds since the Unix epoch. format may hold alternatives separated by "||"
// (the first that parses wins); "" is DefaultDateFormat. Supported: epoch_millis and
// epoch_second (numbers or numeric strings, fractions allowed), the ISO 8601 formats
// (strict_)date_optional_time(_nanos) and (strict_)date_time with 0 to 9 fractional
// digits and an optional offset (Z, +HH, +HHmm, +HH:mm; UTC when absent), the other
// named formats listed in namedPatterns, and Java-style patterns (yyyy, yy, MM, M, dd, d,
// HH, H, mm, ss, S..., Z/X offsets, 'quoted' literals). Instants outside the range of
// int64 nanoseconds (years 1677 to 2262) do not parse.
func ParseDate(v event.Value, format string) (int64, bool) {
	if format == "" {
		format = DefaultDateFormat
	}
	for f := range strings.SplitSeq(format, "||") {
		if n, ok := parseDateOne(v, strings.TrimSpace(f)); ok {
			return n, true
		}
	}
	return 0, false
}

func parseDateOne(v event.Value, f string) (int64, bool) {
	switch f {
	case "epoch_millis":
		return parseEpoch(v, 1e6)
	case "epoch_second":
		return parseEpoch(v, 1e9)
	}
	var s string
	switch v.Kind {
	case event.KindString:
		s = v.Str
	case event.KindInt, event.KindFloat:
		s, _ = asString(v)
	default:
		return 0, false
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

// parseEpoch parses a number of units (1e6 ns for millis, 1e9 for seconds).
func parseEpoch(v event.Value, unit int64) (int64, bool) {
	var s string
	switch v.Kind {
	case event.KindInt:
		if v.Int > math.MaxInt64/unit || v.Int < math.MinInt64/unit {
			return 0, false
		}
		return v.Int * unit, true
	case event.KindFloat:
		if v.Str == "" {
			return floatUnits(v.Float64(), unit)
		}
		s = v.Str
	case event.KindString:
		s = v.Str
	default:
		return 0, false
	}
	// A decimal string: integer part and fraction computed exactly.
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	ip, frac, _ := strings.Cut(body, ".")
	if ip == "" || strings.ContainsAny(body, "eE+") {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, false
		}
		return floatUnits(x, unit)
	}
	n, err := strconv.ParseInt(ip, 10, 64)
	if err != nil || n > math.MaxInt64/unit {
		return 0, false
	}
	n *= unit
	digits := len(strconv.FormatInt(unit, 10)) - 1
	if len(frac) > digits {
		frac = frac[:digits]
	}
	if frac != "" {
		fn, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, false
		}
		for i := len(frac); i < digits; i++ {
			fn *= 10
		}
		n += fn
	}
	if neg {
		n = -n
	}
	return n, true
}

func floatUnits(x float64, unit int64) (int64, bool) {
	y := x * float64(unit)
	if math.IsNaN(y) || y >= 9.2e18 || y <= -9.2e18 {
		return 0, false
	}
	return int64(math.Round(y)), true
}

// parseISO parses yyyy[-MM[-dd]][Thh[:mm[:ss[.f]]]][offset]; needTime requires the time.
func parseISO(s string, needTime bool) (int64, bool) {
	p := isoParser{s: s}
	year, ok := p.digits(4, 4)
	if !ok {
		return 0, false
	}
	month, day := 1, 1
	if p.lit('-') {
		if month, ok = p.digits(2, 2); !ok {
			return 0, false
		}
		if p.lit('-') {
			if day, ok = p.digits(2, 2); !ok {
				return 0, false
			}
		}
	}
	var hour, min, sec, nano int
	if p.lit('T') {
		if hour, ok = p.digits(2, 2); !ok {
			return 0, false
		}
		if p.lit(':') {
			if min, ok = p.digits(2, 2); !ok {
				return 0, false
			}
			if p.lit(':') {
				if sec, ok = p.digits(2, 2); !ok {
					return 0, false
				}
				if p.lit('.') || p.lit(',') {
					if nano, ok = p.fraction(); !ok {
						return 0, false
					}
				}
			}
		}
	} else if needTime {
		return 0, false
	}
	off, ok := p.offset()
	if !ok || p.i != len(s) {
		return 0, false
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

// instant checks the fields and converts them to epoch nanoseconds.
func instant(year, month, day, hour, min, sec, nano, off int) (int64, bool) {
	if month < 1 || month > 12 || day < 1 || hour > 23 || min > 59 || sec > 59 {
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nano, time.UTC)
	if t.Day() != day { // 31 April, 29 February of a common year
		return 0, false
	}
	secs := t.Unix() - int64(off)
	if secs > math.MaxInt64/1_000_000_000-1 || secs < math.MinInt64/1_000_000_000+1 {
		return 0, false
	}
	return secs*1e9 + int64(nano), true
}

// parsePattern parses s with a Java DateTimeFormatter-style pattern.
func parsePattern(s, pattern string) (int64, bool) {
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
				return 0, false
			}
			p.i += len(lit)
			i = j + 1
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			if !p.lit(c) {
				return 0, false
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
				return 0, false
			}
			off, ok = p.offset()
		default:
			return 0, false
		}
		if !ok || p.i > len(s) {
			return 0, false
		}
	}
	if p.i != len(s) {
		return 0, false
	}
	if h12 {
		if hour < 1 || hour > 12 {
			return 0, false
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
