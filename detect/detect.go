package detect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	mathbits "math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
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
	// event). The events must stay valid after the call (clones).
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
	// indexSample is the number of events the Detector reads before it chooses its rule index
	// again, from what these events hold (see indexSampler); 0 means 2048, a negative number
	// never. The results are the same; only the number of filters evaluated changes.
	indexSample int
}

// ruleState is one running rule.
type ruleState struct {
	idx      int
	info     *ruleInfo
	comp     *Compiled
	patterns IndexPatterns
	stats    *RuleStats
	pending  [][]*event.Event // batch: matches kept until Close for max_signals (tail)
	buckets  map[int64]int    // streaming: alerts per interval bucket
	interval time.Duration
	split    SplitRunner // comp.Runner, when its matching can run apart from its state
	inOrder  bool        // comp.Disordered is set: the events it matches are spilled
	later    uint64      // terms the workers leave to the in-order part (see laterSkipper)
	skipper  laterSkipper
	deferrer laterPusher // streaming: takes the later terms unevaluated
	terms    termMatcher // split, when it evaluates some terms only
	keeper   eventKeeper // split, when it tells which matches it keeps
	// busy (streaming, with workers) is whether the sequence had state when the in-order
	// part last looked (after each batch): the workers then evaluate its later terms
	// themselves, and keep whole copies of the events that match them (see laterNow).
	busy atomic.Bool
}

// Detector runs many rules over one stream of events. It is not safe for concurrent use.
type Detector struct {
	opts    Options
	b       builder
	rules   []*ruleState
	fields  *event.Fields
	dec     *event.Decoder
	ev      event.Event
	sink    Sink
	summary Summary

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
	reruns                    int // rules run again because their input was out of order
	alertErr                  error
	ctx                       context.Context // of the current Process or Close call
	maskBuf, laterBuf         []uint64        // push's scratch (streaming, on the caller's goroutine)
	live                      atomic.Pointer[Live]
}

// catField indexes the rules that read one category field by category name.
type catField struct {
	slot  event.Slot
	byCat map[string][]ruleTerms
	all   []ruleTerms // rules of this field, for events whose category is not a string
}

// maxRoutes bounds the index-name routing cache.
const maxRoutes = 4096

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
		opts:   opts,
		memo:   engine.NewMemo(),
		fields: event.NewFields(),
		sink:   sink,
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
		rs, err := d.compile(r)
		if err != nil {
			d.summary.RulesSkipped = append(d.summary.RulesSkipped, SkippedRule{
				RuleID: r.RuleID, Name: r.Name, Source: r.Source.String(), Reason: err.Error()})
			continue
		}
		rs.idx = len(d.rules)
		d.rules = append(d.rules, rs)
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

