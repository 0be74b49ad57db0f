package engine

import "github.com/tripline/tripline/eql"

// TermRole says what a term is in its statement.
type TermRole uint8

// Term roles.
const (
	// TermQuery is the filter of an event query.
	TermQuery TermRole = iota
	// TermStage is a bracketed stage of a sequence or a sample (Term.Stage says which).
	TermStage
	// TermUntil is the until clause of a sequence.
	TermUntil
)

// String returns "query", "stage" or "until".
func (r TermRole) String() string {
	switch r {
	case TermStage:
		return "stage"
	case TermUntil:
		return "until"
	}
	return "query"
}

// MaxTerms bounds the terms of a statement Compile accepts: a term is a bit of a uint64
// mask.
const MaxTerms = 64

// Term is one filter of a statement, as Compile compiles it and as the masks of
// Stepper.Match, MatchTerms, KeepsEvent and LaterTerms number it: the term at index i of
// Terms is bit i (Bit) of those masks. A sequence stage "with runs=N" is one term.
type Term struct {
	// Bit is the term's index in the list Terms returns, and its bit in the masks.
	Bit  int
	Role TermRole
	// Stage is the index of a TermStage among the statement's bracketed stages; 0 for the
	// other roles.
	Stage int
	// Query is the term's event query: its category and where clause.
	Query *eql.EventQuery
	// By are the term's join keys: the statement's by keys, then the stage's own. Nil for
	// an event query.
	By []*eql.Field
	// Missing is set for a missing-event stage (![...]) of a sequence.
	Missing bool
	// Runs is the number of consecutive stages of a sequence the term stands for
	// ("with runs=N"); 1 for every other term.
	Runs int
}

// Mask returns the term's bit in a mask: 1<<Bit, or 0 for a term past MaxTerms (which
// Compile rejects).
func (t Term) Mask() uint64 {
	if t.Bit >= MaxTerms {
		return 0
	}
	return 1 << t.Bit
}

// Terms returns the terms of stmt in mask order: an event query's filter; a sequence's
// stages, then its until clause; a sample's stages. It returns nil for a statement of
// another shape. Every user of a statement's filters (Compile, a rule index that must
// know which bit of a mask is which filter, a tool reporting on each stage) takes them
// from here, so that term i means the same filter to all of them.
func Terms(stmt *eql.Statement) []Term {
	var out []Term
	stage := func(role TermRole, i int, st *eql.Stage, common []*eql.Field, seq bool) {
		t := Term{Bit: len(out), Role: role, Query: st.Query, Runs: 1,
			By: append(append([]*eql.Field(nil), common...), st.By...)}
		if role == TermStage {
			t.Stage = i
		}
		if seq && role == TermStage {
			t.Missing, t.Runs = st.Missing, max(st.Runs, 1)
		}
		out = append(out, t)
	}
	switch q := stmt.Query.(type) {
	case *eql.EventQuery:
		out = append(out, Term{Role: TermQuery, Query: q, Runs: 1})
	case *eql.Sequence:
		for i, st := range q.Stages {
			stage(TermStage, i, st, q.By, true)
		}
		if q.Until != nil {
			stage(TermUntil, 0, q.Until, q.By, true)
		}
	case *eql.Sample:
		for i, st := range q.Stages {
			stage(TermStage, i, st, q.By, false)
		}
	}
	return out
}
