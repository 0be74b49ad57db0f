package main

import (
	"io"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "tripline",
		Short: "Run Elastic Security EQL detection rules over security events, anywhere",
		Long: `Tripline runs Elastic Security's EQL detection rules outside Elasticsearch, with
Elasticsearch's semantics: over NDJSON files, standard input, raw Kubernetes audit logs,
or an HTTP endpoint that speaks Elasticsearch's _bulk API. It writes alerts shaped like
Kibana's.

Start here:
  tripline detect --rules examples/rules examples/events     run rules, print alerts
  tripline query 'process where process.name == "bash"' events.ndjson
  tripline parse 'sequence by host.id [process where true] [network where true]'
  tripline rules validate path/to/detection-rules

` + exitCodesHelp,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.CompletionOptions.HiddenDefaultCmd = true
	root.AddCommand(
		newDetectCmd(),
		newQueryCmd(),
		newServeCmd(),
		newParseCmd(),
		newRulesCmd(),
	)
	return root
}
