package detect

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/rule"
)

func TestJoinSignature(t *testing.T) {
	cases := []struct{ query, want string }{
		{`process where true`, ""},
		{"sequence with maxspan=1s\n [process where true] by orchestrator.resource.name\n" +
			" [any where true] by `kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name`",
			"[kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name] [orchestrator.resource.name]"},
		{`sequence by user.name [iam where true] [iam where true]`, "[user.name]"},
		{`sequence by user.name [iam where true] [iam where true] until [process where true]`, "[user.name]"},
		{`sequence by host.id [process where true] by process.pid [process where true] by process.parent.pid`,
			"[host.id,process.parent.pid] [host.id,process.pid]"},
		{`sequence by ?user.name [a where true] [b where true]`, "[?user.name]"},
		{`sequence by x with maxspan=1m [a where true] ![b where true] [c where true]`, "[x]"},
		{`sequence with maxspan=1m [a where true] [b where true]`, "[]"},
		{`sample by host.id [a where true] [b where true]`, "[host.id]"},
		{`sample [a where true] by os [b where true] by op_sys`, "[op_sys] [os]"},
	}
	for _, c := range cases {
		stmt, err := eql.Parse(c.query)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		if got := JoinSignature(stmt); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.query, got, c.want)
		}
	}
}

// repartRules are rules of every shape Options.Repartition shares out: stages joined on
// different fields, a sequence by user, one by an optional key, one without key, a sample,
// and an event query, which stays where the events are read.
var repartRules = []struct{ id, query string }{
	{"seed", "sequence with maxspan=10s [process where event.action == \"exec\"] by orchestrator.resource.name " +
		"[any where event.dataset == \"audit\"] by `kubernetes.pod`"},
	{"user", `sequence by user.name with maxspan=30s [iam where event.action == "role"] [iam where event.action == "deploy"] until [iam where event.action == "revoke"]`},
	{"optional", `sequence by ?user.name with maxspan=5s [process where true] [network where true]`},
	{"nokey", `sequence with maxspan=2s [network where destination.port == 22] [network where destination.port == 23]`},
	{"sample", `sample by host.id [process where event.action == "exec"] [network where destination.port == 22]`},
	{"event", `process where event.action == "exec" and user.name == "u0"`},
}

// repartEvents returns n documents in time order, 50 to 550 ms apart, drawn from a few
// pods, users (or none), hosts and ports.
func repartEvents(n int) [][]byte {
	rng := rand.New(rand.NewPCG(7, 9))
	at := time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC)
	var docs [][]byte
	for i := range n {
		at = at.Add(time.Duration(50+rng.IntN(500)) * time.Millisecond)
		pod := fmt.Sprintf("p%d", rng.IntN(6))
		user := ""
		if u := rng.IntN(5); u < 4 {
			user = fmt.Sprintf(`,"user":{"name":"u%d"}`, u)
		}
		host := fmt.Sprintf(`"host":{"id":"h%d"}`, rng.IntN(4))
		var body string
		switch rng.IntN(4) {
		case 0:
			body = fmt.Sprintf(`"event":{"category":["process"],"action":"exec"},"orchestrator":{"resource":{"name":%q}}`, pod)
		case 1:
			body = fmt.Sprintf(`"event":{"dataset":"audit"},"kubernetes":{"pod":%q}`, pod)
		case 2:
			body = `"event":{"category":["iam"],"action":` + fmt.Sprintf("%q", []string{"role", "deploy", "revoke"}[rng.IntN(3)]) + `}`
		default:
			body = fmt.Sprintf(`"event":{"category":["network"]},"destination":{"port":%d}`, 21+rng.IntN(3))
		}
		docs = append(docs, fmt.Appendf(nil, `{"@timestamp":%q,"n":%d,%s,%s%s}`,
			at.Format(time.RFC3339Nano), i, host, body, user))
	}
	return docs
}

// repartDetector builds a streaming Detector of repartRules with opts, collecting alert ids.
func repartDetector(t *testing.T, opts Options, ids *[]string) *Detector {
	t.Helper()
	var rules []*rule.Rule
	for _, r := range repartRules {
		rules = append(rules, &rule.Rule{RuleID: r.id, Name: r.id, Type: "eql", Language: "eql",
			Severity: "low", MaxSignals: 100000, Query: r.query})
	}
	opts.Now, opts.Streaming = testNow, true
	opts.Compile = EngineCompiler(EngineOptions{MaxLateness: time.Second})
	d, err := New(rules, SinkFunc(func(_ context.Context, as []Alert) error {
		for _, a := range as {
			*ids = append(*ids, a.Rule.RuleID+" "+a.ID)
		}
		return nil
	}), opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Summary().RulesSkipped); n > 0 {
		t.Fatalf("rules skipped: %+v", d.Summary().RulesSkipped)
	}
	return d
}

