package eval

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/tripline/tripline/event"
)

// patKind says how a test pattern is added to a strMatcher.
type patKind uint8

const (
	kindWildcard patKind = iota // ':' and like: "*" and "?", backslash ordinary
	kindEscaped                 // endsWith/stringContains: Lucene wildcard with "\" escapes
	kindLiteral                 // an in~ member
	kindPrefix                  // startsWith
)

// buildMatcher compiles pats of one kind into a strMatcher.
func buildMatcher(kind patKind, insensitive bool, pats []string) *strMatcher {
	m := newStrMatcher(insensitive)
	for _, p := range pats {
		switch kind {
		case kindWildcard:
			m.addWildcard(p, false)
		case kindEscaped:
			m.addWildcard(p, true)
		case kindLiteral:
			m.addLiteral(p)
		case kindPrefix:
			m.addPrefix(p)
		}
	}
	return m.done()
}

// refTests compiles the reference tests: the rune-based ones the matcher replaces.
func refTests(kind patKind, insensitive bool, pats []string) []func(string) bool {
	var out []func(string) bool
	for _, p := range pats {
		switch kind {
		case kindWildcard, kindEscaped:
			out = append(out, newWildcard(p, insensitive, kind == kindEscaped).match)
		case kindLiteral:
			out = append(out, func(s string) bool { return foldEqual(p, s, insensitive) })
		case kindPrefix:
			if insensitive {
				out = append(out, func(s string) bool { return foldHasPrefix(s, p) })
			} else {
				out = append(out, func(s string) bool { return strings.HasPrefix(s, p) })
			}
		}
	}
	return out
}

// anyTest reports whether some test accepts s.
func anyTest(tests []func(string) bool, s string) bool {
	for _, t := range tests {
		if t(s) {
			return true
		}
	}
	return false
}

// refMatch is the reference result for pats on s.
func refMatch(kind patKind, insensitive bool, pats []string, s string) bool {
	return anyTest(refTests(kind, insensitive, pats), s)
}

