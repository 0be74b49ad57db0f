package stream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms of KafkaConfig.SASL.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// Credentials are how a process proves who it is to a cluster that asks, and how it
// checks the cluster: what real Kafka and NATS deployments require, kept out of the
// stream URL (which is logged) and given on the command line or in files.
type Credentials struct {
	// TLS, when set, makes the connections TLS with this configuration (see TLSConfig).
	TLS *tls.Config
	// SASL (Kafka) is the mechanism: SASLPlain, SASLScramSHA256 or SASLScramSHA512; empty
	// means none. It needs User and Password.
	SASL string
	// User and Password: Kafka SASL, or NATS user and password.
	User, Password string
	// Token (NATS) is an authentication token.
	Token string
	// CredsFile (NATS) is a credentials file (a user JWT and its NKey seed).
	CredsFile string
}

// TLSConfig returns a TLS client configuration: the CA certificates of caFile (PEM) are
// the roots the servers' certificates are checked against (the system's when empty), and
// certFile and keyFile, when given (both), the client certificate presented to a server
// that asks for one.
func TLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("a client certificate and its key go together")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Apply sets the credentials on the stream cfg names, and says which do not apply to it.
func (c Credentials) Apply(cfg *Config) error {
	switch {
	case cfg.Kafka != nil:
		if c.Token != "" || c.CredsFile != "" {
			return errors.New("a NATS token or credentials file does not apply to Kafka")
		}
		switch strings.ToLower(c.SASL) {
		case "":
			if c.User != "" || c.Password != "" {
				return errors.New("a Kafka user and password need a SASL mechanism (plain, scram-sha-256 or scram-sha-512)")
			}
		case SASLPlain, SASLScramSHA256, SASLScramSHA512:
			if c.User == "" || c.Password == "" {
				return fmt.Errorf("SASL %s needs a user and a password", c.SASL)
			}
		default:
			return fmt.Errorf("unknown SASL mechanism %q (want plain, scram-sha-256 or scram-sha-512)", c.SASL)
		}
		cfg.Kafka.TLS = c.TLS
		cfg.Kafka.SASL, cfg.Kafka.User, cfg.Kafka.Password = strings.ToLower(c.SASL), c.User, c.Password
	case cfg.NATS != nil:
		if c.SASL != "" {
			return errors.New("a SASL mechanism does not apply to NATS")
		}
		if (c.User == "") != (c.Password == "") {
			return errors.New("a NATS user and password go together")
		}
		n := 0
		for _, set := range []bool{c.User != "", c.Token != "", c.CredsFile != ""} {
			if set {
				n++
			}
		}
		if n > 1 {
			return errors.New("give one of a NATS user and password, a token and a credentials file")
		}
		cfg.NATS.TLS = c.TLS
		cfg.NATS.User, cfg.NATS.Password, cfg.NATS.Token, cfg.NATS.CredsFile = c.User, c.Password, c.Token, c.CredsFile
	}
	return nil
}

// kafkaAuth returns the client options of cfg's TLS and SASL.
func kafkaAuth(cfg *KafkaConfig) []kgo.Opt {
	var opts []kgo.Opt
	if cfg.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(cfg.TLS.Clone()))
	}
	var m sasl.Mechanism
	switch cfg.SASL {
	case SASLPlain:
		m = plain.Auth{User: cfg.User, Pass: cfg.Password}.AsMechanism()
	case SASLScramSHA256:
		m = scram.Auth{User: cfg.User, Pass: cfg.Password}.AsSha256Mechanism()
	case SASLScramSHA512:
		m = scram.Auth{User: cfg.User, Pass: cfg.Password}.AsSha512Mechanism()
	}
	if m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts
}

// natsAuth returns the connection options of cfg's TLS and credentials.
func natsAuth(cfg *JetStreamConfig) []nats.Option {
	var opts []nats.Option
	if cfg.TLS != nil {
		opts = append(opts, nats.Secure(cfg.TLS.Clone()))
	}
	switch {
	case cfg.User != "":
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	case cfg.Token != "":
		opts = append(opts, nats.Token(cfg.Token))
	case cfg.CredsFile != "":
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	return opts
}
