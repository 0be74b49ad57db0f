package engine

import (
	"fmt"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/eval"
	"github.com/tripline/tripline/event"
)

// queryKind is the shape of a statement.
type queryKind uint8

const (
	kindEvent queryKind = iota
	kindSequence
	kindSample
)

// term is one bracketed filter of a sequence or sample (before "runs" expansion), the
// until term, or the filter of an event query.
type term struct {
	filter  *eval.Filter
	keys    []valueReader // the statement's by keys, then the term's own
	missing bool
}

// stage is one expanded position of a sequence (runs=N gives N stages of one term).
type stage struct {
	term    int
	missing bool
}

// limitOp is one head or tail limit, in application order.
type limitOp struct {
	tail bool
	n    int
}

// Query is a compiled EQL statement. It is immutable and may be run concurrently by several
// Runs.
type Query struct {
	opts    Options
	kind    queryKind
	terms   []term // for sequences the until term, if any, is last
	until   int    // index of the until term, or -1
	stages  []stage
	pos     []int // indices into stages of the positive stages
	maxspan int64 // in the timestamp's unit (valueReader.tsUnit); 0 = none
	limits  []limitOp
	hasLead bool // missing stages before the first positive stage
	hasTail bool // missing stages after the last positive stage
	ts, tb  valueReader
	hasTB   bool
	nKeys   int
}

// maxTerms bounds the terms of a statement (matches are kept in a 64-bit mask).
const maxTerms = 64

// Compile compiles stmt. Every field the query reads (timestamp, tiebreaker, join keys and
// the fields of every filter) is registered in fields, which may be shared by many queries
// and one event.Decoder; create the decoder after compiling every query.
func Compile(stmt *eql.Statement, fields *event.Fields, opts Options) (*Query, error) {
	opts.setDefaults()
	q := &Query{opts: opts, until: -1}
	q.ts.stamp = -1 // samples have no timestamp reader
	env := &eval.Env{Fields: fields, Mapping: opts.Mapping, CategoryField: opts.CategoryField}
	addTerm := func(eq *eql.EventQuery, by []*eql.Field, missing bool) error {
		if len(q.terms) >= maxTerms {
			return fmt.Errorf("%d:%d: too many terms (at most %d)", eq.At.Line, eq.At.Column, maxTerms)
		}
		f, err := eval.CompileQuery(eq, env)
		if err != nil {
			return err
		}
		t := term{filter: f, missing: missing}
		for _, k := range by {
			r, err := newValueReader(k, fields, opts.Mapping)
			if err != nil {
				return err
			}
			t.keys = append(t.keys, r)
		}
		q.terms = append(q.terms, t)
		return nil
	}
	joinKeys := func(common []*eql.Field, st *eql.Stage) []*eql.Field {
		return append(append([]*eql.Field(nil), common...), st.By...)
	}
	switch s := stmt.Query.(type) {
	case *eql.EventQuery:
		q.kind = kindEvent
		if err := addTerm(s, nil, false); err != nil {
			return nil, err
		}
	case *eql.Sequence:
		q.kind = kindSequence
		if s.MaxSpan != nil {
			q.maxspan = int64(s.MaxSpan.Std() / time.Nanosecond) // in tsUnit below
		}
		for i, st := range s.Stages {
			if err := addTerm(st.Query, joinKeys(s.By, st), st.Missing); err != nil {
				return nil, err
			}
			runs := max(st.Runs, 1)
			for range runs {
				if !st.Missing {
					q.pos = append(q.pos, len(q.stages))
				}
				q.stages = append(q.stages, stage{term: i, missing: st.Missing})
			}
		}
		if len(q.pos) == 0 {
			return nil, fmt.Errorf("%d:%d: a sequence needs at least one positive stage", s.At.Line, s.At.Column)
		}
		if len(q.pos) != len(q.stages) && q.maxspan == 0 {
			return nil, fmt.Errorf("%d:%d: a sequence with missing events needs maxspan", s.At.Line, s.At.Column)
		}
		q.hasLead = q.pos[0] > 0
		q.hasTail = q.pos[len(q.pos)-1] < len(q.stages)-1
		if s.Until != nil {
			q.until = len(q.terms)
			if err := addTerm(s.Until.Query, joinKeys(s.By, s.Until), false); err != nil {
				return nil, err
			}
		}
	case *eql.Sample:
		q.kind = kindSample
		for _, st := range s.Stages {
			if err := addTerm(st.Query, joinKeys(s.By, st), false); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("unsupported query %T", stmt.Query)
	}
	q.nKeys = len(q.terms[0].keys)
	for _, t := range q.terms {
		if len(t.keys) != q.nKeys {
			return nil, fmt.Errorf("%d:%d: Inconsistent number of join keys specified; expected [%d] but found [%d]",
				stmt.Pos().Line, stmt.Pos().Column, q.nKeys, len(t.keys))
		}
	}
	if q.kind != kindSample {
		q.ts = newPathReader(opts.TimestampField, fields, opts.Mapping)
		q.ts.stamp = opts.Memo.register(q.ts)
		q.maxspan /= q.ts.tsUnit() // maxspan is a whole number of milliseconds
	}
	if opts.TiebreakerField != "" {
		q.tb = newPathReader(opts.TiebreakerField, fields, opts.Mapping)
		q.hasTB = true
	}
	if err := q.compileLimits(stmt); err != nil {
		return nil, err
	}
	return q, nil
}

// compileLimits turns the request size and the head/tail pipes into a list of limits, as
// Elasticsearch does: the size is an implicit limit placed before the first pipe, of the same
// kind as that pipe (or of the result position when there is no pipe). Samples take only the
// size, always from the head.
func (q *Query) compileLimits(stmt *eql.Statement) error {
	var pipes []limitOp
	for _, p := range stmt.Pipes {
		if q.kind == kindSample {
			return fmt.Errorf("%d:%d: samples do not support pipes", p.At.Line, p.At.Column)
		}
		if p.Name != "head" && p.Name != "tail" {
			return fmt.Errorf("%d:%d: Pipe [%s] is not supported", p.At.Line, p.At.Column, p.Name)
		}
		if len(p.Args) != 1 {
			return fmt.Errorf("%d:%d: pipe [%s] takes one argument", p.At.Line, p.At.Column, p.Name)
		}
		lit, ok := p.Args[0].(*eql.Literal)
		if !ok || (lit.Kind != eql.LitInt && lit.Kind != eql.LitLong) || lit.Int < 0 {
			return fmt.Errorf("%d:%d: pipe [%s] needs a non-negative integer", p.At.Line, p.At.Column, p.Name)
		}
		pipes = append(pipes, limitOp{tail: p.Name == "tail", n: int(min(lit.Int, int64(1<<31-1)))})
	}
	if q.opts.Size > 0 {
		tail := q.opts.ResultPosition == Tail
		if len(pipes) > 0 {
			tail = pipes[0].tail
		}
		if q.kind == kindSample {
			tail = false
		}
		q.limits = append(q.limits, limitOp{tail: tail, n: q.opts.Size})
	}
	q.limits = append(q.limits, pipes...)
	return nil
}

// applyLimits applies the limits to an ascending list of results.
func applyLimits[T any](ops []limitOp, xs []T) []T {
	for _, op := range ops {
		if len(xs) <= op.n {
			continue
		}
		if op.tail {
			xs = xs[len(xs)-op.n:]
		} else {
			xs = xs[:op.n]
		}
	}
	return xs
}
