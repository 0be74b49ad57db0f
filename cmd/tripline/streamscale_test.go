package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tripline/tripline/internal/testenv"
)

// envChild, when set in a re-run of this test binary, holds the JSON array of arguments the
// run makes as the tripline command instead of running the tests: a process a test can kill.
const envChild = "TRIPLINE_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(envChild); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			panic(err)
		}
		// SIGTERM stops it cleanly, as it does the command.
		ctx, stop := notifyStop(context.Background())
		code := run(ctx, argv, strings.NewReader(""), os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

const (
	scaleTopic = "ecs-events"
	scaleNow   = "2026-03-12T10:00:00Z"
	scaleParts = 4
)

// genEvent is one line of a bench/gen workload, with its @timestamp.
type genEvent struct {
	ts   time.Time
	line []byte
}

// genWorkload writes a bench/gen workload of n events at 20 events per second of event time
// (so that each of 4 partitions spans minutes of it) with 20 planted seed-rule sequences,
// and returns its file and its events in file order.
func genWorkload(t *testing.T, root string, n int) (string, []genEvent) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "events.ndjson")
	cmd := exec.Command("go", "run", "./bench/gen", "-n", strconv.Itoa(n), "-seed", "7", "-rate", "20",
		"-planted", "20", "-o", file, "-manifest", os.DevNull)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bench/gen: %v\n%s", err, out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var evs []genEvent
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var doc struct {
			TS time.Time `json:"@timestamp"`
		}
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, genEvent{doc.TS, bytes.Clone(sc.Bytes())})
	}
	return file, evs
}

// newScaleKafka starts an in-process Kafka cluster with a topic of 4 partitions.
func newScaleKafka(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(scaleParts, scaleTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// produceRoundRobin writes the events, unkeyed, event i to partition i%4 (as a round-robin
// producer spreads them).
func produceRoundRobin(t *testing.T, addrs []string, evs []genEvent) {
	t.Helper()
	produceRoundRobinFrom(t, addrs, evs, 0)
}

// groupOffsets returns the offsets group committed on the test's topic, by partition.
func groupOffsets(t *testing.T, addrs []string, group string) map[int32]int64 {
	t.Helper()
	return groupTopicOffsets(t, addrs, group, scaleTopic)
}

// TestDetectKafkaPartitionsMerged reads, with one process and the default --max-lateness, a
// backlog spread round-robin over 4 partitions, each of which spans minutes of event time
// (so that reading one partition's fetch before the next's puts events far more than 5 s
// out of order), and checks it gives exactly the alerts of the single-file run.
func TestDetectKafkaPartitionsMerged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bench/gen")
	}
	root := testenv.RepoRoot(t)
	t.Chdir(root)
	file, evs := genWorkload(t, root, 3000)
	batch := runCLI(t, "", "detect", "--rules", "examples/rules", "--now", scaleNow, file)
	if batch.code != 0 {
		t.Fatalf("file run: exit %d\n%s", batch.code, batch.stderr)
	}
	want := alertIDs(t, batch.stdout)
	if len(want) < 30 {
		t.Fatalf("the file run gave %d alerts; the workload should give 20 planted sequences", len(want))
	}
	// Each partition's share spans far more event time than the lateness allowed.
	for p := range scaleParts {
		first, last := evs[p].ts, evs[len(evs)-scaleParts+p].ts
		if span := last.Sub(first); span < time.Minute {
			t.Fatalf("partition %d spans %s of event time; the test needs minutes", p, span)
		}
	}
	addrs := newScaleKafka(t)
	produceRoundRobin(t, addrs, evs)

	out := filepath.Join(t.TempDir(), "alerts.ndjson")
	url := "kafka://" + strings.Join(addrs, ",") + "/" + scaleTopic + "?group=merged"
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan result, 1)
	go func() {
		done <- runCLIContext(t, ctx, strings.NewReader(""), "detect", "--rules", "examples/rules", "--now", scaleNow,
			"--stats", "--partition-wait", "300ms", "-o", out, url)
	}()
	waitSettled(t, addrs, "merged", commitFloor(evs))
	cancel()
	r := <-done
	if r.code != 0 {
		t.Fatalf("exit %d, want 0 (no event too late)\nstderr:\n%s", r.code, r.stderr)
	}
	var stats struct {
		Run struct {
			Read   int64 `json:"events_read"`
			Unused int64 `json:"events_unused"`
		} `json:"detect"`
	}
	if err := json.Unmarshal([]byte(lastLine(r.stderr)), &stats); err != nil {
		t.Fatalf("%v: %s", err, r.stderr)
	}
	if stats.Run.Read != int64(len(evs)) || stats.Run.Unused != 0 {
		t.Errorf("read %d events, %d unused (too late); want %d read, 0 unused", stats.Run.Read, stats.Run.Unused, len(evs))
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := alertIDs(t, string(data)); !slices.Equal(got, want) {
		t.Errorf("%d alert ids from Kafka, %d from the file; differ:\n%v\n%v", len(got), len(want), got, want)
	}
	// After a clean stop, every partition is committed up to the events a sequence with a
	// maxspan of 1m (the longest of the rules), plus the lateness, may still need: a restart
	// reads those again.
	floor := commitFloor(evs)
	got := groupOffsets(t, addrs, "merged")
	for p := range int32(scaleParts) {
		if got[p] < floor[p] || got[p] > int64(len(evs)/scaleParts) {
			t.Errorf("partition %d committed at %d after a clean stop, want %d to %d", p, got[p], floor[p], len(evs)/scaleParts)
		}
	}
}

