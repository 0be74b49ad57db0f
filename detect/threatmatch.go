package detect

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/query"
	"github.com/tripline/tripline/rule"
)

// threatKind is the kind of indicator-match (threat_match) rules: an event matching the
// rule's query (filters, exceptions) that also matches an indicator alerts once, with
// threat.enrichments naming every indicator it matched. The indicators are the documents
// of Options.Indicators that match the rule's threat_index patterns, threat_query
// (threat_language), threat_filters and exception lists, read once, before the first
// event, with no time window beyond threat_query's (as Kibana's indicator search). An
// event matches an indicator when, for one entry of threat_mapping, every field of the
// entry has the indicator's value of its mapped field (AND within an entry, OR across
// entries); an indicator whose mapped field is missing or has several values gives
// nothing for that entry. Values are compared exactly (as strings), as Elasticsearch's
// terms query does on keyword and ip fields, which is what Kibana sends for the prebuilt
// rules' single-field entries; a CIDR indicator does not match an address in it.
type threatKind struct{ language string }

func (k threatKind) meta() kindMeta {
	return kindMeta{ruleType: "threat_match", language: k.language, typeID: "siem.indicatorRule", category: "Indicator Match Rule"}
}

// suppresses is true: Kibana suppresses indicator-match alerts as a query rule's, by the
// alert_suppression group_by values of the alert's event (its enrichments are the first
// match's).
func (threatKind) suppresses() bool { return true }

func (k threatKind) compile(req CompileRequest, fn CompileFunc) (*Compiled, alertShape, error) {
	// The threat query and filters run when the indicators are read: check them now, so
	// that a rule whose indicator search cannot run is refused rather than silent.
	r := req.Rule
	if _, err := searchQuery(cmp.Or(r.ThreatLanguage, "kuery"), r.ThreatQuery, req.KQLFields); err != nil {
		return nil, nil, fmt.Errorf("threat_%w", err)
	}
	if len(r.ThreatFilters) > 0 {
		if _, err := query.Filters(r.ThreatFilters); err != nil {
			return nil, nil, fmt.Errorf("threat_filters: %w", err)
		}
	}
	return compileSelection(k, req, fn)
}

func (threatKind) newAggregator(r *rule.Rule, interval time.Duration, learn bool) (aggregator, error) {
	a := &threatAgg{interval: int64(interval), maxSignals: r.MaxSignals, buckets: map[int64]int{},
		path: cmp.Or(r.ThreatIndicatorPath, "threat.indicator")}
	var paths []string
	for _, m := range r.ThreatMapping {
		for _, e := range m.Entries {
			paths = append(paths, e.Field)
		}
	}
	var slots []event.Slot
	a.fr, slots = newFieldReader(r, paths)
	for _, m := range r.ThreatMapping {
		g := threatGroup{index: map[string][]int{}}
		for _, e := range m.Entries {
			g.fields = append(g.fields, e.Field)
			g.values = append(g.values, e.Value)
			g.slots = append(g.slots, slots[0])
			slots = slots[1:]
		}
		a.groups = append(a.groups, g)
	}
	return a, nil
}

// threatGroup is an entry of threat_mapping, with the indicators by their values.
type threatGroup struct {
	fields []string         // event fields
	slots  []event.Slot     // their slots in the rule's field reader
	values []string         // the indicator fields they map to
	index  map[string][]int // key of the indicator's values -> indicators (positions)
}

// indicator is one indicator document.
type indicator struct {
	id, index string
	src       document
}

// threatAgg matches a rule's events against its indicators. Its indicators are the state
// a durable store would keep (they are read again from their files at each start today).
type threatAgg struct {
	groups     []threatGroup
	path       string
	indicators []indicator
	interval   int64
	maxSignals int
	buckets    map[int64]int
	fr         *fieldReader
}

func (a *threatAgg) reader() *fieldReader { return a.fr }

// valueKey is the key of term values compared as strings.
func valueKey(vals []any) string {
	var sb strings.Builder
	for i, v := range vals {
		if i > 0 {
			sb.WriteByte(0)
		}
		sb.WriteString(jsString(v))
	}
	return sb.String()
}

// addIndicator indexes one indicator document under every entry whose mapped fields it
// has exactly one value of each.
func (a *threatAgg) addIndicator(ind indicator) {
	n := len(a.indicators)
	a.indicators = append(a.indicators, ind)
	for gi := range a.groups {
		g := &a.groups[gi]
		vals := make([]any, len(g.values))
		ok := true
		for i, f := range g.values {
			v, found := lookup(ind.src, f)
			l := leaves(v)
			if !found || len(l) != 1 || l[0] == nil {
				ok = false
				break
			}
			if _, obj := l[0].(map[string]any); obj {
				ok = false
				break
			}
			vals[i] = l[0]
		}
		if ok {
			k := valueKey(vals)
			g.index[k] = append(g.index[k], n)
		}
	}
}

// threatHit is an indicator an event matches on one of its fields, with the event's value.
type threatHit struct {
	ind           int // position in threatAgg.indicators
	field, atomic string
}

// take finds the indicators the event matches.
func (a *threatAgg) take(sel *selected) {
	var seen map[threatHit]bool
	for _, g := range a.groups {
		ts := a.fr.combinations(g.slots)
		if ts == nil {
			continue
		}
		for _, c := range ts.combos {
			for _, i := range g.index[valueKey(c)] {
				for j, f := range g.fields {
					h := threatHit{i, f, jsString(c[j])}
					if seen == nil {
						seen = map[threatHit]bool{}
					}
					if !seen[h] {
						seen[h] = true
						sel.hits = append(sel.hits, h)
					}
				}
			}
		}
	}
}

