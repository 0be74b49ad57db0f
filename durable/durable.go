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
	"github.com/tripline/tripline/rule"
	"github.com/tripline/tripline/state"
)

// Namespaces of the store.
const (
	nsEmitted = "emitted" // arrival number + alert id → nothing (see markEmitted)
	nsUnsent  = "unsent"  // alert id → the alert (JSON, unsentAlert): written to no output (see Sink)
	nsInputs  = "inputs"  // input name → Position (JSON)
	nsRun     = "run"     // "seq" → the next arrival number; "newest" → the newest journal time;
	// "journal" → where the journal ends (journalEnd); "outputs/<path>" → file output size;
	// "marks" → the journal's marks (see mark)
)

// pinned is the arrival number of the ids read back from a file output after a crash
// (AddEmitted): the events that give them are read again from the input, later, with
// arrival numbers not known yet, and set it when they do (see Sink).
const pinned = math.MaxUint64

// Options configure a Run.
type Options struct {
	// Keep bounds the journal in event time: an event that came while the newest event
	// time read was more than Keep before the newest now is no longer kept, even when the
	// detector still holds it (a sequence without maxspan begun earlier, the events of a
	// rule whose index lags behind the others by more); a run over whole files journals no
	// event whose time is more than Keep before the newest. The ids of the alerts written go
	// with the journal's events.
	Keep time.Duration
	// Samples says that the rules include samples, which detect.Detector.Unfinished leaves
	// out: a streaming run's journal then keeps the events of the last Keep whatever the
	// detector holds.
	Samples bool
	// Batch says that the detector matches the whole input, in event-time order, at its
	// Close (detect over whole files): the events go to spill files as they come (when
	// Holds; otherwise they are only numbered), and the checkpoint taken after Close
	// journals those from the time of the oldest the detector still holds (Held) on.
	Batch bool
	// Holds says that the rules can hold events past a batch run's end: they include
	// sequences or samples.
	Holds bool
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

// Detector is what a Run asks the detector at a checkpoint (detect.Detector implements it):
// Unfinished, in a streaming run, for the oldest event it still needs; Held, in a batch
// run once it is closed, for the events it still holds.
type Detector interface {
	Unfinished() (seq uint64, ok bool)
	Held(fn func(doc []byte, src detect.EventSource) error) error
}

// Run is one run's link to the state directory. Record, Forget, Position and SetPosition
// are called from the input's goroutine, the sink from the detector's; checkpoints are
// taken (Snapshot) where the detector has taken in every event recorded and the sink their
// alerts, and written (Commit.Apply) on any goroutine.
type Run struct {
	st   *state.Store
	opts Options
	keep int64
	step int64 // how far the newest time moves on between two marks
	tf   *timeFinder
	det  Detector

	mu       sync.Mutex
	batch    *state.Batch // the rules' writes and the emitted ids, until the next checkpoint
	emitted  map[string]uint64
	emitQ    []emittedID // the ids of emitted by arrival number (some stale: see trimEmitted)
	newest   int64       // the newest journal time
	marks    []mark
	pending  []entry // journalled since the last checkpoint
	pendingN int     // their bytes
	chunk    []byte  // where the records of pending are written
	nextSeq  uint64
	cut      uint64 // the journal's last cut: it never goes back
	inputs   map[string]Position
	outputs  map[string]int64 // file outputs: their size at the last checkpoint
	replayed int
	leftOut  map[string]int      // alerts not written again, by rule_id
	unsent   map[string]struct{} // the ids of nsUnsent
	lastDone chan struct{}       // closed once the last checkpoint taken is written

	commitMu sync.Mutex // one checkpoint written at a time
	j        *journal
	async    chan error // the checkpoint CheckpointAsync writes, or nil
}

// emittedID is an id of emitted and the arrival number it was recorded with.
type emittedID struct {
	seq uint64
	id  string
}

// mark says that the events numbered below seq came while the newest journal time was at
// most newest: the journal's bound in event time (Options.Keep) is a bound in arrival
// numbers, the largest seq of a mark more than Keep before the newest time.
type mark struct {
	newest int64
	seq    uint64
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

// spillAt is the bytes of records a batch run holds in memory before it writes them to
// its spill files.
const spillAt = 16 << 20

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
	r := &Run{st: st, opts: opts, keep: int64(opts.Keep), step: int64(opts.Keep / 64), batch: st.NewBatch(),
		emitted: map[string]uint64{}, leftOut: map[string]int{}, unsent: map[string]struct{}{},
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
		seq, id := binary.BigEndian.Uint64(k), string(k[8:])
		if old, ok := r.emitted[id]; !ok || seq > old {
			r.emitted[id] = seq
		}
		if seq != pinned {
			r.emitQ = append(r.emitQ, emittedID{seq, id})
		}
		return nil
	})
	if err == nil {
		err = st.Scan(nsUnsent, nil, nil, func(k, _ []byte) error {
			r.unsent[string(k)] = struct{}{}
			return nil
		})
	}
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
			case string(k) == "marks":
				if len(v)%16 != 0 {
					return fmt.Errorf("malformed journal marks")
				}
				for ; len(v) > 0; v = v[16:] {
					r.marks = append(r.marks, mark{int64(binary.BigEndian.Uint64(v)), binary.BigEndian.Uint64(v[8:])})
				}
			case bytes.HasPrefix(k, []byte("outputs/")) && len(v) == 8:
				r.outputs[string(k[8:])] = int64(binary.BigEndian.Uint64(v))
			}
			return nil
		})
	}
	if err == nil {
		r.cut = end.cut
		r.j, err = openJournal(st.Dir(), end)
	}
	if err != nil {
		return nil, fmt.Errorf("state directory %s: %w", st.Dir(), err)
	}
	return r, nil
}

