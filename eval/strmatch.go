package eval

import (
	"bytes"
	"encoding/binary"
	"strings"
)

// maxFastValue bounds the values the byte path copies into its stack buffer; a
// longer value is tested by the rune-based reference path.
const maxFastValue = 1024

// qMark stands for "?" in a byte segment. Byte-path patterns are all ASCII, so the
// byte 0xFF never occurs in them otherwise; a pattern with "?" is only tried on
// ASCII values, which cannot hold 0xFF either.
const qMark = 0xFF

// strMatcher tests whether a string matches any of a list of patterns: the
// patterns of one ':', like or like~ leaf, the members of an in~ list, or the
// argument of startsWith, endsWith or stringContains. It is built once at compile
// time and is safe for concurrent use; match allocates nothing.
//
// # Exactness of the byte path
//
// The reference semantics are the rune-based ones of wildcard, foldEqual and
// foldHasPrefix: a pattern character matches a value code point that equals it or,
// when insensitive, its other case as Lucene's case-insensitive automata define it
// (altCase). For an ASCII pattern character the other case is its ASCII other case
// (or itself), never a non-ASCII code point. So a pattern that is all ASCII, lower
// cased, compares exactly byte by byte with the value ASCII-lower-cased (A-Z only):
// the bytes of a non-ASCII code point are all >= 0x80 and never equal an ASCII
// pattern byte, an ASCII byte is always a code point of its own (even in invalid
// UTF-8, which the rune path decodes one byte at a time), so every byte-wise match
// starts and ends on code point boundaries, and "*" absorbs any bytes. Only "?"
// (one code point) needs more: its patterns take the byte path only for ASCII
// values, where a code point is a byte. Patterns with a non-ASCII character are
// kept on the rune path, as are all patterns for values longer than maxFastValue.
type strMatcher struct {
	// The fields every match reads first, together at the start.
	insensitive bool
	all         bool // some pattern matches every string ("*")
	needCopy    bool // some byte pattern other than a literal: the value is copied
	needASCII   bool // some general pattern has "?"
	maxLit      int  // the length of the longest literal

	// Literal patterns (lower-cased when insensitive): a short list or a set.
	litSet map[string]struct{}
	lits   []string

	// Wildcard patterns of the common shapes, lower-cased when insensitive.
	prefixes [][]byte // "p*" and startsWith
	suffixes [][]byte // "*s"
	infixes  [][]byte // "*i*"
	general  []bytePattern

	// fastRef holds the reference test of every byte-path pattern, for values longer
	// than maxFastValue; slow the patterns the byte path cannot decide.
	fastRef []func(string) bool
	slow    []func(string) bool
}

// bytePattern is a general wildcard pattern on bytes: segs split at "*" (qMark for
// "?"); without "*" it is the single segment matching the whole value.
type bytePattern struct {
	segs   [][]byte
	star   bool
	hasQ   bool
	minLen int               // the total length of the segments
	ref    func(string) bool // the rune-based test, for "?" on non-ASCII values
}

func newStrMatcher(insensitive bool) *strMatcher {
	return &strMatcher{insensitive: insensitive}
}

// addWildcard adds a wildcard pattern: "*" any run of characters, "?" one
// character. With escapes, a backslash makes the next character literal (Lucene
// WildcardQuery syntax, as endsWith and stringContains build); without, a backslash
// is ordinary (EQL ':' and like).
func (m *strMatcher) addWildcard(pat string, escapes bool) {
	ref := newWildcard(pat, m.insensitive, escapes).match
	segs, star, hasQ, ok := parseASCIIPattern(pat, escapes)
	if !ok {
		m.slow = append(m.slow, ref)
		return
	}
	m.addSegs(segs, star, hasQ, ref)
}

// addLiteral adds a string the value must equal (with Lucene's case-insensitive
// rule when insensitive): an in~ member.
func (m *strMatcher) addLiteral(s string) {
	ins := m.insensitive
	ref := func(v string) bool { return foldEqual(s, v, ins) }
	if ins && !isASCII(s) {
		m.slow = append(m.slow, ref)
		return
	}
	m.addSegs([][]byte{[]byte(s)}, false, false, ref)
}

// addPrefix adds a prefix the value must start with (startsWith).
func (m *strMatcher) addPrefix(p string) {
	var ref func(string) bool
	if m.insensitive {
		ref = func(v string) bool { return foldHasPrefix(v, p) }
	} else {
		ref = func(v string) bool { return strings.HasPrefix(v, p) }
	}
	if !isASCII(p) {
		m.slow = append(m.slow, ref)
		return
	}
	m.addSegs([][]byte{[]byte(p), nil}, true, false, ref)
}

