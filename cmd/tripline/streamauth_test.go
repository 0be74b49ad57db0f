package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/tripline/tripline/internal/testenv"
)

// exampleLines returns the example events in timestamp order.
func exampleLines(t *testing.T) [][]byte {
	t.Helper()
	var evs []genEvent
	for _, f := range []string{"examples/events/cloud-defend-process.ndjson", "examples/events/kubernetes-audit.ndjson"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for line := range bytes.SplitSeq(bytes.TrimSpace(data), []byte("\n")) {
			var ts struct {
				TS time.Time `json:"@timestamp"`
			}
			if err := json.Unmarshal(line, &ts); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, genEvent{ts.TS, line})
		}
	}
	slices.SortStableFunc(evs, func(a, b genEvent) int { return a.ts.Compare(b.ts) })
	out := make([][]byte, len(evs))
	for i, e := range evs {
		out[i] = e.line
	}
	return out
}

// detectUntil runs detect with args until out holds n alerts (or 30 s pass), stops it, and
// returns the result and the alert ids written.
func detectUntil(t *testing.T, out string, n int, args ...string) (result, []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan result, 1)
	go func() {
		done <- runCLIContext(t, ctx, strings.NewReader(""), append([]string{"detect", "-o", out}, args...)...)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if data, _ := os.ReadFile(out); bytes.Count(data, []byte("\n")) >= n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	r := <-done
	data, _ := os.ReadFile(out)
	if len(bytes.TrimSpace(data)) == 0 {
		return r, nil
	}
	return r, alertIDs(t, string(data))
}

// TestDetectKafkaSASL reads the example events from a cluster that requires SASL
// SCRAM-SHA-512, with the password from --kafka-password-file and then from the
// environment, and gives the alerts of the file run.
func TestDetectKafkaSASL(t *testing.T) {
	root := testenv.RepoRoot(t)
	t.Chdir(root)
	batch := runCLI(t, "", "detect", "--rules", "examples/rules", "--now", scaleNow, "examples/events")
	want := alertIDs(t, batch.stdout)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, scaleTopic),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "tripline", "pa55"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addrs := c.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(scaleTopic),
		kgo.SASL(scram.Auth{User: "tripline", Pass: "pa55"}.AsSha512Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for _, l := range exampleLines(t) {
		recs = append(recs, &kgo.Record{Value: l})
	}
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	dir := t.TempDir()
	pwFile := writeFile(t, dir, "pw", "pa55\n")
	url := "kafka://" + strings.Join(addrs, ",") + "/" + scaleTopic
	for i, how := range []string{"file", "env"} {
		t.Run(how, func(t *testing.T) {
			args := []string{"--rules", "examples/rules", "--now", scaleNow, "--max-lateness", "0s",
				"--kafka-sasl", "scram-sha-512", "--kafka-user", "tripline"}
			if how == "file" {
				args = append(args, "--kafka-password-file", pwFile)
			} else {
				t.Setenv(envKafkaPassword, "pa55")
			}
			out := filepath.Join(dir, how+".ndjson")
			r, got := detectUntil(t, out, len(want), append(args, url+"?group=sasl-"+string(rune('a'+i)))...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			if !slices.Equal(got, want) {
				t.Errorf("alert ids:\n%v\nwant:\n%v", got, want)
			}
		})
	}
}

// TestDetectNATSToken reads the example events from a NATS server that requires a token,
// given in TRIPLINE_NATS_TOKEN.
func TestDetectNATSToken(t *testing.T) {
	root := testenv.RepoRoot(t)
	t.Chdir(root)
	batch := runCLI(t, "", "detect", "--rules", "examples/rules", "--now", scaleNow, "examples/events")
	want := alertIDs(t, batch.stdout)
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true, Authorization: "t0ken"})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	nc, err := nats.Connect(s.ClientURL(), nats.Token("t0ken"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"events.>"}}); err != nil {
		t.Fatal(err)
	}
	for _, l := range exampleLines(t) {
		if _, err := js.Publish(t.Context(), "events.all", l); err != nil {
			t.Fatal(err)
		}
	}
	nc.Close()
	t.Setenv(envNATSToken, "t0ken")
	url := s.ClientURL() + "/EVENTS"
	r, got := detectUntil(t, filepath.Join(t.TempDir(), "alerts.ndjson"), len(want),
		"--rules", "examples/rules", "--now", scaleNow, "--max-lateness", "0s", url)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !slices.Equal(got, want) {
		t.Errorf("alert ids:\n%v\nwant:\n%v", got, want)
	}
}

// TestDetectStreamCredentialErrors checks the credentials flags that do not fit the
// stream, or a file that cannot be read, are reported before anything is read.
func TestDetectStreamCredentialErrors(t *testing.T) {
	root := testenv.RepoRoot(t)
	t.Chdir(root)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--nats-user", "u", "kafka://127.0.0.1:1/t"}, "the --nats-* flags do not apply to kafka://127.0.0.1:1/t"},
		{[]string{"--kafka-sasl", "plain", "nats://127.0.0.1:1/S"}, "the --kafka-* flags do not apply to nats://127.0.0.1:1/S"},
		{[]string{"--kafka-sasl", "gssapi", "--kafka-user", "u", "--kafka-password-file", "go.mod", "kafka://127.0.0.1:1/t"},
			`kafka://127.0.0.1:1/t: unknown SASL mechanism "gssapi" (want plain, scram-sha-256 or scram-sha-512)`},
		{[]string{"--kafka-sasl", "plain", "--kafka-user", "u", "--kafka-password-file", "missing.txt", "kafka://127.0.0.1:1/t"},
			"--kafka-password-file: open missing.txt: no such file or directory"},
		{[]string{"--stream-tls-ca", "go.mod", "kafka://127.0.0.1:1/t"}, "--stream-tls: go.mod: no PEM certificate"},
	}
	for _, tc := range cases {
		r := runCLI(t, "", append([]string{"detect", "--rules", "examples/rules"}, tc.args...)...)
		if r.code != exitFailure || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant exit %d and %q", tc.args, r.code, r.stderr, exitFailure, tc.want)
		}
	}
}
