// Package event holds one decoded event: a JSON document whose fields are found by dotted
// path, through slots assigned once per query set, with nested objects, keys that contain
// dots, arrays at any level and explicit nulls.
package event
