package output

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
)

// Stream writes alerts as NDJSON to an io.Writer (standard output, a pipe), buffered;
// Close flushes it but does not close the writer.
type Stream struct {
	mu     sync.Mutex
	name   string
	w      *bufio.Writer
	closed bool
}

// NewStream returns a sink writing NDJSON to w; name is for messages ("stdout").
func NewStream(w io.Writer, name string) *Stream {
	return &Stream{name: name, w: bufio.NewWriterSize(w, 64<<10)}
}

// Write implements Sink. Each batch is flushed, so a reader sees whole batches promptly.
func (s *Stream) Write(ctx context.Context, alerts []Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := writeNDJSON(s.w, alerts); err != nil {
		return err
	}
	return s.w.Flush()
}

// Close implements Sink.
func (s *Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.w.Flush()
}

func (s *Stream) String() string { return s.name }

// FileOptions tune a File sink.
type FileOptions struct {
	// MaxSize rotates the file before a write would take it past this many bytes; 0 never
	// rotates. A single alert larger than MaxSize still goes, alone, into a fresh file.
	MaxSize int64
	// MaxBackups is how many rotated files (path.1 newest ... path.N oldest) are kept;
	// 0 means 5. Older ones are removed.
	MaxBackups int
}

// File appends alerts as NDJSON to a file, rotating it by size: path becomes path.1,
// path.1 becomes path.2, and so on. A failed write or rotation fails that Write only:
// the next Write reopens the file (ending a line left half written) and goes on.
type File struct {
	mu     sync.Mutex
	path   string
	opts   FileOptions
	f      *os.File // nil after a failed reopen
	w      *bufio.Writer
	size   int64
	closed bool
	broken bool // a write failed: reopen before the next one
}

// OpenFile opens (creating if needed) path for appending alerts.
func OpenFile(path string, opts FileOptions) (*File, error) {
	if opts.MaxBackups <= 0 {
		opts.MaxBackups = 5
	}
	s := &File{path: path, opts: opts}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *File) open() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("output: %w", err)
	}
	s.f, s.size = f, st.Size()
	if s.w == nil {
		s.w = bufio.NewWriterSize(f, 64<<10)
	} else {
		s.w.Reset(f)
	}
	return nil
}

// reopen drops the writer's state and the file after a failed write and opens the file
// again. A last line left half written is ended, so the next alert starts a line.
func (s *File) reopen() error {
	if s.f != nil {
		s.f.Close() // already failed; its error was reported
		s.f = nil
	}
	if err := s.open(); err != nil {
		return err
	}
	if s.size > 0 {
		if r, err := os.Open(s.path); err == nil {
			last := make([]byte, 1)
			if _, err := r.ReadAt(last, s.size-1); err == nil && last[0] != '\n' {
				s.w.WriteByte('\n')
				s.size++
			}
			r.Close()
		}
	}
	s.broken = false
	return nil
}

// rotate closes the current file, shifts the backups and opens a fresh file.
func (s *File) rotate() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("output: %s: %w", s.path, err)
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("output: %s: %w", s.path, err)
	}
	os.Remove(fmt.Sprintf("%s.%d", s.path, s.opts.MaxBackups))
	for i := s.opts.MaxBackups - 1; i >= 1; i-- {
		old := fmt.Sprintf("%s.%d", s.path, i)
		if _, err := os.Stat(old); err == nil {
			if err := os.Rename(old, fmt.Sprintf("%s.%d", s.path, i+1)); err != nil {
				return fmt.Errorf("output: rotating %s: %w", s.path, err)
			}
		}
	}
	if err := os.Rename(s.path, s.path+".1"); err != nil {
		return fmt.Errorf("output: rotating %s: %w", s.path, err)
	}
	return s.open()
}

// Write implements Sink. The batch is flushed to the file before Write returns. After a
// failed Write the file is reopened on the next one.
func (s *File) Write(ctx context.Context, alerts []Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.broken {
		if err := s.reopen(); err != nil {
			return err
		}
	}
	failed, err := s.write(alerts)
	if failed {
		s.broken = true
	}
	return err
}

// write writes the alerts; failed says the error came from the file (not an alert), so
// the writer and the file are no longer usable.
func (s *File) write(alerts []Alert) (failed bool, err error) {
	for i := range alerts {
		doc, err := oneLine(alerts[i].Doc)
		if err != nil {
			return false, fmt.Errorf("output: alert %s: %w", alerts[i].ID, err)
		}
		n := int64(len(doc)) + 1
		if s.opts.MaxSize > 0 && s.size > 0 && s.size+n > s.opts.MaxSize {
			if err := s.rotate(); err != nil {
				return true, err
			}
		}
		s.w.Write(doc)
		if err := s.w.WriteByte('\n'); err != nil {
			return true, fmt.Errorf("output: %s: %w", s.path, err)
		}
		s.size += n
	}
	if err := s.w.Flush(); err != nil {
		return true, fmt.Errorf("output: %s: %w", s.path, err)
	}
	return false, nil
}

// Close implements Sink.
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.broken { // the failure was reported by the Write that met it
		if s.f != nil {
			s.f.Close()
		}
		return nil
	}
	err := s.w.Flush()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("output: %s: %w", s.path, err)
	}
	return nil
}

func (s *File) String() string { return "file " + s.path }
