package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// TestTrace checks what a Trace records: per term, the events that pass its filter on its
// own with their timestamp and join-key values, whether or not they end in a result, and
// the results with where their events came from.
func TestTrace(t *testing.T) {
	tests := []struct {
		name  string
		query string
		opts  Options
		docs  []string // line i+1 of "in.ndjson"
		terms []string // per term: "ROLE STAGE: LINE ts=[...] keys=[...]; ..."
		res   []string // per result: "[JOIN KEYS] LINE LINE ..." (- for a missing event)
	}{
		{
			name:  "event query",
			query: `process where process.name == "id"`,
			docs: []string{
				`{"@timestamp":"2026-01-01T00:00:01Z","event":{"category":"process"},"process":{"name":"id"}}`,
				`{"@timestamp":"2026-01-01T00:00:02Z","event":{"category":"process"},"process":{"name":"ls"}}`,
				`{"event":{"category":"process"},"process":{"name":"id"}}`,
			},
			// The event without a timestamp passes the filter, but the run skips it.
			terms: []string{"query 0: 1 ts=[2026-01-01T00:00:01Z] keys=[]; 3 ts=[] keys=[]"},
			res:   []string{"[] 1"},
		},
		{
			name:  "sequence by, with an until clause",
			query: `sequence by h [process where true] by p [network where true] by n until [file where true] by f`,
			docs: []string{
				`{"@timestamp":1,"h":"a","p":["x","y"],"event":{"category":"process"}}`,
				`{"@timestamp":2,"h":"a","n":"y","event":{"category":"network"}}`,
				`{"@timestamp":3,"event":{"category":"network"}}`,
				`{"@timestamp":4,"h":"b","f":"z","event":{"category":"file"}}`,
			},
			terms: []string{
				"stage 0: 1 ts=[1] keys=[[a] [x y]]",
				"stage 1: 2 ts=[2] keys=[[a] [y]]; 3 ts=[3] keys=[[] []]",
				"until 0: 4 ts=[4] keys=[[b] [z]]",
			},
			res: []string{"[a y] 1 2"},
		},
		{
			name:  "sequence with a missing event, other fields for the timestamp and the category",
			query: `sequence with maxspan=1h [process where true] ![file where true] [network where true]`,
			opts:  Options{TimestampField: "t", CategoryField: "kind"},
			docs: []string{
				`{"t":"2026-01-01T00:00:01Z","kind":"process"}`,
				`{"t":"2026-01-01T00:00:02Z","kind":"network"}`,
				`{"t":"2026-01-01T00:00:03Z","kind":"dns"}`,
			},
			terms: []string{
				"stage 0: 1 ts=[2026-01-01T00:00:01Z] keys=[]",
				"stage 1:",
				"stage 2: 2 ts=[2026-01-01T00:00:02Z] keys=[]",
			},
			res: []string{"[] 1 - 2"},
		},
		{
			name:  "sample",
			query: `sample by h [process where true] [network where true]`,
			docs: []string{
				`{"@timestamp":1,"h":"a","event":{"category":"network"}}`,
				`{"@timestamp":2,"h":"a","event":{"category":"process"}}`,
			},
			terms: []string{"stage 0: 2 ts=[2] keys=[[a]]", "stage 1: 1 ts=[1] keys=[[a]]"},
			res:   []string{"[a] 2 1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fields := event.NewFields()
			tr, err := NewTrace(mustParse(t, tc.query), fields, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			dec := event.NewDecoder(fields)
			var ev event.Event
			buf := make([]byte, 0, 256)
			for i, d := range tc.docs {
				buf = append(buf[:0], d...)
				if err := dec.Decode(buf, &ev); err != nil {
					t.Fatalf("doc %d: %v", i, err)
				}
				ev.Source, ev.Line, ev.Seq = "in.ndjson", i+1, uint64(i+1)
				tr.Push(&ev)
				clear(buf[:cap(buf)]) // the input buffer is reused: nothing recorded points into it
			}
			if err := tr.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			var terms []string
			for i, tt := range tr.Terms() {
				if tt.Term.Bit != i {
					t.Errorf("term %d has bit %d", i, tt.Term.Bit)
				}
				var evs []string
				for _, e := range tt.Events {
					if e.Source != "in.ndjson" {
						t.Errorf("source %q", e.Source)
					}
					keys := fmt.Sprint(e.Keys)
					if e.Keys == nil {
						keys = "[]"
					}
					evs = append(evs, fmt.Sprintf("%d ts=%v keys=%s", e.Line, e.Timestamp, keys))
				}
				terms = append(terms, strings.TrimSpace(fmt.Sprintf("%s %d: %s", tt.Term.Role, tt.Term.Stage, strings.Join(evs, "; "))))
			}
			if !slices.Equal(terms, tc.terms) {
				t.Errorf("terms:\n%s\nwant:\n%s", strings.Join(terms, "\n"), strings.Join(tc.terms, "\n"))
			}
			var res []string
			for _, r := range tr.Results() {
				s := fmt.Sprint(r.JoinKeys)
				for _, ref := range r.Events {
					if ref.Missing {
						s += " -"
					} else {
						s += fmt.Sprintf(" %d", ref.Line)
					}
				}
				res = append(res, s)
			}
			if !slices.Equal(res, tc.res) {
				t.Errorf("results %q, want %q", res, tc.res)
			}
		})
	}
}

// TestTraceErrors checks that NewTrace fails where Compile fails, and on a filter that does
// not compile on its own.
func TestTraceErrors(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"sequence with maxspan=1s" + strings.Repeat(" [any where true]", MaxTerms+1), "1:1115: too many terms (at most 64)"},
		{`process where process.name`, "1:15: Condition expression needs to be boolean, found [keyword]"},
	} {
		_, err := NewTrace(mustParse(t, tc.query), event.NewFields(), Options{Mapping: mapping.ECS()})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.query, err, tc.want)
		}
	}
}
