package detect

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/rule"
)

// Stateful rule kinds (threshold, new_terms) select events as query rules do (the rule's
// KQL or Lucene query, filters and exceptions, compiled as `any where <search>`), but their
// alerts come from state kept over the selected events, not from each event: the
// aggregator. The rule's matches reach it in the order of the rule's event time (the
// timestamp_override, else @timestamp: Kibana's aggregatable timestamp): in batch mode all
// matches are sorted at Close; in streaming mode they come as the engine releases them
// (its reordering buffer orders them by @timestamp), and an aggregator tolerates an event
// older than the newest it has seen.

// statefulKind is a ruleKind whose alerts an aggregator makes.
type statefulKind interface {
	ruleKind
	// newAggregator returns the state of one rule; learn makes it record what it sees
	// without alerting (Options.History).
	newAggregator(r *rule.Rule, interval time.Duration, learn bool) (aggregator, error)
}

// aggregator is a stateful rule's state.
type aggregator interface {
	// reader is what reads the few fields the aggregator needs of a document.
	reader() *fieldReader
	// take reads into sel what add needs of it (its values of the aggregator's fields),
	// from the document the reader read last (sel's), so that add does not read it again.
	take(sel *selected)
	// needsDoc reports whether add may read a selected event's document (to build an
	// alert from it): batch mode then keeps a reference to it until Close.
	needsDoc() bool
	// add takes one selected event, in event-time order, and returns the alerts it makes
	// due, and how many alerts max_signals dropped.
	add(b *builder, ri *ruleInfo, sel *selected) ([]Alert, int, error)
	// flush ends the input and returns the alerts still due.
	flush(b *builder, ri *ruleInfo) ([]Alert, int, error)
}

// selected is one event a stateful rule selected, with what its aggregator took of it.
type selected struct {
	ev    *event.Event // the event (its document, for an alert); nil when not needed
	raw   []byte       // its document, when at hand
	t     int64        // the rule's event time (ns)
	seq   uint64       // arrival number (EventSource.Seq)
	me    *matchedEvent
	terms *termSet    // its values of the aggregator's fields (take)
	card  []string    // threshold: the keys of its values of the cardinality field
	hits  []threatHit // threat_match: the indicators it matches
}

// termSet is the value combinations an event has of a rule's fields (see
// fieldReader.combinations), with their keys.
type termSet struct {
	combos [][]any
	keys   []string
}

// docLostError is an event's document that could no longer be read (event.Event.Doc).
type docLostError struct{ err error }

func (e docLostError) Error() string { return e.err.Error() }
func (e docLostError) Unwrap() error { return e.err }

// doc returns the event's parsed document, as alerts need it (parsed once).
func (s *selected) doc() (*matchedEvent, error) {
	if s.me == nil {
		raw := s.raw
		if raw == nil {
			var err error
			if raw, err = s.ev.Doc(); err != nil {
				return nil, docLostError{err}
			}
		}
		src, err := parseDocument(raw)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", s.ev.Source, s.ev.Line, err)
		}
		s.me = &matchedEvent{id: eventID(s.ev, raw, src), index: s.ev.Index, src: src}
	}
	return s.me, nil
}

// pendingSel is a selected event batch mode keeps until Close, in 40 bytes: the values
// its aggregator took (shared among the events with the same ones) and, when an alert may
// need its document, a reference to it.
type pendingSel struct {
	t     int64
	seq   uint64
	ev    *event.Event
	terms *termSet
	extra *pendingExtra // card, hits: nil for most events
}

type pendingExtra struct {
	card []string
	hits []threatHit
}

// fieldReader reads the few fields a stateful rule needs of a selected document (its
// timestamps and the fields it groups or matches on) with a decoder of their paths alone,
// instead of parsing the whole document: only the events that alert are parsed. In batch
// mode it reads them from the Detector's own decoding of the event instead (readEvent),
// the paths being added to the Detector's fields (share).
type fieldReader struct {
	fields       *event.Fields
	dec          *event.Decoder
	ev           event.Event
	override, ts event.Slot
	hasOverride  bool
	scratch      []any
	seen         map[string]bool
	// cur is the event read last: ev (read), or the Detector's (readEvent), whose slots of
	// the same paths are shared[slot].
	cur       *event.Event
	shared    []event.Slot
	useShared bool
	// intern (batch mode) shares equal termSets among the events kept until Close.
	intern termSets
	keyBuf []byte
}

