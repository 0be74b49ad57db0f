package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/eval"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// TestTerms checks the terms of each shape of statement, in mask order, and that the
// compiled query numbers them alike: an event matching only the filter of term i gives
// Match the mask Term.Mask of term i, and KeepsEvent and LaterTerms name the terms of the
// roles they describe.
func TestTerms(t *testing.T) {
	tests := []struct {
		query string
		want  string // per term: bit role stage category [by keys] [missing] [runs]
		// docs[i] is an event matching only term i
		docs      []string
		keeps     []bool // KeepsEvent of each term's mask
		laterBits uint64 // LaterTerms
	}{
		{
			query: `process where true`,
			want:  `0 query 0 process`,
			docs:  []string{`{"event":{"category":"process"}}`},
			keeps: []bool{true},
		},
		{
			query: `sequence by h with maxspan=1s [process where true] by a with runs=2 ![file where true] by b` +
				` [network where true] by c until [dns where true] by d`,
			want: `0 stage 0 process by h,a runs=2; 1 stage 1 file by h,b missing; 2 stage 2 network by h,c;` +
				` 3 until 0 dns by h,d`,
			docs: []string{`{"event":{"category":"process"}}`, `{"event":{"category":"file"}}`,
				`{"event":{"category":"network"}}`, `{"event":{"category":"dns"}}`},
			keeps:     []bool{true, false, false, false},
			laterBits: 0b1110,
		},
		{
			query: `sequence with maxspan=1s ![file where true] [process where true] [file where true]`,
			want:  `0 stage 0 file missing; 1 stage 1 process; 2 stage 2 file`,
			// the first and last stages share a category: an event of it matches both
			docs:      []string{`{"event":{"category":"file"}}`, `{"event":{"category":"process"}}`},
			keeps:     []bool{false, true, false},
			laterBits: 0b100, // the leading missing stage is not later, the last stage is
		},
		{
			query: `sample by h [process where true] by p [network where true] by n`,
			want:  `0 stage 0 process by h,p; 1 stage 1 network by h,n`,
			docs:  []string{`{"event":{"category":"process"}}`, `{"event":{"category":"network"}}`},
			keeps: []bool{true, true},
		},
	}
	for _, tc := range tests {
		stmt := mustParse(t, tc.query)
		terms := Terms(stmt)
		var parts []string
		for _, term := range terms {
			s := fmt.Sprintf("%d %s %d %s", term.Bit, term.Role, term.Stage, term.Query.Category)
			if len(term.By) > 0 {
				var keys []string
				for _, k := range term.By {
					keys = append(keys, k.Name)
				}
				s += " by " + strings.Join(keys, ",")
			}
			if term.Missing {
				s += " missing"
			}
			if term.Runs != 1 {
				s += fmt.Sprintf(" runs=%d", term.Runs)
			}
			parts = append(parts, s)
		}
		if got := strings.Join(parts, "; "); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.query, got, tc.want)
			continue
		}
		fields := event.NewFields()
		q, err := Compile(stmt, fields, Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		dec := event.NewDecoder(fields)
		for i, doc := range tc.docs {
			var ev event.Event
			if err := dec.Decode([]byte(doc), &ev); err != nil {
				t.Fatal(err)
			}
			want := terms[i].Mask()
			if i == 0 && strings.HasPrefix(tc.query, "sequence with") {
				want |= terms[2].Mask()
			}
			if got := q.match(&ev); got != want {
				t.Errorf("%s: %s matches %b, want %b", tc.query, doc, got, want)
			}
		}
		for i, term := range terms {
			if got := q.keepsEvent(term.Mask()); got != tc.keeps[i] {
				t.Errorf("%s: KeepsEvent(term %d) = %v, want %v", tc.query, i, got, tc.keeps[i])
			}
		}
		if got := q.laterTerms(); got != tc.laterBits {
			t.Errorf("%s: LaterTerms = %b, want %b", tc.query, got, tc.laterBits)
		}
	}
	if got := (Term{Bit: MaxTerms}).Mask(); got != 0 {
		t.Errorf("Mask of bit %d = %b, want 0", MaxTerms, got)
	}
	if got := Terms(&eql.Statement{}); got != nil {
		t.Errorf("Terms of an empty statement = %v, want nil", got)
	}
}

