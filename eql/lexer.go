package eql

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokenKind classifies a token.
type tokenKind uint8

const (
	tEOF tokenKind = iota
	tIdent
	tTildeIdent  // name~ (a case-insensitive function name)
	tQuotedIdent // `name`
	tString      // "..." or """..."""
	tInt
	tDecimal
	tLParen
	tRParen
	tLBracket
	tRBracket
	tComma
	tDot
	tPipe
	tQuestion
	tBang // ! (only before [ for a missing event)
	tAssign
	tSeq // :
	tEq
	tNeq
	tLt
	tLte
	tGt
	tGte
	tPlus
	tMinus
	tStar
	tSlash
	tPercent

	// Keywords (lower case only, as in Elasticsearch's grammar).
	tAnd
	tAny
	tBy
	tFalse
	tIn
	tInInsensitive
	tJoin
	tLike
	tLikeInsensitive
	tMaxspan
	tNot
	tNull
	tOf
	tOr
	tRegex
	tRegexInsensitive
	tSample
	tSequence
	tTrue
	tUntil
	tWhere
	tWith
)

// keywords maps reserved words to their token kinds. A field or category with one of
// these names must be written with backquotes (or, for a category, as a string).
var keywords = map[string]tokenKind{
	"and": tAnd, "any": tAny, "by": tBy, "false": tFalse, "in": tIn, "join": tJoin,
	"like": tLike, "maxspan": tMaxspan, "not": tNot, "null": tNull, "of": tOf, "or": tOr,
	"regex": tRegex, "sample": tSample, "sequence": tSequence, "true": tTrue,
	"until": tUntil, "where": tWhere, "with": tWith,
}

// tildeKeywords are the keywords that have a case-insensitive "~" form.
var tildeKeywords = map[string]tokenKind{
	"in": tInInsensitive, "like": tLikeInsensitive, "regex": tRegexInsensitive,
}

var kindText = [...]string{
	tEOF: "end of query", tLParen: "(", tRParen: ")", tLBracket: "[", tRBracket: "]",
	tComma: ",", tDot: ".", tPipe: "|", tQuestion: "?", tBang: "!", tAssign: "=",
	tSeq: ":", tEq: "==", tNeq: "!=", tLt: "<", tLte: "<=", tGt: ">", tGte: ">=",
	tPlus: "+", tMinus: "-", tStar: "*", tSlash: "/", tPercent: "%",
	tAnd: "and", tAny: "any", tBy: "by", tFalse: "false", tIn: "in", tInInsensitive: "in~",
	tJoin: "join", tLike: "like", tLikeInsensitive: "like~", tMaxspan: "maxspan", tNot: "not",
	tNull: "null", tOf: "of", tOr: "or", tRegex: "regex", tRegexInsensitive: "regex~",
	tSample: "sample", tSequence: "sequence", tTrue: "true", tUntil: "until",
	tWhere: "where", tWith: "with",
}

// isKeyword reports whether k is a reserved word.
func (k tokenKind) isKeyword() bool { return k >= tAnd }

// token is one lexical unit. Text is the exact source text; Str is the decoded value of
// strings and the unquoted name of quoted identifiers.
type token struct {
	Kind tokenKind
	Pos  Pos
	Text string
	Str  string
}

// describe names a token for an error message.
func (t token) describe() string {
	if t.Kind == tEOF {
		return "end of query"
	}
	text := t.Text
	if utf8.RuneCountInString(text) > 40 {
		r := []rune(text)
		text = string(r[:37]) + "..."
	}
	return "[" + text + "]"
}

// lexer splits a query into tokens, tracking line and column (in code points).
type lexer struct {
	src  string
	off  int
	line int
	col  int
	sb   strings.Builder
}

// lex returns all tokens of src, ending with a tEOF token, or the first lexical error.
func lex(src string) ([]token, error) {
	l := &lexer{src: src, line: 1, col: 1}
	toks := make([]token, 0, len(src)/4+1)
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.Kind == tEOF {
			return toks, nil
		}
	}
}

func (l *lexer) pos() Pos { return Pos{Offset: l.off, Line: l.line, Column: l.col} }

// advance moves n bytes forward, updating line and column.
func (l *lexer) advance(n int) {
	for end := l.off + n; l.off < end; l.off++ {
		c := l.src[l.off]
		if c == '\n' {
			l.line++
			l.col = 1
		} else if c&0xC0 != 0x80 {
			l.col++
		}
	}
}

func (l *lexer) peekByte(i int) byte {
	if l.off+i < len(l.src) {
		return l.src[l.off+i]
	}
	return 0
}

