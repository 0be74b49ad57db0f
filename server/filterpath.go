package server

import (
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// filterPath is the filter_path query parameter of a _bulk request, as Elasticsearch reads
// it: comma-separated field paths, dot-separated, a "*" in a name matching any characters;
// the response keeps the fields a path names, whole, and the objects and arrays on the way
// to them (arrays are transparent: a path goes on into each element), and leaves out those
// it names nothing in. Logstash sends "errors,items.*.error,items.*.status", so that a bulk
// of a thousand documents is answered in a few kilobytes. Only inclusive paths without
// "**" are taken; a parameter with an exclusion ("-path") or "**" is ignored, and the whole
// response is sent, as for every other endpoint.
type filterPath [][]string

// parseFilterPath reads a filter_path parameter; nil means no filtering.
func parseFilterPath(s string) filterPath {
	var f filterPath
	for p := range strings.SplitSeq(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if p[0] == '-' || strings.Contains(p, "**") {
			return nil
		}
		f = append(f, strings.Split(p, "."))
	}
	return f
}

// match reports whether a path takes the field at path whole (in), or else names fields
// below it (deeper).
func (f filterPath) match(path []string) (in, deeper bool) {
	for _, segs := range f {
		if len(segs) < len(path) {
			continue
		}
		ok := true
		for i, name := range path {
			if !globMatch(segs[i], name) {
				ok = false
				break
			}
		}
		switch {
		case !ok:
		case len(segs) == len(path):
			return true, false
		default:
			deeper = true
		}
	}
	return false, deeper
}

// globMatch reports whether name matches pattern, where "*" matches any characters.
func globMatch(pattern, name string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == name
	}
	if !strings.HasPrefix(name, pattern[:star]) {
		return false
	}
	name, pattern = name[star:], pattern[star+1:]
	for i := 0; i <= len(name); i++ {
		if globMatch(pattern, name[i:]) {
			return true
		}
	}
	return false
}

// A bulk item's fields, in the order appendItem writes them.
var (
	itemOKFields    = []string{"_index", "_id", "_version", "result", "_shards", "_seq_no", "_primary_term", "status"}
	itemErrorFields = []string{"_index", "_id", "status", "error"}
	shardsFields    = []string{"total", "successful", "failed"}
)

// itemPlan is what a filter keeps of the items of one operation (index, create...): all of
// them (whole), nothing, or the fields of in and deeper.
type itemPlan struct {
	whole, any bool
	in, deeper map[string]bool
}

// plan works out what f keeps of the items of operation op.
func (f filterPath) plan(op string) *itemPlan {
	p := &itemPlan{in: map[string]bool{}, deeper: map[string]bool{}}
	in, deeper := f.match([]string{"items", op})
	p.whole, p.any = in, in || deeper
	if !deeper {
		return p
	}
	for _, name := range []string{"_index", "_id", "_version", "result", "_shards", "_seq_no", "_primary_term", "status", "error"} {
		in, deeper := f.match([]string{"items", op, name})
		p.in[name], p.deeper[name] = in, deeper
	}
	for _, name := range shardsFields {
		p.in["_shards."+name], _ = f.match([]string{"items", op, "_shards", name})
	}
	return p
}

// appendBulkResponseFiltered writes the bulk response appendBulkResponse writes, less what
// f leaves out.
func appendBulkResponseFiltered(b []byte, took int64, items []bulkItem, f filterPath) []byte {
	start := len(b)
	b = append(b, '{')
	n := 0 // fields written
	field := func(name string) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendJSONString(b, name)
		b = append(b, ':')
	}
	if in, _ := f.match([]string{"took"}); in {
		field("took")
		b = strconv.AppendInt(b, took, 10)
	}
	if in, _ := f.match([]string{"errors"}); in {
		errs := false
		for i := range items {
			if items[i].err != nil {
				errs = true
				break
			}
		}
		field("errors")
		b = strconv.AppendBool(b, errs)
	}
	in, deeper := f.match([]string{"items"})
	switch {
	case in:
		field("items")
		b = append(b, '[')
		for i := range items {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendItem(b, &items[i])
		}
		b = append(b, ']')
	case deeper:
		mark, marked := len(b), n
		field("items")
		b = append(b, '[')
		plans := map[string]*itemPlan{}
		written := 0
		for i := range items {
			it := &items[i]
			p := plans[it.op]
			if p == nil {
				p = f.plan(it.op)
				plans[it.op] = p
			}
			if !p.any {
				continue
			}
			at := len(b)
			if written > 0 {
				b = append(b, ',')
			}
			if p.whole {
				b = appendItem(b, it)
				written++
				continue
			}
			var ok bool
			if b, ok = appendItemFiltered(b, it, p, f); ok {
				written++
			} else {
				b = b[:at]
			}
		}
		if written == 0 {
			b, n = b[:mark], marked // nothing kept: no items either
		} else {
			b = append(b, ']')
		}
	}
	if n == 0 {
		return append(b[:start], "{}"...)
	}
	return append(b, '}')
}

