package ingest

import (
	"context"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/internal/testenv"
)

// TestConformanceExtraData reads extra.data (a pretty-printed JSON array) and decodes
// every event: dotted keys, arrays with nulls, empty arrays and explicit nulls.
func TestConformanceExtraData(t *testing.T) {
	path := testenv.Shared(t, "conformance", "es", "data", "extra.data")
	f := event.NewFields()
	seq, pid, optTags, tags, def := f.Add("sequence"), f.Add("process.pid"), f.Add("optional_tags"), f.Add("tags"), f.Add("optional_field_default_null")
	dec := event.NewDecoder(f)
	r := NewReader(context.Background(), []string{path}, Options{})
	defer r.Close()
	type row struct {
		Seq     int64
		Pid     []int64
		OptTags []string
		OptNull bool
		Tags    int
		DefNull bool
	}
	var rows []row
	var ev event.Event
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := dec.Decode(rec.Doc, &ev); err != nil {
			t.Fatalf("%s:%d: %v", rec.Source, rec.Line, err)
		}
		var rw row
		rw.Seq = ev.Values(seq)[0].Int
		for _, v := range ev.Values(pid) {
			rw.Pid = append(rw.Pid, v.Int)
		}
		for _, v := range ev.Values(optTags) {
			rw.OptTags = append(rw.OptTags, strings.Clone(v.Str)) // v.Str lives until the next record
		}
		rw.OptNull = ev.HasNull(optTags)
		rw.Tags = len(ev.Values(tags))
		rw.DefNull = ev.HasNull(def)
		rows = append(rows, rw)
	}
	if len(rows) != 23 {
		t.Fatalf("%d events, want 23", len(rows))
	}
	for i, rw := range rows {
		if rw.Seq != int64(i+1) {
			t.Errorf("event %d has sequence %d", i, rw.Seq)
		}
	}
	// Spot checks against the file's text.
	want := map[int]row{
		0:  {Seq: 1, Tags: 2},
		6:  {Seq: 7, DefNull: true},
		9:  {Seq: 10, Pid: []int64{123}, OptTags: []string{"tag1"}, OptNull: true, Tags: 1},
		10: {Seq: 11, OptNull: true, Tags: 2},
	}
	for i, w := range want {
		if !reflect.DeepEqual(rows[i], w) {
			t.Errorf("event %d: got %+v, want %+v", i, rows[i], w)
		}
	}
}
