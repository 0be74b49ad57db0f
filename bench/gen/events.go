package main

import "github.com/tripline/tripline/internal/jsonw"

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// appendEntityID appends a quoted, base64-looking Elastic Defend entity id.
func (g *generator) appendEntityID(b []byte) []byte {
	b = append(b, '"')
	for i := 0; i < 4; i++ {
		x := g.r.Uint64()
		for j := 0; j < 10; j++ {
			b = append(b, b64[x&63])
			x >>= 6
		}
	}
	return append(b, '=', '"')
}

func (g *generator) ingested(b []byte, t int64) []byte {
	return appendTime(b, (t/1e9+g.cfg.ingestLag)*1e9, 0)
}

// header appends the fields every Elastic Defend event has, up to and including the opening of
// "event" and its common fields; the caller adds action, category and type and closes it.
func (g *generator) endpointHeader(b []byte, t int64, h *host, dataset string) []byte {
	b = append(b, `{"@timestamp":`...)
	b = appendTime(b, t, 7)
	b = append(b, ',')
	b = append(b, h.agent...)
	b = append(b, `,"data_stream":{"dataset":"`...)
	b = append(b, dataset...)
	b = append(b, `","namespace":"default","type":"logs"},"ecs":{"version":"8.11.0"},`...)
	b = append(b, h.frag...)
	b = append(b, `,"event":{"agent_id_status":"verified","created":`...)
	b = appendTime(b, t, 7)
	b = append(b, `,"dataset":"`...)
	b = append(b, dataset...)
	b = append(b, `","id":"`...)
	b = appendHex(b, g.r.Uint64(), 16)
	b = append(b, `","ingested":`...)
	b = g.ingested(b, t)
	b = append(b, `,"kind":"event","module":"endpoint","sequence":`...)
	g.seq++
	return appendInt(b, g.seq)
}

func containsSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return true
		}
	}
	return false
}

func appendCmd(b []byte, args []string) []byte {
	b = append(b, '"')
	for i, a := range args {
		if i > 0 {
			b = append(b, ' ')
		}
		q := len(a) > 0 && a[0] != '"' && containsSpace(a)
		if q {
			b = append(b, '\\', '"')
		}
		b = jsonw.AppendEscaped(b, a, jsonw.Minimal)
		if q {
			b = append(b, '\\', '"')
		}
	}
	return append(b, '"')
}

// processBody appends the common process fields (without the closing brace).
func (g *generator) processBody(b []byte, ps *procSpec, args []string, pid int64) []byte {
	b = append(b, `"process":{"args":`...)
	b = appendStrs(b, args)
	b = append(b, `,"args_count":`...)
	b = appendInt(b, int64(len(args)))
	b = append(b, `,"command_line":`...)
	b = appendCmd(b, args)
	b = append(b, `,"entity_id":`...)
	b = g.appendEntityID(b)
	b = append(b, `,"executable":`...)
	b = jsonw.AppendString(b, ps.exe, jsonw.Minimal)
	b = append(b, ',')
	b = append(b, g.w.hashes[ps.exe]...)
	b = append(b, `,"name":`...)
	b = jsonw.AppendString(b, ps.name, jsonw.Minimal)
	b = append(b, `,"parent":{"entity_id":`...)
	b = g.appendEntityID(b)
	b = append(b, `,"executable":`...)
	b = jsonw.AppendString(b, ps.parentExe, jsonw.Minimal)
	b = append(b, `,"name":`...)
	b = jsonw.AppendString(b, ps.parent, jsonw.Minimal)
	b = append(b, `,"pid":`...)
	b = appendInt(b, pid-1-g.r.Int64N(200))
	b = append(b, `},"pid":`...)
	b = appendInt(b, pid)
	b = append(b, `,"working_directory":`...)
	return jsonw.AppendString(b, ps.workDir, jsonw.Minimal)
}

func (g *generator) linuxUser(b []byte, ps *procSpec) []byte {
	if ps.user >= 0 {
		u := linuxSystemUsers[ps.user]
		b = append(b, `"user":{"id":"`...)
		b = append(b, u.id...)
		b = append(b, `","name":"`...)
		b = append(b, u.name...)
		return append(b, `"}`...)
	}
	u := &g.w.users[g.r.IntN(len(g.w.users))]
	b = append(b, `"user":{"id":"`...)
	b = append(b, u.uid...)
	b = append(b, `","name":"`...)
	b = append(b, u.name...)
	b = append(b, `","group":{"id":"`...)
	b = append(b, u.uid...)
	b = append(b, `","name":"`...)
	b = append(b, u.name...)
	return append(b, `"}}`...)
}

