package event

import (
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strconv"
)

// DocID returns an id for a document that has none: 20 URL-safe base64 characters (the
// length of Elasticsearch's generated ids) derived from its content, so the same event gets
// the same id in every run and alerts derived from it keep their ids. White space outside
// strings does not count: a document gets the same id from an NDJSON line as from an
// indented JSON array, and a compact document's id is the hash of its bytes.
func DocID(raw []byte) string {
	h := sha256.New()
	writeCompact(h, raw)
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:15])
}

// writeCompact writes raw to h without the JSON white space outside strings.
func writeCompact(h hash.Hash, raw []byte) {
	inStr, esc := false, false
	from := 0
	for i, c := range raw {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			h.Write(raw[from:i])
			from = i + 1
		}
	}
	h.Write(raw[from:])
}

// String formats the value as Elasticsearch shows it in messages: strings as they are,
// numbers in their shortest form, booleans as true/false and null as "null".
func (v Value) String() string {
	switch v.Kind {
	case KindBool:
		if v.Int != 0 {
			return "true"
		}
		return "false"
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindFloat:
		return strconv.FormatFloat(v.Float64(), 'g', -1, 64)
	case KindString:
		return v.Str
	}
	return "null"
}
