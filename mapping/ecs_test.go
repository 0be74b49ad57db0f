package mapping

import (
	"strings"
	"testing"

	"github.com/tripline/tripline/event"
)

func TestECS(t *testing.T) {
	m := ECS()
	if m != ECS() {
		t.Error("ECS() parses the embedded mapping more than once")
	}
	tests := []struct{ path, want string }{
		{"@timestamp", "@timestamp <- @timestamp date"},
		{"destination.ip", "destination.ip <- destination.ip ip"},
		{"process.pid", "process.pid <- process.pid long"},
		{"process.name", "process.name <- process.name keyword ignore_above"},
		{"process.command_line", "process.command_line <- process.command_line wildcard"},
		{"process.command_line.text", "process.command_line.text <- process.command_line text"},
		{"process.name.text", "process.name.text <- process.name text"},
		{"message", "message <- message text"},
		{"data_stream.dataset", "data_stream.dataset <- data_stream.dataset constant_keyword"},
		{"host.cpu.usage", "host.cpu.usage <- host.cpu.usage scaled_float"},
		{"process.interactive", "process.interactive <- process.interactive boolean"},
		{"event.original", "event.original <- event.original keyword"},
		{"labels", "labels <- labels object"},
		{"process.pe.imports", "process.pe.imports <- process.pe.imports flattened"},
		{"process.pe.imports.name", "process.pe.imports.name <- process.pe.imports.name keyword"},
		{"kubernetes.audit.verb", "kubernetes.audit.verb <- kubernetes.audit.verb keyword ignore_above"},
		{"kubernetes.audit.user.groups", "kubernetes.audit.user.groups <- kubernetes.audit.user.groups keyword ignore_above"},
		{"kubernetes.audit.sourceIPs", "kubernetes.audit.sourceIPs <- kubernetes.audit.sourceIPs text"},
		{"kubernetes.audit.annotations.authorization_k8s_io/decision",
			"kubernetes.audit.annotations.authorization_k8s_io/decision <- kubernetes.audit.annotations.authorization_k8s_io/decision keyword ignore_above"},
		{"kubernetes.audit.responseStatus.code", "kubernetes.audit.responseStatus.code <- kubernetes.audit.responseStatus.code integer"},
		{"cloud_defend.package_policy_revision", "cloud_defend.package_policy_revision <- cloud_defend.package_policy_revision short"},
		{"process.Ext.effective_parent.executable", "process.Ext.effective_parent.executable <- process.Ext.effective_parent.executable keyword ignore_above"},
		{"process.parent.Ext.real.pid", "process.parent.Ext.real.pid <- process.parent.Ext.real.pid long"},
		{"no.such.field", "no.such.field <- no.such.field dynamic (unmapped)"},
	}
	for _, tt := range tests {
		f, ok := m.Resolve(tt.path)
		if got := describeField(f, ok); got != tt.want {
			t.Errorf("Resolve(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	limits := []struct {
		path  string
		limit int
	}{
		{"process.name", 1024}, {"event.url", 2083}, {"url.query", 2083}, {"threat.indicator.url.query", 2083},
		{"file.drive_letter", 1}, {"process.code_signature.thumbprint_sha256", 64}, {"file.origin_url", 8192},
		{"process.command_line", 0}, {"event.original", 0}, {"kubernetes.audit.stage", 1024},
	}
	for _, l := range limits {
		if f, _ := m.Resolve(l.path); f.IgnoreAbove != l.limit {
			t.Errorf("%s: ignore_above %d, want %d", l.path, f.IgnoreAbove, l.limit)
		}
	}
	// What the issue names: an ip field matches a CIDR (eval's business) on the canonical
	// address, a long field takes a numeric string, a keyword over 1024 characters is not indexed.
	norm := []struct {
		path string
		in   event.Value
		want string
	}{
		{"destination.ip", event.Value{Kind: event.KindString, Str: "822e:0:0::1"}, "822e::1"},
		{"process.pid", event.Value{Kind: event.KindString, Str: "4242"}, "4242"},
		{"process.name", event.Value{Kind: event.KindString, Str: strings.Repeat("a", 1024)}, strings.Repeat("a", 1024)},
		{"process.name", event.Value{Kind: event.KindString, Str: strings.Repeat("a", 1025)}, "(not indexed)"},
		{"process.command_line", event.Value{Kind: event.KindString, Str: strings.Repeat("a", 5000)}, strings.Repeat("a", 5000)},
	}
	for _, n := range norm {
		f, _ := m.Resolve(n.path)
		v, ok := f.Normalize(n.in)
		got := "(not indexed)"
		if ok {
			got, _ = v.Text()
		}
		if got != n.want {
			t.Errorf("%s: Normalize(%.20q) = %.20q, want %.20q", n.path, n.in.Str, got, n.want)
		}
	}
}
