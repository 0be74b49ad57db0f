package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tripline/tripline/eql"
)

// parseOptions are the flags and argument of parse.
type parseOptions struct {
	format string
	query  string
}

func newParseCmd() *cobra.Command {
	o := &parseOptions{}
	cmd := &cobra.Command{
		Use:   "parse [flags] QUERY",
		Short: "Check an EQL query and print it in canonical form or as a syntax tree",
		Long: `Parse and verify an EQL query the way Elasticsearch does, then print it back.

With --format eql (the default) the query is printed in canonical form: one line, minimal
parentheses, names quoted only where needed. With --format json the syntax tree is printed
as JSON, with the line and column of every node.

An invalid query prints the error, the offending line and a caret on stderr, and exits 2.`,
		Example: `  tripline parse 'process where process.name : "cmd.exe"'
  tripline parse --format json 'sequence by host.id with maxspan=1s [process where true] [network where true]'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.query = args[0]
			return o.run(streamsOf(cmd))
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "eql", "output: eql (canonical query) or json (syntax tree)")
	return cmd
}

// run parses the query and prints it back in the --format asked.
func (o *parseOptions) run(ios ioStreams) error {
	stmt, err := eql.Parse(o.query)
	if err != nil {
		fmt.Fprint(ios.errOut, describeQueryError(o.query, err))
		return exitWith(exitUsage, nil)
	}
	switch o.format {
	case "eql":
		fmt.Fprintln(ios.out, eql.Format(stmt))
	case "json":
		b, err := eql.ToJSON(stmt)
		if err != nil {
			return exitWith(exitFailure, err)
		}
		fmt.Fprintln(ios.out, string(b))
	default:
		return exitWith(exitUsage, fmt.Errorf("unknown --format %q (want eql or json)", o.format))
	}
	return nil
}

// describeQueryError renders a query error for stderr: each error as "error: line L:C:
// message", followed by the offending line and a caret under the column when it has a
// position; several errors are separated by a blank line.
func describeQueryError(src string, err error) string {
	var list eql.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		parts := make([]string, len(list))
		for i, e := range list {
			parts[i] = "error: " + e.Render(src)
		}
		return strings.Join(parts, "\n\n") + "\n"
	}
	var r interface{ Render(src string) string }
	msg := err.Error()
	if errors.As(err, &r) {
		msg = r.Render(src)
	}
	msg = "error: " + msg
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	return msg
}
