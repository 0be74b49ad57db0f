package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/ingest/source"
)

// historyFlag is detect's --history: past events the new-terms rules learn their history
// from, without alerting, before the input.
type historyFlag struct{ paths []string }

func (h *historyFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&h.paths, "history", nil, "past events (file or directory, repeatable) that new-terms rules read first as history, without alerting: values seen there within a rule's history window are not new")
}

// apply sets opts.History to read the --history files as the input is read (same input
// format), reporting what cannot be read on stderr.
func (h *historyFlag) apply(opts *detect.Options, in *inputFlags, stderr io.Writer) error {
	if len(h.paths) == 0 {
		return nil
	}
	for _, p := range h.paths {
		if p == "-" {
			return exitWith(exitUsage, fmt.Errorf("--history -: standard input is the input; give history files"))
		}
	}
	ins := expandInputs(h.paths, stderr)
	sopts := in.sourceOptions(nil, stderr)
	sopts.Follow = false
	opts.History = func(ctx context.Context, fn func([]byte, detect.EventSource) error) error {
		r := source.NewReader(ctx, ins, sopts)
		defer r.Close()
		return eachDoc(r, func(doc source.Doc) error {
			src := detect.SourceOf(doc)
			src.HasOffset = false // read once: its events are copied, not read again
			return fn(doc.Bytes, src)
		})
	}
	return nil
}
