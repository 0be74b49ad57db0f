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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/state"
)

// Namespaces of the store.
const (
	nsJournal = "journal" // time (ns, big-endian) + arrival number → entry
	nsEmitted = "emitted" // time + alert id → nothing
	nsInputs  = "inputs"  // input name → Position (JSON)
	nsRun     = "run"     // "seq" → the next arrival number; "outputs/<path>" → file output size
)

// Options configure a Run.
type Options struct {
	// Lookback is how far back in event time, from the newest event, the journal keeps
	// events (and the ids of the alerts written).
	Lookback time.Duration
	// TimeFields are the fields an event's time is read from (the earliest present is
	// its journal time): @timestamp and the rules' timestamp overrides.
	TimeFields []string
}

// Run is one run's link to the state directory. Record, Position and SetPosition are
// called from the input's goroutine; the sink from the detector's.
type Run struct {
	st   *state.Store
	opts Options
	lb   int64

	mu       sync.Mutex
	batch    *state.Batch // the rules' writes and the emitted ids, until the next checkpoint
	emitted  map[string]struct{}
	newest   int64   // the newest journal time
	pending  []entry // journalled since the last checkpoint
	nextSeq  uint64
	inputs   map[string]Position
	outputs  map[string]int64 // file outputs: their size at the last checkpoint
	replayed int
	leftOut  map[string]int // alerts not written again, by rule_id
	p        fastjson.Parser
}

// entry is one journalled event.
type entry struct {
	t   int64
	seq uint64
	src detect.EventSource
	doc []byte
}

// Position is where an input file stopped: the documents processed, the offset of the
// last one and a hash of it (to see that the file is the same), and the file's identity.
type Position struct {
	Docs    int64  `json:"docs"`
	Offset  int64  `json:"offset"`
	Inode   uint64 `json:"inode"`
	Size    int64  `json:"size"`
	LastSum string `json:"last_sum"`
}

