package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tripline/tripline/stream"
)

// streamArg returns the one stream URL among the input arguments (kafka://... or
// nats://...), or "" when they are all files. A stream cannot be mixed with files.
func streamArg(args []string) (string, error) {
	var url string
	for _, a := range args {
		if !stream.IsURL(a) {
			continue
		}
		if url != "" {
			return "", fmt.Errorf("one stream at a time: %s and %s", url, a)
		}
		url = a
	}
	if url != "" && len(args) > 1 {
		return "", fmt.Errorf("a stream (%s) cannot be read together with files", url)
	}
	return url, nil
}

// readStream consumes a Kafka topic or a JetStream stream until ctx is cancelled, calling
// fn for each document (raw Kubernetes audit records normalised as for files). A message is
// committed (Kafka offset, JetStream ack) only after fn returned nil for every document it
// held: the detector has taken the events in and written the alerts they completed.
// Events that still wait in the detector's reordering buffer (--max-lateness) are
// committed too, so a crash loses them; a clean stop flushes them, and their alerts, before
// the last commit (the returned closer, to call after the detector's Close). Delivery is at
// least once for everything but that buffer.
func readStream(ctx context.Context, url string, f *inputFlags, stderr io.Writer, fn docFunc) (inputStats, func() error, error) {
	var st inputStats
	cfg, err := stream.Parse(url)
	if err != nil {
		return st, nil, exitWith(exitUsage, err)
	}
	src, err := stream.Open(ctx, cfg)
	if err != nil {
		return st, nil, err
	}
	norm := newAuditNormalizer()
	var docs [][]byte
	reject := f.rejects()
	for {
		rec, err := src.Next()
		if err != nil {
			var pe *stream.PositionError
			switch {
			case errors.As(err, &pe):
				st.Records++
				st.Malformed++
				fmt.Fprintf(stderr, "%v (skipped)\n", pe)
				continue
			case ctx.Err() != nil, errors.Is(err, stream.ErrClosed):
				return st, src.Close, nil
			default:
				fmt.Fprintf(stderr, "tripline: %s: %v\n", url, err)
				continue
			}
		}
		st.Records++
		st.Bytes += int64(len(rec.Doc))
		var normalized bool
		docs, normalized, err = toECS(rec.Doc, f.inputFormat, norm, docs[:0])
		if err != nil {
			st.Malformed++
			fmt.Fprintf(stderr, "%s:%d: %v (skipped)\n", rec.Source, rec.Position, err)
		}
		if normalized {
			st.Normalized += int64(len(docs))
		}
		for _, doc := range docs {
			if reject != nil {
				if err := reject(doc); err != nil {
					st.Malformed++
					fmt.Fprintf(stderr, "%s:%d: %v (skipped)\n", rec.Source, rec.Position, err)
					continue
				}
			}
			if err := fn(doc, rec.Source, int(rec.Position), -1); err != nil {
				// Not committed: the message is read again after a restart.
				return st, src.Close, err
			}
		}
		if err := src.Commit(rec); err != nil {
			return st, src.Close, err
		}
	}
}
