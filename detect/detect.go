package detect

import (
	"cmp"
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/exceptions"
	"github.com/tripline/tripline/internal/engine"
	"github.com/tripline/tripline/kql"
	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/rule"
)

// Sink receives alerts, one batch per match: an event alert, or a sequence's shell followed
// by its building blocks in sequence order. Its Write has the shape of output.Sink's.
type Sink interface {
	Write(ctx context.Context, alerts []Alert) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, alerts []Alert) error

// Write calls f(ctx, alerts).
func (f SinkFunc) Write(ctx context.Context, alerts []Alert) error { return f(ctx, alerts) }

// Runner is one rule's compiled query, running over the stream: the part of the engine a
// Detector uses. Push offers an event (only read during the call); a non-nil error means the
// event was not used by this rule (for example it has no timestamp). Flush ends the input.
type Runner interface {
	Push(ev *event.Event) error
	Flush(ctx context.Context) error
}

// SplitRunner is a Runner whose Push splits in two: Match, stateless and safe for
// concurrent use, says which terms an event matches; PushMatched does the rest, in input
// order (engine.Stepper is one). With Options.Workers > 1 the Detector calls Match on its
// worker goroutines and PushMatched in order; other Runners get Push, in order. In batch
// mode the Detector does not call PushMatched for an event that matched no term.
type SplitRunner interface {
	Runner
	Match(ev *event.Event) uint64
	PushMatched(ev *event.Event, mask uint64) error
}

// Compiled is a rule's query ready to run.
type Compiled struct {
	Runner Runner
	// Sequence is set for sequences and samples, whose matches become a shell alert and
	// building blocks; event queries give one alert per event.
	Sequence bool
	// Reach is how long after its first event's time a match may be emitted, beyond the
	// reordering delay: a sequence's maxspan; negative for no bound (a sequence without
	// maxspan, a sample). Suppression windows close by it when streaming.
	Reach time.Duration
	// Categories are the event categories the query can match (in CategoryField); nil
	// means any event may match. See Categories.
	Categories []string
	// CategoryField is the field holding the category: the rule's event_category_override,
	// or "event.category".
	CategoryField string
	// Routes, when set, say what an event must have for each term of the query to match
	// it (see Routes): Routes[i] is the route of bit i of the SplitRunner's masks (the
	// term of engine.Terms whose Bit is i). The Detector then offers the rule only such
	// events. Nil means Categories alone route the rule.
	Routes []Route
	// Matched, when set, says the Runner applied CompileRequest.MaxResults itself (it
	// emits at most that many matches, the most recent) and returns, after Flush, how many
	// matches it found before that cap, for the rule's Matches and Capped counters.
	Matched func() int
	// Disordered, when set, reports after Flush whether the Runner, which matched events as
	// they came (CompileRequest.InOrder), met one out of order: its matches are then
	// discarded, and the Runner that Rerun returns (emitting to the same Emit, keeping its
	// events until Flush) is given the rule's events again. Both or neither are set.
	Disordered func() bool
	Rerun      func() Runner
	// Signature, JoinKeys and EventTime are set for a sequence or a sample (EventTime for
	// any query with a time): its JoinSignature; a function that calls fn with each join-key
	// tuple ev has under the terms of mask (bit i: term i of the SplitRunner), encoded as
	// the Runner compares them; and one that reads ev's time, in Unix nanoseconds. Options.
	// Repartition needs JoinKeys; without it a sequence runs in the Detector as usual.
	Signature string
	JoinKeys  func(ev *event.Event, mask uint64, fn func(key []byte))
	EventTime func(ev *event.Event) (ns int64, ok bool)
}

