package server

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tripline/tripline/internal/scribble"
)

// Doc is one event received over the Elasticsearch API.
type Doc struct {
	// Index is the target index or data stream: the action's _index, else the one in the
	// URL. Detection routes events to rules by it.
	Index string
	// ID is the document's _id as the client gave it, or the one generated for it (and
	// returned to the client).
	ID string
	// Source is the document, one JSON object. It points into a buffer the server reuses:
	// it is valid only until Accept returns, so a sink that keeps it must copy it.
	Source []byte
	// Line is the 1-based line of the source in a bulk request body, 0 for the
	// single-document APIs; for messages about the event.
	Line int
	// Reject, set by the Sink during Accept, refuses this document alone: its item is
	// answered with the error instead of a success, and it is not counted as received.
	// The Sink must not have taken the document then (it is not acknowledged, and is not
	// sent again).
	Reject *DocError
	// KubeAudit says Source is a raw kube-apiserver audit Event (from POST /k8s-audit):
	// the Sink must normalise it as one, whatever it assumes of other documents.
	KubeAudit bool

	item int // the document's item in the bulk request
}

// DocError is a document the Sink refused (Doc.Reject), answered in its item of the bulk
// response, or as the response of the single-document APIs, with Elasticsearch's error shape.
type DocError struct {
	// Status is the item's HTTP status; 0 means 400.
	Status int
	// Type and Reason are the error's, as Elasticsearch would word them: for example
	// "document_parsing_exception" and "[1:1] failed to parse: ...".
	Type, Reason string
	// Metric is the reason the refusal is counted under in
	// tripline_events_rejected_total; empty means Type.
	Metric string
}

// esError returns the error to answer.
func (e *DocError) esError() *esError {
	st := e.Status
	if st == 0 {
		st = http.StatusBadRequest
	}
	return &esError{status: st, typ: e.Type, reason: e.Reason, metric: e.Metric}
}

// ErrBusy is what a Sink returns (wrapped, with why) when it cannot take more events now,
// for example because its buffers are full: the request is refused as a whole with 429
// and Elasticsearch's es_rejected_execution_exception, which clients retry after a pause,
// and counted in tripline_requests_rejected_total as "busy". Any other error is answered
// the same way but counted as "sink_error".
var ErrBusy = errors.New("busy")

// Sink receives the events of one request. The server answers success to the client only
// after Accept returned nil, so an acknowledged event is never lost: a sink that returns
// nil must have taken responsibility for every document (processed it, or queued it where a
// clean shutdown will still process it). An error means none of the documents may be
// counted as accepted: the client is told to retry (HTTP 429), so delivery is at least once.
// Accept is called concurrently from the request goroutines. A sink may refuse some
// documents one by one (Doc.Reject) and take the others.
type Sink interface {
	Accept(ctx context.Context, docs []Doc) error
}

// SinkFunc adapts a function to the Sink interface.
type SinkFunc func(ctx context.Context, docs []Doc) error

// Accept calls f.
func (f SinkFunc) Accept(ctx context.Context, docs []Doc) error { return f(ctx, docs) }

