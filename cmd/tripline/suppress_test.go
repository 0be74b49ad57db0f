package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const suppRuleID = "5f4d3c2b-1a09-4e8d-9c7b-6a5f4e3d2c1b"

// suppRule is an EQL event query with alert_suppression on host.name; extra is added to
// its [rule.alert_suppression] table.
func suppRule(extra string) string {
	return `[rule]
rule_id = "` + suppRuleID + `"
name = "Process start"
description = "d"
type = "eql"
language = "eql"
severity = "low"
risk_score = 21
index = ["logs-*"]
query = 'process where event.type == "start"'

[rule.alert_suppression]
group_by = ["host.name"]
` + extra
}

// suppEvents are process starts on h1, h2 and with no host: e4 at the edge of e1's
// five-minute window, e5 just after it, e7 at the edge of e6's.
var suppEvents = []struct{ id, host, at string }{
	{"e1", "h1", "2026-03-12T10:00:00.000Z"},
	{"e6", "", "2026-03-12T10:01:00.000Z"},
	{"e2", "h1", "2026-03-12T10:02:00.000Z"},
	{"e3", "h2", "2026-03-12T10:03:00.000Z"},
	{"e4", "h1", "2026-03-12T10:05:00.000Z"},
	{"e5", "h1", "2026-03-12T10:05:00.001Z"},
	{"e7", "", "2026-03-12T10:06:00.000Z"},
}

const suppIndex = "logs-endpoint.events.process-default"

func suppEventsNDJSON() string {
	var b strings.Builder
	for _, e := range suppEvents {
		host := ""
		if e.host != "" {
			host = `,"host":{"name":"` + e.host + `"}`
		}
		fmt.Fprintf(&b, `{"@timestamp":"%s","_index":"%s","_id":"%s","event":{"category":["process"],"type":["start"]},"process":{"name":"sh"}%s}`+"\n",
			e.at, suppIndex, e.id, host)
	}
	return b.String()
}

// suppAlert is what the test reads of an alert.
type suppAlert struct {
	UUID       string `json:"kibana.alert.uuid"`
	InstanceID string `json:"kibana.alert.instance.id"`
	Terms      []struct {
		Field string `json:"field"`
		Value any    `json:"value"`
	} `json:"kibana.alert.suppression.terms"`
	Start     string `json:"kibana.alert.suppression.start"`
	End       string `json:"kibana.alert.suppression.end"`
	DocsCount *int   `json:"kibana.alert.suppression.docs_count"`
	Ancestors []struct {
		ID string `json:"id"`
	} `json:"kibana.alert.ancestors"`
	Params struct {
		AlertSuppression map[string]any `json:"alert_suppression"`
	} `json:"kibana.alert.rule.parameters"`
}

// describe is one line per alert: the event, the id check, and the suppression fields.
func (a *suppAlert) describe() string {
	ev := a.Ancestors[0].ID
	idOK := "id-ok"
	sum := sha256.Sum256([]byte(suppIndex + ev + "undefined" + "default" + ":" + suppRuleID))
	if a.UUID != hex.EncodeToString(sum[:]) {
		idOK = "id-WRONG"
	}
	if a.DocsCount == nil {
		return ev + " " + idOK + " unsuppressed"
	}
	var terms []string
	for _, t := range a.Terms {
		v, _ := json.Marshal(t.Value)
		terms = append(terms, t.Field+"="+string(v))
	}
	return fmt.Sprintf("%s %s %s [%s] %s..%s docs=%d", ev, idOK, a.InstanceID, strings.Join(terms, " "), a.Start, a.End, *a.DocsCount)
}

// Instance ids: what npm object-hash gives for [[{field:"host.name", value}], rule id,
// "default"] with value ["h1"], ["h2"] and null.
const (
	instH1   = "9ea21e1e93b01ae0275877ee3dfa9806d5e12445"
	instH2   = "45147fd19649991c602a3b07dc29ad03468f03d7"
	instNull = "48a42ec9b3ec071e20e5150f951a24c4d6c6e900"
)

