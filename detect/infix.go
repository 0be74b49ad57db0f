package detect

// infixSet finds which of a set of literals (ASCII, lower-cased, at least PrefixLen bytes)
// occur in a value: the rule index's requirements for patterns such as "*get secret*",
// which have no literal beginning or end. The literals are filed by their first PrefixLen
// bytes; a scan of the value looks each PrefixLen-byte window up in a bitmap of those
// (8 KB, a hash of the window), and only on a hit in the table. A value costs a few
// nanoseconds per byte whatever the number of literals.
type infixSet struct {
	bloom []uint64              // 1<<infixBits bits: the hashes of the literals' first bytes
	byKey map[uint32][]infixLit // by the literal's first PrefixLen bytes (see windowKey)
	ids   map[string]int32      // literal -> id
	n     int
}

type infixLit struct {
	lit string
	id  int32
}

const infixBits = 16

func newInfixSet() *infixSet {
	return &infixSet{bloom: make([]uint64, 1<<infixBits/64), byKey: map[uint32][]infixLit{}, ids: map[string]int32{}}
}

// add files lit (len(lit) >= PrefixLen) and returns its id: 0, 1, ... in the order literals
// are first added.
func (s *infixSet) add(lit string) int32 {
	if id, ok := s.ids[lit]; ok {
		return id
	}
	id := int32(s.n)
	s.n++
	s.ids[lit] = id
	k := windowKey(lit, 0)
	s.byKey[k] = append(s.byKey[k], infixLit{lit, id})
	h := windowHash(k)
	s.bloom[h>>6] |= 1 << (h & 63)
	return id
}

// each calls fn with the id of every literal found in v, once per place it starts at.
func (s *infixSet) each(v []byte, fn func(id int32)) {
	for i := 0; i+PrefixLen <= len(v); i++ {
		k := uint32(v[i]) | uint32(v[i+1])<<8 | uint32(v[i+2])<<16
		h := windowHash(k)
		if s.bloom[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, e := range s.byKey[k] {
			if hasPrefix(v[i:], e.lit) {
				fn(e.id)
			}
		}
	}
}

// windowKey is the PrefixLen (3) bytes of s at i as one number.
func windowKey(s string, i int) uint32 {
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16
}

func windowHash(k uint32) uint32 { return (k * 0x9E3779B1) >> (32 - infixBits) }
