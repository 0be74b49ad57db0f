package eval

import (
	"math"
	"strconv"
	"time"
)

// parseDateConst parses a constant compared with a date or date_nanos field, the way
// Elasticsearch's default date format "strict_date_optional_time||epoch_millis" does:
// first an ISO 8601 date with optional time, 0 to 9 fractional digits and an optional zone
// (UTC when absent), or a number of epoch milliseconds (possibly with a fraction).
// The result is in nanoseconds since the Unix epoch.
func parseDateConst(s string) (int64, bool) {
	if n, ok := parseISO(s); ok {
		return n, true
	}
	return parseEpochMillis(s)
}

func parseEpochMillis(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			break
		}
	}
	ms, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || (frac != "" && !isDigits(frac)) || len(frac) > 6 {
		return 0, false
	}
	ns := int64(0)
	for i := 0; i < 6; i++ {
		ns *= 10
		if i < len(frac) {
			ns += int64(frac[i] - '0')
		}
	}
	if ms > math.MaxInt64/int64(1e6) || ms < math.MinInt64/int64(1e6) {
		return 0, false
	}
	if ms < 0 {
		ns = -ns
	}
	return ms*1e6 + ns, true
}

// parseISO parses yyyy[-MM[-dd[THH[:mm[:ss[.f{1,9}]]]]]][Z|±HH[:]mm] without allocating.
func parseISO(s string) (int64, bool) {
	p := 0
	num := func(n int) (int, bool) {
		if p+n > len(s) {
			return 0, false
		}
		v := 0
		for i := 0; i < n; i++ {
			c := s[p+i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		p += n
		return v, true
	}
	lit := func(c byte) bool {
		if p < len(s) && s[p] == c {
			p++
			return true
		}
		return false
	}
	year, ok := num(4)
	if !ok {
		return 0, false
	}
	month, day, hour, minute, sec, nsec := 1, 1, 0, 0, 0, 0
	if lit('-') {
		if month, ok = num(2); !ok {
			return 0, false
		}
		if lit('-') {
			if day, ok = num(2); !ok {
				return 0, false
			}
			if lit('T') {
				if hour, ok = num(2); !ok {
					return 0, false
				}
				if lit(':') {
					if minute, ok = num(2); !ok {
						return 0, false
					}
					if lit(':') {
						if sec, ok = num(2); !ok {
							return 0, false
						}
						if lit('.') || lit(',') {
							start := p
							for p < len(s) && s[p] >= '0' && s[p] <= '9' && p-start < 9 {
								nsec = nsec*10 + int(s[p]-'0')
								p++
							}
							digits := p - start
							if digits == 0 {
								return 0, false
							}
							for ; digits < 9; digits++ {
								nsec *= 10
							}
						}
					}
				}
			}
		}
	}
	offset := 0
	switch {
	case p == len(s):
	case lit('Z'):
	case p < len(s) && (s[p] == '+' || s[p] == '-'):
		sign := 1
		if s[p] == '-' {
			sign = -1
		}
		p++
		oh, ok := num(2)
		if !ok {
			return 0, false
		}
		om := 0
		if p < len(s) {
			lit(':')
			if om, ok = num(2); !ok {
				return 0, false
			}
		}
		offset = sign * (oh*3600 + om*60)
	default:
		return 0, false
	}
	if p != len(s) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // e.g. February 30
		return 0, false
	}
	return t.Unix()*1e9 - int64(offset)*1e9 + int64(t.Nanosecond()), true
}

// formatDate renders nanoseconds since the epoch as ISO 8601 in UTC, with
// milliseconds, as Elasticsearch prints dates (more digits when they are not zero).
func formatDate(ns int64) string {
	t := time.Unix(0, ns).UTC()
	if t.Nanosecond()%1e6 == 0 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}
