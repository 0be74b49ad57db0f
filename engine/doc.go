// Package engine is the library API for running one compiled EQL statement (an event
// query, a sequence or a sample, with its head/tail pipes) over a stream of decoded events,
// with Elasticsearch's semantics.
//
// Compile a Query once (it registers the fields it reads in a shared *event.Fields, so that
// one event.Decoder decodes each event once for many queries), start any number of Runs
// with Query.NewRun, push events with Run.Push, receive results through the emit callback
// and call Run.Flush at the end of the input. Batch mode gives Elasticsearch's results;
// streaming mode matches in arrival order after a bounded reordering buffer
// (Options.MaxLateness). Terms lists a statement's filters; Trace runs a statement stage by
// stage for trying a rule over a sample.
//
// This package is a thin layer over the implementation in internal/engine: its data types
// are aliases of the implementation's, and Query and Run forward to it, leaving out the
// stepping API that package detect drives.
package engine
