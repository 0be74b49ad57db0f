package detect

import (
	"encoding/json"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// Source values that the alerts index's mapping cannot take are removed from an alert's
// source part before it is written, as Kibana's traverseAndMutateDoc does with its ECS field
// map (ECS fields only; every other field is unmapped in the alerts index, which takes
// anything there):
//
//   - a value of an ECS ip, date, boolean or numeric field that does not parse as one
//     (source.ip "not-an-ip", process.pid "abc"), and a null there;
//   - an object where ECS maps a scalar (host.name {"x":1}), a scalar or null where it maps
//     an object (host.os "linux"), and a key whose dotted path runs through an ECS scalar
//     (host.name.first);
//   - each offending element of an array alone; arrays left empty, and objects left empty,
//     are removed too (so are empty arrays and objects the source had).
//
// Kibana's checks are looser than Elasticsearch's in places (a long from "1e5" is fine for
// both, from "0x10" only for Kibana; a date "" or an address "127.1" only for Kibana), and
// where they are, a value either one refuses is removed, so that every alert indexes. So
// are the keys Elasticsearch refuses in any document: a metadata field name at the top
// (_id, _index, ...) and a name with an empty or blank part ("a..b", "a.", " ").
//
// The check costs a map lookup per key and a parse per value of a typed field; a document
// without conflicts is not copied.

// fitKind is what values a field path takes.
type fitKind uint8

const (
	fitAny    fitKind = iota // a type not checked (geo_point, an alias): anything
	fitObject                // object, nested, flattened: objects only
	fitScalar                // keyword, wildcard, text, version...: anything but an object
	fitLong                  // long, integer, short, byte
	fitFloat                 // double, float, half_float, scaled_float
	fitBool
	fitIP
	fitDate
)

// fitNode is a mapped field path: its kind and, for an object, the fields below it.
type fitNode struct {
	kind   fitKind
	typ    mapping.Type
	format string // a date field's format
	kids   map[string]*fitNode
}

// fitTree is the mapping of the alerts index as the alert builder checks source values
// against it. It is read-only once built.
type fitTree struct {
	root fitNode
}

// newFitTree builds the tree of m's fields: every declared field but multi-fields, which
// have no source value of their own.
func newFitTree(m *mapping.Mapping) *fitTree {
	t := &fitTree{root: fitNode{kind: fitObject, kids: map[string]*fitNode{}}}
	for _, p := range m.Paths() {
		f, ok := m.Resolve(p)
		if !ok || f.Source != p {
			continue
		}
		n := &t.root
		for seg := range strings.SplitSeq(p, ".") {
			if n.kids == nil {
				n.kids = map[string]*fitNode{}
			}
			k := n.kids[seg]
			if k == nil {
				k = &fitNode{kind: fitObject}
				n.kids[seg] = k
			}
			n = k
		}
		n.typ, n.format = f.Type, f.Format
		switch {
		case f.Type == mapping.Object || f.Type == mapping.Flattened:
			n.kind = fitObject
		case f.Type.IsKeywordLike() || f.Type == mapping.Text || f.Type == mapping.Version:
			n.kind = fitScalar
		case f.Type.IsInteger():
			n.kind = fitLong
		case f.Type.IsNumeric():
			n.kind = fitFloat
		case f.Type == mapping.Boolean:
			n.kind = fitBool
		case f.Type == mapping.IP:
			n.kind = fitIP
		case f.Type.IsDate():
			n.kind = fitDate
		default:
			n.kind = fitAny
		}
	}
	return t
}

// metadataFields are the names Elasticsearch refuses at the top of a document.
var metadataFields = map[string]bool{
	"_id": true, "_index": true, "_routing": true, "_ignored": true, "_ignored_source": true, "_source": true,
	"_seq_no": true, "_primary_term": true, "_version": true, "_field_names": true, "_tier": true,
	"_nested_path": true, "_data_stream_timestamp": true,
}

// bannedTop reports whether a top-level key is one Kibana removes from every source (kibana,
// signal and threshold_result, nested or dotted) or one Elasticsearch refuses there.
func bannedTop(k string) bool {
	first, _, _ := strings.Cut(k, ".")
	switch first {
	case "kibana", "signal", "threshold_result":
		return true
	}
	return k != "" && k[0] == '_' && metadataFields[k]
}

// badFieldName reports whether Elasticsearch refuses the key: empty, or with a part (between
// dots) that is empty or blank.
func badFieldName(k string) bool {
	start := 0
	for i := 0; i <= len(k); i++ {
		if i < len(k) && k[i] != '.' {
			continue
		}
		if i == start || blank(k[start:i]) {
			return true
		}
		start = i + 1
	}
	return false
}

func blank(s string) bool {
	if s[0] > ' ' && s[0] < 0x80 {
		return false // the common case: a name starting with a visible character
	}
	return strings.TrimSpace(s) == ""
}

// fitSource removes from doc, an event's source whose top level the caller owns, the values
// the alerts index cannot take (see above). Nested objects and arrays are copied before
// they are changed, never changed in place.
//
// A nil tree stands for a mapping without fields: only the keys Kibana or Elasticsearch
// refuse whatever the mapping, and empty arrays and objects, are removed.
func (t *fitTree) fitSource(doc document) {
	var root *fitNode
	if t != nil {
		root = &t.root
	}
	for k, v := range doc {
		if bannedTop(k) || badFieldName(k) {
			delete(doc, k)
			continue
		}
		nv, keep, changed := t.fitKey(root, k, v)
		switch {
		case !keep:
			delete(doc, k)
		case changed:
			doc[k] = nv
		}
	}
}

// child returns the node of key k (which may hold dots) below n, nil when k is not mapped;
// conflict is set when a part of k other than the last is a mapped field that is not an
// object (the key runs through a scalar).
func (t *fitTree) child(n *fitNode, k string) (c *fitNode, conflict bool) {
	if n == nil {
		return nil, false
	}
	if c, ok := n.kids[k]; ok { // the common case, a key without dots
		return c, false
	}
	if strings.IndexByte(k, '.') < 0 {
		return nil, false
	}
	c = n
	for seg := range strings.SplitSeq(k, ".") {
		switch {
		case c == nil || c.kind == fitAny:
			return nil, false
		case c.kind != fitObject:
			return nil, true
		}
		c = c.kids[seg]
	}
	return c, false
}

// fitKey checks the value of key k of an object at node n: what to keep (nv), whether to
// keep anything, and whether nv differs from v (a new value: v is not changed).
func (t *fitTree) fitKey(n *fitNode, k string, v any) (nv any, keep, changed bool) {
	c, conflict := t.child(n, k)
	if conflict {
		return nil, false, true
	}
	return t.fitValue(c, v)
}

// fitValue checks v, the value of a field at node n (nil: not mapped).
func (t *fitTree) fitValue(n *fitNode, v any) (nv any, keep, changed bool) {
	switch x := v.(type) {
	case []any:
		a, keep, changed := t.fitArray(n, x)
		if !changed {
			return v, keep, false // v itself: boxing a again would allocate
		}
		return a, keep, true
	case map[string]any:
		if n != nil && n.kind != fitObject && n.kind != fitAny {
			return nil, false, true
		}
		return t.fitObject(n, x)
	}
	if !fits(n, v) {
		return nil, false, true
	}
	return v, true, false
}

// fitObject checks the keys of an object at node n; an object left empty is removed.
func (t *fitTree) fitObject(n *fitNode, m map[string]any) (nv any, keep, changed bool) {
	var out map[string]any // m's copy, made at the first change
	for k, v := range m {
		var kv any
		var ok, ch bool
		if badFieldName(k) {
			ok, ch = false, true
		} else {
			kv, ok, ch = t.fitKey(n, k, v)
		}
		if !ch {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(m))
			for k2, v2 := range m {
				out[k2] = v2
			}
		}
		if ok {
			out[k] = kv
		} else {
			delete(out, k)
		}
	}
	if out == nil {
		return m, len(m) > 0, len(m) == 0
	}
	return out, len(out) > 0, true
}