// addSegs files an ASCII pattern (segments split at "*") by its shape.
func (m *strMatcher) addSegs(segs [][]byte, star, hasQ bool, ref func(string) bool) {
	if m.insensitive {
		for _, s := range segs {
			lowerBytes(s)
		}
	}
	if star { // empty middle segments match anywhere: drop them
		kept := segs[:1]
		for _, s := range segs[1 : len(segs)-1] {
			if len(s) > 0 {
				kept = append(kept, s)
			}
		}
		segs = append(kept, segs[len(segs)-1])
	}
	m.fastRef = append(m.fastRef, ref)
	switch {
	case !star && !hasQ:
		lit := string(segs[0])
		m.lits = append(m.lits, lit)
		m.maxLit = max(m.maxLit, len(lit))
		return
	case hasQ:
		// general below
	case len(segs) == 2 && len(segs[0]) == 0 && len(segs[1]) == 0:
		m.all = true
		return
	case len(segs) == 2 && len(segs[1]) == 0:
		m.prefixes = append(m.prefixes, segs[0])
		m.needCopy = true
		return
	case len(segs) == 2 && len(segs[0]) == 0:
		m.suffixes = append(m.suffixes, segs[1])
		m.needCopy = true
		return
	case len(segs) == 3 && len(segs[0]) == 0 && len(segs[2]) == 0:
		m.infixes = append(m.infixes, segs[1])
		m.needCopy = true
		return
	}
	p := bytePattern{segs: segs, star: star, hasQ: hasQ, ref: ref}
	for _, s := range segs {
		p.minLen += len(s)
	}
	m.general = append(m.general, p)
	m.needCopy = true
	m.needASCII = m.needASCII || hasQ
}

// done finishes the matcher once every pattern is added: a long literal list
// becomes a set.
func (m *strMatcher) done() *strMatcher {
	if len(m.lits) > 8 {
		m.litSet = make(map[string]struct{}, len(m.lits))
		for _, l := range m.lits {
			m.litSet[l] = struct{}{}
		}
		m.lits = nil
	}
	return m
}

// cost estimates the work of one match, for ordering the operands of and/or.
func (m *strMatcher) cost() int32 {
	if m.all {
		return 1
	}
	c := int32(0)
	if len(m.lits) > 0 || m.litSet != nil {
		c += 2
	}
	if m.needCopy {
		c += 2
	}
	c += int32(len(m.prefixes)+len(m.suffixes)) + 2*int32(len(m.infixes)) + 3*int32(len(m.general)) + 10*int32(len(m.slow))
	return c
}

// match reports whether s matches some pattern.
func (m *strMatcher) match(s string) bool {
	if m.all {
		return true
	}
	if m.matchFast(s) {
		return true
	}
	for _, t := range m.slow {
		if t(s) {
			return true
		}
	}
	return false
}

// matchFast tests the byte-path patterns.
func (m *strMatcher) matchFast(s string) bool {
	if !m.needCopy {
		if len(s) > m.maxLit {
			return false
		}
		if !m.insensitive {
			return m.hasLit(s)
		}
	}
	if len(s) > maxFastValue {
		for _, t := range m.fastRef {
			if t(s) {
				return true
			}
		}
		return false
	}
	// The buffer is zeroed when declared: size it to the value.
	switch {
	case len(s) <= 64:
		var buf [64]byte
		return m.matchIn(buf[:len(s)], s)
	case len(s) <= 256:
		var buf [256]byte
		return m.matchIn(buf[:len(s)], s)
	}
	var buf [maxFastValue]byte
	return m.matchIn(buf[:len(s)], s)
}

// matchIn tests the byte-path patterns against s, using v (len(v) == len(s)) for its
// copy.
func (m *strMatcher) matchIn(v []byte, s string) bool {
	var ascii bool
	if m.insensitive {
		ascii = lowerASCII(v, s)
	} else {
		copy(v, s)
		ascii = !m.needASCII || isASCII(s)
	}
	if len(v) <= m.maxLit && m.hasLit(string(v)) {
		return true
	}
	return m.matchShapes(v, s, ascii)
}

// hasLit looks v up among the literal patterns. Called with string(b) of a byte
// slice, the conversion does not allocate (map index and comparison).
func (m *strMatcher) hasLit(v string) bool {
	if m.litSet != nil {
		_, ok := m.litSet[v]
		return ok
	}
	for _, l := range m.lits {
		if l == v {
			return true
		}
	}
	return false
}