// Track gives the Run the detector it asks at each checkpoint what it still needs. Without
// one, a streaming run's journal keeps every event within Options.Keep, and a batch run's
// journals none.
func (r *Run) Track(d Detector) { r.det = d }

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

// Record journals an event the detector is about to take (in a batch run it only numbers
// it) and returns its source with the run's arrival number (EventSource.Seq goes on from
// run to run; the detector cannot read a journalled event again from its file, so
// HasOffset is cleared).
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
		if n := len(r.marks); n == 0 || newest-r.marks[n-1].newest > r.step {
			// This event and the ones before came while the newest time was at most newest.
			r.marks = append(r.marks, mark{newest, src.Seq + 1})
		} else {
			r.marks[n-1] = mark{newest, src.Seq + 1}
		}
		r.newest = newest
	}
	if r.opts.Batch && !r.opts.Holds {
		return src // nothing outlives the run
	}
	n := recordSize(doc, &src)
	if len(r.chunk)+n > cap(r.chunk) {
		r.chunk = make([]byte, 0, max(chunkSize, n))
	}
	start := len(r.chunk)
	r.chunk = appendRecord(r.chunk, t, src.Seq, doc, &src)
	r.pending = append(r.pending, entry{t: t, seq: src.Seq, rec: r.chunk[start:len(r.chunk):cap(r.chunk)]})
	r.pendingN += n
	if r.opts.Batch && r.pendingN >= spillAt {
		r.spill()
	}
	return src
}

// spill writes pending to the spill files, less the events more than Keep before the
// newest time (r.mu held). The last one stays, for Forget.
func (r *Run) spill() {
	limit := r.limit()
	last := r.pending[len(r.pending)-1]
	es := slices.DeleteFunc(r.pending[:len(r.pending)-1], func(e entry) bool { return e.t < limit })
	r.commitMu.Lock()
	_ = r.j.spill(es, limit) // a failure fails the checkpoint (journal.err)
	r.commitMu.Unlock()
	r.pending = append(make([]entry, 0, 4096), last)
	r.pendingN = len(last.rec)
	r.chunk = nil // the last record keeps its chunk; the next ones take a new one
}