func (g *generator) windowsUser(b []byte, ps *procSpec) []byte {
	if ps.user >= 0 {
		u := windowsSystemUsers[ps.user]
		b = append(b, `"user":{"domain":"`...)
		b = append(b, u.domain...)
		b = append(b, `","id":"`...)
		b = append(b, u.id...)
		b = append(b, `","name":"`...)
		b = append(b, u.name...)
		return append(b, `"}`...)
	}
	u := &g.w.users[g.r.IntN(len(g.w.users))]
	b = append(b, `"user":{"domain":"CORP","id":"`...)
	b = append(b, u.sid...)
	b = append(b, `","name":"`...)
	b = append(b, u.name...)
	return append(b, `"}`...)
}

func (g *generator) linuxHost() *host   { return &g.w.hosts[g.w.linux[g.r.IntN(len(g.w.linux))]] }
func (g *generator) windowsHost() *host { return &g.w.hosts[g.w.windows[g.r.IntN(len(g.w.windows))]] }

// linuxProcess writes an Elastic Defend Linux exec event on a host (no container).
func (g *generator) linuxProcess(b []byte, t int64) []byte {
	h := g.linuxHost()
	ps := &linuxHostProcs[g.r.IntN(len(linuxHostProcs))]
	args := ps.args[g.r.IntN(len(ps.args))]
	b = g.endpointHeader(b, t, h, "endpoint.events.process")
	b = append(b, `,"action":"exec","category":["process"],"type":["start"]},"message":"Endpoint process event",`...)
	pid := 1000 + g.r.Int64N(4000000)
	b = g.processBody(b, ps, args, pid)
	interactive := ps.user < 0 && g.r.IntN(2) == 0
	b = append(b, `,"interactive":`...)
	b = appendBool(b, interactive)
	b = append(b, `,"session_leader":{"name":"`...)
	b = append(b, ps.parent...)
	b = append(b, `","pid":`...)
	b = appendInt(b, pid-300)
	b = append(b, `,"interactive":`...)
	b = appendBool(b, interactive)
	b = append(b, `}},`...)
	b = g.linuxUser(b, ps)
	return append(b, '}')
}

// windowsProcess writes an Elastic Defend Windows process start.
func (g *generator) windowsProcess(b []byte, t int64) []byte {
	h := g.windowsHost()
	ps := &windowsProcs[g.r.IntN(len(windowsProcs))]
	args := ps.args[g.r.IntN(len(ps.args))]
	b = g.endpointHeader(b, t, h, "endpoint.events.process")
	b = append(b, `,"action":"start","category":["process"],"type":["start"]},"message":"Endpoint process event",`...)
	b = g.processBody(b, ps, args, 1000+g.r.Int64N(60000)*4)
	b = append(b, `,"code_signature":{"exists":true,"status":"trusted","subject_name":"Microsoft Windows","trusted":true},"pe":{"original_file_name":`...)
	b = jsonw.AppendString(b, ps.name, jsonw.Minimal)
	b = append(b, `},"Ext":{"token":{"integrity_level_name":"`...)
	if ps.user == 0 {
		b = append(b, "system"...)
	} else {
		b = append(b, "medium"...)
	}
	b = append(b, `"}}},`...)
	b = g.windowsUser(b, ps)
	return append(b, '}')
}

// containerProcess writes a Defend for Containers exec inside pod p.
func (g *generator) containerProcess(b []byte, t int64, p *pod, ps *procSpec, args []string, interactive bool) []byte {
	h := &g.w.hosts[p.node]
	b = append(b, `{"@timestamp":`...)
	b = appendTime(b, t, 3)
	b = append(b, ',')
	b = append(b, h.d4c...)
	b = append(b, `,"cloud_defend":{"matched_selectors":[`...)
	if interactive {
		b = append(b, `"interactiveSessions"`...)
	} else {
		b = append(b, `"allProcesses"`...)
	}
	b = append(b, `],"package_policy_revision":3},`...)
	b = append(b, p.frag...)
	b = append(b, `,"data_stream":{"dataset":"cloud_defend.process","namespace":"default","type":"logs"},"ecs":{"version":"8.11.0"},"event":{"action":"exec","agent_id_status":"verified","category":["process"],"created":`...)
	b = appendTime(b, t, 3)
	b = append(b, `,"dataset":"cloud_defend.process","id":"`...)
	b = appendUUID(b, g.r.Uint64(), g.r.Uint64())
	b = append(b, `","ingested":`...)
	b = g.ingested(b, t)
	b = append(b, `,"kind":"event","type":["start"]},"group":{"id":"0"},`...)
	b = append(b, h.frag...)
	b = append(b, `,"process":{"args":`...)
	b = appendStrs(b, args)
	b = append(b, `,"entity_id":`...)
	b = g.appendEntityID(b)
	b = append(b, `,"entry_leader":{"entry_meta":{"type":"container"},"interactive":`...)
	b = appendBool(b, interactive)
	b = append(b, `,"name":`...)
	b = jsonw.AppendString(b, ps.parent, jsonw.Minimal)
	b = append(b, `,"pid":1},"executable":`...)
	b = jsonw.AppendString(b, ps.exe, jsonw.Minimal)
	b = append(b, `,"interactive":`...)
	b = appendBool(b, interactive)
	b = append(b, `,"name":`...)
	b = jsonw.AppendString(b, ps.name, jsonw.Minimal)
	pid := 2 + g.r.Int64N(5000)
	b = append(b, `,"parent":{"executable":`...)
	b = jsonw.AppendString(b, ps.parentExe, jsonw.Minimal)
	b = append(b, `,"interactive":`...)
	b = appendBool(b, interactive)
	b = append(b, `,"name":`...)
	b = jsonw.AppendString(b, ps.parent, jsonw.Minimal)
	b = append(b, `,"pid":`...)
	b = appendInt(b, pid-1)
	b = append(b, `},"pid":`...)
	b = appendInt(b, pid)
	b = append(b, `,"start":`...)
	b = appendTime(b, t, 3)
	b = append(b, `,"working_directory":`...)
	b = jsonw.AppendString(b, ps.workDir, jsonw.Minimal)
	return append(b, `},"user":{"id":"0","name":"root"}}`...)
}

