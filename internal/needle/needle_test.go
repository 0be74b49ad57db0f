package needle

import "testing"

func TestIn(t *testing.T) {
	tests := []struct {
		doc, s string
		off    int
		want   bool
	}{
		{`{"protoPayload":{}}`, `"protoPayload"`, 6, true},
		{`{"a":"Payload"}`, `"protoPayload"`, 6, false},
		{`"protoPayload"`, `"protoPayload"`, 0, true},
		{`xx"protoPayload`, `"protoPayload"`, 6, false},
		{`Payload"protoPayload"`, `"protoPayload"`, 6, true},
		{``, `"x"`, 1, false},
	}
	for _, tc := range tests {
		if got := In([]byte(tc.doc), tc.s, tc.off); got != tc.want {
			t.Errorf("In(%q, %q, %d) = %v, want %v", tc.doc, tc.s, tc.off, got, tc.want)
		}
	}
}
