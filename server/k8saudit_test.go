package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// webhookClient posts audit batches as the kube-apiserver's webhook backend does: one
// JSON EventList a request, sent again after a pause on 429 and 5xx (the pause the answer's
// Retry-After asks for, recorded; the test does not wait it), given up on any other code.
type webhookClient struct {
	c        *http.Client
	url      string
	header   http.Header
	statuses []int
	retryIn  []string
}

func (w *webhookClient) send(t *testing.T, batch string) int {
	t.Helper()
	for try := 0; try < 5; try++ {
		req, _ := http.NewRequest(http.MethodPost, w.url, strings.NewReader(batch))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "kube-apiserver-admission")
		for k, v := range w.header {
			req.Header[k] = v
		}
		resp, err := w.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		w.statuses = append(w.statuses, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			w.retryIn = append(w.retryIn, resp.Header.Get("Retry-After"))
			time.Sleep(10 * time.Millisecond)
			continue
		}
		return resp.StatusCode
	}
	t.Fatal("the batch was refused 5 times")
	return 0
}

// flakySink refuses its first calls with the errors in fail, then records as recordSink.
type flakySink struct {
	recordSink
	mu   sync.Mutex
	fail []error
}

func (f *flakySink) Accept(ctx context.Context, docs []Doc) error {
	f.mu.Lock()
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		f.mu.Unlock()
		return err
	}
	f.mu.Unlock()
	return f.recordSink.Accept(ctx, docs)
}

const auditBatch = `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[` +
	`{"level":"Metadata","auditID":"a1","stage":"ResponseComplete","verb":"list","user":{"username":"u"},"objectRef":{"resource":"secrets"}},` +
	`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a2","stage":"ResponseStarted","verb":"watch"},` +
	`7]}`

// TestK8sAuditWebhook sends batches as the API server does, over TLS with each way it can
// authenticate, through a sink that is busy, then failing, then taking the events.
func TestK8sAuditWebhook(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, "tripline-test-ca", nil, nil)
	srvCert, srvKey := newCert(t, "127.0.0.1", ca, caKey)
	clientCert, clientKey := newCert(t, "kube-apiserver", ca, caKey)
	otherCA, otherKey := newCert(t, "other-ca", nil, nil)
	strangerCert, strangerKey := newCert(t, "stranger", otherCA, otherKey)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	creds, err := ParseCredentials(strings.NewReader("token apiserver:s3cr3t-t0ken\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	sink := &flakySink{fail: []error{ErrBusy, errSinkDown}}
	s, err := New(Config{TLSCertFile: write("srv.pem", pemOf(srvCert)), TLSKeyFile: write("srv.key", keyPEM(t, srvKey)),
		TLSClientCAFile: write("ca.pem", pemOf(ca)), Credentials: creds}, sink)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	addr := ln.Addr().String()
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	client := func(cert *x509.Certificate, key *ecdsa.PrivateKey) *http.Client {
		conf := &tls.Config{RootCAs: roots}
		if cert != nil {
			conf.Certificates = []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: conf}, Timeout: 10 * time.Second}
	}
	url := "https://" + addr + K8sAuditPath

	// A client certificate signed by the client CA: busy (429), failing (503), then taken.
	wc := &webhookClient{c: client(clientCert, clientKey), url: url}
	if code := wc.send(t, auditBatch); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if got := fmt.Sprint(wc.statuses); got != "[429 503 200]" {
		t.Errorf("statuses %s, want [429 503 200]", got)
	}
	if strings.Join(wc.retryIn, ",") != "1,1" {
		t.Errorf("Retry-After %q, want 1 and 1", wc.retryIn)
	}
	docs := sink.got()
	wantSources := []string{
		`{"level":"Metadata","auditID":"a1","stage":"ResponseComplete","verb":"list","user":{"username":"u"},"objectRef":{"resource":"secrets"},"kind":"Event","apiVersion":"audit.k8s.io/v1"}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a2","stage":"ResponseStarted","verb":"watch"}`,
	}
	if len(docs) != len(wantSources) {
		t.Fatalf("%d documents, want %d", len(docs), len(wantSources))
	}
	for i, d := range docs {
		if string(d.Source) != wantSources[i] || d.Index != K8sAuditIndex || !d.KubeAudit || d.Line != i+1 {
			t.Errorf("doc %d: %+v\nwant source %s", i, d, wantSources[i])
		}
	}

	for _, c := range []struct {
		name   string
		client *http.Client
		header http.Header
		body   string
		want   int
	}{
		{"bearer token", client(nil, nil), http.Header{"Authorization": {"Bearer s3cr3t-t0ken"}}, auditBatch, http.StatusOK},
		{"wrong token", client(nil, nil), http.Header{"Authorization": {"Bearer nope"}}, auditBatch, http.StatusUnauthorized},
		{"no credentials", client(nil, nil), nil, auditBatch, http.StatusUnauthorized},
		{"certificate of another CA", client(strangerCert, strangerKey), nil, auditBatch, http.StatusUnauthorized},
		{"not a batch", client(clientCert, clientKey), nil, `{"kind":"Pod","apiVersion":"v1"}`, http.StatusBadRequest},
		{"not JSON", client(clientCert, clientKey), nil, `{"kind":`, http.StatusBadRequest},
		{"no object item", client(clientCert, clientKey), nil, `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[1,"x"]}`, http.StatusBadRequest},
		{"empty batch", client(clientCert, clientKey), nil, `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}`, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			wc := &webhookClient{c: c.client, url: url, header: c.header}
			if code := wc.send(t, c.body); code != c.want {
				t.Errorf("status %d, want %d", code, c.want)
			}
		})
	}
	if n := len(sink.got()); n != 4 {
		t.Errorf("%d documents taken in all, want 4 (the first batch, then the one with a bearer token)", n)
	}
}

// newCert makes a certificate for name, signed by parent (self-signed, a CA, when nil).
func newCert(t *testing.T, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign|x509.KeyUsageDigitalSignature
	} else {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func pemOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(t *testing.T, k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}
