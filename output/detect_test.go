package output

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tripline/tripline/detect"
)

// recordSink records each batch and the context it came with, and fails the writes whose
// number (from 0) is in fail.
type recordSink struct {
	fail    map[int]error
	batches [][]Alert
	ctxs    []context.Context
}

func (s *recordSink) Write(ctx context.Context, alerts []Alert) error {
	n := len(s.batches)
	s.batches = append(s.batches, append([]Alert(nil), alerts...))
	s.ctxs = append(s.ctxs, ctx)
	return s.fail[n]
}
func (s *recordSink) Close() error   { return nil }
func (s *recordSink) String() string { return "record" }

type ctxKey struct{}

func TestDelivery(t *testing.T) {
	errA, errB := errors.New("output: a"), errors.New("output: b")
	batch := func(ids ...string) []detect.Alert {
		var out []detect.Alert
		for _, id := range ids {
			out = append(out, detect.Alert{ID: id, Doc: json.RawMessage(`{"id":"` + id + `"}`)})
		}
		return out
	}
	live := context.WithValue(context.Background(), ctxKey{}, "run")
	done, cancel := context.WithCancel(live)
	cancel()
	deliver := context.WithValue(context.Background(), ctxKey{}, "deliver")
	tests := []struct {
		name     string
		nilOut   bool
		deliver  context.Context
		ctx      context.Context
		fail     map[int]error
		wantRet  []error  // Write's result, per batch
		wantCtx  []string // the context each write got, by its ctxKey
		failed   int
		first    error
		reported []error
	}{
		{name: "no output", nilOut: true, ctx: live, wantRet: []error{nil, nil}},
		{name: "delivered", ctx: live, wantRet: []error{nil, nil}, wantCtx: []string{"run", "run"}},
		{name: "failures counted, first kept", ctx: live, fail: map[int]error{0: errA, 1: errB},
			wantRet: []error{nil, nil}, wantCtx: []string{"run", "run"}, failed: 3, first: errA, reported: []error{errA, errB}},
		{name: "one of two fails", ctx: live, fail: map[int]error{1: errB},
			wantRet: []error{nil, nil}, wantCtx: []string{"run", "run"}, failed: 1, first: errB, reported: []error{errB}},
		{name: "run's context done stops the run", ctx: done, fail: map[int]error{0: errA, 1: errB},
			wantRet: []error{errA, errB}, wantCtx: []string{"run", "run"}},
		{name: "delivery context outlives the run's", ctx: done, deliver: deliver, fail: map[int]error{1: errB},
			wantRet: []error{nil, nil}, wantCtx: []string{"deliver", "deliver"}, failed: 1, first: errB, reported: []error{errB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordSink{fail: tt.fail}
			var reported []error
			d := &Delivery{Out: rec, Context: tt.deliver, OnError: func(err error) { reported = append(reported, err) }}
			if tt.nilOut {
				d.Out = nil
			}
			in := [][]detect.Alert{batch("a1", "a2"), batch("a3")}
			for i, b := range in {
				if err := d.Write(tt.ctx, b); err != tt.wantRet[i] {
					t.Errorf("Write #%d = %v, want %v", i, err, tt.wantRet[i])
				}
			}
			var gotCtx []string
			for _, c := range rec.ctxs {
				gotCtx = append(gotCtx, c.Value(ctxKey{}).(string))
			}
			if !reflect.DeepEqual(gotCtx, tt.wantCtx) {
				t.Errorf("write contexts = %v, want %v", gotCtx, tt.wantCtx)
			}
			if !tt.nilOut {
				want := [][]Alert{
					{{ID: "a1", Doc: []byte(`{"id":"a1"}`)}, {ID: "a2", Doc: []byte(`{"id":"a2"}`)}},
					{{ID: "a3", Doc: []byte(`{"id":"a3"}`)}},
				}
				if !reflect.DeepEqual(rec.batches, want) {
					t.Errorf("batches = %q, want %q", rec.batches, want)
				}
			}
			if d.Failed() != tt.failed || d.Err() != tt.first {
				t.Errorf("Failed, Err = %d, %v; want %d, %v", d.Failed(), d.Err(), tt.failed, tt.first)
			}
			if !reflect.DeepEqual(reported, tt.reported) {
				t.Errorf("OnError got %v, want %v", reported, tt.reported)
			}
		})
	}
}

// TestDeliverWritten: Deliver says the alerts were written when Out took them, or put
// those it could not deliver in dead-letter files, and not when any of them is lost.
func TestDeliverWritten(t *testing.T) {
	dead := &deadLettered{errors.New("output: 1 alert not delivered to x, written to dead-letter file d")}
	lost := errors.New("output: file a: no space left on device")
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"taken", nil, true},
		{"dead-lettered", dead, true},
		{"dead-lettered by two sinks", errors.Join(&sinkError{nil, dead}, &sinkError{nil, dead}), true},
		{"one sink lost them", errors.Join(&sinkError{nil, dead}, &sinkError{nil, lost}), false},
		{"lost", lost, false},
		{"lost, wrapped", fmt.Errorf("output: %w", lost), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Delivery{Out: &recordSink{fail: map[int]error{0: tc.err}}}
			written, err := d.Deliver(context.Background(), []detect.Alert{{ID: "a1", Doc: json.RawMessage(`{}`)}})
			if err != nil || written != tc.want {
				t.Errorf("Deliver = %v, %v; want %v, nil", written, err, tc.want)
			}
		})
	}
	if written, err := (&Delivery{}).Deliver(context.Background(), []detect.Alert{{ID: "a1"}}); !written || err != nil {
		t.Errorf("without Out: Deliver = %v, %v; want true, nil", written, err)
	}
}

// TestWebhookDeadLettered: a webhook's refused alerts are dead-lettered (DeadLettered),
// unless the dead-letter file cannot be written, or there is none.
func TestWebhookDeadLettered(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer srv.Close()
	dir := t.TempDir()
	for _, tc := range []struct {
		name, deadLetter string
		want             bool
	}{
		{"dead-letter file", filepath.Join(dir, "dl.ndjson"), true},
		{"dead-letter file not writable", filepath.Join(dir, "no", "such", "dl.ndjson"), false},
		{"no dead-letter file", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := NewWebhook(srv.URL, HTTPOptions{DeadLetter: tc.deadLetter}) // 400: not retried
			if err != nil {
				t.Fatal(err)
			}
			err = w.Write(context.Background(), []Alert{{ID: "a1", Doc: []byte(`{"a":1}`)}})
			if err == nil || DeadLettered(err) != tc.want {
				t.Errorf("Write: %v; DeadLettered %v, want %v", err, DeadLettered(err), tc.want)
			}
		})
	}
}
