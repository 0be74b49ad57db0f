package detect

import (
	"strings"
)

// reason builds kibana.alert.reason in Kibana's wording (reason_formatters.ts), from the
// event (or, for a sequence shell, the fields common to its events):
//
//	"<event.category> event with process P, parent process PP, file F, source IP:PORT,
//	destination IP:PORT, by USER on HOST created SEVERITY alert NAME."
//
// Each part is left out when its field is absent (a value "-" counts as absent, as in
// Kibana); several values are joined with ", "; "with" appears only when one of process,
// parent process, file, source or destination is present; an address without a port is
// written without the port and without the comma that would follow it.
func reason(doc document, severity, name string) string {
	get := func(path string) string {
		vs := strValues(doc, path)
		if len(vs) == 0 || (len(vs) == 1 && vs[0] == "-") {
			return ""
		}
		return strings.Join(vs, ", ")
	}
	category := get("event.category")
	process := get("process.name")
	parent := get("process.parent.name")
	file := get("file.name")
	srcIP, srcPort := get("source.ip"), get("source.port")
	dstIP, dstPort := get("destination.ip"), get("destination.port")
	user := get("user.name")
	host := get("host.name")

	var b strings.Builder
	if category != "" {
		b.WriteString(category)
		b.WriteByte(' ')
	}
	b.WriteString("event")
	if process != "" || parent != "" || file != "" || srcIP != "" || dstIP != "" {
		b.WriteString(" with")
	}
	if process != "" {
		b.WriteString(" process " + process + ",")
	}
	if parent != "" {
		b.WriteString(" parent process " + parent + ",")
	}
	if file != "" {
		b.WriteString(" file " + file + ",")
	}
	if srcIP != "" {
		b.WriteString(" source " + srcIP)
		if srcPort != "" {
			b.WriteString(":" + srcPort + ",")
		}
	}
	if dstIP != "" {
		b.WriteString(" destination " + dstIP)
		if dstPort != "" {
			b.WriteString(":" + dstPort + ",")
		}
	}
	if user != "" {
		b.WriteString(" by " + user)
	}
	if host != "" {
		b.WriteString(" on " + host)
	}
	b.WriteString(" created " + severity + " alert " + name + ".")
	return b.String()
}
