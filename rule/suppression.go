package rule

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Missing-fields strategies of alert suppression: how events that lack a group_by field
// are handled.
const (
	// SuppressMissing puts the events missing a group_by field in one group whose value
	// for that field is null (Kibana's default).
	SuppressMissing = "suppress"
	// DoNotSuppressMissing gives each event missing a group_by field an alert of its own.
	DoNotSuppressMissing = "doNotSuppress"
)

// MaxSuppressionFields is the most group_by fields Kibana's rule schema accepts.
const MaxSuppressionFields = 3

// AlertSuppression is a rule's alert_suppression object: the alerts of one group (equal
// values of GroupBy) within Duration become one alert that counts the others.
type AlertSuppression struct {
	GroupBy []string `json:"group_by" toml:"group_by"`
	// Duration is the suppression window; nil means one rule execution.
	Duration *SuppressionDuration `json:"duration,omitempty" toml:"duration"`
	// MissingFieldsStrategy is SuppressMissing or DoNotSuppressMissing; empty means
	// SuppressMissing.
	MissingFieldsStrategy string `json:"missing_fields_strategy,omitempty" toml:"missing_fields_strategy"`
}

// SuppressionDuration is alert_suppression.duration: Value units of s, m or h.
type SuppressionDuration struct {
	Value int    `json:"value" toml:"value"`
	Unit  string `json:"unit" toml:"unit"`
}

// Window returns the duration as a time.Duration, 0 when d is nil (per execution).
func (d *SuppressionDuration) Window() time.Duration {
	if d == nil {
		return 0
	}
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[d.Unit]
	return time.Duration(d.Value) * unit
}

// Strategy returns the missing-fields strategy, SuppressMissing when unset.
func (s *AlertSuppression) Strategy() string {
	if s.MissingFieldsStrategy == "" {
		return SuppressMissing
	}
	return s.MissingFieldsStrategy
}

// Validate checks s as Kibana's rule schema does, with its (zod) wording, each message
// prefixed with the path of the offending key.
func (s *AlertSuppression) Validate() error {
	var errs []string
	switch n := len(s.GroupBy); {
	case n < 1:
		errs = append(errs, "alert_suppression.group_by: Array must contain at least 1 element(s)")
	case n > MaxSuppressionFields:
		errs = append(errs, fmt.Sprintf("alert_suppression.group_by: Array must contain at most %d element(s)", MaxSuppressionFields))
	}
	for i, f := range s.GroupBy {
		if strings.TrimSpace(f) == "" {
			errs = append(errs, fmt.Sprintf("alert_suppression.group_by.%d: String must contain at least 1 character(s)", i))
		}
	}
	if d := s.Duration; d != nil {
		if d.Value < 1 {
			errs = append(errs, "alert_suppression.duration.value: Number must be greater than or equal to 1")
		}
		if d.Unit != "s" && d.Unit != "m" && d.Unit != "h" {
			errs = append(errs, fmt.Sprintf("alert_suppression.duration.unit: Invalid enum value. Expected 's' | 'm' | 'h', received '%s'", d.Unit))
		}
	}
	if m := s.MissingFieldsStrategy; m != "" && m != SuppressMissing && m != DoNotSuppressMissing {
		errs = append(errs, fmt.Sprintf("alert_suppression.missing_fields_strategy: Invalid enum value. Expected 'doNotSuppress' | 'suppress', received '%s'", m))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, ", "))
	}
	return nil
}

// ValidateThreshold checks s as Kibana's schema checks a threshold rule's alert_suppression,
// which has a duration only: the group is the threshold's fields, and other keys
// (group_by, missing_fields_strategy) are dropped, as the schema strips unknown keys.
func (s *AlertSuppression) ValidateThreshold() error {
	d := s.Duration
	if d == nil {
		return errors.New("alert_suppression.duration: Required")
	}
	return (&AlertSuppression{GroupBy: []string{"-"}, Duration: d}).Validate()
}

// Exception list types a rule's exceptions_list may reference (Kibana's ExceptionListType).
var exceptionListTypes = map[string]bool{
	"detection": true, "rule_default": true, "endpoint": true, "endpoint_trusted_apps": true,
	"endpoint_events": true, "endpoint_host_isolation_exceptions": true, "endpoint_blocklists": true,
}

// ExceptionListRef is an entry of a rule's exceptions_list: a reference to an exception
// list by its saved-object id and its list_id, in a namespace ("single": the rule's
// space; "agnostic": every space).
type ExceptionListRef struct {
	ID            string `json:"id" toml:"id"`
	ListID        string `json:"list_id" toml:"list_id"`
	NamespaceType string `json:"namespace_type" toml:"namespace_type"`
	Type          string `json:"type" toml:"type"`
}

// Validate checks ref as Kibana's rule schema does.
func (ref *ExceptionListRef) Validate() error {
	var errs []string
	if ref.ID == "" {
		errs = append(errs, "id: Required")
	}
	if ref.ListID == "" {
		errs = append(errs, "list_id: Required")
	}
	if ref.NamespaceType != "single" && ref.NamespaceType != "agnostic" {
		errs = append(errs, fmt.Sprintf("namespace_type: Invalid enum value. Expected 'agnostic' | 'single', received '%s'", ref.NamespaceType))
	}
	if !exceptionListTypes[ref.Type] {
		errs = append(errs, fmt.Sprintf("type: Invalid enum value. Expected 'detection' | 'rule_default' | 'endpoint' | 'endpoint_trusted_apps' | 'endpoint_events' | 'endpoint_host_isolation_exceptions' | 'endpoint_blocklists', received '%s'", ref.Type))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, ", "))
	}
	return nil
}
