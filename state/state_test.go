package state

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var meta = Meta{Format: Format, Tripline: "1.0", Fingerprint: "aaaa", Rules: 3}

func mustOpen(t *testing.T, dir string, m Meta) *Store {
	t.Helper()
	s, err := Open(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func commit(t *testing.T, s *Store, fill func(b *Batch)) {
	t.Helper()
	b := s.NewBatch()
	fill(b)
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
}

// scan returns k=v for the keys of ns in [lo, hi).
func scan(t *testing.T, s *Store, ns string, lo, hi []byte) []string {
	t.Helper()
	var out []string
	if err := s.Scan(ns, lo, hi, func(k, v []byte) error {
		out = append(out, string(k)+"="+string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenMeta opens a directory again with the same, another or a newer Tripline's
// metadata: another format or rule set is refused, and says why.
func TestOpenMeta(t *testing.T) {
	for _, tc := range []struct {
		name string
		then Meta
		err  string
		have Meta // the metadata the directory holds after
	}{
		{"the same", meta, "", meta},
		{"another Tripline version", Meta{Format: Format, Tripline: "1.1", Fingerprint: "aaaa", Rules: 3}, "",
			Meta{Format: Format, Tripline: "1.1", Fingerprint: "aaaa", Rules: 3}},
		{"another rule set", Meta{Format: Format, Tripline: "1.0", Fingerprint: "bbbb", Rules: 4},
			"state directory DIR was made by another rule set (fingerprint aaaa, 3 rules, Tripline 1.0; these rules: fingerprint bbbb, 4 rules): its state cannot be used with these rules; use another --state-dir, or clear it with 'tripline state reset DIR'", meta},
		{"another format", Meta{Format: Format + 1, Tripline: "2.0", Fingerprint: "aaaa", Rules: 3},
			"state directory DIR was made by state format 3 (this Tripline writes format 4) (fingerprint aaaa, 3 rules, Tripline 1.0; these rules: fingerprint aaaa, 3 rules): its state cannot be used with these rules; use another --state-dir, or clear it with 'tripline state reset DIR'", meta},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "st") // Open makes it
			s := mustOpen(t, dir, meta)
			if s.Meta() != meta || s.Dir() != dir {
				t.Errorf("Meta %+v, Dir %s", s.Meta(), s.Dir())
			}
			commit(t, s, func(b *Batch) { b.Put("run", []byte("k"), []byte("v")) })
			s.Close()
			s2, err := Open(dir, tc.then)
			if tc.err != "" {
				var me *MismatchError
				if !errors.As(err, &me) || err.Error() != strings.ReplaceAll(tc.err, "DIR", dir) || me.Have != meta || me.Want != tc.then {
					t.Fatalf("Open: %v, want %s", err, tc.err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if v, ok, err := s2.Get("run", []byte("k")); err != nil || !ok || string(v) != "v" {
					t.Errorf("Get = %q %v %v", v, ok, err)
				}
				s2.Close()
			}
			s3, err := OpenExisting(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s3.Close()
			if s3.Meta() != tc.have {
				t.Errorf("OpenExisting: meta %+v, want %+v", s3.Meta(), tc.have)
			}
		})
	}
}

// TestOpenRefused: directories that are not state directories, or are in use.
func TestOpenRefused(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o700)
	if _, err := OpenExisting(empty); err == nil || err.Error() != empty+" is not a state directory (no state was written there)" {
		t.Errorf("OpenExisting of an empty directory: %v", err)
	}
	if _, err := OpenExisting(filepath.Join(dir, "none")); err == nil || err.Error() != filepath.Join(dir, "none")+" is not a state directory (no state was written there)" {
		t.Errorf("OpenExisting of no directory: %v", err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	if _, err := Open(file, meta); err == nil || !strings.HasPrefix(err.Error(), "state directory: mkdir "+file+": ") {
		t.Errorf("Open of a file: %v", err)
	}
	st := filepath.Join(dir, "st")
	s := mustOpen(t, st, meta)
	if _, err := Open(st, meta); err == nil || !strings.HasPrefix(err.Error(), "state directory "+st+": ") || !strings.Contains(err.Error(), "lock") {
		t.Errorf("Open of a directory in use: %v", err)
	}
	if err := Reset(st); err == nil || !strings.Contains(err.Error(), "lock") {
		t.Errorf("Reset of a directory in use: %v", err)
	}
	s.Close()
}

// TestReset removes a state directory and refuses anything else.
func TestReset(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "st")
	s := mustOpen(t, st, meta)
	commit(t, s, func(b *Batch) { b.Put("run", []byte("k"), []byte("v")) })
	s.Close()
	os.MkdirAll(filepath.Join(st, "journal"), 0o700) // what else lives there goes too
	if err := Reset(st); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(st); !os.IsNotExist(err) {
		t.Errorf("after Reset: %v", err)
	}
	for _, tc := range []struct {
		dir, want string
	}{
		{st, st + ": no such directory"},
		{dir, dir + " is not a state directory (no state was written there); nothing removed"},
	} {
		if err := Reset(tc.dir); err == nil || err.Error() != tc.want {
			t.Errorf("Reset(%s): %v, want %s", tc.dir, err, tc.want)
		}
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("Reset removed a directory that was not a state directory: %v", err)
	}
}

// TestNamespaces keeps namespaces apart, whatever their names and keys, and scans ranges.
func TestNamespaces(t *testing.T) {
	s := mustOpen(t, t.TempDir(), meta)
	defer s.Close()
	commit(t, s, func(b *Batch) {
		for _, ns := range []string{"a", "ab", "a/b", "rule/u1/threshold", "rule/u1/threshold2"} {
			for _, k := range []string{"", "k1", "k2", "k3", "\x00", "\xff"} {
				b.Put(ns, []byte(k), []byte(ns+":"+k))
			}
		}
	})
	for _, tc := range []struct {
		name   string
		ns     string
		lo, hi string
		nilHi  bool
		want   []string
	}{
		{"all of a", "a", "", "", true, []string{"=a:", "\x00=a:\x00", "k1=a:k1", "k2=a:k2", "k3=a:k3", "\xff=a:\xff"}},
		{"all of ab", "ab", "", "", true, []string{"=ab:", "\x00=ab:\x00", "k1=ab:k1", "k2=ab:k2", "k3=ab:k3", "\xff=ab:\xff"}},
		{"a range", "a/b", "k1", "k3", false, []string{"k1=a/b:k1", "k2=a/b:k2"}},
		{"from a key", "rule/u1/threshold", "k2", "", true, []string{"k2=rule/u1/threshold:k2", "k3=rule/u1/threshold:k3", "\xff=rule/u1/threshold:\xff"}},
		{"an empty range", "a", "k2", "k2", false, nil},
		{"a namespace with nothing", "b", "", "", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hi []byte
			if !tc.nilHi {
				hi = []byte(tc.hi)
			}
			if got := scan(t, s, tc.ns, []byte(tc.lo), hi); !slices.Equal(got, tc.want) {
				t.Errorf("Scan = %q, want %q", got, tc.want)
			}
		})
	}
	if _, ok, err := s.Get("a", []byte("k4")); ok || err != nil {
		t.Errorf("Get of a missing key: %v %v", ok, err)
	}
	if _, ok, _ := s.Get("b", []byte("k1")); ok {
		t.Error("Get found k1 in namespace b")
	}
	// Scan stops at fn's error.
	boom := errors.New("boom")
	n := 0
	if err := s.Scan("a", nil, nil, func(k, v []byte) error { n++; return boom }); err != boom || n != 1 {
		t.Errorf("Scan: %v after %d", err, n)
	}
	stats, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range stats {
		got = append(got, st.Namespace)
		if st.Keys != 6 {
			t.Errorf("%s: %d keys", st.Namespace, st.Keys)
		}
	}
	if want := []string{"a", "a/b", "ab", "rule/u1/threshold", "rule/u1/threshold2"}; !slices.Equal(got, want) {
		t.Errorf("Stats namespaces %q, want %q", got, want)
	}
	// a: keys "a\x00"+k and values "a:"+k, 2+len(k) bytes each.
	if want := int64(2 * (6*2 + 0 + 2 + 2 + 2 + 1 + 1)); stats[0].Bytes != want {
		t.Errorf("a: %d bytes, want %d", stats[0].Bytes, want)
	}
	if s.DiskSize() <= 0 {
		t.Errorf("DiskSize %d", s.DiskSize())
	}
}

// TestBatch: a batch's writes are seen once committed, all of them, and the batch is then
// empty for the next checkpoint.
func TestBatch(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, meta)
	ns := RuleNamespace("u1", "new_terms")
	if ns != "rule/u1/new_terms" {
		t.Errorf("RuleNamespace = %s", ns)
	}
	b := s.NewBatch()
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"t/a", "t/b", "t/c", "t/d", "b/1"} {
		b.Put(ns, []byte(k), []byte("1"))
	}
	b.Put("other", []byte("t/a"), []byte("x"))
	if b.Len() != 6 {
		t.Errorf("Len %d", b.Len())
	}
	if got := scan(t, s, ns, nil, nil); got != nil {
		t.Errorf("before Commit: %q", got)
	}
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 {
		t.Errorf("Len after Commit %d", b.Len())
	}
	b.Put(ns, []byte("t/a"), []byte("2"))
	b.Delete(ns, []byte("b/1"))
	b.DeleteRange(ns, []byte("t/b"), []byte("t/d"))
	if b.Len() != 3 {
		t.Errorf("Len %d", b.Len())
	}
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	if got, want := scan(t, s, ns, nil, nil), []string{"t/a=2", "t/d=1"}; !slices.Equal(got, want) {
		t.Errorf("after the second Commit: %q, want %q", got, want)
	}
	b.DeleteRange(ns, []byte("t/"), nil) // to the namespace's end
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// What was committed is there after a restart; the other namespace was not touched.
	s = mustOpen(t, dir, meta)
	defer s.Close()
	if got := scan(t, s, ns, nil, nil); got != nil {
		t.Errorf("after DeleteRange to the end: %q", got)
	}
	if got, want := scan(t, s, "other", nil, nil), []string{"t/a=x"}; !slices.Equal(got, want) {
		t.Errorf("other: %q, want %q", got, want)
	}
}
