package exceptions

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// LineError is a line of an export that could not be read.
type LineError struct {
	Source Source
	Err    error
}

func (e *LineError) Error() string { return e.Source.String() + ": " + e.Err.Error() }
func (e *LineError) Unwrap() error { return e.Err }

// Set is what was read from exports: lists and items in the order read, and the lines that
// could not be read (*LineError each).
type Set struct {
	Lists  []*List
	Items  []*Item
	Errors []error
}

// maxLine is the longest NDJSON line accepted.
const maxLine = 64 << 20

// Load reads the exports at paths into one Set. A file that cannot be opened is an error
// of the Set (line 0); reading goes on with the next.
func Load(paths ...string) *Set {
	s := &Set{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			s.Errors = append(s.Errors, &LineError{Source{Path: p}, err})
			continue
		}
		s.ReadNDJSON(f, p)
		f.Close()
	}
	return s
}

// ReadNDJSON reads one export into s; path names it in errors and Sources. Lines that
// are rules, action connectors or an export summary are passed over; a line that is not
// valid is an error of s, and the other lines are still read.
func (s *Set) ReadNDJSON(r io.Reader, path string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		src := Source{Path: path, Line: line}
		if err := s.readLine(b, src); err != nil {
			s.Errors = append(s.Errors, &LineError{src, err})
		}
	}
	if err := sc.Err(); err != nil {
		s.Errors = append(s.Errors, &LineError{Source{Path: path, Line: line + 1}, err})
	}
}

// readLine classifies one line and reads it if it is a list or an item.
func (s *Set) readLine(b []byte, src Source) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	has := func(k string) bool { _, ok := probe[k]; return ok }
	switch {
	case has("exported_exception_list_count"), has("exported_count"), has("exported_rules_count"):
		return nil // the export's summary
	case has("rule_id"):
		return nil // a rule of a rule export
	case has("attributes"):
		return nil // an action connector of a rule export
	case has("item_id") || has("entries"):
		it, err := parseItem(b)
		if err != nil {
			return err
		}
		it.Source = src
		s.Items = append(s.Items, it)
	case has("list_id"):
		l := &List{}
		if err := json.Unmarshal(b, l); err != nil {
			return err
		}
		if err := l.validate(); err != nil {
			return err
		}
		l.Source = src
		s.Lists = append(s.Lists, l)
	default:
		return errors.New("not an exception list or item: no list_id")
	}
	return nil
}

// List types (Kibana's ExceptionListType).
var listTypes = map[string]bool{
	"detection": true, "rule_default": true, "endpoint": true, "endpoint_trusted_apps": true,
	"endpoint_events": true, "endpoint_host_isolation_exceptions": true, "endpoint_blocklists": true,
}

func enumError(key, want, got string) error {
	return fmt.Errorf("%s: Invalid enum value. Expected %s, received '%s'", key, want, got)
}

func (l *List) validate() error {
	switch {
	case l.ListID == "":
		return errors.New("list_id: Required")
	case l.NamespaceType != "single" && l.NamespaceType != "agnostic":
		return enumError("namespace_type", "'agnostic' | 'single'", l.NamespaceType)
	case !listTypes[l.Type]:
		return enumError("type", "'detection' | 'rule_default' | 'endpoint' | 'endpoint_trusted_apps' | 'endpoint_events' | 'endpoint_host_isolation_exceptions' | 'endpoint_blocklists'", l.Type)
	}
	return validOSTypes(l.OSTypes)
}

func validOSTypes(os []string) error {
	for i, o := range os {
		if o != "linux" && o != "macos" && o != "windows" {
			return enumError("os_types."+strconv.Itoa(i), "'linux' | 'macos' | 'windows'", o)
		}
	}
	return nil
}

