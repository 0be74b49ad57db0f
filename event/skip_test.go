package event

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
)

func isSpecial(c byte) bool { return c == '"' || c == '\\' || c < 0x20 }

// TestSpecialMask checks that the lowest bit of specialMask marks the first quote,
// backslash or control character of a word, for every byte value at every position, the
// bytes before it ordinary and the bytes after it random.
func TestSpecialMask(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var w [8]byte
	for pos := range 8 {
		for v := range 256 {
			for range 20 {
				for i := range w {
					switch {
					case i < pos:
						w[i] = byte(0x20 + rng.IntN(0x100-0x20))
						for isSpecial(w[i]) {
							w[i] = byte(0x20 + rng.IntN(0x100-0x20))
						}
					case i == pos:
						w[i] = byte(v)
					default:
						w[i] = byte(rng.IntN(0x100))
					}
				}
				want := -1
				for i, c := range w {
					if isSpecial(c) {
						want = i
						break
					}
				}
				m := specialMask(binary.LittleEndian.Uint64(w[:]))
				got := -1
				if m != 0 {
					got = bits.TrailingZeros64(m) >> 3
				}
				if got != want {
					t.Fatalf("%q: first special byte at %d, want %d", w, got, want)
				}
			}
		}
	}
}

// skipDocs are documents whose every value start is tried by TestSkipFastAgrees.
var skipDocs = []string{
	`{"a":1,"b":[true,false,null,-0.5e+7,"x\"\\\/\b\f\n\r\t\u00e9y"],"c":{"d":{},"e":[],"f":[{}],"g":" "}}`,
	" { \"a\" : [ 1 , { \"b\" : 2 } ] , \"c\" :\t\"\" } ",
	`{"a":[1,]}`, `{"a":[1 2]}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":tru}`, `{"a":nul`,
	`{"a":"x}`, "{\"a\":\"x\ty\"}", `{"a":"\x"}`, `{"a":"\u12g4"}`, `{"a":+1}`, `{"a":{"b" 1}}`,
	`{"a":{"b":1,}}`, `{"a":{1:2}}`, `{"a":[}`, `{"a":{]}`, `{"a":[1}`, `{"a":{"b":1]}`, `{"a":fals}`,
	`{"a":"\u12"}`, `{"a":"\`, `{"a":[-01]}`, `{"a":[1.5E-3,0e0,-0]}`, `{"a":"é\u00"}`,
	`{"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`,
	`{"a":` + strings.Repeat(`{"b":`, 70) + `1` + strings.Repeat("}", 70) + `}`,
	`{"a":` + strings.Repeat(`{"b":`, 70) + `1` + strings.Repeat("}", 69) + `]}`,
}

// TestSkipFastAgrees checks, at every position of every document of skipDocs and of
// testdata/ecs_process.json, that skipFast either declines (-1) or returns the position
// skipExact returns, and that it declines whenever skipExact finds an error.
func TestSkipFastAgrees(t *testing.T) {
	docs := append([]string{string(readECS(t))}, skipDocs...)
	accepted := 0
	for _, doc := range docs {
		accepted += checkSkipAgrees(t, []byte(doc))
	}
	if accepted < 1000 {
		t.Errorf("skipFast accepted %d values, want the fast path used", accepted)
	}
}

// checkSkipAgrees compares skipFast with skipExact at every position of doc, and at every
// length of doc cut short, and returns how many values skipFast accepted.
func checkSkipAgrees(t *testing.T, doc []byte) int {
	t.Helper()
	d := NewDecoder(NewFields())
	accepted := 0
	for cut := len(doc); cut >= 0; cut-- {
		buf := doc[:cut]
		d.buf = buf
		for p := range buf {
			for _, depth := range []int{1, maxDepth - 70} {
				fast := skipFast(buf, p, depth)
				exact := d.skipExact(p, depth)
				if fast >= 0 && fast != exact {
					t.Fatalf("%q at %d, depth %d: skipFast %d, skipExact %d (%v)", buf, p, depth, fast, exact, &d.err)
				}
				if fast >= 0 {
					accepted++
				}
			}
		}
		if cut < len(doc)-40 {
			break // cutting further only repeats the same prefixes
		}
	}
	d.buf = nil
	return accepted
}

// FuzzSkip checks skipFast against skipExact at every position of arbitrary input.
func FuzzSkip(f *testing.F) {
	for _, s := range skipDocs {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if len(doc) > 512 || bytes.Count(doc, []byte("[")) > 100 {
			return // long inputs only repeat the checks, quadratically
		}
		checkSkipAgrees(t, doc)
	})
}

// TestShortKeyAgrees checks that shortKey, where it decides, finds the end and the node
// that scanString and child find, from every node of a trie, at every quote of documents
// with keys of every length up to 20, with dots, escapes and control characters.
func TestShortKeyAgrees(t *testing.T) {
	f := fieldsOf(append(append([]string{"a.b", "abcdefgh.x", "abcdefghi", "abcdefghijklmno",
		"abcdefghijklmnop", "p.q.r", ""}, seedFields...), fuzzPaths...))
	d := NewDecoder(f)
	var docs []string
	for l := range 21 {
		key := "abcdefghijklmnopqrstu"[:l]
		for _, k := range []string{key, "p." + key, key + ".x", key + `\n`, key + "\t", key + `\u0041`} {
			docs = append(docs, `{"`+k+`":1,"event":{"type":"x"},"process":{"name":"y"}}                  `)
		}
	}
	docs = append(docs, string(readECS(t)))
	decided, found := 0, 0
	for _, doc := range docs {
		buf := []byte(doc)
		d.buf = buf
		for p := range buf {
			if buf[p] != '"' {
				continue
			}
			for n := range int32(len(d.t.nodes)) {
				end, k := d.t.shortKey(n, buf, p)
				if end < 0 {
					continue
				}
				decided++
				wantEnd, esc := d.scanString(p)
				if end != wantEnd || esc {
					t.Fatalf("%q at %d: shortKey end %d, scanString %d (escapes %v)", doc, p, end, wantEnd, esc)
				}
				if want := d.t.child(n, buf, p+1, end-1); k != want {
					t.Fatalf("%q at %d from node %d: shortKey node %d, child %d", doc, p, n, k, want)
				}
				if k != noNode {
					found++
				}
			}
		}
	}
	d.buf = nil
	if decided < 1000 || found < 50 {
		t.Errorf("shortKey decided %d times, found %d nodes: want the fast path used", decided, found)
	}
}
