package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/tripline/tripline/engine"
	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/ingest"
	"github.com/tripline/tripline/rule"
)

// result is what one run measured.
type result struct {
	Mode         string  `json:"mode"`
	Fields       int     `json:"fields"`
	Queries      int     `json:"queries"`
	Events       int64   `json:"events"`
	Bytes        int64   `json:"bytes"`
	Errors       int64   `json:"errors"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	MBPerSec     float64 `json:"mb_per_sec"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "decodeonly:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("decodeonly", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rules := fs.String("rules", "", "register the fields the EQL rules under this path read")
	query := fs.String("query", "", "register the fields this EQL query reads")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*rules == "") == (*query == "") {
		return errors.New("give one of -rules or -query")
	}
	if fs.NArg() == 0 {
		return errors.New("give the NDJSON files to read")
	}
	fields := event.NewFields()
	res := result{Mode: "decode"}
	if *query != "" {
		stmt, err := eql.Parse(*query)
		if err != nil {
			return err
		}
		if _, err := engine.Compile(stmt, fields, engine.Options{}); err != nil {
			return err
		}
		res.Queries = 1
	} else {
		set, err := rule.Load(ctx, *rules)
		if err != nil {
			return err
		}
		for _, r := range set.Rules {
			if r.Unsupported() != "" {
				continue
			}
			stmt, err := eql.Parse(r.Query)
			if err != nil {
				continue // tripline detect skips it too
			}
			opts := engine.Options{TimestampField: r.TimestampField, TiebreakerField: r.TiebreakerField,
				CategoryField: r.EventCategoryOverride}
			if _, err := engine.Compile(stmt, fields, opts); err == nil {
				res.Queries++
			}
		}
	}
	res.Fields = fields.Len()
	dec := event.NewDecoder(fields)
	var ev event.Event
	start := time.Now()
	rd := ingest.NewReader(ctx, fs.Args(), ingest.Options{})
	defer rd.Close()
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var le *ingest.LineError
			if errors.As(err, &le) {
				res.Errors++
				continue
			}
			return err
		}
		res.Events++
		if err := dec.Decode(rec.Doc, &ev); err != nil {
			res.Errors++
		}
	}
	res.Bytes = rd.BytesRead()
	res.Seconds = time.Since(start).Seconds()
	if res.Seconds > 0 {
		res.EventsPerSec = float64(res.Events) / res.Seconds
		res.MBPerSec = float64(res.Bytes) / 1e6 / res.Seconds
	}
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}