// Begin loads what the last run left in st.
func Begin(st *state.Store, opts Options) (*Run, error) {
	r := &Run{st: st, opts: opts, lb: int64(opts.Lookback), batch: st.NewBatch(), emitted: map[string]struct{}{}, leftOut: map[string]int{},
		inputs: map[string]Position{}, outputs: map[string]int64{}, newest: math.MinInt64}
	if len(r.opts.TimeFields) == 0 {
		r.opts.TimeFields = []string{"@timestamp"}
	}
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
	if err == nil {
		err = st.Scan(nsRun, nil, nil, func(k, v []byte) error {
			switch {
			case string(k) == "seq" && len(v) == 8:
				r.nextSeq = binary.BigEndian.Uint64(v)
			case string(k) == "newest" && len(v) == 8:
				r.newest = int64(binary.BigEndian.Uint64(v))
			case bytes.HasPrefix(k, []byte("outputs/")) && len(v) == 8:
				r.outputs[string(k[8:])] = int64(binary.BigEndian.Uint64(v))
			}
			return nil
		})
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
func (s ruleState) Put(ns string, k, v []byte)           { s.r.batch.Put(ns, k, v) }
func (s ruleState) Delete(ns string, k []byte)           { s.r.batch.Delete(ns, k) }
func (s ruleState) DeleteRange(ns string, lo, hi []byte) { s.r.batch.DeleteRange(ns, lo, hi) }

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
// then returns how many there were. Call it before the first Record.
func (r *Run) Replay(ctx context.Context, fn func(doc []byte, src detect.EventSource) error) (int, error) {
	var es []entry
	err := r.st.Scan(nsJournal, nil, nil, func(k, v []byte) error {
		e, err := decodeEntry(k, v)
		if err != nil {
			return err
		}
		es = append(es, e)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("state directory %s: journal: %w", r.st.Dir(), err)
	}
	slices.SortFunc(es, func(a, b entry) int { return cmpU64(a.seq, b.seq) })
	for i, e := range es {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		if err := fn(e.doc, e.src); err != nil {
			return i, err
		}
	}
	r.replayed = len(es)
	return len(es), nil
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

// Record journals an event the detector is about to take and returns its source with the
// run's arrival number (EventSource.Seq goes on from run to run; the detector cannot read
// a journalled event again from its file, so HasOffset is cleared).
func (r *Run) Record(doc []byte, src detect.EventSource) detect.EventSource {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextSeq++
	src.Seq, src.HasOffset, src.Offset = r.nextSeq, false, 0
	t, ok := r.eventTime(doc)
	if !ok {
		return src // no time: no rule can use it
	}
	if t > r.newest {
		r.newest = t
	}
	r.pending = append(r.pending, entry{t: t, seq: src.Seq, src: src, doc: bytes.Clone(doc)})
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
		r.pending = r.pending[:n-1]
	}
}

// cutoff is the journal time before which events are no longer needed.
func (r *Run) cutoff() int64 {
	if r.newest == math.MinInt64 {
		return math.MinInt64
	}
	return r.newest - r.lb
}

// eventTime reads the earliest of the time fields in doc.
func (r *Run) eventTime(doc []byte) (int64, bool) {
	v, err := r.p.ParseBytes(doc)
	if err != nil {
		return 0, false
	}
	var best int64
	found := false
	for _, f := range r.opts.TimeFields {
		if x := lookup(v, f); x != nil {
			if t, ok := parseTime(x); ok && (!found || t < best) {
				best, found = t, true
			}
		}
	}
	return best, found
}

// lookup finds a dotted path in a document, whatever the nesting ({"a.b": …} or {"a": {"b": …}}).
func lookup(v *fastjson.Value, path string) *fastjson.Value {
	if v == nil || v.Type() != fastjson.TypeObject {
		return nil
	}
	if x := v.Get(path); x != nil {
		return x
	}
	for i := 0; i < len(path); i++ {
		if path[i] == '.' {
			if x := v.Get(path[:i]); x != nil {
				if y := lookup(x, path[i+1:]); y != nil {
					return y
				}
			}
		}
	}
	return nil
}

// parseTime reads a date as the detector does: an RFC 3339 string or epoch milliseconds.
func parseTime(v *fastjson.Value) (int64, bool) {
	if v.Type() == fastjson.TypeArray {
		a := v.GetArray()
		if len(a) == 0 {
			return 0, false
		}
		v = a[0]
	}
	switch v.Type() {
	case fastjson.TypeString:
		s := string(v.GetStringBytes())
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UnixNano(), true
			}
		}
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			return ms * 1e6, true
		}
	case fastjson.TypeNumber:
		return int64(v.GetFloat64() * 1e6), true
	}
	return 0, false
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

// Checkpoint commits, in one transaction, the events journalled since the last checkpoint
// (less those out of the look-back, which also leave the journal and the emitted ids),
// the ids of the alerts written, the rules' state, the input positions and the sizes of
// the file outputs. Call it when the detector has taken in every event recorded so far
// and the sink has taken their alerts.
func (r *Run) Checkpoint(outputs map[string]int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cut := r.cutoff()
	for _, e := range r.pending {
		if e.t >= cut {
			r.batch.Put(nsJournal, journalKey(e.t, e.seq), encodeEntry(e))
		}
	}
	r.pending = r.pending[:0]
	if cut != math.MinInt64 {
		r.batch.DeleteRange(nsJournal, nil, be64(max(cut, 0)))
		r.batch.DeleteRange(nsEmitted, nil, be64(max(cut, 0)))
	}
	for name, p := range r.inputs {
		v, _ := json.Marshal(p)
		r.batch.Put(nsInputs, []byte(name), v)
	}
	r.batch.Put(nsRun, []byte("seq"), be64(int64(r.nextSeq)))
	r.batch.Put(nsRun, []byte("newest"), be64(r.newest))
	for path, size := range outputs {
		r.batch.Put(nsRun, []byte("outputs/"+path), be64(size))
		r.outputs[path] = size
	}
	return r.st.Commit(r.batch)
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

func journalKey(t int64, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(be64(t), seq)
}

// encodeEntry writes an entry's source (name, line, index, id) and document.
func encodeEntry(e entry) []byte {
	b := make([]byte, 0, len(e.doc)+len(e.src.Name)+len(e.src.Index)+len(e.src.ID)+16)
	for _, s := range []string{e.src.Name, e.src.Index, e.src.ID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(e.src.Line))
	return append(b, e.doc...)
}

var errEntry = errors.New("malformed journal entry")

func decodeEntry(k, v []byte) (entry, error) {
	if len(k) != 16 {
		return entry{}, errEntry
	}
	e := entry{t: int64(binary.BigEndian.Uint64(k)), seq: binary.BigEndian.Uint64(k[8:])}
	var strs [3]string
	for i := range strs {
		n, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < n {
			return entry{}, errEntry
		}
		strs[i], v = string(v[w:w+int(n)]), v[w+int(n):]
	}
	line, w := binary.Uvarint(v)
	if w <= 0 {
		return entry{}, errEntry
	}
	e.doc = bytes.Clone(v[w:])
	e.src = detect.EventSource{Name: strs[0], Index: strs[1], ID: strs[2], Line: int(line), Seq: e.seq}
	return e, nil
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

// JournalSpan returns the journal's entries and the event times of its first and last.
func JournalSpan(st *state.Store) (n int, first, last time.Time, err error) {
	err = st.Scan(nsJournal, nil, nil, func(k, _ []byte) error {
		if len(k) != 16 {
			return errEntry
		}
		t := time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC()
		if n == 0 {
			first = t
		}
		last = t
		n++
		return nil
	})
	return n, first, last, err
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

// Fields lists the paths of TimeFields for messages.
func (o Options) String() string { return strings.Join(o.TimeFields, ",") }
