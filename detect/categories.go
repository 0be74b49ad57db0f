package detect

import "github.com/tripline/tripline/eql"

// Categories returns the event categories a statement can match: the categories named by its
// event query or by every stage of its sequence or sample (missing-event and until stages
// included, since events matching them change the result). It returns nil when some stage
// is "any where", meaning every event may matter.
func Categories(stmt *eql.Statement) []string {
	var out []string
	add := func(q *eql.EventQuery) bool {
		if q == nil || q.Any {
			return false
		}
		for _, c := range out {
			if c == q.Category {
				return true
			}
		}
		out = append(out, q.Category)
		return true
	}
	stages := func(sts []*eql.Stage) bool {
		for _, st := range sts {
			if !add(st.Query) {
				return false
			}
		}
		return true
	}
	switch q := stmt.Query.(type) {
	case *eql.EventQuery:
		if !add(q) {
			return nil
		}
	case *eql.Sequence:
		if !stages(q.Stages) || (q.Until != nil && !add(q.Until.Query)) {
			return nil
		}
	case *eql.Sample:
		if !stages(q.Stages) {
			return nil
		}
	default:
		return nil
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
