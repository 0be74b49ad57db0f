package k8saudit

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite examples/events/kubernetes-audit.ndjson from examples/raw-audit")

// ExampleOptions are the options the example scenario's ECS audit events were made with:
// @timestamp from stageTimestamp and event.ingested from it truncated to seconds (an
// ingest with no lag), so that the raw and the ECS forms give the same alerts.
var exampleOptions = Options{Timestamp: TimestampStage, Ingested: IngestedStage}

// TestExampleScenario checks that examples/events/kubernetes-audit.ndjson is exactly the
// normalised form of examples/raw-audit/kube-apiserver-audit.log (documents may carry an
// _index the raw form cannot have).
func TestExampleScenario(t *testing.T) {
	root := filepath.Join("..", "..", "examples")
	raw := lines(t, filepath.Join(root, "raw-audit", "kube-apiserver-audit.log"))
	ecsPath := filepath.Join(root, "events", "kubernetes-audit.ndjson")
	n := New(exampleOptions)
	var got [][]byte
	for i, l := range raw {
		docs, err := n.Normalize(l, nil)
		if err != nil || len(docs) != 1 {
			t.Fatalf("raw-audit line %d: %d documents, %v", i+1, len(docs), err)
		}
		got = append(got, bytes.Clone(docs[0])) // valid until the next call only
	}
	if *update {
		if err := os.WriteFile(ecsPath, append(bytes.Join(got, []byte("\n")), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := lines(t, ecsPath)
	if len(want) != len(got) {
		t.Fatalf("%s: %d events, want %d (the raw lines)", ecsPath, len(want), len(got))
	}
	for i := range got {
		w := decode(t, want[i])
		delete(w, "_index")
		if g := decode(t, got[i]); !reflect.DeepEqual(g, w) {
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			t.Errorf("event %d:\n raw→ECS %s\n    file %s", i+1, gb, wb)
		}
	}
}
