package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
)

// kind is the kind of a generated event.
type kind int

const (
	kindLinuxProcess kind = iota
	kindContainerProcess
	kindWindowsProcess
	kindNetwork
	kindFile
	kindDNS
	kindRegistry
	kindAudit
	numKinds
)

var kindNames = [numKinds]string{"linux_process", "container_process", "windows_process", "network", "file", "dns", "registry", "k8s_audit"}

// kindWeights is the mix of noise events, in percent.
var kindWeights = [numKinds]int{14, 16, 14, 16, 14, 8, 6, 12}

// episode is a planted seed-rule sequence or a decoy that must not match.
type episode int

const (
	epPlanted             episode = iota // exec, then an audit 0.2-0.75 s later
	epPlantedTwoExecs                    // two execs, then one audit: one sequence (the later exec)
	epPlantedRepeatAudit                 // exec, audit, audit: one sequence (the exec is consumed)
	epDecoyExcluded                      // an excluded utility (curl, kubectl, busybox wget, sleep...)
	epDecoyNotInteractive                // process.interactive false
	epDecoyLate                          // the audit comes 2.2-3.5 s after the exec
	epDecoyBefore                        // the audit comes before the exec
	epDecoyOtherPod                      // the audit carries another pod's name
	epDecoyAuditMismatch                 // the audit fails the second stage (stage, verb or resource)
	numEpisodes
)

var episodeNames = [numEpisodes]string{"planted", "planted_two_execs", "planted_repeat_audit", "decoy_excluded_utility",
	"decoy_not_interactive", "decoy_audit_late", "decoy_audit_before", "decoy_other_pod", "decoy_audit_not_selected"}

// episodeEvents is how many events each episode writes.
var episodeEvents = [numEpisodes]int{2, 3, 3, 2, 2, 2, 2, 2, 2}

// config is the generator's input.
type config struct {
	n                                   int
	seed                                uint64
	hosts, users, pods, planted, decoys int
	rate                                int   // events per second, on average
	start                               int64 // Unix nanoseconds of the first event
	ingestLag                           int64 // whole seconds added to @timestamp for event.ingested
}

// pending is an episode event waiting for its time.
type pending struct {
	t    int64
	kind kind
	emit func(b []byte, t int64) []byte
}

// plantedRecord describes one planted sequence for the manifest.
type plantedRecord struct {
	Pod     string `json:"pod"`
	Variant string `json:"variant"`
	Exec    string `json:"exec_timestamp"`
	Audit   string `json:"audit_timestamp"`
}

// generator writes one workload. It is not safe for concurrent use.
type generator struct {
	cfg     config
	r       *rand.Rand
	w       *world
	seq     int64
	offset  int64
	queue   []pending
	counts  [numKinds]int
	epCount [numEpisodes]int
	planted []plantedRecord
}

// stats is what a run measured.
type stats struct {
	events, bytes       int64
	minSize, maxSize    int
	firstTime, lastTime int64
}

func newGenerator(cfg config) (*generator, error) {
	w, err := newWorld(cfg.seed, cfg.hosts, cfg.users, cfg.pods)
	if err != nil {
		return nil, err
	}
	if cfg.rate <= 0 {
		return nil, fmt.Errorf("rate must be positive (got %d)", cfg.rate)
	}
	return &generator{cfg: cfg, r: rand.New(rand.NewPCG(cfg.seed, 0x5eed0002)), w: w}, nil
}

