package mapping

import (
	"testing"

	"github.com/tripline/tripline/event"
)

// sinkInt keeps the benchmarks' results alive.
var sinkInt int64

func BenchmarkParseDate(b *testing.B) {
	for _, bc := range []struct {
		name, format string
		v            event.Value
	}{
		{"iso-millis", "", str("2026-03-12T09:14:08.210Z")},
		{"iso-7digits", "", str("2026-03-12T09:14:08.2101234Z")},
		{"iso-offset", "strict_date_optional_time", str("2026-03-12T09:14:08+01:00")},
		{"epoch_millis-number", "", event.Value{Kind: event.KindInt, Int: 1773306848210, Str: "1773306848210"}},
		{"epoch_millis-string", "", str("1773306848210")},
		{"pattern", "dd-MM-yyyy", str("12-03-2026")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n, ok := ParseDate(bc.v, bc.format)
				if !ok {
					b.Fatal("no date")
				}
				sinkInt += dateSink(n)
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	m := ECS()
	for _, bc := range []struct {
		name, path string
		v          event.Value
	}{
		{"date", "@timestamp", str("2026-03-12T09:14:08.210Z")},
		{"keyword", "process.name", str("curl")},
		{"long-from-string", "process.pid", str("4242")},
		{"ip", "destination.ip", str("10.1.2.3")},
		{"dynamic-string", "undeclared.field", str("some value")},
	} {
		f, _ := m.Resolve(bc.path)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				nv, ok := f.Normalize(bc.v)
				if !ok {
					b.Fatal("not indexed")
				}
				sinkInt += nv.Int
			}
		})
	}
}

// dateSink folds what ParseDate returns into an int64.
func dateSink(t event.Instant) int64 { return t.Ms + int64(t.Nanos) }