// noiseContainerProcess writes a container exec that can never start a seed-rule sequence that
// completes: pods that call the API only run their workload, non-interactively, and interactive
// sessions happen only in pods that never call the API.
func (g *generator) noiseContainerProcess(b []byte, t int64) []byte {
	p := &g.w.pods[g.r.IntN(len(g.w.pods))]
	if p.api || g.r.IntN(2) == 0 {
		ps := &containerWorkloadProcs[g.r.IntN(len(containerWorkloadProcs))]
		return g.containerProcess(b, t, p, ps, ps.args[g.r.IntN(len(ps.args))], false)
	}
	ps := &containerInteractiveProcs[g.r.IntN(len(containerInteractiveProcs))]
	return g.containerProcess(b, t, p, ps, ps.args[g.r.IntN(len(ps.args))], true)
}

func (g *generator) processRef(b []byte, ps *procSpec) []byte {
	b = append(b, `"process":{"entity_id":`...)
	b = g.appendEntityID(b)
	b = append(b, `,"executable":`...)
	b = jsonw.AppendString(b, ps.exe, jsonw.Minimal)
	b = append(b, `,"name":`...)
	b = jsonw.AppendString(b, ps.name, jsonw.Minimal)
	b = append(b, `,"pid":`...)
	b = appendInt(b, 1000+g.r.Int64N(60000))
	return append(b, '}')
}

func (g *generator) anyHostProc() (*host, *procSpec, bool) {
	if g.r.IntN(2) == 0 {
		return g.windowsHost(), &windowsProcs[g.r.IntN(len(windowsProcs))], true
	}
	return g.linuxHost(), &linuxHostProcs[g.r.IntN(len(linuxHostProcs))], false
}

func (g *generator) appendIP(b []byte) []byte {
	x := g.r.Uint64()
	b = append(b, '"')
	b = appendInt(b, int64(1+x%223))
	for i := 0; i < 3; i++ {
		x >>= 8
		b = append(b, '.')
		b = appendInt(b, int64(x&255))
	}
	return append(b, '"')
}

var ports = []int64{443, 443, 443, 80, 53, 22, 8080, 6443, 5432, 3306}

// network writes an Elastic Defend outbound connection.
func (g *generator) network(b []byte, t int64) []byte {
	h, ps, win := g.anyHostProc()
	b = g.endpointHeader(b, t, h, "endpoint.events.network")
	b = append(b, `,"action":"connection_attempted","category":["network"],"outcome":"unknown","type":["start"]},"message":"Endpoint network event","destination":{"address":`...)
	mark := len(b)
	b = g.appendIP(b)
	ip := b[mark:]
	b = append(b, `,"ip":`...)
	b = append(b, ip...)
	b = append(b, `,"port":`...)
	b = appendInt(b, ports[g.r.IntN(len(ports))])
	b = append(b, `},"network":{"direction":"egress","transport":"tcp","type":"ipv4"},`...)
	b = g.processRef(b, ps)
	b = append(b, `,"source":{"address":"`...)
	b = append(b, h.ip...)
	b = append(b, `","ip":"`...)
	b = append(b, h.ip...)
	b = append(b, `","port":`...)
	b = appendInt(b, 32768+g.r.Int64N(28000))
	b = append(b, `},`...)
	if win {
		b = g.windowsUser(b, ps)
	} else {
		b = g.linuxUser(b, ps)
	}
	return append(b, '}')
}

