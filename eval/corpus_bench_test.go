package eval_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/eval"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/internal/testenv"
)

// corpusFilters compiles the event queries (plain queries and the stages of
// sequences and samples) of the EQL rules of ../shared/rules/detection-rules, without
// a mapping, into filters sharing fields.
func corpusFilters(b *testing.B, fields *event.Fields) []*eval.Filter {
	dir := testenv.Shared(b, "rules", "detection-rules")
	var filters []*eval.Filter
	env := &eval.Env{Fields: fields}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".toml") {
			return err
		}
		var doc struct {
			Rule struct {
				Language string `toml:"language"`
				Query    string `toml:"query"`
			} `toml:"rule"`
		}
		if err := decodeTOMLFile(path, &doc); err != nil || doc.Rule.Language != "eql" {
			return nil // not an EQL rule (the rule package reports broken files)
		}
		st, err := eql.Parse(doc.Rule.Query)
		if err != nil {
			return nil
		}
		var queries []*eql.EventQuery
		switch q := st.Query.(type) {
		case *eql.EventQuery:
			queries = append(queries, q)
		case *eql.Sequence:
			for _, s := range q.Stages {
				queries = append(queries, s.Query)
			}
			if q.Until != nil {
				queries = append(queries, q.Until.Query)
			}
		case *eql.Sample:
			for _, s := range q.Stages {
				queries = append(queries, s.Query)
			}
		}
		for _, q := range queries {
			if f, err := eval.CompileQuery(q, env); err == nil {
				filters = append(filters, f)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return filters
}

// BenchmarkCorpusFilters evaluates the filters of every EQL rule of the corpus on
// the events of $TRIPLINE_BENCH_EVENTS (the first 20,000), each filter offered the
// events of its category as a rule index would: ns/op is per offer.
func BenchmarkCorpusFilters(b *testing.B) {
	path := os.Getenv("TRIPLINE_BENCH_EVENTS")
	if path == "" {
		b.Skip("TRIPLINE_BENCH_EVENTS is unset: name an NDJSON file of events (bench/gen)")
	}
	fields := event.NewFields()
	filters := corpusFilters(b, fields)
	byCat := map[string][]*eval.Filter{}
	var anyCat []*eval.Filter
	for _, f := range filters {
		if c, ok := f.Category(); ok {
			byCat[c] = append(byCat[c], f)
		} else {
			anyCat = append(anyCat, f)
		}
	}
	catSlot := fields.Add(eval.DefaultCategoryField)
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	dec := event.NewDecoder(fields)
	var events []*event.Event
	var offers [][]*eval.Filter
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte{'\n'}) {
		if i == 20000 {
			break
		}
		ev := new(event.Event)
		if err := dec.Decode(line, ev); err != nil {
			continue
		}
		o := anyCat
		for _, v := range ev.Values(catSlot) {
			if v.Kind == event.KindString {
				o = append(o[:len(o):len(o)], byCat[v.Str]...)
			}
		}
		events = append(events, ev)
		offers = append(offers, o)
	}
	total, matched := 0, 0
	for i, ev := range events {
		for _, f := range offers[i] {
			total++
			if f.Match(ev) {
				matched++
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i, ev := range events {
			for _, f := range offers[i] {
				f.Match(ev)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(total), "ns/offer")
	b.ReportMetric(float64(len(filters)), "filters")
	b.ReportMetric(float64(total)/float64(len(events)), "offers/event")
	b.ReportMetric(float64(matched), "matches")
}

// decodeTOMLFile decodes the TOML file at path into v.
func decodeTOMLFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return toml.Unmarshal(data, v)
}
