package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDetectInputsSkippedOrRepeated checks detect's inputs: one that cannot be read is
// reported and skipped wherever it comes, the others are read, and the exit status is 3; a
// file given twice, by one name or two, is read once (not twice, which would give every
// alert twice, with the same ids).
func TestDetectInputsSkippedOrRepeated(t *testing.T) {
	rules, events := example(t, "rules"), example(t, "events")
	proc, audit := filepath.Join(events, "cloud-defend-process.ndjson"), filepath.Join(events, "kubernetes-audit.ndjson")
	dir := t.TempDir()
	nope := filepath.Join(dir, "nope.ndjson")
	link := filepath.Join(dir, "link.ndjson")
	if err := os.Symlink(audit, link); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, "notes.txt", "no events\n")
	skippedSummary := strings.Replace(exampleSummary, "0 without index\n", "0 without index, 1 input skipped\n", 1)
	missing := "tripline: " + nope + ": no such file or directory (skipped)\n"
	runCLICases(t, []cliCase{
		{name: "missing file first", args: []string{"detect", "--rules", rules, "--format", "summary", nope, events},
			code: exitSkipped, stdout: skippedSummary, stderr: missing},
		{name: "missing file between", args: []string{"detect", "--rules", rules, "--format", "summary", proc, nope, audit},
			code: exitSkipped, stdout: skippedSummary, stderr: missing},
		{name: "missing file last", args: []string{"detect", "--rules", rules, "--format", "summary", events, nope},
			code: exitSkipped, stdout: skippedSummary, stderr: missing},
		{name: "a directory without event files", args: []string{"detect", "--rules", rules, "--format", "summary", empty, events},
			code: exitSkipped, stdout: skippedSummary,
			stderr: "tripline: " + empty + ": no event files (.ndjson, .jsonl, .json, .log, .gz) in this directory (skipped)\n"},
		{name: "nothing readable", args: []string{"detect", "--rules", rules, "--format", "summary", nope},
			code: exitSkipped, stderr: missing,
			stdout: "rules:  4 loaded, 0 skipped\nevents: 0 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index, 1 input skipped\nalerts: 0\n"},
		{name: "a file twice, and in its directory", args: []string{"detect", "--rules", rules, "--format", "summary", audit, audit, events},
			stdout: exampleSummary,
			stderr: "tripline: " + audit + ": given twice; read once\n"},
		{name: "a file and a link to it", args: []string{"detect", "--rules", rules, "--format", "summary", link, events},
			stdout: exampleSummary,
			stderr: "tripline: " + audit + ": the same file as " + link + "; read once\n"},
		{name: "a missing --rules path next to good ones", args: []string{"detect", "--rules", rules, "--rules", nope, "--format", "summary", events},
			code:   exitSkipped,
			stdout: strings.Replace(exampleSummary, "0 skipped\n", "0 skipped, 1 rule file unreadable\n", 1),
			stderr: "tripline: rule file " + nope + ": no such file or directory (unreadable)\n"},
		{name: "every --rules path missing", args: []string{"detect", "--rules", nope, events},
			code:   exitUsage,
			stderr: "tripline: rule file " + nope + ": no such file or directory (unreadable)\ntripline: none of the rules can run (0 skipped, 1 rule file unreadable: see 'tripline rules list')\n"},
	})
	// The alerts of a file given twice: each once, with distinct ids.
	r := runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow, audit, events, link)
	seen := map[string]bool{}
	for _, a := range parseAlerts(t, r.stdout) {
		if seen[a.UUID] {
			t.Errorf("alert id %s twice", a.UUID)
		}
		seen[a.UUID] = true
	}
	if r.code != exitOK || len(seen) != 12 {
		t.Errorf("exit %d, %d distinct alerts; want 0 and 12\n%s", r.code, len(seen), r.stderr)
	}
}

// TestRulesTestInputSkipped checks that rules test reads the other inputs when one cannot
// be read, says so, and exits 3.
func TestRulesTestInputSkipped(t *testing.T) {
	seed := example(t, "rules", "direct_interactive_kubernetes_api_request_by_unusual_utilities.toml")
	events := example(t, "events")
	nope := filepath.Join(t.TempDir(), "nope.ndjson")
	base := runCLI(t, "", "rules", "test", seed, events)
	if base.code != exitOK || !strings.Contains(base.stdout, "events: 25 read\n") {
		t.Fatalf("exit %d, stdout:\n%s", base.code, base.stdout)
	}
	want := strings.Replace(base.stdout, "events: 25 read\n", "events: 25 read (1 input skipped)\n", 1)
	for _, args := range [][]string{{nope, events}, {events, nope}} {
		runCLI(t, "", append([]string{"rules", "test", seed}, args...)...).
			check(t, exitSkipped, want, "tripline: "+nope+": no such file or directory (skipped)\n")
	}
}

