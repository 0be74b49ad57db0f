package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Raw audit records for the tests: an Event, an odd Event with no fields of use, and an
// EventList of an Event and an item that is not an object.
const (
	auditEvent = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","verb":"get","requestURI":"/api","user":{"username":"u"},"stageTimestamp":"2026-01-01T00:00:01.500000Z"}`
	auditOdd   = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","items":5}`
	auditList  = `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a2","stage":"ResponseComplete","verb":"get","requestURI":"/api","user":{"username":"u"},"stageTimestamp":"2026-01-01T00:00:02.500000Z"},5]}`
)

// got is what one reading gave: each document as "SOURCE:LINE@OFFSET#SEQ TEXT" (TEXT
// "audit@TIMESTAMP/INGESTED" for a document made from an audit record), the reports, and
// the counts.
type got struct {
	docs    []string
	skips   []string
	notices []string
	records []int64 // OnRecord's arguments
	stats   Stats
	err     error
}

func describe(d Doc) string {
	text := string(d.Bytes)
	var ecs struct {
		TS    string `json:"@timestamp"`
		Event struct {
			Ingested string `json:"ingested"`
		} `json:"event"`
		Kubernetes *json.RawMessage `json:"kubernetes"`
	}
	if json.Unmarshal(d.Bytes, &ecs) == nil && ecs.Kubernetes != nil {
		text = "audit@" + ecs.TS + "/" + ecs.Event.Ingested
	}
	return fmt.Sprintf("%s:%d@%d#%d %s", filepath.Base(d.Source), d.Line, d.Offset, d.Seq, text)
}

// readAll reads every document of ins with opts, the reports going to g.
func readAll(ctx context.Context, ins Inputs, opts Options) got {
	var g got
	opts.Skip = func(err error) { g.skips = append(g.skips, relative(err.Error())) }
	opts.Notice = func(msg string) { g.notices = append(g.notices, relative(msg)) }
	opts.OnRecord = func(n int64) { g.records = append(g.records, n) }
	r := NewReader(ctx, ins, opts)
	defer r.Close()
	for {
		d, err := r.Next()
		if err != nil {
			if err != io.EOF {
				g.err = err
			}
			if _, again := r.Next(); again != err {
				g.err = fmt.Errorf("Next gave %v, then %v", err, again)
			}
			break
		}
		g.docs = append(g.docs, describe(d))
	}
	g.stats = r.Stats()
	return g
}

// relative strips the directory of the test's files from a message.
func relative(msg string) string {
	if i := strings.Index(msg, "/in/"); i >= 0 {
		return msg[i+len("/in/"):]
	}
	return msg
}

