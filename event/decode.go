package event

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// maxDepth is the deepest nesting of objects and arrays a document may have: the limit
// encoding/json applies, so that both accept the same documents.
const maxDepth = 10000

// SyntaxError reports a malformed document: the byte offset in the document where the
// problem was found, and what it is.
type SyntaxError struct {
	Offset int
	Msg    string
}

// Error returns "offset N: message".
func (e *SyntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// Decoder fills Events from JSON documents, recording the values of the paths of one
// Fields set only. It checks the syntax of the whole document in the same single pass.
// A Decoder is not safe for concurrent use: use one per goroutine.
type Decoder struct {
	t trie

	// Per-slot state of the current Decode, reused for every document (it stays in cache,
	// unlike the Events): what each slot recorded, and the bit of each slot written.
	spans []span   // by slot, valid when its seen bit is set: its values in vals
	seen  []uint64 // the bit of each slot with something recorded
	nulls []uint64 // the bit of each slot where a null was seen

	// State of the current Decode.
	buf       []byte
	ev        *Event
	key       []byte // an unescaped object key
	stack     []byte // open containers of skipExact
	err       SyntaxError
	scattered bool    // the values of a slot are not contiguous (see scatter)
	vals      []Value // the values of the document, in document order (see add)
	owner     []Slot  // when scattered: the slot of each value of vals
}

// NewDecoder returns a decoder for the paths of f. Paths added to f after this call are
// not seen by the decoder.
func NewDecoder(f *Fields) *Decoder {
	return newDecoderTrie(buildTrie(f))
}

// newDecoderTrie returns a decoder for the paths of t (read-only: decoders may share it).
func newDecoderTrie(t trie) *Decoder {
	n := t.slots
	return &Decoder{t: t, spans: make([]span, n),
		seen: make([]uint64, (n+63)/64), nulls: make([]uint64, (n+63)/64)}
}

// Decode checks that doc is one well-formed JSON object and records into ev the values
// of the decoder's paths. ev.Raw is set to doc; ev's other exported fields are left as
// they are. Strings of ev that needed no unescaping point into doc: ev is valid as long
// as doc is unchanged, and until the next Decode into ev.
//
// A malformed document returns a *SyntaxError and leaves ev with no values.
func (d *Decoder) Decode(doc []byte, ev *Event) error {
	ev.reset(len(d.seen))
	ev.Raw = doc
	ev.dec = &d.t
	d.buf, d.ev, d.scattered = doc, ev, false
	ok := d.document()
	d.finish(ok)
	d.buf, d.ev = nil, nil
	if !ok {
		e := d.err
		return &e
	}
	return nil
}

func (d *Decoder) document() bool {
	buf := d.buf
	p := skipWS(buf, 0)
	if p >= len(buf) {
		return d.fail(p, "empty document")
	}
	if c := buf[p]; c != '{' {
		if c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n' {
			return d.fail(p, "document is not a JSON object")
		}
		return d.failChar(p, "looking for the beginning of an object")
	}
	p = d.object(0, p, 1)
	if p < 0 {
		return false
	}
	p = skipWS(buf, p)
	if p < len(buf) {
		return d.failChar(p, "after the end of the document")
	}
	return true
}

func (d *Decoder) fail(off int, msg string) bool {
	d.err = SyntaxError{Offset: off, Msg: msg}
	return false
}

func (d *Decoder) failChar(off int, where string) bool {
	if off >= len(d.buf) {
		return d.fail(off, "unexpected end of document "+where)
	}
	return d.fail(off, fmt.Sprintf("unexpected character %q %s", d.buf[off], where))
}

// bad records an error and returns the position -1 that tells the callers to stop.
func (d *Decoder) bad(off int, where string) int {
	d.failChar(off, where)
	return -1
}

// skipWS returns the position of the first byte at or after p that is not JSON white space.
func skipWS(buf []byte, p int) int {
	for p < len(buf) {
		c := buf[p]
		if c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return p
		}
		p++
	}
	return p
}

