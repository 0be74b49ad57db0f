package server

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics is a small registry of Prometheus metrics, written by hand in the text exposition
// format (version 0.0.4). The server registers its own metrics in it; the caller adds its
// own (alerts per rule, pending sequence state) with NewCounterVec, NewGaugeVec and
// NewGaugeFunc. All methods are safe for concurrent use.
type Metrics struct {
	mu      sync.Mutex
	names   map[string]bool
	entries []metricEntry // in registration order; written sorted by name
}

// metricEntry is one metric family: its name, help, type and how to write its samples.
type metricEntry struct {
	name, help, kind string
	write            func(w *bufio.Writer, name string)
}

var metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics {
	return &Metrics{names: make(map[string]bool)}
}

func (m *Metrics) register(name, help, kind string, write func(*bufio.Writer, string)) error {
	if !metricNameRE.MatchString(name) {
		return fmt.Errorf("metrics: invalid metric name %q", name)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.names[name] {
		return fmt.Errorf("metrics: %q is already registered", name)
	}
	m.names[name] = true
	m.entries = append(m.entries, metricEntry{name: name, help: help, kind: kind, write: write})
	return nil
}

// WriteTo writes every registered metric in the Prometheus text format, families sorted by
// name and samples sorted by label value, so the output is stable.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	m.mu.Lock()
	entries := slices.Clone(m.entries)
	m.mu.Unlock()
	slices.SortFunc(entries, func(a, b metricEntry) int { return strings.Compare(a.name, b.name) })
	cw := &countingWriter{w: w}
	bw := bufio.NewWriter(cw)
	for _, e := range entries {
		bw.WriteString("# HELP ")
		bw.WriteString(e.name)
		bw.WriteByte(' ')
		bw.WriteString(escapeHelp(e.help))
		bw.WriteString("\n# TYPE ")
		bw.WriteString(e.name)
		bw.WriteByte(' ')
		bw.WriteString(e.kind)
		bw.WriteByte('\n')
		e.write(bw, e.name)
	}
	err := bw.Flush()
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

func writeSample(w *bufio.Writer, name, label, value string, v float64) {
	w.WriteString(name)
	if label != "" {
		w.WriteByte('{')
		w.WriteString(label)
		w.WriteString(`="`)
		w.WriteString(labelEscaper.Replace(value))
		w.WriteString(`"}`)
	}
	w.WriteByte(' ')
	w.WriteString(formatFloat(v))
	w.WriteByte('\n')
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Counter is a monotonically increasing count without labels.
type Counter struct{ v atomic.Uint64 }

// Add adds n to the counter.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Inc adds one to the counter.
func (c *Counter) Inc() { c.v.Add(1) }

// Value returns the current count.
func (c *Counter) Value() uint64 { return c.v.Load() }

// NewCounter registers a counter without labels.
func (m *Metrics) NewCounter(name, help string) (*Counter, error) {
	c := &Counter{}
	err := m.register(name, help, "counter", func(w *bufio.Writer, name string) {
		writeSample(w, name, "", "", float64(c.Value()))
	})
	return c, err
}

// CounterVec is a family of counters told apart by the value of one label.
type CounterVec struct {
	label string
	mu    sync.RWMutex
	vals  map[string]*atomic.Uint64
}

// NewCounterVec registers a counter family with one label, for example alerts per rule:
//
//	alerts, err := m.NewCounterVec("tripline_alerts_total", "Alerts raised.", "rule")
//	alerts.Add(rule.ID, 1)
func (m *Metrics) NewCounterVec(name, help, label string) (*CounterVec, error) {
	if !labelNameRE.MatchString(label) || strings.HasPrefix(label, "__") {
		return nil, fmt.Errorf("metrics: invalid label name %q", label)
	}
	c := &CounterVec{label: label, vals: make(map[string]*atomic.Uint64)}
	err := m.register(name, help, "counter", func(w *bufio.Writer, name string) {
		for _, kv := range c.snapshot() {
			writeSample(w, name, c.label, kv.label, kv.v)
		}
	})
	return c, err
}

func (c *CounterVec) counter(value string) *atomic.Uint64 {
	c.mu.RLock()
	v := c.vals[value]
	c.mu.RUnlock()
	if v != nil {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v = c.vals[value]; v == nil {
		v = new(atomic.Uint64)
		c.vals[value] = v
	}
	return v
}

// Add adds n to the counter whose label has the given value.
func (c *CounterVec) Add(value string, n uint64) { c.counter(value).Add(n) }

// Value returns the count for the given label value (0 if it was never counted).
func (c *CounterVec) Value(value string) uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v := c.vals[value]; v != nil {
		return v.Load()
	}
	return 0
}

type labelled struct {
	label string
	v     float64
}

func (c *CounterVec) snapshot() []labelled {
	c.mu.RLock()
	out := make([]labelled, 0, len(c.vals))
	for k, v := range c.vals {
		out = append(out, labelled{k, float64(v.Load())})
	}
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b labelled) int { return strings.Compare(a.label, b.label) })
	return out
}

