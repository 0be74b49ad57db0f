package detect

import (
	"slices"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/internal/engine"
)

// Categories returns the event categories a statement can match: the categories named by
// its terms (engine.Terms: its event query, or every stage of its sequence or sample,
// missing-event and until stages included, since events matching them change the result).
// It returns nil when some term is "any where", meaning every event may matter.
func Categories(stmt *eql.Statement) []string {
	var out []string
	for _, t := range engine.Terms(stmt) {
		if t.Query == nil || t.Query.Any {
			return nil
		}
		if !slices.Contains(out, t.Query.Category) {
			out = append(out, t.Query.Category)
		}
	}
	return out
}

// IsSequence reports whether a statement's matches are groups of events (a sequence or a
// sample), which become a shell alert and building blocks.
func IsSequence(stmt *eql.Statement) bool {
	switch stmt.Query.(type) {
	case *eql.Sequence, *eql.Sample:
		return true
	}
	return false
}
