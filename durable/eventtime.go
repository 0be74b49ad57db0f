package durable

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/tripline/tripline/event"
)

// timeFinder reads an event's journal time: the earliest of the time fields present. It
// reads the document's keys until it has found every field, skipping the other values
// without decoding them (the time is usually the first field); a document it cannot read
// so (an escaped key, a malformed value) is decoded in full instead, as the detector
// decodes it.
type timeFinder struct {
	paths []string
	dec   *event.Decoder
	slots []event.Slot
	ev    event.Event
}

func newTimeFinder(paths []string) *timeFinder {
	if len(paths) > 64 {
		paths = paths[:64]
	}
	f := event.NewFields()
	tf := &timeFinder{paths: paths}
	for _, p := range paths {
		tf.slots = append(tf.slots, f.Add(p))
	}
	tf.dec = event.NewDecoder(f)
	return tf
}

// find returns the earliest time of the time fields of doc; ok is false when none has one.
func (tf *timeFinder) find(doc []byte) (t int64, ok bool) {
	s := scan{tf: tf, doc: doc}
	p := s.ws(0)
	if p < len(doc) && doc[p] == '{' && s.object(p, 0, 1<<len(tf.paths)-1, 0) >= 0 {
		return s.best, s.found
	}
	return tf.decode(doc)
}

// decode reads the time fields with the event decoder.
func (tf *timeFinder) decode(doc []byte) (int64, bool) {
	if tf.dec.Decode(doc, &tf.ev) != nil {
		return 0, false
	}
	var best int64
	found := false
	for _, s := range tf.slots {
		vs := tf.ev.Values(s)
		if len(vs) == 0 {
			continue
		}
		var t int64
		var ok bool
		switch v := vs[0]; v.Kind {
		case event.KindString:
			t, ok = parseTimeText(v.Str)
		case event.KindInt, event.KindFloat:
			t, ok = parseNumber(v.Str)
		}
		if ok && (!found || t < best) {
			best, found = t, true
		}
	}
	return best, found
}

// scan is one reading of a document by timeFinder.find.
type scan struct {
	tf    *timeFinder
	doc   []byte
	done  uint64 // the paths found
	best  int64
	found bool
}

const maxScanDepth = 64

// object reads the object at p, whose keys extend the paths of live (a mask of tf.paths)
// after their first plen bytes, and returns the offset after it, or -1 when the document
// cannot be read so. It stops early, returning len(doc), once every path is found.
func (s *scan) object(p, plen int, live uint64, depth int) int {
	if depth > maxScanDepth {
		return -1
	}
	d := s.doc
	p = s.ws(p + 1)
	if p < len(d) && d[p] == '}' {
		return p + 1
	}
	for p < len(d) {
		if d[p] != '"' {
			return -1
		}
		kEnd := bytes.IndexByte(d[p+1:], '"')
		if kEnd < 0 {
			return -1
		}
		key := d[p+1 : p+1+kEnd]
		if bytes.IndexByte(key, '\\') >= 0 {
			return -1 // an escaped key: decode in full
		}
		p = s.ws(p + 2 + kEnd)
		if p >= len(d) || d[p] != ':' {
			return -1
		}
		p = s.ws(p + 1)
		if p >= len(d) {
			return -1
		}
		var deeper uint64
		for i, path := range s.tf.paths {
			bit := uint64(1) << i
			if live&bit == 0 || s.done&bit != 0 || len(path) < plen+len(key) || path[plen:plen+len(key)] != string(key) {
				continue
			}
			switch {
			case len(path) == plen+len(key):
				if !s.value(p) {
					return -1
				}
				s.done |= bit
			case path[plen+len(key)] == '.':
				deeper |= bit
			}
		}
		if s.done == 1<<len(s.tf.paths)-1 {
			return len(d)
		}
		if deeper != 0 && d[p] == '{' {
			p = s.object(p, plen+len(key)+1, deeper, depth+1)
		} else {
			p = s.skip(p, depth)
		}
		if p < 0 || p >= len(d) {
			return p
		}
		p = s.ws(p)
		if p >= len(d) {
			return -1
		}
		switch d[p] {
		case ',':
			p = s.ws(p + 1)
		case '}':
			return p + 1
		default:
			return -1
		}
	}
	return -1
}

// value reads a time field's value at p (its first element when an array); false when it
// must be decoded in full.
func (s *scan) value(p int) bool {
	d := s.doc
	if d[p] == '[' {
		p = s.ws(p + 1)
		if p >= len(d) {
			return false
		}
	}
	var t int64
	var ok bool
	switch c := d[p]; {
	case c == '"':
		end := bytes.IndexByte(d[p+1:], '"')
		if end < 0 {
			return false
		}
		str := d[p+1 : p+1+end]
		if bytes.IndexByte(str, '\\') >= 0 {
			return false
		}
		t, ok = parseTimeText(string(str))
	case c == '-' || (c >= '0' && c <= '9'):
		end := p
		for end < len(d) && strings.IndexByte("+-.eE0123456789", d[end]) >= 0 {
			end++
		}
		t, ok = parseNumber(string(d[p:end]))
	}
	if ok && (!s.found || t < s.best) {
		s.best, s.found = t, true
	}
	return true
}

// skip returns the offset after the value at p, or -1.
func (s *scan) skip(p, depth int) int {
	d := s.doc
	switch d[p] {
	case '"':
		return skipString(d, p)
	case '{', '[':
		if depth > maxScanDepth {
			return -1
		}
		open := 0
		for p < len(d) {
			switch d[p] {
			case '"':
				p = skipString(d, p)
				if p < 0 {
					return -1
				}
				continue
			case '{', '[':
				open++
			case '}', ']':
				open--
				if open == 0 {
					return p + 1
				}
			}
			p++
		}
		return -1
	}
	for p < len(d) {
		switch d[p] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return p
		}
		p++
	}
	return -1
}

// skipString returns the offset after the string at p, or -1.
func skipString(d []byte, p int) int {
	p++
	for {
		i := bytes.IndexByte(d[p:], '"')
		if i < 0 {
			return -1
		}
		q := p + i
		bs := 0
		for k := q - 1; k >= p && d[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			return q + 1
		}
		p = q + 1
	}
}

func (s *scan) ws(p int) int {
	for p < len(s.doc) {
		switch s.doc[p] {
		case ' ', '\t', '\n', '\r':
			p++
		default:
			return p
		}
	}
	return p
}

// parseTimeText reads a date as the detector does: an RFC 3339 string (or a date, or a
// date and time without a zone, UTC) or epoch milliseconds in a string.
func parseTimeText(s string) (int64, bool) {
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixNano(), true
		}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ms * 1e6, true
	}
	return 0, false
}

// parseNumber reads epoch milliseconds.
func parseNumber(s string) (int64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return int64(f * 1e6), true
}
