package mapping

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/internal/testenv"
)

var hashLine = regexp.MustCompile(`(?m)^#.*$`)

// loadConformance reads a conformance mapping file as ES's DataLoader does.
func loadConformance(t *testing.T, name, keywordType string) *Mapping {
	t.Helper()
	data, err := os.ReadFile(testenv.Shared(t, "conformance", "es", "data", name))
	if err != nil {
		t.Fatal(err)
	}
	text := hashLine.ReplaceAllString(string(data), "")
	text = strings.ReplaceAll(text, "[runtime_random_keyword_type]", keywordType)
	m, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// describeField renders the parts of a Field the tests check.
func describeField(f Field, ok bool) string {
	s := f.Path + " <- " + f.Source + " " + f.Type.String()
	if f.Format != "" {
		s += " format=" + f.Format
	}
	if f.NullValue != nil {
		s += " null=" + f.NullValue.Str
	}
	if f.IgnoreAbove != 0 {
		s += " ignore_above"
	}
	if f.Exact != nil {
		s += " exact=" + f.Exact.Path + ":" + f.Exact.Type.String()
	}
	if !ok {
		s += " (unmapped)"
	}
	return s
}

func TestConformanceMappings(t *testing.T) {
	tests := []struct {
		file, kw, path, want string
	}{
		{"endgame-140.mapping", "keyword", "event.category", "event.category <- event_type keyword"},
		{"endgame-140.mapping", "wildcard", "event.category", "event.category <- event_type wildcard"},
		{"endgame-140.mapping", "keyword", "event.sequence", "event.sequence <- serial_event_id long"},
		{"endgame-140.mapping", "keyword", "hostname", "hostname <- hostname text exact=hostname.keyword:keyword"},
		{"endgame-140.mapping", "wildcard", "file_name", "file_name <- file_name text exact=file_name.wildcard:wildcard"},
		{"endgame-140.mapping", "keyword", "file_name.keyword", "file_name.keyword <- file_name keyword ignore_above"},
		{"endgame-140.mapping", "keyword", "source_address", "source_address <- source_address ip"},
		{"endgame-140.mapping", "keyword", "@timestamp", "@timestamp <- @timestamp date"},
		{"endgame-140.mapping", "keyword", "event", "event <- event object"},
		{"endgame-140.mapping", "keyword", "unique_pid", "unique_pid <- unique_pid dynamic (unmapped)"},
		{"endgame-140-nanos.mapping", "keyword", "@timestamp", "@timestamp <- @timestamp date_nanos"},
		{"endgame-shard-failures.mapping", "keyword", "broken", "broken <- broken long"},
		{"extra.mapping", "keyword", "optional_field_default_null", "optional_field_default_null <- optional_field_default_null keyword null=NULL"},
		{"extra.mapping", "keyword", "version", "version <- version version"},
		{"extra.mapping", "keyword", "date_tags", "date_tags <- date_tags date"},
		{"extra.mapping", "keyword", "event.sequence", "event.sequence <- sequence long"},
		{"sample1.mapping", "keyword", "@timestamp_pretty", "@timestamp_pretty <- @timestamp_pretty date format=dd-MM-yyyy"},
		{"sample2.mapping", "keyword", "@timestamp_pretty", "@timestamp_pretty <- @timestamp_pretty date format=yyyy-MM-dd"},
		{"sample3.mapping", "keyword", "host_ip", "host_ip <- host_ip ip"},
		{"sample-multi.mapping", "keyword", "bool", "bool <- bool boolean"},
		{"missing-events.mapping", "keyword", "k1", "k1 <- k1 keyword"},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.kw+"/"+tt.path, func(t *testing.T) {
			m := loadConformance(t, tt.file, tt.kw)
			if got := describeField(m.Resolve(tt.path)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	// Every conformance mapping parses, and the shard-failures runtime field is marked.
	m := loadConformance(t, "endgame-shard-failures.mapping", "keyword")
	if f, _ := m.Resolve("broken"); !f.Runtime {
		t.Error("broken is not marked as a runtime field")
	}
}

func TestParseForms(t *testing.T) {
	tests := []struct {
		name, json, path, want string
		err                    string
	}{
		{"properties", `{"properties":{"a":{"type":"keyword"}}}`, "a", "a <- a keyword", ""},
		{"mappings", `{"mappings":{"properties":{"a":{"properties":{"b":{"type":"long"}}}}}}`, "a.b", "a.b <- a.b long", ""},
		{"get mapping", `{"i1":{"mappings":{"properties":{"a":{"type":"ip"}}}},"i2":{"mappings":{"properties":{"b":{"type":"boolean"}}}}}`, "b", "b <- b boolean", ""},
		{"text with keyword", `{"properties":{"t":{"type":"text","fields":{"raw":{"type":"keyword"}}}}}`, "t", "t <- t text exact=t.raw:keyword", ""},
		{"text without keyword", `{"properties":{"t":{"type":"text"}}}`, "t", "t <- t text", ""},
		{"alias", `{"properties":{"x":{"type":"alias","path":"y.z"},"y":{"properties":{"z":{"type":"date","format":"epoch_second"}}}}}`, "x", "x <- y.z date format=epoch_second", ""},
		{"unmodelled type", `{"properties":{"g":{"type":"geo_point"}}}`, "g", "g <- g unknown", ""},
		{"nested", `{"properties":{"n":{"type":"nested","properties":{"v":{"type":"keyword"}}}}}`, "n", "n <- n object", ""},
		{"syntax error", "{\"properties\":\n {\"a\" 1}}", "", "", "mapping: 2:7: invalid character '1' after object key"},
		{"no properties", `{"settings":{}}`, "", "", `mapping: no "properties" or "mappings" at the top, and "settings" is not an index's mapping`},
		{"alias without path", `{"properties":{"x":{"type":"alias"}}}`, "", "", `mapping: field "x": alias without a path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.json))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := describeField(m.Resolve(tt.path)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	a, _ := Parse([]byte(`{"properties":{"a":{"type":"keyword"},"c":{"type":"long"}}}`))
	b, _ := Parse([]byte(`{"properties":{"b":{"type":"ip"},"c":{"type":"long"}}}`))
	c, _ := Parse([]byte(`{"properties":{"a":{"type":"long"}}}`))
	m, err := Merge(a, nil, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Paths(), ","); got != "a,b,c" {
		t.Errorf("paths %s", got)
	}
	if _, err := Merge(a, c); err == nil || err.Error() != `mapping: field "a" is keyword in one mapping and long in another` {
		t.Errorf("conflict error: %v", err)
	}
	if m, err := Merge(nil, nil); m != nil || err != nil {
		t.Errorf("Merge of nils: %v %v", m, err)
	}
	var nilMap *Mapping
	if got := describeField(nilMap.Resolve("x.y")); got != "x.y <- x.y dynamic (unmapped)" {
		t.Errorf("nil mapping: %s", got)
	}
}

func s(v string) event.Value   { return event.Value{Kind: event.KindString, Str: v} }
func i(n int64) event.Value    { return event.Value{Kind: event.KindInt, Int: n} }
func fl(x float64) event.Value { return event.FloatValue(x, "") }
func b(v bool) event.Value {
	if v {
		return event.Value{Kind: event.KindBool, Int: 1}
	}
	return event.Value{Kind: event.KindBool}
}

var null = event.Value{Kind: event.KindNull}

func TestNormalize(t *testing.T) {
	nv := s("NULL")
	kw := Field{Type: Keyword}
	tests := []struct {
		name string
		f    Field
		in   event.Value
		want event.Value
		ok   bool
	}{
		{"keyword string", kw, s("x"), s("x"), true},
		{"keyword int keeps text", kw, event.Value{Kind: event.KindInt, Int: 12, Str: "12"}, s("12"), true},
		{"keyword float keeps text", kw, event.FloatValue(1.5, "1.50"), s("1.50"), true},
		{"keyword bool", kw, b(true), s("true"), true},
		{"keyword null", kw, null, event.Value{}, false},
		{"keyword null_value", Field{Type: Keyword, NullValue: &nv}, null, s("NULL"), true},
		{"keyword ignore_above", Field{Type: Keyword, IgnoreAbove: 3}, s("abcd"), event.Value{}, false},
		{"keyword ignore_above utf16", Field{Type: Keyword, IgnoreAbove: 2}, s("😀"), s("😀"), true},
		{"long from string", Field{Type: Long}, s("12"), i(12), true},
		{"long from fraction", Field{Type: Long}, fl(-1.7), i(-1), true},
		{"long from bad string", Field{Type: Long}, s("x"), event.Value{}, false},
		{"byte out of range", Field{Type: Byte}, i(128), event.Value{}, false},
		{"short in range", Field{Type: Short}, i(-32768), i(-32768), true},
		{"integer out of range", Field{Type: Integer}, i(1 << 31), event.Value{}, false},
		{"double from int", Field{Type: Double}, i(3), fl(3), true},
		{"float precision", Field{Type: Float}, fl(1.1), fl(float64(float32(1.1))), true},
		{"half_float precision", Field{Type: HalfFloat}, fl(1.1), fl(1.099609375), true},
		{"scaled_float", Field{Type: ScaledFloat, ScalingFactor: 100}, fl(1.234), fl(1.23), true},
		{"boolean string", Field{Type: Boolean}, s("true"), b(true), true},
		{"boolean empty string", Field{Type: Boolean}, s(""), b(false), true},
		{"boolean bad", Field{Type: Boolean}, s("yes"), event.Value{}, false},
		{"ip v4", Field{Type: IP}, s("10.0.0.5"), s("10.0.0.5"), true},
		{"ip v6 canonical", Field{Type: IP}, s("FE80:0:0::1"), s("fe80::1"), true},
		{"ip mapped v4", Field{Type: IP}, s("::ffff:10.0.0.5"), s("10.0.0.5"), true},
		{"ip bad", Field{Type: IP}, s("10.0.0.256"), event.Value{}, false},
		{"date iso", Field{Type: Date}, s("2017-08-30T20:47:33.123456Z"), i(1504126053_123), true},
		{"date millis string", Field{Type: Date}, s("1"), i(1), true},
		{"date_nanos keeps nanos", Field{Type: DateNanos}, s("1974-03-03T02:22:54.294365140Z"), i(131509374294365140), true},
		{"date_nanos before 1970", Field{Type: DateNanos}, s("1969-12-31T23:59:59Z"), event.Value{}, false},
		{"date with format", Field{Type: Date, Format: "dd-MM-yyyy"}, s("12-12-2022"), i(1670803200_000), true},
		{"version", Field{Type: Version}, s("1.2.4-SNAPSHOT"), s("1.2.4-SNAPSHOT"), true},
		{"text uses exact", Field{Type: Text, Exact: &Field{Type: Keyword, IgnoreAbove: 2}}, s("abc"), event.Value{}, false},
		{"dynamic string", Field{Type: Dynamic}, s("x"), s("x"), true},
		{"dynamic long string (no ignore_above)", Field{Type: Dynamic}, s(strings.Repeat("x", 257)), s(strings.Repeat("x", 257)), true},
		{"dynamic date string", Field{Type: Dynamic}, s("2020-01-02"), i(1577923200_000), true},
		{"dynamic slash date", Field{Type: Dynamic}, s("2020/01/02 10:00:00 +0100"), i(1577955600_000), true},
		{"dynamic int", Field{Type: Dynamic}, event.Value{Kind: event.KindInt, Int: 5, Str: "5"}, i(5), true},
		{"dynamic float", Field{Type: Dynamic}, fl(1.1), fl(float64(float32(1.1))), true},
		{"dynamic null", Field{Type: Dynamic}, null, event.Value{}, false},
		{"object", Field{Type: Object}, s("x"), event.Value{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.f.Normalize(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNormalizerAnalyzerNested(t *testing.T) {
	m, err := Parse([]byte(`{"properties": {
	  "process": {"properties": {"name": {"type": "keyword", "fields": {
	    "caseless": {"type": "keyword", "normalizer": "lowercase"},
	    "text": {"type": "match_only_text"}}}}},
	  "ps": {"type": "text", "analyzer": "powershell_script_analyzer", "search_analyzer": "standard"},
	  "a": {"type": "nested", "properties": {"b": {"type": "keyword"},
	    "c": {"type": "nested", "properties": {"d": {"type": "long"}}}}},
	  "o": {"properties": {"p": {"type": "keyword"}}}
	}}`))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := m.Resolve("process.name.caseless")
	if f.Normalizer != "lowercase" || f.Source != "process.name" || f.Type != Keyword {
		t.Errorf("caseless: %+v", f)
	}
	if f, _ := m.Resolve("process.name.text"); f.Type != Text || f.Analyzer != "" {
		t.Errorf("text: %+v", f)
	}
	if f, _ := m.Resolve("ps"); f.Analyzer != "powershell_script_analyzer" || f.SearchAnalyzer != "standard" {
		t.Errorf("ps: %+v", f)
	}
	for path, want := range map[string]string{"a.b": "a", "a.c": "a", "a.c.d": "a.c", "a": "", "o.p": "", "x.y": ""} {
		if got := m.NestedPath(path); got != want {
			t.Errorf("NestedPath(%q) = %q, want %q", path, got, want)
		}
	}
	for path, want := range map[string]bool{"a": true, "a.c": true, "o": false, "a.b": false, "zz": false} {
		if got := m.IsNested(path); got != want {
			t.Errorf("IsNested(%q) = %v, want %v", path, got, want)
		}
	}
	var none *Mapping
	if none.IsNested("a") || none.NestedPath("a.b") != "" {
		t.Error("a nil mapping has no nested fields")
	}
}
