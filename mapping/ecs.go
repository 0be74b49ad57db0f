package mapping

import (
	_ "embed"
	"sync"
)

//go:generate go run ./internal/gen -csv ../../shared/samples/ecs-9.3.0/fields.csv -o ecs.json

// ecsJSON is the built-in ECS mapping: every field of ECS 9.3.0 as ECS's Elasticsearch
// templates map it, plus the fields of Elastic integrations that the prebuilt detection
// rules read and ECS lacks (Kubernetes audit logs, Defend for Containers, Elastic Defend).
// See its _meta for its provenance; mapping/internal/gen writes it.
//
//go:embed ecs.json
var ecsJSON []byte

var ecsOnce = sync.OnceValue(func() *Mapping {
	m, err := Parse(ecsJSON)
	if err != nil {
		panic("mapping: the built-in ECS mapping does not parse: " + err.Error())
	}
	return m
})

// ECS returns the built-in ECS mapping, what Elastic's detection rules expect of the
// indices they run on: ECS's field types (ip, long, keyword with ignore_above 1024,
// wildcard, match_only_text multi-fields, constant_keyword) and the integration fields the
// prebuilt rules read that ECS lacks. The Mapping is shared and, like every Mapping,
// read-only.
func ECS() *Mapping { return ecsOnce() }
