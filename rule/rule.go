package rule

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Defaults Kibana applies to a rule that does not set the field.
const (
	DefaultMaxSignals = 100
	DefaultFrom       = "now-6m"
	DefaultInterval   = "5m"
	DefaultTo         = "now"
)

// DefaultIndex returns the index patterns Kibana's detection engine searches for a rule
// without an index list (the securitySolution:defaultIndex setting, as shipped).
func DefaultIndex() []string {
	return []string{
		"apm-*-transaction*", "auditbeat-*", "endgame-*", "filebeat-*", "logs-*",
		"packetbeat-*", "traces-apm*", "winlogbeat-*", "-*elastic-cloud-logs-*",
	}
}

// Rule is one detection rule, with the fields of the Kibana rule object that the detection
// engine uses or copies into alerts. Field names follow Kibana's API (snake_case).
type Rule struct {
	// ID is the Kibana saved-object id of the rule when the rule came from a Kibana export.
	// For TOML rules it is empty; UUID returns what alerts use.
	ID          string `json:"id,omitempty" toml:"id"`
	RuleID      string `json:"rule_id" toml:"rule_id"`
	Name        string `json:"name" toml:"name"`
	Description string `json:"description,omitempty" toml:"description"`
	// Type is the rule type: eql, query, esql, threshold, new_terms, machine_learning, threat_match.
	Type string `json:"type" toml:"type"`
	// Language is the query language: eql, kuery, lucene, esql; empty for machine learning rules.
	Language string   `json:"language,omitempty" toml:"language"`
	Query    string   `json:"query,omitempty" toml:"query"`
	Index    []string `json:"index,omitempty" toml:"index"`

	RiskScore int      `json:"risk_score" toml:"risk_score"`
	Severity  string   `json:"severity" toml:"severity"`
	Tags      []string `json:"tags,omitempty" toml:"tags"`
	Threat    []Threat `json:"threat,omitempty" toml:"threat"`

	TimestampOverride     string `json:"timestamp_override,omitempty" toml:"timestamp_override"`
	TimestampField        string `json:"timestamp_field,omitempty" toml:"timestamp_field"`
	EventCategoryOverride string `json:"event_category_override,omitempty" toml:"event_category_override"`
	TiebreakerField       string `json:"tiebreaker_field,omitempty" toml:"tiebreaker_field"`
	BuildingBlockType     string `json:"building_block_type,omitempty" toml:"building_block_type"`

	// MaxSignals is the most alerts (for sequences: sequences) one execution creates.
	MaxSignals int    `json:"max_signals" toml:"max_signals"`
	From       string `json:"from" toml:"from"`
	To         string `json:"to" toml:"to"`
	Interval   string `json:"interval" toml:"interval"`
	Enabled    bool   `json:"enabled" toml:"enabled"`

	Author         []string `json:"author,omitempty" toml:"author"`
	License        string   `json:"license,omitempty" toml:"license"`
	References     []string `json:"references,omitempty" toml:"references"`
	FalsePositives []string `json:"false_positives,omitempty" toml:"false_positives"`
	Note           string   `json:"note,omitempty" toml:"note"`
	Setup          string   `json:"setup,omitempty" toml:"setup"`
	// Version is the rule's version; 0 when the source does not say (TOML files never do).
	Version int `json:"version,omitempty" toml:"version"`

	// TimelineID and TimelineTitle name the timeline template Kibana opens alerts with.
	TimelineID    string `json:"timeline_id,omitempty" toml:"timeline_id"`
	TimelineTitle string `json:"timeline_title,omitempty" toml:"timeline_title"`
	// InvestigationFields are the fields Kibana shows first in an alert's flyout.
	InvestigationFields *InvestigationFields `json:"investigation_fields,omitempty" toml:"investigation_fields"`
	// RelatedIntegrations and RequiredFields are what Kibana's rule objects carry (and Kibana
	// exports); detection-rules computes them when it packages rules, so its TOML files do
	// not have them.
	RelatedIntegrations []RelatedIntegration `json:"related_integrations,omitempty" toml:"related_integrations"`
	RequiredFields      []RequiredField      `json:"required_fields,omitempty" toml:"required_fields"`

	// Filters are Kibana query-bar filters; Tripline does not run them yet (Unsupported).
	Filters []any `json:"filters,omitempty" toml:"filters"`
	// ExceptionsList references the exception lists whose items exclude events from the
	// rule (package exceptions resolves and translates them); Unsupported refuses them
	// until the detector applies them.
	ExceptionsList []ExceptionListRef `json:"exceptions_list,omitempty" toml:"exceptions_list"`
	// AlertSuppression, when set, groups the rule's alerts (package detect, for the rule
	// kinds that support it).
	AlertSuppression *AlertSuppression `json:"alert_suppression,omitempty" toml:"alert_suppression"`

	// Threshold is a threshold rule's threshold object.
	Threshold *Threshold `json:"threshold,omitempty" toml:"threshold"`
	// NewTermsFields and HistoryWindowStart are a new-terms rule's parameters: the fields
	// (1-3) whose values, or combinations of values, are new when not seen since
	// HistoryWindowStart (date math, now-7d).
	NewTermsFields     []string `json:"new_terms_fields,omitempty" toml:"-"`
	HistoryWindowStart string   `json:"history_window_start,omitempty" toml:"-"`
	// NewTerms is how detection-rules' TOML files write the two above; loading moves it there.
	NewTerms *NewTermsTOML `json:"-" toml:"new_terms"`

	// The parameters of an indicator-match rule: the indicators are the documents of
	// ThreatIndex matching ThreatQuery (in ThreatLanguage) and ThreatFilters; an event
	// matches one when the fields of one ThreatMapping entry all match.
	ThreatIndex         []string        `json:"threat_index,omitempty" toml:"threat_index"`
	ThreatQuery         string          `json:"threat_query,omitempty" toml:"threat_query"`
	ThreatLanguage      string          `json:"threat_language,omitempty" toml:"threat_language"`
	ThreatMapping       []ThreatMapping `json:"threat_mapping,omitempty" toml:"threat_mapping"`
	ThreatFilters       []any           `json:"threat_filters,omitempty" toml:"threat_filters"`
	ThreatIndicatorPath string          `json:"threat_indicator_path,omitempty" toml:"threat_indicator_path"`

	// Immutable marks one of Elastic's prebuilt rules. A Kibana export says so itself; a TOML
	// rule is taken for one when its [metadata] table has maturity = "production", which is
	// what detection-rules releases as Kibana's prebuilt rules.
	Immutable bool `json:"immutable,omitempty" toml:"-"`
	// RuleSource is Kibana's rule_source object ({"type":"external","is_customized":false}
	// for a prebuilt rule, {"type":"internal"} for a custom one) when a Kibana export gives it.
	RuleSource map[string]any `json:"rule_source,omitempty" toml:"-"`
	// CreatedAt and UpdatedAt are when the rule was created and last changed, RFC 3339: a
	// Kibana export's created_at and updated_at, or a TOML file's [metadata] creation_date
	// and updated_date (YYYY/MM/DD) at midnight UTC. Empty when the source does not say.
	CreatedAt string `json:"created_at,omitempty" toml:"-"`
	UpdatedAt string `json:"updated_at,omitempty" toml:"-"`
	// CreatedBy and UpdatedBy are the Kibana users who created and last changed the rule
	// (Kibana exports only).
	CreatedBy string `json:"created_by,omitempty" toml:"-"`
	UpdatedBy string `json:"updated_by,omitempty" toml:"-"`

	// Source is where the rule was read from.
	Source Source `json:"-" toml:"-"`
}