// newFieldReader returns a reader of rule r's timestamps and of paths, and the slots of
// paths.
func newFieldReader(r *rule.Rule, paths []string) (*fieldReader, []event.Slot) {
	fr := &fieldReader{fields: event.NewFields(), seen: map[string]bool{}}
	fr.ts = fr.fields.Add("@timestamp")
	if r.TimestampOverride != "" {
		fr.override, fr.hasOverride = fr.fields.Add(r.TimestampOverride), true
	}
	slots := make([]event.Slot, len(paths))
	for i, p := range paths {
		slots[i] = fr.fields.Add(p)
	}
	fr.dec = event.NewDecoder(fr.fields)
	fr.cur = &fr.ev
	return fr, slots
}

// share adds the reader's paths to f, the Detector's fields, so that readEvent can read
// them from the events the Detector decodes.
func (fr *fieldReader) share(f *event.Fields) {
	fr.shared = make([]event.Slot, fr.fields.Len())
	for i := range fr.shared {
		fr.shared[i] = f.Add(fr.fields.Path(event.Slot(i)))
	}
}

// read decodes raw and returns its event time: the timestamp_override, else @timestamp
// (Kibana's kibana.combined_timestamp); ok is false when it has neither.
func (fr *fieldReader) read(raw []byte) (t time.Time, ok bool, err error) {
	if err := fr.dec.Decode(raw, &fr.ev); err != nil {
		return t, false, err
	}
	fr.cur, fr.useShared = &fr.ev, false
	t, ok = fr.eventTime()
	return t, ok, nil
}

// readEvent is read for an event the Detector decoded with the fields share added to.
func (fr *fieldReader) readEvent(ev *event.Event) (time.Time, bool) {
	fr.cur, fr.useShared = ev, true
	return fr.eventTime()
}

// eventTime returns the event time of the event read last.
func (fr *fieldReader) eventTime() (time.Time, bool) {
	if fr.hasOverride {
		if t, ok := fr.time(fr.override); ok {
			return t, true
		}
	}
	return fr.time(fr.ts)
}

// vals returns the values of the reader's slot s in the event read last.
func (fr *fieldReader) vals(s event.Slot) []event.Value {
	if fr.useShared {
		return fr.cur.Values(fr.shared[s])
	}
	return fr.cur.Values(s)
}

// time reads the first value of slot s as parseTime reads a timestamp.
func (fr *fieldReader) time(s event.Slot) (time.Time, bool) {
	vals := fr.vals(s)
	if len(vals) == 0 {
		return time.Time{}, false
	}
	return parseTime(valueOf(vals[0]))
}

// values returns the distinct non-null scalar values of slot s in the document read last
// (arrays flattened, in document order), as a terms aggregation buckets them. The slice is
// reused by the next call.
func (fr *fieldReader) values(s event.Slot) []any {
	out := fr.scratch[:0]
	clear(fr.seen)
	for _, v := range fr.vals(s) {
		x := valueOf(v)
		if k := termKey(x); !fr.seen[k] {
			fr.seen[k] = true
			out = append(out, x)
		}
	}
	fr.scratch = out
	return out
}

// appendTermKey appends termKey(valueOf(v)) to b for a scalar v; ok is false for others.
func appendTermKey(b []byte, v event.Value) ([]byte, bool) {
	switch v.Kind {
	case event.KindString:
		return append(append(b, 's'), v.Str...), true
	case event.KindBool:
		if v.Int != 0 {
			return append(b, "btrue"...), true
		}
		return append(b, "bfalse"...), true
	case event.KindInt, event.KindFloat:
		if v.Str != "" {
			return append(append(b, 'n'), v.Str...), true
		}
		return append(append(b, 'n'), v.String()...), true
	}
	return b, false
}

// combinations returns the cartesian product of the values of slots in the document read
// last (Kibana's composite aggregation over one terms source per field), each with its
// key; nil when a field has no value.
func (fr *fieldReader) combinations(slots []event.Slot) *termSet {
	if fr.intern != nil {
		// Most events have one value of each field: their set's key, without building it.
		b, one := fr.keyBuf[:0], true
		for i, s := range slots {
			vs := fr.vals(s)
			if len(vs) != 1 {
				one = false
				break
			}
			if i > 0 {
				b = append(b, 0)
			}
			if b, one = appendTermKey(b, vs[0]); !one {
				break
			}
		}
		fr.keyBuf = b
		if one {
			if ts, ok := fr.intern[string(b)]; ok {
				return ts
			}
		}
		return fr.intern.intern(fr.buildCombinations(slots))
	}
	return fr.buildCombinations(slots)
}

// buildCombinations is combinations without interning.
func (fr *fieldReader) buildCombinations(slots []event.Slot) *termSet {
	combos := [][]any{{}}
	for _, s := range slots {
		vals := fr.values(s)
		if len(vals) == 0 {
			return nil
		}
		next := make([][]any, 0, len(combos)*len(vals))
		for _, c := range combos {
			for _, v := range vals {
				next = append(next, append(slices.Clip(c), v))
			}
		}
		combos = next
	}
	return &termSet{combos: combos, keys: comboKeys(combos)}
}

