// Package eql is the Event Query Language front end: lexer, parser, AST, printer and
// verifier for the dialect Elasticsearch accepts.
package eql
