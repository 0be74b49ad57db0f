package eval

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tripline/tripline/mapping"
)

// matchCase is one condition and its exact result on each of a set of documents.
type matchCase struct {
	query string
	want  string // one character per document: 'y' matches, '.' does not
}

func runMatchCases(t *testing.T, m *mapping.Mapping, docs []string, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			got := matchDocs(t, tc.query, &Env{Mapping: m}, docs...)
			s := make([]byte, len(got))
			for i, g := range got {
				s[i] = '.'
				if g {
					s[i] = 'y'
				}
			}
			if string(s) != tc.want {
				t.Errorf("%s: got %s, want %s", tc.query, s, tc.want)
			}
		})
	}
}

// Documents for the null, missing and multi-value cases.
var nullDocs = []string{
	`{"f": "a", "n": 5}`,             // 0
	`{"f": ["a", "b"], "n": [1, 9]}`, // 1
	`{"f": null, "n": null}`,         // 2
	`{}`,                             // 3
	`{"f": "B", "n": 10}`,            // 4
	`{"f": [], "n": []}`,             // 5
	`{"f": [null, "b"]}`,             // 6
}

func TestNullsAndArrays(t *testing.T) {
	runMatchCases(t, nil, nullDocs, []matchCase{
		{`f == "a"`, "yy....."},
		{`f != "a"`, "..yyyyy"}, // must_not: missing and null match, the array with "a" does not
		{`not f == "a"`, "..yyyyy"},
		{`f == "b"`, ".y....y"},
		{`f == null`, "..yy.y."},
		{`f != null`, "yy..y.y"},
		{`not f != null`, "..yy.y."},
		{`null == f`, "..yy.y."},
		{`n > 4`, "yy..y.."},
		{`not n > 4`, ".y....."}, // flipped to n <= 4: missing does not match; [1, 9] has 1
		{`n < 2`, ".y....."},
		{`not (n < 2)`, "yy..y.."},
		{`f in ("a", "x")`, "yy....."},
		{`f not in ("a", "x")`, "..yyyyy"},
		{`not f in ("a", "x")`, "..yyyyy"},
		{`not f not in ("a", "x")`, "yy....."},
		{`f : "A"`, "yy....."},
		{`not f : "A"`, "..yyyyy"},
		{`f like "b"`, ".y....y"},
		{`not f like "b"`, "y.yyyy."},
		{`f like~ "b"`, ".y..y.y"},
		{`f in~ ("b")`, ".y..y.y"},
		{`f regex "[ab]"`, "yy....y"},
		{`f regex~ "b"`, ".y..y.y"},
		{`not f regex "[ab]"`, "..yyyy."},
		// script leaves: any value of the field, missing is null
		{`length(f) == 1`, "yy..y.y"},
		{`length(f) != 1`, "......."},
		{`not length(f) == 1`, "......."}, // negated comparison: length(f) != 1, null does not match
		{`n + 1 > 9`, ".y..y.."},
		{`n * 2 == 2`, ".y....."},
		{`startsWith(concat(f, "x"), "b")`, ".y....y"},
		{`not startsWith(concat(f, "x"), "b")`, "y.yyyy."}, // not over a script: not(any)
		{`concat(f) == null`, "..yy.y."},
		{`not concat(f) : "A"`, ".y..y.y"},  // insensitive not-equal, null does not match
		{`not concat(f) : "A*"`, "..yyyyy"}, // not over a like: not(any)
		{`not length(f) in (1, 2)`, "..yy.y."},
		{`concat(f) != null`, "yy..y.y"},
		{`?f == null`, "..yy.y."},
		{`true`, "yyyyyyy"},
		{`false`, "......."},
		{`null`, "......."},
		{`not null`, "......."},
		{`not (f == "a" and n == 5)`, ".yyyyyy"},
		{`not (f == "a" or n == 10)`, "..yy.yy"},
	})
}

