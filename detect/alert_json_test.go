package detect

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"

	"github.com/tripline/tripline/internal/jsonw"
)

// TestAppendJSON checks the alert encoder against json.Marshal on the values alert
// documents hold, and on strings that need escaping.
func TestAppendJSON(t *testing.T) {
	for _, v := range []any{
		nil, "", "plain", "quote \" backslash \\ slash /", "<script>&amp;</script>",
		"\x00\x01\x07\b\t\n\v\f\r\x1b\x1f\x7f", "é ʰ 日本 😀", "bad \xff \xc3 utf-8 \xed\xa0\x80", "\u2028\u2029",
		true, false, 0, -42, 1 << 40, json.Number("12.50"), json.Number("-1e7"), 3.25, 1e21, 1e-7,
		[]any(nil), []any{}, []any{"a", 1, nil, []any{true}}, map[string]any(nil), map[string]any{},
		map[string]any{"b": 1, "a": map[string]any{"z": "<", "y": []any{"x"}}, "é": nil, "A": "", "a.b": 2},
		[]ancestor(nil), []ancestor{{ID: "e", Type: "event", Index: "i", Depth: 0}, {ID: "s", Type: "signal", Depth: 1, Rule: "r&"}},
		[]string{"s"}, map[string]int{"x": 1},
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendJSON([]byte("prefix"), v)
		if err != nil {
			t.Errorf("%#v: %v", v, err)
			continue
		}
		if string(got) != "prefix"+string(want) {
			t.Errorf("%#v:\n got %s\nwant %s", v, got[len("prefix"):], want)
		}
	}
	if _, err := appendJSON(nil, json.Number("1x")); err == nil {
		t.Error("an invalid json.Number encoded without error")
	}
}

// TestAppendObjectWith checks the merge of a document with encoded members: keys in
// order, the encoded member winning over the document's of the same key.
func TestAppendObjectWith(t *testing.T) {
	extra := document{"b": "rule b", "d": []any{"rule"}, "kibana.alert.rule.name": "n", "@timestamp": "now"}
	enc, err := encodeFields(extra)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []document{
		{},
		{"a": 1, "c": 3, "e": 5},
		{"b": "event b", "@timestamp": "then", "z": nil},
		{"kibana.alert.rule": "x", "kibana.alert.rule.name.x": "y", "d": "event d"},
	} {
		merged := maps.Clone(doc)
		maps.Copy(merged, extra)
		want, err := json.Marshal(merged)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendObjectWith(nil, doc, enc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%v:\n got %s\nwant %s", doc, got, want)
		}
	}
}

// FuzzAppendJSON checks the alert encoder against json.Marshal on any JSON document (as
// parseDocument decodes it) and any string.
func FuzzAppendJSON(f *testing.F) {
	f.Add([]byte(`{"a":[1,"<b>",{"c":null,"d":true}],"e":"\u2028\ud800x"}`), "a\u2029\xff<")
	f.Add([]byte(`{"process":{"args":["cmd.exe","/c"],"pid":4},"@timestamp":"2026-01-01T00:00:00Z"}`), "\x00\t\"\\")
	f.Fuzz(func(t *testing.T, data []byte, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonw.AppendString(nil, s, jsonw.Marshal); !bytes.Equal(got, want) {
			t.Fatalf("string %q:\n got %s\nwant %s", s, got, want)
		}
		doc, err := parseDocument(data)
		if err != nil {
			return
		}
		want, err = json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendJSON(nil, doc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s:\n got %s\nwant %s", data, got, want)
		}
	})
}
