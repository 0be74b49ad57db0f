package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.ndjson")
	input := `{"event":{"category":"process"},"process":{"name":"bash"}}` + "\n" + `{"a":` + "\n" + `{"process":{"name":"sh"}}` + "\n"
	if err := os.WriteFile(events, []byte(input), 0o644); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(dir, "rules")
	if err := os.Mkdir(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	ruleText := "[rule]\nrule_id = \"r\"\nname = \"r\"\ndescription = \"d\"\ntype = \"eql\"\nlanguage = \"eql\"\nrisk_score = 1\nseverity = \"low\"\n" +
		"index = [\"logs-*\"]\nquery = '''\nsequence by host.id [process where process.name == \"bash\"] [network where destination.port == 22]\n'''\n"
	if err := os.WriteFile(filepath.Join(rules, "r.toml"), []byte(ruleText), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		args    []string
		fields  int // the category field, @timestamp and the fields the query reads
		queries int
		err     string
	}{
		{"query", []string{"-query", `process where process.name == "bash"`, events}, 3, 1, ""},
		{"rules", []string{"-rules", rules, events}, 5, 1, ""},
		{"neither", []string{events}, 0, 0, "give one of -rules or -query"},
		{"no files", []string{"-query", "any where true"}, 0, 0, "give the NDJSON files to read"},
		{"bad query", []string{"-query", "process where", events}, 0, 0, "line 1:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), c.args, &out, &errOut)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var res result
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatalf("%v: %s", err, out.Bytes())
			}
			// The second line is not a JSON object: the reader reports it, the others decode.
			if res.Events != 2 || res.Errors != 1 || res.Fields != c.fields || res.Queries != c.queries || res.Bytes != int64(len(input)) {
				t.Errorf("got %+v, want 2 events, 1 error, %d fields, %d queries, %d bytes", res, c.fields, c.queries, len(input))
			}
		})
	}
}
