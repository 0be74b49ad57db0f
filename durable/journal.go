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
// transaction, where the journal ends (segment and offset), its first live segment, and
// the arrival number below which its records are no longer needed (the detector is done
// with them): bytes past that end (a crash between the two) are not part of the journal,
// and the next run cuts them off. Each run writes segments of its own, starting a new one
// from segmentSize bytes on; segments before the first live one, and those whose records
// are all below the cut, are removed once a checkpoint has committed that. A run over
// whole files journals, at its end, only the events its detector still holds, in a
// segment of their own that becomes the first live one.
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

// journalEnd is where the committed journal ends, its first live segment, and the
// arrival number below which its records are no longer needed (the cut of the checkpoint
// that committed it).
type journalEnd struct {
	seg   uint64
	off   int64
	start uint64
	cut   uint64
}

func (e journalEnd) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, e.seg)
	b = binary.BigEndian.AppendUint64(b, uint64(e.off))
	b = binary.BigEndian.AppendUint64(b, e.start)
	return binary.BigEndian.AppendUint64(b, e.cut)
}

func decodeJournalEnd(v []byte) (journalEnd, bool) {
	if len(v) != 32 {
		return journalEnd{}, false
	}
	return journalEnd{seg: binary.BigEndian.Uint64(v), off: int64(binary.BigEndian.Uint64(v[8:])),
		start: binary.BigEndian.Uint64(v[16:]), cut: binary.BigEndian.Uint64(v[24:])}, true
}

// segment is a segment file of the committed journal.
type segment struct {
	id     uint64
	maxSeq uint64 // the largest arrival number of its records; math.MaxUint64 until known (Replay reads it)
}

// journal writes and reads the segment files.
type journal struct {
	dir    string
	end    journalEnd // the committed end
	segs   []segment  // the segments up to end.seg, oldest first
	f      *os.File   // the segment being written (id end.seg once a checkpoint has committed it), or nil
	id     uint64     // its id
	size   int64      // its bytes written
	maxSeq uint64     // the largest arrival number written to it
	err    error      // a failed write: the journal takes no more
	// spills are the segments a batch run writes its events to as they come (see spill),
	// never committed: the checkpoint at its end journals some of them anew.
	spills []spillSeg
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
// files past it (written by a run that crashed before committing them) or before its first
// live segment (a crash before their removal) are removed, and the last committed one is
// cut at the committed offset.
func openJournal(stateDir string, end journalEnd) (*journal, error) {
	j := &journal{dir: filepath.Join(stateDir, journalDir), end: end, segSize: segmentSize}
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
		case id > end.seg || end.seg == 0 || id < end.start:
			if err := os.Remove(p); err != nil {
				return nil, err
			}
		case id == end.seg:
			if err := truncateTo(p, end.off); err != nil {
				return nil, err
			}
			fallthrough
		default:
			j.segs = append(j.segs, segment{id: id, maxSeq: math.MaxUint64})
		}
	}
	j.id = max(end.seg, end.start) + 1
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
// none or it is full) and syncs it; it returns where the journal then ends, and its first
// live segment: with fresh, the segment es goes to (a new one), as the journal is then es
// alone. Records that lie next to each other in memory are written at once.
func (j *journal) write(es []entry, fresh bool) (journalEnd, error) {
	if j.err != nil {
		return journalEnd{}, j.err
	}
	end, err := j.append(es, fresh)
	if err != nil {
		j.err = fmt.Errorf("journal: %w", err)
		return journalEnd{}, j.err
	}
	return end, nil
}