// fitArray checks each element of an array at node n (arrays in arrays alike); an array
// left empty is removed.
func (t *fitTree) fitArray(n *fitNode, a []any) (na []any, keep, changed bool) {
	var out []any // a's kept elements, gathered from the first change
	for i, e := range a {
		ev, ok, ch := t.fitElement(n, e)
		if ch && out == nil {
			out = make([]any, i, len(a))
			copy(out, a[:i])
		}
		if out != nil && ok {
			out = append(out, ev)
		}
	}
	if out == nil {
		return a, len(a) > 0, len(a) == 0
	}
	return out, len(out) > 0, true
}

func (t *fitTree) fitElement(n *fitNode, e any) (nv any, keep, changed bool) {
	if n != nil && n.kind == fitObject {
		switch e.(type) {
		case map[string]any, []any:
		default:
			return nil, false, true // a scalar (or null) in an array of objects
		}
	}
	return t.fitValue(n, e)
}

// fits reports whether the scalar (or null) v fits a field at node n.
func fits(n *fitNode, v any) bool {
	if n == nil {
		return true
	}
	switch n.kind {
	case fitAny, fitScalar:
		return true
	case fitObject:
		return false
	case fitLong:
		return fitsLong(v, n.typ)
	case fitFloat:
		return fitsFloat(v, n.typ)
	case fitBool:
		switch x := v.(type) {
		case bool:
			return true
		case string:
			return x == "true" || x == "false" || x == ""
		}
		return false
	case fitIP:
		s, ok := v.(string)
		if !ok {
			return false
		}
		a, err := netip.ParseAddr(s)
		return err == nil && a.Zone() == ""
	case fitDate:
		var ev event.Value
		switch x := v.(type) {
		case string:
			ev = event.Value{Kind: event.KindString, Str: x}
		case json.Number:
			ev = numberValue(x)
		default:
			return false
		}
		_, ok := mapping.ParseDate(ev, n.format)
		return ok
	}
	return true
}

