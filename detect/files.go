package detect

import (
	"context"
	"io"

	"github.com/tripline/tripline/ingest/source"
)

// SourceOf returns where a document read by package source came from, as Process takes it.
func SourceOf(doc source.Doc) EventSource {
	return EventSource{Name: doc.Source, Line: doc.Line, Seq: doc.Seq, Offset: doc.Offset, HasOffset: doc.Offset >= 0}
}

// ReplayFiles returns an Options.Replay that reads the input files paths (source.Expand
// gives them) again with opts, as a source.Reader did the first time, each document with
// the source SourceOf gave it then; or nil when they cannot be read a second time
// (source.Rereadable: standard input, pipes). The second reading reports nothing (what it
// would report was reported the first time) and never follows a file.
func ReplayFiles(paths []string, opts source.Options) func(context.Context, func([]byte, EventSource) error) error {
	if !source.Rereadable(paths) {
		return nil
	}
	opts.Follow, opts.Stdin = false, nil
	opts.Notice, opts.Skip, opts.OnRecord = nil, nil, nil
	return func(ctx context.Context, fn func([]byte, EventSource) error) error {
		r := source.NewReader(ctx, source.Inputs{Paths: paths}, opts)
		defer r.Close()
		for {
			doc, err := r.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := fn(doc.Bytes, SourceOf(doc)); err != nil {
				return err
			}
		}
	}
}
