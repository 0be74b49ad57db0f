package eval

import (
	"math/bits"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxRegexPatterns bounds the wildcard patterns a regular expression may expand into.
const maxRegexPatterns = 256

// regexTest returns a test equivalent to re.MatchString (re anchored at both ends, as
// compileLuceneRegex makes it), faster where the expression allows:
//
//   - an expression made only of literal text, "any string" (.*), "one character or more"
//     (.+), small character sets, optional parts and alternations of such
//     (".*\.(top|xyz|buzz)", as detection rules write domain lists) becomes the wildcard
//     patterns it stands for ("*.top", "*.xyz", "*.buzz"), matched by a strMatcher;
//   - otherwise, when every match must contain some bytes (the ':' and '.' of
//     ".*[0-9]+\.[0-9]+:[0-9]+.*"), a value lacking one of them is rejected with a byte
//     search before the regular expression runs.
//
// Case-insensitive literals are left to the regexp package (its folding also folds 'k'
// with the Kelvin sign); character sets are used as the parser wrote them out, every case
// included.
func regexTest(re *regexp.Regexp) func(string) bool {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return re.MatchString
	}
	tree = tree.Simplify()
	if pats, ok := regexWildcards(tree); ok {
		m := newStrMatcher(false)
		for _, p := range pats {
			m.addWildcard(p, true)
		}
		return m.done().match
	}
	bytes, sets := requiredBytes(tree)
	first, firstOK := edgeSet(tree, false)
	last, lastOK := edgeSet(tree, true)
	if len(bytes) == 0 && len(sets) == 0 && !firstOK && !lastOK {
		return re.MatchString
	}
	return func(s string) bool {
		if (firstOK || lastOK) && len(s) == 0 ||
			firstOK && !first.has(s[0]) || lastOK && !last.has(s[len(s)-1]) {
			return false
		}
		for _, b := range bytes {
			if strings.IndexByte(s, b) < 0 {
				return false
			}
		}
		for i := range sets {
			if !sets[i].in(s) {
				return false
			}
		}
		return re.MatchString(s)
	}
}

// regexWildcards returns the wildcard patterns (with backslash escapes) whose union
// matches exactly what the anchored expression re matches, when re is the concatenation,
// between \A and \z, of literals, small character sets, .* (with (?s): any string), .+,
// optional parts and alternations of such.
func regexWildcards(re *syntax.Regexp) ([]string, bool) {
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 ||
		re.Sub[0].Op != syntax.OpBeginText || re.Sub[len(re.Sub)-1].Op != syntax.OpEndText {
		return nil, false
	}
	body := &syntax.Regexp{Op: syntax.OpConcat, Sub: re.Sub[1 : len(re.Sub)-1]}
	return expandWildcards(body)
}

// expandWildcards returns the patterns re stands for (see regexWildcards).
func expandWildcards(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		var b strings.Builder
		for _, r := range re.Rune {
			if r == utf8.RuneError { // the regexp reads each invalid byte as one
				return nil, false
			}
			b.WriteString(expandLiteralRune(r))
		}
		return []string{b.String()}, true
	case syntax.OpCharClass:
		// a few single characters (what Simplify makes of "cc|cf": c[cf])
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1]-re.Rune[i] > 8 {
				return nil, false
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if !utf8.ValidRune(r) || r == utf8.RuneError {
					return nil, false
				}
				out = append(out, expandLiteralRune(r))
			}
		}
		return out, len(out) > 0 && len(out) <= 16
	case syntax.OpStar:
		if re.Sub[0].Op == syntax.OpAnyChar {
			return []string{"*"}, true
		}
	case syntax.OpPlus:
		if re.Sub[0].Op == syntax.OpAnyChar {
			return []string{"?*"}, true // one character, then any
		}
	case syntax.OpQuest:
		parts, ok := expandWildcards(re.Sub[0])
		if !ok || len(parts)+1 > maxRegexPatterns {
			return nil, false
		}
		return append([]string{""}, parts...), true
	case syntax.OpCapture:
		return expandWildcards(re.Sub[0])
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range re.Sub {
			parts, ok := expandWildcards(sub)
			if !ok || len(out)*len(parts) > maxRegexPatterns {
				return nil, false
			}
			next := make([]string, 0, len(out)*len(parts))
			for _, o := range out {
				for _, p := range parts {
					next = append(next, o+p)
				}
			}
			out = next
		}
		return out, true
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			parts, ok := expandWildcards(sub)
			if !ok || len(out)+len(parts) > maxRegexPatterns {
				return nil, false
			}
			out = append(out, parts...)
		}
		return out, true
	}
	return nil, false
}

