package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/exceptions"
	"github.com/tripline/tripline/kql"
	"github.com/tripline/tripline/rule"
)

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Validate and list detection rules",
		Long: `Work with detection rules: Elastic's detection-rules TOML files (a file, or a directory
read recursively) and Kibana rule exports (NDJSON from POST /api/detection_engine/rules/_export).`,
	}
	cmd.AddCommand(newRulesValidateCmd(), newRulesListCmd(), newRulesTestCmd())
	return cmd
}

// validation is the outcome of validating one rule (or one unreadable file).
type validation struct {
	File     string `json:"file"`
	RuleID   string `json:"rule_id"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Language string `json:"language"`
	Status   string `json:"status"` // ok, error or unsupported
	Error    string `json:"error"`  // empty unless Status is "error"
	// Line and Column locate the error in the file when it is known (0 otherwise).
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Note says why an EQL rule that parses would still not run (for example query filters).
	Note string `json:"note,omitempty"`
	// unreadable is a file that could not be read at all (Status "error").
	unreadable bool
}

// rulesValidateOptions are the flags and arguments of rules validate.
type rulesValidateOptions struct {
	check  checkFlags
	format string
	paths  []string // rule files and directories
}

func newRulesValidateCmd() *cobra.Command {
	o := &rulesValidateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [flags] PATH...",
		Short: "Parse and compile every EQL and query rule in rule files, as detect would",
		Long: `Read detection-rules TOML files and Kibana export NDJSON files (directories recursively),
then compile every EQL rule and every query rule (KQL, language kuery; Lucene) exactly as
detect and serve compile them: the query parsed and verified (KQL translated with the field
types of --mapping, then checked against them as Elasticsearch checks a search: a value a
field's type cannot take is "failed to create query: ..."), the rule's filters read, and the
items of its exception lists resolved (--exceptions, and the lists a Kibana rule export
carries).

Each rule gets one status:
  ok           detect and serve will run it
  error        the file, the query, its filters or its exception lists are broken, or a list
               it references is not loaded: the position is given as FILE:LINE:COLUMN inside
               the rule file when it can be found, and as line:column inside the query
  unsupported  a kind of rule Tripline does not run (its type/language is shown, such as
               esql/esql or threshold/kuery)

Exits 1 when any EQL or query rule (or rule file) failed, 0 otherwise.`,
		Example: `  tripline rules validate examples/rules
  tripline rules validate --format json ../detection-rules/rules | jq 'select(.status=="error")'
  tripline rules validate --mapping ecs --mapping my-fields.json rules/   # KQL types from ECS and my-fields.json
  tripline rules validate --exceptions exception_lists.ndjson rules/      # resolve exceptions_list references`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.paths = args
			return o.run(cmd.Context(), streamsOf(cmd))
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "text", "output: text (one line per rule and a summary) or json (one object per rule)")
	o.check.register(cmd.Flags())
	return cmd
}

// run loads the rules, checks each and prints the outcome; it fails when a rule or a rule
// file is broken.
func (o *rulesValidateOptions) run(ctx context.Context, ios ioStreams) error {
	if o.format != "text" && o.format != "json" {
		return exitWith(exitUsage, fmt.Errorf("unknown --format %q (want text or json)", o.format))
	}
	set, err := rule.Load(ctx, o.paths...)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	var exErrs []error
	reasons, err := o.check.verdicts(ctx, set, func(err error) { exErrs = append(exErrs, err) })
	if err != nil {
		return err
	}
	results := validateRules(set, reasons, exErrs)
	failed := 0
	for _, v := range results {
		if v.Status == "error" {
			failed++
		}
	}
	if o.format == "json" {
		enc := json.NewEncoder(ios.out)
		enc.SetEscapeHTML(false)
		for _, v := range results {
			if err := enc.Encode(v); err != nil {
				return exitWith(exitFailure, err)
			}
		}
	} else {
		writeValidationText(ios.out, results)
	}
	if failed > 0 {
		return exitWith(exitFailure, nil)
	}
	return nil
}

