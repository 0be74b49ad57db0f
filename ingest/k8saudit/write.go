package k8saudit

import (
	"bytes"
	"time"
	"unsafe"

	"github.com/tripline/tripline/internal/jsonw"
	"github.com/valyala/fastjson"
)

// writer appends JSON text to buf, leaving out null, "", {} and [] values recursively (the
// integration's final clean-up step): an object or array member is written, then taken
// back if it turned out empty.
type writer struct {
	buf []byte
	// marks holds, for each open object or array, the buffer length before its member key
	// (where to cut back to if it stays empty).
	marks []int
	// pendingKey is the start of the key of the member being written, -1 if none.
	pendingKey int
	// badNumber is set when the input held a number that is not valid JSON (the parser is
	// lenient about leading zeros, NaN and the like; Elasticsearch is not).
	badNumber bool
}

// key starts an object member: a comma when needed, then the quoted key and a colon.
func (w *writer) key(k string) {
	w.pendingKey = len(w.buf)
	w.comma()
	w.buf = jsonw.AppendString(w.buf, k, jsonw.Minimal)
	w.buf = append(w.buf, ':')
}

// keyBytes is key for a key in the input; with dedot, each '.' of the key becomes '_'.
func (w *writer) keyBytes(k []byte, dedot bool) {
	w.pendingKey = len(w.buf)
	w.comma()
	start := len(w.buf)
	w.buf = jsonw.AppendBytes(w.buf, k, jsonw.Minimal)
	if dedot {
		// Escaping neither writes nor removes a '.', so the dots of the quoted key are
		// those of k.
		for q := w.buf[start:]; ; {
			i := bytes.IndexByte(q, '.')
			if i < 0 {
				break
			}
			q[i] = '_'
			q = q[i+1:]
		}
	}
	w.buf = append(w.buf, ':')
}

func (w *writer) comma() {
	if n := len(w.buf); n > 0 {
		if c := w.buf[n-1]; c != '{' && c != '[' {
			w.buf = append(w.buf, ',')
		}
	}
}

// open starts an object or array that is the value of the pending key (or an element).
func (w *writer) open(c byte) {
	mark := w.pendingKey
	if mark < 0 {
		mark = len(w.buf)
	}
	w.marks = append(w.marks, mark)
	w.pendingKey = -1
	w.buf = append(w.buf, c)
}

// close ends the innermost object or array, removing it with its key when it is empty.
// It reports whether it was kept.
func (w *writer) close(c byte) bool {
	mark := w.marks[len(w.marks)-1]
	w.marks = w.marks[:len(w.marks)-1]
	if last := w.buf[len(w.buf)-1]; last == '{' || last == '[' {
		w.buf = w.buf[:mark]
		return false
	}
	w.buf = append(w.buf, c)
	return true
}

// cancel takes back the pending key.
func (w *writer) cancel() {
	if w.pendingKey >= 0 {
		w.buf = w.buf[:w.pendingKey]
		w.pendingKey = -1
	}
}

func (w *writer) strMember(k, v string) {
	w.key(k)
	w.str(unsafe.Slice(unsafe.StringData(v), len(v)))
}

func (w *writer) timeMember(k string, t time.Time) {
	w.key(k)
	w.buf = append(w.buf, '"')
	w.buf = t.UTC().AppendFormat(w.buf, time.RFC3339)
	w.buf = append(w.buf, '"')
}

func (w *writer) str(s []byte) {
	w.pendingKey = -1
	w.buf = jsonw.AppendBytes(w.buf, s, jsonw.Minimal)
}

// member writes k: v unless v is missing or empty, and reports whether it wrote it.
// dedotKeys replaces '.' by '_' in the keys of v (when v is an object).
func (w *writer) member(k string, v *fastjson.Value, dedotKeys bool) bool {
	if isEmptyScalar(v) {
		return false
	}
	w.key(k)
	return w.value(v, dedotKeys)
}

func (w *writer) memberBytes(k []byte, v *fastjson.Value, dedotKeys bool) bool {
	if isEmptyScalar(v) {
		return false
	}
	w.keyBytes(k, false)
	return w.value(v, dedotKeys)
}

// elem writes an array element unless it is missing or empty.
func (w *writer) elem(v *fastjson.Value) {
	if isEmptyScalar(v) {
		return
	}
	w.pendingKey = len(w.buf)
	w.comma()
	w.value(v, false)
}

func isEmptyScalar(v *fastjson.Value) bool {
	if v == nil {
		return true
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return true
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		return len(s) == 0
	}
	return false
}

// value writes v after a key or comma already written; it reports whether v was kept
// (when it was not, the pending key is taken back too).
func (w *writer) value(v *fastjson.Value, dedotKeys bool) bool {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		w.open('{')
		o.Visit(func(k []byte, c *fastjson.Value) {
			if isEmptyScalar(c) {
				return
			}
			w.keyBytes(k, dedotKeys)
			w.value(c, false)
		})
		return w.close('}')
	case fastjson.TypeArray:
		a, _ := v.Array()
		w.open('[')
		for _, c := range a {
			w.elem(c)
		}
		return w.close(']')
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		w.str(s)
	case fastjson.TypeNull:
		w.cancel()
		return false
	case fastjson.TypeNumber:
		w.pendingKey = -1
		start := len(w.buf)
		w.buf = v.MarshalTo(w.buf)
		if !validNumber(w.buf[start:]) {
			w.badNumber = true
		}
	default:
		w.pendingKey = -1
		w.buf = v.MarshalTo(w.buf)
	}
	return true
}

// validNumber reports whether b is a number as JSON (RFC 8259) spells it.
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(b)
}

// bytesString views b as a string without copying; the string must not outlive b.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
