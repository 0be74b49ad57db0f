package k8saudit

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"github.com/tripline/tripline/internal/needle"
	"github.com/tripline/tripline/internal/scribble"
)

// Dataset is the data stream dataset (and event.dataset) of normalised audit documents.
const Dataset = "kubernetes.audit_logs"

// TimestampSource says where @timestamp of a native or GKE record comes from. AKS records
// always take it from the envelope's time, truncated to milliseconds, as the integration does.
type TimestampSource uint8

const (
	// TimestampStage copies stageTimestamp (the time the record was written, the closest
	// event-time stand-in for the read time Elastic uses). The default.
	TimestampStage TimestampSource = iota
	// TimestampReceived copies requestReceivedTimestamp.
	TimestampReceived
	// TimestampNone leaves @timestamp unset, exactly as the integration's pipeline does.
	TimestampNone
)

// IngestedSource says how event.ingested is set. Elastic sets it at ingest time with the
// sub-second part removed; a replay needs a reproducible stand-in.
type IngestedSource uint8

const (
	// IngestedNone leaves event.ingested unset. The default.
	IngestedNone IngestedSource = iota
	// IngestedStage sets event.ingested to stageTimestamp truncated to whole seconds:
	// a reproducible stand-in for an ingest with no lag.
	IngestedStage
	// IngestedNow sets event.ingested to Options.Now() truncated to whole seconds, as
	// Fleet's final pipeline does.
	IngestedNow
)

// Options tune a Normalizer. The zero value is ready to use.
type Options struct {
	// KeepOriginal keeps the input record in event.original, as the integration does when
	// the preserve_original_event tag is set.
	KeepOriginal bool
	// Namespace is data_stream.namespace; empty means "default".
	Namespace string
	// Timestamp chooses @timestamp for native and GKE records.
	Timestamp TimestampSource
	// Ingested chooses event.ingested.
	Ingested IngestedSource
	// Now is the clock for IngestedNow; nil means time.Now.
	Now func() time.Time
}

// Normalizer converts raw audit records to ECS documents. It is not safe for concurrent
// use: use one per goroutine. Its zero value is not usable; call New.
type Normalizer struct {
	opts        Options
	outer, log  fastjson.Parser
	arena       fastjson.Arena
	w           writer
	namespace   string
	original    []byte
	ips         []*fastjson.Value
	itemScratch []byte
	// out holds the buffers of the documents the current Normalize call wrote, reused by
	// the next call: the Normalizer owns them, never the caller's slices.
	out  [][]byte
	nout int
}

// New returns a Normalizer with the given options.
func New(opts Options) *Normalizer {
	n := &Normalizer{opts: opts, namespace: opts.Namespace}
	if n.namespace == "" {
		n.namespace = "default"
	}
	if n.opts.Now == nil {
		n.opts.Now = time.Now
	}
	return n
}

// The shape of a record, found by looking at its top-level fields.
type shape uint8

const (
	shapeNone shape = iota
	shapeEvent
	shapeEventList
	shapeAKS
	shapeGKE
)

func shapeOf(root *fastjson.Value) shape {
	if root.Type() != fastjson.TypeObject {
		return shapeNone
	}
	kind := root.GetStringBytes("kind")
	api := root.GetStringBytes("apiVersion")
	auditAPI := bytes.HasPrefix(api, []byte("audit.k8s.io/"))
	switch {
	case string(kind) == "Event" && (auditAPI || (root.Get("apiVersion") == nil && root.Get("auditID") != nil)):
		return shapeEvent
	case string(kind) == "EventList" && auditAPI:
		return shapeEventList
	case root.Get("category") != nil && root.Get("operationName") != nil && root.Get("resourceId") != nil &&
		root.Get("time") != nil && root.Get("properties", "log") != nil:
		return shapeAKS
	case string(root.GetStringBytes("protoPayload", "serviceName")) == "k8s.io":
		return shapeGKE
	}
	return shapeNone
}

var detectPool fastjson.ParserPool

