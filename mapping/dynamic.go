package mapping

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/tripline/tripline/event"
)

// DynamicMode is what a mapping does with a field it does not declare (Elasticsearch's
// "dynamic" mapping parameter, of the root or of the nearest enclosing object).
type DynamicMode uint8

// Dynamic modes.
const (
	// DynamicTrue maps the field from its values (dynamic templates, date and numeric
	// detection): the default.
	DynamicTrue DynamicMode = iota
	// DynamicRuntime maps it as a runtime field read from _source.
	DynamicRuntime
	// DynamicFalse keeps it in _source without indexing it: queries cannot name it.
	DynamicFalse
	// DynamicStrict rejects documents that hold it.
	DynamicStrict
)

func (d DynamicMode) String() string {
	return [...]string{"true", "runtime", "false", "strict"}[d]
}

// parseDynamic reads a "dynamic" parameter: true, false (as booleans or strings),
// "strict" or "runtime".
func parseDynamic(raw json.RawMessage) (DynamicMode, error) {
	switch strings.Trim(string(raw), `" `) {
	case "true":
		return DynamicTrue, nil
	case "false":
		return DynamicFalse, nil
	case "strict":
		return DynamicStrict, nil
	case "runtime":
		return DynamicRuntime, nil
	}
	return 0, fmt.Errorf("dynamic: %s is not one of true, false, strict or runtime", raw)
}

// settings are a mapping's root parameters for undeclared fields. A *Set flag says the
// mapping gave the parameter: merged mappings take each from the last one that gives it.
type settings struct {
	dynamic             DynamicMode
	dynamicSet          bool
	dateDetection       bool
	dateDetectionSet    bool
	numericDetection    bool
	numericDetectionSet bool
	dateFormats         string // "||"-separated dynamic_date_formats
	dateFormatsSet      bool
	templates           []template
}

// template is one of dynamic_templates.
type template struct {
	name string
	// matchTypes are the JSON types it applies to (string, long, double, boolean, date,
	// object, binary); nil or "*" means all.
	matchTypes                             []string
	match, unmatch, pathMatch, pathUnmatch []string
	// With match_pattern "regex", the patterns compiled (by pattern).
	regex   map[string]*regexp.Regexp
	mapping rawField
}

type rawTemplate struct {
	MatchMappingType json.RawMessage `json:"match_mapping_type"`
	Match            json.RawMessage `json:"match"`
	Unmatch          json.RawMessage `json:"unmatch"`
	PathMatch        json.RawMessage `json:"path_match"`
	PathUnmatch      json.RawMessage `json:"path_unmatch"`
	MatchPattern     string          `json:"match_pattern"`
	Mapping          *rawField       `json:"mapping"`
	Runtime          *rawField       `json:"runtime"`
}

// stringList reads a string or an array of strings.
func stringList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("%s is neither a string nor an array of strings", raw)
	}
	return many, nil
}