// valueOf returns a decoded leaf value as JSON decoding with UseNumber gives it.
func valueOf(v event.Value) any {
	switch v.Kind {
	case event.KindString:
		return strings.Clone(v.Str)
	case event.KindBool:
		return v.Int != 0
	case event.KindInt, event.KindFloat:
		if v.Str != "" {
			return json.Number(strings.Clone(v.Str))
		}
		return json.Number(v.String())
	}
	return nil
}

// compileSelection compiles the events a stateful rule selects: its query as a query
// rule's, every match emitted (no max_signals cap: the aggregator applies it to alerts).
func compileSelection(k ruleKind, req CompileRequest, fn CompileFunc) (*Compiled, alertShape, error) {
	q, err := searchQuery(req.Rule.Language, req.Rule.Query, req.KQLFields)
	if err != nil {
		return nil, nil, err
	}
	where := &eql.Search{Language: req.Rule.Language, Source: req.Rule.Query, Query: q}
	req.Statement = &eql.Statement{Query: &eql.EventQuery{Any: true, Where: where}}
	req.MaxResults, req.MaxFirst = 0, false
	comp, err := compileRestricted(req, fn)
	if err != nil {
		return nil, nil, err
	}
	return comp, nil, nil
}

// selectedOf reads a kept event's document for rule rs (its aggregator's fields) and what
// its aggregator takes of it; ok is false when it cannot be used: its document could not be
// read again from its file (then reported), or it has no time (Kibana's range filter would
// not find it).
func (d *Detector) selectedOf(rs *ruleState, ev *event.Event) (sel selected, ok bool, err error) {
	raw, lost := ev.Doc()
	if lost != nil {
		d.report(fmt.Errorf("%w: an event of rule %q not used", lost, rs.info.r.Name))
		return sel, false, nil
	}
	t, ok, err := rs.agg.reader().read(raw)
	if err != nil {
		return sel, false, fmt.Errorf("%s:%d: %w", ev.Source, ev.Line, err)
	}
	if !ok {
		return sel, false, nil
	}
	sel = selected{ev: ev, raw: raw, t: t.UnixNano(), seq: ev.Seq}
	rs.agg.take(&sel)
	return sel, true, nil
}

// aggregate gives one selected event of rule rs to its aggregator (streaming) and writes
// the alerts that become due.
func (d *Detector) aggregate(ctx context.Context, rs *ruleState, ev *event.Event) error {
	sel, ok, err := d.selectedOf(rs, ev)
	if !ok || err != nil {
		return err
	}
	return d.aggregated(ctx, rs, &sel)
}

// take keeps an event a stateful rule's query matched in batch mode, as the event is
// processed: what the rule's aggregator takes of it (read from the Detector's decoding of
// it, see fieldReader.share), and a reference to its document when an alert may need it. The rule's engine is not given it (it would
// keep a copy until Close, sorted by @timestamp): Close gives the aggregator these in the
// order of the rule's event time. An event the engine would refuse (no valid @timestamp)
// is refused alike.
func (d *Detector) take(rs *ruleState, ev *event.Event) error {
	if err := rs.admit.Admit(ev); err != nil {
		return err
	}
	rs.stats.Matches++
	t, ok := rs.agg.reader().readEvent(ev)
	if !ok {
		return nil // no time: Kibana's range filter would not find it
	}
	sel := selected{t: t.UnixNano(), seq: ev.Seq}
	rs.agg.take(&sel)
	var kept *event.Event
	if rs.agg.needsDoc() {
		kept = ev.KeepRaw()
	}
	rs.keepSelected(&sel, kept)
	return nil
}

// keepSelected keeps a selected event until Close (batch mode), with kept, the event, when
// its aggregator may read its document.
func (rs *ruleState) keepSelected(sel *selected, kept *event.Event) {
	p := pendingSel{t: sel.t, seq: sel.seq, terms: sel.terms, ev: kept}
	if sel.card != nil || sel.hits != nil {
		p.extra = &pendingExtra{card: sel.card, hits: sel.hits}
	}
	rs.selPending = append(rs.selPending, p)
}

// termSets shares equal termSets among the events batch mode keeps.
type termSets map[string]*termSet

// intern returns the termSet equal to ts that m holds, holding ts if none.
func (m *termSets) intern(ts *termSet) *termSet {
	if ts == nil {
		return nil
	}
	var k string
	if len(ts.keys) == 1 {
		k = ts.keys[0]
	} else {
		k = strings.Join(ts.keys, "\x01")
	}
	if *m == nil {
		*m = termSets{}
	}
	if have, ok := (*m)[k]; ok {
		return have
	}
	(*m)[k] = ts
	return ts
}

