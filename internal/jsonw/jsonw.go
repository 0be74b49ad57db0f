package jsonw

import (
	"unicode/utf8"
	"unsafe"
)

// Mode selects which characters are escaped beyond those JSON requires.
type Mode uint8

const (
	// Minimal escapes '"' and '\\' with a backslash, \n, \r and \t in their short forms and
	// the other control characters (U+0000 to U+001F) as \u00XX. Everything else is written
	// as it is.
	Minimal Mode = iota
	// Marshal escapes as encoding/json's Marshal does: as Minimal, and \b and \f in their
	// short forms, '<', '>' and '&' as \u003c, \u003e and \u0026, and U+2028 and U+2029 as
	// \u2028 and \u2029.
	Marshal
	numModes
)

// Entries of an escape table: how each byte value is written.
const (
	literal   = 0   // the byte itself
	multiByte = 1   // the first byte of a UTF-8 sequence, or a byte that is not valid UTF-8
	hexEscape = 'u' // \u00XX
	// any other entry e: a backslash then e (\n, \", ...)
)

// escapes holds one table per mode, indexed by byte value. It is filled once and only
// read afterwards.
var escapes = [numModes][256]byte{
	Minimal: escapeTable(Minimal),
	Marshal: escapeTable(Marshal),
}

func escapeTable(m Mode) [256]byte {
	var t [256]byte
	for c := range 0x20 {
		t[c] = hexEscape
	}
	for c := utf8.RuneSelf; c < 256; c++ {
		t[c] = multiByte
	}
	t['"'], t['\\'] = '"', '\\'
	t['\n'], t['\r'], t['\t'] = 'n', 'r', 't'
	if m == Marshal {
		t['\b'], t['\f'] = 'b', 'f'
		t['<'], t['>'], t['&'] = hexEscape, hexEscape, hexEscape
	}
	return t
}

const lowerHex = "0123456789abcdef"

// AppendString appends s to dst as a quoted JSON string escaped as m says. A mode not
// declared in this package panics.
func AppendString(dst []byte, s string, m Mode) []byte {
	dst = append(dst, '"')
	dst = AppendEscaped(dst, s, m)
	return append(dst, '"')
}

// AppendBytes is AppendString for a byte slice.
func AppendBytes(dst, s []byte, m Mode) []byte {
	dst = append(dst, '"')
	dst = AppendEscaped(dst, unsafe.String(unsafe.SliceData(s), len(s)), m)
	return append(dst, '"')
}

// AppendEscaped appends s to dst escaped as m says, without the quotes: the inside of a
// JSON string, for strings built from several pieces.
func AppendEscaped(dst []byte, s string, m Mode) []byte {
	t := &escapes[m]
	done := 0 // s[:done] is written
	for i := 0; i < len(s); {
		e := t[s[i]]
		if e == literal {
			i++
			continue
		}
		if e != multiByte {
			c := s[i]
			dst = append(dst, s[done:i]...)
			if e == hexEscape {
				dst = append(dst, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
			} else {
				dst = append(dst, '\\', e)
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[done:i]...)
			dst = append(dst, `\ufffd`...)
		case m == Marshal && (r == '\u2028' || r == '\u2029'):
			dst = append(dst, s[done:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	return append(dst, s[done:]...)
}
