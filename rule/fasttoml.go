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
// must then decode it the ordinary way. sc, when not nil, is the parse tree's memory from
// the previous call on the same goroutine.
func decodeRuleFast(data string, sc *tomlScratch) (r *Rule, ok bool) {
	if !plainText(data) {
		return nil, false
	}
	if sc == nil {
		sc = &tomlScratch{}
	}
	p := tomlParser{s: data, kvs: sc.kvs[:0], tvals: sc.tvals[:0], tabs: sc.tabs[:0], stack: sc.stack[:0]}
	defer p.release(sc)
	p.root = p.table()
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
	var md tomlMetadata
	if v, found := p.root.get("metadata"); found && v.kind == kTable {
		str := func(k string) string {
			if x, ok := v.tab.get(k); ok && x.kind == kString {
				return x.s
			}
			return ""
		}
		md = tomlMetadata{creationDate: str("creation_date"), updatedDate: str("updated_date"), maturity: str("maturity")}
	}
	if md.apply(r) != nil {
		return nil, false // the full decoder reports it
	}
	return r, true
}

// plainText reports whether data is valid UTF-8 without the control characters TOML forbids
// everywhere (all but tab and line feed; carriage returns are left to the full decoder).
func plainText(data string) bool {
	for i := 0; i < len(data); i++ {
		if forbidden[data[i]] {
			return false
		}
	}
	return utf8.ValidString(data)
}

// forbidden marks the bytes plainText refuses.
var forbidden = [256]bool{
	0x00: true, 0x01: true, 0x02: true, 0x03: true, 0x04: true, 0x05: true, 0x06: true, 0x07: true,
	0x08: true, 0x0b: true, 0x0c: true, 0x0d: true, 0x0e: true, 0x0f: true, 0x10: true, 0x11: true,
	0x12: true, 0x13: true, 0x14: true, 0x15: true, 0x16: true, 0x17: true, 0x18: true, 0x19: true,
	0x1a: true, 0x1b: true, 0x1c: true, 0x1d: true, 0x1e: true, 0x1f: true, 0x7f: true,
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

// tval is one parsed TOML value; which field is set depends on kind. It is kept small
// (pointers for the composite kinds) since a file has hundreds of them.
type tval struct {
	kind tkind
	n    int64   // kInt; 1 or 0 for kBool
	s    string  // kString
	arr  []tval  // kArray
	tab  *ttable // kTable; for kAOT, the holder of the tables in its elems
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
	elems   []*ttable // the tables of an array of tables (in its holder only)
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

// tomlScratch is the memory of the fast path's parse tree, kept from one file to the next
// by one goroutine: nothing of a decoded Rule points into the tree (strings point into the
// file's text, slices and maps are copies), so the tree is dead once the rule is decoded
// and a Load allocates it a few times instead of once per file.
type tomlScratch struct {
	kvs   []tkv
	tvals []tval
	tabs  []ttable
	stack []tval
}

// tomlParser parses the TOML subset; every method returns false on anything it does not
// handle.
type tomlParser struct {
	s    string
	i    int
	root *ttable
	cur  *ttable // the table key/value lines go to

	// Tables, their keys and arrays' elements are carved from these blocks. A full block is
	// replaced by a larger one, never grown in place, so what was carved stays put.
	kvs   []tkv
	tvals []tval
	tabs  []ttable
	stack []tval // the elements of the arrays being read
}

// release clears the parts of the current blocks this parse used (so that they hold on to
// nothing) and keeps the blocks, the largest so far, for the next file.
func (p *tomlParser) release(sc *tomlScratch) {
	clear(p.kvs)
	clear(p.tvals)
	clear(p.tabs)
	sc.kvs, sc.tvals, sc.tabs, sc.stack = p.kvs[:0], p.tvals[:0], p.tabs[:0], p.stack[:0]
}

// table returns a new empty table from the parser's block.
func (p *tomlParser) table() *ttable {
	if len(p.tabs) == cap(p.tabs) {
		p.tabs = make([]ttable, 0, max(32, 2*cap(p.tabs)))
	}
	p.tabs = p.tabs[:len(p.tabs)+1]
	return &p.tabs[len(p.tabs)-1]
}

// add adds a key to a table (the caller has checked it is new). A table's first key gives
// it room for 4 keys from the parser's block ([rule], with 20 to 30, gets 32 in header).
func (p *tomlParser) add(t *ttable, k string, v tval) {
	if t.kv == nil {
		t.kv = p.keys(4)
	}
	t.kv = append(t.kv, tkv{k, v})
}

// keys returns an empty slice with room for n keys from the parser's block.
func (p *tomlParser) keys(n int) []tkv {
	if len(p.kvs)+n > cap(p.kvs) {
		p.kvs = make([]tkv, 0, max(128, n, 2*cap(p.kvs)))
	}
	kv := p.kvs[len(p.kvs) : len(p.kvs) : len(p.kvs)+n]
	p.kvs = p.kvs[:len(p.kvs)+n]
	return kv
}

// vals returns a slice of n values from the parser's block.
func (p *tomlParser) vals(n int) []tval {
	if n == 0 {
		return []tval{}
	}
	if len(p.tvals)+n > cap(p.tvals) {
		p.tvals = make([]tval, 0, max(64, n, 2*cap(p.tvals)))
	}
	v := p.tvals[len(p.tvals) : len(p.tvals)+n : len(p.tvals)+n]
	p.tvals = p.tvals[:len(p.tvals)+n]
	return v
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
			nt := p.table()
			p.add(t, k, tval{kind: kTable, tab: nt})
			t = nt
		case v.kind == kTable && !v.tab.inline:
			t = v.tab
		case v.kind == kAOT:
			t = v.tab.elems[len(v.tab.elems)-1]
		default:
			return false
		}
	}
	last := path[len(path)-1]
	v, found := t.get(last)
	nt := p.table()
	nt.defined = true
	switch {
	case array && !found:
		holder := p.table()
		holder.elems = []*ttable{nt}
		p.add(t, last, tval{kind: kAOT, tab: holder})
	case array && v.kind == kAOT:
		v.tab.elems = append(v.tab.elems, nt)
	case !array && !found:
		p.add(t, last, tval{kind: kTable, tab: nt})
	case !array && v.kind == kTable && !v.tab.defined:
		v.tab.defined = true
		nt = v.tab
	default: // a table defined twice, or a key and a table of the same name
		return false
	}
	if len(path) == 1 && last == "rule" && nt.kv == nil {
		nt.kv = p.keys(32)
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
	p.add(p.cur, k, v)
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
		return tval{kind: kBool, n: 1}, p.delimited()
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
	base := len(p.stack) // the elements are gathered on p.stack (arrays nest), then copied
	done := func() tval {
		arr := p.vals(len(p.stack) - base)
		copy(arr, p.stack[base:])
		clear(p.stack[base:])
		p.stack = p.stack[:base]
		return tval{kind: kArray, arr: arr}
	}
	for {
		p.skipBlank()
		if p.peek() == ']' {
			p.i++
			return done(), true
		}
		v, ok := p.value()
		if !ok {
			return tval{}, false
		}
		p.stack = append(p.stack, v)
		p.skipBlank()
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return done(), true
		default:
			return tval{}, false
		}
	}
}

