package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/valyala/fastjson"
)

// result is what one run measured.
type result struct {
	Mode         string  `json:"mode"`
	Events       int64   `json:"events"`
	Bytes        int64   `json:"bytes"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	MBPerSec     float64 `json:"mb_per_sec"`
	Values       int64   `json:"values"`
	Errors       int64   `json:"errors"`
}

// maxReported is how many bad lines are described on standard error; the rest are only counted.
const maxReported = 10

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fullparse:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fullparse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("mode", "parse", "parse: parse every line fully; split: only split lines (the I/O floor)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *mode != "parse" && *mode != "split" {
		return fmt.Errorf("-mode %q: want parse or split", *mode)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c := newCounter(*mode == "parse", stderr)
	start := time.Now()
	if fs.NArg() == 0 {
		if err := c.read(ctx, stdin, "<stdin>"); err != nil {
			return err
		}
	}
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		err = c.read(ctx, f, name)
		f.Close()
		if err != nil {
			return err
		}
	}
	r := c.res
	r.Mode = *mode
	r.Seconds = time.Since(start).Seconds()
	if r.Seconds > 0 {
		r.EventsPerSec = float64(r.Events) / r.Seconds
		r.MBPerSec = float64(r.Bytes) / 1e6 / r.Seconds
	}
	out, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}

// counter reads lines and, when parsing, walks every value. The walk's callback is bound once,
// so nothing is allocated per event.
type counter struct {
	parse  bool
	p      fastjson.Parser
	res    result
	sink   int // string and key bytes seen, so the unescaping cannot be optimised away
	visit  func(key []byte, v *fastjson.Value)
	stderr io.Writer
}

func newCounter(parse bool, stderr io.Writer) *counter {
	c := &counter{parse: parse, stderr: stderr}
	c.visit = func(key []byte, v *fastjson.Value) {
		c.sink += len(key)
		c.walk(v)
	}
	return c
}

// read consumes one input. The byte count includes each line's newline.
func (c *counter) read(ctx context.Context, r io.Reader, name string) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var long []byte // a line longer than the buffer, assembled
	lineNo := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
		}
		if len(line) > 0 {
			lineNo++
			c.res.Bytes += int64(len(line))
			c.line(line, name, lineNo)
			if lineNo&8191 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
		}
		long = long[:0]
		if long != nil && cap(long) > 1<<24 {
			long = nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
	}
}

func (c *counter) line(line []byte, name string, lineNo int) {
	body := line
	for len(body) > 0 && (body[len(body)-1] == '\n' || body[len(body)-1] == '\r') {
		body = body[:len(body)-1]
	}
	if len(body) == 0 {
		return
	}
	if !c.parse {
		c.res.Events++
		return
	}
	v, err := c.p.ParseBytes(body)
	if err != nil {
		c.res.Errors++
		if c.res.Errors <= maxReported {
			fmt.Fprintf(c.stderr, "%s:%d: skipped: %v\n", name, lineNo, err)
		}
		return
	}
	c.res.Events++
	c.walk(v)
}

// walk visits v and everything inside it.
func (c *counter) walk(v *fastjson.Value) {
	c.res.Values++
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(c.visit)
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, e := range a {
			c.walk(e)
		}
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		c.sink += len(s)
	case fastjson.TypeNumber:
		f, _ := v.Float64()
		if f != 0 {
			c.sink++
		}
	}
}
