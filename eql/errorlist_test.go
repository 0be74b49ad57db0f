package eql

import (
	"errors"
	"testing"
)

// TestErrorListSourceOrder checks that several verification errors come back in source
// order, whatever order the verifier found them in.
func TestErrorListSourceOrder(t *testing.T) {
	_, err := Parse("sequence\n [process where foo(x)]")
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Parse error %v (%T), want an ErrorList", err, err)
	}
	want := []string{
		"line 1:1: A sequence requires a minimum of 2 queries, found [1]",
		"line 2:17: Unknown function [foo]",
	}
	if len(list) != len(want) {
		t.Fatalf("%d errors, want %d: %v", len(list), len(want), err)
	}
	for i, e := range list {
		if e.Error() != want[i] {
			t.Errorf("error %d = %q, want %q", i, e.Error(), want[i])
		}
	}
}
