package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// A document is a JSON object decoded with numbers kept as written (json.Number).
type document = map[string]any

// docTimestamp returns the document's top-level @timestamp, read as parseTime reads it:
// from its first member when it is @timestamp with a plain string (shippers write it
// first), so that most documents need no parsing, else from the parsed document.
func docTimestamp(raw []byte) (time.Time, bool) {
	const first = `{"@timestamp":"`
	if rest, ok := bytes.CutPrefix(raw, []byte(first)); ok {
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 &&
			!bytes.Contains(rest[i+1:], []byte(`"@timestamp"`)) { // no second one further on
			return parseTime(string(rest[:i]))
		}
	}
	doc, err := parseDocument(raw)
	if err != nil {
		return time.Time{}, false
	}
	v, ok := lookup(doc, "@timestamp")
	if !ok {
		return time.Time{}, false
	}
	return parseTime(v)
}

// executionTime is the time by which Kibana's executions of a rule select a document
// (buildTimeRangeFilter): its timestamp_override (ri.overridePath), or @timestamp where
// the document has none.
func executionTime(ri *ruleInfo, raw []byte) (time.Time, bool) {
	if p := ri.overridePath; p != nil && bytes.Contains(raw, []byte(p[len(p)-1])) {
		// Per match: fastjson, not parseDocument (encoding/json cost 7% of serve's CPU here).
		v := fastjson.GetString(raw, p...)
		if v == "" {
			v = fastjson.GetString(raw, ri.r.TimestampOverride) // written as one dotted key
		}
		if t, ok := parseTime(v); ok && v != "" {
			return t, true
		}
	}
	return docTimestamp(raw)
}

// parseDocument decodes a JSON object, keeping numbers exactly as written.
func parseDocument(raw []byte) (document, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m document
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}

// lookup returns the value at a dotted path, following both nested objects and keys that
// contain dots ({"a.b": 1} and {"a": {"b": 1}} both have a value at "a.b"). Values reached
// through arrays of objects are collected into a slice.
func lookup(v any, path string) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		if val, ok := x[path]; ok {
			return val, true
		}
		for i := 0; i < len(path); i++ {
			if path[i] != '.' {
				continue
			}
			if sub, ok := x[path[:i]]; ok {
				if val, ok := lookup(sub, path[i+1:]); ok {
					return val, true
				}
			}
		}
	case []any:
		var out []any
		for _, e := range x {
			if val, ok := lookup(e, path); ok {
				out = append(out, leaves(val)...)
			}
		}
		if len(out) > 0 {
			return out, true
		}
	}
	return nil, false
}

// leaves flattens arrays.
func leaves(v any) []any {
	if a, ok := v.([]any); ok {
		var out []any
		for _, e := range a {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []any{v}
}

// strValues returns the non-null scalar values at path as strings (arrays flattened).
func strValues(doc document, path string) []string {
	v, ok := lookup(doc, path)
	if !ok {
		return nil
	}
	var out []string
	for _, l := range leaves(v) {
		switch x := l.(type) {
		case string:
			out = append(out, x)
		case json.Number:
			out = append(out, x.String())
		case bool:
			out = append(out, strconv.FormatBool(x))
		}
	}
	return out
}

// flattenInto copies every leaf under v into dst with dotted keys prefixed by prefix.
// Arrays are leaves (kept whole), as Kibana's flattenWithPrefix keeps them.
func flattenInto(dst document, prefix string, v any) {
	if m, ok := v.(map[string]any); ok {
		for k, sub := range m {
			flattenInto(dst, prefix+"."+k, sub)
		}
		return
	}
	dst[prefix] = v
}

// copySubtree copies the fields of doc under top (nested or dotted) into dst, flattened and
// renamed to prefix.*.
func copySubtree(dst, doc document, top, prefix string) {
	for k, v := range doc {
		switch {
		case k == top:
			flattenInto(dst, prefix, v)
		case strings.HasPrefix(k, top+"."):
			flattenInto(dst, prefix+k[len(top):], v)
		}
	}
}

// intersect returns the fields common to every document, as Kibana's
// objectArrayIntersection computes a sequence shell's source: equal scalars are kept, objects
// are intersected recursively, arrays become the elements present in every array, and keys
// whose intersection is empty disappear.
func intersect(docs []document) document {
	if len(docs) == 0 {
		return document{}
	}
	vals := make([]any, len(docs))
	for i, d := range docs {
		vals[i] = d
	}
	out, ok := intersectValues(vals)
	if !ok {
		return document{}
	}
	return out.(document)
}

func intersectValues(vals []any) (any, bool) {
	switch first := vals[0].(type) {
	case map[string]any:
		maps := make([]map[string]any, len(vals))
		for i, v := range vals {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			maps[i] = m
		}
		out := make(map[string]any)
		sub := make([]any, len(maps))
	keys:
		for k := range first {
			for i, m := range maps {
				v, ok := m[k]
				if !ok {
					continue keys
				}
				sub[i] = v
			}
			if v, ok := intersectValues(sub); ok {
				out[k] = v
			}
		}
		if len(out) == 0 {
			return nil, false
		}
		return out, true
	case []any:
		var out []any
	elems:
		for _, e := range first {
			for _, v := range vals[1:] {
				a, ok := v.([]any)
				if !ok || !containsEqual(a, e) {
					continue elems
				}
			}
			if !containsEqual(out, e) {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return nil, false
		}
		return out, true
	default:
		for _, v := range vals[1:] {
			if !reflect.DeepEqual(v, first) {
				return nil, false
			}
		}
		return first, true
	}
}

func containsEqual(a []any, e any) bool {
	for _, x := range a {
		if reflect.DeepEqual(x, e) {
			return true
		}
	}
	return false
}

// isoMillis formats t as Kibana writes dates: UTC, millisecond precision.
func isoMillis(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// parseTime reads a timestamp value the way Kibana's getValidDateFromDoc does for the common
// forms: an ISO 8601 string (with or without zone; without means UTC) or epoch milliseconds.
func parseTime(v any) (time.Time, bool) {
	if a, ok := v.([]any); ok {
		if len(a) == 0 {
			return time.Time{}, false
		}
		v = a[0]
	}
	switch x := v.(type) {
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t, true
			}
		}
		if ms, err := strconv.ParseInt(x, 10, 64); err == nil {
			return time.UnixMilli(ms), true
		}
	case json.Number:
		if ms, err := x.Int64(); err == nil {
			return time.UnixMilli(ms), true
		}
		if f, err := x.Float64(); err == nil {
			return time.UnixMilli(int64(f)), true
		}
	}
	return time.Time{}, false
}

// sortedKeys returns m's keys in order (for deterministic iteration).
func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
