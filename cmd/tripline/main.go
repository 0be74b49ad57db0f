package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Exit codes. Scripts may rely on them; they are listed in `tripline --help` and the README.
const (
	exitOK       = 0   // everything read, nothing wrong
	exitFailure  = 1   // the run failed (an output, an I/O error), or `rules validate` found a broken rule
	exitUsage    = 2   // bad flags, an invalid query or no usable rule
	exitSkipped  = 3   // the run finished, but some input was skipped (unreadable files, malformed lines, late events)
	exitSignaled = 130 // a signal stopped the run before the end of its input
)

const exitCodesHelp = `Exit codes:
  0    success: every input line was read
  1    the run failed (for example an output did not take alerts: they are in its dead-letter
       file); for "rules validate", an EQL rule or a rule file failed
  2    usage error: bad flags, an invalid query, or no rule that can run
  3    the run finished but input was skipped (input files or directories that could not be
       read, malformed lines, events later than --max-lateness, or, for detect, rule files
       that could not be read, rules whose query does not compile, and alerts of events
       whose input file changed during the run); each is reported on stderr (a line as
       FILE:LINE: reason)
  130  stopped by SIGINT or SIGTERM before the end of the input (with --follow, and for
       serve, a signal is how the input ends: the code is then as at the end of a file).
       detect writes the alerts of what was read; its outputs have 5s more to deliver
       them, then what is left goes to their dead-letter files; a second signal stops at
       once, a third kills`

// errInterrupted ends a run that a signal stopped before the end of its input; what was
// read went through.
var errInterrupted = errors.New("interrupted before the end of the input (what was read went through)")

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
	ctx, stop := notifyStop(context.Background())
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// shutdownGrace is how long, after a first SIGINT or SIGTERM, the outputs may go on
// delivering alerts; what they have not delivered then goes to their dead-letter file.
const shutdownGrace = 5 * time.Second

// stopPolicy says how a run stops once its context is cancelled (the first signal): the
// outputs have grace more to deliver, and hard, closed by a second signal, ends that at once.
type stopPolicy struct {
	hard  <-chan struct{}
	grace time.Duration
}

type stopPolicyKey struct{}

// withStopPolicy returns ctx carrying p.
func withStopPolicy(ctx context.Context, p stopPolicy) context.Context {
	return context.WithValue(ctx, stopPolicyKey{}, p)
}

// errStopped is why deliveries are cut short after a signal.
var errStopped = errors.New("stopping")

// afterStop returns contexts for the work that goes on after ctx is cancelled: finish ends
// only at a second signal (ending the work a first one lets finish, such as flushing what
// was read); deliver ends too when the grace period after the first signal is over. Without
// a stop policy in ctx (tests, or a caller of run) the grace is shutdownGrace and there is
// no second signal. stop releases them.
func afterStop(ctx context.Context) (finish, deliver context.Context, stop func()) {
	p, ok := ctx.Value(stopPolicyKey{}).(stopPolicy)
	if !ok {
		p.grace = shutdownGrace
	}
	finish, cancelFinish := context.WithCancelCause(context.WithoutCancel(ctx))
	deliver, cancelDeliver := context.WithCancelCause(finish)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		t := time.NewTimer(p.grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelDeliver(fmt.Errorf("%w: %v after the signal", errStopped, p.grace))
		case <-p.hard:
			cancelFinish(fmt.Errorf("%w: a second signal", errStopped))
		case <-done:
			return
		}
		select {
		case <-p.hard:
			cancelFinish(fmt.Errorf("%w: a second signal", errStopped))
		case <-done:
		}
	}()
	return finish, deliver, func() {
		close(done)
		cancelDeliver(nil)
		cancelFinish(nil)
	}
}

// notifyStop returns a context cancelled by the first SIGINT or SIGTERM, with the stop
// policy of the command line: a second signal cuts short what the first lets finish, and a
// third, no longer caught, ends the process at once.
func notifyStop(parent context.Context) (context.Context, func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(parent)
	hard := make(chan struct{})
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			close(hard)
			signal.Stop(sigs) // a third signal has its default effect: the end of the process
		case <-done:
		}
	}()
	return withStopPolicy(ctx, stopPolicy{hard: hard, grace: shutdownGrace}), func() {
		close(done)
		signal.Stop(sigs)
		cancel()
	}
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
