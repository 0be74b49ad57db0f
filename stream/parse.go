package stream

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of the configurations.
const (
	DefaultGroup          = "tripline"
	DefaultDurable        = "tripline"
	DefaultCommitInterval = time.Second
	DefaultAckWait        = 30 * time.Second
	DefaultMaxAckPending  = 100_000
	DefaultBatch          = 256
)

// Start says where a consumer with no committed position begins.
type Start uint8

const (
	// StartEarliest begins at the oldest message the broker keeps.
	StartEarliest Start = iota
	// StartLatest begins with the messages that arrive after the consumer starts.
	StartLatest
)

// String returns "earliest" or "latest".
func (s Start) String() string {
	if s == StartLatest {
		return "latest"
	}
	return "earliest"
}

// Config names one stream: exactly one of Kafka and NATS is set.
type Config struct {
	Kafka *KafkaConfig
	NATS  *JetStreamConfig
}

// KafkaConfig describes a Kafka topic read by a consumer group.
type KafkaConfig struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	// Topic is the topic to read.
	Topic string
	// Group is the consumer group whose committed offsets are read and written
	// (DefaultGroup in Parse). It must not be empty.
	Group string
	// Partitions, when set, are the partitions this process reads, assigned by hand:
	// offsets still start from and are committed to Group, but the group's partition
	// balancing is not used (no other member may read these partitions at the same
	// time). Empty means every partition, shared with the group's other members.
	Partitions []int32
	// Start is where a partition with no committed offset begins.
	Start Start
	// CommitInterval is how often committed records are sent to the broker as the
	// group's offsets (DefaultCommitInterval if 0). Close and a rebalance send them too.
	CommitInterval time.Duration
	// ClientID names this process to the brokers (the client library's default if empty).
	ClientID string
	// SessionTimeout is how long the group waits for a member that stopped answering (one
	// killed) before it gives its partitions to the others; 0 means the client library's
	// default (45s).
	SessionTimeout time.Duration
	// RebalanceTimeout is how long a rebalance waits for the members to join again (one
	// killed never does): 0 means the client library's default (60s). A process started
	// again before its session timed out makes the group wait this long for the dead one.
	RebalanceTimeout time.Duration
	// PartitionWait is how long, at most, the records of the other partitions wait for a
	// partition that has none queued (see EventTime): DefaultPartitionWait if 0; negative
	// means never wait (records come in the order they are polled).
	PartitionWait time.Duration
	// EventTime reads a message's event time, in Unix nanoseconds, for the merge of the
	// partitions in time order; nil means EventTime(). A message whose time it cannot read
	// (ok false) goes first, at once.
	EventTime func(doc []byte) (ns int64, ok bool)
	// TLS, when set, makes the broker connections TLS (see Credentials).
	TLS *tls.Config
	// SASL is the SASL mechanism (SASLPlain, SASLScramSHA256, SASLScramSHA512) with User and
	// Password; empty means none.
	SASL, User, Password string
	// NoRepartition turns off the repartitioning of sequences and samples by join key
	// (see doc.go): the topic's partitioning is then taken as it is.
	NoRepartition bool
	// RepartitionPartitions is the partition count the repartition topic is created with
	// when it does not exist; 0 means the input topic's.
	RepartitionPartitions int32
	// SourceWait is how long the merge of a repartition partition waits for an input
	// partition that sends nothing (DefaultSourceWait if 0).
	SourceWait time.Duration
}

// JetStreamConfig describes a NATS JetStream stream read through a durable pull consumer.
type JetStreamConfig struct {
	// Servers are the NATS server URLs (nats://host:port).
	Servers []string
	// Stream is the JetStream stream name.
	Stream string
	// Subject filters the stream's subjects ("events.>"); empty means all of them.
	Subject string
	// Durable is the durable consumer's name (DefaultDurable in Parse): processes that
	// give the same name share its messages, and its acknowledged position survives
	// restarts. It is created when missing, and updated when it exists.
	Durable string
	// Start is where a newly created consumer begins (an existing one keeps its place).
	Start Start
	// AckWait is how long the server waits for an acknowledgement before it delivers a
	// message again (DefaultAckWait if 0).
	AckWait time.Duration
	// MaxAckPending is how many messages may be delivered and not yet acknowledged
	// (DefaultMaxAckPending if 0).
	MaxAckPending int
	// Batch is how many messages one pull request asks for (DefaultBatch if 0).
	Batch int
	// TLS, when set, makes the server connections TLS (see Credentials).
	TLS *tls.Config
	// User and Password, Token, or CredsFile (a JWT and NKey seed file) authenticate the
	// connection; at most one of the three is set.
	User, Password, Token, CredsFile string
}

