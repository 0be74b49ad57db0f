package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// exampleBulkItems returns, for each example event in timestamp order, its _bulk action
// and source lines, with an explicit _id (ev-00, ev-01, ...): a shipper that sends its
// events again after a failure sends the same ids, so their alerts have the same ids.
func exampleBulkItems(t *testing.T) []string {
	t.Helper()
	var items []string
	for i, l := range sortedExampleEvents(t) {
		var doc map[string]any
		if err := json.Unmarshal([]byte(l), &doc); err != nil {
			t.Fatal(err)
		}
		index, _ := doc["_index"].(string)
		delete(doc, "_index")
		if index == "" {
			ds := doc["data_stream"].(map[string]any)
			index = ds["type"].(string) + "-" + ds["dataset"].(string) + "-" + ds["namespace"].(string)
		}
		src, _ := json.Marshal(doc)
		items = append(items, fmt.Sprintf(`{"create":{"_index":%q,"_id":"ev-%02d"}}`+"\n%s\n", index, i, src))
	}
	return items
}

// postBulk sends items as one _bulk request and fails unless every item got 201.
func postBulk(t *testing.T, url string, items []string) {
	t.Helper()
	if len(items) == 0 {
		return
	}
	code, body := httpDo(t, "POST", url+"/_bulk", "application/x-ndjson", strings.Join(items, ""))
	var resp struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil || code != http.StatusOK || resp.Errors || len(resp.Items) != len(items) {
		t.Fatalf("POST /_bulk: %d (%v) %s", code, err, body)
	}
	for _, it := range resp.Items {
		if it["create"].Status != http.StatusCreated {
			t.Fatalf("POST /_bulk: an item not created: %s", body)
		}
	}
}

func readAlerts(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return alertDocs(t, string(b))
}

// TestServeStateDirRestart stops serve (as SIGTERM does) after each event of the example
// scenario, sent in bulks of three, and starts it again with the same --state-dir for the
// rest: the output file then holds exactly the alerts (ids and documents) of one
// uninterrupted serve, the sequences that straddle the restart included.
func TestServeStateDirRestart(t *testing.T) {
	items := exampleBulkItems(t)
	dir := t.TempDir()
	common := []string{"--rules", example(t, "rules"), "--now", fixedNow}
	serveOver := func(st, out string, part []string) {
		t.Helper()
		url, stop, _, stderr := startServe(t, append(common, "--state-dir", st, "-o", out)...)
		for i := 0; i < len(part); i += 3 {
			postBulk(t, url, part[i:min(i+3, len(part))])
		}
		if code := stop(); code != exitOK {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
	}
	oneOut := filepath.Join(dir, "one.ndjson")
	serveOver(filepath.Join(dir, "one"), oneOut, items)
	want := readAlerts(t, oneOut)
	if len(want) != 12 { // TestServe's
		t.Fatalf("one serve: %d alerts, want 12", len(want))
	}
	for k := 0; k <= len(items); k++ {
		st, out := filepath.Join(dir, fmt.Sprintf("s%d", k)), filepath.Join(dir, fmt.Sprintf("o%d.ndjson", k))
		serveOver(st, out, items[:k])
		serveOver(st, out, items[k:])
		compareAlerts(t, fmt.Sprintf("restart after event %d", k), readAlerts(t, out), want)
	}
	// A start with nothing new gives nothing new.
	st, out := filepath.Join(dir, "s3"), filepath.Join(dir, "o3.ndjson")
	serveOver(st, out, nil)
	compareAlerts(t, "a third start", readAlerts(t, out), want)
}

// serveChild starts serve in a child process (the test binary, see TestMain) and returns
// its URL; the process is killed at the end of the test.
func serveChild(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	argv, _ := json.Marshal(append([]string{"serve", "--listen", "127.0.0.1:0"}, args...))
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envChild+"="+string(argv))
	stderr, err := child.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		child.Process.Kill()
		child.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingRE.FindStringSubmatch(sc.Text() + "\n"); m != nil {
				found <- "http://" + m[1]
			}
		}
		close(found)
	}()
	select {
	case url, ok := <-found:
		if !ok {
			t.Fatal("serve exited before listening")
		}
		return child, url
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not report its address within 30s")
	}
	return nil, ""
}

// TestServeStateDirKilled kills serve (SIGKILL) right after the answer to a bulk request,
// or while one is in flight, then starts it again with the same --state-dir and sends what
// was not acknowledged and the rest, as a shipper does: nothing acknowledged is lost (the
// alerts are those of one serve) and no alert is written twice to the file output.
func TestServeStateDirKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve in 16 processes (-short)")
	}
	items := exampleBulkItems(t)
	var bulks [][]string
	for i := 0; i < len(items); i += 3 {
		bulks = append(bulks, items[i:min(i+3, len(items))])
	}
	dir := t.TempDir()
	common := []string{"--rules", example(t, "rules"), "--now", fixedNow}
	oneOut := filepath.Join(dir, "one.ndjson")
	url, stop, _, _ := startServe(t, append(common, "--state-dir", filepath.Join(dir, "one"), "-o", oneOut)...)
	for _, b := range bulks {
		postBulk(t, url, b)
	}
	stop()
	want := readAlerts(t, oneOut)
	if len(want) != 12 {
		t.Fatalf("one serve: %d alerts, want 12", len(want))
	}
	for k := 1; k < len(bulks); k++ {
		for _, inFlight := range []bool{false, true} {
			t.Run(fmt.Sprintf("after bulk %d, in flight %v", k, inFlight), func(t *testing.T) {
				st, out := filepath.Join(dir, fmt.Sprintf("s%d-%v", k, inFlight)), filepath.Join(dir, fmt.Sprintf("o%d-%v.ndjson", k, inFlight))
				args := append(common, "--state-dir", st, "-o", out)
				child, url := serveChild(t, args...)
				for _, b := range bulks[:k] {
					postBulk(t, url, b) // acknowledged
				}
				next := k
				if inFlight {
					// Killed while the next bulk is being answered (or before, or just after):
					// not acknowledged to this client, so sent again.
					go http.Post(url+"/_bulk", "application/x-ndjson", strings.NewReader(strings.Join(bulks[k], "")))
					time.Sleep(time.Duration(k) * time.Millisecond)
				}
				if err := child.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				child.Wait()
				url, stop, _, stderr := startServe(t, args...)
				for _, b := range bulks[next:] {
					postBulk(t, url, b)
				}
				if code := stop(); code != exitOK {
					t.Fatalf("restart: exit %d\n%s", code, stderr)
				}
				got := readAlerts(t, out) // fails on an id written twice
				if inFlight {
					// Events sent twice may be taken in twice; their alerts have the same ids.
					for id := range got {
						got[id] = want[id]
					}
				}
				compareAlerts(t, "after the kill", got, want)
			})
		}
	}
}