func TestCaseAndWildcards(t *testing.T) {
	docs := []string{
		`{"s": "cmd.exe"}`,              // 0
		`{"s": "CMD.EXE"}`,              // 1
		`{"s": "C:\\Windows\\cmd.exe"}`, // 2
		`{"s": "a*b"}`,                  // 3
		`{"s": "%x%y"}`,                 // 4
		`{"s": ""}`,                     // 5
		`{"s": "ǅx"}`,                   // 6
	}
	runMatchCases(t, nil, docs, []matchCase{
		{`s == "cmd.exe"`, "y......"},
		{`s == "CMD.exe"`, "......."},
		{`s : "CMD.exe"`, "yy....."},
		{`s : "*.exe"`, "yyy...."},
		{`s : "*\\cmd.exe"`, "..y...."}, // backslash is an ordinary character
		{`s like "*.exe"`, "y.y...."},
		{`s like~ "*.EXE"`, "yyy...."},
		{`s like "c?d.exe"`, "y......"},
		{`s like "?"`, "......."},
		{`s like "*"`, "yyyyyyy"},
		{`s like "a*b"`, "...y..."},
		{`s like "a\\*b"`, "......."}, // no escape: the backslash is literal
		{`s == "a*b"`, "...y..."},
		{`s : "%*%*"`, "....y.."},
		{`s in~ ("CMD*")`, "......."}, // in~ is verbatim
		{`s in~ ("cmd.EXE", "x")`, "yy....."},
		{`s in ("cmd.exe", "CMD.EXE")`, "yy....."},
		{`s regex "c.d\\.exe"`, "y......"},
		{`s regex~ "c.d\\.exe"`, "yy....."},
		{`s regex ".*cmd.exe"`, "y.y...."},
		{`s regex "cmd"`, "......."}, // whole-value match
		{`s regex ("x", "CMD.*")`, ".y....."},
		{`s regex "a\\*b"`, "...y..."},
		{`s regex "\"a*b\""`, "...y..."},
		{`s regex "@exe"`, "y.y...."},
		{`s regex "ǅ."`, "......y"},
		{`s : "ǆ?"`, "......."}, // Lucene folds to one alternate case only
		{`endsWith(s, ".exe")`, "y.y...."},
		{`endsWith~(s, ".EXE")`, "yyy...."},
		{`endsWith(s, "\\cmd.exe")`, "y.y...."}, // Lucene wildcard: "\c" is an escaped "c"
		{`startsWith(s, "C:")`, "..y...."},
		{`startsWith~(s, "c:")`, "..y...."},
		{`stringContains(s, "*")`, "yyyyyyy"}, // "***" in a wildcard query
		{`stringContains(s, "x")`, "y.y.y.y"},
		{`stringContains~(s, "MD")`, "yyy...."},
		{`not stringContains(s, "x")`, ".y.y.y."},
		{`startsWith(s, "")`, "yyyyyyy"},
		{`stringContains(concat(s, ""), "")`, "......."}, // the function: false on empty strings
	})
}

func TestTypedValues(t *testing.T) {
	docs := []string{
		`{"i": 5, "d": 2.5, "b": true, "v": "1.11.3", "ip": "10.1.2.3", "t": "2017-08-30T20:47:33Z"}`,
		`{"i": -5, "d": -2.5, "b": false, "v": "1.2.4-SNAPSHOT", "ip": "192.168.0.1", "t": "2017-08-30T20:47:33.500Z"}`,
		`{"i": "7", "d": 2, "b": "true", "v": "bad", "ip": "::1", "t": 1504126053000}`,
	}
	runMatchCases(t, nil, docs, []matchCase{
		{`i == 5`, "y.."},
		{`i == 5.0`, "y.."},
		{`i < 0`, ".y."},
		{`d > 2.25`, "y.."},
		{`d == 2`, "..y"},
		// "true" as a string: a boolean field parses it, a keyword field's term query
		// takes the text of true; either way it matches.
		{`b == true`, "y.y"},
		{`b`, "y.y"},
		{`not b`, ".y."},
		{`i / 2 == 2`, "y.."},
		{`i / 2 == -2`, ".y."},
		{`i % 3 == -2`, ".y."},
		{`i % 3 == 2`, "y.."},
		{`d * 2 == 5`, "y.."},
		{`-i == 5`, ".y."},
		{`cidrMatch(ip, "10.0.0.0/8")`, "y.."},
		{`cidrMatch(ip, "10.0.0.0/8", "192.168.0.0/16")`, "yy."},
		{`cidrMatch(ip, "::/0")`, "..y"},
		{`cidrMatch(ip, "0.0.0.0/0")`, "yy."},
		{`cidrMatch(ip, "::1")`, "..y"},
		{`not cidrMatch(ip, "10.0.0.0/8")`, ".yy"},
		{`length(i) > 0`, "..y"}, // dynamic: a string value only
	})
}

