package event

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// DocID returns an id for a document that has none: 20 URL-safe base64 characters (the
// length of Elasticsearch's generated ids) derived from its content, so the same event gets
// the same id in every run and alerts derived from it keep their ids.
func DocID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(sum[:15])
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
