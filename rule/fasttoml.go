package rule

import (
	"strings"
	"unicode/utf8"
)

// This file holds the loader's fast path for detection-rules TOML files: a small parser for
// the part of TOML those files use (tables, arrays of tables, bare and simple quoted keys,
// strings of the four kinds, decimal integers, booleans and arrays), that decodes the [rule]
// table straight into a Rule.
//
// It is only a fast path. It accepts a strict subset of what github.com/BurntSushi/toml
// accepts, and whenever it meets anything else (another kind of value, a dotted key, a
// duplicate key or table, a value of the wrong type for a Rule field, a key that matches a
// field only without regard to case, anything malformed) it gives up and ParseTOML decodes
// the file with BurntSushi/toml as before. So every error message, and every rule decoded,
// is the one BurntSushi/toml gives; TestFastTOMLMatchesBurntSushi and FuzzFastTOML check
// that, over the corpus and over arbitrary input.

// decodeRuleFast decodes the [rule] table of a detection-rules TOML file. ok is false when
// the file is outside the subset handled here (including every malformed file): the caller
// must then decode it the ordinary way.
func decodeRuleFast(data []byte) (r *Rule, ok bool) {
	if !plainText(data) {
		return nil, false
	}
	p := tomlParser{s: string(data), root: &ttable{}}
	p.cur = p.root
	if !p.parse() {
		return nil, false
	}
	v, found := p.root.get("rule")
	if !found || v.kind != kTable {
		return nil, false
	}
	r = &Rule{Enabled: true}
	if !v.tab.decodeRule(r) {
		return nil, false
	}
	return r, true
}

// plainText reports whether data is valid UTF-8 without the control characters TOML forbids
// everywhere (all but tab and line feed; carriage returns are left to the full decoder).
func plainText(data []byte) bool {
	for _, b := range data {
		if (b < 0x20 && b != '\t' && b != '\n') || b == 0x7f {
			return false
		}
	}
	return utf8.Valid(data)
}

// tkind is the kind of a parsed TOML value.
type tkind uint8

const (
	kString tkind = iota
	kInt
	kBool
	kArray // an inline array
	kTable // a table opened by a [header] or implicitly by a longer one
	kAOT   // an array of tables ([[header]])
)

// tval is one parsed TOML value; which field is set depends on kind.
type tval struct {
	kind tkind
	b    bool
	n    int64
	s    string
	arr  []tval
	tab  *ttable
	aot  *[]*ttable
}

// tkv is one key of a table with its value.
type tkv struct {
	k string
	v tval
}

// ttable is a TOML table: its keys in the order written (tables are small, so a slice
// searched linearly is cheaper than a map), and whether a [header] defined it.
type ttable struct {
	kv      []tkv
	defined bool
	inline  bool // an inline table: complete as written, no header may extend it
}

func (t *ttable) get(k string) (tval, bool) {
	for i := range t.kv {
		if t.kv[i].k == k {
			return t.kv[i].v, true
		}
	}
	return tval{}, false
}

// tomlParser parses the TOML subset; every method returns false on anything it does not
// handle.
type tomlParser struct {
	s    string
	i    int
	root *ttable
	cur  *ttable // the table key/value lines go to
}

func (p *tomlParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *tomlParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// skipComment passes a comment up to (not including) the end of its line.
func (p *tomlParser) skipComment() {
	if j := strings.IndexByte(p.s[p.i:], '\n'); j >= 0 {
		p.i += j
	} else {
		p.i = len(p.s)
	}
}

// skipBlank passes spaces, line ends and comments (inside arrays).
func (p *tomlParser) skipBlank() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n':
			p.i++
		case '#':
			p.skipComment()
		default:
			return
		}
	}
}

// endLine passes what may follow an expression: spaces, a comment, the end of the line.
func (p *tomlParser) endLine() bool {
	p.skipSpace()
	if p.peek() == '#' {
		p.skipComment()
	}
	if p.i == len(p.s) {
		return true
	}
	if p.s[p.i] == '\n' {
		p.i++
		return true
	}
	return false
}

func (p *tomlParser) parse() bool {
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			return true
		}
		var ok bool
		switch p.s[p.i] {
		case '\n':
			p.i++
			continue
		case '#':
			p.skipComment()
			continue
		case '[':
			ok = p.header()
		default:
			ok = p.keyval()
		}
		if !ok || !p.endLine() {
			return false
		}
	}
}

func isBareKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// key reads a bare key, or a quoted one without escapes.
func (p *tomlParser) key() (string, bool) {
	start := p.i
	switch p.peek() {
	case '"', '\'':
		q := p.s[p.i]
		end := strings.IndexByte(p.s[start+1:], q)
		if end <= 0 { // no closing quote, or an empty key
			return "", false
		}
		k := p.s[start+1 : start+1+end]
		if strings.ContainsAny(k, "\n\\") {
			return "", false
		}
		p.i = start + end + 2
		return k, true
	}
	for p.i < len(p.s) && isBareKeyByte(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i], p.i > start
}

// header reads [a.b.c] or [[a.b.c]] and makes that table the current one.
func (p *tomlParser) header() bool {
	p.i++
	array := p.peek() == '['
	if array {
		p.i++
	}
	var buf [8]string
	path := buf[:0]
	for {
		p.skipSpace()
		k, ok := p.key()
		if !ok {
			return false
		}
		path = append(path, k)
		p.skipSpace()
		if p.peek() != '.' {
			break
		}
		p.i++
	}
	if p.peek() != ']' {
		return false
	}
	p.i++
	if array {
		if p.peek() != ']' {
			return false
		}
		p.i++
	}
	t := p.root
	for _, k := range path[:len(path)-1] {
		v, found := t.get(k)
		switch {
		case !found:
			nt := &ttable{}
			t.kv = append(t.kv, tkv{k, tval{kind: kTable, tab: nt}})
			t = nt
		case v.kind == kTable && !v.tab.inline:
			t = v.tab
		case v.kind == kAOT:
			t = (*v.aot)[len(*v.aot)-1]
		default:
			return false
		}
	}
	last := path[len(path)-1]
	v, found := t.get(last)
	nt := &ttable{defined: true}
	switch {
	case array && !found:
		elems := []*ttable{nt}
		t.kv = append(t.kv, tkv{last, tval{kind: kAOT, aot: &elems}})
	case array && v.kind == kAOT:
		*v.aot = append(*v.aot, nt)
	case !array && !found:
		t.kv = append(t.kv, tkv{last, tval{kind: kTable, tab: nt}})
	case !array && v.kind == kTable && !v.tab.defined:
		v.tab.defined = true
		nt = v.tab
	default: // a table defined twice, or a key and a table of the same name
		return false
	}
	p.cur = nt
	return true
}

// keyval reads key = value into the current table.
func (p *tomlParser) keyval() bool {
	k, ok := p.key()
	if !ok {
		return false
	}
	p.skipSpace()
	if p.peek() != '=' { // dotted keys are left to the full decoder
		return false
	}
	p.i++
	p.skipSpace()
	v, ok := p.value()
	if !ok {
		return false
	}
	if _, dup := p.cur.get(k); dup {
		return false
	}
	p.cur.kv = append(p.cur.kv, tkv{k, v})
	return true
}

func (p *tomlParser) value() (tval, bool) {
	rest := p.s[p.i:]
	switch c := p.peek(); {
	case c == '"':
		var s string
		var ok bool
		if strings.HasPrefix(rest, `"""`) {
			s, ok = p.multiBasic()
		} else {
			s, ok = p.basic()
		}
		return tval{kind: kString, s: s}, ok
	case c == '\'':
		var s string
		var ok bool
		if strings.HasPrefix(rest, "'''") {
			s, ok = p.multiLiteral()
		} else {
			s, ok = p.literal()
		}
		return tval{kind: kString, s: s}, ok
	case c == '[':
		return p.array()
	case c == '{':
		return p.inlineTable()
	case strings.HasPrefix(rest, "true"):
		p.i += 4
		return tval{kind: kBool, b: true}, p.delimited()
	case strings.HasPrefix(rest, "false"):
		p.i += 5
		return tval{kind: kBool}, p.delimited()
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		return p.integer()
	}
	return tval{}, false
}

// delimited reports whether the scalar just read ends where a value may end.
func (p *tomlParser) delimited() bool {
	if p.i == len(p.s) {
		return true
	}
	switch p.s[p.i] {
	case ' ', '\t', '\n', '#', ',', ']', '}':
		return true
	}
	return false
}