// InvestigationFields is a rule's investigation_fields object.
type InvestigationFields struct {
	FieldNames []string `json:"field_names" toml:"field_names"`
}

// UnmarshalJSON reads investigation_fields in its current form ({"field_names": [...]}) and
// in the plain list of field names that Kibana before 8.11 stored (as Kibana migrates it).
func (f *InvestigationFields) UnmarshalJSON(data []byte) error {
	var names []string
	if err := json.Unmarshal(data, &names); err == nil {
		f.FieldNames = names
		return nil
	}
	type plain InvestigationFields
	return json.Unmarshal(data, (*plain)(f))
}

// RelatedIntegration is an entry of related_integrations: a Fleet package (and one of its
// integrations) the rule needs, with the package versions it works with.
type RelatedIntegration struct {
	Package     string `json:"package" toml:"package"`
	Version     string `json:"version" toml:"version"`
	Integration string `json:"integration,omitempty" toml:"integration"`
}

// RequiredField is an entry of required_fields: a field the query reads, with its type and
// whether ECS defines it.
type RequiredField struct {
	Name string `json:"name" toml:"name"`
	Type string `json:"type" toml:"type"`
	ECS  bool   `json:"ecs" toml:"ecs"`
}

// Threat is one MITRE ATT&CK (or ATLAS) tactic with its techniques, as Kibana stores it.
type Threat struct {
	Framework string      `json:"framework" toml:"framework"`
	Tactic    ThreatRef   `json:"tactic" toml:"tactic"`
	Technique []Technique `json:"technique,omitempty" toml:"technique"`
}

