// Package scribble helps tests find memory kept beyond its life. Built with the tag
// tripline_scribble, the input side overwrites each buffer it hands out (a record of the
// input reader, a normalised audit document, a bulk request's body) as soon as that
// buffer's documented life ends, so that any result still pointing into it shows
// garbage instead of happening to be right. Without the tag, Bytes does nothing and
// costs nothing.
//
// CI runs the command-line, engine and detector tests with the tag.
package scribble

// Bytes overwrites b with a pattern that is not valid JSON text when the tag
// tripline_scribble is set, and does nothing otherwise.
func Bytes(b []byte) {
	if !On {
		return
	}
	for i := range b {
		b[i] = '\x7f'
	}
}