// needsDoc is true: an alert is the event's.
func (a *threatAgg) needsDoc() bool { return true }

func (a *threatAgg) add(b *builder, ri *ruleInfo, sel *selected) ([]Alert, int, error) {
	hits := sel.hits
	if len(hits) == 0 {
		return nil, 0, nil
	}
	bucket := sel.t / a.interval
	if a.buckets[bucket] >= a.maxSignals {
		return nil, 1, nil
	}
	a.buckets[bucket]++
	if len(a.buckets) > 64 {
		for k := range a.buckets {
			if k < bucket-1 {
				delete(a.buckets, k)
			}
		}
	}
	me, err := sel.doc()
	if err != nil {
		return nil, 0, err
	}
	doc := b.baseAlert(ri, *me)
	var enrichments []any
	if v, ok := lookup(me.src, "threat.enrichments"); ok {
		enrichments = append(enrichments, leaves(v)...)
	}
	for _, h := range hits {
		ind := a.indicators[h.ind]
		feed := document{}
		if name, ok := lookup(ind.src, "threat.feed.name"); ok && name != nil {
			feed["name"] = name
		}
		e := document{
			"feed": feed,
			"matched": document{"atomic": h.atomic, "field": h.field, "id": ind.id, "index": ind.index,
				"type": "indicator_match_rule"},
		}
		// The object at threat_indicator_path (its first, when a list); Kibana's undefined,
		// left out of the JSON, when the indicator has none.
		if v, ok := lookup(ind.src, a.path); ok {
			if l, isList := v.([]any); isList && len(l) > 0 {
				v = l[0]
			}
			e["indicator"] = v
		}
		enrichments = append(enrichments, e)
	}
	threat := document{}
	if t, ok := doc["threat"].(map[string]any); ok {
		for k, v := range t {
			threat[k] = v
		}
	}
	threat["enrichments"] = enrichments
	doc["threat"] = threat
	doc["kibana.alert.depth"] = 1
	doc["kibana.alert.ancestors"] = []ancestor{{ID: me.id, Type: "event", Index: me.index, Depth: 0}}
	id := sha256Hex(me.index, me.id, "undefined", b.space, ":", ri.uuid)
	al, err := b.finish(ri, EventAlert, id, doc)
	if err != nil {
		return nil, 0, err
	}
	return []Alert{al}, 0, nil
}

func (a *threatAgg) flush(*builder, *ruleInfo) ([]Alert, int, error) { return nil, 0, nil }

// collectAgg hands each selected document to a function (loading indicators).
type collectAgg struct {
	fn func(ruleID string, me *matchedEvent)
	fr *fieldReader
}

func (c *collectAgg) reader() *fieldReader { return c.fr }
func (c *collectAgg) take(*selected)       {}
func (c *collectAgg) needsDoc() bool       { return true }

func (c *collectAgg) add(_ *builder, ri *ruleInfo, sel *selected) ([]Alert, int, error) {
	me, err := sel.doc()
	if err != nil {
		return nil, 0, err
	}
	c.fn(ri.r.RuleID, me)
	return nil, 0, nil
}

func (c *collectAgg) flush(*builder, *ruleInfo) ([]Alert, int, error) { return nil, 0, nil }

// loadIndicators reads Options.Indicators into the indicator-match rules: a Detector of
// one query rule per indicator-match rule (its threat_query, threat_language,
// threat_filters, threat_index and exception lists) runs over them in batch mode and
// collects the documents each selects.
func (d *Detector) loadIndicators(ctx context.Context) error {
	d.indicatorsDone = true
	var rules []*rule.Rule
	aggs := map[string]*threatAgg{}
	for _, rs := range d.rules {
		if a, ok := rs.agg.(*threatAgg); ok {
			r := *rs.info.r
			r.Type, r.Language, r.Query = "query", cmp.Or(r.ThreatLanguage, "kuery"), r.ThreatQuery
			r.Filters, r.Index, r.MaxSignals, r.AlertSuppression = r.ThreatFilters, r.ThreatIndex, math.MaxInt32, nil
			rules = append(rules, &r)
			aggs[r.RuleID] = a
		}
	}
	if len(rules) == 0 {
		return nil
	}
	opts := d.opts
	opts.Indicators, opts.History, opts.Streaming, opts.Async, opts.Index = nil, nil, false, false, ""
	opts.Replay, opts.MaxFuture, opts.MaxBuffered, opts.MaxBufferedBytes = nil, 0, 0, 0
	opts.collect = func(id string, me *matchedEvent) { aggs[id].addIndicator(indicator{me.id, me.index, me.src}) }
	hd, err := New(rules, SinkFunc(func(context.Context, []Alert) error { return nil }), opts)
	if err != nil {
		return fmt.Errorf("indicators: %w", err)
	}
	for _, s := range hd.summary.RulesSkipped {
		d.summary.Warnings = append(d.summary.Warnings, fmt.Sprintf("rule %s (%s): threat_query: %s", s.RuleID, s.Name, s.Reason))
	}
	err = d.opts.Indicators(ctx, func(doc []byte, src EventSource) error { return hd.Process(ctx, doc, src) })
	if cerr := hd.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("indicators: %w", err)
	}
	d.summary.IndicatorEvents = hd.summary.EventsRead
	for _, rs := range d.rules {
		if a, ok := rs.agg.(*threatAgg); ok {
			rs.stats.Indicators = len(a.indicators)
		}
	}
	return nil
}
