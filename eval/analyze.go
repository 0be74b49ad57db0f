package eval

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	// Lucene's standard tokenizer splits on UAX#29 word boundaries; this module follows
	// the Unicode test suite for them, allocates nothing per token, and is maintained.
	"github.com/clipperhouse/uax29/v2/words"
)

// analyzer is a text field's analyzer: how Elasticsearch turns a value (and a match
// query's text) into the tokens it indexes (searches).
type analyzer uint8

const (
	// anStandard is the standard analyzer: UAX#29 word segmentation, keeping the
	// segments with a letter, digit or emoji (Lucene StandardTokenizer), lower-cased
	// per code point; no stop words.
	anStandard analyzer = iota
	// anPowerShell is the powershell_script_analyzer of Elastic's Windows integration:
	// a pattern tokenizer splitting on the Java regex [\W&&[^-]]+ (every character
	// but ASCII letters, digits, '_' and '-'), lower-cased.
	anPowerShell
)

// analyzerNamed returns the analyzer of a text field whose mapping names it ("" is
// standard).
func analyzerNamed(name string) (analyzer, error) {
	switch name {
	case "", "standard", "default":
		return anStandard, nil
	case "powershell_script_analyzer":
		return anPowerShell, nil
	}
	return 0, fmt.Errorf("analyzer [%s] is not supported", name)
}

// tokenizer walks the tokens of one string, as they are before lower-casing (see
// lowerEq). A tokenizer is a value: copying it copies its position.
type tokenizer struct {
	an      analyzer
	s       string
	pos     int
	it      words.Iterator[string]
	pending string // the rest of a standard token longer than maxTokenLength
}

// maxTokenLength is the standard tokenizer's max_token_length: a longer word is split
// into pieces of this many characters.
const maxTokenLength = 255

func newTokenizer(an analyzer, s string) tokenizer {
	t := tokenizer{an: an, s: s}
	if an == anStandard {
		t.it = *words.FromString(s)
	}
	return t
}

// next returns the next token; ok is false at the end.
func (t *tokenizer) next() (tok string, ok bool) {
	if t.an == anPowerShell {
		s := t.s
		i := t.pos
		for i < len(s) && !isPowerShellWordByte(s[i]) {
			i++
		}
		j := i
		for j < len(s) && isPowerShellWordByte(s[j]) {
			j++
		}
		t.pos = j
		return s[i:j], i < j
	}
	if t.pending != "" {
		return t.piece(t.pending), true
	}
	for t.it.Next() {
		seg := t.it.Value()
		if isWordSegment(seg) {
			if len(seg) > maxTokenLength {
				return t.piece(seg), true
			}
			return seg, true
		}
	}
	return "", false
}

// piece returns the first maxTokenLength characters (UTF-16 units, as Lucene counts) of
// seg and keeps the rest pending.
func (t *tokenizer) piece(seg string) string {
	n, i := 0, 0
	for i < len(seg) {
		r, size := utf8.DecodeRuneInString(seg[i:])
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if n+w > maxTokenLength {
			break
		}
		n, i = n+w, i+size
	}
	t.pending = seg[i:]
	return seg[:i]
}

// isPowerShellWordByte reports whether c is not a separator of powershell_script_analyzer
// (Java's \W is ASCII-only: every non-ASCII byte separates).
func isPowerShellWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// isWordSegment reports whether a UAX#29 segment is a token of the standard tokenizer
// (letters, digits, ideographs, emoji) rather than spaces or punctuation.
func isWordSegment(seg string) bool {
	for i := 0; i < len(seg); {
		c := seg[i]
		if c < utf8.RuneSelf {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
				return true
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(seg[i:])
		if unicode.IsLetter(r) || unicode.IsNumber(r) || isEmoji(r) {
			return true
		}
		i += n
	}
	return false
}

// isEmoji approximates Extended_Pictographic, which Lucene's tokenizer keeps as tokens.
func isEmoji(r rune) bool {
	return r >= 0x1F000 && r <= 0x1FAFF || r >= 0x2600 && r <= 0x27BF
}

// analyze returns the lower-cased tokens of s (a match query's text).
func analyze(an analyzer, s string) []string {
	var out []string
	t := newTokenizer(an, s)
	for {
		tok, ok := t.next()
		if !ok {
			return out
		}
		out = append(out, lowerRunes(tok))
	}
}

// lowerRunes lower-cases s code point by code point, as Lucene's LowerCaseFilter
// (Character.toLowerCase) does.
func lowerRunes(s string) string { return strings.Map(unicode.ToLower, s) }

// lowerEq reports whether lowerRunes(tok) == term, without building it.
func lowerEq(tok, term string) bool {
	i, j := 0, 0
	for i < len(tok) && j < len(term) {
		c := tok[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != term[j] {
				return false
			}
			i, j = i+1, j+1
			continue
		}
		r, n := utf8.DecodeRuneInString(tok[i:])
		q, m := utf8.DecodeRuneInString(term[j:])
		if unicode.ToLower(r) != q {
			return false
		}
		i, j = i+n, j+m
	}
	return i == len(tok) && j == len(term)
}

// hasToken reports whether some token of s is term (lower-cased).
func hasToken(an analyzer, s, term string) bool {
	t := newTokenizer(an, s)
	for {
		tok, ok := t.next()
		if !ok {
			return false
		}
		if lowerEq(tok, term) {
			return true
		}
	}
}

// hasAnyToken reports whether some token of s is one of terms.
func hasAnyToken(an analyzer, s string, terms []string) bool {
	t := newTokenizer(an, s)
	for {
		tok, ok := t.next()
		if !ok {
			return false
		}
		for _, term := range terms {
			if lowerEq(tok, term) {
				return true
			}
		}
	}
}

// hasPhrase reports whether s has the tokens terms consecutively, in order.
func hasPhrase(an analyzer, s string, terms []string) bool {
	t := newTokenizer(an, s)
	for {
		tok, ok := t.next()
		if !ok {
			return false
		}
		if !lowerEq(tok, terms[0]) {
			continue
		}
		rest := t // a copy: the following tokens
		all := true
		for _, term := range terms[1:] {
			tok, ok := rest.next()
			if !ok {
				return false
			}
			if !lowerEq(tok, term) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
}

// tokenMatches reports whether some token of s, lower-cased, matches m (built from a
// lower-cased pattern, case-insensitive, so that the token need not be copied).
func tokenMatches(an analyzer, s string, m *strMatcher) bool {
	t := newTokenizer(an, s)
	for {
		tok, ok := t.next()
		if !ok {
			return false
		}
		if m.match(tok) {
			return true
		}
	}
}