// mayBeRecord is Detect's quick test, done on the text without parsing it: false means doc
// is certainly not a raw record, because it holds none of what every shape needs (a
// "kind" member whose value starts with "Event", an "operationName" member for AKS, a
// "protoPayload" member for GKE), written without JSON \u escapes (a document with one is
// left to the parser). Most documents, ECS events among them, are rejected here at the cost
// of a few byte searches instead of a full parse.
func mayBeRecord(doc []byte) bool {
	// A \u escape, unless its backslash is itself escaped (as in "C:\\users").
	for i := 0; i < len(doc); i += 2 { // past a backslash and the character it escapes
		j := bytes.IndexByte(doc[i:], '\\')
		if j < 0 {
			break
		}
		i += j
		if i+1 < len(doc) && doc[i+1] == 'u' {
			return true
		}
	}
	// Each needle is looked for by one of its bytes that is rare in documents (an upper-case
	// letter: a one-byte search is many times faster than a longer one), then checked whole.
	if needle.In(doc, `"operationName"`, 10) || needle.In(doc, `"protoPayload"`, 6) {
		return true
	}
	const ev = `"Event`
	for i := 1; i < len(doc); {
		k := bytes.IndexByte(doc[i:], 'E')
		if k < 0 {
			return false
		}
		k += i - 1 // at the quote
		i = k + 2
		if !bytes.HasPrefix(doc[k:], []byte(ev)) {
			continue
		}
		// It must be the value of a top-level "kind" member: `"kind"`, blanks, ':', blanks
		// before it, inside the outermost object only (an ECS document made from an audit
		// record has kubernetes.audit.kind "Event").
		v := bytes.TrimRight(doc[:k], " \t\r\n")
		if len(v) > 0 && v[len(v)-1] == ':' && bytes.HasSuffix(bytes.TrimRight(v[:len(v)-1], " \t\r\n"), []byte(`"kind"`)) &&
			depthAt(doc, k) == 1 {
			return true
		}
	}
	return false
}

// depthAt returns how many objects and arrays are open at position k of doc, a position
// outside strings. It skips strings by their quotes (IndexByte), so it reads the structure
// bytes only; on malformed text the answer is only a guess (the parser then decides).
func depthAt(doc []byte, k int) int {
	depth := 0
	for i := 0; i < k; i++ {
		switch doc[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			for { // to the closing quote: one not preceded by an odd run of backslashes
				j := bytes.IndexByte(doc[i+1:], '"')
				if j < 0 {
					return depth
				}
				i += 1 + j
				n := 0
				for b := i - 1; b >= 0 && doc[b] == '\\'; b-- {
					n++
				}
				if n%2 == 0 {
					break
				}
			}
		}
	}
	return depth
}

// Detect reports whether doc is a raw audit record this package normalises: an
// audit.k8s.io Event or EventList (by apiVersion and kind), an AKS diagnostic envelope or
// a GKE k8s.io AuditLog entry. ECS documents, including normalised audit documents, are not.
func Detect(doc []byte) bool {
	if !mayBeRecord(doc) {
		return false
	}
	p := detectPool.Get()
	defer detectPool.Put(p)
	root, err := p.ParseBytes(doc)
	if err != nil {
		return false
	}
	return shapeOf(root) != shapeNone
}

var defaultPool = sync.Pool{New: func() any { return New(Options{}) }}

// Normalize normalises doc with the default Options (see Normalizer.Normalize). Its
// documents are copies the caller owns: the pooled Normalizer's buffers go back to the pool.
func Normalize(doc []byte, dst [][]byte) ([][]byte, error) {
	n := defaultPool.Get().(*Normalizer)
	defer defaultPool.Put(n)
	start := len(dst)
	dst, err := n.Normalize(doc, dst)
	for i := start; i < len(dst); i++ {
		dst[i] = bytes.Clone(dst[i])
	}
	return dst, err
}

// Error is a record, or an item of an EventList, that could not be normalised.
type Error struct {
	// Item is the index of the EventList item, or -1 for the record itself.
	Item int
	// Reason says what is wrong.
	Reason string
}

func (e *Error) Error() string {
	if e.Item >= 0 {
		return fmt.Sprintf("k8saudit: EventList items[%d]: %s", e.Item, e.Reason)
	}
	return "k8saudit: " + e.Reason
}

