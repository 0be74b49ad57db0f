package jsonw

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestAppendString pins the output of both modes on every class of character.
func TestAppendString(t *testing.T) {
	tests := []struct {
		in      string
		minimal string
		marshal string
	}{
		{"", `""`, `""`},
		{"plain text", `"plain text"`, `"plain text"`},
		{`quote " backslash \ slash /`, `"quote \" backslash \\ slash /"`, `"quote \" backslash \\ slash /"`},
		{"\n\r\t", `"\n\r\t"`, `"\n\r\t"`},
		{"\b\f", `"\u0008\u000c"`, `"\b\f"`},
		{"\x00\x01\x07\v\x1b\x1f", `"\u0000\u0001\u0007\u000b\u001b\u001f"`, `"\u0000\u0001\u0007\u000b\u001b\u001f"`},
		{"\x20\x7e\x7f", "\" ~\x7f\"", "\" ~\x7f\""},
		{"<a href=x&y>", `"<a href=x&y>"`, `"\u003ca href=x\u0026y\u003e"`},
		{"é ʰ 日本 😀", `"é ʰ 日本 😀"`, `"é ʰ 日本 😀"`},
		{"\u2028\u2029", "\"\u2028\u2029\"", `"\u2028\u2029"`},
		{"\u2027\u202a", "\"\u2027\u202a\"", "\"\u2027\u202a\""},
		{"\ufffd", "\"\ufffd\"", "\"\ufffd\""},
		{"bad \xff end", `"bad \ufffd end"`, `"bad \ufffd end"`},
		{"\xc3", `"\ufffd"`, `"\ufffd"`},                                                 // truncated sequence
		{"\xc3(", `"\ufffd("`, `"\ufffd("`},                                              // bad continuation
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`, `"\ufffd\ufffd\ufffd"`},                 // surrogate
		{"\xc0\xaf", `"\ufffd\ufffd"`, `"\ufffd\ufffd"`},                                 // overlong
		{"\xf4\x90\x80\x80", `"\ufffd\ufffd\ufffd\ufffd"`, `"\ufffd\ufffd\ufffd\ufffd"`}, // above U+10FFFF
		{"a.b.c", `"a.b.c"`, `"a.b.c"`},
		{"mixed\x00é<\xff\u2028\"", "\"mixed\\u0000é<\\ufffd\u2028\\\"\"", `"mixed\u0000é\u003c\ufffd\u2028\""`},
	}
	for _, tc := range tests {
		for _, c := range []struct {
			m    Mode
			want string
		}{{Minimal, tc.minimal}, {Marshal, tc.marshal}} {
			if got := AppendString([]byte("pre"), tc.in, c.m); string(got) != "pre"+c.want {
				t.Errorf("AppendString(%q, %d) = %s, want %s", tc.in, c.m, got[3:], c.want)
			}
			if got := AppendBytes([]byte("pre"), []byte(tc.in), c.m); string(got) != "pre"+c.want {
				t.Errorf("AppendBytes(%q, %d) = %s, want %s", tc.in, c.m, got[3:], c.want)
			}
			inner := c.want[1 : len(c.want)-1]
			if got := AppendEscaped([]byte("pre"), tc.in, c.m); string(got) != "pre"+inner {
				t.Errorf("AppendEscaped(%q, %d) = %s, want %s", tc.in, c.m, got[3:], inner)
			}
		}
		if want, _ := json.Marshal(tc.in); string(want) != tc.marshal {
			t.Errorf("json.Marshal(%q) = %s, the table says %s", tc.in, want, tc.marshal)
		}
	}
}

// TestAllocs checks that appending to a slice with room allocates nothing.
func TestAllocs(t *testing.T) {
	s := "a <long> string with \"escapes\", \n, \x01, é, \u2028 and \xff" + strings.Repeat("x", 100)
	buf := make([]byte, 0, 1024)
	for _, m := range []Mode{Minimal, Marshal} {
		if n := testing.AllocsPerRun(100, func() {
			buf = AppendString(buf[:0], s, m)
			buf = AppendBytes(buf, buf[:10], m)
			buf = AppendEscaped(buf, s, m)
		}); n != 0 {
			t.Errorf("mode %d: %v allocations per run, want 0", m, n)
		}
	}
}

// minimalReference is Minimal written the plain way, rune by rune, for FuzzAppendString.
func minimalReference(s string) []byte {
	b := []byte{'"'}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < 0x20:
			b = append(b, `\u00`...)
			b = append(b, lowerHex[r>>4], lowerHex[r&0xF])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// FuzzAppendString checks Marshal against json.Marshal and Minimal against a rune-by-rune
// reference, that both give valid JSON decoding to the same string, and that the three
// functions agree.
func FuzzAppendString(f *testing.F) {
	f.Add("plain")
	f.Add("<script>&amp;</script>\u2028\u2029")
	f.Add("\x00\b\f\n\r\t\x1f\x7f\"\\")
	f.Add("bad \xff \xc3 \xed\xa0\x80 utf-8")
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		marshal := AppendString(nil, s, Marshal)
		if !bytes.Equal(marshal, want) {
			t.Fatalf("Marshal %q:\n got %s\nwant %s", s, marshal, want)
		}
		minimal := AppendString(nil, s, Minimal)
		if want := minimalReference(s); !bytes.Equal(minimal, want) {
			t.Fatalf("Minimal %q:\n got %s\nwant %s", s, minimal, want)
		}
		var a, b string
		if err := json.Unmarshal(minimal, &a); err != nil {
			t.Fatalf("Minimal %q gives invalid JSON %s: %v", s, minimal, err)
		}
		if err := json.Unmarshal(marshal, &b); err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Fatalf("%q decodes to %q (Minimal) and %q (Marshal)", s, a, b)
		}
		if utf8.ValidString(s) && a != s {
			t.Fatalf("%q decodes to %q", s, a)
		}
		for _, m := range []Mode{Minimal, Marshal} {
			q := AppendString(nil, s, m)
			if got := AppendBytes(nil, []byte(s), m); !bytes.Equal(got, q) {
				t.Fatalf("mode %d %q: AppendBytes %s, AppendString %s", m, s, got, q)
			}
			if got := AppendEscaped(nil, s, m); !bytes.Equal(got, q[1:len(q)-1]) {
				t.Fatalf("mode %d %q: AppendEscaped %s, AppendString %s", m, s, got, q)
			}
		}
	})
}

var sink []byte

func benchmarkAppendString(b *testing.B, s string) {
	for _, m := range []struct {
		name string
		mode Mode
	}{{"Minimal", Minimal}, {"Marshal", Marshal}} {
		b.Run(m.name, func(b *testing.B) {
			buf := make([]byte, 0, 4*len(s)+2)
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendString(buf[:0], s, m.mode)
			}
			sink = buf
		})
	}
}

func BenchmarkAppendStringASCII(b *testing.B) {
	benchmarkAppendString(b, "/usr/bin/kubectl get secrets --namespace kube-system -o yaml")
}

func BenchmarkAppendStringShort(b *testing.B) {
	benchmarkAppendString(b, "process")
}

func BenchmarkAppendStringEscapes(b *testing.B) {
	benchmarkAppendString(b, `C:\Windows\System32\cmd.exe /c "echo <x> & exit"`+"\n")
}

func BenchmarkAppendStringUnicode(b *testing.B) {
	benchmarkAppendString(b, "Überprüfung der Zugriffsrechte für 日本語のユーザー")
}
