package sensors

import (
	"bytes"
	"time"

	"github.com/valyala/fastjson"

	"github.com/tripline/tripline/internal/needle"
	"github.com/tripline/tripline/internal/scribble"
)

// Kind is the sensor a document comes from.
type Kind uint8

// Kinds.
const (
	// None is a document of no sensor this package knows.
	None Kind = iota
	// Falco is one line of Falco's JSON output for the syscall source.
	Falco
	// Tetragon is one process_exec or process_exit event of Tetragon's JSON export.
	Tetragon
)

// String returns the sensor's name in lower case ("" for None).
func (k Kind) String() string {
	switch k {
	case Falco:
		return "falco"
	case Tetragon:
		return "tetragon"
	}
	return ""
}

// Data stream datasets (and event.dataset) of the documents, by sensor.
const (
	FalcoDataset    = "falco.syscall"
	TetragonDataset = "tetragon.process"
)

var detectPool fastjson.ParserPool

// Detect reports which sensor wrote doc: Falco for an object with a string rule and time
// and an output_fields object whose source is "syscall" or not given (Falco's outputs
// before 0.31 have no source), Tetragon for an object with a process_exec or process_exit
// object. ECS documents, including those this package writes, are None.
func Detect(doc []byte) Kind {
	if !mayBeEvent(doc) {
		return None
	}
	p := detectPool.Get()
	defer detectPool.Put(p)
	root, err := p.ParseBytes(doc)
	if err != nil {
		return None
	}
	return kindOf(root)
}

func kindOf(root *fastjson.Value) Kind {
	if root.Type() != fastjson.TypeObject {
		return None
	}
	if isObject(root.Get("process_exec")) || isObject(root.Get("process_exit")) {
		return Tetragon
	}
	if isObject(root.Get("output_fields")) && isString(root.Get("rule")) && isString(root.Get("time")) {
		switch src := root.Get("source"); {
		case src == nil, string(src.GetStringBytes()) == "syscall":
			return Falco
		}
	}
	return None
}

func isObject(v *fastjson.Value) bool { return v != nil && v.Type() == fastjson.TypeObject }
func isString(v *fastjson.Value) bool { return v != nil && v.Type() == fastjson.TypeString }

// mayBeEvent is Detect's quick test on the text: false means doc holds neither
// "output_fields" nor "process_exi"/"process_exe" as written without \u escapes (a
// document with an escape is left to the parser). Each needle is found by a byte that is
// rare in JSON documents, then checked whole.
func mayBeEvent(doc []byte) bool {
	if bytes.Contains(doc, []byte(`\u`)) {
		return true
	}
	return needle.In(doc, `"process_ex`, 10) || needle.In(doc, `"output_fields"`, 8)
}

// Options tune a Normalizer. The zero value is ready to use.
type Options struct {
	// Namespace is data_stream.namespace; empty means "default".
	Namespace string
}

// Normalizer converts sensor events to ECS documents. It is not safe for concurrent use:
// use one per goroutine. Its zero value is not usable; call New.
type Normalizer struct {
	namespace string
	p         fastjson.Parser
	w         writer
	out       []byte // the buffer of the last document, reused by the next call
	args      [][]byte
	argBuf    []byte
}

// New returns a Normalizer with the given options.
func New(opts Options) *Normalizer {
	n := &Normalizer{namespace: opts.Namespace}
	if n.namespace == "" {
		n.namespace = "default"
	}
	return n
}

// Error is an event that could not be normalised.
type Error struct {
	// Reason says what is wrong.
	Reason string
}

func (e *Error) Error() string { return "sensors: " + e.Reason }

// Normalize appends to dst the ECS document (JSON text) of the sensor event doc. The
// document is written in a buffer the Normalizer owns and reuses: it is valid until its
// next Normalize call. A document of no known sensor, or one whose time is missing or
// malformed, gives an *Error and no document.
func (n *Normalizer) Normalize(doc []byte, dst [][]byte) ([][]byte, error) {
	scribble.Bytes(n.out) // the previous call's document ends here
	root, err := n.p.ParseBytes(doc)
	if err != nil {
		return dst, &Error{Reason: "invalid JSON: " + err.Error()}
	}
	n.w.reset(n.out)
	switch kindOf(root) {
	case Falco:
		err = n.falco(root)
	case Tetragon:
		err = n.tetragon(root)
	default:
		return dst, &Error{Reason: "not a sensor event: neither Falco's JSON output of a syscall rule (rule, time, output_fields) nor Tetragon's process_exec or process_exit"}
	}
	n.out = n.w.buf
	if err != nil {
		return dst, err
	}
	return append(dst, n.w.finish()), nil
}

// parseTime reads an RFC 3339 timestamp with 0 to 9 fractional digits.
func parseTime(v *fastjson.Value) (time.Time, bool) {
	s := strOf(v)
	if s == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	return t, err == nil
}

func (n *Normalizer) dataStream(dataset string) {
	w := &n.w
	w.obj("data_stream")
	w.strS("dataset", dataset)
	w.strS("namespace", n.namespace)
	w.strS("type", "logs")
	w.end()
}

// event writes the event object: kind, category, type and action of a process start
// ("start"), end ("end") or, with typ "", an event of another kind.
func (n *Normalizer) event(dataset, module, typ string, action []byte, t time.Time) {
	w := &n.w
	w.obj("event")
	w.str("action", action)
	if typ != "" {
		w.arr("category")
		w.elem([]byte("process"))
		w.end()
	}
	w.strS("dataset", dataset)
	w.time("ingested", t.Truncate(time.Second))
	if typ != "" {
		w.strS("kind", "event")
	} else {
		w.strS("kind", "alert")
	}
	w.strS("module", module)
	if typ != "" {
		w.arr("type")
		w.elem([]byte(typ))
		w.end()
	}
	w.end()
}

// splitArgs appends to n.args the arguments of a command line as the sensors write it:
// arguments joined by spaces, an argument holding a space in double quotes (Tetragon);
// a backslash escapes the next character inside quotes.
func (n *Normalizer) splitArgs(line []byte) {
	for i := 0; i < len(line); {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) {
			return
		}
		start := len(n.argBuf)
		quoted := false
		for ; i < len(line); i++ {
			c := line[i]
			if c == '"' {
				quoted = !quoted
				continue
			}
			if c == ' ' && !quoted {
				break
			}
			if c == '\\' && quoted && i+1 < len(line) {
				i++
				c = line[i]
			}
			n.argBuf = append(n.argBuf, c)
		}
		n.args = append(n.args, n.argBuf[start:len(n.argBuf):len(n.argBuf)])
	}
}

// writeArgs writes process.args and process.args_count from n.args, and empties it.
func (n *Normalizer) writeArgs() {
	w := &n.w
	if len(n.args) > 0 {
		w.arr("args")
		for _, a := range n.args {
			w.elem(a)
		}
		w.end()
		w.int("args_count", int64(len(n.args)))
	}
	clear(n.args)
	n.args, n.argBuf = n.args[:0], n.argBuf[:0]
}
