package eval

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tripline/tripline/event"
)

// TestReorder checks Observe and Reorder: after observing events where one operand of an
// and is always true and another always false (and the reverse for an or), the deciding
// operand comes first, nested junctions included; and the filter gives the same results
// before and after, on events of every combination.
func TestReorder(t *testing.T) {
	env := &Env{Fields: event.NewFields()}
	f, err := compileText(t, `a == "x" and b == "y" and (c == "1" or d == "2" or e : "z*")`, env)
	if err != nil {
		t.Fatal(err)
	}
	dec := event.NewDecoder(env.Fields)
	doc := func(a, b, c, d, e string) string {
		return fmt.Sprintf(`{"a":%q,"b":%q,"c":%q,"d":%q,"e":%q}`, a, b, c, d, e)
	}
	r := rand.New(rand.NewPCG(1, 1))
	pick := func(yes, no string) string {
		if r.IntN(2) == 0 {
			return yes
		}
		return no
	}
	var docs []string
	for range 500 {
		docs = append(docs, doc(pick("x", "X"), pick("y", "n"), pick("1", "0"), pick("2", "0"), pick("zz", "a")))
	}
	match := func() []bool {
		var out []bool
		var ev event.Event
		for _, d := range docs {
			if err := dec.Decode([]byte(d), &ev); err != nil {
				t.Fatal(err)
			}
			out = append(out, f.Match(&ev))
		}
		return out
	}
	before := match()
	// Observed events: a is always "x" (never decides the and), b never "y" (always
	// decides it); in the or, e always matches and c, d never do.
	f.Observe(true)
	var ev event.Event
	for range 200 {
		if err := dec.Decode([]byte(doc("x", "n", "0", "0", "zzz")), &ev); err != nil {
			t.Fatal(err)
		}
		f.Match(&ev)
	}
	// b is never true here, so the or is never reached: show it events that reach it.
	for range 200 {
		if err := dec.Decode([]byte(doc("x", "y", "0", "0", "zzz")), &ev); err != nil {
			t.Fatal(err)
		}
		f.Match(&ev)
	}
	f.Reorder()
	if len(f.junctions) != 2 {
		t.Fatalf("%d junctions, want 2", len(f.junctions))
	}
	top, or := f.junctions[0], f.junctions[1]
	if !top.isAnd || or.isAnd {
		t.Fatal("junctions out of order")
	}
	if got := top.items[0].leaf.eq; got != "y" {
		t.Errorf("and: first operand tests %q, want the one testing \"y\"", got)
	}
	if or.items[0].leaf.m == nil {
		t.Errorf("or: first operand tests %q, want the wildcard", or.items[0].leaf.eq)
	}
	for _, j := range f.junctions {
		if j.observing {
			t.Error("still observing after Reorder")
		}
		for _, it := range j.items {
			if it.evals != 0 || it.decided != 0 || it.ns != 0 {
				t.Error("counts kept after Reorder")
			}
		}
	}
	after := match()
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("%s: %v before reordering, %v after", docs[i], before[i], after[i])
		}
	}
}
