package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tripline/tripline/ingest/source"
)

// TestDocs reads a Kafka topic (an in-process Kafka-protocol cluster) as documents: they
// are normalised and numbered as a file's, a malformed message is reported and skipped,
// and a message is committed only once Next is called after its last document, so that one
// a caller stopped on is read again by the next consumer of the group.
func TestDocs(t *testing.T) {
	const audit = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","verb":"get","requestURI":"/api","user":{"username":"u"},"stageTimestamp":"2026-01-01T00:00:01.500000Z"}`
	addrs := newKafka(t, 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(testTopic))
	if err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for _, v := range []string{`{"x":1}`, "not json", audit, `{"x":2}`} {
		recs = append(recs, &kgo.Record{Value: []byte(v)})
	}
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	url := "kafka://" + strings.Join(addrs, ",") + "/" + testTopic + "?group=docs-test&start=earliest"

	// describe gives "SOURCE:LINE@OFFSET#SEQ TEXT", TEXT "audit@TIMESTAMP/INGESTED" for a
	// document made from a raw audit record.
	describe := func(d source.Doc) string {
		text := string(d.Bytes)
		var ecs struct {
			TS    string `json:"@timestamp"`
			Event struct {
				Ingested string `json:"ingested"`
			} `json:"event"`
		}
		if strings.Contains(text, `"kubernetes":`) && json.Unmarshal(d.Bytes, &ecs) == nil {
			text = "audit@" + ecs.TS + "/" + ecs.Event.Ingested
		}
		return fmt.Sprintf("%s:%d@%d#%d %s", d.Source, d.Line, d.Offset, d.Seq, text)
	}
	// read opens the stream, takes n documents, stops (cancelling the context, then calling
	// Next once more or not) and closes it.
	read := func(n int, nextAfterCancel bool) (docs, skips []string, st source.Stats) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		d, err := OpenDocs(ctx, url, Credentials{}, nil, source.Options{Skip: func(err error) { skips = append(skips, err.Error()) }})
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			doc, err := d.Next()
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, describe(doc))
		}
		cancel()
		if nextAfterCancel {
			if _, err := d.Next(); err != io.EOF {
				t.Errorf("Next after the end: %v, want io.EOF", err)
			}
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		return docs, skips, d.Stats()
	}

	docs, skips, st := read(3, false)
	want := []string{
		`kafka:events/0:0@-1#1 {"x":1}`,
		"kafka:events/0:2@-1#2 audit@2026-01-01T00:00:01.500000Z/2026-01-01T00:00:01Z",
		`kafka:events/0:3@-1#3 {"x":2}`,
	}
	if !slices.Equal(docs, want) {
		t.Errorf("documents:\n%s\nwant:\n%s", strings.Join(docs, "\n"), strings.Join(want, "\n"))
	}
	if wantSkips := []string{"kafka:events/0:1: not a JSON object"}; !slices.Equal(skips, wantSkips) {
		t.Errorf("skipped %q, want %q", skips, wantSkips)
	}
	// A malformed message's bytes are not counted.
	wantSt := source.Stats{Records: 4, Malformed: 1, Normalized: 1, Bytes: int64(7 + len(audit) + 7)}
	if st != wantSt {
		t.Errorf("stats %+v, want %+v", st, wantSt)
	}

	// The last message was not committed: the group reads it again, and commits it.
	docs, _, _ = read(1, true)
	if want := []string{`kafka:events/0:3@-1#1 {"x":2}`}; !slices.Equal(docs, want) {
		t.Errorf("read again: %q, want %q", docs, want)
	}
}

// TestDocsCommitBelow checks that with CommitBelow a message is committed only once the
// caller no longer holds any document it gave, whatever Next was called after, and that
// Close commits what the caller finished by then.
func TestDocsCommitBelow(t *testing.T) {
	const n = 10
	addrs := newKafka(t, 1)
	produce(t, addrs, events(n, 0), func(int) string { return "" })
	url := "kafka://" + strings.Join(addrs, ",") + "/" + testTopic + "?group=below"
	cases := []struct {
		name       string
		held       uint64 // the smallest Seq the caller holds at the end (0: none)
		wantCommit int64
	}{
		{"holds the fifth document", 5, 4},
		{"holds the first", 1, 0},
		{"holds none", 0, n},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			group := fmt.Sprintf("below-%d", i)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			d, err := OpenDocs(ctx, strings.Replace(url, "group=below", "group="+group, 1), Credentials{}, nil, source.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d.CommitBelow(func() (uint64, bool) { return tc.held, tc.held != 0 })
			for range n {
				if _, err := d.Next(); err != nil {
					t.Fatal(err)
				}
			}
			cancel()
			if _, err := d.Next(); err != io.EOF {
				t.Fatalf("Next after the end: %v", err)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			// No offset committed reads as 0: the group starts from the beginning.
			if got := committed(t, addrs, group)[0]; got != tc.wantCommit {
				t.Errorf("committed offset %d, want %d", got, tc.wantCommit)
			}
		})
	}
}

// TestDocsCommitHeld checks that with CommitHeld a message is committed as soon as none of
// its documents is held, whatever was read before it: a held document of one partition
// keeps that partition's offset before it and no other's, where CommitBelow keeps back
// every message read after it.
func TestDocsCommitHeld(t *testing.T) {
	addrs := newKafka(t, 2)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(testTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	// Documents without a time go in partition order: partition 0's five (Seq 1-5), then
	// partition 1's (Seq 6-10).
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, `{"n":%d}`, i), Partition: int32(i / 5)})
	}
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	cases := []struct {
		name  string
		held  []uint64 // the Seqs the caller holds at the end
		below bool     // CommitBelow with the smallest instead
		want  map[int32]int64
	}{
		{"a document of partition 0 held", []uint64{3}, false, map[int32]int64{0: 2, 1: 5}},
		{"the same with CommitBelow", []uint64{3}, true, map[int32]int64{0: 2}},
		{"one of each", []uint64{4, 7}, false, map[int32]int64{0: 3, 1: 1}},
		{"none held", nil, false, map[int32]int64{0: 5, 1: 5}},
		{"unknown", nil, false, map[int32]int64{}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			group := fmt.Sprintf("held-%d", i)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			url := "kafka://" + strings.Join(addrs, ",") + "/" + testTopic + "?group=" + group
			d, err := OpenDocs(ctx, url, Credentials{}, nil, source.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.below {
				d.CommitBelow(func() (uint64, bool) { return slices.Min(tc.held), true })
			} else {
				d.CommitHeld(func(each func(uint64)) bool {
					for _, s := range tc.held {
						each(s)
					}
					return tc.name != "unknown"
				})
			}
			for n := range 10 {
				doc, err := d.Next()
				if err != nil {
					t.Fatal(err)
				}
				if want := fmt.Sprintf(`{"n":%d}`, n); string(doc.Bytes) != want || doc.Seq != uint64(n+1) {
					t.Fatalf("document %d: %s #%d, want %s #%d", n, doc.Bytes, doc.Seq, want, n+1)
				}
			}
			cancel()
			if _, err := d.Next(); err != io.EOF {
				t.Fatalf("Next after the end: %v", err)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			got := committed(t, addrs, group)
			for p, o := range got {
				if o == 0 {
					delete(got, p)
				}
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("committed %v, want %v", got, tc.want)
			}
		})
	}
}