// Technique is a MITRE technique with its subtechniques.
type Technique struct {
	ID           string      `json:"id" toml:"id"`
	Name         string      `json:"name" toml:"name"`
	Reference    string      `json:"reference" toml:"reference"`
	Subtechnique []ThreatRef `json:"subtechnique,omitempty" toml:"subtechnique"`
}

// ThreatRef is a MITRE tactic or subtechnique.
type ThreatRef struct {
	ID        string `json:"id" toml:"id"`
	Name      string `json:"name" toml:"name"`
	Reference string `json:"reference" toml:"reference"`
}

// Source says where a rule was read from: a file, and for NDJSON the line in it.
type Source struct {
	Path string
	Line int // 0 for a TOML file
}

// String returns "path" or "path:line".
func (s Source) String() string {
	if s.Line > 0 {
		return fmt.Sprintf("%s:%d", s.Path, s.Line)
	}
	return s.Path
}

// UUID returns the id alerts carry as kibana.alert.rule.uuid: the Kibana saved-object id when
// the rule came from a Kibana export, otherwise the rule_id (a UUID in every Elastic rule), so
// that alert ids stay the same from run to run.
func (r *Rule) UUID() string {
	if r.ID != "" {
		return r.ID
	}
	return r.RuleID
}

// Kind returns "type/language", or the type alone when there is no language (machine learning).
func (r *Rule) Kind() string {
	if r.Language == "" {
		return r.Type
	}
	return r.Type + "/" + r.Language
}

// IsEQL reports whether the rule is an EQL rule.
func (r *Rule) IsEQL() bool {
	return r.Type == "eql" && (r.Language == "" || r.Language == "eql")
}

// IsQuery reports whether the rule is a query rule in KQL (kuery) or Lucene. An empty
// query is valid: it matches every event, as in Kibana.
func (r *Rule) IsQuery() bool {
	return r.Type == "query" && (r.Language == "kuery" || r.Language == "lucene")
}

// Unsupported returns why Tripline cannot run the rule, or "" when it can (as far as the rule
// object tells; the query itself is checked when it is compiled).
func (r *Rule) Unsupported() string {
	switch {
	case r.IsQuery(), r.IsThreshold(), r.IsNewTerms(), r.IsThreatMatch():
		return ""
	case !r.IsEQL():
		return "not a rule type Tripline runs (" + r.Kind() + ")"
	case strings.TrimSpace(r.Query) == "":
		return "empty query"
	}
	return ""
}

// IndexPatterns returns the rule's index patterns, or DefaultIndex when it has none.
func (r *Rule) IndexPatterns() []string {
	if len(r.Index) == 0 {
		return DefaultIndex()
	}
	return r.Index
}

// applyDefaults fills the fields Kibana defaults.
func (r *Rule) applyDefaults() {
	if r.MaxSignals == 0 {
		r.MaxSignals = DefaultMaxSignals
	}
	if r.From == "" {
		r.From = DefaultFrom
	}
	if r.To == "" {
		r.To = DefaultTo
	}
	if r.Interval == "" {
		r.Interval = DefaultInterval
	}
}

