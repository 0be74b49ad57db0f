package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tripline/tripline/internal/testenv"
)

// The repartitioning tests run tripline detect processes (this test binary re-run as the
// command, see TestMain) over a 4-partition topic of a bench/gen workload produced
// unkeyed, with rules of every shape: sequences whose stages join on different fields (the
// seed rule, examples/rules), a sequence by user.name, one without join key, a sample, and
// event rules (testdata/repartition). Whatever the number of processes, their kills and
// their arrivals, the alerts must have exactly the ids of one run over the events read from
// a file; duplicates (the same ids, written again after a restart) are counted.

// repartRules are the --rules of the repartitioning tests.
var repartRules = []string{"--rules", "examples/rules", "--rules", "cmd/tripline/testdata/repartition"}

// repartWant runs detect over the workload's file and returns its alert ids, checking that
// every kind of rule alerts.
func repartWant(t *testing.T, file string) []string {
	t.Helper()
	args := append(append([]string{"detect"}, repartRules...), "--now", scaleNow, file)
	batch := runCLI(t, "", args...)
	if batch.code != 0 {
		t.Fatalf("file run: exit %d\n%s", batch.code, batch.stderr)
	}
	perRule := map[string]int{}
	for line := range strings.SplitSeq(strings.TrimSpace(batch.stdout), "\n") {
		var a struct {
			Rule string `json:"kibana.alert.rule.name"`
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		perRule[a.Rule]++
	}
	for _, r := range []string{
		"Direct Interactive Kubernetes API Request by Unusual Utilities", // stages on different fields
		"File Created Then Connection Attempted by the Same User",        // by user.name
		"File Renamed Then Overwritten Within a Second",                  // no join key
		"File Deletion and Registry Change on One Host",                  // sample
		"Kubernetes Object Deleted",                                      // event rule
	} {
		if perRule[r] == 0 {
			t.Fatalf("the file run has no alert of %q: the workload tests nothing (%v)", r, perRule)
		}
	}
	ids := alertIDs(t, batch.stdout)
	fileAlerts = batch.stdout
	return ids
}

// fileAlerts are the file run's alerts, for naming the rules of missing ids.
var fileAlerts string

// describeIDs returns the rule name, event time and source of each of ids, from the file
// run's alerts.
func describeIDs(ids []string) []string {
	var out []string
	for line := range strings.SplitSeq(strings.TrimSpace(fileAlerts), "\n") {
		var a struct {
			ID   string `json:"kibana.alert.uuid"`
			Rule string `json:"kibana.alert.rule.name"`
			TS   string `json:"kibana.alert.original_time"`
			Grp  string `json:"kibana.alert.group.id"`
		}
		if json.Unmarshal([]byte(line), &a) == nil && slices.Contains(ids, a.ID) {
			out = append(out, a.TS+" "+a.Rule+" "+a.Grp)
		}
	}
	slices.Sort(out)
	return out
}

// child is a tripline detect process.
type child struct {
	name   string
	out    string // its -o file
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{}
	code   int
}

// startDetect starts a detect process reading url, writing alerts to out.
func startDetect(t *testing.T, name, url, out string) *child {
	t.Helper()
	args := append(append([]string{"detect"}, repartRules...), "--now", scaleNow, "--partition-wait", "300ms", "--stats", "-o", out, url)
	argv, _ := json.Marshal(args)
	c := &child{name: name, out: out, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), envChild+"="+string(argv))
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.cmd.Wait()
		c.code = c.cmd.ProcessState.ExitCode()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// kill ends the process with SIGKILL.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.done
}

// term sends the process SIGTERM (once: a second one stops it at once).
func (c *child) term(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: %v\n%s", c.name, err, c.stderr)
	}
}

