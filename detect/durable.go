package detect

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
)

// StateStore keeps the state of threshold and new-terms rules across runs (Options.State;
// package state's store, through a checkpoint batch, implements it). Scan reads what the
// last checkpoint holds; Put, Delete and DeleteRange go into the next checkpoint. A rule's
// keys are in the namespace "rule/<uuid>/<type>" (state.RuleNamespace).
type StateStore interface {
	Scan(ns string, lo, hi []byte, fn func(k, v []byte) error) error
	Put(ns string, k, v []byte)
	Delete(ns string, k []byte)
	DeleteRange(ns string, lo, hi []byte)
}

// durableAgg is an aggregator whose state a StateStore can keep.
type durableAgg interface {
	attach(st StateStore, ns string) error
}

// attachState gives the stateful rules the Options.State store: each loads what the last
// run left and records its changes there.
func (d *Detector) attachState() error {
	if d.opts.State == nil || d.opts.learn || d.opts.collect != nil {
		return nil
	}
	for _, rs := range d.rules {
		if da, ok := rs.agg.(durableAgg); ok {
			ns := "rule/" + rs.info.uuid + "/" + rs.info.r.Type
			if err := da.attach(d.opts.State, ns); err != nil {
				return fmt.Errorf("rule %q: state: %w", rs.info.r.Name, err)
			}
		}
	}
	return nil
}

func be64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// New-terms state: "t/<key>" → last sighting (ns, big-endian); "b/<bucket>" → alerts
// written in that interval (max_signals).

// durableTermHistory is a termHistory held in memory and written through to a StateStore.
type durableTermHistory struct {
	mem *memTermHistory
	st  StateStore
	ns  string
}

func (h *durableTermHistory) see(key string, t int64) (int64, bool) {
	last, ok := h.mem.see(key, t)
	if !ok || t > last {
		h.st.Put(h.ns, append([]byte("t/"), key...), be64(t))
	}
	return last, ok
}

func (h *durableTermHistory) expire(before int64) {
	for k, t := range h.mem.last {
		if t < before {
			delete(h.mem.last, k)
			h.st.Delete(h.ns, append([]byte("t/"), k...))
		}
	}
}

func (h *durableTermHistory) len() int { return h.mem.len() }

func (a *newTermsAgg) attach(st StateStore, ns string) error {
	h := &durableTermHistory{mem: newMemTermHistory(), st: st, ns: ns}
	err := st.Scan(ns, nil, nil, func(k, v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("malformed entry %q", k)
		}
		t := int64(binary.BigEndian.Uint64(v))
		switch {
		case bytes.HasPrefix(k, []byte("t/")):
			h.mem.last[string(k[2:])] = t
			a.newest = max(a.newest, t)
		case bytes.HasPrefix(k, []byte("b/")) && len(k) == 10:
			a.buckets[int64(binary.BigEndian.Uint64(k[2:]))] = int(t)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Values learnt from --history first are kept too.
	if m, ok := a.hist.(*memTermHistory); ok {
		for k, t := range m.last {
			h.see(k, t)
		}
	}
	a.hist, a.swept, a.held = h, a.newest, h.len()
	a.state, a.stateNS = st, ns
	return nil
}

// saveBucket records the alerts written in an interval, so that max_signals holds across runs.
func (a *newTermsAgg) saveBucket(bucket int64) {
	if a.state != nil {
		a.state.Put(a.stateNS, append([]byte("b/"), be64(bucket)...), be64(int64(a.buckets[bucket])))
	}
}

// Threshold state: "c" → the next execution's end (ns); "e/<time><seq>" → an event
// (groups and cardinality values); "s/<group>" → the signal history entry (time);
// "n/<group>" → the group's values.

// durableThresholdStore is a thresholdStore held in memory and written through.
type durableThresholdStore struct {
	mem  *memThresholdStore
	seqs map[uint64]struct{} // the events held, by arrival number: a replayed event is not counted twice
	st   StateStore
	ns   string
}

type storedEvent struct {
	Groups []string `json:"g"`
	Card   []string `json:"c,omitempty"`
}

func eventKey(t int64, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte("e/"), be64(t)...), seq)
}

