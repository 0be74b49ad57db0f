package eql

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Error is a positioned problem in a query: a syntax error found by the parser or a
// semantic error found by the verifier.
type Error struct {
	Pos Pos
	Msg string
}

// Error returns the message in Elasticsearch's style: "line L:C: msg".
func (e *Error) Error() string {
	return fmt.Sprintf("line %d:%d: %s", e.Pos.Line, e.Pos.Column, e.Msg)
}

// Render returns the error message followed by the offending line of src and a caret
// under the error's column, for display in a terminal:
//
//	line 1:15: Unknown function [foo]
//	process where foo(x)
//	              ^
//
// src must be the text the error was produced from.
func (e *Error) Render(src string) string {
	var b strings.Builder
	b.WriteString(e.Error())
	line, ok := sourceLine(src, e.Pos.Line)
	if !ok {
		return b.String()
	}
	b.WriteByte('\n')
	b.WriteString(line)
	b.WriteByte('\n')
	// Reproduce tabs so the caret lines up in a terminal.
	col := 1
	for _, r := range line {
		if col >= e.Pos.Column {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		col++
	}
	for ; col < e.Pos.Column; col++ {
		b.WriteByte(' ')
	}
	b.WriteByte('^')
	return b.String()
}

// sourceLine returns line n (1-based) of src without its line terminator.
func sourceLine(src string, n int) (string, bool) {
	if n < 1 {
		return "", false
	}
	for i := 1; i < n; i++ {
		j := strings.IndexByte(src, '\n')
		if j < 0 {
			return "", false
		}
		src = src[j+1:]
	}
	if j := strings.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	src = strings.TrimSuffix(src, "\r")
	if !utf8.ValidString(src) {
		src = strings.ToValidUTF8(src, "\uFFFD")
	}
	return src, true
}

// ErrorList is several errors found in one query, in source order. Parse returns an
// ErrorList only when the verifier finds more than one problem; errors.As with a
// **Error target finds the first one.
type ErrorList []*Error

// Error returns the messages of all errors, one per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors so that errors.Is and errors.As look into the list.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Render renders every error of the list with Error.Render, separated by blank lines.
func (l ErrorList) Render(src string) string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Render(src)
	}
	return strings.Join(parts, "\n\n")
}

// err returns a list as an error value, its errors sorted by position: nil when empty,
// the single *Error when it holds one, and the list otherwise.
func (l ErrorList) err() error {
	slices.SortStableFunc(l, func(a, b *Error) int { return cmp.Compare(a.Pos.Offset, b.Pos.Offset) })
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	return l
}
