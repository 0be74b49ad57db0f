package detect

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/rule"
)

// TestRoutes checks the requirements drawn from queries: conjuncts, unions of disjunctions,
// the field's presence where no constant keys a comparison (wildcards, numbers, ranges,
// regexes, dates, non-ASCII constants), and every shape that must give none (negations,
// == null, functions, fields a mapping fills from elsewhere).
func TestRoutes(t *testing.T) {
	kw, err := mapping.Parse([]byte(`{"properties":{"a":{"type":"keyword"},"t":{"type":"text"},"al":{"type":"alias","path":"a"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := mapping.Parse([]byte(`{"properties":{"a":{"type":"long"},"al":{"type":"alias","path":"a"},` +
		`"nv":{"type":"keyword","null_value":"n"},"ck":{"type":"constant_keyword","value":"c"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		m     *mapping.Mapping
		want  string
	}{
		{`process where a == "X" and b in ("y", "Z")`, nil, `process [a=x] [b=y,z]`},
		{`process where a == "x" or a : "y"`, nil, `process [a=x,y]`},
		{`process where a == "x" or b == "y"`, nil, `process [a=x|b=y]`},
		{`process where (a == "x" and c == "1") or b == "y"`, nil, `process [a=x|b=y] [c=1|b=y]`},
		{`process where a == "x" or b != "y"`, nil, `process`},
		{`process where not a == "x"`, nil, `process`},
		{`process where a not in ("x")`, nil, `process`},
		{`process where a : "x*" and b like "y" and c == 1 and d == "é"`, nil, `process [a exists] [b=y] [c exists] [d exists]`},
		// wildcard patterns: their literal beginning, when at least PrefixLen (3) bytes,
		// ASCII and not the start of a date or a number
		{`process where a : ("Python*", "perl", "rub?") and b like~ "cur*" and c like "*x"`, nil, `process [a=perl,python*,rub*] [b=cur*] [c exists]`},
		{`process where a : ("py*", "perl") or a like "x\*yz*"`, nil, `process [a exists]`},
		{`process where a : "202*" or b : "-ab*" or c : "é12*"`, nil, `process [a=*202*|b=*-ab*|c exists]`},
		{`process where a : "abc*" or b == "x"`, nil, `process [a=abc*|b=x]`},
		// else their literal end, when its last PrefixLen bytes are ASCII letters, '.', '_' or '/'
		{`process where a : ("*\\CMD.exe", "?:\\x\\*.Dll", "pyth*") and b like "*.so"`, nil, `process [a=pyth*,*\cmd.exe,*.dll] [b=*.so]`},
		{`process where a : "*v1.2" or b : "*ab?" or c : "*é"`, nil, `process [a=*v1.2*|b exists|c exists]`},
		// else their longest literal part, when at least PrefixLen bytes of ASCII
		{`process where a : ("*Get Secret*", "*a?bcd*", "xyz*w", "*\\tmp\\*") and b : "*ab*"`, nil, `process [a=xyz*,*get secret*,*bcd*,*\tmp\*] [b exists]`},
		{`process where a : ("*abc*", "x*y")`, nil, `process [a exists]`},
		{`process where a like~ "*abc*" or a : "abc" or b : "*xyz*"`, nil, `process [a=abc,*abc*|b=*xyz*]`},
		{`process where a : "*.exe" or b == "x"`, nil, `process [a=*.exe|b=x]`},
		{`process where a regex "abc.*"`, nil, `process [a exists]`},
		{`process where a == "2024-01-01"`, nil, `process [a exists]`},
		{`process where length(a) == "x" and "x" == b`, nil, `process [b=x]`},
		{`any where a in~ ("X")`, nil, `any [a=x]`},
		{`sequence [process where a == "x"] [network where true] until [file where b == "y"]`, nil, `process [a=x]; network; file [b=y]`},
		{`process where a == "x" and t == "y" and al == "z" and u == "w"`, kw, `process [a=x] [t exists] [u exists]`},
		// presence: comparisons that are false where the field is missing, when no
		// constant keys them; never a negation, == null, or a value the document does
		// not hold (alias, null_value, constant_keyword)
		{`process where a != null and b > 5 and c in (1, 2) and d == true and e <= "x"`, nil, `process [a exists] [b exists] [c exists] [d exists] [e exists]`},
		{`process where a == null or b != 1`, nil, `process`},
		{`process where null == a and not b regex "x" and c not in (1)`, nil, `process`},
		{`process where a : "x*" or a == "abc"`, nil, `process [a exists]`},
		{`process where a == "abc" or a > 1 or b : "*x*"`, nil, `process [a exists|b exists]`},
		{`process where startsWith(a, "x") and ?b != null`, nil, `process [b exists]`},
		{`process where al > 1 and nv > 1 and ck > 1 and a > 1`, pm, `process [a exists]`},
	}
	for _, tc := range tests {
		stmt, err := eql.Parse(tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		if got := formatRoutes(Routes(stmt, tc.m)); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.query, got, tc.want)
		}
	}
}

func formatRoutes(rs []Route) string {
	var parts []string
	for _, r := range rs {
		s := r.Category
		if r.Any {
			s = "any"
		}
		for _, req := range r.Requires {
			var alts []string
			for _, fv := range req {
				if fv.Present {
					alts = append(alts, fv.Field+" exists")
					continue
				}
				vals := slices.Clone(fv.Values)
				for _, p := range fv.Prefixes {
					vals = append(vals, p+"*")
				}
				for _, p := range fv.Suffixes {
					vals = append(vals, "*"+p)
				}
				for _, p := range fv.Infixes {
					vals = append(vals, "*"+p+"*")
				}
				alts = append(alts, fv.Field+"="+strings.Join(vals, ","))
			}
			s += " [" + strings.Join(alts, "|") + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// TestPrefilterSameResults runs all 1,024 EQL rules of the corpus over generated events
// (bench/gen, with planted seed-rule sequences) with the rule index and without it, and with
// the index on 3 worker goroutines, in batch and streaming modes: every alert must index
// under the alerts index's mapping, and the alerts and every rule's match count must be
// identical (in the same order, except between the index and no
// index in streaming mode).
func TestPrefilterSameResults(t *testing.T) {
	dir := sharedPath(t, "rules/detection-rules")
	set, err := rule.Load(context.Background(), dir)
	if err != nil || len(set.Errors) > 0 {
		t.Fatalf("load: %v %v", err, set.Errors)
	}
	events := filepath.Join(t.TempDir(), "events.ndjson")
	cmd := exec.Command("go", "run", "./bench/gen", "-n", "4000", "-seed", "7", "-planted", "10", "-o", events)
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bench/gen: %v\n%s", err, out)
	}
	for _, streaming := range []bool{false, true} {
		var results [3][]string
		for i, c := range []struct {
			noPrefilter bool
			workers     int
		}{{false, 1}, {true, 1}, {false, 3}} {
			alerts, sum, _ := runFile(t, set.Rules, events, Options{
				Compile: EngineCompiler(EngineOptions{}), Now: testNow, Streaming: streaming,
				noPrefilter: c.noPrefilter, Workers: c.workers})
			if i == 0 { // every alert of the corpus rules indexes under the alerts index's mapping
				t.Logf("streaming=%v: %d alerts checked against the alerts index mapping", streaming,
					checkAlertsIndex(t, fmt.Sprintf("streaming=%v", streaming), alerts))
			}
			for _, a := range alerts {
				results[i] = append(results[i], a.Rule.RuleID+" "+a.ID)
			}
			for _, r := range sum.Rules {
				results[i] = append(results[i], fmt.Sprintf("%s matches=%d offered=%d", r.RuleID, r.Matches, r.EventsOffered))
			}
			results[i] = append(results[i], fmt.Sprintf("read=%d skipped=%d unused=%d noindex=%d",
				sum.EventsRead, sum.EventsSkipped, sum.EventsUnused, sum.EventsWithoutIndex))
		}
		if !reflect.DeepEqual(results[0], results[2]) {
			t.Errorf("streaming=%v: 3 workers give %d results, 1 worker %d, or in another order", streaming, len(results[2]), len(results[0]))
		}
		// Without the index every rule is offered every event: only the offer counts differ.
		for i := range results {
			for j, r := range results[i] {
				if k := strings.Index(r, " offered="); k >= 0 {
					results[i][j] = r[:k]
				}
			}
		}
		if streaming {
			// A streaming rule releases what it buffered as later events reach it, so the
			// alerts of different rules interleave differently: compare them as sets.
			slices.Sort(results[0])
			slices.Sort(results[1])
		}
		if len(results[0]) < 1024+100 {
			t.Errorf("streaming=%v: only %d alerts and rules: the workload does not exercise the rules", streaming, len(results[0]))
		}
		if !reflect.DeepEqual(results[0], results[1]) {
			for i := range min(len(results[0]), len(results[1])) {
				if results[0][i] != results[1][i] {
					t.Errorf("streaming=%v: first difference at %d: with index %q, without %q", streaming, i, results[0][i], results[1][i])
					break
				}
			}
			t.Errorf("streaming=%v: %d results with the index, %d without", streaming, len(results[0]), len(results[1]))
		}
	}
}

// TestInOrderSameResults checks that matching batch sequences as events come (the default)
// gives the alerts and counters of keeping every event until Close (noInOrder), over all
// corpus rules: for input in timestamp order (no rule is run again), for two ordered halves
// in the wrong order (as files that are each in order) and for shuffled input (the rules
// that met an event out of order are run again over the spilled events, or over the input
// read again with Options.Replay).
func TestInOrderSameResults(t *testing.T) {
	dir := sharedPath(t, "rules/detection-rules")
	set, err := rule.Load(context.Background(), dir)
	if err != nil || len(set.Errors) > 0 {
		t.Fatalf("load: %v %v", err, set.Errors)
	}
	tmp := t.TempDir()
	ordered := filepath.Join(tmp, "ordered.ndjson")
	cmd := exec.Command("go", "run", "./bench/gen", "-n", "4000", "-seed", "7", "-planted", "10", "-o", ordered)
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bench/gen: %v\n%s", err, out)
	}
	data, err := os.ReadFile(ordered)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(bytes.TrimRight(data, "\n"), []byte("\n"))
	lines[len(lines)-1] = append(lines[len(lines)-1], '\n')
	write := func(name string, ls [][]byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, bytes.Join(ls, nil), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	half := len(lines) / 2
	swapped := write("swapped.ndjson", append(slices.Clone(lines[half:]), lines[:half]...))
	shuffled := slices.Clone(lines)
	for i := range shuffled { // a fixed permutation
		j := (i * 7919) % len(shuffled)
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	shuffledPath := write("shuffled.ndjson", shuffled)
	for _, c := range []struct {
		name   string
		path   string
		reruns bool
	}{{"ordered", ordered, false}, {"swapped halves", swapped, true}, {"shuffled", shuffledPath, true}} {
		var results [5][]string
		var reruns [5]int
		for i, o := range []struct {
			noInOrder bool
			workers   int
			replay    bool
			origin    bool
		}{{true, 1, false, false}, {false, 1, false, false}, {false, 3, false, false}, {false, 2, true, false}, {false, 2, true, true}} {
			var d *Detector
			opts := Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow, noInOrder: o.noInOrder, Workers: o.workers}
			if o.replay { // runFileDetector reads the file again
				opts.Replay = func(context.Context, func([]byte, EventSource) error) error { return nil }
			}
			if o.origin { // and the documents of the events rules keep
				opts.Origin = &fileOrigin{}
			}
			alerts, sum, evErrs := runFileDetector(t, set.Rules, c.path, opts, &d)
			if o.replay && d.spill != nil {
				t.Errorf("%s: a temporary file with Options.Replay", c.name)
			}
			if o.origin && d.opts.Origin.(*fileOrigin).reads.Load() == 0 {
				t.Errorf("%s: no document read again with Options.Origin", c.name)
			}
			if len(evErrs) > 0 {
				t.Errorf("%s: %d event errors, the first %s", c.name, len(evErrs), evErrs[0])
			}
			for _, a := range alerts {
				results[i] = append(results[i], a.Rule.RuleID+" "+a.ID+" "+string(a.Doc))
			}
			for _, r := range sum.Rules {
				results[i] = append(results[i], fmt.Sprintf("%s matches=%d capped=%d alerts=%d offered=%d",
					r.RuleID, r.Matches, r.Capped, r.Alerts, r.EventsOffered))
			}
			results[i] = append(results[i], strings.Join(sum.Warnings, "\n"))
			reruns[i] = d.reruns
		}
		if len(results[0]) < 1024+100 {
			t.Errorf("%s: only %d alerts and rules: the workload does not exercise the rules", c.name, len(results[0]))
		}
		for i := 1; i < len(results); i++ {
			if !reflect.DeepEqual(results[0], results[i]) {
				for k := range min(len(results[0]), len(results[i])) {
					if results[0][k] != results[i][k] {
						t.Errorf("%s, run %d: first difference at %d:\n%.300s\nwant\n%.300s", c.name, i, k, results[i][k], results[0][k])
						break
					}
				}
				t.Errorf("%s, run %d: %d results, want %d", c.name, i, len(results[i]), len(results[0]))
			}
		}
		if reruns[0] != 0 || (reruns[1] > 0) != c.reruns || reruns[2] != reruns[1] || reruns[3] != reruns[1] || reruns[4] != reruns[1] {
			t.Errorf("%s: rules run again: %v, want some: %v", c.name, reruns, c.reruns)
		}
		t.Logf("%s: %d rules run again", c.name, reruns[1])
	}
}

// TestIndexSampling checks that the rule index is chosen again from the first events, whatever
// the number of workers, the matches staying the same:
//   - a term whose rarest pre-filter in the rule set (host.os.type == "linux", named by one
//     rule) turns out to be common in the events is then routed by the other one
//     (process.name, which three rules name but few events hold);
//   - the same with a category for the common pre-filter, which must survive the input
//     buffer being reused: the counts were once kept under map keys pointing into the
//     caller's document, which the next one overwrote (the message's length moves the
//     category within the document), so that the category seemed rare and every event
//     went to the rule.
func TestIndexSampling(t *testing.T) {
	mk := func(id, query string) *rule.Rule {
		return &rule.Rule{RuleID: id, Name: id, Type: "eql", Language: "eql", Severity: "low", MaxSignals: 100,
			Index: []string{"logs-*"}, Query: query}
	}
	type sampling struct {
		sample, workers int
		offered         int64 // to rule a
	}
	for _, set := range []struct {
		name  string
		rules []*rule.Rule
		cases []sampling
	}{
		{"field", []*rule.Rule{
			mk("a", `process where host.os.type == "linux" and process.name == "bash"`),
			mk("b", `process where process.name == "bash" and user.name == "root"`),
			mk("c", `process where process.name in ("bash", "sh") and user.name == "alice"`),
		}, []sampling{
			{-1, 1, 100},    // static index: by host.os.type, every event
			{10, 1, 10 + 4}, // 10 sampled events, then the 4 later bash events (of 5)
			{10, 3, 10 + 4},
			{0, 1, 100}, // the default sample (2048) is never complete
		}},
		{"category", []*rule.Rule{
			mk("a", `process where process.name == "bash"`),
			mk("b", `any where process.name == "bash" and user.name == "root"`),
			mk("c", `any where process.name == "bash" and user.name == "alice"`),
		}, []sampling{
			{-1, 1, 100}, // static index: by category, every event
			{10, 1, 10 + 4},
			{10, 2, 10 + 4},
		}},
	} {
		var lines []string
		for i := range 100 {
			name := "python3"
			if i%20 == 0 {
				name = "bash"
			}
			lines = append(lines, fmt.Sprintf(`{"@timestamp":"2026-01-01T00:00:%02d.%03dZ","_index":"logs-x","message":%q,"event":{"category":"process"},"host":{"os":{"type":"linux"}},"process":{"name":%q},"user":{"name":"bob"}}`,
				i/10, i%1000, strings.Repeat("m", i%7), name))
		}
		path := filepath.Join(t.TempDir(), "events.ndjson")
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range set.cases {
			_, sum, _ := runFile(t, set.rules, path, Options{Compile: EngineCompiler(EngineOptions{}), Now: testNow,
				indexSample: c.sample, Workers: c.workers})
			if got := sum.Rules[0].EventsOffered; got != c.offered {
				t.Errorf("%s, sample %d, %d workers: rule a offered %d events, want %d", set.name, c.sample, c.workers, got, c.offered)
			}
			if got := sum.Rules[0].Matches; got != 5 {
				t.Errorf("%s, sample %d, %d workers: rule a matched %d events, want 5", set.name, c.sample, c.workers, got)
			}
		}
	}
}
