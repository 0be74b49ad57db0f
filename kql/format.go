package kql

import (
	"fmt"
	"strings"
)

// Format returns n in canonical KQL: one line, keywords in lower case, f:v and
// p:{ q } without spaces around the colon, ranges as f >= v, parentheses only where the
// tree needs them (a nested or / and keeps its group, not of not is written
// not (not x)), values quoted only when they were. Value lists come out distributed
// (f:a or f:b), as the parser builds them. For any tree Parse returns, Parse(Format(n))
// is the same tree (see Equal).
func Format(n Node) string {
	var b strings.Builder
	writeNode(&b, n)
	return b.String()
}

// String returns Format(n).
func (n *Or) String() string { return Format(n) }

// String returns Format(n).
func (n *And) String() string { return Format(n) }

// String returns Format(n).
func (n *Not) String() string { return Format(n) }

// String returns Format(n).
func (n *Is) String() string { return Format(n) }

// String returns Format(n).
func (n *Range) String() string { return Format(n) }

// String returns Format(n).
func (n *Nested) String() string { return Format(n) }

// String returns the literal as KQL writes it: quoted if it was, else with the escapes
// an unquoted literal needs.
func (l *Literal) String() string {
	var b strings.Builder
	writeLiteral(&b, l)
	return b.String()
}

func writeNode(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case *Or:
		writeList(b, n.Args, " or ", func(a Node) bool { _, ok := a.(*Or); return ok })
	case *And:
		writeList(b, n.Args, " and ", func(a Node) bool {
			switch a.(type) {
			case *Or, *And:
				return true
			}
			return false
		})
	case *Not:
		b.WriteString("not ")
		switch n.Arg.(type) {
		case *Or, *And, *Not:
			writeGroup(b, n.Arg)
		default:
			writeNode(b, n.Arg)
		}
	case *Is:
		if n.Field != nil {
			writeLiteral(b, n.Field)
			b.WriteByte(':')
		}
		writeLiteral(b, n.Value)
	case *Range:
		writeLiteral(b, n.Field)
		b.WriteString(" " + n.Op + " ")
		writeLiteral(b, n.Value)
	case *Nested:
		writeLiteral(b, n.Path)
		b.WriteString(":{ ")
		writeNode(b, n.Query)
		b.WriteString(" }")
	default:
		fmt.Fprintf(b, "<%T>", n)
	}
}

func writeList(b *strings.Builder, args []Node, sep string, group func(Node) bool) {
	for i, a := range args {
		if i > 0 {
			b.WriteString(sep)
		}
		if group(a) {
			writeGroup(b, a)
		} else {
			writeNode(b, a)
		}
	}
}

func writeGroup(b *strings.Builder, n Node) {
	b.WriteByte('(')
	writeNode(b, n)
	b.WriteByte(')')
}

func writeLiteral(b *strings.Builder, l *Literal) {
	switch {
	case l == nil:
		b.WriteString(`""`)
	case l.Kind == Bool || l.Kind == Null:
		b.WriteString(l.Value)
	case l.Kind == Wildcard:
		for i, s := range l.Segments {
			if i > 0 {
				b.WriteByte('*')
			}
			writeUnquoted(b, s)
		}
	case l.Quoted || !unquotable(l.Value):
		writeQuoted(b, l.Value)
	case l.Value == "":
		// An unquoted literal trims to nothing only when it is all escaped whitespace.
		b.WriteString(`\t`)
	default:
		writeUnquoted(b, l.Value)
	}
}

// unquotable reports whether an unquoted string literal can hold s: the parser trims
// unquoted text and reads true, false and null as other kinds.
func unquotable(s string) bool {
	if s == "true" || s == "false" || s == "null" {
		return false
	}
	return strings.TrimFunc(s, isJSSpace) == s
}

func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// writeUnquoted writes s escaped for an unquoted literal: specials and whitespace other
// than the space get a backslash form, and a keyword that could end the literal (or,
// and, not next to whitespace or an edge of s) is escaped.
func writeUnquoted(b *strings.Builder, s string) {
	rs := []rune(s)
	space := func(i int) bool { return i < 0 || i >= len(rs) || isJSSpace(rs[i]) }
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if isKeyword(rs, i, "not") && space(i+3) {
			// not needs no whitespace before it to be a keyword: "cannot be". A \n would
			// read as a line feed, so a lower-case n is written \u006e.
			if r == 'n' {
				b.WriteString(`\u006e`)
			} else {
				b.WriteByte('\\')
				b.WriteRune(r)
			}
			b.WriteString(string(rs[i+1 : i+3]))
			i += 2
			continue
		}
		if kw := orAnd(rs, i); kw > 0 && space(i-1) && space(i+kw) {
			b.WriteByte('\\')
			b.WriteString(string(rs[i : i+kw]))
			i += kw - 1
			continue
		}
		switch r {
		case '\\', '(', ')', ':', '<', '>', '"', '*', '{', '}':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '\n':
			b.WriteString(`\n`)
		case 0xA0:
			b.WriteString(`\u00a0`)
		default:
			b.WriteRune(r)
		}
	}
}

// isKeyword reports whether rs holds kw (lower case) at i, in any case.
func isKeyword(rs []rune, i int, kw string) bool {
	if i+len(kw) > len(rs) {
		return false
	}
	for j, c := range []byte(kw) {
		if r := rs[i+j]; r != rune(c) && r != rune(c-'a'+'A') {
			return false
		}
	}
	return true
}

// orAnd returns the length of the keyword or / and at rs[i], or 0.
func orAnd(rs []rune, i int) int {
	switch {
	case isKeyword(rs, i, "or"):
		return 2
	case isKeyword(rs, i, "and"):
		return 3
	}
	return 0
}
