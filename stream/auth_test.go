package stream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// testCA makes a CA and a server certificate for 127.0.0.1 signed by it, and writes the
// CA certificate to a PEM file; it returns the file and the server's TLS configuration.
func testCA(t *testing.T) (caFile string, server *tls.Config) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tripline test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// readOne opens the Kafka topic with cfg and returns the first record's document, or the
// error met within wait.
func readOneKafka(t *testing.T, cfg KafkaConfig, wait time.Duration) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	k, err := OpenKafka(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer k.Close()
	rec, err := k.Next()
	if err != nil {
		return "", err
	}
	return string(rec.Doc), nil
}

// TestKafkaAuth reads a record from a cluster that requires SASL (PLAIN, SCRAM-SHA-256,
// SCRAM-SHA-512) or TLS, with the right credentials and with wrong ones.
func TestKafkaAuth(t *testing.T) {
	const doc = `{"n":1}`
	caFile, serverTLS := testCA(t)
	clientTLS, err := TLSConfig(caFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		cluster []kfake.Opt
		produce []kgo.Opt
		cred    Credentials
		wrong   Credentials // must fail
		refusal string      // with this in the error
	}{
		{"plain",
			[]kfake.Opt{kfake.EnableSASL(), kfake.Superuser("PLAIN", "alice", "s3cret")},
			[]kgo.Opt{kgo.SASL(plain.Auth{User: "alice", Pass: "s3cret"}.AsMechanism())},
			Credentials{SASL: "plain", User: "alice", Password: "s3cret"},
			Credentials{SASL: "plain", User: "alice", Password: "wrong"}, "context deadline exceeded"},
		{"scram-sha-256",
			[]kfake.Opt{kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "bob", "pw256")},
			[]kgo.Opt{kgo.SASL(scram.Auth{User: "bob", Pass: "pw256"}.AsSha256Mechanism())},
			Credentials{SASL: "SCRAM-SHA-256", User: "bob", Password: "pw256"},
			Credentials{SASL: "scram-sha-256", User: "bob", Password: "wrong"}, "context deadline exceeded"},
		{"scram-sha-512",
			[]kfake.Opt{kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "carol", "pw512")},
			[]kgo.Opt{kgo.SASL(scram.Auth{User: "carol", Pass: "pw512"}.AsSha512Mechanism())},
			Credentials{SASL: "scram-sha-512", User: "carol", Password: "pw512"},
			Credentials{SASL: "scram-sha-256", User: "carol", Password: "pw512"}, "context deadline exceeded"},
		{"tls",
			[]kfake.Opt{kfake.TLS(serverTLS)},
			[]kgo.Opt{kgo.DialTLSConfig(clientTLS.Clone())},
			Credentials{TLS: clientTLS},
			Credentials{TLS: &tls.Config{MinVersion: tls.VersionTLS12}}, "certificate signed by unknown authority"}, // system roots
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(1, testTopic)}, tc.cluster...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			addrs := c.ListenAddrs()
			pcl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(testTopic)}, tc.produce...)...)
			if err != nil {
				t.Fatal(err)
			}
			err = pcl.ProduceSync(context.Background(), &kgo.Record{Value: []byte(doc)}).FirstErr()
			pcl.Close()
			if err != nil {
				t.Fatal(err)
			}
			cfg := Config{Kafka: &KafkaConfig{Brokers: addrs, Topic: testTopic, Group: "auth", Partitions: []int32{0}}}
			if err := tc.cred.Apply(&cfg); err != nil {
				t.Fatal(err)
			}
			got, err := readOneKafka(t, *cfg.Kafka, 10*time.Second)
			if err != nil || got != doc {
				t.Errorf("with the right credentials: %q, %v; want %s", got, err, doc)
			}
			bad := Config{Kafka: &KafkaConfig{Brokers: addrs, Topic: testTopic, Group: "auth", Partitions: []int32{0}}}
			if err := tc.wrong.Apply(&bad); err != nil {
				t.Fatal(err)
			}
			// kfake closes the connection on bad SASL credentials instead of answering
			// SASL_AUTHENTICATION_FAILED (as Kafka does, which the client reports at once),
			// so the client retries until the context ends.
			if got, err := readOneKafka(t, *bad.Kafka, 2*time.Second); err == nil || !strings.Contains(err.Error(), tc.refusal) {
				t.Errorf("with wrong credentials: read %q, error %v, want one saying %q", got, err, tc.refusal)
			}
		})
	}
}

