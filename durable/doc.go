// Package durable carries a detector's state from one run to the next through a state
// directory (package state), without serialising the engine's internals.
//
// Threshold and new-terms rules keep their state in the store themselves
// (detect.Options.State, RuleState here). Sequences, samples and the reordering buffer are
// rebuilt instead from a journal of recent events: every event the detector takes in is
// recorded with its arrival number, and kept while a stateful EQL rule may still need it
// (Lookback: the largest maxspan, plus the reordering buffer's lateness; a bound of its own
// for sequences without maxspan and samples). A new run first replays the journal through
// the detector, in arrival order, and the alerts already written (their ids are recorded,
// with the event time they were written at, once the sink took them) are not written
// again: partial sequences are rebuilt exactly. Where each input file stopped is recorded
// too, so that a run over the same files goes on after what was processed.
//
// A Checkpoint commits the journal, the ids of the alerts written and the input positions
// in one transaction, after the sink took the alerts: a crash between checkpoints makes
// the next run process again what came after the last one, and its alerts are written
// again unless their ids are known: the tail of a file output written after the last
// checkpoint is read back for them (Run.RecoverFile).
package durable
