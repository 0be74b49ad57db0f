package eval

import (
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// Env is what a compiled expression is bound to.
type Env struct {
	// Fields receives every field path the compiled expressions read (the _source
	// path, after alias and multi-field resolution); a Decoder built from it
	// afterwards records their values. NewFields is used when nil.
	Fields *event.Fields
	// Mapping gives the field types. nil means Tripline's dynamic mapping: each value's
	// type comes from its JSON form (see mapping.Field.Concrete) and a field no event has
	// is simply missing. A field the mapping does not declare is mapped as the mapping
	// maps undeclared fields (its dynamic templates and detection settings), unless the
	// mapping's dynamic parameter is false or strict there: then it is the compile error
	// "Unknown column [x]", or, written ?x, the null literal.
	Mapping *mapping.Mapping
	// CategoryField is the field an event query's category is compared with
	// (DefaultCategoryField when empty).
	CategoryField string
	// Now is the clock of date math's "now" in the ranges of a compiled query DSL
	// (see CompileDSL), read when the filter runs; time.Now when nil.
	Now func() time.Time
}

// resolve finds the field a query names. A field the mapping does not declare is
// dynamic, as Elasticsearch would have mapped it from the events that carry it, unless
// the mapping's dynamic parameter is false or strict there: no event can then have
// indexed it. Such a field, written ?x, is the null literal (isNull; EQL Analyzer: an
// unresolved optional field becomes Literal.NULL), and otherwise the error "Unknown
// column [x]" (QL Verifier on an UnresolvedAttribute).
func (c *compiler) resolve(n *eql.Field) (f *fieldRef, isNull bool, err error) {
	m := c.env.Mapping
	if c.inConstant && n.Optional {
		if _, declared := m.Resolve(n.Name); !declared {
			return nil, true, nil
		}
	}
	if f, ok := c.byNm[n.Name]; ok {
		return f, false, nil
	}
	mf, ok := m.Resolve(n.Name)
	if mode := m.DynamicAt(n.Name); !ok && (mode == mapping.DynamicFalse || mode == mapping.DynamicStrict) {
		if n.Optional {
			return nil, true, nil
		}
		return nil, false, errorf(n.At, "Unknown column [%s]", n.Name)
	}
	f = newFieldRef(n.Name, mf)
	f.slot = c.env.Fields.Add(mf.Source)
	c.byNm[n.Name] = f
	return f, false, nil
}