func (s *durableThresholdStore) addEvent(e thEvent) {
	if _, dup := s.seqs[e.seq]; dup {
		return
	}
	s.seqs[e.seq] = struct{}{}
	s.mem.addEvent(e)
	v, _ := json.Marshal(storedEvent{Groups: e.groups, Card: e.card})
	s.st.Put(s.ns, eventKey(e.t, e.seq), v)
}

func (s *durableThresholdStore) eachEvent(fn func(e *thEvent)) { s.mem.eachEvent(fn) }
func (s *durableThresholdStore) events() int                   { return s.mem.events() }

func (s *durableThresholdStore) expireEvents(before int64) {
	for _, e := range s.mem.buf {
		if e.t < before {
			delete(s.seqs, e.seq)
		}
	}
	before0 := maps.Clone(s.mem.names)
	s.mem.expireEvents(before)
	s.st.DeleteRange(s.ns, []byte("e/"), eventKey(before, 0))
	if len(before0) != len(s.mem.names) {
		for g := range before0 {
			if _, ok := s.mem.names[g]; !ok {
				s.st.Delete(s.ns, append([]byte("n/"), g...))
			}
		}
	}
}

func (s *durableThresholdStore) lastSignal(g string) (int64, bool) { return s.mem.lastSignal(g) }

func (s *durableThresholdStore) setLastSignal(g string, t int64, terms []any) {
	s.mem.setLastSignal(g, t, terms)
	s.st.Put(s.ns, append([]byte("s/"), g...), be64(t))
	s.saveTerms(g, terms)
}

func (s *durableThresholdStore) expireSignals(upTo int64) {
	for g, t := range s.mem.history {
		if t <= upTo {
			s.st.Delete(s.ns, append([]byte("s/"), g...))
		}
	}
	s.mem.expireSignals(upTo)
}

func (s *durableThresholdStore) terms(g string) []any { return s.mem.terms(g) }

func (s *durableThresholdStore) setTerms(g string, terms []any) {
	if _, ok := s.mem.names[g]; !ok {
		s.mem.setTerms(g, terms)
		s.saveTerms(g, terms)
	}
}

func (s *durableThresholdStore) saveTerms(g string, terms []any) {
	v, _ := json.Marshal(terms)
	s.st.Put(s.ns, append([]byte("n/"), g...), v)
}

func (a *thresholdAgg) attach(st StateStore, ns string) error {
	s := &durableThresholdStore{mem: newMemThresholdStore(), seqs: map[uint64]struct{}{}, st: st, ns: ns}
	err := st.Scan(ns, nil, nil, func(k, v []byte) error {
		bad := fmt.Errorf("malformed entry %q", k)
		switch {
		case string(k) == "c":
			if len(v) != 8 {
				return bad
			}
			a.next, a.started = int64(binary.BigEndian.Uint64(v)), true
		case bytes.HasPrefix(k, []byte("e/")):
			if len(k) != 18 {
				return bad
			}
			var se storedEvent
			if err := json.Unmarshal(v, &se); err != nil {
				return bad
			}
			e := thEvent{t: int64(binary.BigEndian.Uint64(k[2:])), seq: binary.BigEndian.Uint64(k[10:]), groups: se.Groups, card: se.Card}
			s.mem.addEvent(e)
			s.seqs[e.seq] = struct{}{}
		case bytes.HasPrefix(k, []byte("s/")):
			if len(v) != 8 {
				return bad
			}
			s.mem.history[string(k[2:])] = int64(binary.BigEndian.Uint64(v))
		case bytes.HasPrefix(k, []byte("n/")):
			d := json.NewDecoder(bytes.NewReader(v))
			d.UseNumber()
			var terms []any
			if err := d.Decode(&terms); err != nil {
				return bad
			}
			s.mem.names[string(k[2:])] = terms
		}
		return nil
	})
	if err != nil {
		return err
	}
	a.store, a.durable = s, true
	a.saveCursor = func() { st.Put(ns, []byte("c"), be64(a.next)) }
	return nil
}
