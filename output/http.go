package output

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Stats counts what an HTTP sink did.
type Stats struct {
	// Delivered alerts were accepted by the receiver (for Elasticsearch, created).
	Delivered int
	// Duplicates were already there (Elasticsearch answered 409 to create): delivered before.
	Duplicates int
	// DeadLettered alerts went to the dead-letter file (or, without one, were dropped
	// with an error returned).
	DeadLettered int
	// Requests counts HTTP requests, including retries.
	Requests int
	// Retries counts requests that were repeats of a failed one.
	Retries int
}

// HTTPOptions are shared by the webhook and Elasticsearch sinks.
type HTTPOptions struct {
	// Backoff schedules retries of failed requests; the zero value means DefaultBackoff().
	Backoff Backoff
	// DeadLetter is a file that receives, as NDJSON, the alerts that could not be
	// delivered; empty means none (the alerts are then reported in the error only).
	DeadLetter string
	// BatchSize caps alerts per request; 0 means 500.
	BatchSize int
	// Header is added to every request (for example Authorization).
	Header http.Header
	// Client sends the requests; nil means a client with a 30 s timeout.
	Client *http.Client
}

func (o *HTTPOptions) defaults() {
	if o.Backoff == (Backoff{}) {
		o.Backoff = DefaultBackoff()
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
}

// httpSink holds what the webhook and Elasticsearch sinks share.
type httpSink struct {
	mu     sync.Mutex
	url    string
	opts   HTTPOptions
	stats  Stats
	closed bool
}

// Stats returns the counts so far.
func (h *httpSink) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// Close implements Sink; writes are synchronous, so there is nothing to flush.
func (h *httpSink) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	return nil
}

// post sends one request; it returns the status, the body and a transport error.
func (h *httpSink) post(ctx context.Context, contentType string, body []byte, extra http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range h.opts.Header {
		req.Header[k] = vs
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", contentType)
	h.stats.Requests++
	resp, err := h.opts.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, b, err
}

// stopped returns why a delivery that ended with err was given up: ctx's cause when ctx
// is done (the request failed, or was not retried, because of it), else err.
func stopped(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	cause := context.Cause(ctx)
	if err == nil || errors.Is(err, ctx.Err()) || errors.Is(err, cause) {
		return cause
	}
	return fmt.Errorf("%v; then %w", err, cause)
}

// retryable reports whether a request that got status is worth repeating.
func retryable(status int) bool {
	return status == 0 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// giveUp puts undelivered alerts in the dead-letter file and returns the error to report.
func (h *httpSink) giveUp(alerts []Alert, cause error) error {
	h.stats.DeadLettered += len(alerts)
	if h.opts.DeadLetter == "" {
		return fmt.Errorf("output: %s not delivered to %s: %w", countAlerts(len(alerts)), h.url, cause)
	}
	if err := appendDeadLetter(h.opts.DeadLetter, alerts); err != nil {
		return fmt.Errorf("output: %s not delivered to %s (%v), and %w", countAlerts(len(alerts)), h.url, cause, err)
	}
	return &deadLettered{fmt.Errorf("output: %s not delivered to %s, written to dead-letter file %s: %w", countAlerts(len(alerts)), h.url, h.opts.DeadLetter, cause)}
}

// countAlerts says "1 alert" or "N alerts".
func countAlerts(n int) string {
	if n == 1 {
		return "1 alert"
	}
	return fmt.Sprintf("%d alerts", n)
}

// Webhook POSTs alerts as JSON arrays (one per batch of at most BatchSize) to a URL.
// Failed requests (transport errors, 408, 429, 5xx) are retried with exponential backoff;
// a batch that still fails, or is refused with another status, goes to the dead-letter
// file. Each request carries an Idempotency-Key header derived from the alert ids, the
// same on every retry, so a receiver can recognise a batch it already took.
type Webhook struct {
	httpSink
}

// NewWebhook returns a webhook sink posting to rawURL. User information in the URL
// (user:pass@) is sent as a basic Authorization header (unless opts.Header has one) and
// never shown in String or errors.
func NewWebhook(rawURL string, opts HTTPOptions) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("output: webhook URL %q: want http(s)://host/path", redactURL(rawURL))
	}
	opts.defaults()
	if u.User != nil {
		if opts.Header.Get("Authorization") == "" {
			pass, _ := u.User.Password()
			opts.Header = opts.Header.Clone()
			if opts.Header == nil {
				opts.Header = http.Header{}
			}
			opts.Header.Set("Authorization", basicAuth(u.User.Username(), pass))
		}
		u.User = nil
	}
	return &Webhook{httpSink{url: u.String(), opts: opts}}, nil
}

