package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// DecodeError is a query that Decode or Filters cannot read: Path says where in the
// JSON (for example "filters[2].query.wildcard"), Msg why.
type DecodeError struct {
	Path string
	Msg  string
}

func (e *DecodeError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

func errAt(path, format string, args ...any) error {
	return &DecodeError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Decode reads one query of Elasticsearch's query DSL, in the shapes Kibana's filters,
// exception lists and rule queries use: bool, match_all, match_none, term, terms (a
// bool.should of terms), match, match_phrase, multi_match, wildcard, prefix (a wildcard),
// exists, range, query_string and nested, each with the short form ({"field": value})
// where Elasticsearch has one. raw is JSON text ([]byte, string or json.RawMessage) or
// a decoded JSON value (map[string]any and []any, as encoding/json and TOML decoders
// give). Other queries and parameters that change matching are errors naming where
// they are; boost, _name and score settings are ignored.
func Decode(raw any) (Query, error) { return decodeAt(raw, "") }

func decodeAt(raw any, path string) (Query, error) {
	v, err := jsonValue(raw)
	if err != nil {
		return nil, errAt(path, "%v", err)
	}
	return decodeQuery(v, path)
}

// jsonValue turns JSON text into a decoded value (numbers kept as json.Number).
func jsonValue(raw any) (any, error) {
	var data []byte
	switch r := raw.(type) {
	case []byte:
		data = r
	case json.RawMessage:
		data = r
	case string:
		data = []byte(r)
	default:
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("invalid JSON: text after the query")
	}
	return v, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// object returns v as a JSON object.
func object(v any, path, what string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errAt(path, "%s must be an object, found %s", what, describe(v))
	}
	return m, nil
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	if _, ok := scalar(v); ok {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// scalar returns the text of a JSON string, number or boolean (a number as written).
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	}
	return "", false
}

func scalarAt(v any, path string) (string, error) {
	s, ok := scalar(v)
	if !ok {
		return "", errAt(path, "expected a string, number or boolean, found %s", describe(v))
	}
	return s, nil
}

func boolAt(v any, path string) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(x); err == nil && (x == "true" || x == "false") {
			return b, nil
		}
	}
	return false, errAt(path, "expected true or false, found %s", describe(v))
}

// single returns the one key of an object such as {"bool": {...}}.
func single(m map[string]any, path, what string) (string, any, error) {
	if len(m) != 1 {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return "", nil, errAt(path, "%s must have exactly one key, found [%s]", what, strings.Join(keys, ", "))
	}
	for k, v := range m {
		return k, v, nil
	}
	panic("unreachable")
}

// ignored are parameters that change scores or names, not matches.
var ignored = map[string]bool{"boost": true, "_name": true, "score_mode": true,
	"auto_generate_synonyms_phrase_query": true, "rewrite": true}

func decodeQuery(v any, path string) (Query, error) {
	m, err := object(v, path, "a query")
	if err != nil {
		return nil, err
	}
	name, body, err := single(m, path, "a query")
	if err != nil {
		return nil, err
	}
	at := join(path, name)
	switch name {
	case "bool":
		return decodeBool(body, at)
	case "match_all":
		if _, err := object(body, at, "match_all"); err != nil {
			return nil, err
		}
		return &MatchAll{}, nil
	case "match_none":
		return &Bool{MinimumShouldMatch: 1}, nil // one should clause of none
	case "term":
		return decodeTerm(body, at)
	case "terms":
		return decodeTerms(body, at)
	case "match", "match_phrase":
		return decodeMatch(name, body, at)
	case "multi_match":
		return decodeMultiMatch(body, at)
	case "wildcard", "prefix":
		return decodeWildcard(name, body, at)
	case "exists":
		b, err := object(body, at, "exists")
		if err != nil {
			return nil, err
		}
		q := &Exists{}
		for k, x := range b {
			switch k {
			case "field":
				if q.Field, err = scalarAt(x, join(at, k)); err != nil {
					return nil, err
				}
			default:
				if !ignored[k] {
					return nil, errAt(join(at, k), "[exists] query does not support [%s]", k)
				}
			}
		}
		if q.Field == "" {
			return nil, errAt(at, "[exists] must be provided with a [field]")
		}
		return q, nil
	case "range":
		return decodeRange(body, at)
	case "query_string":
		return decodeQueryString(body, at)
	case "nested":
		return decodeNested(body, at)
	}
	return nil, errAt(at, "[%s] queries are not supported", name)
}

