package eql

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tripline/tripline/internal/testenv"
)

// TestParseConstructs checks the exact tree and the canonical printing of every
// construct of the language.
func TestParseConstructs(t *testing.T) {
	tests := []struct {
		src   string
		tree  string // sexpr of the tree (ParseSyntax: names as written)
		canon string // Format output
	}{
		{"process where true",
			"(event \"process\" true)",
			"process where true"},
		{"any where false",
			"(event any false)",
			"any where false"},
		{"\"my-cat\" where null",
			"(event \"my-cat\" null)",
			"\"my-cat\" where null"},
		{"\"\"\"raw cat\"\"\" where x == 1",
			"(event \"raw cat\" (== <x> 1i))",
			"\"raw cat\" where x == 1"},
		{"\"any\" where x",
			"(event \"any\" <x>)",
			"\"any\" where x"},
		{"process where a == 1 and b != 2 or c < 3 and not d >= 4",
			"(event \"process\" (or (and (== <a> 1i) (!= <b> 2i)) (and (< <c> 3i) (not (>= <d> 4i)))))",
			"process where a == 1 and b != 2 or c < 3 and not d >= 4"},
		{"process where not not a",
			"(event \"process\" (not (not <a>)))",
			"process where not not a"},
		{"process where a + b * c - d / e % f == 1",
			"(event \"process\" (== (- (+ <a> (* <b> <c>)) (% (/ <d> <e>) <f>)) 1i))",
			"process where a + b * c - d / e % f == 1"},
		{"process where -a * b == -(a * b)",
			"(event \"process\" (== (* (- <a>) <b>) (- (* <a> <b>))))",
			"process where -a * b == -(a * b)"},
		{"process where - x in (1, 2)",
			"(event \"process\" (- (in <x> 1i 2i)))",
			"process where -x in (1, 2)"},
		{"process where (a + b) in (1)",
			"(event \"process\" (in (+ <a> <b>) 1i))",
			"process where (a + b) in (1)"},
		{"process where a + b in (1, 2)",
			"(event \"process\" (+ <a> (in <b> 1i 2i)))",
			"process where a + b in (1, 2)"},
		{"process where x not in (\"a\", \"b\")",
			"(event \"process\" (not in <x> \"a\" \"b\"))",
			"process where x not in (\"a\", \"b\")"},
		{"process where x in~ (\"A\") and x not in~ (\"b\")",
			"(event \"process\" (and (in~ <x> \"A\") (not in~ <x> \"b\")))",
			"process where x in~ (\"A\") and x not in~ (\"b\")"},
		{"process where x : \"a*\"",
			"(event \"process\" (: <x> \"a*\"))",
			"process where x : \"a*\""},
		{"process where x : (\"a\", \"b*\")",
			"(event \"process\" (: <x> list \"a\" \"b*\"))",
			"process where x : (\"a\", \"b*\")"},
		{"process where x like \"a\" or x like~ (\"b\") or x regex \".*\" or x regex~ (\"a\", \"b\")",
			"(event \"process\" (or (or (or (like <x> \"a\") (like~ <x> list \"b\")) (regex <x> \".*\")) (regex~ <x> list \"a\" \"b\")))",
			"process where x like \"a\" or x like~ (\"b\") or x regex \".*\" or x regex~ (\"a\", \"b\")"},
		{"process where x : (\"a\")",
			"(event \"process\" (: <x> list \"a\"))",
			"process where x : (\"a\")"},
		{"process where cidrmatch(source.ip, \"10.0.0.0/8\", \"192.168.0.0/16\")",
			"(event \"process\" (call cidrmatch <source.ip> \"10.0.0.0/8\" \"192.168.0.0/16\"))",
			"process where cidrmatch(source.ip, \"10.0.0.0/8\", \"192.168.0.0/16\")"},
		{"process where startswith~(process.name, \"A\") and length(x) > 2",
			"(event \"process\" (and (call startswith~ <process.name> \"A\") (> (call length <x>) 2i)))",
			"process where startswith~(process.name, \"A\") and length(x) > 2"},
		{"process where concat()",
			"(event \"process\" (call concat))",
			"process where concat()"},
		{"process where `my-field`.`a``b` == `sequence`",
			"(event \"process\" (== <my-field.a`b> <sequence>))",
			"process where `my-field.a``b` == `sequence`"},
		{"process where ?user.id == null and ?`x y` != 1",
			"(event \"process\" (and (== ?<user.id> null) (!= ?<x y> 1i)))",
			"process where ?user.id == null and ?`x y` != 1"},
		{"process where x == \"a\\tb\\n\\\\\\\"\\u{41}\\u0042\\q\"",
			"(event \"process\" (== <x> \"a\\tb\\n\\\\\\\"AB\\\\q\"))",
			"process where x == \"a\\tb\\n\\\\\\\"AB\\\\q\""},
		{"process where x == \"\"\"a\\nb\"c\"\"\"",
			"(event \"process\" (== <x> \"a\\\\nb\\\"c\"))",
			"process where x == \"a\\\\nb\\\"c\""},
		{"process where x == 2147483647 and y == 2147483648 and z == 9223372036854775808 and w == 1.5 and v == .5e1 and u == 1e3 and s == 1.",
			"(event \"process\" (and (and (and (and (and (and (== <x> 2147483647i) (== <y> 2147483648L)) (== <z> 9.223372036854776e+18d)) (== <w> 1.5d)) (== <v> 5d)) (== <u> 1000d)) (== <s> 1d)))",
			"process where x == 2147483647 and y == 2147483648 and z == 9.223372036854776e+18 and w == 1.5 and v == 5.0 and u == 1000.0 and s == 1.0"},
		{"process where a /* c1 /* nested */ still */ == // line\n 1",
			"(event \"process\" (== <a> 1i))",
			"process where a == 1"},
		{"sequence [process where true] [file where true]",
			"(sequence [(event \"process\" true)] [(event \"file\" true)])",
			"sequence [process where true] [file where true]"},
		{"sequence by host.id, user.name with maxspan=30s [process where true] by a [file where true] by b until [network where true] by c",
			"(sequence by <host.id> <user.name> maxspan=30s [(event \"process\" true) by <a>] [(event \"file\" true) by <b>] until [(event \"network\" true) by <c>])",
			"sequence by host.id, user.name with maxspan=30s [process where true] by a [file where true] by b until [network where true] by c"},
		{"sequence with maxspan=5m [process where true] with runs=3 ![file where true] [network where true] by x with runs=2",
			"(sequence maxspan=5m [(event \"process\" true) runs=3] [missing (event \"file\" true)] [(event \"network\" true) by <x> runs=2])",
			"sequence with maxspan=5m [process where true] with runs=3 ![file where true] [network where true] by x with runs=2"},
		{"sample by host [any where true] by os [any where true] by os",
			"(sample by <host> [(event any true) by <os>] [(event any true) by <os>])",
			"sample by host [any where true] by os [any where true] by os"},
		{"process where true | head 5 | tail 2",
			"(event \"process\" true) |(head 5i) |(tail 2i)",
			"process where true | head 5 | tail 2"},
		{"process where true | head -1",
			"(event \"process\" true) |(head (- 1i))",
			"process where true | head -1"},
		{"process where true | count",
			"(event \"process\" true) |(count)",
			"process where true | count"},
		{"process where a == (b == c)",
			"(event \"process\" (== <a> (== <b> <c>)))",
			"process where a == (b == c)"},
		{"process where (a and b) and c",
			"(event \"process\" (and (and <a> <b>) <c>))",
			"process where a and b and c"},
		{"process where a and (b and c)",
			"(event \"process\" (and <a> (and <b> <c>)))",
			"process where a and (b and c)"},
		{"process where a - (b - c) - d",
			"(event \"process\" (- (- <a> (- <b> <c>)) <d>))",
			"process where a - (b - c) - d"},
		{"process where not (a and b)",
			"(event \"process\" (not (and <a> <b>)))",
			"process where not (a and b)"},
		{"process where (not a) == b",
			"(event \"process\" (== (not <a>) <b>))",
			"process where (not a) == b"},
		{"process where -(-a)",
			"(event \"process\" (- (- <a>)))",
			"process where --a"},
		{"process where 1 - -1 == 2",
			"(event \"process\" (== (- 1i (- 1i)) 2i))",
			"process where 1 - -1 == 2"},
	}
	for _, tt := range tests {
		st, err := ParseSyntax(tt.src)
		if err != nil {
			t.Errorf("ParseSyntax(%q): %v", tt.src, err)
			continue
		}
		if got := sexpr(st); got != tt.tree {
			t.Errorf("ParseSyntax(%q)\n got tree %s\nwant tree %s", tt.src, got, tt.tree)
		}
		if got := Format(st); got != tt.canon {
			t.Errorf("Format(%q)\n got %s\nwant %s", tt.src, got, tt.canon)
		}
		st2, err := ParseSyntax(tt.canon)
		if err != nil {
			t.Errorf("re-parsing %q: %v", tt.canon, err)
		} else if !sameTree(st, st2) {
			t.Errorf("re-parsing %q gives %s", tt.canon, sexpr(st2))
		}
	}
}

