package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// eventFileExts are the file names a directory argument contributes, in lexical order.
var eventFileExts = []string{".ndjson", ".jsonl", ".json", ".log", ".gz"}

// Inputs are the inputs of a run once directories are expanded: paths ("-" for standard
// input), and how many of the paths given were skipped.
type Inputs struct {
	Paths   []string
	Skipped int64
}

// Expand replaces each directory of paths by the event files below it (.ndjson, .jsonl,
// .json, .log, .gz; recursively, in lexical order); no path at all means standard input.
// A path that cannot be read and a directory without event files are skipped, counted and
// told to notice as "PATH: reason (skipped)". A file given twice, by the same name or by
// another (a link, a directory that holds it), is kept once, where it comes first, and
// notice is told: its events would otherwise be seen twice and give every alert twice.
// notice may be nil.
func Expand(paths []string, notice func(msg string)) Inputs {
	if notice == nil {
		notice = func(string) {}
	}
	if len(paths) == 0 {
		return Inputs{Paths: []string{"-"}}
	}
	var (
		ins    Inputs
		stdin  bool
		seen   []os.FileInfo // of ins.Paths but "-", in the same order
		named  []string
		warned []bool // a file given more than twice is told once
	)
	add := func(p string, fi os.FileInfo) {
		for i, prev := range seen {
			if os.SameFile(prev, fi) {
				if warned[i] {
					return
				}
				warned[i] = true
				if named[i] == p {
					notice(p + ": given twice; read once")
				} else {
					notice(p + ": the same file as " + named[i] + "; read once")
				}
				return
			}
		}
		seen, named, warned = append(seen, fi), append(named, p), append(warned, false)
		ins.Paths = append(ins.Paths, p)
	}
	skip := func(err error) {
		ins.Skipped++
		notice(describePathError(err) + " (skipped)")
	}
	for _, p := range paths {
		if p == "-" {
			if stdin {
				notice("-: standard input given twice; read once")
				continue
			}
			stdin = true
			ins.Paths = append(ins.Paths, p)
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			skip(err)
			continue
		}
		if !fi.IsDir() {
			add(p, fi)
			continue
		}
		found, unreadable := false, false
		filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				skip(err)
				unreadable = unreadable || path == p
				if d != nil && d.IsDir() && path != p {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() || !slices.Contains(eventFileExts, filepath.Ext(path)) {
				return nil
			}
			fi, err := os.Stat(path) // a link to an event file counts as one
			if err != nil {
				skip(err)
				return nil
			}
			if fi.Mode().IsRegular() {
				found = true
				add(path, fi)
			}
			return nil
		})
		if !found && !unreadable {
			skip(fmt.Errorf("%s: no event files (%s) in this directory", p, strings.Join(eventFileExts, ", ")))
		}
	}
	return ins
}

// Rereadable reports whether the inputs paths (as Expand gives them) can be read a second
// time with the same documents: every one a regular file. Standard input, and pipes such
// as <(zcat f), read once.
func Rereadable(paths []string) bool {
	for _, p := range paths {
		if fi, err := os.Stat(p); p == "-" || err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// describePathError words an error about a file as "PATH: reason", without the operation
// that failed ("open PATH: no such file or directory" becomes "PATH: no such file or
// directory").
func describePathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}
