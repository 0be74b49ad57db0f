package event

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"sync"
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
		raw := ev.KeepRaw()
		rawClone := ev.KeepRaw().Clone() // decodes raw's document (Clone reads its values)
		for s := Slot(-1); s <= Slot(f.Len()); s++ {
			want, wantNull := ev.Values(s), ev.HasNull(s)
			for name, got := range map[string]*Event{"clone": c, "clone of clone": cc, "KeepRaw": raw, "clone of KeepRaw": rawClone} {
				if gv := got.Values(s); !reflect.DeepEqual(gv, want) && !(len(gv) == 0 && len(want) == 0) {
					t.Errorf("%s: %s slot %d: Values %v, want %v", doc, name, s, gv, want)
				}
				if gn := got.HasNull(s); gn != wantNull {
					t.Errorf("%s: %s slot %d: HasNull %v, want %v", doc, name, s, gn, wantNull)
				}
			}
		}
		if string(c.Raw) != doc || string(cc.Raw) != doc || string(raw.Raw) != doc {
			t.Errorf("raw %q / %q / %q, want %q", c.Raw, cc.Raw, raw.Raw, doc)
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

// TestKeepRaw checks KeepRaw's copies: one per Decode, Keep's copy when there is one, values
// decoded from the copied document once whatever the number of concurrent readers (run
// with -race), unaffected by what happens to the input buffer and to the event afterwards.
func TestKeepRaw(t *testing.T) {
	f := NewFields()
	a, b := f.Add("a"), f.Add("b.c")
	d := NewDecoder(f)
	var ev Event
	buf := []byte(`{"a":"o\u006ee","b":{"c":[1,null]}}`)
	if err := d.Decode(buf, &ev); err != nil {
		t.Fatal(err)
	}
	r1, r2 := ev.KeepRaw(), ev.KeepRaw()
	if r1 != r2 || r1.KeepRaw() != r1 || r1.Keep() != r1 {
		t.Fatal("KeepRaw made two copies of one decoded event, or a copy of its copy")
	}
	if r1.lazy == nil {
		t.Fatal("KeepRaw copied the values")
	}
	copy(buf, `{"a":"two!!!!!!","b":{"c":["x",4]}}`)
	if err := d.Decode(buf, &ev); err != nil {
		t.Fatal(err)
	}
	k := ev.Keep()
	if ev.KeepRaw() != k {
		t.Error("KeepRaw after Keep is not Keep's copy")
	}
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vs := r1.Values(a)
			bs := r1.Values(b)
			got[i] = fmt.Sprintf("%q %d %v %v %v", vs[0].Str, len(bs), bs[0].Int, r1.HasNull(b), r1.Has(a))
		}()
	}
	wg.Wait()
	for _, g := range got {
		if want := `"one" 1 1 true true`; g != want {
			t.Errorf("KeepRaw copy read %s, want %s", g, want)
		}
	}
	if vs := k.Values(a); len(vs) != 1 || vs[0].Str != "two!!!!!!" {
		t.Errorf("Keep copy a = %v", vs)
	}
	var plain Event // not filled by a Decoder: KeepRaw is Keep
	if c := plain.KeepRaw(); c.lazy != nil || c != plain.Keep() {
		t.Error("KeepRaw of an event no Decoder filled is not Keep's copy")
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

// memOrigin is an Origin over documents held in memory, counting reads, that can fail or
// give other bytes.
type memOrigin struct {
	mu    sync.Mutex
	data  map[string][]byte
	reads int
	fail  error
}

func (o *memOrigin) ReadDoc(source string, offset int64, n int) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reads++
	if o.fail != nil {
		return nil, o.fail
	}
	d := o.data[source]
	if offset < 0 || offset+int64(n) > int64(len(d)) {
		return nil, io.ErrUnexpectedEOF
	}
	return append([]byte(nil), d[offset:offset+int64(n)]...), nil
}