// validateRules checks every rule of set, in load order, and the files that failed to load.
// reasons says why detect would skip a rule of set.Rules (see ruleVerdicts); exErrs are
// the errors of the exception list files.
func validateRules(set *rule.Set, reasons map[string]string, exErrs []error) []validation {
	var out []validation
	check := func(r *rule.Rule, note string, runs bool) {
		v := validation{
			File: r.Source.Path, RuleID: r.RuleID, Name: r.Name,
			Type: r.Type, Language: r.Language, Status: "ok", Note: note,
		}
		if r.Source.Line > 0 { // a rule of a Kibana export: the line of the file
			v.Line = r.Source.Line
		}
		if !r.IsEQL() && !r.IsQuery() && !isStatefulKQL(r) {
			v.Status = "unsupported"
			v.Note = r.Unsupported()
			out = append(out, v)
			return
		}
		// The syntax first, for the position of an error in the file; then what detect says.
		if err := parseRuleQuery(r); err != nil {
			v.Status = "error"
			v.Error = err.Error()
			if line, col := locateInFile(r, queryErrorPos(err)); line > 0 {
				v.Line, v.Column = line, col
			}
		} else if reason := reasons[r.Source.String()]; runs && reason != "" {
			v.Status = "error"
			v.Error = reason
		}
		out = append(out, v)
	}
	for _, r := range set.Rules {
		check(r, "", true)
	}
	for _, sk := range set.Skipped {
		check(sk.Rule, sk.Reason, false)
	}
	for _, e := range exErrs {
		v := validation{Status: "error", Error: e.Error()}
		var le *exceptions.LineError
		if errors.As(e, &le) {
			v.File, v.Line, v.Error = le.Source.Path, le.Source.Line, le.Err.Error()
			var pe *fs.PathError
			if errors.As(le.Err, &pe) && pe.Path == le.Source.Path {
				v.Error, v.unreadable = pe.Err.Error(), true
			}
		}
		out = append(out, v)
	}
	for _, e := range set.Errors {
		v := validation{Status: "error", Error: e.Error()}
		var fe *rule.FileError
		if errors.As(e, &fe) {
			v.File, v.Line = fe.Source.Path, fe.Source.Line
			v.Error = describeFileErr(fe)
			if v.Line > 0 {
				v.Column, v.Error = splitColumn(v.Error)
			}
		}
		v.unreadable = unreadableFile(e)
		out = append(out, v)
	}
	// One list in file order (and line order inside an export), whatever the outcome.
	slices.SortStableFunc(out, func(a, b validation) int {
		return cmpSource(rule.Source{Path: a.File, Line: a.Line}, rule.Source{Path: b.File, Line: b.Line})
	})
	return out
}

// cmpSource orders rule sources by file, then line.
func cmpSource(a, b rule.Source) int {
	if c := strings.Compare(a.Path, b.Path); c != 0 {
		return c
	}
	return a.Line - b.Line
}

// describeRuleFileError renders an error of the rule loader as "FILE:LINE:COLUMN: message"
// (or FILE:LINE, or FILE, as far as the position is known).
func describeRuleFileError(err error) string {
	var fe *rule.FileError
	if !errors.As(err, &fe) {
		return err.Error()
	}
	if fe.Source.Line == 0 {
		return fe.Source.Path + ": " + describeFileErr(fe)
	}
	col, msg := splitColumn(fe.Err.Error())
	if col == 0 {
		return fe.Error()
	}
	return fmt.Sprintf("%s:%d:%d: %s", fe.Source.Path, fe.Source.Line, col, msg)
}

// describeFileErr words the error of a rule file without the path a *fs.PathError repeats:
// "no such file or directory" rather than "stat PATH: no such file or directory".
func describeFileErr(fe *rule.FileError) string {
	var pe *fs.PathError
	if errors.As(fe.Err, &pe) && pe.Path == fe.Source.Path {
		return pe.Err.Error()
	}
	return fe.Err.Error()
}

// unreadableFile reports whether a rule loader error is a file that could not be read at
// all (missing, not allowed), rather than one read and found broken.
func unreadableFile(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe)
}

