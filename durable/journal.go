package durable

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tripline/tripline/detect"
)

// The journal of recent events is kept in segment files of the state directory's journal
// directory, named by a hexadecimal number that grows with each new segment. A segment is
// a sequence of records in arrival order:
//
//	length uint32 (of the body) | crc32c uint32 (of the body) | body
//	body: event time int64 | arrival number uint64 | name, index, id (uvarint length, bytes) | line uvarint | document
//
// (integers big-endian). A checkpoint appends the records of the events journalled since
// the last one to the segment being written and syncs it, then commits, in the store's
// transaction, where the journal ends (segment and offset) and the event time before which
// its records are no longer needed: bytes past that end (a crash between the two) are not
// part of the journal, and the next run cuts them off. Each run writes segments of its
// own, starting a new one from segmentSize bytes on; segments whose records are all out
// of the look-back are removed once a checkpoint has committed that.
//
// Sequences, samples and the reordering buffer need every recent event in arrival order,
// and then none of the old ones: a queue, which files keep at one write per event, where
// the store (an LSM tree) wrote each event to its log, its tables and its compactions.

const (
	journalDir  = "journal"
	segmentExt  = ".seg"
	segmentSize = 32 << 20
	recHeader   = 8
	maxRecord   = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// journalEnd is where the committed journal ends, and the event time before which its
// records are no longer needed (the cut of the checkpoint that committed it).
type journalEnd struct {
	seg uint64
	off int64
	cut int64
}

func (e journalEnd) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, e.seg)
	b = binary.BigEndian.AppendUint64(b, uint64(e.off))
	return binary.BigEndian.AppendUint64(b, uint64(e.cut))
}

func decodeJournalEnd(v []byte) (journalEnd, bool) {
	if len(v) != 24 {
		return journalEnd{}, false
	}
	return journalEnd{seg: binary.BigEndian.Uint64(v), off: int64(binary.BigEndian.Uint64(v[8:])),
		cut: int64(binary.BigEndian.Uint64(v[16:]))}, true
}

// segment is a segment file of the committed journal.
type segment struct {
	id   uint64
	maxT int64 // the newest event time of its records; math.MaxInt64 until known (Replay reads it)
}

// journal writes and reads the segment files.
type journal struct {
	dir  string
	end  journalEnd // the committed end
	segs []segment  // the segments up to end.seg, oldest first
	f    *os.File   // the segment being written (id end.seg once a checkpoint has committed it), or nil
	id   uint64     // its id
	size int64      // its bytes written
	maxT int64      // the newest event time written to it
	err  error      // a failed write: the journal takes no more
	// segSize is the size from which a new segment is started (segmentSize).
	segSize int64
}

func segmentName(id uint64) string { return fmt.Sprintf("%016x%s", id, segmentExt) }

// listSegments returns the ids of the segment files in dir, in order.
func listSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), segmentExt)
		if !ok || len(name) != 16 {
			continue
		}
		if id, err := strconv.ParseUint(name, 16, 64); err == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// openJournal opens the journal of a state directory whose committed end is end: segment
// files past it (written by a run that crashed before committing them) are removed, and
// the last committed one is cut at the committed offset.
func openJournal(stateDir string, end journalEnd) (*journal, error) {
	j := &journal{dir: filepath.Join(stateDir, journalDir), end: end, maxT: math.MinInt64, segSize: segmentSize}
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return nil, err
	}
	ids, err := listSegments(j.dir)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		p := filepath.Join(j.dir, segmentName(id))
		switch {
		case id > end.seg || end.seg == 0:
			if err := os.Remove(p); err != nil {
				return nil, err
			}
		case id == end.seg:
			if err := truncateTo(p, end.off); err != nil {
				return nil, err
			}
			fallthrough
		default:
			j.segs = append(j.segs, segment{id: id, maxT: math.MaxInt64})
		}
	}
	j.id = end.seg + 1
	return j, nil
}