// TestKeepRawByReference checks KeepRaw on an event with an origin: no copy of the
// document, which Doc and the values read again (once, whatever the number of concurrent
// readers; run with -race), and an error, with no values, when the document can no longer
// be read or changed.
func TestKeepRawByReference(t *testing.T) {
	f := NewFields()
	a := f.Add("a")
	d := NewDecoder(f)
	file := []byte("{\"a\":\"x\"}\n{\"a\":\"o\\u006ee\"}\n")
	doc := file[10 : len(file)-1]
	for _, c := range []struct {
		name    string
		change  func(o *memOrigin)
		wantErr string
	}{
		{"same", func(*memOrigin) {}, ""},
		{"changed", func(o *memOrigin) { o.data["f"] = []byte(strings.Replace(string(file), "o\\u006ee", "t\\u0077o", 1)) },
			"f:2: the document changed since it was read"},
		{"gone", func(o *memOrigin) { o.fail = os.ErrNotExist }, "f:2: reading the document again: file does not exist"},
	} {
		o := &memOrigin{data: map[string][]byte{"f": file}}
		var ev Event
		buf := append([]byte(nil), doc...)
		if err := d.Decode(buf, &ev); err != nil {
			t.Fatal(err)
		}
		ev.Source, ev.Line = "f", 2
		ev.SetOrigin(o, 10)
		k := ev.KeepRaw()
		if k.Raw != nil || ev.KeepRaw() != k {
			t.Fatalf("%s: KeepRaw copied the document, or made two copies", c.name)
		}
		copy(buf, `{"a":"........"}`) // the input buffer is reused
		if err := d.Decode(buf, &ev); err != nil {
			t.Fatal(err)
		}
		c.change(o)
		var wg sync.WaitGroup
		docs := make([]string, 8)
		errs := make([]error, 8)
		vals := make([]int, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				raw, err := k.Doc()
				docs[i], errs[i], vals[i] = string(raw), err, len(k.Values(a))
			}()
		}
		wg.Wait()
		for i := range 8 {
			if c.wantErr == "" {
				if errs[i] != nil || docs[i] != string(doc) || vals[i] != 1 || k.Values(a)[0].Str != "one" {
					t.Errorf("%s: Doc %q, %v, %d values; want %q and one value", c.name, docs[i], errs[i], vals[i], doc)
				}
			} else if errs[i] == nil || errs[i].Error() != c.wantErr || vals[i] != 0 {
				t.Errorf("%s: Doc error %v, %d values; want %q and none", c.name, errs[i], vals[i], c.wantErr)
			}
		}
		if o.reads != 1 {
			t.Errorf("%s: the document was read %d times, want once", c.name, o.reads)
		}
	}
	// Without an origin, or once Decode forgot it, KeepRaw copies.
	var ev Event
	if err := d.Decode(append([]byte(nil), doc...), &ev); err != nil {
		t.Fatal(err)
	}
	if k := ev.KeepRaw(); string(k.Raw) != string(doc) {
		t.Errorf("KeepRaw without an origin: Raw %q", k.Raw)
	}
}

// TestKeepRawUndecodable checks a copy made by KeepRaw whose document no longer decodes (a
// bug: it decoded when kept): reading its values gives none, concurrently and without a
// panic, and Doc then says why.
func TestKeepRawUndecodable(t *testing.T) {
	f := NewFields()
	a := f.Add("a")
	d := NewDecoder(f)
	var ev Event
	if err := d.Decode([]byte(`{"a":"one"}`), &ev); err != nil {
		t.Fatal(err)
	}
	ev.Source, ev.Line = "f", 2
	k := ev.KeepRaw()
	k.Raw = []byte(`{"a":"one"`) // what no bug-free path can do
	if raw, err := k.Doc(); err != nil || string(raw) != `{"a":"one"` {
		t.Errorf("Doc before the values were read: %q, %v", raw, err)
	}
	var wg sync.WaitGroup
	vals := make([]int, 8)
	for i := range vals {
		wg.Go(func() { vals[i] = len(k.Values(a)) })
	}
	wg.Wait()
	for i, n := range vals {
		if n != 0 || k.Has(a) {
			t.Errorf("reader %d: %d values, want none", i, n)
		}
	}
	const want = "f:2: the kept document no longer decodes: offset 10: unexpected end of document after an object value"
	if _, err := k.Doc(); err == nil || err.Error() != want {
		t.Errorf("Doc: %v, want %s", err, want)
	}
}
