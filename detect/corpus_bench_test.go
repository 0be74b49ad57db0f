package detect

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/rule"
)

// BenchmarkCorpusFile runs every EQL rule of the corpus (batch mode, as `tripline detect`
// runs them) over the NDJSON file named by TRIPLINE_BENCH_EVENTS (for example one written by
// `go run ./bench/gen -n 100000`): the profile of the all-rules row of bench/run.sh. Set
// TRIPLINE_BENCH_STREAMING=1 for streaming mode (as serve runs it, with
// TRIPLINE_BENCH_WORKERS=2 and TRIPLINE_BENCH_LATENESS=30s; TRIPLINE_BENCH_OWN_BUFFERS=1 gives
// each rule a reordering buffer of its own instead of the shared stage). Rules are compiled
// with the ECS mapping, as the command line does by default (TRIPLINE_BENCH_MAPPING=none:
// without one); TRIPLINE_BENCH_TYPES=eql (or query, or eql,query) keeps the rules of those
// types only, as detect --rule-types does. It is skipped when the variable is unset.
func BenchmarkCorpusFile(b *testing.B) {
	path := os.Getenv("TRIPLINE_BENCH_EVENTS")
	if path == "" {
		b.Skip("TRIPLINE_BENCH_EVENTS is unset: name an NDJSON file of events (bench/gen)")
	}
	dir := os.Getenv("TRIPLINE_BENCH_RULES")
	if dir == "" {
		dir = "../../shared/rules/detection-rules"
	}
	set, err := rule.Load(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	if types := os.Getenv("TRIPLINE_BENCH_TYPES"); types != "" {
		set.Rules = slices.DeleteFunc(set.Rules, func(r *rule.Rule) bool { return !slices.Contains(strings.Split(types, ","), r.Type) })
	}
	m := mapping.ECS()
	if os.Getenv("TRIPLINE_BENCH_MAPPING") == "none" {
		m = nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte{'\n'})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	ctx := context.Background()
	workers, _ := strconv.Atoi(os.Getenv("TRIPLINE_BENCH_WORKERS"))
	lateness, _ := time.ParseDuration(os.Getenv("TRIPLINE_BENCH_LATENESS"))
	var evTime float64
	for b.Loop() {
		b.StopTimer()
		d, err := New(set.Rules, SinkFunc(func(context.Context, []Alert) error { return nil }), Options{
			Compile: EngineCompiler(EngineOptions{Mapping: m, MaxLateness: lateness}), Now: testNow, Streaming: os.Getenv("TRIPLINE_BENCH_STREAMING") == "1",
			Workers: workers, ownBuffers: os.Getenv("TRIPLINE_BENCH_OWN_BUFFERS") == "1"})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		for i, l := range lines {
			if err := d.Process(ctx, l, EventSource{Name: path, Line: i + 1, Seq: uint64(i + 1)}); err != nil {
				b.Fatal(err)
			}
		}
		if err := d.Close(ctx); err != nil {
			b.Fatal(err)
		}
		evTime += time.Since(start).Seconds()
		var offered int64
		for _, r := range d.Summary().Rules {
			offered += r.EventsOffered
		}
		b.ReportMetric(float64(offered)/float64(len(lines)), "offers/event")
		b.ReportMetric(float64(d.Summary().Alerts), "alerts")
		b.ReportMetric(float64(d.Summary().RulesLoaded), "rules")
		b.ReportMetric(float64(d.Summary().EventsSkipped), "skipped")
	}
	b.ReportMetric(float64(len(lines))*float64(b.N)/evTime, "events/s")
}
