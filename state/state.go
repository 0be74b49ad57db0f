package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// Format is the version of the layout of keys and values this package and its users
// write; a directory of another format is refused. Format 2 keeps the journal of recent
// events in files of its own (package durable) instead of the store; format 3 cuts the
// journal, and numbers the ids of the alerts written, by arrival number.
const Format = 3

// Meta identifies what made a state directory.
type Meta struct {
	// Format is the layout version (Format).
	Format int `json:"format"`
	// Tripline is the version of the program that created the directory.
	Tripline string `json:"tripline"`
	// Fingerprint is a hash of the rule set (see Fingerprint); Rules is how many rules.
	Fingerprint string `json:"fingerprint"`
	Rules       int    `json:"rules"`
}

// MismatchError is Open's error for a directory made by another rule set or format.
type MismatchError struct {
	Dir        string
	Have, Want Meta
}

func (e *MismatchError) Error() string {
	what := "another rule set"
	if e.Have.Format != e.Want.Format {
		what = fmt.Sprintf("state format %d (this Tripline writes format %d)", e.Have.Format, e.Want.Format)
	}
	return fmt.Sprintf("state directory %s was made by %s (fingerprint %s, %d rules, Tripline %s; these rules: fingerprint %s, %d rules): its state cannot be used with these rules; use another --state-dir, or clear it with 'tripline state reset %s'",
		e.Dir, what, e.Have.Fingerprint, e.Have.Rules, e.Have.Tripline, e.Want.Fingerprint, e.Want.Rules, e.Dir)
}

// metaKey holds the Meta (JSON) in the namespace "" .
var metaKey = []byte("\x00meta")

// Store is an open state directory. Its methods are safe for concurrent use.
type Store struct {
	dir  string
	db   *pebble.DB
	meta Meta
}

// Open opens (creating it when needed) the state directory dir for the rule set want
// describes. A directory made for another format or rule set is refused with a
// *MismatchError; one in use by another process is refused too.
func Open(dir string, want Meta) (*Store, error) {
	s, err := open(dir, false)
	if err != nil {
		return nil, err
	}
	have, ok, err := s.readMeta()
	if err != nil {
		s.Close()
		return nil, err
	}
	if ok && (have.Format != want.Format || have.Fingerprint != want.Fingerprint) {
		s.Close()
		return nil, &MismatchError{Dir: dir, Have: have, Want: want}
	}
	if !ok || have != want {
		b, _ := json.Marshal(want)
		if err := s.db.Set(metaKey, b, pebble.Sync); err != nil {
			s.Close()
			return nil, fmt.Errorf("state directory %s: %w", dir, err)
		}
	}
	s.meta = want
	return s, nil
}

// OpenExisting opens a state directory that must exist, whatever made it (for inspecting it).
func OpenExisting(dir string) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, "LOCK")); err != nil {
		return nil, fmt.Errorf("%s is not a state directory (no state was written there)", dir)
	}
	s, err := open(dir, false)
	if err != nil {
		return nil, err
	}
	m, ok, err := s.readMeta()
	if err != nil || !ok {
		s.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a state directory (no metadata)", dir)
		}
		return nil, err
	}
	s.meta = m
	return s, nil
}

func open(dir string, readOnly bool) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	db, err := pebble.Open(dir, &pebble.Options{ReadOnly: readOnly, Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	return &Store{dir: dir, db: db}, nil
}

func (s *Store) readMeta() (Meta, bool, error) {
	v, c, err := s.db.Get(metaKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return Meta{}, false, nil
	}
	if err != nil {
		return Meta{}, false, err
	}
	defer c.Close()
	var m Meta
	if err := json.Unmarshal(v, &m); err != nil {
		return Meta{}, false, fmt.Errorf("state directory %s: metadata: %w", s.dir, err)
	}
	return m, true, nil
}

// Meta returns what made the directory.
func (s *Store) Meta() Meta { return s.meta }

// Dir returns the directory.
func (s *Store) Dir() string { return s.dir }

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Reset removes the state kept in dir (a state directory, or nothing).
func Reset(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "LOCK")); err != nil {
		if _, err := os.Stat(dir); err != nil {
			return fmt.Errorf("%s: no such directory", dir)
		}
		return fmt.Errorf("%s is not a state directory (no state was written there); nothing removed", dir)
	}
	// Open first: a directory in use by a running Tripline is locked.
	s, err := open(dir, false)
	if err != nil {
		return err
	}
	s.Close()
	return os.RemoveAll(dir)
}