// matchShapes tests the prefix, suffix, infix and general patterns against v, the
// value s copied (and lower-cased when insensitive); ascii reports whether s is all
// ASCII (only computed when some general pattern has "?").
func (m *strMatcher) matchShapes(v []byte, s string, ascii bool) bool {
	for _, p := range m.prefixes {
		if bytes.HasPrefix(v, p) {
			return true
		}
	}
	for _, p := range m.suffixes {
		if bytes.HasSuffix(v, p) {
			return true
		}
	}
	for _, p := range m.infixes {
		if bytes.Contains(v, p) {
			return true
		}
	}
	for i := range m.general {
		p := &m.general[i]
		if p.hasQ && !ascii {
			// "?" is one code point: on a non-ASCII value the rune path decides.
			if p.ref(s) {
				return true
			}
			continue
		}
		if p.match(v) {
			return true
		}
	}
	return false
}

// match reports whether the whole of v matches p: the first segment anchored at the
// start, the last at the end, the middle ones at their leftmost place in between.
// Leftmost is enough: every segment has a fixed length in bytes, so the earliest
// match leaves the longest rest for the segments after it.
func (p *bytePattern) match(v []byte) bool {
	if len(v) < p.minLen {
		return false
	}
	first := p.segs[0]
	if !p.star {
		return len(v) == len(first) && segEqual(first, v, p.hasQ)
	}
	if !segEqual(first, v[:len(first)], p.hasQ) {
		return false
	}
	v = v[len(first):]
	last := p.segs[len(p.segs)-1]
	for _, seg := range p.segs[1 : len(p.segs)-1] {
		i := segIndex(v, seg, p.hasQ)
		if i < 0 {
			return false
		}
		v = v[i+len(seg):]
	}
	return len(v) >= len(last) && segEqual(last, v[len(v)-len(last):], p.hasQ)
}

// segEqual reports whether v (of the same length as seg) matches seg, where qMark
// in seg matches any byte when hasQ is set.
func segEqual(seg, v []byte, hasQ bool) bool {
	if !hasQ {
		return bytes.Equal(seg, v)
	}
	for i, c := range seg {
		if c != qMark && c != v[i] {
			return false
		}
	}
	return true
}

// segIndex returns the index of the leftmost match of seg in v, or -1.
func segIndex(v, seg []byte, hasQ bool) int {
	if !hasQ {
		return bytes.Index(v, seg)
	}
	for i := 0; i+len(seg) <= len(v); i++ {
		if segEqual(seg, v[i:i+len(seg)], true) {
			return i
		}
	}
	return -1
}

// parseASCIIPattern splits an all-ASCII wildcard pattern at its "*"s, with qMark for
// "?"; ok is false when the pattern has a non-ASCII character (the rune path takes
// it). With escapes, a backslash makes the next character literal, and a trailing
// backslash is itself literal, as newWildcard reads it.
func parseASCIIPattern(pat string, escapes bool) (segs [][]byte, star, hasQ, ok bool) {
	if !isASCII(pat) {
		return nil, false, false, false
	}
	cur := []byte{}
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '*':
			segs = append(segs, cur)
			cur = []byte{}
			star = true
		case c == '?':
			cur = append(cur, qMark)
			hasQ = true
		case c == '\\' && escapes && i+1 < len(pat):
			i++
			cur = append(cur, pat[i])
		default:
			cur = append(cur, c)
		}
	}
	return append(segs, cur), star, hasQ, true
}

// lowerBytes lower-cases the ASCII letters of b in place.
func lowerBytes(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

// lowerASCII copies s into dst (of the same length) with the ASCII letters A-Z
// lower-cased, eight bytes at a time, and reports whether s is all ASCII.
func lowerASCII(dst []byte, s string) bool {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	n := copy(dst, s)
	var hi uint64
	i := 0
	for ; i+8 <= n; i += 8 {
		x := binary.LittleEndian.Uint64(dst[i:])
		hi |= x
		h := x &^ high              // each byte's low 7 bits: no carry between bytes below
		ge := h + (0x80-'A')*ones   // bit 7 set where h >= 'A'
		gt := h + (0x80-'Z'-1)*ones // bit 7 set where h > 'Z'
		if up := (ge ^ gt) &^ x & high; up != 0 {
			binary.LittleEndian.PutUint64(dst[i:], x|up>>2) // 0x80>>2 == 'a'-'A'
		}
	}
	for ; i < n; i++ {
		c := dst[i]
		hi |= uint64(c)
		if 'A' <= c && c <= 'Z' {
			dst[i] = c + 'a' - 'A'
		}
	}
	return hi&high == 0
}
