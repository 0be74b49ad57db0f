package source

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestStream reads a Kafka topic (an in-process Kafka-protocol cluster): documents are
// normalised and numbered as a file's, a malformed message is reported and skipped, and a
// message is committed only once Next is called after its last document, so that one a
// caller stopped on is read again by the next consumer of the group.
func TestStream(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addrs := c.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic("events"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for _, v := range []string{`{"x":1}`, "not json", auditEvent, `{"x":2}`} {
		recs = append(recs, &kgo.Record{Value: []byte(v)})
	}
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	url := "kafka://" + strings.Join(addrs, ",") + "/events?group=source-test&start=earliest"

	// read opens the stream, takes n documents, stops (cancelling the context before or
	// after one more Next) and closes it.
	read := func(n int, nextAfterCancel bool) (docs, skips []string, st Stats) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		s, err := OpenStream(ctx, url, Options{Skip: func(err error) { skips = append(skips, err.Error()) }})
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			d, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			_, rest, _ := strings.Cut(describe(d), ":") // describe names files by their base name
			docs = append(docs, d.Source+":"+rest)
		}
		cancel()
		if nextAfterCancel {
			if _, err := s.Next(); err != io.EOF {
				t.Errorf("Next after the end: %v, want io.EOF", err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return docs, skips, s.Stats()
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
	wantSt := Stats{Records: 4, Malformed: 1, Normalized: 1, Bytes: int64(7 + len(auditEvent) + 7)} // a malformed message's bytes are not counted
	if st != wantSt {
		t.Errorf("stats %+v, want %+v", st, wantSt)
	}

	// The last message was not committed: the group reads it again, and commits it.
	docs, _, _ = read(1, true)
	if want := []string{`kafka:events/0:3@-1#1 {"x":2}`}; !slices.Equal(docs, want) {
		t.Errorf("read again: %q, want %q", docs, want)
	}
}
