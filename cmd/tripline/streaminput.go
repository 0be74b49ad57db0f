package main

import (
	"context"
	"fmt"
	"io"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/ingest/source"
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

// readStream gives the detector every document of a Kafka topic or a JetStream stream until
// ctx is cancelled (stream.Docs: raw Kubernetes audit records normalised as for files, a
// message committed once the detector has taken in its documents and written the alerts
// they completed). Events that still wait in the detector's reordering buffer
// (--max-lateness) are committed too, so a crash loses them; a clean stop flushes them, and
// their alerts, before the last commit (the returned closer, to call after the detector's
// Close). Delivery is at least once for everything but that buffer.
func readStream(ctx context.Context, url string, f *inputFlags, stderr io.Writer, d *detect.Detector) (source.Stats, func() error, error) {
	s, err := stream.OpenDocs(ctx, url, f.sourceOptions(nil, stderr))
	if err != nil {
		return source.Stats{}, nil, err
	}
	err = eachDoc(s, func(doc source.Doc) error {
		return d.Process(ctx, doc.Bytes, detect.SourceOf(doc))
	})
	return s.Stats(), s.Close, err
}
