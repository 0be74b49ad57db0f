package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/ingest/source"
	"github.com/tripline/tripline/rule"
	"github.com/tripline/tripline/stream"
)

// repartition is a detect run over a Kafka topic that shares its sequences and samples out
// by join key (stream's doc.go, "Scaling out"): the detector reading the topic runs the
// other rules and sends each event that a sequence or sample stage can take to the
// partitions of GROUP-repartition owning its join keys; a detector per partition of that
// topic this process owns (newHandler) runs the sequences and samples over them.
type repartition struct {
	opts  detect.Options // the detector's options, for the partitions' detectors
	rules []*rule.Rule
	sink  detect.Sink // shared by every detector of the process: lockedSink

	n       int32 // partitions of the repartition topic
	w       *stream.RepartitionWriter
	dests   []int32 // Send's scratch
	lastSrc string
	lastP   int32

	mu   sync.Mutex
	sums []*detect.Summary // of the partitions' detectors closed
}

// newRepartition returns the repartitioning of a detect run over url, or nil when it is
// not one: not a Kafka URL, or ?repartition=false.
func newRepartition(url string) *repartition {
	if !strings.HasPrefix(url, "kafka://") {
		return nil
	}
	cfg, err := stream.Parse(url)
	if err != nil || cfg.Kafka == nil || cfg.Kafka.NoRepartition {
		return nil // a bad URL is reported when it is opened
	}
	return &repartition{}
}

// tuner returns tune, or a function that changes nothing for no repartitioning.
func (rp *repartition) tuner() func(*detect.Options) {
	if rp == nil {
		return func(*detect.Options) {}
	}
	return rp.tune
}

// active reports whether the rules have sequences or samples to share out.
func (rp *repartition) active() bool {
	return rp != nil && slices.ContainsFunc(rp.rules, detect.IsJoinRule)
}

// tune keeps the detector's options for the partitions' detectors and makes the reading
// detector report the join keys of its events instead of matching sequences and samples,
// and match late events at once with its event rules.
func (rp *repartition) tune(opts *detect.Options) {
	rp.opts = *opts
	opts.Repartition = rp.send
	// A partition taken over from a process that stopped is read again from its committed
	// offset, older than the events of the others: its event alerts are not lost for that.
	opts.TakeLate = true
}

// send sends an event to the repartition partitions that own its join keys (every event:
// those without keys move its input partition's watermark on).
func (rp *repartition) send(r *detect.Repartitioned) {
	if rp.w == nil {
		return
	}
	if r.Source.Name != rp.lastSrc {
		rp.lastSrc, rp.lastP = r.Source.Name, -1
		if i := strings.LastIndexByte(r.Source.Name, '/'); i >= 0 {
			if p, err := strconv.ParseInt(r.Source.Name[i+1:], 10, 32); err == nil {
				rp.lastP = int32(p)
			}
		}
	}
	if rp.lastP < 0 {
		return
	}
	rp.dests = rp.dests[:0]
	var key []byte
	for _, k := range r.Keys {
		p := stream.KeyPartition(k.Signature, k.Key, rp.n)
		if !slices.Contains(rp.dests, p) {
			rp.dests = append(rp.dests, p)
		}
		if key == nil {
			key = append(append([]byte(k.Signature), 0), k.Key...)
		}
	}
	rp.w.Send(stream.RepartitionEvent{Partition: rp.lastP, Offset: int64(r.Source.Line), Seq: r.Source.Seq,
		Time: r.Time, HasTime: r.HasTime, Doc: r.Doc, Key: key}, rp.dests)
}

// repHandler runs the sequences and samples of the join keys one repartition partition
// owns.
type repHandler struct {
	rp *repartition
	d  *detect.Detector
}

// newHandler builds the detector of repartition partition p: the rules and options of the
// reading detector, restricted to the join keys p owns. (A rule state store per partition,
// when there is one, would be given here.)
func (rp *repartition) newHandler(p int32) (stream.PartitionHandler, error) {
	opts := rp.opts
	opts.Repartition = nil
	opts.OwnsKey = func(sig string, key []byte) bool { return stream.KeyPartition(sig, key, rp.n) == p }
	d, err := detect.New(rp.rules, rp.sink, opts)
	if err != nil {
		return nil, fmt.Errorf("repartition partition %d: %w", p, err)
	}
	return &repHandler{rp: rp, d: d}, nil
}

func (h *repHandler) Process(ctx context.Context, ev stream.RepartitionedEvent) error {
	return h.d.Process(ctx, ev.Doc, detect.EventSource{Name: ev.Source, Line: int(ev.Position), Seq: ev.Seq})
}

func (h *repHandler) Unfinished() (uint64, bool) { return h.d.Unfinished() }

