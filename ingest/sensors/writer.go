package sensors

import (
	"strconv"
	"time"

	"github.com/valyala/fastjson"

	"github.com/tripline/tripline/internal/jsonw"
)

// writer appends a JSON object to buf. An object or array opened with obj or arr and left
// empty is taken back by end, so that a document never holds {} or [] for a sensor that
// gave nothing there.
type writer struct {
	buf   []byte
	marks []mark // the open objects and arrays
}

// mark is an open object or array: where its member starts, and its closing bracket.
type mark struct {
	pos   int
	close byte
}

func (w *writer) reset(buf []byte) {
	w.buf, w.marks = append(buf[:0], '{'), w.marks[:0]
}

func (w *writer) comma() {
	if c := w.buf[len(w.buf)-1]; c != '{' && c != '[' {
		w.buf = append(w.buf, ',')
	}
}

func (w *writer) key(k string) {
	w.comma()
	w.buf = jsonw.AppendString(w.buf, k, jsonw.Minimal)
	w.buf = append(w.buf, ':')
}

// obj opens the object member k; end closes it.
func (w *writer) obj(k string) {
	w.marks = append(w.marks, mark{len(w.buf), '}'})
	w.key(k)
	w.buf = append(w.buf, '{')
}

// arr opens the array member k; end closes it.
func (w *writer) arr(k string) {
	w.marks = append(w.marks, mark{len(w.buf), ']'})
	w.key(k)
	w.buf = append(w.buf, '[')
}

// end closes the innermost open object or array, or removes it with its key when empty.
func (w *writer) end() {
	m := w.marks[len(w.marks)-1]
	w.marks = w.marks[:len(w.marks)-1]
	if c := w.buf[len(w.buf)-1]; c == '{' || c == '[' {
		w.buf = w.buf[:m.pos]
		return
	}
	w.buf = append(w.buf, m.close)
}

// str writes the string member k; an empty value is left out.
func (w *writer) str(k string, v []byte) {
	if len(v) == 0 {
		return
	}
	w.key(k)
	w.buf = jsonw.AppendBytes(w.buf, v, jsonw.Minimal)
}

// strS is str for a string.
func (w *writer) strS(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.buf = jsonw.AppendString(w.buf, v, jsonw.Minimal)
}

// elem writes a string element of the open array.
func (w *writer) elem(v []byte) {
	w.comma()
	w.buf = jsonw.AppendBytes(w.buf, v, jsonw.Minimal)
}

func (w *writer) int(k string, v int64) {
	w.key(k)
	w.buf = strconv.AppendInt(w.buf, v, 10)
}

func (w *writer) bool(k string, v bool) {
	w.key(k)
	w.buf = strconv.AppendBool(w.buf, v)
}

// time writes t in UTC with the fractional digits it has (at most nanoseconds).
func (w *writer) time(k string, t time.Time) {
	w.key(k)
	w.buf = append(w.buf, '"')
	w.buf = t.UTC().AppendFormat(w.buf, time.RFC3339Nano)
	w.buf = append(w.buf, '"')
}

// finish closes the document.
func (w *writer) finish() []byte {
	w.buf = append(w.buf, '}')
	return w.buf
}

// num returns v as an integer: a JSON number, or a string of digits (Falco writes some
// integers as strings). ok is false for anything else, null included.
func num(v *fastjson.Value) (int64, bool) {
	if v == nil {
		return 0, false
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		f, err := v.Float64()
		if err != nil || f != float64(int64(f)) {
			return 0, false
		}
		return int64(f), true
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		n, err := strconv.ParseInt(string(s), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// strOf returns v's string, nil when v is missing, not a string, or Falco's "<NA>".
func strOf(v *fastjson.Value) []byte {
	if v == nil || v.Type() != fastjson.TypeString {
		return nil
	}
	s, _ := v.StringBytes()
	if string(s) == "<NA>" {
		return nil
	}
	return s
}

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

func appendJSON(b, s []byte) []byte { return jsonw.AppendBytes(b, s, jsonw.Minimal) }
