package detect

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tripline/tripline/rule"
)

// TestRuleInterval checks that a rule with a malformed interval, which Kibana refuses to
// create, is skipped with Kibana's reason in both modes, and that an empty interval is
// Kibana's default.
func TestRuleInterval(t *testing.T) {
	mk := func(id, interval string) *rule.Rule {
		return &rule.Rule{RuleID: id, Name: id, Type: "eql", Language: "eql", Query: "any where true",
			Severity: "low", MaxSignals: 100, Interval: interval, Enabled: true}
	}
	rules := []*rule.Rule{mk("ok", "1m"), mk("bad", "5x"), mk("empty", ""), mk("zero", "05m")}
	for _, streaming := range []bool{false, true} {
		d, err := New(rules, SinkFunc(func(context.Context, []Alert) error { return nil }),
			Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow, Streaming: streaming})
		if err != nil {
			t.Fatal(err)
		}
		want := []SkippedRule{
			{RuleID: "bad", Name: "bad", Reason: "interval: string is not a valid duration: 5x"},
			{RuleID: "zero", Name: "zero", Reason: "interval: string is not a valid duration: 05m"},
		}
		if s := d.Summary(); s.RulesLoaded != 2 || !reflect.DeepEqual(s.RulesSkipped, want) {
			t.Errorf("streaming=%v: %d rules loaded, skipped %+v; want 2 and %+v", streaming, s.RulesLoaded, s.RulesSkipped, want)
		}
		if err := d.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSpillFileError checks that New fails, saying where, when the temporary file its
// in-order sequence rules need cannot be created, and only then: not for rules that need
// none, nor when the input can be read again or sequences keep their events in memory.
func TestSpillFileError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	seq := &rule.Rule{RuleID: "seq", Name: "seq", Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100,
		Query: "sequence [process where true] [network where true]", Enabled: true}
	ev := &rule.Rule{RuleID: "ev", Name: "ev", Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100,
		Query: "process where true", Enabled: true}
	replay := func(context.Context, func([]byte, EventSource) error) error { return nil }
	for _, c := range []struct {
		name  string
		rules []*rule.Rule
		opts  Options
		want  string
	}{
		{"sequence rule", []*rule.Rule{ev, seq}, Options{},
			"detect: cannot create the temporary file for the events of sequence rules in " + dir + ": no such file or directory"},
		{"no sequence rule", []*rule.Rule{ev}, Options{}, ""},
		{"replay", []*rule.Rule{ev, seq}, Options{Replay: replay}, ""},
		{"no in-order matching", []*rule.Rule{ev, seq}, Options{noInOrder: true}, ""},
		{"streaming", []*rule.Rule{ev, seq}, Options{Streaming: true}, ""},
	} {
		opts := c.opts
		opts.Compile, opts.Now, opts.SpillDir = EngineCompiler(EngineOptions{}), testNow, dir
		d, err := New(c.rules, SinkFunc(func(context.Context, []Alert) error { return nil }), opts)
		switch {
		case c.want != "" && (err == nil || err.Error() != c.want):
			t.Errorf("%s: err = %v, want %s", c.name, err, c.want)
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case err == nil:
			if err := d.Close(context.Background()); err != nil {
				t.Errorf("%s: Close: %v", c.name, err)
			}
		}
	}
}
