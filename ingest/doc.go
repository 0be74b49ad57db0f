// Package ingest reads events from inputs: files, gzip-compressed files and standard
// input, each holding NDJSON or a JSON array of objects. A Reader yields one record
// (the object's text, its input and line) at a time from a reused buffer, reports a bad
// record as a *LineError ("file:line: reason") and goes on, can follow a growing input
// like tail -f, and counts the bytes it has read for a progress display.
//
// The Reader only frames records: it checks that each one looks like an object (it
// starts with '{' and ends with '}'); the full syntax check is the event decoder's, which
// reads every byte anyway. Sub-packages turn other formats into events (k8saudit) and
// make the documents of a run out of its inputs (source).
package ingest
