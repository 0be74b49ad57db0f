package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	csvPath := flag.String("csv", "", "ECS generated/csv/fields.csv")
	out := flag.String("o", "", "output file (default: standard output)")
	flag.Parse()
	if *csvPath == "" {
		fmt.Fprintln(os.Stderr, "gen: -csv is required")
		os.Exit(2)
	}
	f, err := os.Open(*csvPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	defer f.Close()
	data, err := generate(f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: %s: %v\n", *csvPath, err)
		os.Exit(1)
	}
	if *out == "" {
		_, err = os.Stdout.Write(data)
	} else {
		err = os.WriteFile(*out, data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// field is one field of the generated mapping.
type field struct {
	path    string
	typ     string
	indexed bool
	source  string // where the field comes from, for the mapping's _meta
}

// readECS reads the rows of fields.csv and the ECS version they state.
func readECS(r io.Reader) (fields []field, version string, err error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, "", err
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, name := range []string{"ECS_Version", "Indexed", "Field", "Type"} {
		if _, ok := col[name]; !ok {
			return nil, "", fmt.Errorf("no %s column", name)
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", err
		}
		if v := rec[col["ECS_Version"]]; version == "" {
			version = v
		} else if v != version {
			return nil, "", fmt.Errorf("line %d: ECS version %s after %s", len(fields)+2, v, version)
		}
		fields = append(fields, field{path: rec[col["Field"]], typ: rec[col["Type"]],
			indexed: rec[col["Indexed"]] != "false", source: "ecs"})
	}
	if len(fields) == 0 {
		return nil, "", fmt.Errorf("no fields")
	}
	return fields, version, nil
}

// node is an object of the mapping being built, or a field.
type node struct {
	def   map[string]any   // the field's own settings (type, ignore_above, ...)
	props map[string]*node // sub-fields of an object
	multi map[string]any   // multi-fields
}

func (n *node) json() map[string]any {
	out := map[string]any{}
	for k, v := range n.def {
		out[k] = v
	}
	if len(n.props) > 0 {
		p := map[string]any{}
		for k, c := range n.props {
			p[k] = c.json()
		}
		out["properties"] = p
	}
	if len(n.multi) > 0 {
		out["fields"] = n.multi
	}
	return out
}

// settings returns the mapping of a leaf field the way ECS's generator writes it.
func settings(f field) map[string]any {
	d := map[string]any{"type": f.typ}
	switch {
	case !f.indexed:
		d["index"], d["doc_values"] = false, false
	case f.typ == "keyword":
		d["ignore_above"] = ignoreAbove(f.path)
	case f.typ == "scaled_float":
		d["scaling_factor"] = 1000
	}
	return d
}

// ignoreAbove returns ignore_above of an ECS keyword field: 1024 unless the field's ECS
// definition sets another limit (these, where ECS reuses the field, too).
func ignoreAbove(path string) int {
	for _, e := range ignoreAboveExceptions {
		if path == e.path || strings.HasSuffix(path, "."+e.path) {
			return e.limit
		}
	}
	return 1024
}

var ignoreAboveExceptions = []struct {
	path  string
	limit int
}{
	{"event.url", 2083},
	{"url.query", 2083},
	{"code_signature.thumbprint_sha256", 64},
	{"file.drive_letter", 1},
	{"origin_url", 8192},
	{"origin_referrer_url", 8192},
}

func isObject(typ string) bool { return typ == "object" || typ == "nested" || typ == "group" }

// build turns the fields into a mapping document.
func build(fields []field, meta map[string]any) ([]byte, error) {
	byPath := map[string]field{}
	for _, f := range fields {
		if old, ok := byPath[f.path]; ok && old.typ != f.typ {
			return nil, fmt.Errorf("%s is %s (%s) and %s (%s)", f.path, old.typ, old.source, f.typ, f.source)
		}
		byPath[f.path] = f
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	root := &node{props: map[string]*node{}}
	for _, p := range paths {
		f := byPath[p]
		if i := strings.LastIndexByte(p, '.'); i > 0 {
			if parent, ok := byPath[p[:i]]; ok && !isObject(parent.typ) {
				continue // a multi-field, added with its parent
			}
		}
		n := root
		for _, seg := range strings.Split(p, ".") {
			c := n.props[seg]
			if c == nil {
				c = &node{props: map[string]*node{}}
				n.props[seg] = c
			}
			n = c
		}
		if isObject(f.typ) {
			if f.typ != "group" {
				n.def = map[string]any{"type": f.typ}
			}
			continue
		}
		n.def = settings(f)
		for _, q := range paths {
			if strings.HasPrefix(q, p+".") && !strings.Contains(q[len(p)+1:], ".") {
				if n.multi == nil {
					n.multi = map[string]any{}
				}
				n.multi[q[len(p)+1:]] = settings(byPath[q])
			}
		}
	}
	doc := root.json()
	doc["_meta"] = meta
	for k, v := range dynamicSettings {
		doc[k] = v
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// dynamicSettings are the ECS templates' settings for fields they do not declare: no date
// detection, and strings as keyword with ignore_above 1024.
var dynamicSettings = map[string]any{
	"date_detection": false,
	"dynamic_templates": []any{map[string]any{"strings_as_keyword": map[string]any{
		"match_mapping_type": "string",
		"mapping":            map[string]any{"type": "keyword", "ignore_above": 1024},
	}}},
}

// generate reads fields.csv and returns the mapping document.
func generate(r io.Reader) ([]byte, error) {
	fields, version, err := readECS(r)
	if err != nil {
		return nil, err
	}
	meta := map[string]any{
		"description":  "Tripline's built-in ECS mapping (--mapping ecs). Generated by mapping/internal/gen; do not edit.",
		"ecs":          fmt.Sprintf("ECS %s generated/csv/fields.csv, Copyright Elasticsearch B.V., Apache License 2.0 (https://github.com/elastic/ecs)", version),
		"integrations": "field names and types from Elastic integrations that ECS lacks (Kubernetes audit logs, Defend for Containers, Elastic Defend); see mapping/internal/gen/integrations.go",
	}
	for _, f := range integrationFields {
		f.indexed, f.source = true, "integrations"
		fields = append(fields, f)
	}
	return build(fields, meta)
}
