package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	topic = "events"
	parts = 4
	now   = "2026-03-12T10:00:00Z"
)

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "repart:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("repart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 200_000, "events to generate")
	seed := fs.Uint64("seed", 1, "generator seed")
	rate := fs.Int("rate", 1000, "events per second of event time")
	events := fs.String("events", "", "read the events from this NDJSON file instead of generating them")
	bin := fs.String("bin", "", "tripline binary (default: built from ./cmd/tripline)")
	procsFlag := fs.String("procs", "1,2,4", "process counts to measure, comma-separated")
	var rules stringList
	fs.Var(&rules, "rules", "rule file or directory (repeatable; default examples/rules)")
	var extra stringList
	fs.Var(&extra, "arg", "extra argument to every detect run (repeatable), such as --rule-types=eql")
	keep := fs.Bool("k", false, "keep the temporary directory and print its path")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(rules) == 0 {
		rules = stringList{"examples/rules"}
	}
	var procs []int
	for p := range strings.SplitSeq(*procsFlag, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || k <= 0 {
			return fmt.Errorf("-procs %q: want positive counts", *procsFlag)
		}
		procs = append(procs, k)
	}
	dir, err := os.MkdirTemp("", "repart-bench-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(stderr, "keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if *bin == "" {
		*bin = filepath.Join(dir, "tripline")
		if out, err := exec.Command("go", "build", "-o", *bin, "./cmd/tripline").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	if *events == "" {
		*events = filepath.Join(dir, "events.ndjson")
		cmd := exec.Command("go", "run", "./bench/gen", "-n", strconv.Itoa(*n), "-seed", strconv.FormatUint(*seed, 10),
			"-rate", strconv.Itoa(*rate), "-o", *events, "-manifest", os.DevNull)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("bench/gen: %v\n%s", err, out)
		}
	}
	lines, lastTS, err := readEvents(*events)
	if err != nil {
		return err
	}
	var ruleArgs []string
	for _, r := range rules {
		ruleArgs = append(ruleArgs, "--rules", r)
	}
	ruleArgs = append(ruleArgs, extra...)

	// The file run.
	fileOut := filepath.Join(dir, "file.ndjson")
	start := time.Now()
	cmd := exec.Command(*bin, append(append([]string{"detect"}, ruleArgs...), "--now", now, "-o", fileOut, *events)...)
	var ferr bytes.Buffer
	cmd.Stderr = &ferr
	if err := cmd.Run(); err != nil && cmd.ProcessState.ExitCode() != 3 {
		return fmt.Errorf("file run: %v\n%s", err, ferr.String())
	}
	fileWall := time.Since(start)
	fileCPU := cpuOf(cmd.ProcessState)
	want, _, err := alertIDs(fileOut)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d events (%s), rules %s; %d alerts in the file run\n\n", len(lines), *events, strings.Join(rules, " "), len(want))
	fmt.Fprintf(stdout, "%-22s %10s %10s %14s %8s %8s %10s\n", "run", "wall s", "events/s", "CPU s/M events", "alerts", "repeats", "CPU/file")
	row := func(name string, wall time.Duration, cpu float64, alerts, repeats int) {
		fmt.Fprintf(stdout, "%-22s %10.1f %10.0f %14.1f %8d %8d %9.2fx\n", name, wall.Seconds(),
			float64(len(lines))/wall.Seconds(), cpu/float64(len(lines))*1e6, alerts, repeats, cpu/fileCPU)
	}
	row("file, 1 process", fileWall, fileCPU, len(want), 0)

	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, topic))
	if err != nil {
		return err
	}
	defer c.Close()
	addrs := c.ListenAddrs()
	if err := produce(addrs, lines); err != nil {
		return err
	}
	floor := commitFloor(lines, lastTS)
	mismatch := false
	for _, k := range procs {
		group := fmt.Sprintf("bench%d", k)
		url := "kafka://" + strings.Join(addrs, ",") + "/" + topic + "?group=" + group
		var kids []*exec.Cmd
		var outs []string
		start := time.Now()
		for i := range k {
			out := filepath.Join(dir, fmt.Sprintf("%s-%d.ndjson", group, i))
			outs = append(outs, out)
			cmd := exec.Command(*bin, append(append([]string{"detect"}, ruleArgs...), "--now", now, "-o", out, url)...)
			cmd.Stderr = io.Discard
			if err := cmd.Start(); err != nil {
				return err
			}
			kids = append(kids, cmd)
		}
		end, err := waitDone(addrs, group, floor, outs)
		for _, cmd := range kids {
			cmd.Process.Signal(syscall.SIGTERM)
		}
		var cpu float64
		for _, cmd := range kids {
			cmd.Wait()
			cpu += cpuOf(cmd.ProcessState)
		}
		if err != nil {
			return fmt.Errorf("%d processes: %w", k, err)
		}
		var all []string
		for _, o := range outs {
			ids, _, err := alertIDs(o)
			if err != nil {
				return err
			}
			all = append(all, ids...)
		}
		slices.Sort(all)
		distinct := slices.Compact(slices.Clone(all))
		if !slices.Equal(distinct, want) {
			fmt.Fprintf(stdout, "%d processes: %d distinct alert ids, the file run has %d: NOT THE SAME\n", k, len(distinct), len(want))
			mismatch = true
		}
		row(fmt.Sprintf("kafka, %d process(es)", k), end.Sub(start), cpu, len(distinct), len(all)-len(distinct))
	}
	if mismatch {
		return fmt.Errorf("the alert ids differ from the file run's")
	}
	return nil
}