// parseItem reads and checks an item line.
func parseItem(b []byte) (*Item, error) {
	var raw struct {
		Item
		ExpireTime *string           `json:"expire_time"`
		Entries    []json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	it := raw.Item
	it.ExpireTime, it.Entries = nil, nil
	switch {
	case it.ItemID == "":
		return nil, errors.New("item_id: Required")
	case it.ListID == "":
		return nil, fmt.Errorf("item %s: list_id: Required", it.ItemID)
	case it.NamespaceType != "single" && it.NamespaceType != "agnostic":
		return nil, fmt.Errorf("item %s: %w", it.ItemID, enumError("namespace_type", "'agnostic' | 'single'", it.NamespaceType))
	case it.Type != "simple":
		return nil, fmt.Errorf("item %s: %w", it.ItemID, enumError("type", "'simple'", it.Type))
	case len(raw.Entries) == 0:
		return nil, fmt.Errorf("item %s: entries: Array must contain at least 1 element(s)", it.ItemID)
	}
	if err := validOSTypes(it.OSTypes); err != nil {
		return nil, fmt.Errorf("item %s: %w", it.ItemID, err)
	}
	if raw.ExpireTime != nil && *raw.ExpireTime != "" {
		t, err := time.Parse(time.RFC3339Nano, *raw.ExpireTime)
		if err != nil {
			return nil, fmt.Errorf("item %s: expire_time: %q is not an ISO 8601 time", it.ItemID, *raw.ExpireTime)
		}
		it.ExpireTime = &t
	}
	for i, re := range raw.Entries {
		e, err := parseEntry(re, "entries."+strconv.Itoa(i), false)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ItemID, err)
		}
		it.Entries = append(it.Entries, e)
	}
	return &it, nil
}

// parseEntry reads one entry; inNested restricts it to what a nested entry may hold
// (match, match_any, exists).
func parseEntry(b json.RawMessage, at string, inNested bool) (Entry, error) {
	var raw struct {
		Field    string            `json:"field"`
		Type     string            `json:"type"`
		Operator string            `json:"operator"`
		Value    json.RawMessage   `json:"value"`
		List     *ValueList        `json:"list"`
		Entries  []json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Entry{}, fmt.Errorf("%s: %w", at, err)
	}
	e := Entry{Field: raw.Field, Type: raw.Type, Operator: raw.Operator}
	if strings.TrimSpace(e.Field) == "" {
		return e, fmt.Errorf("%s.field: Required", at)
	}
	if inNested && e.Type != TypeMatch && e.Type != TypeMatchAny && e.Type != TypeExists {
		return e, enumError(at+".type", "'match' | 'match_any' | 'exists'", e.Type)
	}
	if e.Type != TypeNested && e.Operator != Included && e.Operator != Excluded {
		return e, enumError(at+".operator", "'excluded' | 'included'", e.Operator)
	}
	str := func() (string, error) {
		var v string
		if err := json.Unmarshal(raw.Value, &v); err != nil || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%s.value: a non-empty string is required", at)
		}
		return v, nil
	}
	var err error
	switch e.Type {
	case TypeMatch, TypeWildcard:
		e.Value, err = str()
	case TypeMatchAny:
		if json.Unmarshal(raw.Value, &e.Values) != nil || len(e.Values) == 0 {
			return e, fmt.Errorf("%s.value: a non-empty array of strings is required", at)
		}
		for i, v := range e.Values {
			if strings.TrimSpace(v) == "" {
				return e, fmt.Errorf("%s.value.%d: String must contain at least 1 character(s)", at, i)
			}
		}
	case TypeExists:
	case TypeList:
		if raw.List == nil || raw.List.ID == "" || raw.List.Type == "" {
			return e, fmt.Errorf("%s.list: {id, type} is required", at)
		}
		e.List = raw.List
	case TypeNested:
		if len(raw.Entries) == 0 {
			return e, fmt.Errorf("%s.entries: Array must contain at least 1 element(s)", at)
		}
		for i, re := range raw.Entries {
			ne, err := parseEntry(re, at+".entries."+strconv.Itoa(i), true)
			if err != nil {
				return e, err
			}
			e.Entries = append(e.Entries, ne)
		}
	default:
		return e, enumError(at+".type", "'match' | 'match_any' | 'wildcard' | 'exists' | 'list' | 'nested'", e.Type)
	}
	return e, err
}
