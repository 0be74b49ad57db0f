package detect

import (
	"strings"
)

// IndexPatterns is a rule's list of index patterns, resolved against index names the way
// Elasticsearch resolves an index expression list: patterns apply in order, "*" matches any
// run of characters, a pattern starting with "-" removes the names matched so far, names
// starting with "." (hidden and system indices) are only matched by patterns that start with
// "." too, and a data stream's backing index (".ds-<name>-<date>-<generation>") also matches
// the patterns of its data stream. A "cluster:" prefix is ignored: events are local.
type IndexPatterns struct {
	pats []indexPattern
}

type indexPattern struct {
	exclude bool
	glob    string
}

// NewIndexPatterns compiles a list of index patterns.
func NewIndexPatterns(patterns []string) IndexPatterns {
	ip := IndexPatterns{pats: make([]indexPattern, 0, len(patterns))}
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		excl := false
		if len(ip.pats) > 0 && strings.HasPrefix(p, "-") {
			// A leading "-" is an exclusion only after another expression, as in Elasticsearch.
			excl, p = true, p[1:]
		}
		if i := strings.IndexByte(p, ':'); i >= 0 {
			p = p[i+1:]
		}
		if p == "_all" {
			p = "*"
		}
		ip.pats = append(ip.pats, indexPattern{exclude: excl, glob: p})
	}
	return ip
}

// Match reports whether the index name is selected by the patterns.
func (ip IndexPatterns) Match(index string) bool {
	if ip.match(index) {
		return true
	}
	if ds, ok := dataStreamOfBackingIndex(index); ok {
		return ip.match(ds)
	}
	return false
}

func (ip IndexPatterns) match(index string) bool {
	hidden := strings.HasPrefix(index, ".")
	in := false
	for _, p := range ip.pats {
		if hidden && !strings.HasPrefix(p.glob, ".") {
			continue
		}
		if globMatch(p.glob, index) {
			in = !p.exclude
		}
	}
	return in
}

// dataStreamOfBackingIndex returns "logs-x-default" for ".ds-logs-x-default-2024.01.31-000001".
func dataStreamOfBackingIndex(index string) (string, bool) {
	rest, ok := strings.CutPrefix(index, ".ds-")
	if !ok {
		return "", false
	}
	// Strip "-<generation>" then "-<date>".
	for range 2 {
		i := strings.LastIndexByte(rest, '-')
		if i <= 0 {
			return "", false
		}
		rest = rest[:i]
	}
	return rest, true
}

// globMatch matches s against a pattern whose only wildcard is '*'.
func globMatch(pat, s string) bool {
	// Iterative matcher with backtracking to the last star: linear in practice.
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pat) && pat[px] == '*':
			star, mark = px, sx
			px++
		case px < len(pat) && pat[px] == s[sx]:
			px++
			sx++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pat) && pat[px] == '*' {
		px++
	}
	return px == len(pat)
}