func errorf(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isHex(c byte) bool    { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
func isIdentStart(c byte) bool {
	return isLetter(c) || c == '_' || c == '@'
}
func isIdentPart(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }

// skipSpace skips whitespace and comments.
func (l *lexer) skipSpace() error {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			l.advance(1)
		case c == '/' && l.peekByte(1) == '/':
			end := strings.IndexByte(l.src[l.off:], '\n')
			if end < 0 {
				end = len(l.src) - l.off
			}
			l.advance(end)
		case c == '/' && l.peekByte(1) == '*':
			start := l.pos()
			depth := 0
			for {
				if l.off >= len(l.src) {
					return errorf(start, "Unterminated comment: [/*] has no matching [*/]")
				}
				if l.src[l.off] == '/' && l.peekByte(1) == '*' {
					depth++
					l.advance(2)
				} else if l.src[l.off] == '*' && l.peekByte(1) == '/' {
					depth--
					l.advance(2)
					if depth == 0 {
						break
					}
				} else {
					l.advance(1)
				}
			}
		default:
			return nil
		}
	}
	return nil
}

// next returns the next token.
func (l *lexer) next() (token, error) {
	if err := l.skipSpace(); err != nil {
		return token{}, err
	}
	p := l.pos()
	if l.off >= len(l.src) {
		return token{Kind: tEOF, Pos: p}, nil
	}
	start := l.off
	c := l.src[l.off]
	simple := func(k tokenKind, n int) (token, error) {
		l.advance(n)
		return token{Kind: k, Pos: p, Text: l.src[start:l.off]}, nil
	}
	switch {
	case isIdentStart(c):
		n := 1
		for l.off+n < len(l.src) && isIdentPart(l.src[l.off+n]) {
			n++
		}
		word := l.src[l.off : l.off+n]
		if l.peekByte(n) == '~' {
			l.advance(n + 1)
			if k, ok := tildeKeywords[word]; ok {
				return token{Kind: k, Pos: p, Text: l.src[start:l.off]}, nil
			}
			if _, ok := keywords[word]; ok {
				return token{}, errorf(p, "[%s~] is not valid; [~] follows only function names and [in], [like], [regex]", word)
			}
			return token{Kind: tTildeIdent, Pos: p, Text: l.src[start:l.off], Str: word}, nil
		}
		l.advance(n)
		if k, ok := keywords[word]; ok {
			return token{Kind: k, Pos: p, Text: word}, nil
		}
		return token{Kind: tIdent, Pos: p, Text: word, Str: word}, nil
	case isDigit(c) || c == '.' && isDigit(l.peekByte(1)):
		return l.number(p)
	case c == '"':
		return l.str(p)
	case c == '`':
		return l.quotedIdent(p)
	case c == '\'':
		return token{}, errorf(p, "Use double quotes [\"] to define string literals, not single quotes [']")
	case c == '?':
		if n := l.peekByte(1); n == '"' || n == '\'' {
			return token{}, errorf(p, "Use triple double quotes [\"\"\"] to define unescaped string literals, not [?%c]", n)
		}
		return simple(tQuestion, 1)
	case c == '(':
		return simple(tLParen, 1)
	case c == ')':
		return simple(tRParen, 1)
	case c == '[':
		return simple(tLBracket, 1)
	case c == ']':
		return simple(tRBracket, 1)
	case c == ',':
		return simple(tComma, 1)
	case c == '.':
		return simple(tDot, 1)
	case c == '|':
		return simple(tPipe, 1)
	case c == ':':
		return simple(tSeq, 1)
	case c == '+':
		return simple(tPlus, 1)
	case c == '-':
		return simple(tMinus, 1)
	case c == '*':
		return simple(tStar, 1)
	case c == '/':
		return simple(tSlash, 1)
	case c == '%':
		return simple(tPercent, 1)
	case c == '=':
		if l.peekByte(1) == '=' {
			return simple(tEq, 2)
		}
		return simple(tAssign, 1)
	case c == '!':
		switch l.peekByte(1) {
		case '=':
			return simple(tNeq, 2)
		case ':':
			return token{}, errorf(p, "[!:] is not supported; write [not field : pattern]")
		}
		return simple(tBang, 1)
	case c == '<':
		if l.peekByte(1) == '=' {
			return simple(tLte, 2)
		}
		return simple(tLt, 1)
	case c == '>':
		if l.peekByte(1) == '=' {
			return simple(tGte, 2)
		}
		return simple(tGt, 1)
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	if r == utf8.RuneError {
		return token{}, errorf(p, "Unexpected byte [%#x]", c)
	}
	return token{}, errorf(p, "Unexpected character [%s]", strconv.QuoteRune(r))
}

// number lexes INTEGER_VALUE (digits) or DECIMAL_VALUE (digits with a fraction and/or an
// exponent, or a leading dot).
func (l *lexer) number(p Pos) (token, error) {
	s := l.src
	i := l.off
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	decimal := false
	if i < len(s) && s[i] == '.' {
		decimal = true
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			i = j
			decimal = true
		}
	}
	start := l.off
	l.advance(i - start)
	k := tInt
	if decimal {
		k = tDecimal
	}
	return token{Kind: k, Pos: p, Text: s[start:i]}, nil
}