// clauses reads a bool clause: one query or an array of them.
func clauses(v any, path string) ([]Query, error) {
	list, ok := v.([]any)
	if !ok {
		q, err := decodeQuery(v, path)
		if err != nil {
			return nil, err
		}
		return []Query{q}, nil
	}
	out := make([]Query, 0, len(list))
	for i, x := range list {
		q, err := decodeQuery(x, index(path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

func decodeBool(body any, at string) (Query, error) {
	b, err := object(body, at, "bool")
	if err != nil {
		return nil, err
	}
	q := &Bool{}
	msm := ""
	for _, k := range sortedKeys(b) {
		x := b[k]
		kp := join(at, k)
		switch k {
		case "must":
			q.Must, err = clauses(x, kp)
		case "filter":
			q.Filter, err = clauses(x, kp)
		case "should":
			q.Should, err = clauses(x, kp)
		case "must_not":
			q.MustNot, err = clauses(x, kp)
		case "minimum_should_match":
			msm, err = scalarAt(x, kp)
		default:
			if !ignored[k] {
				err = errAt(kp, "[bool] query does not support [%s]", k)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if msm != "" {
		n, err := minimumShouldMatch(msm, len(q.Should))
		if err != nil {
			return nil, errAt(join(at, "minimum_should_match"), "%v", err)
		}
		q.MinimumShouldMatch = n
	}
	return q, nil
}

// minimumShouldMatch reads an integer, a negative integer (all but n) or a percentage
// (rounded down) of n clauses.
func minimumShouldMatch(s string, n int) (int, error) {
	pct := strings.HasSuffix(s, "%")
	x, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if err != nil || strings.Contains(s, "<") {
		return 0, fmt.Errorf("minimum_should_match [%s] is not supported", s)
	}
	if pct {
		x = x * n / 100
	}
	if x < 0 {
		x += n
	}
	return max(x, 0), nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fieldBody returns the field and its parameters of a query such as {"f": {...}} or
// {"f": v} (short is then the one parameter v stands for).
func fieldBody(body any, at, name, short string) (field string, params map[string]any, err error) {
	b, err := object(body, at, name)
	if err != nil {
		return "", nil, err
	}
	params = map[string]any{}
	for _, k := range sortedKeys(b) {
		if ignored[k] {
			continue
		}
		if field != "" {
			return "", nil, errAt(join(at, k), "[%s] query doesn't support multiple fields, found [%s] and [%s]", name, field, k)
		}
		field = k
		switch x := b[k].(type) {
		case map[string]any:
			params = x
		default:
			params[short] = x
		}
	}
	if field == "" {
		return "", nil, errAt(at, "[%s] query has no field", name)
	}
	return field, params, nil
}

func decodeTerm(body any, at string) (Query, error) {
	f, params, err := fieldBody(body, at, "term", "value")
	if err != nil {
		return nil, err
	}
	q := &Term{Field: f}
	fp := join(at, f)
	seen := false
	for _, k := range sortedKeys(params) {
		x := params[k]
		switch k {
		case "value":
			q.Value, err = scalarAt(x, join(fp, k))
			seen = true
		case "case_insensitive":
			q.CaseInsensitive, err = boolAt(x, join(fp, k))
		default:
			if !ignored[k] {
				err = errAt(join(fp, k), "[term] query does not support [%s]", k)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if !seen {
		return nil, errAt(fp, "[term] query has no [value]")
	}
	return q, nil
}

func decodeTerms(body any, at string) (Query, error) {
	b, err := object(body, at, "terms")
	if err != nil {
		return nil, err
	}
	q := &Bool{MinimumShouldMatch: 1}
	field := ""
	for _, k := range sortedKeys(b) {
		if ignored[k] {
			continue
		}
		if field != "" {
			return nil, errAt(join(at, k), "[terms] query does not support multiple fields")
		}
		field = k
		list, ok := b[k].([]any)
		if !ok {
			return nil, errAt(join(at, k), "[terms] query needs an array of values (terms lookup is not supported), found %s", describe(b[k]))
		}
		for i, x := range list {
			s, err := scalarAt(x, index(join(at, k), i))
			if err != nil {
				return nil, err
			}
			q.Should = append(q.Should, &Term{Field: k, Value: s})
		}
	}
	if field == "" {
		return nil, errAt(at, "[terms] query has no field")
	}
	return q, nil
}

func decodeMatch(name string, body any, at string) (Query, error) {
	f, params, err := fieldBody(body, at, name, "query")
	if err != nil {
		return nil, err
	}
	fp := join(at, f)
	var text, op string
	var lenient, seen bool
	for _, k := range sortedKeys(params) {
		x := params[k]
		switch {
		case k == "query":
			text, err = scalarAt(x, join(fp, k))
			seen = true
		case k == "operator" && name == "match":
			op, err = scalarAt(x, join(fp, k))
			if err == nil && !strings.EqualFold(op, "and") && !strings.EqualFold(op, "or") {
				err = errAt(join(fp, k), "Unknown operator [%s]", op)
			}
		case k == "lenient" && name == "match":
			lenient, err = boolAt(x, join(fp, k))
		case k == "slop" && name == "match_phrase":
			if s, _ := scalar(x); s != "0" {
				err = errAt(join(fp, k), "[match_phrase] slop other than 0 is not supported")
			}
		case k == "zero_terms_query":
			if s, _ := scalar(x); s != "none" {
				err = errAt(join(fp, k), "zero_terms_query [%s] is not supported", s)
			}
		default:
			if !ignored[k] {
				err = errAt(join(fp, k), "[%s] query does not support [%s]", name, k)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if !seen {
		return nil, errAt(fp, "[%s] query has no [query]", name)
	}
	if name == "match_phrase" {
		return &MatchPhrase{Field: f, Query: text}, nil
	}
	return &Match{Field: f, Query: text, Operator: strings.ToLower(op), Lenient: lenient}, nil
}

func decodeMultiMatch(body any, at string) (Query, error) {
	b, err := object(body, at, "multi_match")
	if err != nil {
		return nil, err
	}
	q := &MultiMatch{Type: "best_fields"}
	seen := false
	for _, k := range sortedKeys(b) {
		x := b[k]
		kp := join(at, k)
		switch k {
		case "query":
			q.Query, err = scalarAt(x, kp)
			seen = true
		case "fields":
			q.Fields, err = stringList(x, kp)
		case "type":
			q.Type, err = scalarAt(x, kp)
			if err == nil && q.Type != "best_fields" && q.Type != "phrase" && q.Type != "most_fields" {
				err = errAt(kp, "[multi_match] type [%s] is not supported", q.Type)
			}
		case "lenient":
			q.Lenient, err = boolAt(x, kp)
		case "tie_breaker":
		default:
			if !ignored[k] {
				err = errAt(kp, "[multi_match] query does not support [%s]", k)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if !seen {
		return nil, errAt(at, "[multi_match] query has no [query]")
	}
	return q, nil
}

func stringList(v any, path string) ([]string, error) {
	if s, ok := v.(string); ok {
		return []string{s}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, errAt(path, "expected an array of strings, found %s", describe(v))
	}
	out := make([]string, len(list))
	for i, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, errAt(index(path, i), "expected a string, found %s", describe(x))
		}
		out[i] = s
	}
	return out, nil
}

// escapeWildcard makes every character of s literal in a wildcard pattern.
func escapeWildcard(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '*' || r == '?' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func decodeWildcard(name string, body any, at string) (Query, error) {
	f, params, err := fieldBody(body, at, name, "value")
	if err != nil {
		return nil, err
	}
	fp := join(at, f)
	q := &Wildcard{Field: f}
	seen := false
	for _, k := range sortedKeys(params) {
		x := params[k]
		switch {
		case k == "value" || k == "wildcard" && name == "wildcard":
			q.Value, err = scalarAt(x, join(fp, k))
			seen = true
		case k == "case_insensitive":
			q.CaseInsensitive, err = boolAt(x, join(fp, k))
		default:
			if !ignored[k] {
				err = errAt(join(fp, k), "[%s] query does not support [%s]", name, k)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if !seen {
		return nil, errAt(fp, "[%s] query has no [value]", name)
	}
	if name == "prefix" {
		q.Value = escapeWildcard(q.Value) + "*"
	}
	return q, nil
}

func decodeRange(body any, at string) (Query, error) {
	f, params, err := fieldBody(body, at, "range", "")
	if err != nil {
		return nil, err
	}
	if _, ok := params[""]; ok {
		return nil, errAt(join(at, f), "[range] query needs an object of bounds")
	}
	fp := join(at, f)
	q := &Range{Field: f}
	var from, to string
	var hasFrom, hasTo bool
	inclLower, inclUpper := true, true
	for _, k := range sortedKeys(params) {
		x := params[k]
		kp := join(fp, k)
		if x == nil {
			continue // an open bound
		}
		switch k {
		case "gt":
			q.GT, err = scalarAt(x, kp)
		case "gte":
			q.GTE, err = scalarAt(x, kp)
		case "lt":
			q.LT, err = scalarAt(x, kp)
		case "lte":
			q.LTE, err = scalarAt(x, kp)
		case "from":
			from, err = scalarAt(x, kp)
			hasFrom = true
		case "to":
			to, err = scalarAt(x, kp)
			hasTo = true
		case "include_lower":
			inclLower, err = boolAt(x, kp)
		case "include_upper":
			inclUpper, err = boolAt(x, kp)
		case "format":
			q.Format, err = scalarAt(x, kp)
		case "time_zone":
			q.TimeZone, err = scalarAt(x, kp)
		case "relation":
			if s, _ := scalar(x); !strings.EqualFold(s, "intersects") {
				err = errAt(kp, "[range] relation [%s] is not supported", s)
			}
		default:
			if !ignored[k] {
				err = errAt(kp, "[range] query does not support [%s]", k)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if hasFrom {
		if inclLower {
			q.GTE = from
		} else {
			q.GT = from
		}
	}
	if hasTo {
		if inclUpper {
			q.LTE = to
		} else {
			q.LT = to
		}
	}
	return q, nil
}

func decodeQueryString(body any, at string) (Query, error) {
	b, err := object(body, at, "query_string")
	if err != nil {
		return nil, err
	}
	q := &QueryString{}
	seen := false
	for _, k := range sortedKeys(b) {
		x := b[k]
		kp := join(at, k)
		switch k {
		case "query":
			q.Query, err = scalarAt(x, kp)
			seen = true
		case "fields":
			q.Fields, err = stringList(x, kp)
		case "default_field":
			var f string
			f, err = scalarAt(x, kp)
			q.Fields = append(q.Fields, f)
		case "analyze_wildcard":
			q.AnalyzeWildcard, err = boolAt(x, kp)
		case "time_zone":
			q.TimeZone, err = scalarAt(x, kp)
		case "default_operator":
			if s, _ := scalar(x); !strings.EqualFold(s, "or") {
				err = errAt(kp, "[query_string] default_operator [%s] is not supported", s)
			}
		default:
			if !ignored[k] {
				err = errAt(kp, "[query_string] query does not support [%s]", k)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if !seen {
		return nil, errAt(at, "[query_string] must be provided with a [query]")
	}
	return q, nil
}

func decodeNested(body any, at string) (Query, error) {
	b, err := object(body, at, "nested")
	if err != nil {
		return nil, err
	}
	q := &Nested{}
	for _, k := range sortedKeys(b) {
		x := b[k]
		kp := join(at, k)
		switch k {
		case "path":
			q.Path, err = scalarAt(x, kp)
		case "query":
			q.Query, err = decodeQuery(x, kp)
		case "ignore_unmapped":
			var on bool
			if on, err = boolAt(x, kp); err == nil && on {
				err = errAt(kp, "[nested] ignore_unmapped is not supported")
			}
		default:
			if !ignored[k] {
				err = errAt(kp, "[nested] query does not support [%s]", k)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if q.Path == "" || q.Query == nil {
		return nil, errAt(at, "[nested] requires 'path' and 'query' fields")
	}
	return q, nil
}

// Filters combines Kibana filters ({meta, query, $state}) as Kibana's buildEsQuery does:
// a filter whose meta.disabled is true is dropped; one whose meta.negate is true goes to
// bool.must_not, the others to bool.filter; a meta.type "combined" filter is the AND (or,
// with meta.relation "OR", the OR) of the filters in meta.params. A filter's query is its
// "query" key, or else the filter object without meta and $state (Kibana's older shapes,
// such as {"meta":..., "exists": {...}}). Each element is a decoded JSON object or its
// text as []byte or json.RawMessage. No filter at all is match_all.
func Filters(filters []any) (Query, error) {
	q, err := filtersAt(filters, "filters", "AND")
	if err != nil {
		return nil, err
	}
	if b, ok := q.(*Bool); ok && len(b.Filter)+len(b.MustNot)+len(b.Should) == 0 {
		return &MatchAll{}, nil
	}
	return q, nil
}

func filtersAt(filters []any, path, relation string) (Query, error) {
	b := &Bool{}
	for i, raw := range filters {
		at := index(path, i)
		v := raw
		switch raw.(type) {
		case []byte, json.RawMessage: // JSON text; a string is a (bad) filter value
			var err error
			if v, err = jsonValue(raw); err != nil {
				return nil, errAt(at, "%v", err)
			}
		}
		f, err := object(v, at, "a filter")
		if err != nil {
			return nil, err
		}
		var meta map[string]any
		if mv, ok := f["meta"]; ok && mv != nil {
			if meta, err = object(mv, join(at, "meta"), "meta"); err != nil {
				return nil, err
			}
		}
		var negate, disabled bool
		if x, ok := meta["disabled"]; ok && x != nil {
			if disabled, err = boolAt(x, join(at, "meta.disabled")); err != nil {
				return nil, err
			}
		}
		if disabled {
			continue
		}
		if x, ok := meta["negate"]; ok && x != nil {
			if negate, err = boolAt(x, join(at, "meta.negate")); err != nil {
				return nil, err
			}
		}
		var q Query
		if t, _ := meta["type"].(string); t == "combined" {
			params, ok := meta["params"].([]any)
			if !ok {
				return nil, errAt(join(at, "meta.params"), "a combined filter needs an array of filters, found %s", describe(meta["params"]))
			}
			rel, _ := meta["relation"].(string)
			if q, err = filtersAt(params, join(at, "meta.params"), strings.ToUpper(rel)); err != nil {
				return nil, err
			}
		} else if x, ok := f["query"]; ok {
			if q, err = decodeQuery(x, join(at, "query")); err != nil {
				return nil, err
			}
		} else {
			rest := map[string]any{}
			for k, x := range f {
				if k != "meta" && k != "$state" {
					rest[k] = x
				}
			}
			if len(rest) == 0 {
				return nil, errAt(at, "the filter has no query")
			}
			if q, err = decodeQuery(rest, at); err != nil {
				return nil, err
			}
		}
		switch {
		case relation == "OR" && negate:
			b.Should = append(b.Should, &Bool{MustNot: []Query{q}})
		case relation == "OR":
			b.Should = append(b.Should, q)
		case negate:
			b.MustNot = append(b.MustNot, q)
		default:
			b.Filter = append(b.Filter, q)
		}
	}
	if relation == "OR" {
		b.MinimumShouldMatch = 1
	}
	return b, nil
}
