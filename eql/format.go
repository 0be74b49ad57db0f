package eql

import (
	"math"
	"strconv"
	"strings"
)

// Format prints a node as canonical EQL on one line. Parsing the result gives the same
// tree (positions aside) for any tree the parser produced: parentheses are added only
// where precedence requires them, names are backquoted when they need it, strings are
// escaped and doubles keep a decimal point or an exponent.
func Format(n Node) string {
	var b strings.Builder
	formatNode(&b, n)
	return b.String()
}

// String returns the statement as canonical EQL (see Format).
func (n *Statement) String() string { return Format(n) }

func formatNode(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case *Statement:
		formatNode(b, n.Query)
		for _, p := range n.Pipes {
			b.WriteString(" | ")
			formatNode(b, p)
		}
	case *Pipe:
		b.WriteString(n.Name)
		for i, a := range n.Args {
			if i == 0 {
				b.WriteByte(' ')
			} else {
				b.WriteString(", ")
			}
			formatExpr(b, a, precLowest)
		}
	case *EventQuery:
		if n.Any {
			b.WriteString("any")
		} else if isPlainName(n.Category) {
			b.WriteString(n.Category)
		} else {
			writeString(b, n.Category)
		}
		b.WriteString(" where ")
		formatExpr(b, n.Where, precLowest)
	case *Sequence:
		b.WriteString("sequence")
		writeKeys(b, n.By)
		if n.MaxSpan != nil {
			b.WriteString(" with maxspan=")
			formatNode(b, n.MaxSpan)
		}
		for _, s := range n.Stages {
			b.WriteByte(' ')
			formatNode(b, s)
		}
		if n.Until != nil {
			b.WriteString(" until ")
			formatNode(b, n.Until)
		}
	case *Sample:
		b.WriteString("sample")
		writeKeys(b, n.By)
		for _, s := range n.Stages {
			b.WriteByte(' ')
			formatNode(b, s)
		}
	case *Stage:
		if n.Missing {
			b.WriteByte('!')
		}
		b.WriteByte('[')
		if n.Query != nil {
			formatNode(b, n.Query)
		}
		b.WriteByte(']')
		writeKeys(b, n.By)
		if n.Runs != 0 {
			b.WriteString(" with runs=")
			b.WriteString(strconv.Itoa(n.Runs))
		}
	case *Duration:
		b.WriteString(strconv.FormatInt(n.Value, 10))
		b.WriteString(n.Unit)
	case Expr:
		formatExpr(b, n, precLowest)
	}
}

func writeKeys(b *strings.Builder, keys []*Field) {
	for i, k := range keys {
		if i == 0 {
			b.WriteString(" by ")
		} else {
			b.WriteString(", ")
		}
		formatExpr(b, k, precLowest)
	}
}

// Precedence levels, lowest first.
const (
	precLowest = iota
	precOr
	precAnd
	precNot
	precCompare
	precAdd
	precMul
	precUnary
	precPredicate
	precPrimary
)

func exprPrec(x Expr) int {
	switch x := x.(type) {
	case *Binary:
		switch x.Op {
		case OpOr:
			return precOr
		case OpAnd:
			return precAnd
		case OpAdd, OpSub:
			return precAdd
		case OpMul, OpDiv, OpMod:
			return precMul
		}
		return precCompare
	case *Not:
		return precNot
	case *Unary:
		return precUnary
	case *Match, *In:
		return precPredicate
	}
	return precPrimary
}

var binaryText = [...]string{
	OpOr: "or", OpAnd: "and", OpEq: "==", OpNeq: "!=", OpLt: "<", OpLte: "<=", OpGt: ">",
	OpGte: ">=", OpAdd: "+", OpSub: "-", OpMul: "*", OpDiv: "/", OpMod: "%",
}

// String returns the operator as written in EQL.
func (op BinaryOp) String() string {
	if int(op) < len(binaryText) {
		return binaryText[op]
	}
	return "?"
}

// String returns the operator as written in EQL.
func (op UnaryOp) String() string {
	if op == UnaryPlus {
		return "+"
	}
	return "-"
}

