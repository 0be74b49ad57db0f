package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bulk operation names, as they appear in action lines and in response items.
const (
	opIndex  = "index"
	opCreate = "create"
	opUpdate = "update"
	opDelete = "delete"
)

// bulkItem is one operation of a bulk request and, once answered, its outcome.
type bulkItem struct {
	op    string
	index string
	id    string
	err   *esError // nil when the document went to the sink
	seqNo int64
}

// bulkState holds everything one bulk request needs; it is pooled and reused, so a request
// allocates nothing per event beyond the generated _id and the first sight of an index name.
type bulkState struct {
	body     []byte
	docs     []Doc
	items    []bulkItem
	out      []byte
	scratch  []byte
	reserved int64 // body bytes reserved from Server.inFlightBytes for this request
	// indices holds the index names seen by the requests that used this state, with the
	// error each is refused with (nil: a valid name), so that a request whose documents
	// go to a few data streams in turn makes and checks each name once, not once a document.
	// It is kept across requests (bulkState is pooled), up to maxIndices names.
	indices map[string]indexName
}

// indexName is an index name of a bulk request, checked.
type indexName struct {
	name string
	err  *esError // validateIndexName's
}

// maxIndices bounds bulkState.indices: past it, the names are forgotten and seen again.
const maxIndices = 256

func (st *bulkState) reset() {
	clear(st.docs) // drop references to sources and strings
	st.docs = st.docs[:0]
	clear(st.items)
	st.items = st.items[:0]
	st.out = st.out[:0]
}

// index returns the index name b as a string, and the error it is refused with, nil when
// valid (see validateIndexName); the same string for every equal name.
func (st *bulkState) index(b []byte) indexName {
	if n, ok := st.indices[string(b)]; ok { // no allocation for the lookup
		return n
	}
	if st.indices == nil || len(st.indices) >= maxIndices {
		st.indices = make(map[string]indexName)
	}
	name := string(b)
	n := indexName{name: name, err: validateIndexName(name)}
	st.indices[name] = n
	return n
}

// parseBulk splits an NDJSON bulk body into documents and per-item outcomes. A body that
// Elasticsearch would refuse as a whole (not newline-terminated, a malformed action line,
// no index) returns an error and nothing is accepted; a bad document only fails its item.
func (s *Server) parseBulk(st *bulkState, body []byte, defaultIndex string) *esError {
	if len(body) == 0 {
		return &esError{status: 400, typ: "parse_exception", reason: "request body is required"}
	}
	if body[len(body)-1] != '\n' {
		return &esError{status: 400, typ: "illegal_argument_exception", reason: `The bulk request must be terminated by a newline [\n]`}
	}
	line := 0
	for pos := 0; pos < len(body); {
		actionLine, next := nextLine(body, pos)
		pos = next
		line++
		if isBlank(actionLine) {
			continue
		}
		a, aerr := parseAction(actionLine, line, &st.scratch)
		if aerr != nil {
			return aerr
		}
		item := bulkItem{op: a.op}
		var badIndex *esError
		switch {
		case a.index != nil:
			n := st.index(a.index)
			item.index, badIndex = n.name, n.err
		case defaultIndex != "":
			item.index, badIndex = defaultIndex, validateIndexName(defaultIndex)
		default:
			return &esError{status: 400, typ: "action_request_validation_exception", reason: "Validation Failed: 1: index is missing;"}
		}
		if a.id != nil {
			item.id = string(a.id)
		}
		if a.op == opDelete {
			item.err = unsupportedOp(a.op, line)
			st.items = append(st.items, item)
			continue
		}
		if pos >= len(body) {
			return &esError{status: 400, typ: "illegal_argument_exception",
				reason: "Malformed action/metadata line [" + strconv.Itoa(line) + "], the [" + a.op + "] action is not followed by a document line"}
		}
		src, next := nextLine(body, pos)
		pos = next
		line++
		if item.id == "" && a.op != opUpdate {
			item.id = s.ids.next()
		}
		switch {
		case a.op == opUpdate:
			item.err = unsupportedOp(a.op, line-1)
		default:
			if badIndex != nil {
				item.err = badIndex
			} else if e := validateSource(src, line, !s.cfg.SinkValidates); e != nil {
				item.err = e
			}
		}
		if item.err == nil {
			st.docs = append(st.docs, Doc{Index: item.index, ID: item.id, Source: src, Line: line, item: len(st.items)})
		}
		st.items = append(st.items, item)
	}
	if len(st.items) == 0 {
		return &esError{status: 400, typ: "action_request_validation_exception", reason: "Validation Failed: 1: no requests added;"}
	}
	return nil
}

