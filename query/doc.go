// Package query holds the part of Elasticsearch's query DSL that Kibana's detection engine
// builds for a rule: the translation of its KQL query, its filters and its exception
// lists. It is the one tree the evaluator (package eval) compiles for all three, so that
// each gets Elasticsearch's per-field-type answers from the same code.
//
// The tree is the DSL, not a Tripline dialect: each node is one Elasticsearch query, with
// the parameters Kibana sets, and it prints as that query's JSON.
//
// [Decode] reads a query from its JSON, and [Filters] combines a rule's Kibana filters
// ({meta, query, $state}) as Kibana does; package eval compiles the tree (eval.CompileDSL).
package query
