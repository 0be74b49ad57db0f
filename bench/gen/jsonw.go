package main

import "github.com/tripline/tripline/internal/jsonw"

const hexDigits = "0123456789abcdef"

// appendStrs appends ss as a JSON array of strings.
func appendStrs(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.AppendString(b, s, jsonw.Minimal)
	}
	return append(b, ']')
}

// appendInt appends a decimal integer.
func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// appendBool appends true or false.
func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// appendHex appends n hex digits taken from the bits of x, most significant first, repeating
// x's 16 digits when n > 16.
func appendHex(b []byte, x uint64, n int) []byte {
	for i := 0; i < n; i++ {
		shift := uint(60 - 4*(i%16))
		b = append(b, hexDigits[(x>>shift)&15])
	}
	return b
}

// appendUUID appends a version-4 style UUID built from two random words.
func appendUUID(b []byte, hi, lo uint64) []byte {
	b = appendHex(b, hi, 8)
	b = append(b, '-')
	b = appendHex(b, hi<<32, 4)
	b = append(b, '-', '4')
	b = appendHex(b, hi<<48, 3)
	b = append(b, '-', "89ab"[lo>>62])
	b = appendHex(b, lo<<4, 3)
	b = append(b, '-')
	return appendHex(b, lo<<16, 12)
}

// appendTime appends the UTC time ns (Unix nanoseconds) as a quoted RFC 3339 string with the
// given number of fractional digits (0 to 9).
func appendTime(b []byte, ns int64, digits int) []byte {
	sec := ns / 1e9
	frac := ns % 1e9
	if frac < 0 {
		frac += 1e9
		sec--
	}
	days := sec / 86400
	rem := sec % 86400
	if rem < 0 {
		rem += 86400
		days--
	}
	y, m, d := civil(days)
	b = append(b, '"')
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = append2(b, int(rem/3600))
	b = append(b, ':')
	b = append2(b, int(rem/60%60))
	b = append(b, ':')
	b = append2(b, int(rem%60))
	if digits > 0 {
		b = append(b, '.')
		div := int64(1e8)
		for i := 0; i < digits; i++ {
			b = append(b, byte('0'+frac/div%10))
			div /= 10
		}
	}
	return append(b, 'Z', '"')
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
func civil(days int64) (year, month, day int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}
