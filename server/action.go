package server

import (
	"encoding/json"
	"strconv"
)

// action is a parsed bulk action/metadata line such as {"index":{"_index":"logs","_id":"1"}}.
// index and id are nil when absent; they alias the line or the caller's scratch buffer.
type action struct {
	op    string
	index []byte
	id    []byte
}

// knownActionParam reports whether Elasticsearch accepts the parameter in an action line;
// tripline reads _index and _id and tolerates the others (and _type, for older shippers).
func knownActionParam(k []byte) bool {
	switch string(k) {
	case "_index", "_type", "_id", "routing", "op_type", "version", "version_type",
		"retry_on_conflict", "pipeline", "_source", "if_seq_no", "if_primary_term",
		"require_alias", "require_data_stream", "dynamic_templates", "list_executed_pipelines":
		return true
	}
	return false
}

// actionScanner reads one action line without building a generic JSON value.
type actionScanner struct {
	b       []byte
	i       int
	line    int
	scratch *[]byte
}

func (s *actionScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// tokenName names the JSON token at the cursor the way Elasticsearch's parser does.
func (s *actionScanner) tokenName() string {
	if s.i >= len(s.b) {
		return "null"
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return "START_OBJECT"
	case c == '}':
		return "END_OBJECT"
	case c == '[':
		return "START_ARRAY"
	case c == ']':
		return "END_ARRAY"
	case c == '"':
		return "VALUE_STRING"
	case c == '-' || (c >= '0' && c <= '9'):
		return "VALUE_NUMBER"
	case c == 't' || c == 'f':
		return "VALUE_BOOLEAN"
	case c == 'n':
		return "VALUE_NULL"
	}
	return "an unexpected character " + strconv.QuoteRune(rune(s.b[s.i]))
}

func (s *actionScanner) malformed(why string) *esError {
	return &esError{status: 400, typ: "illegal_argument_exception",
		reason: "Malformed action/metadata line [" + strconv.Itoa(s.line) + "], " + why}
}

func (s *actionScanner) expect(c byte, what string) *esError {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return nil
	}
	return s.malformed("expected " + what + " but found [" + s.tokenName() + "]")
}

// str reads a JSON string at the cursor and returns its unescaped bytes.
func (s *actionScanner) str() ([]byte, *esError) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, s.malformed("expected a string but found [" + s.tokenName() + "]")
	}
	start := s.i
	escaped := false
	for j := s.i + 1; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			s.i = j + 1
			if !escaped {
				return s.b[start+1 : j], nil
			}
			var v string
			if err := json.Unmarshal(s.b[start:j+1], &v); err != nil {
				return nil, s.malformed("bad string: " + err.Error())
			}
			*s.scratch = append((*s.scratch)[:0], v...)
			return *s.scratch, nil
		}
	}
	return nil, s.malformed("unterminated string")
}

// skipValue steps over any JSON value, checking its syntax.
func (s *actionScanner) skipValue() *esError {
	s.ws()
	start := s.i
	depth := 0
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			if _, err := s.str(); err != nil {
				return err
			}
			if depth == 0 {
				return nil
			}
			continue
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 && s.i > start {
				return s.checkValid(start)
			}
			if depth == 0 {
				return s.malformed("expected a value but found [" + s.tokenName() + "]")
			}
			depth--
			if depth == 0 {
				s.i++
				return s.checkValid(start)
			}
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\r'):
			return s.checkValid(start)
		}
		s.i++
	}
	return s.malformed("unexpected end of line")
}

func (s *actionScanner) checkValid(start int) *esError {
	if !json.Valid(s.b[start:s.i]) {
		return s.malformed("invalid value " + strconv.Quote(string(s.b[start:s.i])))
	}
	return nil
}

// parseAction parses one action line (1-based line number for messages).
func parseAction(b []byte, line int, scratch *[]byte) (action, *esError) {
	s := actionScanner{b: b, line: line, scratch: scratch}
	var a action
	if err := s.expect('{', "START_OBJECT"); err != nil {
		return a, err
	}
	opb, err := s.str()
	if err != nil {
		return a, err
	}
	switch string(opb) {
	case opIndex:
		a.op = opIndex
	case opCreate:
		a.op = opCreate
	case opUpdate:
		a.op = opUpdate
	case opDelete:
		a.op = opDelete
	default:
		return a, s.malformed("expected field [create], [delete], [index] or [update] but found [" + string(opb) + "]")
	}
	if err := s.expect(':', "':'"); err != nil {
		return a, err
	}
	if err := s.expect('{', "START_OBJECT"); err != nil {
		return a, err
	}
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
	} else {
		for {
			key, err := s.str()
			if err != nil {
				return a, err
			}
			if !knownActionParam(key) {
				return a, &esError{status: 400, typ: "illegal_argument_exception",
					reason: "Action/metadata line [" + strconv.Itoa(line) + "] contains an unknown parameter [" + string(key) + "]"}
			}
			if err := s.expect(':', "':'"); err != nil {
				return a, err
			}
			switch string(key) {
			case "_index", "_id":
				s.ws()
				var v []byte
				if s.i < len(s.b) && s.b[s.i] == '"' {
					if v, err = s.str(); err != nil {
						return a, err
					}
					// The scratch buffer is shared: copy an unescaped value out of it.
					if len(v) > 0 && len(*scratch) > 0 && &v[0] == &(*scratch)[0] {
						v = append([]byte(nil), v...)
					}
				} else if s.i < len(s.b) && (s.b[s.i] == '-' || (s.b[s.i] >= '0' && s.b[s.i] <= '9')) && string(key) == "_id" {
					start := s.i
					if err := s.skipValue(); err != nil {
						return a, err
					}
					v = s.b[start:s.i]
				} else {
					return a, s.malformed("[" + string(key) + "] must be a string but found [" + s.tokenName() + "]")
				}
				if string(key) == "_index" {
					a.index = v
				} else {
					a.id = v
				}
			default:
				if err := s.skipValue(); err != nil {
					return a, err
				}
			}
			s.ws()
			if s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
				continue
			}
			if err := s.expect('}', "END_OBJECT"); err != nil {
				return a, err
			}
			break
		}
	}
	if err := s.expect('}', "END_OBJECT"); err != nil {
		return a, err
	}
	s.ws()
	if s.i != len(s.b) {
		return a, s.malformed("expected the end of the line but found [" + s.tokenName() + "]")
	}
	return a, nil
}
