package detect

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestInfixSet checks infixSet.each against strings.Contains: every literal a value
// contains is reported (with its id, at each place it starts), and no other.
func TestInfixSet(t *testing.T) {
	tests := []struct {
		lits  []string
		value string
		want  []string // literals found, in the order of the places they start at
	}{
		{[]string{"get secret", "get"}, "kubectl get secrets -a", []string{"get secret", "get"}},
		{[]string{"abc"}, "ab", nil},
		{[]string{"abc"}, "abc", []string{"abc"}},
		{[]string{"abc"}, "abcabc", []string{"abc", "abc"}},
		{[]string{"\\tmp\\", "tmp"}, "c:\\tmp\\x", []string{"\\tmp\\", "tmp"}},
		{[]string{"xyz", "yzz"}, "xyzz", []string{"xyz", "yzz"}},
		{[]string{"aaa"}, "", nil},
	}
	for _, tc := range tests {
		s := newInfixSet()
		for i, l := range tc.lits {
			if id := s.add(l); int(id) != i {
				t.Fatalf("add(%q) = %d, want %d", l, id, i)
			}
		}
		if id := s.add(tc.lits[0]); id != 0 {
			t.Errorf("adding %q again gave id %d", tc.lits[0], id)
		}
		var got []string
		s.each([]byte(tc.value), func(id int32) { got = append(got, tc.lits[id]) })
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q in %q: got %q, want %q", tc.lits, tc.value, got, tc.want)
		}
	}
	// Random literals and values over a small alphabet (many collisions in the bitmap).
	r := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abc/\\ ."[r.IntN(7)]
		}
		return string(b)
	}
	s := newInfixSet()
	var lits []string
	for range 300 {
		l := word(3 + r.IntN(4))
		if !slices.Contains(lits, l) {
			lits = append(lits, l)
			s.add(l)
		}
	}
	for range 2000 {
		v := word(r.IntN(40))
		found := make([]bool, len(lits))
		s.each([]byte(v), func(id int32) { found[id] = true })
		for i, l := range lits {
			if found[i] != strings.Contains(v, l) {
				t.Fatalf("%q in %q: found %v, strings.Contains %v", l, v, found[i], !found[i])
			}
		}
	}
}
