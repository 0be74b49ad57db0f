package event

import (
	"fmt"
	"reflect"
	"testing"
)

// TestInterleavedSlots checks documents whose slots receive their values in interleaved
// runs (arrays of objects, dotted and nested keys for one path, nulls before values):
// every slot still reads its values in document order, through the decoded event, its
// clone and a clone of the clone, and the same Event decodes plain and interleaved
// documents in turn.
func TestInterleavedSlots(t *testing.T) {
	paths := []string{"a.b", "a.c", "a.b.c", "d", "e"}
	tests := []struct {
		doc  string
		want []got // by path
	}{
		{`{"a":[{"b":1,"c":"x"},{"b":2,"c":"y"},{"c":null,"b":3}]}`, []got{
			{Vals: []Value{num(1, "1"), num(2, "2"), num(3, "3")}},
			{Vals: []Value{str("x"), str("y")}, Null: true},
			{}, {}, {},
		}},
		{`{"d":null,"e":1,"d":[2,null],"e":"s","a.c":null}`, []got{
			{},
			{Null: true},
			{},
			{Vals: []Value{num(2, "2")}, Null: true},
			{Vals: []Value{num(1, "1"), str("s")}},
		}},
		{`{"e":0,"a":{"b":{"c":1}},"a.b":{"c":2},"d":"x","a.b.c":[3,4],"e":"\u0041"}`, []got{
			{}, {},
			{Vals: []Value{num(1, "1"), num(2, "2"), num(3, "3"), num(4, "4")}},
			{Vals: []Value{str("x")}},
			{Vals: []Value{num(0, "0"), str("A")}},
		}},
		{`{"d":1}`, []got{{}, {}, {}, {Vals: []Value{num(1, "1")}}, {}}},
		{`{"a":[{"b":[1,{"c":"q"}],"c":null},{"b":{"c":"r"},"c":[null,"z"]},{"b":"t"}],"d":null}`, []got{
			{Vals: []Value{num(1, "1"), str("t")}},
			{Vals: []Value{str("z")}, Null: true},
			{Vals: []Value{str("q"), str("r")}},
			{Null: true},
			{},
		}},
		{`{}`, []got{{}, {}, {}, {}, {}}},
	}
	f := NewFields()
	for _, p := range paths {
		f.Add(p)
	}
	d := NewDecoder(f)
	var ev Event // reused by every document, in order
	for _, tc := range tests {
		if err := d.Decode([]byte(tc.doc), &ev); err != nil {
			t.Fatalf("%s: %v", tc.doc, err)
		}
		c := ev.Clone()
		for name, e := range map[string]*Event{"decoded": &ev, "clone": c, "clone of clone": c.Clone()} {
			for i, p := range paths {
				g := got{Vals: e.Values(Slot(i)), Null: e.HasNull(Slot(i))}
				if len(g.Vals) == 0 {
					g.Vals = nil
				}
				if !reflect.DeepEqual(g, tc.want[i]) {
					t.Errorf("%s: %s %s = %+v, want %+v", tc.doc, name, p, g, tc.want[i])
				}
			}
		}
	}
}

// TestManySlots checks a document that records more slots than a clone sorts by insertion,
// in reverse slot order, and slots out of range.
func TestManySlots(t *testing.T) {
	f := NewFields()
	const n = 100
	for i := range n {
		f.Add(fmt.Sprintf("k%d", n-1-i)) // slot of k{j} is n-1-j: the document lists slots backwards
	}
	doc := []byte("{")
	for j := range n {
		if j > 0 {
			doc = append(doc, ',')
		}
		doc = fmt.Appendf(doc, `"k%d":[%d,null]`, j, j)
	}
	doc = append(doc, '}')
	d := NewDecoder(f)
	var ev Event
	if err := d.Decode(doc, &ev); err != nil {
		t.Fatal(err)
	}
	c := ev.Clone()
	for _, e := range []*Event{&ev, c} {
		for s := Slot(0); s < n; s++ {
			j := int64(n - 1 - s)
			want := []Value{num(j, fmt.Sprint(j))}
			if got := e.Values(s); !reflect.DeepEqual(got, want) || !e.HasNull(s) {
				t.Errorf("slot %d: %v null %v, want %v null true", s, got, e.HasNull(s), want)
			}
		}
		for _, s := range []Slot{-1, n, n + 1000} {
			if e.Values(s) != nil || e.HasNull(s) || e.Has(s) {
				t.Errorf("slot %d out of range: %v %v", s, e.Values(s), e.HasNull(s))
			}
		}
	}
}

// TestZeroEvent checks the zero Event (never decoded) and its copies: nothing recorded.
func TestZeroEvent(t *testing.T) {
	var ev Event
	k := ev.Keep()
	if k == &ev || k.Keep() != k || ev.Keep() != k {
		t.Error("Keep of a zero Event: want one copy, itself kept")
	}
	for _, e := range []*Event{&ev, k, k.Clone()} {
		if e.Values(0) != nil || e.HasNull(0) || e.Raw != nil {
			t.Errorf("zero event has %v %v %q", e.Values(0), e.HasNull(0), e.Raw)
		}
	}
}

// TestInterleavedNoAllocs checks that interleaved documents, like plain ones, decode
// without allocating once the event and the decoder have grown.
func TestInterleavedNoAllocs(t *testing.T) {
	f := NewFields()
	for _, p := range []string{"a.b", "a.c", "d"} {
		f.Add(p)
	}
	d := NewDecoder(f)
	doc := []byte(`{"a":[{"b":1,"c":"x"},{"b":2,"c":"y\n"},{"b":3}],"d":null}`)
	var ev Event
	if err := d.Decode(doc, &ev); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := d.Decode(doc, &ev); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Decode allocates %.1f times per run, want 0", allocs)
	}
}