// TestJetStreamAuth reads a message from a NATS server that requires a user and password,
// a token, or TLS, with the right credentials and with wrong ones.
func TestJetStreamAuth(t *testing.T) {
	caFile, serverTLS := testCA(t)
	clientTLS, err := TLSConfig(caFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name         string
		opts         func(o *server.Options)
		scheme       string
		cred, wrong  Credentials
		publisherOpt Credentials
	}{
		{"user and password", func(o *server.Options) { o.Username, o.Password = "alice", "s3cret" }, "nats",
			Credentials{User: "alice", Password: "s3cret"}, Credentials{User: "alice", Password: "wrong"},
			Credentials{User: "alice", Password: "s3cret"}},
		{"token", func(o *server.Options) { o.Authorization = "t0ken" }, "nats",
			Credentials{Token: "t0ken"}, Credentials{Token: "wrong"}, Credentials{Token: "t0ken"}},
		{"tls", func(o *server.Options) { o.TLSConfig, o.TLS = serverTLS, true }, "nats",
			Credentials{TLS: clientTLS}, Credentials{TLS: &tls.Config{MinVersion: tls.VersionTLS12}},
			Credentials{TLS: clientTLS}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
			tc.opts(o)
			s, err := server.NewServer(o)
			if err != nil {
				t.Fatal(err)
			}
			go s.Start()
			if !s.ReadyForConnections(10 * time.Second) {
				t.Fatal("nats server not ready")
			}
			defer func() { s.Shutdown(); s.WaitForShutdown() }()
			url := strings.Replace(s.ClientURL(), "nats://", tc.scheme+"://", 1)
			pub := JetStreamConfig{Servers: []string{url}}
			if err := tc.publisherOpt.Apply(&Config{NATS: &pub}); err != nil {
				t.Fatal(err)
			}
			if err := publishAuth(url, pub); err != nil {
				t.Fatal(err)
			}
			read := func(cred Credentials) (string, error) {
				cfg := Config{NATS: &JetStreamConfig{Servers: []string{url}, Stream: testStream, Durable: "auth", Batch: 4}}
				if err := cred.Apply(&cfg); err != nil {
					return "", err
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				js, err := OpenJetStream(ctx, *cfg.NATS)
				if err != nil {
					return "", err
				}
				defer js.Close()
				rec, err := js.Next()
				return string(rec.Doc), err
			}
			if got, err := read(tc.cred); err != nil || got != `{"n":1}` {
				t.Errorf("with the right credentials: %q, %v", got, err)
			}
			if got, err := read(tc.wrong); err == nil {
				t.Errorf("with wrong credentials: read %q, want an error", got)
			}
		})
	}
}

// publishAuth creates the stream EVENTS and publishes {"n":1} with the connection options
// of cfg.
func publishAuth(url string, cfg JetStreamConfig) error {
	nc, err := natsConnect(url, cfg)
	if err != nil {
		return err
	}
	defer nc.Close()
	return createAndPublish(nc)
}

// TestCredentialsApply checks which credentials go with which stream.
func TestCredentialsApply(t *testing.T) {
	cases := []struct {
		name string
		url  string
		cred Credentials
		err  string
	}{
		{"kafka plain", "kafka://b:9092/t", Credentials{SASL: "plain", User: "u", Password: "p"}, ""},
		{"kafka unknown mechanism", "kafka://b:9092/t", Credentials{SASL: "gssapi", User: "u", Password: "p"},
			`unknown SASL mechanism "gssapi" (want plain, scram-sha-256 or scram-sha-512)`},
		{"kafka no password", "kafka://b:9092/t", Credentials{SASL: "plain", User: "u"}, "SASL plain needs a user and a password"},
		{"kafka user without sasl", "kafka://b:9092/t", Credentials{User: "u", Password: "p"},
			"a Kafka user and password need a SASL mechanism (plain, scram-sha-256 or scram-sha-512)"},
		{"kafka token", "kafka://b:9092/t", Credentials{Token: "x"}, "a NATS token or credentials file does not apply to Kafka"},
		{"nats sasl", "nats://n:4222/S", Credentials{SASL: "plain"}, "a SASL mechanism does not apply to NATS"},
		{"nats two ways", "nats://n:4222/S", Credentials{User: "u", Password: "p", Token: "t"},
			"give one of a NATS user and password, a token and a credentials file"},
		{"nats user alone", "nats://n:4222/S", Credentials{User: "u"}, "a NATS user and password go together"},
		{"nats creds", "nats://n:4222/S", Credentials{CredsFile: "x.creds"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			err = tc.cred.Apply(&cfg)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.err != "" && (err == nil || err.Error() != tc.err):
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
	if _, err := TLSConfig(filepath.Join(t.TempDir(), "missing.pem"), "", ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("TLSConfig of a missing CA file: %v", err)
	}
}

func natsConnect(url string, cfg JetStreamConfig) (*nats.Conn, error) {
	return nats.Connect(url, natsAuth(&cfg)...)
}

func createAndPublish(nc *nats.Conn) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: testStream, Subjects: []string{"events.>"}}); err != nil {
		return err
	}
	_, err = js.Publish(ctx, "events.k8s", []byte(`{"n":1}`))
	return err
}
