package main

import "github.com/tripline/tripline/internal/jsonw"

// actor is who sends an API request.
type actor int

const (
	actorPod    actor = iota // a pod's service account (bound token: user.extra has pod-name)
	actorSystem              // a control-plane component or a kubelet
	actorHuman               // a person with kubectl
)

// auditReq is one Kubernetes API request as the audit log records it.
type auditReq struct {
	actor                         actor
	pod                           *pod   // actorPod
	who                           string // actorSystem or actorHuman: the user name
	verb, resource, sub, ns, name string
	stage                         string
}

var systemUsers = []string{"system:kube-controller-manager", "system:kube-scheduler", "system:apiserver", "system:serviceaccount:kube-system:endpointslice-controller"}

// noiseAudit writes an audit event that never completes a seed-rule sequence: pods that call the
// API never run interactive sessions, and other actors carry no pod name.
func (g *generator) noiseAudit(b []byte, t int64) []byte {
	a := auditReq{verb: k8sVerbs[g.r.IntN(len(k8sVerbs))], stage: "ResponseComplete"}
	res := &k8sResources[g.r.IntN(len(k8sResources))]
	a.resource = res.resource
	switch v := g.r.IntN(10); {
	case v < 6:
		a.actor, a.pod = actorPod, &g.w.pods[g.w.apiPods[g.r.IntN(len(g.w.apiPods))]]
	case v < 8:
		a.actor, a.who = actorSystem, systemUsers[g.r.IntN(len(systemUsers))]
		if g.r.IntN(2) == 0 {
			a.who = "system:node:" + g.w.hosts[g.w.nodes[g.r.IntN(len(g.w.nodes))]].name
		}
	default:
		a.actor, a.who = actorHuman, g.w.users[g.r.IntN(len(g.w.users))].name+"@example.com"
	}
	target := &g.w.pods[g.r.IntN(len(g.w.pods))]
	if res.namespaced {
		a.ns = target.namespace
	}
	switch a.verb {
	case "get", "update", "patch", "delete":
		if a.resource == "pods" {
			a.name = target.name
		} else {
			a.name = a.resource[:len(a.resource)-1] + "-" + target.sa
		}
	case "watch":
		if g.r.IntN(2) == 0 {
			a.stage = "ResponseStarted"
		}
	}
	if a.actor == actorHuman && g.r.IntN(10) == 0 {
		a.resource, a.sub, a.verb, a.name, a.ns, a.stage = "pods", "exec", "create", target.name, target.namespace, "ResponseStarted"
	} else if g.r.IntN(12) == 0 {
		a.stage = "RequestReceived"
	}
	return g.audit(b, t, &a)
}

func (g *generator) apiGroupVersion(resource string) (group, version string) {
	for i := range k8sResources {
		if k8sResources[i].resource == resource {
			return k8sResources[i].group, k8sResources[i].version
		}
	}
	switch resource {
	case "selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews":
		return "authorization.k8s.io", "v1"
	case "roles", "rolebindings", "clusterroles", "clusterrolebindings":
		return "rbac.authorization.k8s.io", "v1"
	case "ingresses":
		return "networking.k8s.io", "v1"
	}
	return "", "v1"
}

