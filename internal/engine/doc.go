// Package engine runs one compiled EQL statement (an event query, a sequence or a sample, with
// its head/tail pipes) over a stream of decoded events, with Elasticsearch's semantics.
//
// A Query is compiled once with Compile, which registers every field it reads in a shared
// *event.Fields, so that one event.Decoder can decode each event once for many queries. A Query
// is then run any number of times with NewRun: push events with (*Run).Push, receive results
// through the Emit callback, and call (*Run).Flush at the end of the input.
//
// Two modes share that API:
//
//   - Batch: every event is kept until Flush, then the whole input is ordered by timestamp,
//     tiebreaker (nulls last) and input order (event.Event.Seq) and matched, so that the results
//     equal Elasticsearch's. Two exceptions keep less, with the same results: an event query
//     with a head or tail size keeps only what that limit can return (Stats.Matched still counts
//     every match), and a sequence with Options.InOrder is matched as events come as long as they
//     come in order, giving up (Run.Disordered; Run.Rerun runs it again) at the first that does not.
//   - Streaming: events are matched in arrival order after a bounded reordering buffer
//     (Options.MaxLateness). Events later than that are counted (Stats.Late) and reported
//     through Options.OnLate, never silently dropped. Sequence state is evicted as soon as
//     maxspan makes it unreachable; without maxspan at most Options.MaxPending partial
//     sequences are kept (Stats.PendingCapHits counts evictions).
//
// The sequence matcher follows Elasticsearch's SequenceMatcher (see es-eql-semantics.md,
// sections 9 to 12): per join key and stage, a list of partial sequences; a hit of a later stage
// advances the latest strictly earlier candidate of its key and discards the older ones; maxspan
// is inclusive and measured from the first event; until kills the partial sequences of its key;
// multi-valued keys give the cartesian product; missing-event stages (![...]) are checked when
// the positive stages complete. Samples are assembled at Flush, per key tuple in ascending key
// order.
//
// Library users import package engine, which exposes this package without Run.Stepper, the
// stepping API package detect drives.
package engine
