package eql

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/tripline/tripline/internal/testenv"
)

type namedQuery struct {
	name  string
	query string
}

// ruleQueries returns the query of every EQL rule in the detection-rules corpus.
func ruleQueries(tb testing.TB) []namedQuery {
	tb.Helper()
	root := testenv.Shared(tb, "rules", "detection-rules")
	var out []namedQuery
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".toml") {
			return err
		}
		var doc struct {
			Rule struct {
				Type     string `toml:"type"`
				Language string `toml:"language"`
				Query    string `toml:"query"`
			} `toml:"rule"`
		}
		if err := decodeTOMLFile(path, &doc); err != nil {
			tb.Errorf("%s: %v", path, err)
			return nil
		}
		if doc.Rule.Type == "eql" {
			rel, _ := filepath.Rel(root, path)
			out = append(out, namedQuery{rel, doc.Rule.Query})
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

var (
	queryNameRE = regexp.MustCompile(`(?m)^\s*name\s*=\s*"([^"]*)"`)
	queriesRE   = regexp.MustCompile(`(?m)^\[\[queries\]\]`)
	queryRE     = regexp.MustCompile(`(?ms)^\s*query\s*=\s*(?:'''(.*?)'''|"""(.*?)"""|'([^'\n]*)'|"([^"\n]*)")`)
)

// conformanceQueries extracts every query of the ES conformance suite. The files are not
// decoded as TOML because test_extra.toml has bare nulls in arrays.
func conformanceQueries(tb testing.TB) []namedQuery {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(testenv.Shared(tb, "conformance", "es"), "*.toml"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []namedQuery
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for i, chunk := range queriesRE.Split(string(data), -1)[1:] {
			m := queryRE.FindStringSubmatch(chunk)
			if m == nil {
				tb.Errorf("%s: query #%d has no query", f, i+1)
				continue
			}
			q := m[1] + m[2] + m[3] + m[4]
			name := filepath.Base(f) + "#" + string(rune('0'+i%10))
			if n := queryNameRE.FindStringSubmatch(chunk); n != nil {
				name = filepath.Base(f) + ":" + n[1]
			}
			out = append(out, namedQuery{name, strings.TrimPrefix(q, "\n")})
		}
	}
	return out
}

// sameTree reports whether two trees are equal, ignoring positions.
func sameTree(a, b any) bool {
	return equalNoPos(reflect.ValueOf(a), reflect.ValueOf(b))
}

var posType = reflect.TypeOf(Pos{})

func equalNoPos(a, b reflect.Value) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == posType {
		return true
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equalNoPos(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !equalNoPos(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equalNoPos(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Float64:
		return a.Float() == b.Float()
	default:
		return reflect.DeepEqual(a.Interface(), b.Interface())
	}
}

// checkRoundTrip parses q, prints it, re-parses the output and compares the trees.
func checkRoundTrip(t *testing.T, name, q string) {
	t.Helper()
	st, err := Parse(q)
	if err != nil {
		t.Errorf("%s: %v\n%s", name, err, q)
		return
	}
	out := st.String()
	st2, err := Parse(out)
	if err != nil {
		t.Errorf("%s: re-parsing the printed query failed: %v\nprinted: %s", name, err, out)
		return
	}
	if !sameTree(st, st2) {
		t.Errorf("%s: printed query parses to a different tree\noriginal: %s\nprinted:  %s", name, q, out)
	}
	if again := st2.String(); again != out {
		t.Errorf("%s: printing is not stable\nfirst:  %s\nsecond: %s", name, out, again)
	}
}

func TestRuleQueriesParseAndRoundTrip(t *testing.T) {
	qs := ruleQueries(t)
	if len(qs) != 1024 {
		t.Errorf("found %d EQL rules, want 1024", len(qs))
	}
	for _, q := range qs {
		checkRoundTrip(t, q.name, q.query)
	}
}

func TestConformanceQueriesParseAndRoundTrip(t *testing.T) {
	qs := conformanceQueries(t)
	if len(qs) != 308 {
		t.Errorf("found %d conformance queries, want 308", len(qs))
	}
	for _, q := range qs {
		checkRoundTrip(t, q.name, q.query)
	}
}

// decodeTOMLFile decodes the TOML file at path into v.
func decodeTOMLFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return toml.Unmarshal(data, v)
}
