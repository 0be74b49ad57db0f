package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress draws a one-line progress report on stderr while files are read: bytes read of
// the total, events and rate. It draws nothing unless enabled (by --progress, or because
// stderr is a terminal and every input is a regular file).
type progress struct {
	w       io.Writer
	on      bool
	src     interface{ BytesRead() int64 }
	total   int64
	start   time.Time
	last    time.Time
	records int64
}

// newProgress returns the progress display of reading paths on w; mode is --progress. It
// draws once it watches a reader.
func newProgress(w io.Writer, mode string, paths []string) *progress {
	p := &progress{w: w, start: time.Now()}
	switch mode {
	case "always":
		p.on = true
	case "auto":
		p.on = isTerminal(w) && allRegularFiles(paths)
	}
	return p
}

// watch makes src, the reader of the paths, the one whose bytes the display counts.
func (p *progress) watch(src interface {
	BytesRead() int64
	Size() int64
}) {
	p.src = src
	if p.on {
		p.total = src.Size()
	}
}

// tick counts the records read so far (source.Options.OnRecord).
func (p *progress) tick(records int64) {
	p.records = records
	if !p.on || p.src == nil || records&1023 != 0 {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	p.draw(now)
}

func (p *progress) draw(now time.Time) {
	read := p.src.BytesRead()
	secs := now.Sub(p.start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(p.records) / secs
	}
	if p.total > 0 {
		fmt.Fprintf(p.w, "\r%5.1f%%  %s / %s  %d events  %.0f events/s ", 100*float64(read)/float64(p.total), mib(read), mib(p.total), p.records, rate)
	} else {
		fmt.Fprintf(p.w, "\r%s  %d events  %.0f events/s ", mib(read), p.records, rate)
	}
}

func (p *progress) done() {
	if !p.on || p.last.IsZero() {
		return
	}
	p.draw(time.Now())
	fmt.Fprintln(p.w)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func isTerminal(w io.Writer) bool {
	if s, ok := w.(*syncWriter); ok {
		w = s.w
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func allRegularFiles(paths []string) bool {
	if len(paths) == 0 {
		return false
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if p == "-" || err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// syncWriter serializes the writes to w, a writer shared by several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
