package detect

// Summary returns the counters so far (complete after Close).
func (d *Detector) Summary() *Summary { return &d.summary }

// counters returns the Summary that counts the event numbered seq: the Detector's, or,
// for an event replayed from an earlier run (Options.Replayed), one that is not reported.
func (d *Detector) counters(seq uint64) *Summary {
	if seq != 0 && seq <= d.opts.Replayed {
		return &d.replay
	}
	return &d.summary
}

// replayed reports whether the event numbered seq is an earlier run's (Options.Replayed).
func (d *Detector) replayed(seq uint64) bool { return seq != 0 && seq <= d.opts.Replayed }

// reportEvent tells OnEventError of an event error, unless the event is an earlier run's,
// which reported it.
func (d *Detector) reportEvent(e *EventError) {
	if !d.replayed(e.Source.Seq) {
		d.report(e)
	}
}

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
	// EventsReplayed counts the events of an earlier run given again (Options.Replayed),
	// which the other event counters leave out.
	EventsReplayed int64 `json:"events_replayed,omitempty"`
	// HistoryEvents counts the documents Options.History gave, read before the input.
	HistoryEvents int64 `json:"history_events,omitempty"`
	// IndicatorEvents counts the documents Options.Indicators gave.
	IndicatorEvents int64 `json:"indicator_events,omitempty"`
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
	// max_signals; Alerts the alert documents written; Suppressed the matches that alert
	// suppression folded into another match's alert (kibana.alert.suppression.docs_count).
	Matches    int `json:"matches"`
	Capped     int `json:"capped"`
	Alerts     int `json:"alerts"`
	Suppressed int `json:"suppressed,omitempty"`
	// Indicators counts an indicator-match rule's indicators (Options.Indicators).
	Indicators int `json:"indicators,omitempty"`
}