// CompileRequest is what a CompileFunc gets for one rule.
type CompileRequest struct {
	Rule *rule.Rule
	// Statement is the rule's parsed query.
	Statement *eql.Statement
	// Fields is the set shared by every rule: the compiled query registers what it reads.
	Fields *event.Fields
	// Streaming asks for arrival-order matching with bounded state instead of batch order.
	Streaming bool
	// Emit must be called with the events of each match in stage order (nil for a missing
	// event). The events may be the ones the Runner was given, valid during the call only
	// (the Detector copies those it keeps, with event.Event.KeepRaw), or copies.
	Emit func(events []*event.Event)
	// MaxResults, when positive (batch mode), is the rule's max_signals: only the most
	// recent MaxResults matches of one execution become alerts. A compiler may then emit
	// only those (and keep only what they need) for an event query, provided it reports
	// every match through Compiled.Matched; otherwise it ignores MaxResults.
	MaxResults int
	// Memo is shared by every rule of the Detector, which calls its Next before pushing each
	// event: a compiler using package engine passes it on (engine.Options.Memo).
	Memo *engine.Memo
	// InOrder (batch mode) says the Detector can run the rule again over all the events it
	// matched: a compiler may then match a sequence as events come, while they come in
	// order, instead of keeping them all until Flush, provided it sets Compiled.Disordered
	// and Compiled.Rerun.
	InOrder bool
	// MaxFirst says that MaxResults keeps the oldest matches rather than the most recent:
	// Kibana creates a query rule's alerts oldest first, and takes an EQL search's last hits.
	MaxFirst bool
	// Restrict, when set, is what Elasticsearch applies to every event the rule searches
	// besides its query (its filters and exception lists): the rule's kind ANDs it into
	// every term of Statement before Compile sees it.
	Restrict *eql.Search
	// KQLFields gives the field types KQL is translated with (Options.Mapping's).
	KQLFields kql.Fields
	// OwnsKey, when set (Options.OwnsKey), restricts a sequence or a sample to the join-key
	// tuples it accepts, given the rule's JoinSignature and a tuple's encoding.
	OwnsKey func(signature string, key []byte) bool
	// TakeLate (Options.TakeLate, streaming) asks an event query to take an event later than
	// the reordering window at once instead of refusing it. Not set for the stateful kinds.
	TakeLate bool
}

// CompileFunc compiles one rule's query. An error makes the rule skipped, with the error as
// the reason.
type CompileFunc func(req CompileRequest) (*Compiled, error)

