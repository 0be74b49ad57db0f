package main

import (
	"context"
	"errors"
	"io/fs"
	"slices"

	"github.com/spf13/pflag"

	"github.com/tripline/tripline/detect"
	"github.com/tripline/tripline/exceptions"
	"github.com/tripline/tripline/mapping"
	"github.com/tripline/tripline/rule"
)

// exceptionsUsage is the help of --exceptions.
const exceptionsUsage = "exception lists: a Kibana export NDJSON `FILE` (Security > Rules > Shared exception lists > Export, or POST /api/exception_lists/_export), applied to every rule whose exceptions_list references one of its lists (repeatable); the lists inside a Kibana rule export given to --rules are loaded too"

// registerExceptions adds --exceptions to fs.
func registerExceptions(fs *pflag.FlagSet, files *[]string) {
	fs.StringArrayVar(files, "exceptions", nil, exceptionsUsage)
}

// loadExceptions reads the exception lists of the --exceptions files and those a Kibana rule
// export among the rule files of set carries (the lines the rule loader passed over). It
// returns the errors of ex.Errors but for the lines of a rule export the rule loader
// already reported (describeExceptionsError renders them).
func loadExceptions(files []string, set *rule.Set) (*exceptions.Set, []error) {
	ex := exceptions.Load(files...)
	var exports []string
	for _, rs := range [][]*rule.Rule{set.Rules, skippedRules(set)} {
		for _, r := range rs {
			if r.Source.Line > 0 && !slices.Contains(exports, r.Source.Path) && !slices.Contains(files, r.Source.Path) {
				exports = append(exports, r.Source.Path)
			}
		}
	}
	reported := map[rule.Source]bool{}
	for _, e := range set.Errors {
		var fe *rule.FileError
		if errors.As(e, &fe) {
			reported[fe.Source] = true
		}
	}
	fromRules := exceptions.Load(exports...)
	ex.Lists = append(ex.Lists, fromRules.Lists...)
	ex.Items = append(ex.Items, fromRules.Items...)
	for _, e := range fromRules.Errors {
		var le *exceptions.LineError
		if errors.As(e, &le) && reported[rule.Source{Path: le.Source.Path, Line: le.Source.Line}] {
			continue
		}
		ex.Errors = append(ex.Errors, e)
	}
	return ex, ex.Errors
}

// skippedRules returns the rules the rule loader read but left out.
func skippedRules(set *rule.Set) []*rule.Rule {
	rs := make([]*rule.Rule, len(set.Skipped))
	for i, sk := range set.Skipped {
		rs[i] = sk.Rule
	}
	return rs
}

// describeExceptionsError renders an error of exceptions.Load as FILE:LINE: message, or
// FILE: message for a file that could not be opened (without the path a *fs.PathError
// repeats).
func describeExceptionsError(err error) string {
	var le *exceptions.LineError
	if !errors.As(err, &le) {
		return err.Error()
	}
	if le.Source.Line > 0 {
		return le.Error()
	}
	msg := le.Err.Error()
	var pe *fs.PathError
	if errors.As(le.Err, &pe) && pe.Path == le.Source.Path {
		msg = pe.Err.Error()
	}
	return le.Source.Path + ": " + msg
}

// noDocs reads no documents (an empty input).
func noDocs(context.Context, func([]byte, detect.EventSource) error) error { return nil }

// ruleVerdicts compiles rules as detect compiles them, with the field types of m and the
// exception lists of ex, and returns why each rule that would not run is skipped, by its
// source (rule.Source.String()): a query that does not parse, translate or compile, filters
// that cannot be read, an exception list not loaded.
func ruleVerdicts(ctx context.Context, rules []*rule.Rule, m *mapping.Mapping, ex *exceptions.Set) (map[string]string, error) {
	d, err := detect.New(rules, nil, detect.Options{
		Compile: detect.EngineCompiler(detect.EngineOptions{Mapping: m}),
		Mapping: m, Exceptions: ex, Workers: 1,
		// Nothing is read: a no-op Replay keeps New from creating a spill file, and an
		// empty threat index lets indicator-match rules compile (detect needs --indicators
		// to run them; that is an input, not a property of the rule).
		Replay:     noDocs,
		Indicators: noDocs,
	})
	if err != nil {
		return nil, err
	}
	reasons := make(map[string]string, len(d.Summary().RulesSkipped))
	for _, s := range d.Summary().RulesSkipped {
		reasons[s.Source] = s.Reason
	}
	if err := d.Close(ctx); err != nil {
		return nil, err
	}
	return reasons, nil
}

// checkFlags are the flags of the rules commands that compile rules as detect does:
// --mapping (default ecs) and --exceptions.
type checkFlags struct {
	in         inputFlags
	exceptions []string
}

func (f *checkFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.in.mappings, "mapping", nil, mappingUsage)
	f.in.ecsByDefault(fs)
	registerExceptions(fs, &f.exceptions)
}

// verdicts loads the mapping and the exception lists (reporting the lists' errors through
// report) and compiles the rules of set (see ruleVerdicts).
func (f *checkFlags) verdicts(ctx context.Context, set *rule.Set, report func(err error)) (map[string]string, error) {
	m, err := f.in.loadMapping()
	if err != nil {
		return nil, exitWith(exitUsage, err)
	}
	ex, errs := loadExceptions(f.exceptions, set)
	for _, e := range errs {
		report(e)
	}
	reasons, err := ruleVerdicts(ctx, set.Rules, m, ex)
	if err != nil {
		return nil, exitWith(exitFailure, err)
	}
	return reasons, nil
}
