package rule

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tripline/tripline/internal/testenv"
)

// checkFastTOML decodes data with the fast path (with the memory sc left by earlier calls,
// or none) and with BurntSushi/toml, and fails when the fast path accepts what
// BurntSushi/toml rejects or decodes differently. It returns whether the fast path took the
// file.
func checkFastTOML(t *testing.T, name string, data []byte, sc *tomlScratch) bool {
	t.Helper()
	fast, ok := decodeRuleFast(string(data), sc)
	if !ok {
		return false
	}
	slow, err := decodeRuleTOML(string(data), name)
	if err != nil {
		t.Errorf("%s: fast path accepted a file BurntSushi/toml rejects: %v", name, err)
		return true
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Errorf("%s: fast path decoded\n%#v\nBurntSushi/toml decoded\n%#v", name, fast, slow)
	}
	return true
}

// TestFastTOMLMatchesBurntSushi decodes every file of the corpus both ways, the fast path
// reusing its memory from file to file as Load does.
func TestFastTOMLMatchesBurntSushi(t *testing.T) {
	dir := testenv.Shared(t, "rules", "detection-rules")
	var sc tomlScratch
	var files, fast int
	var slow []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".toml" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if checkFastTOML(t, path, data, &sc) {
			fast++
		} else {
			slow = append(slow, strings.TrimPrefix(path, dir+"/"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != 2068 || fast != 2068 {
		t.Errorf("fast path took %d of %d files, want all 2068; not:\n%s", fast, files, strings.Join(slow, "\n"))
	}
}

func TestFastTOMLEdgeCases(t *testing.T) {
	const head = "[metadata]\nmaturity = \"production\"\n\n[rule]\nrule_id = \"x\"\n"
	var sc tomlScratch // shared by the cases, in turn, as in Load
	for _, tc := range []struct {
		name string
		doc  string
		fast bool // whether the fast path takes it (when it does, it must agree with BurntSushi)
	}{
		{"minimal", head, true},
		{"comments and blank lines", "# c\n\n" + head + "  # indented comment\nname = 'n' # trailing\n\n", true},
		{"no final newline", head + "name = 'n'", true},
		{"tabs", head + "\tname\t=\t\"a\tb\"\t\n", true},
		{"all escapes", head + `name = "\b\t\n\f\r\"\\ \u00e9 \U0001F600 é"` + "\n", true},
		{"bad escape", head + `name = "\q"` + "\n", false},
		{"surrogate escape", head + `name = "\ud800"` + "\n", false},
		{"short unicode escape", head + `name = "\u00e"` + "\n", false},
		{"TOML 1.1 escape", head + `name = "\e"` + "\n", false},
		{"newline in basic string", head + "name = \"a\nb\"\n", false},
		{"unterminated", head + "name = \"abc\n", false},
		{"literal", head + `query = 'C:\Windows\*.exe "q"'` + "\n", true},
		{"literal with newline", head + "query = 'a\nb'\n", false},
		{"multi-line literal", head + "query = '''\nline1\n  \\x ''\n'''\n", true},
		{"multi-line literal, no first newline", head + "query = '''a'''\n", true},
		{"multi-line literal ending in quotes", head + "query = '''a'''''\n", true},
		{"multi-line literal, six quotes", head + "query = '''a''''''\n", false},
		{"multi-line basic", head + "note = \"\"\"\n## Title\n\"quoted\" \"\" \\\"\"\"\n\"\"\"\n", true},
		{"multi-line basic ending in quotes", head + "note = \"\"\"a\"\"\"\"\"\n", true},
		{"multi-line basic, six quotes", head + "note = \"\"\"a\"\"\"\"\"\"\n", false},
		{"line-ending backslash", head + "note = \"\"\"a \\   \n\n   b\\\n c\"\"\"\n", true},
		{"backslash then text", head + "note = \"\"\"a \\  b\"\"\"\n", false},
		{"unterminated multi-line", head + "note = \"\"\"abc\n", false},
		{"integers", head + "risk_score = 0\nmax_signals = +1000\nversion = -0\n", true},
		{"negative", head + "risk_score = -5\n", true},
		{"leading zero", head + "risk_score = 047\n", false},
		{"underscore", head + "max_signals = 1_000\n", false},
		{"float", head + "risk_score = 4.5\n", false},
		{"hex", head + "risk_score = 0x10\n", false},
		{"date", head + "from = 1979-05-27\n", false},
		{"huge", head + "max_signals = 99999999999999999999\n", false},
		{"booleans", head + "enabled = false\n", true},
		{"boolean typo", head + "enabled = falsey\n", false},
		{"wrong type", head + "risk_score = \"47\"\n", false},
		{"wrong array type", head + "tags = [\"a\", 1]\n", false},
		{"mixed array in an ignored key", head + "other = [\"a\", 1, [true, []]]\n", true},
		{"arrays", head + "tags = [\n  \"a\", # c\n  'b',\n\n]\nindex = []\nauthor = [ ]\n", true},
		{"empty element", head + "tags = [\"a\",,]\n", false},
		{"leading comma", head + "tags = [,]\n", false},
		{"unclosed array", head + "tags = [\"a\"\n", false},
		{"inline tables", head + "x = {a = 1, 'b' = { c = [{}, {d = true}] } }\nproviders = [\n  [\n    { excluded = false, field = \"host.id\", queryType = \"phrase\", value = \"{{host.id}}\", valueType = \"string\" }\n  ]\n]\n", true},
		{"empty inline table", head + "x = {}\ny = { }\n", true},
		{"inline table, trailing comma", head + "x = {a = 1,}\n", false},
		{"inline table over lines", head + "x = {a = 1,\nb = 2}\n", false},
		{"inline table, duplicate key", head + "x = {a = 1, a = 2}\n", false},
		{"inline table, dotted key", head + "x = {a.b = 1}\n", false},
		{"inline table, unclosed", head + "x = {a = 1\n", false},
		{"inline table extended", head + "x = {a = 1}\n[rule.x.b]\n", false},
		{"inline table extended by an array", head + "x = {a = 1}\n[[rule.x]]\n", false},
		{"inline tactic", head + "[[rule.threat]]\ntactic = {id = 'TA1', name = 'n'}\n", true},
		{"dotted key", head + "a.b = 1\n", false},
		{"quoted key", head + "\"name\" = 'n'\n'type' = 'eql'\n", true},
		{"quoted key with escape", head + "\"na\\u006De\" = 'n'\n", false},
		{"empty quoted key", head + "\"\" = 'n'\n", false},
		{"duplicate key", head + "name = 'a'\nname = 'b'\n", false},
		{"duplicate key, quoted", head + "name = 'a'\n\"name\" = 'b'\n", false},
		{"key case", head + "Name = 'a'\n", false},
		{"key case in threat", head + "[[rule.threat]]\nFramework = 'x'\n", false},
		{"unknown key", head + "new_terms_fields = ['a']\n", true},
		{"two values on a line", head + "name = 'a' 'b'\n", false},
		{"missing value", head + "name =\n", false},
		{"no equals", head + "name 'a'\n", false},
		{"threat", head + "[[rule.threat]]\nframework = \"MITRE ATT&CK\"\n[rule.threat.tactic]\nid = \"TA1\"\nname = \"T\"\nreference = \"r\"\n" +
			"[[rule.threat.technique]]\nid = \"T1\"\n[[rule.threat.technique.subtechnique]]\nid = \"T1.1\"\n" +
			"[[rule.threat.technique.subtechnique]]\nid = \"T1.2\"\n[[rule.threat.technique]]\nid = \"T2\"\n" +
			"[[rule.threat]]\nframework = \"MITRE ATLAS\"\n", true},
		{"tactic as an array", head + "[[rule.threat]]\n[[rule.threat.tactic]]\nid = 'x'\n", false},
		{"threat as a table", head + "[rule.threat]\nframework = 'x'\n", false},
		{"threat as an array", head + "threat = []\n", false},
		{"table defined twice", head + "[rule]\nname = 'a'\n", false},
		{"table after implicit", "[rule.new_terms]\nfield = 'x'\n[rule]\nrule_id = 'x'\n", true},
		{"table then array of tables", head + "[rule.a]\n[[rule.a]]\n", false},
		{"array of tables then table", head + "[[rule.a]]\n[rule.a]\n", false},
		{"key then table", head + "a = 1\n[rule.a]\n", false},
		{"key then subtable", head + "a = 1\n[rule.a.b]\n", false},
		{"table then key", head + "[rule.a]\n[rule]\n", false},
		{"header spaces", "[ rule ]\nrule_id = 'x'\n[[ rule.threat ]]\nframework = 'f'\n[ rule . threat . tactic ]\nid = 'i'\n", true},
		{"quoted header key", head + "[rule.x.query.wildcard.\"file.path\"]\nvalue = 'x'\n[rule.x.'a b']\n", true},
		{"header text after", head + "[rule.x] y\n", false},
		{"broken array header", head + "[[rule.x] ]\n", false},
		{"empty header", head + "[]\n", false},
		{"no rule table", "[metadata]\nrule_id = 'x'\n", false},
		{"rule as a value", "rule = 'x'\n", false},
		{"filters", head + "[[rule.filters]]\n[rule.filters.meta]\nnegate = false\n[rule.filters.query.wildcard.\"file.path\"]\ncase_insensitive = true\nvalue = '*x'\n", true},
		{"filters inline", head + "filters = ['a', 1]\nexceptions_list = []\n", true},
		{"filters scalar", head + "filters = 'a'\n", false},
		{"alert suppression", head + "[rule.alert_suppression]\ngroup_by = ['host.name']\nmissing_fields_strategy = 'suppress'\n[rule.alert_suppression.duration]\nunit = 'h'\nvalue = 5\n", true},
		{"alert suppression scalar", head + "alert_suppression = 5\n[[rule.x.y]]\nz = [[1], []]\n", true},
		{"carriage return", head + "name = 'a'\r\n", false},
		{"control character", head + "name = 'a\x01'\n", false},
		{"delete character", head + "# \x7f\n", false},
		{"invalid UTF-8", head + "name = 'a\xff'\n", false},
		{"byte order mark", "\ufeff" + head, false},
		{"unicode", head + "name = \"\u0085 \u2028 \ufeff é 😀\"\nnote = '''\u0080\u009f'''\n# \u0085 \u2028\n", true},
		{"unicode key", head + "é = 1\n", false},
		{"quoted unicode key", head + "\"é\" = 1\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkFastTOML(t, tc.name, []byte(tc.doc), &sc); got != tc.fast {
				_, err := decodeRuleTOML(tc.doc, tc.name)
				t.Errorf("fast path took it: %v, want %v (BurntSushi/toml error: %v)", got, tc.fast, err)
			}
		})
	}
}

// TestLoadSameWithoutFastPath loads the test directory with and without the fast path.
func TestLoadSameWithoutFastPath(t *testing.T) {
	for _, path := range []string{"testdata/mixed/a_good.toml", "testdata/mixed/c_kuery.toml", "testdata/mixed/sub/e_good.toml"} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !checkFastTOML(t, path, data, nil) {
			t.Errorf("%s: fast path did not take it", path)
		}
	}
	// The broken files go to BurntSushi/toml for their messages.
	for _, path := range []string{"testdata/mixed/b_broken.toml"} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := decodeRuleFast(string(data), nil); ok {
			t.Errorf("%s: fast path took a broken file", path)
		}
	}
}

