package event

import (
	"encoding/binary"
	"math/bits"
)

// The fast path for the values no registered path reaches, which are most of a
// document's bytes: skipFast checks their syntax in a tight loop that keeps no error
// details. Whenever it finds anything it does not accept (a syntax error, or nesting
// deeper than it tracks) it gives up, and skipExact checks the same value again from its
// start, finding the error with its exact offset and message, or accepting what the fast
// path only declined. Both accept exactly the JSON grammar, so the result and the error of
// a Decode do not depend on which of them decided; malformed documents pay for two passes
// over the value, well-formed ones for one.

// fastLevels is the deepest nesting, inside the skipped value, that skipFast tracks (one
// bit per open container); deeper values go to skipExact.
const fastLevels = 64

// skip checks the syntax of the value at p and returns the position after it, or -1 with
// the error recorded. depth is the nesting depth of the value's container.
func (d *Decoder) skip(p, depth int) int {
	if end := skipFast(d.buf, p, depth); end >= 0 {
		return end
	}
	return d.skipExact(p, depth)
}

// skipFast returns the position after the well-formed JSON value at p, or -1 if it finds
// a syntax error, nesting deeper than fastLevels levels or maxDepth (depth being the
// depth of the value's container), or the end of buf. It records nothing.
func skipFast(buf []byte, p, depth int) int {
	// open has one bit per open container, the innermost lowest: 1 for an object, 0 for
	// an array; level counts them.
	var open uint64
	level := 0
	if depth+fastLevels >= maxDepth {
		return -1 // near the limit: let skipExact count exactly
	}
	for {
		// A value starts at p.
		if p >= len(buf) {
			return -1
		}
		switch c := buf[p]; c {
		case '"':
			if p = skipString(buf, p); p < 0 {
				return -1
			}
		case '{', '[':
			p = skipSpace(buf, p+1)
			if p >= len(buf) {
				return -1
			}
			if c == '{' {
				if buf[p] == '}' {
					p++
					break
				}
			} else if buf[p] == ']' {
				p++
				break
			}
			if level == fastLevels {
				return -1
			}
			level++
			open <<= 1
			if c == '{' {
				open |= 1
				if p = skipKey(buf, p); p < 0 {
					return -1
				}
			}
			continue
		case 't':
			if len(buf)-p < 4 || binary.LittleEndian.Uint32(buf[p:]) != litTrue {
				return -1
			}
			p += 4
		case 'f':
			if len(buf)-p < 5 || binary.LittleEndian.Uint32(buf[p+1:]) != litAlse {
				return -1
			}
			p += 5
		case 'n':
			if len(buf)-p < 4 || binary.LittleEndian.Uint32(buf[p:]) != litNull {
				return -1
			}
			p += 4
		default:
			if p = skipNumber(buf, p); p < 0 {
				return -1
			}
		}
		// After a value: close containers until one expects another value.
		for {
			if level == 0 {
				return p
			}
			if p < len(buf) && buf[p] <= ' ' {
				p = skipSpace(buf, p)
			}
			if p >= len(buf) {
				return -1
			}
			c := buf[p]
			if c == ',' {
				p = skipSpace(buf, p+1)
				if open&1 != 0 {
					if p = skipKey(buf, p); p < 0 {
						return -1
					}
				}
				break
			}
			if c != "]}"[open&1] {
				return -1
			}
			p++
			level--
			open >>= 1
		}
	}
}

// The literals true, null and the last four bytes of false, as little-endian words.
const (
	litTrue = uint32('t') | uint32('r')<<8 | uint32('u')<<16 | uint32('e')<<24
	litNull = uint32('n') | uint32('u')<<8 | uint32('l')<<16 | uint32('l')<<24
	litAlse = uint32('a') | uint32('l')<<8 | uint32('s')<<16 | uint32('e')<<24
)

// skipSpace returns the position of the first byte at or after p that is not JSON white
// space. It is skipWS with the usual case, no space at all, first.
func skipSpace(buf []byte, p int) int {
	if p < len(buf) && buf[p] > ' ' {
		return p
	}
	return skipWS(buf, p)
}

// skipKey checks the object key and colon at p and returns the position of the value, or
// -1.
func skipKey(buf []byte, p int) int {
	if p >= len(buf) || buf[p] != '"' {
		return -1
	}
	if p = skipString(buf, p); p < 0 {
		return -1
	}
	if p < len(buf) && buf[p] == ':' { // the usual case: no space around the colon
		return skipSpace(buf, p+1)
	}
	p = skipWS(buf, p)
	if p >= len(buf) || buf[p] != ':' {
		return -1
	}
	return skipSpace(buf, p+1)
}

// skipString returns the position after the well-formed string whose opening quote is
// at p, or -1. It reads 8 bytes at a time up to the next quote, backslash or control
// character; escapes are checked as they are met.
func skipString(buf []byte, p int) int {
	p++
	for {
		if p+16 <= len(buf) {
			// Two words at once: most strings end within 16 bytes, and the two masks
			// are computed side by side. tz is 64 for a word without a special byte.
			b := buf[p : p+16 : p+16]
			t1 := bits.TrailingZeros64(specialMask(binary.LittleEndian.Uint64(b)))
			t2 := bits.TrailingZeros64(specialMask(binary.LittleEndian.Uint64(b[8:])))
			if t1 == 64 {
				t1 = 64 + t2
			}
			if t1 == 128 {
				p += 16
				continue
			}
			p += t1 >> 3
		} else if p+8 <= len(buf) {
			m := specialMask(binary.LittleEndian.Uint64(buf[p:]))
			if m == 0 {
				p += 8
				continue
			}
			p += bits.TrailingZeros64(m) >> 3
		} else {
			for p < len(buf) && buf[p] != '"' && buf[p] != '\\' && buf[p] >= 0x20 {
				p++
			}
			if p >= len(buf) {
				return -1
			}
		}
		switch buf[p] {
		case '"':
			return p + 1
		case '\\':
			if p+1 >= len(buf) {
				return -1
			}
			switch buf[p+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p += 2
			case 'u':
				if p+6 > len(buf) || hexVal(buf[p+2]) < 0 || hexVal(buf[p+3]) < 0 ||
					hexVal(buf[p+4]) < 0 || hexVal(buf[p+5]) < 0 {
					return -1
				}
				p += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
}

// skipNumber returns the position after the well-formed number at p, or -1. Like
// scanNumber, it stops at the first byte that cannot continue the number: what follows
// is checked by the caller.
func skipNumber(buf []byte, p int) int {
	if buf[p] == '-' {
		p++
		if p >= len(buf) {
			return -1
		}
	}
	switch c := buf[p]; {
	case c == '0':
		p++
	case c >= '1' && c <= '9':
		p++
		for p < len(buf) && buf[p]-'0' <= 9 {
			p++
		}
	default:
		return -1
	}
	if p < len(buf) && buf[p] == '.' {
		p++
		if p >= len(buf) || buf[p]-'0' > 9 {
			return -1
		}
		for p < len(buf) && buf[p]-'0' <= 9 {
			p++
		}
	}
	if p < len(buf) && buf[p]|0x20 == 'e' {
		p++
		if p < len(buf) && (buf[p] == '+' || buf[p] == '-') {
			p++
		}
		if p >= len(buf) || buf[p]-'0' > 9 {
			return -1
		}
		for p < len(buf) && buf[p]-'0' <= 9 {
			p++
		}
	}
	return p
}
