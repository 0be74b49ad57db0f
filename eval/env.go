package eval

import (
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
	// Mapping gives the field types. nil means dynamic mapping: each value's type
	// comes from its JSON form (see mapping.DynamicType) and a field no event has is
	// simply missing. With a mapping, a field it does not declare is the compile
	// error "Unknown column [x]", unless written ?x (then it is the null literal).
	Mapping *mapping.Mapping
	// CategoryField is the field an event query's category is compared with
	// (DefaultCategoryField when empty).
	CategoryField string
}

// resolve finds the field a query names. isNull is set for an optional field (?x)
// that the mapping does not declare: Elasticsearch replaces it with the null literal
// (EQL Analyzer: an unresolved optional field becomes Literal.NULL). With a mapping,
// any other undeclared field is the error "Unknown column [x]" (QL Verifier on an
// UnresolvedAttribute); without one every field is dynamic.
func (c *compiler) resolve(n *eql.Field) (f *fieldRef, isNull bool, err error) {
	if f, ok := c.byNm[n.Name]; ok {
		return f, false, nil
	}
	m := c.env.Mapping
	mf, ok := m.Resolve(n.Name)
	if !ok && m != nil {
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