// Config configures a Server. The zero value of every field has a usable default.
type Config struct {
	// Addr is the address ListenAndServe listens on; default "127.0.0.1:9200".
	Addr string
	// TLSCertFile and TLSKeyFile, both set, make the server speak HTTPS only.
	TLSCertFile, TLSKeyFile string
	// TLSClientCAFile (PEM), with TLS, authenticates the clients that present a certificate
	// it signed (the kube-apiserver's audit webhook, for one), as Credentials do; without
	// Credentials, every request but /healthz (and public metrics) then needs one.
	TLSClientCAFile string
	// Credentials, when not nil, requires basic or API key authentication on every
	// endpoint except /healthz (and /metrics when PublicMetrics is set).
	Credentials *Credentials
	// PublicMetrics serves GET and HEAD /metrics without authentication; other methods on
	// the path are authenticated like any request.
	PublicMetrics bool
	// MaxBodyBytes limits a request body, after decompression; default 100 MiB, as
	// Elasticsearch's http.max_content_length. Larger requests get 413.
	MaxBodyBytes int64
	// MaxInFlightBytes limits the memory all requests together may hold for their bodies
	// (after decompression), like Elasticsearch's in_flight_requests circuit breaker; default
	// 4 × MaxBodyBytes (400 MiB with the default body limit), so four maximal bulk requests
	// fit at once. A request reserves its Content-Length before reading when the body is not
	// compressed, and otherwise reserves its buffer as it grows; when the total would exceed
	// the limit it gets 429 with a circuit_breaking_exception, which clients retry. Set it
	// below MaxBodyBytes and bodies larger than it are refused with 429 even when alone.
	MaxInFlightBytes int64
	// ClusterName and NodeName are reported by GET /; defaults "tripline" and the host name.
	ClusterName, NodeName string
	// BodyReadTimeout bounds how long a request may take to send its body once its headers
	// are in; default 60s. A client that stalls longer gets 408 and its connection closed.
	// At shutdown, requests still reading their body get half of ShutdownTimeout to finish
	// it, then 503, so a stalled client cannot turn a clean stop into an error.
	BodyReadTimeout time.Duration
	// ShutdownTimeout bounds how long a shutdown waits for in-flight requests; default 30s.
	ShutdownTimeout time.Duration
	// Logger receives one line per refused request; default: discard.
	Logger *slog.Logger
	// Collectors are served on /metrics beside the server's own metrics and the process
	// and Go runtime ones, for example alerts per rule; New fails when one's metric
	// names are taken. The server registers them on a registry of its own.
	Collectors []prometheus.Collector
	// SinkValidates says the Sink reads every document and refuses, through Doc.Reject,
	// those that are not one JSON object: the server then only checks that a document
	// line starts as one, and leaves its full syntax to the Sink, so that it is read once.
	SinkValidates bool
}

// Version is the Elasticsearch version the server reports; clients choose their API
// flavour by it.
const Version = "8.17.0"

// DefaultMaxBodyBytes is Elasticsearch's default http.max_content_length.
const DefaultMaxBodyBytes = 100 << 20

// Server is an http.Handler that speaks enough of Elasticsearch's REST API for shippers
// and clients to send it events (see the package documentation), plus the lifecycle to
// serve it until a context ends.
type Server struct {
	cfg         Config
	sink        Sink
	tlsConf     *tls.Config
	log         *slog.Logger
	clusterUUID string
	nodeID      string
	ids         idGen
	seqNo       atomic.Int64
	draining    atomic.Bool
	states      sync.Pool // *bulkState
	gzips       sync.Pool // *gzip.Reader

	apis, indices    *http.ServeMux // see routes
	metricsHandler   http.Handler
	eventsIn         prometheus.Counter
	eventsRejected   *prometheus.CounterVec
	requestsRejected *prometheus.CounterVec
	requests         *prometheus.CounterVec
	latency          prometheus.Histogram
	inFlight         atomic.Int64
	inFlightBytes    atomic.Int64 // body bytes reserved by requests being served

	bodyMu    sync.Mutex
	bodyReads map[*http.ResponseController]struct{} // requests reading their body, to cut short at shutdown
}

