package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// recorder is a testing.TB that records a Skip or Fatal instead of acting on it. Its
// methods other than those below are never called (the embedded TB is nil).
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// call runs fn(r) in its own goroutine, as the testing package runs a test, so that Skipf
// and Fatalf can end it; it returns fn's result ("" when fn was ended).
func (r *recorder) call(fn func(testing.TB) string) string {
	var got string
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = fn(r)
	}()
	<-done
	return got
}

// tree makes base/repo/go.mod, base/repo/a/b and base/shared/rules/x.toml, and returns base.
func tree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for _, d := range []string{"repo/a/b", "shared/rules"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"repo/go.mod", "shared/rules/x.toml"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return base
}

func TestRepoRoot(t *testing.T) {
	base := tree(t)
	repo := filepath.Join(base, "repo")
	tests := []struct{ wd, want string }{
		{repo, repo},
		{filepath.Join(repo, "a"), repo},
		{filepath.Join(repo, "a", "b"), repo},
	}
	for _, tc := range tests {
		got, err := findRoot(tc.wd)
		if err != nil || got != tc.want {
			t.Errorf("findRoot(%s) = %q, %v; want %q, nil", tc.wd, got, err, tc.want)
		}
	}
	t.Chdir(filepath.Join(repo, "a", "b"))
	want := filepath.Dir(filepath.Dir(mustGetwd(t)))
	r := &recorder{}
	if got := r.call(RepoRoot); got != want || r.failed != "" {
		t.Errorf("RepoRoot = %q (failed %q), want %q", got, r.failed, want)
	}
}

func TestRepoRootOutsideRepository(t *testing.T) {
	dir := t.TempDir()
	if root, err := findRoot(dir); err == nil {
		t.Fatalf("%s has go.mod above it at %s: cannot test the failure here", dir, root)
	}
	t.Chdir(dir)
	r := &recorder{}
	got := r.call(RepoRoot)
	want := "testenv: no go.mod at or above " + mustGetwd(t) + ": not inside the repository"
	if got != "" || r.failed != want || r.skipped != "" {
		t.Errorf("RepoRoot = %q, failed %q, skipped %q; want failed %q", got, r.failed, r.skipped, want)
	}
}

func TestShared(t *testing.T) {
	t.Chdir(filepath.Join(tree(t), "repo", "a"))
	base := filepath.Dir(filepath.Dir(mustGetwd(t)))
	shared := filepath.Join(base, "shared")
	repo := filepath.Join(base, "repo")
	tests := []struct {
		elem    []string
		want    string // "" when the test is skipped
		skipped string
	}{
		{nil, shared, ""},
		{[]string{"rules"}, filepath.Join(shared, "rules"), ""},
		{[]string{"rules", "x.toml"}, filepath.Join(shared, "rules", "x.toml"), ""},
		{[]string{"rules", "y.toml"}, "", "testenv: skipping: reference data " + filepath.Join(shared, "rules", "y.toml") +
			" is absent (../shared beside the repository root " + repo + ")"},
		{[]string{"seed"}, "", "testenv: skipping: reference data " + filepath.Join(shared, "seed") +
			" is absent (../shared beside the repository root " + repo + ")"},
	}
	for _, tc := range tests {
		r := &recorder{}
		got := r.call(func(tb testing.TB) string { return Shared(tb, tc.elem...) })
		if got != tc.want || r.skipped != tc.skipped || r.failed != "" {
			t.Errorf("Shared(%q) = %q, skipped %q, failed %q; want %q, skipped %q", tc.elem, got, r.skipped, r.failed, tc.want, tc.skipped)
		}
		r = &recorder{}
		var ok bool
		p := r.call(func(tb testing.TB) string {
			p, found := LookupShared(tb, tc.elem...)
			ok = found
			return p
		})
		wantPath := filepath.Join(append([]string{shared}, tc.elem...)...)
		if p != wantPath || ok != (tc.want != "") || r.skipped != "" || r.failed != "" {
			t.Errorf("LookupShared(%q) = %q, %v; want %q, %v", tc.elem, p, ok, wantPath, tc.want != "")
		}
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}
