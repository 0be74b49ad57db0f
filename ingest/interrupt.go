package ingest

import (
	"context"
	"io"
)

// interruptible reads from an input that can block (standard input, a pipe, a terminal) on a
// goroutine of its own, so that a Read waiting for data returns the context's error as
// soon as the context is done: a signal stops a run fed by a writer that is still open.
// The goroutine reads into its own buffer only when asked, so a read that ends after the
// context is done writes nowhere the caller looks; it ends with that read.
type interruptible struct {
	ctx  context.Context
	want chan int // a Read asks the goroutine for at most this many bytes
	got  chan readResult
	buf  []byte
	err  error // sticky: the input's error, or the context's
}

type readResult struct {
	n   int
	err error
}

func newInterruptible(ctx context.Context, r io.Reader) *interruptible {
	in := &interruptible{ctx: ctx, want: make(chan int), got: make(chan readResult, 1), buf: make([]byte, 64<<10)}
	go func() {
		for n := range in.want {
			k, err := r.Read(in.buf[:n])
			in.got <- readResult{k, err}
			if err != nil {
				return
			}
		}
	}()
	return in
}

func (in *interruptible) Read(p []byte) (int, error) {
	if in.err != nil {
		return 0, in.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	select {
	case in.want <- min(len(p), len(in.buf)):
	case <-in.ctx.Done():
		in.stop(in.ctx.Err())
		return 0, in.err
	}
	select {
	case res := <-in.got:
		n := copy(p, in.buf[:res.n])
		if res.err != nil {
			in.err = res.err
			close(in.want)
		}
		return n, res.err
	case <-in.ctx.Done():
		in.stop(in.ctx.Err()) // the goroutine ends after its read returns
		return 0, in.err
	}
}

// stop ends the goroutine: at once when it waits for a request, else after its read.
func (in *interruptible) stop(err error) {
	in.err = err
	close(in.want)
}
