package detect

import (
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/internal/engine"
	"github.com/tripline/tripline/mapping"
)

// EngineOptions configure EngineCompiler.
type EngineOptions struct {
	// Mapping gives field types; nil means dynamic mapping from the JSON values.
	Mapping *mapping.Mapping
	// MaxLateness and MaxPending are passed to the engine (streaming mode).
	MaxLateness time.Duration
	MaxPending  int
}

// EngineCompiler returns the CompileFunc that compiles rules with package engine: the
// rule's timestamp_field, tiebreaker_field and event_category_override become the query's
// timestamp, tiebreaker and category fields. In batch mode an event query without pipes
// gets the rule's max_signals as a tail size (CompileRequest.MaxResults), so that the engine
// keeps only the events the most recent max_signals matches need, and reports every match
// through Compiled.Matched (engine Stats.Matched); sequences and samples get no size: the
// Detector applies max_signals to them itself. A batch sequence is matched as events come
// while they come in order (CompileRequest.InOrder, engine Options.InOrder).
func EngineCompiler(eo EngineOptions) CompileFunc {
	return func(req CompileRequest) (*Compiled, error) {
		r := req.Rule
		capped := req.MaxResults > 0 && !req.Streaming && !IsSequence(req.Statement) &&
			len(req.Statement.Pipes) == 0
		opts := engine.Options{
			TimestampField:  r.TimestampField,
			TiebreakerField: r.TiebreakerField,
			CategoryField:   r.EventCategoryOverride,
			Mapping:         eo.Mapping,
			MaxLateness:     eo.MaxLateness,
			MaxPending:      eo.MaxPending,
			Memo:            req.Memo,
			LateAtOnce:      req.TakeLate,
			// The Detector copies the events of the matches it keeps (onMatch).
			EmitShared: req.Streaming,
		}
		sig := JoinSignature(req.Statement)
		if own := req.OwnsKey; own != nil && sig != "" {
			opts.KeyFilter = func(key []byte) bool { return own(sig, key) }
		}
		if capped {
			opts.Size, opts.ResultPosition = req.MaxResults, engine.Tail
			if req.MaxFirst {
				opts.ResultPosition = engine.Head
			}
		}
		_, isSeq := req.Statement.Query.(*eql.Sequence)
		inOrder := req.InOrder && !req.Streaming && isSeq
		opts.InOrder = inOrder
		q, err := engine.Compile(req.Statement, req.Fields, opts)
		if err != nil {
			return nil, err
		}
		mode := engine.Batch
		if req.Streaming {
			mode = engine.Streaming
		}
		emit := req.Emit
		run := q.NewRun(mode, func(res *engine.Result) { emit(res.Events) })
		field := r.EventCategoryOverride
		if field == "" {
			field = "event.category"
		}
		c := &Compiled{
			Runner:        run.Stepper(),
			Sequence:      IsSequence(req.Statement),
			Categories:    Categories(req.Statement),
			CategoryField: field,
			Routes:        Routes(req.Statement, eo.Mapping),
		}
		switch q := req.Statement.Query.(type) {
		case *eql.Sequence:
			c.Reach = -1
			if q.MaxSpan != nil {
				c.Reach = q.MaxSpan.Std()
			}
		case *eql.Sample:
			c.Reach = -1
		}
		if sig != "" {
			st := run.Stepper()
			c.Signature, c.JoinKeys = sig, st.JoinKeys
		}
		if _, sample := req.Statement.Query.(*eql.Sample); !sample {
			c.EventTime = run.Stepper().EventTime
		}
		if capped {
			c.Matched = func() int { return int(run.Stats().Matched) }
		}
		if inOrder {
			c.Disordered = run.Disordered
			c.Rerun = func() Runner { return run.Rerun().Stepper() }
		}
		return c, nil
	}
}

// engineRunner is what the Detector finds, by type assertion, in the Runner EngineCompiler
// gives: the compile-time check that engine.Stepper keeps every method it looks for.
type engineRunner interface {
	SplitRunner
	laterPusher
	laterSkipper
	filterTuner
	termMatcher
	eventKeeper
	admitter
	shedder
	stageJoiner
	sampleHolder
	seqLister
	oldestHolder
	heldWalker
	Pending() int64
}

var _ engineRunner = engine.Stepper{}