// TestParseErrors checks the exact position and message of every syntax and
// verification error.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		msg       string
	}{
		{"process where name == 'a'", 1, 23, "Use double quotes [\"] to define string literals, not single quotes [']"},
		{"process where name == ?\"a\"", 1, 23, "Use triple double quotes [\"\"\"] to define unescaped string literals, not [?\"]"},
		{"process where x = 1", 1, 17, "[=] is not a comparison operator; use [==]"},
		{"process where a < b < c", 1, 21, "Chained comparisons such as [a < b < c] are not supported; combine comparisons with [and]"},
		{"process where x !: \"a\"", 1, 17, "[!:] is not supported; write [not field : pattern]"},
		{"process where x == \"abc", 1, 20, "Unterminated string: missing closing [\"]"},
		{"process where x == \"\\u{D}\"", 1, 20, "Unicode sequence in curly braces should use [2-8] hex digits, [\\u{D}] has [1]"},
		{"process where x == \"\\u{110000}\"", 1, 20, "Invalid unicode character code [110000]"},
		{"process where x == \"\\u{D800}\"", 1, 20, "Invalid unicode character code, [D800] is a surrogate code"},
		{"process where x == \"\\u0000\"", 1, 20, "Unicode sequence results in null"},
		{"process where x == \"\\u12\"", 1, 20, "Invalid unicode escape [\\u12\"]: expected [\\uXXXX] or [\\u{X...}]"},
		{"process where `abc == 1", 1, 15, "Unterminated quoted identifier: missing closing [`]"},
		{"process where a /* unterminated", 1, 17, "Unterminated comment: [/*] has no matching [*/]"},
		{"process where x == 1e999", 1, 20, "Number [1e999] is too large"},
		{"process where x € 1", 1, 17, "Unexpected character ['€']"},
		{"process where x AND y", 1, 17, "Unexpected [AND], expected [|] or end of query (keywords are lower case: write [and])"},
		{"process where x in ()", 1, 21, "[in] needs at least one value in its list"},
		{"process where x not like \"a\"", 1, 17, "[not] after a value must be followed by [in] or [in~]; write [not x : ...] to negate other predicates"},
		{"process where x : y", 1, 19, "The right side of [:] must be a constant (such as a string) or a parenthesised list of constants, found [y]"},
		{"process where f[0] == 1", 1, 16, "Array indexing [f[0]] is not supported"},
		{"process where descendant of [process where true]", 1, 15, "[descendant of] is not supported"},
		{"process where child of [process where true]", 1, 15, "[child of] is not supported"},
		{"process where event of [process where true]", 1, 15, "[event of] is not supported"},
		{"join [a where true] [b where true]", 1, 1, "Queries using [join] are not supported"},
		{"sequence [a where true] fork [b where true]", 1, 25, "[fork] is not supported"},
		{"`process` where true", 1, 1, "Use a string [\"process\"] for an event category, not a quoted identifier"},
		{"process where true and", 1, 23, "Unexpected end of query, expected an expression"},
		{"process where sequence == 1", 1, 15, "Unexpected [sequence], expected an expression ([sequence] is a reserved word: write `sequence` for a field of that name)"},
		{"process where x == 1 [", 1, 22, "Unexpected [[], expected [|] or end of query (stages follow only [sequence] or [sample])"},
		{"sequence with maxspan=1s by key [a where true] [b where true]", 1, 1, "Please specify sequence [by] before [with] not after"},
		{"sequence with maxspan=30 [a where true] [b where true]", 1, 23, "No time unit specified, did you mean [s] as in [30s]?"},
		{"sequence with maxspan=1.5s [a where true] [b where true]", 1, 23, "Decimal time interval [1.5] not supported; please use a positive integer"},
		{"sequence with maxspan=0s [a where true] [b where true]", 1, 23, "A positive maxspan value is required; found [0]"},
		{"sequence with maxspan=5x [a where true] [b where true]", 1, 24, "Unrecognized time unit [x] in [5x], please specify one of [ms, s, m, h, d]"},
		{"sequence [a where true] with maxspan=1s [b where true]", 1, 30, "[maxspan] applies to the whole sequence: write [sequence with maxspan=...] before the first stage"},
		{"sequence by a * 2 [a where true] [b where true]", 1, 13, "Unsupported join key [a * 2]; join keys must be field names"},
		{"sequence [a where true] by x [b where true] by x, y", 1, 48, "Inconsistent number of join keys specified; expected [1] but found [2]"},
		{"sequence by k [a where true] by x [b where true] until [c where true]", 1, 35, "Inconsistent number of join keys specified; expected [1] but found [0]"},
		{"sequence [a where true] with runs=0 [b where true]", 1, 30, "A number of runs between 1 and 100 is required; found [0]"},
		{"sequence [a where true] with runs=101 [b where true]", 1, 30, "A number of runs between 1 and 100 is required; found [101]"},
		{"sequence [a where true] ![b where true]", 1, 25, "A sequence with missing events (![...]) requires [with maxspan]"},
		{"sequence with maxspan=1s ![a where true] ![b where true]", 1, 1, "A sequence requires at least one positive event query, not only missing events (![...])"},
		{"sequence [a where true]", 1, 1, "A sequence requires a minimum of 2 queries, found [1]"},
		{"sequence [a where true] [b where true] until ![c where true]", 1, 46, "The [until] stage cannot be a missing event"},
		{"sample by h [a where true] [b where true] | head 1", 1, 45, "Samples do not support pipes; [head] is not allowed after a sample"},
		{"sample [a where true] [b where true]", 1, 1, "A sample requires at least one join key, in [sample by] or after each filter"},
		{"sample by h [a where true] with runs=2 [b where true]", 1, 33, "Samples do not support [with runs]"},
		{"sample by h with maxspan=1s [a where true] [b where true]", 1, 13, "Samples do not support [with maxspan]"},
		{"sample by h [a where true] [b where true] until [c where true]", 1, 43, "Samples do not support [until]"},
		{"sample by h [a where true] [b where true] [c where true] [d where true] [e where true] [f where true]", 1, 88, "A sample supports at most 5 filters, found [6]"},
		{"sample by h ![a where true] [b where true]", 1, 13, "Samples do not support missing events (![...])"},
		{"process where true | count", 1, 22, "Pipe [count] is not supported"},
		{"process where true | unique_count x", 1, 22, "Pipe [unique_count] is not supported"},
		{"process where true | heda 3", 1, 22, "Unrecognized pipe [heda], did you mean [head]?"},
		{"process where true | head", 1, 22, "Pipe [head] expects exactly one argument but found [0]"},
		{"process where true | head 1, 2", 1, 22, "Pipe [head] expects exactly one argument but found [2]"},
		{"process where true | head -1", 1, 27, "Pipe [head] expects a positive integer but found [-1]"},
		{"process where true | tail \"a\"", 1, 27, "Pipe [tail] expects a positive integer but found [\"a\"]"},
		{"process where foo(x)", 1, 15, "Unknown function [foo]"},
		{"process where match(x, \"a\")", 1, 15, "Unknown function [match], did you mean [cidrmatch]?"},
		{"process where stringContains(x)", 1, 15, "error building [stringcontains]: expects exactly two arguments"},
		{"process where between(a, b)", 1, 15, "error building [between]: expects three or four arguments"},
		{"process where cidrMatch(x)", 1, 15, "error building [cidrmatch]: expects at least two arguments"},
		{"process where length(a, b)", 1, 15, "error building [length]: expects exactly one argument"},
		{"process where concat~(a, b)", 1, 15, "Function [concat] does not support case-insensitive matching with [~]; only between, endsWith, indexOf, startsWith and stringContains do"},
		{"process where a == b", 1, 20, "Comparisons against fields are not (currently) supported; offender [b] in [==]"},
		{"process where a in (b, \"c\")", 1, 15, "Comparisons against fields are not (currently) supported; offender [b] in [a in (b, \"c\")]"},
		{"process where 1", 1, 15, "Condition expression needs to be boolean, found [INTEGER]"},
		{"process where \"x\"", 1, 15, "Condition expression needs to be boolean, found [KEYWORD]"},
		{"process", 1, 8, "Unexpected end of query, expected [where]"},
		{"process where true ]", 1, 20, "Unexpected []], expected [|] or end of query"},
		{"process where (a", 1, 17, "Unexpected end of query, expected [)] or an operator"},
		{"process where f(a b)", 1, 19, "Unexpected [b], expected [,] or [)] in the arguments of [f]"},
		{"process where x == \"a\" | ", 1, 26, "Unexpected end of query, expected a pipe name such as [head] or [tail]"},
		{"process where\n  x == 1 and\n  y === 2", 3, 7, "Unexpected [=], expected an expression"},
		{"process where x == \"é\" and \ty €", 1, 31, "Unexpected character ['€']"},
		{"process where " + strings.Repeat("(", 1001) + "x" + strings.Repeat(")", 1001), 1, 1015, "Query is nested too deeply (more than 1000 levels)"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.src)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %v, want an *Error", tt.src, err)
			continue
		}
		if e.Pos.Line != tt.line || e.Pos.Column != tt.col || e.Msg != tt.msg {
			t.Errorf("Parse(%q)\n got %d:%d %s\nwant %d:%d %s", tt.src, e.Pos.Line, e.Pos.Column, e.Msg, tt.line, tt.col, tt.msg)
		}
	}
}

