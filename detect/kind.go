package detect

import (
	"fmt"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/rule"
)

// ruleKind is a kind of rule (its type: eql today; query, threshold and new_terms next):
// how a rule of the kind compiles into a running matcher, and what its alerts look like.
// Everything else (the rule index, the router, the pipeline, the Summary and the Sink)
// sees only the Compiled Runner and the alerts, whatever the kind. Its methods run once
// per rule; the alertShape it returns once per match; nothing of it runs per event.
type ruleKind interface {
	// meta returns the kind's identity as alerts carry it.
	meta() kindMeta
	// compile parses the rule's query (req.Rule.Query), fills in what req holds for the
	// kind, and compiles it with fn (Options.Compile). It returns the running rule and how
	// its matches become alerts.
	compile(req CompileRequest, fn CompileFunc) (*Compiled, alertShape, error)
	// suppresses reports whether the kind's alerts can be suppressed (the rule's
	// alert_suppression, see suppress.go); a rule of another kind with it is refused.
	suppresses() bool
}

// kindMeta is what alerts say of a rule's kind: kibana.alert.rule.type, .rule_type_id and
// .category, and the rule parameters' type and language.
type kindMeta struct {
	ruleType, language, typeID, category string
}

// alertShape builds the alerts of one match of a rule, from the match's events in the
// order the rule emitted them (nil for a missing event).
type alertShape func(b *builder, ri *ruleInfo, events []*matchedEvent) ([]Alert, error)

// kindOf returns the kind of r, or nil when Tripline runs no rule of its kind (see
// rule.Rule.Unsupported).
func kindOf(r *rule.Rule) ruleKind {
	switch {
	case r.IsEQL():
		return eqlKind{}
	case r.IsQuery():
		return queryKind{language: r.Language}
	case r.IsThreshold():
		return thresholdKind{language: r.Language}
	case r.IsNewTerms():
		return newTermsKind{language: r.Language}
	case r.IsThreatMatch():
		return threatKind{language: r.Language}
	}
	return nil
}

// eqlKind is the kind of EQL rules: an event query gives one alert per event, a sequence
// or sample a shell alert and its building blocks.
type eqlKind struct{}

func (eqlKind) meta() kindMeta {
	return kindMeta{ruleType: "eql", language: "eql", typeID: "siem.eqlRule", category: "Event Correlation Rule"}
}

// suppresses is true: Kibana suppresses the alerts of EQL event queries, and sequences by
// their shell alerts.
func (eqlKind) suppresses() bool { return true }

func (eqlKind) compile(req CompileRequest, fn CompileFunc) (*Compiled, alertShape, error) {
	stmt, err := eql.Parse(req.Rule.Query)
	if err != nil {
		return nil, nil, fmt.Errorf("query: %w", err)
	}
	req.Statement = stmt
	comp, err := compileRestricted(req, fn)
	if err != nil {
		return nil, nil, err
	}
	if comp.Sequence {
		return comp, (*builder).sequenceAlerts, nil
	}
	return comp, eventAlerts, nil
}

// eventAlerts builds the alerts of a match of an event query: one per event.
func eventAlerts(b *builder, ri *ruleInfo, events []*matchedEvent) ([]Alert, error) {
	var alerts []Alert
	for _, me := range events {
		if me == nil {
			continue
		}
		a, err := b.eventAlert(ri, *me)
		if err != nil {
			return nil, err
		}
		alerts = append(alerts, a)
	}
	return alerts, nil
}
