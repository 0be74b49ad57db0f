package eval

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the named time zone cases do not depend on the machine's zoneinfo

	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/internal/testenv"
	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/query"
	"github.com/tripline/tripline/rule"
)

// dslMapping has a field of every type the DSL evaluator distinguishes.
const dslMapping = `{"properties": {
  "kw":   {"type": "keyword", "ignore_above": 8},
  "name": {"type": "keyword", "fields": {"caseless": {"type": "keyword", "normalizer": "lowercase", "ignore_above": 1024}}},
  "msg":  {"type": "text"},
  "mot":  {"type": "match_only_text"},
  "ps":   {"type": "text", "analyzer": "powershell_script_analyzer"},
  "cmd":  {"type": "wildcard"},
  "ds":   {"type": "constant_keyword", "value": "endpoint.events"},
  "port": {"type": "long"},
  "i":    {"type": "integer"},
  "f":    {"type": "float"},
  "ok":   {"type": "boolean"},
  "ip":   {"type": "ip"},
  "ts":   {"type": "date"},
  "day":  {"type": "date", "format": "dd-MM-yyyy"},
  "obj":  {"properties": {"a": {"type": "keyword"}, "b": {"type": "keyword"}}},
  "nst":  {"type": "nested", "properties": {"a": {"type": "keyword"}, "b": {"type": "long"},
           "deep": {"type": "nested", "properties": {"c": {"type": "keyword"}}}}},
  "closed": {"type": "object", "dynamic": false, "properties": {"x": {"type": "keyword"}}}
}}`

// dslDocs are the events of most cases; each case's want has one character per document.
var dslDocs = []string{
	/*0*/ `{"kw": "abc", "name": "PowerShell.EXE", "msg": "Hello World [CVE-2020-0601] x", "port": 443, "ok": true, "ip": "10.1.2.3", "ts": "2024-03-05T10:00:00Z", "cmd": "C:\\Windows\\system32\\cmd.exe /c whoami"}`,
	/*1*/ `{"kw": "abcdefghij", "name": ["svchost.exe", "cmd.exe"], "msg": ["world peace", "hello"], "port": "443", "ok": "false", "ip": "fe80::1", "ts": "2024-03-06", "cmd": "ProgramFiles"}`,
	/*2*/ `{"kw": 123, "name": "", "msg": 2020, "port": [22, 8080], "ip": ["192.168.1.1", "8.8.8.8"], "ts": 1709596800000, "day": "05-03-2024"}`,
	/*3*/ `{}`,
	/*4*/ `{"kw": null, "name": [], "msg": null, "port": null, "ip": null, "ts": null}`,
	/*5*/ `{"kw": [null, "x"], "name": [null], "port": 3.0, "ok": false, "ts": "2024-03-04T23:59:59.999Z"}`,
}

type dslCase struct {
	q    string // the query's JSON
	want string // 'y' matches, '.' does not, per document
}