func TestStrMatcherShapes(t *testing.T) {
	long := strings.Repeat("x", maxFastValue) + "CMD.EXE"
	cases := []struct {
		kind        patKind
		insensitive bool
		pats        []string
		value       string
		want        bool
	}{
		// literals: a short list, and a set (more than 8)
		{kindWildcard, true, []string{"cmd.exe", "powershell.exe"}, "CMD.exe", true},
		{kindWildcard, true, []string{"cmd.exe", "powershell.exe"}, "cmd.ex", false},
		{kindWildcard, true, []string{"cmd.exe", "powershell.exe"}, "cmd.exe ", false},
		{kindWildcard, false, []string{"cmd.exe", "powershell.exe"}, "CMD.exe", false},
		{kindWildcard, false, []string{"cmd.exe", "powershell.exe"}, "cmd.exe", true},
		{kindWildcard, true, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "jj"}, "JJ", true},
		{kindWildcard, true, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "jj"}, "j", false},
		{kindWildcard, true, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "jj"}, "jjj", false},
		{kindWildcard, true, []string{""}, "", true},
		{kindWildcard, true, []string{""}, "a", false},
		// prefix, suffix, infix
		{kindWildcard, true, []string{"pastebin.*"}, "PASTEBIN.com", true},
		{kindWildcard, true, []string{"pastebin.*"}, "pastebin.", true},
		{kindWildcard, true, []string{"pastebin.*"}, "xpastebin.com", false},
		{kindWildcard, true, []string{"*.ngrok.io"}, "abc.NGROK.IO", true},
		{kindWildcard, true, []string{"*.ngrok.io"}, "ngrok.io", false},
		{kindWildcard, true, []string{"*foo*", "*bar*"}, "a BAR b", true},
		{kindWildcard, true, []string{"*foo*", "*bar*"}, "fo ba", false},
		{kindWildcard, false, []string{"*Foo*"}, "xfoox", false},
		{kindWildcard, false, []string{"*Foo*"}, "xFoox", true},
		{kindWildcard, true, []string{"*"}, "", true},
		{kindWildcard, true, []string{"**"}, "anything", true},
		{kindWildcard, true, []string{"*a**b*"}, "xaxbx", true},
		{kindWildcard, true, []string{"*a**b*"}, "xbxax", false},
		// general patterns
		{kindWildcard, true, []string{"c:\\*\\cmd.exe"}, "C:\\Windows\\System32\\CMD.EXE", true},
		{kindWildcard, true, []string{"c:\\*\\cmd.exe"}, "C:\\cmd.exe", false},
		{kindWildcard, true, []string{"a*b*c"}, "abbbc", true},
		{kindWildcard, true, []string{"a*b*c"}, "acb", false},
		{kindWildcard, true, []string{"a*bc*bc"}, "abcbc", true},
		{kindWildcard, true, []string{"a*bc*bc"}, "abc", false},
		{kindWildcard, true, []string{"a?c"}, "aXc", true},
		{kindWildcard, true, []string{"a?c"}, "ac", false},
		{kindWildcard, true, []string{"a?c"}, "aéc", true}, // "?" is one code point: the rune path
		{kindWildcard, true, []string{"a??c"}, "aéc", false},
		{kindWildcard, true, []string{"*?"}, "é", true},
		{kindWildcard, true, []string{"?"}, "", false},
		{kindWildcard, true, []string{"*x?z*"}, "aaXyZbb", true},
		// non-ASCII values against ASCII patterns, and non-ASCII patterns (rune path)
		{kindWildcard, true, []string{"k"}, "\u212a", false}, // Kelvin sign is not an ASCII case of k
		{kindWildcard, true, []string{"\u212a"}, "k", true},  // its lower case is k
		{kindWildcard, true, []string{"s*"}, "ſx", false},
		{kindWildcard, true, []string{"*é*"}, "xÉx", true},
		{kindWildcard, true, []string{"i"}, "İ", false},
		{kindWildcard, true, []string{"ı"}, "I", true},  // the upper case of dotless i is I
		{kindWildcard, true, []string{"ß"}, "ẞ", false}, // ß has no single-character upper case
		{kindWildcard, true, []string{"*.exe"}, "café.EXE", true},
		{kindWildcard, true, []string{"*.exe"}, "\xff.exe", true},
		// Lucene escapes (endsWith, stringContains)
		{kindEscaped, true, []string{"*\\cmd.exe"}, "C:\\x\\CMD.EXE", true}, // "\c" is "c"
		{kindEscaped, true, []string{"*\\cmd.exe"}, "xcmd.exe", true},
		{kindEscaped, true, []string{"*a\\*b*"}, "xA*Bx", true},
		{kindEscaped, true, []string{"*a\\*b*"}, "xaxbx", false},
		{kindEscaped, true, []string{"*a\\?b"}, "a?b", true},
		{kindEscaped, true, []string{"*a\\?b"}, "axb", false},
		{kindEscaped, true, []string{"*a\\"}, "xa\\", true}, // a trailing backslash is literal
		{kindEscaped, true, []string{"*a\\*"}, "xa*", true}, // stringContains(x, "a\\") escapes its own "*"
		{kindEscaped, true, []string{"*a\\*"}, "xa*y", false},
		// in~ members: never wildcards
		{kindLiteral, true, []string{"a*b", "x?"}, "A*B", true},
		{kindLiteral, true, []string{"a*b", "x?"}, "axb", false},
		{kindLiteral, true, []string{"é"}, "É", true},
		{kindLiteral, true, []string{"\u212a"}, "k", true},
		{kindLiteral, true, []string{"k"}, "\u212a", false},
		{kindLiteral, false, []string{"é"}, "É", false},
		{kindLiteral, false, []string{"é"}, "é", true},
		// startsWith
		{kindPrefix, true, []string{"C:\\Win"}, "c:\\windows", true},
		{kindPrefix, true, []string{"C:\\Win"}, "c:\\wi", false},
		{kindPrefix, false, []string{"C:\\Win"}, "c:\\windows", false},
		{kindPrefix, true, []string{"é"}, "Éa", true},
		{kindPrefix, true, []string{"a*"}, "ab", false}, // no wildcard in startsWith
		{kindPrefix, true, []string{""}, "", true},
		// values longer than the stack buffer take the rune path
		{kindWildcard, true, []string{"*cmd.exe"}, long, true},
		{kindWildcard, true, []string{"*cmd.com"}, long, false},
		{kindLiteral, true, []string{long}, strings.ToLower(long), true},
	}
	for _, c := range cases {
		m := buildMatcher(c.kind, c.insensitive, c.pats)
		if got := m.match(c.value); got != c.want {
			t.Errorf("kind %d ci=%v %q on %.40q = %v, want %v", c.kind, c.insensitive, c.pats, c.value, got, c.want)
		}
		if ref := refMatch(c.kind, c.insensitive, c.pats, c.value); ref != c.want {
			t.Errorf("reference: kind %d ci=%v %q on %.40q = %v, want %v", c.kind, c.insensitive, c.pats, c.value, ref, c.want)
		}
	}
}

