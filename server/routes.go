package server

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// route dispatches on the path segments. Endpoints are those shippers and clients call;
// the index-management ones (templates, ILM policies, pipelines, data streams) are
// acknowledged without effect, since tripline stores nothing.
func (s *Server) route(w http.ResponseWriter, r *http.Request, segs []string) {
	m := r.Method
	switch len(segs) {
	case 0:
		if s.allow(w, r, "GET", "HEAD") {
			s.writeJSON(w, r, http.StatusOK, s.info())
		}
		return
	case 1:
		switch segs[0] {
		case "healthz":
			if s.allow(w, r, "GET", "HEAD") {
				s.healthz(w, r)
			}
			return
		case "metrics":
			// Only reads serve the metrics; other methods are index requests on an index
			// named "metrics", authenticated like any other.
			if m == http.MethodGet || m == http.MethodHead {
				s.metricsHandler.ServeHTTP(w, r)
				return
			}
		case "_bulk":
			if s.allow(w, r, "POST", "PUT") {
				s.handleBulk(w, r, "")
			}
			return
		case "_license":
			if s.allow(w, r, "GET") {
				s.writeJSON(w, r, http.StatusOK, s.license())
			}
			return
		case "_xpack":
			if s.allow(w, r, "GET") {
				s.writeJSON(w, r, http.StatusOK, s.xpack())
			}
			return
		case "_nodes":
			if s.allow(w, r, "GET") {
				s.writeJSON(w, r, http.StatusOK, s.nodes(r))
			}
			return
		case "_refresh", "_flush":
			if s.allow(w, r, "GET", "POST") {
				s.writeJSON(w, r, http.StatusOK, []byte(`{"_shards":{"total":0,"successful":0,"failed":0}}`))
			}
			return
		}
	}
	if strings.HasPrefix(segs[0], "_") {
		sub := ""
		if len(segs) > 1 {
			sub = segs[1]
		}
		switch segs[0] {
		case "_nodes":
			if s.allow(w, r, "GET") {
				s.writeJSON(w, r, http.StatusOK, s.nodes(r))
			}
			return
		case "_cluster":
			switch {
			case sub == "health":
				if s.allow(w, r, "GET", "HEAD") {
					s.writeJSON(w, r, http.StatusOK, s.clusterHealth())
				}
				return
			case sub == "settings" && m == http.MethodGet:
				s.writeJSON(w, r, http.StatusOK, []byte(`{"persistent":{},"transient":{}}`))
				return
			case sub == "settings" && m == http.MethodPut:
				s.acknowledge(w, r)
				return
			}
		case "_cat":
			if sub == "health" && s.allow(w, r, "GET", "HEAD") {
				s.catHealth(w, r)
				return
			}
		case "_security":
			if sub == "_authenticate" && s.allow(w, r, "GET") {
				s.authenticate(w, r)
				return
			}
		case "_index_template", "_template", "_component_template", "_ilm", "_ingest", "_data_stream", "_alias", "_aliases", "_slm":
			s.management(w, r)
			return
		}
		s.noHandler(w, r)
		return
	}
	index := segs[0]
	switch {
	case len(segs) == 1:
		switch m {
		case http.MethodHead:
			w.WriteHeader(http.StatusOK)
		case http.MethodGet:
			b := appendJSONString([]byte("{"), index)
			s.writeJSON(w, r, http.StatusOK, append(b, `:{"aliases":{},"mappings":{},"settings":{}}}`...))
		case http.MethodPut:
			s.discardBody(w, r)
			b := appendJSONString([]byte(`{"acknowledged":true,"shards_acknowledged":true,"index":`), index)
			s.writeJSON(w, r, http.StatusOK, append(b, '}'))
		case http.MethodDelete:
			s.acknowledge(w, r)
		default:
			s.methodNotAllowed(w, r, "GET", "HEAD", "PUT", "DELETE")
		}
	case segs[1] == "_bulk" && len(segs) == 2:
		if s.allow(w, r, "POST", "PUT") {
			s.handleBulk(w, r, index)
		}
	case segs[1] == "_doc" && len(segs) == 2:
		if s.allow(w, r, "POST") {
			s.handleDoc(w, r, index, "")
		}
	case (segs[1] == "_doc" || segs[1] == "_create") && len(segs) == 3:
		switch m {
		case http.MethodPost, http.MethodPut:
			s.handleDoc(w, r, index, segs[2])
		case http.MethodGet, http.MethodHead:
			// Nothing is stored: every document is "not found", as Elasticsearch says it.
			b := appendJSONString([]byte(`{"_index":`), index)
			b = appendJSONString(append(b, `,"_id":`...), segs[2])
			s.writeJSON(w, r, http.StatusNotFound, append(b, `,"found":false}`...))
		default:
			s.methodNotAllowed(w, r, "GET", "HEAD", "POST", "PUT")
		}
	case segs[1] == "_refresh" || segs[1] == "_flush":
		if s.allow(w, r, "GET", "POST") {
			s.writeJSON(w, r, http.StatusOK, []byte(`{"_shards":{"total":1,"successful":1,"failed":0}}`))
		}
	case segs[1] == "_mapping" || segs[1] == "_settings" || segs[1] == "_alias" || segs[1] == "_aliases":
		s.management(w, r)
	default:
		s.noHandler(w, r)
	}
}

// allow answers 405 unless the method is one of those given.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	s.methodNotAllowed(w, r, methods...)
	return false
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request, methods ...string) {
	w.Header().Set("Allow", strings.Join(methods, ","))
	s.writeSimple(w, r, http.StatusMethodNotAllowed,
		"Incorrect HTTP method for uri ["+r.URL.RequestURI()+"] and method ["+r.Method+"], allowed: ["+strings.Join(methods, ", ")+"]")
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
