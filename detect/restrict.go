package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/exceptions"
	"github.com/tripline/tripline/query"
	"github.com/tripline/tripline/rule"
)

// restriction returns what Kibana adds to the search of rule r besides its query: its
// filters (bool.filter, and bool.must_not for negated ones) and the exception filter of
// the items of its exception lists (bool.must_not), as a Search node; nil when it has
// neither. A rule whose exception lists were not loaded, or whose items cannot be
// translated (value lists), is refused with the reason.
func (d *Detector) restriction(r *rule.Rule) (*eql.Search, error) {
	var parts []query.Query
	var langs, srcs []string
	if len(r.Filters) > 0 {
		f, err := query.Filters(r.Filters)
		if err != nil {
			return nil, fmt.Errorf("filters: %w", err)
		}
		if _, all := f.(*query.MatchAll); !all {
			parts = append(parts, f)
			raw, _ := json.Marshal(r.Filters)
			langs, srcs = append(langs, "filters"), append(srcs, string(raw))
		}
	}
	if len(r.ExceptionsList) > 0 {
		set := d.opts.Exceptions
		if set == nil {
			set = &exceptions.Set{}
		}
		items, err := set.Resolve(r.ExceptionsList)
		if err != nil {
			return nil, fmt.Errorf("%w (load it with --exceptions)", err)
		}
		f, left := exceptions.Filter(items, d.opts.Now)
		if len(left) > 0 {
			reasons := make([]error, len(left))
			for i, u := range left {
				reasons[i] = errors.New(u.Reason)
			}
			return nil, errors.Join(reasons...)
		}
		if f != nil {
			parts = append(parts, exceptions.Exclude(nil, f))
			ids := make([]string, len(r.ExceptionsList))
			for i, ref := range r.ExceptionsList {
				ids[i] = ref.ListID
			}
			langs, srcs = append(langs, "exceptions"), append(srcs, strings.Join(ids, ","))
		}
	}
	switch len(parts) {
	case 0:
		return nil, nil
	case 1:
		return &eql.Search{Language: langs[0], Source: srcs[0], Query: parts[0]}, nil
	}
	return &eql.Search{Language: strings.Join(langs, "+"), Source: strings.Join(srcs, " "),
		Query: &query.Bool{Filter: parts}}, nil
}
