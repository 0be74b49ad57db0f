package eval

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

const testMapping = `{"properties": {
  "kw":   {"type": "keyword", "ignore_above": 8},
  "nv":   {"type": "keyword", "null_value": "NULL"},
  "host": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
  "msg":  {"type": "text"},
  "wc":   {"type": "wildcard"},
  "ck":   {"type": "constant_keyword", "value": "prod"},
  "n":    {"type": "long"},
  "i":    {"type": "integer"},
  "f":    {"type": "float"},
  "sf":   {"type": "scaled_float", "scaling_factor": 100},
  "ok":   {"type": "boolean"},
  "ip":   {"type": "ip"},
  "v":    {"type": "version"},
  "ts":   {"type": "date"},
  "tn":   {"type": "date_nanos"},
  "day":  {"type": "date", "format": "dd-MM-yyyy"},
  "al":   {"type": "alias", "path": "kw"},
  "event_type": {"type": "keyword"},
  "event": {"properties": {"category": {"type": "alias", "path": "event_type"}}},
  "obj":  {"properties": {"x": {"type": "keyword"}}}
}}`

var mappedDocs = []string{
	`{"kw": "abc", "nv": "x", "host": "Web-01", "msg": "hello", "wc": "C:\\Windows\\x.exe", "n": 5, "i": "7",
	  "f": 0.1, "sf": 1.234, "ok": "true", "ip": "10.1.2.3", "v": "1.11.3", "ts": "2017-08-30T20:47:33.250Z",
	  "tn": "2017-08-30T20:47:33.123456789Z", "day": "30-08-2017", "event_type": "process"}`,
	`{"kw": "abcdefghij", "nv": null, "host": ["db-02", "Web-01"], "n": [1, 9], "i": 3.9, "f": 2.5,
	  "ip": "::ffff:192.168.0.1", "v": "1.2.4-SNAPSHOT", "ts": 1504126052000, "tn": "1504126053000",
	  "day": "31-08-2017", "event_type": "file"}`,
	`{"kw": 123, "n": "12", "ok": false, "ip": "fe80::1", "v": "bad", "ts": "2017-08-30", "event_type": "process"}`,
	`{}`,
	`{"ip": "::1", "ts": "not a date", "n": "x", "event_type": "network"}`,
}

