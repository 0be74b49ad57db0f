package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tripline/tripline/internal/testenv"
)

// buildTripline builds the binary for tests that stop it with a signal.
func buildTripline(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tripline")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(testenv.RepoRoot(t), "cmd", "tripline")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestStateDirKilled stops a run over 11,000 events (the example scenario on 40 days, under max_signals, and events no rule reads) at
// a random point, with SIGTERM or SIGKILL, then runs again with the same --state-dir until
// a run ends: the output file then holds every alert of one uninterrupted run, once.
func TestStateDirKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it 20 times (-short)")
	}
	bin := buildTripline(t)
	evs := sortedExampleEvents(t)
	var all []string
	for day := range 40 {
		d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, day).Format("2006-01-02")
		for _, e := range evs {
			e = strings.ReplaceAll(e, "2026-03-12", d)
			all = append(all, e)
			// Ten events of an index no rule reads: a longer run, for the signals to fall in.
			var ts struct {
				T string `json:"@timestamp"`
			}
			json.Unmarshal([]byte(e), &ts)
			for i := range 10 {
				all = append(all, fmt.Sprintf(`{"_index":"logs-filler-default","@timestamp":%q,"event":{"category":"network","dataset":"filler"},"message":"filler %d %d"}`, ts.T, len(all), i))
			}
		}
	}
	dir := t.TempDir()
	in := writeFile(t, dir, "events.ndjson", strings.Join(all, "\n")+"\n")
	args := func(st, out string) []string {
		return []string{"detect", "--rules", example(t, "rules"), "--now", "2026-04-01T00:00:00Z", "--state-dir", st, "-o", out, "--format", "summary", in}
	}
	oneOut := filepath.Join(dir, "one.ndjson")
	start := time.Now()
	if out, err := exec.Command(bin, args(filepath.Join(dir, "one"), oneOut)...).CombinedOutput(); err != nil {
		t.Fatalf("one run: %v\n%s", err, out)
	}
	took := time.Since(start) // the signals come at random points of such a run
	b, _ := os.ReadFile(oneOut)
	want := alertDocs(t, string(b))
	if len(want) != 480 {
		t.Fatalf("one run: %d alerts, want 480", len(want))
	}
	interrupted := map[syscall.Signal]int{}
	for seed := range 10 {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
			t.Run(fmt.Sprintf("%v-%d", sig, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(seed), 7))
				st, out := filepath.Join(dir, fmt.Sprintf("s-%v-%d", sig, seed)), filepath.Join(dir, fmt.Sprintf("o-%v-%d.ndjson", sig, seed))
				cmd := exec.Command(bin, args(st, out)...)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				// Within the first half of a run's length: later runs can be quicker than the
				// first (warm caches), and a signal after the end tests nothing.
				time.Sleep(time.Duration(rng.Int64N(int64(took / 2))))
				cmd.Process.Signal(sig)
				if err := cmd.Wait(); err != nil {
					interrupted[sig]++ // the signal came before the end (else the restart reads nothing new)
				}
				if o, err := exec.Command(bin, args(st, out)...).CombinedOutput(); err != nil {
					t.Fatalf("run after %v: %v\n%s", sig, err, o)
				}
				b, _ := os.ReadFile(out)
				compareAlerts(t, "after "+sig.String(), alertDocs(t, string(b)), want)
			})
		}
	}
	// The random points must fall within runs for the test to test anything.
	if interrupted[syscall.SIGTERM] < 3 || interrupted[syscall.SIGKILL] < 3 {
		t.Errorf("runs stopped before their end: %v of 10 each; want 3 or more", interrupted)
	}
}
