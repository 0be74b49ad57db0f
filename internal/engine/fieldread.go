package engine

import (
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
	field    mapping.Field
	stamp    int // a timestamp reader's number in its Memo (see Memo.Prime), -1 if none
}

// newValueReader resolves f through the mapping (nil: dynamic mapping) and registers its
// source path in fields. A field the mapping does not declare and does not map
// dynamically (dynamic false or strict) is an error unless optional.
func newValueReader(f *eql.Field, fields *event.Fields, m *mapping.Mapping) (valueReader, error) {
	r := valueReader{optional: f.Optional, stamp: -1}
	mf, ok := m.Resolve(f.Name)
	if mode := m.DynamicAt(f.Name); !ok && (mode == mapping.DynamicFalse || mode == mapping.DynamicStrict) {
		if f.Optional {
			r.absent = true
			return r, nil
		}
		return r, errorf(f.At, "Unknown column [%s]", f.Name)
	}
	r.field = mf
	r.slot = fields.Add(mf.Source)
	return r, nil
}

// newPathReader is newValueReader for a plain dotted path (timestamp, tiebreaker); a path
// the mapping does not know is read as dynamic.
func newPathReader(path string, fields *event.Fields, m *mapping.Mapping) valueReader {
	mf, _ := m.Resolve(path)
	if mf.Source == "" {
		mf.Source = path
	}
	return valueReader{field: mf, slot: fields.Add(mf.Source), stamp: -1}
}

// convert turns one source value (or an explicit null, for null_value) into a key value;
// ok is false when Elasticsearch would index nothing for it.
func (r *valueReader) convert(v event.Value) (keyVal, bool) {
	c := r.field.Concrete(v)
	nv, ok := c.Normalize(v)
	if !ok {
		return keyVal{}, false
	}
	switch c.Type {
	case mapping.Date: // epoch milliseconds
		return keyVal{kind: kDate, i: nv.Int}, true
	case mapping.DateNanos: // epoch nanoseconds
		t := event.InstantOfNanos(nv.Int)
		return keyVal{kind: kDate, i: t.Ms, ns: t.Nanos}, true
	}
	switch nv.Kind {
	case event.KindBool:
		return keyVal{kind: kBool, i: nv.Int}, true
	case event.KindInt:
		return keyVal{kind: kInt, i: nv.Int}, true
	case event.KindFloat:
		return keyVal{kind: kFloat, f: nv.Float64()}, true
	case event.KindString:
		return keyVal{kind: kString, s: nv.Str}, true
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
		if len(dst) == start && r.field.NullValue != nil && ev.HasNull(r.slot) {
			// null_value: Elasticsearch indexes the configured value for an explicit null.
			if kv, ok := r.convert(event.Value{Kind: event.KindNull}); ok {
				dst = append(dst, kv)
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

// tsUnit is the unit, in nanoseconds, of the times timestamp reads: those of the field's
// doc values, by which Elasticsearch orders events. A date_nanos field counts nanoseconds
// (1970 to 2262); any other field, a date or one that is parsed as a date, milliseconds
// (any year a long of milliseconds holds).
func (r *valueReader) tsUnit() int64 {
	if r.field.Type == mapping.DateNanos {
		return 1
	}
	return 1e6
}

// timestamp reads the event time, in tsUnit: a date field as Elasticsearch indexes it, any
// other field parsed with the default date format (ISO 8601 or epoch milliseconds).
func (r *valueReader) timestamp(ev *event.Event) (int64, bool) {
	for _, v := range ev.Values(r.slot) {
		if r.field.Type.IsDate() {
			if nv, ok := r.field.Normalize(v); ok { // ms for date, ns for date_nanos
				return nv.Int, true
			}
			continue
		}
		if t, ok := mapping.ParseDate(v, ""); ok {
			return t.Ms, true
		}
	}
	return 0, false
}
