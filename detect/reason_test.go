package detect

import "testing"

// The expected strings are the ones Kibana's own unit tests for reason_formatters.ts assert
// for the same inputs.
func TestReason(t *testing.T) {
	full := map[string]any{
		"destination.ip": "9.99.99.9", "destination.port": "6789", "event.category": "test",
		"file.name": "sample", "host.name": "host", "process.name": "doingThings.exe",
		"process.parent.name": "didThings.exe", "source.ip": "1.11.11.1", "source.port": "1234",
		"user.name": "test-user",
	}
	with := func(kv ...string) document {
		d := document{}
		for k, v := range full {
			d[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			d[kv[i]] = kv[i+1]
		}
		return d
	}
	for _, tc := range []struct {
		name string
		doc  document
		want string
	}{
		{"full", with(), "test event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1:1234, destination 9.99.99.9:6789, by test-user on host created medium alert my-rule."},
		{"two categories", func() document { d := with(); d["event.category"] = []any{"item one", "item two"}; return d }(), "item one, item two event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1:1234, destination 9.99.99.9:6789, by test-user on host created medium alert my-rule."},
		{"no host", with("host.name", "-"), "test event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1:1234, destination 9.99.99.9:6789, by test-user created medium alert my-rule."},
		{"no user", with("user.name", "-"), "test event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1:1234, destination 9.99.99.9:6789, on host created medium alert my-rule."},
		{"no destination port", with("destination.port", "-"), "test event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1:1234, destination 9.99.99.9 by test-user on host created medium alert my-rule."},
		{"no destination", with("destination.ip", "-", "destination.port", "-"), "test event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1:1234, by test-user on host created medium alert my-rule."},
		{"no source port", with("source.port", "-"), "test event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1 destination 9.99.99.9:6789, by test-user on host created medium alert my-rule."},
		{"no source", with("source.ip", "-", "source.port", "-"), "test event with process doingThings.exe, parent process didThings.exe, file sample, destination 9.99.99.9:6789, by test-user on host created medium alert my-rule."},
		{"no process", with("process.name", "-", "process.parent.name", "-"), "test event with file sample, source 1.11.11.1:1234, destination 9.99.99.9:6789, by test-user on host created medium alert my-rule."},
		{"nothing of interest", document{"event.category": []any{"test"}, "user.name": []any{"test-user"}}, "test event by test-user created medium alert my-rule."},
		{"nested, no category", document{"process": map[string]any{"name": "bash", "parent": map[string]any{"name": "runc"}}}, "event with process bash, parent process runc, created medium alert my-rule."},
		{"empty", document{}, "event created medium alert my-rule."},
	} {
		if got := reason(tc.doc, "medium", "my-rule"); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
