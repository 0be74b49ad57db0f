package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/ingest/k8saudit"
	"github.com/tripline/tripline/output"
	"github.com/tripline/tripline/server"
)

func newServeCmd() *cobra.Command {
	var (
		in            inputFlags
		df            detectFlags
		listen        string
		tlsCert       string
		tlsKey        string
		credFile      string
		credEnv       string
		maxBody       string
		maxInFlight   string
		bodyTimeout   time.Duration
		publicMetrics bool
	)
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
  GET  /healthz                liveness
  GET  /metrics                Prometheus metrics: events in, rejected, alerts per rule, latency

The _index of each document routes it to the rules whose index patterns match. Raw
kube-apiserver audit records are turned into ECS (--input-format; event.ingested is
stageTimestamp truncated to seconds, as for detect). Events are matched in
arrival order with a reordering buffer of --max-lateness; alerts go to --output as soon as
they are known.

On SIGTERM or SIGINT the server stops accepting, finishes the requests in flight, flushes
pending matches and alerts, and exits 0: an event that got a success response is never lost
to a clean shutdown.

Credentials (--credentials FILE, mode 600, or --credentials-env VAR) hold one entry a line:
  user:password      basic authentication
  apikey ID:KEY      an API key (clients send "Authorization: ApiKey base64(ID:KEY)")
Without credentials the endpoint is open: keep it on a private address.

Once listening, it prints "tripline: serving on http://ADDRESS with N rules" on stderr, with
the address actually bound (--listen 127.0.0.1:0 lets the system pick a free port). At the
end it prints the summary detect prints (--stats: as JSON).

Exit codes:
  0  stopped by SIGTERM or SIGINT, everything accepted was processed and its alerts written
  1  the server or an output failed (for example the address is in use)
  2  usage error: bad flags, unreadable credentials or TLS files, or no rule that can run`,
		Example: `  tripline serve --rules examples/rules --listen 127.0.0.1:9200 -o alerts.ndjson
  tripline serve --rules rules/ --listen :9443 --tls-cert cert.pem --tls-key key.pem --credentials users.txt -o es:http://es:9200`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if err := in.validate(); err != nil {
				return exitWith(exitUsage, err)
			}
			cfg := server.Config{
				Addr:          listen,
				TLSCertFile:   tlsCert,
				TLSKeyFile:    tlsKey,
				PublicMetrics: publicMetrics,
				Logger:        slog.New(slog.NewTextHandler(stderr, nil)),
			}
			if (tlsCert == "") != (tlsKey == "") {
				return exitWith(exitUsage, fmt.Errorf("--tls-cert and --tls-key go together"))
			}
			if maxBody != "" {
				n, err := output.ParseSize(maxBody)
				if err != nil {
					return exitWith(exitUsage, fmt.Errorf("--max-body: %w", err))
				}
				cfg.MaxBodyBytes = n
			}
			if maxInFlight != "" {
				n, err := output.ParseSize(maxInFlight)
				if err != nil {
					return exitWith(exitUsage, fmt.Errorf("--max-in-flight: %w", err))
				}
				cfg.MaxInFlightBytes = n
			}
			if bodyTimeout < 0 {
				return exitWith(exitUsage, fmt.Errorf("--body-timeout must not be negative"))
			}
			cfg.BodyReadTimeout = bodyTimeout
			switch {
			case credFile != "" && credEnv != "":
				return exitWith(exitUsage, fmt.Errorf("give --credentials or --credentials-env, not both"))
			case credFile != "":
				c, err := server.LoadCredentials(credFile)
				if err != nil {
					return exitWith(exitUsage, err)
				}
				cfg.Credentials = c
			case credEnv != "":
				v, ok := os.LookupEnv(credEnv)
				if !ok {
					return exitWith(exitUsage, fmt.Errorf("--credentials-env: %s is not set", credEnv))
				}
				c, err := server.ParseCredentials(strings.NewReader(v), "$"+credEnv)
				if err != nil {
					return exitWith(exitUsage, err)
				}
				cfg.Credentials = c
			}
			out, err := openOutputs(df.outputs, true, stdout)
			if err != nil {
				return err
			}
			metrics := server.NewMetrics()
			cfg.Metrics = metrics
			alertsPerRule, err := metrics.NewCounterVec("tripline_alerts_total", "Alert documents written, per rule.", "rule")
			if err != nil {
				out.Close()
				return exitWith(exitFailure, err)
			}
			sink := &countingSink{alertSink: alertSink{out: out, stderr: stderr}, perRule: alertsPerRule}
			d, set, err := newDetector(ctx, &df, &in, true, sink, stderr, nil, nil)
			if err != nil {
				out.Close()
				return err
			}
			// Events are processed under the server's lifetime, not the request's: a client
			// that goes away must not cancel alert writes that belong to other events.
			h := &serveHandler{ctx: context.WithoutCancel(ctx), d: d, in: &in, stderr: stderr, norm: newAuditNormalizer(),
				reject: in.rejects()}
			if err := metrics.NewGaugeFunc("tripline_events_unused", "Events no rule could use (no timestamp, or later than --max-lateness).", func() float64 {
				h.mu.Lock()
				defer h.mu.Unlock()
				return float64(d.Summary().EventsUnused)
			}); err != nil {
				out.Close()
				return exitWith(exitFailure, err)
			}
			if err := metrics.NewGaugeFunc("tripline_pending_state", "State the rules hold now: events in the reordering buffer, partial sequences, undecided results.", func() float64 {
				h.mu.Lock()
				defer h.mu.Unlock()
				return float64(d.PendingState())
			}); err != nil {
				out.Close()
				return exitWith(exitFailure, err)
			}
			srv, err := server.New(cfg, h)
			if err != nil {
				out.Close()
				return exitWith(exitUsage, err)
			}
			var lc net.ListenConfig
			ln, err := lc.Listen(ctx, "tcp", listen)
			if err != nil {
				out.Close()
				return exitWith(exitFailure, err)
			}
			scheme := "http"
			if tlsCert != "" {
				scheme = "https"
			}
			// The address actually bound (with port 0 the system picks one), for people and scripts.
			fmt.Fprintf(stderr, "tripline: serving on %s://%s with %d rules\n", scheme, ln.Addr(), d.Summary().RulesLoaded)
			serr := srv.Serve(ctx, ln)
			// The server has stopped accepting and finished its requests: flush matches and alerts.
			h.mu.Lock()
			cerr := d.Close(context.WithoutCancel(ctx))
			h.mu.Unlock()
			if err := out.Close(); err != nil && cerr == nil {
				cerr = err
			}
			if err := sink.err(); err != nil && cerr == nil {
				cerr = err
			}
			rep := newRunReport(inputStats{Records: h.records, Malformed: h.malformed, Normalized: h.normalized}, d, set)
			if df.statsJSON {
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
		},
	}
	in.register(cmd.Flags(), forServe)
	df.register(cmd)
	fs := cmd.Flags()
	fs.StringVar(&listen, "listen", "127.0.0.1:9200", "address to listen on")
	fs.StringVar(&tlsCert, "tls-cert", "", "TLS certificate file (PEM); with --tls-key, serve HTTPS only")
	fs.StringVar(&tlsKey, "tls-key", "", "TLS private key file (PEM)")
	fs.StringVar(&credFile, "credentials", "", "file of users and API keys that may send events (mode 600)")
	fs.StringVar(&credEnv, "credentials-env", "", "environment variable holding the credentials, in the file's format")
	fs.StringVar(&maxBody, "max-body", "100MB", "largest request body accepted, after decompression (413 above)")
	fs.StringVar(&maxInFlight, "max-in-flight", "", "most memory all requests together may hold for their bodies; requests beyond it get 429, as Elasticsearch's circuit breaker answers (default 4 x --max-body)")
	fs.DurationVar(&bodyTimeout, "body-timeout", 0, "how long a client may take to send a request body once its headers arrived; 408 after it (0: 60s)")
	fs.BoolVar(&publicMetrics, "public-metrics", false, "serve GET /metrics without authentication")
	return cmd
}