func TestReader(t *testing.T) {
	strictA := func(doc []byte) error {
		if strings.Contains(string(doc), `"a"`) {
			return errors.New("mapping set to strict, dynamic introduction of [a] within [_doc] is not allowed")
		}
		return nil
	}
	cases := []struct {
		name   string
		files  map[string]string // name under in/ -> content; the inputs are the files in name order
		stdin  string
		args   []string // instead of the files: paths under in/, "-" for standard input
		format Format
		reject func([]byte) error
		want   got
	}{
		{
			name:  "NDJSON, a malformed line, blank lines",
			files: map[string]string{"a.ndjson": "{\"x\":1}\n\nnot json\n{\"x\":2}\n"},
			want: got{
				docs:    []string{`a.ndjson:1@0#1 {"x":1}`, `a.ndjson:4@18#2 {"x":2}`},
				skips:   []string{"a.ndjson:3: not a JSON object (skipped)"},
				records: []int64{1, 3},
				stats:   Stats{Records: 3, Malformed: 1, Bytes: 26},
			},
		},
		{
			name:  "two files, numbered on",
			files: map[string]string{"a.ndjson": "{\"x\":1}\n", "b.json": "[{\"y\":1},\n {\"y\":2}]"},
			want: got{
				docs:    []string{`a.ndjson:1@0#1 {"x":1}`, `b.json:1@-1#2 {"y":1}`, `b.json:2@-1#3 {"y":2}`},
				records: []int64{1, 2, 3},
				stats:   Stats{Records: 3, Bytes: 8 + 19},
			},
		},
		{
			name:  "raw audit records normalised, others left alone",
			files: map[string]string{"audit.log": auditEvent + "\n" + auditList + "\n{\"x\":1}\n" + auditOdd + "\n"},
			want: got{
				docs: []string{
					"audit.log:1@-1#1 audit@2026-01-01T00:00:01.500000Z/2026-01-01T00:00:01Z",
					"audit.log:2@-1#2 audit@2026-01-01T00:00:02.500000Z/2026-01-01T00:00:02Z",
					`audit.log:3@` + fmt.Sprint(len(auditEvent)+len(auditList)+2) + `#3 {"x":1}`,
					`audit.log:4@-1#4 audit@/`,
				},
				skips:   []string{"audit.log:2: k8saudit: EventList items[1]: not a JSON object (skipped)"},
				records: []int64{1, 2, 3, 4},
				stats:   Stats{Records: 4, Malformed: 1, Normalized: 3, Bytes: int64(len(auditEvent) + len(auditList) + 2 + 8 + len(auditOdd) + 1)},
			},
		},
		{
			name:   "ecs: audit records as they are",
			files:  map[string]string{"audit.log": auditEvent + "\n"},
			format: ECS,
			want: got{
				docs:    []string{"audit.log:1@0#1 " + auditEvent},
				records: []int64{1},
				stats:   Stats{Records: 1, Bytes: int64(len(auditEvent) + 1)},
			},
		},
		{
			name:   "k8s-audit: what is not an audit record is skipped",
			files:  map[string]string{"audit.log": "{\"x\":1}\n" + auditEvent + "\n"},
			format: K8sAudit,
			want: got{
				docs:    []string{"audit.log:2@-1#1 audit@2026-01-01T00:00:01.500000Z/2026-01-01T00:00:01Z"},
				skips:   []string{"audit.log:1: k8saudit: not a Kubernetes audit record: no audit.k8s.io apiVersion with kind Event or EventList, AKS envelope or GKE k8s.io AuditLog (skipped)"},
				records: []int64{1, 2},
				stats:   Stats{Records: 2, Malformed: 1, Normalized: 1, Bytes: int64(8 + len(auditEvent) + 1)},
			},
		},
		{
			name:   "a strict mapping refuses documents, numbering only those kept",
			files:  map[string]string{"a.ndjson": "{\"a\":1}\n{\"b\":1}\n"},
			reject: strictA,
			want: got{
				docs:    []string{`a.ndjson:2@8#1 {"b":1}`},
				skips:   []string{"a.ndjson:1: mapping set to strict, dynamic introduction of [a] within [_doc] is not allowed (skipped)"},
				records: []int64{1, 2},
				stats:   Stats{Records: 2, Malformed: 1, Bytes: 16},
			},
		},
		{
			name:  "standard input, then a file; an input that cannot be read is skipped",
			files: map[string]string{"a.ndjson": "{\"x\":1}\n"},
			stdin: "{\"s\":1}\n",
			args:  []string{"-", "gone.ndjson", "a.ndjson"},
			want: got{
				docs:    []string{`-:1@-1#1 {"s":1}`, `a.ndjson:1@0#2 {"x":1}`},
				notices: []string{"gone.ndjson: no such file or directory (skipped)"},
				records: []int64{1, 2},
				stats:   Stats{Records: 2, Bytes: 16, InputsSkipped: 1},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "in")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			var paths []string
			for name, content := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
			slices.Sort(paths)
			if tc.args != nil {
				paths = nil
				for _, a := range tc.args {
					if a != "-" {
						a = filepath.Join(dir, a)
					}
					paths = append(paths, a)
				}
			}
			// Expand reports the missing file: the reader is given it, as a file removed
			// since, to report too.
			g := readAll(t.Context(), Inputs{Paths: paths},
				Options{Format: tc.format, Reject: tc.reject, Stdin: strings.NewReader(tc.stdin)})
			if !slices.Equal(g.docs, tc.want.docs) {
				t.Errorf("documents:\n%s\nwant:\n%s", strings.Join(g.docs, "\n"), strings.Join(tc.want.docs, "\n"))
			}
			for i := range g.skips {
				g.skips[i] += " (skipped)" // as the commands print them
			}
			if !slices.Equal(g.skips, tc.want.skips) {
				t.Errorf("skipped: %q, want %q", g.skips, tc.want.skips)
			}
			if !slices.Equal(g.notices, tc.want.notices) {
				t.Errorf("notices: %q, want %q", g.notices, tc.want.notices)
			}
			if !slices.Equal(g.records, tc.want.records) {
				t.Errorf("OnRecord: %v, want %v", g.records, tc.want.records)
			}
			if g.stats != tc.want.stats {
				t.Errorf("stats %+v, want %+v", g.stats, tc.want.stats)
			}
			if g.err != nil {
				t.Errorf("error %v", g.err)
			}
		})
	}
}

// TestReaderCancelled checks how a cancelled run ends: without Follow, the context's
// error, and the input's bytes are not counted; with Follow, the end of the input.
func TestReaderCancelled(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.ndjson")
	if err := os.WriteFile(p, []byte("{\"x\":1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, follow := range []bool{false, true} {
		ctx, cancel := context.WithCancel(t.Context())
		r := NewReader(ctx, Inputs{Paths: []string{p}}, Options{Follow: follow})
		if d, err := r.Next(); err != nil || string(d.Bytes) != `{"x":1}` {
			t.Fatalf("follow %v: %q, %v", follow, d.Bytes, err)
		}
		cancel()
		_, err := r.Next()
		want, wantBytes := error(context.Canceled), int64(0)
		if follow {
			want, wantBytes = io.EOF, 8
		}
		if !errors.Is(err, want) {
			t.Errorf("follow %v: %v, want %v", follow, err, want)
		}
		if st := r.Stats(); st.Records != 1 || st.Bytes != wantBytes {
			t.Errorf("follow %v: %+v", follow, st)
		}
		r.Close()
	}
}
