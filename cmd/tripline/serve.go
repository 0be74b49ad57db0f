package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/ingest/source"
	"github.com/tripline/tripline/output"
	"github.com/tripline/tripline/server"
)

// serveOptions are the flags of serve.
type serveOptions struct {
	in            inputFlags
	df            detectFlags
	listen        string
	tlsCert       string
	tlsKey        string
	tlsClientCA   string
	credFile      string
	credEnv       string
	maxBody       string
	maxInFlight   string
	bodyTimeout   time.Duration
	publicMetrics bool
	maxBuffered   int64
	maxBufBytes   string
	state         stateFlags // --state-dir (state.go)
}

func newServeCmd() *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve --rules PATH [flags]",
		Short: "Run detection as a service that accepts events over Elasticsearch's _bulk API",
		Long: `Run the rules continuously over events sent over HTTP the way they are sent to
Elasticsearch, so that shippers (Filebeat, Logstash, Fluent Bit, Vector, rsyslog, the
official clients) need no change beyond their URL.

Endpoints:
  GET  /                       cluster information (with the X-Elastic-Product header)
  POST /_bulk, /<index>/_bulk  NDJSON index/create actions; per-item results as Elasticsearch's
  POST /<index>/_doc           one document
  POST /k8s-audit              the kube-apiserver's audit webhook (EventList batches, routed as
                               logs-kubernetes.audit_logs-default; answers are metav1.Status)
  GET  /healthz                liveness
  GET  /metrics                Prometheus metrics: events in, rejected, alerts per rule, latency

The _index of each document routes it to the rules whose index patterns match. Raw
kube-apiserver audit records are turned into ECS (--input-format; event.ingested is
stageTimestamp truncated to seconds, as for detect). Events are matched in
arrival order with a reordering buffer of --max-lateness; alerts go to --output as soon as
they are known.

A request is answered once its events went through the rules, so every item says what
became of its document: 201, or 400 with the reason for a document that is not a JSON
object, a raw audit record that cannot be normalised, a document a strict --mapping
refuses, or an event stamped further ahead of this machine's clock than --max-future
(reported on stderr too). An acknowledged event is never dropped; one that came later
than --max-lateness is acknowledged, reported and counted as unused, as detect --follow
does. An event stamped ahead of the clock by less than --max-future is matched in order
without moving event time past the clock.

When the rules' reordering buffers hold --max-buffered events or --max-buffered-bytes of
documents, requests get 429 (es_rejected_execution_exception), which shippers retry; if
they stay full for a second (event time does not move on, as when many events share one
timestamp), every rule processes the older half of what it holds at once.

On SIGTERM or SIGINT the server stops accepting, finishes the requests in flight, flushes
pending matches and alerts, and exits 0: an event that got a success response is never lost
to a clean shutdown.

With --state-dir DIR, serve keeps the state detect keeps there (see 'tripline state'): the
rules' threshold and new-terms state, a journal of the recent events that rebuilds partial
sequences and the reordering buffer, and the ids of the alerts written. A request is
answered 201 only once its events are in the journal, synced to disk: after a crash (even
kill -9) a restart with the same directory loses no acknowledged event, and writes no alert
twice to a file output. SIGTERM then leaves the reordering buffer to the next start rather
than flushing it: a stop and a start give the alerts of one uninterrupted serve.

Credentials (--credentials FILE, mode 600, or --credentials-env VAR) hold one entry a line:
  user:password      basic authentication
  apikey ID:KEY      an API key (clients send "Authorization: ApiKey base64(ID:KEY)")
  token NAME:TOKEN   a bearer token ("Authorization: Bearer TOKEN", a kubeconfig's user token)
With --tls-client-ca, a client certificate that CA signed authenticates a request too.
Without credentials the endpoint is open: keep it on a private address.

Once listening, it prints "tripline: serving on http://ADDRESS with N rules" on stderr, with
the address actually bound (--listen 127.0.0.1:0 lets the system pick a free port). At the
end it prints the summary detect prints (--stats: as JSON).

Exit codes:
  0  stopped by SIGTERM or SIGINT, everything accepted was processed and its alerts written
  1  the server or an output failed (for example the address is in use)
  2  usage error: bad flags, unreadable credentials or TLS files, or no rule that can run`,
		Example: `  tripline serve --rules examples/rules --listen 127.0.0.1:9200 -o alerts.ndjson
  tripline serve --rules rules/ --listen :9443 --tls-cert cert.pem --tls-key key.pem --credentials users.txt -o es:http://es:9200
  tripline serve --rules rules_export.ndjson --exceptions exception_lists.ndjson --mapping ecs --mapping my-fields.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), streamsOf(cmd))
		},
	}
	o.in.register(cmd.Flags(), forServe)
	o.df.register(cmd)
	fs := cmd.Flags()
	fs.StringVar(&o.listen, "listen", "127.0.0.1:9200", "address to listen on")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM); with --tls-key, serve HTTPS only")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	fs.StringVar(&o.tlsClientCA, "tls-client-ca", "", "CA certificates (PEM) whose client certificates authenticate a request, as the kube-apiserver's audit webhook may present one (with TLS)")
	fs.StringVar(&o.credFile, "credentials", "", "file of users and API keys that may send events (mode 600)")
	fs.StringVar(&o.credEnv, "credentials-env", "", "environment variable holding the credentials, in the file's format")
	fs.StringVar(&o.maxBody, "max-body", "100MB", "largest request body accepted, after decompression (413 above)")
	fs.StringVar(&o.maxInFlight, "max-in-flight", "", "most memory all requests together may hold for their bodies; requests beyond it get 429, as Elasticsearch's circuit breaker answers (default 4 x --max-body)")
	fs.DurationVar(&o.bodyTimeout, "body-timeout", 0, "how long a client may take to send a request body once its headers arrived; 408 after it (0: 60s)")
	fs.BoolVar(&o.publicMetrics, "public-metrics", false, "serve GET /metrics without authentication")
	fs.Int64Var(&o.maxBuffered, "max-buffered", defaultMaxBuffered, "most events the rules' reordering buffers may hold: from there requests get 429 (es_rejected_execution_exception), which shippers retry, and when the buffers stay full for a second every rule processes the older half of what it holds, shortening the reordering window meanwhile (0: no bound)")
	fs.StringVar(&o.maxBufBytes, "max-buffered-bytes", "128MB", "most bytes of documents the rules' reordering buffers may hold (the events also keep their decoded values: the memory the buffers take is a few times that); from there, as from --max-buffered (0: no bound)")
	o.state.register(fs)
	return cmd
}

// run loads the rules, serves the _bulk API until ctx is cancelled, flushes the matches
// and alerts of what it accepted, and writes the summary.
func (o *serveOptions) run(ctx context.Context, ios ioStreams) error {
	stdout, stderr := ios.out, ios.errOut
	if err := o.in.validate(); err != nil {
		return exitWith(exitUsage, err)
	}
	cfg := server.Config{
		Addr:          o.listen,
		TLSCertFile:   o.tlsCert,
		TLSKeyFile:    o.tlsKey,
		PublicMetrics: o.publicMetrics,
		Logger:        slog.New(slog.NewTextHandler(stderr, nil)),
	}
	cfg.TLSClientCAFile = o.tlsClientCA
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return exitWith(exitUsage, fmt.Errorf("--tls-cert and --tls-key go together"))
	}
	if o.maxBody != "" {
		n, err := output.ParseSize(o.maxBody)
		if err != nil {
			return exitWith(exitUsage, fmt.Errorf("--max-body: %w", err))
		}
		cfg.MaxBodyBytes = n
	}
	if o.maxInFlight != "" {
		n, err := output.ParseSize(o.maxInFlight)
		if err != nil {
			return exitWith(exitUsage, fmt.Errorf("--max-in-flight: %w", err))
		}
		cfg.MaxInFlightBytes = n
	}
	if o.bodyTimeout < 0 {
		return exitWith(exitUsage, fmt.Errorf("--body-timeout must not be negative"))
	}
	if o.maxBuffered < 0 {
		return exitWith(exitUsage, fmt.Errorf("--max-buffered must not be negative"))
	}
	var maxBufferedBytes int64
	if o.maxBufBytes != "0" {
		n, err := output.ParseSize(o.maxBufBytes)
		if err != nil {
			return exitWith(exitUsage, fmt.Errorf("--max-buffered-bytes: %w", err))
		}
		maxBufferedBytes = n
	}
	cfg.BodyReadTimeout = o.bodyTimeout
	switch {
	case o.credFile != "" && o.credEnv != "":
		return exitWith(exitUsage, fmt.Errorf("give --credentials or --credentials-env, not both"))
	case o.credFile != "":
		c, err := server.LoadCredentials(o.credFile)
		if err != nil {
			return exitWith(exitUsage, err)
		}
		cfg.Credentials = c
	case o.credEnv != "":
		v, ok := os.LookupEnv(o.credEnv)
		if !ok {
			return exitWith(exitUsage, fmt.Errorf("--credentials-env: %s is not set", o.credEnv))
		}
		c, err := server.ParseCredentials(strings.NewReader(v), "$"+o.credEnv)
		if err != nil {
			return exitWith(exitUsage, err)
		}
		cfg.Credentials = c
	}
	// Before the outputs open: a file output's tail written after the last checkpoint is
	// read back (and a half-written last alert cut off).
	var sr *stateRun
	if o.state.dir != "" {
		var err error
		if sr, err = openState(ctx, &o.state, &o.df, &o.in, true, stderr); err != nil {
			return err
		}
	}
	out, err := openOutputs(o.df.outputs, true, stdout)
	if err != nil {
		sr.finish(false)
		return err
	}
	alertsPerRule := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tripline_alerts_total", Help: "Alert documents written, per rule."}, []string{"rule"})
	cfg.Collectors = append(cfg.Collectors, alertsPerRule)
	sink := &countingSink{Delivery: newAlertSink(out, nil, stderr), perRule: alertsPerRule}
	if err := sr.retry(ctx, sink); err != nil {
		out.Close()
		sr.finish(false)
		return exitWith(exitFailure, err)
	}
	// Events are processed under the server's lifetime, not the request's: a client
	// that goes away must not cancel alert writes that belong to other events.
	h := &serveHandler{ctx: context.WithoutCancel(ctx), in: &o.in, stderr: stderr,
		maxBuffered: o.maxBuffered, maxBufferedBytes: maxBufferedBytes, sr: sr}
	d, set, err := newDetector(ctx, &o.df, &o.in, true, sr.sink(sink), stderr, func(opts *detect.Options) {
		if opts.Workers == 0 { // requests are taken one at a time: let workers filter their events
			opts.Workers = runtime.GOMAXPROCS(0)
		}
		// The in-order work of a request overlaps the filtering of the next one.
		opts.Async = opts.Workers > 1
		opts.MaxBuffered, opts.MaxBufferedBytes = o.maxBuffered, maxBufferedBytes
		opts.OnEventError = h.onEventError
	}, sr.tune)
	if err == nil {
		h.d = d
		err = h.replay()
	}
	if err != nil {
		out.Close()
		sr.finish(false)
		return err
	}
	h.d, h.reject = d, o.in.rejects()
	// The detector's state changes on its in-order goroutine: the gauges read the
	// snapshot it publishes after each request.
	for _, g := range []struct {
		name, help string
		value      func(detect.Live) int64
	}{
		{"tripline_events_unused", "Events no rule could use (no timestamp, or later than --max-lateness).",
			func(l detect.Live) int64 { return l.Unused }},
		{"tripline_pending_state", "State the rules hold now: events in the reordering buffer, partial sequences, undecided results.",
			func(l detect.Live) int64 { return l.Pending }},
		{"tripline_buffered_events", "Events the rules' reordering buffers hold; requests get 429 from --max-buffered on.",
			func(l detect.Live) int64 { return l.Buffered }},
		{"tripline_buffered_bytes", "Bytes of the documents the rules' reordering buffers hold; requests get 429 from --max-buffered-bytes on.",
			func(l detect.Live) int64 { return l.BufferedBytes }},
		{"tripline_events_shed", "Buffered events processed early, before --max-lateness passed, because the reordering buffers were full.",
			func(l detect.Live) int64 { return l.Shed }},
	} {
		cfg.Collectors = append(cfg.Collectors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: g.name, Help: g.help},
			func() float64 { return float64(g.value(d.Live())) }))
	}
	cfg.SinkValidates = true // the detector reads every document: refusals come back per item
	srv, err := server.New(cfg, h)
	if err != nil {
		out.Close()
		return exitWith(exitUsage, err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", o.listen)
	if err != nil {
		out.Close()
		return exitWith(exitFailure, err)
	}
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	// The address actually bound (with port 0 the system picks one), for people and scripts.
	fmt.Fprintf(stderr, "tripline: serving on %s://%s with %d rules\n", scheme, ln.Addr(), d.Summary().RulesLoaded)
	rctx, stopRelieve := context.WithCancel(ctx)
	relieved := make(chan struct{})
	go func() {
		defer close(relieved)
		h.relieve(rctx, time.Second)
	}()
	serr := srv.Serve(ctx, ln)
	stopRelieve()
	<-relieved
	// The server has stopped accepting and finished its requests: flush matches and alerts.
	// With --state-dir the reordering buffer and partial sequences are left to the next
	// start (their events are in the journal): the rules finish with what they took in.
	h.mu.Lock()
	var cerr error
	if sr == nil {
		cerr = d.Close(context.WithoutCancel(ctx))
	} else {
		var taken <-chan struct{}
		taken, cerr = d.Flush(context.WithoutCancel(ctx))
		<-taken
	}
	h.mu.Unlock()
	matched := cerr == nil // alerts an output failed to write are kept for the next start
	if err := out.Close(); err != nil && cerr == nil {
		cerr = err
	}
	if err := deliveryErr(sink.Delivery); err != nil && cerr == nil {
		cerr = err
	}
	if err := sr.finish(matched); err != nil && cerr == nil {
		cerr = err
	}
	rep := newRunReport(serveInputStats(srv, h.normalized.Load()), d, set, o.df.exceptionErrors)
	// The detector's refusals were answered per item, and the server counted them.
	rep.Run.EventsSkipped, rep.Run.EventsFuture = 0, 0
	sr.adjust(&rep)
	if o.df.statsJSON {
		writeJSONSummary(stderr, rep)
	} else {
		writeSummary(stderr, rep)
	}
	if serr != nil {
		return exitWith(exitFailure, serr)
	}
	if cerr != nil {
		return exitWith(exitFailure, cerr)
	}
	return nil
}

// defaultMaxBuffered is --max-buffered's default.
const defaultMaxBuffered = 100_000

// serveInputStats gathers what the server received and refused, as /metrics counts it: a
// document is read when it was acknowledged or refused in its item, and the refusals are
// split by reason (update and delete actions carry no event: they are counted apart).
func serveInputStats(srv *server.Server, normalized int64) source.Stats {
	received, rejected := srv.EventCounts()
	st := source.Stats{Records: int64(received), Normalized: normalized}
	for reason, n := range rejected {
		switch reason {
		case "illegal_argument_exception": // update and delete actions: not events
			st.Unsupported += int64(n)
			continue
		case "future_timestamp":
			st.Future += int64(n)
		default:
			st.Malformed += int64(n)
		}
		st.Records += int64(n)
	}
	return st
}

// serveHandler feeds the documents of each request to the detector. It normalises raw
// audit records on the request's goroutine, hands the request's events to the detector
// (not safe for concurrent use: one request at a time), and waits, letting the next
// request in, until the rules have taken them all in (alerts found are already written to
// the outputs). So every refusal is known before the answer: a document that is not a JSON
// object, an audit record that cannot be normalised, a document a strict mapping refuses
// or an event stamped beyond --max-future gets its own 400 item, and an acknowledged event
// is never dropped.
type serveHandler struct {
	ctx    context.Context
	in     *inputFlags
	stderr io.Writer
	norms  sync.Pool // *normState
	// The bounds of the reordering buffers, for messages.
	maxBuffered, maxBufferedBytes int64
	reject                        func([]byte) error // a strict mapping's check (inputFlags.rejects), or nil

	mu         sync.Mutex // guards d's Process and Flush, and seq
	d          *detect.Detector
	seq        uint64
	normalized atomic.Int64

	// With --state-dir: the run's link to the directory; committed is the last arrival
	// number a checkpoint has written (commitMu guards it: one checkpoint at a time).
	sr        *stateRun
	replaying atomic.Bool
	commitMu  sync.Mutex
	committed uint64

	reqMu sync.Mutex
	reqs  []*pendingRequest // requests whose events the rules have not all taken in
}

// pendingRequest is a request whose events are with the detector: event Seq-seq0 is
// events[Seq-seq0], of document docs[events[...].doc].
type pendingRequest struct {
	seq0   uint64
	docs   []server.Doc
	events []normEvent
}

// normState is one request's normalisation: the normaliser, its output slots, and the
// events made, as documents of the request or bytes of buf.
type normState struct {
	norm   *source.Normalizer
	audit  *source.Normalizer // for the events of the audit webhook (server.Doc.KubeAudit)
	dst    [][]byte
	buf    []byte
	events []normEvent
}

// normEvent is one event of a request: its document's index and its bytes, the document's
// own (src) or buf[start:end] when it was made from a raw audit record.
type normEvent struct {
	doc        int32
	src        []byte
	start, end int
}

// Accept implements server.Sink.
func (h *serveHandler) Accept(_ context.Context, docs []server.Doc) error {
	if err := h.busyError(); err != nil {
		return err
	}
	ns := h.normalize(docs)
	defer h.norms.Put(ns)
	req := &pendingRequest{docs: docs, events: ns.events}
	h.mu.Lock()
	if err := h.busyError(); err != nil {
		h.mu.Unlock()
		return err
	}
	req.seq0 = h.seq + 1
	h.reqMu.Lock()
	h.reqs = append(h.reqs, req)
	h.reqMu.Unlock()
	defer h.forget(req)
	var names sourceNames
	for _, e := range ns.events {
		doc := &docs[e.doc]
		raw := e.src
		if raw == nil {
			raw = ns.buf[e.start:e.end]
		}
		// The _id the client gave or was given becomes the event's _id in alerts; the
		// items of an EventList cannot share it.
		src := detect.EventSource{Name: names.of(doc.Index), Line: doc.Line, Index: doc.Index, ID: doc.ID}
		if e.src == nil {
			src.ID = ""
		}
		if h.sr != nil {
			// Journalled, numbered on from the last run (one more than h.seq).
			src = h.sr.run.Record(raw, src)
			h.seq = src.Seq
		} else {
			h.seq++
			src.Seq = h.seq
		}
		if err := h.d.Process(h.ctx, raw, src); err != nil {
			if h.sr != nil {
				h.sr.run.Forget(src)
			}
			h.mu.Unlock()
			return err
		}
	}
	last := h.seq
	taken, err := h.d.Flush(h.ctx)
	h.mu.Unlock()
	// Wait even when err is set: the events already handed over may still be refused, and
	// the documents are the server's again once Accept returns.
	<-taken
	if h.sr != nil && len(ns.events) > 0 {
		// Not acknowledged before its events are in the journal, on disk.
		if cerr := h.commit(last); err == nil {
			err = cerr
		}
	}
	return err
}

// replay gives the detector the journal of the last run (--state-dir), and waits until the
// rules have taken it in; the next events are numbered on from the journal's.
func (h *serveHandler) replay() error {
	if h.sr == nil {
		return nil
	}
	h.replaying.Store(true)
	defer h.replaying.Store(false)
	if err := h.sr.replay(h.ctx, h.d); err != nil {
		return err
	}
	taken, err := h.d.Flush(h.ctx)
	<-taken
	h.seq = h.sr.run.Seq()
	h.committed = h.seq
	return err
}

// commit writes a checkpoint that covers the events up to arrival number upTo, unless one
// already did: requests that wait meanwhile share the next one. A checkpoint is taken where
// the rules have taken in every event given so far (their alerts written) and is written
// while the next requests' events go on to the rules.
func (h *serveHandler) commit(upTo uint64) error {
	h.commitMu.Lock()
	defer h.commitMu.Unlock()
	if h.committed >= upTo {
		return nil
	}
	h.mu.Lock()
	taken, err := h.d.Flush(h.ctx)
	<-taken
	through := h.seq
	c := h.sr.run.Snapshot(h.sr.outputSizes())
	h.mu.Unlock()
	if cerr := c.Apply(); cerr != nil {
		return cerr
	}
	h.committed = through
	return err
}

// sourceNames makes the source names of a request's events ("bulk:INDEX") once per index
// for the few indices a request usually mixes, rather than once per event.
type sourceNames struct {
	n     int
	index [8]string
	name  [8]string
}

func (s *sourceNames) of(index string) string {
	for i := range s.n {
		if s.index[i] == index {
			return s.name[i]
		}
	}
	name := "bulk:" + index
	if s.n < len(s.index) {
		s.index[s.n], s.name[s.n] = index, name
		s.n++
	}
	return name
}

// forget removes a request from those pending.
func (h *serveHandler) forget(req *pendingRequest) {
	h.reqMu.Lock()
	defer h.reqMu.Unlock()
	if i := slices.Index(h.reqs, req); i >= 0 {
		h.reqs = slices.Delete(h.reqs, i, i+1)
	}
}

// normalize turns the raw Kubernetes audit records among docs into ECS events and lists
// the events of the request, refusing, with their item's error, the records that cannot be
// normalised and the documents a strict mapping refuses.
func (h *serveHandler) normalize(docs []server.Doc) *normState {
	ns, _ := h.norms.Get().(*normState)
	if ns == nil {
		ns = &normState{norm: source.NewNormalizer(source.Format(h.in.inputFormat)),
			audit: source.NewNormalizer(source.K8sAudit)}
	}
	ns.buf, ns.events = ns.buf[:0], ns.events[:0]
	var normalized int64
	for i := range docs {
		doc := &docs[i]
		norm := ns.norm
		if doc.KubeAudit {
			norm = ns.audit
		}
		out, isAudit, err := norm.Normalize(doc.Source, ns.dst[:0])
		if err != nil {
			fmt.Fprintf(h.stderr, "bulk:%s:%d: %v (refused)\n", doc.Index, doc.Line, err)
			doc.Reject = &server.DocError{Type: "document_parsing_exception",
				Reason: "[1:1] failed to parse: " + err.Error() + lineNote(doc.Line)}
		} else if err := h.strict(out); err != nil {
			fmt.Fprintf(h.stderr, "bulk:%s:%d: %v (refused)\n", doc.Index, doc.Line, err)
			// Elasticsearch answers the item so.
			doc.Reject = &server.DocError{Type: "strict_dynamic_mapping_exception", Reason: err.Error() + lineNote(doc.Line)}
		} else if !isAudit {
			ns.events = append(ns.events, normEvent{doc: int32(i), src: doc.Source})
		} else {
			// Copied: the request's events are all made before any is processed.
			for _, o := range out {
				start := len(ns.buf)
				ns.buf = append(ns.buf, o...)
				ns.events = append(ns.events, normEvent{doc: int32(i), start: start, end: len(ns.buf)})
			}
			normalized += int64(len(out))
		}
		// No slot keeps the request's memory (or the normaliser's) for the next record.
		clear(out)
		ns.dst = out[:0]
	}
	h.normalized.Add(normalized)
	return ns
}

// strict returns the error a strict mapping (--mapping) refuses one of a document's events
// with at index time, or nil.
func (h *serveHandler) strict(events [][]byte) error {
	if h.reject == nil {
		return nil
	}
	for _, ev := range events {
		if err := h.reject(ev); err != nil {
			return err
		}
	}
	return nil
}

// lineNote says where a document sits in a bulk request body, as the server's own
// refusals do; nothing for the single-document APIs.
func lineNote(line int) string {
	if line == 0 {
		return ""
	}
	return " (request body line " + strconv.Itoa(line) + ")"
}

// onEventError reports an event the detector skipped or could not use on stderr and, for
// an event skipped before any rule saw it (one that is not a JSON object, or is stamped
// beyond --max-future), refuses its document in its request, which is waiting for the
// detector. (An event no rule could use, too late or without a timestamp, went through
// the rules: it is acknowledged and counted as unused.) Called by the detector's in-order
// goroutine. A raw EventList is one document for several events: one of them refused
// refuses the document, though the rules took the others in.
func (h *serveHandler) onEventError(err error) {
	if h.replaying.Load() {
		return // reported when it came in, by the last run
	}
	fmt.Fprintf(h.stderr, "%v\n", err)
	var ee *detect.EventError
	if !errors.As(err, &ee) || (ee.Kind != detect.EventMalformed && ee.Kind != detect.EventFuture) {
		return
	}
	if h.sr != nil {
		// Refused: a new run need not be given it again.
		h.sr.run.Drop(ee.Source.Seq)
	}
	h.reqMu.Lock()
	defer h.reqMu.Unlock()
	for _, req := range h.reqs {
		k := ee.Source.Seq - req.seq0
		if ee.Source.Seq < req.seq0 || k >= uint64(len(req.events)) {
			continue
		}
		doc := &req.docs[req.events[k].doc]
		if ee.Kind == detect.EventMalformed {
			// Elasticsearch's "[line:column] failed to parse: why", the column 1-based.
			col, why := 1, ee.Err.Error()
			var se *event.SyntaxError
			if errors.As(ee.Err, &se) {
				col, why = se.Offset+1, se.Msg
			}
			doc.Reject = &server.DocError{Type: "document_parsing_exception",
				Reason: "[1:" + strconv.Itoa(col) + "] failed to parse: " + why + lineNote(doc.Line)}
			return
		}
		// Elasticsearch refuses a document whose timestamp no index accepts in the same way.
		doc.Reject = &server.DocError{Type: "illegal_argument_exception", Metric: "future_timestamp",
			Reason: "the document " + ee.Err.Error() + " (--max-future)" + lineNote(doc.Line)}
		return
	}
}

// busyError is the refusal of a request while the reordering buffers are full, or nil.
func (h *serveHandler) busyError() error {
	l := h.d.Live()
	if !l.Full {
		return nil
	}
	return fmt.Errorf("%w: the reordering buffer holds %d events and %d bytes of documents, at its limit (--max-buffered %d, --max-buffered-bytes %d)",
		server.ErrBusy, l.Buffered, l.BufferedBytes, h.maxBuffered, h.maxBufferedBytes)
}

// relieve runs every interval until ctx ends: when the reordering buffers have been full
// for an interval (events come faster than event time moves on, as when many share one
// timestamp, and the requests refused meanwhile with 429 did not let it move on), each
// rule processes the older half of what it holds, so that requests get in again.
func (h *serveHandler) relieve(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	wasFull := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		full := h.d.Live().Full
		if !full || !wasFull {
			wasFull = full
			continue
		}
		wasFull = false
		h.mu.Lock()
		_, err := h.d.Shed(h.ctx)
		h.mu.Unlock()
		if err != nil {
			fmt.Fprintf(h.stderr, "tripline: %v\n", err)
		}
	}
}

// countingSink counts alerts per rule for /metrics.
type countingSink struct {
	*output.Delivery
	perRule *prometheus.CounterVec
}

// Write implements detect.Sink.
func (s *countingSink) Write(ctx context.Context, alerts []detect.Alert) error {
	_, err := s.Deliver(ctx, alerts)
	return err
}

// Deliver is output.Delivery's, counting the alerts (durable.Deliverer: the state
// directory learns which were written).
func (s *countingSink) Deliver(ctx context.Context, alerts []detect.Alert) (bool, error) {
	for _, a := range alerts {
		s.perRule.WithLabelValues(a.Rule.Name).Inc()
	}
	return s.Delivery.Deliver(ctx, alerts)
}
