// Package detect runs many detection rules over one stream of events and writes the alert
// documents Kibana's detection engine would write for them.
//
// A Detector is built once from the rules (see package rule): every rule's query is compiled
// into one shared event.Fields, so that each event is decoded once by one event.Decoder and
// then offered only to the rules that can match it:
//
//   - Index routing. An event's index is the one the input gives (Options.Index, or the
//     _index of an Elasticsearch _bulk action), else the document's own top-level _index, else
//     the data stream name derived from ECS data_stream.type, .dataset and .namespace
//     ("logs-kubernetes.audit_logs-default"). A rule sees the event only when that name matches
//     its index patterns the way Elasticsearch resolves them (wildcards, "-" exclusions,
//     hidden and data-stream backing indices). Events with no index at all are offered to every
//     rule and counted; Options.IgnoreIndexPatterns offers every event to every rule.
//   - Category pre-filter. A rule whose every stage names an event category ("process where")
//     can only match events whose category field holds one of those names (a case-sensitive
//     equality, as in Elasticsearch), so the Detector indexes rules by category and never
//     calls the others: a rule ruled out costs a map lookup shared with every other rule.
//
// Matches become alerts as alert-schema.md describes Kibana's: one alert per event for an
// event query; for a sequence (or sample), one building-block alert per event and one shell
// alert linked to them by kibana.alert.group.id, with the ids Kibana derives so that a second
// run over the same events gives the same ids. max_signals caps the alerts (sequences) per
// rule and run, keeping the most recent as Elasticsearch's EQL size does, and Summary says
// when it bit. Alerts go to a Sink.
//
// Batch memory. An event rule keeps only its most recent max_signals matching events (the
// engine counts the others for Summary). A sequence rule matches events as they come while
// they come in timestamp order (the usual case for a file), so maxspan bounds its state; the
// events any sequence rule matched are also appended to an unlinked temporary file
// (Options.SpillDir), and at Close the rules that met an event out of order are run again over
// them in exact batch order, so the alerts never depend on the input's order. Options.NoInOrder
// keeps every matched event in memory instead.
package detect
