// Package eval compiles EQL expressions into closures over events, with
// Elasticsearch's value semantics.
//
// A condition is compiled once ([CompileQuery], [CompileExpr]) into a [Filter]
// whose Match method evaluates it against one event without walking the AST and
// without allocating for the common operators.
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
// # Runtime errors
//
// Where Elasticsearch fails the whole search at run time (integer overflow,
// integer division by zero, number() of an unparsable string, between() with an
// impossible greedy match), a compiled filter cannot fail one event without
// failing the others: the offending sub-expression evaluates to null instead, so
// the event does not match. The same conditions on constants are reported as
// compile errors, as Elasticsearch reports them when it folds constants.
package eval