func runDSLCases(t *testing.T, m *mapping.Mapping, docs []string, cases []dslCase) {
	t.Helper()
	now := time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC)
	for _, tc := range cases {
		t.Run(tc.q, func(t *testing.T) {
			q, err := query.Decode(tc.q)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			env := &Env{Mapping: m, Now: func() time.Time { return now }}
			got := dslMatch(t, q, env, docs)
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// dslMatch compiles q and returns 'y' or '.' per document.
func dslMatch(t testing.TB, q query.Query, env *Env, docs []string) string {
	t.Helper()
	if env.Fields == nil {
		env.Fields = event.NewFields()
	}
	f, err := CompileDSL(q, env)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	dec := event.NewDecoder(env.Fields)
	out := make([]byte, len(docs))
	for i, d := range docs {
		var ev event.Event
		if err := dec.Decode([]byte(d), &ev); err != nil {
			t.Fatalf("decode %s: %v", d, err)
		}
		out[i] = '.'
		if f.Match(&ev) {
			out[i] = 'y'
		}
	}
	return string(out)
}

func TestDSLKeyword(t *testing.T) {
	m := mustMapping(t, dslMapping)
	runDSLCases(t, m, dslDocs, []dslCase{
		{`{"term": {"kw": "abc"}}`, "y....."},
		{`{"term": {"kw": {"value": "ABC"}}}`, "......"},
		{`{"term": {"kw": {"value": "ABC", "case_insensitive": true}}}`, "y....."},
		{`{"term": {"kw": "abcdefghij"}}`, "......"}, // over ignore_above: not indexed
		{`{"term": {"kw": "123"}}`, "..y..."},        // a JSON number as its text
		{`{"term": {"kw": 123}}`, "..y..."},
		{`{"term": {"kw": "x"}}`, ".....y"},
		{`{"match": {"kw": "abc"}}`, "y....."},
		{`{"match_phrase": {"kw": {"query": "abc"}}}`, "y....."},
		{`{"bool": {"must_not": {"term": {"kw": "abc"}}}}`, ".yyyyy"}, // missing and ignored values too
		{`{"wildcard": {"kw": "a*"}}`, "y....."},
		{`{"wildcard": {"kw": {"value": "A?C", "case_insensitive": true}}}`, "y....."},
		{`{"wildcard": {"kw": "1*3"}}`, "..y..."},
		{`{"exists": {"field": "kw"}}`, "y.y..y"},   // ignore_above, null: none; [null,"x"]: yes
		{`{"exists": {"field": "name"}}`, "yyy..."}, // "" exists; [] and [null] do not
		{`{"range": {"kw": {"gte": "ab", "lt": "b"}}}`, "y....."},
		{`{"range": {"kw": {"gt": "1", "lte": "2"}}}`, "..y..."},
		// arrays: any value
		{`{"term": {"name": "cmd.exe"}}`, ".y...."},
		{`{"bool": {"filter": [{"term": {"name": "cmd.exe"}}, {"term": {"name": "svchost.exe"}}]}}`, ".y...."},
		{`{"bool": {"must_not": {"term": {"name": "cmd.exe"}}}}`, "y.yyyy"},
		// .caseless: the normalizer applies to the query value and the pattern
		{`{"term": {"name.caseless": "powershell.exe"}}`, "y....."},
		{`{"term": {"name.caseless": "POWERSHELL.exe"}}`, "y....."},
		{`{"wildcard": {"name.caseless": "*SHELL.EXE"}}`, "y....."},
		{`{"wildcard": {"name": "*SHELL.EXE"}}`, "......"},
		{`{"range": {"name.caseless": {"gte": "POWER", "lt": "POWF"}}}`, "y....."},
		// wildcard type: exact whole value, case-sensitive
		{`{"match": {"cmd": "ProgramFiles"}}`, ".y...."},
		{`{"match": {"cmd": "programfiles"}}`, "......"},
		{`{"wildcard": {"cmd": "*whoami"}}`, "y....."},
		{`{"wildcard": {"cmd": "C:\\\\Windows\\\\*"}}`, "y....."}, // \\ is one literal backslash
		{`{"wildcard": {"cmd": "C:\\Windows\\*"}}`, "......"},     // \W is W: only values without backslashes
		{`{"wildcard": {"cmd": "C:\\Windows\\system32\\cmd.exe /c whoami"}}`, "......"},
		{`{"wildcard": {"cmd": {"value": "c:\\\\windows*", "case_insensitive": true}}}`, "y....."},
		// constant_keyword
		{`{"term": {"ds": "endpoint.events"}}`, "yyyyyy"},
		{`{"match": {"ds": "endpoint.events"}}`, "yyyyyy"},
		{`{"wildcard": {"ds": "endpoint.*"}}`, "yyyyyy"},
		{`{"term": {"ds": "x"}}`, "......"},
		// objects in arrays are flattened without a nested mapping
		{`{"term": {"obj.a": "1"}}`, "......"},
		// a field dynamic false keeps out of the index
		{`{"exists": {"field": "closed.y"}}`, "......"},
		{`{"match_all": {}}`, "yyyyyy"},
		{`{"match_none": {}}`, "......"},
		{`{"bool": {}}`, "yyyyyy"},
	})
}

func TestDSLText(t *testing.T) {
	m := mustMapping(t, dslMapping)
	runDSLCases(t, m, dslDocs, []dslCase{
		{`{"match": {"msg": "hello"}}`, "yy...."},
		{`{"match": {"msg": "HELLO galaxy"}}`, "yy...."}, // tokens OR-ed
		{`{"match": {"msg": {"query": "hello world", "operator": "and"}}}`, "yy...."},
		{`{"match": {"msg": {"query": "hello peace", "operator": "and"}}}`, ".y...."}, // across values
		{`{"match_phrase": {"msg": "hello world"}}`, "y....."},
		{`{"match_phrase": {"msg": "world hello"}}`, "......"}, // not across values
		{`{"match_phrase": {"msg": "[CVE-2020-0601]"}}`, "y....."},
		{`{"match_phrase": {"msg": "cve 2020 0601"}}`, "y....."},
		{`{"match_phrase": {"msg": "2020 0601"}}`, "y....."},
		{`{"match_phrase": {"msg": "CVE-2020"}}`, "y....."},
		{`{"match": {"msg": "2020"}}`, "y.y..."}, // a number in a text field is its text
		{`{"match": {"msg": "!!!"}}`, "......"},  // no token: nothing
		{`{"term": {"msg": "hello"}}`, "yy...."}, // a term on one token, not analysed
		{`{"term": {"msg": "Hello"}}`, "......"},
		{`{"term": {"msg": "hello world"}}`, "......"},
		{`{"wildcard": {"msg": "wor*"}}`, "yy...."},
		{`{"wildcard": {"msg": "WOR*"}}`, "yy...."}, // the pattern is lower-cased
		{`{"wildcard": {"msg": "*world*peace*"}}`, "......"},
		{`{"query_string": {"fields": ["msg"], "query": "*orld"}}`, "yy...."},
		{`{"query_string": {"fields": ["msg"], "query": "pea* nothing*"}}`, ".y...."},
		{`{"query_string": {"fields": ["msg"], "query": "Hello"}}`, "yy...."},
		{`{"exists": {"field": "msg"}}`, "yyy..."},
		{`{"range": {"msg": {"gte": "wa", "lt": "wp"}}}`, "yy...."},
		{`{"match": {"mot": "x"}}`, "......"},
	})
}

func TestDSLPowerShellAnalyzer(t *testing.T) {
	m := mustMapping(t, dslMapping)
	docs := []string{
		`{"ps": "$a = [System.Reflection.Assembly]::Load($bytes)"}`,
		`{"ps": "Add-DomainGroupMember -Identity 'Domain Admins'"}`,
		`{"ps": "Invoke-Mimikatz; $x_y = 1"}`,
		`{"ps": "straße Assembly"}`,
	}
	runDSLCases(t, m, docs, []dslCase{
		{`{"match_phrase": {"ps": "[System.Reflection.Assembly]::Load"}}`, "y..."},
		{`{"match_phrase": {"ps": "system reflection assembly load"}}`, "y..."},
		{`{"match_phrase": {"ps": "Add-DomainGroupMember"}}`, ".y.."}, // one token
		{`{"match": {"ps": "add"}}`, "...."},
		{`{"match": {"ps": "domain"}}`, ".y.."},
		{`{"match": {"ps": "-identity"}}`, ".y.."}, // '-' is a word character
		{`{"match": {"ps": "x_y"}}`, "..y."},
		{`{"match": {"ps": "stra"}}`, "...y"}, // non-ASCII letters separate
		{`{"query_string": {"fields": ["ps"], "query": "invoke\\-mimi*"}}`, "..y."},
		{`{"wildcard": {"ps": "*ASSEMBLY"}}`, "y..y"},
	})
}

func TestDSLNumbersBooleansIPs(t *testing.T) {
	m := mustMapping(t, dslMapping)
	runDSLCases(t, m, dslDocs, []dslCase{
		{`{"term": {"port": "443"}}`, "yy...."}, // "443" in the event is coerced too
		{`{"match": {"port": "443"}}`, "yy...."},
		{`{"term": {"port": 8080}}`, "..y..."},
		{`{"term": {"port": "3"}}`, ".....y"},
		{`{"term": {"port": "443.5"}}`, "......"}, // a decimal part on a long: nothing
		{`{"term": {"port": " 22 "}}`, "..y..."},
		{`{"term": {"i": "3000000000"}}`, "......"}, // out of an integer's range: nothing
		{`{"term": {"port": "1e40"}}`, "......"},
		{`{"range": {"port": {"gte": 100, "lt": "1000"}}}`, "yy...."},
		{`{"range": {"port": {"gt": "22.5"}}}`, "yyy..."},
		{`{"range": {"port": {"lte": "22"}}}`, "..y..y"},
		{`{"bool": {"must_not": {"range": {"port": {"lte": "22"}}}}}`, "yy.yy."},
		{`{"exists": {"field": "port"}}`, "yyy..y"},
		{`{"term": {"ok": "true"}}`, "y....."},
		{`{"term": {"ok": false}}`, ".y...y"},
		{`{"match": {"ok": "false"}}`, ".y...y"},
		{`{"term": {"ip": "10.1.2.3"}}`, "y....."},
		{`{"term": {"ip": "10.0.0.0/8"}}`, "y....."},
		{`{"match": {"ip": "192.168.0.0/16"}}`, "..y..."},
		{`{"match_phrase": {"ip": "fe80::/10"}}`, ".y...."},
		{`{"term": {"ip": "::ffff:10.1.2.3"}}`, "y....."},
		{`{"range": {"ip": {"gte": "8.0.0.0", "lte": "11.0.0.0"}}}`, "y.y..."},
		{`{"bool": {"must_not": {"term": {"ip": "8.8.8.8"}}}}`, "yy.yyy"},
		{`{"match": {"port": {"query": "abc", "lenient": true}}}`, "......"},
		{`{"multi_match": {"query": "443", "fields": ["port", "msg"]}}`, "yy...."},
		{`{"multi_match": {"query": "hello", "fields": ["*"], "lenient": true}}`, "yy...."},
		{`{"multi_match": {"query": "cmd.exe", "fields": ["na*"]}}`, ".y...."},
		{`{"multi_match": {"query": "hello world", "type": "phrase", "fields": ["msg", "kw"]}}`, "y....."},
	})
}

func TestDSLDates(t *testing.T) {
	m := mustMapping(t, dslMapping)
	// now is 2024-03-06T12:00:00Z; ts: 0 2024-03-05T10:00Z, 1 2024-03-06 (midnight),
	// 2 2024-03-05T00:00Z (epoch ms), 5 2024-03-04T23:59:59.999Z.
	runDSLCases(t, m, dslDocs, []dslCase{
		{`{"term": {"ts": "2024-03-05"}}`, "y.y..."}, // a day without time is the whole day
		{`{"match": {"ts": "2024-03-05T10:00:00"}}`, "y....."},
		{`{"range": {"ts": {"gte": "2024-03-05", "lte": "2024-03-05", "time_zone": "Zulu"}}}`, "y.y..."},
		{`{"range": {"ts": {"gt": "2024-03-05"}}}`, ".y...."}, // gt rounds up to the day's end
		{`{"range": {"ts": {"lt": "2024-03-05"}}}`, ".....y"},
		{`{"range": {"ts": {"gte": "now-1d/d"}}}`, "yyy..."},
		{`{"range": {"ts": {"gt": "now-1d/d"}}}`, ".y...."},  // after the end of yesterday
		{`{"range": {"ts": {"lte": "now-2d/d"}}}`, ".....y"}, // through the end of 03-04
		{`{"range": {"ts": {"lt": "now/d"}}}`, "y.y..y"},
		{`{"range": {"ts": {"gte": "now-30d/d", "lt": "now"}}}`, "yyy..y"},
		{`{"range": {"ts": {"gte": "2024-03-04||+1d/d"}}}`, "yyy..."},
		{`{"range": {"ts": {"gte": "1709596800000", "lte": "1709596800000"}}}`, "..y..."},
		{`{"range": {"ts": {"gte": "05/03/2024", "format": "dd/MM/yyyy"}}}`, "yyy..."},
		{`{"range": {"ts": {"gte": "2024-03-05T11:00:00", "time_zone": "+01:00"}}}`, "yy...."},
		{`{"range": {"ts": {"gte": "2024-03-05T11:00:01", "time_zone": "+01:00"}}}`, ".y...."},
		{`{"range": {"ts": {"gte": "2024-03-05T11:00:00Z", "time_zone": "+01:00"}}}`, ".y...."}, // the text's own offset wins
		{`{"term": {"day": "05-03-2024"}}`, "..y..."},
		{`{"exists": {"field": "ts"}}`, "yyy..y"},
	})
}

func TestDSLNested(t *testing.T) {
	m := mustMapping(t, dslMapping)
	docs := []string{
		`{"nst": [{"a": "x", "b": 1}, {"a": "y", "b": 2}], "obj": [{"a": "x", "b": "1"}, {"a": "y", "b": "2"}]}`,
		`{"nst": {"a": "x", "b": 2, "deep": [{"c": "k"}]}, "obj": {"a": "x", "b": "2"}}`,
		`{"nst": [{"a": "x", "deep": {"c": "j"}}, {"b": 2, "deep": [{"c": "k"}]}]}`,
		`{}`,
	}
	runDSLCases(t, m, docs, []dslCase{
		{`{"nested": {"path": "nst", "query": {"bool": {"filter": [{"term": {"nst.a": "x"}}, {"term": {"nst.b": "2"}}]}}}}`, ".y.."},
		{`{"nested": {"path": "nst", "query": {"term": {"nst.a": "y"}}}}`, "y..."},
		{`{"nested": {"path": "nst", "query": {"bool": {"must_not": {"exists": {"field": "nst.a"}}}}}}`, "..y."},
		{`{"nested": {"path": "nst", "query": {"match_all": {}}}}`, "yyy."},
		{`{"nested": {"path": "nst", "query": {"nested": {"path": "nst.deep", "query": {"term": {"nst.deep.c": "k"}}}}}}`, ".yy."},
		{`{"nested": {"path": "nst", "query": {"bool": {"filter": [{"term": {"nst.a": "x"}}, {"nested": {"path": "nst.deep", "query": {"term": {"nst.deep.c": "k"}}}}]}}}}`, ".y.."},
		// outside a nested query, nested fields are in other documents
		{`{"term": {"nst.a": "x"}}`, "...."},
		{`{"bool": {"must_not": {"exists": {"field": "nst.a"}}}}`, "yyyy"},
		// without a nested mapping objects in arrays are flattened
		{`{"bool": {"filter": [{"term": {"obj.a": "x"}}, {"term": {"obj.b": "2"}}]}}`, "yy.."},
	})
	for _, q := range []string{
		`{"nested": {"path": "obj", "query": {"match_all": {}}}}`,
		`{"nested": {"path": "nst.deep", "query": {"match_all": {}}}}`,
	} {
		dq, err := query.Decode(q)
		if err != nil {
			t.Fatal(err)
		}
		_, err = CompileDSL(dq, &Env{Mapping: m})
		want := "failed to create query: [nested] failed to find nested object under path [" +
			strings.TrimSuffix(strings.Split(strings.Split(q, `"path": "`)[1], `"`)[0], "") + "]"
		if err == nil || err.Error() != want {
			t.Errorf("%s: got error %v, want %s", q, err, want)
		}
	}
	// The dynamic mapping has no nested fields.
	dq, _ := query.Decode(`{"nested": {"path": "nst", "query": {"match_all": {}}}}`)
	if _, err := CompileDSL(dq, &Env{}); err == nil || err.Error() != "failed to create query: [nested] failed to find nested object under path [nst]" {
		t.Errorf("nested without a mapping: %v", err)
	}
}

func TestDSLDynamic(t *testing.T) {
	docs := []string{
		`{"a": "443", "b": "Hello", "t": "2024-03-05T10:00:00Z", "l": ["x", "y"]}`,
		`{"a": 443, "b": "hello", "t": "nope", "l": "z"}`,
		`{"a": [1, "x"], "b": true, "l": null}`,
		`{"l": ""}`,
	}
	runDSLCases(t, nil, docs, []dslCase{
		{`{"term": {"a": "443"}}`, "yy.."},
		{`{"match": {"b": "hello"}}`, ".y.."}, // a dynamic string is a keyword
		{`{"term": {"b": "true"}}`, "..y."},
		{`{"wildcard": {"b": "*ello"}}`, "yy.."},
		{`{"wildcard": {"b": {"value": "HEL*", "case_insensitive": true}}}`, "yy.."},
		{`{"range": {"a": {"gte": "400"}}}`, "yyy."}, // "443" and "x" compare as strings, 443 as a number
		{`{"range": {"t": {"gte": "now-7d"}}}`, "y..."},
		{`{"exists": {"field": "l"}}`, "yy.y"},
		{`{"bool": {"must_not": {"exists": {"field": "l"}}}}`, "..y."},
		{`{"bool": {"should": [{"term": {"l": "x"}}, {"term": {"l": "z"}}, {"term": {"a": "1"}}], "minimum_should_match": 2}}`, "...."},
		{`{"bool": {"should": [{"term": {"l": "x"}}, {"term": {"l": "y"}}, {"term": {"a": "1"}}], "minimum_should_match": 2}}`, "y..."},
		{`{"bool": {"must_not": {"bool": {"should": [{"term": {"l": "x"}}, {"term": {"a": "1"}}, {"term": {"a": "x"}}], "minimum_should_match": 2}}}}`, "yy.y"},
		{`{"bool": {"filter": {"term": {"b": "hello"}}, "should": {"term": {"b": "nothing"}}}}`, ".y.."}, // should is optional then
		{`{"bool": {"must_not": [{"bool": {"filter": [{"term": {"a": "443"}}, {"term": {"b": "hello"}}]}}]}}`, "y.yy"},
	})
}

func TestDSLErrors(t *testing.T) {
	m := mustMapping(t, dslMapping)
	cases := []struct{ q, want string }{
		{`{"term": {"port": "abc"}}`, `failed to create query: For input string: "abc"`},
		{`{"match": {"port": "abc"}}`, `failed to create query: For input string: "abc"`},
		{`{"range": {"port": {"gte": "x1"}}}`, `failed to create query: For input string: "x1"`},
		{`{"term": {"ok": "yes"}}`, `failed to create query: Can't parse boolean value [yes], expected [true] or [false]`},
		{`{"term": {"ip": "10.0.0"}}`, `failed to create query: '10.0.0' is not an IP string literal.`},
		{`{"term": {"ip": "10.0.0.0/99"}}`, `failed to create query: '10.0.0.0/99' is not an IP string literal.`},
		{`{"term": {"ts": "yesterday"}}`, `failed to create query: failed to parse date field [yesterday] with format [strict_date_optional_time||epoch_millis]`},
		{`{"range": {"ts": {"gte": "now-1x"}}}`, `failed to create query: unit [x] not supported for date math [-1x]`},
		{`{"wildcard": {"port": "4*"}}`, `failed to create query: Can only use wildcard queries on keyword, text and wildcard fields - not on [port] which is of type [long]`},
		{`{"query_string": {"fields": ["ip"], "query": "10.*"}}`, `failed to create query: Can only use wildcard queries on keyword, text and wildcard fields - not on [ip] which is of type [ip]`},
		{`{"query_string": {"fields": ["kw"], "query": "a AND b"}}`, `failed to create query: query_string: operator [AND] in "a AND b" is Lucene syntax Tripline does not evaluate`},
		{`{"query_string": {"fields": ["kw"], "query": "kw:b"}}`, `failed to create query: query_string: [:] at offset 2 of "kw:b" is Lucene syntax Tripline does not evaluate`},
	}
	for _, tc := range cases {
		q, err := query.Decode(tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.q, err)
		}
		_, err = CompileDSL(q, &Env{Mapping: m})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got  %v\n want %s", tc.q, err, tc.want)
		}
	}
	// Free text over every field needs the fields: a mapping.
	q, _ := query.Decode(`{"query_string": {"query": "x*"}}`)
	if _, err := CompileDSL(q, &Env{}); err == nil || err.Error() != "failed to create query: field pattern [*] needs a mapping: without one the fields are not known" {
		t.Errorf("free text without a mapping: %v", err)
	}
}

func TestDSLQueryStringKeyword(t *testing.T) {
	m := mustMapping(t, dslMapping)
	docs := []string{
		`{"name": "foo bar", "cmd": "C:\\Program Files\\x.exe"}`,
		`{"name": "foo", "cmd": "C:\\Program Files (x86)\\y.exe"}`,
		`{"name": "xbar", "cmd": "nope"}`,
	}
	runDSLCases(t, m, docs, []dslCase{
		// KQL f:*foo bar* on a non-keyword field: whitespace splits the pattern into *foo OR bar*
		{`{"query_string": {"fields": ["name"], "query": "*foo bar*"}}`, ".y."},
		{`{"query_string": {"fields": ["name"], "query": "*foo\\ bar*"}}`, "y.."},
		{`{"query_string": {"fields": ["name"], "query": "*bar"}}`, "y.y"},
		{`{"query_string": {"fields": ["cmd"], "query": "C\\:\\\\Program*Files*\\(x86\\)\\\\*.exe"}}`, ".y."},
		{`{"query_string": {"fields": ["cmd"], "query": "*"}}`, "yyy"},
		{`{"query_string": {"fields": ["name", "cmd"], "query": "nope"}}`, "..y"},
		{`{"query_string": {"query": "xbar"}}`, "..y"}, // every field, lenient
	})
}

func TestDSLFilterAllocs(t *testing.T) {
	m := mustMapping(t, dslMapping)
	for _, src := range []string{
		`{"bool": {"filter": [{"term": {"name.caseless": "cmd.exe"}}, {"match_phrase": {"msg": "hello world"}}], "must_not": [{"wildcard": {"cmd": {"value": "*x*", "case_insensitive": true}}}]}}`,
		`{"range": {"ts": {"gte": "now-30d/d"}}}`,
		`{"nested": {"path": "nst", "query": {"term": {"nst.a": "x"}}}}`,
		`{"match": {"ps": "add-domaingroupmember"}}`,
	} {
		q, err := query.Decode(src)
		if err != nil {
			t.Fatal(err)
		}
		now := func() time.Time { return time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC) }
		env := &Env{Mapping: m, Fields: event.NewFields(), Now: now}
		f, err := CompileDSL(q, env)
		if err != nil {
			t.Fatal(err)
		}
		var ev event.Event
		doc := `{"name": "CMD.exe", "msg": "x Hello, World!", "cmd": "abc", "ts": "2024-03-05T10:00:00Z", "nst": [{"a": "y"}, {"a": "x"}], "ps": "Add-DomainGroupMember x"}`
		if err := event.NewDecoder(env.Fields).Decode([]byte(doc), &ev); err != nil {
			t.Fatal(err)
		}
		if !f.Match(&ev) {
			t.Fatalf("%s does not match", src)
		}
		if n := testing.AllocsPerRun(100, func() { f.Match(&ev) }); n != 0 {
			t.Errorf("%s: %v allocations per event", src, n)
		}
	}
}

