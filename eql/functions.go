package eql

import (
	"sort"
	"strings"
)

// FuncInfo describes an EQL function as Elasticsearch defines it.
type FuncInfo struct {
	// Name is the canonical camelCase name (e.g. "cidrMatch").
	Name string
	// MinArgs and MaxArgs bound the number of arguments; MaxArgs is -1 when unbounded.
	MinArgs, MaxArgs int
	// Insensitive reports whether the name~(...) case-insensitive form is allowed.
	Insensitive bool
}

var functionTable = []FuncInfo{
	{Name: "add", MinArgs: 2, MaxArgs: 2},
	{Name: "between", MinArgs: 3, MaxArgs: 4, Insensitive: true},
	{Name: "cidrMatch", MinArgs: 2, MaxArgs: -1},
	{Name: "concat", MinArgs: 1, MaxArgs: -1},
	{Name: "divide", MinArgs: 2, MaxArgs: 2},
	{Name: "endsWith", MinArgs: 2, MaxArgs: 2, Insensitive: true},
	{Name: "indexOf", MinArgs: 2, MaxArgs: 3, Insensitive: true},
	{Name: "length", MinArgs: 1, MaxArgs: 1},
	{Name: "modulo", MinArgs: 2, MaxArgs: 2},
	{Name: "multiply", MinArgs: 2, MaxArgs: 2},
	{Name: "number", MinArgs: 1, MaxArgs: 2},
	{Name: "startsWith", MinArgs: 2, MaxArgs: 2, Insensitive: true},
	{Name: "string", MinArgs: 1, MaxArgs: 1},
	{Name: "stringContains", MinArgs: 2, MaxArgs: 2, Insensitive: true},
	{Name: "substring", MinArgs: 2, MaxArgs: 3},
	{Name: "subtract", MinArgs: 2, MaxArgs: 2},
}

// functionIndex maps lower-cased names to table entries. It is built once and never
// modified.
var functionIndex = func() map[string]FuncInfo {
	m := make(map[string]FuncInfo, len(functionTable))
	for _, f := range functionTable {
		m[strings.ToLower(f.Name)] = f
	}
	return m
}()

// LookupFunction finds a function by name, case-insensitively as Elasticsearch does
// ("cidrmatch" finds cidrMatch). A trailing "~" is not part of the name.
func LookupFunction(name string) (FuncInfo, bool) {
	f, ok := functionIndex[strings.ToLower(name)]
	return f, ok
}

// Functions returns the table of all functions, sorted by name.
func Functions() []FuncInfo {
	out := make([]FuncInfo, len(functionTable))
	copy(out, functionTable)
	return out
}

// arityMessage words an arity violation the way Elasticsearch does.
func (f FuncInfo) arityMessage() string {
	words := []string{"zero", "one", "two", "three", "four", "five"}
	switch {
	case f.MaxArgs < 0:
		return "expects at least " + words[f.MinArgs] + " arguments"
	case f.MinArgs == f.MaxArgs && f.MinArgs == 1:
		return "expects exactly one argument"
	case f.MinArgs == f.MaxArgs:
		return "expects exactly " + words[f.MinArgs] + " arguments"
	default:
		return "expects " + words[f.MinArgs] + " or " + words[f.MaxArgs] + " arguments"
	}
}

// similar returns the candidates that look like name (Levenshtein similarity of at
// least 0.5, as Elasticsearch's suggestions), best first.
func similar(name string, candidates []string) []string {
	type scored struct {
		s     string
		score float64
	}
	var out []scored
	ln := strings.ToLower(name)
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := levenshtein(ln, lc)
		m := max(len([]rune(ln)), len([]rune(lc)))
		if m == 0 {
			continue
		}
		score := 1 - float64(d)/float64(m)
		if score >= 0.5 {
			out = append(out, scored{c, score})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].score > out[j].score })
	res := make([]string, len(out))
	for i, s := range out {
		res[i] = s.s
	}
	return res
}

// didYouMean formats suggestions: ", did you mean [x]?" or ", did you mean any of [x, y]?".
func didYouMean(sugg []string) string {
	switch len(sugg) {
	case 0:
		return ""
	case 1:
		return ", did you mean [" + sugg[0] + "]?"
	}
	return ", did you mean any of [" + strings.Join(sugg, ", ") + "]?"
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
