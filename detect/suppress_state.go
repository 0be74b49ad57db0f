package detect

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// MatchLog is what a StateStore may also keep for alert suppression: the ids of the
// matches (their first alert's) a suppressing rule took in, for as long as the events
// they came from may be given again (a journal replayed at the start of a run). A match
// taken in by an earlier run is then not counted twice. package durable's store keeps one.
type MatchLog interface {
	// Took reports whether a match with this alert id was taken in.
	Took(id string) bool
	// Take records one (committed with the store's next checkpoint).
	Take(id string)
}

// Suppression state, in the namespace "rule/<uuid>/suppression": "g/<group>" → the group
// (storedGroup, JSON), "a/<group>" → its held alerts (storedAlert list, JSON), written when
// the group opens.

// clockNS holds, in batch mode, the input's time (Detector.clock) under "clock".
const clockNS = "suppression"

// tick moves the input's time (batch mode with a state directory and suppressing rules)
// to ev's @timestamp, as the engine reads it, when later: the groups whose window closed
// before it are written at Close, those still open wait for the next run.
func (d *Detector) tick(ev *event.Event) {
	for _, v := range ev.Values(d.clockSlot) {
		if t, ok := mapping.ParseDate(v, ""); ok {
			if at := time.UnixMilli(t.Ms).Add(time.Duration(t.Nanos)); at.After(d.clock) {
				d.clock = at.UTC()
			}
			return
		}
	}
}

// saveClock records the input's time for the next run.
func (d *Detector) saveClock() {
	if d.clocked && !d.clock.IsZero() {
		d.opts.State.Put(clockNS, []byte("clock"), be64(d.clock.UnixNano()))
	}
}

// storedGroup is an open suppression group as the store keeps it; times are ns, 0 for none.
type storedGroup struct {
	Instance string `json:"i"`
	Terms    []any  `json:"t"`
	At       int64  `json:"at"`
	Start    int64  `json:"s"`
	End      int64  `json:"e"`
	Missing  bool   `json:"m,omitempty"`
	Count    int    `json:"n"`
	Closes   int64  `json:"c"`
	Seq      int    `json:"q"`
}

// storedAlert is a held alert as the store keeps it.
type storedAlert struct {
	ID   string          `json:"id"`
	Kind AlertKind       `json:"k"`
	Doc  json.RawMessage `json:"d"`
}

func nsOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func timeOf(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// save writes an open group through to the store: its alerts too when they are new.
func (s *suppressor) save(g *suppGroup, alerts bool) {
	if s.st == nil {
		return
	}
	v, _ := json.Marshal(storedGroup{Instance: g.key.instance, Terms: g.key.terms, At: nsOf(g.key.at),
		Start: nsOf(g.start), End: nsOf(g.end), Missing: g.key.missing, Count: g.count, Closes: nsOf(g.closes), Seq: g.seq})
	s.st.Put(s.ns, append([]byte("g/"), g.id...), v)
	if alerts {
		list := make([]storedAlert, len(g.alerts))
		for i, a := range g.alerts {
			list[i] = storedAlert{ID: a.ID, Kind: a.Kind, Doc: a.Doc}
		}
		v, _ := json.Marshal(list)
		s.st.Put(s.ns, append([]byte("a/"), g.id...), v)
	}
}

// remove forgets an open group (its alert is written, or its window closed).
func (s *suppressor) remove(id string) {
	delete(s.open, id)
	if s.st != nil {
		s.st.Delete(s.ns, append([]byte("g/"), id...))
		s.st.Delete(s.ns, append([]byte("a/"), id...))
	}
}

// attachSuppression gives the suppressing rules the Options.State store: each loads the
// groups the last run left open and writes its changes there.
func (d *Detector) attachSuppression() error {
	if d.opts.State == nil || d.opts.learn || d.opts.collect != nil {
		return nil
	}
	log, _ := d.opts.State.(MatchLog)
	if len(d.suppressors) > 0 && !d.opts.Streaming {
		// Batch mode: the input's time (see tick), from the last run.
		d.clocked = true
		err := d.opts.State.Scan(clockNS, []byte("clock"), []byte("clock\x00"), func(k, v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("malformed entry %q", k)
			}
			d.clock = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
			return nil
		})
		if err != nil {
			return fmt.Errorf("suppression: %w", err)
		}
	}
	for _, rs := range d.suppressors {
		ns := "rule/" + rs.info.uuid + "/suppression"
		if err := rs.supp.attach(d.opts.State, ns, log, rs); err != nil {
			return fmt.Errorf("rule %q: state: %w", rs.info.r.Name, err)
		}
	}
	return nil
}

// attach loads the open groups st holds for rule rs.
func (s *suppressor) attach(st StateStore, ns string, log MatchLog, rs *ruleState) error {
	alerts := map[string][]Alert{}
	err := st.Scan(ns, nil, nil, func(k, v []byte) error {
		bad := fmt.Errorf("malformed entry %q", k)
		switch {
		case bytes.HasPrefix(k, []byte("g/")):
			dec := json.NewDecoder(bytes.NewReader(v))
			dec.UseNumber()
			var sg storedGroup
			if err := dec.Decode(&sg); err != nil {
				return bad
			}
			id := string(k[2:])
			g := &suppGroup{id: id, seq: sg.Seq, start: timeOf(sg.Start), end: timeOf(sg.End), count: sg.Count, closes: timeOf(sg.Closes),
				key: suppressKey{instance: sg.Instance, terms: sg.Terms, at: timeOf(sg.At), missing: sg.Missing}}
			g.key.start, g.key.end = g.start, g.end
			s.open[id] = g
			s.seq = max(s.seq, g.seq)
			if !g.closes.IsZero() && (s.next.IsZero() || g.closes.Before(s.next)) {
				s.next = g.closes
			}
		case bytes.HasPrefix(k, []byte("a/")):
			var list []storedAlert
			if err := json.Unmarshal(v, &list); err != nil || len(list) == 0 {
				return bad
			}
			as := make([]Alert, len(list))
			for i, a := range list {
				as[i] = Alert{ID: a.ID, Kind: a.Kind, Rule: rs.info.r, Doc: a.Doc}
			}
			alerts[string(k[2:])] = as
		}
		return nil
	})
	if err != nil {
		return err
	}
	for id, g := range s.open {
		if g.alerts = alerts[id]; g.alerts == nil {
			return fmt.Errorf("suppression group %q has no alerts", id)
		}
	}
	s.st, s.ns, s.log = st, ns, log
	return nil
}