// inlineTable reads { key = value, ... } written on one line, without a trailing comma.
func (p *tomlParser) inlineTable() (tval, bool) {
	p.i++
	t := p.table()
	t.defined, t.inline = true, true
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
		p.add(t, k, v)
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
	from := p.i            // the start of the text not yet in b
	var b *strings.Builder // set at the first escape
	for {
		j := strings.IndexAny(p.s[p.i:], "\"\\\n")
		if j < 0 {
			return "", false
		}
		p.i += j
		switch p.s[p.i] {
		case '"':
			s := p.s[from:p.i]
			p.i++
			if b != nil {
				b.WriteString(s)
				s = b.String()
			}
			return s, true
		case '\n':
			return "", false
		default: // a backslash
			if b == nil {
				b = &strings.Builder{}
			}
			b.WriteString(p.s[from:p.i])
			if !p.escape(b, false) {
				return "", false
			}
			from = p.i
		}
	}
}

// multiBasic reads a """multi-line basic string""" with its escapes.
func (p *tomlParser) multiBasic() (string, bool) {
	p.i += 3
	if p.peek() == '\n' {
		p.i++
	}
	from := p.i            // the start of the text not yet in b
	var b *strings.Builder // set at the first escape
	for {
		j := strings.IndexAny(p.s[p.i:], "\"\\")
		if j < 0 {
			return "", false
		}
		p.i += j
		if p.s[p.i] == '\\' {
			if b == nil {
				b = &strings.Builder{}
			}
			b.WriteString(p.s[from:p.i])
			if !p.escape(b, true) {
				return "", false
			}
			from = p.i
			continue
		}
		n := quoteRun(p.s[p.i:], '"')
		if n < 3 {
			p.i += n
			continue
		}
		if n > 5 {
			return "", false
		}
		s := p.s[from : p.i+n-3]
		p.i += n
		if b != nil {
			b.WriteString(s)
			s = b.String()
		}
		return s, true
	}
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
		"setup", "version", "timeline_id", "timeline_title", "investigation_fields", "related_integrations",
		"required_fields", "filters", "exceptions_list", "alert_suppression", "source"}
	investigationKeys = []string{"field_names"}
	threatKeys        = []string{"framework", "tactic", "technique"}
	techniqueKeys     = []string{"id", "name", "reference", "subtechnique"}
	threatRefKeys     = []string{"id", "name", "reference"}
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
			r.Enabled = v.n != 0
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
		case "timeline_id":
			ok = v.str(&r.TimelineID)
		case "timeline_title":
			ok = v.str(&r.TimelineTitle)
		case "investigation_fields":
			ok = v.kind == kTable && v.tab.decodeInvestigation(&r.InvestigationFields)
		case "related_integrations", "required_fields":
			ok = false // not in detection-rules files: left to the full decoder
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
		out := make([]any, len(v.tab.elems))
		for i, t := range v.tab.elems {
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
		return v.n != 0
	case kArray:
		out := make([]any, len(v.arr))
		for i, e := range v.arr {
			out[i] = e.generic()
		}
		return out
	case kTable:
		return v.tab.generic()
	default: // kAOT
		out := make([]map[string]any, len(v.tab.elems))
		for i, t := range v.tab.elems {
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
	out := make([]Threat, len(v.tab.elems))
	for i, t := range v.tab.elems {
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
	out := make([]Technique, len(v.tab.elems))
	for i, t := range v.tab.elems {
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
					te.Subtechnique = make([]ThreatRef, len(kv.v.tab.elems))
					for j, st := range kv.v.tab.elems {
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

// decodeInvestigation decodes the [rule.investigation_fields] table.
func (t *ttable) decodeInvestigation(dst **InvestigationFields) bool {
	f := &InvestigationFields{}
	for _, kv := range t.kv {
		var ok bool
		switch kv.k {
		case "field_names":
			ok = kv.v.strs(&f.FieldNames)
		default:
			ok = !foldsTo(kv.k, investigationKeys)
		}
		if !ok {
			return false
		}
	}
	*dst = f
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