// TestRepartitionOwnsKey checks that a Detector with Options.Repartition runs the event
// query and reports, for each event, the join keys under which the others could take it,
// and that Detectors with Options.OwnsKey sharing the keys out among 1 to 4 owners, each
// given the events reported under a key it owns, write together, with the first one's
// event alerts, exactly the alerts of one Detector over every event.
func TestRepartitionOwnsKey(t *testing.T) {
	ctx := context.Background()
	docs := repartEvents(1500)
	var want []string
	all := repartDetector(t, Options{}, &want)
	for i, doc := range docs {
		if err := all.Process(ctx, doc, EventSource{Name: "all", Line: i + 1, Seq: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := all.Close(ctx); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	perRule := map[string]int{}
	for _, w := range want {
		id, _, _ := strings.Cut(w, " ")
		perRule[id]++
	}
	t.Logf("alerts per rule: %v", perRule)
	for _, r := range repartRules {
		if perRule[r.id] == 0 {
			t.Fatalf("rule %s has no alert over the workload: it tests nothing (%v)", r.id, perRule)
		}
	}

	// The keys each event is reported under.
	type reported struct {
		doc  []byte
		keys []JoinKey
	}
	var reps []reported
	var eventIDs []string
	up := repartDetector(t, Options{Repartition: func(r *Repartitioned) {
		if !r.HasTime || r.Source.Seq != uint64(len(reps)+1) {
			t.Fatalf("event %d reported with time %v, seq %d", len(reps)+1, r.HasTime, r.Source.Seq)
		}
		rep := reported{doc: slices.Clone(r.Doc)}
		for _, k := range r.Keys {
			rep.keys = append(rep.keys, JoinKey{k.Signature, slices.Clone(k.Key)})
		}
		reps = append(reps, rep)
	}}, &eventIDs)
	for i, doc := range docs {
		if err := up.Process(ctx, doc, EventSource{Name: "up", Line: i + 1, Seq: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := up.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(reps) != len(docs) {
		t.Fatalf("%d events reported, want %d", len(reps), len(docs))
	}
	for _, id := range eventIDs {
		if !strings.HasPrefix(id, "event ") {
			t.Fatalf("the repartitioning Detector alerted for %s", id)
		}
	}
	if len(eventIDs) != perRule["event"] {
		t.Fatalf("%d event alerts, want %d", len(eventIDs), perRule["event"])
	}
	keyed := 0
	for _, r := range reps {
		if len(r.keys) > 0 {
			keyed++
		}
	}
	if keyed == 0 || keyed == len(reps) {
		t.Fatalf("%d of %d events have join keys; the workload should have events no stage takes", keyed, len(reps))
	}

	owner := func(sig string, key []byte, n int) int {
		h := fnv.New32a()
		h.Write([]byte(sig))
		h.Write([]byte{0})
		h.Write(key)
		return int(h.Sum32() % uint32(n))
	}
	for _, n := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			got := slices.Clone(eventIDs)
			for o := range n {
				d := repartDetector(t, Options{OwnsKey: func(sig string, key []byte) bool { return owner(sig, key, n) == o }}, &got)
				seq := uint64(0)
				for i, r := range reps {
					if !slices.ContainsFunc(r.keys, func(k JoinKey) bool { return owner(k.Signature, k.Key, n) == o }) {
						continue
					}
					seq++
					if err := d.Process(ctx, r.doc, EventSource{Name: "down", Line: i + 1, Seq: seq}); err != nil {
						t.Fatal(err)
					}
				}
				if err := d.Close(ctx); err != nil {
					t.Fatal(err)
				}
				if d.Summary().RulesLoaded != len(repartRules)-1 {
					t.Fatalf("owner %d runs %d rules, want the %d join rules", o, d.Summary().RulesLoaded, len(repartRules)-1)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%d alerts from %d owners, want %d:\n%v\n%v", len(got), n, len(want), got, want)
			}
		})
	}
}
