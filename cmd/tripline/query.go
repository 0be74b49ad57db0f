package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/ingest/source"
	"github.com/tripline/tripline/kql"
	"github.com/tripline/tripline/mapping"
)

// queryOptions are the flags and arguments of query.
type queryOptions struct {
	in               inputFlags
	timestampField   string
	tiebreakerField  string
	categoryField    string
	size             int
	sizeSet          bool // --size was given
	resultPosition   string
	maxSamplesPerKey int
	format           string
	stats            bool
	language         string   // eql, or kuery (kql)
	query            string   // the EQL or KQL query
	paths            []string // the inputs
}

func newQueryCmd() *cobra.Command {
	o := &queryOptions{}
	cmd := &cobra.Command{
		Use:   "query [flags] QUERY [FILE...]",
		Short: "Run one EQL or KQL query over events, as Elasticsearch's _eql/search would",
		Long: `Run one EQL query (event query, sequence or sample, with head/tail pipes) over events and
print the matches.

With --language kuery (or kql), QUERY is a KQL query, as a query rule or Kibana's search bar
takes it: it is translated into an Elasticsearch query with the field types of --mapping, as
Kibana translates it, and matches each event with Elasticsearch's per-field-type answers
(keyword exact and case-sensitive, text analysed, ip with CIDR, numbers given as strings).
It runs as the EQL query "any where <the KQL query>", with the same formats, --size and
flags. A KQL syntax error is shown as Kibana shows it, with a caret under its position.

Events are read from the files (NDJSON, a JSON array of objects, or .gz of either), or from
standard input when no file (or "-") is given. Each file is one index, named after the file
(events.ndjson.gz is index "events") unless --index names it. Raw kube-apiserver audit
records are turned into ECS first (--input-format), with event.ingested set to
stageTimestamp truncated to seconds. An input that cannot be read is reported and skipped,
and the others are read (exit 3); a file named twice (or by two names) is read once.

The whole input is ordered by timestamp, then --tiebreaker-field, then input order, so the
results are the ones Elasticsearch gives. Without --size every result is printed; with it,
--result-position head keeps the first ones and tail the last ones, printed in ascending
order either way; --size 0 prints none, as Elasticsearch's size 0 returns none (the input
is still read, and malformed records reported). With --follow, events are matched in
arrival order as they come, with a reordering buffer of --max-lateness.

Output formats:
  ndjson  one line per event (its _source, compacted if it spans lines in the input); for
          sequences and samples one line per match:
          {"join_keys":[...],"events":[...]} with null for a missing event
  es      one document shaped like Elasticsearch's _eql/search response
  table   a table for people: timestamp, category, and a few key fields

At the end, a line on stderr gives records read, skipped (with why), results, and the pending
state (buffered events, partial sequences) at the end and at its peak (--stats: as JSON).

` + exitCodesHelp,
		Example: `  tripline query 'process where process.name : "bash"' examples/events/*.ndjson
  tripline query --format table 'sequence by host.id with maxspan=1m [process where true] [network where true]' events.ndjson
  zcat audit.log.gz | tripline query --input-format k8s-audit 'any where kubernetes.audit.verb == "create"'
  tripline query --mapping mapping.json --size 10 --result-position head 'file where file.name like~ "*.exe"' events.json
  tripline query --language kuery --mapping ecs 'process.name:(bash or sh) and not user.name:root' events.ndjson
  zcat events.ndjson.gz | tripline query --language kql --format table 'source.ip:10.0.0.0/8 and destination.port >= 1024'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.query, o.paths = args[0], args[1:]
			o.sizeSet = cmd.Flags().Changed("size")
			return o.run(cmd.Context(), streamsOf(cmd))
		},
	}
	fs := cmd.Flags()
	o.in.register(fs, forQuery)
	fs.StringVar(&o.timestampField, "timestamp-field", "@timestamp", "field holding the event time")
	fs.StringVar(&o.tiebreakerField, "tiebreaker-field", "", "field that orders events with the same timestamp (events without it come last)")
	fs.StringVar(&o.categoryField, "event-category-field", "event.category", "field that \"<category> where\" compares with")
	fs.IntVar(&o.size, "size", 0, "most results to print, as Elasticsearch's size (0: none, as there; default: every result)")
	fs.StringVar(&o.resultPosition, "result-position", "tail", "with --size: head keeps the earliest results, tail the most recent")
	fs.IntVar(&o.maxSamplesPerKey, "max-samples-per-key", 1, "samples per join-key tuple for sample queries")
	fs.StringVar(&o.format, "format", "ndjson", "output: ndjson, es or table")
	fs.StringVar(&o.language, "language", "eql", "the language of QUERY: eql, or kuery (alias kql): KQL, translated with the field types of --mapping")
	fs.BoolVar(&o.stats, "stats", false, "print the run's counters on stderr as JSON instead of the one-line summary")
	return cmd
}

// validate checks the flags and returns the --result-position.
func (o *queryOptions) validate() (engine.Position, error) {
	if err := o.in.validate(); err != nil {
		return 0, exitWith(exitUsage, err)
	}
	switch o.format {
	case "ndjson", "es", "table":
	default:
		return 0, exitWith(exitUsage, fmt.Errorf("unknown --format %q (want ndjson, es or table)", o.format))
	}
	switch o.language {
	case "eql", "kuery":
	case "kql":
		o.language = "kuery"
	default:
		return 0, exitWith(exitUsage, fmt.Errorf("unknown --language %q (want eql, kuery or kql)", o.language))
	}
	if o.size < 0 {
		return 0, exitWith(exitUsage, errors.New("--size must not be negative"))
	}
	pos, err := engine.ParsePosition(o.resultPosition)
	if err != nil || o.resultPosition == "" {
		return 0, exitWith(exitUsage, fmt.Errorf("unknown --result-position %q (want head or tail)", o.resultPosition))
	}
	return pos, nil
}

// run compiles the query, runs it over the inputs and prints the results, then the run's
// counters on stderr.
func (o *queryOptions) run(ctx context.Context, ios ioStreams) error {
	stdout, stderr := ios.out, ios.errOut
	pos, err := o.validate()
	if err != nil {
		return err
	}
	// As Elasticsearch, which skips a query whose limit is 0, --size 0 gives no result: the
	// query does not run, but the input is still read and malformed records reported. No
	// --size: every result.
	noResults := o.size == 0 && o.sizeSet
	m, err := o.in.loadMapping()
	if err != nil {
		return exitWith(exitUsage, err)
	}
	stmt, err := o.statement(m)
	if err != nil {
		fmt.Fprint(stderr, describeQueryError(o.query, err))
		return exitWith(exitUsage, nil)
	}
	fields := event.NewFields()
	q, err := engine.Compile(stmt, fields, engine.Options{
		TimestampField:   o.timestampField,
		TiebreakerField:  o.tiebreakerField,
		CategoryField:    o.categoryField,
		Mapping:          m,
		Size:             o.size,
		ResultPosition:   pos,
		MaxSamplesPerKey: o.maxSamplesPerKey,
		MaxLateness:      o.in.maxLateness,
		MaxPending:       o.in.maxPending,
	})
	if err != nil {
		fmt.Fprint(stderr, describeQueryError(o.query, err))
		return exitWith(exitUsage, nil)
	}
	out := &resultWriter{format: o.format, bw: bufio.NewWriterSize(stdout, 64<<10), seqs: isSequenceOrSample(stmt), start: time.Now()}
	if o.format == "table" {
		out.tbl = newTableWriter(stdout, fields, o.timestampField, o.categoryField)
	}
	defer out.bw.Flush()
	dec := event.NewDecoder(fields)
	unseen := newUnseenFields(stmt, m, fields)
	mode := engine.Batch
	if o.in.follow {
		mode = engine.Streaming
	}
	qr := q.NewRun(mode, out.emit)

	var ev event.Event
	var seq uint64
	var skipped, undecodable int64
	r, done := o.in.openInputs(ctx, expandInputs(o.paths, stderr), ios.in, stderr)
	rerr := eachDoc(r, func(doc source.Doc) error {
		if err := dec.Decode(doc.Bytes, &ev); err != nil {
			undecodable++
			fmt.Fprintf(stderr, "%s:%d: %v (skipped)\n", doc.Source, doc.Line, err)
			return nil
		}
		seq++
		unseen.see(&ev)
		ev.Source, ev.Line, ev.Seq = doc.Source, doc.Line, seq
		ev.Index = o.in.index
		if ev.Index == "" {
			ev.Index = indexName(doc.Source)
		}
		if noResults {
			return nil
		}
		if err := qr.Push(&ev); err != nil {
			skipped++
			fmt.Fprintf(stderr, "%v (skipped)\n", err)
		}
		if out.err != nil {
			return out.err
		}
		if o.in.follow {
			return out.bw.Flush()
		}
		return nil
	})
	done()
	ist := r.Stats()
	// Flush even when interrupted (--follow ends with ^C): results still in the reordering
	// buffer are printed, not lost.
	if ferr := qr.Flush(context.WithoutCancel(ctx)); ferr != nil && rerr == nil {
		rerr = ferr
	}
	werr := out.finish()
	st := qr.Stats()
	unseen.warn(stderr, stmt)
	if o.stats {
		b, _ := json.Marshal(struct {
			Input source.Stats `json:"input"`
			Query engine.Stats `json:"query"`
		}{ist, st})
		fmt.Fprintln(stderr, string(b))
	} else {
		writeQuerySummary(stderr, ist, st, undecodable, skipped)
	}
	if werr != nil {
		return exitWith(exitFailure, werr)
	}
	if rerr != nil && ctx.Err() != nil && !o.in.follow {
		return exitWith(exitSignaled, errInterrupted)
	}
	if rerr != nil && !(o.in.follow && ctx.Err() != nil) {
		return exitWith(exitFailure, rerr)
	}
	if ist.Malformed+undecodable+skipped > 0 || ist.InputsSkipped > 0 {
		return exitWith(exitSkipped, nil)
	}
	return nil
}

// statement parses the query in its --language: EQL as it is, KQL translated with the
// field types of m into the query Kibana sends, as the EQL statement any where <search>
// (a query rule's statement).
func (o *queryOptions) statement(m *mapping.Mapping) (*eql.Statement, error) {
	if o.language != "kuery" {
		return eql.Parse(o.query)
	}
	n, err := kql.Parse(o.query)
	if err != nil {
		return nil, err
	}
	q, err := kql.ToQuery(n, kql.MappingFields(m))
	if err != nil {
		return nil, err
	}
	where := &eql.Search{Language: "kuery", Source: o.query, Query: q}
	return &eql.Statement{Query: &eql.EventQuery{Any: true, Where: where}}, nil
}

// resultWriter prints the results of a query in its --format: ndjson as they come, es and
// table at the end.
type resultWriter struct {
	format  string
	bw      *bufio.Writer
	tbl     *tableWriter // for table
	seqs    bool         // the query gives sequences or samples
	start   time.Time
	results []*engine.Result // for es
	scratch bytes.Buffer     // for ndjson
	err     error            // the first write error: nothing more is written
}

// emit takes one result (engine.Query.NewRun's emit).
func (w *resultWriter) emit(res *engine.Result) {
	if w.err != nil {
		return
	}
	switch w.format {
	case "es":
		w.results = append(w.results, res)
	case "table":
		w.tbl.add(res)
	default:
		w.err = writeResultNDJSON(w.bw, res, w.seqs, &w.scratch)
	}
}

// finish writes what the format writes at the end and flushes; it returns the first
// write error.
func (w *resultWriter) finish() error {
	if w.err == nil {
		switch w.format {
		case "es":
			w.err = writeESResponse(w.bw, w.results, w.seqs, time.Since(w.start))
		case "table":
			w.err = w.tbl.flush()
		}
	}
	if err := w.bw.Flush(); err != nil && w.err == nil {
		w.err = err
	}
	return w.err
}

// writeQuerySummary writes query's one-line summary: records read, skipped (with why),
// results, and the pending state. undecodable counts the documents the decoder refused,
// skipped the events the run did not use.
func writeQuerySummary(w io.Writer, ist source.Stats, st engine.Stats, undecodable, skipped int64) {
	fmt.Fprintf(w, "%s read", plural(ist.Records, "record"))
	if ist.InputsSkipped > 0 {
		fmt.Fprintf(w, " (%s skipped)", plural(ist.InputsSkipped, "input"))
	}
	fmt.Fprintf(w, ", %d skipped, %s", ist.Malformed+undecodable+skipped, plural(st.Results, "result"))
	if n := ist.Malformed + undecodable + skipped; n > 0 {
		fmt.Fprintf(w, " (skipped: %d malformed, %d without a valid timestamp, %d later than --max-lateness)",
			ist.Malformed+undecodable, st.NoTimestamp, st.Late)
	}
	fmt.Fprintf(w, "; pending state at the end %d, peak %d", st.Pending, st.PeakPending)
	if st.PendingCapHits > 0 {
		fmt.Fprintf(w, ", %d partial sequences dropped by --max-pending", st.PendingCapHits)
	}
	fmt.Fprintln(w)
}

// plural writes n and the noun, with an s unless n is 1.
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}

// indexName names the index of a file's events: its base name without .gz, .ndjson, .jsonl, .log
// or .json; "stdin" for standard input.
func indexName(source string) string {
	if source == "-" || source == "" {
		return "stdin"
	}
	name := filepath.Base(source)
	for _, ext := range []string{".gz", ".ndjson", ".jsonl", ".json", ".log"} {
		name = strings.TrimSuffix(name, ext)
	}
	return name
}

// isSequenceOrSample reports whether stmt gives sequences (sequence and sample queries)
// rather than events.
func isSequenceOrSample(stmt *eql.Statement) bool {
	switch stmt.Query.(type) {
	case *eql.Sequence, *eql.Sample:
		return true
	}
	return false
}

// writeResultNDJSON writes an event's _source, or a sequence/sample as
// {"join_keys":[...],"events":[...]} with null for a missing event, on one line: a
// document that spans several lines in the input (an indented JSON array) is compacted into
// scratch first.
func writeResultNDJSON(w *bufio.Writer, res *engine.Result, sequence bool, scratch *bytes.Buffer) error {
	if !sequence {
		writeOneLine(w, res.Events[0].Raw, scratch)
		return w.WriteByte('\n')
	}
	w.WriteString(`{"join_keys":`)
	keys, err := json.Marshal(res.JoinKeys)
	if err != nil {
		return err
	}
	if res.JoinKeys == nil {
		keys = []byte("[]")
	}
	w.Write(keys)
	w.WriteString(`,"events":[`)
	for i, ev := range res.Events {
		if i > 0 {
			w.WriteByte(',')
		}
		if ev == nil {
			w.WriteString("null")
		} else {
			writeOneLine(w, ev.Raw, scratch)
		}
	}
	w.WriteString("]}\n")
	return nil
}

// writeOneLine writes the JSON document doc without line breaks: as it is when it has
// none, else compacted, which keeps the order of the keys and the text of the numbers.
func writeOneLine(w *bufio.Writer, doc []byte, scratch *bytes.Buffer) {
	if bytes.IndexByte(doc, '\n') < 0 && bytes.IndexByte(doc, '\r') < 0 {
		w.Write(doc)
		return
	}
	scratch.Reset()
	if err := json.Compact(scratch, doc); err != nil {
		w.Write(doc) // not reached: the reader gives valid JSON objects
		return
	}
	w.Write(scratch.Bytes())
}

// esHit is one event of an _eql/search response.
type esHit struct {
	Index   string          `json:"_index"`
	ID      string          `json:"_id"`
	Source  json.RawMessage `json:"_source"`
	Missing bool            `json:"missing,omitempty"`
}

func toHit(ev *event.Event) esHit {
	if ev == nil {
		return esHit{Source: json.RawMessage("{}"), Missing: true}
	}
	return esHit{Index: ev.Index, ID: event.DocID(ev.Raw), Source: json.RawMessage(ev.Raw)}
}

// writeESResponse writes the results as Elasticsearch's _eql/search response body:
// hits.events for an event query, hits.sequences for a sequence or a sample (an empty
// list when nothing matched).
func writeESResponse(w io.Writer, results []*engine.Result, sequences bool, took time.Duration) error {
	type sequence struct {
		JoinKeys []string `json:"join_keys,omitempty"`
		Events   []esHit  `json:"events"`
	}
	type hits struct {
		Total struct {
			Value    int    `json:"value"`
			Relation string `json:"relation"`
		} `json:"total"`
		// Exactly one of the two is set, possibly to an empty list.
		Events    *[]esHit    `json:"events,omitempty"`
		Sequences *[]sequence `json:"sequences,omitempty"`
	}
	var h hits
	h.Total.Value, h.Total.Relation = len(results), "eq"
	events, seqs := []esHit{}, []sequence{}
	for _, r := range results {
		if !sequences {
			events = append(events, toHit(r.Events[0]))
			continue
		}
		s := sequence{JoinKeys: r.JoinKeys}
		for _, ev := range r.Events {
			s.Events = append(s.Events, toHit(ev))
		}
		seqs = append(seqs, s)
	}
	if sequences {
		h.Sequences = &seqs
	} else {
		h.Events = &events
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		IsPartial bool  `json:"is_partial"`
		IsRunning bool  `json:"is_running"`
		Took      int64 `json:"took"`
		TimedOut  bool  `json:"timed_out"`
		Hits      hits  `json:"hits"`
	}{Took: took.Milliseconds(), Hits: h})
}

// tableWriter prints results as an aligned table for people.
type tableWriter struct {
	w     io.Writer
	cols  []string
	slots []event.Slot
	rows  [][]string
	n     int
}

// tableColumns are the fields the table may show after the timestamp and the category; a
// column empty in every row is left out.
var tableColumns = []string{"event.action", "host.name", "user.name", "process.name", "process.args", "kubernetes.audit.verb", "kubernetes.audit.objectRef.resource", "orchestrator.resource.name"}

func newTableWriter(w io.Writer, fields *event.Fields, tsField, catField string) *tableWriter {
	t := &tableWriter{w: w}
	t.cols = append([]string{tsField, catField}, tableColumns...)
	for _, c := range t.cols {
		t.slots = append(t.slots, fields.Add(c))
	}
	return t
}

func (t *tableWriter) add(res *engine.Result) {
	t.n++
	for i, ev := range res.Events {
		label := strconv.Itoa(t.n)
		if len(res.Events) > 1 {
			label = fmt.Sprintf("%d.%d", t.n, i+1)
		}
		row := []string{label}
		for _, s := range t.slots {
			cell := "-"
			if ev == nil {
				cell = "(missing)"
			} else if vs := ev.Values(s); len(vs) > 0 {
				parts := make([]string, len(vs))
				for j, v := range vs {
					parts[j] = v.String()
				}
				cell = truncate(oneLine(strings.Join(parts, " ")), 48)
			}
			row = append(row, cell)
		}
		t.rows = append(t.rows, row)
	}
}

// oneLine replaces the tabs and line breaks of s by spaces, to keep a table cell on its line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\t\n\r") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// flush writes the table: the label, timestamp and category columns, then the other
// columns that have a value in some row. tabwriter pads every cell but the last, so lines
// carry no trailing blanks.
func (t *tableWriter) flush() error {
	if len(t.rows) == 0 {
		_, err := fmt.Fprintln(t.w, "(no results)")
		return err
	}
	keep := []int{0, 1, 2}
	for c := 3; c <= len(t.cols); c++ {
		for _, r := range t.rows {
			if r[c] != "-" {
				keep = append(keep, c)
				break
			}
		}
	}
	tw := tabwriter.NewWriter(t.w, 0, 4, 2, ' ', 0)
	header := append([]string{"#"}, t.cols...)
	line := make([]string, len(keep))
	for _, r := range append([][]string{header}, t.rows...) {
		for i, c := range keep {
			line[i] = r[c]
		}
		fmt.Fprintln(tw, strings.Join(line, "\t"))
	}
	return tw.Flush()
}