// Normalize appends to dst one ECS document (JSON text) per audit event in doc: one for an
// Event, an AKS or a GKE record, one per item for an EventList. The documents are written
// in buffers the Normalizer owns and reuses: they are valid until its next Normalize call.
// Normalize never writes into dst's slices, whatever they point to.
//
// A record that is not an audit record, or is malformed, gives an *Error (or a JSON syntax
// error) and no document. For an EventList, the valid items are still appended and the
// returned error (errors.Join of *Error values) names each item skipped.
func (n *Normalizer) Normalize(doc []byte, dst [][]byte) ([][]byte, error) {
	root, err := n.outer.ParseBytes(doc)
	if err != nil {
		return dst, &Error{Item: -1, Reason: "invalid JSON: " + err.Error()}
	}
	n.arena.Reset()
	for _, b := range n.out[:n.nout] {
		scribble.Bytes(b) // the previous call's documents end here
	}
	n.nout = 0
	switch shapeOf(root) {
	case shapeEvent, shapeGKE:
		return n.emitRecord(dst, root, doc, nil)
	case shapeAKS:
		env := root
		log := root.Get("properties", "log")
		switch log.Type() {
		case fastjson.TypeString:
			s, _ := log.StringBytes()
			log, err = n.log.ParseBytes(s)
			if err != nil {
				return dst, &Error{Item: -1, Reason: "AKS properties.log: invalid JSON: " + err.Error()}
			}
			if log.Type() != fastjson.TypeObject {
				return dst, &Error{Item: -1, Reason: "AKS properties.log is not a JSON object"}
			}
		case fastjson.TypeObject:
		default:
			return dst, &Error{Item: -1, Reason: "AKS properties.log is neither an object nor a JSON string"}
		}
		return n.emitRecord(dst, log, doc, env)
	case shapeEventList:
		items := root.Get("items")
		if items == nil || items.Type() == fastjson.TypeNull {
			return dst, nil
		}
		arr, err := items.Array()
		if err != nil {
			return dst, &Error{Item: -1, Reason: "EventList items is not an array"}
		}
		var errs []error
		api := root.Get("apiVersion")
		for i, it := range arr {
			o, err := it.Object()
			if err != nil {
				errs = append(errs, &Error{Item: i, Reason: "not a JSON object"})
				continue
			}
			if o.Get("kind") == nil {
				o.Set("kind", n.arena.NewString("Event"))
			}
			if o.Get("apiVersion") == nil {
				o.Set("apiVersion", api)
			}
			var orig []byte
			if n.opts.KeepOriginal {
				n.itemScratch = it.MarshalTo(n.itemScratch[:0])
				orig = n.itemScratch
			}
			if dst, err = n.emit(dst, it, orig, nil); err != nil {
				errs = append(errs, &Error{Item: i, Reason: err.Error()})
			}
		}
		return dst, errors.Join(errs...)
	}
	return dst, &Error{Item: -1, Reason: notAuditReason(root)}
}

func notAuditReason(root *fastjson.Value) string {
	if root.Type() != fastjson.TypeObject {
		return "not a Kubernetes audit record: the document is a JSON " + root.Type().String() + ", not an object"
	}
	return "not a Kubernetes audit record: no audit.k8s.io apiVersion with kind Event or EventList, AKS envelope or GKE k8s.io AuditLog"
}

// GKE fields that fill missing audit fields (the integration's fallbacks), in order.
var gkeRenames = [...]struct{ from, to string }{
	{"insertId", "auditID"},
	{"receiveTimestamp", "requestReceivedTimestamp"},
	{"timestamp", "stageTimestamp"},
	{"labels", "annotations"},
}

func (n *Normalizer) emitRecord(dst [][]byte, ev *fastjson.Value, orig []byte, env *fastjson.Value) ([][]byte, error) {
	dst, err := n.emit(dst, ev, orig, env)
	if err != nil {
		return dst, &Error{Item: -1, Reason: err.Error()}
	}
	return dst, nil
}