// run writes cfg.n events to out.
func (g *generator) run(ctx context.Context, out io.Writer) (stats, error) {
	st := stats{minSize: 1 << 30}
	plan := make([]episode, 0, g.cfg.planted+g.cfg.decoys)
	for i := 0; i < g.cfg.planted; i++ {
		switch v := g.r.IntN(10); {
		case v < 6:
			plan = append(plan, epPlanted)
		case v < 8:
			plan = append(plan, epPlantedTwoExecs)
		default:
			plan = append(plan, epPlantedRepeatAudit)
		}
	}
	for i := 0; i < g.cfg.decoys; i++ {
		plan = append(plan, epDecoyExcluded+episode(i%int(numEpisodes-epDecoyExcluded)))
	}
	g.r.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	epEvents := 0
	for _, e := range plan {
		epEvents += episodeEvents[e]
	}
	if epEvents > g.cfg.n {
		return st, fmt.Errorf("-n %d is too small for %d planted and %d decoy episodes (%d events)", g.cfg.n, g.cfg.planted, g.cfg.decoys, epEvents)
	}
	noise := g.cfg.n - epEvents
	bw := bufio.NewWriterSize(out, 1<<20)
	b := make([]byte, 0, 4096)
	write := func(t int64, k kind, emit func([]byte, int64) []byte) error {
		if emit != nil {
			b = emit(b[:0], t)
		} else {
			b = g.noise(b[:0], k, t)
		}
		b = append(b, '\n')
		if st.events == 0 {
			st.firstTime = t
		}
		st.lastTime = t
		st.events++
		st.bytes += int64(len(b))
		st.minSize = min(st.minSize, len(b)-1)
		st.maxSize = max(st.maxSize, len(b)-1)
		_, err := bw.Write(b)
		return err
	}
	flush := func(upTo int64) error {
		for len(g.queue) > 0 && g.queue[0].t <= upTo {
			p := g.queue[0]
			g.queue = g.queue[1:]
			g.counts[p.kind]++
			if err := write(p.t, p.kind, p.emit); err != nil {
				return err
			}
		}
		return nil
	}
	meanGap := int64(1e9) / int64(g.cfg.rate)
	t := g.cfg.start
	next := 0
	var total int
	for _, w := range kindWeights {
		total += w
	}
	for i := 0; i < noise; i++ {
		if i&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		t += g.r.Int64N(2*meanGap + 1)
		for next < len(plan) && i == int(int64(next+1)*int64(noise)/int64(len(plan)+1)) {
			g.schedule(plan[next], t)
			next++
		}
		if err := flush(t); err != nil {
			return st, err
		}
		k := kind(0)
		for v := g.r.IntN(total); v >= kindWeights[k]; k++ {
			v -= kindWeights[k]
		}
		g.counts[k]++
		if err := write(t, k, nil); err != nil {
			return st, err
		}
	}
	for ; next < len(plan); next++ { // only when noise is 0
		g.schedule(plan[next], t)
	}
	if err := flush(1<<63 - 1); err != nil {
		return st, err
	}
	return st, bw.Flush()
}

// noise appends one noise event of kind k at time t.
func (g *generator) noise(b []byte, k kind, t int64) []byte {
	switch k {
	case kindLinuxProcess:
		return g.linuxProcess(b, t)
	case kindContainerProcess:
		return g.noiseContainerProcess(b, t)
	case kindWindowsProcess:
		return g.windowsProcess(b, t)
	case kindNetwork:
		return g.network(b, t)
	case kindFile:
		return g.file(b, t)
	case kindDNS:
		return g.dns(b, t)
	case kindRegistry:
		return g.registry(b, t)
	default:
		return g.noiseAudit(b, t)
	}
}

// push queues an episode event, keeping the queue ordered by time (stable for equal times).
func (g *generator) push(p pending) {
	i := len(g.queue)
	g.queue = append(g.queue, p)
	for i > 0 && g.queue[i-1].t > p.t {
		g.queue[i] = g.queue[i-1]
		i--
	}
	g.queue[i] = p
}

func (g *generator) ms(lo, hi int64) int64 { return (lo + g.r.Int64N(hi-lo+1)) * 1e6 }

