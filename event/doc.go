// Package event holds one decoded event: a JSON document whose fields are found by dotted
// path, through slots assigned once per query set, with nested objects, keys that contain
// dots, arrays at any level and explicit nulls.
//
// Queries register the paths they read in a Fields set (Add returns a Slot); a Decoder
// built from the set then decodes each document in one pass that checks the syntax of
// the whole document and records the leaf values of the registered paths only, skipping
// every other subtree. A path is reached whatever the nesting: "process.pid" finds
// {"process.pid":1}, {"process":{"pid":1}} and {"process":[{"pid":1},{"pid":2}]}.
//
// Values of arrays are flattened in document order; an explicit null (alone or in an
// array) is reported by HasNull and has no Value; an empty array is the same as a
// missing field. Strings that need no unescaping point into the input document, so a
// decoded Event is valid until its input buffer changes or the next Decode into it:
// Clone it to keep it. In the steady state Decode allocates nothing.
package event
