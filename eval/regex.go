package eval

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// compileLuceneRegex translates a pattern of Lucene's RegExp dialect (what an
// Elasticsearch regexp query, and so EQL's regex, uses) into an anchored Go regexp:
// Lucene matches the whole value.
//
// The dialect: | union, concatenation, ? * + {n} {n,} {n,m} repeats, ( ) groups
// (possibly empty), [ ] classes with ranges and ^ negation, . any character
// (newlines included), "..." literal strings, \c the literal character c (there are
// no \d \s \w classes: "\d" is the letter d), # the empty language and @ any string.
// Any other character is literal, "*" at the start of a term included. Lucene's
// intersection (&), complement (~) and numeric intervals (<1-10>) have no Go
// equivalent: patterns that use them are rejected with an error rather than
// silently matched differently. Lazy quantifiers do not exist in Lucene: ".*?" is
// ".*" made optional, which matches the same strings.
//
// The error position is a 0-based offset into the pattern, in code points.
func compileLuceneRegex(pattern string, insensitive bool) (*regexp.Regexp, error) {
	p := &lreParser{src: []rune(pattern)}
	body, err := p.union()
	if err != nil {
		return nil, err
	}
	if p.more() {
		return nil, fmt.Errorf("invalid regex [%s]: unexpected %q at position %d", pattern, p.src[p.pos], p.pos)
	}
	flags := "(?s)"
	if insensitive {
		flags = "(?si)"
	}
	re, err := regexp.Compile(flags + `\A(?:` + body + `)\z`)
	if err != nil {
		return nil, fmt.Errorf("invalid regex [%s]: %v", pattern, err)
	}
	return re, nil
}

type lreParser struct {
	src []rune
	pos int
}

func (p *lreParser) more() bool { return p.pos < len(p.src) }

func (p *lreParser) peek(set string) bool {
	return p.more() && strings.ContainsRune(set, p.src[p.pos])
}

func (p *lreParser) match(r rune) bool {
	if p.more() && p.src[p.pos] == r {
		p.pos++
		return true
	}
	return false
}

func (p *lreParser) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid regex [%s]: %s at position %d", string(p.src), fmt.Sprintf(format, args...), p.pos)
}

func (p *lreParser) union() (string, error) {
	left, err := p.inter()
	if err != nil {
		return "", err
	}
	if p.match('|') {
		right, err := p.union()
		if err != nil {
			return "", err
		}
		return left + "|" + right, nil
	}
	return left, nil
}

func (p *lreParser) inter() (string, error) {
	left, err := p.concat()
	if err != nil {
		return "", err
	}
	if p.peek("&") {
		return "", p.errorf("intersection (&) is not supported")
	}
	return left, nil
}

func (p *lreParser) concat() (string, error) {
	var b strings.Builder
	for p.more() && !p.peek(")|&") {
		s, err := p.repeat()
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func (p *lreParser) repeat() (string, error) {
	s, err := p.compl()
	if err != nil {
		return "", err
	}
	for p.peek("?*+{") {
		switch {
		case p.match('?'):
			s = "(?:" + s + ")?"
		case p.match('*'):
			s = "(?:" + s + ")*"
		case p.match('+'):
			s = "(?:" + s + ")+"
		case p.match('{'):
			lo, ok := p.integer()
			if !ok {
				return "", p.errorf("integer expected")
			}
			hi := ""
			comma := p.match(',')
			if comma && !p.peek("}") {
				n, ok := p.integer()
				if !ok {
					return "", p.errorf("integer expected")
				}
				hi = strconv.Itoa(n)
				if n < lo {
					return "", p.errorf("invalid repetition bounds")
				}
			}
			if !p.match('}') {
				return "", p.errorf("expected '}'")
			}
			if lo > 1000 || hi != "" && len(hi) > 4 {
				return "", p.errorf("repetition count above 1000 is not supported")
			}
			switch {
			case !comma:
				s = fmt.Sprintf("(?:%s){%d}", s, lo)
			default:
				s = fmt.Sprintf("(?:%s){%d,%s}", s, lo, hi)
			}
		}
	}
	return s, nil
}

func (p *lreParser) integer() (int, bool) {
	start := p.pos
	for p.more() && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		p.pos++
	}
	if start == p.pos || p.pos-start > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(string(p.src[start:p.pos]))
	return n, err == nil
}

func (p *lreParser) compl() (string, error) {
	if p.peek("~") {
		return "", p.errorf("complement (~) is not supported")
	}
	return p.charClass()
}

func (p *lreParser) charClass() (string, error) {
	if !p.match('[') {
		return p.simple()
	}
	var b strings.Builder
	b.WriteByte('[')
	if p.match('^') {
		b.WriteByte('^')
	}
	first := true
	for first || p.more() && !p.peek("]") {
		first = false
		lo, ok := p.charExp()
		if !ok {
			return "", p.errorf("unexpected end of string in character class")
		}
		b.WriteString(classRune(lo))
		if p.match('-') {
			hi, ok := p.charExp()
			if !ok {
				return "", p.errorf("unexpected end of string in character class")
			}
			if hi < lo {
				return "", p.errorf("invalid range")
			}
			b.WriteByte('-')
			b.WriteString(classRune(hi))
		}
	}
	if !p.match(']') {
		return "", p.errorf("expected ']'")
	}
	b.WriteByte(']')
	return b.String(), nil
}

func classRune(r rune) string { return fmt.Sprintf(`\x{%x}`, r) }

func (p *lreParser) charExp() (rune, bool) {
	p.match('\\')
	if !p.more() {
		return 0, false
	}
	r := p.src[p.pos]
	p.pos++
	return r, true
}

func (p *lreParser) simple() (string, error) {
	switch {
	case p.match('.'):
		return ".", nil
	case p.match('#'):
		return `[^\x00-\x{10FFFF}]`, nil
	case p.match('@'):
		return ".*", nil
	case p.match('"'):
		start := p.pos
		for p.more() && p.src[p.pos] != '"' {
			p.pos++
		}
		if !p.match('"') {
			return "", p.errorf("expected '\"'")
		}
		return "(?:" + regexp.QuoteMeta(string(p.src[start:p.pos-1])) + ")", nil
	case p.match('('):
		if p.match(')') {
			return "(?:)", nil
		}
		s, err := p.union()
		if err != nil {
			return "", err
		}
		if !p.match(')') {
			return "", p.errorf("expected ')'")
		}
		return "(?:" + s + ")", nil
	case p.peek("<"):
		return "", p.errorf("numeric intervals (<n-m>) are not supported")
	}
	r, ok := p.charExp()
	if !ok {
		return "", p.errorf("unexpected end of string")
	}
	if !utf8.ValidRune(r) {
		return "", p.errorf("invalid character")
	}
	return regexp.QuoteMeta(string(r)), nil
}