func TestFastTOMLKeys(t *testing.T) {
	tags := func(v any) []string {
		var out []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			if tag := rt.Field(i).Tag.Get("toml"); tag != "-" {
				out = append(out, tag)
			}
		}
		return out
	}
	for _, tc := range []struct {
		keys []string
		typ  any
	}{
		{ruleKeys[:len(ruleKeys)-1], Rule{}}, // the last is "source", for Rule.Source
		{threatKeys, Threat{}},
		{techniqueKeys, Technique{}},
		{threatRefKeys, ThreatRef{}},
	} {
		if want := tags(tc.typ); !reflect.DeepEqual(tc.keys, want) {
			t.Errorf("%T keys = %q, want %q", tc.typ, tc.keys, want)
		}
	}
}

// FuzzFastTOML checks that whatever the fast path accepts, BurntSushi/toml accepts and
// decodes the same way.
func FuzzFastTOML(f *testing.F) {
	for _, s := range []string{
		"[rule]\nrule_id = \"x\"\nname = 'n'\ntags = [\"a\", 'b',]\nrisk_score = 21\n",
		"[rule]\nnote = \"\"\"\na\\\n  b \"\" \\u00e9\"\"\"\nquery = '''\nx'''''\n",
		"[[rule.threat]]\n[rule.threat.tactic]\nid = 'x'\n[rule]\nenabled = false\n",
		"[rule.alert_suppression]\ngroup_by = []\n[[rule.filters]]\n[rule.filters.\"a.b\"]\nv = [[1]]\n[rule]\n",
	} {
		f.Add([]byte(s))
	}
	if dir, ok := testenv.LookupShared(f, "rules", "detection-rules", "rules", "cross-platform"); ok {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries[:min(5, len(entries))] {
			if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastTOML(t, "fuzz", data, nil)
	})
}

