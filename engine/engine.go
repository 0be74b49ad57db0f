package engine

import (
	"context"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/internal/engine"
)

// Data types, shared with the implementation (see internal/engine for their documentation).
type (
	// Options configure Compile.
	Options = engine.Options
	// Mode selects how a Run orders its input: Batch or Streaming.
	Mode = engine.Mode
	// Position says which results a size limit keeps: Head or Tail.
	Position = engine.Position
	// Result is one match: an event, or the events of a sequence or sample in stage order.
	Result = engine.Result
	// Stats are a run's counters.
	Stats = engine.Stats
	// SkipError reports an event a Run did not use (no timestamp, or too late).
	SkipError = engine.SkipError
	// Memo shares each event's converted timestamp and join keys between the Runs pushed the
	// same events on one goroutine (Options.Memo); call its Next before pushing each event.
	Memo = engine.Memo
	// Term is one filter of a statement, as Terms lists them.
	Term = engine.Term
	// TermRole says what a Term filters: the query, a sequence or sample stage, or until.
	TermRole = engine.TermRole
	// Trace is a per-stage run of a statement over a sample of events (see NewTrace).
	Trace = engine.Trace
	// TermTrace is what a Trace recorded of one term.
	TermTrace = engine.TermTrace
	// TraceResult is one result of a Trace, with where its events came from.
	TraceResult = engine.TraceResult
	// TraceRef says where an event of a TraceResult came from, or that the stage is a
	// missing event.
	TraceRef = engine.TraceRef
	// TracedEvent is an event that passed a term's filter, with its join-key values.
	TracedEvent = engine.TracedEvent
)

// Run modes.
const (
	// Batch keeps the matching events until Flush and matches them in order: the results
	// equal Elasticsearch's.
	Batch = engine.Batch
	// Streaming matches events in arrival order after a reordering buffer of
	// Options.MaxLateness, with bounded state.
	Streaming = engine.Streaming
)

// Result positions. Tail is Elasticsearch's default.
const (
	Tail = engine.Tail
	Head = engine.Head
)

// Term roles.
const (
	TermQuery = engine.TermQuery
	TermStage = engine.TermStage
	TermUntil = engine.TermUntil
)

// DefaultMaxPending is the cap on partial sequences when Options.MaxPending is 0.
const DefaultMaxPending = engine.DefaultMaxPending

// MaxTerms bounds the terms of a statement Compile accepts.
const MaxTerms = engine.MaxTerms

// ParsePosition parses "head" or "tail".
func ParsePosition(s string) (Position, error) { return engine.ParsePosition(s) }

// NewMemo returns an empty Memo.
func NewMemo() *Memo { return engine.NewMemo() }

// Terms returns the filters of stmt in the order Compile numbers them.
func Terms(stmt *eql.Statement) []Term { return engine.Terms(stmt) }

// NewTrace compiles stmt for a Trace, registering every field it reads in fields (create the
// decoder after). An error about a place in the query is an *eval.Error.
func NewTrace(stmt *eql.Statement, fields *event.Fields, opts Options) (*Trace, error) {
	return engine.NewTrace(stmt, fields, opts)
}

// Query is a compiled EQL statement. It is immutable and may be run concurrently by several
// Runs.
type Query struct{ q *engine.Query }

// Compile compiles stmt with opts. Every field the query reads is registered in fields,
// which may be shared by many queries and one event.Decoder; create the decoder after
// compiling every query. An error about a place in the query is an *eval.Error.
func Compile(stmt *eql.Statement, fields *event.Fields, opts Options) (*Query, error) {
	q, err := engine.Compile(stmt, fields, opts)
	if err != nil {
		return nil, err
	}
	return &Query{q}, nil
}

// NewRun starts a run of q in the given mode. emit receives each result; the Result and
// its events stay valid after the call.
func (q *Query) NewRun(mode Mode, emit func(*Result)) *Run {
	return &Run{q.q.NewRun(mode, emit)}
}

// Run is one execution of a Query over a stream of events. It is not safe for concurrent
// use.
//
// Push, Flush and Stats are what most callers need; Done, Pending, Buffered and Shed
// (streaming), and Disordered and Rerun (Options.InOrder) tell more or bound the run.
type Run struct{ r *engine.Run }

// Push offers one event. The event is only read during the call; what the run keeps it
// copies. A non-nil error is a *SkipError: the event was not used (no timestamp, or too
// late); the run goes on.
func (r *Run) Push(ev *event.Event) error { return r.r.Push(ev) }

// Flush ends the input: it matches what batch mode buffered, releases the reordering
// buffer, decides pending sequences and emits the held results. A cancelled context stops
// it early with ctx.Err().
func (r *Run) Flush(ctx context.Context) error { return r.r.Flush(ctx) }

// Stats returns the run's counters.
func (r *Run) Stats() Stats { return r.r.Stats() }

// Done reports whether no further result can be emitted (a head limit was reached), so
// the caller may stop reading.
func (r *Run) Done() bool { return r.r.Done() }

// Pending returns the state the run holds now (Stats().Pending): buffered events, partial
// sequences and undecided results.
func (r *Run) Pending() int64 { return r.r.Pending() }

// Buffered returns the number of events in the reordering buffer (streaming mode).
func (r *Run) Buffered() int { return r.r.Buffered() }

// Shed processes at once the n oldest events of the reordering buffer (streaming mode), as
// if later events had come, for a caller over its memory bound: an event that arrives
// afterwards and is older than them is too late. It returns the number processed.
func (r *Run) Shed(n int) int { return r.r.Shed(n) }

// Disordered reports whether a batch run with Options.InOrder met an event out of order
// and gave up: its results are incomplete and the query must be run again without InOrder.
func (r *Run) Disordered() bool { return r.r.Disordered() }

// Rerun returns a new batch Run of r's query, emitting to the same function, that keeps
// every matching event until Flush (without Options.InOrder): for running the query again
// over all its events after Disordered.
func (r *Run) Rerun() *Run { return &Run{r.r.Rerun()} }
