package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const testChangelog = "g-changelog"

// changelogCluster starts an in-process Kafka with the changelog topic (parts partitions,
// made by EnsureChangelogTopic) and returns it with a client of a consumer group of the
// events topic, as the repartitioning side holds one: the stores are made from it.
func changelogCluster(t testing.TB, parts int32) (*kfake.Cluster, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, testTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics(testTopic),
		kgo.DisableIdempotentWrite(), kgo.RequiredAcks(kgo.LeaderAck()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if err := EnsureChangelogTopic(context.Background(), cl, testChangelog, parts); err != nil {
		t.Fatal(err)
	}
	return c, cl
}

// openStore makes and restores the store of partition p.
func openStore(t testing.TB, cl *kgo.Client, p int32) (*ChangelogStore, ChangelogStats) {
	t.Helper()
	s, err := NewChangelogStore(cl, testChangelog, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	st, err := s.Restore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

// contents returns what a store's cache holds, as "ns|key" → value.
func contents(t *testing.T, s *ChangelogStore) map[string]string {
	t.Helper()
	out := map[string]string{}
	s.mu.Lock()
	nss := slices.Collect(maps.Keys(s.cache))
	s.mu.Unlock()
	for _, ns := range nss {
		var prev []byte
		err := s.Scan(ns, nil, nil, func(k, v []byte) error {
			if prev != nil && bytes.Compare(prev, k) >= 0 {
				t.Errorf("Scan(%q): %q after %q", ns, k, prev)
			}
			prev = bytes.Clone(k)
			out[ns+"|"+string(k)] = string(v)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestChangelogKey(t *testing.T) {
	long := strings.Repeat("n", 300) // a length of two uvarint bytes
	pairs := [][2]string{
		{"", ""}, {"", "k"}, {"a", "bc"}, {"ab", "c"}, {"abc", ""},
		{"a\x00", "b"}, {"a", "\x00b"}, {"\xff", ""}, {"rule/x/threshold", "e/\x00\x01"},
		{long, "k"}, {long[:299], "nk"},
	}
	seen := map[string][2]string{}
	for _, p := range pairs {
		b := encodeChangelogKey(p[0], p[1])
		if q, dup := seen[string(b)]; dup {
			t.Errorf("%q and %q make the same key %q", p, q, b)
		}
		seen[string(b)] = p
		ns, k, err := decodeChangelogKey(b)
		if err != nil || ns != p[0] || k != p[1] {
			t.Errorf("decode(encode(%q)) = %q, %q, %v", p, ns, k, err)
		}
		if bytes.Equal(b, markerKey) {
			t.Errorf("%q encodes as the marker key", p)
		}
	}
	// Within a namespace, keys keep their order.
	for _, ks := range [][2]string{{"a", "b"}, {"", "\x00"}, {"e/\x00\xff", "e/\x01"}} {
		if bytes.Compare(encodeChangelogKey("ns", ks[0]), encodeChangelogKey("ns", ks[1])) >= 0 {
			t.Errorf("key %q does not sort before %q", ks[0], ks[1])
		}
	}
	for _, bad := range [][]byte{markerKey, {}, {5, 'a'}, {0x80}} {
		if _, _, err := decodeChangelogKey(bad); err == nil {
			t.Errorf("decode(%q): no error", bad)
		}
	}
}

// A step acts on the store of partition 0: "put NS K V", "del NS K", "range NS LO HI"
// (HI "-": to the namespace's end), "ck" (checkpoint; "ck MARK" with a mark), "crash"
// (the store is dropped without a checkpoint and a new one restored), "restore" (a new
// store restores what the last one checkpointed).
func TestChangelogRoundTrips(t *testing.T) {
	tests := []struct {
		name  string
		steps []string
		want  map[string]string // after a last checkpoint and a restore by a new store
		mark  string
	}{
		{"put", []string{"put a k1 v1", "put b k1 w1", "ck"}, map[string]string{"a|k1": "v1", "b|k1": "w1"}, ""},
		{"overwrite", []string{"put a k v1", "ck", "put a k v2", "ck", "put a k v3"}, map[string]string{"a|k": "v3"}, ""},
		{"empty value is not a tombstone", []string{"put a k ", "ck"}, map[string]string{"a|k": ""}, ""},
		{"delete in the same checkpoint", []string{"put a k v", "del a k", "ck"}, map[string]string{}, ""},
		{"delete later", []string{"put a k v", "put a j v", "ck", "del a k", "ck"}, map[string]string{"a|j": "v"}, ""},
		{"delete of a missing key", []string{"del a k", "ck", "restore"}, map[string]string{}, ""},
		{"range", []string{"put a e1 1", "put a e2 2", "put a e3 3", "put a f1 4", "put b e2 5", "ck", "range a e2 f"},
			map[string]string{"a|e1": "1", "a|f1": "4", "b|e2": "5"}, ""},
		{"range to the end", []string{"put a e1 1", "put a e2 2", "put b e3 3", "ck", "range a e2 -"},
			map[string]string{"a|e1": "1", "b|e3": "3"}, ""},
		{"range over buffered puts", []string{"put a e1 1", "ck", "put a e2 2", "put a e3 3", "range a e1 e3"},
			map[string]string{"a|e3": "3"}, ""},
		{"put after range", []string{"put a e1 1", "put a e2 2", "ck", "range a e -", "put a e2 two"},
			map[string]string{"a|e2": "two"}, ""},
		{"namespaces that share a prefix", []string{"put ab c 1", "put a bc 2", "ck", "range a - -"},
			map[string]string{"ab|c": "1"}, ""},
		{"crash loses what was not checkpointed", []string{"put a k v1", "put a j v", "ck", "put a k v2", "del a j", "put a x y", "crash"},
			map[string]string{"a|k": "v1", "a|j": "v"}, ""},
		{"crash then more", []string{"put a k v1", "ck", "put a k v2", "crash", "put a k v3", "put a z z", "ck", "crash"},
			map[string]string{"a|k": "v3", "a|z": "z"}, ""},
		{"mark", []string{"put a k v", "ck 17", "put a k w", "ck 42", "put a k x", "crash"}, map[string]string{"a|k": "w"}, "42"},
		{"mark without changes", []string{"put a k v", "ck 1", "ck 2"}, map[string]string{"a|k": "v"}, "2"},
		{"restore twice", []string{"put a k v", "ck", "restore", "restore", "put a j w"}, map[string]string{"a|k": "v", "a|j": "w"}, ""},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, cl := changelogCluster(t, 1)
			s, _ := openStore(t, cl, 0)
			var mark []byte
			for _, step := range tc.steps {
				f := strings.Split(step, " ")
				switch f[0] {
				case "put":
					s.Put(f[1], []byte(f[2]), []byte(f[3]))
				case "del":
					s.Delete(f[1], []byte(f[2]))
				case "range":
					var lo, hi []byte
					if f[2] != "-" {
						lo = []byte(f[2])
					}
					if f[3] != "-" {
						hi = []byte(f[3])
					}
					s.DeleteRange(f[1], lo, hi)
				case "ck":
					if len(f) > 1 {
						mark = []byte(f[1])
					}
					if err := s.Checkpoint(ctx, mark); err != nil {
						t.Fatal(err)
					}
				case "crash", "restore":
					if f[0] == "restore" && s.Pending() > 0 {
						t.Fatalf("restore with %d changes pending", s.Pending())
					}
					s.Close()
					s, _ = openStore(t, cl, 0)
				default:
					t.Fatalf("bad step %q", step)
				}
			}
			if err := s.Checkpoint(ctx, mark); err != nil {
				t.Fatal(err)
			}
			before := contents(t, s)
			if !maps.Equal(before, tc.want) {
				t.Errorf("store: %v, want %v", before, tc.want)
			}
			s.Close()
			r, _ := openStore(t, cl, 0)
			if got := contents(t, r); !maps.Equal(got, tc.want) {
				t.Errorf("restored: %v, want %v", got, tc.want)
			}
			if got := string(r.Mark()); got != tc.mark {
				t.Errorf("restored mark %q, want %q", got, tc.mark)
			}
		})
	}
}

// TestChangelogPartitionsApart checks that the stores of two partitions do not see each
// other's state.
func TestChangelogPartitionsApart(t *testing.T) {
	_, cl := changelogCluster(t, 3)
	ctx := context.Background()
	for p := range int32(3) {
		s, _ := openStore(t, cl, p)
		s.Put("ns", []byte("k"), []byte(fmt.Sprint(p)))
		s.Put("ns", []byte(fmt.Sprint("only", p)), []byte("x"))
		if err := s.Checkpoint(ctx, []byte{byte(p)}); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	for p := range int32(3) {
		s, st := openStore(t, cl, p)
		want := map[string]string{"ns|k": fmt.Sprint(p), fmt.Sprint("ns|only", p): "x"}
		if got := contents(t, s); !maps.Equal(got, want) || !bytes.Equal(s.Mark(), []byte{byte(p)}) {
			t.Errorf("partition %d: %v mark %v, want %v mark %v", p, got, s.Mark(), want, []byte{byte(p)})
		}
		if st.Records != 3 || st.Keys != 2 || st.Checkpoints != 1 {
			t.Errorf("partition %d: restore stats %+v", p, st)
		}
	}
}

// TestChangelogSecondStoreEqual runs random changes with checkpoints through a store; a
// second store that restores the partition holds exactly what the first holds.
func TestChangelogSecondStoreEqual(t *testing.T) {
	_, cl := changelogCluster(t, 2)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	a, _ := openStore(t, cl, 1)
	model := map[string]string{}
	nss := []string{"rule/1/threshold", "rule/2/new_terms", "journal"}
	ranges := 0
	for round := range 40 {
		for range 50 {
			ns := nss[rng.IntN(len(nss))]
			k := fmt.Sprintf("k%03d", rng.IntN(200))
			switch x := rng.IntN(20); {
			case x < 14:
				v := fmt.Sprint(round, "-", rng.Int())
				a.Put(ns, []byte(k), []byte(v))
				model[ns+"|"+k] = v
			case x < 19:
				a.Delete(ns, []byte(k))
				delete(model, ns+"|"+k)
			default:
				hi := fmt.Sprintf("k%03d", rng.IntN(200))
				a.DeleteRange(ns, []byte(k), []byte(hi))
				for mk := range model {
					if key, ok := strings.CutPrefix(mk, ns+"|"); ok && key >= k && key < hi {
						delete(model, mk)
					}
				}
				ranges++
			}
		}
		if err := a.Checkpoint(ctx, []byte(fmt.Sprint(round))); err != nil {
			t.Fatal(err)
		}
	}
	first := contents(t, a)
	if !maps.Equal(first, model) {
		t.Fatalf("the store holds %d keys, the model %d", len(first), len(model))
	}
	b, st := openStore(t, cl, 1)
	if got := contents(t, b); !maps.Equal(got, first) {
		t.Errorf("second store: %d keys differ from the first's %d", len(got), len(first))
	}
	if st.Checkpoints != 40 || string(b.Mark()) != "39" || ranges == 0 || len(first) < 100 {
		t.Errorf("stats %+v, mark %q, %d range deletes, %d keys", st, b.Mark(), ranges, len(first))
	}
}

// TestChangelogFencing: a store that restores the partition fences the one that had it.
// A checkpoint cut off before its commit (its process died) is aborted, not restored, and
// the old store's next checkpoint fails instead of writing over the new one's state.
func TestChangelogFencing(t *testing.T) {
	_, cl := changelogCluster(t, 1)
	ctx := context.Background()
	a, _ := openStore(t, cl, 0)
	a.Put("ns", []byte("k"), []byte("1"))
	if err := a.Checkpoint(ctx, []byte("m1")); err != nil {
		t.Fatal(err)
	}
	// A checkpoint's records reach the broker, and the process dies before the commit.
	if err := a.prod.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	cut := []*kgo.Record{{Key: encodeChangelogKey("ns", "k"), Value: []byte("2")}, {Key: encodeChangelogKey("ns", "j"), Value: []byte("x")}}
	if err := a.prod.ProduceSync(ctx, cut...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The next owner does not see the cut checkpoint (its restore aborted it), and a
	// process that has not noticed it lost the partition cannot commit it.
	z, _ := openStore(t, cl, 0)
	if got, want := contents(t, z), map[string]string{"ns|k": "1"}; !maps.Equal(got, want) || string(z.Mark()) != "m1" {
		t.Errorf("restored %v mark %q, want %v mark m1", got, z.Mark(), want)
	}
	fenced := func(err error) bool {
		return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch)
	}
	// (kfake says INVALID_TXN_STATE, Kafka PRODUCER_FENCED: either way, refused.)
	if err := a.prod.EndTransaction(ctx, kgo.TryCommit); err == nil {
		t.Errorf("commit of the cut checkpoint: no error")
	}
	// The same for a store that restored, and lost the partition to another.
	b, _ := openStore(t, cl, 0)
	z.Put("ns", []byte("k"), []byte("stale"))
	err := z.Checkpoint(ctx, []byte("stale"))
	if !fenced(err) {
		t.Errorf("checkpoint of the fenced store: %v, want fenced", err)
	}
	if err2 := z.Checkpoint(ctx, nil); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("next checkpoint of the failed store: %v, want %v", err2, err)
	}
	if _, err := z.Restore(ctx); !fenced(err) {
		t.Errorf("restore by the fenced store: %v, want fenced", err)
	}
	b.Put("ns", []byte("k"), []byte("3"))
	if err := b.Checkpoint(ctx, []byte("m2")); err != nil {
		t.Fatal(err)
	}
	c, _ := openStore(t, cl, 0)
	if got, want := contents(t, c), map[string]string{"ns|k": "3"}; !maps.Equal(got, want) || string(c.Mark()) != "m2" {
		t.Errorf("after the new owner's checkpoint: %v mark %q, want %v mark m2", got, c.Mark(), want)
	}
}

func TestChangelogCheckpointBeforeRestore(t *testing.T) {
	_, cl := changelogCluster(t, 1)
	s, err := NewChangelogStore(cl, testChangelog, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Put("ns", []byte("k"), []byte("v"))
	if err := s.Checkpoint(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "before Restore") {
		t.Errorf("checkpoint before restore: %v", err)
	}
	s.Close()
	if _, err := s.Restore(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("restore after close: %v", err)
	}
}

// TestChangelogCompacted restores partitions as compaction leaves them: superseded
// values removed, tombstones kept (delete.retention.ms not passed) or removed, and
// records written by hand outside any transaction.
func TestChangelogCompacted(t *testing.T) {
	ctx := context.Background()
	for _, retention := range []string{"86400000", "0"} {
		t.Run("delete.retention.ms="+retention, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.CreateTopic(testChangelog, 1, map[string]string{"cleanup.policy": "compact", "delete.retention.ms": retention}); err != nil {
				t.Fatal(err)
			}
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(testChangelog))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if err := EnsureChangelogTopic(ctx, cl, testChangelog, 1); err != nil {
				t.Fatal(err)
			}
			// Records written outside a transaction (as another tool might): a tombstone for
			// a key never written, then a value.
			hand := []*kgo.Record{{Key: encodeChangelogKey("h", "gone")}, {Key: encodeChangelogKey("h", "kept"), Value: []byte("x")}}
			if err := cl.ProduceSync(ctx, hand...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			s, _ := openStore(t, cl, 0)
			want := map[string]string{"h|kept": "x"}
			for round := range 30 {
				for i := range 20 {
					k := fmt.Sprintf("k%02d", i)
					switch {
					case i%3 == 0 && round%2 == 1:
						s.Delete("ns", []byte(k))
						delete(want, "ns|"+k)
					default:
						v := fmt.Sprint(round)
						s.Put("ns", []byte(k), []byte(v))
						want["ns|"+k] = v
					}
				}
				if round == 20 {
					s.DeleteRange("ns", []byte("k1"), []byte("k2"))
					for k := range want {
						if k >= "ns|k1" && k < "ns|k2" {
							delete(want, k)
						}
					}
				}
				if err := s.Checkpoint(ctx, []byte(fmt.Sprint(round))); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			_, before := openStore(t, cl, 0)
			c.Compact()
			r, after := openStore(t, cl, 0)
			if got := contents(t, r); !maps.Equal(got, want) || string(r.Mark()) != "29" {
				t.Errorf("restored after compaction: %v mark %q, want %v mark 29", got, r.Mark(), want)
			}
			// Compaction happened: far fewer records, with the same end.
			if after.Records*4 > before.Records || after.End != before.End || after.Checkpoints != 30 {
				t.Errorf("restore before compaction %+v, after %+v", before, after)
			}
		})
	}
}

// TestChangelogRefusesOtherFormat: a marker of another format stops the restore.
func TestChangelogRefusesOtherFormat(t *testing.T) {
	_, cl := changelogCluster(t, 1)
	ctx := context.Background()
	w, err := kgo.NewClient(kgo.SeedBrokers(cl.OptValue(kgo.SeedBrokers).([]string)...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	recs := []*kgo.Record{{Topic: testChangelog, Key: encodeChangelogKey("a", "b"), Value: []byte("c")}, {Topic: testChangelog, Key: markerKey, Value: []byte{2, 1}}}
	if err := w.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	s, err := NewChangelogStore(cl, testChangelog, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Restore(ctx)
	if want := "changelog kafka:g-changelog/0:1: checkpoint marker of format 2 (this Tripline reads format 1)"; err == nil || err.Error() != want {
		t.Errorf("restore: %v, want %s", err, want)
	}
}

func TestEnsureChangelogTopic(t *testing.T) {
	ctx := context.Background()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct{ topic, policy string }{{"deletes", "delete"}, {"both", "compact,delete"}, {"compacts", "compact"}} {
		if err := c.CreateTopic(tc.topic, 4, map[string]string{"cleanup.policy": tc.policy}); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	tests := []struct {
		topic string
		parts int32
		err   string
	}{
		{"new", 4, ""},
		{"new", 4, ""}, // exists now, as made
		{"new", 3, "changelog topic new has 4 partitions, not 3 as its input: delete it, or give the input as many"},
		{"compacts", 4, ""},
		{"deletes", 4, "changelog topic deletes has cleanup.policy=delete: a changelog must be compact only"},
		{"both", 4, "changelog topic both has cleanup.policy=compact,delete: a changelog must be compact only"},
	}
	for _, tc := range tests {
		err := EnsureChangelogTopic(ctx, cl, tc.topic, tc.parts)
		if got := fmt.Sprint(err); (err == nil) != (tc.err == "") || (err != nil && got != tc.err) {
			t.Errorf("%s/%d: %v, want %q", tc.topic, tc.parts, err, tc.err)
		}
	}
	info := c.TopicInfo("new")
	if info == nil || info.Configs["cleanup.policy"] == nil || *info.Configs["cleanup.policy"] != "compact" {
		t.Errorf("topic made: %+v", info)
	}
}

// TestChangelogRestoreWaitsForNothing: the restore of an empty partition returns at once.
func TestChangelogRestoreEmpty(t *testing.T) {
	_, cl := changelogCluster(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := NewChangelogStore(cl, testChangelog, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Restore(ctx)
	if err != nil || st.Records != 0 || st.Keys != 0 || st.Start != 0 || st.End != 0 {
		t.Errorf("restore of an empty partition: %+v, %v", st, err)
	}
}