// text returns the match operator as written, including the ~ suffix.
func (m *Match) opText() string {
	var s string
	switch m.Op {
	case MatchSeq:
		return ":"
	case MatchLike:
		s = "like"
	default:
		s = "regex"
	}
	if m.Insensitive {
		s += "~"
	}
	return s
}

func (n *In) opText() string {
	s := "in"
	if n.Insensitive {
		s += "~"
	}
	if n.Not {
		s = "not " + s
	}
	return s
}

// formatExpr prints x, in parentheses when its precedence is below min.
func formatExpr(b *strings.Builder, x Expr, min int) {
	p := exprPrec(x)
	if p < min {
		b.WriteByte('(')
		defer b.WriteByte(')')
	}
	switch x := x.(type) {
	case *Literal:
		writeLiteral(b, x)
	case *Field:
		if x.Optional {
			b.WriteByte('?')
		}
		writeName(b, x.Name)
	case *Paren:
		b.WriteByte('(')
		formatExpr(b, x.X, precLowest)
		b.WriteByte(')')
	case *Search:
		// Not EQL: a reading aid, as Kibana's rule page shows a rule's query and filters.
		b.WriteString(x.Language)
		b.WriteByte('(')
		writeString(b, x.Source)
		b.WriteByte(')')
	case *Not:
		b.WriteString("not ")
		formatExpr(b, x.X, precNot)
	case *Unary:
		b.WriteString(x.Op.String())
		formatExpr(b, x.X, precUnary)
	case *Binary:
		var left, right int
		switch p {
		case precCompare:
			left, right = precAdd, precAdd
		default:
			left, right = p, p+1
		}
		formatExpr(b, x.X, left)
		b.WriteByte(' ')
		b.WriteString(x.Op.String())
		b.WriteByte(' ')
		formatExpr(b, x.Y, right)
	case *Match:
		formatExpr(b, x.X, precPrimary)
		b.WriteByte(' ')
		b.WriteString(x.opText())
		b.WriteByte(' ')
		if x.List || len(x.Patterns) != 1 {
			writeList(b, x.Patterns, precPrimary)
		} else {
			formatExpr(b, x.Patterns[0], precPrimary)
		}
	case *In:
		formatExpr(b, x.X, precPrimary)
		b.WriteByte(' ')
		b.WriteString(x.opText())
		b.WriteByte(' ')
		writeList(b, x.List, precLowest)
	case *Call:
		b.WriteString(x.Name)
		if x.Insensitive {
			b.WriteByte('~')
		}
		writeList(b, x.Args, precLowest)
	}
}

func writeList(b *strings.Builder, xs []Expr, min int) {
	b.WriteByte('(')
	for i, x := range xs {
		if i > 0 {
			b.WriteString(", ")
		}
		formatExpr(b, x, min)
	}
	b.WriteByte(')')
}

func writeLiteral(b *strings.Builder, l *Literal) {
	switch l.Kind {
	case LitNull:
		b.WriteString("null")
	case LitBool:
		b.WriteString(strconv.FormatBool(l.Bool))
	case LitInt, LitLong:
		b.WriteString(strconv.FormatInt(l.Int, 10))
	case LitDouble:
		b.WriteString(formatDouble(l.Double))
	case LitString:
		writeString(b, l.Str)
	}
}

// formatDouble prints f so that it lexes as a decimal literal again.
func formatDouble(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		// Not representable in EQL; print something that fails loudly when re-parsed.
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// writeString writes s as a double-quoted EQL string.
func writeString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// writeName writes a field name, backquoted when a part of it is not a plain identifier.
func writeName(b *strings.Builder, name string) {
	plain := name != ""
	for seg := range strings.SplitSeq(name, ".") {
		if !isPlainName(seg) {
			plain = false
			break
		}
	}
	if plain {
		b.WriteString(name)
		return
	}
	b.WriteByte('`')
	b.WriteString(strings.ReplaceAll(name, "`", "``"))
	b.WriteByte('`')
}

// isPlainName reports whether s is an identifier that needs no quoting.
func isPlainName(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentPart(s[i]) {
			return false
		}
	}
	_, kw := keywords[s]
	return !kw
}