// key returns the key of k in namespace ns: ns, a 0 byte, k.
func key(ns string, k []byte) []byte {
	b := make([]byte, 0, len(ns)+1+len(k))
	b = append(append(append(b, ns...), 0), k...)
	return b
}

// nsEnd is the first key after namespace ns.
func nsEnd(ns string) []byte { return append([]byte(ns), 1) }

// Get returns a copy of the value of k in ns; ok is false when it has none.
func (s *Store) Get(ns string, k []byte) (v []byte, ok bool, err error) {
	val, c, err := s.db.Get(key(ns, k))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v = bytes.Clone(val)
	c.Close()
	return v, true, nil
}

// Scan calls fn for each key of ns in [lo, hi) in key order (hi nil: to the namespace's
// end); k and v are valid during the call only.
func (s *Store) Scan(ns string, lo, hi []byte, fn func(k, v []byte) error) error {
	upper := nsEnd(ns)
	if hi != nil {
		upper = key(ns, hi)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: key(ns, lo), UpperBound: upper})
	if err != nil {
		return err
	}
	p := len(ns) + 1
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		if err := fn(it.Key()[p:], v); err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

// NamespaceStats are the keys and bytes (keys and values, before compression) of a namespace.
type NamespaceStats struct {
	Namespace string
	Keys      int64
	Bytes     int64
}

// Stats returns the namespaces, in order, with their keys and bytes.
func (s *Store) Stats() ([]NamespaceStats, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return nil, err
	}
	byNS := map[string]*NamespaceStats{}
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if bytes.Equal(k, metaKey) {
			continue
		}
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			continue
		}
		ns := string(k[:i])
		st := byNS[ns]
		if st == nil {
			st = &NamespaceStats{Namespace: ns}
			byNS[ns] = st
		}
		st.Keys++
		st.Bytes += int64(len(k) + len(it.Value()))
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	out := make([]NamespaceStats, 0, len(byNS))
	for _, st := range byNS {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out, nil
}

// DiskSize returns the bytes of the directory's files.
func (s *Store) DiskSize() int64 {
	m := s.db.Metrics()
	return int64(m.DiskSpaceUsage())
}

// Batch is a set of writes that Commit applies at once. Its methods are safe for
// concurrent use.
type Batch struct {
	mu sync.Mutex
	b  *pebble.Batch
	n  int
}

// NewBatch returns an empty batch.
func (s *Store) NewBatch() *Batch { return &Batch{b: s.db.NewBatch()} }

// Put sets k to v in ns (both copied).
func (b *Batch) Put(ns string, k, v []byte) {
	b.mu.Lock()
	b.b.Set(key(ns, k), v, nil)
	b.n++
	b.mu.Unlock()
}

// Delete removes k from ns.
func (b *Batch) Delete(ns string, k []byte) {
	b.mu.Lock()
	b.b.Delete(key(ns, k), nil)
	b.n++
	b.mu.Unlock()
}

// DeleteRange removes the keys of ns in [lo, hi) (hi nil: to the namespace's end).
func (b *Batch) DeleteRange(ns string, lo, hi []byte) {
	upper := nsEnd(ns)
	if hi != nil {
		upper = key(ns, hi)
	}
	b.mu.Lock()
	b.b.DeleteRange(key(ns, lo), upper, nil)
	b.n++
	b.mu.Unlock()
}

// Len is the number of writes in the batch.
func (b *Batch) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// Commit applies the batch's writes in one durable transaction (synced to disk) and
// empties it.
func (s *Store) Commit(b *Batch) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == 0 {
		return nil
	}
	if err := b.b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("state directory %s: %w", s.dir, err)
	}
	b.b.Close()
	b.b, b.n = s.db.NewBatch(), 0
	return nil
}

// RuleNamespace is the namespace of a rule's state of one kind ("threshold", "new_terms").
func RuleNamespace(uuid, kind string) string { return "rule/" + uuid + "/" + kind }

// quietLogger drops Pebble's informational messages.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