func (d *Detector) compile(r *rule.Rule) (rs *ruleState, err error) {
	if reason := r.Unsupported(); reason != "" {
		return nil, errors.New(reason)
	}
	// Kibana refuses to create a rule with a malformed interval; an empty one is its default.
	interval, err := rule.ParseInterval(cmp.Or(r.Interval, rule.DefaultInterval))
	if err != nil {
		return nil, fmt.Errorf("interval: %w", err)
	}
	stmt, err := eql.Parse(r.Query)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	rs = &ruleState{
		info:     d.b.newRuleInfo(r),
		patterns: NewIndexPatterns(r.IndexPatterns()),
		stats:    &RuleStats{RuleID: r.RuleID, Name: r.Name},
	}
	if d.opts.Streaming {
		rs.buckets = make(map[int64]int)
		rs.interval = interval
	}
	defer func() {
		// A compiler bug must not take the other rules down.
		if p := recover(); p != nil {
			rs, err = nil, fmt.Errorf("compile: internal error: %v", p)
		}
	}()
	req := CompileRequest{
		Rule: r, Statement: stmt, Fields: d.fields, Streaming: d.opts.Streaming, Memo: d.memo,
		Emit: func(evs []*event.Event) { d.onMatch(rs, evs) },
	}
	if !d.opts.Streaming {
		req.MaxResults = r.MaxSignals
		req.InOrder = d.inOrderOK
	}
	comp, err := d.opts.Compile(req)
	if err != nil {
		return nil, err
	}
	rs.comp = comp
	rs.split, _ = comp.Runner.(SplitRunner)
	rs.terms, _ = comp.Runner.(termMatcher)
	rs.keeper, _ = comp.Runner.(eventKeeper)
	rs.inOrder = req.InOrder && comp.Disordered != nil && comp.Rerun != nil
	// Without a spill file (the input is read again instead), the workers need not know
	// whether an event matches only a later stage of an in-order sequence: the in-order
	// part evaluates those terms only when the sequence has a partial sequence to extend.
	if ls, ok := comp.Runner.(laterSkipper); ok && rs.inOrder && rs.split != nil && d.opts.Replay != nil {
		rs.later, rs.skipper = ls.LaterTerms(), ls
	}
	// In streaming mode the rule evaluates those terms itself when the event comes out of
	// its reordering buffer, only if the sequence has state then.
	if lp, ok := comp.Runner.(laterPusher); ok && d.opts.Streaming && rs.split != nil {
		rs.later, rs.deferrer = lp.LaterTerms(), lp
	}
	d.summary.Rules = append(d.summary.Rules, rs.stats)
	return rs, nil
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

// Process decodes one JSON document and offers it to every rule that can match it. A
// malformed document is counted, reported through Options.OnEventError and skipped; the
// error returned is only a Sink error or ctx's. With Options.Workers > 1 the document is
// copied and handled later (by Close at the latest): its alerts, errors and counters come
// from a later Process or Close call in streaming mode; in batch mode from another
// goroutine, one call at a time, a Sink error being returned by every later Process call
// and by Close.
func (d *Detector) Process(ctx context.Context, doc []byte, src EventSource) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.pipe != nil && d.sampler == nil {
		// The first events (until the index is chosen from them) are processed here, in
		// order, so that every event meets the same index whatever the number of workers.
		return d.pipe.add(ctx, doc, src)
	}
	d.ctx = ctx
	d.summary.EventsRead++
	ev := &d.ev
	if err := d.dec.Decode(doc, ev); err != nil {
		d.summary.EventsSkipped++
		d.report(&EventError{Source: src, Kind: EventMalformed, Err: err})
		return nil
	}
	if limit, ok := d.clockLimits(); ok {
		d.memo.Prime(ev)
		if d.tooFarAhead(ev, &src, limit) {
			return nil
		}
	}
	if !d.rt.prepare(ev, src) && !d.opts.IgnoreIndexPatterns {
		d.summary.EventsWithoutIndex++
	}
	err := d.push(ev, d.rt.candidates(ev), nil, nil)
	d.sample(ev)
	return err
}

// sample gives an event, in input order, to the index sampler; once it has seen enough, the
// rule index is built again with what it learnt (routers pick it up at their next event).
func (d *Detector) sample(ev *event.Event) {
	if d.sampler == nil || !d.sampler.observe(ev, d.sampleN) {
		return
	}
	d.index.Store(d.buildIndex(d.sampler.routes, d.sampler.costs()))
	d.sampler = nil
	// No worker has run a filter yet (the sampled events were handled here, in order).
	d.tuneFilters(filterTuner.ReorderFilters)
}

// tuneFilters calls fn for every rule whose Runner is a filterTuner. While the index is
// sampled, the filters observe which of their conditions decide, and are then reordered
// so that those come first (eval.Filter.Reorder).
func (d *Detector) tuneFilters(fn func(filterTuner)) {
	for _, rs := range d.rules {
		if t, ok := rs.comp.Runner.(filterTuner); ok {
			fn(t)
		}
	}
}

// router is the routing state of one goroutine: the index-name cache and scratch space.
// The index itself (the Detector's ruleIndex) is shared, read-only.
type router struct {
	d      *Detector
	routes map[string]*route
	dsBuf  []byte
	lowBuf []byte
	found  []uint64 // a bit per rule: found for the current event (see candidates)
	terms  []uint64 // by rule: the terms the index found possible for the current event
	cand   []int
	cur    *route // the route of the event prepare last saw (nil: it has no index)
	// restricted counts the routes with a restricted index (see router.index).
	restricted int
}

