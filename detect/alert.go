package detect

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tripline/tripline/rule"
)

// AlertKind says what an alert stands for.
type AlertKind uint8

// Alert kinds.
const (
	// EventAlert is the alert of one event matched by an event query.
	EventAlert AlertKind = iota
	// ShellAlert is the alert that stands for a whole sequence (or sample).
	ShellAlert
	// BuildingBlockAlert is the alert of one event of a sequence, linked to its shell by
	// kibana.alert.group.id.
	BuildingBlockAlert
)

// String returns "event", "shell" or "building_block".
func (k AlertKind) String() string {
	switch k {
	case ShellAlert:
		return "shell"
	case BuildingBlockAlert:
		return "building_block"
	}
	return "event"
}

// Alert is one alert document.
type Alert struct {
	// ID is kibana.alert.uuid, which Kibana also uses as the document _id.
	ID string
	// Kind says whether the alert is an event alert, a sequence shell or a building block.
	Kind AlertKind
	// Rule is the rule that raised the alert.
	Rule *rule.Rule
	// Doc is the alert document (JSON object; keys in sorted order).
	Doc json.RawMessage
}

// Index returns the alerts index Kibana writes the alert to for a space.
func AlertsIndex(space string) string { return ".alerts-security.alerts-" + space }

// matchedEvent is one event of a match, as the alert builder needs it.
type matchedEvent struct {
	id, index string
	src       document
}

// ancestor is one entry of kibana.alert.ancestors.
type ancestor struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Index string `json:"index"`
	Depth int    `json:"depth"`
	Rule  string `json:"rule,omitempty"`
}

// ruleInfo is what the builder computes once per rule.
type ruleInfo struct {
	r    *rule.Rule
	uuid string
	kind kindMeta
	// overridePath is the rule's timestamp_override split at its dots (executionTime).
	overridePath []string

	// fields are the kibana.alert.rule.* and other per-rule alert fields. They are built
	// at the rule's first alert (builder.ruleFields), not when the rule is loaded: most
	// rules of a large set never alert in a run, and building them all took a tenth of
	// the start-up time with the 1,024-rule corpus.
	fieldsOnce sync.Once
	fields     document
	encoded    []encodedField // fields, encoded (sorted by key)
	encodeErr  error
}

// builder makes alert documents; one per Detector.
type builder struct {
	space    string
	now      string // @timestamp of every alert, ISO ms
	url      string // Kibana base URL, "" for none
	version  string // kibana.version
	alertIdx string
	// fit returns the alerts index's mapping as source values are checked against it (see
	// fit.go), built at the first alert; nil (or a nil result) checks no field types.
	fit func() *fitTree
}

// fitTree returns the tree source values are checked against, nil for none.
func (b *builder) fitTree() *fitTree {
	if b.fit == nil {
		return nil
	}
	return b.fit()
}

