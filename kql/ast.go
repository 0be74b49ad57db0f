package kql

import "strings"

// Pos is where a node starts in the query: Offset is a byte offset, Line and Column are
// 1-based (columns count characters; only a line feed starts a new line, as in Kibana).
type Pos struct {
	Offset int `json:"offset"`
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Node is a node of a KQL syntax tree: *Or, *And, *Not, *Is, *Range or *Nested.
// String returns the node in canonical KQL.
type Node interface {
	Pos() Pos
	String() string
	node()
}

// Or holds when any of Args (two or more) holds.
type Or struct {
	Position Pos
	Args     []Node
}

// And holds when all of Args (two or more) hold.
type And struct {
	Position Pos
	Args     []Node
}

// Not holds when Arg does not.
type Not struct {
	Position Pos
	Arg      Node
}

// Is is field:value. Field is nil for free text (a value without a field). A lone
// wildcard as the value (f:*) asks whether the field exists; a lone wildcard as both
// field and value (*:*) matches everything, and is what the empty query parses to.
// Position is the field's (the value's for free text and for the members of a value
// list, which the parser distributes: f:(a or b) is f:a or f:b).
type Is struct {
	Position Pos
	Field    *Literal
	Value    *Literal
}

// Range is field op value, with Op one of "<", "<=", ">", ">=".
type Range struct {
	Position Pos
	Field    *Literal
	Op       string
	Value    *Literal
}

// Nested is path:{ query }: Query runs on each object of the nested field Path, and its
// field names are relative to Path.
type Nested struct {
	Position Pos
	Path     *Literal
	Query    Node
}

// Kind says what a literal is.
type Kind uint8

// The kinds of literal. An unquoted true, false or null (lower case) is a Bool or Null;
// an unquoted text with an unescaped * is a Wildcard; everything else is a String
// (numbers included: KQL keeps them as text).
const (
	String Kind = iota
	Wildcard
	Bool
	Null
)

var kindNames = [...]string{String: "string", Wildcard: "wildcard", Bool: "boolean", Null: "null"}

// String returns "string", "wildcard", "boolean" or "null".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Literal is a field name or a value. Value is its text after unescaping and trimming
// ("true", "false" or "null" for those kinds). For a Wildcard, Segments are the literal
// texts between the wildcards (one more than there are wildcards; a lone * is ["", ""])
// and Value is them joined with "*". Quoted marks a "quoted" literal.
type Literal struct {
	Position Pos
	Kind     Kind
	Value    string
	Segments []string
	Quoted   bool
}

// IsLoneWildcard reports whether l is a single unescaped * and nothing else.
func (l *Literal) IsLoneWildcard() bool {
	return l != nil && l.Kind == Wildcard && len(l.Segments) == 2 && l.Segments[0] == "" && l.Segments[1] == ""
}

// Pos returns where the node starts.
func (n *Or) Pos() Pos { return n.Position }

// Pos returns where the node starts.
func (n *And) Pos() Pos { return n.Position }

// Pos returns where the node starts.
func (n *Not) Pos() Pos { return n.Position }

// Pos returns where the node starts.
func (n *Is) Pos() Pos { return n.Position }

// Pos returns where the node starts.
func (n *Range) Pos() Pos { return n.Position }

// Pos returns where the node starts.
func (n *Nested) Pos() Pos { return n.Position }

func (*Or) node()     {}
func (*And) node()    {}
func (*Not) node()    {}
func (*Is) node()     {}
func (*Range) node()  {}
func (*Nested) node() {}

// Equal reports whether a and b are the same tree, positions aside.
func Equal(a, b Node) bool {
	switch a := a.(type) {
	case *Or:
		b, ok := b.(*Or)
		return ok && equalList(a.Args, b.Args)
	case *And:
		b, ok := b.(*And)
		return ok && equalList(a.Args, b.Args)
	case *Not:
		b, ok := b.(*Not)
		return ok && Equal(a.Arg, b.Arg)
	case *Is:
		b, ok := b.(*Is)
		return ok && equalLiteral(a.Field, b.Field) && equalLiteral(a.Value, b.Value)
	case *Range:
		b, ok := b.(*Range)
		return ok && a.Op == b.Op && equalLiteral(a.Field, b.Field) && equalLiteral(a.Value, b.Value)
	case *Nested:
		b, ok := b.(*Nested)
		return ok && equalLiteral(a.Path, b.Path) && Equal(a.Query, b.Query)
	case nil:
		return b == nil
	}
	return false
}

func equalList(a, b []Node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func equalLiteral(a, b *Literal) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind || a.Value != b.Value || a.Quoted != b.Quoted || len(a.Segments) != len(b.Segments) {
		return false
	}
	for i := range a.Segments {
		if a.Segments[i] != b.Segments[i] {
			return false
		}
	}
	return true
}

// newWildcard builds a Wildcard literal from its segments.
func newWildcard(pos Pos, segs []string) *Literal {
	return &Literal{Position: pos, Kind: Wildcard, Value: strings.Join(segs, "*"), Segments: segs}
}
