package stream

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"runtime"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/twmb/franz-go/pkg/kgo"
)

var changelogKeys = flag.Int("changelog-keys", 50_000, "keys in BenchmarkChangelogRestore's partition")

// fillChangelog checkpoints n new-terms keys (a host and user pair, 8-byte times) into
// partition 0, 10,000 per checkpoint.
func fillChangelog(b *testing.B, cl *kgo.Client, n int) {
	s, _ := openStore(b, cl, 0)
	ns := "rule/00000000-0000-4000-8000-000000000001/new_terms"
	for i := range n {
		s.Put(ns, fmt.Appendf(nil, "t/host-%07d\x00user-%05d", i, i%50_000), binary.BigEndian.AppendUint64(nil, uint64(i)))
		if (i+1)%10_000 == 0 || i == n-1 {
			if err := s.Checkpoint(context.Background(), []byte(fmt.Sprint(i))); err != nil {
				b.Fatal(err)
			}
		}
	}
	s.Close()
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkChangelogRestore restores a partition of -changelog-keys keys into the store's
// cache in memory, and, for comparison, into a Pebble database in a local directory (as
// Kafka Streams restores into RocksDB): keys/s and the heap (memory) or disk (Pebble)
// bytes per key the restored state holds.
func BenchmarkChangelogRestore(b *testing.B) {
	n := *changelogKeys
	_, cl := changelogCluster(b, 1)
	fillChangelog(b, cl, n)
	ctx := context.Background()
	b.Run("cache=memory", func(b *testing.B) {
		var held uint64
		for b.Loop() {
			before := heapInUse()
			s, err := NewChangelogStore(cl, testChangelog, 0)
			if err != nil {
				b.Fatal(err)
			}
			st, err := s.Restore(ctx)
			if err != nil || st.Keys != n {
				b.Fatalf("restored %d keys, want %d: %v", st.Keys, n, err)
			}
			held = heapInUse() - before
			s.Close()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
		b.ReportMetric(float64(held)/float64(n), "heapB/key")
	})
	b.Run("cache=pebble", func(b *testing.B) {
		var disk, held uint64
		for b.Loop() {
			before := heapInUse()
			db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: quietPebble{}})
			if err != nil {
				b.Fatal(err)
			}
			s, err := NewChangelogStore(cl, testChangelog, 0)
			if err != nil {
				b.Fatal(err)
			}
			start, end, err := s.bounds(ctx)
			if err != nil {
				b.Fatal(err)
			}
			batch, keys := db.NewBatch(), 0
			err = s.read(ctx, start, end, func(r *kgo.Record) error {
				if r.Value == nil {
					batch.Delete(r.Key, nil)
				} else {
					batch.Set(r.Key, r.Value, nil)
					if r.Key[0] != markerKey[0] {
						keys++
					}
				}
				if batch.Count() >= 10_000 {
					if err := batch.Commit(pebble.NoSync); err != nil {
						return err
					}
					batch = db.NewBatch()
				}
				return nil
			})
			if err == nil {
				err = batch.Commit(pebble.NoSync)
			}
			if err == nil {
				err = db.Flush()
			}
			if err != nil || keys != n {
				b.Fatalf("restored %d keys, want %d: %v", keys, n, err)
			}
			held = heapInUse() - before
			disk = db.Metrics().DiskSpaceUsage()
			s.Close()
			db.Close()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
		b.ReportMetric(float64(held)/float64(n), "heapB/key")
		b.ReportMetric(float64(disk)/float64(n), "diskB/key")
	})
}

// BenchmarkChangelogCheckpoint checkpoints 256 changed keys of 400-byte values (the
// state directory's benchmark figure) to kfake: entries/s.
func BenchmarkChangelogCheckpoint(b *testing.B) {
	_, cl := changelogCluster(b, 1)
	s, _ := openStore(b, cl, 0)
	v := make([]byte, 400)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		for range 256 {
			s.Put("journal", fmt.Appendf(nil, "%016d", i), v)
			i++
		}
		if err := s.Checkpoint(ctx, fmt.Append(nil, i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "entries/s")
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
