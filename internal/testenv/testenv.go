package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the repository root: the nearest directory at or above the working
// directory that holds go.mod. It fails the test when there is none.
func RepoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("testenv: working directory: %v", err)
	}
	root, err := findRoot(wd)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return root
}

// Shared returns the path of ../shared (relative to the repository root) joined with elem,
// and skips the test, naming the missing path, when that path is absent. With no elem it
// returns ../shared itself.
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	p, err := sharedPath(RepoRoot(t), elem...)
	if err != nil {
		t.Skipf("testenv: skipping: %v", err)
	}
	return p
}

// LookupShared returns the path Shared would return and whether it exists, without
// skipping the test: for tests to which the reference data is optional.
func LookupShared(t testing.TB, elem ...string) (path string, ok bool) {
	t.Helper()
	p, err := sharedPath(RepoRoot(t), elem...)
	return p, err == nil
}

// findRoot returns the nearest directory at or above dir that holds go.mod.
func findRoot(dir string) (string, error) {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod at or above %s: not inside the repository", dir)
		}
		d = parent
	}
}

// sharedPath returns root/../shared joined with elem, and an error naming that path when
// it cannot be found.
func sharedPath(root string, elem ...string) (string, error) {
	p := filepath.Join(append([]string{filepath.Dir(root), "shared"}, elem...)...)
	_, err := os.Stat(p)
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, os.ErrNotExist):
		return p, fmt.Errorf("reference data %s is absent (../shared beside the repository root %s)", p, root)
	default:
		return p, fmt.Errorf("reference data %s is unreadable: %v", p, err)
	}
}
