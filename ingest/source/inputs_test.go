package source

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestExpand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "in")
	for name, content := range map[string]string{
		"a.ndjson": "{}\n", "d/b.json": "[]", "d/c.gz": "", "d/notes.txt": "", "d/sub/e.log": "{}\n", "d/sub/f.jsonl": "",
		"empty/readme.md": "",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "a.ndjson"), filepath.Join(dir, "link.ndjson")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "none"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    []string
		paths   []string
		skipped int64
		notices []string
	}{
		{name: "no path: standard input", args: nil, paths: []string{"-"}},
		{name: "a file", args: []string{"a.ndjson"}, paths: []string{"a.ndjson"}},
		{name: "a directory: its event files, recursively, in lexical order", args: []string{"d"},
			paths: []string{"d/b.json", "d/c.gz", "d/sub/e.log", "d/sub/f.jsonl"}},
		{name: "standard input twice", args: []string{"-", "a.ndjson", "-"}, paths: []string{"-", "a.ndjson"},
			notices: []string{"-: standard input given twice; read once"}},
		{name: "a file twice, then a third time", args: []string{"a.ndjson", "a.ndjson", "a.ndjson"}, paths: []string{"a.ndjson"},
			notices: []string{"a.ndjson: given twice; read once"}},
		{name: "a file under two names", args: []string{"link.ndjson", "a.ndjson"}, paths: []string{"link.ndjson"},
			notices: []string{"a.ndjson: the same file as link.ndjson; read once"}},
		{name: "a file, and the directory that holds it", args: []string{"d/sub/e.log", "d"},
			paths:   []string{"d/sub/e.log", "d/b.json", "d/c.gz", "d/sub/f.jsonl"},
			notices: []string{"d/sub/e.log: given twice; read once"}},
		{name: "missing paths and directories without event files", args: []string{"gone", "empty", "a.ndjson", "none"},
			paths: []string{"a.ndjson"}, skipped: 3,
			notices: []string{
				"gone: no such file or directory (skipped)",
				"empty: no event files (.ndjson, .jsonl, .json, .log, .gz) in this directory (skipped)",
				"none: no event files (.ndjson, .jsonl, .json, .log, .gz) in this directory (skipped)",
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			for _, a := range tc.args {
				if a != "-" {
					a = filepath.Join(dir, a)
				}
				args = append(args, a)
			}
			var notices []string
			ins := Expand(args, func(msg string) { notices = append(notices, strings.ReplaceAll(msg, dir+"/", "")) })
			var paths []string
			for _, p := range ins.Paths {
				paths = append(paths, strings.TrimPrefix(p, dir+"/"))
			}
			if !slices.Equal(paths, tc.paths) || ins.Skipped != tc.skipped {
				t.Errorf("paths %q, %d skipped; want %q, %d", paths, ins.Skipped, tc.paths, tc.skipped)
			}
			if !slices.Equal(notices, tc.notices) {
				t.Errorf("notices %q, want %q", notices, tc.notices)
			}
		})
	}
}

// TestRereadable checks that only regular files count as inputs that can be read again:
// standard input and pipes such as <(zcat f) read once.
func TestRereadable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(file, []byte("{\"a\":1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want bool
	}{{[]string{file}, true}, {[]string{dir + "/events.ndjson", file}, true}, {[]string{file, "-"}, false},
		{[]string{fifo}, false}, {[]string{file, fifo}, false}, {nil, false}} {
		if got := Rereadable(Expand(c.args, nil).Paths); got != c.want {
			t.Errorf("%q: rereadable %v, want %v", c.args, got, c.want)
		}
	}
}
