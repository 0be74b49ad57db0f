package eql

import (
	"fmt"
	"math"
	"strings"
)

// Verify checks a parsed statement for what Elasticsearch rejects before looking at a
// mapping (unknown functions, arity, join keys, maxspan, runs, pipes, missing events,
// samples, field-to-field comparisons) and replaces every Call.Name by the canonical
// camelCase name of its function. It returns nil, an *Error, or an ErrorList.
func Verify(st *Statement) error {
	v := &verifier{}
	v.statement(st)
	return v.errs.err()
}

type verifier struct {
	errs ErrorList
}

func (v *verifier) add(pos Pos, format string, args ...any) {
	v.errs = append(v.errs, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// supportedPipes are the pipe names Elasticsearch recognises; only head and tail run.
var supportedPipes = []string{"count", "filter", "head", "sort", "tail", "unique", "unique_count"}

func (v *verifier) statement(st *Statement) {
	switch q := st.Query.(type) {
	case *EventQuery:
		v.event(q)
	case *Sequence:
		v.sequence(q)
	case *Sample:
		v.sample(q)
		for _, p := range st.Pipes {
			v.add(p.At, "Samples do not support pipes; [%s] is not allowed after a sample", p.Name)
		}
		return
	}
	for _, p := range st.Pipes {
		v.pipe(p)
	}
}

func (v *verifier) event(q *EventQuery) {
	if q == nil {
		return
	}
	v.expr(q.Where)
	if l, ok := q.Where.(*Literal); ok && l.Kind != LitBool && l.Kind != LitNull {
		v.add(l.At, "Condition expression needs to be boolean, found [%s]", l.typeName())
	}
}

// typeName is Elasticsearch's name for the literal's data type.
func (l *Literal) typeName() string {
	switch l.Kind {
	case LitBool:
		return "BOOLEAN"
	case LitInt:
		return "INTEGER"
	case LitLong:
		return "LONG"
	case LitDouble:
		return "DOUBLE"
	case LitString:
		return "KEYWORD"
	}
	return "NULL"
}

// keyPos is where a stage's join-key problem is reported: its first key, or the stage.
func keyPos(s *Stage) Pos {
	if len(s.By) > 0 {
		return s.By[0].At
	}
	return s.At
}

// checkKeys reports stages whose number of keys differs from the first stage's.
func (v *verifier) checkKeys(stages []*Stage) {
	if len(stages) == 0 {
		return
	}
	want := len(stages[0].By)
	for _, s := range stages[1:] {
		if len(s.By) != want {
			v.add(keyPos(s), "Inconsistent number of join keys specified; expected [%d] but found [%d]", want, len(s.By))
			return
		}
	}
}

func (v *verifier) sequence(q *Sequence) {
	all := q.Stages
	if q.Until != nil {
		all = append(all[:len(all):len(all)], q.Until)
	}
	v.checkKeys(all)
	total, positive := 0, 0
	for _, s := range q.Stages {
		v.runs(s)
		n := max(s.Runs, 1)
		total += n
		if s.Missing {
			if q.MaxSpan == nil {
				v.add(s.At, "A sequence with missing events (![...]) requires [with maxspan]")
			}
		} else {
			positive += n
		}
		v.event(s.Query)
	}
	if len(q.Stages) > 0 && positive == 0 {
		v.add(q.At, "A sequence requires at least one positive event query, not only missing events (![...])")
	}
	if total < 2 {
		v.add(q.At, "A sequence requires a minimum of 2 queries, found [%d]", total)
	}
	if u := q.Until; u != nil {
		if u.Missing {
			v.add(u.At, "The [until] stage cannot be a missing event")
		}
		if u.RunsPos.IsValid() || u.Runs != 0 {
			v.add(u.RunsPos, "The [until] stage does not support [with runs]")
		}
		v.event(u.Query)
	}
}

func (v *verifier) runs(s *Stage) {
	if !s.RunsPos.IsValid() && s.Runs == 0 {
		return
	}
	if s.Runs < 1 || s.Runs > 100 {
		v.add(s.RunsPos, "A number of runs between 1 and 100 is required; found [%d]", s.Runs)
	}
}

func (v *verifier) sample(q *Sample) {
	v.checkKeys(q.Stages)
	for _, s := range q.Stages {
		if s.Missing {
			v.add(s.At, "Samples do not support missing events (![...])")
		}
		if s.RunsPos.IsValid() || s.Runs != 0 {
			v.add(s.RunsPos, "Samples do not support [with runs]")
		}
		v.event(s.Query)
	}
	if len(q.Stages) > 0 && len(q.By)+len(q.Stages[0].By) == 0 {
		v.add(q.At, "A sample requires at least one join key, in [sample by] or after each filter")
	}
	if len(q.Stages) > 5 {
		v.add(q.Stages[5].At, "A sample supports at most 5 filters, found [%d]", len(q.Stages))
	}
}

func (v *verifier) pipe(p *Pipe) {
	known := false
	for _, s := range supportedPipes {
		if s == p.Name {
			known = true
		}
	}
	if !known {
		v.add(p.At, "Unrecognized pipe [%s]%s", p.Name, didYouMean(similar(p.Name, supportedPipes)))
		return
	}
	if p.Name != "head" && p.Name != "tail" {
		v.add(p.At, "Pipe [%s] is not supported", p.Name)
		return
	}
	if len(p.Args) != 1 {
		v.add(p.At, "Pipe [%s] expects exactly one argument but found [%d]", p.Name, len(p.Args))
		return
	}
	if _, ok := p.Limit(); !ok {
		v.add(p.Args[0].Pos(), "Pipe [%s] expects a positive integer but found [%s]", p.Name, Format(p.Args[0]))
	}
}

// Limit returns the number of a head or tail pipe: its single argument folded to a
// non-negative 32-bit integer. ok is false when the argument is not such a constant.
func (n *Pipe) Limit() (limit int, ok bool) {
	if len(n.Args) != 1 {
		return 0, false
	}
	v, ok := foldInt(n.Args[0], 0)
	if !ok || v < 0 || v > math.MaxInt32 {
		return 0, false
	}
	return int(v), true
}

// foldInt evaluates an integer constant expression.
func foldInt(x Expr, depth int) (int64, bool) {
	if depth > maxDepth {
		return 0, false
	}
	switch x := x.(type) {
	case *Literal:
		if x.Kind == LitInt || x.Kind == LitLong {
			return x.Int, true
		}
	case *Paren:
		return foldInt(x.X, depth+1)
	case *Unary:
		v, ok := foldInt(x.X, depth+1)
		if !ok {
			return 0, false
		}
		if x.Op == UnaryMinus {
			if v == math.MinInt64 {
				return 0, false
			}
			return -v, true
		}
		return v, true
	case *Binary:
		a, ok1 := foldInt(x.X, depth+1)
		b, ok2 := foldInt(x.Y, depth+1)
		if !ok1 || !ok2 {
			return 0, false
		}
		switch x.Op {
		case OpAdd:
			if r := a + b; (r > a) == (b > 0) {
				return r, true
			}
		case OpSub:
			if r := a - b; (r < a) == (b > 0) {
				return r, true
			}
		case OpMul:
			if a == 0 || b == 0 {
				return 0, true
			}
			if r := a * b; r/b == a && !(a == -1 && b == math.MinInt64) && !(b == -1 && a == math.MinInt64) {
				return r, true
			}
		case OpDiv:
			if b != 0 && !(a == math.MinInt64 && b == -1) {
				return a / b, true
			}
		case OpMod:
			if b != 0 && !(a == math.MinInt64 && b == -1) {
				return a % b, true
			}
		}
	}
	return 0, false
}

// lowerNames are the function names as Elasticsearch lists them in suggestions.
var lowerNames = func() []string {
	out := make([]string, len(functionTable))
	for i, f := range functionTable {
		out[i] = strings.ToLower(f.Name)
	}
	return out
}()

func (v *verifier) expr(x Expr) {
	switch x := x.(type) {
	case *Not:
		v.expr(x.X)
	case *Paren:
		v.expr(x.X)
	case *Unary:
		v.expr(x.X)
	case *Binary:
		v.expr(x.X)
		v.expr(x.Y)
		if x.Op >= OpEq && x.Op <= OpGte {
			// Optional fields are exempt: without a mapping they may turn into null.
			if isPlainField(x.X) && isPlainField(x.Y) {
				v.add(x.Y.Pos(), "Comparisons against fields are not (currently) supported; offender [%s] in [%s]", Format(x.Y), x.Op)
			}
		}
	case *Match:
		v.expr(x.X)
		for _, p := range x.Patterns {
			v.expr(p)
		}
	case *In:
		v.expr(x.X)
		for _, e := range x.List {
			v.expr(e)
			if f, ok := e.(*Field); ok && !f.Optional {
				v.add(x.At, "Comparisons against fields are not (currently) supported; offender [%s] in [%s]", Format(f), Format(x))
			}
		}
	case *Call:
		for _, a := range x.Args {
			v.expr(a)
		}
		v.call(x)
	}
}

func (v *verifier) call(c *Call) {
	f, ok := LookupFunction(c.Name)
	if !ok {
		v.add(c.At, "Unknown function [%s]%s", c.Name, didYouMean(similar(c.Name, lowerNames)))
		return
	}
	c.Name = f.Name
	if len(c.Args) < f.MinArgs || f.MaxArgs >= 0 && len(c.Args) > f.MaxArgs {
		v.add(c.At, "error building [%s]: %s", strings.ToLower(f.Name), f.arityMessage())
	}
	if c.Insensitive && !f.Insensitive {
		v.add(c.At, "Function [%s] does not support case-insensitive matching with [~]; only between, endsWith, indexOf, startsWith and stringContains do", f.Name)
	}
}

// isPlainField reports whether x is a non-optional field reference.
func isPlainField(x Expr) bool {
	f, ok := x.(*Field)
	return ok && !f.Optional
}