// emit writes the ECS document for the audit object ev. orig is event.original (when kept);
// env is the AKS envelope or nil.
func (n *Normalizer) emit(dst [][]byte, ev *fastjson.Value, orig []byte, env *fastjson.Value) ([][]byte, error) {
	audit, _ := ev.Object()

	// Agent/pipeline: drop the object metadata of request and response bodies.
	for _, k := range [...]string{"requestObject", "responseObject"} {
		if o := objectOf(ev.Get(k)); o != nil {
			o.Del("metadata")
		}
	}
	// GKE fallbacks, only when the target is missing.
	for _, r := range gkeRenames {
		if v := ev.Get(r.from); v != nil && ev.Get(r.to) == nil {
			audit.Del(r.from)
			audit.Set(r.to, v)
		}
	}
	if ev.Get("responseStatus", "code") == nil {
		if st := objectOf(ev.Get("protoPayload", "status")); st != nil {
			if code := st.Get("code"); code != nil {
				st.Del("code")
				if rso := objectOf(ev.Get("responseStatus")); rso != nil {
					rso.Set("code", code)
				} else {
					o := n.arena.NewObject()
					o.Set("code", code)
					audit.Del("responseStatus")
					audit.Set("responseStatus", o)
				}
			}
		}
	}

	if n.nout == len(n.out) {
		n.out = append(n.out, nil)
	}
	w := &n.w
	w.buf, w.marks, w.pendingKey, w.badNumber = n.out[n.nout][:0], w.marks[:0], -1, false
	w.open('{')

	// @timestamp
	switch {
	case env != nil:
		if t, ok := parseTime(env.Get("time")); ok {
			w.key("@timestamp")
			w.buf = append(w.buf, '"')
			w.buf = t.UTC().AppendFormat(w.buf, "2006-01-02T15:04:05.000Z07:00")
			w.buf = append(w.buf, '"')
		}
	case n.opts.Timestamp == TimestampStage:
		w.member("@timestamp", ev.Get("stageTimestamp"), false)
	case n.opts.Timestamp == TimestampReceived:
		w.member("@timestamp", ev.Get("requestReceivedTimestamp"), false)
	}

	// source.ip, client.ip, related.ip: sourceIPs converted to ip; a bad address fails the
	// whole conversion (ignore_failure), leaving all three unset.
	n.ips = n.ips[:0]
	ipsOK := false
	if v := ev.Get("sourceIPs"); v != nil && v.Type() == fastjson.TypeArray {
		arr, _ := v.Array()
		ipsOK = true
		for _, v := range arr {
			s, err := v.StringBytes()
			if err != nil {
				ipsOK = false
				break
			}
			if _, err := netip.ParseAddr(bytesString(s)); err != nil {
				ipsOK = false
				break
			}
			n.ips = append(n.ips, v)
		}
	} else if v := ev.Get("sourceIPs"); v != nil && v.Type() == fastjson.TypeString {
		s, _ := v.StringBytes()
		if _, err := netip.ParseAddr(bytesString(s)); err == nil {
			ipsOK = true
			n.ips = append(n.ips, v)
		}
	}
	if ipsOK && len(n.ips) > 0 {
		w.key("client")
		w.open('{')
		n.writeIPs("ip", false)
		w.close('}')
	}

	w.key("data_stream")
	w.open('{')
	w.strMember("dataset", Dataset)
	w.strMember("namespace", n.namespace)
	w.strMember("type", "logs")
	w.close('}')

	// event.*
	w.key("event")
	w.open('{')
	w.member("action", ev.Get("verb"), false)
	w.strMember("dataset", Dataset)
	switch n.opts.Ingested {
	case IngestedStage:
		if t, ok := parseTime(ev.Get("stageTimestamp")); ok {
			w.timeMember("ingested", t.Truncate(time.Second))
		}
	case IngestedNow:
		w.timeMember("ingested", n.opts.Now().Truncate(time.Second))
	}
	w.strMember("kind", "event")
	if n.opts.KeepOriginal && len(orig) > 0 {
		w.key("original")
		w.str(orig)
	}
	switch string(ev.Get("annotations").GetStringBytes("authorization.k8s.io/decision")) {
	case "allow":
		w.strMember("outcome", "success")
	case "forbid":
		w.strMember("outcome", "failure")
	}
	w.close('}')

	// kubernetes.audit
	w.key("kubernetes")
	w.open('{')
	w.key("audit")
	w.open('{')
	audit.Visit(func(k []byte, v *fastjson.Value) {
		w.memberBytes(k, v, string(k) == "annotations")
	})
	if env != nil {
		w.key("aks_metadata")
		w.open('{')
		w.member("category", env.Get("category"), false)
		w.member("container_id", env.Get("properties", "containerID"), false)
		w.member("operation_name", env.Get("operationName"), false)
		w.member("pod", env.Get("properties", "pod"), false)
		w.member("resource_id", env.Get("resourceId"), false)
		w.member("service_build", env.Get("serviceBuild"), false)
		w.member("stream", env.Get("properties", "stream"), false)
		w.member("time", env.Get("time"), false)
		w.close('}')
	}
	w.close('}')
	w.close('}')

	// orchestrator.*
	w.key("orchestrator")
	w.open('{')
	w.member("api_version", ev.Get("apiVersion"), false)
	if lbl := ev.Get("resource", "labels"); lbl != nil {
		w.key("cluster")
		w.open('{')
		w.member("id", lbl.Get("project_id"), false)
		w.member("name", lbl.Get("cluster_name"), false)
		w.close('}')
	}
	w.member("namespace", ev.Get("objectRef", "namespace"), false)
	w.key("resource")
	w.open('{')
	if !w.member("name", ev.Get("objectRef", "name"), false) {
		w.member("name", ev.Get("protoPayload", "resourceName"), false)
	}
	if !w.member("type", ev.Get("objectRef", "resource"), false) {
		w.member("type", ev.Get("resource", "type"), false)
	}
	w.close('}')
	w.strMember("type", "kubernetes")
	w.close('}')

	// related.*
	uid, name := ev.Get("user", "uid"), ev.Get("user", "username")
	w.key("related")
	w.open('{')
	if ipsOK && len(n.ips) > 0 {
		n.writeIPs("ip", true)
	}
	w.key("user")
	w.open('[')
	w.elem(uid)
	if !sameString(uid, name) {
		w.elem(name)
	}
	w.close(']')
	w.close('}')

	if ipsOK && len(n.ips) > 0 {
		w.key("source")
		w.open('{')
		n.writeIPs("ip", false)
		w.close('}')
	}

	w.key("user")
	w.open('{')
	w.member("id", uid, false)
	w.member("name", name, false)
	w.close('}')

	w.key("user_agent")
	w.open('{')
	w.member("original", ev.Get("userAgent"), false)
	w.close('}')

	w.close('}')
	if len(w.buf) == 0 { // cannot happen: data_stream is never empty
		w.buf = append(w.buf, "{}"...)
	}
	n.out[n.nout] = w.buf // keep the grown buffer for the next call
	w.buf = nil
	if w.badNumber {
		return dst, errors.New("invalid JSON: a number is not valid JSON (leading zero, NaN, Inf or similar)")
	}
	n.nout++
	return append(dst, n.out[n.nout-1]), nil
}

