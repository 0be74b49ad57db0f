package needle

import "bytes"

// In reports whether doc contains s, finding the candidates by s[off], which should be a
// byte that is rare in the documents searched (IndexByte then skips the most).
func In(doc []byte, s string, off int) bool {
	for i := off; i < len(doc); {
		k := bytes.IndexByte(doc[i:], s[off])
		if k < 0 {
			return false
		}
		k += i
		if bytes.HasPrefix(doc[k-off:], []byte(s)) {
			return true
		}
		i = k + 1
	}
	return false
}