// New checks cfg, loads the TLS key pair if any, registers the server's metrics and
// returns a Server that hands events to sink.
func New(cfg Config, sink Sink) (*Server, error) {
	if sink == nil {
		return nil, errors.New("server: nil sink")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:9200"
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxInFlightBytes <= 0 {
		cfg.MaxInFlightBytes = 4 * cfg.MaxBodyBytes
	}
	if cfg.ClusterName == "" {
		cfg.ClusterName = "tripline"
	}
	if cfg.NodeName == "" {
		cfg.NodeName, _ = os.Hostname()
		if cfg.NodeName == "" {
			cfg.NodeName = "tripline"
		}
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.BodyReadTimeout <= 0 {
		cfg.BodyReadTimeout = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, sink: sink, log: cfg.Logger,
		bodyReads: make(map[*http.ResponseController]struct{})}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, errors.New("server: TLS needs both a certificate file and a key file")
	}
	if cfg.TLSCertFile != "" {
		pair, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("server: TLS key pair %s, %s: %w", cfg.TLSCertFile, cfg.TLSKeyFile, err)
		}
		s.tlsConf = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	if cfg.TLSClientCAFile != "" {
		if s.tlsConf == nil {
			return nil, errors.New("server: a client CA needs TLS (a certificate file and a key file)")
		}
		pool, err := loadCAs(cfg.TLSClientCAFile)
		if err != nil {
			return nil, err
		}
		s.tlsConf.ClientCAs, s.tlsConf.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	var rnd [35]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("server: random: %w", err)
	}
	s.clusterUUID = base64.RawURLEncoding.EncodeToString(rnd[:16])
	s.nodeID = base64.RawURLEncoding.EncodeToString(rnd[16:32])
	copy(s.ids.prefix[:], rnd[32:35])
	s.states.New = func() any { return new(bulkState) }
	if err := s.registerMetrics(cfg.Collectors); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// ListenAndServe listens on cfg.Addr and serves until ctx ends; see Serve.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves HTTP (HTTPS when TLS is configured) on ln until ctx ends. Then it stops
// accepting connections, lets every in-flight request finish (at most ShutdownTimeout)
// and returns nil, so the caller can flush what the sink holds. It returns an error when
// serving fails or in-flight requests outlived the timeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.tlsConf != nil {
		ln = tls.NewListener(ln, s.tlsConf)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	shutdownErr := make(chan error, 1)
	stop := context.AfterFunc(ctx, func() {
		s.draining.Store(true)
		s.cutBodyReads(time.Now().Add(s.cfg.ShutdownTimeout / 2))
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		err := srv.Shutdown(sctx)
		if err != nil {
			err = fmt.Errorf("server: shutdown: requests still in flight after %s: %w", s.cfg.ShutdownTimeout, err)
			srv.Close()
		}
		shutdownErr <- err
	})
	err := srv.Serve(ln)
	if !errors.Is(err, http.ErrServerClosed) {
		if stop() {
			srv.Close()
		}
		return fmt.Errorf("server: %w", err)
	}
	return <-shutdownErr
}

// idGen makes Elasticsearch-style 20-character URL-safe document ids: milliseconds, a
// per-server random part and a counter.
type idGen struct {
	prefix [3]byte
	n      atomic.Uint64
}

func (g *idGen) next() string {
	var raw [15]byte
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(time.Now().UnixMilli()))
	copy(raw[0:6], ms[2:8])
	copy(raw[6:9], g.prefix[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], g.n.Add(1))
	copy(raw[9:15], n[2:8])
	var out [20]byte
	base64.RawURLEncoding.Encode(out[:], raw[:])
	return string(out[:])
}

// ServeHTTP routes a request (see the package documentation for the endpoints).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	rec := &statusRecorder{ResponseWriter: w}
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	defer func() { s.requests.WithLabelValues(statusLabel(rec.status)).Inc() }()

	path := r.URL.EscapedPath()
	rp := routePath(path)
	up := rp
	if strings.IndexByte(rp, '%') >= 0 {
		if v, err := url.PathUnescape(rp); err == nil {
			up = v
		}
	}
	metricsRead := r.Method == http.MethodGet || r.Method == http.MethodHead
	public := up == "/healthz" || up == "/metrics" && metricsRead && s.cfg.PublicMetrics
	if (s.cfg.Credentials != nil || s.cfg.TLSClientCAFile != "") && !public && !clientCertified(r) {
		res := authResult{missing: true, reason: "a client certificate signed by the client CA is required for REST request [" + r.URL.Path + "]"}
		if s.cfg.Credentials != nil {
			res = s.cfg.Credentials.check(r.Header.Get("Authorization"), r.URL.Path)
		}
		if res.reason != "" {
			s.refuseAuth(rec, r, res)
			return
		}
	}
	if rp != path {
		// Route by rp; the handler gets r's own URL back (see on).
		r = r.WithContext(context.WithValue(r.Context(), routedURLKey{}, r.URL))
		u := *r.URL
		u.Path, u.RawPath = up, rp
		r.URL = &u
	}
	if isAPIPath(up) {
		s.apis.ServeHTTP(rec, r)
	} else {
		s.indices.ServeHTTP(rec, r)
	}
}

