package detect

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/internal/engine"
	"github.com/tripline/tripline/rule"
)

// TestTermsAndRoutesAgree checks, for all 1,024 EQL rules of the corpus, that the rule
// index and the engine number a rule's terms alike. Statically: a rule has a route per term
// of engine.Terms, route i with the category of term i. Over generated events, with the
// index first built from the rules alone, then from the events it sampled: for every event
// and rule, each term the engine says the event matches (bit i of the rule's Match mask) is
// one the index offers the event for (bit i of the router's terms of the rule), so that a
// route standing for another term than the engine's bit would lose matches here.
func TestTermsAndRoutesAgree(t *testing.T) {
	set, err := rule.Load(context.Background(), sharedPath(t, "rules/detection-rules"))
	if err != nil || len(set.Errors) > 0 {
		t.Fatalf("load: %v %v", err, set.Errors)
	}
	set.Rules = eqlOnly(set.Rules)
	roles := map[engine.TermRole]int{}
	for _, r := range set.Rules {
		stmt, err := eql.Parse(r.Query)
		if err != nil {
			t.Fatalf("%s: %v", r.RuleID, err)
		}
		terms, routes := engine.Terms(stmt), Routes(stmt, nil)
		if len(terms) == 0 || len(routes) != len(terms) {
			t.Errorf("%s: %d terms, %d routes", r.RuleID, len(terms), len(routes))
			continue
		}
		for i, term := range terms {
			roles[term.Role]++
			if term.Bit != i || routes[i].Category != term.Query.Category || routes[i].Any != term.Query.Any {
				t.Errorf("%s: term %d (bit %d, %s %q any=%v) has route %q any=%v", r.RuleID, i, term.Bit,
					term.Role, term.Query.Category, term.Query.Any, routes[i].Category, routes[i].Any)
			}
		}
	}
	t.Logf("terms by role: %v", roles)
	if roles[engine.TermQuery] == 0 || roles[engine.TermStage] == 0 || roles[engine.TermUntil] == 0 {
		t.Errorf("the corpus has no term of some role: %v", roles)
	}

	events := filepath.Join(t.TempDir(), "events.ndjson")
	cmd := exec.Command("go", "run", "./bench/gen", "-n", "4000", "-seed", "11", "-planted", "10", "-o", events)
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bench/gen: %v\n%s", err, out)
	}
	// Streaming, with no workers: the test drives the decoder and the router itself, as
	// Process does.
	d, err := New(set.Rules, SinkFunc(func(context.Context, []Alert) error { return nil }), Options{
		Compile: EngineCompiler(EngineOptions{}), Now: testNow, Streaming: true, IgnoreIndexPatterns: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.rules); n != 1024 {
		t.Fatalf("%d rules running, want 1024", n)
	}
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var ev event.Event
	isCand := make([]bool, len(d.rules))
	matched, later := 0, 0 // (event, rule, term) matches, and those of a term past the first
	for line := 1; sc.Scan(); line++ {
		if err := d.dec.Decode(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		d.rt.prepare(&ev, EventSource{Name: "events", Line: line})
		cand := d.rt.candidates(&ev)
		for _, i := range cand {
			isCand[i] = true
		}
		for i, rs := range d.rules {
			mask := rs.split.Match(&ev)
			for m := mask; m != 0; m &= m - 1 {
				matched++
				if m&-m != 1 {
					later++
				}
			}
			switch {
			case mask != 0 && !isCand[i]:
				t.Errorf("line %d: rule %s matches terms %b but is not offered the event", line, rs.info.r.RuleID, mask)
			case mask&^d.rt.terms[i] != 0:
				t.Errorf("line %d: rule %s matches terms %b, offered for terms %b", line, rs.info.r.RuleID, mask, d.rt.terms[i])
			}
		}
		for _, i := range cand {
			isCand[i] = false
		}
		d.sample(&ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if d.sampler != nil {
		t.Errorf("the index was not rebuilt from sampled events")
	}
	t.Logf("%d term matches, %d of a term past the first", matched, later)
	if later == 0 {
		t.Errorf("no event matched a term past the first: the check is empty")
	}
}
