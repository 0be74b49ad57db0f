package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// spec is one [[queries]] case.
type spec struct {
	Name             string `toml:"name"`
	Query            string `toml:"query"`
	ExpectedEventIDs any    `toml:"expected_event_ids"`
	JoinKeys         []any  `toml:"join_keys"`
	Size             *int   `toml:"size"`
	MaxSamplesPerKey int    `toml:"max_samples_per_key"`
}

// answers returns the acceptable id lists.
func (s *spec) answers() ([][]int64, error) {
	list, ok := s.ExpectedEventIDs.([]any)
	if !ok {
		return nil, fmt.Errorf("expected_event_ids is %T", s.ExpectedEventIDs)
	}
	if len(list) == 0 {
		return [][]int64{{}}, nil
	}
	if _, nested := list[0].([]any); nested {
		var out [][]int64
		for _, a := range list {
			ids, err := intList(a.([]any))
			if err != nil {
				return nil, err
			}
			out = append(out, ids)
		}
		return out, nil
	}
	ids, err := intList(list)
	return [][]int64{ids}, err
}

func intList(xs []any) ([]int64, error) {
	out := make([]int64, 0, len(xs))
	for _, x := range xs {
		n, ok := x.(int64)
		if !ok {
			return nil, fmt.Errorf("id %v is %T", x, x)
		}
		out = append(out, n)
	}
	return out, nil
}

// joinKeys returns the expected keys as the harness compares them (toString()).
func (s *spec) joinKeys() []string {
	out := make([]string, 0, len(s.JoinKeys))
	for _, k := range s.JoinKeys {
		switch v := k.(type) {
		case string:
			out = append(out, v)
		case int64:
			out = append(out, strconv.FormatInt(v, 10))
		case float64:
			out = append(out, strconv.FormatFloat(v, 'f', -1, 64))
		case bool:
			out = append(out, strconv.FormatBool(v))
		default:
			out = append(out, fmt.Sprint(v))
		}
	}
	return out
}

