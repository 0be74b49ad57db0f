package query

// Query is one node of the tree: one of the types of this package.
type Query interface {
	// Name is the query's name in the DSL ("bool", "term", ...).
	Name() string
}

// Bool is the bool query: every Must and Filter clause holds, no MustNot clause holds,
// and at least MinimumShouldMatch Should clauses hold. Scoring is not modelled, so Must
// and Filter mean the same. With no Must or Filter clause and MinimumShouldMatch 0,
// Elasticsearch requires one Should clause when there are any; Kibana always sets
// minimum_should_match: 1 for its should lists.
type Bool struct {
	Must, Filter, Should, MustNot []Query
	MinimumShouldMatch            int
}

// MatchAll matches every document (KQL's empty query and *:*).
type MatchAll struct{}

// Term is an exact match of Value against the field's indexed value (a keyword's whole
// value, after its normalizer when CaseInsensitive is false and the field has one).
type Term struct {
	Field, Value    string
	CaseInsensitive bool
}

// Match is the match query: Query is analysed with the field's search analyzer and any
// of its terms matches (Operator "or", the default) or all of them ("and"). On keyword,
// numeric, date, ip and boolean fields it is a term query of the value parsed as the
// field's type. Lenient turns a value of the wrong type into no match instead of an error.
type Match struct {
	Field, Query string
	Operator     string
	Lenient      bool
}

// MatchPhrase matches when the field's tokens hold Query's tokens consecutively, in
// order; on non-text fields it is a term query, as Match.
type MatchPhrase struct {
	Field, Query string
}

// MultiMatch runs a match (Type "best_fields") or match_phrase (Type "phrase") query on
// each of Fields ("*" included) and matches when one of them does: KQL's free text.
type MultiMatch struct {
	Fields  []string
	Query   string
	Type    string
	Lenient bool
}

// Wildcard matches the field's whole indexed value against Value, where * matches any
// sequence of characters, ? exactly one, and \ makes the next character literal.
type Wildcard struct {
	Field, Value    string
	CaseInsensitive bool
}

// QueryString is the query_string query in the forms Kibana builds: KQL wildcards on
// fields that are not plain keyword (Fields set) and free text with a wildcard (Fields
// empty: the index's default fields), and the lucene language's whole query.
// Whitespace in Query separates terms, OR-ed.
type QueryString struct {
	Fields          []string
	Query           string
	AnalyzeWildcard bool
	TimeZone        string
}

// Range bounds the field's values; a bound is unset when its string is empty. Bounds
// are strings as KQL and Kibana's JSON give them (a JSON number keeps its text) and are
// parsed as the field's type: numbers, dates (with date math and Format), ips, or
// strings compared byte-wise.
type Range struct {
	Field            string
	GT, GTE, LT, LTE string
	Format, TimeZone string
}

// Exists matches when the field has an indexed value (not null, not [], not dropped by
// ignore_above or ignore_malformed; "" counts).
type Exists struct {
	Field string
}

// Nested runs Query against each object of the nested field Path on its own, and
// matches when one object matches; the field names in Query are full paths.
type Nested struct {
	Path  string
	Query Query
}

// Name returns "bool".
func (*Bool) Name() string { return "bool" }

// Name returns "match_all".
func (*MatchAll) Name() string { return "match_all" }

// Name returns "term".
func (*Term) Name() string { return "term" }

// Name returns "match".
func (*Match) Name() string { return "match" }

// Name returns "match_phrase".
func (*MatchPhrase) Name() string { return "match_phrase" }

// Name returns "multi_match".
func (*MultiMatch) Name() string { return "multi_match" }

// Name returns "wildcard".
func (*Wildcard) Name() string { return "wildcard" }

// Name returns "query_string".
func (*QueryString) Name() string { return "query_string" }

// Name returns "range".
func (*Range) Name() string { return "range" }

// Name returns "exists".
func (*Exists) Name() string { return "exists" }

// Name returns "nested".
func (*Nested) Name() string { return "nested" }
