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

// term is the compiled filter and join keys of one Term, at the same index (see Terms).
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
	terms   []term // by Term.Bit: for sequences the until term, if any, is last
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

// Compile compiles stmt. Every field the query reads (timestamp, tiebreaker, join keys and
// the fields of every filter) is registered in fields, which may be shared by many queries
// and one event.Decoder; create the decoder after compiling every query. Its terms are those
// of Terms(stmt), in that order. An error about a place in the query is an *eval.Error.
func Compile(stmt *eql.Statement, fields *event.Fields, opts Options) (*Query, error) {
	opts.setDefaults()
	q := &Query{opts: opts, until: -1}
	q.ts.stamp = -1 // samples have no timestamp reader
	env := &eval.Env{Fields: fields, Mapping: opts.Mapping, CategoryField: opts.CategoryField}
	var seq *eql.Sequence
	switch s := stmt.Query.(type) {
	case *eql.EventQuery:
		q.kind = kindEvent
	case *eql.Sequence:
		q.kind, seq = kindSequence, s
		if s.MaxSpan != nil {
			q.maxspan = int64(s.MaxSpan.Std() / time.Nanosecond) // in tsUnit below
		}
	case *eql.Sample:
		q.kind = kindSample
	default:
		return nil, fmt.Errorf("unsupported query %T", stmt.Query)
	}
	for _, t := range Terms(stmt) {
		if t.Role == TermUntil {
			// The stages are checked before the until clause is compiled.
			if err := q.checkStages(seq); err != nil {
				return nil, err
			}
			q.until = t.Bit
		}
		if err := q.addTerm(t, env, fields); err != nil {
			return nil, err
		}
		if q.kind == kindSequence && t.Role == TermStage {
			for range t.Runs {
				if !t.Missing {
					q.pos = append(q.pos, len(q.stages))
				}
				q.stages = append(q.stages, stage{term: t.Bit, missing: t.Missing})
			}
		}
	}
	if seq != nil && seq.Until == nil {
		if err := q.checkStages(seq); err != nil {
			return nil, err
		}
	}
	if len(q.terms) == 0 {
		return nil, errorf(stmt.Pos(), "a statement needs at least one filter")
	}
	q.nKeys = len(q.terms[0].keys)
	for _, t := range q.terms {
		if len(t.keys) != q.nKeys {
			return nil, errorf(stmt.Pos(), "Inconsistent number of join keys specified; expected [%d] but found [%d]",
				q.nKeys, len(t.keys))
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

// addTerm compiles the filter and the join keys of term t, the next of q's terms.
func (q *Query) addTerm(t Term, env *eval.Env, fields *event.Fields) error {
	if t.Bit >= MaxTerms {
		return errorf(t.Query.At, "too many terms (at most %d)", MaxTerms)
	}
	f, err := eval.CompileQuery(t.Query, env)
	if err != nil {
		return err
	}
	ct := term{filter: f, missing: t.Missing}
	for _, k := range t.By {
		r, err := newValueReader(k, fields, q.opts.Mapping)
		if err != nil {
			return err
		}
		ct.keys = append(ct.keys, r)
	}
	q.terms = append(q.terms, ct)
	return nil
}

// checkStages checks the stages of sequence s, which q holds (expanded), and notes whether
// missing stages come before its first positive stage or after its last.
func (q *Query) checkStages(s *eql.Sequence) error {
	if len(q.pos) == 0 {
		return errorf(s.At, "a sequence needs at least one positive stage")
	}
	if len(q.pos) != len(q.stages) && q.maxspan == 0 {
		return errorf(s.At, "a sequence with missing events needs maxspan")
	}
	q.hasLead = q.pos[0] > 0
	q.hasTail = q.pos[len(q.pos)-1] < len(q.stages)-1
	return nil
}

// errorf returns a compile error at pos, worded as "LINE:COLUMN: message" like the errors
// of the filters (eval.Error).
func errorf(pos eql.Pos, format string, args ...any) error {
	return &eval.Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// compileLimits turns the request size and the head/tail pipes into a list of limits, as
// Elasticsearch does: the size is an implicit limit placed before the first pipe, of the same
// kind as that pipe (or of the result position when there is no pipe). Samples take only the
// size, always from the head.
func (q *Query) compileLimits(stmt *eql.Statement) error {
	var pipes []limitOp
	for _, p := range stmt.Pipes {
		if q.kind == kindSample {
			return errorf(p.At, "samples do not support pipes")
		}
		if p.Name != "head" && p.Name != "tail" {
			return errorf(p.At, "Pipe [%s] is not supported", p.Name)
		}
		if len(p.Args) != 1 {
			return errorf(p.At, "pipe [%s] takes one argument", p.Name)
		}
		lit, ok := p.Args[0].(*eql.Literal)
		if !ok || (lit.Kind != eql.LitInt && lit.Kind != eql.LitLong) || lit.Int < 0 {
			return errorf(p.At, "pipe [%s] needs a non-negative integer", p.Name)
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
