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
}

// TestRegexTestAgrees checks regexTest against the regular expression itself, case
// sensitive and not, over strings built from the expressions' own pieces, and that the
// expressions that can become wildcards or byte searches do.
func TestRegexTestAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"", ".", ":", "$", "1", "12", "192", ".top", ".TOP", ".xyz", "a", "ab", "ac", "hound", "azure",
		"/", "\\", "s", " ", "-", "R", "x", "*", "?", "é", "ʰ", "\xff", "C:\\Program Files", " (x86)", "\\Steam\\",
		".docx", ".exe", ".wll", "access-logs", "AWSLogs", "\n", "2", "4", "x\\y", "a*b", "?c", "\"a.b\""}
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
	for _, c := range []struct {
		pat       string
		wildcards int    // patterns, 0: not turned into wildcards
		required  string // bytes searched first otherwise
	}{
		{`.*\.(top|xyz|cc|cf)`, 4, ""},
		{`C:\\Program Files( \(x86\))?\\Steam\\.*`, 2, ""},
		{`.+\.(wll|xll)`, 2, ""},
		{`.*[0-9]{1,3}\.[0-9]{1,3}:[0-9]{1,5}.*`, 0, ".:"},
		{`[24][0-9]{3}`, 0, ""},
		{`x(ab|cd)e[0-9]+`, 0, "ex"},
	} {
		re, err := compileLuceneRegex(c.pat, false)
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
		if c.wildcards == 0 {
			if got := string(requiredBytes(tree)); got != c.required {
				t.Errorf("%s: required bytes %q, want %q", c.pat, got, c.required)
			}
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
