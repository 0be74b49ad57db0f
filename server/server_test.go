package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowSink records documents after a delay and tracks calls in progress.
type slowSink struct {
	recordSink
	delay  time.Duration
	active atomic.Int64
}

func (s *slowSink) Accept(ctx context.Context, docs []Doc) error {
	s.active.Add(1)
	defer s.active.Add(-1)
	time.Sleep(s.delay)
	return s.recordSink.Accept(ctx, docs)
}

// TestShutdownLosesNoAcknowledgedEvent runs clients against a real listener, cancels the
// server's context while requests are in flight, and checks that every event a client got
// a success for reached the sink before Serve returned.
func TestShutdownLosesNoAcknowledgedEvent(t *testing.T) {
	sink := &slowSink{delay: 15 * time.Millisecond}
	s, err := New(Config{}, sink)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/_bulk"
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			for i := 0; ; i++ {
				var body strings.Builder
				ids := make([]string, 10)
				for k := range ids {
					ids[k] = fmt.Sprintf("c%d-%d-%d", g, i, k)
					fmt.Fprintf(&body, `{"create":{"_index":"a","_id":"%s"}}`+"\n"+`{"n":%d}`+"\n", ids[k], k)
				}
				resp, err := client.Post(url, "application/x-ndjson", strings.NewReader(body.String()))
				if err != nil {
					return // the server has stopped accepting
				}
				var r struct {
					Errors bool
					Items  []map[string]struct {
						ID     string `json:"_id"`
						Status int
					}
				}
				err = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || r.Errors {
					return
				}
				mu.Lock()
				for _, it := range r.Items {
					if it["create"].Status == 201 {
						acked[it["create"].ID] = true
					}
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if n := sink.active.Load(); n != 0 {
		t.Errorf("Serve returned with %d Accept calls still running", n)
	}
	received := map[string]bool{}
	for _, d := range sink.got() {
		received[d.ID] = true
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) < 50 {
		t.Fatalf("only %d events acknowledged; the test did not exercise the server", len(acked))
	}
	lost := 0
	for id := range acked {
		if !received[id] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged events never reached the sink", lost, len(acked))
	}
	if _, err := http.Post(url, "application/x-ndjson", strings.NewReader(oneDoc)); err == nil {
		t.Errorf("the server still accepts requests after Serve returned")
	}
	t.Logf("%d events acknowledged, %d received", len(acked), len(received))
}

// blockingSink holds every Accept until release is closed.
type blockingSink struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSink) Accept(ctx context.Context, docs []Doc) error {
	b.entered <- struct{}{}
	<-b.release
	return nil
}

func TestShutdownTimeout(t *testing.T) {
	sink := &blockingSink{entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(sink.release)
	s, err := New(Config{ShutdownTimeout: 100 * time.Millisecond}, sink)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	go http.Post("http://"+ln.Addr().String()+"/_bulk", "application/json", strings.NewReader(oneDoc))
	<-sink.entered
	cancel()
	err = <-served
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "requests still in flight after 100ms") {
		t.Errorf("Serve = %v, want the shutdown timeout", err)
	}
}

func TestHealthzWhileDraining(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	s.draining.Store(true)
	rec := do(s, "GET", "/healthz", "", nil)
	if rec.Code != 503 || rec.Body.String() != `{"status":"shutting_down"}` {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func TestNewErrors(t *testing.T) {
	sink := SinkFunc(func(context.Context, []Doc) error { return nil })
	tests := []struct {
		cfg  Config
		sink Sink
		want string
	}{
		{Config{}, nil, "server: nil sink"},
		{Config{TLSCertFile: "c.pem"}, sink, "server: TLS needs both a certificate file and a key file"},
		{Config{TLSCertFile: "/nonexistent/c.pem", TLSKeyFile: "/nonexistent/k.pem"}, sink,
			"server: TLS key pair /nonexistent/c.pem, /nonexistent/k.pem: open /nonexistent/c.pem: no such file or directory"},
	}
	for _, tc := range tests {
		if _, err := New(tc.cfg, tc.sink); err == nil || err.Error() != tc.want {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