// splitColumn takes the column out of a TOML syntax error of the rule loader, which reads
// "column N: message", so that the position can be printed as FILE:LINE:COLUMN.
func splitColumn(msg string) (int, string) {
	rest, ok := strings.CutPrefix(msg, "column ")
	if !ok {
		return 0, msg
	}
	num, text, ok := strings.Cut(rest, ": ")
	col, err := strconv.Atoi(num)
	if !ok || err != nil || col <= 0 {
		return 0, msg
	}
	return col, text
}

// parseRuleQuery parses the query of an EQL or KQL rule (a Lucene query is not parsed
// here): its syntax errors are *eql.Error or *kql.Error, with their positions.
func parseRuleQuery(r *rule.Rule) error {
	switch {
	case r.IsEQL():
		_, err := eql.Parse(r.Query)
		return err
	case r.IsQuery() && r.Language == "kuery":
		_, err := kql.Parse(r.Query)
		return err
	case isStatefulKQL(r):
		if r.Language == "kuery" {
			if _, err := kql.Parse(r.Query); err != nil {
				return err
			}
		}
		if r.IsThreatMatch() && (r.ThreatLanguage == "" || r.ThreatLanguage == "kuery") {
			if _, err := kql.Parse(r.ThreatQuery); err != nil {
				return fmt.Errorf("threat_query: %w", err)
			}
		}
	}
	return nil
}

// queryErrorPos returns the position in the query of an EQL or KQL syntax error (the zero
// Pos for others).
func queryErrorPos(err error) eql.Pos {
	var qe *eql.Error
	if errors.As(err, &qe) {
		return qe.Pos
	}
	var ke *kql.Error
	if errors.As(err, &ke) {
		return eql.Pos{Line: ke.Pos.Line, Column: ke.Pos.Column}
	}
	return eql.Pos{}
}

// locateInFile turns a position inside a rule's query into a line and column of the rule's
// file, by finding the query text in a TOML file. It returns zeros when the query cannot be
// found verbatim (for example in an NDJSON export, where it is JSON-escaped).
func locateInFile(r *rule.Rule, p eql.Pos) (line, col int) {
	if r.Source.Path == "" || r.Source.Line != 0 || !p.IsValid() {
		return 0, 0
	}
	data, err := os.ReadFile(r.Source.Path)
	if err != nil {
		return 0, 0
	}
	i := strings.Index(string(data), r.Query)
	if i < 0 {
		return 0, 0
	}
	start := strings.Count(string(data[:i]), "\n") + 1
	line = start + p.Line - 1
	col = p.Column
	if p.Line == 1 {
		col += i - (strings.LastIndexByte(string(data[:i]), '\n') + 1)
	}
	return line, col
}

func writeValidationText(w io.Writer, results []validation) {
	counts, okByType := map[string]int{}, map[string]int{}
	files := map[string]bool{}
	unreadable := 0
	for _, v := range results {
		if v.unreadable {
			unreadable++
		} else {
			counts[v.Status]++
			files[v.File] = true
			if v.Status == "ok" {
				okByType[v.Type]++
			}
		}
		loc := v.File
		switch {
		case v.Line > 0 && v.Column > 0:
			loc = fmt.Sprintf("%s:%d:%d", v.File, v.Line, v.Column)
		case v.Line > 0:
			loc = fmt.Sprintf("%s:%d", v.File, v.Line)
		}
		switch v.Status {
		case "ok":
			if v.Note != "" {
				fmt.Fprintf(w, "ok           %s (parses, but will not run: %s)\n", loc, v.Note)
			} else {
				fmt.Fprintf(w, "ok           %s\n", loc)
			}
		case "unsupported":
			fmt.Fprintf(w, "unsupported  %s: %s\n", loc, v.Note)
		default:
			fmt.Fprintf(w, "error        %s: %s\n", loc, v.Error)
		}
	}
	word := "files"
	if len(files) == 1 {
		word = "file"
	}
	var byType []string
	for _, t := range []string{"eql", "query", "threshold", "new_terms", "threat_match"} {
		if n := okByType[t]; n > 0 {
			byType = append(byType, fmt.Sprintf("%d %s", n, t))
		}
	}
	fmt.Fprintf(w, "\n%s ok", plural(int64(counts["ok"]), "rule"))
	if len(byType) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(byType, ", "))
	}
	fmt.Fprintf(w, ", %d with errors, %d of types Tripline does not run (%d %s read",
		counts["error"], counts["unsupported"], len(files), word)
	if unreadable > 0 {
		fmt.Fprintf(w, ", %d unreadable", unreadable)
	}
	fmt.Fprintln(w, ")")
}

