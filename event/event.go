package event

import "math"

// Kind is the JSON type of a leaf value.
type Kind uint8

// Value kinds. Integers that fit in int64 are KindInt; other numbers are KindFloat.
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindString
)

// Value is one leaf value of an event field. The member that matches Kind is set: Str for
// a KindString value, Int for a KindInt value, 1 or 0 in Int for a KindBool value, and for
// a KindFloat value the bits of its number in Int (see Float64 and FloatValue: a value is
// 32 bytes, half a cache line). A KindInt or KindFloat value decoded from JSON also keeps
// its literal text in Str (for example "1.50" or "1e3"), which is how Elasticsearch indexes
// a number into a keyword field.
type Value struct {
	Kind Kind
	// Flags are facts the decoder noted while it read a string, so that a consumer need
	// not read the string's bytes to learn them (zero means not known).
	Flags Flags
	Int   int64
	Str   string
}

// FloatValue returns the KindFloat value of f, with its literal text lit ("" when none).
func FloatValue(f float64, lit string) Value {
	return Value{Kind: KindFloat, Int: int64(math.Float64bits(f)), Str: lit}
}

// Float64 returns the number of a KindFloat value.
func (v Value) Float64() float64 { return math.Float64frombits(uint64(v.Int)) }

// Flags are facts about a string Value (see Value.Flags).
type Flags uint8

// NoYearPrefix marks a string that does not start with four ASCII digits, as every date
// format of Elasticsearch's date detection does: a dynamic field holds it as a string.
const NoYearPrefix Flags = 1 << 0

// Slot numbers a field path in a Fields set.
type Slot int32

// Event is one decoded document. Raw is the JSON text of the document (its _source).
// Field values are found by Slot; the slots are those of the Fields the Decoder was built with.
//
// An Event filled by a Decoder shares memory with the decoder and the input line: it is
// valid until the next Decode into it. Clone it to keep it longer.
type Event struct {
	// Raw is the document's JSON text. In a copy KeepRaw made by reference (SetOrigin) it
	// is nil until Doc reads the document again: read kept events' documents with Doc.
	Raw []byte
	// Index is the name of the index (or data stream) the event belongs to, if known.
	Index string
	// ID is the document's _id when its input gives one (a _bulk action); empty otherwise
	// (see DocID).
	ID string
	// Seq is the event's position in its input (the implicit tiebreaker).
	Seq uint64
	// Source names where the event came from (a file name, "-", an HTTP request) and Line
	// its line number there, for messages.
	Source string
	Line   int

	// The recorded values, in one contiguous array, found through a small bitmap: for
	// each run of 64 slots, bits has a word with the bit of each slot that has values, a
	// word with the bit of each slot where a null was seen, and the number of slots with
	// values before the run. The values of the slots with values are vals[start:end] of
	// their span in spans, which is in slot order: the span of slot s is the one whose
	// rank is the number of slots with values before s. Values is thus a few loads from a
	// few dozen bytes and one popcount, whatever the number of slots. A clone has the same
	// form, with bits trimmed after its last recorded slot (see Clone). arena holds
	// unescaped strings; kept is the copy Keep made since the last Decode, keptRaw the one
	// KeepRaw made; clone is true for a copy made by Clone or KeepRaw. dec is the trie of
	// the Decoder that filled the event; lazy is set on a copy made by KeepRaw until its
	// values are read.
	vals    []Value
	spans   []span
	bits    []bitWord
	arena   []byte
	kept    *Event
	keptRaw *Event
	clone   bool
	dec     *trie
	lazy    *lazyValues
	stamps  stamps
	holders int32  // see Hold
	origin  Origin // where Raw can be read again (SetOrigin), nil if nowhere
	at      int64  // its offset there
}

// Origin reads documents again from the inputs that hold them: a detector reading files
// keeps references to the documents of the events it keeps, rather than copies (see
// Event.SetOrigin and Event.KeepRaw).
type Origin interface {
	// ReadDoc returns the n bytes at offset in the input named source.
	ReadDoc(source string, offset int64, n int) ([]byte, error)
}

// span names the values of one slot: vals[start:end].
type span struct{ start, end uint32 }

// bitWord describes 64 slots, from slot 64*i for bits[i]: see Event.
type bitWord struct {
	vals, nulls uint64
	rank        uint32
}

// The rest of the API (implemented in this package):
//
//	func NewFields() *Fields                       // a set of dotted field paths, each with a Slot
//	func (f *Fields) Add(path string) Slot         // idempotent; call while compiling queries
//	func (f *Fields) Lookup(path string) (Slot, bool)
//	func (f *Fields) Path(s Slot) string
//	func (f *Fields) Len() int
//	func NewDecoder(f *Fields) *Decoder            // after every Add; one per goroutine
//	func (d *Decoder) Decode(doc []byte, ev *Event) error
//	func (e *Event) Values(s Slot) []Value         // the non-null leaf values at the path, arrays flattened
//	func (e *Event) HasNull(s Slot) bool           // an explicit null was seen at the path
//	func (e *Event) Clone() *Event                 // a copy that owns its memory
//	func (e *Event) Keep() *Event                  // one shared read-only copy per Decode
//	func (e *Event) KeepRaw() *Event               // the same, copying the document only (or not at all)
//	func (e *Event) SetOrigin(o Origin, offset int64) // where the document can be read again
//	func (e *Event) Doc() ([]byte, error)          // the document of any event, kept ones included
//	func (e *Event) SetStamp(i int, ns int64, ok bool) // a timestamp converted once, for later readers
//	func (e *Event) Stamp(i int) (ns int64, ok, set bool)
