package eval

import (
	"fmt"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1.11.3", "1.5.0", 1},
		{"1.2.4-SNAPSHOT", "1.5.0", -1},
		{"1.5.0-SNAPSHOT", "1.5.0", -1},
		{"1.5.0", "1.5.0", 0},
		{"1.5", "1.5.0", -1},
		{"bad", "1.5.0", 1},
		{"1.5.0", "bad", -1},
		{"bad", "worse", -1},
		{"1.0.0-alpha", "1.0.0-alpha.1", -1},
		{"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
		{"1.0.0-beta.2", "1.0.0-beta.11", -1},
		{"1.0.0-rc.1", "1.0.0", -1},
		{"10.0.0", "9.99.99", 1},
		{"1.0.0+build.2", "1.0.0+build.1", 1},
		{"1..0", "1.0", 1}, // invalid after valid
	}
	for _, c := range cases {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestLuceneRegex(t *testing.T) {
	cases := []struct {
		pattern     string
		insensitive bool
		input       string
		want        string // "true", "false" or "error: ..."
	}{
		{"abc", false, "abc", "true"},
		{"abc", false, "xabcx", "false"},
		{"a.c", false, "a\nc", "true"},
		{".*?net1[ ]+[a-z]{4,15}[ ]+.*?", false, "c:\\net1  user  x", "true"},
		{"a{2}", false, "aa", "true"},
		{"a{2,}", false, "aaaa", "true"},
		{"a{2,3}", false, "aaaa", "false"},
		{"[^a-c]x", false, "dx", "true"},
		{"[^a-c]x", false, "bx", "false"},
		{"\\d", false, "d", "true"}, // no shorthand classes: an escaped d
		{"\\d", false, "1", "false"},
		{"a\\.b", false, "a.b", "true"},
		{"a\\.b", false, "axb", "false"},
		{"\"a.b\"", false, "a.b", "true"},
		{"\"a.b\"", false, "axb", "false"},
		{"a|b", false, "b", "true"},
		{"(ab)+", false, "abab", "true"},
		{"()a", false, "a", "true"},
		{"@", false, "anything", "true"},
		{"#", false, "", "false"},
		{"ABC", true, "abc", "true"},
		{"*a", false, "*a", "true"}, // a leading * is a literal
		{"a**", false, "aaa", "true"},
		{"a&b", false, "", "error: invalid regex [a&b]: intersection (&) is not supported at position 1"},
		{"~a", false, "", "error: invalid regex [~a]: complement (~) is not supported at position 0"},
		{"<1-10>", false, "", "error: invalid regex [<1-10>]: numeric intervals (<n-m>) are not supported at position 0"},
		{"(a", false, "", "error: invalid regex [(a]: expected ')' at position 2"},
		{"a)", false, "", "error: invalid regex [a)]: unexpected ')' at position 1"},
		{"[a", false, "", "error: invalid regex [[a]: expected ']' at position 2"},
		{"a{2", false, "", "error: invalid regex [a{2]: expected '}' at position 3"},
	}
	for _, c := range cases {
		re, err := compileLuceneRegex(c.pattern, c.insensitive)
		got := ""
		if err != nil {
			got = "error: " + err.Error()
		} else {
			got = fmt.Sprint(re.MatchString(c.input))
		}
		if got != c.want {
			t.Errorf("regex %q on %q = %s, want %s", c.pattern, c.input, got, c.want)
		}
	}
}

func TestParseDateConst(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"2017-08-30T20:47:33Z", 1504126053000000000, true},
		{"2017-08-30T20:47:33.5Z", 1504126053500000000, true},
		{"2017-08-30T20:47:33.123456789Z", 1504126053123456789, true},
		{"2017-08-30T22:47:33+02:00", 1504126053000000000, true},
		{"2017-08-30", 1504051200000000000, true},
		{"2017", 1483228800000000000, true},
		{"1504126053000", 1504126053000000000, true},
		{"1504126053000.5", 1504126053000500000, true},
		{"2017-02-30", 0, false},
		{"2017-08-30T25:00:00Z", 0, false},
		{"yesterday", 0, false},
	}
	for _, c := range cases {
		got, ok := parseDateConst(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("parseDateConst(%q) = %d, %v, want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestWildcard(t *testing.T) {
	cases := []struct {
		pattern     string
		insensitive bool
		escapes     bool
		input       string
		want        bool
	}{
		{"*", false, false, "", true},
		{"?", false, false, "", false},
		{"?", false, false, "é", true},
		{"a*b*c", false, false, "abbbc", true},
		{"a*b*c", false, false, "acb", false},
		{"*b", false, false, "bbb", true},
		{"a?c", false, false, "abc", true},
		{"a?c", false, false, "abbc", false},
		{"A*", true, false, "abc", true},
		{"ǅ", true, false, "ǆ", true},
		{"ǅ", true, false, "Ǆ", false}, // Lucene's single alternate case
		{"a\\*", false, true, "a*", true},
		{"a\\*", false, true, "ab", false},
		{"a\\*", false, false, "a\\bc", true},
		{"%*%*", false, false, "%x%", true},
		{"%*%*", false, false, "x%%", false},
	}
	for _, c := range cases {
		if got := newWildcard(c.pattern, c.insensitive, c.escapes).match(c.input); got != c.want {
			t.Errorf("wildcard %q (ci=%v esc=%v) on %q = %v, want %v", c.pattern, c.insensitive, c.escapes, c.input, got, c.want)
		}
	}
}

func TestJavaDouble(t *testing.T) {
	cases := map[float64]string{42: "42.0", 42.5: "42.5", 1e10: "1.0E10", 1.5e-5: "1.5E-5", 0.001: "0.001", 1234567: "1234567.0", -0.5: "-0.5"}
	for f, want := range cases {
		if got := javaDouble(f); got != want {
			t.Errorf("javaDouble(%v) = %s, want %s", f, got, want)
		}
	}
}
