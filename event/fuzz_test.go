package event

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzPaths are the paths FuzzDecode checks against encoding/json.
var fuzzPaths = []string{"a", "a.b", "b", "a.b.c", "x.y", "", "c.d"}

// FuzzDecode checks that Decode never panics, accepts exactly the documents that
// encoding/json finds valid (when they are objects), and records the same values as an
// independent walk over encoding/json's token stream.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, `{"a":{"b":[1,"x",null,true]}}`, `{"a.b":{"c":2},"a":{"b.c":3}}`,
		`{"x":{"y":"\ud83d\ude00\u00e9\n"}}`, `{"a":[[],[null],[{"b":-1.5e3}]]}`, `{"":{"":0}}`,
		`{"a":1,}`, `{"a":01}`, `[1]`, `{"c.d":"x\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		fs := NewFields()
		for _, p := range fuzzPaths {
			fs.Add(p)
		}
		d := NewDecoder(fs)
		var ev Event
		err := d.Decode(doc, &ev)
		first := bytes.TrimLeft(doc, " \t\r\n")
		wantOK := json.Valid(doc) && len(first) > 0 && first[0] == '{'
		if (err == nil) != wantOK {
			t.Fatalf("Decode error %v, encoding/json valid object %v", err, wantOK)
		}
		if err != nil {
			return
		}
		want := map[string]got{}
		oracle(t, json.NewDecoder(bytes.NewReader(doc)), want)
		for i, p := range fuzzPaths {
			g := got{Null: ev.HasNull(Slot(i))}
			for _, v := range ev.Values(Slot(i)) {
				if v.Kind == KindString {
					v.Str = replaceInvalid(v.Str)
				}
				g.Vals = append(g.Vals, v)
			}
			if w := want[p]; !reflect.DeepEqual(g, w) {
				t.Fatalf("path %q: got %+v, want %+v", p, g, w)
			}
		}
	})
}

// oracle walks the token stream of one JSON object and records the leaf values of
// fuzzPaths: a leaf's path is the dot-joined keys leading to it.
func oracle(t *testing.T, dec *json.Decoder, out map[string]got) {
	dec.UseNumber()
	var walk func(path []string)
	walk = func(path []string) {
		tok, err := dec.Token()
		if err != nil && err != io.EOF {
			t.Fatalf("oracle: %v", err)
		}
		p := strings.Join(path, ".")
		rec := func(v *Value) {
			registered := false
			for _, q := range fuzzPaths {
				registered = registered || q == p
			}
			if !registered || len(path) == 0 {
				return
			}
			g := out[p]
			if v == nil {
				g.Null = true
			} else {
				g.Vals = append(g.Vals, *v)
			}
			out[p] = g
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						t.Fatalf("oracle key: %v", err)
					}
					walk(append(append([]string(nil), path...), strings.Split(k.(string), ".")...))
				}
				dec.Token()
			case '[':
				for dec.More() {
					walk(path)
				}
				dec.Token()
			}
		case string:
			rec(&Value{Kind: KindString, Str: tok, Flags: stringFlags(tok)})
		case bool:
			v := Value{Kind: KindBool}
			if tok {
				v.Int = 1
			}
			rec(&v)
		case json.Number:
			lit := string(tok)
			v := Value{Kind: KindFloat, Str: lit}
			if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
				v.Kind, v.Int = KindInt, n
			} else {
				f, _ := strconv.ParseFloat(lit, 64)
				v = FloatValue(f, lit)
			}
			rec(&v)
		case nil:
			rec(nil)
		}
	}
	walk(nil)
}

// replaceInvalid replaces each byte of s that is not valid UTF-8 by U+FFFD, as
// encoding/json does when it decodes a string.
func replaceInvalid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