// Options configure a Detector.
type Options struct {
	// Compile compiles rule queries; required (EngineCompiler gives the engine's).
	Compile CompileFunc
	// Streaming selects arrival-order matching (Compile is told) and per-interval
	// max_signals capping; the default is batch: one execution over the whole input.
	Streaming bool
	// Now is the alerts' creation time (@timestamp); zero means time.Now() at New.
	Now time.Time
	// Space is the Kibana space id; default "default".
	Space string
	// KibanaURL, when set, is the base for kibana.alert.url: the URL Kibana is reached at
	// (Kibana's server.publicBaseUrl).
	KibanaURL string
	// AlertsMapping is the mapping of the alerts index: source values an alert would carry
	// that it cannot take are left out of the alert, as Kibana leaves out those that
	// conflict with ECS. Nil means mapping.ECS().
	AlertsMapping *mapping.Mapping
	// KibanaVersion is written as kibana.version; default "9.3.0".
	KibanaVersion string
	// Index is the index name of events whose input gives none (the --index flag).
	Index string
	// Mapping gives the events' field types for translating KQL queries as Kibana does
	// (it reads them with _field_caps); it should be the mapping Compile uses. nil means
	// Tripline's dynamic mapping: KQL is then translated without field types.
	Mapping *mapping.Mapping
	// Exceptions holds the exception lists rules may reference (a rule referencing a list
	// it does not hold is skipped with the reason). Their items are applied to every rule
	// that references their list, as Kibana applies them: an event an item matches raises
	// no alert.
	Exceptions *exceptions.Set
	// IgnoreIndexPatterns offers every event to every rule.
	IgnoreIndexPatterns bool
	// Workers is the number of goroutines that decode events, route them and evaluate the
	// rules' filters, ahead of the in-order part (sequence state, alerts), which then runs,
	// in batch mode, on a goroutine of its own (the Sink and OnEventError are called from
	// there, one call at a time), and in streaming mode in Process and Close: 0 means
	// runtime.GOMAXPROCS(0) in batch mode and none in streaming mode, 1 means none: in
	// batch mode Process still gathers events in batches of 256 and runs each, filters rule
	// by rule, when it is full; in streaming mode each event is handled in Process; either
	// way on the caller's goroutine. Events are handed to workers in batches of 256, so a
	// streaming caller that sets it above 1 sees alerts only once a batch is full (or at
	// Close). The results are the same whatever the number.
	Workers int
	// SpillDir is the directory of the temporary file that, in batch mode without Replay,
	// the events sequence rules match are copied to, in case the input is not in timestamp
	// order; empty means os.TempDir(). New fails when the file is needed and cannot be
	// created there.
	SpillDir string
	// Replay, when set (batch mode), reads the input again: it must call fn with the same
	// documents and sources, in the same order, as the calls to Process were given (an
	// input of regular files can). The Detector then keeps no temporary file for its
	// in-order sequence rules: one whose input turns out not to be in timestamp order is run
	// again, at Close, over what Replay gives, up to as many documents as Process had.
	Replay func(ctx context.Context, fn func(doc []byte, src EventSource) error) error
	// Origin, when set (batch mode over files), reads documents again from their files: the
	// events rules keep until Close or until a sequence completes (the first events of
	// partial sequences, most of which never complete) then keep, for an EventSource with
	// HasOffset, a reference to their document instead of a copy (event.Event.SetOrigin),
	// and alerts read it again. A document that can no longer be read, or changed, is
	// reported through OnEventError and its alert is not written. It must be safe for
	// concurrent use: the alerts written at Close are built on the Workers goroutines.
	Origin event.Origin
	// OnEventError, when set, is called for each event skipped or not used, with an
	// *EventError, whose message names its source and line.
	OnEventError func(err error)
	// MaxFuture (streaming), when positive, bounds how far ahead of Clock an event may be
	// stamped: an event with a timestamp (one its rules read, as they read it) later than
	// Clock()+MaxFuture is skipped before any rule sees it, counted in Summary.EventsFuture
	// and reported (EventFuture). An event stamped ahead of the clock by less is put in
	// order as usual, but the rules' event time never runs ahead of the clock
	// (engine.Memo.SetCeiling): no single event can make the events after it too late. Only
	// the first event.MaxStamps timestamp fields of the rules are checked.
	MaxFuture time.Duration
	// Clock gives the current time for MaxFuture; nil means time.Now.
	Clock func() time.Time
	// Async (streaming, Workers above 1) does the in-order work on a goroutine of its own,
	// as batch mode does, instead of in Process: Process returns once it has copied the
	// document, and the channel Flush returns tells when the rules have taken it in. The
	// Detector's state then changes on that goroutine: read it with Live until Close, and
	// the Sink and OnEventError are called from there.
	Async bool
	// MaxBuffered and MaxBufferedBytes (streaming), when positive, bound the events the
	// rules' reordering buffers hold and the bytes of their documents (see Buffered):
	// BufferFull reports when either is reached, and Shed makes room.
	MaxBuffered      int64
	MaxBufferedBytes int64
	// History, when set, reads past documents (as Replay reads the input) before the first
	// event: the new-terms rules record the values of those that match them (query,
	// filters, exceptions) as seen, at their event times, without alerting; no other rule
	// sees them. A value seen there within a rule's history window is then not new. It is
	// called once, by the first Process or Close call, with that call's context.
	History func(ctx context.Context, fn func(doc []byte, src EventSource) error) error
	// Indicators, when set, reads the documents of the threat indices (as Replay reads the
	// input) before the first event: each indicator-match rule keeps those that match its
	// threat_index patterns, threat_query, threat_filters and exception lists as its
	// indicators. Without it, indicator-match rules are skipped with the reason. It is
	// called once, by the first Process or Close call, with that call's context.
	Indicators func(ctx context.Context, fn func(doc []byte, src EventSource) error) error
	// Replayed, when positive, says that the events whose EventSource.Seq is at most
	// Replayed are an earlier run's, given again to rebuild its state (a state directory's
	// journal): the rules take them in as any other, but they are counted in
	// Summary.EventsReplayed instead of the event counters (read, malformed, unused,
	// without index, too far ahead, and each rule's EventsOffered), and OnEventError is
	// not told of them again.
	Replayed uint64
	// State, when set, keeps the threshold and new-terms rules' state across runs: each
	// loads what it holds at New and writes its changes there (see StateStore). The end of
	// the input is then not the end of the stream: a threshold execution whose window has
	// not ended waits for the next run's events. The events' EventSource.Seq must go on
	// from run to run (a replayed event keeps its number).
	State StateStore
	// Repartition (streaming), when set, takes the sequence and sample rules out of the
	// Detector's matching: for each event taken in, fn is told under which join-key tuples
	// their stages could take it (see Repartitioned), for a caller that sends the event to
	// the process owning each tuple, where a Detector with OwnsKey matches them. The other
	// rules run as usual. fn is called on the goroutine doing the in-order work, in input
	// order, once per event that was decoded (also when it has no key).
	Repartition func(r *Repartitioned)
	// OwnsKey (streaming), when set, makes the Detector run only its sequence and sample
	// rules (the others are left out, not reported as skipped), each over the join-key
	// tuples for which OwnsKey(its JoinSignature, the tuple's encoding) is true: the events
	// of other tuples change nothing. Detectors whose OwnsKey share the tuples out, each
	// given every event Repartition reported under a tuple it owns, in time order, together
	// find the matches one Detector would over all the events.
	OwnsKey func(signature string, key []byte) bool
	// TakeLate (streaming) makes the event rules (EQL event queries, query and indicator
	// match rules) take an event that comes later than the reordering window at once, out of
	// order, rather than refuse it: their alerts do not depend on the order. Sequences,
	// samples and the threshold and new-terms rules still refuse it. For a reader whose
	// partitions move between processes: one taken over is read again from an older
	// position than the events the process has seen.
	TakeLate bool

	// The switches below are for this package's tests and benchmarks only (the results are
	// the same whichever way they are set); they are unexported so that they are no part of
	// the library's surface.

	// noInOrder turns off matching sequences as events come in batch mode (see
	// CompileRequest.InOrder): every rule keeps the events it matched until Close. The
	// results are the same; by default, the events the sequence rules matched are copied to
	// a temporary file (in SpillDir) instead, in case the input is not in timestamp order.
	noInOrder bool
	// noPrefilter turns the rule index off: every event goes to every rule its index
	// patterns allow, whatever its category and field values (for testing the index; the
	// results are the same, only slower).
	noPrefilter bool
	// ownBuffers (streaming) gives every rule a reordering buffer of its own instead of the
	// shared stage (see joinStage), for tests that compare the two.
	ownBuffers bool
	// indexSample is the number of events the Detector reads before it chooses its rule index
	// again, from what these events hold (see indexSampler); 0 means 2048, a negative number
	// never. The results are the same; only the number of filters evaluated changes.
	indexSample int
	// learn makes the stateful rules record what they see without alerting (History).
	learn bool
	// collect, when set, receives every document the rules select instead of alerts
	// (loading indicators: the rules are threat queries).
	collect func(ruleID string, me *matchedEvent)
}

