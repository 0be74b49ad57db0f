package eval

import (
	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
)

// Env is what a compiled expression is bound to.
type Env struct {
	// Fields receives every field path the compiled expressions read; a Decoder
	// built from it afterwards records their values. NewFields is used when nil.
	Fields *event.Fields
	// CategoryField is the field an event query's category is compared with
	// (DefaultCategoryField when empty).
	CategoryField string
}

// resolve finds the field a query names. isNull is set for an optional field (?x)
// that no mapping knows: Elasticsearch replaces it with the null literal. Without a
// mapping every field is dynamic: a field no event has is simply missing.
func (c *compiler) resolve(n *eql.Field) (f *fieldRef, isNull bool, err error) {
	if f, ok := c.byNm[n.Name]; ok {
		return f, false, nil
	}
	f = &fieldRef{name: n.Name, slot: c.env.Fields.Add(n.Name), typ: ftDynamic}
	c.byNm[n.Name] = f
	return f, false, nil
}
