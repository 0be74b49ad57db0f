package server

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// latencyBuckets returns the bounds, in seconds, of tripline_ingest_duration_seconds.
func latencyBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// registerMetrics creates the server's metrics on a registry of its own, with the process
// and Go runtime collectors and the caller's (Config.Collectors), and the /metrics handler.
func (s *Server) registerMetrics(extra []prometheus.Collector) error {
	s.eventsIn = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tripline_events_received_total",
		Help: "Events accepted from clients and handed to detection.",
	})
	s.eventsRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tripline_events_rejected_total",
		Help: "Events refused one by one inside accepted requests, by Elasticsearch error type.",
	}, []string{"reason"})
	s.requestsRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tripline_requests_rejected_total",
		Help: "Requests refused as a whole, by reason.",
	}, []string{"reason"})
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tripline_http_requests_total",
		Help: "HTTP requests answered, by status code.",
	}, []string{"code"})
	s.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "tripline_ingest_duration_seconds",
		Help:    "Time to parse a request's events and hand them to detection, in seconds.",
		Buckets: latencyBuckets(),
	})
	reg := prometheus.NewRegistry()
	cs := []prometheus.Collector{
		s.eventsIn, s.eventsRejected, s.requestsRejected, s.requests, s.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tripline_http_requests_in_flight",
			Help: "HTTP requests being processed.",
		}, func() float64 { return float64(s.inFlight.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tripline_http_request_bytes_in_flight",
			Help: "Body bytes held by the requests being processed (limit: MaxInFlightBytes).",
		}, func() float64 { return float64(s.inFlightBytes.Load()) }),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
	}
	for _, c := range append(cs, extra...) {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("server: metrics: %w", err)
		}
	}
	s.metricsHandler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
	return nil
}

// counts returns the values of a counter, or of a counter family with one label, by label
// value ("" for a counter without labels).
func counts(c prometheus.Collector) map[string]uint64 {
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	out := make(map[string]uint64)
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) != nil {
			continue
		}
		label := ""
		if len(pb.GetLabel()) > 0 {
			label = pb.GetLabel()[0].GetValue()
		}
		out[label] = uint64(pb.GetCounter().GetValue())
	}
	return out
}
