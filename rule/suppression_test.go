package rule

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAlertSuppression(t *testing.T) {
	const head = "[rule]\nrule_id = \"x\"\nname = \"n\"\ntype = \"eql\"\nseverity = \"low\"\nquery = 'any where true'\n"
	for _, tc := range []struct {
		name, doc string
		want      *AlertSuppression
		window    time.Duration
		strategy  string
		err       string
	}{
		{"none", head, nil, 0, "", ""},
		{"group_by only", head + "[rule.alert_suppression]\ngroup_by = [\"host.name\"]\n",
			&AlertSuppression{GroupBy: []string{"host.name"}}, 0, SuppressMissing, ""},
		{"full", head + "[rule.alert_suppression]\ngroup_by = [\"host.name\", \"user.name\"]\nmissing_fields_strategy = \"doNotSuppress\"\n[rule.alert_suppression.duration]\nunit = \"m\"\nvalue = 5\n",
			&AlertSuppression{GroupBy: []string{"host.name", "user.name"}, Duration: &SuppressionDuration{Value: 5, Unit: "m"}, MissingFieldsStrategy: DoNotSuppressMissing},
			5 * time.Minute, DoNotSuppressMissing, ""},
		{"hours", head + "[rule.alert_suppression]\ngroup_by = [\"a\"]\nduration = {unit = \"h\", value = 24}\n",
			&AlertSuppression{GroupBy: []string{"a"}, Duration: &SuppressionDuration{Value: 24, Unit: "h"}}, 24 * time.Hour, SuppressMissing, ""},
		{"no group_by", head + "[rule.alert_suppression]\nmissing_fields_strategy = \"suppress\"\n", nil, 0, "",
			"x.toml: [rule] rule x: alert_suppression.group_by: Array must contain at least 1 element(s)"},
		{"four fields", head + "[rule.alert_suppression]\ngroup_by = [\"a\", \"b\", \"c\", \"d\"]\n", nil, 0, "",
			"x.toml: [rule] rule x: alert_suppression.group_by: Array must contain at most 3 element(s)"},
		{"empty field", head + "[rule.alert_suppression]\ngroup_by = [\"a\", \"\"]\n", nil, 0, "",
			"x.toml: [rule] rule x: alert_suppression.group_by.1: String must contain at least 1 character(s)"},
		{"bad duration", head + "[rule.alert_suppression]\ngroup_by = [\"a\"]\nduration = {unit = \"d\", value = 0}\n", nil, 0, "",
			"x.toml: [rule] rule x: alert_suppression.duration.value: Number must be greater than or equal to 1, alert_suppression.duration.unit: Invalid enum value. Expected 's' | 'm' | 'h', received 'd'"},
		{"bad strategy", head + "[rule.alert_suppression]\ngroup_by = [\"a\"]\nmissing_fields_strategy = \"drop\"\n", nil, 0, "",
			"x.toml: [rule] rule x: alert_suppression.missing_fields_strategy: Invalid enum value. Expected 'doNotSuppress' | 'suppress', received 'drop'"},
		{"group_by not a list", head + "[rule.alert_suppression]\ngroup_by = \"a\"\n", nil, 0, "",
			"x.toml:8: column 12: cannot decode TOML string into struct field rule.AlertSuppression.GroupBy of type []string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseTOML([]byte(tc.doc), "x.toml")
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v\nwant %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.AlertSuppression, tc.want) {
				t.Fatalf("got %+v, want %+v", r.AlertSuppression, tc.want)
			}
			if r.Unsupported() != "" {
				t.Errorf("an EQL rule with alert_suppression is refused: %s", r.Unsupported())
			}
			if tc.want != nil {
				if w := tc.want.Duration.Window(); w != tc.window {
					t.Errorf("window %v, want %v", w, tc.window)
				}
				if s := r.AlertSuppression.Strategy(); s != tc.strategy {
					t.Errorf("strategy %s, want %s", s, tc.strategy)
				}
			}
		})
	}
}

// TestThresholdAlertSuppression checks a threshold rule's alert_suppression as Kibana's
// schema does: a duration, required; group_by and missing_fields_strategy are not its keys
// (dropped: the group is the threshold's fields).
func TestThresholdAlertSuppression(t *testing.T) {
	const head = "[rule]\nrule_id = \"x\"\nname = \"n\"\ntype = \"threshold\"\nlanguage = \"kuery\"\nseverity = \"low\"\nquery = '*'\n" +
		"[rule.threshold]\nfield = \"host.id\"\nvalue = 2\n"
	for _, tc := range []struct{ name, doc, err string }{
		{"duration", head + "[rule.alert_suppression.duration]\nunit = \"m\"\nvalue = 5\n", ""},
		{"group_by too", head + "[rule.alert_suppression]\ngroup_by = [\"a\", \"b\", \"c\", \"d\"]\nduration = {unit = \"h\", value = 1}\n", ""},
		{"no duration", head + "[rule.alert_suppression]\ngroup_by = [\"host.id\"]\n", "x.toml: [rule] rule x: alert_suppression.duration: Required"},
		{"bad duration", head + "[rule.alert_suppression]\nduration = {unit = \"d\", value = 1}\n",
			"x.toml: [rule] rule x: alert_suppression.duration.unit: Invalid enum value. Expected 's' | 'm' | 'h', received 'd'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTOML([]byte(tc.doc), "x.toml")
			if got := fmt.Sprint(err); (tc.err == "" && err != nil) || (tc.err != "" && got != tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestExceptionsListRefs(t *testing.T) {
	line := func(refs string) string {
		return `{"rule_id":"r","name":"n","type":"eql","query":"any where true","risk_score":1,"severity":"low","exceptions_list":` + refs + `}`
	}
	rules, errs := ReadNDJSON(strings.NewReader(line(`[{"id":"endpoint_list","list_id":"endpoint_list","namespace_type":"agnostic","type":"endpoint"}]`)+"\n"+
		line(`[{"id":"a","list_id":"b","namespace_type":"space","type":"detection"}]`)+"\n"+
		line(`[{"id":"a","namespace_type":"single","type":"rule_default"}]`)+"\n"+
		line(`[{"id":"a","list_id":"b","namespace_type":"single","type":"shared"}]`)), "x.ndjson")
	want := []ExceptionListRef{{ID: "endpoint_list", ListID: "endpoint_list", NamespaceType: "agnostic", Type: "endpoint"}}
	if len(rules) != 1 || !reflect.DeepEqual(rules[0].ExceptionsList, want) {
		t.Fatalf("rules %v", rules)
	}
	if rules[0].Unsupported() != "" {
		t.Errorf("Unsupported() = %q, want none (detect resolves the lists)", rules[0].Unsupported())
	}
	wantErrs := []string{
		"x.ndjson:2: rule r: exceptions_list.0: namespace_type: Invalid enum value. Expected 'agnostic' | 'single', received 'space'",
		"x.ndjson:3: rule r: exceptions_list.0: list_id: Required",
		"x.ndjson:4: rule r: exceptions_list.0: type: Invalid enum value. Expected 'detection' | 'rule_default' | 'endpoint' | 'endpoint_trusted_apps' | 'endpoint_events' | 'endpoint_host_isolation_exceptions' | 'endpoint_blocklists', received 'shared'",
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	if !reflect.DeepEqual(got, wantErrs) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantErrs, "\n"))
	}
}
