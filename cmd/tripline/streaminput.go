package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/ingest/source"
	"github.com/tripline/tripline/stream"
)

// streamArg returns the one stream URL among the input arguments (kafka://... or
// nats://...), or "" when they are all files. A stream cannot be mixed with files.
func streamArg(args []string) (string, error) {
	var url string
	for _, a := range args {
		if !stream.IsURL(a) {
			continue
		}
		if url != "" {
			return "", fmt.Errorf("one stream at a time: %s and %s", url, a)
		}
		url = a
	}
	if url != "" && len(args) > 1 {
		return "", fmt.Errorf("a stream (%s) cannot be read together with files", url)
	}
	return url, nil
}

// streamFlags are detect's flags for a stream input: how a Kafka consumer merges its
// partitions, and the credentials and TLS a cluster asks for. Secrets come from files or
// the environment, not from flags (which ps shows).
type streamFlags struct {
	partitionWait              time.Duration
	tls                        bool
	tlsCA, tlsCert, tlsKey     string
	kafkaSASL, kafkaUser       string
	kafkaPasswordFile          string
	natsUser, natsPasswordFile string
	natsTokenFile, natsCreds   string
}

// Environment variables read for the stream secrets when their file flag is not given.
const (
	envKafkaPassword = "TRIPLINE_KAFKA_PASSWORD"
	envNATSPassword  = "TRIPLINE_NATS_PASSWORD"
	envNATSToken     = "TRIPLINE_NATS_TOKEN"
)

func (f *streamFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.partitionWait, "partition-wait", stream.DefaultPartitionWait, "with a kafka:// input: how long the records of a consumer's other partitions wait for one that has none fetched, so that its partitions are read as one stream in event-time order (0: do not wait)")
	fs.BoolVar(&f.tls, "stream-tls", false, "connect to the Kafka brokers or NATS servers with TLS (implied by --stream-tls-ca or --stream-tls-cert)")
	fs.StringVar(&f.tlsCA, "stream-tls-ca", "", "CA certificates (PEM) the brokers' or servers' certificates are checked against (default: the system's)")
	fs.StringVar(&f.tlsCert, "stream-tls-cert", "", "client certificate (PEM) presented to the brokers or servers, with --stream-tls-key")
	fs.StringVar(&f.tlsKey, "stream-tls-key", "", "private key (PEM) of --stream-tls-cert")
	fs.StringVar(&f.kafkaSASL, "kafka-sasl", "", "Kafka SASL mechanism: plain, scram-sha-256 or scram-sha-512 (with --kafka-user and a password)")
	fs.StringVar(&f.kafkaUser, "kafka-user", "", "Kafka SASL user name")
	fs.StringVar(&f.kafkaPasswordFile, "kafka-password-file", "", "file holding the Kafka SASL password (default: $"+envKafkaPassword+")")
	fs.StringVar(&f.natsUser, "nats-user", "", "NATS user name (with a password)")
	fs.StringVar(&f.natsPasswordFile, "nats-password-file", "", "file holding the NATS password (default: $"+envNATSPassword+")")
	fs.StringVar(&f.natsTokenFile, "nats-token-file", "", "file holding a NATS authentication token (default: $"+envNATSToken+")")
	fs.StringVar(&f.natsCreds, "nats-creds", "", "NATS credentials file (user JWT and NKey seed)")
}

// credentials reads the secrets and TLS files the flags name, for the stream url.
func (f *streamFlags) credentials(url string) (stream.Credentials, error) {
	var c stream.Credentials
	if f.tls || f.tlsCA != "" || f.tlsCert != "" || f.tlsKey != "" {
		cfg, err := stream.TLSConfig(f.tlsCA, f.tlsCert, f.tlsKey)
		if err != nil {
			return c, fmt.Errorf("--stream-tls: %w", err)
		}
		c.TLS = cfg
	}
	secret := func(flag, file, env string) (string, error) {
		if file == "" {
			return os.Getenv(env), nil
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--%s: %w", flag, err)
		}
		return strings.TrimRight(string(data), "\r\n"), nil
	}
	var err error
	if strings.HasPrefix(url, "kafka://") {
		if f.natsUser != "" || f.natsPasswordFile != "" || f.natsTokenFile != "" || f.natsCreds != "" {
			return c, fmt.Errorf("the --nats-* flags do not apply to %s", url)
		}
		c.SASL, c.User = f.kafkaSASL, f.kafkaUser
		if c.SASL != "" {
			c.Password, err = secret("kafka-password-file", f.kafkaPasswordFile, envKafkaPassword)
		}
		return c, err
	}
	if f.kafkaSASL != "" || f.kafkaUser != "" || f.kafkaPasswordFile != "" {
		return c, fmt.Errorf("the --kafka-* flags do not apply to %s", url)
	}
	c.User, c.CredsFile = f.natsUser, f.natsCreds
	if c.User != "" {
		if c.Password, err = secret("nats-password-file", f.natsPasswordFile, envNATSPassword); err != nil {
			return c, err
		}
	}
	if c.User == "" && c.CredsFile == "" {
		c.Token, err = secret("nats-token-file", f.natsTokenFile, envNATSToken)
	}
	return c, err
}

// readStream gives the detector every document of a Kafka topic or a JetStream stream until
// ctx is cancelled (stream.Docs: raw Kubernetes audit records normalised as for files). A
// Kafka consumer reads its partitions merged in event-time order (--partition-wait). A
// message is committed only once the detector is finished with every event it gave
// (detect.Detector.Unfinished: out of the reordering buffers, out of every partial sequence
// a later event may still extend, its alerts written), so a crash loses no alert: what was
// not committed is read again. The returned closer, called after the detector's Close,
// commits what the detector finished and closes the connection.
func readStream(ctx context.Context, url string, f *inputFlags, sf *streamFlags, stderr io.Writer, d *detect.Detector) (source.Stats, func() error, error) {
	cred, err := sf.credentials(url)
	if err != nil {
		return source.Stats{}, nil, err
	}
	wait := sf.partitionWait
	if wait <= 0 {
		wait = -1 // stream.KafkaConfig: negative means do not wait
	}
	s, err := stream.OpenDocs(ctx, url, cred, func(cfg *stream.Config) {
		if cfg.Kafka != nil {
			cfg.Kafka.PartitionWait = wait
		}
	}, f.sourceOptions(nil, stderr))
	if err != nil {
		return source.Stats{}, nil, err
	}
	s.CommitBelow(d.Unfinished)
	err = eachDoc(s, func(doc source.Doc) error {
		return d.Process(ctx, doc.Bytes, detect.SourceOf(doc))
	})
	return s.Stats(), s.Close, err
}
