package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fastjson"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadbulk:", err)
		os.Exit(1)
	}
}

// result is what loadbulk prints.
type result struct {
	Docs       int64   `json:"docs"`
	Created    int64   `json:"created"`
	Refused    int64   `json:"refused"`
	Bulks      int64   `json:"bulks"`
	Retries429 int64   `json:"retries_429"`
	Seconds    float64 `json:"seconds"`
	EventsPerS float64 `json:"events_per_s"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
	// CPUSeconds is the CPU time (user and system) the client used from its first request
	// to its last answer: its share of a machine it shares with the server.
	CPUSeconds float64 `json:"client_cpu_s"`
	// FirstRefusal is the reason of the first item refused, to tell why.
	FirstRefusal string `json:"first_refusal,omitempty"`
}

type config struct {
	url      string
	conns    int
	bulk     int
	index    string
	limit    int64
	maxRetry time.Duration
	duration time.Duration
	ids      bool
	preload  bool
	filter   string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadbulk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:9200", "base URL of the _bulk endpoint")
	fs.IntVar(&cfg.conns, "c", 4, "connections sending bulks at once")
	fs.IntVar(&cfg.bulk, "bulk", 1000, "documents per bulk request")
	fs.StringVar(&cfg.index, "index", "logs-generic-default", "index of documents without data_stream fields")
	fs.Int64Var(&cfg.limit, "n", 0, "send at most this many documents (0: the whole file)")
	fs.DurationVar(&cfg.maxRetry, "give-up", 2*time.Minute, "fail when a bulk is still refused with 429 after this long")
	fs.DurationVar(&cfg.duration, "for", 0, "stop sending new bulks after this long (0: send the whole file)")
	fs.BoolVar(&cfg.ids, "ids", false, "give each document an _id, its line number in the file, so that alerts are the same in every run (the server makes ids otherwise)")
	fs.StringVar(&cfg.filter, "filter-path", "errors,items.*.error,items.*.status", "the filter_path of each bulk request, as Logstash sends it: responses hold each item's status and error only (empty: whole responses)")
	fs.BoolVar(&cfg.preload, "preload", true, "encode every bulk before the first request (it takes about the file's size in memory; not for files over 4 GiB), so that the time measured is the server's and the sending's, not the reading and encoding of the file; false: encode bulks as they are sent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("give one NDJSON file of events")
	}
	if cfg.conns < 1 || cfg.bulk < 1 {
		return errors.New("-c and -bulk must be at least 1")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && cfg.preload && fi.Size() > maxPreload {
		fmt.Fprintf(stderr, "loadbulk: %s is over %d GiB: bulks are encoded as they are sent\n", fs.Arg(0), maxPreload>>30)
		cfg.preload = false
	}
	res, err := send(ctx, cfg, f)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(res)
	fmt.Fprintln(stdout, string(b))
	return nil
}

// maxPreload is the largest file whose bulks are encoded before the first request
// (-preload): they take about the file's size in memory.
const maxPreload = 4 << 30

// send streams the documents of r to cfg.url in bulks and gathers the result.
func send(ctx context.Context, cfg config, r io.Reader) (*result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: cfg.conns,
		MaxConnsPerHost:     cfg.conns,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
	var ready []*bulkBody // the bulks encoded before the clock starts (preload)
	if cfg.preload {
		// Bulks are made in one buffer, then copied to one of their size.
		scratch := new(bulkBody)
		err := produce(ctx, cfg, r, func() *bulkBody { return scratch }, func(b *bulkBody) bool {
			ready = append(ready, &bulkBody{n: b.n, data: bytes.Clone(b.buf.Bytes())})
			b.reset()
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	bodies := make(chan *bulkBody, 2*cfg.conns)
	free := sync.Pool{New: func() any { return new(bulkBody) }}
	var res result
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cpuTime()
	for range cfg.conns {
		wg.Go(func() {
			var lc conn
			lc.client, lc.url, lc.giveUp = client, cfg.url+"/_bulk", cfg.maxRetry
			if cfg.filter != "" {
				lc.url += "?filter_path=" + url.QueryEscape(cfg.filter)
			}
			for b := range bodies {
				t0 := time.Now()
				st, err := lc.post(ctx, b)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					cancel(err)
				} else {
					lat = append(lat, d)
					res.Bulks++
					res.Docs += int64(b.n)
					res.Created += st.created
					res.Refused += st.refused
					res.Retries429 += st.retries
					if res.FirstRefusal == "" {
						res.FirstRefusal = st.firstRefusal
					}
				}
				mu.Unlock()
				if !cfg.preload {
					b.reset()
					free.Put(b)
				}
			}
		})
	}
	// send hands a bulk to the connections, unless the run is over.
	var stopAt time.Time
	if cfg.duration > 0 {
		stopAt = start.Add(cfg.duration)
	}
	send := func(b *bulkBody) bool {
		if !stopAt.IsZero() && time.Now().After(stopAt) {
			return false
		}
		select {
		case bodies <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var rerr error
	if cfg.preload {
		for _, b := range ready {
			if !send(b) {
				break
			}
		}
	} else {
		rerr = produce(ctx, cfg, r, func() *bulkBody { return free.Get().(*bulkBody) }, send)
	}
	close(bodies)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	res.Seconds = time.Since(start).Seconds()
	res.CPUSeconds = (cpuTime() - cpu0).Seconds()
	if res.Seconds > 0 {
		res.EventsPerS = float64(res.Docs) / res.Seconds
	}
	slices.Sort(lat)
	res.P50ms, res.P99ms = ms(quantile(lat, 0.50)), ms(quantile(lat, 0.99))
	if len(lat) > 0 {
		res.MaxMs = ms(lat[len(lat)-1])
	}
	return &res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// quantile returns the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// bulkBody is one bulk request body and its number of documents.
type bulkBody struct {
	buf  bytes.Buffer
	data []byte // the body, when encoded beforehand (preload), else buf's
	n    int
}

// body returns the request body.
func (b *bulkBody) body() []byte {
	if b.data != nil {
		return b.data
	}
	return b.buf.Bytes()
}

func (b *bulkBody) reset() { b.buf.Reset(); b.n = 0 }

// produce reads documents and makes bulks of cfg.bulk of them, in file order, each in a
// body from get, handing each to put, until put returns false.
func produce(ctx context.Context, cfg config, r io.Reader, get func() *bulkBody, put func(*bulkBody) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var p fastjson.Parser
	var idx []byte
	b := get()
	var sent int64
	flush := func() bool {
		if b.n == 0 {
			return true
		}
		if !put(b) {
			return false
		}
		b = get()
		return true
	}
	var lineNo int64
	for sc.Scan() {
		lineNo++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if (cfg.limit > 0 && sent >= cfg.limit) || ctx.Err() != nil {
			break
		}
		idx = appendIndex(idx[:0], line, &p, cfg.index)
		b.buf.WriteString(`{"create":{"_index":`)
		b.buf.WriteString(strconv.Quote(string(idx)))
		if cfg.ids {
			b.buf.WriteString(`,"_id":"line-`)
			b.buf.WriteString(strconv.FormatInt(lineNo, 10))
			b.buf.WriteByte('"')
		}
		b.buf.WriteString("}}\n")
		b.buf.Write(line)
		b.buf.WriteByte('\n')
		b.n++
		sent++
		if b.n == cfg.bulk && !flush() {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	flush()
	return nil
}

// appendIndex appends the document's data stream name, read by a quick scan for the
// generator's key order ("data_stream":{"dataset":..,"namespace":..,"type":..}), else by
// parsing the document; else def.
func appendIndex(dst, doc []byte, p *fastjson.Parser, def string) []byte {
	const key = `"data_stream":{"dataset":"`
	if i := bytes.Index(doc, []byte(key)); i >= 0 {
		rest := doc[i+len(key):]
		ds, rest, ok1 := cutString(rest, `","namespace":"`)
		ns, rest, ok2 := cutString(rest, `","type":"`)
		ty, _, ok3 := cutString(rest, `"}`)
		if ok1 && ok2 && ok3 {
			dst = append(dst, ty...)
			dst = append(dst, '-')
			dst = append(dst, ds...)
			dst = append(dst, '-')
			return append(dst, ns...)
		}
	}
	v, err := p.ParseBytes(doc)
	if err == nil {
		ty, ds, ns := v.GetStringBytes("data_stream", "type"), v.GetStringBytes("data_stream", "dataset"), v.GetStringBytes("data_stream", "namespace")
		if len(ty) > 0 && len(ds) > 0 && len(ns) > 0 {
			dst = append(dst, ty...)
			dst = append(dst, '-')
			dst = append(dst, ds...)
			dst = append(dst, '-')
			return append(dst, ns...)
		}
	}
	return append(dst, def...)
}

// cutString returns the plain string before sep (no quote or escape in it) and what follows sep.
func cutString(b []byte, sep string) ([]byte, []byte, bool) {
	i := bytes.Index(b, []byte(sep))
	if i < 0 || bytes.ContainsAny(b[:i], `"\`) {
		return nil, nil, false
	}
	return b[:i], b[i+len(sep):], true
}

// conn is one sender.
type conn struct {
	client *http.Client
	url    string
	giveUp time.Duration
	resp   []byte
	p      fastjson.Parser
}

type bulkStatus struct {
	created, refused, retries int64
	firstRefusal              string
}

// post sends one bulk, again after each 429, and counts its items' outcomes.
func (c *conn) post(ctx context.Context, b *bulkBody) (bulkStatus, error) {
	var st bulkStatus
	pause := 10 * time.Millisecond
	deadline := time.Now().Add(c.giveUp)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(b.body()))
		if err != nil {
			return st, err
		}
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := c.client.Do(req)
		if err != nil {
			return st, err
		}
		c.resp, err = readAll(resp.Body, c.resp[:0])
		resp.Body.Close()
		if err != nil {
			return st, err
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			st.retries++
			if time.Now().After(deadline) {
				return st, fmt.Errorf("bulk still refused with 429 after %s: %s", c.giveUp, c.resp)
			}
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return st, ctx.Err()
			}
			pause = min(2*pause, time.Second)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return st, fmt.Errorf("bulk answered %d: %.300s", resp.StatusCode, c.resp)
		}
		return st, c.count(&st, b.n)
	}
}

// count reads the items of a bulk response. A response that says it has no error, as
// Elasticsearch's and serve's begin, whose items all have status 201 is counted without
// being parsed (a string in the JSON text cannot hold an unescaped quote, so the text
// `"status":201` appears once per such item and nowhere else), as shippers trust
// "errors": false; any other one is parsed item by item.
func (c *conn) count(st *bulkStatus, n int) error {
	if i := bytes.Index(c.resp, []byte(`"items":`)); i >= 0 && bytes.Contains(c.resp[:i], []byte(`"errors":false`)) &&
		bytes.Count(c.resp[i:], []byte(`"status":201`)) == n {
		st.created += int64(n)
		return nil
	}
	v, err := c.p.ParseBytes(c.resp)
	if err != nil {
		return fmt.Errorf("bulk response: %w", err)
	}
	items := v.GetArray("items")
	if len(items) != n {
		return fmt.Errorf("bulk response has %d items for %d documents", len(items), n)
	}
	for _, it := range items {
		o := it.GetObject()
		var item *fastjson.Value
		o.Visit(func(_ []byte, v *fastjson.Value) { item = v })
		if item.GetInt("status") == http.StatusCreated {
			st.created++
			continue
		}
		st.refused++
		if st.firstRefusal == "" {
			st.firstRefusal = string(item.GetStringBytes("error", "reason"))
		}
	}
	return nil
}

func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