// commitFloor returns, by partition, the offset below which every event is finished once
// all are read: those more than the longest maxspan of the example rules (1m) and the
// lateness (5s) before the last event.
func commitFloor(evs []genEvent) map[int32]int64 {
	last := evs[len(evs)-1].ts
	floor := map[int32]int64{}
	for i, e := range evs {
		if e.ts.Before(last.Add(-time.Minute - 6*time.Second)) {
			floor[int32(i%scaleParts)]++
		}
	}
	return floor
}

// waitSettled waits until group has committed at least floor (when given) and its offsets
// have not moved for 3 s (ten times the --partition-wait the last records of a backlog
// wait): the process read the whole backlog and committed what it finished.
func waitSettled(t *testing.T, addrs []string, group string, floor map[int32]int64) {
	t.Helper()
	var before map[int32]int64
	stable := 0
	waitFor(t, func() bool {
		now := groupOffsets(t, addrs, group)
		for p, o := range floor {
			if now[p] < o {
				return false
			}
		}
		if len(now) > 0 && mapsEq(now, before) {
			stable++
		} else {
			stable = 0
		}
		before = now
		return stable >= 30
	})
}

// TestDetectKafkaKillRestart kills (SIGKILL) a detect process reading a 4-partition topic
// while it holds, in its reordering buffer, the first event of a planted sequence whose
// second event is not yet produced; then produces the rest and starts a new process in the
// same group. The alerts of both runs must be those of the single-file run: nothing the
// first process held was committed, so the second reads it again. It reads the topic as it
// is partitioned (?repartition=false): with repartitioning the input's messages are
// committed once their copies are in GROUP-repartition, and TestDetectKafkaRepartitionKill
// covers that.
func TestDetectKafkaKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bench/gen")
	}
	root := testenv.RepoRoot(t)
	t.Chdir(root)
	file, evs := genWorkload(t, root, 3000)
	batch := runCLI(t, "", "detect", "--rules", "examples/rules", "--now", scaleNow, file)
	if batch.code != 0 {
		t.Fatalf("file run: exit %d\n%s", batch.code, batch.stderr)
	}
	want := alertIDs(t, batch.stdout)
	split := splitInSequence(t, batch.stdout, evs)
	addrs := newScaleKafka(t)
	produceRoundRobin(t, addrs, evs[:split])

	url := "kafka://" + strings.Join(addrs, ",") + "/" + scaleTopic + "?group=crash&commit_interval=100ms&session_timeout=6s&repartition=false"
	dir := t.TempDir()
	out1, out2 := filepath.Join(dir, "first.ndjson"), filepath.Join(dir, "second.ndjson")
	args, _ := json.Marshal([]string{"detect", "--rules", "examples/rules", "--now", scaleNow, "-o", out1, url})
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envChild+"="+string(args))
	var childErr bytes.Buffer
	child.Stderr = &childErr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// Let it read everything produced and commit what it finished; the commits then stop
	// moving, short of the events it holds.
	waitSettled(t, addrs, "crash", nil)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	committed := groupOffsets(t, addrs, "crash")
	var sum int64
	for _, o := range committed {
		sum += o
	}
	if sum == 0 || sum >= int64(split) {
		t.Fatalf("committed %v (%d of %d events) when killed: want some, not all (the held events)\nchild stderr:\n%s",
			committed, sum, split, childErr.String())
	}
	t.Logf("killed with %d of %d events committed: %v", sum, split, committed)

	// The rest of the events, and a new process in the same group.
	produceRoundRobinFrom(t, addrs, evs, split)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan result, 1)
	go func() {
		done <- runCLIContext(t, ctx, strings.NewReader(""), "detect", "--rules", "examples/rules", "--now", scaleNow,
			"--partition-wait", "300ms", "-o", out2, url)
	}()
	// The group gives the partitions to the new process once the killed one's session has
	// timed out; wait for it to commit, then for its commits to settle.
	waitFor(t, func() bool { return !mapsEq(groupOffsets(t, addrs, "crash"), committed) })
	waitSettled(t, addrs, "crash", commitFloor(evs))
	cancel()
	if r := <-done; r.code != 0 {
		t.Fatalf("restart: exit %d\n%s", r.code, r.stderr)
	}
	var all []string
	for _, f := range []string{out1, out2} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(data)) > 0 {
			all = append(all, alertIDs(t, string(data))...)
		}
	}
	slices.Sort(all)
	all = slices.Compact(all) // read again after the crash: the same ids
	if !slices.Equal(all, want) {
		t.Errorf("%d distinct alert ids from the two runs, %d from the file; differ:\n%v\n%v", len(all), len(want), all, want)
	}
}

