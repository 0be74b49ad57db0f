package event

import (
	"reflect"
	"testing"
)

// TestCloneCompact checks that a clone (and a clone of a clone) answers Values and HasNull
// for every slot exactly as the decoded event does, whatever the order the slots were
// touched in, including slots with nothing recorded and slots out of range.
func TestCloneCompact(t *testing.T) {
	f := NewFields()
	for _, p := range []string{"z", "a.b", "m", "n", "unused", "q.r"} {
		f.Add(p)
	}
	d := NewDecoder(f)
	docs := []string{
		`{"q":{"r":[1,null,"s\u0041"]},"z":"last","a.b":true,"m":null,"n":[]}`,
		`{}`,
		`{"n":[[["deep"]]],"z":[null]}`,
	}
	for _, doc := range docs {
		var ev Event
		if err := d.Decode([]byte(doc), &ev); err != nil {
			t.Fatal(err)
		}
		c := ev.Clone()
		cc := c.Clone()
		for s := Slot(-1); s <= Slot(f.Len()); s++ {
			want, wantNull := ev.Values(s), ev.HasNull(s)
			for name, got := range map[string]*Event{"clone": c, "clone of clone": cc} {
				if gv := got.Values(s); !reflect.DeepEqual(gv, want) && !(len(gv) == 0 && len(want) == 0) {
					t.Errorf("%s: %s slot %d: Values %v, want %v", doc, name, s, gv, want)
				}
				if gn := got.HasNull(s); gn != wantNull {
					t.Errorf("%s: %s slot %d: HasNull %v, want %v", doc, name, s, gn, wantNull)
				}
			}
		}
		if string(c.Raw) != doc || string(cc.Raw) != doc {
			t.Errorf("raw %q / %q, want %q", c.Raw, cc.Raw, doc)
		}
	}
}

// TestKeep checks that Keep makes one copy per Decode, shared by every caller, and a new
// one after the next Decode.
func TestKeep(t *testing.T) {
	f := NewFields()
	a := f.Add("a")
	d := NewDecoder(f)
	var ev Event
	buf := []byte(`{"a":"one"}`)
	if err := d.Decode(buf, &ev); err != nil {
		t.Fatal(err)
	}
	k1, k2 := ev.Keep(), ev.Keep()
	if k1 != k2 {
		t.Fatal("Keep made two copies of one decoded event")
	}
	if k1.Keep() != k1 {
		t.Error("Keep of a copy is not the copy itself")
	}
	copy(buf, `{"a":"two"}`)
	if err := d.Decode(buf, &ev); err != nil {
		t.Fatal(err)
	}
	k3 := ev.Keep()
	if k3 == k1 {
		t.Fatal("Keep returned the previous event's copy")
	}
	for _, tc := range []struct {
		ev   *Event
		want string
	}{{k1, "one"}, {k3, "two"}} {
		if vs := tc.ev.Values(a); len(vs) != 1 || vs[0].Str != tc.want {
			t.Errorf("kept a = %v, want %q", vs, tc.want)
		}
	}
}

// BenchmarkClone40 clones a realistic event decoded with 40 paths registered among 500
// (what a large rule set registers): the cost a rule pays to keep an event.
func BenchmarkClone40(b *testing.B) {
	doc := readECS(b)
	f := NewFields()
	for _, p := range fields40 {
		f.Add(p)
	}
	for i := range 460 {
		f.Add("unused.path" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
	}
	d := NewDecoder(f)
	var ev Event
	if err := d.Decode(doc, &ev); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = ev.Clone()
	}
}