// Detector runs many rules over one stream of events. It is not safe for concurrent use.
type Detector struct {
	opts      Options
	kqlFields kql.Fields // Options.Mapping's fields, for KQL
	b         builder
	rules     []*ruleState
	fields    *event.Fields
	dec       *event.Decoder
	ev        event.Event
	sink      Sink
	summary   Summary
	replay    Summary // the event counters of the replayed events (Options.Replayed), not reported

	// Routing: the index (read-only after New) and the caller's goroutine's router.
	slotIndex, slotID         event.Slot
	slotDSType, slotDSDataset event.Slot
	slotDSNamespace           event.Slot
	index                     atomic.Pointer[ruleIndex] // read by every router
	sampler                   *indexSampler             // until the index is chosen from events
	sampleN                   int
	rt                        *router
	pipe                      *pipeline // nil: events are handled in Process's goroutine
	workers                   int       // the goroutines of pipe, which also build the alerts at Close
	spill                     *spill    // batch: the events in-order rules matched
	inOrderOK                 bool      // batch: sequences may match in order (spill or Options.Replay)
	memo                      *engine.Memo
	stage                     *engine.Stage // streaming: the reordering stage most rules share
	lentBytes                 int64         // the documents of the batches the stage holds events of
	lent                      int64         // events lent to the stage so far (for tests)
	suppressors               []*ruleState  // the rules that suppress alerts (see expireSuppression)
	reruns                    int           // rules run again because their input was out of order
	alertErr                  error
	emitted                   []emitted // streaming: matches to write (see writeEmitted)
	maskBuf, laterBuf         []uint64  // push's scratch (streaming, on the caller's goroutine)
	live                      atomic.Pointer[Live]
	asked                     bool // Unfinished was called: suppression keeps what it needs
	historyDone               bool // Options.History has been read
	indicatorsDone            bool // Options.Indicators has been read
	// Batch mode with Options.State and suppressing rules: the newest @timestamp of the
	// input so far (see tick).
	clocked   bool
	clockSlot event.Slot
	clock     time.Time
	rp        Repartitioned // Options.Repartition's argument, reused
	rpBuf     []byte        // the keys of rp, back to back
}

