package eval

import (
	"fmt"
	"strings"
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// dateBound is one bound of a range on a date field, as Elasticsearch's
// JavaDateMathParser reads it: a date in the field's (or the query's) format, or "now",
// either followed by date math ("now-30d/d", "2020-01-01||+1M/d"). A bound with "now"
// is computed when the filter runs (Elasticsearch's clock is the time of the query).
type dateBound struct {
	rel     bool          // relative to now: at is unused
	at      event.Instant // the fixed instant
	ops     []dateOp
	roundUp bool
	loc     *time.Location
}

// dateOp is one step of date math: add n units, or (round) round to the unit.
type dateOp struct {
	round bool
	n     int
	unit  byte // y M w d h m s (H is h)
}

// instant returns the bound's instant, now being the current time when it is relative.
func (b *dateBound) instant(now func() time.Time) event.Instant {
	if !b.rel {
		return b.at
	}
	return applyDateMath(now().UTC(), b.ops, b.roundUp, b.loc)
}

// parseDateBound parses text as a bound of a range on a date field with the given format
// ("" is the default) and time zone (nil is UTC). roundUp is set for gt and lte bounds:
// fields the text lacks and date-math rounding go to the end of their unit.
// nanos keeps the round-up fill below the millisecond (a date_nanos field).
func parseDateBound(text, format string, roundUp, nanos bool, loc *time.Location) (dateBound, error) {
	if loc == nil {
		loc = time.UTC
	}
	b := dateBound{roundUp: roundUp, loc: loc}
	if format == "" {
		format = mapping.DefaultDateFormat
	}
	if rest, ok := strings.CutPrefix(text, "now"); ok {
		ops, err := parseDateOps(rest)
		if err != nil {
			return b, err
		}
		b.rel, b.ops = true, ops
		return b, nil
	}
	anchor, math, hasMath := strings.Cut(text, "||")
	lo, hi, ok := dateBounds(strValue(anchor), format, !nanos)
	if !ok {
		return b, fmt.Errorf("failed to parse date field [%s] with format [%s]", anchor, format)
	}
	if !hasMath {
		t := lo
		if roundUp {
			t = hi
		}
		b.at = shiftZone(t, anchor, loc)
		return b, nil
	}
	ops, err := parseDateOps(math)
	if err != nil {
		return b, err
	}
	start := shiftZone(lo, anchor, loc)
	b.at = applyDateMath(start.Time(), ops, roundUp, loc)
	return b, nil
}

// shiftZone reinterprets t, parsed as UTC from text, in loc when text gives no offset of
// its own (an epoch number is absolute).
func shiftZone(t event.Instant, text string, loc *time.Location) event.Instant {
	if loc == time.UTC || isEpochText(text) || hasZone(text) {
		return t
	}
	u := t.Time()
	w := time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), u.Nanosecond(), loc)
	return event.Instant{Ms: w.UnixMilli(), Nanos: t.Nanos}
}

func isEpochText(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

// hasZone reports whether an ISO 8601 text ends with an offset or Z.
func hasZone(s string) bool {
	i := strings.IndexByte(s, 'T')
	if i < 0 {
		return false
	}
	return strings.ContainsAny(s[i:], "Z+-")
}

// parseDateOps parses date math: (+|-)[n]unit and /unit, in any number.
func parseDateOps(s string) ([]dateOp, error) {
	var ops []dateOp
	orig := s
	for s != "" {
		var op dateOp
		switch s[0] {
		case '/':
			op.round = true
			s = s[1:]
		case '+', '-':
			sign := 1
			if s[0] == '-' {
				sign = -1
			}
			s = s[1:]
			n, i := 0, 0
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				n = n*10 + int(s[i]-'0')
				i++
			}
			if i == 0 {
				n = 1
			}
			op.n, s = sign*n, s[i:]
		default:
			return nil, fmt.Errorf("operator not supported for date math [%s]", orig)
		}
		if s == "" {
			return nil, fmt.Errorf("truncated date math [%s]", orig)
		}
		switch u := s[0]; u {
		case 'y', 'M', 'w', 'd', 'h', 'm', 's':
			op.unit = u
		case 'H':
			op.unit = 'h'
		default:
			return nil, fmt.Errorf("unit [%c] not supported for date math [%s]", u, orig)
		}
		s = s[1:]
		ops = append(ops, op)
	}
	return ops, nil
}

// applyDateMath applies ops to t in loc; a rounding with roundUp goes to the last
// millisecond of the unit.
func applyDateMath(t time.Time, ops []dateOp, roundUp bool, loc *time.Location) event.Instant {
	t = t.In(loc)
	for _, op := range ops {
		if !op.round {
			switch op.unit {
			case 'y':
				t = t.AddDate(op.n, 0, 0)
			case 'M':
				t = t.AddDate(0, op.n, 0)
			case 'w':
				t = t.AddDate(0, 0, 7*op.n)
			case 'd':
				t = t.AddDate(0, 0, op.n)
			case 'h':
				t = t.Add(time.Duration(op.n) * time.Hour)
			case 'm':
				t = t.Add(time.Duration(op.n) * time.Minute)
			case 's':
				t = t.Add(time.Duration(op.n) * time.Second)
			}
			continue
		}
		y, mo, d := t.Date()
		var start, next time.Time
		switch op.unit {
		case 'y':
			start = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
			next = start.AddDate(1, 0, 0)
		case 'M':
			start = time.Date(y, mo, 1, 0, 0, 0, 0, loc)
			next = start.AddDate(0, 1, 0)
		case 'w':
			back := (int(t.Weekday()) + 6) % 7 // days since Monday
			start = time.Date(y, mo, d-back, 0, 0, 0, 0, loc)
			next = start.AddDate(0, 0, 7)
		case 'd':
			start = time.Date(y, mo, d, 0, 0, 0, 0, loc)
			next = start.AddDate(0, 0, 1)
		case 'h':
			start = time.Date(y, mo, d, t.Hour(), 0, 0, 0, loc)
			next = start.Add(time.Hour)
		case 'm':
			start = time.Date(y, mo, d, t.Hour(), t.Minute(), 0, 0, loc)
			next = start.Add(time.Minute)
		case 's':
			start = time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), 0, loc)
			next = start.Add(time.Second)
		}
		t = start
		if roundUp {
			t = next.Add(-time.Millisecond)
		}
	}
	return event.Instant{Ms: t.UnixMilli()}
}

// timeZone returns the location a time_zone parameter names ("" and Zulu are UTC):
// an offset (+01:00, -0800) or an IANA name.
func timeZone(s string) (*time.Location, error) {
	switch s {
	case "", "Z", "Zulu", "UTC", "GMT", "+00:00", "-00:00":
		return time.UTC, nil
	}
	if s[0] == '+' || s[0] == '-' {
		d := strings.ReplaceAll(s[1:], ":", "")
		var h, m int
		if _, err := fmt.Sscanf(d, "%02d%02d", &h, &m); err != nil || len(d) != 4 && len(d) != 2 {
			if _, err := fmt.Sscanf(d, "%d", &h); err != nil || len(d) > 2 {
				return nil, fmt.Errorf("unknown time-zone ID: %s", s)
			}
		}
		off := h*3600 + m*60
		if s[0] == '-' {
			off = -off
		}
		return time.FixedZone(s, off), nil
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, fmt.Errorf("unknown time-zone ID: %s", s)
	}
	return loc, nil
}