// stop waits for the process after term and checks it stopped cleanly, having used every
// event it was given (none too late).
func (c *child) stop(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: still running 60 s after SIGTERM\n%s", c.name, c.stderr)
	}
	if c.code != 0 {
		t.Errorf("%s: exit %d, want 0\n%s", c.name, c.code, c.stderr)
	}
	var stats struct {
		Run struct {
			Unused int64 `json:"events_unused"`
		} `json:"detect"`
	}
	if err := json.Unmarshal([]byte(lastLine(c.stderr.String())), &stats); err != nil || stats.Run.Unused != 0 {
		t.Errorf("%s: %d events unused (too late), want 0 (%v)\n%s", c.name, stats.Run.Unused, err, c.stderr)
	}
}

// outputIDs returns the alert ids of the files (each sorted, repeats kept).
func outputIDs(t *testing.T, files ...string) []string {
	t.Helper()
	var all []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(data)) > 0 {
			all = append(all, alertIDs(t, string(data))...)
		}
	}
	slices.Sort(all)
	return all
}

// checkIDs compares the alert ids of the outputs with want: every id, no other, repeats
// counted (and returned).
func checkIDs(t *testing.T, want []string, files ...string) int {
	t.Helper()
	all := outputIDs(t, files...)
	distinct := slices.Compact(slices.Clone(all))
	if !slices.Equal(distinct, want) {
		missing, extra := diffIDs(want, distinct)
		t.Errorf("%d distinct alert ids, want the file run's %d: %d missing, %d not in it\nmissing: %v\nextra: %v",
			len(distinct), len(want), len(missing), len(extra), strings.Join(describeIDs(missing), "\n"), extra)
	}
	return len(all) - len(distinct)
}

// diffIDs returns the ids of a not in b and of b not in a (both sorted, distinct).
func diffIDs(a, b []string) (onlyA, onlyB []string) {
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			onlyA = append(onlyA, x)
		}
	}
	for _, x := range b {
		if _, ok := slices.BinarySearch(a, x); !ok {
			onlyB = append(onlyB, x)
		}
	}
	return onlyA, onlyB
}

// groupTopicOffsets returns the offsets group committed on topic, by partition.
func groupTopicOffsets(t *testing.T, addrs []string, group, topic string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	resp, err := req.RequestWith(t.Context(), cl)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rt.Topic == topic && rp.Offset >= 0 {
				out[rp.Partition] = rp.Offset
			}
		}
	}
	return out
}

// waitQuiet waits until the input group committed at least floor, and the commits of both
// groups and the sizes of the outputs have not moved for quiet: the processes have read
// everything and written what they could before they stop. After a kill, quiet must be
// longer than the groups take to move the dead process's partitions (the rebalance
// timeout, 8 s in these tests).
func waitQuiet(t *testing.T, addrs []string, group string, floor map[int32]int64, quiet time.Duration, outs ...string) {
	t.Helper()
	state := func() string {
		in := groupTopicOffsets(t, addrs, group, scaleTopic)
		var b strings.Builder
		for p, o := range floor {
			if in[p] < o {
				b.WriteString("below the floor: ")
			}
		}
		fmt.Fprint(&b, in, groupTopicOffsets(t, addrs, group+"-repartition", group+"-repartition"))
		// Both groups settled, every partition owned: a dead member's partitions moved.
		fmt.Fprint(&b, " ", groupState(t, addrs, group), " ", groupState(t, addrs, group+"-repartition"))
		for _, f := range outs {
			fi, err := os.Stat(f)
			if err == nil {
				fmt.Fprint(&b, " ", fi.Size())
			}
		}
		return b.String()
	}
	var before string
	stable := 0
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		s := state()
		settled := !strings.HasPrefix(s, "below") && strings.Count(s, "Stable/4") == 2
		if settled && s == before {
			if stable++; time.Duration(stable)*100*time.Millisecond >= quiet {
				return
			}
		} else {
			stable = 0
		}
		before = s
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("not quiet after 90 s: %s", before)
}