func (d *Detector) newRouter() *router {
	return &router{d: d, routes: make(map[string]*route), found: make([]uint64, (len(d.rules)+63)/64), terms: make([]uint64, len(d.rules)),
		cand: make([]int, 0, len(d.rules))}
}

// prepare sets the event's source fields and index name, and finds the name's route for
// candidates (rt.cur); false means it has no index.
func (rt *router) prepare(ev *event.Event, src EventSource) bool {
	ev.Source, ev.Line, ev.Seq, ev.ID = src.Name, src.Line, src.Seq, src.ID
	if o := rt.d.opts.Origin; o != nil && src.HasOffset && !rt.d.opts.Streaming {
		ev.SetOrigin(o, src.Offset)
	}
	rt.cur = nil
	index := src.Index
	if index == "" {
		index = rt.d.opts.Index
	}
	var name []byte
	if index == "" {
		name = rt.docIndex(ev)
	} else {
		name = unsafe.Slice(unsafe.StringData(index), len(index))
	}
	if len(name) == 0 {
		ev.Index = ""
		return false
	}
	// The name may point into the input buffer, which the reader reuses: the event gets
	// the route's copy (kept events, alerts and the route cache outlive this event).
	rt.cur = rt.routeOf(name)
	ev.Index = rt.cur.name
	return true
}

// docIndex returns the document's _index, else its data stream name, else nothing. The
// result aliases the input or the router's buffer.
func (rt *router) docIndex(ev *event.Event) []byte {
	d := rt.d
	if vs := ev.Values(d.slotIndex); len(vs) == 1 && vs[0].Kind == event.KindString {
		return unsafe.Slice(unsafe.StringData(vs[0].Str), len(vs[0].Str))
	}
	t, ds, ns := ev.Values(d.slotDSType), ev.Values(d.slotDSDataset), ev.Values(d.slotDSNamespace)
	if len(t) == 1 && len(ds) == 1 && len(ns) == 1 && t[0].Kind == event.KindString &&
		ds[0].Kind == event.KindString && ns[0].Kind == event.KindString {
		b := append(rt.dsBuf[:0], t[0].Str...)
		b = append(b, '-')
		b = append(b, ds[0].Str...)
		b = append(b, '-')
		b = append(b, ns[0].Str...)
		rt.dsBuf = b
		return b
	}
	return nil
}

// routeOf returns the route of an index name: which rules its events go to, from the cache
// when the name is known (one lookup, no allocation), else a new one, cached.
func (rt *router) routeOf(name []byte) *route {
	if r, ok := rt.routes[string(name)]; ok {
		return r
	}
	r := &route{name: string(name), allowed: make([]bool, len(rt.d.rules))}
	for i, rs := range rt.d.rules {
		r.allowed[i] = rs.patterns.Match(r.name)
	}
	if len(rt.routes) >= maxRoutes {
		clear(rt.routes)
		rt.restricted = 0
	}
	rt.routes[r.name] = r
	return r
}

// route is the routing of one index name: which rules its events go to.
type route struct {
	name    string
	allowed []bool
	// The Detector's rule index restricted to the allowed rules (see ruleIndex.restrict),
	// made once the route has seen restrictAfter events, and the index it was made from.
	events int
	idx    *ruleIndex
	from   *ruleIndex
}

// restrictAfter is the number of events of one index name after which a router restricts
// the rule index to the rules the name allows: routing an event then looks up only the
// fields and values those rules name. maxRestricted bounds the restricted indexes a router
// keeps (each costs about what the whole index does).
const (
	restrictAfter = 256
	maxRestricted = 32
)

// index returns the rule index for the events of r: x restricted to r's rules once r has
// seen restrictAfter events (while the router keeps fewer than maxRestricted), else x.
func (rt *router) index(r *route, x *ruleIndex) *ruleIndex {
	if r.idx != nil && r.from == x {
		return r.idx
	}
	r.events++
	if r.events < restrictAfter {
		return x
	}
	if r.idx == nil {
		if rt.restricted >= maxRestricted {
			return x
		}
		rt.restricted++
	}
	r.idx, r.from = x.restrict(r.allowed), x
	return r.idx
}