// TestSeedQuery parses the query of the seed rule, as Elastic's documentation shows it.
func TestSeedQuery(t *testing.T) {
	data, err := os.ReadFile(testenv.Shared(t, "seed", "000_bd5888970135322b.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	const marker = "text code block:"
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("seed file has no %q", marker)
	}
	q := text[i+len(marker):]
	q = q[:strings.IndexByte(q, '\n')]
	st, err := Parse(q)
	if err != nil {
		t.Fatalf("%v\n%s", err.(*Error).Render(q), q)
	}
	seq, ok := st.Query.(*Sequence)
	if !ok {
		t.Fatalf("query is a %T, want *Sequence", st.Query)
	}
	if seq.MaxSpan == nil || seq.MaxSpan.Value != 1 || seq.MaxSpan.Unit != "s" || seq.MaxSpan.Std().Seconds() != 1 {
		t.Errorf("maxspan = %+v, want 1s", seq.MaxSpan)
	}
	if len(seq.Stages) != 2 || seq.Until != nil || len(seq.By) != 0 || len(st.Pipes) != 0 {
		t.Fatalf("got %d stages, until %v, %d sequence keys, %d pipes; want 2, nil, 0, 0", len(seq.Stages), seq.Until, len(seq.By), len(st.Pipes))
	}
	s0, s1 := seq.Stages[0], seq.Stages[1]
	if s0.Query.Category != "process" || s0.Query.Any || len(s0.By) != 1 || s0.By[0].Name != "orchestrator.resource.name" {
		t.Errorf("stage 1 = %s, want a process stage by orchestrator.resource.name", sexpr(s0))
	}
	if !s1.Query.Any || len(s1.By) != 1 || s1.By[0].Name != "kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name" {
		t.Errorf("stage 2 = %s, want an any stage by the backquoted pod-name field", sexpr(s1))
	}
	// The second stage starts right after "] by orchestrator.resource.name ".
	wantCol := strings.Index(q, "[any where") + 1
	if s1.At.Line != 1 || s1.At.Column != wantCol || s1.At.Offset != wantCol-1 {
		t.Errorf("stage 2 at %+v, want line 1 column %d", s1.At, wantCol)
	}
	if got := Format(st); !strings.Contains(got, "] by `kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name`") {
		t.Errorf("printed seed query lost the backquoted key: %s", got)
	}
	checkRoundTrip(t, "seed", q)
}

// TestCanonicalFunctionNames checks that Parse rewrites function names to their
// canonical camelCase spelling, keeping the ~ flag.
func TestCanonicalFunctionNames(t *testing.T) {
	tests := []struct{ src, want string }{
		{`any where cidrmatch(ip, "10.0.0.0/8")`, "cidrMatch"},
		{`any where STARTSWITH~(a, "b")`, "startsWith"},
		{`any where stringcontains(a, "b")`, "stringContains"},
		{`any where Between(a, "b", "c", true) == "x"`, "between"},
		{`any where indexof~(a, "b", 2) == 1`, "indexOf"},
		{`any where NUMBER("1", 16) == 1`, "number"},
	}
	for _, tt := range tests {
		x, err := ParseExpr(tt.src[len("any where "):])
		if err != nil {
			t.Fatalf("ParseExpr(%q): %v", tt.src, err)
		}
		st, err := Parse(tt.src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.src, err)
		}
		for _, n := range []Node{x, st.Query.(*EventQuery).Where} {
			var c *Call
			switch n := n.(type) {
			case *Call:
				c = n
			case *Binary:
				c = n.X.(*Call)
			}
			if c.Name != tt.want {
				t.Errorf("%q: Call.Name = %q, want %q", tt.src, c.Name, tt.want)
			}
		}
	}
}