// schedule plans the events of one episode, all after t. Planted pairs straddle a whole-second
// boundary, so their event.ingested values differ by exactly 1 s (maxspan is inclusive) and no
// pair depends on the order of events with equal timestamps.
func (g *generator) schedule(e episode, t int64) {
	g.epCount[e]++
	s := (t/1e9 + 1) * 1e9
	p := g.w.episodePod(g.r)
	execT := s + g.ms(550, 850)
	auditT := s + 1e9 + g.ms(50, 300)
	ps := &plantedProcs[g.r.IntN(len(plantedProcs))]
	interactive := true
	auditPod := p
	var bad auditFlaw
	switch e {
	case epPlantedTwoExecs:
		first := s + g.ms(500, 600)
		g.pushExec(first, p, &containerInteractiveProcs[g.r.IntN(2)], true)
		execT = first + g.ms(100, 200)
	case epPlantedRepeatAudit:
		g.pushAudit(auditT+g.ms(100, 300), p, flawNone)
	case epDecoyExcluded:
		ps = &excludedProcs[g.epCount[e]%len(excludedProcs)]
	case epDecoyNotInteractive:
		interactive = false
	case epDecoyLate:
		execT = s + g.ms(0, 900)
		auditT = execT + g.ms(2200, 3500)
	case epDecoyBefore:
		execT, auditT = s+1e9+g.ms(50, 300), s+g.ms(550, 850)
	case epDecoyOtherPod:
		auditPod = &g.w.pods[g.w.apiPods[g.r.IntN(len(g.w.apiPods))]]
	case epDecoyAuditMismatch:
		bad = auditFlaw(1 + g.epCount[e]%3)
	}
	g.pushExec(execT, p, ps, interactive)
	g.pushAudit(auditT, auditPod, bad)
	if e <= epPlantedRepeatAudit {
		rec := plantedRecord{Pod: p.name, Variant: episodeNames[e]}
		rec.Exec = strings.Trim(string(appendTime(nil, execT, 3)), `"`)
		rec.Audit = strings.Trim(string(appendTime(nil, auditT, 3)), `"`)
		g.planted = append(g.planted, rec)
	}
}

func (g *generator) pushExec(t int64, p *pod, ps *procSpec, interactive bool) {
	args := ps.args[g.r.IntN(len(ps.args))]
	g.push(pending{t: t, kind: kindContainerProcess, emit: func(b []byte, t int64) []byte {
		return g.containerProcess(b, t, p, ps, args, interactive)
	}})
}

// auditFlaw says how an episode's audit event fails the seed rule's second stage.
type auditFlaw int

const (
	flawNone     auditFlaw = iota
	flawStage              // RequestReceived
	flawVerb               // delete
	flawResource           // a resource the rule does not list
)

// seedResources are resources the seed rule selects, with the verbs a pod typically uses on them.
var seedResources = []struct{ res, verb, sub string }{
	{"secrets", "list", ""}, {"secrets", "get", ""}, {"pods", "list", ""}, {"configmaps", "get", ""}, {"serviceaccounts", "list", ""},
	{"namespaces", "list", ""}, {"nodes", "list", ""}, {"selfsubjectaccessreviews", "create", ""}, {"selfsubjectrulesreviews", "create", ""},
	{"pods", "create", "exec"}, {"pods", "get", "log"}, {"rolebindings", "list", ""}, {"clusterroles", "get", ""}, {"deployments", "patch", ""},
	{"pods", "watch", ""},
}

var otherResources = []string{"services", "endpoints", "leases", "events", "ingresses", "persistentvolumeclaims"}

func (g *generator) pushAudit(t int64, p *pod, flaw auditFlaw) {
	sr := seedResources[g.r.IntN(len(seedResources))]
	a := auditReq{actor: actorPod, pod: p, verb: sr.verb, resource: sr.res, sub: sr.sub, ns: p.namespace, stage: "ResponseComplete"}
	switch sr.res {
	case "namespaces", "nodes", "selfsubjectaccessreviews", "selfsubjectrulesreviews", "clusterroles":
		a.ns = ""
	}
	if sr.sub != "" || sr.verb == "get" || sr.verb == "patch" {
		a.name = g.w.pods[g.r.IntN(len(g.w.pods))].name
		if sr.res != "pods" {
			a.name = sr.res[:len(sr.res)-1] + "-" + p.sa
		}
	}
	if sr.verb == "watch" || sr.sub == "exec" {
		a.stage = "ResponseStarted"
	}
	switch flaw {
	case flawStage:
		a.stage = "RequestReceived"
	case flawVerb:
		a.verb, a.sub, a.name = "delete", "", "stale-"+p.sa
		if a.ns == "" {
			a.resource, a.ns = "secrets", p.namespace
		}
	case flawResource:
		a.resource, a.sub, a.verb, a.ns, a.name = otherResources[g.r.IntN(len(otherResources))], "", "list", p.namespace, ""
		a.stage = "ResponseComplete"
	}
	g.push(pending{t: t, kind: kindAudit, emit: func(b []byte, t int64) []byte { return g.audit(b, t, &a) }})
}
