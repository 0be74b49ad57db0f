package eval

import "time"

// formatDate renders nanoseconds since the epoch as ISO 8601 in UTC, with
// milliseconds, as Elasticsearch prints dates (more digits when they are not zero).
func formatDate(ns int64) string {
	t := time.Unix(0, ns).UTC()
	if t.Nanosecond()%1e6 == 0 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}

// floorDiv is a / b rounded toward negative infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