// IsURL reports whether arg names a stream (kafka:// or nats://) rather than a file.
func IsURL(arg string) bool {
	return strings.HasPrefix(arg, "kafka://") || strings.HasPrefix(arg, "nats://")
}

// Parse reads a stream URL given on the command line:
//
//	kafka://BROKER[,BROKER...]/TOPIC[?PARAMS]
//	nats://SERVER[,SERVER...]/STREAM[?PARAMS]
//
// Kafka parameters:
//
//	group=NAME             consumer group (default "tripline")
//	partitions=0,1,...     read only these partitions, assigned by hand (default: all,
//	                       balanced among the group's members)
//	start=earliest|latest  where a partition with no committed offset begins (earliest)
//	commit_interval=1s     how often committed offsets are sent to the broker (1s)
//	client_id=NAME         client id sent to the brokers
//	session_timeout=45s    how long the group waits for a silent (killed) member before
//	                       moving its partitions (the client's default, 45s)
//	rebalance_timeout=60s  how long a rebalance waits for every member to join again (the
//	                       client's default, 60s)
//	repartition=true       share sequences and samples out by join key through the
//	                       GROUP-repartition topic (doc.go); false reads the topic as
//	                       it is partitioned
//	repartition_partitions=N  partitions of GROUP-repartition when it is created
//	                       (default: the input topic's)
//	source_wait=2m         how long a repartition partition waits for an input partition
//	                       that sends nothing (2m: more than a group takes to move a
//	                       dead process's partitions)
//
// NATS JetStream parameters:
//
//	subject=SUBJECT        filter subject, wildcards allowed (default: the whole stream)
//	durable=NAME           durable consumer name (default "tripline")
//	start=earliest|latest  where a new consumer begins (earliest: DeliverAll; latest:
//	                       DeliverNew)
//	ack_wait=30s           redelivery delay of an unacknowledged message (30s)
//	max_ack_pending=100000 most messages delivered and not yet acknowledged (100000):
//	                       more than the detector holds (its reordering window and the
//	                       events of partial sequences), else delivery stops
//	batch=256              messages asked for by one pull request (256)
//
// An unknown parameter, a missing topic or stream, or a bad value is an error. TLS,
// SASL and NATS credentials are not part of the URL (it is shown in messages): see
// Credentials.
func Parse(raw string) (Config, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Config{}, fmt.Errorf("stream URL %q: want kafka://BROKERS/TOPIC or nats://SERVERS/STREAM", raw)
	}
	rest, query, _ := strings.Cut(rest, "?")
	hosts, path, _ := strings.Cut(rest, "/")
	name, err := url.PathUnescape(path)
	if err != nil {
		return Config{}, fmt.Errorf("stream URL %q: %v", raw, err)
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return Config{}, fmt.Errorf("stream URL %q: %v", raw, err)
	}
	var addrs []string
	for h := range strings.SplitSeq(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			addrs = append(addrs, h)
		}
	}
	p := paramReader{raw: raw, params: params}
	switch scheme {
	case "kafka":
		if len(addrs) == 0 {
			return Config{}, fmt.Errorf("stream URL %q: no broker (want kafka://HOST:PORT/TOPIC)", raw)
		}
		if name == "" || strings.Contains(name, "/") {
			return Config{}, fmt.Errorf("stream URL %q: want one topic after the brokers (kafka://HOST:PORT/TOPIC)", raw)
		}
		c := &KafkaConfig{Brokers: addrs, Topic: name, Group: DefaultGroup, CommitInterval: DefaultCommitInterval}
		c.Group = p.str("group", c.Group)
		c.Partitions = p.partitions("partitions")
		c.Start = p.start("start")
		c.CommitInterval = p.duration("commit_interval", c.CommitInterval)
		c.ClientID = p.str("client_id", "")
		c.SessionTimeout = p.duration("session_timeout", 0)
		c.RebalanceTimeout = p.duration("rebalance_timeout", 0)
		c.NoRepartition = !p.boolean("repartition", true)
		c.RepartitionPartitions = int32(p.positive("repartition_partitions", 0))
		c.SourceWait = p.duration("source_wait", 0)
		if c.Group == "" {
			p.fail("group", "must not be empty")
		}
		if err := p.done("group", "partitions", "start", "commit_interval", "client_id", "session_timeout",
			"rebalance_timeout", "repartition", "repartition_partitions", "source_wait"); err != nil {
			return Config{}, err
		}
		return Config{Kafka: c}, nil
	case "nats":
		if len(addrs) == 0 {
			return Config{}, fmt.Errorf("stream URL %q: no server (want nats://HOST:PORT/STREAM)", raw)
		}
		if name == "" || strings.ContainsAny(name, "/.*> \t") {
			return Config{}, fmt.Errorf("stream URL %q: want one stream name after the servers (nats://HOST:PORT/STREAM; a subject goes in ?subject=)", raw)
		}
		c := &JetStreamConfig{Stream: name, Durable: DefaultDurable, AckWait: DefaultAckWait,
			MaxAckPending: DefaultMaxAckPending, Batch: DefaultBatch}
		for _, a := range addrs {
			c.Servers = append(c.Servers, "nats://"+a)
		}
		c.Subject = p.str("subject", "")
		c.Durable = p.str("durable", c.Durable)
		c.Start = p.start("start")
		c.AckWait = p.duration("ack_wait", c.AckWait)
		c.MaxAckPending = p.positive("max_ack_pending", c.MaxAckPending)
		c.Batch = p.positive("batch", c.Batch)
		if c.Durable == "" || strings.ContainsAny(c.Durable, ".*> \t") {
			p.fail("durable", "must be a name without '.', '*', '>' or spaces")
		}
		if err := p.done("subject", "durable", "start", "ack_wait", "max_ack_pending", "batch"); err != nil {
			return Config{}, err
		}
		return Config{NATS: c}, nil
	}
	return Config{}, fmt.Errorf("stream URL %q: unknown scheme %q (want kafka or nats)", raw, scheme)
}