// integer reads a decimal integer without underscores; floats, dates, other bases and
// anything longer than 18 digits are left to the full decoder.
func (p *tomlParser) integer() (tval, bool) {
	neg := false
	switch p.peek() {
	case '+':
		p.i++
	case '-':
		neg = true
		p.i++
	}
	start := p.i
	var n int64
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		n = n*10 + int64(p.s[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 18 || (digits > 1 && p.s[start] == '0') || !p.delimited() {
		return tval{}, false
	}
	if neg {
		n = -n
	}
	return tval{kind: kInt, n: n}, true
}

func (p *tomlParser) array() (tval, bool) {
	p.i++
	arr := make([]tval, 0, 4)
	for {
		p.skipBlank()
		if p.peek() == ']' {
			p.i++
			return tval{kind: kArray, arr: arr}, true
		}
		v, ok := p.value()
		if !ok {
			return tval{}, false
		}
		arr = append(arr, v)
		p.skipBlank()
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return tval{kind: kArray, arr: arr}, true
		default:
			return tval{}, false
		}
	}
}

// inlineTable reads { key = value, ... } written on one line, without a trailing comma.
func (p *tomlParser) inlineTable() (tval, bool) {
	p.i++
	t := &ttable{defined: true, inline: true}
	p.skipSpace()
	if p.peek() == '}' {
		p.i++
		return tval{kind: kTable, tab: t}, true
	}
	for {
		p.skipSpace()
		k, ok := p.key()
		if !ok {
			return tval{}, false
		}
		p.skipSpace()
		if p.peek() != '=' {
			return tval{}, false
		}
		p.i++
		p.skipSpace()
		v, ok := p.value()
		if !ok {
			return tval{}, false
		}
		if _, dup := t.get(k); dup {
			return tval{}, false
		}
		t.kv = append(t.kv, tkv{k, v})
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return tval{kind: kTable, tab: t}, true
		default:
			return tval{}, false
		}
	}
}

// literal reads a 'literal string'.
func (p *tomlParser) literal() (string, bool) {
	start := p.i + 1
	end := strings.IndexAny(p.s[start:], "'\n")
	if end < 0 || p.s[start+end] != '\'' {
		return "", false
	}
	p.i = start + end + 1
	return p.s[start : start+end], true
}

// multiLiteral reads a multi-line literal string (between triple single quotes).
func (p *tomlParser) multiLiteral() (string, bool) {
	p.i += 3
	if p.peek() == '\n' {
		p.i++
	}
	start := p.i
	j := strings.Index(p.s[p.i:], "'''")
	if j < 0 {
		return "", false
	}
	p.i += j
	n := quoteRun(p.s[p.i:], '\'')
	if n > 5 {
		return "", false
	}
	s := p.s[start : p.i+n-3]
	p.i += n
	return s, true
}

// quoteRun counts the q bytes s begins with.
func quoteRun(s string, q byte) int {
	n := 0
	for n < len(s) && s[n] == q {
		n++
	}
	return n
}

// basic reads a "basic string" with its escapes.
func (p *tomlParser) basic() (string, bool) {
	p.i++
	start := p.i
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '"':
			p.i++
			return p.s[start : p.i-1], true
		case '\n':
			return "", false
		case '\\':
			var b strings.Builder
			b.WriteString(p.s[start:p.i])
			return p.basicEscaped(&b)
		}
		p.i++
	}
	return "", false
}

func (p *tomlParser) basicEscaped(b *strings.Builder) (string, bool) {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; c {
		case '"':
			p.i++
			return b.String(), true
		case '\n':
			return "", false
		case '\\':
			if !p.escape(b, false) {
				return "", false
			}
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", false
}

// multiBasic reads a """multi-line basic string""" with its escapes.
func (p *tomlParser) multiBasic() (string, bool) {
	p.i += 3
	if p.peek() == '\n' {
		p.i++
	}
	start := p.i
	var b *strings.Builder // set at the first escape
	for p.i < len(p.s) {
		switch c := p.s[p.i]; c {
		case '"':
			n := quoteRun(p.s[p.i:], '"')
			if n < 3 {
				if b != nil {
					b.WriteString(p.s[p.i : p.i+n])
				}
				p.i += n
				continue
			}
			if n > 5 {
				return "", false
			}
			var s string
			if b == nil {
				s = p.s[start : p.i+n-3]
			} else {
				b.WriteString(p.s[p.i : p.i+n-3])
				s = b.String()
			}
			p.i += n
			return s, true
		case '\\':
			if b == nil {
				b = &strings.Builder{}
				b.WriteString(p.s[start:p.i])
			}
			if !p.escape(b, true) {
				return "", false
			}
		default:
			if b != nil {
				b.WriteByte(c)
			}
			p.i++
		}
	}
	return "", false
}

// escape decodes the escape sequence at p.i (a backslash) into b. In a multi-line string a
// backslash at the end of a line drops the line end and the blank space after it.
func (p *tomlParser) escape(b *strings.Builder, multiline bool) bool {
	if p.i+1 >= len(p.s) {
		return false
	}
	c := p.s[p.i+1]
	p.i += 2
	switch c {
	case 'b':
		b.WriteByte('\b')
	case 't':
		b.WriteByte('\t')
	case 'n':
		b.WriteByte('\n')
	case 'f':
		b.WriteByte('\f')
	case 'r':
		b.WriteByte('\r')
	case '"':
		b.WriteByte('"')
	case '\\':
		b.WriteByte('\\')
	case 'u', 'U':
		n := 4
		if c == 'U' {
			n = 8
		}
		if p.i+n > len(p.s) {
			return false
		}
		var r rune
		for _, h := range []byte(p.s[p.i : p.i+n]) {
			switch {
			case h >= '0' && h <= '9':
				r = r<<4 | rune(h-'0')
			case h >= 'a' && h <= 'f':
				r = r<<4 | rune(h-'a'+10)
			case h >= 'A' && h <= 'F':
				r = r<<4 | rune(h-'A'+10)
			default:
				return false
			}
		}
		if r < 0 || r > utf8.MaxRune || (r >= 0xD800 && r <= 0xDFFF) {
			return false
		}
		p.i += n
		b.WriteRune(r)
	case ' ', '\t', '\n':
		if !multiline {
			return false
		}
		p.i--
		p.skipSpace()
		if p.peek() != '\n' {
			return false
		}
		for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
			p.i++
		}
	default:
		return false
	}
	return true
}

