package main

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// host is one machine. Its JSON fragments are built once.
type host struct {
	name    string
	windows bool
	ip      string
	nodeUID string
	cloud   []byte // `"cloud":{...}`
	frag    []byte // `"host":{...}`
	short   []byte // `"host":{...}` as the agent shipping audit logs reports it
	agent   []byte // `"agent":{...}` for Elastic Defend
	d4c     []byte // `"agent":{...}` for the cloud-defend component
	fbeat   []byte // `"agent":{...}` for the agent that ships audit logs
}

// account is a user: regular users exist on both OSs, with a Linux uid and a Windows SID.
type account struct {
	name, uid, sid string
}

// pod is one Kubernetes pod with one container.
type pod struct {
	name, uid, namespace, sa, ip, containerName string
	node                                        int  // index into world.hosts
	api                                         bool // its service account calls the API server
	frag                                        []byte
	saUser, saUID                               string
}

// world is the fixed population of a workload: hosts, users, pods and precomputed fragments.
type world struct {
	hosts          []host
	linux, windows []int // indexes into hosts
	nodes          []int // Linux hosts that are Kubernetes nodes
	controlPlane   int
	users          []account
	pods           []pod
	apiPods        []int
	quietPods      []int
	cluster        string
	clusterID      string
	hashes         map[string][]byte // executable → `"hash":{...}`
	podSeq         int               // episode pods made so far
}

func randHex(r *rand.Rand, n int) string {
	b := make([]byte, 0, n)
	for len(b) < n {
		b = appendHex(b, r.Uint64(), min(16, n-len(b)))
	}
	return string(b)
}

func randUUID(r *rand.Rand) string { return string(appendUUID(nil, r.Uint64(), r.Uint64())) }

// podSuffix makes a unique, pod-like suffix from n (bijective for n < 36^5).
func podSuffix(n int) string {
	const alpha = "bcdfghjklmnpqrstvwxz2456789"
	x := uint64(n) * 2654435761 % 14348907 // 27^5; the multiplier is not a multiple of 3, so this is a bijection
	var s [5]byte
	for i := range s {
		s[i] = alpha[x%27]
		x /= 27
	}
	return string(s[:])
}

