package eql

import (
	"bytes"
	"encoding/json"
	"math"
)

// ToJSON renders a node as an indented, tagged JSON tree for tools and for
// "tripline parse --format json". Every object has a "type" ("statement", "event",
// "sequence", "sample", "stage", "pipe", "literal", "field", "unary", "not", "binary",
// "match", "in", "call", "paren", "search") and a "pos" with line, column and byte offset. Trees
// nested deeper than a few hundred levels are returned compact rather than indented.
func ToJSON(n Node) ([]byte, error) {
	var flat bytes.Buffer
	depth, err := writeJSON(&flat, jsonNode(n), 0)
	if err != nil {
		return nil, err
	}
	if depth > maxIndentDepth {
		// Indenting a very deep tree would make the output quadratic in its depth.
		return flat.Bytes(), nil
	}
	var out bytes.Buffer
	if err := json.Indent(&out, flat.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// object is a JSON object that keeps its keys in insertion order.
type object []member

type member struct {
	key string
	val any
}

// maxIndentDepth is the nesting depth above which ToJSON returns compact JSON.
const maxIndentDepth = 200

// writeJSON encodes v in one pass (nested json.Marshal calls would be quadratic in the
// depth of the tree) and returns the maximum nesting depth it met.
func writeJSON(b *bytes.Buffer, v any, depth int) (int, error) {
	maxd := depth
	switch v := v.(type) {
	case object:
		b.WriteByte('{')
		for i, m := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(m.key)
			b.Write(k)
			b.WriteByte(':')
			d, err := writeJSON(b, m.val, depth+1)
			if err != nil {
				return 0, err
			}
			maxd = max(maxd, d)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			d, err := writeJSON(b, x, depth+1)
			if err != nil {
				return 0, err
			}
			maxd = max(maxd, d)
		}
		b.WriteByte(']')
	default:
		enc, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		b.Write(enc)
	}
	return maxd, nil
}

func exprsJSON(xs []Expr) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = jsonNode(x)
	}
	return out
}

func fieldsJSON(fs []*Field) []any {
	out := make([]any, len(fs))
	for i, f := range fs {
		out[i] = jsonNode(f)
	}
	return out
}

func jsonNode(n Node) any {
	switch n := n.(type) {
	case nil:
		return nil
	case *Statement:
		pipes := make([]any, len(n.Pipes))
		for i, p := range n.Pipes {
			pipes[i] = jsonNode(p)
		}
		return object{{"type", "statement"}, {"query", jsonNode(n.Query)}, {"pipes", pipes}}
	case *Pipe:
		return object{{"type", "pipe"}, {"pos", n.At}, {"name", n.Name}, {"args", exprsJSON(n.Args)}}
	case *EventQuery:
		if n == nil {
			return nil
		}
		o := object{{"type", "event"}, {"pos", n.At}}
		if n.Any {
			o = append(o, member{"any", true})
		} else {
			o = append(o, member{"category", n.Category})
		}
		return append(o, member{"where", jsonNode(n.Where)})
	case *Sequence:
		stages := make([]any, len(n.Stages))
		for i, s := range n.Stages {
			stages[i] = jsonNode(s)
		}
		o := object{{"type", "sequence"}, {"pos", n.At}, {"by", fieldsJSON(n.By)}}
		if n.MaxSpan != nil {
			o = append(o, member{"maxspan", object{{"pos", n.MaxSpan.At}, {"value", n.MaxSpan.Value}, {"unit", n.MaxSpan.Unit}, {"millis", n.MaxSpan.Std().Milliseconds()}}})
		}
		o = append(o, member{"stages", stages})
		if n.Until != nil {
			o = append(o, member{"until", jsonNode(n.Until)})
		}
		return o
	case *Sample:
		stages := make([]any, len(n.Stages))
		for i, s := range n.Stages {
			stages[i] = jsonNode(s)
		}
		return object{{"type", "sample"}, {"pos", n.At}, {"by", fieldsJSON(n.By)}, {"stages", stages}}
	case *Stage:
		o := object{{"type", "stage"}, {"pos", n.At}}
		if n.Missing {
			o = append(o, member{"missing", true})
		}
		o = append(o, member{"query", jsonNode(n.Query)}, member{"by", fieldsJSON(n.By)})
		if n.Runs != 0 {
			o = append(o, member{"runs", n.Runs})
		}
		return o
	case *Duration:
		return object{{"type", "duration"}, {"pos", n.At}, {"value", n.Value}, {"unit", n.Unit}}
	case *Literal:
		o := object{{"type", "literal"}, {"pos", n.At}}
		switch n.Kind {
		case LitNull:
			return append(o, member{"kind", "null"}, member{"value", nil})
		case LitBool:
			return append(o, member{"kind", "boolean"}, member{"value", n.Bool})
		case LitInt:
			return append(o, member{"kind", "integer"}, member{"value", n.Int})
		case LitLong:
			return append(o, member{"kind", "long"}, member{"value", n.Int})
		case LitDouble:
			var v any = n.Double
			if math.IsInf(n.Double, 0) || math.IsNaN(n.Double) {
				v = formatDouble(n.Double)
			}
			return append(o, member{"kind", "double"}, member{"value", v})
		default:
			return append(o, member{"kind", "string"}, member{"value", n.Str})
		}
	case *Field:
		o := object{{"type", "field"}, {"pos", n.At}, {"name", n.Name}}
		if n.Optional {
			o = append(o, member{"optional", true})
		}
		return o
	case *Unary:
		return object{{"type", "unary"}, {"pos", n.At}, {"op", n.Op.String()}, {"x", jsonNode(n.X)}}
	case *Not:
		return object{{"type", "not"}, {"pos", n.At}, {"x", jsonNode(n.X)}}
	case *Paren:
		return object{{"type", "paren"}, {"pos", n.At}, {"x", jsonNode(n.X)}}
	case *Search:
		return object{{"type", "search"}, {"pos", n.At}, {"language", n.Language}, {"source", n.Source}, {"query", n.Query}}
	case *Binary:
		return object{{"type", "binary"}, {"pos", n.At}, {"op", n.Op.String()}, {"op_pos", n.OpPos}, {"x", jsonNode(n.X)}, {"y", jsonNode(n.Y)}}
	case *Match:
		return object{{"type", "match"}, {"pos", n.At}, {"op", n.opText()}, {"op_pos", n.OpPos}, {"x", jsonNode(n.X)}, {"list", n.List}, {"patterns", exprsJSON(n.Patterns)}}
	case *In:
		return object{{"type", "in"}, {"pos", n.At}, {"op", n.opText()}, {"op_pos", n.OpPos}, {"x", jsonNode(n.X)}, {"list", exprsJSON(n.List)}}
	case *Call:
		o := object{{"type", "call"}, {"pos", n.At}, {"name", n.Name}}
		if n.Insensitive {
			o = append(o, member{"insensitive", true})
		}
		return append(o, member{"args", exprsJSON(n.Args)})
	}
	return nil
}
