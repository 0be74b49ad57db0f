package main

import (
	"fmt"
	"io"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// unseenFields are the fields a query names (not as ?optional) that no mapping declares
// and no event has carried yet. Elasticsearch maps such a field only once a document
// carries it; before that a query naming it fails with "Unknown column". Tripline maps it
// dynamically and runs; those still unseen at the end of the run are likely typos.
type unseenFields struct {
	names []string
	slots []event.Slot
}

// newUnseenFields lists the undeclared fields stmt names; their source paths must already
// be in fields (the query is compiled).
func newUnseenFields(stmt *eql.Statement, m *mapping.Mapping, fields *event.Fields) *unseenFields {
	u := &unseenFields{}
	seen := map[string]bool{}
	queryFields(stmt, func(f *eql.Field) {
		if f.Optional || seen[f.Name] {
			return
		}
		seen[f.Name] = true
		mf, declared := m.Resolve(f.Name)
		if declared {
			return
		}
		if s, ok := fields.Lookup(mf.Source); ok {
			u.names = append(u.names, f.Name)
			u.slots = append(u.slots, s)
		}
	})
	return u
}

// see drops the fields ev carries a value of.
func (u *unseenFields) see(ev *event.Event) {
	for i := 0; i < len(u.slots); {
		if len(ev.Values(u.slots[i])) == 0 {
			i++
			continue
		}
		last := len(u.slots) - 1
		u.slots[i], u.names[i] = u.slots[last], u.names[last]
		u.slots, u.names = u.slots[:last], u.names[:last]
	}
}

// warn writes a warning for each field still unseen, in the order the query names them.
func (u *unseenFields) warn(w io.Writer, order *eql.Statement) {
	left := map[string]bool{}
	for _, n := range u.names {
		left[n] = true
	}
	queryFields(order, func(f *eql.Field) {
		if left[f.Name] {
			delete(left, f.Name)
			fmt.Fprintf(w, "tripline: warning: no mapping declares [%s] and no event had it: a typo? (Elasticsearch would answer \"Unknown column [%s]\")\n", f.Name, f.Name)
		}
	})
}

// queryFields calls fn for every field stmt names, in the order they are written.
func queryFields(stmt *eql.Statement, fn func(*eql.Field)) {
	var expr func(eql.Expr)
	expr = func(e eql.Expr) {
		switch n := e.(type) {
		case *eql.Field:
			fn(n)
		case *eql.Unary:
			expr(n.X)
		case *eql.Not:
			expr(n.X)
		case *eql.Binary:
			expr(n.X)
			expr(n.Y)
		case *eql.Match:
			expr(n.X)
			for _, p := range n.Patterns {
				expr(p)
			}
		case *eql.In:
			expr(n.X)
			for _, x := range n.List {
				expr(x)
			}
		case *eql.Call:
			for _, a := range n.Args {
				expr(a)
			}
		case *eql.Paren:
			expr(n.X)
		}
	}
	stage := func(s *eql.Stage) {
		if s == nil {
			return
		}
		expr(s.Query.Where)
		for _, k := range s.By {
			fn(k)
		}
	}
	switch q := stmt.Query.(type) {
	case *eql.EventQuery:
		expr(q.Where)
	case *eql.Sequence:
		for _, k := range q.By {
			fn(k)
		}
		for _, s := range q.Stages {
			stage(s)
		}
		stage(q.Until)
	case *eql.Sample:
		for _, k := range q.By {
			fn(k)
		}
		for _, s := range q.Stages {
			stage(s)
		}
	}
}
