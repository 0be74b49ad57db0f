package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tripline/tripline/event"
)

// Field is what a mapping says about one field path.
type Field struct {
	// Path is the path asked for; Source is the _source path holding its values (the
	// alias target for an alias, the parent field for a multi-field such as
	// "file_name.keyword").
	Path   string
	Source string
	// Type is the field's type (the target's type for an alias; Dynamic if unmapped).
	Type Type
	// Format is a date field's format ("" means the default,
	// strict_date_optional_time||epoch_millis).
	Format string
	// NullValue is the mapping's null_value, which replaces an explicit JSON null.
	NullValue *event.Value
	// IgnoreAbove: keyword strings longer than this many characters are not indexed
	// (0: no limit).
	IgnoreAbove int
	// ScalingFactor of a scaled_float.
	ScalingFactor float64
	// Value of a constant_keyword: every document of the index has it.
	Value string
	// Exact is, for a text field, the keyword-like multi-field EQL compares on (nil if
	// the text field has none).
	Exact *Field
	// Runtime marks a runtime field (its values come from a script, not _source).
	Runtime bool
	// Detect is, for a Dynamic field of a mapping, how the mapping maps its values (nil:
	// Tripline's dynamic mapping without a mapping; see Concrete).
	Detect *Detection
	// Normalizer is a keyword field's normalizer ("lowercase" for Elastic Defend's
	// .caseless multi-fields; "" for none), which query values pass through too.
	Normalizer string
	// Analyzer is a text field's analyzer ("" means standard), and SearchAnalyzer the
	// one its queries use ("" means Analyzer).
	Analyzer, SearchAnalyzer string
}

// Mapping is a parsed Elasticsearch mapping: every declared field by full dotted path,
// multi-fields included ("hostname.keyword"), and what it does with the fields it does
// not declare (dynamic, dynamic_templates, date_detection, ...). It is read-only once
// parsed.
type Mapping struct {
	fields map[string]*def
	set    settings
}

// def is a declared field before alias resolution.
type def struct {
	typ         Type
	typeName    string
	path        string // alias target
	parent      string // the field a multi-field belongs to
	format      string
	nullValue   *event.Value
	ignoreAbove int
	scaling     float64
	value       string
	subs        []string // multi-field paths, sorted
	runtime     bool
	// An object's dynamic parameter (when dynamicSet), and enabled: false (disabled).
	dynamic    DynamicMode
	dynamicSet bool
	disabled   bool
	// normalizer, analyzer and searchAnalyzer of keyword and text fields.
	normalizer, analyzer, searchAnalyzer string
}

type rawField struct {
	Type           string              `json:"type"`
	Path           string              `json:"path"`
	Properties     map[string]rawField `json:"properties"`
	Fields         map[string]rawField `json:"fields"`
	NullValue      json.RawMessage     `json:"null_value"`
	Format         string              `json:"format"`
	IgnoreAbove    int                 `json:"ignore_above"`
	ScalingFactor  float64             `json:"scaling_factor"`
	Value          json.RawMessage     `json:"value"`
	Dynamic        json.RawMessage     `json:"dynamic"`
	Enabled        *bool               `json:"enabled"`
	Normalizer     string              `json:"normalizer"`
	Analyzer       string              `json:"analyzer"`
	SearchAnalyzer string              `json:"search_analyzer"`
}

type rawMapping struct {
	Properties         map[string]rawField `json:"properties"`
	Runtime            map[string]rawField `json:"runtime"`
	Dynamic            json.RawMessage     `json:"dynamic"`
	DateDetection      *bool               `json:"date_detection"`
	NumericDetection   *bool               `json:"numeric_detection"`
	DynamicDateFormats []string            `json:"dynamic_date_formats"`
	DynamicTemplates   json.RawMessage     `json:"dynamic_templates"`
}

