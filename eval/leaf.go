package eval

import (
	"net/netip"

	"github.com/tripline/tripline/eql"
)

// queryLeaf compiles e as a leaf Elasticsearch translates into a Lucene query (a
// predicate on a bare field with constant operands). ok is false when e is not such
// a leaf; it is then evaluated as a script.
func (c *compiler) queryLeaf(e eql.Expr, neg bool) (cond, bool, error) {
	switch n := e.(type) {
	case *eql.Field:
		f, isNull, err := c.resolve(n)
		if err != nil {
			return cond{}, true, err
		}
		if isNull {
			return constCond(false), true, nil
		}
		if f.typ != ftBool && f.typ != ftDynamic {
			return cond{}, true, errorf(n.At, "Condition expression needs to be boolean, found [%s]", f.typ)
		}
		// A bare boolean field is the term query field:true.
		o, err := c.operandFor(f, trueValue, true, n.At)
		if err != nil {
			return cond{}, true, err
		}
		return termCond(f, &o).negIf(neg), true, nil
	case *eql.Binary:
		return c.comparisonLeaf(n, neg)
	case *eql.Match:
		return c.matchLeaf(n, neg)
	case *eql.In:
		return c.inLeaf(n, neg)
	case *eql.Call:
		return c.callLeaf(n, neg)
	}
	return cond{}, false, nil
}

// bareField returns the field e refers to if e is a plain (resolved) field reference.
func (c *compiler) bareField(e eql.Expr) (*fieldRef, bool, error) {
	for {
		p, ok := e.(*eql.Paren)
		if !ok {
			break
		}
		e = p.X
	}
	n, ok := e.(*eql.Field)
	if !ok {
		return nil, false, nil
	}
	f, isNull, err := c.resolve(n)
	if err != nil || isNull {
		return nil, false, err
	}
	return f, true, nil
}

// constant folds e if it has no field reference. It is called where Elasticsearch
// requires a constant: there an optional field that no mapping declares is the null
// literal, as Elasticsearch sees it when no event carried it (had one, Elasticsearch would
// reject the comparison of two fields), although elsewhere Tripline maps it dynamically.
func (c *compiler) constant(e eql.Expr) (value, bool, error) {
	saved, savedIn := c.refs, c.inConstant
	c.inConstant = true
	defer func() { c.refs, c.inConstant = saved, savedIn }()
	if hasField(c, e) {
		return nullValue, false, nil
	}
	x, err := c.value(e)
	if err != nil {
		return nullValue, false, err
	}
	if x.fn != nil {
		return nullValue, false, nil
	}
	return x.c, true, nil
}

// hasField reports whether e reads an event field (an optional field missing from the
// mapping is the null literal, not a field).
func hasField(c *compiler, e eql.Expr) bool {
	switch n := e.(type) {
	case *eql.Field:
		_, isNull, err := c.resolve(n)
		return err != nil || !isNull
	case *eql.Paren:
		return hasField(c, n.X)
	case *eql.Not:
		return hasField(c, n.X)
	case *eql.Unary:
		return hasField(c, n.X)
	case *eql.Binary:
		return hasField(c, n.X) || hasField(c, n.Y)
	case *eql.Match:
		if hasField(c, n.X) {
			return true
		}
		for _, p := range n.Patterns {
			if hasField(c, p) {
				return true
			}
		}
	case *eql.In:
		if hasField(c, n.X) {
			return true
		}
		for _, p := range n.List {
			if hasField(c, p) {
				return true
			}
		}
	case *eql.Call:
		for _, a := range n.Args {
			if hasField(c, a) {
				return true
			}
		}
	case sneq:
		return hasField(c, n.Match)
	}
	return false
}

var swapOp = map[eql.BinaryOp]eql.BinaryOp{
	eql.OpEq: eql.OpEq, eql.OpNeq: eql.OpNeq,
	eql.OpLt: eql.OpGt, eql.OpLte: eql.OpGte, eql.OpGt: eql.OpLt, eql.OpGte: eql.OpLte,
}

var flipOp = map[eql.BinaryOp]eql.BinaryOp{
	eql.OpEq: eql.OpNeq, eql.OpNeq: eql.OpEq,
	eql.OpLt: eql.OpGte, eql.OpLte: eql.OpGt, eql.OpGt: eql.OpLte, eql.OpGte: eql.OpLt,
}

