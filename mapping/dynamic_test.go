package mapping

import (
	"testing"

	"github.com/tripline/tripline/event"
)

func str(s string) event.Value { return event.Value{Kind: event.KindString, Str: s} }

// concrete describes the field a value of path is indexed as, and the value indexed.
func concrete(m *Mapping, path string, v event.Value) string {
	f, _ := m.Resolve(path)
	c := f.Concrete(v)
	s := c.Type.String()
	if c.Exact != nil {
		s += "+" + c.Exact.Type.String()
	}
	if kw := c; kw.Exact != nil {
		kw = *kw.Exact
		if kw.IgnoreAbove != 0 {
			s += "/" + itoa(kw.IgnoreAbove)
		}
	} else if c.IgnoreAbove != 0 {
		s += "/" + itoa(c.IgnoreAbove)
	}
	nv, ok := f.Normalize(v)
	if !ok {
		return s + " -"
	}
	switch nv.Kind {
	case event.KindString:
		return s + " " + nv.Str
	case event.KindInt:
		return s + " " + itoa64(nv.Int)
	case event.KindBool:
		if nv.Int != 0 {
			return s + " true"
		}
		return s + " false"
	case event.KindFloat:
		return s + " float"
	}
	return s + " ?"
}

func itoa(n int) string { return itoa64(int64(n)) }

