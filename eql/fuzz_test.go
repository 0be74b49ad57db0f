package eql

import (
	"errors"
	"testing"

	"github.com/tripline/tripline/internal/testenv"
)

// FuzzParse checks that no input makes the parser panic or hang, that errors are
// positioned inside the input, and that printing a parsed statement and parsing the
// output gives the same tree, before and after verification. Its seeds are the files in
// testdata/fuzz/FuzzParse plus, when ../shared is present, every EQL rule query.
func FuzzParse(f *testing.F) {
	if _, ok := testenv.LookupShared(f, "rules", "detection-rules"); ok {
		for _, q := range ruleQueries(f) {
			f.Add(q.query)
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		st, err := ParseSyntax(src)
		if err != nil {
			checkErrorPos(t, src, err)
			return
		}
		out := st.String()
		st2, err := ParseSyntax(out)
		if err != nil {
			t.Fatalf("printed query does not parse: %v\ninput:   %q\nprinted: %q", err, src, out)
		}
		if !sameTree(st, st2) {
			t.Fatalf("printed query parses differently\ninput:   %q\nprinted: %q\n%s\n%s", src, out, sexpr(st), sexpr(st2))
		}
		verr := Verify(st)
		verr2 := Verify(st2)
		if (verr == nil) != (verr2 == nil) {
			t.Fatalf("verification differs after printing: %v / %v\ninput: %q", verr, verr2, src)
		}
		if verr != nil {
			checkErrorPos(t, src, verr)
			return
		}
		out = st.String()
		st3, err := Parse(out)
		if err != nil {
			t.Fatalf("printed verified query fails: %v\ninput:   %q\nprinted: %q", err, src, out)
		}
		if !sameTree(st, st3) {
			t.Fatalf("printed verified query parses differently\ninput:   %q\nprinted: %q", src, out)
		}
		if _, err := ToJSON(st); err != nil {
			t.Fatalf("ToJSON: %v", err)
		}
	})
}

func checkErrorPos(t *testing.T, src string, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.Pos.Offset < 0 || e.Pos.Offset > len(src) || e.Pos.Line < 1 || e.Pos.Column < 1 {
		// Verification errors of synthesised nodes may lack a position, but every
		// node the parser builds has one.
		t.Fatalf("error %q has position %+v outside the input of %d bytes", e.Msg, e.Pos, len(src))
	}
	_ = e.Render(src)
}
