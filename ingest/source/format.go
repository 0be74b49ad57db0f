package source

import (
	"bytes"

	"github.com/tripline/tripline/ingest/k8saudit"
	"github.com/tripline/tripline/ingest/sensors"
)

// Format says how the records of an input become documents.
type Format string

// Formats.
const (
	// Auto turns the raw kube-apiserver audit records (Event, EventList, AKS or GKE
	// envelopes) and the process events of Falco and Tetragon (package ingest/sensors)
	// into ECS documents and leaves the other records alone.
	Auto Format = "auto"
	// ECS takes every record as a document, as it is.
	ECS Format = "ecs"
	// K8sAudit takes every record as a raw audit record: one that is not is skipped.
	K8sAudit Format = "k8s-audit"
)

// Valid reports whether f is one of the formats.
func (f Format) Valid() bool {
	switch f {
	case Auto, ECS, K8sAudit:
		return true
	}
	return false
}

// Normalizer turns one record into the documents it stands for, as its Format says. Raw
// audit records get @timestamp from stageTimestamp and event.ingested from stageTimestamp
// truncated to seconds: a reproducible stand-in for the ingest time Elastic's pipeline
// would set (rules such as the prebuilt Kubernetes ones order events by event.ingested).
// A Normalizer is not safe for concurrent use.
type Normalizer struct {
	format  Format
	audit   *k8saudit.Normalizer
	sensors *sensors.Normalizer
}

// NewNormalizer returns a Normalizer for records of format f (Auto when f is empty).
func NewNormalizer(f Format) *Normalizer {
	if f == "" {
		f = Auto
	}
	return &Normalizer{format: f,
		audit:   k8saudit.New(k8saudit.Options{Timestamp: k8saudit.TimestampStage, Ingested: k8saudit.IngestedStage}),
		sensors: sensors.New(sensors.Options{})}
}

// Normalize appends to dst the documents record stands for: the record itself, or, when
// it is a raw Kubernetes audit record (recognised with Auto, assumed with K8sAudit) or a
// Falco or Tetragon process event (recognised with Auto), the ECS documents it becomes;
// normalized says which. The documents made from a record point
// into the Normalizer's buffers, valid until its next call. An error says why a record
// could not be normalised; for an EventList the valid items are still in docs.
func (n *Normalizer) Normalize(record []byte, dst [][]byte) (docs [][]byte, normalized bool, err error) {
	if n.format == Auto && ecsFirst(record) {
		return append(dst, record), false, nil
	}
	if n.format == Auto && !k8saudit.Detect(record) {
		if sensors.Detect(record) == sensors.None {
			return append(dst, record), false, nil
		}
		docs, err = n.sensors.Normalize(record, dst)
		return docs, true, err
	}
	if n.format != K8sAudit && n.format != Auto {
		return append(dst, record), false, nil
	}
	docs, err = n.audit.Normalize(record, dst)
	return docs, true, err
}

// ecsFirst reports whether record is a JSON object whose first key is @timestamp, as the
// documents of Beats, Elastic Agent and Tripline's own outputs are: an Elastic document,
// neither a raw audit record nor a sensor event (those have no @timestamp), so Auto need
// not scan it for theirs (which costs as much again as reading it).
func ecsFirst(record []byte) bool {
	i := 0
	for i < len(record) && (record[i] == ' ' || record[i] == '\t' || record[i] == '\r' || record[i] == '\n') {
		i++
	}
	if i == len(record) || record[i] != '{' {
		return false
	}
	for i++; i < len(record) && (record[i] == ' ' || record[i] == '\t' || record[i] == '\r' || record[i] == '\n'); i++ {
	}
	return bytes.HasPrefix(record[i:], []byte(`"@timestamp"`))
}
