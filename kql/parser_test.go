package kql

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// sexpr renders a tree compactly with every detail Equal compares: (or ...), (and ...),
// (not x), (is field value), (range field op value), (nested path query); literals are
// s"text" (string), q"text" (quoted), w["seg" "seg"] (wildcard), t/f (booleans), null,
// and _ for the missing field of free text.
func sexpr(n Node) string {
	switch n := n.(type) {
	case *Or:
		return "(or " + sexprList(n.Args) + ")"
	case *And:
		return "(and " + sexprList(n.Args) + ")"
	case *Not:
		return "(not " + sexpr(n.Arg) + ")"
	case *Is:
		return "(is " + sexprLit(n.Field) + " " + sexprLit(n.Value) + ")"
	case *Range:
		return "(range " + sexprLit(n.Field) + " " + n.Op + " " + sexprLit(n.Value) + ")"
	case *Nested:
		return "(nested " + sexprLit(n.Path) + " " + sexpr(n.Query) + ")"
	}
	return "?"
}

func sexprList(ns []Node) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = sexpr(n)
	}
	return strings.Join(parts, " ")
}

func sexprLit(l *Literal) string {
	if l == nil {
		return "_"
	}
	switch l.Kind {
	case Wildcard:
		parts := make([]string, len(l.Segments))
		for i, s := range l.Segments {
			parts[i] = strconv.Quote(s)
		}
		return "w[" + strings.Join(parts, " ") + "]"
	case Bool:
		return l.Value[:1]
	case Null:
		return "null"
	}
	if l.Quoted {
		return "q" + strconv.Quote(l.Value)
	}
	return "s" + strconv.Quote(l.Value)
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in, tree, canonical string
	}{
		{"field value", `a:b`, `(is s"a" s"b")`, `a:b`},
		{"spaces around the colon", "a : \t b", `(is s"a" s"b")`, `a:b`},
		{"multi-word unquoted value", `a: hello world`, `(is s"a" s"hello world")`, `a:hello world`},
		{"quoted value", `a:"b c"`, `(is s"a" q"b c")`, `a:"b c"`},
		{"quoted field", `"a b":c`, `(is q"a b" s"c")`, `"a b":c`},
		{"numbers stay strings", `a:80 and b:1.5`, `(and (is s"a" s"80") (is s"b" s"1.5"))`, `a:80 and b:1.5`},
		{"booleans and null", `a:true or b:false or c:null or d:TRUE or e:"true"`,
			`(or (is s"a" t) (is s"b" f) (is s"c" null) (is s"d" s"TRUE") (is s"e" q"true"))`,
			`a:true or b:false or c:null or d:TRUE or e:"true"`},
		{"and binds tighter than or", `a:b AND c:d or e:f`, `(or (and (is s"a" s"b") (is s"c" s"d")) (is s"e" s"f"))`, `a:b and c:d or e:f`},
		{"not binds tighter than and", `not a:b and c:d`, `(and (not (is s"a" s"b")) (is s"c" s"d"))`, `not a:b and c:d`},
		{"keywords in any case", `NOT a:b Or c:d aNd e:f`, `(or (not (is s"a" s"b")) (and (is s"c" s"d") (is s"e" s"f")))`, `not a:b or c:d and e:f`},
		{"groups keep their shape", `a:b and (c:d or e:f)`, `(and (is s"a" s"b") (or (is s"c" s"d") (is s"e" s"f")))`, `a:b and (c:d or e:f)`},
		{"nested group of the same operator", `a:b or (c:d or e:f)`, `(or (is s"a" s"b") (or (is s"c" s"d") (is s"e" s"f")))`, `a:b or (c:d or e:f)`},
		{"redundant parentheses go", `((a:b))`, `(is s"a" s"b")`, `a:b`},
		{"not of not needs a group", `not (not a:b)`, `(not (not (is s"a" s"b")))`, `not (not a:b)`},
		{"not of a group", `not (a:b or c:d)`, `(not (or (is s"a" s"b") (is s"c" s"d")))`, `not (a:b or c:d)`},
		{"value list", `f:(a or b and c)`, `(or (is s"f" s"a") (and (is s"f" s"b") (is s"f" s"c")))`, `f:a or f:b and f:c`},
		{"value list with groups and not", `f:(a or (b and not c))`, `(or (is s"f" s"a") (and (is s"f" s"b") (not (is s"f" s"c"))))`, `f:a or f:b and not f:c`},
		{"value list of one", `f:( a )`, `(is s"f" s"a")`, `f:a`},
		{"list value with spaces", `a:(b c)`, `(is s"a" s"b c")`, `a:b c`},
		{"exists", `f:*`, `(is s"f" w["" ""])`, `f:*`},
		{"match all", `*:*`, `(is w["" ""] w["" ""])`, `*:*`},
		{"empty query", ``, `(is w["" ""] w["" ""])`, `*:*`},
		{"blank query", " \t\n\u00a0", `(is w["" ""] w["" ""])`, `*:*`},
		{"wildcards in the value", `f:*foo*bar`, `(is s"f" w["" "foo" "bar"])`, `f:*foo*bar`},
		{"double wildcard is not exists", `f:**`, `(is s"f" w["" "" ""])`, `f:**`},
		{"field-name pattern", `process.*.name:x`, `(is w["process." ".name"] s"x")`, `process.*.name:x`},
		{"quoted asterisk is literal", `f:"b*"`, `(is s"f" q"b*")`, `f:"b*"`},
		{"quoted field has no pattern", `"a*":b`, `(is q"a*" s"b")`, `"a*":b`},
		{"escaped asterisk", `f:a\*b*`, `(is s"f" w["a*b" ""])`, `f:a\*b*`},
		{"question mark is plain", `a:x?y`, `(is s"a" s"x?y")`, `a:x?y`},
		{"escaped specials", `a:\\\(\)\:\<\>\"\{\}`, `(is s"a" s"\\():<>\"{}")`, `a:\\\(\)\:\<\>\"\{\}`},
		{"escaped whitespace", `a:x\ty\rz\n0`, `(is s"a" s"x\ty\rz\n0")`, `a:x\ty\rz\n0`},
		{"unicode escape", `a:\u00e9\uD83D\uDE00`, `(is s"a" s"é😀")`, `a:é😀`},
		{"escaped keywords", `a:x \or y \AND z`, `(is s"a" s"x or y AND z")`, `a:x \or y \AND z`},
		{"escaped NOT", `a:\NOT x`, `(is s"a" s"NOT x")`, `a:\NOT x`},
		{"\\not reads as a line feed", `a:x\not y`, `(is s"a" s"x\not y")`, `a:x\not y`},
		{"a leading \\not is trimmed", `a:\not x`, `(is s"a" s"ot x")`, `a:ot x`},
		{"printed not is escaped", `a:"cannot be"`, `(is s"a" q"cannot be")`, `a:"cannot be"`},
		{"trailing keyword is text", `a:b and`, `(is s"a" s"b and")`, `a:b \and`},
		{"leading escaped whitespace is trimmed", `a:\tb\t`, `(is s"a" s"b")`, `a:b`},
		{"all-whitespace value", `a:\t`, `(is s"a" s"")`, `a:\t`},
		{"quoted escapes", `a:"C:\Windows\temp \"x\" \\ \u0041"`, `(is s"a" q"C:\\Windows\temp \"x\" \\ A")`, `a:"C:\\Windows\temp \"x\" \\ A"`},
		{"quoted newline", "a:\"x\ny\"", `(is s"a" q"x\ny")`, `a:"x\ny"`},
		{"free text", `hello`, `(is _ s"hello")`, `hello`},
		{"quoted free text", `"hello world"`, `(is _ q"hello world")`, `"hello world"`},
		{"classic mistake", `f: x or y`, `(or (is s"f" s"x") (is _ s"y"))`, `f:x or y`},
		{"ranges", `a < 1 and b <= 2 and c > 3 and d >= "now-30d/d"`,
			`(and (range s"a" < s"1") (range s"b" <= s"2") (range s"c" > s"3") (range s"d" >= q"now-30d/d"))`,
			`a < 1 and b <= 2 and c > 3 and d >= "now-30d/d"`},
		{"range without spaces", `a>=1`, `(range s"a" >= s"1")`, `a >= 1`},
		{"nested", `p:{ q:1 and r:* }`, `(nested s"p" (and (is s"q" s"1") (is s"r" w["" ""])))`, `p:{ q:1 and r:* }`},
		{"nested in nested", `p:{q:{r:x}}`, `(nested s"p" (nested s"q" (is s"r" s"x")))`, `p:{ q:{ r:x } }`},
		{"not as a field name", `not:x`, `(is s"not" s"x")`, `\u006eot:x`},
		{"whitespace inside keywords' reach", "a:b\tor\nc:d", `(or (is s"a" s"b") (is s"c" s"d"))`, `a:b or c:d`},
		{"non-breaking space is whitespace", "a:b\u00a0or\u00a0c:d", `(or (is s"a" s"b") (is s"c" s"d"))`, `a:b or c:d`},
		{"worked example", `process.executable:(C\:\\Program*Files*\(x86\)\\*.exe or C\:\\Program*Files\\*.exe)`,
			`(or (is s"process.executable" w["C:\\Program" "Files" "(x86)\\" ".exe"]) (is s"process.executable" w["C:\\Program" "Files\\" ".exe"]))`,
			`process.executable:C\:\\Program*Files*\(x86\)\\*.exe or process.executable:C\:\\Program*Files\\*.exe`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := sexpr(n); got != tt.tree {
				t.Errorf("tree\n got %s\nwant %s", got, tt.tree)
			}
			out := Format(n)
			if out != tt.canonical {
				t.Errorf("Format\n got %s\nwant %s", out, tt.canonical)
			}
			n2, err := Parse(out)
			if err != nil {
				t.Fatalf("canonical form %q does not parse: %v", out, err)
			}
			if !Equal(n, n2) {
				t.Errorf("canonical form parses to %s, want %s", sexpr(n2), sexpr(n))
			}
		})
	}
}

