package durable

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/state"
)

// Namespaces of the store.
const (
	nsEmitted = "emitted" // time + alert id → nothing
	nsInputs  = "inputs"  // input name → Position (JSON)
	nsRun     = "run"     // "seq" → the next arrival number; "newest" → the newest journal time;
	// "journal" → where the journal ends (journalEnd); "outputs/<path>" → file output size
)

// Options configure a Run.
type Options struct {
	// Lookback is how far back in event time, from the newest event, the journal keeps
	// events (and the ids of the alerts written).
	Lookback time.Duration
	// TimeFields are the fields an event's time is read from (the earliest present is
	// its journal time): @timestamp and the rules' timestamp overrides.
	TimeFields []string
	// MaxFuture, when positive, is the detector's bound on how far ahead of Clock an event
	// may be stamped (detect.Options.MaxFuture): an event stamped further ahead is not
	// journalled (the detector skips it), and, as the detector's event time, the journal's
	// newest time runs no further than the clock.
	MaxFuture time.Duration
	// Clock gives the current time for MaxFuture; nil means time.Now.
	Clock func() time.Time
}

// Run is one run's link to the state directory. Record, Forget, Position and SetPosition
// are called from the input's goroutine, the sink from the detector's; checkpoints are
// taken (Snapshot) where the detector has taken in every event recorded and the sink their
// alerts, and written (Commit.Apply) on any goroutine.
type Run struct {
	st   *state.Store
	opts Options
	lb   int64
	tf   *timeFinder

	mu       sync.Mutex
	batch    *state.Batch // the rules' writes and the emitted ids, until the next checkpoint
	emitted  map[string]struct{}
	newest   int64   // the newest journal time
	pending  []entry // journalled since the last checkpoint
	chunk    []byte  // where the records of pending are written
	nextSeq  uint64
	inputs   map[string]Position
	outputs  map[string]int64 // file outputs: their size at the last checkpoint
	replayed int
	leftOut  map[string]int // alerts not written again, by rule_id
	lastDone chan struct{}  // closed once the last checkpoint taken is written

	commitMu sync.Mutex // one checkpoint written at a time
	j        *journal
	async    chan error // the checkpoint CheckpointAsync writes, or nil
}

// entry is one journalled event: its record (see journal.go) in a chunk of memory.
type entry struct {
	t   int64
	seq uint64
	rec []byte
}

// chunkSize is the memory the records of journalled events are written to, a chunk at a
// time, until a checkpoint writes them to the journal.
const chunkSize = 1 << 20

// Position is where an input file stopped: the documents processed, the offset of the
// last one and a hash of it (to see that the file is the same), and the file's identity.
type Position struct {
	Docs    int64  `json:"docs"`
	Offset  int64  `json:"offset"`
	Inode   uint64 `json:"inode"`
	Size    int64  `json:"size"`
	LastSum string `json:"last_sum"`
}

// Begin loads what the last run left in st. The journal's segment files (in st's
// directory) written after the last checkpoint are cut off.
func Begin(st *state.Store, opts Options) (*Run, error) {
	r := &Run{st: st, opts: opts, lb: int64(opts.Lookback), batch: st.NewBatch(), emitted: map[string]struct{}{}, leftOut: map[string]int{},
		inputs: map[string]Position{}, outputs: map[string]int64{}, newest: math.MinInt64}
	if len(r.opts.TimeFields) == 0 {
		r.opts.TimeFields = []string{"@timestamp"}
	}
	if r.opts.Clock == nil {
		r.opts.Clock = time.Now
	}
	r.tf = newTimeFinder(r.opts.TimeFields)
	err := st.Scan(nsEmitted, nil, nil, func(k, _ []byte) error {
		if len(k) < 8 {
			return fmt.Errorf("malformed emitted alert entry")
		}
		r.emitted[string(k[8:])] = struct{}{}
		return nil
	})
	if err == nil {
		err = st.Scan(nsInputs, nil, nil, func(k, v []byte) error {
			var p Position
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("input %s: %w", k, err)
			}
			r.inputs[string(k)] = p
			return nil
		})
	}
	var end journalEnd
	if err == nil {
		err = st.Scan(nsRun, nil, nil, func(k, v []byte) error {
			switch {
			case string(k) == "seq" && len(v) == 8:
				r.nextSeq = binary.BigEndian.Uint64(v)
			case string(k) == "newest" && len(v) == 8:
				r.newest = int64(binary.BigEndian.Uint64(v))
			case string(k) == "journal":
				var ok bool
				if end, ok = decodeJournalEnd(v); !ok {
					return fmt.Errorf("malformed journal end")
				}
			case bytes.HasPrefix(k, []byte("outputs/")) && len(v) == 8:
				r.outputs[string(k[8:])] = int64(binary.BigEndian.Uint64(v))
			}
			return nil
		})
	}
	if err == nil {
		r.j, err = openJournal(st.Dir(), end)
	}
	if err != nil {
		return nil, fmt.Errorf("state directory %s: %w", st.Dir(), err)
	}
	return r, nil
}

