package eval

import (
	"net/netip"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// ftype is the class of a field's indexed values, the way it decides comparison
// semantics. It is derived from the mapping type (see classOf).
type ftype uint8

const (
	ftDynamic   ftype = iota // no mapping: the type of each JSON value decides
	ftKeyword                // keyword, constant_keyword, wildcard, text via its keyword sub-field
	ftLong                   // long, integer, short, byte
	ftDouble                 // double, float, half_float, scaled_float
	ftBool                   // boolean
	ftIP                     // ip
	ftVersion                // version
	ftDate                   // date (millisecond precision)
	ftDateNanos              // date_nanos
	ftText                   // text without a keyword sub-field: not searchable by EQL
	ftOther                  // a type EQL cannot compare (object, nested, geo_point, a broken alias, ...)
)

func (t ftype) String() string {
	return [...]string{"dynamic", "keyword", "long", "double", "boolean", "ip", "version", "date", "date_nanos", "text", "unsupported"}[t]
}

// static returns the static type of values of a field of type t.
func (t ftype) static() stype {
	switch t {
	case ftKeyword:
		return stString
	case ftLong, ftDouble:
		return stNumber
	case ftBool:
		return stBool
	case ftIP:
		return stIP
	case ftVersion:
		return stVersion
	case ftDate, ftDateNanos:
		return stDate
	}
	return stAny
}

// classOf returns the comparison class of a mapped field.
func classOf(mf mapping.Field) ftype {
	t := mf.Type
	switch {
	case t == mapping.Dynamic:
		return ftDynamic
	case t.IsKeywordLike():
		return ftKeyword
	case t == mapping.Text:
		if mf.Exact != nil {
			return ftKeyword
		}
		return ftText
	case t.IsInteger():
		return ftLong
	case t.IsNumeric():
		return ftDouble
	case t == mapping.Boolean:
		return ftBool
	case t == mapping.IP:
		return ftIP
	case t == mapping.Version:
		return ftVersion
	case t == mapping.Date:
		return ftDate
	case t == mapping.DateNanos:
		return ftDateNanos
	}
	return ftOther
}

// dynamicIgnoreAbove bounds the strings dynamic mapping indexes: none (see the comment on
// dynamicKeyword in package mapping; the string fast path below must agree with it).
const dynamicIgnoreAbove = 0

// fieldRef is a field read by a compiled expression: where its values live in an
// event and how a source value becomes the value Elasticsearch indexed.
type fieldRef struct {
	name string // as written in the query
	slot event.Slot
	typ  ftype
	mf   mapping.Field // what the mapping says (Type Dynamic without a mapping)
	// fastStr: a source string s with fastString(s) is indexed as s itself, so the
	// string tests may skip Normalize. strMax bounds len(s) (0: no bound). yearCheck: a
	// string that starts with a year may be a date (date detection of a dynamic field).
	fastStr   bool
	strMax    int
	yearCheck bool
	// A dynamic field whose integers are longs and booleans booleans, as they are.
	fastInt, fastBool bool
	// A constant_keyword with a value: every event has exactly constVal.
	hasConst bool
	constVal value
	// The indexed value of an explicit null (the mapping's null_value).
	hasNullValue bool
	nullValue    value
}

func newFieldRef(name string, mf mapping.Field) *fieldRef {
	f := &fieldRef{name: name, typ: classOf(mf), mf: mf}
	kw := mf
	if mf.Type == mapping.Text && mf.Exact != nil {
		kw = *mf.Exact
	}
	switch {
	case mf.Type == mapping.Dynamic && mf.Detect == nil:
		f.fastStr, f.strMax, f.yearCheck = true, dynamicIgnoreAbove, true
		f.fastInt, f.fastBool = true, true
	case mf.Type == mapping.Dynamic:
		f.setDynamicFast(mf.Detect)
	case kw.Type == mapping.Keyword || kw.Type == mapping.Wildcard:
		f.fastStr, f.strMax = true, kw.IgnoreAbove
	case kw.Type == mapping.ConstantKeyword:
		if kw.Value != "" {
			f.hasConst, f.constVal = true, strValue(kw.Value)
		} else {
			f.fastStr, f.strMax = true, kw.IgnoreAbove
		}
	}
	if nv, ok := mf.Normalize(event.Value{Kind: event.KindNull}); ok {
		if v, ok := f.indexed(nv); ok {
			f.hasNullValue, f.nullValue = true, v
		}
	}
	return f
}

// setDynamicFast sets the fast paths of a dynamic field of a mapping: strings, when they
// are keywords (or text with a keyword sub-field) and neither a numeric detection nor a
// date detection with other than the default formats (which all begin with a year) can
// take them for something else; integers and booleans, when they stay as they are.
func (f *fieldRef) setDynamicFast(d *mapping.Detection) {
	kw := d.String
	if kw.Type == mapping.Text && kw.Exact != nil {
		kw = *kw.Exact
	}
	if (kw.Type == mapping.Keyword || kw.Type == mapping.Wildcard) && kw.NullValue == nil && !d.NumericDetection &&
		(d.DateFormats == "" || d.DateFormats == mapping.DefaultDynamicDateFormats) {
		f.fastStr, f.strMax, f.yearCheck = true, kw.IgnoreAbove, d.DateFormats != ""
	}
	f.fastInt = d.Long.Type == mapping.Long && d.Long.NullValue == nil
	f.fastBool = d.Boolean.Type == mapping.Boolean && d.Boolean.NullValue == nil
}

// fastString reports whether the source string s is indexed as s itself: a keyword
// within ignore_above (a byte length bound implies the UTF-16 bound Elasticsearch
// checks), and, for a dynamic field, a string that date detection cannot take for a
// date (every format of dynamic_date_formats begins with a year of at least four
// digits). TestFastStringAgreesWithNormalize holds this to mapping.Field.Normalize.
func (f *fieldRef) fastString(s string) bool {
	if !f.fastStr || (f.strMax > 0 && len(s) > f.strMax) {
		return false
	}
	return !f.yearCheck || !startsWithYear(s)
}

func startsWithYear(s string) bool {
	if len(s) < 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// convert turns one source value of the field into the value Elasticsearch indexed
// (mapping.Field.Normalize); ok is false when it indexes nothing.
func (f *fieldRef) convert(v event.Value) (value, bool) {
	switch {
	case v.Kind == event.KindString && f.fastString(v.Str):
		return strValue(v.Str), true
	case v.Kind == event.KindInt && f.fastInt: // dynamic long: as is
		return longValue(v.Int), true
	case v.Kind == event.KindBool && f.fastBool:
		return boolValue(v.Int != 0), true
	case v.Kind == event.KindString && f.typ == ftIP: // Normalize's canonical text, unwritten
		a, err := netip.ParseAddr(v.Str)
		if err != nil || a.Zone() != "" {
			return nullValue, false
		}
		return value{k: kIP, ip: a.Unmap()}, true
	}
	if f.typ == ftDynamic {
		c := f.mf.Concrete(v)
		nv, ok := c.Normalize(v)
		if !ok {
			return nullValue, false
		}
		return indexedAs(classOf(c), nv)
	}
	nv, ok := f.mf.Normalize(v)
	if !ok {
		return nullValue, false
	}
	return indexedAs(f.typ, nv)
}

// indexed turns a normalised value of f (see mapping.Field.Normalize) into a runtime
// value.
func (f *fieldRef) indexed(nv event.Value) (value, bool) { return indexedAs(f.typ, nv) }

// indexedAs turns a normalised value (see mapping.Field.Normalize) of a field of class
// typ into a runtime value.
func indexedAs(typ ftype, nv event.Value) (value, bool) {
	switch typ {
	case ftIP:
		a, err := netip.ParseAddr(nv.Str)
		return value{k: kIP, ip: a}, err == nil
	case ftVersion:
		return value{k: kVersion, s: nv.Str}, nv.Kind == event.KindString
	case ftDate: // epoch milliseconds (mapping.Field.Normalize)
		return dateValue(event.Instant{Ms: nv.Int}), nv.Kind == event.KindInt
	case ftDateNanos: // epoch nanoseconds
		return dateValue(event.InstantOfNanos(nv.Int)), nv.Kind == event.KindInt
	}
	switch nv.Kind {
	case event.KindString:
		return strValue(nv.Str), true
	case event.KindInt:
		return longValue(nv.Int), true
	case event.KindFloat:
		return dblValue(nv.Float64()), true
	case event.KindBool:
		return boolValue(nv.Int != 0), true
	}
	return nullValue, false
}