func TestLookupFunction(t *testing.T) {
	tests := []struct {
		name     string
		ok       bool
		want     string
		min, max int
		tilde    bool
	}{
		{"cidrmatch", true, "cidrMatch", 2, -1, false},
		{"BETWEEN", true, "between", 3, 4, true},
		{"concat", true, "concat", 1, -1, false},
		{"indexOf", true, "indexOf", 2, 3, true},
		{"substring", true, "substring", 2, 3, false},
		{"modulo", true, "modulo", 2, 2, false},
		{"arrayContains", false, "", 0, 0, false},
		{"match", false, "", 0, 0, false},
	}
	for _, tt := range tests {
		f, ok := LookupFunction(tt.name)
		if ok != tt.ok || f.Name != tt.want || f.MinArgs != tt.min || f.MaxArgs != tt.max || f.Insensitive != tt.tilde {
			t.Errorf("LookupFunction(%q) = %+v, %v", tt.name, f, ok)
		}
	}
	if n := len(Functions()); n != 16 {
		t.Errorf("Functions() has %d entries, want 16", n)
	}
}

func TestErrorRender(t *testing.T) {
	src := "sequence\n\t[process where foo(x)]\n\t[file where true]"
	_, err := Parse(src)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse = %v, want *Error", err)
	}
	want := "line 2:17: Unknown function [foo]\n\t[process where foo(x)]\n\t               ^"
	if got := e.Render(src); got != want {
		t.Errorf("Render:\n%s\nwant:\n%s", got, want)
	}
	if got := e.Error(); got != "line 2:17: Unknown function [foo]" {
		t.Errorf("Error() = %q", got)
	}
}