func TestDetectAlertSuppression(t *testing.T) {
	dir := t.TempDir()
	events := writeFile(t, dir, "events.ndjson", suppEventsNDJSON())
	cases := []struct {
		name     string
		extra    string
		follow   bool
		want     []string
		wantSupp int
	}{
		{"5m window, missing fields suppressed", "duration = {value = 5, unit = \"m\"}\n", false, []string{
			"e1 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:00:00.000Z..2026-03-12T10:05:00.000Z docs=2`,
			"e3 id-ok " + instH2 + ` [host.name=["h2"]] 2026-03-12T10:03:00.000Z..2026-03-12T10:03:00.000Z docs=0`,
			"e5 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:05:00.001Z..2026-03-12T10:05:00.001Z docs=0`,
			"e6 id-ok " + instNull + ` [host.name=null] 2026-03-12T10:01:00.000Z..2026-03-12T10:06:00.000Z docs=1`,
		}, 3},
		{"5m window, missing fields not suppressed", "duration = {value = 5, unit = \"m\"}\nmissing_fields_strategy = \"doNotSuppress\"\n", false, []string{
			"e1 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:00:00.000Z..2026-03-12T10:05:00.000Z docs=2`,
			"e3 id-ok " + instH2 + ` [host.name=["h2"]] 2026-03-12T10:03:00.000Z..2026-03-12T10:03:00.000Z docs=0`,
			"e5 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:05:00.001Z..2026-03-12T10:05:00.001Z docs=0`,
			"e6 id-ok unsuppressed",
			"e7 id-ok unsuppressed",
		}, 2},
		{"per execution", "", false, []string{
			"e1 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:00:00.000Z..2026-03-12T10:05:00.001Z docs=3`,
			"e3 id-ok " + instH2 + ` [host.name=["h2"]] 2026-03-12T10:03:00.000Z..2026-03-12T10:03:00.000Z docs=0`,
			"e6 id-ok " + instNull + ` [host.name=null] 2026-03-12T10:01:00.000Z..2026-03-12T10:06:00.000Z docs=1`,
		}, 4},
		{"60s window", "duration = {value = 60, unit = \"s\"}\n", false, []string{
			"e1 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:00:00.000Z..2026-03-12T10:00:00.000Z docs=0`,
			"e2 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:02:00.000Z..2026-03-12T10:02:00.000Z docs=0`,
			"e3 id-ok " + instH2 + ` [host.name=["h2"]] 2026-03-12T10:03:00.000Z..2026-03-12T10:03:00.000Z docs=0`,
			"e4 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:05:00.000Z..2026-03-12T10:05:00.001Z docs=1`,
			"e6 id-ok " + instNull + ` [host.name=null] 2026-03-12T10:01:00.000Z..2026-03-12T10:01:00.000Z docs=0`,
			"e7 id-ok " + instNull + ` [host.name=null] 2026-03-12T10:06:00.000Z..2026-03-12T10:06:00.000Z docs=0`,
		}, 1},
		// Streaming: the same windows; without a duration one execution is one rule
		// interval (5m by default) of event time: 10:00-10:05 and 10:05-10:10.
		{"follow, 5m window", "duration = {value = 5, unit = \"m\"}\n", true, []string{
			"e1 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:00:00.000Z..2026-03-12T10:05:00.000Z docs=2`,
			"e3 id-ok " + instH2 + ` [host.name=["h2"]] 2026-03-12T10:03:00.000Z..2026-03-12T10:03:00.000Z docs=0`,
			"e5 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:05:00.001Z..2026-03-12T10:05:00.001Z docs=0`,
			"e6 id-ok " + instNull + ` [host.name=null] 2026-03-12T10:01:00.000Z..2026-03-12T10:06:00.000Z docs=1`,
		}, 3},
		{"follow, per execution", "", true, []string{
			"e1 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:00:00.000Z..2026-03-12T10:02:00.000Z docs=1`,
			"e3 id-ok " + instH2 + ` [host.name=["h2"]] 2026-03-12T10:03:00.000Z..2026-03-12T10:03:00.000Z docs=0`,
			"e4 id-ok " + instH1 + ` [host.name=["h1"]] 2026-03-12T10:05:00.000Z..2026-03-12T10:05:00.001Z docs=1`,
			"e6 id-ok " + instNull + ` [host.name=null] 2026-03-12T10:01:00.000Z..2026-03-12T10:01:00.000Z docs=0`,
			"e7 id-ok " + instNull + ` [host.name=null] 2026-03-12T10:06:00.000Z..2026-03-12T10:06:00.000Z docs=0`,
		}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules := writeFile(t, t.TempDir(), "rule.toml", suppRule(tc.extra))
			args := []string{"detect", "--rules", rules, "--now", fixedNow, "--stats"}
			stdin := ""
			if tc.follow {
				args = append(args, "--follow")
				stdin = suppEventsNDJSON()
			} else {
				args = append(args, events)
			}
			r := runCLI(t, stdin, args...)
			if r.code != exitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var got []string
			for _, l := range lines(r.stdout) {
				a := new(suppAlert)
				if err := json.Unmarshal([]byte(l), a); err != nil {
					t.Fatal(err)
				}
				if a.Params.AlertSuppression["group_by"] == nil {
					t.Errorf("alert %s: no alert_suppression in the rule parameters", a.UUID)
				}
				got = append(got, a.describe())
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if want := fmt.Sprintf(`"suppressed":%d`, tc.wantSupp); !strings.Contains(r.stderr, want) {
				t.Errorf("summary does not say %s:\n%s", want, r.stderr)
			}
		})
	}
}