func (c *compiler) comparisonLeaf(n *eql.Binary, neg bool) (cond, bool, error) {
	op := n.Op
	if _, ok := swapOp[op]; !ok {
		return cond{}, false, nil
	}
	f, ok, err := c.bareField(n.X)
	other := n.Y
	if err != nil {
		return cond{}, true, err
	}
	if !ok {
		if f, ok, err = c.bareField(n.Y); err != nil || !ok {
			return cond{}, err != nil, err
		}
		other, op = n.X, swapOp[op]
	}
	k, isConst, err := c.constant(other)
	if err != nil {
		return cond{}, true, err
	}
	if !isConst {
		return cond{}, true, errorf(other.Pos(), "Comparisons against fields are not (currently) supported; offender [%s]", exprName(other))
	}
	if k.k == kNull {
		switch op {
		case eql.OpEq: // IsNull: a must_not exists
			return complement(exists(f)). /* neg of IsNull is IsNotNull */ negIf(neg), true, nil
		case eql.OpNeq:
			return exists(f).negIf(neg), true, nil
		}
		return constCond(false), true, nil // a comparison with null is null
	}
	if neg && op != eql.OpEq && op != eql.OpNeq {
		op = flipOp[op] // a range is flipped, not wrapped in must_not
	}
	o, err := c.operandFor(f, k, op == eql.OpEq || op == eql.OpNeq, other.Pos())
	if err != nil {
		return cond{}, true, err
	}
	switch op {
	case eql.OpEq:
		return termCond(f, &o).negIf(neg), true, nil
	case eql.OpNeq:
		return termCond(f, &o).negIf(!neg), true, nil
	}
	return anyValue(f, func(v value) bool { return o.in(op, v) }, costTerm), true, nil
}

func (x cond) negIf(neg bool) cond {
	if neg {
		return complement(x)
	}
	return x
}

// termCond is the term query f == o.
func termCond(f *fieldRef, o *operand) cond {
	if o.v.k == kString && (f.typ == ftKeyword || f.typ == ftDynamic) {
		s := o.v.s
		var other func(value) bool
		if f.typ == ftDynamic {
			other = o.eq // a dynamic number, boolean or date against a string constant
		}
		return leafCond(&strLeaf{f: f, eq: s, other: other}, costTerm)
	}
	return anyValue(f, o.eq, costTerm)
}

// stringField checks that f can be used with string operators.
func stringField(f *fieldRef, pos eql.Pos, what string) error {
	if !isStringType(f.typ) {
		return errorf(pos, "%s: can only be used to compare strings; [%s] has type [%s]", what, f.name, f.typ)
	}
	return nil
}

func (c *compiler) matchLeaf(n *eql.Match, neg bool) (cond, bool, error) {
	f, ok, err := c.bareField(n.X)
	if err != nil || !ok {
		return cond{}, err != nil, err
	}
	if err := stringField(f, n.X.Pos(), matchName(n.Op)); err != nil {
		return cond{}, true, err
	}
	insensitive := n.Insensitive || n.Op == eql.MatchSeq
	var tests []func(string) bool // regex patterns
	m := newStrMatcher(insensitive)
	for _, p := range n.Patterns {
		k, isConst, err := c.constant(p)
		if err != nil {
			return cond{}, true, err
		}
		if !isConst {
			return cond{}, true, errorf(p.Pos(), "Comparisons against fields are not (currently) supported; offender [%s]", exprName(p))
		}
		if k.k != kString {
			return cond{}, true, errorf(p.Pos(), "%s: the pattern must be a string, found [%s]", matchName(n.Op), k.String())
		}
		if n.Op != eql.MatchRegex {
			m.addWildcard(k.s, false)
			continue
		}
		t, err := patternTest(n.Op, insensitive, k.s, p.Pos())
		if err != nil {
			return cond{}, true, err
		}
		tests = append(tests, t)
	}
	if n.Op != eql.MatchRegex {
		return matcherCond(f, m.done(), nil).negIf(neg), true, nil
	}
	var test func(string) bool
	if len(tests) == 1 {
		test = tests[0]
	} else {
		test = func(s string) bool {
			for _, t := range tests {
				if t(s) {
					return true
				}
			}
			return false
		}
	}
	return anyString(f, test, nil, costRegex*int32(len(tests))).negIf(neg), true, nil
}

// patternTest compiles one pattern of ':', like or regex.
func patternTest(op eql.MatchOp, insensitive bool, pat string, pos eql.Pos) (func(string) bool, error) {
	if op == eql.MatchRegex {
		re, err := compileLuceneRegex(pat, insensitive)
		if err != nil {
			return nil, errorf(pos, "%v", err)
		}
		return regexTest(re), nil
	}
	w := newWildcard(pat, insensitive, false)
	return w.match, nil
}

func matchName(op eql.MatchOp) string {
	switch op {
	case eql.MatchLike:
		return "like"
	case eql.MatchRegex:
		return "regex"
	}
	return ":"
}

