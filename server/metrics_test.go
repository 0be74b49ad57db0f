package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMetricsText(t *testing.T) {
	m := NewMetrics()
	alerts, err := m.NewCounterVec("tripline_alerts_total", "Alerts raised, by rule.", "rule")
	if err != nil {
		t.Fatal(err)
	}
	pending, err := m.NewGaugeVec("tripline_sequence_pending", "Partial sequences held, by rule.", "rule")
	if err != nil {
		t.Fatal(err)
	}
	h, err := m.NewHistogram("tripline_x_seconds", "A histogram.", []float64{0.001, 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.NewGaugeFunc("tripline_up", "Help with a \\ and\na newline.", func() float64 { return 1 }); err != nil {
		t.Fatal(err)
	}
	alerts.Add("b rule", 2)
	alerts.Add(`a "quoted" \ rule`, 1)
	pending.Set("r1", 3.5)
	pending.Set("r2", 1)
	pending.Delete("r2")
	h.Observe(500 * time.Microsecond)
	h.Observe(50 * time.Millisecond)
	h.Observe(2 * time.Second)
	var b strings.Builder
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP tripline_alerts_total Alerts raised, by rule.
# TYPE tripline_alerts_total counter
tripline_alerts_total{rule="a \"quoted\" \\ rule"} 1
tripline_alerts_total{rule="b rule"} 2
# HELP tripline_sequence_pending Partial sequences held, by rule.
# TYPE tripline_sequence_pending gauge
tripline_sequence_pending{rule="r1"} 3.5
# HELP tripline_up Help with a \\ and\na newline.
# TYPE tripline_up gauge
tripline_up 1
# HELP tripline_x_seconds A histogram.
# TYPE tripline_x_seconds histogram
tripline_x_seconds_bucket{le="0.001"} 1
tripline_x_seconds_bucket{le="0.1"} 2
tripline_x_seconds_bucket{le="+Inf"} 3
tripline_x_seconds_sum 2.0505
tripline_x_seconds_count 3
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	for _, bad := range []struct{ name, label string }{{"9bad", "rule"}, {"ok_name", "__reserved"}, {"ok_name", "has-dash"}} {
		if _, err := m.NewCounterVec(bad.name, "", bad.label); err == nil {
			t.Errorf("NewCounterVec(%q, %q) accepted", bad.name, bad.label)
		}
	}
	if _, err := m.NewHistogram("tripline_h2", "", []float64{1, 0.5}); err == nil {
		t.Errorf("unsorted buckets accepted")
	}
}

// TestServerMetricsEndpoint checks that /metrics reports what the requests did.
func TestServerMetricsEndpoint(t *testing.T) {
	s, _ := newTestServer(t, Config{MaxBodyBytes: 1000})
	do(s, "POST", "/_bulk", "application/json", []byte(oneDoc+`{"index":{"_index":"a"}}`+"\n"+`{bad`+"\n"))
	do(s, "POST", "/_bulk", "text/plain", []byte(oneDoc))
	do(s, "POST", "/_bulk", "application/json", []byte(strings.Repeat(oneDoc, 100)))
	rec := do(s, "GET", "/metrics", "", nil)
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	for _, line := range []string{
		"tripline_events_received_total 1\n",
		`tripline_events_rejected_total{reason="document_parsing_exception"} 1` + "\n",
		`tripline_requests_rejected_total{reason="content_type"} 1` + "\n",
		`tripline_requests_rejected_total{reason="content_too_long"} 1` + "\n",
		`tripline_http_requests_total{code="200"} 1` + "\n",
		`tripline_http_requests_total{code="406"} 1` + "\n",
		`tripline_http_requests_total{code="413"} 1` + "\n",
		"tripline_ingest_duration_seconds_count 1\n",
		"tripline_http_requests_in_flight 1\n", // the scrape itself
	} {
		if !strings.Contains(rec.Body.String(), line) {
			t.Errorf("metrics lack %q:\n%s", line, rec.Body)
		}
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tripline-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	certFile, keyFile, pool := writeCert(t, t.TempDir())
	sink := &recordSink{}
	s, err := New(Config{TLSCertFile: certFile, TLSKeyFile: keyFile}, sink)
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
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Post("https://"+ln.Addr().String()+"/_bulk", "application/json", strings.NewReader(oneDoc))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	client.CloseIdleConnections()
	if resp.StatusCode != 200 || len(sink.got()) != 1 {
		t.Errorf("HTTPS bulk: %d, %d docs", resp.StatusCode, len(sink.got()))
	}
	// Plain HTTP to the TLS port is refused (Go's TLS server answers it with a bare 400).
	if resp, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("X-Elastic-Product") != "" {
			t.Errorf("plain HTTP to the TLS port: %d %v", resp.StatusCode, resp.Header)
		}
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}
