// Package kql parses Kibana's query language (KQL, "kuery") into a syntax tree, prints
// the tree back in canonical form or as JSON, and translates it into the Elasticsearch
// query DSL tree of package query the way Kibana's detection engine does.
//
// The grammar is Kibana's (kbn-es-query's grammar.peggy): field:value, value lists
// f:(a or b), and / or / not (case-insensitive, not > and > or), quoted and unquoted
// values with their escapes, wildcards in values and field names, ranges f >= v, f:*
// (exists), free text, nested p:{ q } and the empty query. Like Kibana's parser, it
// distributes a value list over its field, so f:(a or b) is the tree of f:a or f:b.
// Syntax errors are worded as Kibana words them ("Expected ... but ... found.") and carry
// their line and column.
//
// ToQuery needs to know the mapped types of the fields the query names (Kibana reads
// them with _field_caps over the rule's indices): the Fields interface gives them, and
// MappingFields implements it over a *mapping.Mapping.
package kql
