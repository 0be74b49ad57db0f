package kql

import (
	"bytes"
	"encoding/json"
)

// ToJSON renders a tree as indented JSON for tools and for "tripline parse --language
// kuery --format json". Every node is an object with "type" and "pos" ({"offset",
// "line", "column"}):
//
//	{"type":"or"|"and", "pos", "args":[node, ...]}
//	{"type":"not", "pos", "arg":node}
//	{"type":"is", "pos", "field":literal|null, "value":literal}   (field null: free text)
//	{"type":"range", "pos", "field":literal, "op":"<"|"<="|">"|">=", "value":literal}
//	{"type":"nested", "pos", "path":literal, "query":node}
//	{"type":"literal", "pos", "kind":"string"|"wildcard"|"boolean"|"null",
//	 "value":string|bool|null, "quoted":bool, "segments":[string, ...] (wildcards only)}
//
// A wildcard's "value" is its segments joined with "*"; the segments tell a wildcard
// from an escaped asterisk.
func ToJSON(n Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(jsonNode(n)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// The JSON objects of the node types, with their keys in this order.
type (
	listJSON struct {
		Type string `json:"type"`
		Pos  Pos    `json:"pos"`
		Args []any  `json:"args"`
	}
	notJSON struct {
		Type string `json:"type"`
		Pos  Pos    `json:"pos"`
		Arg  any    `json:"arg"`
	}
	isJSON struct {
		Type  string `json:"type"`
		Pos   Pos    `json:"pos"`
		Field any    `json:"field"`
		Value any    `json:"value"`
	}
	rangeJSON struct {
		Type  string `json:"type"`
		Pos   Pos    `json:"pos"`
		Field any    `json:"field"`
		Op    string `json:"op"`
		Value any    `json:"value"`
	}
	nestedJSON struct {
		Type  string `json:"type"`
		Pos   Pos    `json:"pos"`
		Path  any    `json:"path"`
		Query any    `json:"query"`
	}
	literalJSON struct {
		Type     string   `json:"type"`
		Pos      Pos      `json:"pos"`
		Kind     string   `json:"kind"`
		Value    any      `json:"value"`
		Quoted   bool     `json:"quoted"`
		Segments []string `json:"segments,omitempty"`
	}
)

func jsonNode(n Node) any {
	switch n := n.(type) {
	case *Or:
		return listJSON{Type: "or", Pos: n.Position, Args: jsonList(n.Args)}
	case *And:
		return listJSON{Type: "and", Pos: n.Position, Args: jsonList(n.Args)}
	case *Not:
		return notJSON{Type: "not", Pos: n.Position, Arg: jsonNode(n.Arg)}
	case *Is:
		return isJSON{Type: "is", Pos: n.Position, Field: jsonLiteral(n.Field), Value: jsonLiteral(n.Value)}
	case *Range:
		return rangeJSON{Type: "range", Pos: n.Position, Field: jsonLiteral(n.Field), Op: n.Op, Value: jsonLiteral(n.Value)}
	case *Nested:
		return nestedJSON{Type: "nested", Pos: n.Position, Path: jsonLiteral(n.Path), Query: jsonNode(n.Query)}
	}
	return nil
}

func jsonList(ns []Node) []any {
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = jsonNode(n)
	}
	return out
}

func jsonLiteral(l *Literal) any {
	if l == nil {
		return nil
	}
	var v any = l.Value
	switch l.Kind {
	case Bool:
		v = l.Value == "true"
	case Null:
		v = nil
	}
	return literalJSON{Type: "literal", Pos: l.Position, Kind: l.Kind.String(), Value: v, Quoted: l.Quoted, Segments: l.Segments}
}