// The same condition as EQL and as the DSL Kibana builds for a KQL query of that shape
// (keyword terms, a terms list, a negated case-insensitive wildcard, a boolean), for
// BenchmarkDSLvsEQL.
const (
	benchEQL = `process where host.os.type == "linux" and event.type == "start" and
  process.name in ("bash", "sh", "zsh", "dash") and process.interactive == true and
  not process.args : "*--norc*"`
	benchDSL = `{"bool": {"filter": [
  {"term": {"event.category": "process"}},
  {"term": {"host.os.type": "linux"}},
  {"term": {"event.type": "start"}},
  {"terms": {"process.name": ["bash", "sh", "zsh", "dash"]}},
  {"term": {"process.interactive": "true"}}],
 "must_not": [{"wildcard": {"process.args": {"value": "*--norc*", "case_insensitive": true}}}]}}`
)

// BenchmarkDSLvsEQL runs a compiled DSL filter and the EQL filter of the same shape on the
// same ECS event: the DSL costs what EQL costs and allocates nothing.
func BenchmarkDSLvsEQL(b *testing.B) {
	b.Run("eql", func(b *testing.B) {
		env := &Env{Fields: event.NewFields(), Mapping: mustMapping(b, ecsMapping)}
		f, err := compileText(b, benchEQL, env)
		if err != nil {
			b.Fatal(err)
		}
		benchMatch(b, env.Fields, f)
	})
	b.Run("dsl", func(b *testing.B) {
		env := &Env{Fields: event.NewFields(), Mapping: mustMapping(b, ecsMapping)}
		q, err := query.Decode(benchDSL)
		if err != nil {
			b.Fatal(err)
		}
		f, err := CompileDSL(q, env)
		if err != nil {
			b.Fatal(err)
		}
		benchMatch(b, env.Fields, f)
	})
}

