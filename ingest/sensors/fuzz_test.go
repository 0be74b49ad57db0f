package sensors

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzNormalize checks that any input gives either an error or one valid JSON object that
// is not itself taken for a sensor event, that Detect and Normalize agree on what a sensor
// event is, and that a Normalizer's reuse does not change its output.
func FuzzNormalize(f *testing.F) {
	for _, name := range []string{"falco.ndjson", "tetragon.ndjson"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			f.Add(bytes.Clone(sc.Bytes()))
		}
	}
	f.Add([]byte(`{"rule":"r","time":"2026-01-01T00:00:00Z","output_fields":{"proc.args":"a \"b c\" d","proc.tty":"x","evt.type":"execve"}}`))
	f.Add([]byte(`{"process_exit":{"process":{"binary":"/bin/sh","arguments":"-c \"a \\\" b\""},"status":1},"time":"2026-01-01T00:00:00Z"}`))
	reused := New(Options{})
	f.Fuzz(func(t *testing.T, doc []byte) {
		kind := Detect(doc)
		docs, err := New(Options{}).Normalize(doc, nil)
		if kind == None {
			if err == nil {
				t.Fatalf("Detect says None but Normalize gave %s", docs)
			}
			return
		}
		if err != nil {
			return
		}
		if len(docs) != 1 {
			t.Fatalf("%d documents", len(docs))
		}
		var v map[string]any
		if err := json.Unmarshal(docs[0], &v); err != nil {
			t.Fatalf("invalid JSON %v: %s", err, docs[0])
		}
		if Detect(docs[0]) != None {
			t.Fatalf("the document is detected as a sensor event: %s", docs[0])
		}
		first := bytes.Clone(docs[0])
		again, err := reused.Normalize(doc, nil)
		if err != nil || !bytes.Equal(again[0], first) {
			t.Fatalf("a reused Normalizer gave %s (%v), want %s", again, err, first)
		}
	})
}