// RuleState is the store of the threshold and new-terms rules and of alert suppression
// (detect.Options.State; also a detect.MatchLog): their writes go into the next checkpoint.
func (r *Run) RuleState() detect.StateStore { return ruleState{r} }

type ruleState struct{ r *Run }

var _ detect.MatchLog = ruleState{}

func (s ruleState) Scan(ns string, lo, hi []byte, fn func(k, v []byte) error) error {
	return s.r.st.Scan(ns, lo, hi, fn)
}
func (s ruleState) Put(ns string, k, v []byte)           { s.r.curBatch().Put(ns, k, v) }
func (s ruleState) Delete(ns string, k []byte)           { s.r.curBatch().Delete(ns, k) }
func (s ruleState) DeleteRange(ns string, lo, hi []byte) { s.r.curBatch().DeleteRange(ns, lo, hi) }

// curBatch is the batch of the next checkpoint.
func (r *Run) curBatch() *state.Batch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.batch
}

// takenPrefix marks, among the emitted alert ids, the matches alert suppression took in
// (detect.MatchLog): they are kept, and expire, as the ids of the alerts written.
const takenPrefix = "taken:"

// Took reports whether alert suppression took in the match with this alert id.
func (s ruleState) Took(id string) bool {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	_, ok := s.r.emitted[takenPrefix+id]
	return ok
}

// Take records that alert suppression took in the match with this alert id.
func (s ruleState) Take(id string) {
	s.r.mu.Lock()
	s.r.markEmitted(takenPrefix + id)
	s.r.mu.Unlock()
}

// Replay gives fn the journalled events, in arrival order, with their arrival numbers,
// then returns how many there were. Call it once, before the first Record.
func (r *Run) Replay(ctx context.Context, fn func(doc []byte, src detect.EventSource) error) (int, error) {
	n := 0
	err := r.j.scan(func(_ entry, doc []byte, src detect.EventSource) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		n++
		return fn(doc, src)
	})
	if err != nil {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		return n, fmt.Errorf("state directory %s: %w", r.st.Dir(), err)
	}
	r.replayed = n
	return n, nil
}

// Seq returns the last arrival number given (by this run or an earlier one).
func (r *Run) Seq() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nextSeq
}

// Record journals an event the detector is about to take and returns its source with the
// run's arrival number (EventSource.Seq goes on from run to run; the detector cannot read
// a journalled event again from its file, so HasOffset is cleared).
func (r *Run) Record(doc []byte, src detect.EventSource) detect.EventSource {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextSeq++
	src.Seq, src.HasOffset, src.Offset = r.nextSeq, false, 0
	t, ok := r.tf.find(doc)
	if !ok {
		return src // no time: no rule can use it
	}
	newest := t
	if r.opts.MaxFuture > 0 {
		now := r.opts.Clock().UnixNano()
		if t > now+int64(r.opts.MaxFuture) {
			return src // the detector skips it
		}
		newest = min(t, now)
	}
	if newest > r.newest {
		r.newest = newest
	}
	n := recordSize(doc, &src)
	if len(r.chunk)+n > cap(r.chunk) {
		r.chunk = make([]byte, 0, max(chunkSize, n))
	}
	start := len(r.chunk)
	r.chunk = appendRecord(r.chunk, t, src.Seq, doc, &src)
	r.pending = append(r.pending, entry{t: t, seq: src.Seq, rec: r.chunk[start:len(r.chunk):cap(r.chunk)]})
	// Between checkpoints (a whole batch run), keep only what the look-back needs.
	if len(r.pending) >= 4096 && len(r.pending)%4096 == 0 {
		cut := r.cutoff()
		r.pending = slices.DeleteFunc(r.pending, func(e entry) bool { return e.t < cut })
	}
	return src
}

// Forget takes back the journal entry of the event Record gave src (its last call), when
// the detector did not take the event (Process failed, for example on an interrupt): its
// input position is not advanced either, so the next run reads it from its file, and
// must not also replay it from the journal.
func (r *Run) Forget(src detect.EventSource) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.pending); n > 0 && r.pending[n-1].seq == src.Seq {
		rec := r.pending[n-1].rec
		if len(r.chunk) >= len(rec) && &r.chunk[len(r.chunk)-len(rec)] == &rec[0] {
			r.chunk = r.chunk[:len(r.chunk)-len(rec)]
		}
		r.pending = r.pending[:n-1]
	}
}