func newWorld(seed uint64, nHosts, nUsers, nPods int) (*world, error) {
	if nHosts < 2 || nUsers < 1 || nPods < 2 {
		return nil, fmt.Errorf("need at least 2 hosts, 1 user and 2 pods (got %d, %d, %d)", nHosts, nUsers, nPods)
	}
	if nPods > 14348907 {
		return nil, fmt.Errorf("at most 14348907 pods (got %d)", nPods)
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed0001))
	w := &world{cluster: "prod-eu-" + strconv.Itoa(int(seed%10)), clusterID: randUUID(r), hashes: map[string][]byte{}}
	for i := 0; i < nHosts; i++ {
		h := host{windows: i%3 == 1, ip: fmt.Sprintf("10.%d.%d.%d", 10+i/65025%200, i/255%255, 1+i%254), nodeUID: randUUID(r)}
		id, agentID := randHex(r, 32), randUUID(r)
		var b []byte
		if h.windows {
			h.name = fmt.Sprintf("WKS-%05d", 1000+i)
			w.windows = append(w.windows, i)
			b = fmt.Appendf(nil, `"host":{"hostname":%q,"id":%q,"ip":[%q],"name":%q,"os":{"family":"windows","full":"Windows 11 Enterprise 23H2","name":"Windows","type":"windows","version":"23H2"}}`,
				h.name, id, h.ip, h.name)
		} else {
			h.name = fmt.Sprintf("ip-10-%d-%d-%d.ec2.internal", 10+i/65025%200, i/255%255, 1+i%254)
			w.linux = append(w.linux, i)
			b = fmt.Appendf(nil, `"host":{"hostname":%q,"id":%q,"ip":[%q],"name":%q,"os":{"family":"ubuntu","full":"Ubuntu 22.04.5 LTS","name":"Linux","type":"linux","version":"22.04.5"}}`,
				h.name, id, h.ip, h.name)
		}
		h.frag = b
		h.short = fmt.Appendf(nil, `"host":{"id":%q,"name":%q,"os":{"type":"linux"}}`, id, h.name)
		h.cloud = fmt.Appendf(nil, `"cloud":{"account":{"id":"734820119485"},"availability_zone":"eu-west-1%c","instance":{"id":"i-0%s"},"provider":"aws","region":"eu-west-1"}`, 'a'+rune(i%3), randHex(r, 16))
		h.agent = fmt.Appendf(nil, `"agent":{"id":%q,"type":"endpoint","version":"9.3.0"}`, agentID)
		h.d4c = fmt.Appendf(nil, `"agent":{"id":%q,"type":"cloud-defend","version":"9.3.0"}`, agentID)
		h.fbeat = fmt.Appendf(nil, `"agent":{"id":%q,"type":"filebeat","version":"9.3.0"}`, agentID)
		w.hosts = append(w.hosts, h)
	}
	// Half of the Linux hosts (at least one) are Kubernetes nodes; the first is the control plane.
	for i, hi := range w.linux {
		if i%2 == 0 {
			w.nodes = append(w.nodes, hi)
		}
	}
	w.controlPlane = w.nodes[0]
	for i := 0; i < nUsers; i++ {
		name := firstNames[i%len(firstNames)]
		if i >= len(firstNames) {
			name += strconv.Itoa(i / len(firstNames))
		}
		w.users = append(w.users, account{name: name, uid: strconv.Itoa(1000 + i), sid: "S-1-5-21-1004336348-1177238915-682003330-" + strconv.Itoa(1001+i)})
	}
	for i := 0; i < nPods; i++ {
		app := appNames[i%len(appNames)]
		p := w.newPod(r, app, i, i%2 == 0)
		w.pods = append(w.pods, p)
		if p.api {
			w.apiPods = append(w.apiPods, i)
		} else {
			w.quietPods = append(w.quietPods, i)
		}
	}
	for _, list := range [][]procSpec{linuxHostProcs, containerWorkloadProcs, containerInteractiveProcs, plantedProcs, excludedProcs, windowsProcs} {
		for _, p := range list {
			w.addHash(p.exe)
			w.addHash(p.parentExe)
		}
	}
	return w, nil
}

func (w *world) addHash(exe string) {
	if _, ok := w.hashes[exe]; ok {
		return
	}
	m, s2 := md5.Sum([]byte(exe)), sha256.Sum256([]byte(exe))
	w.hashes[exe] = fmt.Appendf(nil, `"hash":{"md5":%q,"sha256":%q}`, hex.EncodeToString(m[:]), hex.EncodeToString(s2[:]))
}

// newPod builds pod number n of deployment app. Names are unique: noise pods and episode pods use
// disjoint deployment names, and the suffix is a bijection of n.
func (w *world) newPod(r *rand.Rand, app string, n int, api bool) pod {
	ns := namespaces[n%len(namespaces)]
	img := images[n%len(images)]
	p := pod{
		name:          fmt.Sprintf("%s-%s-%s", app, randHex(r, 9)[:9], podSuffix(n)),
		uid:           randUUID(r),
		namespace:     ns,
		sa:            app,
		ip:            fmt.Sprintf("10.244.%d.%d", n/250%250, 2+n%250),
		containerName: app,
		node:          w.nodes[n%len(w.nodes)],
		api:           api,
	}
	p.saUser = "system:serviceaccount:" + ns + ":" + p.sa
	p.saUID = randUUID(r)
	p.frag = fmt.Appendf(nil, `"container":{"id":%q,"image":{"name":%q,"tag":%q},"name":%q},"orchestrator":{"cluster":{"id":%q,"name":%q},"namespace":%q,"resource":{"ip":[%q],"name":%q,"parent":{"type":"ReplicaSet"},"type":"pod"},"type":"kubernetes"}`,
		randHex(r, 64), img.name, img.tag, p.containerName, w.clusterID, w.cluster, ns, p.ip, p.name)
	return p
}

// episodePod makes a fresh pod for one planted or decoy episode.
func (w *world) episodePod(r *rand.Rand) *pod {
	n := w.podSeq
	w.podSeq++
	p := w.newPod(r, episodeAppNames[n%len(episodeAppNames)], n, false)
	return &p
}