// New compiles the rules and returns a Detector that writes alerts to sink. A rule that
// cannot be parsed or compiled, or whose interval is malformed, is skipped and listed in the
// Summary with the reason. New fails when Options.Compile is missing, and when the
// temporary file its in-order sequence rules need (batch mode, without Options.Replay)
// cannot be created in Options.SpillDir.
func New(rules []*rule.Rule, sink Sink, opts Options) (*Detector, error) {
	if opts.Compile == nil {
		return nil, errors.New("detect: Options.Compile is required")
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Space == "" {
		opts.Space = "default"
	}
	if opts.KibanaVersion == "" {
		opts.KibanaVersion = "9.3.0"
	}
	d := &Detector{
		opts:      opts,
		kqlFields: kql.MappingFields(opts.Mapping),
		memo:      engine.NewMemo(),
		fields:    event.NewFields(),
		sink:      sink,
		b: builder{
			space: opts.Space, now: isoMillis(opts.Now), url: opts.KibanaURL,
			version: opts.KibanaVersion, alertIdx: AlertsIndex(opts.Space),
			fit: sync.OnceValue(func() *fitTree { return newFitTree(cmp.Or(opts.AlertsMapping, mapping.ECS())) }),
		},
	}
	d.slotIndex = d.fields.Add("_index")
	d.slotID = d.fields.Add("_id")
	d.slotDSType = d.fields.Add("data_stream.type")
	d.slotDSDataset = d.fields.Add("data_stream.dataset")
	d.slotDSNamespace = d.fields.Add("data_stream.namespace")
	// Sequences may match as events come: those whose input turns out not to be in order
	// run again over the input read again (Replay) or over the spill file.
	d.inOrderOK = !opts.Streaming && !opts.noInOrder
	for _, r := range rules {
		if opts.OwnsKey != nil && !IsJoinRule(r) {
			continue // another process runs it
		}
		rs, err := d.compile(r)
		if err != nil {
			d.summary.RulesSkipped = append(d.summary.RulesSkipped, SkippedRule{
				RuleID: r.RuleID, Name: r.Name, Source: r.Source.String(), Reason: err.Error()})
			continue
		}
		rs.idx = len(d.rules)
		d.rules = append(d.rules, rs)
	}
	if opts.Streaming && !opts.ownBuffers {
		d.joinStage()
	}
	if err := d.attachState(); err != nil {
		return nil, err
	}
	if err := d.attachSuppression(); err != nil {
		return nil, err
	}
	if opts.Replay == nil && slices.ContainsFunc(d.rules, func(rs *ruleState) bool { return rs.inOrder }) {
		s, err := newSpill(opts.SpillDir)
		if err != nil {
			return nil, err
		}
		d.spill = s
	}
	routes := d.indexRoutes()
	static := d.staticCosts(routes)
	d.index.Store(d.buildIndex(routes, static))
	if !opts.noPrefilter && opts.indexSample >= 0 {
		d.sampler = d.newIndexSampler(routes, static)
		d.sampleN = cmp.Or(opts.indexSample, sampleEvents)
		d.tuneFilters(func(t filterTuner) { t.ObserveFilters(true) })
	}
	d.summary.RulesLoaded = len(d.rules)
	if d.clocked {
		d.clockSlot = d.fields.Add("@timestamp")
	}
	d.dec = event.NewDecoder(d.fields)
	d.rt = d.newRouter()
	workers := opts.Workers
	if workers == 0 && !opts.Streaming {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > 1 || (workers == 1 && !opts.Streaming) {
		d.pipe = d.newPipeline(workers, !opts.Streaming || opts.Async)
	}
	d.workers = workers
	return d, nil
}

// Fields returns the field set shared by the rules (read-only after New).
func (d *Detector) Fields() *event.Fields { return d.fields }

// EventSource says where an event came from.
type EventSource struct {
	// Name is the file name, "-" or a request description; Line is the line number there.
	Name string
	Line int
	// Index is the event's index when the input knows it (an _index in a _bulk action);
	// empty means Options.Index, then the document's _index, then its data_stream fields.
	Index string
	// Seq is the event's position in the input (the implicit tiebreaker).
	Seq uint64
	// ID is the document's _id when the input gives one (a _bulk action); otherwise the
	// document's own _id field, else an id derived from its content, is used.
	ID string
	// Offset, when HasOffset is set, is the byte offset of the document in the file Name,
	// where Options.Origin can read it again.
	Offset    int64
	HasOffset bool
}