func TestFunctionValues(t *testing.T) {
	cases := []struct {
		expr string
		want string // the result rendered by value.String, "error" for a compile error
	}{
		{`add(1, 2)`, "3"},
		{`add(1, 2.5)`, "3.5"},
		{`add(2147483647, 1)`, "error"}, // int overflow (Math.addExact)
		{`add(2147483647, 2147483648)`, "4294967295"},
		{`subtract(5, 7)`, "-2"},
		{`multiply(3, -4)`, "-12"},
		{`divide(4, 3)`, "1"},
		{`divide(-5, 2)`, "-2"},
		{`divide(4.0, 8)`, "0.5"},
		{`divide(1, 0)`, "error"},
		{`divide(1.0, 0)`, "Infinity"},
		{`modulo(-10, 6)`, "-4"},
		{`modulo(10, -6)`, "4"},
		{`modulo(-10, -6)`, "-4"},
		{`modulo(10, 0.5)`, "0.0"},
		{`modulo(10, 0)`, "error"},
		{`5 / 2`, "2"},
		{`-5 / 2`, "-2"},
		{`-10 % 6`, "-4"},
		{`between("abcdef", "b", "e")`, "cd"},
		{`between("a.b.c.d", ".", ".")`, "b"},
		{`between("a.b.c.d", ".", ".", true)`, "b.c"},
		{`between("abc", "", "c")`, "abc"},
		{`between("abc", "a", "")`, "abc"},
		{`between("", "", "")`, ""},
		{`between("abc", "x", "c")`, ""},
		{`between("abc", "a", "x")`, ""},
		{`between("ABCdef", "b", "D")`, ""},
		{`between~("ABCdef", "b", "D")`, "C"},
		{`between("abcba", "b", "a", true)`, "cb"},
		{`between("ab", "b", "a", true)`, "error"},
		{`between(null, "a", "b")`, "null"},
		{`concat("a", 1, 2.5, true)`, "a12.5true"},
		{`concat("a", null)`, "null"},
		{`concat(42)`, "42"},
		{`concat(1.0E10)`, "1.0E10"},
		{`endsWith("abc", "bc")`, "true"},
		{`endsWith("abc", "BC")`, "false"},
		{`endsWith~("abc", "BC")`, "true"},
		{`endsWith("", "")`, "true"},
		{`endsWith(null, "a")`, "null"},
		{`endsWith("a", null)`, "null"},
		{`startsWith("abc", "ab")`, "true"},
		{`startsWith("", "")`, "true"},
		{`startsWith~("ABC", "ab")`, "true"},
		{`indexOf("abcabc", "c")`, "2"},
		{`indexOf("abcabc", "c", 3)`, "5"},
		{`indexOf("abcabc", "c", -4)`, "2"},
		{`indexOf("abcabc", "x")`, "null"},
		{`indexOf("abc", "")`, "0"},
		{`indexOf("abc", "", 2)`, "2"},
		{`indexOf("abc", "c", 10)`, "null"},
		{`indexOf("subdomain.example.com", "D")`, "null"},
		{`indexOf~("subdomain.example.com", "D")`, "3"},
		{`indexOf(null, "a")`, "null"},
		{`indexOf("a", null)`, "null"},
		{`length("abc")`, "3"},
		{`length("")`, "0"},
		{`length("é😀")`, "3"},
		{`length(null)`, "null"},
		{`number("42")`, "42"},
		{`number("-42")`, "-42"},
		{`number("+42")`, "42"},
		{`number("42.5")`, "42.5"},
		{`number(" 12 ")`, "12"},
		{`number("0x1F")`, "31"},
		{`number("1F", 16)`, "31"},
		{`number("0x32", 16)`, "50"},
		{`number("deadbeef", 16)`, "3735928559"},
		{`number("31", 13)`, "40"},
		{`number("101", 2)`, "5"},
		{`number("abc")`, "error"},
		{`number("")`, "error"},
		{`number("12", 1)`, "error"},
		{`number(null)`, "null"},
		{`number("17", null)`, "17"},
		{`string(42)`, "42"},
		{`string(42.5)`, "42.5"},
		{`string(true)`, "true"},
		{`string(null)`, "null"},
		{`string("x")`, "x"},
		{`stringContains("abc", "b")`, "true"},
		{`stringContains("abc", "")`, "false"},
		{`stringContains("", "")`, "false"},
		{`stringContains("", "a")`, "false"},
		{`stringContains("abc", "B")`, "false"},
		{`stringContains~("Regsvr32.exe", "regsvr32")`, "true"},
		{`stringContains(null, "a")`, "null"},
		{`substring("start.exe", 1)`, "tart.exe"},
		{`substring("start.exe", 2, 5)`, "art"},
		{`substring("start.exe", -4)`, ".exe"},
		{`substring("start.exe", -4, -1)`, ".ex"},
		{`substring("start.exe", 5, 2)`, ""},
		{`substring("start.exe", -100, 100)`, "start.exe"},
		{`substring("abc", 10)`, ""},
		{`substring(null, 1)`, "null"},
		{`cidrMatch("10.1.2.3", "10.0.0.0/8")`, "error"}, // the first argument must be an ip field
		{`1 < 2`, "true"},
		{`"b" > "a"`, "true"},
		{`1 == 1.0`, "true"},
		{`1 < null`, "null"},
		{`null == null`, "true"},
		{`true and null`, "null"},
		{`false and null`, "false"},
		{`true or null`, "true"},
		{`not null`, "null"},
		{`"a" in ("b", null)`, "null"},
		{`"a" in ("a", null)`, "true"},
		{`"A" in~ ("a")`, "true"},
		{`"A" : "a*"`, "true"},
		{`"A" like "a*"`, "false"},
		{`"abc" regex "a.c"`, "true"},
		{`nosuchfunction(1)`, "error"},
		{`length~("a")`, "error"},
		{`length(1)`, "error"},
		{`add("a", 1)`, "error"},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			got := foldText(t, tc.expr)
			if got != tc.want {
				t.Errorf("%s = %s, want %s", tc.expr, got, tc.want)
			}
		})
	}
}

