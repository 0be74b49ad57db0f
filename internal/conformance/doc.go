// Package conformance runs Elasticsearch's own EQL conformance suite (../shared/conformance/es
// from the repository root) through the engine, loading the data the way Elasticsearch's
// Java harness does. It holds only tests; see conformance_test.go.
package conformance
