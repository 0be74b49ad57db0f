package event

import "strings"

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
}

type trieNode struct {
	slot Slot             // the slot of the path ending here, or -1
	kids map[string]int32 // child node by segment; nil for a leaf
	// lens and first are quick filters for the usual miss: bit len%64 of lens is set
	// for the length of each child segment, bit c of first for its first byte c.
	lens  uint64
	first [4]uint64
}

// mayHave reports whether a child segment could be seg, without hashing it.
func (nd *trieNode) mayHave(seg []byte) bool {
	if nd.lens&(1<<(len(seg)&63)) == 0 {
		return false
	}
	if len(seg) == 0 {
		return true
	}
	c := seg[0]
	return nd.first[c>>6]&(1<<(c&63)) != 0
}

// noNode marks a subtree no registered path reaches: it is only validated.
const noNode = -1

func buildTrie(f *Fields) trie {
	t := trie{nodes: []trieNode{{slot: -1}}}
	for i, p := range f.paths {
		n := int32(0)
		for seg := range strings.SplitSeq(p, ".") {
			nd := &t.nodes[n]
			k, ok := nd.kids[seg]
			if !ok {
				if nd.kids == nil {
					nd.kids = make(map[string]int32)
				}
				k = int32(len(t.nodes))
				nd.kids[seg] = k
				nd.lens |= 1 << (len(seg) & 63)
				if seg != "" {
					nd.first[seg[0]>>6] |= 1 << (seg[0] & 63)
				}
				t.nodes = append(t.nodes, trieNode{slot: -1})
			}
			n = k
		}
		t.nodes[n].slot = Slot(i)
	}
	return t
}

// child returns the node reached from node n by the object key key, which may hold
// several dot-separated segments, or noNode.
func (t *trie) child(n int32, key []byte) int32 {
	if n == noNode {
		return noNode
	}
	for {
		nd := &t.nodes[n]
		if nd.kids == nil {
			return noNode
		}
		i := indexDot(key)
		if i < 0 {
			if !nd.mayHave(key) {
				return noNode
			}
			k, ok := nd.kids[string(key)]
			if !ok {
				return noNode
			}
			return t.useful(k)
		}
		if !nd.mayHave(key[:i]) {
			return noNode
		}
		k, ok := nd.kids[string(key[:i])]
		if !ok {
			return noNode
		}
		n, key = k, key[i+1:]
	}
}

// useful returns k, or noNode when nothing is to be recorded at or under k.
func (t *trie) useful(k int32) int32 {
	if nd := &t.nodes[k]; nd.slot < 0 && nd.kids == nil {
		return noNode
	}
	return k
}

func indexDot(b []byte) int {
	for i, c := range b {
		if c == '.' {
			return i
		}
	}
	return -1
}