// readEvents returns the events' lines and the last @timestamp.
func readEvents(path string) ([][]byte, time.Time, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	var lines [][]byte
	var last time.Time
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := bytes.Clone(sc.Bytes())
		var d struct {
			TS time.Time `json:"@timestamp"`
		}
		if json.Unmarshal(line, &d) == nil && d.TS.After(last) {
			last = d.TS
		}
		lines = append(lines, line)
	}
	return lines, last, sc.Err()
}

// produce writes the events round-robin over the partitions, unkeyed.
func produce(addrs []string, lines [][]byte) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(16<<20))
	if err != nil {
		return err
	}
	defer cl.Close()
	for from := 0; from < len(lines); from += 10_000 {
		var recs []*kgo.Record
		for i := from; i < min(from+10_000, len(lines)); i++ {
			recs = append(recs, &kgo.Record{Value: lines[i], Partition: int32(i % parts)})
		}
		if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			return err
		}
	}
	return nil
}

// commitFloor returns, by partition, how many events lie more than 2 minutes of event time
// before the last: the offsets the input group must have committed once everything is read
// (the rest may stay held in reordering buffers and sequences until the processes stop).
func commitFloor(lines [][]byte, last time.Time) map[int32]int64 {
	floor := map[int32]int64{}
	for i, l := range lines {
		var d struct {
			TS time.Time `json:"@timestamp"`
		}
		if json.Unmarshal(l, &d) == nil && d.TS.Before(last.Add(-2*time.Minute)) {
			floor[int32(i%parts)] = int64(i/parts) + 1
		}
	}
	return floor
}

// waitDone waits until both groups are settled, the input group committed floor, and the
// commits and outputs have not moved for 2 s; it returns when they last moved.
func waitDone(addrs []string, group string, floor map[int32]int64, outs []string) (time.Time, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return time.Time{}, err
	}
	defer cl.Close()
	var before string
	changed := time.Now()
	deadline := time.Now().Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		in := offsets(cl, group, topic)
		low := false
		for p, o := range floor {
			low = low || in[p] < o
		}
		var b strings.Builder
		fmt.Fprint(&b, in, offsets(cl, group+"-repartition", group+"-repartition"), " ",
			state(cl, group), " ", state(cl, group+"-repartition"))
		for _, f := range outs {
			if fi, err := os.Stat(f); err == nil {
				fmt.Fprint(&b, " ", fi.Size())
			}
		}
		s := b.String()
		if s != before {
			before, changed = s, time.Now()
			continue
		}
		if !low && strings.Count(s, "Stable/4") == 2 && time.Since(changed) >= 2*time.Second {
			return changed, nil
		}
	}
	return time.Time{}, fmt.Errorf("not done after 30 minutes: %s", before)
}

func offsets(cl *kgo.Client, group, t string) map[int32]int64 {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	out := map[int32]int64{}
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		return out
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rt.Topic == t && rp.Offset >= 0 {
				out[rp.Partition] = rp.Offset
			}
		}
	}
	return out
}

// state returns "STATE/PARTITIONS OWNED/MEMBERS [who owns what]" of a group.
func state(cl *kgo.Client, group string) string {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil || len(resp.Groups) != 1 {
		return "unknown"
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

// cpuOf returns a finished process's user and system CPU seconds.
func cpuOf(ps *os.ProcessState) float64 {
	return (ps.UserTime() + ps.SystemTime()).Seconds()
}

// alertIDs returns the sorted alert ids of an NDJSON alerts file (repeats kept).
func alertIDs(path string) ([]string, int, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var ids []string
	for line := range bytes.SplitSeq(bytes.TrimSpace(data), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var a struct {
			ID string `json:"kibana.alert.uuid"`
		}
		if err := json.Unmarshal(line, &a); err != nil {
			return nil, 0, fmt.Errorf("%s: %v", path, err)
		}
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	return ids, len(ids), nil
}
