package engine

import (
	"slices"
	"testing"

	"github.com/tripline/tripline/mapping"
)

// TestDatesOutsideNanoRange: a date (or dynamically mapped) timestamp holds any instant a
// long of milliseconds counts, as in Elasticsearch, not only 1677 to 2262; a date_nanos one
// holds 1970 to 2262. The documents are in timestamp order (streaming runs take them so).
func TestDatesOutsideNanoRange(t *testing.T) {
	docs := []string{
		`{"id":5,"@timestamp":"0000-12-31T23:59:59.999Z","k":"b"}`,
		`{"id":3,"@timestamp":"0001-01-01T00:00:00Z","k":"a"}`,
		`{"id":2,"@timestamp":"1000-01-01","k":"a"}`,
		`{"id":4,"@timestamp":"1000-01-01T00:00:00.500Z","k":"a"}`,
		`{"id":6,"@timestamp":"2026-03-12T09:14:08.210Z","k":"a"}`,
		`{"id":1,"@timestamp":"9999-12-31T23:59:59.999Z","k":"a"}`,
	}
	date, err := mapping.Parse([]byte(`{"properties":{"@timestamp":{"type":"date"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{}, {Mapping: date}, {Mapping: mapping.ECS()}} {
		for _, c := range []struct {
			query string
			want  [][]int64
			keys  [][]string
		}{
			{`any where true`, ids(seq(5), seq(3), seq(2), seq(4), seq(6), seq(1)), nil},
			{`any where @timestamp < "1000-01-01T00:00:00.5Z"`, ids(seq(5), seq(3), seq(2)), nil},
			{`any where @timestamp > "9999-12-31T23:59:59.998Z"`, ids(seq(1)), nil},
			{`any where @timestamp == "1000-01-01"`, ids(seq(2), seq(4)), nil},
			{`sequence by k with maxspan=1s [any where id == 2] [any where id == 4]`, ids(seq(2, 4)), [][]string{{"a"}}},
			{`sequence by k with maxspan=1s [any where id == 3] [any where id == 2]`, nil, nil},
			{`sequence by k [any where id == 3] [any where id == 1]`, ids(seq(3, 1)), nil},
			{`sequence by k with maxspan=1000d [any where true] [any where true]`, ids(seq(2, 4)), nil},
			{`sequence with maxspan=1s [any where id == 1] ![any where id == 6]`, ids(seq(1, -1)), nil},
			{`sequence by @timestamp [any where id == 1] [any where id == 1]`, nil, nil},
			{`sample by k [any where id == 3] [any where id == 1]`, ids(seq(3, 1)), nil},
		} {
			for _, mode := range []Mode{Batch, Streaming} {
				g, st := runOrder(t, c.query, docs, []int{0, 1, 2, 3, 4, 5}, opts, mode)
				if !slices.EqualFunc(g.ids, c.want, slices.Equal[[]int64]) && !(len(g.ids) == 0 && len(c.want) == 0) {
					t.Errorf("%s (mapping %v, %v): ids %v, want %v", c.query, opts.Mapping != nil, mode, g.ids, c.want)
				}
				if c.keys != nil && !slices.EqualFunc(g.keys, c.keys, slices.Equal[[]string]) {
					t.Errorf("%s: keys %v, want %v", c.query, g.keys, c.keys)
				}
				if st.NoTimestamp != 0 || st.Late != 0 {
					t.Errorf("%s (%v): %d without a timestamp, %d late", c.query, mode, st.NoTimestamp, st.Late)
				}
			}
		}
	}

	// date_nanos: 1970-01-01 to 2262-04-11T23:47:16.854775807Z, in nanoseconds.
	nanos, err := mapping.Parse([]byte(`{"properties":{"@timestamp":{"type":"date_nanos"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	ndocs := []string{
		`{"id":1,"@timestamp":"1969-12-31T23:59:59.999999999Z"}`,
		`{"id":2,"@timestamp":"1970-01-01T00:00:00.000000001Z"}`,
		`{"id":3,"@timestamp":"1970-01-01T00:00:00.000000002Z"}`,
		`{"id":4,"@timestamp":"2262-04-11T23:47:16.854775807Z"}`,
		`{"id":5,"@timestamp":"2262-04-11T23:47:16.854775808Z"}`,
	}
	for _, mode := range []Mode{Batch, Streaming} {
		g, st := runOrder(t, `sequence with maxspan=1ms [any where true] [any where true]`, ndocs, []int{0, 1, 2, 3, 4}, Options{Mapping: nanos}, mode)
		if want := ids(seq(2, 3)); !slices.EqualFunc(g.ids, want, slices.Equal[[]int64]) || st.NoTimestamp != 2 {
			t.Errorf("date_nanos %v: ids %v, %d without a timestamp; want %v, 2", mode, g.ids, st.NoTimestamp, want)
		}
	}
}