// nextLine returns the line starting at pos (without its "\n" or "\r\n") and the position
// after it.
func nextLine(body []byte, pos int) ([]byte, int) {
	end := bytes.IndexByte(body[pos:], '\n')
	var l []byte
	next := len(body)
	if end < 0 {
		l = body[pos:]
	} else {
		l = body[pos : pos+end]
		next = pos + end + 1
	}
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	return l, next
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

func unsupportedOp(op string, line int) *esError {
	return &esError{status: 400, typ: "illegal_argument_exception",
		reason: "[" + op + "] is not supported by tripline, which receives events and stores no documents (action on line " + strconv.Itoa(line) + ")"}
}

// validateSource checks that a document line is one JSON object; without full, only that
// it starts as one (the sink reads the rest). The reason follows Elasticsearch's
// "[line:column] failed to parse: why", the column counted in the document, and says where
// the document sits in the request body.
func validateSource(src []byte, line int, full bool) *esError {
	i := 0
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\r' || src[i] == '\n') {
		i++
	}
	where := func() string { return " (request body line " + strconv.Itoa(line) + ")" }
	if i == len(src) {
		return &esError{status: 400, typ: "document_parsing_exception", reason: "[1:1] failed to parse: the document is empty" + where()}
	}
	if src[i] != '{' {
		return &esError{status: 400, typ: "document_parsing_exception",
			reason: "[1:" + strconv.Itoa(i+1) + "] failed to parse: Malformed content, must start with an object" + where()}
	}
	if !full || json.Valid(src) {
		return nil
	}
	var v struct{}
	err := json.Unmarshal(src, &v)
	col := len(src)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		col = int(se.Offset) // the offending byte, 1-based
		if strings.HasPrefix(se.Error(), "unexpected end") {
			col = len(src) + 1 // unexpected end: one past the last byte
		}
	}
	msg := "invalid JSON"
	if err != nil {
		msg = err.Error()
	}
	return &esError{status: 400, typ: "document_parsing_exception",
		reason: "[1:" + strconv.Itoa(max(col, 1)) + "] failed to parse: " + msg + where()}
}

// validateIndexName applies Elasticsearch's rules for index and data stream names.
func validateIndexName(name string) *esError {
	bad := func(why string) *esError {
		extra := `"index_uuid":"_na_","index":` + string(appendJSONString(nil, name))
		return &esError{status: 400, typ: "invalid_index_name_exception", reason: "Invalid index name [" + name + "], " + why, extra: extra}
	}
	switch {
	case name == "":
		return bad("must not be empty")
	case !utf8.ValidString(name):
		return bad("must not contain invalid UTF-8")
	case strings.ContainsFunc(name, unicode.IsControl):
		return bad("must not contain control characters")
	case strings.ContainsRune(name, '#'):
		return bad("must not contain '#'")
	case strings.ContainsRune(name, ':'):
		return bad("must not contain ':'")
	case name[0] == '_' || name[0] == '-' || name[0] == '+':
		return bad("must not start with '_', '-', or '+'")
	case name == "." || name == "..":
		return bad("must not be '.' or '..'")
	case strings.ContainsAny(name, "\\/*?\"<>| ,"):
		return bad(`must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?]`)
	case strings.ToLower(name) != name:
		return bad("must be lowercase")
	case len(name) > 255:
		return &esError{status: 400, typ: "invalid_index_name_exception",
			reason: "Invalid index name [" + name + "], index name is too long, (" + strconv.Itoa(len(name)) + " > 255)"}
	}
	return nil
}

// appendBulkResponse writes the bulk response as Elasticsearch does.
func appendBulkResponse(b []byte, took int64, items []bulkItem) []byte {
	errs := false
	for i := range items {
		if items[i].err != nil {
			errs = true
			break
		}
	}
	b = append(b, `{"took":`...)
	b = strconv.AppendInt(b, took, 10)
	b = append(b, `,"errors":`...)
	b = strconv.AppendBool(b, errs)
	b = append(b, `,"items":[`...)
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendItem(b, &items[i])
	}
	return append(b, "]}"...)
}

func appendItem(b []byte, it *bulkItem) []byte {
	b = append(b, `{"`...)
	b = append(b, it.op...)
	b = append(b, `":{"_index":`...)
	b = appendJSONString(b, it.index)
	if it.id != "" {
		b = append(b, `,"_id":`...)
		b = appendJSONString(b, it.id)
	}
	if it.err != nil {
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(it.err.status), 10)
		b = append(b, `,"error":`...)
		b = it.err.appendObject(b)
		return append(b, "}}"...)
	}
	b = append(b, `,"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":`...)
	b = strconv.AppendInt(b, it.seqNo, 10)
	return append(b, `,"_primary_term":1,"status":201}}`...)
}

// appendDocResponse writes the answer of the single-document APIs (_doc, _create).
func appendDocResponse(b []byte, index, id string, seqNo int64) []byte {
	b = append(b, `{"_index":`...)
	b = appendJSONString(b, index)
	b = append(b, `,"_id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":`...)
	b = strconv.AppendInt(b, seqNo, 10)
	return append(b, `,"_primary_term":1}`...)
}
