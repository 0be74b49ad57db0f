package eval

import (
	"fmt"
	"github.com/tripline/tripline/event"
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

func TestDateBounds(t *testing.T) {
	const sec = int64(1504126053000000000) // 2017-08-30T20:47:33Z
	cases := []struct {
		in     value
		format string
		millis bool
		lo, hi int64
		ok     bool
	}{
		{strValue("2017-08-30T20:47:33Z"), "", true, sec, sec + 999_000_000, true},
		{strValue("2017-08-30T20:47:33Z"), "", false, sec, sec + 999_999_999, true},
		{strValue("2017-08-30T20:47:33.5Z"), "", false, sec + 500_000_000, sec + 500_000_000, true},
		{strValue("2017-08-30T20:47:33.123456789Z"), "", true, sec + 123_000_000, sec + 123_000_000, true},
		{strValue("2017-08-30T22:47:33+02:00"), "", true, sec, sec + 999_000_000, true},
		{strValue("2017-08-30T20:47Z"), "", false, sec - 33e9, sec - 33e9 + 59_999_999_999, true},
		{strValue("2017-08-30T20"), "", false, sec - 47*60e9 - 33e9, sec - 47*60e9 - 33e9 + 3_599_999_999_999, true},
		{strValue("2017-08-30"), "", false, 1504051200000000000, 1504051200000000000 + 86_399_999_999_999, true},
		{strValue("2017"), "", true, 1483228800000000000, 1483228800000000000 + 86_399_999_000_000, true},
		{strValue("1504126053000"), "", false, sec, sec + 999_999, true},
		{longValue(1504126053000), "", true, sec, sec, true},
		{strValue("1504126053000.5"), "", false, sec + 500_000, sec + 500_000, true},
		{strValue("30-08-2017"), "dd-MM-yyyy", true, 1504051200000000000, 1504051200000000000 + 86_399_999_000_000, true},
		{strValue("2017/08/30 20:47:33 +0000"), dynamicDateFormats, false, sec, sec + 999_999_999, true},
		{longValue(1504126053), "epoch_second", false, sec, sec + 999_999_999, true},
		{strValue("2017-08-30T20:47:33"), "strict_date_hour_minute_second", false, sec, sec + 999_999_999, true},
		{strValue("2017-08-30"), "dd-MM-yyyy", true, 0, 0, false},
		{strValue("2017-02-30"), "", true, 0, 0, false},
		{strValue("2017-08-30T25:00:00Z"), "", true, 0, 0, false},
		{strValue("yesterday"), "", true, 0, 0, false},
		{trueValue, "", true, 0, 0, false},
	}
	for _, c := range cases {
		lo, hi, ok := dateBounds(c.in, c.format, c.millis)
		if ok != c.ok || ok && (lo != event.InstantOfNanos(c.lo) || hi != event.InstantOfNanos(c.hi)) {
			t.Errorf("dateBounds(%v, %q, %v) = %v, %v, %v, want %d, %d, %v", c.in, c.format, c.millis, lo, hi, ok, c.lo, c.hi, c.ok)
		}
	}
	// Beyond 1677-2262: a date field's constants are any instant a long of milliseconds holds.
	lo, hi, ok := dateBounds(strValue("9999-12-31"), "", true)
	if want := (event.Instant{Ms: 253402214400000}); !ok || lo != want || hi != want.Add(86_399_999_000_000) {
		t.Errorf("dateBounds(9999-12-31) = %v, %v, %v", lo, hi, ok)
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
		if got := JavaDouble(f); got != want {
			t.Errorf("JavaDouble(%v) = %s, want %s", f, got, want)
		}
	}
}