// rulesListOptions are the flags and arguments of rules list.
type rulesListOptions struct {
	check  checkFlags
	format string
	paths  []string // rule files and directories
}

func newRulesListCmd() *cobra.Command {
	o := &rulesListOptions{}
	cmd := &cobra.Command{
		Use:   "list [flags] PATH...",
		Short: "List rules: id, name, type, severity, and whether Tripline can run them",
		Long: `Read detection-rules TOML files and Kibana export NDJSON files (directories recursively)
and list every rule: its rule_id, name, type/language, severity, and whether detect and
serve will run it, with the reason when not (a kind other than EQL and query rules, an invalid
query or type error, filters that cannot be read, an exception list not loaded, a duplicate
rule_id). Rules are compiled as detect compiles them, with --mapping and --exceptions.

--format json prints one object per rule with rule_id, name, type, language, severity,
risk_score, supported, reason (when not supported) and file.

Rule files that cannot be read are reported on stderr, and the exit status is then 1.`,
		Example: `  tripline rules list examples/rules
  tripline rules list --format json ../detection-rules/rules | jq -r 'select(.supported) | .name'
  tripline rules list --exceptions endpoint_list.ndjson ../detection-rules/rules   # the lists the rules reference`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.paths = args
			return o.run(cmd.Context(), streamsOf(cmd))
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "text", "output: text (a table) or json (one object per rule)")
	o.check.register(cmd.Flags())
	return cmd
}

// ruleRow is one rule as rules list prints it.
type ruleRow struct {
	RuleID    string `json:"rule_id"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	Language  string `json:"language"`
	Severity  string `json:"severity"`
	RiskScore int    `json:"risk_score"`
	Supported bool   `json:"supported"`
	Reason    string `json:"reason,omitempty"`
	File      string `json:"file"`

	source rule.Source
}

// run loads the rules and lists them, in file order; it fails when a rule file cannot be
// read.
func (o *rulesListOptions) run(ctx context.Context, ios ioStreams) error {
	set, err := rule.Load(ctx, o.paths...)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	var exErrs []error
	reasons, err := o.check.verdicts(ctx, set, func(err error) { exErrs = append(exErrs, err) })
	if err != nil {
		return err
	}
	var rows []ruleRow
	add := func(r *rule.Rule, reason string) {
		if reason == "" {
			reason = reasons[r.Source.String()]
		}
		rows = append(rows, ruleRow{r.RuleID, r.Name, r.Type, r.Language, r.Severity, r.RiskScore, reason == "", reason, r.Source.String(), r.Source})
	}
	for _, r := range set.Rules {
		add(r, "")
	}
	for _, sk := range set.Skipped {
		add(sk.Rule, sk.Reason)
	}
	slices.SortStableFunc(rows, func(a, b ruleRow) int { return cmpSource(a.source, b.source) })
	out := ios.out
	switch o.format {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return exitWith(exitFailure, err)
			}
		}
	case "text":
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RULE ID\tNAME\tTYPE\tSEVERITY\tSUPPORTED")
		for _, r := range rows {
			sup := "yes"
			if !r.Supported {
				sup = "no: " + r.Reason
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.RuleID, truncate(r.Name, 60), r.Type+"/"+r.Language, r.Severity, sup)
		}
		tw.Flush()
	default:
		return exitWith(exitUsage, fmt.Errorf("unknown --format %q (want text or json)", o.format))
	}
	for _, e := range set.Errors {
		fmt.Fprintf(ios.errOut, "tripline: %s\n", describeRuleFileError(e))
	}
	for _, e := range exErrs {
		fmt.Fprintf(ios.errOut, "tripline: exception list file %s\n", describeExceptionsError(e))
	}
	if len(set.Errors)+len(exErrs) > 0 {
		return exitWith(exitFailure, nil)
	}
	return nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