// writeIPs writes the source addresses as an array member; dedup removes repeats.
func (n *Normalizer) writeIPs(key string, dedup bool) {
	w := &n.w
	w.key(key)
	w.open('[')
	for i, v := range n.ips {
		if dedup && seenBefore(n.ips[:i], v) {
			continue
		}
		w.elem(v)
	}
	w.close(']')
}

func seenBefore(prev []*fastjson.Value, v *fastjson.Value) bool {
	s := v.GetStringBytes()
	for _, p := range prev {
		if bytes.Equal(p.GetStringBytes(), s) {
			return true
		}
	}
	return false
}

// parseTime reads an RFC 3339 timestamp with 0 to 9 fractional digits.
func parseTime(v *fastjson.Value) (time.Time, bool) {
	if v == nil || v.Type() != fastjson.TypeString {
		return time.Time{}, false
	}
	s, _ := v.StringBytes()
	t, err := time.Parse(time.RFC3339Nano, bytesString(s))
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// objectOf returns v's object, or nil when v is missing or not an object.
func objectOf(v *fastjson.Value) *fastjson.Object {
	if v == nil || v.Type() != fastjson.TypeObject {
		return nil
	}
	o, _ := v.Object()
	return o
}

// sameString reports whether a and b are both strings with the same value.
func sameString(a, b *fastjson.Value) bool {
	return a != nil && b != nil && a.Type() == fastjson.TypeString && b.Type() == fastjson.TypeString &&
		bytes.Equal(a.GetStringBytes(), b.GetStringBytes())
}
