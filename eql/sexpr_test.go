package eql

import (
	"fmt"
	"strconv"
	"strings"
)

// sexpr dumps a tree as an S-expression that shows its exact shape, for tests.
func sexpr(n Node) string {
	var b strings.Builder
	writeSexpr(&b, n)
	return b.String()
}

func writeSexpr(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case *Statement:
		writeSexpr(b, n.Query)
		for _, p := range n.Pipes {
			b.WriteString(" |")
			writeSexpr(b, p)
		}
	case *Pipe:
		fmt.Fprintf(b, "(%s", n.Name)
		for _, a := range n.Args {
			b.WriteByte(' ')
			writeSexpr(b, a)
		}
		b.WriteByte(')')
	case *EventQuery:
		cat := strconv.Quote(n.Category)
		if n.Any {
			cat = "any"
		}
		fmt.Fprintf(b, "(event %s ", cat)
		writeSexpr(b, n.Where)
		b.WriteByte(')')
	case *Sequence:
		b.WriteString("(sequence")
		keysSexpr(b, n.By)
		if n.MaxSpan != nil {
			fmt.Fprintf(b, " maxspan=%d%s", n.MaxSpan.Value, n.MaxSpan.Unit)
		}
		for _, s := range n.Stages {
			b.WriteByte(' ')
			writeSexpr(b, s)
		}
		if n.Until != nil {
			b.WriteString(" until ")
			writeSexpr(b, n.Until)
		}
		b.WriteByte(')')
	case *Sample:
		b.WriteString("(sample")
		keysSexpr(b, n.By)
		for _, s := range n.Stages {
			b.WriteByte(' ')
			writeSexpr(b, s)
		}
		b.WriteByte(')')
	case *Stage:
		b.WriteString("[")
		if n.Missing {
			b.WriteString("missing ")
		}
		writeSexpr(b, n.Query)
		keysSexpr(b, n.By)
		if n.Runs != 0 {
			fmt.Fprintf(b, " runs=%d", n.Runs)
		}
		b.WriteString("]")
	case *Literal:
		switch n.Kind {
		case LitNull:
			b.WriteString("null")
		case LitBool:
			b.WriteString(strconv.FormatBool(n.Bool))
		case LitInt:
			fmt.Fprintf(b, "%di", n.Int)
		case LitLong:
			fmt.Fprintf(b, "%dL", n.Int)
		case LitDouble:
			fmt.Fprintf(b, "%gd", n.Double)
		case LitString:
			b.WriteString(strconv.Quote(n.Str))
		}
	case *Field:
		if n.Optional {
			b.WriteByte('?')
		}
		fmt.Fprintf(b, "<%s>", n.Name)
	case *Unary:
		fmt.Fprintf(b, "(%s ", n.Op)
		writeSexpr(b, n.X)
		b.WriteByte(')')
	case *Not:
		b.WriteString("(not ")
		writeSexpr(b, n.X)
		b.WriteByte(')')
	case *Paren:
		b.WriteString("(paren ")
		writeSexpr(b, n.X)
		b.WriteByte(')')
	case *Binary:
		fmt.Fprintf(b, "(%s ", n.Op)
		writeSexpr(b, n.X)
		b.WriteByte(' ')
		writeSexpr(b, n.Y)
		b.WriteByte(')')
	case *Match:
		fmt.Fprintf(b, "(%s ", n.opText())
		writeSexpr(b, n.X)
		if n.List {
			b.WriteString(" list")
		}
		for _, p := range n.Patterns {
			b.WriteByte(' ')
			writeSexpr(b, p)
		}
		b.WriteByte(')')
	case *In:
		fmt.Fprintf(b, "(%s ", n.opText())
		writeSexpr(b, n.X)
		for _, p := range n.List {
			b.WriteByte(' ')
			writeSexpr(b, p)
		}
		b.WriteByte(')')
	case *Call:
		b.WriteString("(call " + n.Name)
		if n.Insensitive {
			b.WriteByte('~')
		}
		for _, a := range n.Args {
			b.WriteByte(' ')
			writeSexpr(b, a)
		}
		b.WriteByte(')')
	}
}

func keysSexpr(b *strings.Builder, keys []*Field) {
	if len(keys) == 0 {
		return
	}
	b.WriteString(" by")
	for _, k := range keys {
		b.WriteByte(' ')
		writeSexpr(b, k)
	}
}