// candidates returns the rules ev is offered to, in rule order: those its index patterns
// allow, among those the rule index finds for its category and field values. The slice is
// reused by the next call; rt.terms[i] holds, for each rule i returned, the terms of it
// that ev can match (the others' pre-filters rule ev out).
func (rt *router) candidates(ev *event.Event) []int {
	d := rt.d
	var allowed []bool
	if !d.opts.IgnoreIndexPatterns && rt.cur != nil {
		allowed = rt.cur.allowed // prepare found the event's route
	}
	// The rules found are marked in a bitmap (a bit per rule): read in order at the end,
	// it gives them in rule order, each once, with no sorting.
	found := rt.found
	addOne := func(e ruleTerms) {
		i := e.rule
		w, bit := i>>6, uint64(1)<<(i&63)
		switch {
		case found[w]&bit != 0:
			rt.terms[i] |= e.terms
		case allowed == nil || allowed[i]:
			found[w] |= bit
			rt.terms[i] = e.terms
		}
	}
	add := func(list []ruleTerms) {
		for _, e := range list {
			addOne(e)
		}
	}
	x := d.index.Load()
	if allowed != nil {
		x = rt.index(rt.cur, x)
	}
	add(x.anyRules)
	for ci := range x.catFields {
		cf := &x.catFields[ci]
		for _, v := range ev.Values(cf.slot) {
			if v.Kind != event.KindString {
				add(cf.all) // not a keyword value: let the rules decide
				break
			}
			add(cf.byCat[v.Str])
		}
	}
	for fi := range x.fieldIdx {
		f := &x.fieldIdx[fi]
		vals := ev.Values(f.slot)
		if len(vals) > 0 {
			add(f.present)
		}
		for _, v := range vals {
			if v.Kind != event.KindString {
				add(f.all) // a number or a boolean may equal a string constant: let the rules decide
				break
			}
			upper, nonASCII := hasUpperOrNonASCII(v.Str)
			if nonASCII {
				add(f.all)
				continue
			}
			// low is the value ASCII-lower-cased: a copy when it has upper-case letters,
			// else its own bytes (only read).
			var low []byte
			if upper {
				rt.lowBuf = appendLower(rt.lowBuf[:0], v.Str)
				low = rt.lowBuf
			} else {
				low = unsafe.Slice(unsafe.StringData(v.Str), len(v.Str))
			}
			add(f.byVal[string(low)])
			if len(low) < PrefixLen {
				continue
			}
			if len(f.byPrefix) > 0 {
				for _, e := range f.byPrefix[string(low[:PrefixLen])] {
					if hasPrefix(low, e.lit) {
						addOne(e.ruleTerms)
					}
				}
			}
			if len(f.bySuffix) > 0 {
				for _, e := range f.bySuffix[string(low[len(low)-PrefixLen:])] {
					if hasSuffix(low, e.lit) {
						addOne(e.ruleTerms)
					}
				}
			}
			if f.infixes != nil {
				f.infixes.each(low, func(id int32) { add(f.byInfix[id]) })
			}
		}
	}
	cand := rt.cand[:0]
	for w, bits := range found {
		if bits == 0 {
			continue
		}
		found[w] = 0
		for ; bits != 0; bits &= bits - 1 {
			cand = append(cand, w<<6|mathbits.TrailingZeros64(bits))
		}
	}
	rt.cand = cand
	return cand
}

// laterPusher is a Runner that can be given, in streaming mode, the terms an event may
// match among its LaterTerms unevaluated, and evaluates them only when they matter
// (engine.Stepper: PushLater).
type laterPusher interface {
	LaterTerms() uint64
	PushLater(ev *event.Event, mask, later uint64) error
	HasState() bool
}