func (c *compiler) inLeaf(n *eql.In, neg bool) (cond, bool, error) {
	f, ok, err := c.bareField(n.X)
	if err != nil || !ok {
		return cond{}, err != nil, err
	}
	if n.Not {
		neg = !neg
	}
	var strs []string
	var others []operand
	for _, item := range n.List {
		k, isConst, err := c.constant(item)
		if err != nil {
			return cond{}, true, err
		}
		if !isConst {
			return cond{}, true, errorf(item.Pos(), "Comparisons against fields are not (currently) supported; offender [%s]", exprName(item))
		}
		if k.k == kNull {
			continue // a terms query ignores null
		}
		o, err := c.operandFor(f, k, true, item.Pos())
		if err != nil {
			return cond{}, true, err
		}
		switch {
		case f.typ == ftKeyword:
			strs = append(strs, o.v.s)
			continue
		case f.typ == ftDynamic && o.v.k == kString:
			// Also kept in others: a dynamic number, boolean or detected date may equal it.
			strs = append(strs, o.v.s)
		case f.typ == ftDynamic:
			strs = append(strs, o.str.s) // a dynamic keyword compares with its text
		}
		others = append(others, o)
	}
	if n.Insensitive && len(others) == 0 {
		if err := stringField(f, n.X.Pos(), "in~"); err != nil {
			return cond{}, true, err
		}
	}
	var leaf cond
	switch {
	case len(strs) == 0 && len(others) == 0:
		leaf = constCond(false)
	case len(others) == 0:
		leaf = matcherCond(f, stringSetMatcher(strs, n.Insensitive), nil)
	default:
		anyOther := func(v value) bool {
			for i := range others {
				if others[i].eq(v) {
					return true
				}
			}
			return false
		}
		leaf = matcherCond(f, stringSetMatcher(strs, n.Insensitive), anyOther)
	}
	return leaf.negIf(neg), true, nil
}

// stringSetMatcher returns a membership test for a list of strings: exact or with
// Lucene's case-insensitive rule.
func stringSetMatcher(strs []string, insensitive bool) *strMatcher {
	m := newStrMatcher(insensitive)
	for _, s := range strs {
		m.addLiteral(s)
	}
	return m.done()
}

// callLeaf compiles the functions Elasticsearch translates into queries when their
// input is a bare field and their other arguments are constants: startsWith (prefix
// query), endsWith and stringContains (wildcard queries "*s" and "*s*" built without
// escaping s, so "*" and "?" in s are wildcards and "\" escapes, as in Lucene) and
// cidrMatch (a terms query on the ip field). EQL planner QueryTranslator:
// CaseInsensitiveScalarFunctions, Scalars; QL ExpressionTranslators.Scalars.
func (c *compiler) callLeaf(n *eql.Call, neg bool) (cond, bool, error) {
	name := canonicalFunc(n.Name)
	switch name {
	case "startsWith", "endsWith", "stringContains", "cidrMatch":
	default:
		return cond{}, false, nil
	}
	if len(n.Args) < 2 || (name != "cidrMatch" && len(n.Args) != 2) {
		return cond{}, false, nil // the script path reports the arity error
	}
	f, ok, err := c.bareField(n.Args[0])
	if err != nil || !ok {
		return cond{}, err != nil, err
	}
	var ks []string
	for _, a := range n.Args[1:] {
		k, isConst, err := c.constant(a)
		if err != nil {
			return cond{}, true, err
		}
		if !isConst || k.k != kString {
			return cond{}, false, nil // the script path checks and reports
		}
		ks = append(ks, k.s)
	}
	if n.Insensitive && name == "cidrMatch" {
		return cond{}, false, nil
	}
	if name == "cidrMatch" {
		if f.typ != ftIP && f.typ != ftDynamic {
			return cond{}, true, errorf(n.Args[0].Pos(), "first argument of [%s] must be [ip], found value [%s] type [%s]", exprName(n), f.name, f.typ)
		}
		prefixes, err := parseCIDRs(ks, n.Args[1:])
		if err != nil {
			return cond{}, true, err
		}
		return anyValue(f, func(v value) bool {
			a, ok := ipOf(v)
			return ok && inPrefixes(a, prefixes)
		}, costTerm+int32(len(prefixes))).negIf(neg), true, nil
	}
	if err := stringField(f, n.Args[0].Pos(), name); err != nil {
		return cond{}, true, err
	}
	k := ks[0]
	m := newStrMatcher(n.Insensitive)
	switch name {
	case "startsWith":
		m.addPrefix(k)
	case "endsWith":
		m.addWildcard("*"+k, true)
	case "stringContains":
		m.addWildcard("*"+k+"*", true)
	}
	return matcherCond(f, m.done(), nil).negIf(neg), true, nil
}

// foldHasPrefix is a case-insensitive prefix test with Lucene's rule.
func foldHasPrefix(s, prefix string) bool {
	for _, p := range prefix {
		if s == "" {
			return false
		}
		r, n := decodeRune(s)
		if !runeEq(p, r, true) {
			return false
		}
		s = s[n:]
	}
	return true
}

func ipOf(v value) (netip.Addr, bool) {
	switch v.k {
	case kIP:
		return v.ip, true
	case kString:
		a, err := netip.ParseAddr(v.s)
		return a.Unmap(), err == nil
	}
	return netip.Addr{}, false
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseCIDRs parses cidrMatch blocks: a CIDR block or a single address, IPv4 or IPv6.
func parseCIDRs(ks []string, args []eql.Expr) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for i, k := range ks {
		if p, err := netip.ParsePrefix(k); err == nil {
			if p.Addr().Is4In6() {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			ps = append(ps, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(k)
		if err != nil {
			return nil, errorf(args[i].Pos(), "cidrMatch: [%s] is not a valid IP address or CIDR block", k)
		}
		a = a.Unmap()
		ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
	}
	return ps, nil
}