// ParseInterval reads a rule's interval (how often Kibana runs it) as Kibana's alerting
// framework checks a schedule: a whole number of seconds, minutes, hours or days, with no
// sign and no leading zero ("30s", "5m", "1h", "1d"). Anything else is an error worded as
// Kibana's, the reason it refuses to create the rule. An interval longer than the longest
// Duration (292 years) is that longest one.
func ParseInterval(s string) (time.Duration, error) {
	var unit time.Duration
	if len(s) >= 2 {
		switch s[len(s)-1] {
		case 's':
			unit = time.Second
		case 'm':
			unit = time.Minute
		case 'h':
			unit = time.Hour
		case 'd':
			unit = 24 * time.Hour
		}
	}
	num := s[:max(len(s)-1, 0)]
	if unit == 0 || num[0] < '1' || num[0] > '9' || strings.Trim(num, "0123456789") != "" {
		return 0, fmt.Errorf("string is not a valid duration: %s", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/int64(unit) {
		return math.MaxInt64, nil // valid for Kibana, but longer than a Duration (292 years)
	}
	return time.Duration(n) * unit, nil
}

var severities = map[string]bool{"low": true, "medium": true, "high": true, "critical": true}

// validate checks the fields every rule must have.
func (r *Rule) validate() error {
	var missing []string
	if r.RuleID == "" {
		missing = append(missing, "rule_id")
	}
	if r.Name == "" {
		missing = append(missing, "name")
	}
	if r.Type == "" {
		missing = append(missing, "type")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing required field(s) %s", strings.Join(missing, ", "))
	}
	if r.RiskScore < 0 || r.RiskScore > 100 {
		return fmt.Errorf("rule %s: risk_score %d is outside 0-100", r.RuleID, r.RiskScore)
	}
	if !severities[r.Severity] {
		return fmt.Errorf("rule %s: severity %q is not one of low, medium, high, critical", r.RuleID, r.Severity)
	}
	for i := range r.ExceptionsList {
		if err := r.ExceptionsList[i].Validate(); err != nil {
			return fmt.Errorf("rule %s: exceptions_list.%d: %w", r.RuleID, i, err)
		}
	}
	if r.AlertSuppression != nil {
		validate := r.AlertSuppression.Validate
		if r.IsThreshold() {
			validate = r.AlertSuppression.ValidateThreshold
		}
		if err := validate(); err != nil {
			return fmt.Errorf("rule %s: %w", r.RuleID, err)
		}
	}
	if errs := r.validateTypeParams(); len(errs) > 0 {
		return fmt.Errorf("rule %s: %s", r.RuleID, strings.Join(errs, ", "))
	}
	if r.MaxSignals < 0 {
		return fmt.Errorf("rule %s: max_signals %d is negative", r.RuleID, r.MaxSignals)
	}
	if _, err := ParseInterval(r.Interval); err != nil {
		return fmt.Errorf("rule %s: interval: %w", r.RuleID, err)
	}
	for _, d := range []struct{ name, v string }{{"created_at", r.CreatedAt}, {"updated_at", r.UpdatedAt}} {
		if _, err := time.Parse(time.RFC3339Nano, d.v); d.v != "" && err != nil {
			return fmt.Errorf("rule %s: %s %q is not an RFC 3339 time", r.RuleID, d.name, d.v)
		}
	}
	return nil
}

// metadataDate turns a detection-rules [metadata] date (YYYY/MM/DD) into the RFC 3339 time of
// its midnight UTC, as Kibana writes dates.
func metadataDate(key, v string) (string, error) {
	t, err := time.Parse("2006/01/02", v)
	if err != nil {
		return "", fmt.Errorf("[metadata] %s %q is not a date written YYYY/MM/DD", key, v)
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z"), nil
}

// applyMetadata sets the rule fields a TOML file's [metadata] table gives: CreatedAt and
// UpdatedAt from creation_date and updated_date, Immutable from maturity. Values that are not
// strings are passed over.
func (r *Rule) applyMetadata(md map[string]any) (err error) {
	str := func(k string) string { s, _ := md[k].(string); return s }
	if v := str("creation_date"); v != "" {
		if r.CreatedAt, err = metadataDate("creation_date", v); err != nil {
			return err
		}
	}
	if v := str("updated_date"); v != "" {
		if r.UpdatedAt, err = metadataDate("updated_date", v); err != nil {
			return err
		}
	}
	r.Immutable = str("maturity") == "production"
	return nil
}
