package server

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Elasticsearch reads a path's first segment as an index name unless it starts with "_",
// which no index name may; the routes are split the same way, into apis (also / and
// /healthz) and indices, because one ServeMux refuses the pair "/_nodes/{rest...}" and
// "/{index}/_bulk" as conflicting. The index-management APIs (templates, ILM policies,
// pipelines, data streams) are acknowledged without effect, since tripline stores nothing.
// Paths reach the muxes in their routePath form; what no pattern takes is answered 400 with
// Elasticsearch's "no handler found", and a known path with another method 405.
func (s *Server) routes() {
	api, idx := http.NewServeMux(), http.NewServeMux()
	s.apis, s.indices = api, idx
	const get, head, post, put, del = http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete
	bulk := func(w http.ResponseWriter, r *http.Request) { s.handleBulk(w, r, r.PathValue("index")) }
	doc := func(w http.ResponseWriter, r *http.Request) {
		s.handleDoc(w, r, r.PathValue("index"), r.PathValue("id"))
	}
	ok := func(body func() []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { s.writeJSON(w, r, http.StatusOK, body()) }
	}
	static := func(body string) http.HandlerFunc { return ok(func() []byte { return []byte(body) }) }
	nodes := func(w http.ResponseWriter, r *http.Request) { s.writeJSON(w, r, http.StatusOK, s.nodes(r)) }
	withRest := func(path string) []string { return []string{path, path + "/{rest...}"} }

	s.allow(api, "/{$}", ok(s.info), get, head)
	s.allow(api, "/healthz", s.healthz, get, head)
	s.allow(api, "/_bulk", bulk, post, put)
	s.allow(api, "/_license", ok(s.license), get)
	s.allow(api, "/_xpack", ok(s.xpack), get)
	for _, p := range withRest("/_nodes") {
		s.allow(api, p, nodes, get)
	}
	for _, p := range []string{"/_refresh", "/_flush"} {
		s.allow(api, p, static(`{"_shards":{"total":0,"successful":0,"failed":0}}`), get, post)
	}
	for _, p := range withRest("/_cluster/health") {
		s.allow(api, p, ok(s.clusterHealth), get, head)
	}
	for _, p := range withRest("/_cluster/settings") { // other methods: no handler
		s.on(api, "GET "+p, static(`{"persistent":{},"transient":{}}`))
		s.on(api, "HEAD "+p, s.noHandler)
		s.on(api, "PUT "+p, s.acknowledge)
	}
	for _, p := range withRest("/_cat/health") {
		s.allow(api, p, s.catHealth, get, head)
	}
	for _, p := range withRest("/_security/_authenticate") {
		s.allow(api, p, s.authenticate, get)
	}
	for _, f := range []string{"/_index_template", "/_template", "/_component_template", "/_ilm", "/_ingest", "/_data_stream", "/_alias", "/_aliases", "/_slm"} {
		for _, p := range withRest(f) {
			s.on(api, p, s.management)
		}
	}
	s.on(api, "/", s.noHandler)

	// GET and HEAD /metrics are the metrics; other methods are requests on an index named
	// "metrics" (authenticated like any other).
	s.on(idx, "GET /metrics", s.metricsHandler.ServeHTTP)
	// "HEAD /{index}" would clash with "GET /metrics", which takes HEAD too.
	s.on(idx, "GET /{index}", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead { // an existence check: yes
			w.WriteHeader(http.StatusOK)
			return
		}
		b := appendJSONString([]byte("{"), r.PathValue("index"))
		s.writeJSON(w, r, http.StatusOK, append(b, `:{"aliases":{},"mappings":{},"settings":{}}}`...))
	})
	s.on(idx, "PUT /{index}", func(w http.ResponseWriter, r *http.Request) {
		s.discardBody(w, r)
		b := appendJSONString([]byte(`{"acknowledged":true,"shards_acknowledged":true,"index":`), r.PathValue("index"))
		s.writeJSON(w, r, http.StatusOK, append(b, '}'))
	})
	s.on(idx, "DELETE /{index}", s.acknowledge)
	// The audit webhook; the other methods on its path are 405, not index APIs.
	s.on(idx, "POST "+K8sAuditPath, s.handleK8sAudit)
	for _, m := range []string{get, put, del} {
		s.on(idx, m+" "+K8sAuditPath, s.methodNotAllowed(post))
	}
	s.on(idx, "/{index}", s.methodNotAllowed(get, head, put, del))
	s.allow(idx, "/{index}/_bulk", bulk, post, put)
	s.allow(idx, "/{index}/_doc", doc, post)
	for _, p := range []string{"/{index}/_doc/{id}", "/{index}/_create/{id}"} {
		s.on(idx, "POST "+p, doc)
		s.on(idx, "PUT "+p, doc)
		// Nothing is stored: every document is "not found", as Elasticsearch says it.
		s.on(idx, "GET "+p, func(w http.ResponseWriter, r *http.Request) {
			b := appendJSONString([]byte(`{"_index":`), r.PathValue("index"))
			b = appendJSONString(append(b, `,"_id":`...), r.PathValue("id"))
			s.writeJSON(w, r, http.StatusNotFound, append(b, `,"found":false}`...))
		})
		s.on(idx, p, s.methodNotAllowed(get, head, post, put))
	}
	for _, f := range []string{"/{index}/_refresh", "/{index}/_flush"} {
		for _, p := range withRest(f) {
			s.allow(idx, p, static(`{"_shards":{"total":1,"successful":1,"failed":0}}`), get, post)
		}
	}
	for _, f := range []string{"/{index}/_mapping", "/{index}/_settings", "/{index}/_alias", "/{index}/_aliases"} {
		for _, p := range withRest(f) {
			s.on(idx, p, s.management)
		}
	}
	s.on(idx, "/", s.noHandler)
}