// value parses the value at p and returns the position after it, or -1 on error. n is
// the trie node the value is reached by; noNode means only check the syntax.
func (d *Decoder) value(n int32, p, depth int) int {
	if n == noNode {
		return d.skip(p, depth)
	}
	buf := d.buf
	if p >= len(buf) {
		return d.bad(p, "looking for a value")
	}
	slot := d.t.nodes[n].slot
	switch c := buf[p]; c {
	case '{':
		return d.object(n, p, depth+1)
	case '[':
		return d.array(n, p, depth+1)
	case '"':
		end, esc := d.scanString(p)
		if end < 0 {
			return -1
		}
		if slot >= 0 {
			var s string
			if esc {
				s = d.ev.unescape(buf[p+1 : end-1])
			} else if end-1 > p+1 {
				s = unsafe.String(&buf[p+1], end-2-p)
			}
			v := Value{Kind: KindString, Str: s}
			if len(s) < 4 || s[0]-'0' > 9 || s[1]-'0' > 9 || s[2]-'0' > 9 || s[3]-'0' > 9 {
				v.Flags = NoYearPrefix
			}
			d.add(slot, v)
		}
		return end
	case 't':
		p = d.literal(p, "true")
		if p >= 0 && slot >= 0 {
			d.add(slot, Value{Kind: KindBool, Int: 1})
		}
		return p
	case 'f':
		p = d.literal(p, "false")
		if p >= 0 && slot >= 0 {
			d.add(slot, Value{Kind: KindBool})
		}
		return p
	case 'n':
		p = d.literal(p, "null")
		if p >= 0 && slot >= 0 {
			d.addNull(slot)
		}
		return p
	default:
		end, isInt := d.scanNumber(p)
		if end >= 0 && slot >= 0 {
			d.add(slot, parseNumber(unsafe.String(&buf[p], end-p), isInt))
		}
		return end
	}
}

// add records v as the next value of slot s. Values are appended to the decoder's array
// (in cache for every document; finish copies it into the event). As long as each
// slot's values come in one run (the usual case), that is where they stay, and the
// slot's span just extends its run.
func (d *Decoder) add(s Slot, v Value) {
	n := uint32(len(d.vals))
	sp := &d.spans[s]
	w, bit := &d.seen[s>>6], uint64(1)<<(s&63)
	if *w&bit == 0 {
		*w |= bit
		*sp = span{n, n}
	} else if sp.end != n {
		if sp.start == sp.end { // only nulls so far: the run starts here
			sp.start, sp.end = n, n
		} else if !d.scattered {
			d.scatter()
		}
	}
	if d.scattered {
		d.owner = append(d.owner, s)
	}
	sp.end++
	if int(n) == cap(d.vals) {
		d.vals = slices.Grow(d.vals, 1)
	}
	d.vals = d.vals[:n+1]
	p := &d.vals[n] // set field by field: faster than copying v whole
	p.Kind, p.Flags, p.Int, p.Str = v.Kind, v.Flags, v.Int, v.Str
}

// addNull records an explicit null at slot s.
func (d *Decoder) addNull(s Slot) {
	w, bit := &d.seen[s>>6], uint64(1)<<(s&63)
	if *w&bit == 0 {
		*w |= bit
		n := uint32(len(d.vals))
		d.spans[s] = span{n, n}
	}
	d.nulls[s>>6] |= bit
}

// scatter is called when a slot gets a value after another slot's did, its earlier values
// being already recorded (as in {"a":[{"b":1,"c":2},{"b":3}]}): from then on the slot
// of every value is kept in d.owner, the length of each span counts its values, and
// finish groups the values by slot.
func (d *Decoder) scatter() {
	d.scattered = true
	d.owner = slices.Grow(d.owner[:0], len(d.vals))[:len(d.vals)]
	for wi, w := range d.seen {
		for ; w != 0; w &= w - 1 {
			s := Slot(wi<<6 + bits.TrailingZeros64(w))
			sp := d.spans[s]
			for k := sp.start; k < sp.end; k++ {
				d.owner[k] = s
			}
		}
	}
}

// finish ends a Decode: it writes the event's bits and spans (in slot order), copies the
// values, grouping those of a scattered document by slot (a counting sort, stable: each
// slot keeps its document order), and clears the decoder's bits for the next document.
// After a syntax error (ok false) the event is left with nothing recorded. Its cost is
// that of the slots recorded, plus one word per 64 slots.
func (d *Decoder) finish(ok bool) {
	e := d.ev
	spans := e.spans[:0]
	for wi, w := range d.seen {
		nulls := d.nulls[wi]
		d.seen[wi], d.nulls[wi] = 0, 0
		if !ok {
			w, nulls = 0, 0
		}
		rank, vals := len(spans), uint64(0)
		for ; w != 0; w &= w - 1 {
			i := bits.TrailingZeros64(w)
			if sp := d.spans[wi<<6+i]; sp.end != sp.start { // else nulls only
				vals |= 1 << i
				spans = append(spans, sp)
			}
		}
		e.bits[wi] = bitWord{vals: vals, nulls: nulls, rank: uint32(rank)}
	}
	e.spans = spans
	switch {
	case !ok:
		e.arena = e.arena[:0]
	case !d.scattered:
		e.vals = append(e.vals[:0], d.vals...)
	default:
		// The spans hold counts: make them ranges of the grouped values, each empty for
		// now (end is where the slot's next value goes), then place the values.
		pos := uint32(0)
		for i, sp := range spans {
			spans[i] = span{pos, pos}
			pos += sp.end - sp.start
		}
		e.vals = slices.Grow(e.vals[:0], len(d.vals))[:len(d.vals)]
		for k, s := range d.owner {
			sp := e.span(s)
			e.vals[sp.end] = d.vals[k]
			sp.end++
		}
	}
	d.vals = d.vals[:0]
}