func itoa64(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

func mustParse(t *testing.T, s string) *Mapping {
	t.Helper()
	m, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDynamicMapping(t *testing.T) {
	long := str(string(make([]byte, 300)))
	long.Str = string(append([]byte("x"), make([]byte, 299)...))
	plain := mustParse(t, `{"properties":{"a":{"type":"keyword"}}}`)
	noDates := mustParse(t, `{"date_detection":false,"numeric_detection":true,"properties":{}}`)
	formats := mustParse(t, `{"dynamic_date_formats":["MM/dd/yyyy"],"properties":{}}`)
	runtime := mustParse(t, `{"dynamic":"runtime","properties":{}}`)
	templates := mustParse(t, `{
	  "dynamic_templates":[
	    {"extra":{"path_match":"k.user.extra.*","mapping":{"type":"keyword"}}},
	    {"ips":{"match":"*_ip","match_mapping_type":"string","mapping":{"type":"ip"}}},
	    {"longs_as_strings":{"match_mapping_type":"long","unmatch":"keep_*","mapping":{"type":"keyword"}}},
	    {"rx":{"match_pattern":"regex","match":"^n\\d+$","mapping":{"type":"{dynamic_type}"}}},
	    {"strings":{"match_mapping_type":"string","mapping":{"type":"keyword","ignore_above":8}}}
	  ],
	  "properties":{}}`)
	tests := []struct {
		m    *Mapping
		path string
		v    event.Value
		want string
	}{
		// No mapping: Tripline's dynamic mapping.
		{nil, "x", str("abc"), "keyword abc"},
		{nil, "x", long, "keyword " + long.Str},
		{nil, "x", str("2020-01-02"), "date 1577923200000"},
		{nil, "x", event.Value{Kind: event.KindInt, Int: 7}, "long 7"},
		// A mapping without dynamic settings: Elasticsearch's defaults.
		{plain, "x", str("abc"), "text+keyword/256 abc"},
		{plain, "x", long, "text+keyword/256 -"},
		{plain, "x", str("2020-01-02"), "date 1577923200000"},
		{plain, "x", str("2020/01/02 03:04:05 +0100"), "date 1577930645000"},
		{plain, "x", str("12"), "text+keyword/256 12"},
		{plain, "x", event.Value{Kind: event.KindBool, Int: 1}, "boolean true"},
		{plain, "x", event.FloatValue(1.5, "1.5"), "float float"},
		{plain, "x", event.Value{Kind: event.KindNull}, "dynamic -"},
		// date_detection false, numeric_detection true.
		{noDates, "x", str("2020-01-02"), "text+keyword/256 2020-01-02"},
		{noDates, "x", str("12"), "long 12"},
		{noDates, "x", str("1.5"), "float float"},
		// dynamic_date_formats.
		{formats, "x", str("01/02/2020"), "date 1577923200000"},
		{formats, "x", str("2020-01-02"), "text+keyword/256 2020-01-02"},
		// dynamic: runtime.
		{runtime, "x", long, "keyword " + long.Str},
		{runtime, "x", event.FloatValue(1.5, "1.5"), "double float"},
		// Dynamic templates, first match wins.
		{templates, "k.user.extra.pod", str("p-1"), "keyword p-1"},
		{templates, "k.user.extra.pod", event.Value{Kind: event.KindInt, Int: 3, Str: "3"}, "keyword 3"},
		{templates, "src_ip", str("::ffff:10.0.0.1"), "ip 10.0.0.1"},
		{templates, "src_ip", event.Value{Kind: event.KindInt, Int: 3, Str: "3"}, "keyword 3"},
		{templates, "keep_n", event.Value{Kind: event.KindInt, Int: 3, Str: "3"}, "long 3"},
		{templates, "n12", event.Value{Kind: event.KindInt, Int: 3, Str: "3"}, "keyword 3"},
		{templates, "n12", str("abc"), "text abc"},
		{templates, "name", str("abcdefgh"), "keyword/8 abcdefgh"},
		{templates, "name", str("abcdefghi"), "keyword/8 -"},
		{templates, "name", str("2020-01-02"), "date 1577923200000"},
	}
	for _, tt := range tests {
		if got := concrete(tt.m, tt.path, tt.v); got != tt.want {
			t.Errorf("%s = %.40q: %q, want %q", tt.path, tt.v.Str, got, tt.want)
		}
	}
	// A template for every value type gives the field its type at once.
	if f, ok := templates.Resolve("k.user.extra.pod"); ok || f.Type != Keyword {
		t.Errorf("Resolve(k.user.extra.pod) = %v, %v; want an undeclared keyword", f.Type, ok)
	}
}

func TestDynamicAt(t *testing.T) {
	m := mustParse(t, `{"dynamic":"strict","properties":{
	  "open":{"dynamic":true,"properties":{"closed":{"type":"object","dynamic":"false"}}},
	  "rt":{"dynamic":"runtime","properties":{}},
	  "off":{"type":"object","enabled":false},
	  "f":{"type":"flattened"},
	  "k":{"type":"keyword"}}}`)
	tests := []struct {
		path string
		want DynamicMode
	}{
		{"x", DynamicStrict},
		{"open.x", DynamicTrue},
		{"open.x.y", DynamicTrue},
		{"open.closed.x", DynamicFalse},
		{"rt.x", DynamicRuntime},
		{"off.x", DynamicFalse},
	}
	for _, tt := range tests {
		if got := m.DynamicAt(tt.path); got != tt.want {
			t.Errorf("DynamicAt(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
	if !m.Strict() || mustParse(t, `{"properties":{"a":{"type":"long"}}}`).Strict() {
		t.Error("Strict")
	}
	checks := []struct{ doc, want string }{
		{`{"k":"a","open":{"x":{"y":1}},"f":{"any":{"thing":1}},"off":{"z":1}}`, ""},
		{`{"k":"a","x":1}`, "mapping set to strict, dynamic introduction of [x] within [_doc] is not allowed"},
		{`{"x":null}`, "mapping set to strict, dynamic introduction of [x] within [_doc] is not allowed"},
		{`{"rt":{"a":1},"open.x":2}`, ""},
		{`{"open.closed.x":1}`, ""},
		{`{"open":[{"x":1},{"y":2}]}`, ""},
		{`{"f.deep.key":1}`, ""},
		{`{"k.x":1}`, ""},
		{`{"nope.x":1}`, "mapping set to strict, dynamic introduction of [nope] within [_doc] is not allowed"},
		{`[1]`, "value doesn't contain object; it contains array"},
	}
	strict := mustParse(t, `{"properties":{"o":{"dynamic":"strict","properties":{"a":{"type":"long"}}}}}`)
	for _, c := range checks {
		got := ""
		if err := m.Check([]byte(c.doc)); err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("Check(%s) = %q, want %q", c.doc, got, c.want)
		}
	}
	for doc, want := range map[string]string{
		`{"x":1,"o":{"a":1}}`:      "",
		`{"o":{"a":1,"b":2}}`:      "mapping set to strict, dynamic introduction of [b] within [o] is not allowed",
		`{"o":[{"a":1},{"c":[]}]}`: "mapping set to strict, dynamic introduction of [c] within [o] is not allowed",
		`{"o.b":1}`:                "mapping set to strict, dynamic introduction of [b] within [o] is not allowed",
	} {
		got := ""
		if err := strict.Check([]byte(doc)); err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("Check(%s) = %q, want %q", doc, got, want)
		}
	}
}

func TestMergeSettings(t *testing.T) {
	a := mustParse(t, `{"date_detection":false,"dynamic_templates":[
	  {"one":{"match":"a*","mapping":{"type":"keyword"}}},{"two":{"match":"b*","mapping":{"type":"keyword"}}}],
	  "properties":{"d":{"type":"date","format":"dd-MM-yyyy"},"o":{"dynamic":"strict","properties":{}}}}`)
	b := mustParse(t, `{"dynamic":"false","dynamic_templates":[
	  {"two":{"match":"b*","mapping":{"type":"long"}}},{"three":{"match":"c*","mapping":{"type":"ip"}}}],
	  "properties":{"d":{"type":"date","format":"yyyy-MM-dd"},"o":{"properties":{"x":{"type":"long"}}}}}`)
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.set.dynamic != DynamicFalse || !m.set.dateDetectionSet || m.set.dateDetection {
		t.Errorf("settings %+v", m.set)
	}
	var names []string
	for _, tp := range m.set.templates {
		names = append(names, tp.name+":"+tp.mapping.Type)
	}
	if got := joinStrings(names); got != "one:keyword two:long three:ip" {
		t.Errorf("templates %s", got)
	}
	if f, _ := m.Resolve("d"); f.Format != "dd-MM-yyyy||yyyy-MM-dd" {
		t.Errorf("merged date format %q", f.Format)
	}
	if m.DynamicAt("o.y") != DynamicStrict {
		t.Error("o lost its dynamic: strict in the merge")
	}
	if _, err := Merge(a, mustParse(t, `{"properties":{"d":{"type":"keyword"}}}`)); err == nil {
		t.Error("a date and a keyword merged")
	}
}

func joinStrings(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestTemplateOrder(t *testing.T) {
	m := mustParse(t, `{"dynamic_templates":[
	  {"strings":{"match_mapping_type":"string","mapping":{"type":"keyword"}}},
	  {"all":{"match":"*","mapping":{"type":"long"}}}],"properties":{}}`)
	if f, _ := m.Resolve("x"); f.Type != Dynamic {
		t.Errorf("x is %v: the catch-all template took strings from the earlier one", f.Type)
	}
	for v, want := range map[event.Value]string{str("a"): "keyword a", {Kind: event.KindInt, Int: 4}: "long 4"} {
		if got := concrete(m, "x", v); got != want {
			t.Errorf("%v: %q, want %q", v, got, want)
		}
	}
}