// replaceBareNull turns the bare null tokens of a TOML line (outside strings and comments)
// into the string "null".
func replaceBareNull(line string) string {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' && i+1 < len(line) {
				b.WriteByte(c)
				i++
				c = line[i]
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			b.WriteString(line[i:])
			return b.String()
		case strings.HasPrefix(line[i:], "null") && (i == 0 || !isWord(line[i-1])) &&
			(i+4 == len(line) || !isWord(line[i+4])):
			b.WriteString(`"null"`)
			i += 3
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// loadSpecs reads a spec file. Outside multi-line literal strings, a bare null (which JToml accepts and
// TOML 1.0 does not) becomes the string "null", which is what the harness compares it as.
func loadSpecs(path string) ([]spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	inStr := false
	for _, line := range strings.SplitAfter(string(data), "\n") {
		n := strings.Count(line, "'''")
		if !inStr && n == 0 {
			line = replaceBareNull(line)
		}
		if n%2 == 1 {
			inStr = !inStr
		}
		b.WriteString(line)
	}
	var doc struct {
		Queries []spec `toml:"queries"`
	}
	if err := toml.Unmarshal([]byte(b.String()), &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	base := filepath.Base(path)
	for i := range doc.Queries {
		q := &doc.Queries[i]
		q.Query = strings.TrimSpace(q.Query)
		for _, e := range errata {
			if e.file == base && e.name == q.Name {
				if !strings.Contains(q.Query, e.old) {
					return nil, fmt.Errorf("%s: erratum for %s no longer applies (no %q in its query): remove it", path, q.Name, e.old)
				}
				q.Query = strings.Replace(q.Query, e.old, e.new, 1)
			}
		}
	}
	return doc.Queries, nil
}

// errata are upstream corrections to the copies of the spec files in ../shared, which
// predate them. Each is applied to its case before it runs, on every index.
var errata = []struct {
	file, name string
	old, new   string
	why        string
}{
	{
		file: "test_queries.toml", name: "sequencesOnDifferentEventTypes7",
		old: "maxspan=500ms", new: "maxspan=50ms",
		why: "elastic/elasticsearch#76953 (EQL: sequences support nano-timestamps, 2021) changed this case to 50ms " +
			"when test_queries.toml started to run on endgame-140-nanos too: there the candidate sequences span " +
			"50.1-50.9 ms, so 500ms would accept them (as Elasticsearch does), while the expected result stays []. " +
			"Our copy (commit 7165bf94) predates the change.",
	},
}

// dataset is the documents of one or more indices, in load order, with their mapping.
type dataset struct {
	docs    [][]byte
	mapping []byte // one merged {"properties":...} document, explicit and dynamic
}

// readDocs reads a .data/.json file: a JSON array of objects, `//` comment lines dropped.
func readDocs(path string) ([]map[string]json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var clean bytes.Buffer
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("//")) {
			clean.WriteByte('\n')
			continue
		}
		clean.Write(line)
	}
	var docs []map[string]json.RawMessage
	dec := json.NewDecoder(&clean)
	dec.UseNumber()
	if err := dec.Decode(&docs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return docs, nil
}

// readMapping reads a .mapping file: `#` lines dropped, [runtime_random_keyword_type] as keyword.
func readMapping(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var clean strings.Builder
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		clean.WriteString(strings.ReplaceAll(line, "[runtime_random_keyword_type]", "keyword"))
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(clean.String()), &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if inner, ok := m["mappings"].(map[string]any); ok {
		m = inner
	}
	return m, nil
}

// mergeProps merges mapping src into dst. Fields already in dst keep their type; a date
// field with another format in src accepts both formats (the indices of a sample query
// disagree on @timestamp_pretty, and Elasticsearch parses each with its own index's format).
func mergeProps(dst, src map[string]any) {
	dp, _ := dst["properties"].(map[string]any)
	sp, _ := src["properties"].(map[string]any)
	if sp == nil {
		return
	}
	if dp == nil {
		dp = map[string]any{}
		dst["properties"] = dp
	}
	for name, sv := range sp {
		sf := sv.(map[string]any)
		df, ok := dp[name].(map[string]any)
		if !ok {
			dp[name] = sf
			continue
		}
		if _, has := df["type"]; !has && df["properties"] != nil {
			mergeProps(df, sf)
			continue
		}
		if df["type"] == "date" && sf["type"] == "date" {
			a, _ := df["format"].(string)
			b, _ := sf["format"].(string)
			if a != "" && b != "" && a != b {
				df["format"] = a + "||" + b
			}
		}
	}
}

// dynamicMapping maps the fields of docs as Elasticsearch's dynamic mapping would:
// string → text with a keyword sub-field, integer → long, fraction → float, bool → boolean.
func dynamicMapping(docs []map[string]json.RawMessage) map[string]any {
	root := map[string]any{"properties": map[string]any{}}
	var walk func(props map[string]any, name string, raw json.RawMessage)
	walk = func(props map[string]any, name string, raw json.RawMessage) {
		if head, rest, dotted := strings.Cut(name, "."); dotted {
			obj, ok := props[head].(map[string]any)
			if !ok {
				obj = map[string]any{"properties": map[string]any{}}
				props[head] = obj
			}
			if p, ok := obj["properties"].(map[string]any); ok {
				walk(p, rest, raw)
			}
			return
		}
		if _, done := props[name]; done {
			if o, ok := props[name].(map[string]any); !ok || o["properties"] == nil {
				return
			}
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			return
		}
		for {
			arr, ok := v.([]any)
			if !ok {
				break
			}
			v = nil
			for _, e := range arr {
				if e != nil {
					v = e
					break
				}
			}
		}
		switch x := v.(type) {
		case string:
			props[name] = map[string]any{"type": "text", "fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 256}}}
		case json.Number:
			if _, err := x.Int64(); err == nil {
				props[name] = map[string]any{"type": "long"}
			} else {
				props[name] = map[string]any{"type": "float"}
			}
		case bool:
			props[name] = map[string]any{"type": "boolean"}
		case map[string]any:
			obj, ok := props[name].(map[string]any)
			if !ok {
				obj = map[string]any{"properties": map[string]any{}}
				props[name] = obj
			}
			sub, _ := json.Marshal(x)
			var fields map[string]json.RawMessage
			_ = json.Unmarshal(sub, &fields)
			for k, r := range fields {
				walk(obj["properties"].(map[string]any), k, r)
			}
		}
	}
	for _, d := range docs {
		for k, raw := range d {
			walk(root["properties"].(map[string]any), k, raw)
		}
	}
	return root
}

// loadIndices loads indices (data file, transform, mapping file) in order as one dataset.
func loadIndices(dir string, parts []indexPart) (*dataset, error) {
	merged := map[string]any{"properties": map[string]any{}}
	var all []map[string]json.RawMessage
	for _, p := range parts {
		docs, err := readDocs(filepath.Join(dir, p.data))
		if err != nil {
			return nil, err
		}
		if p.transform != nil {
			for _, d := range docs {
				if err := p.transform(d); err != nil {
					return nil, err
				}
			}
		}
		m, err := readMapping(filepath.Join(dir, p.mapping))
		if err != nil {
			return nil, err
		}
		mergeProps(merged, m)
		all = append(all, docs...)
	}
	mergeProps(merged, dynamicMapping(all))
	ds := &dataset{}
	var err error
	if ds.mapping, err = json.Marshal(merged); err != nil {
		return nil, err
	}
	for _, d := range all {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		ds.docs = append(ds.docs, b)
	}
	return ds, nil
}

type indexPart struct {
	data, mapping string
	transform     func(map[string]json.RawMessage) error
}

// filetimeToMillis is the endgame-140 transform: @timestamp = FILETIME / 10000 - 11644473600000.
func filetimeToMillis(d map[string]json.RawMessage) error {
	ft, err := strconv.ParseInt(string(d["timestamp"]), 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %s: %w", d["timestamp"], err)
	}
	d["@timestamp"] = json.RawMessage(strconv.FormatInt(ft/10000-11644473600000, 10))
	return nil
}

// filetimeToNanos is the endgame-140-nanos transform: the FILETIME integer read as epoch
// nanoseconds; @timestamp is its first 12 digits (ms), plus "." and the 6 remaining digits
// unless they are 000000; timestamp becomes the value / 1,000,000.
func filetimeToNanos(d map[string]json.RawMessage) error {
	raw := string(d["timestamp"])
	ft, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || len(raw) < 13 {
		return fmt.Errorf("timestamp %s: not a FILETIME", raw)
	}
	ts := raw[:12]
	if rest := raw[12:]; strings.Trim(rest, "0") != "" {
		ts += "." + rest
	}
	q, _ := json.Marshal(ts)
	d["@timestamp"] = q
	d["timestamp"] = json.RawMessage(strconv.FormatInt(ft/1_000_000, 10))
	return nil
}
