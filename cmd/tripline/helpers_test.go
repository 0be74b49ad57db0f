package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripline/tripline/internal/testenv"
)

// result is what one in-process run of the command line gave.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command line in-process with stdin as standard input.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runCLIContext(t, t.Context(), strings.NewReader(stdin), args...)
}

// runCLIContext runs the command line in-process under ctx.
func runCLIContext(t *testing.T, ctx context.Context, stdin io.Reader, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(ctx, args, stdin, &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// check fails the test when r differs from the wanted exit code, stdout or stderr.
func (r result) check(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	if r.stdout != stdout {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, stdout)
	}
	if r.stderr != stderr {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, stderr)
	}
}

// cliCase is one run of the command line and the exact exit code and output it must give.
type cliCase struct {
	name   string
	args   []string
	code   int
	stdout string
	stderr string
}

// runCLICases runs each case, with empty standard input, as a subtest.
func runCLICases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runCLI(t, "", tc.args...).check(t, tc.code, tc.stdout, tc.stderr)
		})
	}
}

// example returns the path of a file or directory under the repository's examples/.
func example(t *testing.T, parts ...string) string {
	t.Helper()
	return filepath.Join(append([]string{testenv.RepoRoot(t), "examples"}, parts...)...)
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// lines splits NDJSON output into its lines (no trailing empty line).
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