// skipExact checks the syntax of the value at p and returns the position after it, or -1
// with the error recorded. depth is the nesting depth of the value's container. It works
// with an explicit stack of open containers, so that deep documents do not grow the
// goroutine stack. It is the slow path of skip (see skip.go).
func (d *Decoder) skipExact(p, depth int) int {
	buf := d.buf
	stack := d.stack[:0]
	for {
		// A value starts at p.
		if p >= len(buf) {
			return d.bad(p, "looking for a value")
		}
		opened := false
		switch c := buf[p]; c {
		case '"':
			p, _ = d.scanString(p)
		case '{', '[':
			if depth+len(stack)+1 > maxDepth {
				d.fail(p, "exceeded maximum nesting depth")
				return -1
			}
			p = skipWS(buf, p+1)
			if c == '{' {
				if p < len(buf) && buf[p] == '}' {
					p++
					break
				}
				if p = d.skipKey(p); p < 0 {
					return -1
				}
			} else if p < len(buf) && buf[p] == ']' {
				p++
				break
			}
			stack = append(stack, c)
			if cap(stack) > cap(d.stack) {
				d.stack = stack // keep the grown stack for the next documents
			}
			opened = true
		case 't':
			p = d.literal(p, "true")
		case 'f':
			p = d.literal(p, "false")
		case 'n':
			p = d.literal(p, "null")
		default:
			p, _ = d.scanNumber(p)
		}
		if p < 0 {
			return -1
		}
		if opened {
			continue
		}
		// After a value: close containers until one expects another value.
		for {
			if len(stack) == 0 {
				return p
			}
			top := stack[len(stack)-1]
			where := "after an array element"
			if top == '{' {
				where = "after an object value"
			}
			p = skipWS(buf, p)
			if p >= len(buf) {
				return d.bad(p, where)
			}
			c := buf[p]
			if c == ',' {
				p = skipWS(buf, p+1)
				if top == '{' {
					if p = d.skipKey(p); p < 0 {
						return -1
					}
				}
				break
			}
			if (top == '{' && c == '}') || (top == '[' && c == ']') {
				p++
				stack = stack[:len(stack)-1]
				continue
			}
			return d.bad(p, where)
		}
	}
}

// skipKey checks an object key and its colon at p and returns the position of the value.
func (d *Decoder) skipKey(p int) int {
	buf := d.buf
	if p >= len(buf) || buf[p] != '"' {
		return d.bad(p, "looking for the beginning of an object key")
	}
	if p, _ = d.scanString(p); p < 0 {
		return -1
	}
	p = skipWS(buf, p)
	if p >= len(buf) || buf[p] != ':' {
		return d.bad(p, "after an object key")
	}
	return skipWS(buf, p+1)
}

func (d *Decoder) literal(p int, lit string) int {
	if len(d.buf)-p >= len(lit) && string(d.buf[p:p+len(lit)]) == lit {
		return p + len(lit)
	}
	for i := 0; i < len(lit); i++ {
		if p+i >= len(d.buf) || d.buf[p+i] != lit[i] {
			return d.bad(p+i, "in literal "+lit)
		}
	}
	return p + len(lit)
}

