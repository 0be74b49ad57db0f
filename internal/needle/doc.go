// Package needle finds a literal string in a document by one of its rarer bytes: the quick
// test the input normalisers use to tell their records (raw audit records, sensor events)
// from the ECS documents they pass on, before parsing anything.
package needle
