// Package state is Tripline's state directory (--state-dir): an embedded key-value store
// that keeps what a run of the detector must hand to the next one, so that two runs over
// consecutive parts of an input give the alerts of one run over all of it.
//
// A Store holds namespaces (a rule's state is in the namespace of its uuid and kind, see
// RuleNamespace; the ids of the alerts already written and the input positions have
// namespaces of their own) of ordered keys. Writes go into a Batch that Commit applies in
// one atomic, durable transaction: a checkpoint. The journal of recent events is kept
// beside the store, in files of the same directory (package durable).
//
// A state directory records the format version, the Tripline version that wrote it and a
// fingerprint of the rule set (Meta); Open refuses a directory whose format or fingerprint
// differs (a *MismatchError, which says so and names `tripline state reset`), so that no
// state is ever read under rules it was not made by.
//
// The store is Pebble (github.com/cockroachdb/pebble/v2), chosen over bbolt by measurement
// (storebench, a module of its own in this directory, runs the comparison): on checkpoints
// of 256 journal entries of 400 bytes, synced, Pebble took 145,000 entries/s and bbolt
// 47,000; a range delete of 51,200 journal entries took 1 ms and 9.6 s (bbolt deletes
// key by key); 1M new-terms keys took 6 bytes each on disk (compressed) and 225 in bbolt,
// with a peak RSS of 42 MB and 226 MB (bbolt maps its file). bbolt reads points 2.2 times
// faster (176,000/s against 79,000/s), which matters little as rule state is read once at
// start, and adds 0.4 MB to a binary where Pebble adds 15.8 MB.
package state