// Drop takes the event with arrival number seq out of the journal when no checkpoint has
// written it yet: an event the detector refused (malformed, or stamped too far ahead),
// which a new run need not be given again.
func (r *Run) Drop(seq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := slices.BinarySearchFunc(r.pending, seq, func(e entry, seq uint64) int { return cmpU64(e.seq, seq) })
	if ok {
		r.pending = slices.Delete(r.pending, i, i+1)
	}
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cutoff is the journal time before which events are no longer needed.
func (r *Run) cutoff() int64 {
	if r.newest == math.MinInt64 {
		return math.MinInt64
	}
	return r.newest - r.lb
}

// Emitted reports whether an alert with this id was written by this run or an earlier one.
func (r *Run) Emitted(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.emitted[id]
	return ok
}

// Sink wraps the detector's sink: alerts already written are left out, and the ids of
// the others are recorded once next has taken them.
func (r *Run) Sink(next detect.Sink) detect.Sink {
	var keep []detect.Alert
	return detect.SinkFunc(func(ctx context.Context, alerts []detect.Alert) error {
		keep = keep[:0]
		r.mu.Lock()
		for _, a := range alerts {
			if _, ok := r.emitted[a.ID]; !ok {
				keep = append(keep, a)
			} else if a.Rule != nil {
				r.leftOut[a.Rule.RuleID]++
			}
		}
		r.mu.Unlock()
		if len(keep) == 0 {
			return nil
		}
		if err := next.Write(ctx, keep); err != nil {
			return err
		}
		r.mu.Lock()
		for _, a := range keep {
			r.markEmitted(a.ID)
		}
		r.mu.Unlock()
		return nil
	})
}

// markEmitted records an alert id at the newest event time (r.mu held).
func (r *Run) markEmitted(id string) {
	r.emitted[id] = struct{}{}
	t := max(r.newest, 0)
	r.batch.Put(nsEmitted, append(be64(t), id...), nil)
}

func be64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// Position returns where the input name stopped in an earlier run.
func (r *Run) Position(name string) (Position, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.inputs[name]
	return p, ok
}

// SetPosition records where the input name is now (committed at the next checkpoint).
func (r *Run) SetPosition(name string, p Position) {
	r.mu.Lock()
	r.inputs[name] = p
	r.mu.Unlock()
}

// Commit is a checkpoint taken (Snapshot) and not yet written: the events journalled
// since the last one (less those out of the look-back, which also leave the journal and
// the emitted ids), the ids of the alerts written, the rules' state, the input positions
// and the sizes of the file outputs. Apply writes it.
type Commit struct {
	r       *Run
	entries []entry
	batch   *state.Batch
	cut     int64
	prev    chan struct{} // closed once the checkpoint taken before is written
	done    chan struct{}
	err     error
}

// Snapshot takes a checkpoint. Take it where the detector has taken in every event
// recorded so far and the sink has taken their alerts; write it with Apply. Every
// checkpoint taken must be applied, in any order of calls: each is written after the one
// taken before it.
func (r *Run) Snapshot(outputs map[string]int64) *Commit {
	r.mu.Lock()
	defer r.mu.Unlock()
	cut := r.cutoff()
	es := slices.DeleteFunc(r.pending, func(e entry) bool { return e.t < cut })
	r.pending = make([]entry, 0, max(16, len(es)))
	b := r.batch
	r.batch = r.st.NewBatch()
	if cut != math.MinInt64 {
		b.DeleteRange(nsEmitted, nil, be64(max(cut, 0)))
	}
	for name, p := range r.inputs {
		v, _ := json.Marshal(p)
		b.Put(nsInputs, []byte(name), v)
	}
	b.Put(nsRun, []byte("seq"), be64(int64(r.nextSeq)))
	b.Put(nsRun, []byte("newest"), be64(r.newest))
	for path, size := range outputs {
		b.Put(nsRun, []byte("outputs/"+path), be64(size))
		r.outputs[path] = size
	}
	if r.lastDone == nil {
		r.lastDone = make(chan struct{})
		close(r.lastDone)
	}
	c := &Commit{r: r, entries: es, batch: b, cut: cut, prev: r.lastDone, done: make(chan struct{})}
	r.lastDone = c.done
	return c
}

// Apply writes the checkpoint, once the one taken before it is written: its events go to
// the journal, which is synced, then the rest, with where the journal ends, is committed
// in one transaction. A checkpoint that fails leaves the state directory as the last one
// left it, and every later one fails too. Apply returns the same error when called again.
func (c *Commit) Apply() error {
	<-c.prev
	r := c.r
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	select {
	case <-c.done:
		return c.err
	default:
	}
	defer close(c.done)
	end, err := r.j.write(c.entries)
	if err == nil {
		end.cut = c.cut
		c.batch.Put(nsRun, []byte("journal"), end.encode())
		if err = r.st.Commit(c.batch); err != nil {
			r.j.err = err
		}
	}
	if err != nil {
		c.err = fmt.Errorf("state directory %s: %w", r.st.Dir(), err)
		return c.err
	}
	r.j.committed(end)
	return nil
}

// Checkpoint takes a checkpoint (see Snapshot) and writes it, after the one
// CheckpointAsync is writing.
func (r *Run) Checkpoint(outputs map[string]int64) error {
	err := r.Wait()
	if cerr := r.Snapshot(outputs).Apply(); err == nil {
		err = cerr
	}
	return err
}

// CheckpointAsync takes a checkpoint (see Snapshot) once the one it took last is written,
// and writes it on a goroutine of its own while the caller goes on. It returns the error
// of the one before; Wait waits for it.
func (r *Run) CheckpointAsync(outputs map[string]int64) error {
	err := r.Wait()
	c := r.Snapshot(outputs)
	r.async = make(chan error, 1)
	go func(ch chan error) { ch <- c.Apply() }(r.async)
	return err
}

// Wait waits for the checkpoint CheckpointAsync is writing, if any, and returns its error.
func (r *Run) Wait() error {
	if r.async == nil {
		return nil
	}
	err := <-r.async
	r.async = nil
	return err
}

// Close waits for the checkpoint being written and closes the journal (not the store).
func (r *Run) Close() error {
	err := r.Wait()
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	if cerr := r.j.close(); err == nil {
		err = cerr
	}
	return err
}

// OutputSize returns a file output's size at the last checkpoint.
func (r *Run) OutputSize(path string) (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.outputs[path]
	return n, ok
}

// AddEmitted records ids read back from a file output (RecoverFile) as written.
func (r *Run) AddEmitted(ids []string) {
	r.mu.Lock()
	for _, id := range ids {
		if _, ok := r.emitted[id]; !ok {
			r.markEmitted(id)
		}
	}
	r.mu.Unlock()
}

// LeftOut returns, by rule_id, the alerts the sink left out because an earlier run (or
// this one) wrote them.
func (r *Run) LeftOut() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.leftOut)
}