// statusLabel is the code label of tripline_http_requests_total: a handler that wrote no
// status answered 200.
func statusLabel(code int) string {
	if code == 0 {
		code = http.StatusOK
	}
	return strconv.Itoa(code)
}

func (s *Server) refuseAuth(w http.ResponseWriter, r *http.Request, res authResult) {
	reason := "unauthorized"
	if res.missing {
		reason = "unauthenticated"
	}
	s.requestsRejected.WithLabelValues(reason).Inc()
	s.log.Warn("refused request", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "why", res.reason)
	h := w.Header()
	h.Add("WWW-Authenticate", `Basic realm="security" charset="UTF-8"`)
	h.Add("WWW-Authenticate", "ApiKey")
	e := esError{status: http.StatusUnauthorized, typ: "security_exception", reason: res.reason,
		extra: `"header":{"WWW-Authenticate":["Basic realm=\"security\" charset=\"UTF-8\"","ApiKey"]}`}
	s.writeJSON(w, r, e.status, e.appendResponse(nil))
}

// responseType mirrors the client's compatible-with request, as Elasticsearch does.
func responseType(r *http.Request) string {
	acc := r.Header.Get("Accept")
	if strings.Contains(acc, "vnd.elasticsearch+json") {
		if strings.Contains(acc, "compatible-with=7") {
			return "application/vnd.elasticsearch+json;compatible-with=7"
		}
		return "application/vnd.elasticsearch+json;compatible-with=8"
	}
	return "application/json"
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", responseType(r))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func (s *Server) writeSimple(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.writeJSON(w, r, status, simpleError(nil, status, msg))
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *esError) {
	s.writeJSON(w, r, e.status, e.appendResponse(nil))
}

// checkContentType accepts the JSON and NDJSON media types Elasticsearch accepts, also in
// their vnd.elasticsearch forms with compatible-with 7 or 8; 406 otherwise.
func checkContentType(r *http.Request) (*esError, string) {
	vals := r.Header.Values("Content-Type")
	if len(vals) == 0 {
		return &esError{status: http.StatusNotAcceptable, reason: "Content-Type header is missing"}, "content_type"
	}
	ct := vals[0]
	mt, params, err := mime.ParseMediaType(ct)
	notSupported := &esError{status: http.StatusNotAcceptable, reason: "Content-Type header [" + strings.Join(vals, ",") + "] is not supported"}
	if err != nil {
		return notSupported, "content_type"
	}
	switch mt {
	case "application/json", "application/x-ndjson":
		return nil, ""
	case "application/vnd.elasticsearch+json", "application/vnd.elasticsearch+x-ndjson":
		if v := params["compatible-with"]; v != "7" && v != "8" {
			return &esError{status: http.StatusBadRequest, typ: "media_type_header_exception",
				reason: "Invalid media-type value on headers [Content-Type]"}, "content_type"
		}
		return nil, ""
	}
	return notSupported, "content_type"
}

