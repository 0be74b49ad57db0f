package detect

import (
	"cmp"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/rule"
)

// ruleState is one running rule.
type ruleState struct {
	idx      int
	info     *ruleInfo
	comp     *Compiled
	shape    alertShape // how its matches become alerts (its kind's)
	patterns IndexPatterns
	stats    *RuleStats
	pending  [][]*event.Event // batch: matches kept until Close for max_signals (tail)
	buckets  map[int64]int    // streaming: alerts per interval bucket
	interval time.Duration
	supp     *suppressor // the rule has alert_suppression: its held alerts
	agg      aggregator  // a stateful kind's state (threshold, new_terms): it makes the alerts
	split    SplitRunner // comp.Runner, when its matching can run apart from its state
	inOrder  bool        // comp.Disordered is set: the events it matches are spilled
	later    uint64      // terms the workers leave to the in-order part (see laterSkipper)
	skipper  laterSkipper
	// repart (Options.Repartition): the rule's events are reported, not matched here.
	repart   bool
	deferrer laterPusher // streaming: takes the later terms unevaluated
	terms    termMatcher // split, when it evaluates some terms only
	keeper   eventKeeper // split, when it tells which matches it keeps
	staged   bool        // streaming: it orders its events through the shared stage
	// busy (streaming, with workers) is whether the sequence had state when the in-order
	// part last looked (after each batch): the workers then evaluate its later terms
	// themselves, and keep whole copies of the events that match them (see laterNow).
	busy atomic.Bool
	// Batch mode, a stateful kind: the events its query matched, until Close (see take),
	// and the engine's check of their timestamps.
	selPending []pendingSel
	admit      admitter
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
	kind := kindOf(r)
	if kind == nil {
		return nil, fmt.Errorf("not a rule kind Tripline runs (%s)", r.Kind())
	}
	if _, threat := kind.(threatKind); threat && d.opts.Indicators == nil {
		return nil, errors.New("indicator match rule without indicators: give the documents of its threat index (detect --indicators)")
	}
	if r.AlertSuppression != nil && !kind.suppresses() {
		return nil, fmt.Errorf("alert suppression is not supported for %s rules", r.Type)
	}
	rs = &ruleState{
		info:     d.b.newRuleInfo(r, kind),
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
		Rule: r, Fields: d.fields, Streaming: d.opts.Streaming, Memo: d.memo, KQLFields: d.kqlFields,
		Emit:    func(evs []*event.Event) { d.onMatch(rs, evs) },
		OwnsKey: d.opts.OwnsKey,
	}
	if _, stateful := kind.(statefulKind); d.opts.TakeLate && d.opts.Streaming && !stateful {
		req.TakeLate = true
	}
	if !d.opts.Streaming {
		req.MaxResults = r.MaxSignals
		req.InOrder = d.inOrderOK
	}
	if req.Restrict, err = d.restriction(r); err != nil {
		return nil, err
	}
	comp, shape, err := kind.compile(req, d.opts.Compile)
	if err != nil {
		return nil, err
	}
	rs.comp, rs.shape = comp, shape
	if d.opts.collect != nil {
		fr, _ := newFieldReader(r, nil)
		rs.agg = &collectAgg{fn: d.opts.collect, fr: fr} // loading indicators: the rule is a threat query
	} else if sk, ok := kind.(statefulKind); ok {
		if rs.agg, err = sk.newAggregator(r, interval, d.opts.learn); err != nil {
			return nil, err
		}
	}
	rs.split, _ = comp.Runner.(SplitRunner)
	rs.terms, _ = comp.Runner.(termMatcher)
	rs.keeper, _ = comp.Runner.(eventKeeper)
	if rs.agg != nil && !d.opts.Streaming && rs.split != nil {
		// The Detector takes the query's matches itself (take): the engine neither sees
		// them nor keeps copies.
		if rs.admit, _ = comp.Runner.(admitter); rs.admit != nil {
			rs.keeper = nil
			fr := rs.agg.reader()
			fr.share(d.fields)
			if _, threat := rs.agg.(*threatAgg); !threat {
				fr.intern = termSets{} // the value sets it keeps until Close
			}
		}
	}
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
	if d.opts.Repartition != nil && d.opts.Streaming && comp.JoinKeys != nil && rs.split != nil {
		// Its events go elsewhere: nothing of it is kept or deferred here.
		rs.repart = true
		rs.keeper, rs.deferrer, rs.skipper, rs.later = nil, nil, nil, 0
	}
	if r.AlertSuppression != nil {
		rs.supp = newSuppressor(r, d.opts.Streaming || d.opts.State != nil, interval)
		d.suppressors = append(d.suppressors, rs)
	}
	d.summary.Rules = append(d.summary.Rules, rs.stats)
	return rs, nil
}

// admitter is a Runner that tells whether it would place a match of an event in time
// (engine.Stepper: Admit).
type admitter interface {
	Admit(ev *event.Event) error
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
