// Package jsonw appends JSON strings to byte slices. It is the one string escaper behind
// Tripline's hand-written JSON: alert documents, the Elasticsearch-shaped responses of the
// server, normalised Kubernetes audit events and the benchmark generator's events.
//
// Two modes cover what those writers need. Marshal writes strings byte for byte as
// encoding/json's Marshal does, for documents that must equal what json.Marshal would give.
// Minimal escapes only what JSON requires. Both replace each byte that is not part of valid
// UTF-8 by \ufffd, so the output is valid JSON whatever the input.
//
// The functions append to dst and allocate nothing beyond what growing dst needs.
package jsonw
