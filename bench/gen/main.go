package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

// seedRuleID is the rule_id of "Direct Interactive Kubernetes API Request by Unusual Utilities".
const seedRuleID = "02275e05-57a1-46ab-a443-7fb444da6b28"

// manifest is what the generator reports about the data it wrote.
type manifest struct {
	Events         int64            `json:"events"`
	Bytes          int64            `json:"bytes"`
	MinEventBytes  int              `json:"min_event_bytes"`
	MaxEventBytes  int              `json:"max_event_bytes"`
	Seed           uint64           `json:"seed"`
	Hosts          int              `json:"hosts"`
	Users          int              `json:"users"`
	Pods           int              `json:"pods"`
	FirstTimestamp string           `json:"first_timestamp"`
	LastTimestamp  string           `json:"last_timestamp"`
	Kinds          map[string]int   `json:"kinds"`
	SeedRule       seedRuleManifest `json:"seed_rule"`
}

// seedRuleManifest states how many seed-rule sequences the data holds, and why.
type seedRuleManifest struct {
	RuleID            string          `json:"rule_id"`
	ExpectedSequences int             `json:"expected_sequences"`
	Episodes          map[string]int  `json:"episodes"`
	Planted           []plantedRecord `json:"planted,omitempty"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{ingestLag: 2}
	fs.IntVar(&cfg.n, "n", 100000, "number of events to write")
	fs.Uint64Var(&cfg.seed, "seed", 1, "random seed: the same seed and flags give the same bytes")
	fs.IntVar(&cfg.hosts, "hosts", 200, "distinct hosts (one in three is Windows; half the Linux ones are Kubernetes nodes)")
	fs.IntVar(&cfg.users, "users", 500, "distinct users")
	fs.IntVar(&cfg.pods, "pods", 1000, "distinct noise pods (half call the API server, half never do)")
	fs.IntVar(&cfg.planted, "planted", 100, "planted seed-rule sequences (K)")
	fs.IntVar(&cfg.decoys, "decoys", -1, "decoy episodes that must not match (default 2*K)")
	fs.IntVar(&cfg.rate, "rate", 1000, "mean events per second of event time")
	start := fs.String("start", "2026-03-02T09:00:00Z", "timestamp of the first event (RFC 3339)")
	out := fs.String("o", "", "write events to this file instead of standard output")
	manifestPath := fs.String("manifest", "", "write the manifest (JSON) to this file instead of standard error")
	full := fs.Bool("list-planted", false, "list every planted sequence in the manifest")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if cfg.n < 0 || cfg.planted < 0 {
		return fmt.Errorf("-n and -planted must not be negative")
	}
	if cfg.decoys < 0 {
		cfg.decoys = 2 * cfg.planted
	}
	st, err := time.Parse(time.RFC3339Nano, *start)
	if err != nil {
		return fmt.Errorf("-start: %w", err)
	}
	cfg.start = st.UnixNano()
	g, err := newGenerator(cfg)
	if err != nil {
		return err
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	s, err := g.run(ctx, w)
	if err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && *out != "" {
		if err := f.Close(); err != nil {
			return err
		}
	}
	m := g.manifest(s, *full)
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if *manifestPath != "" {
		return os.WriteFile(*manifestPath, data, 0o644)
	}
	_, err = stderr.Write(data)
	return err
}

// manifest summarises a finished run.
func (g *generator) manifest(s stats, listPlanted bool) manifest {
	m := manifest{
		Events: s.events, Bytes: s.bytes, MinEventBytes: s.minSize, MaxEventBytes: s.maxSize,
		Seed: g.cfg.seed, Hosts: g.cfg.hosts, Users: g.cfg.users, Pods: g.cfg.pods,
		FirstTimestamp: strings.Trim(string(appendTime(nil, s.firstTime, 3)), `"`),
		LastTimestamp:  strings.Trim(string(appendTime(nil, s.lastTime, 3)), `"`),
		Kinds:          map[string]int{},
		SeedRule:       seedRuleManifest{RuleID: seedRuleID, ExpectedSequences: len(g.planted), Episodes: map[string]int{}},
	}
	if s.events == 0 {
		m.MinEventBytes = 0
	}
	for k, c := range g.counts {
		m.Kinds[kindNames[k]] = c
	}
	for e, c := range g.epCount {
		m.SeedRule.Episodes[episodeNames[e]] = c
	}
	if listPlanted {
		m.SeedRule.Planted = g.planted
	}
	return m
}