// groupState returns the state of a consumer group, how many partitions its members own
// and how many members it has, then who owns what: "Stable/4/2 [...]" when it is settled
// with 4 partitions owned by 2 members.
func groupState(t *testing.T, addrs []string, group string) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(t.Context(), cl)
	if err != nil || len(resp.Groups) != 1 {
		return fmt.Sprint("unknown: ", err)
	}
	g := resp.Groups[0]
	owned := 0
	var who []string
	for _, m := range g.Members {
		var a kmsg.ConsumerMemberAssignment
		if a.ReadFrom(m.MemberAssignment) == nil {
			for _, tp := range a.Topics {
				owned += len(tp.Partitions)
				who = append(who, fmt.Sprint(m.MemberID, tp.Partitions))
			}
		}
	}
	slices.Sort(who)
	return fmt.Sprintf("%s/%d/%d %v", g.State, owned, len(g.Members), who)
}

// produceChunks writes the events round-robin over the 4 partitions (event i to
// partition i%4) in chunks of n, every pause, so that the processes read them while they
// come. It runs on a goroutine of its own: it returns its error.
func produceChunks(addrs []string, evs []genEvent, n int, pause time.Duration) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(scaleTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	for from := 0; from < len(evs); from += n {
		var recs []*kgo.Record
		for i := from; i < min(from+n, len(evs)); i++ {
			recs = append(recs, &kgo.Record{Value: evs[i].line, Partition: int32(i % scaleParts)})
		}
		if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			return err
		}
		time.Sleep(pause)
	}
	return nil
}

// TestDetectKafkaRepartition runs one, two and three processes over the whole backlog:
// each gives exactly the file run's alert ids. The repartition topic is created with the
// input's 4 partitions.
func TestDetectKafkaRepartition(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bench/gen, runs tripline processes")
	}
	root := testenv.RepoRoot(t)
	t.Chdir(root)
	file, evs := genWorkload(t, root, 3000)
	want := repartWant(t, file)
	for _, procs := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("%d processes", procs), func(t *testing.T) {
			addrs := newScaleKafka(t)
			produceRoundRobin(t, addrs, evs)
			url := "kafka://" + strings.Join(addrs, ",") + "/" + scaleTopic + "?group=scale&commit_interval=200ms&session_timeout=6s&rebalance_timeout=8s"
			dir := t.TempDir()
			var kids []*child
			var outs []string
			for i := range procs {
				out := filepath.Join(dir, fmt.Sprintf("alerts-%d.ndjson", i))
				kids = append(kids, startDetect(t, fmt.Sprintf("process %d", i), url, out))
				outs = append(outs, out)
			}
			waitQuiet(t, addrs, "scale", commitFloor(evs), 3*time.Second, outs...)
			for _, k := range kids {
				k.term(t) // all at once: none takes over another's partitions
			}
			for _, k := range kids {
				k.stop(t)
			}
			dups := checkIDs(t, want, outs...)
			t.Logf("%d processes: %d alerts, %d written twice", procs, len(want), dups)
			if t.Failed() {
				for _, k := range kids {
					t.Logf("%s:\n%s", k.name, k.stderr)
				}
			}
			if n := len(groupTopicOffsets(t, addrs, "scale-repartition", "scale-repartition")); n != scaleParts {
				t.Errorf("the repartition group committed %d partitions, want %d", n, scaleParts)
			}
		})
	}
}

