package event

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// The pipeline benchmark reproduces the access pattern of the parallel detector
// (detect/pipeline.go): a worker decodes a batch of 256 different documents into 256
// distinct Events, several batches in flight, and the candidate rules read the values of
// about 50 fields of each event right after it is decoded.
//
// testdata/gen256.ndjson.gz holds 256 generated events
// (go run ./bench/gen -n 256 -seed 1 -planted 0 -decoys 0) and testdata/corpus_fields.txt the
// paths the 1,024 EQL rules of the detection-rules corpus register, in their slot order.

// readGen256 returns the 256 generated documents.
func readGen256(tb testing.TB) [][]byte {
	tb.Helper()
	f, err := os.Open("testdata/gen256.ndjson.gz")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	docs := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if len(docs) != 256 {
		tb.Fatalf("gen256: %d documents, want 256", len(docs))
	}
	return docs
}

// corpusFields returns the corpus's field set.
func corpusFields(tb testing.TB) *Fields {
	tb.Helper()
	data, err := os.ReadFile("testdata/corpus_fields.txt")
	if err != nil {
		tb.Fatal(err)
	}
	f := NewFields()
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if p := strings.TrimSpace(sc.Text()); p != "" {
			f.Add(p)
		}
	}
	return f
}

// readSlots returns, for each document, the 50 slots the benchmark reads: the slots the
// document has a value or a null at (at most 30 of them), then slots spread over the whole
// set (mostly absent fields, as the fields rules test and the event lacks).
func readSlots(tb testing.TB, f *Fields, docs [][]byte) [][]Slot {
	tb.Helper()
	d := NewDecoder(f)
	out := make([][]Slot, len(docs))
	for i, doc := range docs {
		var ev Event
		if err := d.Decode(doc, &ev); err != nil {
			tb.Fatal(err)
		}
		var ss []Slot
		for s := Slot(0); int(s) < f.Len() && len(ss) < 30; s++ {
			if ev.Has(s) || ev.HasNull(s) {
				ss = append(ss, s)
			}
		}
		for k := 0; len(ss) < 50; k++ {
			ss = append(ss, Slot((k*97+i)%f.Len()))
		}
		out[i] = ss
	}
	return out
}

func benchPipeline(b *testing.B, batches int) {
	docs := readGen256(b)
	f := corpusFields(b)
	slots := readSlots(b, f, docs)
	d := NewDecoder(f)
	evs := make([]Event, batches*len(docs))
	size := 0
	for _, doc := range docs {
		size += len(doc)
	}
	// One round over every batch first: the steady state has every Event's memory grown.
	for i := range evs {
		if err := d.Decode(docs[i%len(docs)], &evs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	n, sum := 0, 0
	cpu0, cpuOK := processCPU()
	for b.Loop() {
		base := (n % batches) * len(docs) // the next batch's Events
		n++
		for i, doc := range docs {
			ev := &evs[base+i]
			if err := d.Decode(doc, ev); err != nil {
				b.Fatal(err)
			}
			for _, s := range slots[i] {
				sum += len(ev.Values(s))
			}
		}
	}
	if sum == 0 {
		b.Fatal("no values read")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*len(docs)), "ns/event")
	if cpu1, ok := processCPU(); ok && cpuOK {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(n*len(docs)), "cpu-ns/event")
	}
}

// BenchmarkPipeline decodes the 256 generated documents into 256 distinct Events (one
// batch), or cycles through 8 batches of 256 (the detector's 4 batches in flight per
// worker, for 2 workers), and reads 50 slots of each event.
func BenchmarkPipeline(b *testing.B) {
	for _, batches := range []int{1, 8} {
		b.Run(fmt.Sprintf("events=%d", batches*256), func(b *testing.B) { benchPipeline(b, batches) })
	}
}