// The TOML keys of Rule, Threat, Technique and ThreatRef (their toml tags, and "source" for
// Rule.Source, which BurntSushi/toml never sets). A key that matches none of them exactly but
// one of them without regard to case is left to the full decoder, which matches keys that way.
var (
	ruleKeys = []string{"id", "rule_id", "name", "description", "type", "language", "query", "index",
		"risk_score", "severity", "tags", "threat", "timestamp_override", "timestamp_field",
		"event_category_override", "tiebreaker_field", "building_block_type", "max_signals", "from",
		"to", "interval", "enabled", "author", "license", "references", "false_positives", "note",
		"setup", "version", "filters", "exceptions_list", "alert_suppression", "source"}
	threatKeys    = []string{"framework", "tactic", "technique"}
	techniqueKeys = []string{"id", "name", "reference", "subtechnique"}
	threatRefKeys = []string{"id", "name", "reference"}
)

// foldsTo reports whether k equals one of names without regard to case.
func foldsTo(k string, names []string) bool {
	for _, n := range names {
		if strings.EqualFold(k, n) {
			return true
		}
	}
	return false
}

// decodeRule sets the fields of r from the table, as BurntSushi/toml's decoding into *Rule
// would; false when a value does not have the field's type or a key needs case folding.
func (t *ttable) decodeRule(r *Rule) bool {
	for _, kv := range t.kv {
		v := kv.v
		var ok bool
		switch kv.k {
		case "id":
			ok = v.str(&r.ID)
		case "rule_id":
			ok = v.str(&r.RuleID)
		case "name":
			ok = v.str(&r.Name)
		case "description":
			ok = v.str(&r.Description)
		case "type":
			ok = v.str(&r.Type)
		case "language":
			ok = v.str(&r.Language)
		case "query":
			ok = v.str(&r.Query)
		case "index":
			ok = v.strs(&r.Index)
		case "risk_score":
			ok = v.int(&r.RiskScore)
		case "severity":
			ok = v.str(&r.Severity)
		case "tags":
			ok = v.strs(&r.Tags)
		case "threat":
			ok = v.threats(&r.Threat)
		case "timestamp_override":
			ok = v.str(&r.TimestampOverride)
		case "timestamp_field":
			ok = v.str(&r.TimestampField)
		case "event_category_override":
			ok = v.str(&r.EventCategoryOverride)
		case "tiebreaker_field":
			ok = v.str(&r.TiebreakerField)
		case "building_block_type":
			ok = v.str(&r.BuildingBlockType)
		case "max_signals":
			ok = v.int(&r.MaxSignals)
		case "from":
			ok = v.str(&r.From)
		case "to":
			ok = v.str(&r.To)
		case "interval":
			ok = v.str(&r.Interval)
		case "enabled":
			ok = v.kind == kBool
			r.Enabled = v.b
		case "author":
			ok = v.strs(&r.Author)
		case "license":
			ok = v.str(&r.License)
		case "references":
			ok = v.strs(&r.References)
		case "false_positives":
			ok = v.strs(&r.FalsePositives)
		case "note":
			ok = v.str(&r.Note)
		case "setup":
			ok = v.str(&r.Setup)
		case "version":
			ok = v.int(&r.Version)
		case "filters":
			ok = v.anys(&r.Filters)
		case "exceptions_list":
			ok = v.anys(&r.ExceptionsList)
		case "alert_suppression":
			r.AlertSuppression, ok = v.generic(), true
		default:
			ok = !foldsTo(kv.k, ruleKeys)
		}
		if !ok {
			return false
		}
	}
	return true
}

