// Package durable carries a detector's state from one run to the next through a state
// directory (package state), without serialising the engine's internals.
//
// Threshold and new-terms rules keep their state in the store themselves
// (detect.Options.State, RuleState here). Sequences, samples and the reordering buffer are
// rebuilt instead from a journal of recent events: every event the detector takes in is
// recorded with its arrival number, and kept while the detector still needs it: from the
// oldest event it has not finished with on (detect.Detector.Unfinished, asked at each
// checkpoint of a streaming run), or, for a run that matches the whole input at its end,
// from the time of the oldest event it holds (detect.Detector.Held); never longer than
// Options.Keep in event time. A new run first replays the journal through the detector,
// in arrival order, and the alerts already written (their ids are recorded, with the last
// arrival number when the sink took them) are not written again: partial sequences are
// rebuilt exactly. Where each input file stopped is recorded too, so that a run over the
// same files goes on after what was processed.
//
// The journal is a queue of segment files in the state directory (see journal.go); the
// rest is in the store. A checkpoint (Run.Snapshot, taken once the detector has taken in
// every event recorded and the sink their alerts; Commit.Apply, which may run while the
// next events are processed) appends the events journalled since the last one to the
// journal and syncs it, then commits the ids of the alerts written, the rules' state, the
// input positions and where the journal ends in one transaction: a crash between
// checkpoints makes the next run process again what came after the last one, and its
// alerts are written again unless their ids are known: the tail of a file output written
// after the last checkpoint is read back for them (Run.AddEmitted).
package durable