// readBody reads the request body into st.body, decompressing gzip or deflate, within the
// size limit. It returns the error to answer and the metrics reason when it fails.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, st *bulkState) (*esError, string) {
	if r.ContentLength != 0 || r.Method == http.MethodPost || r.Method == http.MethodPut {
		if e, why := checkContentType(r); e != nil {
			return e, why
		}
	}
	limit := s.cfg.MaxBodyBytes
	tooLarge := &esError{status: http.StatusRequestEntityTooLarge}
	if r.ContentLength > limit {
		return tooLarge, "content_too_long"
	}
	var rd io.Reader = http.MaxBytesReader(w, r.Body, limit)
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	plain := enc == "" || enc == "identity"
	switch enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gz, _ := s.gzips.Get().(*gzip.Reader)
		var err error
		if gz == nil {
			gz, err = gzip.NewReader(rd)
		} else {
			err = gz.Reset(rd)
		}
		if err != nil {
			return &esError{status: http.StatusBadRequest, typ: "parse_exception", reason: "failed to decompress the gzip request body: " + err.Error()}, "bad_encoding"
		}
		defer s.gzips.Put(gz)
		rd = gz
	case "deflate", "x-deflate":
		zr, err := zlib.NewReader(rd)
		if err != nil {
			return &esError{status: http.StatusBadRequest, typ: "parse_exception", reason: "failed to decompress the deflate request body: " + err.Error()}, "bad_encoding"
		}
		defer zr.Close()
		rd = zr
	default:
		return &esError{status: http.StatusBadRequest, typ: "illegal_argument_exception", reason: "unsupported Content-Encoding [" + enc + "]"}, "bad_encoding"
	}
	// Size the buffer from the announced length when the body is not compressed, so it
	// is allocated once; otherwise start small and grow, reserving each growth.
	want := int64(32 << 10)
	if plain && r.ContentLength > 0 {
		want = r.ContentLength + 1 // +1 so reading sees EOF without growing
	}
	want = min(want, limit+1)
	done := s.watchBodyRead(w)
	body, err := s.readAll(rd, st, want, limit+1)
	if done != nil {
		done(err == nil)
	}
	st.body = body
	var mbe *http.MaxBytesError
	var cbe *breakerError
	switch {
	case errors.As(err, &cbe):
		return cbe.esError(), "circuit_breaking"
	case errors.Is(err, os.ErrDeadlineExceeded) && s.draining.Load():
		return &esError{status: http.StatusServiceUnavailable, typ: "node_closed_exception",
			reason: "node closed: the server is shutting down and the request body did not arrive in time, retry"}, "shutting_down"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &esError{status: http.StatusRequestTimeout, typ: "timeout_exception",
			reason: "the request body did not arrive within " + s.cfg.BodyReadTimeout.String()}, "body_timeout"
	case errors.As(err, &mbe) || int64(len(body)) > limit:
		return tooLarge, "content_too_long"
	case err != nil:
		return &esError{status: http.StatusBadRequest, typ: "parse_exception", reason: "failed to read the request body: " + err.Error()}, "bad_body"
	}
	return nil, ""
}

// watchBodyRead sets the body read deadline of the request's connection and registers
// it so a shutdown can bring the deadline forward. It returns the function that
// unregisters it, or nil when the writer has no connection deadline (as in handler tests).
// That function clears the deadline when the body was read; after a failure it keeps it, so
// the server's draining of an unread body cannot block past it.
func (s *Server) watchBodyRead(w http.ResponseWriter) func(read bool) {
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(s.cfg.BodyReadTimeout)) != nil {
		return nil
	}
	s.bodyMu.Lock()
	if s.draining.Load() {
		rc.SetReadDeadline(time.Now().Add(s.cfg.ShutdownTimeout / 2))
	}
	s.bodyReads[rc] = struct{}{}
	s.bodyMu.Unlock()
	return func(read bool) {
		s.bodyMu.Lock()
		delete(s.bodyReads, rc)
		s.bodyMu.Unlock()
		if read {
			// No deadline while the sink works: a passing one would cancel the request context.
			rc.SetReadDeadline(time.Time{})
		}
	}
}

// cutBodyReads brings the body read deadline of every request still reading its body
// to t.
func (s *Server) cutBodyReads(t time.Time) {
	s.bodyMu.Lock()
	defer s.bodyMu.Unlock()
	for rc := range s.bodyReads {
		rc.SetReadDeadline(t)
	}
}

// breakerError is a refused reservation of body memory: the total would have been wanted
// bytes, over the limit.
type breakerError struct{ wanted, limit int64 }

func (e *breakerError) Error() string { return e.esError().reason }

// esError is the answer Elasticsearch's in_flight_requests circuit breaker gives.
func (e *breakerError) esError() *esError {
	return &esError{status: http.StatusTooManyRequests, typ: "circuit_breaking_exception",
		reason: "[in_flight_requests] Data too large, data for [<http_request>] would be [" + byteSize(e.wanted) +
			"], which is larger than the limit of [" + byteSize(e.limit) + "]",
		extra: `"bytes_wanted":` + strconv.FormatInt(e.wanted, 10) + `,"bytes_limit":` + strconv.FormatInt(e.limit, 10) + `,"durability":"TRANSIENT"`}
}