func (d *Decoder) object(n int32, p, depth int) int {
	if depth > maxDepth {
		d.fail(p, "exceeded maximum nesting depth")
		return -1
	}
	buf := d.buf
	p = skipWS(buf, p+1)
	if p < len(buf) && buf[p] == '}' {
		return p + 1
	}
	for {
		if p >= len(buf) || buf[p] != '"' {
			return d.bad(p, "looking for the beginning of an object key")
		}
		end, k := d.t.shortKey(n, buf, p)
		if end < 0 { // not a short key: the general case
			var esc bool
			if end, esc = d.scanString(p); end < 0 {
				return -1
			}
			if esc {
				d.key = appendUnescaped(d.key[:0], buf[p+1:end-1])
				k = d.t.child(n, d.key, 0, len(d.key))
			} else {
				k = d.t.child(n, buf, p+1, end-1)
			}
		}
		p = skipSpace(buf, end)
		if p >= len(buf) || buf[p] != ':' {
			return d.bad(p, "after an object key")
		}
		p = skipSpace(buf, p+1)
		if k == noNode { // the usual case: d.skip, without the calls
			if e := skipFast(buf, p, depth); e >= 0 {
				p = e
			} else if p = d.skipExact(p, depth); p < 0 {
				return -1
			}
		} else if p = d.value(k, p, depth); p < 0 {
			return -1
		}
		p = skipWS(buf, p)
		if p >= len(buf) {
			return d.bad(p, "after an object value")
		}
		switch buf[p] {
		case ',':
			p = skipWS(buf, p+1)
		case '}':
			return p + 1
		default:
			return d.bad(p, "after an object value")
		}
	}
}

// array parses the array at p, at nesting depth depth, whose elements are reached by
// node n. Arrays nested directly in it are flattened in the same loop, without recursion.
func (d *Decoder) array(n int32, p, depth int) int {
	if depth > maxDepth {
		d.fail(p, "exceeded maximum nesting depth")
		return -1
	}
	buf := d.buf
	level := 1    // arrays open at this node
	fresh := true // an array was just opened: ']' may close it
	p = skipWS(buf, p+1)
	for {
		// An element, or ']' right after '['.
		if p < len(buf) && buf[p] == '[' {
			if depth+level > maxDepth {
				d.fail(p, "exceeded maximum nesting depth")
				return -1
			}
			level++
			p = skipWS(buf, p+1)
			fresh = true
			continue
		}
		wasFresh := fresh
		fresh = false
		if wasFresh && p < len(buf) && buf[p] == ']' {
			p++
			level--
		} else if p = d.value(n, p, depth+level-1); p < 0 {
			return -1
		}
		for {
			if level == 0 {
				return p
			}
			p = skipWS(buf, p)
			if p >= len(buf) {
				return d.bad(p, "after an array element")
			}
			if buf[p] == ']' {
				p++
				level--
				continue
			}
			if buf[p] != ',' {
				return d.bad(p, "after an array element")
			}
			p = skipWS(buf, p+1)
			break
		}
	}
}

// SWAR constants: a byte repeated in each of the 8 bytes of a word.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specialMask sets the high bit of each byte of x that is a quote, a backslash or a
// control character. Each "y - ones*c" term sets the high bit of a byte of y below c; &^ x
// keeps bytes under 0x80, whose high bit is the same in x and in x xor a 7-bit constant.
// x xor 0x02 maps the quote (0x22) to 0x20 and the control characters (0x00-0x1f) onto
// themselves, and every other byte to 0x21 or above, so one term finds both; x xor '\\'
// maps the backslash to zero. A borrow can only set a false bit above a true one, so the
// lowest set bit is exact.
func specialMask(x uint64) uint64 {
	return (((x ^ (ones * 0x02)) - ones*0x21) | ((x ^ (ones * '\\')) - ones)) &^ x & highs
}

// special reports whether one of the 8 bytes of x is a quote, a backslash or a control
// character.
func special(x uint64) bool { return specialMask(x) != 0 }

// scanString checks the string that starts at p and returns the position after its
// closing quote (or -1), and whether the string holds escapes. It reads 8 bytes at a
// time; only strings with escapes take the byte-by-byte path.
func (d *Decoder) scanString(p int) (end int, esc bool) {
	buf := d.buf
	start := p
	p++
	for p+16 <= len(buf) { // two words at once, as skipString
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
		if buf[p] == '"' {
			return p + 1, false
		}
		return d.scanEscaped(start, p)
	}
	for p+8 <= len(buf) {
		if m := specialMask(binary.LittleEndian.Uint64(buf[p:])); m != 0 {
			p += bits.TrailingZeros64(m) >> 3
			if buf[p] == '"' {
				return p + 1, false
			}
			return d.scanEscaped(start, p)
		}
		p += 8
	}
	for ; p < len(buf); p++ {
		if c := buf[p]; c == '"' {
			return p + 1, false
		} else if c == '\\' || c < 0x20 {
			break
		}
	}
	return d.scanEscaped(start, p)
}

