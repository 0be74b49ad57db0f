package kql

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/tripline/tripline/internal/testenv"
)

// FuzzParse checks that no input makes the parser panic, that a syntax error lies inside
// the input, and that a parsed query's canonical form parses to the same tree and
// translates. Seeds: testdata/fuzz/FuzzParse, plus every corpus KQL string when
// ../shared is present.
func FuzzParse(f *testing.F) {
	if _, ok := testenv.LookupShared(f, "rules", "detection-rules"); ok {
		queries, threats := corpusQueries(f)
		for _, q := range append(queries, threats...) {
			f.Add(q.query)
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := Parse(src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			if e.Pos.Offset < 0 || e.Pos.Offset > len(src) || e.AtEnd != (e.Pos.Offset == len(src)) || len(e.Expected) == 0 {
				t.Fatalf("bad error %+v for %q", e, src)
			}
			_ = e.Render(src)
			return
		}
		out := Format(n)
		n2, err := Parse(out)
		if err != nil {
			t.Fatalf("printed query does not parse: %v\ninput:   %q\nprinted: %q", err, src, out)
		}
		if !Equal(n, n2) {
			t.Fatalf("printed query parses differently\ninput:   %q\nprinted: %q\n%s\n%s", src, out, sexpr(n), sexpr(n2))
		}
		if utf8.ValidString(src) && Format(n2) != out {
			t.Fatalf("canonical form is not stable: %q then %q", out, Format(n2))
		}
		if _, err := ToQuery(n, nil); err != nil {
			t.Fatalf("ToQuery: %v", err)
		}
		if _, err := ToJSON(n); err != nil {
			t.Fatalf("ToJSON: %v", err)
		}
	})
}
