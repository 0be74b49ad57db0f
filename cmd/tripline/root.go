package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// newRootCmd builds the command tree. When --cpuprofile starts a profile, *stopCPUProfile is
// set to the function that ends it; the caller runs it once the command has returned.
func newRootCmd(stdin io.Reader, stdout, stderr io.Writer, stopCPUProfile *func()) *cobra.Command {
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
	var cpuProfile string
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the command to this `FILE`, to read with go tool pprof")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if cpuProfile == "" {
			return nil
		}
		f, err := os.Create(cpuProfile)
		if err != nil {
			return exitWith(exitUsage, fmt.Errorf("--cpuprofile: %w", err))
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return exitWith(exitUsage, fmt.Errorf("--cpuprofile: %w", err))
		}
		*stopCPUProfile = func() {
			pprof.StopCPUProfile()
			f.Close()
		}
		return nil
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
		newStateCmd(),
	)
	return root
}

// ioStreams are a command's standard input, output and error.
type ioStreams struct {
	in          io.Reader
	out, errOut io.Writer
}

// streamsOf returns the streams cmd reads and writes.
func streamsOf(cmd *cobra.Command) ioStreams {
	return ioStreams{in: cmd.InOrStdin(), out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr()}
}
