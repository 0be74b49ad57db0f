// Command fullparse is the baseline of Tripline's benchmark: it reads NDJSON and fully parses
// every line with github.com/valyala/fastjson (one reused Parser), then visits every value,
// unescaping every key and string and converting every number, so that no part of the work is
// left lazy. It does nothing else. With -mode split it only splits the input into lines: the
// cost of reading, the floor under any engine.
//
// Usage:
//
//	fullparse [-mode parse|split] [FILE...]   (standard input when no FILE is given)
//
// It prints one JSON line: mode, events, bytes, seconds, events_per_sec, mb_per_sec (MB = 10^6
// bytes), the number of values visited and the number of lines that failed to parse. Lines that
// are not valid JSON are reported on standard error with FILE:LINE and skipped; blank lines are
// not events.
package main