// limit is the event time before which Keep drops events (r.mu held).
func (r *Run) limit() int64 {
	if r.newest == math.MinInt64 {
		return math.MinInt64
	}
	return r.newest - r.keep
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

// bound is the arrival number below which Options.Keep drops events: the seq of the last
// mark more than Keep before the newest time (r.mu held). Marks older than that one go.
func (r *Run) bound() uint64 {
	if r.newest == math.MinInt64 {
		return 0
	}
	limit := r.newest - r.keep
	i := 0
	for i < len(r.marks) && r.marks[i].newest < limit {
		i++
	}
	if i == 0 {
		return 0
	}
	b := r.marks[i-1].seq
	r.marks = r.marks[i-1:]
	return b
}

// Emitted reports whether an alert with this id was written by this run or an earlier one.
func (r *Run) Emitted(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.emitted[id]
	return ok
}

// Deliverer is a sink that tells whether it wrote the alerts it was given
// (output.Delivery): Deliver returns nil where a write that failed does not stop the
// run, and written false when the alerts reached no output (nor a dead-letter file).
type Deliverer interface {
	Deliver(ctx context.Context, alerts []detect.Alert) (written bool, err error)
}

// Sink wraps the detector's sink: alerts already written are left out, and the ids of
// the others are recorded once next has written them. Alerts next did not write (a
// Deliverer that says so) are recorded as unsent instead, with their documents: the next
// run writes them first (Retry), unless they were written meanwhile. A next that is no
// Deliverer has written what its Write took without an error.
func (r *Run) Sink(next detect.Sink) detect.Sink {
	var keep []detect.Alert
	return detect.SinkFunc(func(ctx context.Context, alerts []detect.Alert) error {
		keep = keep[:0]
		r.mu.Lock()
		for _, a := range alerts {
			if _, ok := r.emitted[a.ID]; !ok {
				keep = append(keep, a)
				continue
			}
			if a.Rule != nil {
				r.leftOut[a.Rule.RuleID]++
			}
			// Given again by events numbered up to now (replayed, read again after a
			// crash, or sent twice): the id stays as long as they are in the journal.
			r.markEmitted(a.ID)
		}
		r.mu.Unlock()
		if len(keep) == 0 {
			return nil
		}
		written := true
		var err error
		if d, ok := next.(Deliverer); ok {
			written, err = d.Deliver(ctx, keep)
		} else {
			err = next.Write(ctx, keep)
		}
		if err != nil {
			return err
		}
		r.mu.Lock()
		for _, a := range keep {
			if written {
				r.markEmitted(a.ID)
				if _, ok := r.unsent[a.ID]; ok {
					delete(r.unsent, a.ID)
					r.batch.Delete(nsUnsent, []byte(a.ID))
				}
			} else if _, ok := r.unsent[a.ID]; !ok {
				r.unsent[a.ID] = struct{}{}
				r.batch.Put(nsUnsent, []byte(a.ID), encodeUnsent(a))
			}
		}
		r.mu.Unlock()
		return nil
	})
}

// unsentAlert is an alert no output took, as the store keeps it.
type unsentAlert struct {
	RuleID string           `json:"rule_id"`
	Name   string           `json:"name"`
	Kind   detect.AlertKind `json:"kind"`
	Doc    json.RawMessage  `json:"doc"`
}

func encodeUnsent(a detect.Alert) []byte {
	u := unsentAlert{Kind: a.Kind, Doc: a.Doc}
	if a.Rule != nil {
		u.RuleID, u.Name = a.Rule.RuleID, a.Rule.Name
	}
	b, _ := json.Marshal(u)
	return b
}

// Retry writes, through Sink(next), the alerts the last runs wrote to no output (in the
// order of their ids), but those written since, and returns how many it wrote and how
// many are still unsent (kept for the next run). Call it before the detector writes.
func (r *Run) Retry(ctx context.Context, next detect.Sink) (written, unsent int, err error) {
	var alerts []detect.Alert
	err = r.st.Scan(nsUnsent, nil, nil, func(k, v []byte) error {
		var u unsentAlert
		if err := json.Unmarshal(v, &u); err != nil {
			return fmt.Errorf("unsent alert %s: %w", k, err)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if _, ok := r.emitted[string(k)]; ok { // written since (read back from a file output)
			delete(r.unsent, string(k))
			r.batch.Delete(nsUnsent, k)
			return nil
		}
		alerts = append(alerts, detect.Alert{ID: string(k), Kind: u.Kind, Doc: u.Doc, Rule: &rule.Rule{RuleID: u.RuleID, Name: u.Name}})
		return nil
	})
	if err != nil || len(alerts) == 0 {
		return 0, 0, err
	}
	if err := r.Sink(next).Write(ctx, alerts); err != nil {
		return 0, len(alerts), err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range alerts {
		if _, ok := r.unsent[a.ID]; ok {
			unsent++
		} else {
			written++
		}
	}
	return written, unsent, nil
}

// markEmitted records an alert id at the last arrival number given (r.mu held): the
// events of the alert are numbered no higher, so the id is kept as long as any of them
// may be replayed.
func (r *Run) markEmitted(id string) { r.markEmittedAt(id, r.nextSeq) }

// markEmittedAt records an alert id at arrival number seq (r.mu held), replacing the
// entry it had.
func (r *Run) markEmittedAt(id string, seq uint64) {
	if old, ok := r.emitted[id]; ok {
		if old == seq {
			return
		}
		r.batch.Delete(nsEmitted, append(be64(int64(old)), id...))
	}
	r.emitted[id] = seq
	if seq != pinned {
		r.emitQ = append(r.emitQ, emittedID{seq, id})
	}
	r.batch.Put(nsEmitted, append(be64(int64(seq)), id...), nil)
}

// trimEmittedTo forgets the ids recorded below arrival number cut (r.mu held), in b: no
// event that gives them is left in the journal.
func (r *Run) trimEmittedTo(b *state.Batch, cut uint64) {
	b.DeleteRange(nsEmitted, nil, be64(int64(cut)))
	i := 0
	for ; i < len(r.emitQ) && r.emitQ[i].seq < cut; i++ {
		if e := r.emitQ[i]; r.emitted[e.id] == e.seq {
			delete(r.emitted, e.id)
		}
	}
	r.emitQ = r.emitQ[i:]
	if i > 1024 && cap(r.emitQ) > 2*len(r.emitQ) {
		r.emitQ = slices.Clone(r.emitQ)
	}
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

// Commit is a checkpoint taken (Snapshot) and not yet written: the events to journal
// since the last one, the ids of the alerts written (less those the journal no longer
// needs), the rules' state, the input positions and the sizes of the file outputs. Apply
// writes it.
type Commit struct {
	r       *Run
	entries []entry
	fresh   bool // the journal is entries alone (a batch run)
	batch   *state.Batch
	cut     uint64
	prev    chan struct{} // closed once the checkpoint taken before is written
	done    chan struct{}
	err     error
	failed  error // the checkpoint cannot be written (Held failed)
}

// Snapshot takes a checkpoint. Take it where the detector has taken in every event
// recorded so far and the sink has taken their alerts (a batch run: once the detector is
// closed), on the goroutine that may ask the detector (Track) what it still holds; write
// it with Apply. Every checkpoint taken must be applied, in any order of calls: each is
// written after the one taken before it.
//
// The journal keeps, from one checkpoint to the next, the events from the oldest the
// detector has not finished with on (detect.Detector.Unfinished: those in the reordering
// buffers and their clocks, in partial sequences, missing-event stages and held
// suppressed alerts), or, in a batch run, the events from the time of the oldest it holds
// on (batchEntries); with samples, a streaming run's every event within Options.Keep; in
// any case none older than Options.Keep.
func (r *Run) Snapshot(outputs map[string]int64) *Commit {
	var (
		held    bool
		oldest  uint64
		batchEs []entry
		err     error
	)
	switch {
	case r.opts.Batch:
		batchEs, err = r.batchEntries()
	case r.det != nil:
		oldest, held = r.det.Unfinished()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	bound := r.bound()
	var es []entry
	var cut uint64
	if r.opts.Batch {
		es = batchEs
		cut = r.nextSeq + 1
		if len(es) > 0 {
			cut = es[0].seq
		}
	} else {
		cut = r.nextSeq + 1 // nothing held
		switch {
		case r.det == nil:
			cut = 0
		case held:
			cut = oldest
		}
		if r.opts.Samples {
			cut = min(cut, bound)
		}
		cut = max(cut, bound, r.cut)
		es = slices.DeleteFunc(r.pending, func(e entry) bool { return e.seq < cut })
	}
	r.cut = cut
	r.pending, r.pendingN = make([]entry, 0, max(16, len(es))), 0
	b := r.batch
	r.batch = r.st.NewBatch()
	r.trimEmittedTo(b, cut)
	for name, p := range r.inputs {
		v, _ := json.Marshal(p)
		b.Put(nsInputs, []byte(name), v)
	}
	b.Put(nsRun, []byte("seq"), be64(int64(r.nextSeq)))
	b.Put(nsRun, []byte("newest"), be64(r.newest))
	marks := make([]byte, 0, 16*len(r.marks))
	for _, m := range r.marks {
		marks = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(marks, uint64(m.newest)), m.seq)
	}
	b.Put(nsRun, []byte("marks"), marks)
	for path, size := range outputs {
		b.Put(nsRun, []byte("outputs/"+path), be64(size))
		r.outputs[path] = size
	}
	if r.lastDone == nil {
		r.lastDone = make(chan struct{})
		close(r.lastDone)
	}
	c := &Commit{r: r, entries: es, fresh: r.opts.Batch, batch: b, cut: cut, prev: r.lastDone, done: make(chan struct{}), failed: err}
	r.lastDone = c.done
	return c
}

// batchEntries returns the records a batch run journals at its end, in arrival order: the
// events, from the journal it was given, its spill files and memory, whose time is at or after the oldest the
// (closed) detector holds, and no more than Keep before the newest. A batch detector
// matches in event-time order, so that these events, given first to the next run's
// detector, rebuild its state exactly: what the rules hold, and nothing they were done
// with (an event given again without the later one that completed or ended its sequence
// would start that sequence again).
func (r *Run) batchEntries() ([]entry, error) {
	from := int64(math.MaxInt64) // nothing held: nothing kept
	if r.det != nil && r.opts.Holds {
		err := r.det.Held(func(doc []byte, _ detect.EventSource) error {
			if t, ok := r.tf.find(doc); ok { // one without a time was not journalled
				from = min(from, t)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading the events the rules hold: %w", err)
		}
	}
	r.mu.Lock()
	from = max(from, r.limit())
	pending := r.pending
	r.mu.Unlock()
	var es []entry
	var chunk []byte
	add := func(e entry, doc []byte, src detect.EventSource) error {
		n := recordSize(doc, &src)
		if len(chunk)+n > cap(chunk) {
			chunk = make([]byte, 0, max(chunkSize, n))
		}
		start := len(chunk)
		chunk = appendRecord(chunk, e.t, e.seq, doc, &src)
		es = append(es, entry{t: e.t, seq: e.seq, rec: chunk[start:len(chunk):cap(chunk)]})
		return nil
	}
	r.commitMu.Lock()
	// The journal this run was given first, then what it read.
	err := r.j.scan(func(e entry, doc []byte, src detect.EventSource) error {
		if e.t < from {
			return nil
		}
		return add(e, doc, src)
	})
	if err == nil {
		err = r.j.scanSpills(from, add)
	}
	r.commitMu.Unlock()
	if err != nil {
		return nil, err
	}
	for _, e := range pending {
		if e.t >= from {
			es = append(es, e)
		}
	}
	return es, nil
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
	if c.failed != nil {
		r.j.err = c.failed
	}
	end, err := r.j.write(c.entries, c.fresh)
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

// AddEmitted records ids read back from a file output (RecoverFile) as written. The
// events that give them are read again from the input after the last checkpoint's
// positions, with arrival numbers still to come: the ids are kept until those events give
// them again (see Sink).
func (r *Run) AddEmitted(ids []string) {
	r.mu.Lock()
	for _, id := range ids {
		if _, ok := r.emitted[id]; !ok {
			r.markEmittedAt(id, pinned)
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
	// Segments and Bytes are the journal's files and their size (records below the cut
	// included, until their segment is removed).
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
		if id < end.start {
			continue
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