// foldText compiles a constant expression and renders its folded value.
func foldText(t *testing.T, src string) string {
	t.Helper()
	e, err := parseExprNoVerify(src)
	if err != nil {
		return "error"
	}
	c := newCompiler(&Env{})
	x, err := c.value(e)
	if err != nil {
		return "error"
	}
	if x.fn != nil {
		t.Fatalf("%s is not constant", src)
	}
	return x.c.String()
}

func TestCompileErrors(t *testing.T) {
	cases := []struct{ query, want string }{
		{`any where length(a) == length(b)`, "1:24: Comparisons against fields are not (currently) supported; offender [length(b)] in [==]"},
		{`any where divide(a, 0) > 1 or 1 / 0 == 1`, "1:33: division by zero"},
		{`any where a regex "a&b"`, "1:19: invalid regex [a&b]: intersection (&) is not supported at position 1"},
		{`any where a regex "(ab"`, "1:19: invalid regex [(ab]: expected ')' at position 3"},
	}
	for _, tc := range cases {
		_, err := compileText(t, tc.query, &Env{})
		if fmt.Sprint(err) != tc.want {
			t.Errorf("%s: error %v, want %s", tc.query, err, tc.want)
		}
	}
}

func TestCategory(t *testing.T) {
	docs := []string{
		`{"event": {"category": "process"}}`,
		`{"event": {"category": ["network", "process"]}}`,
		`{"event": {"category": "Process"}}`,
		`{}`,
	}
	runMatchCases(t, nil, docs, []matchCase{
		{`process where true`, "yy.."},
		{`any where true`, "yyyy"},
		{`network where true`, ".y.."},
	})
	f, err := compileText(t, `process where true`, &Env{})
	if err != nil {
		t.Fatal(err)
	}
	if cat, ok := f.Category(); cat != "process" || !ok {
		t.Errorf("Category() = %q, %v", cat, ok)
	}
	f, err = compileText(t, `any where false`, &Env{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Category(); ok {
		t.Errorf("any: Category() ok")
	}
	if r, ok := f.Constant(); r || !ok {
		t.Errorf("any where false: Constant() = %v, %v", r, ok)
	}
	_ = slices.Equal[[]bool]
}