// TestDSLCorpusRule evaluates a corpus rule the way Kibana searches for it: its KQL query
// in the DSL Kibana translates it to (written out here: the translation is another
// package's), AND its filters read from the rule file. The first filter's value has
// single backslashes, which escape the next character: it only excludes paths without
// backslashes.
func TestDSLCorpusRule(t *testing.T) {
	r, err := rule.LoadTOMLFile(testenv.Shared(t, "rules", "detection-rules", "rules", "windows", "defense_evasion_posh_assembly_load.toml"))
	if err != nil {
		t.Fatal(err)
	}
	filters, err := query.Filters(r.Filters)
	if err != nil {
		t.Fatal(err)
	}
	phrases := func(vs ...string) string {
		var s []string
		for _, v := range vs {
			s = append(s, `{"match_phrase": {"powershell.file.script_block_text": "`+v+`"}}`)
		}
		return `{"bool": {"should": [` + strings.Join(s, ",") + `], "minimum_should_match": 1}}`
	}
	kql, err := query.Decode(`{"bool": {"filter": [
	  {"bool": {"should": [{"term": {"event.category": "process"}}], "minimum_should_match": 1}},
	  {"bool": {"should": [{"term": {"host.os.type": "windows"}}], "minimum_should_match": 1}},
	  {"bool": {"filter": [` + phrases("[System.Reflection.Assembly]::Load", "[Reflection.Assembly]::Load", "Assembly.Load(") + `,
	    ` + phrases("FromBase64String", "GzipStream", "DeflateStream", "IO.Compression", "MemoryStream", "DownloadData", "WebClient", "ReadAllBytes") + `]}}]}}`)
	if err != nil {
		t.Fatal(err)
	}
	m := mustMapping(t, `{"properties": {
	  "event": {"properties": {"category": {"type": "keyword", "ignore_above": 1024}}},
	  "host": {"properties": {"os": {"properties": {"type": {"type": "keyword", "ignore_above": 1024}}}}},
	  "file": {"properties": {"path": {"type": "keyword", "ignore_above": 1024}}},
	  "powershell": {"properties": {"file": {"properties": {"script_block_text": {"type": "text", "analyzer": "powershell_script_analyzer"}}}}}
	}}`)
	base := `"event": {"category": ["process"]}, "host": {"os": {"type": "windows"}}, "powershell": {"file": {"script_block_text": "$b = [Convert]::FromBase64String($s); [System.Reflection.Assembly]::Load($b)"}}`
	docs := []string{
		`{` + base + `, "file": {"path": "C:\\Users\\x\\run.ps1"}}`,
		`{` + base + `, "file": {"path": "C:\\Program Files\\Microsoft Monitoring Agent\\Agent\\Health Service State\\Monitoring Host Temporary Files 12\\AvailabilityGroupMonitoring.ps1"}}`,
		`{` + base + `, "file": {"path": "c:program filesmicrosoft monitoring agentagenthealth service statemonitoring host temporary files 12availabilitygroupmonitoring.ps1"}}`,
		`{` + base + `, "file": {"path": "D:\\PROGRAMDATA\\Microsoft\\Windows Defender Advanced Threat Protection\\DataCollection\\x.ps1"}}`,
		`{` + base + `}`,
		`{"event": {"category": "process"}, "host": {"os": {"type": "windows"}}, "powershell": {"file": {"script_block_text": "Assembly.Load($b) # no decoding"}}}`,
		`{"event": {"category": "process"}, "host": {"os": {"type": "windows"}}, "powershell": {"file": {"script_block_text": "[reflection.assembly]::load((New-Object Net.WebClient).DownloadData($u))"}}}`,
	}
	got := dslMatch(t, &query.Bool{Filter: []query.Query{kql, filters}}, &Env{Mapping: m}, docs)
	if want := "yy..y.y"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestAnalyzers(t *testing.T) {
	cases := []struct {
		an   analyzer
		in   string
		want string // tokens joined by |
	}{
		{anStandard, "[CVE-2020-0601]", "cve|2020|0601"},
		{anStandard, "Hello, World! 3.14 don't", "hello|world|3.14|don't"},
		{anStandard, "[System.Reflection.Assembly]::Load", "system.reflection.assembly|load"}, // UAX#29 keeps a.b together
		{anStandard, "C:\\Windows\\System32\\cmd.exe", "c|windows|system32|cmd.exe"},
		{anStandard, "Straße ÉTÉ 世界", "straße|été|世|界"},
		{anStandard, "foo_bar -- __ ...", "foo_bar"},
		{anStandard, "", ""},
		{anStandard, "x " + strings.Repeat("a", 300) + " y", "x|" + strings.Repeat("a", 255) + "|" + strings.Repeat("a", 45) + "|y"},
		{anPowerShell, "[System.Reflection.Assembly]::Load($b)", "system|reflection|assembly|load|b"},
		{anPowerShell, "Add-DomainGroupMember -Identity 'Domain Admins'", "add-domaingroupmember|-identity|domain|admins"},
		{anPowerShell, "$x_y=Über", "x_y|ber"},
	}
	for _, tc := range cases {
		if got := strings.Join(analyze(tc.an, tc.in), "|"); got != tc.want {
			t.Errorf("%d %q: got %q, want %q", tc.an, tc.in, got, tc.want)
		}
	}
	if _, err := analyzerNamed("whitespace"); err == nil || err.Error() != "analyzer [whitespace] is not supported" {
		t.Errorf("unknown analyzer: %v", err)
	}
}

func TestDSLMoreTypes(t *testing.T) {
	m := mustMapping(t, `{"properties": {
	  "tn": {"type": "date_nanos"},
	  "ts": {"type": "date"},
	  "o": {"properties": {"a": {"type": "keyword"}, "b": {"properties": {"c": {"type": "long"}}}}},
	  "lbl": {"type": "flattened"},
	  "v": {"type": "version"}
	}}`)
	docs := []string{
		`{"tn": "2024-03-05T23:59:59.999500000Z", "o": {"a": "x"}, "lbl": {"app": "web"}, "v": "1.2.3", "ts": "2024-03-05T23:30:00Z"}`,
		`{"tn": "2024-03-06T00:00:00Z", "o": {"b": {"c": 5}}, "v": "1.10.0"}`,
		`{"o": {"d": "undeclared"}, "ts": "2024-03-05T22:30:00Z"}`,
	}
	runDSLCases(t, m, docs, []dslCase{
		{`{"term": {"tn": "2024-03-05"}}`, "y.."}, // date_nanos rounds up to the last nanosecond
		{`{"range": {"tn": {"lte": "2024-03-05"}}}`, "y.."},
		{`{"exists": {"field": "o"}}`, "yy."}, // an object exists when a mapped field below it does
		{`{"exists": {"field": "o.b"}}`, ".y."},
		{`{"term": {"lbl.app": "web"}}`, "y.."}, // a flattened key is a keyword
		{`{"term": {"v": "1.10.0"}}`, ".y."},
		{`{"range": {"v": {"gt": "1.9.0"}}}`, ".y."},
		{`{"query_string": {"fields": ["ts"], "query": "2024-03-06", "time_zone": "+01:00"}}`, "y.."},
		{`{"query_string": {"fields": ["ts"], "query": "2024-03-05", "time_zone": "+01:00"}}`, "..y"},
		{`{"range": {"ts": {"gte": "now/d", "time_zone": "Europe/Paris"}}}`, "y.."}, // now is 2024-03-06T12:00Z: Paris midnight is 23:00Z
	})
}

// BenchmarkDSLNested measures a nested query, which reads the event's document again.
func BenchmarkDSLNested(b *testing.B) {
	env := &Env{Fields: event.NewFields(), Mapping: mustMapping(b, dslMapping)}
	q, err := query.Decode(`{"nested": {"path": "nst", "query": {"bool": {"filter": [{"term": {"nst.a": "x"}}, {"term": {"nst.b": "2"}}]}}}}`)
	if err != nil {
		b.Fatal(err)
	}
	f, err := CompileDSL(q, env)
	if err != nil {
		b.Fatal(err)
	}
	var ev event.Event
	doc := []byte(`{"@timestamp": "2024-03-05T10:00:00Z", "kw": "abc", "msg": "some text here", "nst": [{"a": "x", "b": 1}, {"a": "y", "b": 2}, {"a": "x", "b": 2}]}`)
	if err := event.NewDecoder(env.Fields).Decode(doc, &ev); err != nil {
		b.Fatal(err)
	}
	if !f.Match(&ev) {
		b.Fatal("the benchmark event should match")
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Match(&ev)
	}
}