func mustMapping(t testing.TB, src string) *mapping.Mapping {
	t.Helper()
	m, err := mapping.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMappedFields(t *testing.T) {
	m := mustMapping(t, testMapping)
	cases := []matchCase{
		// keyword: ignore_above, a number indexed as its text, a number constant as its text
		{`kw == "abc"`, "y...."},
		{`kw == "abcdefghij"`, "....."}, // over ignore_above: not indexed
		{`kw == "123"`, "..y.."},
		{`kw == 123`, "..y.."},
		{`kw != "abc"`, ".yyyy"},
		{`kw : "ABC"`, "y...."},
		{`kw == null`, ".y.yy"}, // a value over ignore_above does not exist for the index
		// alias
		{`al == "abc"`, "y...."},
		{`al : "a*"`, "y...."},
		// null_value
		{`nv == "NULL"`, ".y..."},
		{`nv == null`, "..yyy"}, // the explicit null is "NULL": the event has the field
		{`nv != null`, "yy..."},
		{`concat(nv, "!") == "NULL!"`, ".y..."},
		// text with a keyword sub-field: compared on the keyword, case-sensitive
		{`host == "Web-01"`, "yy..."},
		{`host == "web-01"`, "....."},
		{`host : "web*"`, "yy..."},
		{`length(host) == 5`, ".y..."},
		{`host.keyword == "db-02"`, ".y..."},
		// wildcard
		{`wc like "*.exe"`, "y...."},
		{`wc : "c:\\windows\\*"`, "y...."},
		// constant_keyword: every event has the value
		{`ck == "prod"`, "yyyyy"},
		{`ck == "dev"`, "....."},
		{`ck != null`, "yyyyy"},
		{`startsWith(ck, "pr")`, "yyyyy"},
		// long and integer: numeric strings parsed, fractions truncated
		{`n == 12`, "..y.."},
		{`n == "5"`, "y...."},
		{`n > 4`, "yyy.."},
		{`n < 4.5`, ".y..."},
		{`n + 1 == 13`, "..y.."},
		{`n == null`, "...yy"}, // "x" is malformed: not indexed, the event lacks the field
		{`i == 7`, "y...."},
		{`i == 3`, ".y..."},
		// float rounds values and constants alike; scaled_float rounds to the factor
		{`f == 0.1`, "y...."},
		{`f <= 0.1`, "y...."},
		{`f > 0.1`, ".y..."},
		{`f * 2 == 5`, ".y..."},
		{`sf == 1.23`, "y...."},
		{`sf > 1.229`, "y...."},
		// boolean: "true" parsed
		{`ok`, "y...."},
		{`not ok`, ".yyyy"},
		{`ok == false`, "..y.."},
		{`ok == "false"`, "..y.."},
		// ip: canonical form, IPv4-mapped shown as IPv4, CIDR terms, 16-byte order
		{`ip == "10.1.2.3"`, "y...."},
		{`ip == "192.168.0.1"`, ".y..."},
		{`ip == "10.0.0.0/8"`, "y...."},
		{`ip in ("10.0.0.0/8", "::1")`, "y...y"},
		{`cidrMatch(ip, "fe80::/10")`, "..y.."},
		{`ip > "10.0.0.0"`, "yyy.."},
		{`ip < "10.0.0.0"`, "....y"},
		// version: semantic order, invalid after valid, exact equality
		{`v > "1.5.0"`, "y.y.."},
		{`v < "1.5.0"`, ".y..."},
		{`v == "1.11.3"`, "y...."},
		// date: a term is the whole unit the text gives; ranges round the upper bound up
		{`ts == "2017-08-30T20:47:33Z"`, "y...."},
		{`ts == "2017-08-30T20:47:33.250Z"`, "y...."},
		{`ts < "2017-08-30T20:47:33Z"`, ".yy.."},
		{`ts <= "2017-08-30"`, "yyy.."},
		{`ts > "2017-08-30"`, "....."},
		{`ts >= "2017-08-30"`, "yyy.."},
		{`ts == 1504126052000`, ".y..."},
		{`ts == "2017-08-30"`, "yyy.."},
		{`ts == null`, "...yy"},
		// date_nanos
		{`tn == "2017-08-30T20:47:33.123456789Z"`, "y...."},
		{`tn > "2017-08-30T20:47:33.123456788Z"`, "y...."},
		{`tn == "2017-08-30T20:47:33Z"`, "yy..."},
		// date with a format
		{`day == "30-08-2017"`, "y...."},
		{`day > "30-08-2017"`, ".y..."},
		// category through the alias
		{`process where true`, "y.y.."},
		{`process where n > 4`, "y.y.."},
		// optional fields: unknown to the mapping, the null literal
		{`?missing == null`, "yyyyy"},
		{`?missing != null`, "....."},
		{`?missing`, "....."},
		{`?kw == "abc"`, "y...."},
		{`concat(?missing, "x") == null`, "yyyyy"},
	}
	runMatchCases(t, m, mappedDocs, cases)
}

// TestUndeclaredFields: a field the mapping does not declare is mapped dynamically, as
// Elasticsearch maps it from the documents that carry it, unless the mapping says
// "dynamic": false (kept in _source, not indexed) or "strict" (documents with it are
// rejected): then no event has it indexed.
func TestUndeclaredFields(t *testing.T) {
	docs := []string{
		`{"kw": "a", "unique_pid": 7, "tag": "x", "when": "2017-08-30", "o": {"p": "q"}}`,
		`{"kw": "b", "unique_pid": "7", "tag": "` + strings.Repeat("x", 257) + `", "flag": true}`,
		`{"kw": "c", "unique_pid": 8.5, "o": {"p": "Q"}, "flag": "false"}`,
	}
	open := mustMapping(t, `{"properties": {"kw": {"type": "keyword"}, "o": {"properties": {}}}}`)
	ecs := mustMapping(t, `{"date_detection": false, "dynamic_templates": [{"strings_as_keyword":
	  {"match_mapping_type": "string", "mapping": {"type": "keyword", "ignore_above": 1024}}}],
	  "properties": {"kw": {"type": "keyword"}}}`)
	closed := mustMapping(t, `{"dynamic": false, "properties": {"kw": {"type": "keyword"},
	  "o": {"dynamic": true, "properties": {}}}}`)
	runMatchCases(t, open, docs, []matchCase{
		// Each value is mapped by its own JSON type (Elasticsearch maps the field once, from
		// the first value, as long here, and coerces "7" and 8.5 into it: the same answers).
		{`unique_pid == 7`, "yy."},
		{`unique_pid == "7"`, "yy."},
		{`unique_pid > 7`, "..y"},
		{`?unique_pid == 7`, "yy."},
		// The keyword sub-field ignores strings over 256 characters.
		{`tag == "x"`, "y.."},
		{`tag : "x*"`, "y.."},
		// Date detection.
		{`when == "2017-08-30T00:00:00Z"`, "y.."},
		{`o.p : "q"`, "y.y"},
		{`flag == true`, ".y."},
		{`?nowhere == null`, "yyy"},
		{`nowhere == null`, "yyy"},
		// Where Elasticsearch requires a constant, an optional undeclared field is the null
		// literal (Elasticsearch would reject the comparison of two fields otherwise).
		{`?nowhere == ?nothere`, "yyy"},
		{`?unique_pid == ?nothere`, "..."},
		{`?when != ?nothere`, "y.."},
		{`?tag in (?nothere, "x")`, "y.."},
		{`length(?kw) == length(?nothere)`, "..."},
	})
	runMatchCases(t, ecs, docs, []matchCase{
		{`tag : "x*"`, "yy."},
		{`when == "2017-08-30T00:00:00Z"`, "..."},
		{`when == "2017-08-30"`, "y.."},
	})
	runMatchCases(t, closed, docs, []matchCase{
		{`?unique_pid == null`, "yyy"},
		{`o.p == "q"`, "y.."},
	})
	errs := []struct {
		m           *mapping.Mapping
		query, want string
	}{
		{closed, `any where unique_pid == 7`, "1:11: Unknown column [unique_pid]"},
		{closed, `any where kw == "a" and length(other) > 1`, "1:32: Unknown column [other]"},
		{closed, `process where x`, "1:15: Unknown column [x]"},
		{mustMapping(t, `{"dynamic": "strict", "properties": {"o": {"dynamic": "true"}}}`), `any where x.y == 1`, "1:11: Unknown column [x.y]"},
		{mustMapping(t, `{"properties": {"o": {"type": "object", "enabled": false}}}`), `any where o.x == 1`, "1:11: Unknown column [o.x]"},
		{open, `any where unique_pid`, ""},
		{mustMapping(t, `{"dynamic": "strict", "properties": {"o": {"dynamic": "true"}}}`), `any where o.y == 1`, ""},
	}
	for _, tc := range errs {
		_, err := compileText(t, tc.query, &Env{Mapping: tc.m})
		if got := fmt.Sprint(err); got != tc.want && !(tc.want == "" && err == nil) {
			t.Errorf("%s: error %v, want %q", tc.query, err, tc.want)
		}
	}
}

func TestMappedCompileErrors(t *testing.T) {
	m := mustMapping(t, testMapping)
	cases := []struct{ query, want string }{
		{`any where msg == "x"`, "1:18: No keyword/multi-field defined exact matches for [msg]; define one or use MATCH/QUERY instead"},
		{`any where length(msg) > 1`, "1:18: field [msg] of type [text] cannot be used in a query"},
		{`any where n : "5"`, "1:11: :: can only be used to compare strings; [n] has type [long]"},
		{`any where ip like "10.*"`, "1:11: like: can only be used to compare strings; [ip] has type [ip]"},
		{`any where ip == "x"`, "1:17: 'x' is not an IP string literal."},
		{`any where ts == "yesterday"`, "1:17: failed to parse date field [yesterday] with format [strict_date_optional_time||epoch_millis]"},
		{`any where day < "2017-08-30"`, "1:17: failed to parse date field [2017-08-30] with format [dd-MM-yyyy]"},
		{`any where n == "abc"`, "1:16: For input string: \"abc\" (field [n] of type [long])"},
		{`any where ok == "yes"`, "1:17: Can't parse boolean value [yes], expected [true] or [false] (field [ok])"},
		{`any where ok == 1`, "1:17: cannot compare [boolean] field [ok] with [number] value [1]"},
		{`any where cidrMatch(kw, "10.0.0.0/8")`, "1:21: first argument of [cidrMatch(kw, \"10.0.0.0/8\")] must be [ip], found value [kw] type [keyword]"},
		{`any where obj == "x"`, "1:18: cannot compare field [obj] of type [object]"},
		{`any where kw`, "1:11: Condition expression needs to be boolean, found [keyword]"},
	}
	for _, tc := range cases {
		_, err := compileText(t, tc.query, &Env{Mapping: m})
		if fmt.Sprint(err) != tc.want {
			t.Errorf("%s: error %v, want %s", tc.query, err, tc.want)
		}
	}
}

// TestFieldPaths checks that a compiled filter registers the _source path of an alias
// and of a multi-field, not the name the query uses.
func TestFieldPaths(t *testing.T) {
	m := mustMapping(t, testMapping)
	env := &Env{Mapping: m, Fields: event.NewFields()}
	if _, err := compileText(t, `process where al == "a" and host.keyword == "b"`, env); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range []string{"kw", "host", "event_type", "al", "host.keyword", "event.category"} {
		if _, ok := env.Fields.Lookup(p); ok {
			got = append(got, p)
		}
	}
	if want := "kw host event_type"; strings.Join(got, " ") != want {
		t.Errorf("registered %q, want %q", got, want)
	}
}

// TestFastStringAgreesWithNormalize holds the string/number fast paths of
// fieldRef.convert to what mapping.Field.Normalize (the one definition of indexing)
// gives.
func TestFastStringAgreesWithNormalize(t *testing.T) {
	m := mustMapping(t, testMapping)
	var refs []*fieldRef
	for _, p := range []string{"kw", "nv", "host", "wc", "n", "f", "ts", "ip"} {
		mf, ok := m.Resolve(p)
		if !ok {
			t.Fatalf("%s not in the mapping", p)
		}
		refs = append(refs, newFieldRef(p, mf))
	}
	dyn, _ := (*mapping.Mapping)(nil).Resolve("d")
	refs = append(refs, newFieldRef("d", dyn))
	// Undeclared fields of mappings: Elasticsearch's default dynamic mapping (text with a
	// keyword of ignore_above 256), ECS's (keyword of 1024, no date detection), numeric
	// detection, other date formats, a template for long.
	for i, mt := range []string{testMapping, `{"date_detection":false,"dynamic_templates":[{"s":{"match_mapping_type":"string","mapping":{"type":"keyword","ignore_above":8}}}],"properties":{}}`,
		`{"numeric_detection":true,"properties":{}}`, `{"dynamic_date_formats":["yyyy"],"properties":{}}`,
		`{"dynamic":"runtime","dynamic_templates":[{"l":{"match_mapping_type":"long","mapping":{"type":"keyword"}}}],"properties":{}}`} {
		mf, ok := mustMapping(t, mt).Resolve("undeclared")
		if ok || mf.Type != mapping.Dynamic {
			t.Fatalf("undeclared: %v %v", mf.Type, ok)
		}
		refs = append(refs, newFieldRef(fmt.Sprint("undeclared", i), mf))
	}
	values := []event.Value{
		{Kind: event.KindNull}, {Kind: event.KindBool, Int: 1}, {Kind: event.KindBool},
		{Kind: event.KindInt, Int: 42, Str: "42"}, {Kind: event.KindInt, Int: -7},
		event.FloatValue(0.1, "0.1"), event.FloatValue(2.5, ""),
	}
	for _, s := range []string{"", "a", "abc", "abcdefgh", "abcdefghi", "éééé", "😀😀😀😀😀", "3f1c9a7e2b4d",
		"2017", "2017-08-30", "2017-08-30T20:47:33Z", "2017/08/30 +0000", "2017/08/30 20:47:33 +0000",
		"20170830", "12", "1.5", "true", "10.1.2.3", "::ffff:1.2.3.4", "0x10", strings.Repeat("x", 256),
		strings.Repeat("x", 257), strings.Repeat("é", 200), "Web-01", "NULL"} {
		values = append(values, event.Value{Kind: event.KindString, Str: s})
	}
	for _, f := range refs {
		for _, v := range values {
			got, gok := f.convert(v)
			var want value
			c := f.mf.Concrete(v)
			nv, wok := c.Normalize(v)
			if wok {
				want, wok = indexedAs(classOf(c), nv)
			}
			if gok != wok || fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
				t.Errorf("%s: convert(%+v) = %#v, %v; Normalize gives %#v, %v", f.name, v, got, gok, want, wok)
			}
			// The facts a string leaf copies decide the fast path as f does, with the
			// decoder's NoYearPrefix flag (set as its documentation says) or without it.
			ff := factsOf(f)
			flagged := v
			if !startsWithYear(v.Str) {
				flagged.Flags = event.NoYearPrefix
			}
			if v.Kind == event.KindString && (ff.fastString(v) != f.fastString(v.Str) || ff.fastString(flagged) != f.fastString(v.Str)) {
				t.Errorf("%s: facts fastString(%.20q) = %v (flagged %v), fieldRef says %v", f.name, v.Str, ff.fastString(v), ff.fastString(flagged), f.fastString(v.Str))
			}
		}
	}
}