// splitInSequence returns the number of events to produce before the kill: just after the
// first event of the planted sequence nearest the middle of the workload, so that its
// last event comes after the restart.
func splitInSequence(t *testing.T, alerts string, evs []genEvent) int {
	t.Helper()
	type span struct{ first, last time.Time }
	groups := map[string]*span{}
	for line := range strings.SplitSeq(strings.TrimSpace(alerts), "\n") {
		var a struct {
			Group string    `json:"kibana.alert.group.id"`
			BB    string    `json:"kibana.alert.building_block_type"`
			TS    time.Time `json:"kibana.alert.original_time"`
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		if a.BB == "" || a.Group == "" {
			continue
		}
		g := groups[a.Group]
		if g == nil {
			groups[a.Group] = &span{a.TS, a.TS}
			continue
		}
		if a.TS.Before(g.first) {
			g.first = a.TS
		}
		if a.TS.After(g.last) {
			g.last = a.TS
		}
	}
	mid := evs[len(evs)/2].ts
	var best *span
	for _, g := range groups {
		if g.first.Equal(g.last) {
			continue
		}
		if best == nil || absDur(g.first.Sub(mid)) < absDur(best.first.Sub(mid)) {
			best = g
		}
	}
	if best == nil {
		t.Fatal("no planted sequence in the file run's alerts")
	}
	for i, e := range evs {
		if e.ts.After(best.first) {
			if !e.ts.Before(best.last) && e.ts.After(best.last) {
				t.Fatalf("no event between the sequence's first (%s) and last (%s)", best.first, best.last)
			}
			return i
		}
	}
	t.Fatal("the sequence's first event is the workload's last")
	return 0
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// produceRoundRobinFrom writes evs[from:], event i to partition i%4.
func produceRoundRobinFrom(t *testing.T, addrs []string, evs []genEvent, from int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(scaleTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i := from; i < len(evs); i++ {
		recs = append(recs, &kgo.Record{Value: evs[i].line, Partition: int32(i % scaleParts)})
	}
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond every 100 ms for at most 60 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("condition not met after 60 s")
}

func mapsEq(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
