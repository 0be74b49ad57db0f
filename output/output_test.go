package output

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func alerts(from, to int) []Alert {
	var out []Alert
	for i := from; i < to; i++ {
		id := fmt.Sprintf("a%03d", i)
		out = append(out, Alert{ID: id, Doc: []byte(fmt.Sprintf(`{"kibana.alert.uuid":%q,"n":%d}`, id, i))})
	}
	return out
}

func fastBackoff(retries int) Backoff {
	return Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond, Retries: retries}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Spec
		wantErr string
	}{
		{in: "-", want: Spec{Kind: KindStdout}},
		{in: "stdout", want: Spec{Kind: KindStdout}},
		{in: "alerts.ndjson", want: Spec{Kind: KindFile, Path: "alerts.ndjson"}},
		{in: "/var/log/tripline/alerts.ndjson", want: Spec{Kind: KindFile, Path: "/var/log/tripline/alerts.ndjson"}},
		{in: "file:alerts.ndjson?max-size=100MB", want: Spec{Kind: KindFile, Path: "alerts.ndjson", File: FileOptions{MaxSize: 100 << 20}}},
		{in: "file:a.ndjson?max-size=512KiB&max-backups=2", want: Spec{Kind: KindFile, Path: "a.ndjson", File: FileOptions{MaxSize: 512 << 10, MaxBackups: 2}}},
		{in: "webhook:https://hooks.example.com/soc?token=x", want: Spec{Kind: KindWebhook, URL: "https://hooks.example.com/soc?token=x", DeadLetter: "tripline-dead-letter.ndjson", Retries: -1}},
		{in: "webhook:http://127.0.0.1:8080/a#dead-letter=dl.ndjson&retries=0&batch=50", want: Spec{Kind: KindWebhook, URL: "http://127.0.0.1:8080/a", DeadLetter: "dl.ndjson", BatchSize: 50}},
		{in: "webhook:http://bob:hunter2@127.0.0.1:1/hook#retries=0", want: Spec{Kind: KindWebhook, URL: "http://127.0.0.1:1/hook", Username: "bob", Password: "hunter2", DeadLetter: "tripline-dead-letter.ndjson"}},
		{in: "es:http://host:9200/index", want: Spec{Kind: KindElasticsearch, URL: "http://host:9200", Index: "index", DeadLetter: "tripline-dead-letter.ndjson", Retries: -1}},
		{in: "es:https://elastic:changeme@es.local:9200", want: Spec{Kind: KindElasticsearch, URL: "https://es.local:9200", Index: DefaultIndex, Username: "elastic", Password: "changeme", DeadLetter: "tripline-dead-letter.ndjson", Retries: -1}},
		{in: "es:http://proxy/es/alerts-x#api-key-env=ES_KEY", want: Spec{Kind: KindElasticsearch, URL: "http://proxy/es", Index: "alerts-x", APIKeyEnv: "ES_KEY", DeadLetter: "tripline-dead-letter.ndjson", Retries: -1}},
		{in: "", wantErr: "output: empty --output value"},
		{in: "file:", wantErr: `output: "file:": no file name after file:`},
		{in: "file:a?max-size=lots", wantErr: `output: "file:a?max-size=lots": max-size: "lots" is not a size such as 100MB`},
		{in: "file:a?rotate=1", wantErr: `output: "file:a?rotate=1": unknown file option "rotate" (known: max-size, max-backups)`},
		{in: "webhook:ftp://x/y", wantErr: `output: "webhook:ftp://x/y": want an http:// or https:// URL with a host`},
		{in: "webhook:http://x/#retries=-2", wantErr: `output: "webhook:http://x/#retries=-2": retries must be a whole number ≥ 0`},
		{in: "webhook:http://x/#api-key-env=K", wantErr: `output: "webhook:http://x/#api-key-env=K": unknown option "api-key-env"`},
		{in: "http://host:9200", wantErr: `output: "http://host:9200": say where alerts go: webhook:http://host:9200 or es:http://host:9200`},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("Parse(%q) error = %v, want %s", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := map[string]int64{"1": 1, "10B": 10, "2KB": 2048, "3kib": 3072, "100MB": 100 << 20, "1G": 1 << 30, "5MiB": 5 << 20,
		"8589934591G": 8589934591 << 30, "9223372036854775807": math.MaxInt64}
	for in, want := range tests {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MB", "-1MB", "0", "1TB", "1.5MB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) succeeded", bad)
		}
	}
	for in, want := range map[string]string{
		"99999999999G":        `"99999999999G" is too large: the most is 9223372036854775807 bytes`,
		"8589934592G":         `"8589934592G" is too large: the most is 9223372036854775807 bytes`,
		"9223372036854775808": `"9223372036854775808" is too large: the most is 9223372036854775807 bytes`,
	} {
		if got, err := ParseSize(in); err == nil || err.Error() != want {
			t.Errorf("ParseSize(%q) = %d, %v; want error %s", in, got, err, want)
		}
	}
}

