package eql

import (
	"time"

	"github.com/tripline/tripline/query"
)

// Pos is a position in the query text. Line and Column start at 1; Column counts
// Unicode code points from the start of the line. Offset is the byte offset.
type Pos struct {
	Offset int `json:"offset"`
	Line   int `json:"line"`
	Column int `json:"column"`
}

// IsValid reports whether p was set by the parser.
func (p Pos) IsValid() bool { return p.Line > 0 }

// Node is implemented by every AST node.
type Node interface {
	// Pos is the position of the node's first character.
	Pos() Pos
}

// Expr is an expression: a literal, a field reference, an operator or a function call.
type Expr interface {
	Node
	exprNode()
}

// LitKind is the type of a literal.
type LitKind uint8

// Literal kinds. Integer literals that fit in 32 bits are Int, larger ones Long; an integer
// literal that overflows 64 bits becomes a Double, as in Elasticsearch.
const (
	LitNull LitKind = iota
	LitBool
	LitInt
	LitLong
	LitDouble
	LitString
)

// Literal is a constant: null, true/false, a number or a string.
type Literal struct {
	At     Pos
	Kind   LitKind
	Bool   bool
	Int    int64   // LitInt and LitLong
	Double float64 // LitDouble
	Str    string  // LitString, after escape processing
}

// Field is a reference to an event field by its full dotted name, with backquotes removed.
// Optional is set for ?field.
type Field struct {
	At       Pos
	Name     string
	Optional bool
}

// UnaryOp is a prefix arithmetic operator.
type UnaryOp uint8

// Unary operators.
const (
	UnaryMinus UnaryOp = iota
	UnaryPlus
)

// Unary is -x or +x.
type Unary struct {
	At Pos
	Op UnaryOp
	X  Expr
}

// Not is the boolean negation "not X".
type Not struct {
	At Pos
	X  Expr
}

// BinaryOp is a binary operator: logical, comparison or arithmetic.
type BinaryOp uint8

// Binary operators, grouped by precedence (lowest first).
const (
	OpOr BinaryOp = iota
	OpAnd
	OpEq  // ==
	OpNeq // !=
	OpLt  // <
	OpLte // <=
	OpGt  // >
	OpGte // >=
	OpAdd // +
	OpSub // -
	OpMul // *
	OpDiv // /
	OpMod // %
)

// Binary is X op Y.
type Binary struct {
	At Pos // position of the left operand
	Op BinaryOp
	X  Expr
	Y  Expr
	// OpPos is the position of the operator token.
	OpPos Pos
}

// MatchOp is a string predicate operator that takes one pattern or a list of patterns.
type MatchOp uint8

// Match operators.
const (
	MatchSeq   MatchOp = iota // ':' (always case-insensitive, wildcards * and ?)
	MatchLike                 // like, like~
	MatchRegex                // regex, regex~
)

// Match is X : pattern(s), X like pattern(s) or X regex pattern(s). Patterns written as a
// parenthesised list keep List set so the printer writes them back as a list.
type Match struct {
	At          Pos
	Op          MatchOp
	Insensitive bool // like~ / regex~; always true for ':'
	X           Expr
	Patterns    []Expr
	List        bool
	OpPos       Pos
}

// In is X in (list), X in~ (list), X not in (list) and X not in~ (list).
type In struct {
	At          Pos
	X           Expr
	List        []Expr
	Not         bool
	Insensitive bool
	OpPos       Pos
}

// Call is a function call. Name is as written (Elasticsearch resolves function names
// case-insensitively); Insensitive is set for name~(...).
type Call struct {
	At          Pos
	Name        string
	Insensitive bool
	Args        []Expr
}

// Paren records explicit parentheses. The parser does not produce it (the tree shape already
// carries grouping); it exists so tools can build trees that print with parentheses.
type Paren struct {
	At Pos
	X  Expr
}