// TestDynamicTypes covers dynamic mapping (no Env.Mapping): each value is typed by its
// JSON form as Elasticsearch's dynamic mapping types a new field.
func TestDynamicTypes(t *testing.T) {
	docs := []string{
		`{"x": 0.1, "s": "2017-08-30T20:47:33.250Z", "k": "3f1c", "n": 5}`,
		`{"x": "0.1", "s": "2017-08-30", "k": 12, "n": "5"}`,
		`{"x": 1, "s": "` + strings.Repeat("x", 300) + `", "k": true}`,
	}
	runMatchCases(t, nil, docs, []matchCase{
		{`x == 0.1`, "yy."}, // a float rounds the constant too; a keyword takes its text
		{`x > 0.5`, "..y"},
		{`x == "0.1"`, "yy."},
		{`s == "2017-08-30T20:47:33Z"`, "y.."}, // date detection: the whole second
		{`s <= "2017-08-30"`, "yy."},
		{`s > "2017-08-30"`, "..y"}, // a long string is a keyword here (typed per value)
		{`s : "2017*"`, "..."},      // a detected date is not a string
		{`s like "x*"`, "..y"},      // no ignore_above without a mapping: long strings match
		{`length(s) > 0`, "..y"},    // string functions see no string (dates): null
		{`k == "12"`, ".y."},        // a long 12 against a string: parsed
		{`k == 12`, ".y."},
		{`k == "true"`, "..y"},
		{`k : "3F*"`, "y.."},
		{`length(k) == 4`, "y.."},
		{`n == 5`, "yy."},
		{`k in ("12", "x")`, ".y."},
		{`k in (12, true)`, ".yy"},
		{`k not in ("3f1c", 12)`, "..y"},
		{`x in (0.1)`, "yy."},
		{`s in ("2017-08-30")`, "yy."}, // a date term: the whole day
		{`n + 1 == 6`, "y.."},          // the string "5" is no number in a script
	})
}