// basicAuth returns the value of a basic Authorization header.
func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// Write implements Sink.
func (w *Webhook) Write(ctx context.Context, alerts []Alert) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	var errs []error
	for len(alerts) > 0 {
		n := min(len(alerts), w.opts.BatchSize)
		batch := alerts[:n]
		alerts = alerts[n:]
		if err := w.send(ctx, batch); err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil && len(alerts) > 0 { // stop trying; keep what is left
				errs = append(errs, w.giveUp(alerts, context.Cause(ctx)))
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (w *Webhook) send(ctx context.Context, batch []Alert) error {
	var body bytes.Buffer
	body.WriteByte('[')
	key := sha256.New()
	for i, a := range batch {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(a.Doc)
		key.Write([]byte(a.ID))
		key.Write([]byte{0})
	}
	body.WriteByte(']')
	hdr := http.Header{"Idempotency-Key": {hex.EncodeToString(key.Sum(nil)[:16])}}
	var last error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			w.stats.Retries++
		}
		status, resp, err := w.post(ctx, "application/json", body.Bytes(), hdr)
		switch {
		case err == nil && status >= 200 && status < 300:
			w.stats.Delivered += len(batch)
			return nil
		case err != nil:
			last = err
		default:
			last = fmt.Errorf("HTTP %d: %s", status, snippet(resp))
		}
		if ctx.Err() != nil {
			return w.giveUp(batch, stopped(ctx, last))
		}
		if (err == nil && !retryable(status)) || attempt >= w.opts.Backoff.Retries {
			return w.giveUp(batch, last)
		}
		if err := w.opts.Backoff.wait(ctx, attempt); err != nil {
			return w.giveUp(batch, stopped(ctx, last))
		}
	}
}

func (w *Webhook) String() string { return "webhook " + w.url }

// snippet shortens a response body for an error message.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// DefaultIndex is where Kibana's detection engine writes alerts in the default space.
const DefaultIndex = ".alerts-security.alerts-default"

// Elasticsearch indexes alerts through the _bulk API with create actions whose _id is the
// alert's id: an alert sent twice is refused with 409, which counts as already delivered.
// Items refused with 429 or 5xx are retried with backoff; items refused otherwise (a
// mapping error, say) and items still failing go to the dead-letter file.
type Elasticsearch struct {
	httpSink
	index string
}

// ElasticsearchOptions tune an Elasticsearch sink.
type ElasticsearchOptions struct {
	HTTPOptions
	// Index receives the alerts; empty means DefaultIndex.
	Index string
	// Username and Password give basic authentication; APIKey (the base64 "id:key" form
	// Elasticsearch hands out) gives API key authentication.
	Username, Password, APIKey string
}

// NewElasticsearch returns a sink for the cluster at baseURL (such as http://host:9200).
func NewElasticsearch(baseURL string, opts ElasticsearchOptions) (*Elasticsearch, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("output: Elasticsearch URL %q: want http(s)://host:port", redactURL(baseURL))
	}
	if opts.Index == "" {
		opts.Index = DefaultIndex
	}
	opts.defaults()
	hdr := opts.Header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	switch {
	case opts.APIKey != "":
		hdr.Set("Authorization", "ApiKey "+opts.APIKey)
	case opts.Username != "":
		hdr.Set("Authorization", basicAuth(opts.Username, opts.Password))
	}
	opts.Header = hdr
	u.User = nil
	u.Path = strings.TrimSuffix(u.Path, "/") + "/_bulk"
	return &Elasticsearch{httpSink: httpSink{url: u.String(), opts: opts.HTTPOptions}, index: opts.Index}, nil
}

