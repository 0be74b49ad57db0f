package eval

import "github.com/tripline/tripline/event"

// formatDate renders an instant as ISO 8601 in UTC, with milliseconds, as Elasticsearch
// prints dates (more digits when they are not zero).
func formatDate(in event.Instant) string {
	t := in.Time()
	if in.Nanos == 0 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}
