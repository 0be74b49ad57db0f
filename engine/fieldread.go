package engine

import (
	"fmt"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// valueReader reads the values of one field of an event as key values, after the mapping's
// normalisation (the value Elasticsearch indexes: ip canonical, dates as instants, numbers
// from strings, null_value for explicit nulls).
type valueReader struct {
	slot     event.Slot
	optional bool
	absent   bool // optional field unknown to the mapping: always null
	hasField bool // mapping resolved the field
	field    mapping.Field
	date     bool
}

// newValueReader resolves path through the mapping and registers the source path in fields.
func newValueReader(f *eql.Field, fields *event.Fields, m *mapping.Mapping) (valueReader, error) {
	r := valueReader{optional: f.Optional}
	mf, ok := m.Resolve(f.Name)
	if !ok && m != nil {
		if f.Optional {
			r.absent = true
			return r, nil
		}
		return r, fmt.Errorf("%d:%d: Unknown column [%s]", f.At.Line, f.At.Column, f.Name)
	}
	path := f.Name
	if ok {
		r.hasField = true
		r.field = mf
		if mf.Path != "" {
			path = mf.Path
		}
		r.date = mf.Type == mapping.Date || mf.Type == mapping.DateNanos
	}
	r.slot = fields.Add(path)
	return r, nil
}

// newPathReader is newValueReader for a plain dotted path (timestamp, tiebreaker).
func newPathReader(path string, fields *event.Fields, m *mapping.Mapping) valueReader {
	r, err := newValueReader(&eql.Field{Name: path}, fields, m)
	if err != nil { // an unmapped timestamp or tiebreaker: read the source as is
		r = valueReader{slot: fields.Add(path)}
	}
	return r
}

// convert turns one source value into a key value; ok is false if the value cannot be
// indexed with the field's type (Elasticsearch would have rejected or ignored it).
func (r *valueReader) convert(v event.Value) (keyVal, bool) {
	if r.hasField {
		if r.date {
			ns, ok := mapping.ParseDate(v, r.field.Format)
			if !ok {
				return keyVal{}, false
			}
			return keyVal{kind: kDate, i: ns}, true
		}
		nv, ok := r.field.Normalize(v)
		if !ok {
			return keyVal{}, false
		}
		v = nv
	}
	switch v.Kind {
	case event.KindBool:
		return keyVal{kind: kBool, i: v.Int}, true
	case event.KindInt:
		return keyVal{kind: kInt, i: v.Int}, true
	case event.KindFloat:
		return keyVal{kind: kFloat, f: v.Float}, true
	case event.KindString:
		return keyVal{kind: kString, s: v.Str}, true
	}
	return keyVal{}, false
}

// keyValues appends the distinct non-null values of the field to dst. For an optional field
// without a value it appends one null. The result is empty when the event cannot take part.
func (r *valueReader) keyValues(ev *event.Event, dst []keyVal) []keyVal {
	start := len(dst)
	if !r.absent {
		for _, v := range ev.Values(r.slot) {
			kv, ok := r.convert(v)
			if !ok {
				continue
			}
			dup := false
			for _, d := range dst[start:] {
				if compareKeyVal(d, kv) == 0 && d.kind == kv.kind {
					dup = true
					break
				}
			}
			if !dup {
				dst = append(dst, kv)
			}
		}
		if len(dst) == start && r.hasField && ev.HasNull(r.slot) {
			// null_value: Elasticsearch indexes the configured value for an explicit null.
			if nv, ok := r.field.Normalize(event.Value{Kind: event.KindNull}); ok && nv.Kind != event.KindNull {
				if kv, ok := r.convert(nv); ok {
					dst = append(dst, kv)
				}
			}
		}
	}
	if len(dst) == start && r.optional {
		dst = append(dst, keyVal{kind: kNull})
	}
	return dst
}

// first returns the field's smallest value as Elasticsearch's doc values would (used for
// the timestamp and the tiebreaker).
func (r *valueReader) first(ev *event.Event) (keyVal, bool) {
	var best keyVal
	found := false
	for _, v := range ev.Values(r.slot) {
		kv, ok := r.convert(v)
		if !ok {
			continue
		}
		if !found || compareKeyVal(kv, best) < 0 {
			best, found = kv, true
		}
	}
	return best, found
}

// timestamp reads the event time in nanoseconds.
func (r *valueReader) timestamp(ev *event.Event) (int64, bool) {
	for _, v := range ev.Values(r.slot) {
		if r.hasField && !r.date {
			if nv, ok := r.field.Normalize(v); ok {
				v = nv
			}
		}
		format := ""
		if r.hasField {
			format = r.field.Format
		}
		if ns, ok := mapping.ParseDate(v, format); ok {
			return ns, true
		}
	}
	return 0, false
}
