package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes. Scripts may rely on them; they are listed in `tripline --help` and the README.
const (
	exitOK       = 0 // everything read, nothing wrong
	exitFailure  = 1 // the run failed (I/O error), or `rules validate` found a broken EQL rule
	exitUsage    = 2 // bad flags, an invalid query or no usable rule
	exitSkipped  = 3 // the run finished, but some input was skipped (malformed lines, late events)
	exitSignaled = 130
)

const exitCodesHelp = `Exit codes:
  0  success: every input line was read
  1  the run failed (for example a file could not be read); for "rules validate", an EQL rule failed
  2  usage error: bad flags, an invalid query, or no rule that can run
  3  the run finished but input was skipped (malformed lines, events later than --max-lateness,
     or, for detect, rule files that could not be read, rules whose query does not compile, and
     alerts of events whose input file changed during the run); each is reported on stderr (a line
     as FILE:LINE: reason)`

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error // already reported when nil
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func exitWith(code int, err error) error { return &exitError{code: code, err: err} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	stopProfile := func() {}
	root := newRootCmd(stdin, stdout, stderr, &stopProfile)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	stopProfile()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "tripline: %v\n", ee.err)
		}
		return ee.code
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "tripline: interrupted")
		return exitSignaled
	}
	// cobra's own errors: unknown command or flag, wrong argument count.
	fmt.Fprintf(stderr, "tripline: %v\nRun 'tripline --help' for usage.\n", err)
	return exitUsage
}