func TestStream(t *testing.T) {
	var b bytes.Buffer
	s := NewStream(&b, "stdout")
	ctx := context.Background()
	if err := s.Write(ctx, alerts(0, 2)); err != nil {
		t.Fatal(err)
	}
	// A pretty-printed document is compacted onto one line.
	if err := s.Write(ctx, []Alert{{ID: "p", Doc: []byte("{\n  \"a\": 1\n}")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want := `{"kibana.alert.uuid":"a000","n":0}` + "\n" + `{"kibana.alert.uuid":"a001","n":1}` + "\n" + `{"a":1}` + "\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	if err := s.Write(ctx, alerts(0, 1)); err != ErrClosed {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestFileAppendAndRotate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.ndjson")
	if err := os.WriteFile(path, []byte(`{"old":true}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	line := len(`{"kibana.alert.uuid":"a000","n":0}`) + 1 // 35 bytes a line
	// Room for the old line (13 bytes) and two alerts, then rotate.
	f, err := OpenFile(path, FileOptions{MaxSize: int64(13 + 2*line), MaxBackups: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, batch := range [][]Alert{alerts(0, 3), alerts(3, 7)} {
		if err := f.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// The limit is 83 bytes: a file holds two 35-byte lines (70) but not three (105).
	// The first file (old line, a000, a001) was dropped when a006 rotated the files a
	// third time, as only 2 backups are kept.
	want := map[string][]string{
		path + ".2": {`{"kibana.alert.uuid":"a002","n":2}`, `{"kibana.alert.uuid":"a003","n":3}`},
		path + ".1": {`{"kibana.alert.uuid":"a004","n":4}`, `{"kibana.alert.uuid":"a005","n":5}`},
		path:        {`{"kibana.alert.uuid":"a006","n":6}`},
	}
	for p, w := range want {
		if got := readLines(t, p); !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %q, want %q", filepath.Base(p), got, w)
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3 exists: only 2 backups should be kept", path)
	}
}

// recorder is a webhook receiver that fails its first `fail` requests with `status`.
type recorder struct {
	mu       sync.Mutex
	fail     int
	status   int
	requests int
	keys     []string
	got      []string // alert ids received in accepted requests
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if req.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad content type", http.StatusUnsupportedMediaType)
		return
	}
	var batch []map[string]any
	if err := json.NewDecoder(req.Body).Decode(&batch); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.fail > 0 {
		r.fail--
		http.Error(w, "try later", r.status)
		return
	}
	r.keys = append(r.keys, req.Header.Get("Idempotency-Key"))
	for _, a := range batch {
		r.got = append(r.got, a["kibana.alert.uuid"].(string))
	}
}

func ids(as []Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func readDeadLetter(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m["kibana.alert.uuid"].(string))
	}
	return out
}

func TestWebhookFailsThenRecovers(t *testing.T) {
	tests := []struct {
		name         string
		fail, status int
		retries      int
		delivered    []string
		deadLettered []string
		stats        Stats
		wantErr      bool
	}{
		// Three 503s, then recovery within the retries: every alert once, in order.
		{"recovers within retries", 3, http.StatusServiceUnavailable, 5, ids(alerts(0, 5)), nil,
			Stats{Delivered: 5, Requests: 6, Retries: 3}, false},
		{"429 is retried", 1, http.StatusTooManyRequests, 5, ids(alerts(0, 5)), nil,
			Stats{Delivered: 5, Requests: 4, Retries: 1}, false},
		// Down longer than the retries: the first batch (2 alerts) goes to the dead-letter
		// file after 1+2 attempts; the server is back for the next batches.
		{"dead letter, then recovery", 3, http.StatusBadGateway, 2, ids(alerts(2, 5)), ids(alerts(0, 2)),
			Stats{Delivered: 3, DeadLettered: 2, Requests: 5, Retries: 2}, true},
		// A 4xx other than 408/429 is not retried.
		{"refused outright", 1, http.StatusForbidden, 5, ids(alerts(2, 5)), ids(alerts(0, 2)),
			Stats{Delivered: 3, DeadLettered: 2, Requests: 3}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{fail: tc.fail, status: tc.status}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			dl := filepath.Join(t.TempDir(), "dead.ndjson")
			w, err := NewWebhook(srv.URL+"/alerts", HTTPOptions{Backoff: fastBackoff(tc.retries), DeadLetter: dl, BatchSize: 2})
			if err != nil {
				t.Fatal(err)
			}
			err = w.Write(context.Background(), alerts(0, 5))
			if (err != nil) != tc.wantErr {
				t.Errorf("Write error = %v, want error %v", err, tc.wantErr)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rec.got, tc.delivered) {
				t.Errorf("delivered %v, want %v", rec.got, tc.delivered)
			}
			if got := readDeadLetter(t, dl); !reflect.DeepEqual(got, tc.deadLettered) {
				t.Errorf("dead-lettered %v, want %v", got, tc.deadLettered)
			}
			if w.Stats() != tc.stats {
				t.Errorf("stats %+v, want %+v", w.Stats(), tc.stats)
			}
			// Nothing lost, nothing twice.
			all := append(append([]string(nil), rec.got...), readDeadLetter(t, dl)...)
			seen := map[string]bool{}
			for _, id := range all {
				if seen[id] {
					t.Errorf("alert %s delivered twice", id)
				}
				seen[id] = true
			}
			if len(seen) != 5 {
				t.Errorf("%d distinct alerts accounted for, want 5", len(seen))
			}
		})
	}
}

func TestWebhookIdempotencyKeyStableAcrossRetries(t *testing.T) {
	var keys []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		if len(keys) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	w, _ := NewWebhook(srv.URL, HTTPOptions{Backoff: fastBackoff(3)})
	if err := w.Write(context.Background(), alerts(0, 3)); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] != keys[1] || len(keys[0]) != 32 {
		t.Errorf("Idempotency-Key headers %q: want two equal 32-hex-digit keys", keys)
	}
}

// fakeES is a minimal _bulk endpoint: create actions, 409 for an existing _id, 400 for a
// document with a "bad" field, 429 for the first attempt of ids listed in busy.
type fakeES struct {
	mu       sync.Mutex
	docs     map[string]string // index/_id → document
	busy     map[string]bool
	down     int // whole requests answered 503
	requests int
	auth     string
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.auth = r.Header.Get("Authorization")
	if r.URL.Path != "/_bulk" || r.Header.Get("Content-Type") != "application/x-ndjson" {
		http.Error(w, "not a bulk request", http.StatusBadRequest)
		return
	}
	if f.down > 0 {
		f.down--
		http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	sc := bufio.NewScanner(r.Body)
	type result struct {
		ID     string         `json:"_id"`
		Index  string         `json:"_index"`
		Status int            `json:"status"`
		Error  map[string]any `json:"error,omitempty"`
	}
	var items []map[string]result
	errs := false
	for sc.Scan() {
		var action map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sc.Scan()
		doc := sc.Text()
		a := action["create"]
		res := result{ID: a.ID, Index: a.Index, Status: http.StatusCreated}
		key := a.Index + "/" + a.ID
		switch {
		case f.busy[a.ID]:
			delete(f.busy, a.ID)
			res.Status, res.Error = http.StatusTooManyRequests, map[string]any{"type": "es_rejected_execution_exception"}
		case strings.Contains(doc, `"bad"`):
			res.Status, res.Error = http.StatusBadRequest, map[string]any{"type": "document_parsing_exception"}
		case f.docs[key] != "":
			res.Status, res.Error = http.StatusConflict, map[string]any{"type": "version_conflict_engine_exception"}
		default:
			f.docs[key] = doc
		}
		errs = errs || res.Status >= 300
		items = append(items, map[string]result{"create": res})
	}
	json.NewEncoder(w).Encode(map[string]any{"took": 1, "errors": errs, "items": items})
}

func TestElasticsearchBulk(t *testing.T) {
	es := &fakeES{docs: map[string]string{}, busy: map[string]bool{"a002": true}, down: 1}
	srv := httptest.NewServer(es)
	defer srv.Close()
	dl := filepath.Join(t.TempDir(), "dead.ndjson")
	spec, err := Parse("es:" + strings.Replace(srv.URL, "http://", "http://elastic:secret@", 1) + "#dead-letter=" + dl)
	if err != nil {
		t.Fatal(err)
	}
	spec.Retries = 3
	sink, err := spec.Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := sink.(*Elasticsearch)
	e.opts.Backoff = fastBackoff(3)
	ctx := context.Background()
	batch := append(alerts(0, 4), Alert{ID: "bad1", Doc: []byte(`{"kibana.alert.uuid":"bad1","bad":1}`)})
	err = e.Write(ctx, batch)
	if err == nil || !strings.Contains(err.Error(), "item bad1: status 400") {
		t.Errorf("Write error = %v, want the refused item named", err)
	}
	// Re-sending alerts already there counts them as duplicates, not failures.
	if err := e.Write(ctx, alerts(2, 6)); err != nil {
		t.Errorf("re-send: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	var stored []string
	for k := range es.docs {
		stored = append(stored, k)
	}
	want := map[string]bool{}
	for _, id := range ids(alerts(0, 6)) {
		want[DefaultIndex+"/"+id] = true
	}
	if len(stored) != 6 {
		t.Errorf("stored %v, want the 6 alerts a000..a005 once", stored)
	}
	for _, k := range stored {
		if !want[k] {
			t.Errorf("unexpected document %s", k)
		}
	}
	// Requests: 503, then 5 items (a002 429), then a002 alone; then the re-send.
	if got, want := e.Stats(), (Stats{Delivered: 6, Duplicates: 2, DeadLettered: 1, Requests: 4, Retries: 2}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	if got := readDeadLetter(t, dl); !reflect.DeepEqual(got, []string{"bad1"}) {
		t.Errorf("dead-lettered %v, want [bad1]", got)
	}
	if es.auth != "Basic ZWxhc3RpYzpzZWNyZXQ=" {
		t.Errorf("Authorization %q, want basic elastic:secret", es.auth)
	}
}

func TestElasticsearchAPIKeyAndIndex(t *testing.T) {
	es := &fakeES{docs: map[string]string{}}
	srv := httptest.NewServer(es)
	defer srv.Close()
	t.Setenv("TRIPLINE_TEST_ES_KEY", "aWQ6a2V5")
	s, err := Open("es:"+srv.URL+"/my-alerts#api-key-env=TRIPLINE_TEST_ES_KEY", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), alerts(0, 1)); err != nil {
		t.Fatal(err)
	}
	if _, ok := es.docs["my-alerts/a000"]; !ok || es.auth != "ApiKey aWQ6a2V5" {
		t.Errorf("docs %v, auth %q", es.docs, es.auth)
	}
	if _, err := Open("es:"+srv.URL+"#api-key-env=TRIPLINE_TEST_UNSET_VAR", nil); err == nil {
		t.Error("an empty API key variable should be an error")
	}
}

func TestMulti(t *testing.T) {
	var a, b bytes.Buffer
	m := Multi(NewStream(&a, "a"), NewStream(&b, "b"))
	if err := m.Write(context.Background(), alerts(0, 2)); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() || strings.Count(a.String(), "\n") != 2 {
		t.Errorf("a=%q b=%q", a.String(), b.String())
	}
}

func BenchmarkFileWrite(b *testing.B) {
	f, err := OpenFile(filepath.Join(b.TempDir(), "a.ndjson"), FileOptions{MaxSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	batch := alerts(0, 100)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFileAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.ndjson")
	for i := range 2 { // two runs of the program append to the same file
		f, err := OpenFile(path, FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Write(context.Background(), alerts(i, i+1)); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{`{"kibana.alert.uuid":"a000","n":0}`, `{"kibana.alert.uuid":"a001","n":1}`}
	if got := readLines(t, path); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWebhookCredentialsNeverPrinted(t *testing.T) {
	var mu sync.Mutex
	var auths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		auths = append(auths, r.Header.Get("Authorization"))
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	withCreds := func(base string) string { return strings.Replace(base, "http://", "http://bob:hunter2@", 1) }
	var msgs []string
	for _, target := range []string{srv.URL, "http://127.0.0.1:1"} { // refused by the receiver; unreachable
		sink, err := Open("webhook:"+withCreds(target)+"/hook#retries=0&dead-letter=", nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, fmt.Sprint(sink))
		err = sink.Write(context.Background(), alerts(0, 1))
		if err == nil {
			t.Fatalf("%s: Write succeeded", target)
		}
		msgs = append(msgs, err.Error())
	}
	if want := []string{"Basic Ym9iOmh1bnRlcjI="}; !reflect.DeepEqual(auths, want) {
		t.Errorf("Authorization headers %q, want %q", auths, want)
	}
	if want := "webhook http://127.0.0.1:1/hook"; msgs[2] != want {
		t.Errorf("String() = %q, want %q", msgs[2], want)
	}
	for _, spec := range []string{
		"webhook:http://bob:hunter2@x/#nope=1",
		"webhook:ftp://bob:hunter2@x/y",
		"webhook:http://bob:hunter2@x/#retries=-1",
		"webhook:http://bob:hunter2@x:port/",
		"es:http://bob:hunter2@x/#batch=0",
	} {
		_, err := Parse(spec)
		if err == nil {
			t.Fatalf("Parse(%q) succeeded", spec)
		}
		msgs = append(msgs, err.Error())
	}
	for _, raw := range []string{"http://bob:hunter2@x:port/", "ftp://bob:hunter2@x/"} {
		if _, err := NewWebhook(raw, HTTPOptions{}); err != nil {
			msgs = append(msgs, err.Error())
		}
		if _, err := NewElasticsearch(raw, ElasticsearchOptions{}); err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) != 13 {
		t.Errorf("%d messages, want 13: %q", len(msgs), msgs)
	}
	for _, m := range msgs {
		if strings.Contains(m, "hunter2") {
			t.Errorf("message shows the password: %s", m)
		}
	}
}

func TestFileRecoversAfterWriteError(t *testing.T) {
	line := func(i int) string { return string(alerts(i, i+1)[0].Doc) + "\n" }
	tests := []struct {
		name  string
		opts  FileOptions
		fail  func(t *testing.T, f *File) // makes the next write fail
		heal  func(t *testing.T, f *File) // after the failed write
		files map[string]string           // suffix of the path: content
	}{
		{
			// The file descriptor goes bad (as after a disk error); meanwhile someone
			// leaves half a line in the file: it is ended before the next alert.
			name: "bad descriptor",
			fail: func(t *testing.T, f *File) { f.f.Close() },
			heal: func(t *testing.T, f *File) {
				fh, err := os.OpenFile(f.path, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				fh.WriteString(`{"half":`)
				fh.Close()
			},
			files: map[string]string{"": line(0) + `{"half":` + "\n" + line(2)},
		},
		{
			// Rotation fails (path.1 is a non-empty directory), then works again.
			name: "failed rotation",
			opts: FileOptions{MaxSize: 40, MaxBackups: 1},
			fail: func(t *testing.T, f *File) {
				if err := os.MkdirAll(filepath.Join(f.path+".1", "x"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			heal: func(t *testing.T, f *File) {
				if err := os.RemoveAll(f.path + ".1"); err != nil {
					t.Fatal(err)
				}
			},
			files: map[string]string{"": line(2), ".1": line(0)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "alerts.ndjson")
			f, err := OpenFile(path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := f.Write(ctx, alerts(0, 1)); err != nil {
				t.Fatal(err)
			}
			tc.fail(t, f)
			if err := f.Write(ctx, alerts(1, 2)); err == nil || !strings.HasPrefix(err.Error(), "output: ") || !strings.Contains(err.Error(), path) {
				t.Fatalf("Write after the failure: error %v, want one naming %s", err, path)
			}
			tc.heal(t, f)
			if err := f.Write(ctx, alerts(2, 3)); err != nil {
				t.Fatalf("Write after recovery: %v", err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			for suffix, want := range tc.files {
				got, err := os.ReadFile(path + suffix)
				if err != nil || string(got) != want {
					t.Errorf("%s = %q, %v; want %q", filepath.Base(path+suffix), got, err, want)
				}
			}
		})
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestHTTPSinksStopWhenCancelled checks that a webhook or Elasticsearch sink whose receiver
// never answers, or is not there, stops as soon as its context is cancelled, whatever its
// retry schedule (the default: 8 retries over about 30 s) and client timeout (30 s), puts
// every alert not delivered in the dead-letter file and says why.
func TestHTTPSinksStopWhenCancelled(t *testing.T) {
	stop := errors.New("stopping: a test")
	// silent takes requests and never answers them; it cancels the context of the test
	// under way (set before each) when a request comes.
	var (
		mu     sync.Mutex
		cancel context.CancelCauseFunc
	)
	release := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		cancel(stop)
		mu.Unlock()
		select {
		case <-r.Context().Done(): // the client gave up
		case <-release:
		}
	}))
	defer silent.Close()
	defer close(release)
	// closed is an address nothing listens on; the transport cancels the context once the
	// first attempt failed there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	refused := &http.Client{Timeout: 30 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		mu.Lock()
		cancel(stop)
		mu.Unlock()
		return resp, err
	})}
	refusedWhy := func(url string) string {
		return `Post "` + url + `": dial tcp ` + closed + ": connect: connection refused; then stopping: a test"
	}
	silentURL, closedURL := silent.URL, "http://"+closed
	tests := []struct {
		name     string
		open     func(opts HTTPOptions) (Sink, error)
		url      string // where the requests go
		client   *http.Client
		firstWhy string // why the first batch was not delivered
	}{
		{"webhook, no answer", func(o HTTPOptions) (Sink, error) { return NewWebhook(silentURL+"/hook", o) },
			silentURL + "/hook", nil, "stopping: a test"},
		{"webhook, connection refused", func(o HTTPOptions) (Sink, error) { return NewWebhook(closedURL+"/hook", o) },
			closedURL + "/hook", refused, refusedWhy(closedURL + "/hook")},
		{"elasticsearch, no answer", func(o HTTPOptions) (Sink, error) {
			return NewElasticsearch(silentURL, ElasticsearchOptions{HTTPOptions: o})
		}, silentURL + "/_bulk", nil, "stopping: a test"},
		{"elasticsearch, connection refused", func(o HTTPOptions) (Sink, error) {
			return NewElasticsearch(closedURL, ElasticsearchOptions{HTTPOptions: o})
		}, closedURL + "/_bulk", refused, refusedWhy(closedURL + "/_bulk")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dl := filepath.Join(t.TempDir(), "dead.ndjson")
			sink, err := tc.open(HTTPOptions{DeadLetter: dl, BatchSize: 2, Client: tc.client})
			if err != nil {
				t.Fatal(err)
			}
			ctx, c := context.WithCancelCause(context.Background())
			defer c(nil)
			mu.Lock()
			cancel = c
			mu.Unlock()
			done := make(chan error, 1)
			go func() { done <- sink.Write(ctx, alerts(0, 5)) }()
			// The bound is far below what the retries or one request's timeout would take.
			var werr error
			select {
			case werr = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Write did not return within 10 s of its context being cancelled")
			}
			want := "output: 2 alerts not delivered to " + tc.url + ", written to dead-letter file " + dl + ": " + tc.firstWhy + "\n" +
				"output: 3 alerts not delivered to " + tc.url + ", written to dead-letter file " + dl + ": stopping: a test"
			if werr == nil || werr.Error() != want {
				t.Errorf("Write error:\n%v\nwant:\n%s", werr, want)
			}
			if !errors.Is(werr, stop) {
				t.Errorf("Write error %v does not wrap the context's cause", werr)
			}
			if got, want := readDeadLetter(t, dl), ids(alerts(0, 5)); !reflect.DeepEqual(got, want) {
				t.Errorf("dead-lettered %v, want %v", got, want)
			}
			if st := sink.(interface{ Stats() Stats }).Stats(); st != (Stats{DeadLettered: 5, Requests: 1}) {
				t.Errorf("stats %+v, want 5 dead-lettered after 1 request", st)
			}
		})
	}
}

// TestMultiErrors checks that Multi names the sink of each error once, without repeating
// the sinks' own "output: " prefix.
func TestMultiErrors(t *testing.T) {
	dl := filepath.Join(t.TempDir(), "dead.ndjson")
	w, err := NewWebhook("http://127.0.0.1:1/hook", HTTPOptions{DeadLetter: dl, Backoff: fastBackoff(0), BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	m := Multi(NewStream(&b, "stdout"), w)
	err = m.Write(context.Background(), alerts(0, 3))
	const why = `Post "http://127.0.0.1:1/hook": dial tcp 127.0.0.1:1: connect: connection refused`
	want := "output: webhook http://127.0.0.1:1/hook: 2 alerts not delivered to http://127.0.0.1:1/hook, written to dead-letter file " + dl + ": " + why + "\n" +
		"output: webhook http://127.0.0.1:1/hook: 1 alert not delivered to http://127.0.0.1:1/hook, written to dead-letter file " + dl + ": " + why
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	if n := strings.Count(b.String(), "\n"); n != 3 {
		t.Errorf("stdout got %d alerts, want 3", n)
	}
}