// laterNow reports whether the later terms of rule rs are to be evaluated at once rather
// than left to the rule (streaming): when the sequence has state, as it had after the last
// batch (workers, rs.busy) or has now (on the in-order goroutine), since it will most
// likely have state when the event comes out of its reordering buffer, and then reads the
// event's values. Either way the results are the same; only the work differs.
func (rs *ruleState) laterNow(inOrder bool) bool {
	if inOrder {
		return rs.deferrer.HasState()
	}
	return rs.busy.Load()
}

// laterSkipper is a Runner that can tell which terms only extend partial sequences and
// skip them while it has none (engine.Stepper: LaterTerms, SkipLater).
type laterSkipper interface {
	LaterTerms() uint64
	SkipLater(ev *event.Event) bool
}

// filterTuner is a Runner whose filters can learn, from the events the Detector samples
// for its index, the order of their conditions that decides soonest (engine.Stepper).
type filterTuner interface {
	ObserveFilters(on bool)
	ReorderFilters()
}

// termMatcher is a SplitRunner that can evaluate some of its terms only (engine.Stepper).
type termMatcher interface {
	MatchTerms(ev *event.Event, terms uint64) uint64
}

// matchTerms returns the terms of rs's SplitRunner that ev matches, among terms (the others
// cannot match).
func matchTerms(rs *ruleState, ev *event.Event, terms uint64) uint64 {
	if rs.terms != nil {
		return rs.terms.MatchTerms(ev, terms)
	}
	return rs.split.Match(ev) & terms
}

// push offers ev to the candidate rules, in order. masks, when given, holds for each
// candidate the terms it matches (from its SplitRunner's Match), and later the terms of it
// the workers left unevaluated (see ruleState.later).
func (d *Detector) push(ev *event.Event, cand []int, masks, later []uint64) error {
	d.memo.Next(ev)
	if masks == nil && d.opts.Streaming {
		// Evaluate the filters first, to make the copies the rules keep as the workers do
		// (keepAhead): one per event.
		masks, later = d.maskBuf[:0], d.laterBuf[:0]
		for _, i := range cand {
			var mask, lt uint64
			if rs := d.rules[i]; rs.split != nil {
				t := d.rt.terms[i]
				if lt = t & rs.later; lt != 0 && rs.laterNow(true) {
					lt = 0
				}
				if t &^= lt; t != 0 {
					mask = matchTerms(rs, ev, t)
				}
			}
			masks, later = append(masks, mask), append(later, lt)
		}
		d.maskBuf, d.laterBuf = masks, later
		d.keepAhead(cand, masks, later, func(int) *event.Event { return ev })
	}
	unused, spill := true, false
	var firstErr error
	for k, i := range cand {
		rs := d.rules[i]
		rs.stats.EventsOffered++
		var err error
		switch {
		case rs.split != nil:
			var mask uint64
			if masks != nil {
				mask = masks[k]
				if lt := later[k]; lt != 0 && rs.deferrer != nil {
					err = rs.deferrer.PushLater(ev, mask, lt)
					break
				}
				if lt := later[k]; lt != 0 && (mask != 0 || !rs.skipper.SkipLater(ev)) {
					mask |= matchTerms(rs, ev, lt)
				}
			} else {
				mask = matchTerms(rs, ev, d.rt.terms[i])
			}
			// In batch mode an event no term matched changes nothing in the rule's state
			// (SplitRunner.PushMatched of engine.Stepper returns at once): skip the call.
			if mask != 0 || d.opts.Streaming {
				err = rs.split.PushMatched(ev, mask)
			}
			spill = spill || (rs.inOrder && mask != 0)
		default:
			err = rs.comp.Runner.Push(ev)
			spill = spill || rs.inOrder
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
		} else {
			unused = false
		}
		if d.alertErr != nil {
			return d.alertErr
		}
	}
	if firstErr != nil && unused {
		d.summary.EventsUnused++
		d.report(&EventError{Source: EventSource{Name: ev.Source, Line: ev.Line, Index: ev.Index, Seq: ev.Seq, ID: ev.ID},
			Kind: EventUnused, Err: firstErr})
	}
	if spill && d.spill != nil {
		d.spill.write(ev)
	}
	return nil
}

