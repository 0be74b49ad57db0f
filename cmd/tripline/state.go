package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/valyala/fastjson"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/durable"
	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/ingest/source"
	"github.com/tripline/tripline/output"
	"github.com/tripline/tripline/rule"
	"github.com/tripline/tripline/state"
)

// stateFlags are --state-dir and its bound.
type stateFlags struct {
	dir     string
	journal time.Duration
}

func (f *stateFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.dir, "state-dir", "", "directory where the rules' state (threshold and new-terms state, suppressed alerts held, the journal of recent events that rebuilds sequences, the ids of the alerts written, where each input file stopped) is kept from run to run: the next run with the same directory goes on where this one stopped (see 'tripline state')")
	fs.DurationVar(&f.journal, "state-journal", time.Hour, "with --state-dir: the most the journal of events keeps, in event time: an event the rules still hold (in a sequence without maxspan, a sample, a rule whose index lags behind the others) is no longer kept once the newest event time is this much later than when it came; at least the largest maxspan or suppression window plus --max-lateness")
}

// checkpointEvery is how many events a streaming run takes in between checkpoints (and
// at most a second of them).
const checkpointEvery = 4096

// ruleFingerprint hashes what decides a rule set's state: each rule's uuid, version, type,
// query and the settings of its stateful kind and of its alert suppression.
func ruleFingerprint(rules []*rule.Rule) string {
	type key struct {
		UUID, Type, Language, Query, From, Interval, Override, Window string
		Version                                                       int
		Threshold                                                     *rule.Threshold
		Fields                                                        []string
		Suppression                                                   *rule.AlertSuppression `json:",omitempty"`
	}
	keys := make([]key, 0, len(rules))
	for _, r := range rules {
		keys = append(keys, key{UUID: r.UUID(), Type: r.Type, Language: r.Language, Query: r.Query, From: r.From,
			Interval: r.Interval, Override: r.TimestampOverride, Window: r.HistoryWindowStart, Version: r.Version,
			Threshold: r.Threshold, Fields: r.NewTermsFields, Suppression: r.AlertSuppression})
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.UUID < b.UUID {
			return -1
		} else if a.UUID > b.UUID {
			return 1
		}
		return 0
	})
	b, _ := json.Marshal(keys)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// journalOptions says what the journal keeps for the rules. What a restart must rebuild
// the detector tells at each checkpoint (detect.Detector.Unfinished and Held); the
// journal's bound in event time, keep (--state-journal), is raised to the largest maxspan
// and alert suppression window (plus lateness) so that it cuts only what has no bound of
// its own: sequences without maxspan, samples, and rules whose index lags behind the
// others by more than it. Samples, which Unfinished leaves out, make a streaming run keep
// that bound in full; without sequences or samples nothing outlives a run over whole
// files. The time fields are @timestamp and the overrides of the rules that keep events.
func journalOptions(rules []*rule.Rule, lateness, keep time.Duration) durable.Options {
	opts := durable.Options{Keep: keep, TimeFields: []string{"@timestamp"}}
	for _, r := range rules {
		var reach time.Duration
		holds := false
		if r.Language == "eql" {
			if stmt, err := eql.Parse(r.Query); err == nil {
				switch q := stmt.Query.(type) {
				case *eql.Sequence:
					holds, opts.Holds = true, true
					if q.MaxSpan != nil {
						reach = q.MaxSpan.Std()
						opts.Keep = max(opts.Keep, reach+lateness)
					}
				case *eql.Sample:
					holds, opts.Samples, opts.Holds = true, true, true
				}
			}
		}
		if s := r.AlertSuppression; s != nil {
			holds = true
			window := s.Duration.Window()
			if window == 0 {
				window, _ = rule.ParseInterval(r.Interval)
			}
			opts.Keep = max(opts.Keep, window+reach+lateness)
		}
		if holds && r.TimestampOverride != "" && !slices.Contains(opts.TimeFields, r.TimestampOverride) {
			opts.TimeFields = append(opts.TimeFields, r.TimestampOverride)
		}
	}
	return opts
}