// quotedIdent lexes `name`, where a doubled backquote stands for one backquote.
func (l *lexer) quotedIdent(p Pos) (token, error) {
	start := l.off
	l.sb.Reset()
	i := l.off + 1
	for {
		j := strings.IndexByte(l.src[i:], '`')
		if j < 0 {
			return token{}, errorf(p, "Unterminated quoted identifier: missing closing [`]")
		}
		l.sb.WriteString(l.src[i : i+j])
		i += j + 1
		if i < len(l.src) && l.src[i] == '`' {
			l.sb.WriteByte('`')
			i++
			continue
		}
		break
	}
	l.advance(i - start)
	return token{Kind: tQuotedIdent, Pos: p, Text: l.src[start:i], Str: l.sb.String()}, nil
}

// str lexes a double-quoted string with escapes, or a raw """...""" string.
func (l *lexer) str(p Pos) (token, error) {
	s := l.src
	start := l.off
	if strings.HasPrefix(s[start:], `"""`) {
		i := start + 3
		end := strings.Index(s[i:], `"""`)
		if end < 0 {
			return token{}, errorf(p, `Unterminated raw string: missing closing ["""]`)
		}
		end += i
		// Up to two quotes right before the closing """ belong to the content.
		extra := 0
		for extra < 2 && end+3+extra < len(s) && s[end+3+extra] == '"' {
			extra++
		}
		end += extra
		l.advance(end + 3 - start)
		return token{Kind: tString, Pos: p, Text: s[start:l.off], Str: s[i:end]}, nil
	}
	l.sb.Reset()
	i := start + 1
	for {
		if i >= len(s) {
			return token{}, errorf(p, "Unterminated string: missing closing [\"]")
		}
		c := s[i]
		switch c {
		case '"':
			l.advance(i + 1 - start)
			return token{Kind: tString, Pos: p, Text: s[start:l.off], Str: l.sb.String()}, nil
		case '\n', '\r':
			return token{}, errorf(p, "Unterminated string: a line break must be written [\\n] or [\\r] inside [\"...\"]; use [\"\"\"...\"\"\"] for multi-line text")
		case '\\':
			if i+1 >= len(s) {
				return token{}, errorf(p, "Unterminated string: missing closing [\"]")
			}
			e := s[i+1]
			switch e {
			case 't':
				l.sb.WriteByte('\t')
			case 'b':
				l.sb.WriteByte('\b')
			case 'f':
				l.sb.WriteByte('\f')
			case 'n':
				l.sb.WriteByte('\n')
			case 'r':
				l.sb.WriteByte('\r')
			case '"':
				l.sb.WriteByte('"')
			case '\'':
				l.sb.WriteByte('\'')
			case '\\':
				l.sb.WriteByte('\\')
			case 'u':
				n, err := l.unicodeEscape(p, i)
				if err != nil {
					return token{}, err
				}
				i += n
				continue
			case '\n', '\r':
				return token{}, errorf(p, "Unterminated string: missing closing [\"]")
			default:
				// Unknown escapes are kept as written, backslash included.
				l.sb.WriteByte('\\')
				l.sb.WriteByte(e)
			}
			i += 2
		default:
			l.sb.WriteByte(c)
			i++
		}
	}
}

// unicodeEscape decodes \uXXXX or \u{X..X} (2 to 8 hex digits) starting at s[i] == '\\'
// and returns the number of bytes consumed.
func (l *lexer) unicodeEscape(p Pos, i int) (int, error) {
	s := l.src
	var hex string
	var n int
	if i+2 < len(s) && s[i+2] == '{' {
		j := i + 3
		for j < len(s) && isHex(s[j]) {
			j++
		}
		if j >= len(s) || s[j] != '}' || j == i+3 {
			return 0, errorf(p, "Invalid unicode escape [%s]: expected [\\u{X...}] with 2 to 8 hex digits", clip(s[i:min(j+1, len(s))]))
		}
		hex = s[i+3 : j]
		n = j + 1 - i
		if len(hex) < 2 || len(hex) > 8 {
			return 0, errorf(p, "Unicode sequence in curly braces should use [2-8] hex digits, [%s] has [%d]", s[i:j+1], len(hex))
		}
	} else {
		j := i + 2
		for j < len(s) && j < i+6 && isHex(s[j]) {
			j++
		}
		if j != i+6 {
			return 0, errorf(p, "Invalid unicode escape [%s]: expected [\\uXXXX] or [\\u{X...}]", clip(s[i:min(j+1, len(s))]))
		}
		hex = s[i+2 : j]
		n = 6
	}
	code, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || code > utf8.MaxRune {
		return 0, errorf(p, "Invalid unicode character code [%s]", hex)
	}
	if code == 0 {
		return 0, errorf(p, "Unicode sequence results in null")
	}
	if code >= 0xD800 && code <= 0xDFFF {
		return 0, errorf(p, "Invalid unicode character code, [%s] is a surrogate code", hex)
	}
	l.sb.WriteRune(rune(code))
	return n, nil
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}
