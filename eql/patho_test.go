package eql

import (
	"strings"
	"testing"
	"time"
)

// TestPathologicalInputsAreFast guards against quadratic behaviour on large inputs.
func TestPathologicalInputsAreFast(t *testing.T) {
	inputs := map[string]string{
		"long and chain":   "any where " + strings.Repeat("a == 1 and ", 20000) + "b == 1",
		"deep parens":      "any where " + strings.Repeat("(", 999) + "a" + strings.Repeat(")", 999),
		"too deep parens":  "any where " + strings.Repeat("(", 100000),
		"many nots":        "any where " + strings.Repeat("not ", 999) + "a",
		"long string":      "any where a == \"" + strings.Repeat("x\\n", 100000) + "\"",
		"long unary chain": "any where " + strings.Repeat("-", 999) + "a == 1",
		"many lines":       "any where a == 1 and\n" + strings.Repeat("\n", 100000) + " b ==",
		"long name":        "any where " + strings.Repeat("a", 100000) + "(x)",
		"long pipe":        "any where true | " + strings.Repeat("h", 100000),
		"many stages":      "sequence " + strings.Repeat("[a where true] ", 5000),
		"long in list":     "any where x in (" + strings.Repeat("1, ", 50000) + "1)",
		"chained adds":     "any where " + strings.Repeat("a + ", 50000) + "1 == 1",
	}
	for name, src := range inputs {
		start := time.Now()
		st, err := Parse(src)
		if err == nil {
			_ = st.String()
			_, _ = ToJSON(st)
		} else if e, ok := err.(*Error); ok {
			_ = e.Render(src)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: took %v", name, d)
		}
	}
}
