package exceptions

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/query"
	"github.com/tripline/tripline/rule"
)

// Shorthands for the expected trees.
func mp(field, value string) query.Query {
	return &query.Bool{Should: []query.Query{&query.MatchPhrase{Field: field, Query: value}}, MinimumShouldMatch: 1}
}
func not(q query.Query) query.Query     { return &query.Bool{MustNot: []query.Query{q}} }
func and(qs ...query.Query) query.Query { return &query.Bool{Filter: qs} }
func or1(qs ...query.Query) query.Query {
	return &query.Bool{Should: qs, MinimumShouldMatch: 1}
}
func wc(field, value string) query.Query {
	return &query.Bool{Filter: []query.Query{&query.Wildcard{Field: field, Value: value}}}
}
func exists(field string) query.Query {
	return &query.Bool{Should: []query.Query{&query.Exists{Field: field}}, MinimumShouldMatch: 1}
}

var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

func TestEntryClauses(t *testing.T) {
	cases := []struct {
		name  string
		entry Entry
		want  query.Query
	}{
		{"match", Entry{Field: "host.name", Type: TypeMatch, Operator: Included, Value: "h1"}, mp("host.name", "h1")},
		{"match excluded", Entry{Field: "host.name", Type: TypeMatch, Operator: Excluded, Value: "h1"}, not(mp("host.name", "h1"))},
		{"match_any one value", Entry{Field: "user.id", Type: TypeMatchAny, Operator: Included, Values: []string{"a"}}, mp("user.id", "a")},
		{"match_any", Entry{Field: "user.id", Type: TypeMatchAny, Operator: Included, Values: []string{"a", "b"}},
			or1(mp("user.id", "a"), mp("user.id", "b"))},
		{"match_any excluded", Entry{Field: "user.id", Type: TypeMatchAny, Operator: Excluded, Values: []string{"a", "b"}},
			not(or1(mp("user.id", "a"), mp("user.id", "b")))},
		{"wildcard", Entry{Field: "process.executable", Type: TypeWildcard, Operator: Included, Value: `c:\\x\\*.exe`},
			wc("process.executable", `c:\\x\\*.exe`)},
		{"wildcard excluded", Entry{Field: "f", Type: TypeWildcard, Operator: Excluded, Value: "a?c"}, not(wc("f", "a?c"))},
		{"exists", Entry{Field: "f", Type: TypeExists, Operator: Included}, exists("f")},
		{"exists excluded", Entry{Field: "f", Type: TypeExists, Operator: Excluded}, not(exists("f"))},
		{"nested one entry", Entry{Field: "p", Type: TypeNested, Entries: []Entry{{Field: "a", Type: TypeMatch, Operator: Included, Value: "x"}}},
			&query.Nested{Path: "p", Query: mp("p.a", "x")}},
		{"nested", Entry{Field: "p", Type: TypeNested, Entries: []Entry{
			{Field: "a", Type: TypeMatch, Operator: Included, Value: "x"},
			{Field: "b", Type: TypeExists, Operator: Excluded},
			{Field: "c", Type: TypeMatchAny, Operator: Included, Values: []string{"1", "2"}},
		}}, &query.Nested{Path: "p", Query: and(mp("p.a", "x"), not(exists("p.b")), or1(mp("p.c", "1"), mp("p.c", "2")))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, left := Filter([]*Item{{ItemID: "i", Entries: []Entry{tc.entry}}}, t0)
			want := &query.Bool{Should: []query.Query{tc.want}}
			if !reflect.DeepEqual(got, want) || left != nil {
				t.Errorf("got %#v (unprocessed %v), want %#v", got, left, want)
			}
		})
	}
}

func TestItemClauses(t *testing.T) {
	e1 := Entry{Field: "a", Type: TypeMatch, Operator: Included, Value: "1"}
	e2 := Entry{Field: "b", Type: TypeExists, Operator: Excluded}
	past, future := t0.Add(-time.Second), t0.Add(time.Second)
	cases := []struct {
		name  string
		items []*Item
		want  query.Query
		left  int
	}{
		{"no items", nil, nil, 0},
		{"one entry", []*Item{{Entries: []Entry{e1}}}, &query.Bool{Should: []query.Query{mp("a", "1")}}, 0},
		{"entries are AND-ed", []*Item{{Entries: []Entry{e1, e2}}},
			&query.Bool{Should: []query.Query{and(mp("a", "1"), not(exists("b")))}}, 0},
		{"items are OR-ed", []*Item{{Entries: []Entry{e1}}, {Entries: []Entry{e2}}},
			&query.Bool{Should: []query.Query{mp("a", "1"), not(exists("b"))}}, 0},
		{"os_types", []*Item{{OSTypes: []string{"windows", "linux"}, Entries: []Entry{e1}}},
			&query.Bool{Should: []query.Query{
				and(mp("host.os.type", "windows"), mp("a", "1")),
				and(mp("host.os.type", "linux"), mp("a", "1")),
				and(mp("host.os.name.caseless", "windows"), mp("a", "1")),
				and(mp("host.os.name.caseless", "linux"), mp("a", "1")),
			}}, 0},
		{"expired item dropped", []*Item{{ExpireTime: &past, Entries: []Entry{e1}}, {ExpireTime: &future, Entries: []Entry{e2}}},
			&query.Bool{Should: []query.Query{not(exists("b"))}}, 0},
		{"all expired", []*Item{{ExpireTime: &past, Entries: []Entry{e1}}}, nil, 0},
		{"value list left out", []*Item{{Entries: []Entry{e1, {Field: "ip", Type: TypeList, Operator: Included, List: &ValueList{ID: "l", Type: "ip"}}}}, {Entries: []Entry{e1}}},
			&query.Bool{Should: []query.Query{mp("a", "1")}}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, left := Filter(tc.items, t0)
			if tc.want == nil {
				if got != nil {
					t.Errorf("got %#v, want nil", got)
				}
			} else if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
			if len(left) != tc.left {
				t.Errorf("%d unprocessed, want %d: %v", len(left), tc.left, left)
			}
		})
	}
}

