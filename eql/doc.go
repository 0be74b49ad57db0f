// Package eql is the Event Query Language front end: lexer, parser, AST, printer and
// verifier for the dialect Elasticsearch accepts.
//
// Parse turns query text into a *Statement and verifies it the way Elasticsearch does
// before it looks at a mapping (unknown functions, arity, join keys, maxspan, runs, pipes,
// missing events, samples, field-to-field comparisons). After Parse, every Call.Name holds
// the canonical camelCase function name (see LookupFunction), so evaluators can switch on
// it. ParseSyntax parses without verifying; Verify verifies a tree; ParseExpr parses and
// verifies one expression.
//
// Errors are *Error values positioned at a line and a column (in code points, 1-based)
// with Elasticsearch's message where it has one; Error.Render adds the offending line and
// a caret. Several verification problems come back as an ErrorList.
//
// Format (and Statement.String) prints canonical EQL that parses back to the same tree,
// positions aside; ToJSON renders a tagged JSON tree with positions.
package eql