// GaugeVec is a family of gauges told apart by the value of one label.
type GaugeVec struct {
	label string
	mu    sync.Mutex
	vals  map[string]float64
}

// NewGaugeVec registers a gauge family with one label, for example pending sequence
// state per rule.
func (m *Metrics) NewGaugeVec(name, help, label string) (*GaugeVec, error) {
	if !labelNameRE.MatchString(label) || strings.HasPrefix(label, "__") {
		return nil, fmt.Errorf("metrics: invalid label name %q", label)
	}
	g := &GaugeVec{label: label, vals: make(map[string]float64)}
	err := m.register(name, help, "gauge", func(w *bufio.Writer, name string) {
		g.mu.Lock()
		out := make([]labelled, 0, len(g.vals))
		for k, v := range g.vals {
			out = append(out, labelled{k, v})
		}
		g.mu.Unlock()
		slices.SortFunc(out, func(a, b labelled) int { return strings.Compare(a.label, b.label) })
		for _, kv := range out {
			writeSample(w, name, g.label, kv.label, kv.v)
		}
	})
	return g, err
}

// Set sets the gauge whose label has the given value.
func (g *GaugeVec) Set(value string, v float64) {
	g.mu.Lock()
	g.vals[value] = v
	g.mu.Unlock()
}

// Delete removes the gauge whose label has the given value.
func (g *GaugeVec) Delete(value string) {
	g.mu.Lock()
	delete(g.vals, value)
	g.mu.Unlock()
}

// NewGaugeFunc registers a gauge without labels whose value is read from fn at each
// scrape; fn must be safe to call from any goroutine.
func (m *Metrics) NewGaugeFunc(name, help string, fn func() float64) error {
	return m.register(name, help, "gauge", func(w *bufio.Writer, name string) {
		writeSample(w, name, "", "", fn())
	})
}

// Histogram counts observations in fixed buckets, in seconds.
type Histogram struct {
	bounds []float64
	counts []atomic.Uint64 // one per bound, plus +Inf
	sumNS  atomic.Int64
}

// DefaultLatencyBuckets returns the bucket bounds, in seconds, of the server's processing
// latency histogram.
func DefaultLatencyBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// NewHistogram registers a histogram of durations with the given bucket bounds (seconds,
// ascending).
func (m *Metrics) NewHistogram(name, help string, bounds []float64) (*Histogram, error) {
	if !slices.IsSorted(bounds) {
		return nil, fmt.Errorf("metrics: %s: bucket bounds must be ascending", name)
	}
	h := &Histogram{bounds: slices.Clone(bounds), counts: make([]atomic.Uint64, len(bounds)+1)}
	err := m.register(name, help, "histogram", h.write)
	return h, err
}

// Observe records one duration.
func (h *Histogram) Observe(d time.Duration) {
	s := d.Seconds()
	i, _ := slices.BinarySearch(h.bounds, s)
	h.counts[i].Add(1)
	h.sumNS.Add(int64(d))
}

// Count returns the number of observations.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

func (h *Histogram) write(w *bufio.Writer, name string) {
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i].Load()
		writeSample(w, name+"_bucket", "le", formatFloat(b), float64(cum))
	}
	cum += h.counts[len(h.bounds)].Load()
	writeSample(w, name+"_bucket", "le", "+Inf", float64(cum))
	writeSample(w, name+"_sum", "", "", time.Duration(h.sumNS.Load()).Seconds())
	writeSample(w, name+"_count", "", "", float64(cum))
}