func (d *Detector) report(err error) {
	if d.opts.OnEventError != nil {
		d.opts.OnEventError(err)
	}
}

// onMatch receives one match of a rule from its runner.
func (d *Detector) onMatch(rs *ruleState, evs []*event.Event) {
	rs.stats.Matches++
	if !d.opts.Streaming {
		rs.pending = append(rs.pending, evs)
		return
	}
	// Streaming: at most max_signals per rule interval, by the first event's time.
	var bucket int64
	for _, ev := range evs {
		if ev == nil {
			continue
		}
		raw, _ := ev.Doc()
		if t, ok := docTimestamp(raw); ok {
			bucket = t.UnixNano() / int64(rs.interval)
		}
		break
	}
	if rs.buckets[bucket] >= rs.info.r.MaxSignals {
		rs.stats.Capped++
		return
	}
	rs.buckets[bucket]++
	if len(rs.buckets) > 1024 {
		for k := range rs.buckets {
			if k < bucket-1 {
				delete(rs.buckets, k)
			}
		}
	}
	if err := d.writeMatch(rs, evs); err != nil && d.alertErr == nil {
		d.alertErr = err
	}
}

// eventID returns the event's _id: the one its input gave (a _bulk action), else the
// document's own _id field, else an id derived from its content raw (event.DocID), so that
// the same event gets the same id in every run.
func eventID(ev *event.Event, raw []byte, doc document) string {
	if ev.ID != "" {
		return ev.ID
	}
	if s, ok := doc["_id"].(string); ok && s != "" {
		return s
	}
	return event.DocID(raw)
}

// writeMatch builds the alerts of one match and writes them to the sink.
func (d *Detector) writeMatch(rs *ruleState, evs []*event.Event) error {
	j := alertJob{rs: rs, evs: evs}
	d.b.build(&j)
	return d.writeJob(&j)
}

// alertJob is one match to write: its alerts, once built (builder.build), or why not.
type alertJob struct {
	rs  *ruleState
	evs []*event.Event

	alerts []Alert
	lost   error // a kept event's document could not be read again: the alerts are not written
	err    error
}

// build builds the alerts of a job. It reads the documents of kept events again
// (event.Event.Doc) and only reads the builder and the rule: jobs can be built
// concurrently.
func (b *builder) build(j *alertJob) {
	mes := make([]*matchedEvent, len(j.evs))
	for i, ev := range j.evs {
		if ev == nil {
			continue
		}
		raw, err := ev.Doc()
		if err != nil {
			j.lost = err
			return
		}
		src, err := parseDocument(raw)
		if err != nil {
			j.err = fmt.Errorf("%s:%d: %w", ev.Source, ev.Line, err)
			return
		}
		mes[i] = &matchedEvent{id: eventID(ev, raw, src), index: ev.Index, src: src}
	}
	ri := j.rs.info
	if j.rs.comp.Sequence {
		j.alerts, j.err = b.sequenceAlerts(ri, mes)
		return
	}
	for _, me := range mes {
		if me == nil {
			continue
		}
		a, err := b.eventAlert(ri, *me)
		if err != nil {
			j.err = err
			return
		}
		j.alerts = append(j.alerts, a)
	}
}

// writeJob writes the alerts of a built job to the sink, or reports why it has none.
func (d *Detector) writeJob(j *alertJob) error {
	switch {
	case j.lost != nil:
		// The input file changed under us: this match cannot be written, the rest can.
		d.summary.AlertsNotWritten++
		d.report(fmt.Errorf("%w: an alert of rule %q not written", j.lost, j.rs.info.r.Name))
		return nil
	case j.err != nil:
		return j.err
	case len(j.alerts) == 0:
		return nil
	}
	if err := d.sink.Write(d.ctx, j.alerts); err != nil {
		return err
	}
	j.rs.stats.Alerts += len(j.alerts)
	d.summary.Alerts += int64(len(j.alerts))
	return nil
}