// byteSize formats n as Elasticsearch's ByteSizeValue does in breaker messages:
// "123848638/118.1mb".
func byteSize(n int64) string {
	units := []string{"b", "kb", "mb", "gb", "tb", "pb"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	f := strconv.FormatFloat(v, 'f', 1, 64)
	f = strings.TrimSuffix(f, ".0")
	return strconv.FormatInt(n, 10) + "/" + f + units[u]
}

// reserve adds n bytes to the memory held by request bodies, or refuses when the total
// would exceed MaxInFlightBytes.
func (s *Server) reserve(n int64) error {
	for {
		cur := s.inFlightBytes.Load()
		if cur+n > s.cfg.MaxInFlightBytes {
			return &breakerError{wanted: cur + n, limit: s.cfg.MaxInFlightBytes}
		}
		if s.inFlightBytes.CompareAndSwap(cur, cur+n) {
			return nil
		}
	}
}

// readAll reads rd into st.body, starting with a buffer of want bytes and doubling it up
// to most bytes. The buffer's capacity is reserved (st.reserved) before it is used; the
// caller releases it with putState.
func (s *Server) readAll(rd io.Reader, st *bulkState, want, most int64) ([]byte, error) {
	buf := st.body[:0]
	if int64(cap(buf)) < want {
		buf = nil
	}
	grow := func(size int64) error {
		if err := s.reserve(size - st.reserved); err != nil {
			return err
		}
		st.reserved = size
		if int64(cap(buf)) < size {
			nb := make([]byte, len(buf), size)
			copy(nb, buf)
			buf = nb
		}
		return nil
	}
	if err := grow(max(want, int64(cap(buf)))); err != nil {
		return buf, err
	}
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= most {
				return buf, nil // over the body limit; the caller answers 413
			}
			if err := grow(min(2*int64(cap(buf)), most)); err != nil {
				return buf, err
			}
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// refuseBody answers a body readBody refused: 413 with an empty body like Elasticsearch,
// the others with their error.
func (s *Server) refuseBody(w http.ResponseWriter, r *http.Request, e *esError, why string) {
	s.requestsRejected.WithLabelValues(why).Inc()
	s.log.Warn("refused request", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "status", e.status, "why", why, "reason", e.reason)
	switch {
	case e.status == http.StatusRequestTimeout || e.status == http.StatusServiceUnavailable:
		w.Header().Set("Connection", "close") // the rest of the body may still come
		s.writeError(w, r, e)
	case e.status == http.StatusRequestEntityTooLarge:
		w.Header().Set("Connection", "close")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(e.status)
	case e.typ == "":
		s.writeSimple(w, r, e.status, e.reason)
	default:
		s.writeError(w, r, e)
	}
}

func (s *Server) getState() *bulkState { return s.states.Get().(*bulkState) }

func (s *Server) putState(st *bulkState) {
	scribble.Bytes(st.body)   // the request's documents end here
	if cap(st.body) > 8<<20 { // do not keep huge buffers alive
		st.body = nil
	}
	s.inFlightBytes.Add(-st.reserved)
	st.reserved = 0
	st.reset()
	s.states.Put(st)
}

// sinkRefused answers a request whose events the sink did not take.
func (s *Server) sinkRefused(w http.ResponseWriter, r *http.Request, n int, err error) {
	if errors.Is(err, ErrBusy) {
		s.requestsRejected.WithLabelValues("busy").Inc()
		s.log.Warn("events not accepted: busy", "remote", r.RemoteAddr, "events", n, "err", err)
		s.writeError(w, r, &esError{status: http.StatusTooManyRequests, typ: "es_rejected_execution_exception",
			reason: "rejected execution of the " + strconv.Itoa(n) + " events of this request, retry later: " + err.Error()})
		return
	}
	s.requestsRejected.WithLabelValues("sink_error").Inc()
	s.log.Error("events not accepted", "remote", r.RemoteAddr, "events", n, "err", err)
	s.writeError(w, r, &esError{status: http.StatusTooManyRequests, typ: "es_rejected_execution_exception",
		reason: "tripline could not accept the " + strconv.Itoa(n) + " events of this request, retry: " + err.Error()})
}

// EventCounts returns the events acknowledged so far and the documents refused one by one,
// by reason, as /metrics counts them (tripline_events_received_total,
// tripline_events_rejected_total).
func (s *Server) EventCounts() (received uint64, rejected map[string]uint64) {
	return counts(s.eventsIn)[""], counts(s.eventsRejected)
}

// handleBulk serves POST/PUT /_bulk and /<index>/_bulk.
func (s *Server) handleBulk(w http.ResponseWriter, r *http.Request, defaultIndex string) {
	st := s.getState()
	defer s.putState(st)
	if e, why := s.readBody(w, r, st); e != nil {
		s.refuseBody(w, r, e, why)
		return
	}
	start := time.Now()
	if e := s.parseBulk(st, st.body, defaultIndex); e != nil {
		s.requestsRejected.WithLabelValues("malformed_bulk").Inc()
		s.log.Warn("refused bulk request", "remote", r.RemoteAddr, "path", r.URL.Path, "reason", e.reason)
		s.writeError(w, r, e)
		return
	}
	if n := len(st.docs); n > 0 {
		if err := s.sink.Accept(r.Context(), st.docs); err != nil {
			s.sinkRefused(w, r, n, err)
			return
		}
		for i := range st.docs {
			if e := st.docs[i].Reject; e != nil {
				st.items[st.docs[i].item].err = e.esError()
				n--
			}
		}
		s.eventsIn.Add(float64(n))
		seq := s.seqNo.Add(int64(n)) - int64(n)
		for i := range st.items {
			if st.items[i].err == nil {
				st.items[i].seqNo = seq
				seq++
			}
		}
	}
	for i := range st.items {
		if e := st.items[i].err; e != nil {
			s.eventsRejected.WithLabelValues(e.metricReason()).Inc()
		}
	}
	took := time.Since(start)
	s.latency.Observe(took.Seconds())
	if f := parseFilterPath(r.URL.Query().Get("filter_path")); f != nil {
		st.out = appendBulkResponseFiltered(st.out, took.Milliseconds(), st.items, f)
	} else {
		st.out = appendBulkResponse(st.out, took.Milliseconds(), st.items)
	}
	s.writeJSON(w, r, http.StatusOK, st.out)
}

// handleDoc serves the single-document APIs: POST /<index>/_doc, PUT|POST
// /<index>/_doc/<id> and /<index>/_create/<id>.
func (s *Server) handleDoc(w http.ResponseWriter, r *http.Request, index, id string) {
	st := s.getState()
	defer s.putState(st)
	if e, why := s.readBody(w, r, st); e != nil {
		s.refuseBody(w, r, e, why)
		return
	}
	start := time.Now()
	if e := validateIndexName(index); e != nil {
		s.eventsRejected.WithLabelValues(e.typ).Inc()
		s.writeError(w, r, e)
		return
	}
	if e := validateSource(st.body, 1, !s.cfg.SinkValidates); e != nil {
		e.reason = strings.TrimSuffix(e.reason, " (request body line 1)")
		s.eventsRejected.WithLabelValues(e.typ).Inc()
		s.writeError(w, r, e)
		return
	}
	if id == "" {
		id = s.ids.next()
	}
	st.docs = append(st.docs, Doc{Index: index, ID: id, Source: bytes.TrimRight(st.body, " \t\r\n")})
	if err := s.sink.Accept(r.Context(), st.docs); err != nil {
		s.sinkRefused(w, r, 1, err)
		return
	}
	if de := st.docs[0].Reject; de != nil {
		e := de.esError()
		s.eventsRejected.WithLabelValues(e.metricReason()).Inc()
		s.writeError(w, r, e)
		return
	}
	s.eventsIn.Inc()
	seq := s.seqNo.Add(1) - 1
	took := time.Since(start)
	s.latency.Observe(took.Seconds())
	w.Header().Set("Location", "/"+url.PathEscape(index)+"/_doc/"+url.PathEscape(id))
	s.writeJSON(w, r, http.StatusCreated, appendDocResponse(st.out, index, id, seq))
}
