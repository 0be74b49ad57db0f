// Command decodeonly is the "input decode only" row of bench/run.sh: it reads NDJSON files
// with Tripline's input reader and decodes every document with its selective decoder,
// recording the fields that a set of rules (-rules) or one query (-query) reads, and does
// nothing else. It is the floor under `tripline detect` and `tripline query` with the same
// rules: what reading and decoding cost before any rule runs.
//
//	go run ./bench/decodeonly -rules ../shared/rules/detection-rules events.ndjson
//	go run ./bench/decodeonly -query 'process where process.name == "bash"' events.ndjson
//
// It prints one JSON object: the events and bytes read, the fields registered, the time and
// the rates.
package main