// TestStrMatcherFiling checks that each shape lands where the byte path expects it.
func TestStrMatcherFiling(t *testing.T) {
	m := buildMatcher(kindWildcard, true, []string{"A", "B*", "*C", "*D*", "e*f", "g?", "*", "é*"})
	if got, want := m.lits, []string{"a"}; !equalStrings(got, want) {
		t.Errorf("lits = %q, want %q", got, want)
	}
	if len(m.prefixes) != 1 || string(m.prefixes[0]) != "b" || len(m.suffixes) != 1 || string(m.suffixes[0]) != "c" ||
		len(m.infixes) != 1 || string(m.infixes[0]) != "d" || len(m.general) != 2 || !m.all || len(m.slow) != 1 || len(m.fastRef) != 7 {
		t.Errorf("filing: prefixes %q suffixes %q infixes %q general %d all %v slow %d fastRef %d",
			m.prefixes, m.suffixes, m.infixes, len(m.general), m.all, len(m.slow), len(m.fastRef))
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLowerASCII(t *testing.T) {
	var all []byte
	for c := 0; c < 256; c++ {
		all = append(all, byte(c))
	}
	inputs := []string{"", "A", "Hello, WORLD! @[`{", "ABCDEFGHIJKLMNOPQRSTUVWXYZ@[", string(all), "é" + strings.Repeat("Q", 17), strings.Repeat("aZ", 9) + "\x80"}
	for _, s := range inputs {
		dst := make([]byte, len(s))
		ascii := lowerASCII(dst, s)
		want := []byte(s)
		lowerBytes(want)
		if string(dst) != string(want) || ascii != isASCII(s) {
			t.Errorf("lowerASCII(%q) = %q, %v; want %q, %v", s, dst, ascii, want, isASCII(s))
		}
	}
}

// TestAltCaseASCII checks the premise of the byte path: an ASCII character's other
// case (Lucene's rule) is its ASCII other case or itself.
func TestAltCaseASCII(t *testing.T) {
	for c := rune(0); c < 0x80; c++ {
		want := c
		switch {
		case 'a' <= c && c <= 'z':
			want = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z':
			want = c - 'A' + 'a'
		}
		if got := altCase(c); got != want {
			t.Errorf("altCase(%q) = %q, want %q", c, got, want)
		}
	}
}

// diffAlphabet holds the characters the differential tests draw from: ASCII letters
// in both cases, wildcard and escape characters, and the non-ASCII characters whose
// case mappings are irregular.
var diffAlphabet = []string{
	"a", "A", "b", "B", "k", "K", "s", "S", "i", "I", ".", "\\", "*", "?",
	"é", "É", "ß", "ẞ", "\u212a", "ſ", "İ", "ı", "\xff", "\xc3",
}

func randString(r *rand.Rand, n int) string {
	var b strings.Builder
	for range r.IntN(n + 1) {
		b.WriteString(diffAlphabet[r.IntN(len(diffAlphabet))])
	}
	return b.String()
}

// TestStrMatcherDifferential compares the matcher with the rune-based reference on
// random pattern lists and values.
func TestStrMatcherDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for i := range 200000 {
		kind := patKind(r.IntN(4))
		insensitive := r.IntN(4) != 0
		pats := make([]string, 1+r.IntN(3))
		for j := range pats {
			pats[j] = randString(r, 5)
		}
		if r.IntN(20) == 0 { // enough literals for a set
			for range 10 {
				pats = append(pats, randString(r, 3))
			}
		}
		m := buildMatcher(kind, insensitive, pats)
		for range 4 {
			v := randString(r, 8)
			if r.IntN(50) == 0 {
				v = strings.Repeat(v, maxFastValue/max(len(v), 1)+1)
			}
			if got, want := m.match(v), refMatch(kind, insensitive, pats, v); got != want {
				t.Fatalf("case %d: kind %d ci=%v %q on %q = %v, want %v", i, kind, insensitive, pats, v, got, want)
			}
		}
	}
}

// FuzzStrMatcher compares the matcher with the rune-based reference. pats is a list
// separated by "\n"; mode selects the kind (bits 0-1), case insensitivity (bit 2)
// and a value repeated past the stack buffer (bit 3).
func FuzzStrMatcher(f *testing.F) {
	f.Add("*.exe\ncmd.exe", "C:\\CMD.EXE", uint8(4))
	f.Add("a?c", "aéc", uint8(4))
	f.Add("*\\cmd.exe", "x\\CMD.exe", uint8(5))
	f.Add("\u212a", "k", uint8(6))
	f.Add("İ", "i", uint8(7))
	f.Add("*foo*", "xFOOx", uint8(12))
	f.Fuzz(func(t *testing.T, pats, value string, mode uint8) {
		kind := patKind(mode & 3)
		insensitive := mode&4 != 0
		if mode&8 != 0 && len(value) > 0 {
			value = strings.Repeat(value, maxFastValue/len(value)+1)
		}
		list := strings.Split(pats, "\n")
		m := buildMatcher(kind, insensitive, list)
		if got, want := m.match(value), refMatch(kind, insensitive, list, value); got != want {
			t.Errorf("kind %d ci=%v %q on %q = %v, want %v", kind, insensitive, list, value, got, want)
		}
	})
}

// TestStrMatcherNoAlloc checks that match allocates nothing, on every path.
func TestStrMatcherNoAlloc(t *testing.T) {
	m := buildMatcher(kindWildcard, true, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "x*", "*y", "*z*", "p*q?r", "é*"})
	values := []string{"PQXR", "nothing here at all", "é", strings.Repeat("long", 300)}
	for _, v := range values {
		if n := testing.AllocsPerRun(100, func() { m.match(v) }); n != 0 {
			t.Errorf("match(%.20q) allocates %v times", v, n)
		}
	}
}

