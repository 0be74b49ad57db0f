package rule

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Threshold is a threshold rule's threshold object: the events of one group (equal values
// of Field) reaching Value within the look-back, and, with Cardinality, as many distinct
// values of its field, raise an alert.
type Threshold struct {
	// Field is the group-by fields: Kibana takes a string or an array, normalised to an
	// array ("" or [] is no grouping). RawField holds what the source gave.
	Field    []string `json:"field" toml:"-"`
	RawField any      `json:"-" toml:"field"`
	Value    int      `json:"value" toml:"value"`
	// Cardinality, at most one entry in practice: the group also needs Value distinct
	// values of Field.
	Cardinality []ThresholdCardinality `json:"cardinality,omitempty" toml:"cardinality"`
}

// ThresholdCardinality is an entry of threshold.cardinality.
type ThresholdCardinality struct {
	Field string `json:"field" toml:"field"`
	Value int    `json:"value" toml:"value"`
}

// UnmarshalJSON reads threshold.field as a string or an array of strings.
func (t *Threshold) UnmarshalJSON(data []byte) error {
	type plain struct {
		Field       any                    `json:"field"`
		Value       int                    `json:"value"`
		Cardinality []ThresholdCardinality `json:"cardinality"`
	}
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	t.RawField, t.Value, t.Cardinality = p.Field, p.Value, p.Cardinality
	return nil
}

// normalize turns RawField into Field, as Kibana normalises threshold.field.
func (t *Threshold) normalize() error {
	t.Field = nil
	switch f := t.RawField.(type) {
	case nil:
	case string:
		if f != "" {
			t.Field = []string{f}
		}
	case []any:
		for i, x := range f {
			s, ok := x.(string)
			if !ok {
				return fmt.Errorf("threshold.field.%d: Expected string, received %s", i, zodType(x))
			}
			t.Field = append(t.Field, s)
		}
	case []string:
		t.Field = append(t.Field, f...)
	default:
		return fmt.Errorf("threshold.field: Expected string | array, received %s", zodType(f))
	}
	return nil
}

// zodType names a decoded value's type as Kibana's schema messages do.
func zodType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case nil:
		return "null"
	}
	return "number"
}

// validate checks the threshold as Kibana's rule schema does.
func (t *Threshold) validate() []string {
	var errs []string
	if err := t.normalize(); err != nil {
		errs = append(errs, err.Error())
	}
	for i, f := range t.Field {
		if strings.TrimSpace(f) == "" {
			errs = append(errs, fmt.Sprintf("threshold.field.%d: String must contain at least 1 character(s)", i))
		}
	}
	if t.Value < 1 {
		errs = append(errs, "threshold.value: Number must be greater than or equal to 1")
	}
	for i, c := range t.Cardinality {
		if strings.TrimSpace(c.Field) == "" {
			errs = append(errs, fmt.Sprintf("threshold.cardinality.%d.field: String must contain at least 1 character(s)", i))
		}
		if c.Value < 0 {
			errs = append(errs, fmt.Sprintf("threshold.cardinality.%d.value: Number must be greater than or equal to 0", i))
		}
	}
	return errs
}

// MaxNewTermsFields is the most new_terms_fields Kibana's rule schema accepts.
const MaxNewTermsFields = 3

// NewTermsTOML is detection-rules' layout of a new-terms rule's parameters:
// [rule.new_terms] field = "new_terms_fields", value = [...], and
// [[rule.new_terms.history_window_start]] field = "history_window_start", value = "now-7d".
type NewTermsTOML struct {
	Field              string   `toml:"field"`
	Value              []string `toml:"value"`
	HistoryWindowStart []struct {
		Field string `toml:"field"`
		Value string `toml:"value"`
	} `toml:"history_window_start"`
}

// ThreatMapping is an entry of threat_mapping: its entries must all match (AND); the
// entries of threat_mapping are alternatives (OR).
type ThreatMapping struct {
	Entries []ThreatMappingEntry `json:"entries" toml:"entries"`
}

// ThreatMappingEntry maps an event field (Field) to an indicator field (Value).
type ThreatMappingEntry struct {
	Field string `json:"field" toml:"field"`
	Type  string `json:"type" toml:"type"`
	Value string `json:"value" toml:"value"`
}

// IsThreshold reports whether the rule is a threshold rule in KQL or Lucene.
func (r *Rule) IsThreshold() bool {
	return r.Type == "threshold" && (r.Language == "kuery" || r.Language == "lucene")
}

// IsNewTerms reports whether the rule is a new-terms rule in KQL or Lucene.
func (r *Rule) IsNewTerms() bool {
	return r.Type == "new_terms" && (r.Language == "kuery" || r.Language == "lucene")
}

// IsThreatMatch reports whether the rule is an indicator-match rule whose query and threat
// query are KQL or Lucene.
func (r *Rule) IsThreatMatch() bool {
	return r.Type == "threat_match" && (r.Language == "kuery" || r.Language == "lucene") &&
		(r.ThreatLanguage == "" || r.ThreatLanguage == "kuery" || r.ThreatLanguage == "lucene")
}