func (v tval) str(dst *string) bool {
	*dst = v.s
	return v.kind == kString
}

func (v tval) int(dst *int) bool {
	*dst = int(v.n)
	return v.kind == kInt
}

// strs decodes an array of strings (an empty array gives an empty, non-nil slice).
func (v tval) strs(dst *[]string) bool {
	if v.kind != kArray {
		return false
	}
	out := make([]string, len(v.arr))
	for i, e := range v.arr {
		if e.kind != kString {
			return false
		}
		out[i] = e.s
	}
	*dst = out
	return true
}

// anys decodes an array, or an array of tables, into a []any as BurntSushi/toml does.
func (v tval) anys(dst *[]any) bool {
	switch v.kind {
	case kArray:
		out := make([]any, len(v.arr))
		for i, e := range v.arr {
			out[i] = e.generic()
		}
		*dst = out
	case kAOT:
		out := make([]any, len(*v.aot))
		for i, t := range *v.aot {
			out[i] = t.generic()
		}
		*dst = out
	default:
		return false
	}
	return true
}

// generic returns the value as BurntSushi/toml represents it when decoding into an any:
// string, int64, bool, []any, map[string]any, []map[string]any.
func (v tval) generic() any {
	switch v.kind {
	case kString:
		return v.s
	case kInt:
		return v.n
	case kBool:
		return v.b
	case kArray:
		out := make([]any, len(v.arr))
		for i, e := range v.arr {
			out[i] = e.generic()
		}
		return out
	case kTable:
		return v.tab.generic()
	default: // kAOT
		out := make([]map[string]any, len(*v.aot))
		for i, t := range *v.aot {
			out[i] = t.generic()
		}
		return out
	}
}

func (t *ttable) generic() map[string]any {
	m := make(map[string]any, len(t.kv))
	for _, kv := range t.kv {
		m[kv.k] = kv.v.generic()
	}
	return m
}

// threats decodes the [[rule.threat]] tables.
func (v tval) threats(dst *[]Threat) bool {
	if v.kind != kAOT {
		return false
	}
	out := make([]Threat, len(*v.aot))
	for i, t := range *v.aot {
		th := &out[i]
		for _, kv := range t.kv {
			var ok bool
			switch kv.k {
			case "framework":
				ok = kv.v.str(&th.Framework)
			case "tactic":
				ok = kv.v.kind == kTable && kv.v.tab.decodeRef(&th.Tactic)
			case "technique":
				ok = kv.v.techniques(&th.Technique)
			default:
				ok = !foldsTo(kv.k, threatKeys)
			}
			if !ok {
				return false
			}
		}
	}
	*dst = out
	return true
}

// techniques decodes the [[rule.threat.technique]] tables.
func (v tval) techniques(dst *[]Technique) bool {
	if v.kind != kAOT {
		return false
	}
	out := make([]Technique, len(*v.aot))
	for i, t := range *v.aot {
		te := &out[i]
		for _, kv := range t.kv {
			var ok bool
			switch kv.k {
			case "id":
				ok = kv.v.str(&te.ID)
			case "name":
				ok = kv.v.str(&te.Name)
			case "reference":
				ok = kv.v.str(&te.Reference)
			case "subtechnique":
				ok = kv.v.kind == kAOT
				if ok {
					te.Subtechnique = make([]ThreatRef, len(*kv.v.aot))
					for j, st := range *kv.v.aot {
						ok = ok && st.decodeRef(&te.Subtechnique[j])
					}
				}
			default:
				ok = !foldsTo(kv.k, techniqueKeys)
			}
			if !ok {
				return false
			}
		}
	}
	*dst = out
	return true
}

// decodeRef decodes a tactic or subtechnique table.
func (t *ttable) decodeRef(ref *ThreatRef) bool {
	for _, kv := range t.kv {
		var ok bool
		switch kv.k {
		case "id":
			ok = kv.v.str(&ref.ID)
		case "name":
			ok = kv.v.str(&ref.Name)
		case "reference":
			ok = kv.v.str(&ref.Reference)
		default:
			ok = !foldsTo(kv.k, threatRefKeys)
		}
		if !ok {
			return false
		}
	}
	return true
}
