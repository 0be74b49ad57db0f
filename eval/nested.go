package eval

import (
	"fmt"
	"strings"
	"sync"

	"github.com/valyala/fastjson"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/query"
)

// nestedQuery compiles a nested query. Elasticsearch indexes each object of a field
// mapped "nested" as a document of its own, so the inner query must hold for one
// object. An Event holds each field's values flattened across the objects, so the
// nested leaf reads the objects from the event's document instead: it decodes each one
// as an event of its own (with a decoder of the inner query's fields, paths relative to
// the object) and runs the inner query on it. The parser, decoder and buffers are pooled:
// a steady state allocates nothing.
func (d *dsl) nestedQuery(n *query.Nested) (cond, error) {
	m := d.c.env.Mapping
	if !m.IsNested(n.Path) || m.NestedPath(n.Path) != d.nested {
		return cond{}, &Error{Msg: fmt.Sprintf("failed to create query: [nested] failed to find nested object under path [%s]", n.Path)}
	}
	rel := n.Path
	if d.nested != "" {
		rel = strings.TrimPrefix(rel, d.nested+".")
	}
	inner := newDSL(d.c, event.NewFields(), n.Path)
	inner.now = d.now
	x, err := inner.query(n.Query, false)
	if err != nil {
		return cond{}, err
	}
	if x.k != 0 && x.k < 0 {
		return constCond(false), nil
	}
	segs := strings.Split(rel, ".")
	ne := &nestedEval{keys: make([][]string, len(segs)), inner: x, fields: inner.fields}
	for i := range segs {
		for k := i + 1; k <= len(segs); k++ {
			ne.keys[i] = append(ne.keys[i], strings.Join(segs[i:k], "."))
		}
	}
	ne.pool.New = func() any { return &nestedCtx{dec: event.NewDecoder(ne.fields)} }
	return cond{cost: costScript + x.cost, fn: ne.eval}, nil
}

// nestedEval runs a compiled inner query on each object of a nested field.
type nestedEval struct {
	// keys[i][k-1] is the key of k segments of the nested field's path (relative to the
	// scope) from segment i: a JSON key may hold dots.
	keys   [][]string
	inner  cond // k == 1: any object will do
	fields *event.Fields
	pool   sync.Pool // *nestedCtx
}

type nestedCtx struct {
	p   fastjson.Parser
	dec *event.Decoder
	ev  event.Event
	buf []byte
}

func (ne *nestedEval) eval(ev *event.Event) bool {
	doc, err := ev.Doc()
	if err != nil || doc == nil {
		return false
	}
	ctx := ne.pool.Get().(*nestedCtx)
	defer ne.pool.Put(ctx)
	v, err := ctx.p.ParseBytes(doc)
	if err != nil {
		return false
	}
	return ne.objects(ctx, v, 0)
}

// objects walks the path from segment at down from v (a key may itself hold dots) and runs the inner query
// on each object found at the end; arrays on the way are walked element by element.
func (ne *nestedEval) objects(ctx *nestedCtx, v *fastjson.Value, at int) bool {
	switch v.Type() {
	case fastjson.TypeArray:
		arr, _ := v.Array()
		for _, e := range arr {
			if ne.objects(ctx, e, at) {
				return true
			}
		}
		return false
	case fastjson.TypeObject:
	default:
		return false
	}
	if at == len(ne.keys) {
		return ne.match(ctx, v)
	}
	o, _ := v.Object()
	for k := len(ne.keys[at]); k >= 1; k-- {
		if c := o.Get(ne.keys[at][k-1]); c != nil && ne.objects(ctx, c, at+k) {
			return true
		}
	}
	return false
}

// match decodes one nested object and runs the inner query on it.
func (ne *nestedEval) match(ctx *nestedCtx, obj *fastjson.Value) bool {
	if ne.inner.k > 0 {
		return true
	}
	ctx.buf = obj.MarshalTo(ctx.buf[:0])
	if err := ctx.dec.Decode(ctx.buf, &ctx.ev); err != nil {
		return false
	}
	return ne.inner.fn(&ctx.ev)
}