var fileActions = []struct{ action, typ string }{{"creation", "creation"}, {"modification", "change"}, {"overwrite", "change"}, {"deletion", "deletion"}, {"rename", "change"}}

// file writes an Elastic Defend file event.
func (g *generator) file(b []byte, t int64) []byte {
	h, ps, win := g.anyHostProc()
	var path string
	var sep byte = '/'
	if win {
		path, sep = windowsFiles[g.r.IntN(len(windowsFiles))], '\\'
	} else {
		path = linuxFiles[g.r.IntN(len(linuxFiles))]
	}
	dir, name := path, path
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == sep {
			dir, name = path[:i], path[i+1:]
			break
		}
	}
	ext := ""
	for i := len(name) - 1; i > 0; i-- {
		if name[i] == '.' {
			ext = name[i+1:]
			break
		}
	}
	fa := fileActions[g.r.IntN(len(fileActions))]
	b = g.endpointHeader(b, t, h, "endpoint.events.file")
	b = append(b, `,"action":"`...)
	b = append(b, fa.action...)
	b = append(b, `","category":["file"],"outcome":"unknown","type":["`...)
	b = append(b, fa.typ...)
	b = append(b, `"]},"file":{"directory":`...)
	b = jsonw.AppendString(b, dir, jsonw.Minimal)
	if ext != "" {
		b = append(b, `,"extension":`...)
		b = jsonw.AppendString(b, ext, jsonw.Minimal)
	}
	b = append(b, `,"name":`...)
	b = jsonw.AppendString(b, name, jsonw.Minimal)
	b = append(b, `,"path":`...)
	b = jsonw.AppendString(b, path, jsonw.Minimal)
	b = append(b, `,"size":`...)
	b = appendInt(b, g.r.Int64N(1<<22))
	b = append(b, `},"message":"Endpoint file event",`...)
	b = g.processRef(b, ps)
	b = append(b, ',')
	if win {
		b = g.windowsUser(b, ps)
	} else {
		b = g.linuxUser(b, ps)
	}
	return append(b, '}')
}

// dns writes an Elastic Defend DNS lookup result (Windows).
func (g *generator) dns(b []byte, t int64) []byte {
	h := g.windowsHost()
	ps := &windowsProcs[g.r.IntN(len(windowsProcs))]
	name := domains[g.r.IntN(len(domains))]
	b = g.endpointHeader(b, t, h, "endpoint.events.network")
	b = append(b, `,"action":"lookup_result","category":["network"],"outcome":"unknown","type":["protocol","info"]},"dns":{"Ext":{"status":0},"question":{"name":`...)
	b = jsonw.AppendString(b, name, jsonw.Minimal)
	b = append(b, `,"type":"A"},"resolved_ip":[`...)
	b = g.appendIP(b)
	if g.r.IntN(2) == 0 {
		b = append(b, ',')
		b = g.appendIP(b)
	}
	b = append(b, `]},"message":"Endpoint DNS event","network":{"protocol":"dns"},`...)
	b = g.processRef(b, ps)
	b = append(b, ',')
	b = g.windowsUser(b, ps)
	return append(b, '}')
}

// registry writes an Elastic Defend registry modification (Windows).
func (g *generator) registry(b []byte, t int64) []byte {
	h := g.windowsHost()
	ps := &windowsProcs[g.r.IntN(len(windowsProcs))]
	k := &registryKeys[g.r.IntN(len(registryKeys))]
	b = g.endpointHeader(b, t, h, "endpoint.events.registry")
	b = append(b, `,"action":"modification","category":["registry"],"outcome":"unknown","type":["change"]},"message":"Endpoint registry event",`...)
	b = g.processRef(b, ps)
	b = append(b, `,"registry":{`...)
	if k.data != "" {
		b = append(b, `"data":{"strings":[`...)
		b = jsonw.AppendString(b, k.data, jsonw.Minimal)
		b = append(b, `],"type":"`...)
		b = append(b, k.typ...)
		b = append(b, `"},`...)
	}
	b = append(b, `"hive":"`...)
	b = append(b, k.hive...)
	b = append(b, `","key":`...)
	b = jsonw.AppendString(b, k.key, jsonw.Minimal)
	b = append(b, `,"path":"`...)
	b = jsonw.AppendEscaped(b, k.hive, jsonw.Minimal)
	b = append(b, `\\`...)
	b = jsonw.AppendEscaped(b, k.key, jsonw.Minimal)
	b = append(b, `\\`...)
	b = jsonw.AppendEscaped(b, k.value, jsonw.Minimal)
	b = append(b, `","value":`...)
	b = jsonw.AppendString(b, k.value, jsonw.Minimal)
	b = append(b, `},`...)
	b = g.windowsUser(b, ps)
	return append(b, '}')
}