// TestCompileErrors checks the errors of Compile: their exact text, and, for those about
// a place in the query, an *eval.Error holding that place. Most come from statements the
// parser would reject, built here by changing parsed ones.
func TestCompileErrors(t *testing.T) {
	closed, err := mapping.Parse([]byte(`{"dynamic":false,"properties":{"@timestamp":{"type":"date"},` +
		`"event":{"properties":{"category":{"type":"keyword"}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var long strings.Builder
	long.WriteString("sequence")
	for range MaxTerms + 1 {
		long.WriteString(" [any where true]")
	}
	tests := []struct {
		name   string
		query  string
		change func(*eql.Statement)
		opts   Options
		want   string
		line   int // of the *eval.Error, 0 when the error has no place
		column int
	}{
		{name: "too many terms", query: long.String(), want: "1:1099: too many terms (at most 64)", line: 1, column: 1099},
		{name: "unknown key field", query: "sequence by nope [any where true] [any where true]", opts: Options{Mapping: closed},
			want: "1:13: Unknown column [nope]", line: 1, column: 13},
		{name: "no positive stage", query: "sequence with maxspan=1s [a where true] [b where true]",
			change: func(s *eql.Statement) {
				for _, st := range s.Query.(*eql.Sequence).Stages {
					st.Missing = true
				}
			},
			want: "1:1: a sequence needs at least one positive stage", line: 1, column: 1},
		// the stages are checked before the until clause is compiled
		{name: "no positive stage, until", query: "sequence with maxspan=1s [a where true] [b where true] until [c where nope == 1]",
			change: func(s *eql.Statement) {
				for _, st := range s.Query.(*eql.Sequence).Stages {
					st.Missing = true
				}
			},
			opts: Options{Mapping: closed},
			want: "1:1: a sequence needs at least one positive stage", line: 1, column: 1},
		{name: "until", query: "sequence with maxspan=1s [a where true] [b where true] until [c where nope == 1]",
			opts: Options{Mapping: closed},
			want: "1:71: Unknown column [nope]", line: 1, column: 71},
		{name: "missing without maxspan", query: "sequence with maxspan=1s [a where true] [b where true]",
			change: func(s *eql.Statement) {
				seq := s.Query.(*eql.Sequence)
				seq.MaxSpan, seq.Stages[0].Missing = nil, true
			},
			want: "1:1: a sequence with missing events needs maxspan", line: 1, column: 1},
		{name: "join keys", query: "sequence by a [a where true] [b where true]",
			change: func(s *eql.Statement) {
				st := s.Query.(*eql.Sequence).Stages[1]
				st.By = append(st.By, &eql.Field{Name: "b"})
			},
			want: "1:1: Inconsistent number of join keys specified; expected [1] but found [2]", line: 1, column: 1},
		{name: "sample pipes", query: "sample by h [a where true] [b where true]",
			change: func(s *eql.Statement) {
				s.Pipes = []*eql.Pipe{{At: eql.Pos{Line: 1, Column: 44}, Name: "head", Args: []eql.Expr{&eql.Literal{Kind: eql.LitInt, Int: 1}}}}
			},
			want: "1:44: samples do not support pipes", line: 1, column: 44},
		{name: "unsupported pipe", query: "process where true | head 1",
			change: func(s *eql.Statement) { s.Pipes[0].Name = "sort" },
			want:   "1:22: Pipe [sort] is not supported", line: 1, column: 22},
		{name: "pipe arguments", query: "process where true | tail 1",
			change: func(s *eql.Statement) { s.Pipes[0].Args = nil },
			want:   "1:22: pipe [tail] takes one argument", line: 1, column: 22},
		{name: "pipe argument", query: "process where true | head 1",
			change: func(s *eql.Statement) { s.Pipes[0].Args[0] = &eql.Literal{Kind: eql.LitString, Str: "x"} },
			want:   "1:22: pipe [head] needs a non-negative integer", line: 1, column: 22},
		{name: "no filter", query: "sample by h [a where true] [b where true]",
			change: func(s *eql.Statement) { s.Query.(*eql.Sample).Stages = nil },
			want:   "1:1: a statement needs at least one filter", line: 1, column: 1},
		{name: "no query", query: "process where true",
			change: func(s *eql.Statement) { s.Query = nil },
			want:   "unsupported query <nil>"},
	}
	for _, tc := range tests {
		stmt := mustParse(t, tc.query)
		if tc.change != nil {
			tc.change(stmt)
		}
		_, err := Compile(stmt, event.NewFields(), tc.opts)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %s", tc.name, err, tc.want)
			continue
		}
		var ee *eval.Error
		switch {
		case tc.line == 0 && errors.As(err, &ee):
			t.Errorf("%s: an *eval.Error at %v, want no place", tc.name, ee.Pos)
		case tc.line > 0 && (!errors.As(err, &ee) || ee.Pos.Line != tc.line || ee.Pos.Column != tc.column):
			t.Errorf("%s: %#v, want an *eval.Error at %d:%d", tc.name, err, tc.line, tc.column)
		}
	}
}
