// Command gen writes the built-in ECS mapping (mapping/ecs.json) from ECS's fields.csv and
// the hand-kept list of integration fields in integrations.go:
//
//	go run ./mapping/internal/gen -csv ../shared/samples/ecs-9.3.0/fields.csv -o mapping/ecs.json
//
// It builds the mapping ECS's own generator writes into its Elasticsearch templates:
// keyword fields with ignore_above 1024 (a few ECS fields set another limit), fields
// that are not indexed with index and doc_values false, scaled_float with a scaling
// factor of 1000, and the rows whose parent is itself a field (process.command_line.text)
// as multi-fields of that parent. The templates' dynamic settings (no date detection,
// strings as keyword with ignore_above 1024) come along.
package main
