package exceptions

import (
	"errors"
	"fmt"
	"time"

	"github.com/tripline/tripline/query"
	"github.com/tripline/tripline/rule"
)

// Resolve returns the items of the lists refs references (a rule's exceptions_list), in
// the order of refs and then of reading. A list is found by its list_id and
// namespace_type, as Kibana finds it; items are matched to it the same way. A reference to
// a list s does not hold is an error naming it (all such are joined); the items of the
// lists found are returned either way.
func (s *Set) Resolve(refs []rule.ExceptionListRef) ([]*Item, error) {
	type key struct{ listID, ns string }
	lists := make(map[key]bool, len(s.Lists))
	for _, l := range s.Lists {
		lists[key{l.ListID, l.NamespaceType}] = true
	}
	var items []*Item
	var errs []error
	seen := make(map[key]bool, len(refs))
	for _, ref := range refs {
		k := key{ref.ListID, ref.NamespaceType}
		if seen[k] {
			continue
		}
		seen[k] = true
		if !lists[k] {
			errs = append(errs, fmt.Errorf("exception list %q (namespace_type %s, type %s) is not loaded", ref.ListID, ref.NamespaceType, ref.Type))
			continue
		}
		for _, it := range s.Items {
			if it.ListID == ref.ListID && it.NamespaceType == ref.NamespaceType {
				items = append(items, it)
			}
		}
	}
	return items, errors.Join(errs...)
}

// Unprocessed is an item Filter left out of the query, and why.
type Unprocessed struct {
	Item   *Item
	Reason string
}

// Filter returns the query Kibana's exception filter builder makes of items for an
// execution started at startedAt: the OR (bool.should) of one clause per item, an item
// being the AND (bool.filter) of its entries. Items expired at startedAt are dropped, as
// Kibana drops them. Items with a value-list entry cannot be translated (value lists are
// not exported): they are returned as Unprocessed and left out. The query is nil when no
// item remains. A rule excludes what the query matches: see Exclude.
func Filter(items []*Item, startedAt time.Time) (query.Query, []Unprocessed) {
	var or []query.Query
	var left []Unprocessed
	for _, it := range items {
		if it.Expired(startedAt) {
			continue
		}
		if id := valueListOf(it.Entries); id != "" {
			left = append(left, Unprocessed{it, fmt.Sprintf(
				"item %q of exception list %q uses value list %q: value lists are not exported with exception lists and are not supported",
				it.ItemID, it.ListID, id)})
			continue
		}
		or = append(or, itemClauses(it)...)
	}
	if len(or) == 0 {
		return nil, left
	}
	return &query.Bool{Should: or}, left
}

// Exclude returns q restricted to the events the exception filter f does not match
// (bool{filter: q, must_not: f}), as Kibana applies a negated filter; q itself when f is
// nil, and match_all negated when q is nil.
func Exclude(q, f query.Query) query.Query {
	if f == nil {
		return q
	}
	b := &query.Bool{MustNot: []query.Query{f}}
	if q != nil {
		b.Filter = []query.Query{q}
	}
	return b
}

// valueListOf returns the id of a value list an entry of entries uses, "" for none.
func valueListOf(entries []Entry) string {
	for _, e := range entries {
		if e.Type == TypeList {
			return e.List.ID
		}
		if id := valueListOf(e.Entries); id != "" {
			return id
		}
	}
	return ""
}

// itemClauses returns the should clauses of one item: one AND of its entries, or, with
// os_types, one per OS on host.os.type and then one per OS on host.os.name.caseless
// (endpoint agents write the OS there), each the AND of the OS match and the entries.
func itemClauses(it *Item) []query.Query {
	if len(it.OSTypes) == 0 {
		if len(it.Entries) == 1 {
			return []query.Query{entryClause(it.Entries[0], "")}
		}
		return []query.Query{&query.Bool{Filter: entryClauses(it.Entries)}}
	}
	var out []query.Query
	for _, field := range []string{"host.os.type", "host.os.name.caseless"} {
		for _, os := range it.OSTypes {
			and := []query.Query{entryClause(Entry{Field: field, Type: TypeMatch, Operator: Included, Value: os}, "")}
			out = append(out, &query.Bool{Filter: append(and, entryClauses(it.Entries)...)})
		}
	}
	return out
}

func entryClauses(entries []Entry) []query.Query {
	out := make([]query.Query, len(entries))
	for i, e := range entries {
		out[i] = entryClause(e, "")
	}
	return out
}

// phrase is Kibana's clause for one value: bool{should: [match_phrase], minimum_should_match: 1}.
func phrase(field, value string) query.Query {
	return &query.Bool{Should: []query.Query{&query.MatchPhrase{Field: field, Query: value}}, MinimumShouldMatch: 1}
}

// entryClause translates one entry (not a value list); parent is the nested path its
// field is relative to, "" at the top.
func entryClause(e Entry, parent string) query.Query {
	field := e.Field
	if parent != "" {
		field = parent + "." + field
	}
	var q query.Query
	switch e.Type {
	case TypeMatch:
		q = phrase(field, e.Value)
	case TypeMatchAny:
		if len(e.Values) == 1 {
			q = phrase(field, e.Values[0])
			break
		}
		or := make([]query.Query, len(e.Values))
		for i, v := range e.Values {
			or[i] = phrase(field, v)
		}
		q = &query.Bool{Should: or, MinimumShouldMatch: 1}
	case TypeWildcard:
		// Kibana sends the value as it is: no case_insensitive, and backslashes are the
		// wildcard query's escapes.
		q = &query.Bool{Filter: []query.Query{&query.Wildcard{Field: field, Value: e.Value}}}
	case TypeExists:
		q = &query.Bool{Should: []query.Query{&query.Exists{Field: field}}, MinimumShouldMatch: 1}
	case TypeNested:
		var inner query.Query
		if len(e.Entries) == 1 {
			inner = entryClause(e.Entries[0], e.Field)
		} else {
			and := make([]query.Query, len(e.Entries))
			for i, ne := range e.Entries {
				and[i] = entryClause(ne, e.Field)
			}
			inner = &query.Bool{Filter: and}
		}
		return &query.Nested{Path: e.Field, Query: inner}
	default:
		panic("exceptions: entry type " + e.Type + " has no clause") // parseEntry refuses it; value lists are filtered out
	}
	if e.Operator == Excluded {
		return &query.Bool{MustNot: []query.Query{q}}
	}
	return q
}
