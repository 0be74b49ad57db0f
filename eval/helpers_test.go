package eval

import (
	"testing"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
)

// compileText parses an event query (or, when the text has no " where ", the
// condition of "any where ...") and compiles it.
func compileText(t testing.TB, src string, env *Env) (*Filter, error) {
	t.Helper()
	st, err := eql.Parse(src)
	if err != nil {
		if _, serr := eql.ParseSyntax(src); serr == nil {
			return nil, err // the verifier rejects it
		}
		st, err = eql.Parse("any where " + src)
		if err != nil {
			t.Fatalf("parse %q: %v", src, err)
		}
	}
	q, ok := st.Query.(*eql.EventQuery)
	if !ok {
		t.Fatalf("%q is not an event query", src)
	}
	return CompileQuery(q, env)
}

// matchDocs compiles query and reports, for each JSON document, whether it matches.
func matchDocs(t testing.TB, query string, env *Env, docs ...string) []bool {
	t.Helper()
	if env == nil {
		env = &Env{}
	}
	if env.Fields == nil {
		env.Fields = event.NewFields()
	}
	f, err := compileText(t, query, env)
	if err != nil {
		t.Fatalf("compile %q: %v", query, err)
	}
	dec := event.NewDecoder(env.Fields)
	out := make([]bool, len(docs))
	for i, d := range docs {
		var ev event.Event
		if err := dec.Decode([]byte(d), &ev); err != nil {
			t.Fatalf("decode %s: %v", d, err)
		}
		out[i] = f.Match(&ev)
	}
	return out
}

func parseExprNoVerify(src string) (eql.Expr, error) { return eql.ParseExpr(src) }

func mustParseExpr(tb testing.TB, src string) eql.Expr {
	tb.Helper()
	e, err := eql.ParseExpr(src)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}