// TestFollowEndsWithAPipe checks that --follow follows regular files only: a pipe (standard
// input, or a named pipe given as a file) whose writer closed it ends the run, with what it
// held matched; the run used to wait for more until interrupted.
func TestFollowEndsWithAPipe(t *testing.T) {
	rules := example(t, "rules")
	data, err := os.ReadFile(example(t, "events", "cloud-defend-process.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	// The alerts of the two rules that need process events only.
	const detectSummary = "rules:  4 loaded, 0 skipped\n" +
		"events: 15 read, 0 malformed (skipped), 0 unused (no timestamp or too late), 0 without index\n" +
		"alerts: 6\n" +
		"   ALERTS MATCHES  CAPPED  RULE\n" +
		"        4       1       0  Burst of Discovery Commands in a Kubernetes Container\n" +
		"        2       2       0  Interactive Shell Opened in a Kubernetes Container\n"
	const querySummary = "15 records read, 0 skipped, 2 results; pending state at the end 0, peak 1\n"
	fifo := filepath.Join(t.TempDir(), "events.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		viaArg bool // the named pipe as a file argument, else standard input
		args   []string
		stdout string
		stderr string
	}{
		{"detect, standard input", false, []string{"detect", "--rules", rules, "--follow", "--format", "summary"}, detectSummary, ""},
		{"detect, a named pipe", true, []string{"detect", "--rules", rules, "--follow", "--format", "summary", fifo}, detectSummary, ""},
		{"query, standard input", false, []string{"query", "--follow", "--format", "table", `process where process.name == "cat"`}, "", querySummary},
		{"query, a named pipe", true, []string{"query", "--follow", "--format", "table", `process where process.name == "cat"`, fifo}, "", querySummary},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdin *os.File
			write := func(w *os.File) {
				w.Write(data)
				w.Close()
			}
			if tc.viaArg {
				go func() {
					w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for the reader
					if err == nil {
						write(w)
					}
				}()
			} else {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				go write(w)
				stdin = r
			}
			done := make(chan result, 1)
			go func() {
				var in *os.File = stdin
				if in == nil {
					in, _ = os.Open(os.DevNull)
					defer in.Close()
				}
				done <- runCLIContext(t, context.Background(), in, tc.args...)
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("--follow did not end when the pipe was closed")
			}
			stdout := tc.stdout
			if tc.args[0] == "query" {
				stdout = "" +
					"#  @timestamp                event.category  event.action  host.name                         process.name  process.args                                      orchestrator.resource.name\n" +
					"1  2026-03-12T09:14:20.040Z  process         exec          aks-userpool-31842977-vmss000002  cat           cat /var/run/secrets/kubernetes.io/serviceaccou…  checkout-7c9d5b6f8-x2lkq\n" +
					"2  2026-03-12T09:15:12.800Z  process         exec          aks-userpool-31842977-vmss000001  cat           cat /var/run/secrets/kubernetes.io/serviceaccou…  inventory-api-66b8f9d7c4-mz5tn\n"
			}
			r.check(t, exitOK, stdout, tc.stderr)
		})
	}
}

// TestDetectInterruptedPipe checks that a signal stops detect reading standard input from a
// writer that keeps the pipe open: the run ends at once, exits 130 and says why (the events
// in flight when the signal came may or may not have been read).
func TestDetectInterruptedPipe(t *testing.T) {
	var events []byte
	for _, f := range []string{"cloud-defend-process.ndjson", "kubernetes-audit.ndjson"} {
		data, err := os.ReadFile(example(t, "events", f))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, data...)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan result, 1)
	go func() {
		done <- runCLIContext(t, ctx, pr, "detect", "--rules", example(t, "rules"), "--now", "2026-11-27T00:00:00Z")
	}()
	if _, err := pw.Write(events); err != nil { // returns once the reader has taken it all
		t.Fatal(err)
	}
	cancel()
	select {
	case r := <-done:
		const why = "tripline: interrupted before the end of the input (what was read went through)\n"
		if r.code != exitSignaled || !strings.HasSuffix(r.stderr, why) || len(lines(r.stdout)) > 12 {
			t.Errorf("exit %d with %d alerts, want %d, at most 12 and %q\nstderr:\n%s", r.code, len(lines(r.stdout)), exitSignaled, why, r.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("detect still waits for standard input after the signal")
	}
}
