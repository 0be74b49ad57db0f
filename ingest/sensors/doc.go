// Package sensors turns the process events of open-source runtime sensors into the ECS
// documents Elastic's Linux and Kubernetes detection rules read (the fields Elastic Defend
// for Containers writes), so that those rules run on a cluster without an Elastic Agent:
//
//   - Falco's JSON output (json_output: true): one alert per line, with rule, priority,
//     time, source, hostname and output_fields, for the syscall source;
//   - Tetragon's JSON export (tetragon.log, the export-stdout container, tetra getevents
//     -o json): one GetEventsResponse per line, of which process_exec and process_exit
//     are taken.
//
// Detect tells the two apart from everything else by their top-level members without a
// full parse for most documents; a Normalizer writes one ECS document per event. The
// mapping, field by field, and what each sensor cannot give (Falco's events say what the
// Falco rule's output names and nothing more; Tetragon has no controlling terminal, so
// process.interactive is derived from whether the process descends from the container's
// init) is in the README of the repository, section "Kubernetes without an Elastic Agent".
//
// Every document gets data_stream {type logs, dataset falco.syscall or tetragon.process,
// namespace default}, event.dataset and event.module, host.os.type "linux" (both sensors
// run on Linux only) and event.ingested: @timestamp truncated to whole seconds, a
// reproducible stand-in for an ingest with no lag, as for raw Kubernetes audit records.
//
// A Normalizer reuses its buffers: after warm-up, normalising an event allocates nothing.
package sensors
