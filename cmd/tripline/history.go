package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/ingest/source"
)

// historyFlag is detect's --history (past events the new-terms rules learn their history
// from, without alerting) and --indicators (the documents of the threat indices that
// indicator-match rules match events against), both read before the input.
type historyFlag struct{ paths, indicators []string }

func (h *historyFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&h.paths, "history", nil, "past events (file or directory, repeatable) that new-terms rules read first as history, without alerting: values seen there within a rule's history window are not new")
	cmd.Flags().StringArrayVar(&h.indicators, "indicators", nil, "threat-intelligence documents (file or directory, repeatable) that indicator-match rules match events against: those matching a rule's threat_index, threat_query and threat_filters")
}

// apply sets opts.History and opts.Indicators to read the files as the input is read
// (same input format), reporting what cannot be read on stderr.
func (h *historyFlag) apply(opts *detect.Options, in *inputFlags, stderr io.Writer) error {
	var err error
	if opts.History, err = readBefore("--history", h.paths, in, stderr); err != nil {
		return err
	}
	opts.Indicators, err = readBefore("--indicators", h.indicators, in, stderr)
	return err
}

// readBefore returns a reader of the documents of paths (nil for none), for a flag.
func readBefore(flag string, paths []string, in *inputFlags, stderr io.Writer) (func(context.Context, func([]byte, detect.EventSource) error) error, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	for _, p := range paths {
		if p == "-" {
			return nil, exitWith(exitUsage, fmt.Errorf("%s -: standard input is the input; give files", flag))
		}
	}
	ins := expandInputs(paths, stderr)
	sopts := in.sourceOptions(nil, stderr)
	sopts.Follow = false
	return func(ctx context.Context, fn func([]byte, detect.EventSource) error) error {
		r := source.NewReader(ctx, ins, sopts)
		defer r.Close()
		return eachDoc(r, func(doc source.Doc) error {
			src := detect.SourceOf(doc)
			src.HasOffset = false // read once: what is kept is copied, not read again
			return fn(doc.Bytes, src)
		})
	}, nil
}