// stateRun is a run of detect with --state-dir.
type stateRun struct {
	st      *state.Store
	run     *durable.Run
	outputs []string // the paths of the file outputs
	stderr  io.Writer
	inputs  map[string]*inputPos // by source name, this run
	last    time.Time
	n       int
}

// inputPos follows one input file of this run.
type inputPos struct {
	abs     string
	resume  *durable.Position // where the last run stopped, when it is the same file
	docs    int64
	pos     durable.Position
	skipped bool // the file changed: the rest is not read
}

// openState opens --state-dir for the rules of df (read here for their fingerprint) and
// reads back the tail of the file outputs written after the last checkpoint. in gives the
// reordering buffer's lateness and, for a streaming run, the bound on future timestamps.
func openState(ctx context.Context, sf *stateFlags, df *detectFlags, in *inputFlags, streaming bool, stderr io.Writer) (*stateRun, error) {
	set, err := rule.Load(ctx, df.rules...)
	if err != nil {
		return nil, err
	}
	if len(df.ruleTypes) > 0 {
		selectRuleTypes(set, df.ruleTypes) // the rules that run: their journal, their fingerprint
	}
	meta := state.Meta{Format: state.Format, Tripline: version, Fingerprint: ruleFingerprint(set.Rules), Rules: len(set.Rules)}
	st, err := state.Open(sf.dir, meta)
	if err != nil {
		return nil, exitWith(exitUsage, err)
	}
	opts := journalOptions(set.Rules, in.maxLateness, sf.journal)
	opts.Batch = !streaming
	if streaming {
		opts.MaxFuture = in.maxFuture
	}
	run, err := durable.Begin(st, opts)
	if err != nil {
		st.Close()
		return nil, exitWith(exitFailure, err)
	}
	s := &stateRun{st: st, run: run, stderr: stderr, inputs: map[string]*inputPos{}, last: time.Now()}
	for _, spec := range df.outputs {
		if o, err := output.Parse(spec); err == nil && o.Kind == output.KindFile {
			s.outputs = append(s.outputs, o.Path)
			if err := s.recoverFile(o.Path); err != nil {
				st.Close()
				return nil, exitWith(exitFailure, err)
			}
		}
	}
	return s, nil
}

// recoverFile reads the alerts a crash left in a file output after the last checkpoint:
// their ids count as written; a last line left half written is cut off.
func (s *stateRun) recoverFile(path string) error {
	from, ok := s.run.OutputSize(path)
	if !ok {
		from = 0
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil // a device or a pipe: nothing to read back
	}
	if fi.Size() < from { // rotated or replaced: read it all
		from = 0
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return err
	}
	var ids []string
	var p fastjson.Parser
	r := bufio.NewReaderSize(f, 1<<20)
	end := from
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 {
				// A line without its newline: the crash cut it.
				if err := f.Truncate(end); err != nil {
					return fmt.Errorf("output %s: %w", path, err)
				}
				fmt.Fprintf(s.stderr, "tripline: state: output %s ended in a half-written alert (%d bytes), removed\n", path, len(line))
			}
			break
		}
		if err != nil {
			return fmt.Errorf("output %s: %w", path, err)
		}
		end += int64(len(line))
		if v, err := p.ParseBytes(bytes.TrimSpace(line)); err == nil {
			if id := v.GetStringBytes("kibana.alert.uuid"); id != nil {
				ids = append(ids, string(id))
			}
		}
	}
	s.run.AddEmitted(ids)
	return nil
}

// replay gives the detector the journal of the last run; the checkpoints ask it what it
// still holds.
func (s *stateRun) replay(ctx context.Context, d *detect.Detector) error {
	s.run.Track(d)
	_, err := s.run.Replay(ctx, func(doc []byte, src detect.EventSource) error { return d.Process(ctx, doc, src) })
	return err
}