// serveHandler feeds the documents of each request to the detector. The detector is not safe
// for concurrent use, so requests take turns; a request is acknowledged only after its
// documents went through the rules (alerts found are already written to the outputs).
type serveHandler struct {
	ctx        context.Context
	mu         sync.Mutex
	d          *detect.Detector
	in         *inputFlags
	stderr     io.Writer
	norm       *k8saudit.Normalizer
	reject     func([]byte) error // a strict mapping's check (inputFlags.rejects), or nil
	seq        uint64
	records    int64
	malformed  int64
	normalized int64
	docs       [][]byte
}

// Accept implements server.Sink.
func (h *serveHandler) Accept(_ context.Context, docs []server.Doc) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, doc := range docs {
		h.records++
		// The _id the client gave or was given becomes the event's _id in alerts.
		src := detect.EventSource{Name: "bulk:" + doc.Index, Line: doc.Line, Index: doc.Index, ID: doc.ID}
		var normalized bool
		var err error
		h.docs, normalized, err = toECS(doc.Source, h.in.inputFormat, h.norm, h.docs[:0])
		if err != nil {
			// For an EventList the valid items are still in h.docs.
			h.malformed++
			fmt.Fprintf(h.stderr, "%s:%d: %v (skipped)\n", src.Name, src.Line, err)
		}
		if normalized {
			h.normalized += int64(len(h.docs))
		}
		if len(h.docs) != 1 {
			src.ID = "" // the items of an EventList cannot share one _id
		}
		for _, d := range h.docs {
			if h.reject != nil {
				// Elasticsearch would answer the item with a strict_dynamic_mapping_exception;
				// here the event is reported and skipped, like a malformed one.
				if err := h.reject(d); err != nil {
					h.malformed++
					fmt.Fprintf(h.stderr, "%s:%d: %v (skipped)\n", src.Name, src.Line, err)
					continue
				}
			}
			h.seq++
			src.Seq = h.seq
			if err := h.d.Process(h.ctx, d, src); err != nil {
				return err
			}
		}
	}
	return nil
}

// countingSink counts alerts per rule for /metrics.
type countingSink struct {
	alertSink
	perRule *server.CounterVec
}

// Write implements detect.Sink.
func (s *countingSink) Write(ctx context.Context, alerts []detect.Alert) error {
	for _, a := range alerts {
		s.perRule.Add(a.Rule.Name, 1)
	}
	return s.alertSink.Write(ctx, alerts)
}
