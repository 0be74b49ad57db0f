package kql

import (
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Parse parses a KQL query. A blank query parses to *:* (an Is whose field and value are
// lone wildcards), as in Kibana. A syntax error is an *Error.
//
// The parser follows Kibana's PEG grammar rule by rule, including which alternatives it
// tries and where it gives up, so that it accepts exactly the same queries and reports
// a failure with the same expectations at the same place.
func Parse(src string) (Node, error) {
	p := &parser{src: src}
	p.spaces()
	start := p.pos
	q, ok := p.orQuery()
	if !ok {
		p.pos = start
	}
	p.spaces()
	if p.pos != len(p.src) {
		p.fail("end of input")
		return nil, p.error()
	}
	if q == nil {
		pos := p.posAt(start)
		return &Is{Position: pos, Field: newWildcard(pos, []string{"", ""}), Value: newWildcard(pos, []string{"", ""})}, nil
	}
	return q, nil
}

// parser is a backtracking parser over src. Like a peggy parser, it records what it
// expected at the furthest position any rule failed, unless the failure is inside a
// named rule (silent > 0), whose failure is recorded under its name instead.
type parser struct {
	src      string
	pos      int
	silent   int
	failPos  int
	expected []string
	lines    []int // byte offsets at which lines start, computed on first use
}

// fail records that what (an expectation as Kibana's error message words it) was
// expected at the current position.
func (p *parser) fail(what string) {
	if p.silent > 0 || p.pos < p.failPos {
		return
	}
	if p.pos > p.failPos {
		p.failPos = p.pos
		p.expected = p.expected[:0]
	}
	p.expected = append(p.expected, what)
}

func (p *parser) error() *Error {
	exp := append([]string(nil), p.expected...)
	sort.Strings(exp)
	out := exp[:0]
	for i, e := range exp {
		if i == 0 || e != exp[i-1] {
			out = append(out, e)
		}
	}
	e := &Error{Pos: p.posAt(p.failPos), Expected: out}
	if p.failPos < len(p.src) {
		r, size := utf8.DecodeRuneInString(p.src[p.failPos:])
		e.Found = string(r)
		if r == utf8.RuneError && size <= 1 {
			e.Found = p.src[p.failPos : p.failPos+1]
		}
	} else {
		e.AtEnd = true
	}
	return e
}

// posAt returns the position of byte offset off.
func (p *parser) posAt(off int) Pos {
	if p.lines == nil {
		p.lines = []int{0}
		for i := 0; i < len(p.src); i++ {
			if p.src[i] == '\n' {
				p.lines = append(p.lines, i+1)
			}
		}
	}
	line := sort.Search(len(p.lines), func(i int) bool { return p.lines[i] > off }) // first line after
	ls := p.lines[line-1]
	return Pos{Offset: off, Line: line, Column: utf8.RuneCountInString(p.src[ls:off]) + 1}
}

// lit matches the text s, or records it as expected.
func (p *parser) lit(s string) bool {
	if strings.HasPrefix(p.src[p.pos:], s) {
		p.pos += len(s)
		return true
	}
	p.fail(`"` + s + `"`)
	return false
}

// spaceAt returns the length of the whitespace character at i (space, tab, CR, LF,
// U+00A0), or 0.
func (p *parser) spaceAt(i int) int {
	if i >= len(p.src) {
		return 0
	}
	switch p.src[i] {
	case ' ', '\t', '\r', '\n':
		return 1
	case 0xC2:
		if i+1 < len(p.src) && p.src[i+1] == 0xA0 {
			return 2
		}
	}
	return 0
}

// space matches one whitespace character (the rule named "whitespace").
func (p *parser) space() bool {
	if n := p.spaceAt(p.pos); n > 0 {
		p.pos += n
		return true
	}
	p.fail("whitespace")
	return false
}

// spaces matches Space*.
func (p *parser) spaces() {
	for p.space() {
	}
}

// spaces1 matches Space+.
func (p *parser) spaces1() bool {
	if !p.space() {
		return false
	}
	p.spaces()
	return true
}

// foldAt reports whether word (lower-case ASCII) is at i, in any case.
func (p *parser) foldAt(i int, word string) bool {
	return len(p.src)-i >= len(word) && strings.EqualFold(p.src[i:i+len(word)], word)
}

// binaryOp matches Space+ word Space+ (the rules named OR and AND).
func (p *parser) binaryOp(word, name string) bool {
	start := p.pos
	p.silent++
	ok := p.spaces1()
	if ok {
		ok = p.foldAt(p.pos, word)
		if ok {
			p.pos += len(word)
			ok = p.spaces1()
		}
	}
	p.silent--
	if !ok {
		p.pos = start
		p.fail(name)
	}
	return ok
}

// not matches 'not' Space+ (the rule named NOT).
func (p *parser) not() bool {
	start := p.pos
	p.silent++
	ok := p.foldAt(p.pos, "not")
	if ok {
		p.pos += 3
		ok = p.spaces1()
	}
	p.silent--
	if !ok {
		p.pos = start
		p.fail("NOT")
	}
	return ok
}

// orQuery: AndQuery (OR AndQuery)*.
func (p *parser) orQuery() (Node, bool) {
	args, ok := chain(p, "or", "OR", p.andQuery)
	if !ok || len(args) == 1 {
		return first(args), ok
	}
	return &Or{Position: args[0].Pos(), Args: args}, true
}

// andQuery: NotQuery (AND NotQuery)*.
func (p *parser) andQuery() (Node, bool) {
	args, ok := chain(p, "and", "AND", p.notQuery)
	if !ok || len(args) == 1 {
		return first(args), ok
	}
	return &And{Position: args[0].Pos(), Args: args}, true
}

// chain parses next (word next)*: the operands of a run of one binary operator. An operator
// whose right operand does not parse is left unread.
func chain[T any](p *parser, word, name string, next func() (T, bool)) ([]T, bool) {
	head, ok := next()
	if !ok {
		return nil, false
	}
	args := []T{head}
	for {
		save := p.pos
		if !p.binaryOp(word, name) {
			break
		}
		v, ok := next()
		if !ok {
			p.pos = save
			break
		}
		args = append(args, v)
	}
	return args, true
}

// first returns xs[0], or T's zero value when xs is empty.
func first[T any](xs []T) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	return xs[0]
}

// notQuery: NOT SubQuery / SubQuery.
func (p *parser) notQuery() (Node, bool) {
	start := p.pos
	if p.not() {
		if q, ok := p.subQuery(); ok {
			return &Not{Position: p.posAt(start), Arg: q}, true
		}
		p.pos = start
	}
	return p.subQuery()
}

// subQuery: '(' Space* OrQuery Space* ')' / NestedQuery.
func (p *parser) subQuery() (Node, bool) {
	start := p.pos
	if p.lit("(") {
		p.spaces()
		if q, ok := p.orQuery(); ok {
			p.spaces()
			if p.lit(")") {
				return q, true
			}
		}
		p.pos = start
	}
	return p.nestedQuery()
}

// nestedQuery: Field Space* ':' Space* '{' Space* OrQuery Space* '}' / Expression.
func (p *parser) nestedQuery() (Node, bool) {
	start := p.pos
	if f, ok := p.literal("field name"); ok {
		p.spaces()
		if p.lit(":") {
			p.spaces()
			if p.lit("{") {
				p.spaces()
				if q, ok := p.orQuery(); ok {
					p.spaces()
					if p.lit("}") {
						return &Nested{Position: f.Position, Path: f, Query: q}, true
					}
				}
			}
		}
		p.pos = start
	}
	return p.expression()
}

// expression: FieldRangeExpression / FieldValueExpression / ValueExpression.
func (p *parser) expression() (Node, bool) {
	start := p.pos
	if f, ok := p.literal("field name"); ok {
		p.spaces()
		if op, ok := p.rangeOp(); ok {
			p.spaces()
			if v, ok := p.literal("literal"); ok {
				return &Range{Position: f.Position, Field: f, Op: op, Value: v}, true
			}
		}
		p.pos = start
	}
	if f, ok := p.literal("field name"); ok {
		p.spaces()
		if p.lit(":") {
			p.spaces()
			if vs, ok := p.listOfValues(); ok {
				return vs.apply(f, true), true
			}
		}
		p.pos = start
	}
	if v, ok := p.literal("value"); ok {
		return (&values{lit: v}).apply(nil, false), true
	}
	return nil, false
}

// rangeOp: '<=' / '>=' / '<' / '>'.
func (p *parser) rangeOp() (string, bool) {
	for _, op := range [...]string{"<=", ">=", "<", ">"} {
		if p.lit(op) {
			return op, true
		}
	}
	return "", false
}

// values is a value list before it is distributed over its field: a value (lit), or
// "or", "and" or "not" of value lists.
type values struct {
	op   string
	pos  Pos
	args []*values
	lit  *Literal
}

// apply distributes the list over field (nil for free text); direct marks a lone value
// right after the colon, whose Is takes the field's position.
func (v *values) apply(field *Literal, direct bool) Node {
	switch v.op {
	case "or", "and":
		args := make([]Node, len(v.args))
		for i, a := range v.args {
			args[i] = a.apply(field, false)
		}
		if v.op == "or" {
			return &Or{Position: args[0].Pos(), Args: args}
		}
		return &And{Position: args[0].Pos(), Args: args}
	case "not":
		return &Not{Position: v.pos, Arg: v.args[0].apply(field, false)}
	}
	pos := v.lit.Position
	if direct && field != nil {
		pos = field.Position
	}
	return &Is{Position: pos, Field: field, Value: v.lit}
}

// listOfValues: '(' Space* OrListOfValues Space* ')' / Value.
func (p *parser) listOfValues() (*values, bool) {
	start := p.pos
	if p.lit("(") {
		p.spaces()
		if v, ok := p.orValues(); ok {
			p.spaces()
			if p.lit(")") {
				return v, true
			}
		}
		p.pos = start
	}
	l, ok := p.literal("value")
	if !ok {
		return nil, false
	}
	return &values{lit: l}, true
}

// orValues: AndListOfValues (OR AndListOfValues)*.
func (p *parser) orValues() (*values, bool) {
	return p.valuesChain("or", "OR", p.andValues)
}

// andValues: NotListOfValues (AND NotListOfValues)*.
func (p *parser) andValues() (*values, bool) {
	return p.valuesChain("and", "AND", p.notValues)
}

func (p *parser) valuesChain(word, name string, next func() (*values, bool)) (*values, bool) {
	args, ok := chain(p, word, name, next)
	if !ok || len(args) == 1 {
		return first(args), ok
	}
	return &values{op: word, args: args}, true
}

// notValues: NOT ListOfValues / ListOfValues.
func (p *parser) notValues() (*values, bool) {
	start := p.pos
	if p.not() {
		if v, ok := p.listOfValues(); ok {
			return &values{op: "not", pos: p.posAt(start), args: []*values{v}}, true
		}
		p.pos = start
	}
	return p.listOfValues()
}

// literal parses a quoted or unquoted literal: the rules Field ("field name"), Value
// ("value") and Literal ("literal"), which differ only in their name.
func (p *parser) literal(name string) (*Literal, bool) {
	start := p.pos
	p.silent++
	l, ok := p.quoted()
	if !ok {
		l, ok = p.unquoted()
	}
	p.silent--
	if !ok {
		p.pos = start
		p.fail(name)
		return nil, false
	}
	return l, true
}

// quoted parses '"' QuotedCharacter* '"'. Escapes are \t \r \n \uXXXX \\ \"; any other
// backslash is itself.
func (p *parser) quoted() (*Literal, bool) {
	start := p.pos
	if start >= len(p.src) || p.src[start] != '"' {
		return nil, false
	}
	var b chars
	i := start + 1
	for {
		if i >= len(p.src) {
			return nil, false
		}
		c := p.src[i]
		if c == '"' {
			i++
			break
		}
		if c == '\\' {
			if n, r := escapedWhitespace(p.src[i+1:]); n > 0 {
				b.add(r)
				i += 1 + n
				continue
			}
			if r, ok := unicodeEscape(p.src[i+1:]); ok {
				b.add(r)
				i += 6
				continue
			}
			if i+1 < len(p.src) && (p.src[i+1] == '\\' || p.src[i+1] == '"') {
				b.add(rune(p.src[i+1]))
				i += 2
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(p.src[i:])
		b.add(r)
		i += size
	}
	p.pos = i
	return &Literal{Position: p.posAt(start), Kind: String, Value: b.segments()[0], Quoted: true}, true
}

// unquoted parses UnquotedCharacter+: escapes, wildcards and any character that is not
// special (\ ( ) : < > " * { }) and does not start a keyword. The text is trimmed; true,
// false and null become Bool and Null literals.
func (p *parser) unquoted() (*Literal, bool) {
	start := p.pos
	var b chars
	i := start
	for i < len(p.src) {
		c := p.src[i]
		if c == '\\' {
			rest := p.src[i+1:]
			if n, r := escapedWhitespace(rest); n > 0 {
				b.add(r)
				i += 1 + n
				continue
			}
			if rest != "" && isSpecial(rest[0]) {
				b.add(rune(rest[0]))
				i += 2
				continue
			}
			if r, ok := unicodeEscape(rest); ok {
				b.add(r)
				i += 6
				continue
			}
			if kw := escapedKeyword(rest); kw != "" {
				for _, r := range kw {
					b.add(r)
				}
				i += 1 + len(kw)
				continue
			}
			break
		}
		if c == '*' {
			b.wildcard()
			i++
			continue
		}
		if isSpecial(c) || p.keywordAt(i) {
			break
		}
		r, size := utf8.DecodeRuneInString(p.src[i:])
		b.add(r)
		i += size
	}
	if i == start {
		return nil, false
	}
	p.pos = i
	pos := p.posAt(start)
	segs := b.segments()
	segs[0] = strings.TrimLeftFunc(segs[0], isJSSpace)
	segs[len(segs)-1] = strings.TrimRightFunc(segs[len(segs)-1], isJSSpace)
	if len(segs) > 1 {
		return newWildcard(pos, segs), true
	}
	switch segs[0] {
	case "true", "false":
		return &Literal{Position: pos, Kind: Bool, Value: segs[0]}, true
	case "null":
		return &Literal{Position: pos, Kind: Null, Value: segs[0]}, true
	}
	return &Literal{Position: pos, Kind: String, Value: segs[0]}, true
}

// keywordAt reports whether a keyword starts at i: Space 'or' Space, Space 'and' Space or
// 'not' Space (any case).
func (p *parser) keywordAt(i int) bool {
	if n := p.spaceAt(i); n > 0 {
		j := i + n
		if p.foldAt(j, "or") && p.spaceAt(j+2) > 0 {
			return true
		}
		if p.foldAt(j, "and") && p.spaceAt(j+3) > 0 {
			return true
		}
	}
	return p.foldAt(i, "not") && p.spaceAt(i+3) > 0
}

func isSpecial(c byte) bool {
	switch c {
	case '\\', '(', ')', ':', '<', '>', '"', '*', '{', '}':
		return true
	}
	return false
}

// escapedWhitespace reads t, r or n after a backslash.
func escapedWhitespace(rest string) (int, rune) {
	if rest == "" {
		return 0, 0
	}
	switch rest[0] {
	case 't':
		return 1, '\t'
	case 'r':
		return 1, '\r'
	case 'n':
		return 1, '\n'
	}
	return 0, 0
}

// unicodeEscape reads uXXXX after a backslash. The rune may be half of a surrogate
// pair; chars joins the halves.
func unicodeEscape(rest string) (rune, bool) {
	if len(rest) < 5 || rest[0] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range []byte(rest[1:5]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// escapedKeyword returns the keyword (as written) after a backslash, or "".
func escapedKeyword(rest string) string {
	for _, kw := range [...]string{"or", "and", "not"} {
		if len(rest) >= len(kw) && strings.EqualFold(rest[:len(kw)], kw) {
			return rest[:len(kw)]
		}
	}
	return ""
}

// isJSSpace reports whether JavaScript's String.prototype.trim removes r.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// chars accumulates a literal's characters and wildcards.
type chars struct {
	segs []string
	cur  []rune
}

func (c *chars) add(r rune) { c.cur = append(c.cur, r) }

func (c *chars) wildcard() {
	c.segs = append(c.segs, decodeUTF16(c.cur))
	c.cur = c.cur[:0]
}

// segments returns the texts between wildcards.
func (c *chars) segments() []string {
	return append(c.segs, decodeUTF16(c.cur))
}

// decodeUTF16 joins surrogate halves (from \u escapes) into runes; a lone half becomes
// U+FFFD.
func decodeUTF16(rs []rune) string {
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if utf16.IsSurrogate(r) {
			if i+1 < len(rs) {
				if d := utf16.DecodeRune(r, rs[i+1]); d != utf8.RuneError {
					b.WriteRune(d)
					i++
					continue
				}
			}
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}
