package detect

import (
	"errors"
	"fmt"
	"time"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/kql"
	"github.com/tripline/tripline/rule"
)

// RuleStatement returns the EQL statement rule r runs in a Detector with opts (Mapping,
// Exceptions and Now are read): its EQL query, or a query rule's as `any where <search>`,
// with its filters and the exception filter of its lists ANDed into every term. It fails
// for the reasons New would skip the rule before compiling it, and for a query that does
// not parse or translate. Tools that trace one rule (rules test) run it this way.
func RuleStatement(r *rule.Rule, opts Options) (*eql.Statement, error) {
	if reason := r.Unsupported(); reason != "" {
		return nil, errors.New(reason)
	}
	kind := kindOf(r)
	if kind == nil {
		return nil, fmt.Errorf("not a rule kind Tripline runs (%s)", r.Kind())
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	d := &Detector{opts: opts}
	restrict, err := d.restriction(r)
	if err != nil {
		return nil, err
	}
	var stmt *eql.Statement
	req := CompileRequest{Rule: r, Restrict: restrict, KQLFields: kql.MappingFields(opts.Mapping)}
	_, _, err = kind.compile(req, func(req CompileRequest) (*Compiled, error) {
		stmt = req.Statement
		return &Compiled{}, nil
	})
	if err != nil {
		return nil, err
	}
	return stmt, nil
}
