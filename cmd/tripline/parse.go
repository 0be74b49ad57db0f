package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tripline/tripline/eql"
)

func newParseCmd() *cobra.Command {
	var format string
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
			src := args[0]
			stmt, err := eql.Parse(src)
			if err != nil {
				fmt.Fprint(cmd.ErrOrStderr(), describeQueryError(src, err))
				return exitWith(exitUsage, nil)
			}
			out := cmd.OutOrStdout()
			switch format {
			case "eql":
				fmt.Fprintln(out, eql.Format(stmt))
			case "json":
				b, err := eql.ToJSON(stmt)
				if err != nil {
					return exitWith(exitFailure, err)
				}
				fmt.Fprintln(out, string(b))
			default:
				return exitWith(exitUsage, fmt.Errorf("unknown --format %q (want eql or json)", format))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "eql", "output: eql (canonical query) or json (syntax tree)")
	return cmd
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