// routedURLKey is the context key of a request's own URL while the muxes route it by its
// routePath (see ServeHTTP).
type routedURLKey struct{}

// on registers h for pattern. A request routed by a rewritten path gets its own URL back
// before h runs, so that answers quote the path as the client sent it.
func (s *Server) on(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if u, ok := r.Context().Value(routedURLKey{}).(*url.URL); ok {
			r.URL = u
		}
		h(w, r)
	})
}

// allow registers h for path under each of methods, and Elasticsearch's 405 for the other
// methods (HEAD included unless it is one of methods).
func (s *Server) allow(mux *http.ServeMux, path string, h http.HandlerFunc, methods ...string) {
	for _, m := range methods {
		s.on(mux, m+" "+path, h)
	}
	if !slices.Contains(methods, http.MethodHead) { // "GET path" takes HEAD too
		s.on(mux, "HEAD "+path, s.methodNotAllowed(methods...))
	}
	s.on(mux, path, s.methodNotAllowed(methods...))
}

// routePath returns the escaped path p as the muxes route it: without the empty segments
// at either end, "." and ".." escaped (ServeMux would resolve them; Elasticsearch reads
// them as names) and an empty segment inside as "%00", which no pattern names: such a
// path only matches a {rest...} wildcard. Most paths are returned as they are.
func routePath(p string) string {
	t := strings.Trim(p, "/")
	if t == "" {
		return "/"
	}
	same := len(t)+1 == len(p) && p[0] == '/'
	for seg := range strings.SplitSeq(t, "/") {
		if !same {
			break
		}
		same = seg != "" && seg != "." && seg != ".."
	}
	if same {
		return p
	}
	var b strings.Builder
	for seg := range strings.SplitSeq(t, "/") {
		b.WriteByte('/')
		switch seg {
		case "":
			b.WriteString("%00")
		case ".":
			b.WriteString("%2E")
		case "..":
			b.WriteString("%2E%2E")
		default:
			b.WriteString(seg)
		}
	}
	return b.String()
}