// benchValues are realistic field values: process names, command lines, domains.
var benchValues = []string{
	"svchost.exe",
	"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\ProgramData\\x.ps1",
	"cdn.Example.com",
	"/usr/bin/python3 -c import socket,subprocess,os;s=socket.socket()",
}

func benchMatcher(b *testing.B, kind patKind, insensitive bool, pats []string) {
	m := buildMatcher(kind, insensitive, pats)
	b.Run("matcher", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, v := range benchValues {
				m.match(v)
			}
		}
	})
	ref := refTests(kind, insensitive, pats)
	b.Run("rune", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, v := range benchValues {
				anyTest(ref, v)
			}
		}
	})
}

// namesList is a long ':' list of plain names, as process.name lists in rules are.
func namesList(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "Tool" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + ".exe"
	}
	return out
}

func BenchmarkStrMatcherNames(b *testing.B) { benchMatcher(b, kindWildcard, true, namesList(500)) }

func BenchmarkStrMatcherDomains(b *testing.B) {
	benchMatcher(b, kindWildcard, true, []string{"*.ngrok.io", "pastebin.*", "*.trycloudflare.com", "*.duckdns.org", "raw.githubusercontent.*", "*.onion", "transfer.sh"})
}

func BenchmarkStrMatcherInfixes(b *testing.B) {
	benchMatcher(b, kindWildcard, false, []string{"*-enc*", "*-encodedcommand*", "*downloadstring*", "*iex(*", "*frombase64string*"})
}