// aggregated gives a selected event to rs's aggregator and writes the alerts it returns. An
// alert whose event's document could no longer be read is reported, not written.
func (d *Detector) aggregated(ctx context.Context, rs *ruleState, sel *selected) error {
	alerts, capped, err := rs.agg.add(&d.b, rs.info, sel)
	rs.stats.Capped += capped
	var lost docLostError
	if errors.As(err, &lost) {
		d.summary.AlertsNotWritten++
		d.report(fmt.Errorf("%w: an alert of rule %q not written", lost.err, rs.info.r.Name))
		err = nil
	}
	if err != nil {
		return err
	}
	return d.writeEach(ctx, rs, sel, alerts)
}

// writeEach writes alerts one per Sink call (each stands for one group or term), sel's
// (nil for those a flush made); a rule with alert_suppression suppresses them instead.
func (d *Detector) writeEach(ctx context.Context, rs *ruleState, sel *selected, alerts []Alert) error {
	var eventKey *suppressKey // sel's, computed once for its alerts
	for _, a := range alerts {
		if rs.supp == nil {
			if err := d.writeAlerts(ctx, rs, []Alert{a}); err != nil {
				return err
			}
			continue
		}
		key, ok := suppressKey{}, false
		if gk, isGroup := rs.agg.(groupKeyer); isGroup {
			key, ok = gk.groupKey(a.ID)
		} else if sel != nil {
			if eventKey == nil {
				me, err := sel.doc()
				if err != nil {
					return err
				}
				k, err := d.b.suppressionKey(rs.info, []*matchedEvent{me}, []Alert{a})
				if err != nil {
					return err
				}
				eventKey = &k
			}
			key, ok = *eventKey, true
		}
		if !ok {
			return fmt.Errorf("rule %q: alert %s: no suppression group", rs.info.r.Name, a.ID)
		}
		if err := d.suppress(ctx, &alertJob{rs: rs, alerts: []Alert{a}, key: key}); err != nil {
			return err
		}
	}
	return nil
}

// groupKeyer is an aggregator whose alerts stand for groups rather than events
// (threshold): it gives the suppression key of an alert it made (once).
type groupKeyer interface {
	groupKey(alertID string) (suppressKey, bool)
}

// closeStateful ends the stateful rules (Close): in batch mode it first gives each the
// events it kept, in event-time order (input order among equal times).
func (d *Detector) closeStateful(ctx context.Context) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for _, rs := range d.rules {
		if rs.agg == nil {
			continue
		}
		pending := rs.selPending
		rs.selPending, rs.agg.reader().intern = nil, nil
		slices.SortStableFunc(pending, func(a, b pendingSel) int { return cmp.Compare(a.t, b.t) })
		for i := range pending {
			p := &pending[i]
			sel := selected{ev: p.ev, t: p.t, seq: p.seq, terms: p.terms}
			if p.extra != nil {
				sel.card, sel.hits = p.extra.card, p.extra.hits
			}
			keep(d.aggregated(ctx, rs, &sel))
			*p = pendingSel{}
		}
		alerts, capped, err := rs.agg.flush(&d.b, rs.info)
		rs.stats.Capped += capped
		keep(err)
		keep(d.writeEach(ctx, rs, nil, alerts))
	}
	return first
}

// termKey encodes a term value so that equal values, and only they, have equal keys.
func termKey(v any) string {
	switch x := v.(type) {
	case string:
		return "s" + x
	case json.Number:
		return "n" + x.String()
	case bool:
		if x {
			return "btrue"
		}
		return "bfalse"
	}
	raw, _ := json.Marshal(v)
	return "j" + string(raw)
}

// comboKeys returns the key of each combination of values.
func comboKeys(combos [][]any) []string {
	keys := make([]string, len(combos))
	for i, c := range combos {
		var sb strings.Builder
		for j, v := range c {
			if j > 0 {
				sb.WriteByte(0)
			}
			sb.WriteString(termKey(v))
		}
		keys[i] = sb.String()
	}
	return keys
}

// compareTerms orders term values as a composite aggregation orders its keys: numbers by
// value before strings, strings by their bytes.
func compareTerms(a, b any) int {
	na, aNum := a.(json.Number)
	nb, bNum := b.(json.Number)
	switch {
	case aNum && bNum:
		fa, _ := na.Float64()
		fb, _ := nb.Float64()
		return cmp.Compare(fa, fb)
	case aNum:
		return -1
	case bNum:
		return 1
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// uuidV5 returns the name-based (SHA-1) UUID of name in namespace ns, as npm uuid's v5.
func uuidV5(ns, name string) string {
	nsBytes, _ := hex.DecodeString(strings.ReplaceAll(ns, "-", ""))
	h := sha1.New()
	h.Write(nsBytes)
	h.Write([]byte(name))
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}