// audit writes a Kubernetes audit event in the shape the kubernetes.audit_logs integration indexes:
// the raw Event under kubernetes.audit (annotation keys dedotted, user.extra keys kept), plus the
// ECS copies the pipeline adds. @timestamp is the time the agent read the line (t); the request
// itself happened a few milliseconds earlier.
func (g *generator) audit(b []byte, t int64, a *auditReq) []byte {
	h := &g.w.hosts[g.w.controlPlane]
	stageT := t - g.r.Int64N(20e6)
	recvT := stageT - g.r.Int64N(5e6)
	var username, uid, ip string
	switch a.actor {
	case actorPod:
		username, uid, ip = a.pod.saUser, a.pod.saUID, a.pod.ip
	case actorSystem:
		username, uid, ip = a.who, "b1f4f8d2-7c5e-4a9e-9d0c-"+h.nodeUID[24:], h.ip
	default:
		username, uid, ip = a.who, "oidc:"+a.who, "192.168.10.20"
	}
	group, version := g.apiGroupVersion(a.resource)
	b = append(b, `{"@timestamp":`...)
	b = appendTime(b, t, 3)
	b = append(b, ',')
	b = append(b, h.fbeat...)
	b = append(b, `,"data_stream":{"dataset":"kubernetes.audit_logs","namespace":"default","type":"logs"},"ecs":{"version":"8.11.0"},"event":{"action":"`...)
	b = append(b, a.verb...)
	b = append(b, `","dataset":"kubernetes.audit_logs","ingested":`...)
	b = g.ingested(b, t)
	b = append(b, `,"kind":"event"`...)
	if a.stage != "RequestReceived" {
		b = append(b, `,"outcome":"success"`...)
	}
	b = append(b, `},`...)
	b = append(b, h.short...)
	b = append(b, `,"kubernetes":{"audit":{`...)
	if a.stage != "RequestReceived" {
		b = append(b, `"annotations":{"authorization_k8s_io/decision":"allow"},`...)
	}
	b = append(b, `"apiVersion":"audit.k8s.io/v1","auditID":"`...)
	b = appendUUID(b, g.r.Uint64(), g.r.Uint64())
	b = append(b, `","kind":"Event","level":"Metadata","objectRef":{`...)
	if group != "" {
		b = append(b, `"apiGroup":"`...)
		b = append(b, group...)
		b = append(b, `",`...)
	}
	b = append(b, `"apiVersion":"`...)
	b = append(b, version...)
	b = append(b, '"')
	if a.name != "" {
		b = append(b, `,"name":`...)
		b = jsonw.AppendString(b, a.name, jsonw.Minimal)
	}
	if a.ns != "" {
		b = append(b, `,"namespace":"`...)
		b = append(b, a.ns...)
		b = append(b, '"')
	}
	b = append(b, `,"resource":"`...)
	b = append(b, a.resource...)
	b = append(b, '"')
	if a.sub != "" {
		b = append(b, `,"subresource":"`...)
		b = append(b, a.sub...)
		b = append(b, '"')
	}
	b = append(b, `},"requestReceivedTimestamp":`...)
	b = appendTime(b, recvT, 6)
	b = append(b, `,"requestURI":"`...)
	if group == "" {
		b = append(b, "/api/v1"...)
	} else {
		b = append(b, "/apis/"...)
		b = append(b, group...)
		b = append(b, '/')
		b = append(b, version...)
	}
	if a.ns != "" {
		b = append(b, "/namespaces/"...)
		b = append(b, a.ns...)
	}
	b = append(b, '/')
	b = append(b, a.resource...)
	if a.name != "" {
		b = append(b, '/')
		b = append(b, a.name...)
	}
	if a.sub != "" {
		b = append(b, '/')
		b = append(b, a.sub...)
	}
	switch {
	case a.sub == "exec":
		b = append(b, `?command=%2Fbin%2Fsh\u0026container=app\u0026stdin=true\u0026stdout=true\u0026tty=true`...)
	case a.verb == "watch":
		b = append(b, `?allowWatchBookmarks=true\u0026resourceVersion=`...)
		b = appendInt(b, 100000+g.r.Int64N(900000))
		b = append(b, `\u0026timeoutSeconds=405\u0026watch=true`...)
	case a.verb == "list":
		b = append(b, `?limit=500`...)
	}
	b = append(b, '"')
	if a.stage != "RequestReceived" {
		b = append(b, `,"responseStatus":{"code":`...)
		switch {
		case a.sub == "exec":
			b = append(b, "101"...)
		case a.verb == "create":
			b = append(b, "201"...)
		default:
			b = append(b, "200"...)
		}
		b = append(b, '}')
	}
	b = append(b, `,"sourceIPs":["`...)
	b = append(b, ip...)
	b = append(b, `"],"stage":"`...)
	b = append(b, a.stage...)
	b = append(b, `","stageTimestamp":`...)
	b = appendTime(b, stageT, 6)
	b = append(b, `,"user":{`...)
	if a.actor == actorPod {
		p := a.pod
		b = append(b, `"extra":{`...)
		b = append(b, `"authentication.kubernetes.io/pod-name":[`...)
		b = jsonw.AppendString(b, p.name, jsonw.Minimal)
		b = append(b, `],"authentication.kubernetes.io/pod-uid":["`...)
		b = append(b, p.uid...)
		b = append(b, `"]},"groups":["system:serviceaccounts","system:serviceaccounts:`...)
		b = append(b, p.namespace...)
		b = append(b, `","system:authenticated"],`...)
	} else if a.actor == actorHuman {
		b = append(b, `"groups":["oidc:platform-engineers","system:authenticated"],`...)
	} else {
		b = append(b, `"groups":["system:authenticated"],`...)
	}
	b = append(b, `"uid":"`...)
	b = append(b, uid...)
	b = append(b, `","username":"`...)
	b = append(b, username...)
	b = append(b, `"},"userAgent":"`...)
	ua := g.userAgent(a)
	b = append(b, ua...)
	b = append(b, `","verb":"`...)
	b = append(b, a.verb...)
	b = append(b, `"}},"orchestrator":{"api_version":"audit.k8s.io/v1",`...)
	if a.ns != "" {
		b = append(b, `"namespace":"`...)
		b = append(b, a.ns...)
		b = append(b, `",`...)
	}
	b = append(b, `"resource":{`...)
	if a.name != "" {
		b = append(b, `"name":`...)
		b = jsonw.AppendString(b, a.name, jsonw.Minimal)
		b = append(b, ',')
	}
	b = append(b, `"type":"`...)
	b = append(b, a.resource...)
	b = append(b, `"},"type":"kubernetes"},"source":{"ip":["`...)
	b = append(b, ip...)
	b = append(b, `"]},"user":{"id":"`...)
	b = append(b, uid...)
	b = append(b, `","name":"`...)
	b = append(b, username...)
	b = append(b, `"},"user_agent":{"original":"`...)
	b = append(b, ua...)
	return append(b, `"}}`...)
}

func (g *generator) userAgent(a *auditReq) string {
	switch a.actor {
	case actorHuman:
		return "kubectl/v1.31.1 (linux/amd64) kubernetes/948afe5"
	case actorSystem:
		return "kube-controller-manager/v1.31.1 (linux/amd64) kubernetes/948afe5"
	}
	if a.pod.sa == "toolbox" || a.pod.sa == "debug-shell" || a.pod.sa == "sandbox" {
		return "Python-urllib/3.12"
	}
	return "client-go/v0.31.1 (linux/amd64) kubernetes/$Format"
}