// writeJobs builds the alerts of jobs on d.workers goroutines, a chunk at a time (building
// them, mostly JSON work, is a tenth of a batch run's time with a thousand rules), and
// writes them in order. It returns the first error; the jobs after it are still written.
func (d *Detector) writeJobs(ctx context.Context, jobs []alertJob) error {
	var first error
	chunk := 64 * max(d.workers, 1)
	for start := 0; start < len(jobs); start += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		part := jobs[start:min(start+chunk, len(jobs))]
		if d.workers > 1 && len(part) > 1 {
			var next atomic.Int64
			var wg sync.WaitGroup
			for range min(d.workers, len(part)) {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(len(part)); i = next.Add(1) - 1 {
						d.b.build(&part[i])
					}
				})
			}
			wg.Wait()
		} else {
			for i := range part {
				d.b.build(&part[i])
			}
		}
		for i := range part {
			if err := d.writeJob(&part[i]); err != nil && first == nil {
				first = err
			}
			part[i] = alertJob{} // the alerts are written: let them go
		}
	}
	return first
}

// Close ends the input: it flushes every rule, writes the alerts batch mode kept (at most
// max_signals per rule, the most recent, as Elasticsearch's EQL size keeps them), and
// returns the first error met. The Summary is complete after Close.
func (d *Detector) Close(ctx context.Context) error {
	var first error
	if d.pipe != nil {
		first = d.pipe.close(ctx)
	}
	d.ctx = ctx
	for _, rs := range d.rules {
		if err := rs.comp.Runner.Flush(ctx); err != nil && first == nil {
			first = fmt.Errorf("rule %s (%s): %w", rs.info.r.RuleID, rs.info.r.Name, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := d.rerun(ctx); err != nil && first == nil {
		first = err
	}
	if d.alertErr != nil && first == nil {
		first = d.alertErr
	}
	var jobs []alertJob
	for _, rs := range d.rules {
		matches := rs.pending
		rs.pending = nil
		if rs.comp.Matched != nil {
			// The runner kept only the most recent max_signals matches; it counted them all.
			rs.stats.Matches = rs.comp.Matched()
			rs.stats.Capped += rs.stats.Matches - len(matches)
		}
		if max := rs.info.r.MaxSignals; len(matches) > max {
			rs.stats.Capped += len(matches) - max
			matches = matches[len(matches)-max:]
		}
		for _, evs := range matches {
			jobs = append(jobs, alertJob{rs: rs, evs: evs})
		}
	}
	if err := d.writeJobs(ctx, jobs); err != nil && first == nil {
		first = err
	}
	for _, rs := range d.rules {
		if rs.stats.Capped > 0 {
			d.summary.Warnings = append(d.summary.Warnings, fmt.Sprintf(
				"rule %s (%s): This rule reached the maximum alert limit for the rule execution. Some alerts were not created. (max_signals %d, %d more matches)",
				rs.info.r.RuleID, rs.info.r.Name, rs.info.r.MaxSignals, rs.stats.Capped))
		}
	}
	return first
}

// rerun runs again, over the events kept in the spill file, the in-order rules whose input
// was not in order, discarding what they matched; then it removes the file.
func (d *Detector) rerun(ctx context.Context) error {
	if d.spill == nil && (d.opts.Replay == nil || !d.inOrderOK) {
		return nil
	}
	defer func() {
		if d.spill != nil {
			d.spill.close()
			d.spill = nil
		}
		d.inOrderOK = false
	}()
	again := make([]bool, len(d.rules))
	var any bool
	for i, rs := range d.rules {
		if rs.inOrder && rs.comp.Disordered() {
			again[i], any = true, true
			d.reruns++
			rs.pending, rs.stats.Matches = nil, 0
			rs.comp.Runner, rs.split, rs.inOrder = rs.comp.Rerun(), nil, false
			rs.terms, rs.keeper, rs.later, rs.skipper, rs.deferrer = nil, nil, 0, nil, nil
		}
	}
	if !any {
		return nil
	}
	ev := &d.ev
	var n int64
	fromInput := d.spill == nil
	replay := func(doc []byte, src EventSource) error {
		if n++; n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if fromInput && n > d.summary.EventsRead {
			return errReplayDone // the input grew since it was read
		}
		if err := d.dec.Decode(doc, ev); err != nil {
			if fromInput {
				return nil // reported when Process read it
			}
			return fmt.Errorf("%s:%d: %w", src.Name, src.Line, err) // it decoded the first time
		}
		d.rt.prepare(ev, src)
		d.memo.Next(ev)
		for _, i := range d.rt.candidates(ev) {
			if again[i] {
				_ = d.rules[i].comp.Runner.Push(ev) // a refusal was reported the first time
			}
		}
		return nil
	}
	var err error
	if fromInput {
		if err = d.opts.Replay(ctx, replay); errors.Is(err, errReplayDone) {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("reading the input again: %w", err)
		}
	} else {
		err = d.spill.replay(replay)
	}
	if err != nil {
		return err
	}
	for i, rs := range d.rules {
		if !again[i] {
			continue
		}
		if err := rs.comp.Runner.Flush(ctx); err != nil {
			return fmt.Errorf("rule %s (%s): %w", rs.info.r.RuleID, rs.info.r.Name, err)
		}
	}
	return nil
}

// errReplayDone stops Options.Replay once it has given as many documents as Process had.
var errReplayDone = errors.New("replay: all documents read")

// PendingState returns the state the rules hold now, summed over the rules whose engine
// reports it: buffered events, partial sequences and undecided results. Like Process, it
// must not run concurrently with the Detector's other methods.
func (d *Detector) PendingState() int64 {
	var n int64
	for _, rs := range d.rules {
		if p, ok := rs.comp.Runner.(interface{ Pending() int64 }); ok {
			n += p.Pending()
		}
	}
	return n
}

// Summary returns the counters so far (complete after Close).
func (d *Detector) Summary() *Summary { return &d.summary }

// Summary reports a run.
type Summary struct {
	// RulesLoaded counts the rules that run; RulesSkipped lists those that do not, with why.
	RulesLoaded  int           `json:"rules_loaded"`
	RulesSkipped []SkippedRule `json:"rules_skipped,omitempty"`
	// EventsRead counts documents given to Process; EventsSkipped those that were malformed;
	// EventsUnused those every rule they were offered to refused (no timestamp, too late);
	// EventsWithoutIndex those with no index name, offered to every rule.
	EventsRead         int64 `json:"events_read"`
	EventsSkipped      int64 `json:"events_skipped"`
	EventsUnused       int64 `json:"events_unused"`
	EventsWithoutIndex int64 `json:"events_without_index"`
	// EventsFuture counts the events skipped because they were stamped too far ahead of the
	// clock (Options.MaxFuture); EventsShed the buffered events the rules processed early
	// because the reordering buffers were full (Shed).
	EventsFuture int64 `json:"events_future,omitempty"`
	EventsShed   int64 `json:"events_shed,omitempty"`
	// Alerts counts alert documents written; AlertsNotWritten the matches whose alerts
	// could not be built because a kept event's document could not be read again from its
	// file (Options.Origin), each reported through OnEventError.
	Alerts           int64 `json:"alerts"`
	AlertsNotWritten int64 `json:"alerts_not_written,omitempty"`
	// Rules has one entry per running rule, in load order.
	Rules []*RuleStats `json:"rules"`
	// Warnings are messages about the run, such as max_signals capping.
	Warnings []string `json:"warnings,omitempty"`
}

// SkippedRule is a rule that does not run.
type SkippedRule struct {
	RuleID string `json:"rule_id"`
	Name   string `json:"name"`
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// RuleStats are one rule's counters.
type RuleStats struct {
	RuleID string `json:"rule_id"`
	Name   string `json:"name"`
	// EventsOffered counts the events pushed to the rule after index and category routing.
	EventsOffered int64 `json:"events_offered"`
	// Matches counts events (event queries) or sequences found; Capped those dropped by
	// max_signals; Alerts the alert documents written.
	Matches int `json:"matches"`
	Capped  int `json:"capped"`
	Alerts  int `json:"alerts"`
}
