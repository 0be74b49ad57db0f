package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tripline/tripline/internal/testenv"
)

// TestDetectKafka runs detect over the example events read from a Kafka topic (an
// in-process Kafka-protocol cluster) and checks it writes the alerts a batch run over the
// files writes, then stops cleanly when cancelled.
func TestDetectKafka(t *testing.T) {
	root := testenv.RepoRoot(t)
	t.Chdir(root)
	const now = "2026-03-12T10:00:00Z"
	batch := runCLI(t, "", "detect", "--rules", "examples/rules", "--now", now, "examples/events")
	if batch.code != 0 {
		t.Fatalf("batch run: exit %d\n%s", batch.code, batch.stderr)
	}
	wantIDs := alertIDs(t, batch.stdout)

	// The events in timestamp order, as a producer would send them.
	type rec struct {
		ts   time.Time
		line []byte
	}
	var recs []rec
	for _, f := range []string{"examples/events/cloud-defend-process.ndjson", "examples/events/kubernetes-audit.ndjson"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var doc struct {
				TS time.Time `json:"@timestamp"`
			}
			if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rec{doc.TS, bytes.Clone(sc.Bytes())})
		}
	}
	slices.SortStableFunc(recs, func(a, b rec) int { return a.ts.Compare(b.ts) })

	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "ecs-events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addrs := c.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic("ecs-events"))
	if err != nil {
		t.Fatal(err)
	}
	var krecs []*kgo.Record
	for _, r := range recs {
		krecs = append(krecs, &kgo.Record{Value: r.line})
	}
	// A malformed message is reported with its position and skipped.
	krecs = append(krecs, &kgo.Record{Value: []byte("not json")})
	if err := cl.ProduceSync(t.Context(), krecs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	out := filepath.Join(t.TempDir(), "alerts.ndjson")
	url := "kafka://" + strings.Join(addrs, ",") + "/ecs-events?group=tripline-test&start=earliest"
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan result, 1)
	go func() {
		done <- runCLIContext(t, ctx, strings.NewReader(""), "detect", "--rules", "examples/rules", "--now", now,
			"--max-lateness", "0s", "-o", out, url)
	}()
	// Alerts come out as events arrive; the last ones when the stream is stopped.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if data, _ := os.ReadFile(out); bytes.Count(data, []byte("\n")) >= len(wantIDs)-4 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	r := <-done
	if r.code != exitSkipped {
		t.Errorf("exit %d, want %d (one malformed message)\nstderr:\n%s", r.code, exitSkipped, r.stderr)
	}
	if !strings.Contains(r.stderr, "kafka:ecs-events/0:25: ") {
		t.Errorf("the malformed message is not reported with its position:\n%s", r.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := alertIDs(t, string(data)); !slices.Equal(got, wantIDs) {
		t.Errorf("alert ids from Kafka:\n%v\nfrom the files:\n%v", got, wantIDs)
	}
}

// alertIDs returns the sorted kibana.alert.uuid of every alert in an NDJSON text.
func alertIDs(t *testing.T, ndjson string) []string {
	t.Helper()
	var ids []string
	for line := range strings.SplitSeq(strings.TrimSpace(ndjson), "\n") {
		var a struct {
			ID string `json:"kibana.alert.uuid"`
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	return ids
}
