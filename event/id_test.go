package event

import (
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

// TestDocID checks that white space outside strings does not change a document's id, that
// white space inside strings does, and that a compact document's id is its bytes' hash.
func TestDocID(t *testing.T) {
	compact := `{"a":"x y","b":[1,2],"c":{"d":"\"q\" "}}`
	sum := sha256.Sum256([]byte(compact))
	want := base64.RawURLEncoding.EncodeToString(sum[:15])
	tests := []struct {
		doc  string
		same bool
	}{
		{compact, true},
		{"{\n  \"a\": \"x y\",\r\n\t\"b\": [ 1, 2 ],\n  \"c\": { \"d\": \"\\\"q\\\" \" }\n}", true},
		{` {"a":"x y","b":[1,2],"c":{"d":"\"q\" "}} `, true},
		{`{"a":"x  y","b":[1,2],"c":{"d":"\"q\" "}}`, false},
		{`{"a":"x y","b":[1,2],"c":{"d":"\"q\""}}`, false},
		{`{"b":[1,2],"a":"x y","c":{"d":"\"q\" "}}`, false},
	}
	for _, tc := range tests {
		if got := DocID([]byte(tc.doc)); (got == want) != tc.same {
			t.Errorf("DocID(%q) = %s; the compact form's is %s, want same=%v", tc.doc, got, want, tc.same)
		}
	}
}