func TestParsePositions(t *testing.T) {
	n, err := Parse("a:b or\n  not c: (d or \"e\")")
	if err != nil {
		t.Fatal(err)
	}
	or := n.(*Or)
	is := or.Args[0].(*Is)
	not := or.Args[1].(*Not)
	inner := not.Arg.(*Or)
	got := []Pos{or.Position, is.Position, is.Field.Position, is.Value.Position, not.Position,
		inner.Position, inner.Args[0].Pos(), inner.Args[0].(*Is).Field.Position, inner.Args[1].Pos()}
	want := []Pos{{0, 1, 1}, {0, 1, 1}, {0, 1, 1}, {2, 1, 3}, {9, 2, 3},
		{17, 2, 11}, {17, 2, 11}, {13, 2, 7}, {22, 2, 16}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("position %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, err, render string }{
		{`a:b:c`, `line 1:4: Expected AND, OR, end of input, whitespace but ":" found.`, "a:b:c\n---^"},
		{`a:C:\Windows`, `line 1:4: Expected AND, OR, end of input, whitespace but ":" found.`, "a:C:\\Windows\n---^"},
		{`a:"b"c`, `line 1:6: Expected AND, OR, end of input, whitespace but "c" found.`, "a:\"b\"c\n-----^"},
		{`a: "b" "c"`, `line 1:8: Expected end of input, whitespace but """ found.`, "a: \"b\" \"c\"\n-------^"},
		{`a:()`, `line 1:4: Expected "(", NOT, value, whitespace but ")" found.`, "a:()\n---^"},
		{`(a:b`, `line 1:5: Expected ")", AND, OR, whitespace but end of input found.`, "(a:b\n----^"},
		{`a:"x`, `line 1:3: Expected "(", "{", value, whitespace but """ found.`, "a:\"x\n--^"},
		{`a:`, `line 1:3: Expected "(", "{", value, whitespace but end of input found.`, "a:\n--^"},
		{`not(a:b)`, `line 1:4: Expected ":", "<", "<=", ">", ">=", AND, OR, end of input, whitespace but "(" found.`, "not(a:b)\n---^"},
		{`a:b or(c:d)`, `line 1:7: Expected AND, OR, end of input, whitespace but "(" found.`, "a:b or(c:d)\n------^"},
		{`a:b andc:d`, `line 1:9: Expected AND, OR, end of input, whitespace but ":" found.`, "a:b andc:d\n--------^"},
		{`not not a:b`, `line 1:5: Expected "(", field name, value but "n" found.`, "not not a:b\n----^"},
		{`a:cannot be`, `line 1:6: Expected AND, OR, end of input, whitespace but "n" found.`, "a:cannot be\n-----^"},
		{`a:\W`, `line 1:3: Expected "(", "{", value, whitespace but "\" found.`, "a:\\W\n--^"},
		{`a:b\ c`, `line 1:4: Expected AND, OR, end of input, whitespace but "\" found.`, "a:b\\ c\n---^"},
		{`f:>5`, `line 1:3: Expected "(", "{", value, whitespace but ">" found.`, "f:>5\n--^"},
		{`f >= (1)`, `line 1:6: Expected literal, whitespace but "(" found.`, "f >= (1)\n-----^"},
		{`p:{ q:1`, `line 1:8: Expected "}", AND, OR, whitespace but end of input found.`, "p:{ q:1\n-------^"},
		{`)`, `line 1:1: Expected "(", NOT, end of input, field name, value, whitespace but ")" found.`, ")\n^"},
		{"a:b and\n  c:d)", `line 2:6: Expected AND, OR, end of input, whitespace but ")" found.`, "  c:d)\n-----^"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %v, want a syntax error", tt.in, err)
			}
			if err.Error() != tt.err {
				t.Errorf("error\n got %s\nwant %s", err, tt.err)
			}
			if got, want := e.Render(tt.in), tt.err+"\n"+tt.render; got != want {
				t.Errorf("Render\n got %q\nwant %q", got, want)
			}
		})
	}
}
