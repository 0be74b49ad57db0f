package detect

import (
	"time"

	"github.com/tripline/tripline/engine"
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
// timestamp, tiebreaker and category fields. No size is set: the Detector applies
// max_signals itself, so that it can tell when the cap bites.
func EngineCompiler(eo EngineOptions) CompileFunc {
	return func(req CompileRequest) (*Compiled, error) {
		r := req.Rule
		q, err := engine.Compile(req.Statement, req.Fields, engine.Options{
			TimestampField:  r.TimestampField,
			TiebreakerField: r.TiebreakerField,
			CategoryField:   r.EventCategoryOverride,
			Mapping:         eo.Mapping,
			MaxLateness:     eo.MaxLateness,
			MaxPending:      eo.MaxPending,
		})
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
		return &Compiled{
			Runner:        run,
			Sequence:      IsSequence(req.Statement),
			Categories:    Categories(req.Statement),
			CategoryField: field,
			Routes:        Routes(req.Statement, eo.Mapping),
		}, nil
	}
}
