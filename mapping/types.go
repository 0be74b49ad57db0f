package mapping

// Type is an Elasticsearch field type.
type Type uint8

// Field types. Dynamic marks a field that no mapping declares: its type comes from each
// value (see DynamicType).
const (
	Unknown Type = iota
	Dynamic
	Keyword
	ConstantKeyword
	Wildcard
	Text
	Long
	Integer
	Short
	Byte
	Double
	Float
	HalfFloat
	ScaledFloat
	Boolean
	IP
	Version
	Date
	DateNanos
	Alias
	Object
	Flattened
)

var typeNames = [...]string{
	Unknown: "unknown", Dynamic: "dynamic", Keyword: "keyword", ConstantKeyword: "constant_keyword",
	Wildcard: "wildcard", Text: "text", Long: "long", Integer: "integer", Short: "short", Byte: "byte",
	Double: "double", Float: "float", HalfFloat: "half_float", ScaledFloat: "scaled_float",
	Boolean: "boolean", IP: "ip", Version: "version", Date: "date", DateNanos: "date_nanos",
	Alias: "alias", Object: "object", Flattened: "flattened",
}

// String returns the type's name as Elasticsearch writes it.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// ParseType returns the type named s; names Tripline does not model (geo_point, ...) are
// Unknown. "nested" is Object; "match_only_text", which EQL sees as text, is Text.
func ParseType(s string) Type {
	switch s {
	case "nested":
		return Object
	case "match_only_text":
		return Text
	}
	for t, n := range typeNames {
		if n == s && Type(t) != Dynamic {
			return Type(t)
		}
	}
	return Unknown
}

// IsKeywordLike reports whether t compares as an exact string (keyword, constant_keyword,
// wildcard).
func (t Type) IsKeywordLike() bool { return t == Keyword || t == ConstantKeyword || t == Wildcard }

// IsInteger reports whether t is an integer type.
func (t Type) IsInteger() bool { return t == Long || t == Integer || t == Short || t == Byte }

// IsNumeric reports whether t is a numeric type.
func (t Type) IsNumeric() bool {
	return t.IsInteger() || t == Double || t == Float || t == HalfFloat || t == ScaledFloat
}

// IsDate reports whether t is date or date_nanos.
func (t Type) IsDate() bool { return t == Date || t == DateNanos }
