// Package mapping reads Elasticsearch index mappings and says, for a field path, where
// its values come from in _source (after alias and multi-field resolution), what type
// Elasticsearch gives it, and how Elasticsearch indexes a source value of that type:
// keyword from a number, long from "12", ip in canonical form, dates as epoch
// nanoseconds, null_value for an explicit null. A nil *Mapping stands for dynamic mapping:
// each value's type comes from its JSON form, as Elasticsearch's dynamic mapping with its
// default settings would see it.
//
// ECS returns the built-in mapping of Elastic Common Schema fields (ecs.json, generated
// from ECS's fields.csv by mapping/internal/gen), what Elastic's detection rules expect
// of the indices they run on.
package mapping