// Replayed is the number of journalled events Replay gave.
func (r *Run) Replayed() int { return r.replayed }

// JournalStats describes the committed journal of a state directory.
type JournalStats struct {
	// Events is the journalled events a new run would be given, from First to Last in
	// event time.
	Events      int
	First, Last time.Time
	// Segments and Bytes are the journal's files and their size (records out of the
	// look-back included, until their segment is removed).
	Segments int
	Bytes    int64
}

// Journal returns what the journal of st holds.
func Journal(st *state.Store) (JournalStats, error) {
	var js JournalStats
	v, ok, err := st.Get(nsRun, []byte("journal"))
	if err != nil || !ok {
		return js, err
	}
	end, ok := decodeJournalEnd(v)
	if !ok {
		return js, errors.New("malformed journal end")
	}
	dir := filepath.Join(st.Dir(), journalDir)
	ids, err := listSegments(dir)
	if err != nil {
		return js, err
	}
	j := &journal{dir: dir, end: end}
	for _, id := range ids {
		if id > end.seg {
			break
		}
		j.segs = append(j.segs, segment{id: id})
		if fi, err := os.Stat(filepath.Join(dir, segmentName(id))); err == nil {
			js.Segments++
			js.Bytes += fi.Size()
		}
	}
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	err = j.scan(func(e entry, _ []byte, _ detect.EventSource) error {
		js.Events++
		first, last = min(first, e.t), max(last, e.t)
		return nil
	})
	if js.Events > 0 {
		js.First, js.Last = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	}
	return js, err
}

// Inputs returns the input positions a state directory holds, by name.
func Inputs(st *state.Store) (map[string]Position, error) {
	out := map[string]Position{}
	err := st.Scan(nsInputs, nil, nil, func(k, v []byte) error {
		var p Position
		if err := json.Unmarshal(v, &p); err != nil {
			return err
		}
		out[string(k)] = p
		return nil
	})
	return out, err
}

// String lists the paths of TimeFields, for messages.
func (o Options) String() string { return strings.Join(o.TimeFields, ",") }
