package detect

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/tripline/tripline/event"
)

// spill is the temporary file in which a batch Detector keeps the events its in-order
// sequence rules matched (see CompileRequest.InOrder), so that a rule whose input turned
// out not to be in order can be run again over them at Close. The file is removed as soon
// as it is created (where the system allows it), so that it disappears with the process.
type spill struct {
	f    *os.File
	w    *bufio.Writer
	name string
	n    int64 // events written
	err  error // first write error
	buf  []byte
}

// newSpill creates the spill file in dir (empty: os.TempDir()).
func newSpill(dir string) (*spill, error) {
	f, err := os.CreateTemp(dir, "tripline-batch-*.spill")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // its path is the file's random name
		}
		return nil, fmt.Errorf("detect: cannot create the temporary file for the events of sequence rules in %s: %w",
			cmp.Or(dir, os.TempDir()), err)
	}
	s := &spill{f: f, w: bufio.NewWriterSize(f, 1<<20), name: f.Name()}
	if os.Remove(f.Name()) == nil {
		s.name = ""
	}
	return s, nil
}

// write appends an event: its source, line, position, id, index and document.
func (s *spill) write(ev *event.Event) {
	if s.err != nil {
		return
	}
	b := s.buf[:0]
	b = appendString(b, ev.Source)
	b = binary.AppendUvarint(b, uint64(ev.Line))
	b = binary.AppendUvarint(b, ev.Seq)
	b = appendString(b, ev.ID)
	b = appendString(b, ev.Index)
	b = binary.AppendUvarint(b, uint64(len(ev.Raw)))
	s.buf = b
	if _, err := s.w.Write(b); err != nil {
		s.err = err
		return
	}
	if _, err := s.w.Write(ev.Raw); err != nil {
		s.err = err
		return
	}
	s.n++
}

func appendString(b []byte, str string) []byte {
	b = binary.AppendUvarint(b, uint64(len(str)))
	return append(b, str...)
}

// replay reads the events back in the order they were written and calls fn with each
// document and its source (whose Index is the one the event was routed with).
func (s *spill) replay(fn func(doc []byte, src EventSource) error) error {
	if s.err != nil {
		return fmt.Errorf("temporary event file: %w", s.err)
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("temporary event file: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("temporary event file: %w", err)
	}
	r := bufio.NewReaderSize(s.f, 1<<20)
	var doc []byte
	readString := func() (string, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return "", err
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return string(b), err
	}
	for i := int64(0); i < s.n; i++ {
		var src EventSource
		var err error
		var line, n uint64
		if src.Name, err = readString(); err == nil {
			if line, err = binary.ReadUvarint(r); err == nil {
				if src.Seq, err = binary.ReadUvarint(r); err == nil {
					if src.ID, err = readString(); err == nil {
						if src.Index, err = readString(); err == nil {
							n, err = binary.ReadUvarint(r)
						}
					}
				}
			}
		}
		if err == nil {
			doc = append(doc[:0], make([]byte, n)...)
			_, err = io.ReadFull(r, doc)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("temporary event file, event %d: %w", i+1, err)
		}
		src.Line = int(line)
		if err := fn(doc, src); err != nil {
			return err
		}
	}
	return nil
}

// close closes the file and removes it if it still has a name.
func (s *spill) close() {
	s.f.Close()
	if s.name != "" {
		os.Remove(s.name)
	}
}