// process gives the detector one document of the input, unless an earlier run processed
// it, and journals it; streaming runs checkpoint every few thousand events or second.
func (s *stateRun) processDoc(ctx context.Context, d *detect.Detector, doc source.Doc, streaming bool) error {
	ip := s.input(doc.Source)
	if ip.skipped {
		return nil
	}
	ip.docs++
	sum := strconv.FormatUint(uint64(crc32.ChecksumIEEE(doc.Bytes)), 16)
	if ip.resume != nil && ip.docs <= ip.resume.Docs {
		if ip.docs == ip.resume.Docs && sum != ip.resume.LastSum {
			ip.skipped = true
			fmt.Fprintf(s.stderr, "tripline: state: %s changed since the last run (its document %d is not the one processed then): the rest of it is not read; give the changed file another name, or clear the state with 'tripline state reset'\n", doc.Source, ip.docs)
		}
		return nil
	}
	src := s.run.Record(doc.Bytes, detect.SourceOf(doc))
	if err := d.Process(ctx, doc.Bytes, src); err != nil {
		s.run.Forget(src) // not processed: read from the file next time, not replayed too
		return err
	}
	if ip.abs != "" {
		ip.pos.Docs, ip.pos.Offset, ip.pos.LastSum = ip.docs, doc.Offset, sum
		ip.pos.Size = max(doc.Offset, 0) + int64(len(doc.Bytes))
		s.run.SetPosition(ip.abs, ip.pos)
	}
	s.n++
	if streaming && (s.n%checkpointEvery == 0 || time.Since(s.last) > time.Second) {
		// Written while the next events are processed; the one before is written by now.
		return s.run.CheckpointAsync(s.outputSizes())
	}
	return nil
}

// input returns what is known of the input named name (a file, or "-").
func (s *stateRun) input(name string) *inputPos {
	if ip := s.inputs[name]; ip != nil {
		return ip
	}
	ip := &inputPos{}
	s.inputs[name] = ip
	if name == "-" {
		return ip
	}
	abs, err := filepath.Abs(name)
	fi, serr := os.Stat(name)
	if err != nil || serr != nil {
		return ip
	}
	ip.abs = abs
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ip.pos.Inode = st.Ino
	}
	if p, ok := s.run.Position(abs); ok {
		if p.Inode == ip.pos.Inode {
			ip.resume = &p
		} else {
			fmt.Fprintf(s.stderr, "tripline: state: %s is not the file read by the last run (another inode): read from its start\n", name)
		}
	}
	return ip
}

// outputSizes returns the sizes of the file outputs now, for a checkpoint.
func (s *stateRun) outputSizes() map[string]int64 {
	sizes := map[string]int64{}
	for _, p := range s.outputs {
		if fi, err := os.Stat(p); err == nil {
			sizes[p] = fi.Size()
		}
	}
	s.last = time.Now()
	return sizes
}

// finish reports inputs shorter than where the last run stopped, takes the last
// checkpoint and closes the store.
func (s *stateRun) finish(checkpoint bool) error {
	if s == nil {
		return nil
	}
	for name, ip := range s.inputs {
		if ip.resume != nil && !ip.skipped && ip.docs < ip.resume.Docs {
			fmt.Fprintf(s.stderr, "tripline: state: %s has %d documents, fewer than the %d the last run processed: it changed since\n", name, ip.docs, ip.resume.Docs)
		}
	}
	var err error
	if checkpoint {
		err = s.run.Checkpoint(s.outputSizes())
	}
	if cerr := s.run.Close(); err == nil {
		err = cerr
	}
	if cerr := s.st.Close(); err == nil {
		err = cerr
	}
	return err
}

func newStateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Inspect or clear a --state-dir",
		Long: `A state directory (--state-dir of detect and serve) keeps what a run hands to the next one:
the threshold and new-terms rules' state, the suppressed alerts held, a journal of the recent
events that rebuilds partial sequences, the ids of the alerts written, and where each input
file stopped. It records the format, the Tripline version and a fingerprint of the rule set:
another rule set is refused.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "inspect DIR",
		Short: "Show a state directory: version, rule set, sizes per namespace, journal span, inputs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return inspectState(cmd.OutOrStdout(), args[0])
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "reset DIR",
		Short: "Remove the state kept in a state directory",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := state.Reset(args[0]); err != nil {
				return exitWith(exitFailure, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "state in %s removed\n", args[0])
			return nil
		},
	})
	return cmd
}

// inspectState prints what a state directory holds.
func inspectState(w io.Writer, dir string) error {
	st, err := state.OpenExisting(dir)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	defer st.Close()
	m := st.Meta()
	fmt.Fprintf(w, "state directory %s\n", dir)
	fmt.Fprintf(w, "  format %d, written by Tripline %s\n", m.Format, m.Tripline)
	fmt.Fprintf(w, "  rule set: %d rules, fingerprint %s\n", m.Rules, m.Fingerprint)
	stats, err := st.Stats()
	if err != nil {
		return exitWith(exitFailure, err)
	}
	fmt.Fprintf(w, "  %-60s %8s %10s\n", "NAMESPACE", "KEYS", "BYTES")
	for _, s := range stats {
		fmt.Fprintf(w, "  %-60s %8d %10d\n", s.Namespace, s.Keys, s.Bytes)
	}
	js, err := durable.Journal(st)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	if js.Events == 0 {
		fmt.Fprintf(w, "  journal: empty (%d bytes in %d files)\n", js.Bytes, js.Segments)
	} else {
		fmt.Fprintf(w, "  journal: %d events, %s .. %s (%d bytes in %d files)\n", js.Events,
			js.First.Format(time.RFC3339Nano), js.Last.Format(time.RFC3339Nano), js.Bytes, js.Segments)
	}
	ins, err := durable.Inputs(st)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	names := make([]string, 0, len(ins))
	for k := range ins {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		p := ins[k]
		fmt.Fprintf(w, "  input %s: %d documents, up to byte %d (inode %d)\n", k, p.Docs, p.Size, p.Inode)
	}
	return nil
}

// openState opens --state-dir when given (nil otherwise; the stateRun methods take nil).
func (o *detectOptions) openState(ctx context.Context, stderr io.Writer) (*stateRun, error) {
	if o.state.dir == "" {
		return nil, nil
	}
	if url, err := streamArg(o.args); err == nil && url != "" {
		return nil, exitWith(exitUsage, errors.New("--state-dir: a Kafka or NATS input keeps its place with its consumer group; --state-dir is for files and standard input"))
	}
	return openState(ctx, &o.state, &o.df, &o.in, o.in.follow, stderr)
}

// retry writes to sink the alerts the last runs could not write to any output (nor to a
// dead-letter file), and says so on stderr.
func (s *stateRun) retry(ctx context.Context, sink detect.Sink) error {
	if s == nil {
		return nil
	}
	written, unsent, err := s.run.Retry(ctx, sink)
	if written > 0 {
		fmt.Fprintf(s.stderr, "tripline: state: %s that the last run could not write: written now\n", plural(int64(written), "alert"))
	}
	if unsent > 0 {
		fmt.Fprintf(s.stderr, "tripline: state: %s that the last run could not write: still not written, kept for the next run\n", plural(int64(unsent), "alert"))
	}
	return err
}

// sink wraps the detector's sink (s nil: as it is).
func (s *stateRun) sink(next detect.Sink) detect.Sink {
	if s == nil {
		return next
	}
	return s.run.Sink(next)
}

// tune gives the detector the rules' store; the input is not read again (the journal's
// events are not in it): sequences out of order go through the spill file. The journal's
// events, numbered up to the last run's last arrival number, are counted apart.
func (s *stateRun) tune(opts *detect.Options) {
	if s == nil {
		return
	}
	opts.State, opts.Replay, opts.Origin = s.run.RuleState(), nil, nil
	opts.Replayed = s.run.Seq()
}

// process returns readFiles's function for a run with --state-dir (nil without).
func (s *stateRun) process(streaming bool) func(context.Context, *detect.Detector, source.Doc) error {
	if s == nil {
		return nil
	}
	return func(ctx context.Context, d *detect.Detector, doc source.Doc) error {
		return s.processDoc(ctx, d, doc, streaming)
	}
}

// adjust takes out of the report's alert counts those the sink left out as written by an
// earlier run (the journal's events give their alerts again).
func (s *stateRun) adjust(rep *runReport) {
	if s == nil {
		return
	}
	left := s.run.LeftOut()
	for _, rs := range rep.Run.Rules {
		if n := left[rs.RuleID]; n > 0 {
			rs.Alerts -= n
			rep.Run.Alerts -= int64(n)
		}
	}
}