// Parse reads a mapping in any of the forms Elasticsearch uses: {"properties":...}
// (with "runtime" fields too), {"mappings":{"properties":...}} as in an index creation
// request, and {"index-name":{"mappings":...},...} as GET /_mapping returns (all indices
// merged).
func Parse(data []byte) (*Mapping, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, jsonError(data, err)
	}
	m := &Mapping{fields: map[string]*def{}}
	if err := m.parseTop(data, top, 0); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Mapping) parseTop(data []byte, top map[string]json.RawMessage, level int) error {
	if isMapping(top) {
		var rm rawMapping
		var all []byte
		all, _ = json.Marshal(top)
		if err := json.Unmarshal(all, &rm); err != nil {
			return fmt.Errorf("mapping: %w", err)
		}
		if err := m.set.parse(&rm); err != nil {
			return fmt.Errorf("mapping: %w", err)
		}
		for name, f := range rm.Properties {
			if err := m.add(name, f, false); err != nil {
				return err
			}
		}
		for name, f := range rm.Runtime {
			if err := m.add(name, f, true); err != nil {
				return err
			}
		}
		return nil
	}
	if inner, ok := top["mappings"]; ok {
		var t map[string]json.RawMessage
		if err := json.Unmarshal(inner, &t); err != nil {
			return fmt.Errorf("mapping: \"mappings\": %w", err)
		}
		return m.parseTop(data, t, level+1)
	}
	if level == 0 && len(top) > 0 {
		// {"index-name":{"mappings":...},...}
		names := make([]string, 0, len(top))
		for k := range top {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			var t map[string]json.RawMessage
			if err := json.Unmarshal(top[k], &t); err != nil || t["mappings"] == nil {
				return fmt.Errorf("mapping: no \"properties\" or \"mappings\" at the top, and %q is not an index's mapping", k)
			}
			sub := &Mapping{fields: map[string]*def{}}
			if err := sub.parseTop(data, t, 1); err != nil {
				return fmt.Errorf("mapping of index %q: %w", k, err)
			}
			merged, err := Merge(m, sub)
			if err != nil {
				return err
			}
			m.fields, m.set = merged.fields, merged.set
		}
		return nil
	}
	return errors.New("mapping: no \"properties\" found")
}

// isMapping reports whether top is a mapping itself rather than a wrapper of mappings.
func isMapping(top map[string]json.RawMessage) bool {
	for _, k := range []string{"properties", "runtime", "dynamic", "dynamic_templates", "date_detection",
		"numeric_detection", "dynamic_date_formats"} {
		if _, ok := top[k]; ok {
			return true
		}
	}
	return false
}

// parse reads the root parameters for undeclared fields.
func (s *settings) parse(rm *rawMapping) error {
	if len(rm.Dynamic) > 0 {
		d, err := parseDynamic(rm.Dynamic)
		if err != nil {
			return err
		}
		s.dynamic, s.dynamicSet = d, true
	}
	if rm.DateDetection != nil {
		s.dateDetection, s.dateDetectionSet = *rm.DateDetection, true
	}
	if rm.NumericDetection != nil {
		s.numericDetection, s.numericDetectionSet = *rm.NumericDetection, true
	}
	if rm.DynamicDateFormats != nil {
		s.dateFormats, s.dateFormatsSet = strings.Join(rm.DynamicDateFormats, "||"), true
	}
	if len(rm.DynamicTemplates) > 0 && string(rm.DynamicTemplates) != "null" {
		ts, err := parseTemplates(rm.DynamicTemplates)
		if err != nil {
			return err
		}
		s.templates = ts
	}
	return nil
}

// merge sets in s the parameters o gives; o's dynamic templates replace those of s with
// the same name and follow the others.
func (s *settings) merge(o *settings) {
	if o.dynamicSet {
		s.dynamic, s.dynamicSet = o.dynamic, true
	}
	if o.dateDetectionSet {
		s.dateDetection, s.dateDetectionSet = o.dateDetection, true
	}
	if o.numericDetectionSet {
		s.numericDetection, s.numericDetectionSet = o.numericDetection, true
	}
	if o.dateFormatsSet {
		s.dateFormats, s.dateFormatsSet = o.dateFormats, true
	}
	ts := append([]template(nil), s.templates...)
next:
	for _, t := range o.templates {
		for i := range ts {
			if ts[i].name == t.name {
				ts[i] = t
				continue next
			}
		}
		ts = append(ts, t)
	}
	s.templates = ts
}