func (h *repHandler) Close(ctx context.Context, finish bool) error {
	var err error
	if finish {
		err = h.d.Close(ctx)
	}
	h.rp.mu.Lock()
	h.rp.sums = append(h.rp.sums, h.d.Summary())
	h.rp.mu.Unlock()
	return err
}

// fold adds the counts of the partitions' detectors to the reading detector's summary:
// the sequences' and samples' matches and alerts, and the events they could not use.
func (rp *repartition) fold(sum *detect.Summary) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	byID := map[string]*detect.RuleStats{}
	for _, rs := range sum.Rules {
		byID[rs.RuleID] = rs
	}
	for _, s := range rp.sums {
		sum.Alerts += s.Alerts
		sum.AlertsNotWritten += s.AlertsNotWritten
		sum.EventsUnused += s.EventsUnused
		for _, r := range s.Rules {
			if t := byID[r.RuleID]; t != nil {
				t.Matches += r.Matches
				t.Capped += r.Capped
				t.Alerts += r.Alerts
				t.Suppressed += r.Suppressed
			}
		}
		for _, w := range s.Warnings {
			if !slices.Contains(sum.Warnings, w) {
				sum.Warnings = append(sum.Warnings, w)
			}
		}
	}
	rp.sums = nil
}

// lockedSink serialises the writes of the detectors of a process, which run on two
// goroutines.
type lockedSink struct {
	mu sync.Mutex
	s  detect.Sink
}

func (l *lockedSink) Write(ctx context.Context, alerts []detect.Alert) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Write(ctx, alerts)
}

// readRepartitioned is readStream for a run that repartitions: the detector d reads the
// topic and sends events to GROUP-repartition (created when missing), whose partitions
// this process owns are read, merged and matched on another goroutine until ctx is
// cancelled. A message of the input topic is committed once d is finished with its events
// and the brokers have their copies. The returned closer, called after d's Close and the
// outputs', commits what was finished and leaves both groups.
func (rp *repartition) readRepartitioned(ctx context.Context, url string, f *inputFlags, sf *streamFlags, stderr io.Writer,
	d *detect.Detector) (source.Stats, func() error, error) {
	cred, err := sf.credentials(url)
	if err != nil {
		return source.Stats{}, nil, err
	}
	wait := sf.partitionWait
	if wait <= 0 {
		wait = -1
	}
	var kcfg stream.KafkaConfig
	s, err := stream.OpenDocs(ctx, url, cred, func(cfg *stream.Config) {
		cfg.Kafka.PartitionWait = wait
		kcfg = *cfg.Kafka
	}, f.sourceOptions(nil, stderr))
	if err != nil {
		return source.Stats{}, nil, err
	}
	topic := stream.RepartitionTopic(kcfg.Group)
	n, inputs, err := stream.EnsureRepartitionTopic(ctx, kcfg, topic, kcfg.RepartitionPartitions)
	if err != nil {
		s.Close()
		return source.Stats{}, nil, err
	}
	rp.n = n
	rp.w, err = stream.NewRepartitionWriter(kcfg, topic, n, 0, s.Kafka().Progress)
	if err != nil {
		s.Close()
		return source.Stats{}, nil, err
	}
	// A message is committed once the detector is finished with its events and the brokers
	// have their copies; one by one, so that the messages of a partition taken over from a
	// process that stopped, older than the events held, are committed as they are finished.
	s.CommitHeld(func(each func(seq uint64)) bool {
		if !d.HeldSeqs(each) {
			return false
		}
		rp.w.EachUnacked(each)
		return true
	})
	// Both halves stop when ctx is cancelled, or when the other fails.
	rctx, cancel := context.WithCancel(ctx)
	notice := func(msg string) { fmt.Fprintf(stderr, "tripline: %s\n", msg) }
	rr, err := stream.OpenRepartitioned(rctx, stream.RepartitionConfig{Kafka: kcfg, InputPartitions: inputs,
		SourceWait: kcfg.SourceWait, Notice: notice}, rp.newHandler)
	if err != nil {
		cancel()
		rp.w.Close(ctx)
		s.Close()
		return source.Stats{}, nil, err
	}
	down := make(chan error, 1)
	go func() {
		err := rr.Run()
		if err != nil {
			cancel()
		}
		down <- err
	}()
	err = eachDoc(s, func(doc source.Doc) error {
		if err := rp.w.Err(); err != nil {
			return err
		}
		return d.Process(rctx, doc.Bytes, detect.SourceOf(doc))
	})
	cancel()
	// The partitions' detectors are closed (their alerts written) before the outputs are.
	derr := <-down
	rp.fold(d.Summary())
	closer := func() error {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer ccancel()
		werr := rp.w.Close(cctx)
		return errors.Join(werr, s.Close(), rr.Close())
	}
	if err == nil {
		err = derr
	}
	return s.Stats(), closer, err
}