// Write implements Sink.
func (e *Elasticsearch) Write(ctx context.Context, alerts []Alert) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	var errs []error
	for len(alerts) > 0 {
		n := min(len(alerts), e.opts.BatchSize)
		if err := e.send(ctx, alerts[:n]); err != nil {
			errs = append(errs, err)
		}
		alerts = alerts[n:]
		if ctx.Err() != nil && len(alerts) > 0 {
			errs = append(errs, e.giveUp(alerts, context.Cause(ctx)))
			break
		}
	}
	return errors.Join(errs...)
}

// bulkResponse is the part of a _bulk response the sink reads.
type bulkResponse struct {
	Errors bool `json:"errors"`
	Items  []map[string]struct {
		ID     string          `json:"_id"`
		Status int             `json:"status"`
		Error  json.RawMessage `json:"error"`
	} `json:"items"`
}

func (e *Elasticsearch) send(ctx context.Context, batch []Alert) error {
	pending := batch
	var refused []Alert
	var refusedWhy []string
	var last error
	index, _ := json.Marshal(e.index)
	var body bytes.Buffer
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			e.stats.Retries++
		}
		body.Reset()
		for _, a := range pending {
			id, _ := json.Marshal(a.ID)
			fmt.Fprintf(&body, `{"create":{"_index":%s,"_id":%s}}`+"\n", index, id)
			doc, err := oneLine(a.Doc)
			if err != nil {
				doc = a.Doc // Elasticsearch will refuse it item by item
			}
			body.Write(doc)
			body.WriteByte('\n')
		}
		status, resp, err := e.post(ctx, "application/x-ndjson", body.Bytes(), nil)
		var retry []Alert
		switch {
		case err != nil:
			last, retry = err, pending
		case status < 200 || status >= 300:
			last = fmt.Errorf("HTTP %d: %s", status, snippet(resp))
			if !retryable(status) {
				refused = append(refused, pending...)
				refusedWhy = append(refusedWhy, last.Error())
				pending = nil
				break
			}
			retry = pending
		default:
			var br bulkResponse
			if err := json.Unmarshal(resp, &br); err != nil || len(br.Items) != len(pending) {
				// Not a _bulk answer we can match item by item: send all again (create
				// with _id makes a repeat harmless).
				last, retry = fmt.Errorf("unreadable _bulk response (%d items for %d actions): %s", len(br.Items), len(pending), snippet(resp)), pending
				break
			}
			for i, item := range br.Items {
				var st int
				var why json.RawMessage
				for _, r := range item {
					st, why = r.Status, r.Error
				}
				switch {
				case st >= 200 && st < 300:
					e.stats.Delivered++
				case st == http.StatusConflict:
					e.stats.Duplicates++
				case retryable(st):
					retry = append(retry, pending[i])
					last = fmt.Errorf("item %s: status %d: %s", pending[i].ID, st, snippet(why))
				default:
					refused = append(refused, pending[i])
					refusedWhy = append(refusedWhy, fmt.Sprintf("item %s: status %d: %s", pending[i].ID, st, snippet(why)))
				}
			}
		}
		pending = retry
		if len(pending) == 0 {
			break
		}
		if attempt >= e.opts.Backoff.Retries || ctx.Err() != nil {
			break
		}
		if e.opts.Backoff.wait(ctx, attempt) != nil {
			break // ctx is done: stopped says so
		}
	}
	var errs []error
	if len(refused) > 0 {
		errs = append(errs, e.giveUp(refused, errors.New(strings.Join(refusedWhy, "; "))))
	}
	if len(pending) > 0 {
		errs = append(errs, e.giveUp(pending, stopped(ctx, last)))
	}
	return errors.Join(errs...)
}

func (e *Elasticsearch) String() string { return "elasticsearch " + e.url + " index " + e.index }
