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
//   - Rule index. Each term of a rule (an event query, a stage of a sequence or sample, an
//     until clause) has necessary conditions drawn from its query (Routes): its category, and
//     requirements such as a field holding one of some constants, a string starting with,
//     ending with or containing a pattern's literal part, or just a value at a field that a
//     comparison reads. The Detector indexes each term under the one of them that fewest
//     events pass: first guessed from how many rules name the same values, then chosen again
//     from what the first 2,048 events hold. An event meets only the rules, and only the
//     terms of them, that one of its values selects; which condition is chosen never changes
//     a result, only the work.
//
// Work is split in two (Options.Workers): worker goroutines decode batches of 256 events,
// route them and evaluate the filters, rule by rule over the batch so that a rule's compiled
// filter stays in cache; one consumer goroutine then takes the batches back in input order
// and pushes each event to the rules that matched it (sequence state, kept events), so that
// every rule sees exactly the input order, while the caller goes on reading the input. Timestamps are converted by the workers, and join key
// values once per event for all rules (engine.Memo). While the first events are sampled for
// the index, the filters also learn which of their conditions decide soonest, and put those
// first (eval.Filter.Reorder).
//
// Streaming mode (Options.Streaming) matches events in arrival order, each rule with a
// reordering buffer (the engine's MaxLateness) whose events the Detector counts (Buffered)
// and can bound (Options.MaxBuffered, BufferFull, Shed). Options.MaxFuture skips events
// stamped too far ahead of the clock and keeps the rules' event time from running ahead of
// it. Flush tells when the rules have taken in what Process was given, so that a server
// can answer every document before it acknowledges it; with Options.Async the in-order
// work runs on a goroutine of its own while the server reads the next request (Live).
//
// Rule kinds. What depends on a rule's type (EQL today) is one small seam, ruleKind
// (kind.go): how the rule's query compiles into a Runner, and how its matches become
// alerts. The rule index and router (ruleset.go, router.go, index.go), the per-run work
// (run.go, pipeline.go, stream.go), the Summary and the Sink see only the Runner and the
// alerts. Runners emit matches without a context; the Detector method that called them
// writes their alerts with its own. Stateful kinds (threshold, new terms, indicator match;
// kind_stateful.go) select events as query rules do and hand them, in event-time order, to
// an aggregator that makes the alerts: threshold.go runs Kibana's executions over event
// time, newterms.go remembers each value's last sighting within the history window
// (Options.History fills it from past events), threatmatch.go matches events against the
// indicators of Options.Indicators. Their state sits behind small interfaces
// (thresholdStore, termHistory) that a durable store can implement.
//
// Matches become alerts as alert-schema.md describes Kibana's: one alert per event for an
// event query; for a sequence (or sample), one building-block alert per event and one shell
// alert linked to them by kibana.alert.group.id, with the ids Kibana derives so that a second
// run over the same events gives the same ids. max_signals caps the alerts (sequences) per
// rule and run, keeping the most recent as Elasticsearch's EQL size does, and Summary says
// when it bit. As Kibana does, an alert leaves out the source values that the alerts index's
// ECS mapping cannot take (Options.AlertsMapping; see fit.go), so that every alert indexes.
// Alerts go to a Sink. A rule's alert fields are encoded once and merged into
// each of its alerts as they are encoded; in batch mode the alerts kept until Close are
// built on the workers' goroutines.
//
// Batch memory. An event rule keeps only its most recent max_signals matching events (the
// engine counts the others for Summary). A sequence rule matches events as they come while
// they come in timestamp order (the usual case for a file), so maxspan bounds its state; at
// Close the rules that met an event out of order are run again, in exact batch order, over
// the input read again (Options.Replay, for files) or over the events any sequence rule
// matched, which were appended to an unlinked temporary file (Options.SpillDir), so the
// alerts never depend on the input's order. The events rules keep (the first events of
// partial sequences, most of which never complete) keep their document only, their values
// decoded again if ever needed; read from files (Options.Origin), they keep not even that
// but where it is, and alerts read it again (event.Event.KeepRaw).
package detect
