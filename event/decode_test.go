package event

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// got renders the values and null flag of one slot for comparison.
type got struct {
	Vals []Value
	Null bool
}

func decodeOne(t *testing.T, doc string, paths ...string) ([]got, error) {
	t.Helper()
	f := NewFields()
	for _, p := range paths {
		f.Add(p)
	}
	d := NewDecoder(f)
	var ev Event
	err := d.Decode([]byte(doc), &ev)
	out := make([]got, len(paths))
	for i, p := range paths {
		s, _ := f.Lookup(p)
		out[i] = got{Vals: ev.Values(s), Null: ev.HasNull(s)}
	}
	return out, err
}

func str(s string) Value { return Value{Kind: KindString, Str: s, Flags: stringFlags(s)} }

// stringFlags are the Flags a decoded string carries, as documented (not as computed).
func stringFlags(s string) Flags {
	if len(s) >= 4 && strings.Trim(s[:4], "0123456789") == "" {
		return 0
	}
	return NoYearPrefix
}
func num(n int64, lit string) Value { return Value{Kind: KindInt, Int: n, Str: lit} }

func TestDecodeValues(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		path string
		want got
	}{
		{"dotted key", `{"process.pid":1}`, "process.pid", got{Vals: []Value{num(1, "1")}}},
		{"nested", `{"process":{"pid":1}}`, "process.pid", got{Vals: []Value{num(1, "1")}}},
		{"key with dots deep", `{"user":{"extra":{"authentication.kubernetes.io/pod-name":["p"]}}}`,
			"user.extra.authentication.kubernetes.io/pod-name", got{Vals: []Value{str("p")}}},
		{"mixed dotted and nested", `{"a.b":{"c":1},"a":{"b.c":2,"b":{"c":3}}}`, "a.b.c",
			got{Vals: []Value{num(1, "1"), num(2, "2"), num(3, "3")}}},
		{"array of scalars", `{"event":{"type":["start","process_started"]}}`, "event.type",
			got{Vals: []Value{str("start"), str("process_started")}}},
		{"array of objects", `{"a":[{"b":1},{"c":9},{"b":[2,[3]]}]}`, "a.b",
			got{Vals: []Value{num(1, "1"), num(2, "2"), num(3, "3")}}},
		{"nested arrays", `{"a":[[1,[2]],[],[[3]]]}`, "a", got{Vals: []Value{num(1, "1"), num(2, "2"), num(3, "3")}}},
		{"explicit null", `{"a":null}`, "a", got{Null: true}},
		{"array of nulls", `{"a":[null,null]}`, "a", got{Null: true}},
		{"nulls mixed", `{"a":["x",null]}`, "a", got{Vals: []Value{str("x")}, Null: true}},
		{"empty array", `{"a":[]}`, "a", got{}},
		{"missing", `{"b":1}`, "a", got{}},
		{"object at leaf", `{"a":{"b":1}}`, "a", got{}},
		{"bools", `{"a":[true,false]}`, "a", got{Vals: []Value{{Kind: KindBool, Int: 1}, {Kind: KindBool}}}},
		{"negative int", `{"a":-42}`, "a", got{Vals: []Value{num(-42, "-42")}}},
		{"max int64", `{"a":9223372036854775807}`, "a", got{Vals: []Value{num(math.MaxInt64, "9223372036854775807")}}},
		{"min int64", `{"a":-9223372036854775808}`, "a", got{Vals: []Value{num(math.MinInt64, "-9223372036854775808")}}},
		{"int overflow is float", `{"a":9223372036854775808}`, "a",
			got{Vals: []Value{FloatValue(9223372036854775808, "9223372036854775808")}}},
		{"fraction", `{"a":1.50}`, "a", got{Vals: []Value{FloatValue(1.5, "1.50")}}},
		{"exponent", `{"a":1e3}`, "a", got{Vals: []Value{FloatValue(1000, "1e3")}}},
		{"huge exponent", `{"a":-1e400}`, "a", got{Vals: []Value{FloatValue(math.Inf(-1), "-1e400")}}},
		{"escapes", `{"a":"q\"b\\s\/n\nt\tu\u00e9"}`, "a", got{Vals: []Value{str("q\"b\\s/n\nt\tu\u00e9")}}},
		{"surrogate pair", `{"a":"\ud83d\ude00!"}`, "a", got{Vals: []Value{str("\U0001F600!")}}},
		{"lone surrogate", `{"a":"\ud83dx\ude00"}`, "a", got{Vals: []Value{str("\uFFFDx\uFFFD")}}},
		{"escaped key", `{"pro\u0063ess":{"pid":7}}`, "process.pid", got{Vals: []Value{num(7, "7")}}},
		{"escaped dot in key", `{"process\u002epid":7}`, "process.pid", got{Vals: []Value{num(7, "7")}}},
		{"empty string", `{"a":""}`, "a", got{Vals: []Value{str("")}}},
		{"long string", `{"a":"` + strings.Repeat("abcdefgh", 20) + `é"}`, "a",
			got{Vals: []Value{str(strings.Repeat("abcdefgh", 20) + "é")}}},
		{"whitespace", " {\n\t\"a\" :\r [ 1 , 2 ] } \n", "a", got{Vals: []Value{num(1, "1"), num(2, "2")}}},
		{"duplicate keys kept", `{"a":1,"a":2}`, "a", got{Vals: []Value{num(1, "1"), num(2, "2")}}},
		{"skipped siblings", `{"x":{"y":[1,{"z":"\u0041"}],"a":3},"a":"v"}`, "a", got{Vals: []Value{str("v")}}},
		{"empty key segment", `{"a":{"":5}}`, "a.", got{Vals: []Value{num(5, "5")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := decodeOne(t, tt.doc, tt.path)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(g[0].Vals) == 0 {
				g[0].Vals = nil
			}
			if !reflect.DeepEqual(g[0], tt.want) {
				t.Errorf("got %+v, want %+v", g[0], tt.want)
			}
		})
	}
}

