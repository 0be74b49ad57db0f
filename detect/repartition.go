package detect

import (
	"slices"
	"strings"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/internal/engine"
	"github.com/tripline/tripline/rule"
)

// Scaling sequences and samples out. A sequence or a sample only joins events that have the
// same join-key tuple (its `by` values, read per stage), so its matches can be found by
// processes that each see only the events of some tuples, provided each tuple's events all
// reach one process, in time order. Two Detector modes make that possible:
//
//   - Options.Repartition: the Detector runs its other rules as usual and, instead of
//     matching its sequences and samples, reports for every event the (signature, tuple)
//     pairs under which one of their stages could take it (JoinKey). A caller sends the
//     event to the process that owns each pair (package stream: a Kafka topic keyed by
//     them).
//   - Options.OwnsKey: the Detector runs only its sequences and samples, each over the
//     tuples the function says this process owns; the events of other tuples that reach it
//     (an event may have several) change nothing.
//
// A rule's signature (JoinSignature) names the fields its stages join on, so that rules
// whose stages join on the same fields send an event once for a tuple.

// JoinKey is one join-key tuple an event can be joined under by the sequences and samples
// of a signature: Key is the tuple's encoding, as the engine compares tuples (values by
// type and value: 1 and 1.0 are one key, "1" another).
type JoinKey struct {
	Signature string
	Key       []byte
}

// Repartitioned is what Options.Repartition receives for each event the Detector takes in.
// It and what it holds are valid during the call only.
type Repartitioned struct {
	// Doc is the event's document, Source where it came from (as given to Process).
	Doc    []byte
	Source EventSource
	// Time is the event's time as the first rule that reads one reads it (its timestamp
	// field, @timestamp by default), in Unix nanoseconds; HasTime is false when it has none.
	Time    int64
	HasTime bool
	// Keys are the distinct (signature, tuple) pairs under which a stage of a sequence or
	// sample rule could take the event (its filter, the rule's filters and exceptions
	// matched, and the stage's join keys present): none when no such rule can use it.
	Keys []JoinKey
}

// JoinSignature returns the join-key signature of a sequence or sample: the distinct lists
// of join-key fields of its stages (the statement's `by` fields followed by the stage's
// own; optional ones marked "?"; until and missing stages included), each in brackets,
// sorted and separated by spaces; "[]" for a sequence without join keys, "" for an event
// query. Two rules with the same signature join an event under the same tuples, so the
// tuples can be shared out once for both. For example, the seed rule's
//
//	sequence with maxspan=1s
//	  [process where ...] by orchestrator.resource.name
//	  [any where ...] by `kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name`
//
// is "[kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name] [orchestrator.resource.name]".
func JoinSignature(stmt *eql.Statement) string {
	var lists []string
	for _, t := range engine.Terms(stmt) {
		if t.Role == engine.TermQuery {
			return ""
		}
		var b strings.Builder
		b.WriteByte('[')
		for i, f := range t.By {
			if i > 0 {
				b.WriteByte(',')
			}
			if f.Optional {
				b.WriteByte('?')
			}
			b.WriteString(f.Name)
		}
		b.WriteByte(']')
		lists = append(lists, b.String())
	}
	if len(lists) == 0 {
		return ""
	}
	slices.Sort(lists)
	return strings.Join(slices.Compact(lists), " ")
}

// IsJoinRule reports whether r is an EQL sequence or sample: a rule that joins events by
// key, which Options.Repartition and Options.OwnsKey share out.
func IsJoinRule(r *rule.Rule) bool {
	if !r.IsEQL() {
		return false
	}
	stmt, err := eql.Parse(r.Query)
	return err == nil && IsSequence(stmt)
}

// repartition reports ev to Options.Repartition with the join keys gathered by push.
func (d *Detector) repartition(ev *event.Event) {
	r := &d.rp
	r.Doc, r.Source = ev.Raw, EventSource{Name: ev.Source, Line: ev.Line, Index: ev.Index, Seq: ev.Seq, ID: ev.ID}
	r.Time, r.HasTime = 0, false
	for _, rs := range d.rules {
		if rs.comp.EventTime != nil {
			if r.Time, r.HasTime = rs.comp.EventTime(ev); r.HasTime {
				break
			}
		}
	}
	d.opts.Repartition(r)
	r.Keys, d.rpBuf = r.Keys[:0], d.rpBuf[:0]
}

// addJoinKeys gathers the join keys of ev under the terms mask of rule rs (push, with
// Options.Repartition), leaving out pairs gathered already.
func (d *Detector) addJoinKeys(rs *ruleState, ev *event.Event, mask uint64) {
	sig := rs.comp.Signature
	rs.comp.JoinKeys(ev, mask, func(key []byte) {
		for _, k := range d.rp.Keys {
			if k.Signature == sig && string(k.Key) == string(key) {
				return
			}
		}
		// The keys point into rpBuf, which may move as it grows: re-slice them after.
		start := len(d.rpBuf)
		old := cap(d.rpBuf)
		d.rpBuf = append(d.rpBuf, key...)
		if cap(d.rpBuf) != old {
			d.reslice()
		}
		d.rp.Keys = append(d.rp.Keys, JoinKey{Signature: sig, Key: d.rpBuf[start:len(d.rpBuf):len(d.rpBuf)]})
	})
}

// reslice points the gathered keys into rpBuf again after it moved.
func (d *Detector) reslice() {
	off := 0
	for i := range d.rp.Keys {
		n := len(d.rp.Keys[i].Key)
		d.rp.Keys[i].Key = d.rpBuf[off : off+n : off+n]
		off += n
	}
}