// scanEscaped continues scanString byte by byte from p, where a backslash, a control
// character or the end of the document is.
func (d *Decoder) scanEscaped(start, p int) (end int, esc bool) {
	buf := d.buf
	for {
		for p+8 <= len(buf) && !special(binary.LittleEndian.Uint64(buf[p:])) {
			p += 8
		}
		if p >= len(buf) {
			d.fail(start, "unterminated string")
			return -1, esc
		}
		switch c := buf[p]; {
		case c == '"':
			return p + 1, esc
		case c == '\\':
			esc = true
			p++
			if p >= len(buf) {
				d.fail(start, "unterminated string")
				return -1, esc
			}
			switch buf[p] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p++
			case 'u':
				for i := 1; i <= 4; i++ {
					if p+i >= len(buf) {
						d.fail(start, "unterminated string")
						return -1, esc
					}
					if hexVal(buf[p+i]) < 0 {
						d.fail(p+i, fmt.Sprintf("invalid character %q in \\u escape", buf[p+i]))
						return -1, esc
					}
				}
				p += 5
			default:
				d.fail(p, fmt.Sprintf("invalid escape \\%c in string", buf[p]))
				return -1, esc
			}
		case c < 0x20:
			d.fail(p, fmt.Sprintf("control character %q in string", c))
			return -1, esc
		default:
			p++
		}
	}
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// appendUnescaped appends the text of a checked JSON string body (without quotes) to
// dst. A lone UTF-16 surrogate becomes U+FFFD, as encoding/json does.
func appendUnescaped(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		c := src[i]
		if c != '\\' {
			j := i + 1
			for j < len(src) && src[j] != '\\' {
				j++
			}
			dst = append(dst, src[i:j]...)
			i = j
			continue
		}
		e := src[i+1]
		i += 2
		switch e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(src[i:])
			i += 4
			if r >= 0xD800 && r < 0xDC00 {
				if i+6 <= len(src) && src[i] == '\\' && src[i+1] == 'u' {
					if r2 := hex4(src[i+2:]); r2 >= 0xDC00 && r2 < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
						i += 6
					}
				}
			}
			if r >= 0xD800 && r < 0xE000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
	}
	return dst
}

func hex4(b []byte) rune {
	return rune(hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3]))
}

// scanNumber checks the number at p and returns the position after it (or -1), and
// whether it is an integer (no fraction, no exponent).
func (d *Decoder) scanNumber(p int) (end int, isInt bool) {
	buf := d.buf
	if buf[p] == '-' {
		p++
	} else if buf[p] < '0' || buf[p] > '9' {
		return d.bad(p, "looking for the beginning of a value"), false
	}
	if p >= len(buf) {
		return d.bad(p, "in a number"), false
	}
	switch c := buf[p]; {
	case c == '0':
		p++
	case c >= '1' && c <= '9':
		p++
		for p < len(buf) && buf[p] >= '0' && buf[p] <= '9' {
			p++
		}
	default:
		return d.bad(p, "in a number"), false
	}
	isInt = true
	if p < len(buf) && buf[p] == '.' {
		isInt = false
		p++
		if p >= len(buf) || buf[p] < '0' || buf[p] > '9' {
			return d.bad(p, "after a decimal point"), false
		}
		for p < len(buf) && buf[p] >= '0' && buf[p] <= '9' {
			p++
		}
	}
	if p < len(buf) && (buf[p] == 'e' || buf[p] == 'E') {
		isInt = false
		p++
		if p < len(buf) && (buf[p] == '+' || buf[p] == '-') {
			p++
		}
		if p >= len(buf) || buf[p] < '0' || buf[p] > '9' {
			return d.bad(p, "in the exponent of a number"), false
		}
		for p < len(buf) && buf[p] >= '0' && buf[p] <= '9' {
			p++
		}
	}
	return p, isInt
}

// parseNumber converts a checked JSON number literal.
func parseNumber(lit string, isInt bool) Value {
	if isInt {
		if len(lit) <= 18 {
			neg := lit[0] == '-'
			var n int64
			i := 0
			if neg {
				i = 1
			}
			for ; i < len(lit); i++ {
				n = n*10 + int64(lit[i]-'0')
			}
			if neg {
				n = -n
			}
			return Value{Kind: KindInt, Int: n, Str: lit}
		}
		if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return Value{Kind: KindInt, Int: n, Str: lit}
		}
	}
	f, _ := strconv.ParseFloat(lit, 64) // out of range: ±Inf, as Java's Double.parseDouble
	return FloatValue(f, lit)
}