func TestDecodeSeveralPaths(t *testing.T) {
	doc := `{"process":{"name":"curl","parent":{"name":"bash"},"args":["curl","-s"]},"process.pid":3}`
	g, err := decodeOne(t, doc, "process.name", "process.parent.name", "process.args", "process.pid", "process")
	if err != nil {
		t.Fatal(err)
	}
	want := []got{
		{Vals: []Value{str("curl")}},
		{Vals: []Value{str("bash")}},
		{Vals: []Value{str("curl"), str("-s")}},
		{Vals: []Value{num(3, "3")}},
		{},
	}
	for i := range g {
		if len(g[i].Vals) == 0 {
			g[i].Vals = nil
		}
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("got %+v\nwant %+v", g, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		doc    string
		offset int
		msg    string
	}{
		{``, 0, "empty document"},
		{`  `, 2, "empty document"},
		{`[1]`, 0, "document is not a JSON object"},
		{`"s"`, 0, "document is not a JSON object"},
		{`x`, 0, `unexpected character 'x' looking for the beginning of an object`},
		{`{`, 1, "unexpected end of document looking for the beginning of an object key"},
		{`{"a":1`, 6, "unexpected end of document after an object value"},
		{`{"a" 1}`, 5, `unexpected character '1' after an object key`},
		{`{"a":1,}`, 7, `unexpected character '}' looking for the beginning of an object key`},
		{`{"a":[1,]}`, 8, `unexpected character ']' looking for the beginning of a value`},
		{`{"a":[1 2]}`, 8, `unexpected character '2' after an array element`},
		{`{"a":01}`, 6, `unexpected character '1' after an object value`},
		{`{"a":-}`, 6, `unexpected character '}' in a number`},
		{`{"a":1.}`, 7, `unexpected character '}' after a decimal point`},
		{`{"a":1e}`, 7, `unexpected character '}' in the exponent of a number`},
		{`{"a":tru}`, 8, `unexpected character '}' in literal true`},
		{`{"a":nul`, 8, `unexpected end of document in literal null`},
		{`{"a":"x}`, 5, "unterminated string"},
		{"{\"a\":\"x\ty\"}", 7, `control character '\t' in string`},
		{`{"a":"\x"}`, 7, `invalid escape \x in string`},
		{`{"a":"\u12g4"}`, 10, `invalid character 'g' in \u escape`},
		{`{"a":1} {}`, 8, `unexpected character '{' after the end of the document`},
		{`{"a":+1}`, 5, `unexpected character '+' looking for the beginning of a value`},
		{`{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`, 5 + maxDepth - 1, "exceeded maximum nesting depth"},
	}
	for _, tt := range tests {
		name := tt.doc
		if len(name) > 30 {
			name = name[:30]
		}
		t.Run(name, func(t *testing.T) {
			// Once with a path that records everything, once skipping everything.
			for _, path := range []string{"a", "zzz"} {
				g, err := decodeOne(t, tt.doc, path)
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("path %s: got error %v, want a *SyntaxError", path, err)
				}
				if se.Offset != tt.offset || se.Msg != tt.msg {
					t.Errorf("path %s: got %d %q, want %d %q", path, se.Offset, se.Msg, tt.offset, tt.msg)
				}
				if len(g[0].Vals) != 0 || g[0].Null {
					t.Errorf("path %s: values left after an error: %+v", path, g[0])
				}
			}
		})
	}
}