// truncateTo cuts the file p at size, when it is longer, durably.
func truncateTo(p string, size int64) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() <= size {
		return err
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

// write appends the records of es to the segment being written (a new one when there is
// none or it is full) and syncs it; it returns where the journal then ends. Records that
// lie next to each other in memory are written at once.
func (j *journal) write(es []entry) (journalEnd, error) {
	if j.err != nil {
		return journalEnd{}, j.err
	}
	end, err := j.append(es)
	if err != nil {
		j.err = fmt.Errorf("journal: %w", err)
		return journalEnd{}, j.err
	}
	return end, nil
}

func (j *journal) append(es []entry) (journalEnd, error) {
	if j.f != nil && j.size >= j.segSize && j.end.seg == j.id {
		// Full, and all of it committed: the next records start a new segment.
		if err := j.f.Close(); err != nil {
			return journalEnd{}, err
		}
		j.f, j.id, j.size, j.maxT = nil, j.id+1, 0, math.MinInt64
	}
	if len(es) == 0 && j.f == nil {
		return journalEnd{seg: j.end.seg, off: j.end.off}, nil
	}
	if j.f == nil {
		f, err := os.OpenFile(filepath.Join(j.dir, segmentName(j.id)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return journalEnd{}, err
		}
		j.f = f
		if err := syncDir(j.dir); err != nil {
			return journalEnd{}, err
		}
	}
	for i := 0; i < len(es); {
		run := es[i].rec
		j.maxT = max(j.maxT, es[i].t)
		i++
		// Extend run over the records that follow it in the same chunk.
		for i < len(es) && len(run) < cap(run) && &run[:len(run)+1][len(run)] == &es[i].rec[0] {
			run = run[:len(run)+len(es[i].rec)]
			j.maxT = max(j.maxT, es[i].t)
			i++
		}
		if _, err := j.f.Write(run); err != nil {
			return journalEnd{}, err
		}
		j.size += int64(len(run))
	}
	if err := j.f.Sync(); err != nil {
		return journalEnd{}, err
	}
	return journalEnd{seg: j.id, off: j.size}, nil
}

// committed records that a checkpoint committed end, and removes the segments whose
// records are all before its cut.
func (j *journal) committed(end journalEnd) {
	if end.seg == j.id && (len(j.segs) == 0 || j.segs[len(j.segs)-1].id != j.id) {
		j.segs = append(j.segs, segment{id: j.id})
	}
	if n := len(j.segs); n > 0 && j.segs[n-1].id == j.id {
		j.segs[n-1].maxT = j.maxT
	}
	j.end = end
	keep := j.segs[:0]
	for _, s := range j.segs {
		if s.id < end.seg && s.maxT < end.cut {
			// Only the last checkpoint's cut matters: a removal that did not reach the disk
			// before a crash leaves records the next run skips.
			if err := os.Remove(filepath.Join(j.dir, segmentName(s.id))); err == nil || errors.Is(err, os.ErrNotExist) {
				continue
			}
		}
		keep = append(keep, s)
	}
	j.segs = keep
}

// close closes the segment being written.
func (j *journal) close() error {
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// scan reads the committed journal in arrival order and calls fn with each record whose
// event time is at or after the committed cut (doc valid during the call only); it
// records the newest event time of each segment.
func (j *journal) scan(fn func(e entry, doc []byte, src detect.EventSource) error) error {
	for i := range j.segs {
		s := &j.segs[i]
		limit := int64(-1)
		if s.id == j.end.seg {
			limit = j.end.off
		}
		maxT, err := scanSegment(filepath.Join(j.dir, segmentName(s.id)), limit, j.end.cut, fn)
		if err != nil {
			return fmt.Errorf("journal %s: %w", segmentName(s.id), err)
		}
		s.maxT = maxT
	}
	return nil
}

// scanSegment reads the records of one segment file up to limit bytes (-1: all of them).
func scanSegment(path string, limit, cut int64, fn func(e entry, doc []byte, src detect.EventSource) error) (int64, error) {
	maxT := int64(math.MinInt64)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return maxT, nil
	}
	if err != nil {
		return maxT, err
	}
	defer f.Close()
	var r io.Reader = f
	if limit >= 0 {
		r = io.LimitReader(f, limit)
	}
	br := bufio.NewReaderSize(r, 1<<20)
	var hdr [recHeader]byte
	var body []byte
	var off int64
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err == io.EOF {
				return maxT, nil
			}
			return maxT, fmt.Errorf("offset %d: record cut short", off)
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n < 16 || n > maxRecord {
			return maxT, fmt.Errorf("offset %d: malformed record", off)
		}
		body = slices.Grow(body[:0], int(n))[:n]
		if _, err := io.ReadFull(br, body); err != nil {
			return maxT, fmt.Errorf("offset %d: record cut short", off)
		}
		if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(hdr[4:]) {
			return maxT, fmt.Errorf("offset %d: checksum mismatch", off)
		}
		e, doc, src, err := decodeBody(body)
		if err != nil {
			return maxT, fmt.Errorf("offset %d: %w", off, err)
		}
		maxT = max(maxT, e.t)
		if e.t >= cut {
			if err := fn(e, doc, src); err != nil {
				return maxT, err
			}
		}
		off += recHeader + int64(n)
	}
}

// recordSize is the bytes of the record of an event.
func recordSize(doc []byte, src *detect.EventSource) int {
	n := recHeader + 16 + len(doc)
	for _, s := range [...]string{src.Name, src.Index, src.ID} {
		n += uvarintLen(uint64(len(s))) + len(s)
	}
	return n + uvarintLen(uint64(src.Line))
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// appendRecord appends the record of an event to b.
func appendRecord(b []byte, t int64, seq uint64, doc []byte, src *detect.EventSource) []byte {
	start := len(b)
	b = append(b, make([]byte, recHeader)...)
	b = binary.BigEndian.AppendUint64(b, uint64(t))
	b = binary.BigEndian.AppendUint64(b, seq)
	for _, s := range [...]string{src.Name, src.Index, src.ID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(src.Line))
	b = append(b, doc...)
	body := b[start+recHeader:]
	binary.BigEndian.PutUint32(b[start:], uint32(len(body)))
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(body, castagnoli))
	return b
}

var errEntry = errors.New("malformed journal record")

// decodeBody reads a record's body; doc points into body.
func decodeBody(body []byte) (entry, []byte, detect.EventSource, error) {
	if len(body) < 16 {
		return entry{}, nil, detect.EventSource{}, errEntry
	}
	e := entry{t: int64(binary.BigEndian.Uint64(body)), seq: binary.BigEndian.Uint64(body[8:])}
	v := body[16:]
	var strs [3]string
	for i := range strs {
		n, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < n {
			return entry{}, nil, detect.EventSource{}, errEntry
		}
		strs[i], v = string(v[w:w+int(n)]), v[w+int(n):]
	}
	line, w := binary.Uvarint(v)
	if w <= 0 {
		return entry{}, nil, detect.EventSource{}, errEntry
	}
	src := detect.EventSource{Name: strs[0], Index: strs[1], ID: strs[2], Line: int(line), Seq: e.seq}
	return e, v[w:], src, nil
}
