// Package output delivers alert documents to where a SOC looks for them: an NDJSON file
// (appending, rotated by size), standard output, an HTTP webhook (JSON batches, retried
// with exponential backoff, a dead-letter file when delivery keeps failing) and
// Elasticsearch's _bulk API (create actions with the alert's uuid as _id, so a re-sent
// alert is recognised as already delivered).
//
// Every sink implements Sink: Write takes a batch of alerts, each with its id, and Close
// flushes and releases the sink. Parse and Open turn --output values such as "-",
// "alerts.ndjson", "file:alerts.ndjson?max-size=100MB", "webhook:https://..." and
// "es:http://host:9200/index" into sinks; Multi fans one batch out to several sinks.
//
// Delivery is the detector's sink (a detect.Sink) writing to a Sink: it counts the alerts
// an output did not take and keeps the first error, so that a failing output does not stop
// the run, and can write under a context of its own that outlives the run's.
package output