// isAPIPath reports whether a path, its routePath unescaped, goes to the apis mux: /,
// /healthz, and the paths whose first segment starts with "_".
func isAPIPath(up string) bool {
	return up == "/" || up == "/healthz" || up[1] == '_'
}

func (s *Server) methodNotAllowed(methods ...string) http.HandlerFunc {
	allow := strings.Join(methods, ",")
	list := strings.Join(methods, ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		s.writeSimple(w, r, http.StatusMethodNotAllowed,
			"Incorrect HTTP method for uri ["+r.URL.RequestURI()+"] and method ["+r.Method+"], allowed: ["+list+"]")
	}
}

func (s *Server) noHandler(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusBadRequest,
		simpleError(nil, http.StatusBadRequest, "no handler found for uri ["+r.URL.RequestURI()+"] and method ["+r.Method+"]"))
}

// management answers the index-management APIs shippers call at start-up: existence checks
// say yes, reads find nothing, writes are acknowledged.
func (s *Server) management(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodHead:
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		e := &esError{status: http.StatusNotFound, typ: "resource_not_found_exception",
			reason: "tripline stores no index settings: [" + r.URL.Path + "] does not exist"}
		s.writeError(w, r, e)
	default:
		s.discardBody(w, r)
		s.acknowledge(w, r)
	}
}

func (s *Server) acknowledge(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, []byte(`{"acknowledged":true}`))
}

// discardBody reads and drops a body within the size limit, so the connection stays usable.
func (s *Server) discardBody(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.writeJSON(w, r, http.StatusServiceUnavailable, []byte(`{"status":"shutting_down"}`))
		return
	}
	s.writeJSON(w, r, http.StatusOK, []byte(`{"status":"ok"}`))
}

// Facts about the reported build, as Elasticsearch 8.17.0 gives them.
const (
	luceneVersion     = "9.12.0"
	minWireVersion    = "7.17.0"
	minIndexVersion   = "7.0.0"
	buildDate         = "2024-12-11T12:08:05.663969764Z"
	buildHashTripline = "tripline"
)

func (s *Server) info() []byte {
	b := []byte(`{"name":`)
	b = appendJSONString(b, s.cfg.NodeName)
	b = append(b, `,"cluster_name":`...)
	b = appendJSONString(b, s.cfg.ClusterName)
	b = append(b, `,"cluster_uuid":`...)
	b = appendJSONString(b, s.clusterUUID)
	b = append(b, `,"version":{"number":"`+Version+`","build_flavor":"default","build_type":"tripline","build_hash":"`+buildHashTripline+
		`","build_date":"`+buildDate+`","build_snapshot":false,"lucene_version":"`+luceneVersion+
		`","minimum_wire_compatibility_version":"`+minWireVersion+`","minimum_index_compatibility_version":"`+minIndexVersion+
		`"},"tagline":"You Know, for Search"}`...)
	return b
}

func (s *Server) license() []byte {
	b := []byte(`{"license":{"status":"active","uid":`)
	b = appendJSONString(b, s.clusterUUID)
	b = append(b, `,"type":"basic","issue_date":"2024-01-01T00:00:00.000Z","issue_date_in_millis":1704067200000,"max_nodes":1000,"max_resource_units":null,"issued_to":`...)
	b = appendJSONString(b, s.cfg.ClusterName)
	return append(b, `,"issuer":"elasticsearch","start_date_in_millis":-1}}`...)
}

func (s *Server) xpack() []byte {
	sec := strconv.FormatBool(s.cfg.Credentials != nil)
	b := []byte(`{"build":{"hash":"` + buildHashTripline + `","date":"` + buildDate + `"},"license":{"uid":`)
	b = appendJSONString(b, s.clusterUUID)
	return append(b, `,"type":"basic","mode":"basic","status":"active"},"features":{`+
		`"ilm":{"available":true,"enabled":true},`+
		`"security":{"available":true,"enabled":`+sec+`},`+
		`"monitoring":{"available":true,"enabled":true},`+
		`"data_streams":{"available":true,"enabled":true}},`+
		`"tagline":"You know, for X"}`...)
}