// numberValue is a JSON number as an event.Value.
func numberValue(x json.Number) event.Value {
	if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
		return event.Value{Kind: event.KindInt, Int: n, Str: string(x)}
	}
	f, _ := strconv.ParseFloat(string(x), 64)
	return event.FloatValue(f, string(x))
}

// integerRange is the range of an integer type.
func integerRange(t mapping.Type) (lo, hi float64) {
	switch t {
	case mapping.Integer:
		return math.MinInt32, math.MaxInt32
	case mapping.Short:
		return math.MinInt16, math.MaxInt16
	case mapping.Byte:
		return math.MinInt8, math.MaxInt8
	}
	return math.MinInt64, math.MaxInt64
}

// fitsLong: a number within the type's range (a fraction is truncated), or a string that is
// one written as a decimal without blanks (Kibana refuses strings with spaces; Elasticsearch
// reads "1e3" and "1.5" but not "0x10"), or "" (null to Elasticsearch).
func fitsLong(v any, t mapping.Type) bool {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		if x == "" {
			return true
		}
		if !decimal(x) {
			return false
		}
		s = x
	default:
		return false
	}
	lo, hi := integerRange(t)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return float64(n) >= lo && float64(n) <= hi
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return false
	}
	f = math.Trunc(f)
	if t == mapping.Long || t == mapping.Unknown {
		return f >= lo && f < hi // 2^63 itself is out of range
	}
	return f >= lo && f <= hi
}

// fitsFloat: a finite number within the type's range, or a string that is one once blanks
// around it are trimmed, or "".
func fitsFloat(v any, t mapping.Type) bool {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		if x == "" {
			return true
		}
		s = strings.Trim(x, " \t\n\v\f\r")
		if !decimal(s) {
			return false
		}
	default:
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return false
	}
	switch t {
	case mapping.Float:
		return math.Abs(f) <= math.MaxFloat32
	case mapping.HalfFloat:
		return math.Abs(f) < 65520
	}
	return true
}

// decimal reports whether s is a decimal number as both Java's BigDecimal and JavaScript's
// Number read it: a sign, digits with a point (digits on at least one side), an exponent.
func decimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}
