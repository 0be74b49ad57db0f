package detect

import (
	"fmt"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/kql"
	"github.com/tripline/tripline/query"
)

// queryKind is the kind of query rules (type "query"): a KQL query, or a Lucene query as
// far as the query_string evaluator reads it, gives one alert per matching event, as an
// EQL event query does. Kibana creates them oldest first, up to max_signals.
type queryKind struct{ language string }

func (k queryKind) meta() kindMeta {
	return kindMeta{ruleType: "query", language: k.language, typeID: "siem.queryRule", category: "Custom Query Rule"}
}

// suppresses is true: Kibana suppresses query rules' alerts.
func (queryKind) suppresses() bool { return true }

func (k queryKind) compile(req CompileRequest, fn CompileFunc) (*Compiled, alertShape, error) {
	q, err := searchQuery(req.Rule.Language, req.Rule.Query, req.KQLFields)
	if err != nil {
		return nil, nil, err
	}
	where := &eql.Search{Language: k.language, Source: req.Rule.Query, Query: q}
	req.Statement = &eql.Statement{Query: &eql.EventQuery{Any: true, Where: where}}
	req.MaxFirst = true
	comp, err := compileRestricted(req, fn)
	if err != nil {
		return nil, nil, err
	}
	return comp, eventAlerts, nil
}

// searchQuery translates a rule's query in language (kuery or lucene) into the query
// Kibana sends: KQL with the field types of fields (the translation's bool.filter
// wrapper included), Lucene as a query_string with analyze_wildcard.
func searchQuery(language, src string, fields kql.Fields) (query.Query, error) {
	if language == "lucene" {
		return &query.QueryString{Query: src, AnalyzeWildcard: true, TimeZone: "Zulu"}, nil
	}
	n, err := kql.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	q, err := kql.ToQuery(n, fields)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return q, nil
}

// compileRestricted adds req.Restrict, when set, to every term of req.Statement (as
// Elasticsearch applies a search's filter to every event before a query, a sequence or a
// sample sees it) and compiles the statement with fn.
func compileRestricted(req CompileRequest, fn CompileFunc) (*Compiled, error) {
	if req.Restrict != nil {
		restrict(req.Statement, req.Restrict)
	}
	return fn(req)
}

// restrict ANDs s into the where condition of every event query of stmt.
func restrict(stmt *eql.Statement, s *eql.Search) {
	add := func(q *eql.EventQuery) {
		q.Where = &eql.Binary{At: q.Where.Pos(), Op: eql.OpAnd, X: q.Where, Y: s, OpPos: q.Where.Pos()}
	}
	switch q := stmt.Query.(type) {
	case *eql.EventQuery:
		add(q)
	case *eql.Sequence:
		for _, st := range q.Stages {
			add(st.Query)
		}
		if q.Until != nil {
			add(q.Until.Query)
		}
	case *eql.Sample:
		for _, st := range q.Stages {
			add(st.Query)
		}
	}
}
