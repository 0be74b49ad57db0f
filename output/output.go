package output

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Alert is one alert document: Doc is its JSON object, ID its kibana.alert.uuid.
type Alert struct {
	ID  string
	Doc []byte
}

// Sink receives batches of alerts. Write may be called from several goroutines; Close
// flushes what is buffered and releases the sink, after which Write fails.
type Sink interface {
	// Write delivers alerts, in order. An error means some alerts were not delivered; the
	// sink says which (and a sink with a dead-letter file has put them there).
	Write(ctx context.Context, alerts []Alert) error
	// Close flushes and releases the sink.
	Close() error
	// String names the sink for messages, such as "file alerts.ndjson".
	String() string
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("output: sink is closed")

// Backoff is an exponential retry schedule: Initial, then twice the previous wait, capped
// at Max, for at most Retries retries after the first attempt.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	Retries int
}

// DefaultBackoff waits 200ms, 400ms ... up to 10s, for 8 retries (about 30 s in all).
func DefaultBackoff() Backoff {
	return Backoff{Initial: 200 * time.Millisecond, Max: 10 * time.Second, Retries: 8}
}

// wait sleeps before retry number i (0-based), or returns ctx's error.
func (b Backoff) wait(ctx context.Context, i int) error {
	d := b.Initial
	for ; i > 0 && d < b.Max; i-- {
		d *= 2
	}
	if d > b.Max && b.Max > 0 {
		d = b.Max
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// multi fans out to several sinks.
type multi []Sink

// Multi returns a sink that writes every batch to each of sinks in turn and closes them
// all; its errors join theirs.
func Multi(sinks ...Sink) Sink { return multi(sinks) }

func (m multi) Write(ctx context.Context, alerts []Alert) error {
	var errs []error
	for _, s := range m {
		if err := s.Write(ctx, alerts); err != nil {
			errs = append(errs, &sinkError{s, err})
		}
	}
	return errors.Join(errs...)
}

func (m multi) Close() error {
	var errs []error
	for _, s := range m {
		if err := s.Close(); err != nil {
			errs = append(errs, &sinkError{s, err})
		}
	}
	return errors.Join(errs...)
}

// sinkError is an error of one of Multi's sinks: "output: SINK: message", a line for each
// line of the sink's error (the sinks' own "output: " prefix is not repeated).
type sinkError struct {
	sink Sink
	err  error
}

func (e *sinkError) Error() string {
	lines := strings.Split(e.err.Error(), "\n")
	for i, l := range lines {
		lines[i] = "output: " + e.sink.String() + ": " + strings.TrimPrefix(l, "output: ")
	}
	return strings.Join(lines, "\n")
}

func (e *sinkError) Unwrap() error { return e.err }

func (m multi) String() string { return fmt.Sprintf("%d outputs", len(m)) }

// deadLettered is the error of a write whose alerts a sink could not deliver and put in
// its dead-letter file.
type deadLettered struct{ err error }

func (e *deadLettered) Error() string { return e.err.Error() }
func (e *deadLettered) Unwrap() error { return e.err }

// DeadLettered reports whether err, the error of a Sink's Write, says only that alerts
// went to dead-letter files: every alert of the write then reached the sink or a
// dead-letter file. It is false for nil.
func DeadLettered(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := err.(*deadLettered); ok {
		return true
	}
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		errs := e.Unwrap()
		for _, x := range errs {
			if !DeadLettered(x) {
				return false
			}
		}
		return len(errs) > 0
	case interface{ Unwrap() error }:
		return DeadLettered(e.Unwrap())
	}
	return false
}

// appendDeadLetter appends alerts as NDJSON to the file at path, creating it if needed.
func appendDeadLetter(path string, alerts []Alert) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("dead-letter file: %w", err)
	}
	if err := writeNDJSON(f, alerts); err != nil {
		f.Close()
		return fmt.Errorf("dead-letter file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("dead-letter file %s: %w", path, err)
	}
	return nil
}

// writeNDJSON writes each alert document on its own line (compacted first if it spans
// several lines).
func writeNDJSON(w io.Writer, alerts []Alert) error {
	for _, a := range alerts {
		doc, err := oneLine(a.Doc)
		if err != nil {
			return fmt.Errorf("alert %s: %w", a.ID, err)
		}
		if _, err := w.Write(doc); err != nil {
			return err
		}
		if _, err := w.Write([]byte{'\n'}); err != nil {
			return err
		}
	}
	return nil
}

// oneLine returns doc without line breaks: doc itself when it has none.
func oneLine(doc []byte) ([]byte, error) {
	if bytes.IndexByte(doc, '\n') < 0 && bytes.IndexByte(doc, '\r') < 0 {
		return doc, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, doc); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	return b.Bytes(), nil
}