func BenchmarkStrMatcherGeneral(b *testing.B) {
	benchMatcher(b, kindWildcard, true, []string{"c:\\windows\\*\\powershell.exe*", "?:\\programdata\\*.ps1", "*python*-c*socket*"})
}

func BenchmarkStrMatcherInSet(b *testing.B) { benchMatcher(b, kindLiteral, true, namesList(40)) }

// junctionDocs are the documents of TestJunctions.
var junctionDocs = []string{
	`{"a": 1, "b": 2, "c": 3, "s": "cmd.exe"}`,    // 0
	`{"a": 1, "b": 0, "c": 3, "s": "CMD.EXE"}`,    // 1
	`{"a": 0, "b": 2, "s": "bash"}`,               // 2
	`{}`,                                          // 3
	`{"a": [0, 1], "s": ["x", "powershell.exe"]}`, // 4
}

func TestJunctions(t *testing.T) {
	runMatchCases(t, nil, junctionDocs, []matchCase{
		{`a == 1 and b == 2 and c == 3 and s : "*.exe"`, "y...."},
		{`a == 1 and (b == 2 and (c == 3 and s : "*.exe"))`, "y...."},
		{`a == 1 or b == 2 or c == 3 or s : "power*"`, "yyy.y"},
		{`not (a == 1 or b == 2 or s : "*.exe")`, "...y."},
		{`not (a == 1 and b == 2 and s : "*.exe")`, ".yyyy"},
		{`a == 1 and true and s like~ "cmd*"`, "yy..."},
		{`a == 1 or false or b == 2`, "yyy.y"},
		{`(a == 1 or b == 2) and (s : "cmd.exe" or c == 3)`, "yy..."},
		{`length(s) > 4 and a == 1`, "yy..y"},
		{`not (length(s) > 4 or a == 0)`, "....."},
		{`s regex~ "cmd.*" or s : "bash" or a == 1`, "yyy.y"},
		{`a == 1 and b == 2 and false`, "....."},
		{`a == 5 or b == 7 or true`, "yyyyy"},
	})
}

// TestJunctionOrder checks that chains flatten into one list ordered by cost, the
// query's order kept among equal costs.
func TestJunctionOrder(t *testing.T) {
	env := &Env{}
	c := newCompiler(env)
	cd, err := c.cond(mustParseExpr(t, `length(s) > 1 and s regex "x.*" and s : ("a*", "*b") and (a == 1 and (b == 2 and true))`), false)
	if err != nil {
		t.Fatal(err)
	}
	if !cd.listAnd || len(cd.list) != 5 {
		t.Fatalf("got a list of %d (and=%v), want 5 operands of and", len(cd.list), cd.listAnd)
	}
	var costs []int32
	for _, p := range cd.list {
		costs = append(costs, p.cost)
	}
	want := []int32{costTerm, costTerm, 4, costRegex, costScript + costTerm}
	if len(costs) != len(want) {
		t.Fatalf("costs %v, want %v", costs, want)
	}
	for i := range want {
		if costs[i] != want[i] {
			t.Fatalf("costs %v, want %v", costs, want)
		}
	}
}

// BenchmarkRuleLists measures a filter shaped like the corpus rules that spend the
// most in eval: a long ':' list of names, wildcard lists on the command line and
// args, an in~ list, and a script leaf last in the query (evaluated last).
func BenchmarkRuleLists(b *testing.B) {
	names := namesList(300)
	for i, n := range names {
		names[i] = strconv.Quote(n)
	}
	query := `process where length(process.executable) > 3 and
	  process.command_line : ("*serviceaccount*", "*kubectl*", "*/etc/shadow*") and
	  (process.name : (` + strings.Join(names, ", ") + `, "bash", "sh") or process.parent.name in~ ("BASH", "zsh")) and
	  not process.args : ("*--help*", "-h", "?version") and process.executable like~ "/usr/*/bash"`
	env := &Env{Fields: event.NewFields()}
	f, err := compileText(b, query, env)
	if err != nil {
		b.Fatal(err)
	}
	benchMatch(b, env.Fields, f)
}