// Search is an Elasticsearch query inside a where condition: a rule's KQL query, its
// filters or its exception lists, which Elasticsearch applies to the events an EQL or
// query rule searches. It has no EQL syntax: Tripline builds it from the rule, and the
// printer shows it for reading only. It holds when Query matches the event, evaluated
// with Elasticsearch's per-field-type answers (package eval).
type Search struct {
	At       Pos
	Language string // what it was written in: "kuery", "filters", "exceptions"
	Source   string // its text as the rule gave it (the KQL string), for display
	Query    query.Query
}

func (n *Literal) Pos() Pos { return n.At }
func (n *Field) Pos() Pos   { return n.At }
func (n *Unary) Pos() Pos   { return n.At }
func (n *Not) Pos() Pos     { return n.At }
func (n *Binary) Pos() Pos  { return n.At }
func (n *Match) Pos() Pos   { return n.At }
func (n *In) Pos() Pos      { return n.At }
func (n *Call) Pos() Pos    { return n.At }
func (n *Paren) Pos() Pos   { return n.At }
func (n *Search) Pos() Pos  { return n.At }

func (*Literal) exprNode() {}
func (*Field) exprNode()   {}
func (*Unary) exprNode()   {}
func (*Not) exprNode()     {}
func (*Binary) exprNode()  {}
func (*Match) exprNode()   {}
func (*In) exprNode()      {}
func (*Call) exprNode()    {}
func (*Paren) exprNode()   {}
func (*Search) exprNode()  {}

// Query is the part of a statement before the pipes: an event query, a sequence or a sample.
type Query interface {
	Node
	queryNode()
}

// EventQuery is "<category> where <expr>" or "any where <expr>".
type EventQuery struct {
	At Pos
	// Category is the event category; empty when Any is set.
	Category    string
	Any         bool
	CategoryPos Pos
	Where       Expr
}

// Duration is a maxspan value such as 1s: a positive integer and a unit (ms, s, m, h, d).
type Duration struct {
	At    Pos
	Value int64
	Unit  string
}

// Std returns the duration as a time.Duration.
func (d *Duration) Std() time.Duration {
	var u time.Duration
	switch d.Unit {
	case "ms":
		u = time.Millisecond
	case "s":
		u = time.Second
	case "m":
		u = time.Minute
	case "h":
		u = time.Hour
	case "d":
		u = 24 * time.Hour
	}
	return time.Duration(d.Value) * u
}

// Stage is one bracketed term of a sequence or sample: [query] by keys with runs=N.
// Missing marks a missing-event stage ![...]. Runs is 0 when "with runs" is absent.
type Stage struct {
	At      Pos
	Missing bool
	Query   *EventQuery
	By      []*Field
	Runs    int
	RunsPos Pos
}

// Sequence is "sequence [by keys] [with maxspan=N unit] stage+ [until stage]".
type Sequence struct {
	At      Pos
	By      []*Field
	MaxSpan *Duration // nil when absent
	Stages  []*Stage
	Until   *Stage // nil when absent
}

// Sample is "sample [by keys] stage+".
type Sample struct {
	At     Pos
	By     []*Field
	Stages []*Stage
}

func (n *EventQuery) Pos() Pos { return n.At }
func (n *Sequence) Pos() Pos   { return n.At }
func (n *Sample) Pos() Pos     { return n.At }
func (n *Stage) Pos() Pos      { return n.At }
func (n *Duration) Pos() Pos   { return n.At }

func (*EventQuery) queryNode() {}
func (*Sequence) queryNode()   {}
func (*Sample) queryNode()     {}

// Pipe is "| name args". Only head and tail are supported; the verifier rejects others.
type Pipe struct {
	At   Pos
	Name string
	Args []Expr
}

// Pos returns the position of the pipe's name.
func (n *Pipe) Pos() Pos { return n.At }

// Statement is a whole EQL query: a query followed by zero or more pipes.
type Statement struct {
	Query Query
	Pipes []*Pipe
}

// Pos returns the position of the query.
func (n *Statement) Pos() Pos { return n.Query.Pos() }
