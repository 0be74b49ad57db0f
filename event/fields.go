package event

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"sync"
)

// Fields is a set of dotted field paths, each numbered by a Slot. Queries add the paths
// they read while they are compiled; a Decoder then records the values of those paths
// only. Slots are dense: 0, 1, 2 ... in the order the paths were first added.
//
// A Fields is not safe for concurrent Add; Lookup, Path and Len may run concurrently
// with each other once no more paths are added.
type Fields struct {
	paths []string
	slots map[string]Slot
}

// NewFields returns an empty set of field paths.
func NewFields() *Fields {
	return &Fields{slots: make(map[string]Slot)}
}

// Add registers path and returns its Slot. Adding a path again returns the same Slot.
// A path is split at dots into segments: "process.parent.name" reaches the value at
// {"process":{"parent":{"name":...}}} as well as at {"process.parent.name":...} or
// {"process":{"parent.name":...}}.
func (f *Fields) Add(path string) Slot {
	if s, ok := f.slots[path]; ok {
		return s
	}
	s := Slot(len(f.paths))
	f.paths = append(f.paths, path)
	f.slots[path] = s
	return s
}

// Lookup returns the Slot of path, if it was added.
func (f *Fields) Lookup(path string) (Slot, bool) {
	s, ok := f.slots[path]
	return s, ok
}

// Path returns the path of Slot s, or "" if s is not a slot of f.
func (f *Fields) Path(s Slot) string {
	if s < 0 || int(s) >= len(f.paths) {
		return ""
	}
	return f.paths[s]
}

// Len returns the number of paths in the set.
func (f *Fields) Len() int { return len(f.paths) }

// trie is the compiled form of a Fields set that a Decoder walks: one node per path
// segment. Node 0 is the root (the document object).
type trie struct {
	nodes []trieNode
	slots int // the number of paths (slots)
	// lazy holds decoders for the copies KeepRaw made to decode their documents with
	// (Event.load): a decoder's per-slot state is sized for every path, too much to
	// allocate for each copy read. Shared by the decoders made from one trie.
	lazy *sync.Pool
}

// trieNode is one path segment. Its children are found through a small open-addressing
// table keyed by a hash of the segment's length and first 8 bytes, loaded as one word:
// a miss, the usual case for the keys of a document, costs one or two probes, and a
// segment of up to 8 bytes is compared as one word and its length.
type trieNode struct {
	slot  Slot        // the slot of the path ending here, or -1
	table []trieEntry // children; len is a power of two, or 0 for a leaf
}

type trieEntry struct {
	word uint64 // the first 8 bytes of seg (see loadWord)
	n    int32  // len(seg)
	node int32  // 0 for an empty entry (node 0, the root, is nobody's child)
	seg  string
}

// noNode marks a subtree no registered path reaches: it is only validated.
const noNode = -1

// loadWord returns the first 8 bytes of src[off:end] as a little-endian word, the bytes
// past end zero. It reads the 8 bytes at once when src has them (the segment is then
// masked), byte by byte otherwise.
func loadWord(src []byte, off, end int) uint64 {
	n := end - off
	if off+8 <= len(src) {
		w := binary.LittleEndian.Uint64(src[off:])
		if n < 8 {
			w &= 1<<(8*n) - 1
		}
		return w
	}
	var w uint64
	for i := range n {
		w |= uint64(src[off+i]) << (8 * i)
	}
	return w
}

// segHash hashes a segment by its first word and its length.
func segHash(word uint64, n int) uint32 {
	return uint32(((word ^ uint64(n)<<58) * 0x9E3779B97F4A7C15) >> 32)
}

