package k8saudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzNormalize checks, on any input, that Normalize does not panic, that it accepts
// only what Detect recognises, that its errors are *Error values, that every
// document is a valid JSON object that Detect does not take for a raw record, and that a
// Normalizer reused across inputs gives the same bytes as a fresh one and never writes into
// the slices dst already holds (the caller's memory, such as an input reader's buffer).
// Seeds are in testdata/fuzz/FuzzNormalize.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte(benchEvent))
	reused := New(Options{KeepOriginal: true, Ingested: IngestedStage})
	var dst [][]byte
	f.Fuzz(func(t *testing.T, doc []byte) {
		fresh, ferr := New(Options{KeepOriginal: true, Ingested: IngestedStage}).Normalize(doc, nil)
		// The previous documents and a caller's slice with spare capacity sit in dst's spare
		// room: Normalize must leave their bytes alone.
		foreign := make([]byte, 4, 1<<16)
		copy(foreign, "keep")
		dst = append(dst[:0], foreign)
		var err error
		dst, err = reused.Normalize(doc, dst[:0])
		if string(foreign[:cap(foreign)][:4]) != "keep" || bytes.ContainsAny(foreign[4:cap(foreign)], "{}") {
			t.Fatalf("Normalize wrote into a slice of the caller's: %q", foreign[:16])
		}
		if (err == nil) != (ferr == nil) || len(dst) != len(fresh) {
			t.Fatalf("reused normalizer: %d docs, %v; fresh: %d docs, %v", len(dst), err, len(fresh), ferr)
		}
		detected := Detect(doc)
		if !detected && (err == nil || len(dst) > 0) {
			t.Fatalf("Detect false, but Normalize gave %d documents and error %v", len(dst), err)
		}
		if detected && err != nil && !errors.As(err, new(*Error)) {
			t.Fatalf("Detect true, but Normalize failed with a %T: %v", err, err)
		}
		for i, d := range dst {
			if !bytes.Equal(d, fresh[i]) {
				t.Fatalf("document %d differs between a reused and a fresh normalizer:\n%s\n%s", i, d, fresh[i])
			}
			var m map[string]any
			if err := json.Unmarshal(d, &m); err != nil {
				t.Fatalf("document %d is not a JSON object: %v\n%s", i, err, d)
			}
			if Detect(d) {
				t.Fatalf("Detect true on normalised document %s", d)
			}
		}
	})
}