func (m *Mapping) add(path string, f rawField, runtime bool) error {
	d := &def{typ: ParseType(f.Type), typeName: f.Type, path: f.Path, format: f.Format,
		ignoreAbove: f.IgnoreAbove, scaling: f.ScalingFactor, runtime: runtime,
		normalizer: f.Normalizer, analyzer: f.Analyzer, searchAnalyzer: f.SearchAnalyzer}
	if f.Type == "" && f.Properties != nil {
		d.typ, d.typeName = Object, "object"
	}
	if f.Type == "" && (len(f.Dynamic) > 0 || f.Enabled != nil) {
		d.typ, d.typeName = Object, "object"
	}
	if len(f.Dynamic) > 0 {
		dm, err := parseDynamic(f.Dynamic)
		if err != nil {
			return fmt.Errorf("mapping: field %q: %v", path, err)
		}
		d.dynamic, d.dynamicSet = dm, true
	}
	d.disabled = f.Enabled != nil && !*f.Enabled
	if d.typ == Alias && f.Path == "" {
		return fmt.Errorf("mapping: field %q: alias without a path", path)
	}
	if len(f.NullValue) > 0 && string(f.NullValue) != "null" {
		v, err := jsonValue(f.NullValue)
		if err != nil {
			return fmt.Errorf("mapping: field %q: null_value: %v", path, err)
		}
		d.nullValue = &v
	}
	if len(f.Value) > 0 && string(f.Value) != "null" {
		v, err := jsonValue(f.Value)
		if err != nil {
			return fmt.Errorf("mapping: field %q: value: %v", path, err)
		}
		d.value = v.Str
	}
	m.fields[path] = d
	for name, p := range f.Properties {
		if err := m.add(path+"."+name, p, runtime); err != nil {
			return err
		}
	}
	for name, sf := range f.Fields {
		sp := path + "." + name
		if err := m.add(sp, sf, runtime); err != nil {
			return err
		}
		m.fields[sp].parent = path
		d.subs = append(d.subs, sp)
	}
	sort.Strings(d.subs)
	return nil
}

// jsonValue turns a JSON scalar from a mapping into a Value (a number keeps its text).
func jsonValue(raw json.RawMessage) (event.Value, error) {
	f := event.NewFields()
	s := f.Add("v")
	var ev event.Event
	doc := append([]byte(`{"v":`), raw...)
	doc = append(doc, '}')
	if err := event.NewDecoder(f).Decode(doc, &ev); err != nil {
		return event.Value{}, err
	}
	vs := ev.Values(s)
	if len(vs) != 1 {
		return event.Value{}, fmt.Errorf("not a single scalar: %s", raw)
	}
	return ev.Clone().Values(s)[0], nil
}

// jsonError adds the line and column to a JSON syntax error.
func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := max(int(se.Offset)-1, 0) // Offset counts the bad byte
		line := 1 + bytes.Count(data[:off], []byte("\n"))
		col := off - bytes.LastIndexByte(data[:off], '\n')
		return fmt.Errorf("mapping: %d:%d: %v", line, col, err)
	}
	return fmt.Errorf("mapping: %w", err)
}

// Merge returns the union of the mappings (nil ones are skipped; the result is nil if
// all are). A path declared with different types in two mappings is an error, except
// that a date field with two formats parses with either (as each index's own format
// would). The parameters for undeclared fields (dynamic, date_detection, ...) are those
// of the last mapping that gives each; dynamic templates of later mappings replace the
// earlier ones of the same name and follow the others.
func Merge(ms ...*Mapping) (*Mapping, error) {
	var out *Mapping
	for _, m := range ms {
		if m == nil {
			continue
		}
		if out == nil {
			out = &Mapping{fields: map[string]*def{}}
		}
		for p, d := range m.fields {
			old, ok := out.fields[p]
			if !ok {
				out.fields[p] = d
				continue
			}
			if old.typ != d.typ || old.typeName != d.typeName || old.path != d.path {
				return nil, fmt.Errorf("mapping: field %q is %s in one mapping and %s in another",
					p, describe(old), describe(d))
			}
			nd := *d
			if !nd.dynamicSet && old.dynamicSet {
				nd.dynamic, nd.dynamicSet = old.dynamic, true
			}
			if d.typ.IsDate() && old.format != d.format {
				nd.format = joinFormats(old.format, d.format)
			}
			out.fields[p] = &nd
		}
		out.set.merge(&m.set)
	}
	return out, nil
}