func sha256Hex(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// uuidFrom formats the first 16 bytes of sha256(parts) as a version-4-shaped UUID.
func uuidFrom(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// newRuleInfo returns the per-rule alert state of r; its alert fields are built on first
// use, by ruleFields.
func (b *builder) newRuleInfo(r *rule.Rule, k ruleKind) *ruleInfo {
	ri := &ruleInfo{r: r, uuid: r.UUID(), kind: k.meta()}
	if f := r.TimestampOverride; f != "" && f != "@timestamp" {
		ri.overridePath = strings.Split(f, ".")
	}
	return ri
}

// ruleFields returns the rule's alert fields, building them at the first call (calls may
// come from several goroutines), and the same encoded. They are the bulk of every alert of
// the rule; alert documents are built without them and encoded with them (finish).
func (b *builder) ruleFields(ri *ruleInfo) (document, []encodedField, error) {
	ri.fieldsOnce.Do(func() {
		ri.fields = b.newRuleFields(ri)
		ri.encoded, ri.encodeErr = encodeFields(ri.fields)
	})
	return ri.fields, ri.encoded, ri.encodeErr
}

// newRuleFields computes the per-rule alert fields.
func (b *builder) newRuleFields(ri *ruleInfo) document {
	r := ri.r
	execUUID := uuidFrom("execution", b.now, ri.uuid)
	version := r.Version
	if version == 0 {
		version = 1 // Kibana's default when a rule is created without one
	}
	list := func(xs []string) []any {
		out := make([]any, len(xs))
		for i, x := range xs {
			out[i] = x
		}
		return out
	}
	// asJSON is v as a decoded JSON value (what the encoder writes).
	asJSON := func(v any) any {
		var out any
		raw, _ := json.Marshal(v)
		_ = json.Unmarshal(raw, &out)
		return out
	}
	threat := []any{}
	if len(r.Threat) > 0 {
		threat = asJSON(r.Threat).([]any)
	}
	related, required := []any{}, []any{}
	if len(r.RelatedIntegrations) > 0 {
		related = asJSON(r.RelatedIntegrations).([]any)
	}
	if len(r.RequiredFields) > 0 {
		required = asJSON(r.RequiredFields).([]any)
	}
	// rule_source as Kibana 8.18 to 9.1 write it, unless a Kibana export gave the rule's own.
	ruleSource := r.RuleSource
	if ruleSource == nil {
		ruleSource = document{"type": "internal"}
		if r.Immutable {
			ruleSource = document{"type": "external", "is_customized": false}
		}
	}
	// The rule's dates and users. Where the rule does not say (a TOML file without
	// [metadata] dates, and every TOML file for the users), the rule is taken to have been
	// created when the alerts are, by "elastic": the user Kibana's own rule API reports for
	// a rule without one, and the superuser that installs prebuilt rules on a default stack.
	created := isoOr(r.CreatedAt, b.now)
	updated := isoOr(r.UpdatedAt, created)
	createdBy := cmp.Or(r.CreatedBy, "elastic")
	updatedBy := cmp.Or(r.UpdatedBy, createdBy)

	params := document{
		"author": list(r.Author), "description": r.Description, "false_positives": list(r.FalsePositives),
		"from": r.From, "to": r.To, "rule_id": r.RuleID, "max_signals": r.MaxSignals,
		"risk_score": r.RiskScore, "risk_score_mapping": []any{}, "severity": r.Severity,
		"severity_mapping": []any{}, "threat": threat, "references": list(r.References),
		"version": version, "exceptions_list": []any{}, "immutable": r.Immutable, "rule_source": ruleSource,
		"related_integrations": related, "required_fields": required, "setup": r.Setup,
		"type": ri.kind.ruleType, "language": ri.kind.language, "index": list(r.Index), "query": r.Query,
		"license": r.License,
	}
	opt := func(key, v string) {
		if v != "" {
			params[key] = v
		}
	}
	opt("note", r.Note)
	opt("timeline_id", r.TimelineID)
	opt("timeline_title", r.TimelineTitle)
	opt("event_category_override", r.EventCategoryOverride)
	opt("timestamp_field", r.TimestampField)
	opt("tiebreaker_field", r.TiebreakerField)
	opt("timestamp_override", r.TimestampOverride)
	opt("building_block_type", r.BuildingBlockType)
	if len(r.Filters) > 0 {
		params["filters"] = asJSON(r.Filters)
	}
	if s := r.AlertSuppression; s != nil {
		sup := document{"group_by": list(s.GroupBy), "missing_fields_strategy": s.Strategy()}
		if r.IsThreshold() {
			sup = document{} // a threshold rule's has a duration only
		}
		if s.Duration != nil {
			sup["duration"] = document{"value": s.Duration.Value, "unit": s.Duration.Unit}
		}
		params["alert_suppression"] = sup
	}
	if th := r.Threshold; th != nil {
		t := document{"field": list(th.Field), "value": th.Value}
		if len(th.Cardinality) > 0 {
			t["cardinality"] = asJSON(th.Cardinality)
		}
		params["threshold"] = t
	}
	if len(r.ThreatMapping) > 0 {
		params["threat_index"] = list(r.ThreatIndex)
		params["threat_query"] = r.ThreatQuery
		params["threat_language"] = cmp.Or(r.ThreatLanguage, "kuery")
		params["threat_mapping"] = asJSON(r.ThreatMapping)
		params["threat_indicator_path"] = cmp.Or(r.ThreatIndicatorPath, "threat.indicator")
		if len(r.ThreatFilters) > 0 {
			params["threat_filters"] = asJSON(r.ThreatFilters)
		}
	}
	if len(r.NewTermsFields) > 0 {
		params["new_terms_fields"] = list(r.NewTermsFields)
		params["history_window_start"] = r.HistoryWindowStart
	}
	if r.InvestigationFields != nil {
		params["investigation_fields"] = document{"field_names": list(r.InvestigationFields.FieldNames)}
	}

	f := document{
		"kibana.alert.rule.uuid":                ri.uuid,
		"kibana.alert.rule.rule_id":             r.RuleID,
		"kibana.alert.rule.name":                r.Name,
		"kibana.alert.rule.description":         r.Description,
		"kibana.alert.rule.author":              list(r.Author),
		"kibana.alert.rule.license":             r.License,
		"kibana.alert.rule.references":          list(r.References),
		"kibana.alert.rule.false_positives":     list(r.FalsePositives),
		"kibana.alert.rule.tags":                list(r.Tags),
		"kibana.alert.rule.threat":              threat,
		"kibana.alert.rule.severity_mapping":    []any{},
		"kibana.alert.rule.risk_score_mapping":  []any{},
		"kibana.alert.rule.exceptions_list":     []any{},
		"kibana.alert.rule.type":                ri.kind.ruleType,
		"kibana.alert.rule.rule_type_id":        ri.kind.typeID,
		"kibana.alert.rule.category":            ri.kind.category,
		"kibana.alert.rule.consumer":            "siem",
		"kibana.alert.rule.producer":            "siem",
		"kibana.alert.rule.from":                r.From,
		"kibana.alert.rule.to":                  r.To,
		"kibana.alert.rule.interval":            r.Interval,
		"kibana.alert.rule.max_signals":         r.MaxSignals,
		"kibana.alert.rule.indices":             list(r.IndexPatterns()),
		"kibana.alert.rule.enabled":             r.Enabled,
		"kibana.alert.rule.immutable":           r.Immutable,
		"kibana.alert.rule.created_at":          created,
		"kibana.alert.rule.created_by":          createdBy,
		"kibana.alert.rule.updated_at":          updated,
		"kibana.alert.rule.updated_by":          updatedBy,
		"kibana.alert.rule.version":             version,
		"kibana.alert.rule.revision":            0,
		"kibana.alert.rule.actions":             []any{},
		"kibana.alert.rule.parameters":          params,
		"kibana.alert.rule.execution.uuid":      execUUID,
		"kibana.alert.rule.execution.type":      "scheduled",
		"kibana.alert.rule.execution.timestamp": b.now,
		"kibana.alert.severity":                 r.Severity,
		"kibana.alert.risk_score":               r.RiskScore,
		"kibana.alert.status":                   "active",
		"kibana.alert.workflow_status":          "open",
		"kibana.alert.workflow_tags":            []any{},
		"kibana.alert.workflow_assignee_ids":    []any{},
		"kibana.alert.start":                    b.now,
		"kibana.alert.last_detected":            b.now,
		"kibana.alert.intended_timestamp":       b.now,
		"kibana.space_ids":                      []any{b.space},
		"@timestamp":                            b.now,
		// Kibana writes event.kind as a dotted key beside the source's event object, from
		// which it removes kind (baseAlert).
		"event.kind": "signal",
	}
	if r.Note != "" {
		f["kibana.alert.rule.note"] = r.Note
	}
	if r.TimelineID != "" {
		f["kibana.alert.rule.timeline_id"] = r.TimelineID
	}
	if r.TimelineTitle != "" {
		f["kibana.alert.rule.timeline_title"] = r.TimelineTitle
	}
	if r.TimestampOverride != "" {
		f["kibana.alert.rule.timestamp_override"] = r.TimestampOverride
	}
	if b.version != "" {
		f["kibana.version"] = b.version
	}
	return f
}

// isoOr returns the RFC 3339 time s in Kibana's form (UTC, milliseconds), or def when s is
// empty or not a time.
func isoOr(s, def string) string {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return isoMillis(t)
	}
	return def
}

// baseAlert builds the alert document of one event, as Kibana's transformHitToAlert does:
// the reason and original time from the event as it is, then its source with what the
// alerts index cannot take removed (fitTree.fitSource), its event.* and data_stream.*
// fields copied to kibana.alert.original_event.* and .original_data_stream.*, and event.kind
// removed from its event object. The rule's alert fields (event.kind "signal" among them),
// which replace the source's fields of the same names, are added when it is encoded
// (finish).
func (b *builder) baseAlert(ri *ruleInfo, ev matchedEvent) document {
	fields, _, _ := b.ruleFields(ri)
	doc := make(document, len(ev.src)+16)
	for k, v := range ev.src {
		doc[k] = v
	}
	b.fitTree().fitSource(doc)
	copySubtree(doc, doc, "event", "kibana.alert.original_event")
	copySubtree(doc, doc, "data_stream", "kibana.alert.original_data_stream")
	// kind leaves a copy of the event object, not the shared source; Kibana leaves a null
	// kind, and the object even when kind was all it had.
	if e, ok := doc["event"].(map[string]any); ok && e["kind"] != nil {
		c := make(map[string]any, len(e))
		for k, v := range e {
			if k != "kind" {
				c[k] = v
			}
		}
		doc["event"] = c
	}
	for k := range fields {
		delete(doc, k)
	}
	if ts, ok := lookup(ev.src, "@timestamp"); ok {
		if t, ok := parseTime(ts); ok {
			doc["kibana.alert.original_time"] = isoMillis(t)
		}
	}
	doc["kibana.alert.reason"] = reason(ev.src, ri.r.Severity, ri.r.Name)
	if ri.r.BuildingBlockType != "" {
		doc["kibana.alert.building_block_type"] = ri.r.BuildingBlockType
	}
	return doc
}

func (b *builder) alertURL(id string) string {
	if b.url == "" {
		return ""
	}
	base := strings.TrimSuffix(b.url, "/")
	if b.space != "" && b.space != "default" {
		base += "/s/" + b.space
	}
	return base + "/app/security/alerts/redirect/" + id + "?index=" + b.alertIdx + "&timestamp=" + b.now
}

// finish sets an alert document's id and URL and encodes it with the rule's alert fields.
func (b *builder) finish(ri *ruleInfo, kind AlertKind, id string, doc document) (Alert, error) {
	doc["kibana.alert.uuid"] = id
	if u := b.alertURL(id); u != "" {
		doc["kibana.alert.url"] = u
	}
	_, encoded, err := b.ruleFields(ri)
	if err != nil {
		return Alert{}, err
	}
	size := 64 * len(doc) // a guess at the document's own part
	for _, f := range encoded {
		size += len(f.json) + 1
	}
	raw, err := appendObjectWith(make([]byte, 0, size), doc, encoded)
	if err != nil {
		return Alert{}, err
	}
	return Alert{ID: id, Kind: kind, Rule: ri.r, Doc: raw}, nil
}

// eventAlert builds the alert of one event matched by an event query. Its id is
// sha256(index + _id + "undefined" (EQL hits have no _version) + space + ":" + rule uuid).
func (b *builder) eventAlert(ri *ruleInfo, ev matchedEvent) (Alert, error) {
	doc := b.baseAlert(ri, ev)
	doc["kibana.alert.depth"] = 1
	doc["kibana.alert.ancestors"] = []ancestor{{ID: ev.id, Type: "event", Index: ev.index, Depth: 0}}
	id := sha256Hex(ev.index, ev.id, "undefined", b.space, ":", ri.uuid)
	return b.finish(ri, EventAlert, id, doc)
}

// sequenceAlerts builds the alerts of one sequence: the shell first, then one building block
// per present event (missing-event placeholders, nil in events, get none), as Kibana's
// buildAlertGroupFromSequence does.
func (b *builder) sequenceAlerts(ri *ruleInfo, events []*matchedEvent) ([]Alert, error) {
	var present []*matchedEvent
	for _, ev := range events {
		if ev != nil {
			present = append(present, ev)
		}
	}
	if len(present) == 0 {
		return nil, nil
	}
	// Building-block ids: sha256(base + i), base = for each event: _id + _index + rule uuid.
	var base strings.Builder
	for _, ev := range present {
		base.WriteString(ev.id)
		base.WriteString(ev.index)
		base.WriteString(ri.uuid)
	}
	// The building blocks as Kibana intersects them for the shell: alerts of their events,
	// without the fields that make them building blocks, added after the intersection.
	bbDocs := make([]document, len(present))
	bbIDs := make([]string, len(present))
	for i, ev := range present {
		doc := b.baseAlert(ri, *ev)
		doc["kibana.alert.depth"] = 1
		doc["kibana.alert.ancestors"] = []ancestor{{ID: ev.id, Type: "event", Index: ev.index, Depth: 0}}
		bbIDs[i] = sha256Hex(base.String(), strconv.Itoa(i))
		doc["kibana.alert.uuid"] = bbIDs[i]
		bbDocs[i] = doc
	}
	// Shell ancestors: each event, then its building block; the id hashes them all.
	var anc []ancestor
	var idsrc strings.Builder
	for i, ev := range present {
		anc = append(anc,
			ancestor{ID: ev.id, Type: "event", Index: ev.index, Depth: 0},
			ancestor{ID: bbIDs[i], Type: "signal", Index: "", Depth: 1, Rule: ri.uuid})
		idsrc.WriteString(ev.id + ev.index + bbIDs[i])
	}
	idsrc.WriteString(ri.uuid)
	shellID := sha256Hex(idsrc.String())

	// The shell's source is the intersection of the building blocks (JSON round trip so
	// that both sides compare as decoded JSON), then the shell's own alert fields. The
	// rule's alert fields (most of each document's size) are the same in every building
	// block and added to the shell when it is encoded, and reason reads none of them: they
	// are not in the building blocks' documents (see baseAlert), so not in the round trip
	// and the intersection.
	fields, _, _ := b.ruleFields(ri)
	norm := make([]document, len(bbDocs))
	var raw []byte
	for i, d := range bbDocs {
		var err error
		if raw, err = appendJSON(raw[:0], d); err != nil {
			return nil, err
		}
		if norm[i], err = parseDocument(raw); err != nil {
			return nil, err
		}
	}
	merged := intersect(norm)
	shell := make(document, len(merged)+8)
	for k, v := range merged {
		shell[k] = v
	}
	for k := range fields {
		delete(shell, k)
	}
	if ri.r.BuildingBlockType != "" {
		shell["kibana.alert.building_block_type"] = ri.r.BuildingBlockType
	} else {
		delete(shell, "kibana.alert.building_block_type")
	}
	// Kibana reads the shell's original time from its first building block's @timestamp,
	// which is that alert's creation time.
	shell["kibana.alert.original_time"] = b.now
	shell["kibana.alert.depth"] = 2
	shell["kibana.alert.ancestors"] = anc
	shell["kibana.alert.reason"] = reason(merged, ri.r.Severity, ri.r.Name)
	shell["kibana.alert.group.id"] = shellID
	for i, doc := range bbDocs {
		doc["kibana.alert.building_block_type"] = "default"
		doc["kibana.alert.group.id"] = shellID
		doc["kibana.alert.group.index"] = i
	}

	out := make([]Alert, 0, len(present)+1)
	a, err := b.finish(ri, ShellAlert, shellID, shell)
	if err != nil {
		return nil, err
	}
	out = append(out, a)
	for i, doc := range bbDocs {
		a, err := b.finish(ri, BuildingBlockAlert, bbIDs[i], doc)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