// BenchmarkLoadCorpus loads the 2,068 rule files of the corpus (the start-up cost of
// detect, serve and rules list).
func BenchmarkLoadCorpus(b *testing.B) {
	dir := testenv.Shared(b, "rules", "detection-rules")
	for b.Loop() {
		set, err := Load(context.Background(), dir)
		if err != nil || len(set.Rules) != 1024 {
			b.Fatalf("Load: %d rules, %v", len(set.Rules), err)
		}
	}
}

// BenchmarkParseTOML decodes every TOML file of the corpus on one goroutine, as Load does
// (fast path, reusing its memory) and through BurntSushi/toml alone.
func BenchmarkParseTOML(b *testing.B) {
	dir := testenv.Shared(b, "rules", "detection-rules")
	var files [][]byte
	var size int64
	var sc tomlScratch
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(path) == ".toml" {
			data, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, data)
			size += int64(len(data))
		}
		return nil
	})
	for _, bc := range []struct {
		name   string
		decode func([]byte) error
	}{
		{"ParseTOML", func(d []byte) error { _, err := parseTOML(string(d), "x", &sc); return err }},
		{"BurntSushi", func(d []byte) error { _, err := decodeRuleTOML(string(d), "x"); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				for _, d := range files {
					if err := bc.decode(d); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
