package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestCounter(t *testing.T) {
	tests := []struct {
		name        string
		input       string
		parse       bool
		events      int64
		values      int64
		errors      int64
		stderrHas   string
		stderrLines int
	}{
		{"one object", `{"a":1,"b":[true,"x"],"c":{"d":null}}` + "\n", true, 1, 7, 0, "", 0},
		{"no final newline", `{"a":"\u0041"}`, true, 1, 2, 0, "", 0},
		{"blank lines are not events", "\n{}\r\n\n[]\n", true, 2, 2, 0, "", 0},
		{"bad line skipped and located", "{}\n{\"a\":\n{\"b\":2}\n", true, 2, 3, 1, "in.ndjson:2: skipped", 1},
		{"split counts lines only", "{}\nnot json\n\n{}\n", false, 3, 0, 0, "", 0},
		{"escaped keys and strings", `{"a\"b":"c\\d","e":[1.5e3,-2,"\ud83d\ude00"]}` + "\n", true, 1, 6, 0, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			c := newCounter(tc.parse, &stderr)
			if err := c.read(context.Background(), strings.NewReader(tc.input), "in.ndjson"); err != nil {
				t.Fatal(err)
			}
			if c.res.Events != tc.events || c.res.Values != tc.values || c.res.Errors != tc.errors || c.res.Bytes != int64(len(tc.input)) {
				t.Errorf("events %d values %d errors %d bytes %d; want %d %d %d %d",
					c.res.Events, c.res.Values, c.res.Errors, c.res.Bytes, tc.events, tc.values, tc.errors, len(tc.input))
			}
			if got := strings.Count(stderr.String(), "\n"); got != tc.stderrLines || !strings.Contains(stderr.String(), tc.stderrHas) {
				t.Errorf("stderr %q: want %d lines containing %q", stderr.String(), tc.stderrLines, tc.stderrHas)
			}
		})
	}
}

func TestLongLine(t *testing.T) {
	long := `{"k":"` + strings.Repeat("x", 3<<20) + `"}`
	input := "{}\n" + long + "\n{}\n"
	c := newCounter(true, &bytes.Buffer{})
	if err := c.read(context.Background(), strings.NewReader(input), "in"); err != nil {
		t.Fatal(err)
	}
	if c.res.Events != 3 || c.res.Values != 4 || c.res.Errors != 0 || c.res.Bytes != int64(len(input)) {
		t.Fatalf("got %+v, want 3 events, 4 values, %d bytes", c.res, len(input))
	}
}

func TestRunOutput(t *testing.T) {
	tests := []struct {
		args    []string
		mode    string
		events  int64
		wantErr string
	}{
		{nil, "parse", 2, ""},
		{[]string{"-mode", "split"}, "split", 2, ""},
		{[]string{"-mode", "lazy"}, "", 0, `-mode "lazy"`},
	}
	for _, tc := range tests {
		var out, errOut bytes.Buffer
		err := run(tc.args, strings.NewReader("{\"a\":1}\n{\"b\":2}\n"), &out, &errOut)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		var r result
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("%v: output %q: %v", tc.args, out.String(), err)
		}
		if r.Mode != tc.mode || r.Events != tc.events || r.Bytes != 16 || strings.Count(out.String(), "\n") != 1 {
			t.Errorf("%v: got %+v (%q), want mode %s, %d events, 16 bytes, one line", tc.args, r, out.String(), tc.mode, tc.events)
		}
	}
}

// benchInput is a realistic ECS process event (about 1.5 KB).
const benchInput = `{"@timestamp":"2026-03-02T09:00:00.0000242Z","agent":{"id":"eec90cec-e562-4849-80d1-43e4f6e4dace","type":"endpoint","version":"9.3.0"},"data_stream":{"dataset":"endpoint.events.process","namespace":"default","type":"logs"},"ecs":{"version":"8.11.0"},"host":{"hostname":"WKS-01137","id":"6a5d8ac22c0f0388512f2b295b6810e9","ip":["10.10.0.138"],"name":"WKS-01137","os":{"family":"windows","full":"Windows 11 Enterprise 23H2","name":"Windows","type":"windows","version":"23H2"}},"event":{"agent_id_status":"verified","created":"2026-03-02T09:00:00.0000242Z","dataset":"endpoint.events.process","id":"ebbebfa25b3efa78","ingested":"2026-03-02T09:00:02Z","kind":"event","module":"endpoint","sequence":1,"action":"start","category":["process"],"type":["start"]},"message":"Endpoint process event","process":{"args":["\\??\\C:\\Windows\\system32\\conhost.exe","0xffffffff","-ForceV1"],"args_count":3,"command_line":"\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1","entity_id":"0fLyJV+Tal+KDhkFETjZya0AmchL6tX7yiFq+G=","executable":"C:\\Windows\\System32\\conhost.exe","hash":{"md5":"32874429cf50e04d3ab9c3a4cdf13d62","sha256":"aa03be48d56288b3c3e98ea99e43843cdf93e54c1a37ba31c1ce8583eeef5222"},"name":"conhost.exe","parent":{"entity_id":"kHt5OPseNxvaU/EVyARe/9bA6xd4Q6MYyz5=","executable":"C:\\Windows\\System32\\cmd.exe","name":"cmd.exe","pid":166564},"pid":166596,"working_directory":"C:\\Windows\\system32\\","pe":{"original_file_name":"conhost.exe"}},"user":{"domain":"CORP","id":"S-1-5-21-1004336348-1177238915-682003330-1264","name":"dave13"}}`

func BenchmarkFullParse(b *testing.B) {
	input := []byte(strings.Repeat(benchInput+"\n", 1000))
	c := newCounter(true, &bytes.Buffer{})
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.read(context.Background(), bytes.NewReader(input), "bench"); err != nil {
			b.Fatal(err)
		}
	}
	if c.res.Errors != 0 {
		b.Fatalf("%d parse errors", c.res.Errors)
	}
	b.ReportMetric(1000*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
