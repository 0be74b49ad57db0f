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
	"fmt"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape answers GET /metrics on s and parses it with Prometheus's text parser: the
// samples of the families whose name starts with prefix, as "name{label=\"v\"}" -> value.
// Histograms give their _count, _sum and one _bucket per bound.
func scrape(t *testing.T, s *Server, prefix string) (map[string]float64, map[string]*dto.MetricFamily) {
	t.Helper()
	rec := do(s, "GET", "/metrics", "", nil)
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	got := map[string]float64{}
	for name, f := range fams {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := name
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				got[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				got[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				got[key+"_count"] = float64(h.GetSampleCount())
				got[key+"_sum"] = h.GetSampleSum()
				for _, b := range h.GetBucket() {
					got[fmt.Sprintf("%s_bucket{le=\"%g\"}", key, b.GetUpperBound())] = float64(b.GetCumulativeCount())
				}
			default:
				t.Errorf("%s: unexpected type %v", name, f.GetType())
			}
		}
	}
	return got, fams
}

// TestMetricsEndpoint sends a known sequence of requests and checks every tripline series
// /metrics then reports, and that the process and Go runtime metrics are there.
func TestMetricsEndpoint(t *testing.T) {
	alerts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tripline_alerts_total", Help: "Alerts, per rule."}, []string{"rule"})
	s, _ := newTestServer(t, Config{MaxBodyBytes: 1000, Collectors: []prometheus.Collector{alerts}})
	alerts.WithLabelValues(`a "quoted" \ rule`).Add(2)
	steps := []struct {
		method, path, contentType, body string
		status                          int
	}{
		{"POST", "/_bulk", "application/json", oneDoc + `{"index":{"_index":"a"}}` + "\n" + `{bad` + "\n", 200},
		{"POST", "/_bulk", "text/plain", oneDoc, 406},
		{"POST", "/_bulk", "application/json", strings.Repeat(oneDoc, 100), 413},
		{"PUT", "/a/_doc/1", "application/json", `{"x":1}`, 201},
		{"PUT", "/A/_doc/2", "application/json", `{"x":1}`, 400},
		{"GET", "/nope/x/y", "", "", 400},
		{"GET", "/_bulk", "", "", 405},
	}
	for _, st := range steps {
		if rec := do(s, st.method, st.path, st.contentType, []byte(st.body)); rec.Code != st.status {
			t.Fatalf("%s %s: %d, want %d: %s", st.method, st.path, rec.Code, st.status, rec.Body)
		}
	}
	got, fams := scrape(t, s, "tripline_")
	sum := got["tripline_ingest_duration_seconds_sum"]
	if sum <= 0 || sum > 10 {
		t.Errorf("tripline_ingest_duration_seconds_sum = %v", sum)
	}
	delete(got, "tripline_ingest_duration_seconds_sum")
	// The two timed requests took well under the first bound; the others are not timed.
	want := map[string]float64{
		`tripline_alerts_total{rule="a \"quoted\" \\ rule"}`:                    2,
		"tripline_events_received_total":                                        2,
		`tripline_events_rejected_total{reason="document_parsing_exception"}`:   1,
		`tripline_events_rejected_total{reason="invalid_index_name_exception"}`: 1,
		`tripline_requests_rejected_total{reason="content_type"}`:               1,
		`tripline_requests_rejected_total{reason="content_too_long"}`:           1,
		`tripline_http_requests_total{code="200"}`:                              1,
		`tripline_http_requests_total{code="201"}`:                              1,
		`tripline_http_requests_total{code="400"}`:                              2,
		`tripline_http_requests_total{code="405"}`:                              1,
		`tripline_http_requests_total{code="406"}`:                              1,
		`tripline_http_requests_total{code="413"}`:                              1,
		"tripline_http_requests_in_flight":                                      1, // the scrape itself
		"tripline_http_request_bytes_in_flight":                                 0,
		"tripline_ingest_duration_seconds_count":                                2,
		`tripline_ingest_duration_seconds_bucket{le="+Inf"}`:                    2,
	}
	for _, b := range latencyBuckets() {
		want[fmt.Sprintf(`tripline_ingest_duration_seconds_bucket{le="%g"}`, b)] = 2
	}
	if !maps.Equal(got, want) {
		for _, k := range slices.Sorted(maps.Keys(got)) {
			if got[k] != want[k] {
				t.Errorf("%s = %v, want %v", k, got[k], want[k])
			}
		}
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if _, ok := got[k]; !ok {
				t.Errorf("%s missing, want %v", k, want[k])
			}
		}
	}
	for _, name := range []string{"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "go_goroutines", "go_gc_duration_seconds", "go_memstats_heap_alloc_bytes"} {
		if fams[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if h := fams["tripline_events_received_total"].GetHelp(); h != "Events accepted from clients and handed to detection." {
		t.Errorf("help %q", h)
	}
	rec := do(s, "GET", "/metrics", "", nil)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4; charset=utf-8") {
		t.Errorf("Content-Type %q", ct)
	}
}

// TestMetricsCollectorsClash checks that New refuses a collector whose metric names the
// server's own metrics already use, and that two servers in one process have registries of
// their own.
func TestMetricsCollectorsClash(t *testing.T) {
	sink := SinkFunc(func(context.Context, []Doc) error { return nil })
	clash := prometheus.NewCounter(prometheus.CounterOpts{Name: "tripline_events_received_total", Help: "Events accepted from clients and handed to detection."})
	_, err := New(Config{Collectors: []prometheus.Collector{clash}}, sink)
	if want := "server: metrics: duplicate metrics collector registration attempted"; err == nil || err.Error() != want {
		t.Errorf("New with a clashing collector: %v, want %q", err, want)
	}
	a, err := New(Config{}, sink)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{}, sink)
	if err != nil {
		t.Fatal(err)
	}
	do(a, "PUT", "/x/_doc/1", "application/json", []byte(`{}`))
	if n, m := value(a.eventsIn, ""), value(b.eventsIn, ""); n != 1 || m != 0 {
		t.Errorf("events received: %d and %d, want 1 and 0", n, m)
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
