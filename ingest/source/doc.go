// Package source turns the inputs of a run into the documents rules see: it expands
// directories into their event files, reads files and standard input (package ingest frames
// the records), turns raw Kubernetes audit records into ECS documents (package
// ingest/k8saudit), checks each document against a strict mapping, numbers the documents
// in input order, and counts and reports what it skips: a malformed record or a refused
// document is reported and skipped, an input that cannot be read is reported and the others
// are read.
//
// A Reader yields one document at a time with Next, from reused buffers, with where it came
// from (Doc). Records does the same for the records of another kind of input (package
// stream's Docs reads a Kafka topic or a JetStream stream so). Origin reads documents again
// from their files, for the events a detector keeps by reference (event.Origin); Rereadable
// says when a list of inputs can be read a second time with the same documents.
package source
