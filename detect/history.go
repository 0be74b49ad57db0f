package detect

import (
	"context"
	"fmt"

	"github.com/tripline/tripline/rule"
)

// loadHistory reads Options.History into the new-terms rules: a Detector of those rules
// alone, in batch mode and learning (recording values, writing no alert), runs over it,
// and each rule takes the history its twin learnt.
func (d *Detector) loadHistory(ctx context.Context) error {
	d.historyDone = true
	var rules []*rule.Rule
	byID := make(map[string]*newTermsAgg)
	for _, rs := range d.rules {
		if a, ok := rs.agg.(*newTermsAgg); ok {
			rules = append(rules, rs.info.r)
			byID[rs.info.r.RuleID] = a
		}
	}
	if len(rules) == 0 {
		return nil
	}
	opts := d.opts
	opts.History, opts.Indicators, opts.learn, opts.Streaming, opts.Async = nil, nil, true, false, false
	opts.Replay, opts.MaxFuture, opts.MaxBuffered, opts.MaxBufferedBytes = nil, 0, 0, 0
	hd, err := New(rules, SinkFunc(func(context.Context, []Alert) error { return nil }), opts)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	err = d.opts.History(ctx, func(doc []byte, src EventSource) error { return hd.Process(ctx, doc, src) })
	if cerr := hd.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	for _, rs := range hd.rules {
		if a, ok := rs.agg.(*newTermsAgg); ok && byID[rs.info.r.RuleID] != nil {
			byID[rs.info.r.RuleID].adopt(a)
		}
	}
	d.summary.HistoryEvents = hd.summary.EventsRead
	return nil
}
