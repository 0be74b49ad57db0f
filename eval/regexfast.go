package eval

import (
	"regexp"
	"regexp/syntax"
	"strings"
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
	if req := requiredBytes(tree); len(req) > 0 {
		return func(s string) bool {
			for _, b := range req {
				if strings.IndexByte(s, b) < 0 {
					return false
				}
			}
			return re.MatchString(s)
		}
	}
	return re.MatchString
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

// requiredBytes returns ASCII bytes every string re matches contains (from its
// case-sensitive literals), in no particular order.
func requiredBytes(re *syntax.Regexp) []byte {
	set := required(re)
	var out []byte
	for b := 0; b < 128; b++ {
		if set[b/64]&(1<<(b%64)) != 0 {
			out = append(out, byte(b))
		}
	}
	return out
}

// required returns, as a bitmap, the ASCII bytes every match of re contains.
func required(re *syntax.Regexp) [2]uint64 {
	var set [2]uint64
	add := func(r rune) {
		if r < 128 {
			set[r/64] |= 1 << (r % 64)
		}
	}
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase == 0 {
			for _, r := range re.Rune {
				add(r)
			}
		}
	case syntax.OpCharClass:
		if len(re.Rune) == 2 && re.Rune[0] == re.Rune[1] {
			add(re.Rune[0])
		}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			s := required(sub)
			set[0] |= s[0]
			set[1] |= s[1]
		}
	case syntax.OpAlternate:
		for i, sub := range re.Sub {
			s := required(sub)
			if i == 0 {
				set = s
			} else {
				set[0] &= s[0]
				set[1] &= s[1]
			}
		}
	}
	return set
}