func (j *journal) append(es []entry, fresh bool) (journalEnd, error) {
	if j.f != nil && ((j.size >= j.segSize && j.end.seg == j.id) || fresh) {
		// Full, and all of it committed, or the journal starts again: the next records
		// start a new segment.
		if err := j.f.Close(); err != nil {
			return journalEnd{}, err
		}
		j.f, j.id, j.size, j.maxSeq = nil, j.id+1, 0, 0
	}
	start := j.end.start
	if fresh {
		start = j.id
	}
	if len(es) == 0 && j.f == nil {
		return journalEnd{seg: j.end.seg, off: j.end.off, start: start}, nil
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
		j.maxSeq = max(j.maxSeq, es[i].seq)
		i++
		// Extend run over the records that follow it in the same chunk.
		for i < len(es) && len(run) < cap(run) && &run[:len(run)+1][len(run)] == &es[i].rec[0] {
			run = run[:len(run)+len(es[i].rec)]
			j.maxSeq = max(j.maxSeq, es[i].seq)
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
	return journalEnd{seg: j.id, off: j.size, start: start}, nil
}

// committed records that a checkpoint committed end, and removes the segments before its
// first live one and those whose records are all below its cut.
func (j *journal) committed(end journalEnd) {
	if end.seg == j.id && (len(j.segs) == 0 || j.segs[len(j.segs)-1].id != j.id) {
		j.segs = append(j.segs, segment{id: j.id})
	}
	if n := len(j.segs); n > 0 && j.segs[n-1].id == j.id {
		j.segs[n-1].maxSeq = j.maxSeq
	}
	j.end = end
	j.removeSpills()
	keep := j.segs[:0]
	for _, s := range j.segs {
		if s.id < end.start || (s.id < end.seg && s.maxSeq < end.cut) {
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

// spillSeg is a segment a batch run spilled events to: its file while it is written, its
// size, and the newest event time of its records.
type spillSeg struct {
	id   uint64
	f    *os.File
	size int64
	maxT int64
}

// spill writes the records of es to the batch run's spill segments (a new one from
// segSize bytes on), unsynced and uncommitted: a crash leaves segments past the committed
// end, which the next run removes. Spill segments whose records are all older than
// before are removed.
func (j *journal) spill(es []entry, before int64) error {
	if j.err != nil {
		return j.err
	}
	if err := j.spillTo(es, before); err != nil {
		j.err = fmt.Errorf("journal: %w", err)
		return j.err
	}
	return nil
}

func (j *journal) spillTo(es []entry, before int64) error {
	keep := j.spills[:0]
	for _, sp := range j.spills {
		if sp.f == nil && sp.maxT < before {
			if err := os.Remove(filepath.Join(j.dir, segmentName(sp.id))); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			continue
		}
		keep = append(keep, sp)
	}
	j.spills = keep
	for i := 0; i < len(es); {
		n := len(j.spills)
		if n == 0 || j.spills[n-1].f == nil || j.spills[n-1].size >= j.segSize {
			if n > 0 && j.spills[n-1].f != nil {
				if err := j.spills[n-1].f.Close(); err != nil {
					return err
				}
				j.spills[n-1].f = nil
			}
			f, err := os.OpenFile(filepath.Join(j.dir, segmentName(j.id)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			j.spills = append(j.spills, spillSeg{id: j.id, f: f, maxT: math.MinInt64})
			j.id++
			n++
		}
		sp := &j.spills[n-1]
		// The records that follow in one chunk of memory go in one write, up to segSize.
		run := es[i].rec
		sp.maxT = max(sp.maxT, es[i].t)
		for i++; i < len(es) && len(run) < cap(run) && &run[:len(run)+1][len(run)] == &es[i].rec[0] &&
			sp.size+int64(len(run)) < j.segSize; i++ {
			run = run[:len(run)+len(es[i].rec)]
			sp.maxT = max(sp.maxT, es[i].t)
		}
		if _, err := sp.f.Write(run); err != nil {
			return err
		}
		sp.size += int64(len(run))
	}
	return nil
}

// scanSpills calls fn with the records of the spill segments, in arrival order, whose
// event time is at or after from.
func (j *journal) scanSpills(from int64, fn func(e entry, doc []byte, src detect.EventSource) error) error {
	for i := range j.spills {
		sp := &j.spills[i]
		if sp.f != nil {
			if err := sp.f.Close(); err != nil {
				return err
			}
			sp.f = nil
		}
		if sp.maxT < from {
			continue
		}
		_, err := scanSegment(filepath.Join(j.dir, segmentName(sp.id)), -1, 0, func(e entry, doc []byte, src detect.EventSource) error {
			if e.t < from {
				return nil
			}
			return fn(e, doc, src)
		})
		if err != nil {
			return fmt.Errorf("journal %s: %w", segmentName(sp.id), err)
		}
	}
	return nil
}

// removeSpills removes the spill segments.
func (j *journal) removeSpills() {
	for _, sp := range j.spills {
		if sp.f != nil {
			sp.f.Close()
		}
		os.Remove(filepath.Join(j.dir, segmentName(sp.id)))
	}
	j.spills = nil
}

// close closes the segment being written and removes the spill segments.
func (j *journal) close() error {
	j.removeSpills()
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

// scan reads the committed journal in arrival order and calls fn with each record of its
// live segments whose arrival number is at or above the committed cut (doc valid during
// the call only); it records the largest arrival number of each segment.
func (j *journal) scan(fn func(e entry, doc []byte, src detect.EventSource) error) error {
	for i := range j.segs {
		s := &j.segs[i]
		if s.id < j.end.start || s.id > j.end.seg {
			continue
		}
		limit := int64(-1)
		if s.id == j.end.seg {
			limit = j.end.off
		}
		maxSeq, err := scanSegment(filepath.Join(j.dir, segmentName(s.id)), limit, j.end.cut, fn)
		if err != nil {
			return fmt.Errorf("journal %s: %w", segmentName(s.id), err)
		}
		s.maxSeq = maxSeq
	}
	return nil
}

// scanSegment reads the records of one segment file up to limit bytes (-1: all of them)
// and returns the largest arrival number among them.
func scanSegment(path string, limit int64, cut uint64, fn func(e entry, doc []byte, src detect.EventSource) error) (uint64, error) {
	var maxSeq uint64
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return maxSeq, nil
	}
	if err != nil {
		return maxSeq, err
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
				return maxSeq, nil
			}
			return maxSeq, fmt.Errorf("offset %d: record cut short", off)
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n < 16 || n > maxRecord {
			return maxSeq, fmt.Errorf("offset %d: malformed record", off)
		}
		body = slices.Grow(body[:0], int(n))[:n]
		if _, err := io.ReadFull(br, body); err != nil {
			return maxSeq, fmt.Errorf("offset %d: record cut short", off)
		}
		if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(hdr[4:]) {
			return maxSeq, fmt.Errorf("offset %d: checksum mismatch", off)
		}
		e, doc, src, err := decodeBody(body)
		if err != nil {
			return maxSeq, fmt.Errorf("offset %d: %w", off, err)
		}
		maxSeq = max(maxSeq, e.seq)
		if e.seq >= cut {
			if err := fn(e, doc, src); err != nil {
				return maxSeq, err
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