func TestErrorList(t *testing.T) {
	src := "process where foo(a) and bar(b) | count"
	_, err := Parse(src)
	var l ErrorList
	if !errors.As(err, &l) {
		t.Fatalf("Parse = %v, want an ErrorList", err)
	}
	want := "line 1:15: Unknown function [foo]\nline 1:26: Unknown function [bar]\nline 1:35: Pipe [count] is not supported"
	if got := l.Error(); got != want {
		t.Errorf("ErrorList.Error() =\n%s\nwant\n%s", got, want)
	}
	var first *Error
	if !errors.As(err, &first) || first.Msg != "Unknown function [foo]" {
		t.Errorf("errors.As found %v, want the first error", first)
	}
}

func TestPositions(t *testing.T) {
	src := "sequence by a\n  [process where x == \"é\" and y : (\"a\")] by b\n  ![file where true] with runs=2\n| head 3"
	st, err := ParseSyntax(src)
	if err != nil {
		t.Fatal(err)
	}
	seq := st.Query.(*Sequence)
	w := seq.Stages[0].Query.Where.(*Binary)
	m := w.Y.(*Match)
	tests := []struct {
		name string
		got  Pos
		want Pos
	}{
		{"sequence", seq.At, Pos{0, 1, 1}},
		{"sequence key", seq.By[0].At, Pos{12, 1, 13}},
		{"stage 1", seq.Stages[0].At, Pos{16, 2, 3}},
		{"category", seq.Stages[0].Query.CategoryPos, Pos{17, 2, 4}},
		{"and", w.OpPos, Pos{41, 2, 27}},
		{"match", m.At, Pos{45, 2, 31}},
		{"match op", m.OpPos, Pos{47, 2, 33}},
		{"stage key", seq.Stages[0].By[0].At, Pos{59, 2, 45}},
		{"stage 2", seq.Stages[1].At, Pos{63, 3, 3}},
		{"runs", seq.Stages[1].RunsPos, Pos{87, 3, 27}},
		{"pipe", st.Pipes[0].At, Pos{96, 4, 3}},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s at %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
	if n, ok := st.Pipes[0].Limit(); !ok || n != 3 {
		t.Errorf("Limit() = %d, %v; want 3, true", n, ok)
	}
}

func TestToJSON(t *testing.T) {
	st, err := Parse(`sequence by h with maxspan=2s [process where x : ("a") and ?y != 1] ![file where cidrmatch(ip, "10.0.0.0/8")] | tail 3`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ToJSON(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "{\n  \"type\": \"statement\",\n  \"query\": {") {
		t.Errorf("ToJSON output is not indented:\n%.80s", got)
	}
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, got); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"statement","query":{"type":"sequence","pos":{"offset":0,"line":1,"column":1},"by":[{"type":"field","pos":{"offset":12,"line":1,"column":13},"name":"h"}],` +
		`"maxspan":{"pos":{"offset":27,"line":1,"column":28},"value":2,"unit":"s","millis":2000},"stages":[` +
		`{"type":"stage","pos":{"offset":30,"line":1,"column":31},"query":{"type":"event","pos":{"offset":31,"line":1,"column":32},"category":"process","where":` +
		`{"type":"binary","pos":{"offset":45,"line":1,"column":46},"op":"and","op_pos":{"offset":55,"line":1,"column":56},` +
		`"x":{"type":"match","pos":{"offset":45,"line":1,"column":46},"op":":","op_pos":{"offset":47,"line":1,"column":48},"x":{"type":"field","pos":{"offset":45,"line":1,"column":46},"name":"x"},"list":true,"patterns":[{"type":"literal","pos":{"offset":50,"line":1,"column":51},"kind":"string","value":"a"}]},` +
		`"y":{"type":"binary","pos":{"offset":59,"line":1,"column":60},"op":"!=","op_pos":{"offset":62,"line":1,"column":63},"x":{"type":"field","pos":{"offset":59,"line":1,"column":60},"name":"y","optional":true},"y":{"type":"literal","pos":{"offset":65,"line":1,"column":66},"kind":"integer","value":1}}}},"by":[]},` +
		`{"type":"stage","pos":{"offset":68,"line":1,"column":69},"missing":true,"query":{"type":"event","pos":{"offset":70,"line":1,"column":71},"category":"file","where":` +
		`{"type":"call","pos":{"offset":81,"line":1,"column":82},"name":"cidrMatch","args":[{"type":"field","pos":{"offset":91,"line":1,"column":92},"name":"ip"},{"type":"literal","pos":{"offset":95,"line":1,"column":96},"kind":"string","value":"10.0.0.0/8"}]}},"by":[]}]},` +
		`"pipes":[{"type":"pipe","pos":{"offset":112,"line":1,"column":113},"name":"tail","args":[{"type":"literal","pos":{"offset":117,"line":1,"column":118},"kind":"integer","value":3}]}]}`
	if compact.String() != want {
		t.Errorf("ToJSON:\n%s\nwant (compacted):\n%s", compact.String(), want)
	}
}