// paramReader reads URL parameters, keeping the first error.
type paramReader struct {
	raw    string
	params url.Values
	err    error
}

func (p *paramReader) fail(key, why string) {
	if p.err == nil {
		p.err = fmt.Errorf("stream URL %q: parameter %s: %s", p.raw, key, why)
	}
}

func (p *paramReader) value(key string) (string, bool) {
	vs, ok := p.params[key]
	if !ok {
		return "", false
	}
	if len(vs) > 1 {
		p.fail(key, "given more than once")
	}
	return vs[0], true
}

func (p *paramReader) str(key, def string) string {
	if v, ok := p.value(key); ok {
		return v
	}
	return def
}

func (p *paramReader) duration(key string, def time.Duration) time.Duration {
	v, ok := p.value(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.fail(key, fmt.Sprintf("%q is not a positive duration such as 500ms or 30s", v))
		return def
	}
	return d
}

func (p *paramReader) positive(key string, def int) int {
	v, ok := p.value(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		p.fail(key, fmt.Sprintf("%q is not a positive integer", v))
		return def
	}
	return n
}

func (p *paramReader) boolean(key string, def bool) bool {
	v, ok := p.value(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(key, fmt.Sprintf("%q: want true or false", v))
		return def
	}
	return b
}

func (p *paramReader) start(key string) Start {
	v, _ := p.value(key)
	switch v {
	case "", "earliest":
		return StartEarliest
	case "latest":
		return StartLatest
	}
	p.fail(key, fmt.Sprintf("%q: want earliest or latest", v))
	return StartEarliest
}

func (p *paramReader) partitions(key string) []int32 {
	v, ok := p.value(key)
	if !ok {
		return nil
	}
	var out []int32
	for s := range strings.SplitSeq(v, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		if err != nil || n < 0 {
			p.fail(key, fmt.Sprintf("%q is not a partition number", s))
			return nil
		}
		if !slices.Contains(out, int32(n)) {
			out = append(out, int32(n))
		}
	}
	slices.Sort(out)
	return out
}

// done returns the first error, or an error naming a parameter not in known.
func (p *paramReader) done(known ...string) error {
	if p.err != nil {
		return p.err
	}
	keys := make([]string, 0, len(p.params))
	for k := range p.params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			return fmt.Errorf("stream URL %q: unknown parameter %q (known: %s)", p.raw, k, strings.Join(known, ", "))
		}
	}
	return nil
}
