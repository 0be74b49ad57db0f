// Package testenv locates the repository and its read-only reference data for tests.
//
// The reference data (Elastic's detection rules, Elasticsearch's EQL conformance suite,
// samples and seed rules) lives beside the repository as ../shared, relative to the
// repository root, the nearest directory at or above a test's working directory that holds
// go.mod. Tests that need it call Shared, naming the file or directory they read, so that a
// checkout without the data skips them with a message naming what is missing:
//
//	dir := testenv.Shared(t, "rules", "detection-rules")
//
// Tests for which the data is optional (a fuzz target's extra seeds) call LookupShared.
package testenv