func parseTemplates(raw json.RawMessage) ([]template, error) {
	var list []map[string]rawTemplate
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("dynamic_templates: %w", err)
	}
	var out []template
	for _, named := range list {
		for name, rt := range named {
			t := template{name: name}
			var err error
			lists := []struct {
				raw json.RawMessage
				dst *[]string
			}{{rt.MatchMappingType, &t.matchTypes}, {rt.Match, &t.match}, {rt.Unmatch, &t.unmatch},
				{rt.PathMatch, &t.pathMatch}, {rt.PathUnmatch, &t.pathUnmatch}}
			for _, l := range lists {
				if *l.dst, err = stringList(l.raw); err != nil {
					return nil, fmt.Errorf("dynamic template %q: %w", name, err)
				}
			}
			if rt.MatchPattern == "regex" {
				t.regex = map[string]*regexp.Regexp{}
				for _, l := range lists[1:] {
					for _, p := range *l.dst {
						re, err := regexp.Compile("^(?:" + p + ")$")
						if err != nil {
							return nil, fmt.Errorf("dynamic template %q: %w", name, err)
						}
						t.regex[p] = re
					}
				}
			}
			switch {
			case rt.Mapping != nil:
				t.mapping = *rt.Mapping
			case rt.Runtime != nil:
				t.mapping = *rt.Runtime
			default:
				return nil, fmt.Errorf("dynamic template %q: no \"mapping\" or \"runtime\"", name)
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// matches reports whether t applies to the field at path whose detected JSON type is typ.
func (t *template) matches(path, typ string) bool {
	if len(t.matchTypes) > 0 && !anyEqual(t.matchTypes, typ) && !anyEqual(t.matchTypes, "*") {
		return false
	}
	name := path[strings.LastIndexByte(path, '.')+1:]
	if len(t.match) > 0 && !t.anyMatch(t.match, name) || t.anyMatch(t.unmatch, name) {
		return false
	}
	if len(t.pathMatch) > 0 && !t.anyMatch(t.pathMatch, path) || t.anyMatch(t.pathUnmatch, path) {
		return false
	}
	return true
}

// allTypes reports whether t applies whatever the value's type.
func (t *template) allTypes() bool {
	return len(t.matchTypes) == 0 || anyEqual(t.matchTypes, "*")
}

func anyEqual(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (t *template) anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if t.regex != nil {
			if t.regex[p].MatchString(s) {
				return true
			}
		} else if simpleMatch(p, s) {
			return true
		}
	}
	return false
}

// simpleMatch matches s against a pattern where * stands for any characters (Elasticsearch's
// Regex.simpleMatch).
func simpleMatch(pattern, s string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == s
	}
	if !strings.HasPrefix(s, pattern[:star]) {
		return false
	}
	s, pattern = s[star:], pattern[star+1:]
	if pattern == "" {
		return true
	}
	for i := 0; i <= len(s); i++ {
		if simpleMatch(pattern, s[i:]) {
			return true
		}
	}
	return false
}

// DefaultDynamicDateFormats is Elasticsearch's default dynamic_date_formats, the formats
// date detection tries; each begins with a year of four digits.
const DefaultDynamicDateFormats = dynamicDateFormats

// Detection is how a mapping maps a field it does not declare, from the JSON type of
// each value: the field each detected type gets (after dynamic templates), and the date
// and numeric detection that decide the type of a string.
type Detection struct {
	// DateFormats are the dynamic_date_formats ("||"-separated) a string is tried with;
	// "" when date detection is off.
	DateFormats string
	// NumericDetection maps strings that hold numbers as numbers.
	NumericDetection bool
	// The field of each detected type.
	String, Date, Long, Double, Boolean Field
}

// tripDetection is Tripline's dynamic mapping without a mapping: as Elasticsearch's with
// its default settings, except that strings are keywords without a length limit (see
// dynamicKeyword).
var tripDetection = &Detection{
	DateFormats: dynamicDateFormats,
	String:      dynamicKeyword,
	Date:        Field{Type: Date, Format: dynamicDateFormats},
	Long:        Field{Type: Long},
	Double:      Field{Type: Float},
	Boolean:     Field{Type: Boolean},
}

// Concrete returns the field a value v of f is indexed as: f itself unless f is Dynamic,
// in which case v's JSON type (and date or numeric detection) picks the field its
// Detection gives that type. A null, or a value of a type the detection cannot map,
// leaves f as it is (Normalize then indexes nothing).
func (f Field) Concrete(v event.Value) Field {
	if f.Type != Dynamic {
		return f
	}
	d := f.Detect
	if d == nil {
		d = tripDetection
	}
	var c Field
	switch v.Kind {
	case event.KindString:
		c = d.String
		if d.DateFormats != "" && (d.DateFormats != dynamicDateFormats || startsWithFourDigits(v.Str)) {
			if _, ok := ParseDate(v, d.DateFormats); ok {
				c = d.Date
				break
			}
		}
		if d.NumericDetection {
			if _, err := strconv.ParseInt(v.Str, 10, 64); err == nil {
				c = d.Long
			} else if _, err := strconv.ParseFloat(v.Str, 64); err == nil {
				c = d.Double
			}
		}
	case event.KindInt:
		c = d.Long
	case event.KindFloat:
		c = d.Double
	case event.KindBool:
		c = d.Boolean
	default:
		return f
	}
	c.Path, c.Source = f.Path, f.Source
	return c
}

// DynamicAt returns what the mapping does with the undeclared field at path: the dynamic
// parameter of the nearest enclosing declared object that has one (an object with
// "enabled": false indexes nothing below it), else the root's. A nil mapping is
// DynamicTrue.
func (m *Mapping) DynamicAt(path string) DynamicMode {
	if m == nil {
		return DynamicTrue
	}
	for i := len(path) - 1; i > 0; i-- {
		if path[i] != '.' {
			continue
		}
		if d, ok := m.fields[path[:i]]; ok && d.typ == Object {
			if d.disabled {
				return DynamicFalse
			}
			if d.dynamicSet {
				return d.dynamic
			}
		}
	}
	return m.set.dynamic
}

// dynamicField returns the field Resolve gives the undeclared path: one of a dynamic
// template that applies to every value type, else a Dynamic field whose Detection holds
// the mapping's dynamic templates and detection settings.
func (m *Mapping) dynamicField(path string) Field {
	dyn := Field{Path: path, Source: path, Type: Dynamic}
	mode := m.DynamicAt(path)
	if mode == DynamicFalse || mode == DynamicStrict {
		return dyn
	}
	formats := ""
	if !m.set.dateDetectionSet || m.set.dateDetection {
		formats = DefaultDynamicDateFormats
		if m.set.dateFormatsSet {
			formats = m.set.dateFormats
		}
	}
	d := &Detection{DateFormats: formats, NumericDetection: m.set.numericDetection}
	// Elasticsearch's defaults: text with a keyword sub-field of ignore_above 256 (as a
	// runtime field, a keyword), long, float (double at runtime), boolean, date.
	kw := Field{Type: Keyword, IgnoreAbove: 256}
	d.String = Field{Type: Text, Exact: &kw}
	d.Double = Field{Type: Float}
	if mode == DynamicRuntime {
		d.String, d.Double = Field{Type: Keyword}, Field{Type: Double}
	}
	d.Long, d.Boolean = Field{Type: Long}, Field{Type: Boolean}
	d.Date = Field{Type: Date, Format: formats}
	// The first template that matches each detected type maps it. When one template that
	// applies to every type maps them all, the field has its type whatever the values.
	same := -2
	for _, dt := range []struct {
		name string
		dst  *Field
	}{{"string", &d.String}, {"date", &d.Date}, {"long", &d.Long}, {"double", &d.Double}, {"boolean", &d.Boolean}} {
		used := -1
		for i := range m.set.templates {
			t := &m.set.templates[i]
			if !t.matches(path, dt.name) {
				continue
			}
			used = i
			if f, ok := t.field(path, dt.name); ok {
				if f.Type == Date && f.Format == "" && dt.name == "date" {
					f.Format = formats
				}
				*dt.dst = f
			}
			break
		}
		if same == -2 || same == used {
			same = used
		} else {
			same = -1
		}
	}
	if same >= 0 && m.set.templates[same].allTypes() {
		if f, ok := m.set.templates[same].field(path, "*"); ok {
			return f
		}
	}
	dyn.Detect = d
	return dyn
}

// defaultMappingType is the type {dynamic_type} stands for, by detected JSON type.
var defaultMappingType = map[string]string{"string": "text", "long": "long", "double": "float",
	"boolean": "boolean", "date": "date", "object": "object", "binary": "binary"}

// field returns the field the template maps path to, for the detected type typ.
func (t *template) field(path, typ string) (Field, bool) {
	rf := t.mapping
	if rf.Type == "" {
		rf.Type = "{dynamic_type}"
	}
	if strings.Contains(rf.Type, "{dynamic_type}") {
		dt, ok := defaultMappingType[typ]
		if !ok { // a "*" template of {dynamic_type}: the type is the value's
			return Field{}, false
		}
		rf.Type = strings.ReplaceAll(rf.Type, "{dynamic_type}", dt)
	}
	one := &Mapping{fields: map[string]*def{}}
	if err := one.add(path, rf, false); err != nil {
		return Field{}, false
	}
	f, ok := one.Resolve(path)
	if !ok || f.Type == Alias {
		return Field{}, false
	}
	return f, true
}

// Strict reports whether the mapping rejects some documents: its root or one of its
// objects is "dynamic": "strict" (see Check).
func (m *Mapping) Strict() bool {
	if m == nil {
		return false
	}
	if m.set.dynamic == DynamicStrict {
		return true
	}
	for _, d := range m.fields {
		if d.dynamicSet && d.dynamic == DynamicStrict {
			return true
		}
	}
	return false
}

// StrictError is a document that a strict mapping rejects at index time.
type StrictError struct {
	Field  string // the undeclared field, as its object names it
	Within string // the object's path, "_doc" for the root
}

func (e *StrictError) Error() string {
	return fmt.Sprintf("mapping set to strict, dynamic introduction of [%s] within [%s] is not allowed", e.Field, e.Within)
}

// Check returns the error Elasticsearch rejects doc with at index time when a field it
// holds is not declared where the mapping is strict (a *StrictError), or a JSON error;
// nil when the mapping indexes doc. Only a Strict mapping rejects documents.
func (m *Mapping) Check(doc []byte) error {
	if !m.Strict() {
		return nil
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(doc)
	if err != nil {
		return err
	}
	o, err := v.Object()
	if err != nil {
		return err
	}
	return m.checkObject(o, "")
}

func (m *Mapping) checkObject(o *fastjson.Object, at string) error {
	var err error
	o.Visit(func(key []byte, v *fastjson.Value) {
		if err == nil {
			err = m.checkField(at, string(key), v)
		}
	})
	return err
}

// checkField checks the value v of key in the object at path at (a dotted key stands for
// nested objects, as Elasticsearch reads it).
func (m *Mapping) checkField(at, key string, v *fastjson.Value) error {
	parent := at
	for {
		seg, rest, dotted := strings.Cut(key, ".")
		path := seg
		if parent != "" {
			path = parent + "." + seg
		}
		d, ok := m.fields[path]
		if !ok {
			if m.DynamicAt(path) == DynamicStrict && !m.underFlattened(path) {
				within := parent
				if within == "" {
					within = "_doc"
				}
				return &StrictError{Field: seg, Within: within}
			}
			return nil // mapped dynamically, or not at all: nothing below can be strict
		}
		if d.typ != Object || d.disabled {
			return nil
		}
		if !dotted {
			break
		}
		parent, key = path, rest
	}
	path := key
	if parent != "" {
		path = parent + "." + key
	}
	return m.checkValue(path, v)
}

// checkValue checks the value of the declared object at path: an object, or an array of
// them.
func (m *Mapping) checkValue(path string, v *fastjson.Value) error {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		return m.checkObject(o, path)
	case fastjson.TypeArray:
		for _, e := range v.GetArray() {
			if err := m.checkValue(path, e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Mapping) underFlattened(path string) bool { return m.flattenedAbove(path) != nil }
