package eql

import (
	"strings"
	"testing"

	"github.com/tripline/tripline/query"
)

// A Search node prints as its language and source, and its JSON carries the query tree.
func TestSearchNode(t *testing.T) {
	s := &Search{Language: "kuery", Source: `process.name:"sh"`, Query: &query.Term{Field: "process.name", Value: "sh"}}
	stmt := &Statement{Query: &EventQuery{Any: true, Where: &Binary{Op: OpAnd, X: &Field{Name: "a"}, Y: s}}}
	if got, want := Format(stmt), `any where a and kuery("process.name:\"sh\"")`; got != want {
		t.Errorf("Format = %s, want %s", got, want)
	}
	js, err := ToJSON(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"type": "search"`, `"language": "kuery"`, `"process.name"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("ToJSON lacks %s:\n%s", want, js)
		}
	}
}
