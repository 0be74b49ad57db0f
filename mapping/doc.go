// Package mapping reads Elasticsearch index mappings and says, for a field path, where
// its values come from in _source (after alias and multi-field resolution), what type
// Elasticsearch gives it, and how Elasticsearch indexes a source value of that type:
// keyword from a number, long from "12", ip in canonical form, dates as epoch milliseconds
// (date_nanos: nanoseconds), null_value for an explicit null; and how it maps the fields it
// does not declare (dynamic templates, date detection, dynamic: false or strict). A nil
// *Mapping stands for Tripline's dynamic mapping: each value's type comes from its JSON
// form, as Elasticsearch's dynamic mapping with its default settings would see it (but
// strings are compared whole).
//
// ECS returns the built-in mapping of Elastic Common Schema fields (ecs.json, generated
// from ECS's fields.csv by mapping/internal/gen), what Elastic's detection rules expect
// of the indices they run on.
package mapping