// TestDetectAlertSuppressionInvalid checks that a rule whose alert_suppression Kibana's
// schema refuses is reported with the reason.
func TestDetectAlertSuppressionInvalid(t *testing.T) {
	dir := t.TempDir()
	rules := writeFile(t, dir, "rule.toml", suppRule("duration = {value = 5, unit = \"d\"}\n"))
	events := writeFile(t, dir, "events.ndjson", suppEventsNDJSON())
	r := runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow, events)
	want := filepath.Join(dir, "rule.toml") + ": [rule] rule " + suppRuleID +
		": alert_suppression.duration.unit: Invalid enum value. Expected 's' | 'm' | 'h', received 'd'"
	if !strings.Contains(r.stderr, want) || r.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant it to contain:\n%s", r.code, r.stdout, r.stderr, want)
	}
}

// TestDetectAlertSuppressionSequence checks that sequences are suppressed by their shell
// alerts: the terms are read from the shell (host.name, common to all its events, as a
// plain value), and a suppressed sequence's shell and building blocks are not written.
func TestDetectAlertSuppressionSequence(t *testing.T) {
	dir := t.TempDir()
	rule := strings.Replace(suppRule(""), `query = 'process where event.type == "start"'`,
		"query = '''sequence by host.name [process where event.type == \"start\"] [process where event.type == \"end\"]'''", 1)
	rules := writeFile(t, dir, "rule.toml", rule)
	var b strings.Builder
	for _, e := range []struct{ id, host, typ, at string }{
		{"s1", "h1", "start", "2026-03-12T10:00:00.000Z"},
		{"s2", "h1", "end", "2026-03-12T10:01:00.000Z"},
		{"s3", "h1", "start", "2026-03-12T10:02:00.000Z"},
		{"s4", "h1", "end", "2026-03-12T10:03:00.000Z"},
		{"s5", "h2", "start", "2026-03-12T10:04:00.000Z"},
		{"s6", "h2", "end", "2026-03-12T10:04:30.000Z"},
	} {
		fmt.Fprintf(&b, `{"@timestamp":"%s","_index":"%s","_id":"%s","event":{"category":["process"],"type":["%s"]},"host":{"name":"%s"}}`+"\n",
			e.at, suppIndex, e.id, e.typ, e.host)
	}
	events := writeFile(t, dir, "events.ndjson", b.String())
	r := runCLI(t, "", "detect", "--rules", rules, "--now", fixedNow, "--stats", events)
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got []string
	for _, l := range lines(r.stdout) {
		var a struct {
			suppAlert
			Building string `json:"kibana.alert.building_block_type"`
		}
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatal(err)
		}
		var evs []string
		for _, anc := range a.Ancestors {
			if !strings.Contains(anc.ID, "-") && len(anc.ID) == 2 {
				evs = append(evs, anc.ID)
			}
		}
		line := strings.Join(evs, ",")
		if a.Building != "" {
			line += " building block"
			if a.DocsCount != nil {
				line += " with suppression fields"
			}
		} else {
			a.Ancestors = a.Ancestors[:1] // describe names the first event
			line = strings.Join(evs, ",") + " shell " + strings.SplitN(a.describe(), " ", 3)[2]
		}
		got = append(got, line)
	}
	slices.Sort(got)
	want := []string{
		"s1 building block",
		"s1,s2 shell c9f406b08db43947101b5f65a5c22740b771e2cc [host.name=\"h1\"] 2026-03-12T10:00:00.000Z..2026-03-12T10:02:00.000Z docs=1",
		"s2 building block",
		"s5 building block",
		"s5,s6 shell dadd0a42ba9a867e76fe3f4d613e544aff6f86a1 [host.name=\"h2\"] 2026-03-12T10:04:00.000Z..2026-03-12T10:04:00.000Z docs=0",
		"s6 building block",
	}
	if !slices.Equal(got, want) {
		t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(r.stderr, `"matches":3,"capped":0,"alerts":6,"suppressed":1`) {
		t.Errorf("stats: %s", r.stderr)
	}
}