// appendItemFiltered writes the fields of item it that plan p keeps, and reports whether it
// kept any.
func appendItemFiltered(b []byte, it *bulkItem, p *itemPlan, f filterPath) ([]byte, bool) {
	b = append(b, `{"`...)
	b = append(b, it.op...)
	b = append(b, `":{`...)
	n := 0
	field := func(name string) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendJSONString(b, name)
		b = append(b, ':')
	}
	names := itemOKFields
	if it.err != nil {
		names = itemErrorFields
	}
	for _, name := range names {
		in, deeper := p.in[name], p.deeper[name]
		if !in && !deeper {
			continue
		}
		switch name {
		case "_index":
			if in {
				field(name)
				b = appendJSONString(b, it.index)
			}
		case "_id":
			if in && it.id != "" {
				field(name)
				b = appendJSONString(b, it.id)
			}
		case "_version", "_primary_term":
			if in {
				field(name)
				b = append(b, '1')
			}
		case "result":
			if in {
				field(name)
				b = append(b, `"created"`...)
			}
		case "_shards":
			if in {
				field(name)
				b = append(b, `{"total":1,"successful":1,"failed":0}`...)
				continue
			}
			// total 1, successful 1, failed 0, as appendItem writes them.
			at, m := len(b), 0
			field(name)
			b = append(b, '{')
			for i, s := range shardsFields {
				if p.in["_shards."+s] {
					if m > 0 {
						b = append(b, ',')
					}
					m++
					b = appendJSONString(b, s)
					b = append(b, ':', "110"[i])
				}
			}
			if m == 0 {
				b, n = b[:at], n-1
			} else {
				b = append(b, '}')
			}
		case "_seq_no":
			if in {
				field(name)
				b = strconv.AppendInt(b, it.seqNo, 10)
			}
		case "status":
			if in {
				field(name)
				st := 201
				if it.err != nil {
					st = it.err.status
				}
				b = strconv.AppendInt(b, int64(st), 10)
			}
		case "error":
			obj := it.err.appendObject(nil)
			if in {
				field(name)
				b = append(b, obj...)
				continue
			}
			// Below the error: its fields, as written (the rare case of a filter reaching
			// into item errors).
			v, err := fastjson.ParseBytes(obj)
			if err != nil {
				continue
			}
			if kept, ok := appendValueFiltered(nil, v, []string{"items", it.op, "error"}, f); ok {
				field(name)
				b = append(b, kept...)
			}
		}
	}
	return append(b, "}}"...), n > 0
}

// appendValueFiltered writes what f keeps of v, the value at path, and reports whether it
// kept anything: the fields of an object it names (whole) or names fields below, the
// elements of an array filtered alike.
func appendValueFiltered(b []byte, v *fastjson.Value, path []string, f filterPath) ([]byte, bool) {
	switch v.Type() {
	case fastjson.TypeObject:
		start := len(b)
		b = append(b, '{')
		n := 0
		v.GetObject().Visit(func(k []byte, x *fastjson.Value) {
			p := append(path[:len(path):len(path)], string(k))
			in, deeper := f.match(p)
			if !in && !deeper {
				return
			}
			at := len(b)
			if n > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, string(k))
			b = append(b, ':')
			if in {
				b = x.MarshalTo(b)
				n++
				return
			}
			var ok bool
			if b, ok = appendValueFiltered(b, x, p, f); ok {
				n++
			} else {
				b = b[:at]
			}
		})
		if n == 0 {
			return b[:start], false
		}
		return append(b, '}'), true
	case fastjson.TypeArray:
		start := len(b)
		b = append(b, '[')
		n := 0
		for _, x := range v.GetArray() {
			at := len(b)
			if n > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendValueFiltered(b, x, path, f); ok {
				n++
			} else {
				b = b[:at]
			}
		}
		if n == 0 {
			return b[:start], false
		}
		return append(b, ']'), true
	}
	return b, false // a scalar below the path: only a path naming it keeps it
}