// joinFormats returns a date format that parses what either a or b does.
func joinFormats(a, b string) string {
	if a == "" {
		a = DefaultDateFormat
	}
	if b == "" {
		b = DefaultDateFormat
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range append(strings.Split(a, "||"), strings.Split(b, "||")...) {
		if f = strings.TrimSpace(f); !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return strings.Join(out, "||")
}

func describe(d *def) string {
	if d.typ == Alias {
		return "an alias of " + d.path
	}
	return d.typeName
}

// Paths returns every declared path, sorted.
func (m *Mapping) Paths() []string {
	if m == nil {
		return nil
	}
	out := make([]string, 0, len(m.fields))
	for p := range m.fields {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Resolve returns what the mapping says about path. ok is false when the mapping does
// not declare path (or m is nil): the Field returned then is read from path itself and
// is the one a dynamic template that applies to every value type gives it, or a Dynamic
// one whose values are mapped as the mapping maps undeclared fields (see Concrete; whether
// the mapping maps it at all is DynamicAt's answer). A key below a flattened field
// (labels.app of a flattened labels) is a keyword.
func (m *Mapping) Resolve(path string) (f Field, ok bool) {
	dyn := Field{Path: path, Source: path, Type: Dynamic}
	if m == nil {
		return dyn, false
	}
	d, ok := m.fields[path]
	if !ok {
		if fd := m.flattenedAbove(path); fd != nil {
			return Field{Path: path, Source: path, Type: Keyword, IgnoreAbove: fd.ignoreAbove}, true
		}
		return m.dynamicField(path), false
	}
	if d.typ == Alias {
		target, ok := m.fields[d.path]
		if !ok || target.typ == Alias {
			f := Field{Path: path, Source: d.path, Type: Unknown}
			return f, true
		}
		f := m.field(d.path, target)
		f.Path = path
		return f, true
	}
	return m.field(path, d), true
}

func (m *Mapping) field(path string, d *def) Field {
	f := Field{Path: path, Source: path, Type: d.typ, Format: d.format, NullValue: d.nullValue,
		IgnoreAbove: d.ignoreAbove, ScalingFactor: d.scaling, Value: d.value, Runtime: d.runtime,
		Normalizer: d.normalizer, Analyzer: d.analyzer, SearchAnalyzer: d.searchAnalyzer}
	if d.parent != "" {
		f.Source = m.sourceOf(d.parent)
	}
	if d.typ == Text {
		for _, sp := range d.subs {
			if sd := m.fields[sp]; sd.typ.IsKeywordLike() {
				e := m.field(sp, sd)
				f.Exact = &e
				break
			}
		}
	}
	return f
}

// flattenedAbove returns the flattened field path lies below, if any.
func (m *Mapping) flattenedAbove(path string) *def {
	for i := len(path) - 1; i > 0; i-- {
		if path[i] != '.' {
			continue
		}
		if d, ok := m.fields[path[:i]]; ok {
			if d.typ == Flattened && d.parent == "" && !d.runtime {
				return d
			}
			if d.typ != Object {
				return nil
			}
		}
	}
	return nil
}

// NestedPath returns the path of the innermost field mapped as "nested" that path lies
// below ("" when none): such fields are indexed as separate documents, which only a
// nested query on that path reaches.
func (m *Mapping) NestedPath(path string) string {
	if m == nil {
		return ""
	}
	for i := len(path) - 1; i > 0; i-- {
		if path[i] != '.' {
			continue
		}
		if m.IsNested(path[:i]) {
			return path[:i]
		}
	}
	return ""
}

// IsNested reports whether the field at path is mapped as "nested".
func (m *Mapping) IsNested(path string) bool {
	if m == nil {
		return false
	}
	d, ok := m.fields[path]
	return ok && d.typ == Object && d.typeName == "nested"
}

func (m *Mapping) sourceOf(path string) string {
	if d, ok := m.fields[path]; ok && d.parent != "" {
		return m.sourceOf(d.parent)
	}
	return path
}