// TestDetectKafkaRepartitionKill runs two processes while the events come, kills one of
// them with SIGKILL at random points, three times, and starts it again each time: no alert
// id is missing, and the only repeats are of the same ids.
func TestDetectKafkaRepartitionKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bench/gen, runs tripline processes")
	}
	// Known failure, issue 17: in about half the runs a restarted process exits with
	// "unable to join group session: i/o timeout" against kfake, and the test times out. Not
	// run by CI until that is understood; TRIPLINE_KAFKA_KILL_TEST=1 runs it.
	if os.Getenv("TRIPLINE_KAFKA_KILL_TEST") == "" {
		t.Skip("known failure (issue 17): set TRIPLINE_KAFKA_KILL_TEST=1 to run")
	}
	root := testenv.RepoRoot(t)
	t.Chdir(root)
	file, evs := genWorkload(t, root, 3000)
	want := repartWant(t, file)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TRIPLINE_TEST_KILL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64) // to run a failure's kill times again
	}
	rng := rand.New(rand.NewPCG(seed, 17))
	t.Logf("kill times drawn with seed %d", seed)

	addrs := newScaleKafka(t)
	url := "kafka://" + strings.Join(addrs, ",") + "/" + scaleTopic + "?group=scale&commit_interval=200ms&session_timeout=6s&rebalance_timeout=8s"
	dir := t.TempDir()
	outs := []string{filepath.Join(dir, "a.ndjson")}
	a := startDetect(t, "process a", url, outs[0])
	var b *child
	var killed []*child
	start := func(i int) {
		out := filepath.Join(dir, fmt.Sprintf("b%d.ndjson", i))
		outs = append(outs, out)
		b = startDetect(t, fmt.Sprintf("process b%d", i), url, out)
	}
	start(0)
	produced := make(chan error, 1)
	go func() { produced <- produceChunks(addrs, evs, 150, 400*time.Millisecond) }() // 20 chunks over 8 s
	for i := range 3 {
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
		b.kill(t)
		killed = append(killed, b)
		t.Logf("killed process b%d", i)
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
		start(i + 1)
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	waitQuiet(t, addrs, "scale", commitFloor(evs), 3*time.Second, outs...)
	t.Logf("quiet after %s", time.Since(began))
	if t.Failed() {
		for _, k := range append(killed, a, b) {
			t.Logf("%s:\n%s", k.name, k.stderr)
		}
		t.FailNow()
	}
	a.term(t)
	b.term(t)
	a.stop(t)
	b.stop(t)
	dups := checkIDs(t, want, outs...)
	t.Logf("%d alerts, %d written twice after three kills", len(want), dups)
	if t.Failed() {
		for _, k := range append(killed, a, b) {
			t.Logf("%s:\n%s", k.name, k.stderr)
		}
	}
}

// TestDetectKafkaRepartitionJoin starts a third process while two read the events as they
// come: the partitions of both groups move, and the alert ids do not change.
func TestDetectKafkaRepartitionJoin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bench/gen, runs tripline processes")
	}
	root := testenv.RepoRoot(t)
	t.Chdir(root)
	file, evs := genWorkload(t, root, 3000)
	want := repartWant(t, file)
	addrs := newScaleKafka(t)
	url := "kafka://" + strings.Join(addrs, ",") + "/" + scaleTopic + "?group=scale&commit_interval=200ms&session_timeout=6s&rebalance_timeout=8s"
	dir := t.TempDir()
	outs := []string{filepath.Join(dir, "a.ndjson"), filepath.Join(dir, "b.ndjson"), filepath.Join(dir, "c.ndjson")}
	a := startDetect(t, "process a", url, outs[0])
	b := startDetect(t, "process b", url, outs[1])
	produced := make(chan error, 1)
	go func() { produced <- produceChunks(addrs, evs, 150, 300*time.Millisecond) }()
	time.Sleep(2 * time.Second)
	c := startDetect(t, "process c", url, outs[2])
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	waitQuiet(t, addrs, "scale", commitFloor(evs), 3*time.Second, outs...)
	for _, k := range []*child{a, b, c} {
		k.term(t)
	}
	for _, k := range []*child{a, b, c} {
		k.stop(t)
	}
	if ids := outputIDs(t, outs[2]); len(ids) == 0 {
		t.Errorf("the process that joined wrote no alert: it took no partition")
	}
	dups := checkIDs(t, want, outs...)
	t.Logf("%d alerts, %d written twice with a process joining", len(want), dups)
}