// expandLiteralRune returns the wildcard pattern of one literal character: "*", "?" and a
// backslash escaped.
func expandLiteralRune(r rune) string {
	if r == '*' || r == '?' || r == '\\' {
		return `\` + string(r)
	}
	return string(r)
}

// maxRequiredSets bounds the byte sets (of more than one byte) regexTest checks before the
// regular expression runs: each costs a scan of the value.
const maxRequiredSets = 2

// requiredBytes returns what every string re matches contains: some ASCII bytes (from its
// literals), in no particular order, and, for at most maxRequiredSets byte sets (from its
// character classes, "\s", and case-insensitive letters), a byte of each, smallest sets
// first.
func requiredBytes(re *syntax.Regexp) ([]byte, []byteSet) {
	var single byteSet
	var sets []byteSet
	for _, set := range required(re) {
		switch n := set.len(); {
		case n == 1:
			single[0] |= set[0]
			single[1] |= set[1]
		case !slices.Contains(sets, set):
			sets = append(sets, set)
		}
	}
	var bytes []byte
	for b := range 128 {
		if single.has(byte(b)) {
			bytes = append(bytes, byte(b))
		}
	}
	// A set holding a required byte is implied by it.
	sets = slices.DeleteFunc(sets, func(set byteSet) bool { return set[0]&single[0] != 0 || set[1]&single[1] != 0 })
	slices.SortStableFunc(sets, func(a, b byteSet) int { return a.len() - b.len() })
	return bytes, sets[:min(len(sets), maxRequiredSets)]
}

// byteSet is a set of ASCII bytes, as a bitmap.
type byteSet [2]uint64

func (s *byteSet) add(b byte)      { s[b>>6] |= 1 << (b & 63) }
func (s *byteSet) has(b byte) bool { return b < 128 && s[b>>6]&(1<<(b&63)) != 0 }
func (s *byteSet) len() int        { return bits.OnesCount64(s[0]) + bits.OnesCount64(s[1]) }

// in reports whether v holds a byte of the set.
func (s *byteSet) in(v string) bool {
	for i := 0; i < len(v); i++ {
		if s.has(v[i]) {
			return true
		}
	}
	return false
}

// required returns byte sets such that every match of re holds a byte of each: its
// case-sensitive literal characters (a set of one byte), the case-insensitive ones whose
// every case is ASCII (not k and s, which fold with the Kelvin sign and the long s), its
// character classes of ASCII characters only. An alternation requires, of each of its
// branches, the smallest set, together.
func required(re *syntax.Regexp) []byteSet {
	switch re.Op {
	case syntax.OpLiteral:
		var out []byteSet
		for _, r := range re.Rune {
			var set byteSet
			f := r
			for {
				if f >= 128 {
					set = byteSet{} // a case outside ASCII: no requirement from this character
					break
				}
				set.add(byte(f))
				if re.Flags&syntax.FoldCase == 0 {
					break
				}
				if f = unicode.SimpleFold(f); f == r {
					break
				}
			}
			if set.len() > 0 {
				out = append(out, set)
			}
		}
		return out
	case syntax.OpCharClass:
		var set byteSet
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1] >= 128 {
				return nil
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				set.add(byte(r))
			}
		}
		if set.len() == 0 {
			return nil
		}
		return []byteSet{set}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		var out []byteSet
		for _, sub := range re.Sub {
			out = append(out, required(sub)...)
		}
		return out
	case syntax.OpAlternate:
		var union byteSet
		for _, sub := range re.Sub {
			best := -1
			rs := required(sub)
			for i := range rs {
				if best < 0 || rs[i].len() < rs[best].len() {
					best = i
				}
			}
			if best < 0 {
				return nil
			}
			union[0] |= rs[best][0]
			union[1] |= rs[best][1]
		}
		return []byteSet{union}
	}
	return nil
}

// edgeSet returns the ASCII bytes the first (with last, the last) byte of every match of
// re is one of, when re is anchored at that end (\A, \z: every expression regexTest is
// given is) and cannot match the empty string; ok is false otherwise, or when the edge
// character may be one outside ASCII.
func edgeSet(re *syntax.Regexp, last bool) (set byteSet, ok bool) {
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 {
		return set, false
	}
	anchor, rest := re.Sub[0], re.Sub[1:]
	if last {
		anchor, rest = re.Sub[len(re.Sub)-1], re.Sub[:len(re.Sub)-1]
	}
	if !last && anchor.Op != syntax.OpBeginText || last && anchor.Op != syntax.OpEndText {
		return set, false
	}
	if set, ok = edge(&syntax.Regexp{Op: syntax.OpConcat, Sub: rest}, last); !ok {
		return byteSet{}, false
	}
	return set, true
}

// edge is edgeSet for an unanchored expression: the set of bytes its matches begin (end)
// with.
func edge(re *syntax.Regexp, last bool) (set byteSet, ok bool) {
	if nullable(re) {
		return set, false
	}
	switch re.Op {
	case syntax.OpLiteral:
		r := re.Rune[0]
		if last {
			r = re.Rune[len(re.Rune)-1]
		}
		for f := r; ; {
			if f >= 128 {
				return set, false
			}
			set.add(byte(f))
			if re.Flags&syntax.FoldCase == 0 {
				break
			}
			if f = unicode.SimpleFold(f); f == r {
				break
			}
		}
		return set, true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1] >= 128 {
				return set, false
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				set.add(byte(r))
			}
		}
		return set, true
	case syntax.OpCapture, syntax.OpPlus, syntax.OpRepeat:
		return edge(re.Sub[0], last)
	case syntax.OpConcat:
		// The first (last) part that is not empty-width decides, if it cannot be empty.
		subs := re.Sub
		for len(subs) > 0 {
			i := 0
			if last {
				i = len(subs) - 1
			}
			if !zeroWidth(subs[i]) {
				return edge(subs[i], last)
			}
			if last {
				subs = subs[:i]
			} else {
				subs = subs[1:]
			}
		}
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			s, ok := edge(sub, last)
			if !ok {
				return set, false
			}
			set[0] |= s[0]
			set[1] |= s[1]
		}
		return set, true
	}
	return set, false
}

// zeroWidth reports whether re only ever matches the empty string.
func zeroWidth(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	case syntax.OpCapture:
		return zeroWidth(re.Sub[0])
	}
	return false
}

// nullable reports whether re can match the empty string.
func nullable(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL, syntax.OpNoMatch:
		return false
	case syntax.OpCapture, syntax.OpPlus:
		return nullable(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || nullable(re.Sub[0])
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !nullable(sub) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if nullable(sub) {
				return true
			}
		}
		return false
	}
	return true // empty matches, anchors, star, quest
}
