// Package eval compiles EQL expressions into closures over events, with
// Elasticsearch's value semantics.
//
// A condition is compiled once ([CompileQuery], [CompileExpr]) into a [Filter]
// whose Match method evaluates it against one event without walking the AST and
// without allocating for the common operators.
//
// [CompileDSL] compiles an Elasticsearch query DSL tree (package query: a KQL query's
// translation, a rule's filters, an exception list) into the same [Filter], with the
// answers of each mapped field type: keyword and its normalizer, text analysed (see
// analyze.go), ip CIDR, numbers and dates parsed from strings, date math, nested
// objects read from the event's document.
//
// # Two evaluation paths
//
// Elasticsearch translates an EQL filter into a Lucene query. Before that, its
// optimizer pushes "not" down to the leaves (De Morgan, flipping ranges,
// swapping IsNull/IsNotNull) and rewrites "x == null" to IsNull(x). Each leaf
// then becomes either
//
//   - a Lucene query, when it compares a bare field with constants (==, !=,
//     ranges, :, like, regex, in, in~, startsWith, endsWith, stringContains,
//     cidrMatch, IsNull, IsNotNull). Any value of a multi-valued field may
//     satisfy it; a missing field or a null never satisfies a positive leaf; a
//     negated non-range leaf is a must_not, so events that lack the field match
//     it; or
//   - a Painless script, for everything else (functions of computed values,
//     arithmetic on fields). The script uses three-valued logic and a null result
//     does not match. Recent Elasticsearch versions evaluate such a script once
//     for every combination of the values of the fields it reads (a missing
//     field counts as one null) and keep the event when any combination is true
//     (EQL planner QueryTranslator.toQuery wraps scripts in
//     MultiValueAwareScriptQuery; InternalEqlScriptUtils.multiValueDocValues);
//     a "not" left over a script is applied to that whole "any" result.
//
// This package reproduces both paths; see [Filter] and the tests for the exact
// rules.
//
// # Field types
//
// Env.Mapping (package mapping) says where a field's values come from (an alias's
// target, a multi-field's parent) and how Elasticsearch indexes each source value
// (mapping.Field.Normalize): a keyword over ignore_above or a malformed number is not
// indexed, a text field is compared on its keyword sub-field, an ip is canonical, a
// date is an instant, an explicit null takes the null_value, and a constant_keyword
// with a value gives it to every event. A nil mapping is dynamic mapping: each value's
// type comes from its JSON form (strings as keywords of any length, date
// detection, fractions as float). A field the mapping does not declare is the compile
// error "Unknown column [x]", unless written ?x, which is the null literal.
//
// A constant compared with a field is converted as the field type's Lucene query
// converts it: a keyword takes the text of a number, a number or boolean field parses
// a string, float fields round the constant to their precision, an ip term may be a
// CIDR block, and a date is parsed with the field's format, the time fields the text
// lacks rounded up for upper bounds (so @timestamp == "2017-08-30T20:47:33Z" is the
// whole second). Conversions Elasticsearch would fail the search on are compile
// errors with the constant's position.
//
// # Evaluation cost
//
// Chains of and/or compile into one list each, their operands ordered by an
// estimated cost (term and range tests, then string matchers, regular expressions and
// scripts last); at this level every operand is a two-valued test without side
// effects, so the order cannot change a result. String leaves (equality, ':', like,
// in, in~, startsWith, endsWith, stringContains) are evaluated in place by the list
// rather than through a closure. Their patterns compile into one matcher per leaf: a
// set of literals, prefix, suffix and infix byte tests and general byte patterns on
// the value ASCII-lower-cased once into a stack buffer, with the rune-by-rune
// wildcard as the reference for what the byte path cannot decide (see strMatcher).
// A regular expression made only of literals, .*, .+, small character sets, optional
// parts and alternations becomes the wildcard patterns it stands for; any other first
// checks the bytes every match must contain (regexTest).
//
// The static order is a guess: [Filter.Observe] and [Filter.Reorder] let a caller
// (a detector, over the first events of its input) count how often each operand
// decides its and/or and what it costs, and put the operands that decide soonest
// first.
//
// # Runtime errors
//
// Where Elasticsearch fails the whole search at run time (integer overflow,
// integer division by zero, number() of an unparsable string, between() with an
// impossible greedy match), a compiled filter cannot fail one event without
// failing the others: the offending sub-expression evaluates to null instead, so
// the event does not match. The same conditions on constants are reported as
// compile errors, as Elasticsearch reports them when it folds constants.
package eval
