// Command storebench compares bbolt and Pebble on the workload of Tripline's state
// directory (see ../doc.go): checkpoints that write a batch of small keys in one
// transaction, point reads, range deletes by time, and 1M new-terms keys.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/cockroachdb/pebble/v2"
	bolt "go.etcd.io/bbolt"
)

type kv interface {
	batch(keys, vals [][]byte) error // one durable transaction
	get(k []byte) ([]byte, error)
	delRange(lo, hi []byte) error
	close() error
}

type boltKV struct{ db *bolt.DB }

var bucket = []byte("b")

func openBolt(dir string) (kv, error) {
	db, err := bolt.Open(filepath.Join(dir, "state.db"), 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err })
	return &boltKV{db}, err
}
func (s *boltKV) batch(keys, vals [][]byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for i := range keys {
			if err := b.Put(keys[i], vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
}
func (s *boltKV) get(k []byte) (v []byte, err error) {
	err = s.db.View(func(tx *bolt.Tx) error { v = tx.Bucket(bucket).Get(k); return nil })
	return
}
func (s *boltKV) delRange(lo, hi []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		for k, _ := c.Seek(lo); k != nil && string(k) < string(hi); k, _ = c.Seek(lo) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}
func (s *boltKV) close() error { return s.db.Close() }

type pebbleKV struct{ db *pebble.DB }

func openPebble(dir string) (kv, error) {
	db, err := pebble.Open(dir, &pebble.Options{})
	return &pebbleKV{db}, err
}
func (s *pebbleKV) batch(keys, vals [][]byte) error {
	b := s.db.NewBatch()
	for i := range keys {
		b.Set(keys[i], vals[i], nil)
	}
	return b.Commit(pebble.Sync)
}
func (s *pebbleKV) get(k []byte) ([]byte, error) {
	v, c, err := s.db.Get(k)
	if err == pebble.ErrNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), v...)
	c.Close()
	return out, nil
}
func (s *pebbleKV) delRange(lo, hi []byte) error { return s.db.DeleteRange(lo, hi, pebble.Sync) }
func (s *pebbleKV) close() error                 { return s.db.Close() }

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// termKey is a new-terms key: namespace (rule uuid + kind) then the term.
func termKey(i int) []byte {
	return fmt.Appendf(nil, "n/02275e05-57a1-46ab-a443-7fb444da6b28/nt/s%s-host-%08d", "user", i)
}

// journalKey is a journal entry's key: time (ns, big-endian) then arrival number.
func journalKey(t int64, seq uint64) []byte {
	k := append([]byte("j/"), make([]byte, 16)...)
	binary.BigEndian.PutUint64(k[2:], uint64(t))
	binary.BigEndian.PutUint64(k[10:], seq)
	return k
}

func run(name string, open func(string) (kv, error), terms int) {
	dir, _ := os.MkdirTemp("", "storebench-"+name)
	defer os.RemoveAll(dir)
	h0 := heap()
	s, err := open(dir)
	if err != nil {
		panic(err)
	}
	// 1. Checkpoints: batches of 256 journal entries of 400 bytes (an event document).
	doc := make([]byte, 400)
	for i := range doc {
		doc[i] = byte('a' + i%26)
	}
	const ckpts, per = 400, 256
	keys, vals := make([][]byte, per), make([][]byte, per)
	t0 := time.Now()
	seq := uint64(0)
	for c := 0; c < ckpts; c++ {
		for i := 0; i < per; i++ {
			seq++
			keys[i], vals[i] = journalKey(int64(seq)*1e6, seq), doc
		}
		if err := s.batch(keys, vals); err != nil {
			panic(err)
		}
	}
	d := time.Since(t0)
	fmt.Printf("%-7s checkpoints: %d of %d events (400 B): %.0f events/s, %.2f ms per checkpoint\n", name, ckpts, per, float64(ckpts*per)/d.Seconds(), d.Seconds()*1000/ckpts)
	// 2. Range delete by time: the older half of the journal.
	t0 = time.Now()
	if err := s.delRange(journalKey(0, 0), journalKey(int64(ckpts*per/2)*1e6, 0)); err != nil {
		panic(err)
	}
	fmt.Printf("%-7s range delete of %d journal entries: %v\n", name, ckpts*per/2, time.Since(t0).Round(time.Microsecond))
	// 3. 1M new-terms keys, written at checkpoints of 10,000.
	const tb = 10000
	keys, vals = make([][]byte, tb), make([][]byte, tb)
	t0 = time.Now()
	for i := 0; i < terms; i += tb {
		for j := 0; j < tb; j++ {
			keys[j] = termKey(i + j)
			vals[j] = binary.BigEndian.AppendUint64(nil, uint64(i+j))
		}
		if err := s.batch(keys, vals); err != nil {
			panic(err)
		}
	}
	d = time.Since(t0)
	fmt.Printf("%-7s %d terms written: %.0f terms/s\n", name, terms, float64(terms)/d.Seconds())
	// 4. Point reads, random, of existing terms.
	const reads = 200000
	t0 = time.Now()
	for i := 0; i < reads; i++ {
		v, err := s.get(termKey(rand.IntN(terms)))
		if err != nil || v == nil {
			panic(fmt.Sprint("missing term ", err))
		}
	}
	d = time.Since(t0)
	fmt.Printf("%-7s point reads: %.0f reads/s\n", name, reads/d.Seconds())
	hOpen := heap()
	if err := s.close(); err != nil {
		panic(err)
	}
	size := dirSize(dir)
	fmt.Printf("%-7s on disk: %d bytes for %d terms and %d journal entries: %.1f bytes per term (journal at 400 B each left out); Go heap held while open: %d bytes (%.1f bytes per term)\n",
		name, size, terms, ckpts*per/2, float64(size-int64(ckpts*per/2*420))/float64(terms), hOpen-h0, float64(hOpen-h0)/float64(terms))
}

func main() {
	terms := flag.Int("terms", 1000000, "new-terms keys")
	which := flag.String("store", "both", "bolt, pebble or both")
	flag.Parse()
	debug.SetGCPercent(100)
	if *which != "pebble" {
		run("bbolt", openBolt, *terms)
	}
	if *which != "bolt" {
		run("pebble", openPebble, *terms)
	}
}
