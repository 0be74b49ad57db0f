package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/kql"
)

// parseOptions are the flags and argument of parse.
type parseOptions struct {
	format   string
	language string
	mappings []string
	query    string
}

func newParseCmd() *cobra.Command {
	o := &parseOptions{}
	cmd := &cobra.Command{
		Use:   "parse [flags] QUERY",
		Short: "Check an EQL or KQL query and print it in canonical form or as a syntax tree",
		Long: `Parse and verify an EQL query the way Elasticsearch does (a KQL query with --language
kuery, the way Kibana does), then print it back.

With --format eql (the default) the query is printed in canonical form: one line, minimal
parentheses, names quoted only where needed. With --format json the syntax tree is printed
as JSON, with the line and column of every node.

With --language kuery (or kql), --format kql (the default) prints the canonical KQL,
--format json its syntax tree and --format dsl the Elasticsearch query Kibana's detection
engine builds from it, with the field types of --mapping (default: the built-in ECS mapping).

An invalid query prints the error, the offending line and a caret on stderr, and exits 2.`,
		Example: `  tripline parse 'process where process.name : "cmd.exe"'
  tripline parse --format json 'sequence by host.id with maxspan=1s [process where true] [network where true]'
  tripline parse --language kuery --format dsl 'process.name:(cmd.exe or powershell.exe) and not user.name:SYSTEM'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.query = args[0]
			return o.run(streamsOf(cmd))
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "", "output: eql or kql (canonical query, the default), json (syntax tree), dsl (kuery only: Elasticsearch query)")
	cmd.Flags().StringVar(&o.language, "language", "eql", "query language: eql, or kuery (alias kql)")
	cmd.Flags().StringArrayVar(&o.mappings, "mapping", nil, mappingUsage+" (default ecs; with --format dsl)")
	return cmd
}

// run parses the query and prints it back in the --format asked.
func (o *parseOptions) run(ios ioStreams) error {
	switch o.language {
	case "eql":
	case "kuery", "kql":
		return o.runKQL(ios)
	default:
		return exitWith(exitUsage, fmt.Errorf("unknown --language %q (want eql, kuery or kql)", o.language))
	}
	if o.format == "" {
		o.format = "eql"
	}
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

// runKQL parses a KQL query and prints it back in the --format asked.
func (o *parseOptions) runKQL(ios ioStreams) error {
	switch o.format {
	case "", "kql", "json", "dsl":
	default:
		return exitWith(exitUsage, fmt.Errorf("unknown --format %q (want kql, json or dsl)", o.format))
	}
	n, err := kql.Parse(o.query)
	if err != nil {
		fmt.Fprint(ios.errOut, describeQueryError(o.query, err))
		return exitWith(exitUsage, nil)
	}
	var out []byte
	switch o.format {
	case "", "kql":
		out = []byte(kql.Format(n))
	case "json":
		if out, err = kql.ToJSON(n); err != nil {
			return exitWith(exitFailure, err)
		}
	case "dsl":
		in := inputFlags{mappings: o.mappings, defaultECS: true}
		m, err := in.loadMapping()
		if err != nil {
			return exitWith(exitUsage, err)
		}
		q, err := kql.ToQuery(n, kql.MappingFields(m))
		if err != nil {
			return exitWith(exitFailure, err)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(q); err != nil {
			return exitWith(exitFailure, err)
		}
		out = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	fmt.Fprintln(ios.out, string(out))
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
