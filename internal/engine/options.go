package engine

import (
	"fmt"
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// Position says which results a size limit keeps: the earliest (Head) or the most recent (Tail).
// Results are always reported in ascending order.
type Position uint8

// Result positions. Tail is Elasticsearch's default.
const (
	Tail Position = iota
	Head
)

// String returns "head" or "tail".
func (p Position) String() string {
	if p == Head {
		return "head"
	}
	return "tail"
}

// ParsePosition parses "head" or "tail".
func ParsePosition(s string) (Position, error) {
	switch s {
	case "head":
		return Head, nil
	case "tail", "":
		return Tail, nil
	}
	return Tail, fmt.Errorf("result position %q: want head or tail", s)
}

// Mode selects how a Run orders its input.
type Mode uint8

// Run modes.
const (
	// Batch keeps the matching events until Flush, orders the whole input by timestamp,
	// tiebreaker and input order, and then matches: the results equal Elasticsearch's.
	Batch Mode = iota
	// Streaming matches events in arrival order after a reordering buffer of
	// Options.MaxLateness, with bounded state.
	Streaming
)

// String returns "batch" or "stream".
func (m Mode) String() string {
	if m == Streaming {
		return "stream"
	}
	return "batch"
}

// Options configure Compile.
type Options struct {
	// TimestampField is the event time field; default "@timestamp".
	TimestampField string
	// TiebreakerField optionally orders events that share a timestamp; events without a
	// value sort after those with one.
	TiebreakerField string
	// CategoryField is the field "cat where" compares with; default "event.category".
	CategoryField string
	// Mapping gives field types; nil means dynamic mapping from the JSON values.
	Mapping *mapping.Mapping
	// Size caps the number of results (events, sequences or samples) as Elasticsearch's
	// request size does; 0 or negative means no cap.
	Size int
	// ResultPosition says whether Size keeps the first (Head) or the last (Tail) results.
	ResultPosition Position
	// MaxSamplesPerKey is the number of samples per join-key tuple; 0 or negative means 1.
	MaxSamplesPerKey int
	// MaxLateness (streaming) is how long an event may arrive after a later-stamped one and
	// still be put in order; later events are counted in Stats.Late and reported.
	MaxLateness time.Duration
	// MaxPending (streaming or batch) caps the partial sequences a sequence without maxspan
	// keeps; the oldest is dropped when it bites (Stats.PendingCapHits). 0 means 1,000,000.
	MaxPending int
	// InOrder (batch mode, sequence queries) matches events as they arrive, as long as they
	// arrive in order (timestamp, tiebreaker, input position), instead of keeping them all
	// until Flush: the results are then the batch results, with bounded state when the
	// sequence has a maxspan. The first event that arrives out of order makes the run
	// give up: Disordered reports it, the run ignores the rest of its input, and its results
	// (some of which may already have been emitted) are incomplete; the caller must then run
	// the query again, without InOrder, over all the events. Ignored for other queries.
	InOrder bool
	// Memo, when set, is shared with other Runs pushed the same events on one goroutine,
	// so that each event's timestamp and join keys are converted once (see Memo).
	Memo *Memo
	// LateAtOnce (streaming) makes an event query take an event that comes later than
	// MaxLateness at once, out of order, instead of refusing it: its result does not depend
	// on the order. A reader whose input partitions move between processes, each taken
	// over from an older committed position, loses no event alert so.
	LateAtOnce bool
	// KeyFilter, when set, restricts a sequence or a sample to the join-key tuples it
	// accepts, given by their encoding (the one JoinKeys reports): the Run matches as if the
	// events had no other tuple. A process that owns a share of the keys (package stream's
	// repartitioning) runs the query over the events of its keys only.
	KeyFilter func(key []byte) bool
	// OnLate, when set, is called for each event dropped because it arrived later than
	// MaxLateness (streaming mode). The event is only valid during the call.
	OnLate func(ev *event.Event)
	// EmitShared (streaming, event queries without a tail limit) emits the match of an
	// event a Stage was lent (Stage.EndLent) as that event itself, valid only during the
	// emit call, rather than as a copy: the caller copies (Event.KeepRaw) the events of
	// the results it keeps, and copies nothing for those it drops (a detector's matches
	// over max_signals). Without it, a result's events are always copies.
	EmitShared bool
}

// DefaultMaxPending is the cap on partial sequences when Options.MaxPending is 0.
const DefaultMaxPending = 1_000_000

func (o *Options) setDefaults() {
	if o.TimestampField == "" {
		o.TimestampField = "@timestamp"
	}
	if o.CategoryField == "" {
		o.CategoryField = "event.category"
	}
	if o.MaxSamplesPerKey <= 0 {
		o.MaxSamplesPerKey = 1
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
}

// Result is one match: a single event for an event query, or the events of a sequence or
// sample in stage order. A missing-event stage has a nil entry.
type Result struct {
	// Events are copies the Result owns, but with Options.EmitShared (see there).
	Events []*event.Event
	// JoinKeys are the sequence's or sample's composite key as Elasticsearch reports them
	// (each value as Java's toString: null as "null", dates in ISO form for sequences).
	// Nil for event queries.
	JoinKeys []string
}

// Stats are a run's counters.
type Stats struct {
	// EventsIn counts events pushed.
	EventsIn int64 `json:"events_in"`
	// Results counts results emitted.
	Results int64 `json:"results"`
	// Matched counts, for an event query, the events that matched it, before Size and the
	// head/tail pipes cut them: with a tail Size and no pipes, Matched-Results is how many
	// the cap dropped. Batch mode with a head or tail limit keeps only the events the limit
	// can return (so memory stays bounded) but still counts every match. 0 for sequences
	// and samples.
	Matched int64 `json:"matched"`
	// NoTimestamp counts events skipped because the timestamp field was missing or invalid.
	NoTimestamp int64 `json:"no_timestamp"`
	// Late counts events skipped because they arrived later than MaxLateness (streaming).
	Late int64 `json:"late"`
	// Pending is the state held now: buffered events, partial sequences, undecided results.
	// The buffered events include those held for later terms not evaluated yet (PushLater).
	Pending int64 `json:"pending"`
	// PeakPending is the largest Pending seen.
	PeakPending int64 `json:"peak_pending"`
	// PendingCapHits counts partial sequences dropped because of MaxPending.
	PendingCapHits int64 `json:"pending_cap_hits"`
}

// SkipError reports an event that was not used: it lacked a timestamp or came too late.
// Push returns it; the run goes on.
type SkipError struct {
	Source string
	Line   int
	Reason string
}

// Error returns "source:line: reason".
func (e *SkipError) Error() string {
	if e.Source != "" {
		return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, e.Reason)
	}
	return e.Reason
}
