package kql

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a KQL syntax error: where the parser got furthest, what it expected there and
// what it found, worded as Kibana's KQLSyntaxError words it.
type Error struct {
	Pos Pos
	// Expected lists what would have let the parse go on, sorted and without repeats: a
	// quoted text such as "(" or ":", or a rule's name (AND, NOT, OR, end of input,
	// field name, literal, value, whitespace).
	Expected []string
	// Found is the character at Pos; AtEnd is set instead at the end of the query.
	Found string
	AtEnd bool
}

// Message returns Kibana's message: Expected <list> but "<char>" found. (or "but end of
// input found.").
func (e *Error) Message() string {
	found := "end of input"
	if !e.AtEnd {
		found = `"` + e.Found + `"`
	}
	return fmt.Sprintf("Expected %s but %s found.", strings.Join(e.Expected, ", "), found)
}

// Error returns "line L:C: " and the message.
func (e *Error) Error() string {
	return fmt.Sprintf("line %d:%d: %s", e.Pos.Line, e.Pos.Column, e.Message())
}

// Render returns the error as Kibana shows it, with the position first: the message,
// then the query's line holding the error, then a line of dashes ending in a caret under
// the error's column. src must be the query the error was produced from.
//
//	line 1:4: Expected AND, OR, end of input, whitespace but ":" found.
//	a:b:c
//	---^
func (e *Error) Render(src string) string {
	line := src
	for i := 1; i < e.Pos.Line; i++ {
		j := strings.IndexByte(line, '\n')
		if j < 0 {
			return e.Error()
		}
		line = line[j+1:]
	}
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	line = strings.ToValidUTF8(line, "\uFFFD")
	dashes := min(max(e.Pos.Column-1, 0), utf8.RuneCountInString(line))
	return e.Error() + "\n" + line + "\n" + strings.Repeat("-", dashes) + "^"
}