func buildTrie(f *Fields) trie {
	type building struct {
		slot Slot
		kids map[string]int32
	}
	nodes := []building{{slot: -1}}
	for i, p := range f.paths {
		n := int32(0)
		for seg := range strings.SplitSeq(p, ".") {
			k, ok := nodes[n].kids[seg]
			if !ok {
				if nodes[n].kids == nil {
					nodes[n].kids = make(map[string]int32)
				}
				k = int32(len(nodes))
				nodes[n].kids[seg] = k
				nodes = append(nodes, building{slot: -1})
			}
			n = k
		}
		nodes[n].slot = Slot(i)
	}
	t := trie{nodes: make([]trieNode, len(nodes)), slots: f.Len(), lazy: new(sync.Pool)}
	for i, b := range nodes {
		t.nodes[i].slot = b.slot
		if len(b.kids) == 0 {
			continue
		}
		size := 4
		for size < 2*len(b.kids) {
			size *= 2
		}
		table := make([]trieEntry, size)
		for seg, k := range b.kids {
			w := loadWord([]byte(seg), 0, len(seg))
			h := segHash(w, len(seg)) & uint32(size-1)
			for table[h].node != 0 {
				h = (h + 1) & uint32(size-1)
			}
			table[h] = trieEntry{word: w, n: int32(len(seg)), node: k, seg: seg}
		}
		t.nodes[i].table = table
	}
	return t
}

// lookup returns the child of nd named src[off:end], or noNode.
func (nd *trieNode) lookup(src []byte, off, end int) int32 {
	return nd.find(loadWord(src, off, end), src, off, end)
}

// find returns the child of nd named src[off:end], whose first word is w, or noNode.
func (nd *trieNode) find(w uint64, src []byte, off, end int) int32 {
	n := end - off
	mask := uint32(len(nd.table) - 1)
	for h := segHash(w, n) & mask; ; h = (h + 1) & mask {
		e := &nd.table[h]
		if e.node == 0 {
			return noNode
		}
		if e.word == w && int(e.n) == n && (n <= 8 || e.seg[8:] == string(src[off+8:end])) {
			return e.node
		}
	}
}

// child returns the node reached from node n by the object key src[off:end], which may
// hold several dot-separated segments, or noNode. src is the document, or the unescaped
// key alone.
func (t *trie) child(n int32, src []byte, off, end int) int32 {
	if n == noNode {
		return noNode
	}
	for {
		nd := &t.nodes[n]
		if nd.table == nil {
			return noNode
		}
		i := indexDot(src[off:end])
		if i < 0 {
			k := nd.lookup(src, off, end)
			if k == noNode {
				return noNode
			}
			return t.useful(k)
		}
		if n = nd.lookup(src, off, off+i); n == noNode {
			return noNode
		}
		off += i + 1
	}
}

// shortKey handles the usual object key, with no escape, no dot and under 16 bytes, in
// one look at the 16 bytes after its opening quote at p: it returns the position after
// the closing quote and the node the key reaches from node n (as child), or -1 when the
// key is not such a key, or too near the end of buf. n is not noNode.
func (t *trie) shortKey(n int32, buf []byte, p int) (end int, k int32) {
	if p+17 > len(buf) {
		return -1, noNode
	}
	b := buf[p+1 : p+17 : p+17]
	x1, x2 := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
	// The first special byte and the first dot, as bit offsets into the 16 bytes (128
	// for none); a key of length l ends with a quote at bit 8*l.
	s1, s2 := bits.TrailingZeros64(specialMask(x1)), bits.TrailingZeros64(specialMask(x2))
	if s1 == 64 {
		s1 = 64 + s2
	}
	d1, d2 := bits.TrailingZeros64(dotMask(x1)), bits.TrailingZeros64(dotMask(x2))
	if d1 == 64 {
		d1 = 64 + d2
	}
	if s1 == 128 || d1 < s1 {
		return -1, noNode
	}
	l := s1 >> 3
	if b[l] != '"' {
		return -1, noNode
	}
	end = p + 2 + l
	nd := &t.nodes[n]
	if nd.table == nil {
		return end, noNode
	}
	if l < 8 {
		x1 &= 1<<(8*l) - 1
	}
	if k = nd.find(x1, buf, p+1, p+1+l); k == noNode {
		return end, noNode
	}
	return end, t.useful(k)
}

// dotMask sets the high bit of each byte of x that is a dot (the lowest exactly, as
// specialMask).
func dotMask(x uint64) uint64 {
	y := x ^ (ones * '.')
	return (y - ones) &^ y & highs
}

// useful returns k, or noNode when nothing is to be recorded at or under k.
func (t *trie) useful(k int32) int32 {
	if nd := &t.nodes[k]; nd.slot < 0 && nd.table == nil {
		return noNode
	}
	return k
}

// indexDot returns the index of the first '.' in b, or -1; 8 bytes at a time.
func indexDot(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if m := dotMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if b[i] == '.' {
			return i
		}
	}
	return -1
}
