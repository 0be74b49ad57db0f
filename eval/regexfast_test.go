package eval

import (
	"math/rand/v2"
	"regexp/syntax"
	"strings"
	"testing"
)

// regexCorpus are Lucene regular expressions of the detection-rules corpus and edge cases
// of the translation to wildcards (escaped wildcard characters, classes, options, .+).
var regexCorpus = []string{
	`.*\.(top|buzz|xyz|rest|ml|cf|gq|ga|onion|cc|cfd|click|cam|tk|shop|club|icu|pw|ws)`,
	`.*[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}:[0-9]{1,5}:[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}:[0-9]{1,5}.*`,
	`/[a-z0-9\s_\-\\./]+\s`,
	`.*\$[0-9]+:[a-zA-Z_0-9]+:[a-zA-Z_0-9]+.*`,
	`.*(AWSLogs|CloudTrail|access-logs).*`,
	`(azure|sharp|blood)(hound)/.*`,
	`.*\.(vbs|vbe|bat|js|cmd|ps1|docx?|xlsx?|pptx?|txt)\.exe`,
	`C:\\Program Files( \(x86\))?\\Steam\\.*`,
	`.+\.(wll|xll|ppa|ppam|xla|xlam|vsto)`,
	`-[46AaCfGgKkMNnqsTtVvXxYy]+R.*`,
	`[24][0-9]{3}`,
	`a\*b.*\?c`,
	`x\\y.*`,
	`.*(ab|ac|ad)`,
	`(ab)?c.*`,
	`@`,
	`#`,
	`()`,
	`"a.b"*x`,
	`.*é.*`,
	`.*[ʰ-˿]+.*`,
	`x(ab|cd)e[0-9]+`,
	`zip|exe`,
	`kit.*`,
	`[^a]b`,
	`(a|b)?c*`,
	`[a-c]+(x|yz)?s`,
	`.*(ss|é)`,
}

// TestRegexTestAgrees checks regexTest against the regular expression itself, case
// sensitive and not, over strings built from the expressions' own pieces, and that the
// expressions that can become wildcards or byte searches do.
func TestRegexTestAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"", ".", ":", "$", "1", "12", "192", ".top", ".TOP", ".xyz", "a", "ab", "ac", "hound", "azure",
		"/", "\\", "s", " ", "-", "R", "x", "*", "?", "é", "ʰ", "\xff", "C:\\Program Files", " (x86)", "\\Steam\\",
		".docx", ".exe", ".wll", "access-logs", "AWSLogs", "\n", "2", "4", "x\\y", "a*b", "?c", "\"a.b\"", "K", "ſ", "ZIP", "e",
		"cd", "abe", "kIt", "S", "b"}
	for _, pat := range regexCorpus {
		for _, ins := range []bool{false, true} {
			re, err := compileLuceneRegex(pat, ins)
			if err != nil {
				t.Fatalf("%s: %v", pat, err)
			}
			fast := regexTest(re)
			for range 3000 {
				var b strings.Builder
				for range r.IntN(8) {
					b.WriteString(pieces[r.IntN(len(pieces))])
				}
				s := b.String()
				if got, want := fast(s), re.MatchString(s); got != want {
					t.Fatalf("regex %q (insensitive %v) on %q: fast %v, regexp %v", pat, ins, s, got, want)
				}
			}
		}
	}
	// Which expressions take which path.
	setString := func(set byteSet) string {
		var b strings.Builder
		for c := range 128 {
			if set.has(byte(c)) {
				b.WriteByte(byte(c))
			}
		}
		return b.String()
	}
	for _, c := range []struct {
		pat         string
		ins         bool
		wildcards   int    // patterns, 0: not turned into wildcards
		required    string // otherwise, bytes searched first, then " " and each byte set
		first, last string // otherwise, the bytes a value must begin and end with ("": any)
	}{
		{`.*\.(top|xyz|cc|cf)`, false, 4, "", "", ""},
		{`C:\\Program Files( \(x86\))?\\Steam\\.*`, false, 2, "", "", ""},
		{`.+\.(wll|xll)`, false, 2, "", "", ""},
		{`.*[0-9]{1,3}\.[0-9]{1,3}:[0-9]{1,5}.*`, false, 0, ".: 0123456789", "", ""},
		{`[24][0-9]{3}`, false, 0, " 24 0123456789", "24", "0123456789"},
		{`x(ab|cd)e[0-9]+`, false, 0, "ex ac 0123456789", "x", "0123456789"},
		// Lucene's \s is a literal s; the class holds / and s: implied by the literals.
		{`/[a-z0-9\s_\-\\./]+\s`, false, 0, "/s", "/", "s"},
		{`zip|exe`, true, 0, " EZez", "EZez", "EPep"},
		{`kit.*`, true, 0, " Ii Tt", "", ""}, // k also folds with the Kelvin sign
		{`[^a]b`, false, 0, "b", "", "b"},
		{`(a|b)?c*`, false, 0, "", "", ""},
		{`x|.*`, false, 2, "", "", ""},
	} {
		re, err := compileLuceneRegex(c.pat, c.ins)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := syntax.Parse(re.String(), syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		tree = tree.Simplify()
		pats, _ := regexWildcards(tree)
		if len(pats) != c.wildcards {
			t.Errorf("%s: %d wildcard patterns %q, want %d", c.pat, len(pats), pats, c.wildcards)
		}
		if c.wildcards != 0 {
			continue
		}
		bytes, sets := requiredBytes(tree)
		got := string(bytes)
		for _, set := range sets {
			got += " " + setString(set)
		}
		if got != c.required {
			t.Errorf("%s: required bytes %q, want %q", c.pat, got, c.required)
		}
		first, ok := edgeSet(tree, false)
		if got := setString(first); got != c.first || ok != (c.first != "") {
			t.Errorf("%s: first bytes %q (%v), want %q", c.pat, got, ok, c.first)
		}
		last, ok := edgeSet(tree, true)
		if got := setString(last); got != c.last || ok != (c.last != "") {
			t.Errorf("%s: last bytes %q (%v), want %q", c.pat, got, ok, c.last)
		}
	}
}

// FuzzRegexTest checks regexTest against the regular expression on any pattern the
// translation accepts and any value.
func FuzzRegexTest(f *testing.F) {
	for _, p := range regexCorpus {
		f.Add(p, "a.top", false)
	}
	f.Fuzz(func(t *testing.T, pat, s string, ins bool) {
		re, err := compileLuceneRegex(pat, ins)
		if err != nil {
			return
		}
		if got, want := regexTest(re)(s), re.MatchString(s); got != want {
			t.Fatalf("regex %q (insensitive %v) on %q: fast %v, regexp %v", pat, ins, s, got, want)
		}
	})
}
