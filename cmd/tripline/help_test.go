package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestHelp checks that every command's --help succeeds and lists each of its flags with a
// description, and that flags which mean nothing to a command are not offered.
func TestHelp(t *testing.T) {
	var cmds [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		cmds = append(cmds, path)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				walk(sub, append(append([]string(nil), path...), sub.Name()))
			}
		}
	}
	root := newRootCmd(nil, nil, nil, new(func()))
	walk(root, nil)
	if len(cmds) != 12 { // root, detect, parse, query, rules, rules list, rules test, rules validate, serve, state, state inspect, state reset
		t.Errorf("%d commands: %v", len(cmds), cmds)
	}
	for _, path := range cmds {
		t.Run(strings.Join(append([]string{"tripline"}, path...), " "), func(t *testing.T) {
			r := runCLI(t, "", append(append([]string(nil), path...), "--help")...)
			if r.code != exitOK || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			c, _, err := root.Find(path)
			if err != nil {
				t.Fatal(err)
			}
			if c.Short == "" {
				t.Error("no short description")
			}
			c.Flags().VisitAll(func(f *pflag.Flag) {
				if len(f.Usage) < 12 {
					t.Errorf("--%s: description %q is too thin", f.Name, f.Usage)
				}
				if !strings.Contains(r.stdout, "--"+f.Name+" ") {
					t.Errorf("--%s is missing from --help", f.Name)
				}
			})
		})
	}
	// --cpuprofile's argument is a file (pflag takes a `quoted` word of the usage for its name).
	if r := runCLI(t, "", "--help"); !strings.Contains(r.stdout, "      --cpuprofile FILE   write a CPU profile of the command to this FILE, to read with go tool pprof\n") {
		t.Errorf("--cpuprofile in --help:\n%s", r.stdout)
	}
	// rules test offers every event to the rule: no --index, which would do nothing.
	if test, _, _ := root.Find([]string{"rules", "test"}); test.Flags().Lookup("index") != nil {
		t.Error("rules test offers --index")
	}
	// serve reads no files: the file-reading flags are not offered.
	serve, _, _ := root.Find([]string{"serve"})
	for _, name := range []string{"follow", "progress", "index"} {
		if serve.Flags().Lookup(name) != nil {
			t.Errorf("serve offers --%s", name)
		}
	}
}
