// Command loadbulk is the load client of bench/run.sh's serve rows: it sends an NDJSON file
// of ECS events to an Elasticsearch _bulk endpoint (tripline serve) as a shipper would,
// in bulks of -bulk documents over -c keep-alive connections, and reports what it saw.
//
//	go run ./bench/loadbulk -url http://127.0.0.1:9200 -c 4 -bulk 1000 events.ndjson
//
// Each document's index is its data stream (data_stream.type-dataset-namespace, as Filebeat
// names it), else -index. Bulks are built in file order, all of them before the first
// request (-preload, the default: the client then costs the machine little more than the
// sending while the server is measured, and takes about the file's size in memory; files
// over 4 GiB are not preloaded) or by
// one goroutine ahead of the senders (-preload=false), and taken by whichever connection
// is free, so documents arrive nearly in file order. Requests ask, as Logstash does, for
// responses that hold each item's status and error only
// (filter_path=errors,items.*.error,items.*.status; -filter-path "" for whole ones). A
// response that says "errors": false is counted without being parsed when each of its
// items has status 201, as shippers trust it; any other is read item by item. A bulk answered 429 (the server pushes back) is sent again after a pause that
// doubles from 10ms up to 1s, as shippers do; the time it waited counts in its latency.
//
// With -ids each document gets an _id, its line number in the file ("line-12"), so that
// the alerts of two runs over the same file can be compared byte for byte (the server
// makes random ids otherwise).
//
// It prints one JSON object: documents sent and acknowledged (201), items refused, 429
// answers, the wall time, events/s and the p50, p99 and maximum latency of a bulk, from
// its first send to its last answer, and the CPU time it used meanwhile.
package main
