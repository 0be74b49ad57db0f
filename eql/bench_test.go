package eql

import "testing"

// BenchmarkParseRules parses and verifies every EQL rule query of the detection-rules
// corpus; the per-op figures are for one pass over all of them, and "ns/query" is the
// average cost of one query.
func BenchmarkParseRules(b *testing.B) {
	qs := ruleQueries(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, q := range qs {
			if _, err := Parse(q.query); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(qs)), "ns/query")
}

// BenchmarkFormatRules prints every parsed rule query.
func BenchmarkFormatRules(b *testing.B) {
	qs := ruleQueries(b)
	sts := make([]*Statement, len(qs))
	for i, q := range qs {
		st, err := Parse(q.query)
		if err != nil {
			b.Fatal(err)
		}
		sts[i] = st
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, st := range sts {
			_ = st.String()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(qs)), "ns/query")
}