func TestExclude(t *testing.T) {
	q := &query.Term{Field: "a", Value: "b"}
	f := &query.Bool{Should: []query.Query{mp("c", "d")}}
	if got := Exclude(q, nil); got != q {
		t.Errorf("Exclude(q, nil) = %#v", got)
	}
	want := &query.Bool{Filter: []query.Query{q}, MustNot: []query.Query{f}}
	if got := Exclude(q, f); !reflect.DeepEqual(got, want) {
		t.Errorf("Exclude = %#v, want %#v", got, want)
	}
}

// TestExportRoundTrip reads a list export and the exception part of a rule export,
// resolves a rule's references and checks the whole filter.
func TestExportRoundTrip(t *testing.T) {
	s := Load("testdata/export.ndjson", "testdata/rules_export.ndjson")
	if len(s.Errors) > 0 {
		t.Fatal(s.Errors)
	}
	if len(s.Lists) != 2 || len(s.Items) != 6 {
		t.Fatalf("%d lists, %d items; want 2, 6", len(s.Lists), len(s.Items))
	}
	if src := s.Items[5].Source.String(); src != "testdata/rules_export.ndjson:3" {
		t.Errorf("source of the last item %s", src)
	}
	rules, errs := rule.ReadNDJSON(strings.NewReader(`{"rule_id":"r","name":"n","type":"eql","query":"any where true","risk_score":1,"severity":"low","exceptions_list":[{"id":"4f2a5a40-f8e1-11ef-9b1a-3b5c5d0e1a01","list_id":"build-farm","namespace_type":"single","type":"detection"},{"id":"endpoint_list","list_id":"endpoint_list","namespace_type":"agnostic","type":"endpoint"}]}`), "r.ndjson")
	if len(errs) > 0 || len(rules) != 1 {
		t.Fatal(errs)
	}
	items, err := s.Resolve(rules[0].ExceptionsList)
	if err != nil || len(items) != 6 {
		t.Fatalf("Resolve: %d items, %v", len(items), err)
	}
	got, left := Filter(items, t0)
	want := &query.Bool{Should: []query.Query{
		// ignore-backup: windows only, on both OS fields
		and(mp("host.os.type", "windows"), wc("process.executable.caseless", `c:\\backup\\*.exe`), not(or1(mp("user.id", "S-1-5-18"), mp("user.id", "S-1-5-19")))),
		and(mp("host.os.name.caseless", "windows"), wc("process.executable.caseless", `c:\\backup\\*.exe`), not(or1(mp("user.id", "S-1-5-18"), mp("user.id", "S-1-5-19")))),
		// ci-runner
		mp("host.name", "ci-runner-1"),
		// migration expired on 2025-04-01: still applies on t0 (2025-03-10)
		mp("process.name", "migrate.sh"),
		// owner-grants
		and(&query.Nested{Path: "binding_deltas", Query: and(mp("binding_deltas.role", "roles/owner"), not(exists("binding_deltas.action")))}, exists("cloud.account.id")),
		// scanners: value list, unprocessed
		// contoso-agent (endpoint list)
		and(mp("host.os.type", "windows"), mp("file.hash.sha256", "3c5a0b1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f"), mp("process.code_signature.subject_name", "Contoso Ltd")),
		and(mp("host.os.type", "macos"), mp("file.hash.sha256", "3c5a0b1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f"), mp("process.code_signature.subject_name", "Contoso Ltd")),
		and(mp("host.os.name.caseless", "windows"), mp("file.hash.sha256", "3c5a0b1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f"), mp("process.code_signature.subject_name", "Contoso Ltd")),
		and(mp("host.os.name.caseless", "macos"), mp("file.hash.sha256", "3c5a0b1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f"), mp("process.code_signature.subject_name", "Contoso Ltd")),
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("filter:\n%#v\nwant:\n%#v", got, want)
	}
	wantLeft := `item "scanners" of exception list "build-farm" uses value list "scanners.txt": value lists are not exported with exception lists and are not supported`
	if len(left) != 1 || left[0].Reason != wantLeft {
		t.Errorf("unprocessed %v", left)
	}
	// After 2025-04-01 the migration item is gone.
	later, _ := Filter(items, time.Date(2025, 4, 2, 0, 0, 0, 0, time.UTC))
	if n := len(later.(*query.Bool).Should); n != len(want.Should)-1 {
		t.Errorf("after expiry: %d clauses, want %d", n, len(want.Should)-1)
	}
}

func TestResolveMissing(t *testing.T) {
	s := Load("testdata/export.ndjson")
	items, err := s.Resolve([]rule.ExceptionListRef{
		{ID: "x", ListID: "build-farm", NamespaceType: "agnostic", Type: "detection"},
		{ID: "y", ListID: "build-farm", NamespaceType: "single", Type: "detection"},
	})
	want := `exception list "build-farm" (namespace_type agnostic, type detection) is not loaded`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if len(items) != 5 {
		t.Errorf("%d items of the list found, want 5", len(items))
	}
}

func TestReadErrors(t *testing.T) {
	item := func(entries string) string {
		return `{"item_id":"i","list_id":"l","namespace_type":"single","type":"simple","entries":` + entries + `}`
	}
	cases := []struct{ name, line, want string }{
		{"not JSON", `{`, "x.ndjson:2: not a JSON object: unexpected end of JSON input"},
		{"unknown object", `{"name":"x"}`, "x.ndjson:2: not an exception list or item: no list_id"},
		{"list namespace", `{"list_id":"l","namespace_type":"global","type":"detection"}`,
			"x.ndjson:2: namespace_type: Invalid enum value. Expected 'agnostic' | 'single', received 'global'"},
		{"list type", `{"list_id":"l","namespace_type":"single","type":"other"}`,
			"x.ndjson:2: type: Invalid enum value. Expected 'detection' | 'rule_default' | 'endpoint' | 'endpoint_trusted_apps' | 'endpoint_events' | 'endpoint_host_isolation_exceptions' | 'endpoint_blocklists', received 'other'"},
		{"no entries", item(`[]`), "x.ndjson:2: item i: entries: Array must contain at least 1 element(s)"},
		{"entry type", item(`[{"field":"a","operator":"included","type":"regex","value":"x"}]`),
			"x.ndjson:2: item i: entries.0.type: Invalid enum value. Expected 'match' | 'match_any' | 'wildcard' | 'exists' | 'list' | 'nested', received 'regex'"},
		{"operator", item(`[{"field":"a","operator":"is","type":"match","value":"x"}]`),
			"x.ndjson:2: item i: entries.0.operator: Invalid enum value. Expected 'excluded' | 'included', received 'is'"},
		{"match value", item(`[{"field":"a","operator":"included","type":"match","value":["x"]}]`),
			"x.ndjson:2: item i: entries.0.value: a non-empty string is required"},
		{"match_any value", item(`[{"field":"a","operator":"included","type":"match_any","value":[]}]`),
			"x.ndjson:2: item i: entries.0.value: a non-empty array of strings is required"},
		{"no field", item(`[{"operator":"included","type":"exists"}]`), "x.ndjson:2: item i: entries.0.field: Required"},
		{"nested wildcard", item(`[{"field":"p","type":"nested","entries":[{"field":"a","operator":"included","type":"wildcard","value":"x*"}]}]`),
			"x.ndjson:2: item i: entries.0.entries.0.type: Invalid enum value. Expected 'match' | 'match_any' | 'exists', received 'wildcard'"},
		{"list ref", item(`[{"field":"a","operator":"included","type":"list","list":{"id":"x"}}]`),
			"x.ndjson:2: item i: entries.0.list: {id, type} is required"},
		{"os_types", `{"item_id":"i","list_id":"l","namespace_type":"single","type":"simple","os_types":["win"],"entries":[{"field":"a","operator":"included","type":"exists"}]}`,
			"x.ndjson:2: item i: os_types.0: Invalid enum value. Expected 'linux' | 'macos' | 'windows', received 'win'"},
		{"expire_time", `{"item_id":"i","list_id":"l","namespace_type":"single","type":"simple","expire_time":"tomorrow","entries":[{"field":"a","operator":"included","type":"exists"}]}`,
			`x.ndjson:2: item i: expire_time: "tomorrow" is not an ISO 8601 time`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Set{}
			s.ReadNDJSON(strings.NewReader("{\"exported_count\":0}\n"+tc.line+"\n"+item(`[{"field":"a","operator":"included","type":"exists"}]`)+"\n"), "x.ndjson")
			if len(s.Errors) != 1 || s.Errors[0].Error() != tc.want {
				t.Errorf("errors %v\nwant %s", s.Errors, tc.want)
			}
			if len(s.Items) != 1 || s.Items[0].Source.Line != 3 {
				t.Errorf("the valid item after the bad line was not read: %v", s.Items)
			}
		})
	}
}
