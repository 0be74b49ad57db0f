// Package server is the HTTP endpoint of `tripline serve`: it speaks enough of
// Elasticsearch's REST API that shippers (rsyslog's omelasticsearch, Filebeat, Logstash,
// Fluent Bit, the official clients) need no change beyond their URL, and hands every
// event it receives to a Sink, the detection engine.
//
// Endpoints:
//
//	GET|HEAD /                            cluster info (version 8.17.0, tagline, build flavour)
//	POST|PUT /_bulk, /<index>/_bulk       NDJSON index/create actions; update and delete are
//	                                      answered per item as not supported
//	POST     /<index>/_doc                one document, generated _id
//	PUT|POST /<index>/_doc/<id>, /<index>/_create/<id>
//	GET      /healthz                     200, or 503 while shutting down; never authenticated
//	GET      /metrics                     Prometheus metrics, with the process and Go runtime ones
//	GET      /_license, /_xpack, /_nodes..., /_cluster/health, /_cat/health, /_security/_authenticate
//	HEAD /<index>, and the index-management APIs (_index_template, _template,
//	_component_template, _ilm, _ingest, _data_stream, _alias): existence checks say yes,
//	reads find nothing, writes are acknowledged; tripline stores nothing.
//
// /metrics is served by the Prometheus client library from a registry each Server owns
// (Config.Collectors adds the caller's metrics), in the text format unless the scraper
// negotiates another.
//
// Every response carries `X-Elastic-Product: Elasticsearch`, which the official clients
// check. Request bodies may be gzip or deflate compressed; their content type must be JSON
// or NDJSON (also the application/vnd.elasticsearch+json;compatible-with=7|8 forms), else
// 406 as Elasticsearch answers. Bodies over the size limit get 413; a request whose body
// would take the memory held by all request bodies over Config.MaxInFlightBytes gets 429
// with Elasticsearch's in_flight_requests circuit_breaking_exception. With Credentials set,
// requests need HTTP basic or `ApiKey` authentication; refused ones get 401 with
// Elasticsearch's security_exception and a WWW-Authenticate header. Query parameters such
// as refresh, pipeline and pretty are accepted and ignored; filter_path is applied to _bulk
// responses (inclusive paths with "*" wildcards, as Logstash's
// "errors,items.*.error,items.*.status") and ignored elsewhere.
//
// Bulk requests are answered as Elasticsearch answers them: a body Elasticsearch refuses as
// a whole (not newline-terminated, e.g. cut in half; a malformed action line; no index) is
// refused as a whole with 400 and nothing is accepted; a bad document fails only its own
// item (document_parsing_exception, invalid_index_name_exception) and the others go on.
// The Sink may refuse documents one by one (Doc.Reject, for example an event it cannot
// read or whose timestamp it does not accept): they are answered in their item, and
// counted beside the server's own refusals (EventCounts, tripline_events_rejected_total);
// with Config.SinkValidates the server leaves the documents' full syntax to the Sink. A
// Sink that cannot take more events now returns ErrBusy: 429 with
// es_rejected_execution_exception, which clients retry.
// A success is sent only after the Sink's Accept returned, so an acknowledged event is
// never lost to a clean shutdown: Serve stops accepting when its context ends, lets the
// requests in flight finish, then returns for the caller to flush.
package server