func TestDepthLimitAccepted(t *testing.T) {
	doc := `{"a":` + strings.Repeat("[", maxDepth-1) + `7` + strings.Repeat("]", maxDepth-1) + `}`
	g, err := decodeOne(t, doc, "a")
	if err != nil {
		t.Fatal(err)
	}
	if want := []Value{num(7, "7")}; !reflect.DeepEqual(g[0].Vals, want) {
		t.Errorf("got %v, want %v", g[0].Vals, want)
	}
}

func TestReuseAndClone(t *testing.T) {
	f := NewFields()
	a, b := f.Add("a"), f.Add("b")
	d := NewDecoder(f)
	var ev Event
	buf := []byte(`{"a":["x","y\u0021"],"b":null}`)
	if err := d.Decode(buf, &ev); err != nil {
		t.Fatal(err)
	}
	ev.Source, ev.Line, ev.Seq, ev.Index = "f.json", 3, 9, "idx"
	c := ev.Clone()
	// Overwrite the input and decode another document into ev: the clone must not change.
	copy(buf, bytes32('#', len(buf)))
	if err := d.Decode([]byte(`{"b":[1]}`), &ev); err != nil {
		t.Fatal(err)
	}
	if got := ev.Values(a); len(got) != 0 || ev.HasNull(b) {
		t.Errorf("stale values after reuse: a=%v null(b)=%v", got, ev.HasNull(b))
	}
	if got, want := ev.Values(b), []Value{num(1, "1")}; !reflect.DeepEqual(got, want) {
		t.Errorf("b = %v, want %v", got, want)
	}
	if got, want := c.Values(a), []Value{str("x"), str("y!")}; !reflect.DeepEqual(got, want) {
		t.Errorf("clone a = %v, want %v", got, want)
	}
	if !c.HasNull(b) || len(c.Values(b)) != 0 {
		t.Errorf("clone b: null=%v values=%v", c.HasNull(b), c.Values(b))
	}
	if string(c.Raw) != `{"a":["x","y\u0021"],"b":null}` || c.Source != "f.json" || c.Line != 3 || c.Seq != 9 || c.Index != "idx" {
		t.Errorf("clone metadata: %q %s %d %d %s", c.Raw, c.Source, c.Line, c.Seq, c.Index)
	}
}

func bytes32(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}

func TestFields(t *testing.T) {
	f := NewFields()
	if s := f.Add("a.b"); s != 0 {
		t.Errorf("first slot %d", s)
	}
	if s := f.Add("c"); s != 1 {
		t.Errorf("second slot %d", s)
	}
	if s := f.Add("a.b"); s != 0 {
		t.Errorf("re-add gave %d", s)
	}
	if s, ok := f.Lookup("c"); !ok || s != 1 {
		t.Errorf("Lookup(c) = %d %v", s, ok)
	}
	if _, ok := f.Lookup("a"); ok {
		t.Error("Lookup(a) found a prefix")
	}
	if f.Path(0) != "a.b" || f.Path(5) != "" || f.Path(-1) != "" || f.Len() != 2 {
		t.Errorf("Path/Len: %q %q %d", f.Path(0), f.Path(5), f.Len())
	}
	// A decoder built before a later Add does not know the new path; Values is nil.
	d := NewDecoder(f)
	late := f.Add("late")
	var ev Event
	if err := d.Decode([]byte(`{"late":1}`), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Values(late) != nil || ev.HasNull(late) {
		t.Errorf("late slot has values %v", ev.Values(late))
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	doc := readECS(t)
	f := NewFields()
	for _, p := range fields40 {
		f.Add(p)
	}
	d := NewDecoder(f)
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

// TestNoYearPrefixFlag checks the flag the decoder puts on strings: set exactly when the
// string does not start with four ASCII digits, escaped strings included.
func TestNoYearPrefixFlag(t *testing.T) {
	fields := NewFields()
	slot := fields.Add("s")
	dec := NewDecoder(fields)
	for _, c := range []struct {
		json   string
		noYear bool
	}{
		{`"2024-01-01"`, false}, {`"2024"`, false}, {`"20170830"`, false}, {`"\u0032024x"`, false},
		{`"202"`, true}, {`""`, true}, {`"x2024"`, true}, {`"202x-01"`, true}, {`"web-01"`, true}, {`"١٢٣٤"`, true},
	} {
		var ev Event
		if err := dec.Decode([]byte(`{"s":`+c.json+`}`), &ev); err != nil {
			t.Fatal(err)
		}
		v := ev.Values(slot)[0]
		if got := v.Flags&NoYearPrefix != 0; got != c.noYear {
			t.Errorf("%s: NoYearPrefix %v, want %v", c.json, got, c.noYear)
		}
	}
}
