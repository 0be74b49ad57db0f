package sensors

import (
	"time"

	"github.com/valyala/fastjson"
)

// falco writes the document of one line of Falco's JSON output. Only what the rule's
// output (and append_output) named is in output_fields; what is missing is left out.
func (n *Normalizer) falco(root *fastjson.Value) error {
	w := &n.w
	f := root.Get("output_fields")
	t, ok := parseTime(root.Get("time"))
	if !ok {
		ns, ok := num(f.Get("evt.time"))
		if !ok {
			return &Error{Reason: "Falco event without a valid time (RFC 3339) or output_fields evt.time"}
		}
		t = time.Unix(0, ns)
	}
	w.time("@timestamp", t)

	w.obj("container")
	if id := strOf(f.Get("container.full_id")); id != nil {
		w.str("id", id)
	} else if id := strOf(f.Get("container.id")); string(id) != "host" { // Falco's id of the host
		w.str("id", id)
	}
	w.obj("image")
	w.str("name", strOf(f.Get("container.image.repository")))
	w.str("tag", strOf(f.Get("container.image.tag")))
	w.end()
	w.str("name", strOf(f.Get("container.name")))
	w.end()

	n.dataStream(FalcoDataset)

	// evt.type: execve and execveat (Falco's spawned_process) start a process, procexit
	// ends one; other syscalls are alerts about a process.
	var typ string
	var action []byte
	switch et := strOf(f.Get("evt.type")); string(et) {
	case "execve", "execveat":
		typ, action = "start", []byte("exec")
	case "procexit":
		typ, action = "end", []byte("end")
	default:
		action = et
	}
	n.event(FalcoDataset, "falco", typ, action, t)

	host := strOf(f.Get("evt.hostname"))
	if host == nil {
		host = strOf(root.Get("hostname"))
	}
	w.obj("host")
	w.str("hostname", host)
	w.str("name", host)
	w.obj("os")
	w.strS("type", "linux")
	w.end()
	w.end()

	w.obj("observer")
	w.str("hostname", strOf(root.Get("hostname")))
	w.strS("product", "Falco")
	w.strS("type", "sensor")
	w.end()

	n.orchestrator(strOf(f.Get("k8s.ns.name")), strOf(f.Get("k8s.pod.name")), nil)

	w.obj("process")
	line := strOf(f.Get("proc.exeline"))
	if line == nil {
		line = strOf(f.Get("proc.cmdline"))
	}
	n.splitArgs(line)
	n.writeArgs()
	w.str("command_line", line)
	w.str("executable", strOf(f.Get("proc.exepath")))
	if tty, ok := num(f.Get("proc.tty")); ok {
		w.bool("interactive", tty != 0)
	}
	w.str("name", strOf(f.Get("proc.name")))
	w.obj("parent")
	w.str("command_line", strOf(f.Get("proc.pcmdline")))
	w.str("executable", strOf(f.Get("proc.pexepath")))
	w.str("name", strOf(f.Get("proc.pname")))
	if pid, ok := num(f.Get("proc.ppid")); ok {
		w.int("pid", pid)
	}
	w.end()
	if pid, ok := num(f.Get("proc.pid")); ok {
		w.int("pid", pid)
	}
	if tty, ok := num(f.Get("proc.tty")); ok && tty != 0 {
		// A Linux dev_t: major in bits 8-19, minor in bits 0-7 and 20-31.
		w.obj("tty")
		w.obj("char_device")
		w.int("major", (tty>>8)&0xfff)
		w.int("minor", (tty&0xff)|((tty>>12)&0xfff00))
		w.end()
		w.end()
	}
	w.str("working_directory", strOf(f.Get("proc.cwd")))
	w.end()

	w.obj("rule")
	w.str("name", strOf(root.Get("rule")))
	w.end()

	w.obj("user")
	if uid, ok := num(f.Get("user.uid")); ok && uid >= 0 {
		w.key("id")
		w.buf = append(w.buf, '"')
		w.buf = appendInt(w.buf, uid)
		w.buf = append(w.buf, '"')
	}
	w.str("name", strOf(f.Get("user.name")))
	w.end()
	return nil
}

// orchestrator writes the orchestrator object of a pod's event.
func (n *Normalizer) orchestrator(namespace, pod, cluster []byte) {
	if pod == nil && namespace == nil {
		return
	}
	w := &n.w
	w.obj("orchestrator")
	w.obj("cluster")
	w.str("name", cluster)
	w.end()
	w.str("namespace", namespace)
	w.obj("resource")
	w.str("name", pod)
	if pod != nil {
		w.strS("type", "pod")
	}
	w.end()
	w.strS("type", "kubernetes")
	w.end()
}
