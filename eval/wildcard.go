package eval

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// anyRune stands for "?" in a wildcard segment.
const anyRune rune = -1

// wildcard is a compiled whole-value wildcard pattern: "*" matches any run of
// characters, "?" exactly one (one code point, as Lucene's automata work on code
// points). The pattern is split at "*" into segments.
type wildcard struct {
	segs        [][]rune // segs[0] anchors at the start, the last at the end
	star        bool     // the pattern has at least one "*"
	insensitive bool
	literal     string // when the pattern has no wildcard at all: the value to equal
	isLiteral   bool
}

// newWildcard compiles pattern. When escapes is set, a backslash makes the next
// character literal, as in a raw Lucene WildcardQuery (endsWith and stringContains
// build such queries from their argument without escaping it). EQL's ':' and like
// have no escape: their backslashes are ordinary characters (EQL StringUtils.toLikePattern).
func newWildcard(pattern string, insensitive, escapes bool) *wildcard {
	w := &wildcard{insensitive: insensitive}
	cur := []rune{}
	wild := false
	for i := 0; i < len(pattern); {
		r, n := utf8.DecodeRuneInString(pattern[i:])
		i += n
		switch {
		case r == '*':
			w.segs = append(w.segs, cur)
			cur = []rune{}
			w.star, wild = true, true
		case r == '?':
			cur = append(cur, anyRune)
			wild = true
		case r == '\\' && escapes && i < len(pattern):
			r, n = utf8.DecodeRuneInString(pattern[i:])
			i += n
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	w.segs = append(w.segs, cur)
	if !wild {
		w.isLiteral = true
		w.literal = string(w.segs[0])
	}
	return w
}

// altCase is the other case of r, as Lucene's case-insensitive automata use it
// (AutomatonQueries.toCaseInsensitiveChar: upper case of a lower-case letter, lower
// case of anything else).
func altCase(r rune) rune {
	if unicode.IsLower(r) {
		return unicode.ToUpper(r)
	}
	return unicode.ToLower(r)
}

func runeEq(p, r rune, insensitive bool) bool {
	return p == anyRune || p == r || insensitive && altCase(p) == r
}

// foldEqual reports whether a and b are equal, code point by code point, with
// Lucene's case-insensitive rule when insensitive is set.
func foldEqual(pattern, s string, insensitive bool) bool {
	if !insensitive {
		return pattern == s
	}
	for pattern != "" && s != "" {
		p, n := utf8.DecodeRuneInString(pattern)
		r, m := utf8.DecodeRuneInString(s)
		if !runeEq(p, r, true) {
			return false
		}
		pattern, s = pattern[n:], s[m:]
	}
	return pattern == "" && s == ""
}

// matchAt matches seg at the start of s and returns the number of bytes it used.
func matchAt(seg []rune, s string, insensitive bool) (int, bool) {
	i := 0
	for _, p := range seg {
		if i >= len(s) {
			return 0, false
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !runeEq(p, r, insensitive) {
			return 0, false
		}
		i += n
	}
	return i, true
}

// match reports whether the whole of s matches the pattern.
func (w *wildcard) match(s string) bool {
	if w.isLiteral {
		return foldEqual(w.literal, s, w.insensitive)
	}
	first := w.segs[0]
	n, ok := matchAt(first, s, w.insensitive)
	if !ok {
		return false
	}
	if !w.star {
		return n == len(s)
	}
	s = s[n:]
	last := len(w.segs) - 1
	for _, seg := range w.segs[1:last] {
		found := false
		for i := 0; i <= len(s); {
			if n, ok := matchAt(seg, s[i:], w.insensitive); ok {
				s, found = s[i+n:], true
				break
			}
			if i == len(s) {
				break
			}
			_, sz := utf8.DecodeRuneInString(s[i:])
			i += sz
		}
		if !found {
			return false
		}
	}
	// The last segment must end exactly at the end of s.
	seg := w.segs[last]
	for i := 0; i <= len(s); {
		if n, ok := matchAt(seg, s[i:], w.insensitive); ok && i+n == len(s) {
			return true
		}
		if i == len(s) {
			break
		}
		_, sz := utf8.DecodeRuneInString(s[i:])
		i += sz
	}
	return false
}

// hasWildcard reports whether an EQL ':' pattern contains * or ?.
func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }
