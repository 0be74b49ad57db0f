// Command gen writes a seeded, realistic ECS workload for Tripline's benchmarks.
//
// Usage:
//
//	go run ./bench/gen -n 1000000 -seed 1 [-hosts H -users U -pods P -planted K -decoys D] > events.ndjson
//
// Every line is one ECS document of 0.5 to 2 KB: Linux and Windows process starts from Elastic Defend,
// Defend for Containers (cloud_defend) process execs inside Kubernetes pods, network, file, DNS and
// registry events, and Kubernetes audit events in the shape the Elastic kubernetes.audit_logs pipeline
// produces (kubernetes.audit.* with dotted user.extra keys whose values are arrays). Timestamps
// increase with jitter; event.ingested is @timestamp plus a fixed lag, truncated to whole seconds, so
// both clocks order the stream the same way.
//
// The workload plants K sequences of the seed rule ("Direct Interactive Kubernetes API Request by
// Unusual Utilities": an interactive exec in a container by an unusual utility, then within 1 s a
// matching audit event carrying the same pod name) and D decoys that must not match (excluded
// utilities, non-interactive execs, audits 2 s or more later, audits before the exec, audits from
// another pod, audits the rule does not select). Each planted or decoy episode uses its own pod, and
// noise is built so that it never forms a sequence: interactive container execs happen only in pods
// that never call the API. The count is therefore exact under Elasticsearch's sequence semantics,
// whether the rule is clocked on @timestamp or on event.ingested (every planted pair straddles a
// whole-second boundary, so no pair depends on how ties are ordered). The expected count and the
// number of events per kind are written to stderr, or to the -manifest file, as JSON.
//
// Output is deterministic for a given set of flags: the same seed gives the same bytes.
package main
