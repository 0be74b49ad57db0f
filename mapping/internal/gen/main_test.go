package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tripline/tripline/internal/testenv"
)

// TestGeneratedUpToDate regenerates the built-in mapping from ../shared and compares it with
// the committed mapping/ecs.json.
func TestGeneratedUpToDate(t *testing.T) {
	csvPath := testenv.Shared(t, "samples", "ecs-9.3.0", "fields.csv")
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := generate(f)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "mapping", "ecs.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("mapping/ecs.json is out of date: run go generate ./mapping")
	}
}

func TestBuild(t *testing.T) {
	fields := []field{
		{path: "a.k", typ: "keyword", indexed: true},
		{path: "a.k.text", typ: "match_only_text", indexed: true},
		{path: "a.orig", typ: "keyword"},
		{path: "a.url", typ: "wildcard", indexed: true},
		{path: "event.url", typ: "keyword", indexed: true},
		{path: "o", typ: "object", indexed: true},
		{path: "n", typ: "nested", indexed: true},
		{path: "n.x", typ: "long", indexed: true},
		{path: "s", typ: "scaled_float", indexed: true},
	}
	got, err := build(fields, map[string]any{"m": 1})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
 "_meta": {
  "m": 1
 },
 "date_detection": false,
 "dynamic_templates": [
  {
   "strings_as_keyword": {
    "mapping": {
     "ignore_above": 1024,
     "type": "keyword"
    },
    "match_mapping_type": "string"
   }
  }
 ],
 "properties": {
  "a": {
   "properties": {
    "k": {
     "fields": {
      "text": {
       "type": "match_only_text"
      }
     },
     "ignore_above": 1024,
     "type": "keyword"
    },
    "orig": {
     "doc_values": false,
     "index": false,
     "type": "keyword"
    },
    "url": {
     "type": "wildcard"
    }
   }
  },
  "event": {
   "properties": {
    "url": {
     "ignore_above": 2083,
     "type": "keyword"
    }
   }
  },
  "n": {
   "properties": {
    "x": {
     "type": "long"
    }
   },
   "type": "nested"
  },
  "o": {
   "type": "object"
  },
  "s": {
   "scaling_factor": 1000,
   "type": "scaled_float"
  }
 }
}
`
	if string(got) != want {
		t.Errorf("build:\n%s\nwant:\n%s", got, want)
	}
	if _, err := build([]field{{path: "x", typ: "long"}, {path: "x", typ: "keyword"}}, nil); err == nil {
		t.Error("build accepted a field with two types")
	}
}
