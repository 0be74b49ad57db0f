package sensors

import (
	"bytes"

	"github.com/valyala/fastjson"
)

// tetragon writes the document of a Tetragon process_exec or process_exit event.
func (n *Normalizer) tetragon(root *fastjson.Value) error {
	w := &n.w
	ev, typ, action := root.Get("process_exec"), "start", []byte("exec")
	if ev == nil {
		ev, typ, action = root.Get("process_exit"), "end", []byte("end")
	}
	proc, parent := ev.Get("process"), ev.Get("parent")
	t, ok := parseTime(root.Get("time"))
	if !ok && typ == "start" {
		// Older exports have no time: an exec happens when its process starts.
		t, ok = parseTime(proc.Get("start_time"))
	}
	if !ok {
		return &Error{Reason: "Tetragon event without a valid time (RFC 3339)"}
	}
	pod := proc.Get("pod")
	w.time("@timestamp", t)

	w.obj("container")
	ctr := pod.Get("container")
	w.str("id", containerID(strOf(ctr.Get("id"))))
	w.obj("image")
	name, tag := splitImage(strOf(ctr.Get("image", "name")))
	w.str("name", name)
	w.str("tag", tag)
	w.end()
	w.str("name", strOf(ctr.Get("name")))
	w.end()

	n.dataStream(TetragonDataset)
	n.event(TetragonDataset, "tetragon", typ, action, t)

	host := strOf(root.Get("node_name"))
	w.obj("host")
	w.str("hostname", host)
	w.str("name", host)
	w.obj("os")
	w.strS("type", "linux")
	w.end()
	w.end()

	w.obj("observer")
	w.strS("product", "Tetragon")
	w.strS("type", "sensor")
	w.end()

	n.orchestrator(strOf(pod.Get("namespace")), strOf(pod.Get("name")), strOf(root.Get("cluster_name")))

	w.obj("process")
	n.tetragonProcess(proc)
	if typ == "end" {
		// Tetragon leaves out a zero status; a process killed by a signal has none.
		st, _ := num(ev.Get("status"))
		if strOf(ev.Get("signal")) == nil || st != 0 {
			w.int("exit_code", st)
		}
	}
	// in_init_tree (Tetragon 1.1 on): whether the process descends from the container's
	// init. One that does not was started by an exec into the container (kubectl exec,
	// docker exec, nsenter): the closest Tetragon comes to a controlling terminal.
	if v := proc.Get("in_init_tree"); v != nil && ctr != nil && (v.Type() == fastjson.TypeTrue || v.Type() == fastjson.TypeFalse) {
		w.bool("interactive", v.Type() == fastjson.TypeFalse)
	}
	if parent != nil {
		w.obj("parent")
		n.tetragonProcess(parent)
		w.end()
	}
	w.end()

	w.obj("user")
	if uid, ok := num(proc.Get("uid")); ok {
		w.key("id")
		w.buf = append(w.buf, '"')
		w.buf = appendInt(w.buf, uid)
		w.buf = append(w.buf, '"')
	}
	w.str("name", strOf(proc.Get("user", "name")))
	w.end()
	return nil
}

// tetragonProcess writes the members of a process object (process or process.parent),
// in the order of the document.
func (n *Normalizer) tetragonProcess(p *fastjson.Value) {
	w := &n.w
	bin, args := strOf(p.Get("binary")), strOf(p.Get("arguments"))
	if bin != nil {
		n.args = append(n.args, bin)
		n.splitArgs(args)
	}
	n.writeArgs()
	if bin != nil {
		w.key("command_line")
		start := len(w.buf)
		w.buf = append(w.buf, bin...)
		if len(args) > 0 {
			w.buf = append(w.buf, ' ')
			w.buf = append(w.buf, args...)
		}
		// Quote what was appended raw: the command line goes through the string writer.
		line := append(n.argBuf[:0], w.buf[start:]...)
		w.buf = w.buf[:start]
		w.buf = appendJSON(w.buf, line)
		n.argBuf = line[:0]
	}
	w.str("entity_id", strOf(p.Get("exec_id")))
	w.str("executable", bin)
	if i := bytes.LastIndexByte(bin, '/'); bin != nil {
		w.str("name", bin[i+1:])
	}
	if pid, ok := num(p.Get("pid")); ok {
		w.int("pid", pid)
	}
	if st, ok := parseTime(p.Get("start_time")); ok {
		w.time("start", st)
	}
	if tid, ok := num(p.Get("tid")); ok {
		w.obj("thread")
		w.int("id", tid)
		w.end()
	}
	w.str("working_directory", strOf(p.Get("cwd")))
}

// containerID strips the runtime prefix Kubernetes writes ("containerd://", "cri-o://",
// "docker://") from a container id.
func containerID(id []byte) []byte {
	if i := bytes.Index(id, []byte("://")); i >= 0 {
		return id[i+3:]
	}
	return id
}

// splitImage splits "registry/repo:tag" into name and tag; a digest ("@sha256:…") stays
// out of both.
func splitImage(ref []byte) (name, tag []byte) {
	if i := bytes.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	slash := bytes.LastIndexByte(ref, '/')
	if i := bytes.LastIndexByte(ref, ':'); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, nil
}