// validateTypeParams checks the parameters of threshold, new-terms and indicator-match
// rules as Kibana's schema does (its wording), each message prefixed with the key's path.
func (r *Rule) validateTypeParams() []string {
	var errs []string
	switch r.Type {
	case "threshold":
		if r.Threshold == nil {
			return []string{"threshold: Required"}
		}
		errs = append(errs, r.Threshold.validate()...)
	case "new_terms":
		switch n := len(r.NewTermsFields); {
		case n < 1:
			errs = append(errs, "new_terms_fields: Array must contain at least 1 element(s)")
		case n > MaxNewTermsFields:
			errs = append(errs, fmt.Sprintf("new_terms_fields: Array must contain at most %d element(s)", MaxNewTermsFields))
		}
		for i, f := range r.NewTermsFields {
			if strings.TrimSpace(f) == "" {
				errs = append(errs, fmt.Sprintf("new_terms_fields.%d: String must contain at least 1 character(s)", i))
			}
		}
		if r.HistoryWindowStart == "" {
			errs = append(errs, "history_window_start: String must contain at least 1 character(s)")
		} else if err := validateHistoryWindow(r.HistoryWindowStart, r.From); err != nil {
			errs = append(errs, err.Error())
		}
	case "threat_match":
		if len(r.ThreatIndex) == 0 {
			errs = append(errs, "threat_index: Required")
		}
		if len(r.ThreatMapping) == 0 {
			errs = append(errs, "threat_mapping: Array must contain at least 1 element(s)")
		}
		for i, m := range r.ThreatMapping {
			if len(m.Entries) == 0 {
				errs = append(errs, fmt.Sprintf("threat_mapping.%d.entries: Array must contain at least 1 element(s)", i))
			}
			for j, e := range m.Entries {
				p := fmt.Sprintf("threat_mapping.%d.entries.%d", i, j)
				if strings.TrimSpace(e.Field) == "" {
					errs = append(errs, p+".field: String must contain at least 1 character(s)")
				}
				if strings.TrimSpace(e.Value) == "" {
					errs = append(errs, p+".value: String must contain at least 1 character(s)")
				}
				if e.Type != "mapping" {
					errs = append(errs, fmt.Sprintf("%s.type: Invalid enum value. Expected 'mapping', received '%s'", p, e.Type))
				}
			}
		}
		if l := r.ThreatLanguage; l != "" && l != "kuery" && l != "lucene" {
			errs = append(errs, fmt.Sprintf("threat_language: Invalid enum value. Expected 'kuery' | 'lucene', received '%s'", l))
		}
	}
	return errs
}

// validateHistoryWindow checks, as Kibana's new-terms executor does, that the history
// window starts before the rule's look-back.
func validateHistoryWindow(start, from string) error {
	h, err1 := Lookback(start)
	f, err2 := Lookback(from)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("history_window_start: Failed to parse 'historyWindowStart' or 'from' (%q, %q)", start, from)
	}
	if h <= f {
		return fmt.Errorf("history_window_start: History window size is smaller than rule interval + additional lookback, 'historyWindowStart' must be earlier than 'from'")
	}
	return nil
}

// Lookback reads relative date math of the form now-<n><unit> (units s, m, h, H, d, w),
// as rules write from and history_window_start, and returns how far before now it is.
// "now" is 0. Rounding (/d) and calendar units (M, y) are refused: their length depends
// on the date.
func Lookback(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "now")
	if !ok {
		return 0, fmt.Errorf("%q is not date math relative to now", s)
	}
	if rest == "" {
		return 0, nil
	}
	if rest[0] != '-' || len(rest) < 3 {
		return 0, fmt.Errorf("%q: expected now-<number><unit>", s)
	}
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'H': time.Hour,
		'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	unit, ok := units[rest[len(rest)-1]]
	if !ok {
		return 0, fmt.Errorf("%q: unit %q is not one of s, m, h, d, w", s, rest[len(rest)-1:])
	}
	n, err := strconv.Atoi(rest[1 : len(rest)-1])
	if err != nil || n < 0 || int64(n) > int64(1<<62)/int64(unit) {
		return 0, fmt.Errorf("%q: expected now-<number><unit>", s)
	}
	return time.Duration(n) * unit, nil
}

// fromTOMLNewTerms moves detection-rules' [rule.new_terms] table into NewTermsFields and
// HistoryWindowStart, the fields of Kibana's rule object.
func (r *Rule) fromTOMLNewTerms() {
	nt := r.NewTerms
	if nt == nil {
		return
	}
	r.NewTerms = nil
	if nt.Field == "new_terms_fields" {
		r.NewTermsFields = nt.Value
	}
	for _, h := range nt.HistoryWindowStart {
		if h.Field == "history_window_start" {
			r.HistoryWindowStart = h.Value
		}
	}
}