func (s *Server) nodes(r *http.Request) []byte {
	addr := r.Host
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		addr = la.String()
	}
	host, _, _ := net.SplitHostPort(addr)
	b := []byte(`{"_nodes":{"total":1,"successful":1,"failed":0},"cluster_name":`)
	b = appendJSONString(b, s.cfg.ClusterName)
	b = append(b, `,"nodes":{`...)
	b = appendJSONString(b, s.nodeID)
	b = append(b, `:{"name":`...)
	b = appendJSONString(b, s.cfg.NodeName)
	b = append(b, `,"host":`...)
	b = appendJSONString(b, host)
	b = append(b, `,"ip":`...)
	b = appendJSONString(b, host)
	b = append(b, `,"version":"`+Version+`","build_flavor":"default","build_type":"tripline","build_hash":"`+buildHashTripline+`","roles":["data","ingest","master"],"http":{"bound_address":[`...)
	b = appendJSONString(b, addr)
	b = append(b, `],"publish_address":`...)
	b = appendJSONString(b, addr)
	b = append(b, `,"max_content_length_in_bytes":`...)
	b = strconv.AppendInt(b, s.cfg.MaxBodyBytes, 10)
	return append(b, `}}}}`...)
}

func (s *Server) clusterHealth() []byte {
	b := []byte(`{"cluster_name":`)
	b = appendJSONString(b, s.cfg.ClusterName)
	return append(b, `,"status":"green","timed_out":false,"number_of_nodes":1,"number_of_data_nodes":1,"active_primary_shards":0,"active_shards":0,"relocating_shards":0,"initializing_shards":0,"unassigned_shards":0,"delayed_unassigned_shards":0,"number_of_pending_tasks":0,"number_of_in_flight_fetch":0,"task_max_waiting_in_queue_millis":0,"active_shards_percent_as_number":100.0}`...)
}

// catHealth answers GET/HEAD /_cat/health (rsyslog's omelasticsearch checks it before
// sending), as text or, with ?format=json, as JSON.
func (s *Server) catHealth(w http.ResponseWriter, r *http.Request) {
	now := time.Now().UTC()
	epoch := strconv.FormatInt(now.Unix(), 10)
	ts := now.Format("15:04:05")
	if r.URL.Query().Get("format") == "json" {
		b := []byte(`[{"epoch":"` + epoch + `","timestamp":"` + ts + `","cluster":`)
		b = appendJSONString(b, s.cfg.ClusterName)
		b = append(b, `,"status":"green","node.total":"1","node.data":"1","shards":"0","pri":"0","relo":"0","init":"0","unassign":"0","pending_tasks":"0","max_task_wait_time":"-","active_shards_percent":"100.0%"}]`...)
		s.writeJSON(w, r, http.StatusOK, b)
		return
	}
	var sb strings.Builder
	if _, v := r.URL.Query()["v"]; v {
		sb.WriteString("epoch timestamp cluster status node.total node.data shards pri relo init unassign pending_tasks max_task_wait_time active_shards_percent\n")
	}
	sb.WriteString(epoch + " " + ts + " " + s.cfg.ClusterName + " green 1 1 0 0 0 0 0 0 - 100.0%\n")
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(sb.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.WriteString(w, sb.String())
	}
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) {
	name := "_anonymous"
	if s.cfg.Credentials != nil {
		name = s.cfg.Credentials.check(r.Header.Get("Authorization"), r.URL.Path).principal
	}
	b := appendJSONString([]byte(`{"username":`), name)
	b = append(b, `,"roles":["tripline_writer"],"full_name":null,"email":null,"metadata":{},"enabled":true,"authentication_realm":{"name":"tripline","type":"file"},"lookup_realm":{"name":"tripline","type":"file"},"authentication_type":"realm"}`...)
	s.writeJSON(w, r, http.StatusOK, b)
}
