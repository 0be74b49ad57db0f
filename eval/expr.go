package eval

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/tripline/tripline/eql"
	"github.com/tripline/tripline/event"
	"github.com/tripline/tripline/mapping"
)

// stype is the static type of an expression, as far as the compiler knows it.
type stype uint8

const (
	stAny stype = iota // unknown until run time (a dynamically mapped field)
	stNull
	stBool
	stNumber
	stString
	stDate
	stIP
	stVersion
)

func (s stype) String() string {
	return [...]string{"any", "null", "boolean", "number", "keyword", "date", "ip", "version"}[s]
}

func (v value) staticType() stype {
	switch v.k {
	case kNull:
		return stNull
	case kBool:
		return stBool
	case kInt, kLong, kDouble:
		return stNumber
	case kString:
		return stString
	case kDate:
		return stDate
	case kIP:
		return stIP
	}
	return stVersion
}

// sx is a compiled script (value) expression: a constant when fn is nil.
type sx struct {
	fn func(*sctx) value
	c  value
	st stype
}

func constX(v value) *sx { return &sx{c: v, st: v.staticType()} }

// Runtime errors of script evaluation. At run time they make the sub-expression null;
// on constants they are compile errors.
var (
	errOverflow  = errors.New("integer overflow")
	errDivByZero = errors.New("division by zero")
)

// eval evaluates x in ctx.
func (x *sx) eval(ctx *sctx) value {
	if x.fn == nil {
		return x.c
	}
	return x.fn(ctx)
}

// compatible reports whether a value of static type got may be used where want is
// expected.
func compatible(got, want stype) bool {
	return got == want || got == stAny || got == stNull || want == stAny
}

func literal(n *eql.Literal) value {
	switch n.Kind {
	case eql.LitBool:
		return boolValue(n.Bool)
	case eql.LitInt:
		return intValue(n.Int)
	case eql.LitLong:
		return longValue(n.Int)
	case eql.LitDouble:
		return dblValue(n.Double)
	case eql.LitString:
		return strValue(n.Str)
	}
	return nullValue
}

// value compiles e as a script expression.
func (c *compiler) value(e eql.Expr) (*sx, error) {
	switch n := e.(type) {
	case *eql.Literal:
		return constX(literal(n)), nil
	case *eql.Paren:
		return c.value(n.X)
	case *eql.Field:
		f, isNull, err := c.resolve(n)
		if err != nil {
			return nil, err
		}
		if isNull {
			return constX(nullValue), nil
		}
		if f.typ == ftText || f.typ == ftOther {
			return nil, errorf(n.At, "field [%s] of type [%s] cannot be used in a query", f.name, f.typ)
		}
		r := len(c.refs)
		c.refs = append(c.refs, f)
		return &sx{fn: func(ctx *sctx) value { return ctx.cur[r] }, st: f.typ.static()}, nil
	case *eql.Not:
		x, err := c.value(n.X)
		if err != nil {
			return nil, err
		}
		if !compatible(x.st, stBool) {
			return nil, errorf(n.X.Pos(), "argument of [not] must be [boolean], found [%s]", x.st)
		}
		return c.fold1(n.At, x, stBool, func(a value) (value, error) {
			if a.k != kBool {
				return nullValue, nil
			}
			return boolValue(!a.b), nil
		})
	case *eql.Unary:
		x, err := c.value(n.X)
		if err != nil {
			return nil, err
		}
		if !compatible(x.st, stNumber) {
			return nil, errorf(n.X.Pos(), "argument of [-] must be [numeric], found [%s]", x.st)
		}
		if n.Op == eql.UnaryPlus {
			return x, nil
		}
		return c.fold1(n.At, x, stNumber, negate)
	case *eql.Binary:
		return c.binary(n)
	case *eql.Match:
		return c.matchValue(n, false)
	case sneq:
		return c.matchValue(n.Match, true)
	case *eql.In:
		return c.inValue(n)
	case *eql.Call:
		return c.call(n)
	}
	return nil, errorf(e.Pos(), "unsupported expression")
}

// fold1 builds a one-operand node, folding it when the operand is constant.
func (c *compiler) fold1(pos eql.Pos, x *sx, st stype, f func(value) (value, error)) (*sx, error) {
	if x.fn == nil {
		v, err := f(x.c)
		if err != nil {
			return nil, errorf(pos, "%v", err)
		}
		return &sx{c: v, st: st}, nil
	}
	fx := x.fn
	return &sx{st: st, fn: func(ctx *sctx) value {
		v, err := f(fx(ctx))
		if err != nil {
			return nullValue
		}
		return v
	}}, nil
}

// fold2 builds a two-operand node, folding it when both operands are constant.
func (c *compiler) fold2(pos eql.Pos, x, y *sx, st stype, f func(a, b value) (value, error)) (*sx, error) {
	if x.fn == nil && y.fn == nil {
		v, err := f(x.c, y.c)
		if err != nil {
			return nil, errorf(pos, "%v", err)
		}
		return &sx{c: v, st: st}, nil
	}
	return &sx{st: st, fn: func(ctx *sctx) value {
		v, err := f(x.eval(ctx), y.eval(ctx))
		if err != nil {
			return nullValue
		}
		return v
	}}, nil
}

func (c *compiler) binary(n *eql.Binary) (*sx, error) {
	x, err := c.value(n.X)
	if err != nil {
		return nil, err
	}
	y, err := c.value(n.Y)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case eql.OpAnd, eql.OpOr:
		for _, o := range []*sx{x, y} {
			if !compatible(o.st, stBool) {
				return nil, errorf(n.At, "arguments of [%s] must be [boolean], found [%s]", opName(n.Op), o.st)
			}
		}
		isAnd := n.Op == eql.OpAnd
		return c.fold2(n.At, x, y, stBool, func(a, b value) (value, error) { return logic3(isAnd, a, b), nil })
	case eql.OpEq, eql.OpNeq, eql.OpLt, eql.OpLte, eql.OpGt, eql.OpGte:
		if x.fn != nil && y.fn != nil {
			if k, isConst, err := c.constant(n.Y); err == nil && isConst { // ?y == null here
				y = constX(k)
			}
		}
		if x.fn != nil && y.fn != nil {
			return nil, errorf(n.Y.Pos(), "Comparisons against fields are not (currently) supported; offender [%s] in [%s]", exprName(n.Y), opName(n.Op))
		}
		op := n.Op
		if (op == eql.OpEq || op == eql.OpNeq) && (x.st == stNull || y.st == stNull) {
			// x == null is IsNull(x), x != null is IsNotNull(x): never null themselves.
			other := x
			if x.st == stNull {
				other = y
			}
			want := op == eql.OpEq
			return c.fold1(n.At, other, stBool, func(a value) (value, error) { return boolValue((a.k == kNull) == want), nil })
		}
		if err := checkComparable(x, y, n); err != nil {
			return nil, err
		}
		return c.fold2(n.At, x, y, stBool, func(a, b value) (value, error) { return compare3(op, a, b), nil })
	default:
		for _, o := range []*sx{x, y} {
			if !compatible(o.st, stNumber) {
				return nil, errorf(n.At, "arguments of [%s] must be [numeric], found [%s]", opName(n.Op), o.st)
			}
		}
		op := n.Op
		return c.fold2(n.OpPos, x, y, stNumber, func(a, b value) (value, error) { return arith(op, a, b) })
	}
}

// checkComparable reports the type errors of comparing x and y.
func checkComparable(x, y *sx, n *eql.Binary) error {
	a, b := x.st, y.st
	if a == stAny || b == stAny || a == stNull || b == stNull || a == b {
		return nil
	}
	// A date compares with a string or a number constant (converted).
	if a == stDate && (b == stString || b == stNumber) || b == stDate && (a == stString || a == stNumber) {
		return nil
	}
	// ip and version compare with string constants.
	if (a == stIP || a == stVersion) && b == stString || (b == stIP || b == stVersion) && a == stString {
		return nil
	}
	return errorf(n.At, "first argument of [%s] is [%s] so second argument must also be [%s] but was [%s]", opName(n.Op), a, a, b)
}

// coerceFor converts a constant to the runtime domain of a typed operand (a string
// compared with a date, an ip or a version).
func coerceFor(a, b value) (value, value) {
	if a.k == b.k {
		return a, b
	}
	conv := func(to kind, s string) (value, bool) {
		switch to {
		case kDate:
			t, ok := mapping.ParseDate(event.Value{Kind: event.KindString, Str: s}, "")
			return dateValue(t), ok
		case kIP:
			ip, ok := ipOf(strValue(s))
			return value{k: kIP, ip: ip}, ok
		case kVersion:
			return value{k: kVersion, s: s}, true
		}
		return nullValue, false
	}
	if b.k == kString {
		if v, ok := conv(a.k, b.s); ok {
			return a, v
		}
	}
	if a.k == kString {
		if v, ok := conv(b.k, a.s); ok {
			return v, b
		}
	}
	if a.k == kDate && b.isInteger() { // epoch milliseconds
		return a, value{k: kDate, i: b.i}
	}
	if b.k == kDate && a.isInteger() {
		return value{k: kDate, i: a.i}, b
	}
	return a, b
}

// compare3 is a comparison in a script: null when an operand is null or the values
// cannot be compared.
func compare3(op eql.BinaryOp, a, b value) value {
	if a.k == kNull || b.k == kNull {
		return nullValue
	}
	a, b = coerceFor(a, b)
	if op == eql.OpEq || op == eql.OpNeq {
		eq, ok := equalValues(a, b)
		if !ok {
			return nullValue
		}
		return boolValue(eq == (op == eql.OpEq))
	}
	cmp, ok := compareValues(a, b)
	if !ok {
		return nullValue
	}
	switch op {
	case eql.OpLt:
		return boolValue(cmp < 0)
	case eql.OpLte:
		return boolValue(cmp <= 0)
	case eql.OpGt:
		return boolValue(cmp > 0)
	}
	return boolValue(cmp >= 0)
}

// logic3 is three-valued and/or.
func logic3(isAnd bool, a, b value) value {
	an, bn := a.k != kBool, b.k != kBool
	if isAnd {
		if !an && !a.b || !bn && !b.b {
			return falseValue
		}
		if an || bn {
			return nullValue
		}
		return trueValue
	}
	if !an && a.b || !bn && b.b {
		return trueValue
	}
	if an || bn {
		return nullValue
	}
	return falseValue
}

func negate(a value) (value, error) {
	switch a.k {
	case kInt:
		if a.i == math.MinInt32 {
			return nullValue, errOverflow
		}
		return intValue(-a.i), nil
	case kLong:
		if a.i == math.MinInt64 {
			return nullValue, errOverflow
		}
		return longValue(-a.i), nil
	case kDouble:
		return dblValue(-a.f), nil
	}
	return nullValue, nil
}

// arith is Java arithmetic as Elasticsearch's QL Arithmetics does it: any double
// operand gives a double; otherwise a long operand gives a long and two ints an int.
// Integer overflow (Math.addExact and friends) and integer division by zero raise an
// error; "/" truncates toward zero and "%" takes the sign of the dividend. A null
// operand gives null.
func arith(op eql.BinaryOp, a, b value) (value, error) {
	if a.k == kNull || b.k == kNull || !a.isNumber() || !b.isNumber() {
		return nullValue, nil
	}
	if a.k == kDouble || b.k == kDouble {
		x, y := a.float(), b.float()
		switch op {
		case eql.OpAdd:
			return dblValue(x + y), nil
		case eql.OpSub:
			return dblValue(x - y), nil
		case eql.OpMul:
			return dblValue(x * y), nil
		case eql.OpDiv:
			return dblValue(x / y), nil
		}
		return dblValue(math.Mod(x, y)), nil
	}
	x, y := a.i, b.i
	long := a.k == kLong || b.k == kLong
	var r int64
	switch op {
	case eql.OpAdd:
		r = x + y
		if (x > 0 && y > 0 && r < 0) || (x < 0 && y < 0 && r >= 0) {
			return nullValue, errOverflow
		}
	case eql.OpSub:
		r = x - y
		if (x >= 0 && y < 0 && r < 0) || (x < 0 && y > 0 && r >= 0) {
			return nullValue, errOverflow
		}
	case eql.OpMul:
		r = x * y
		if x != 0 && (r/x != y || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64)) {
			return nullValue, errOverflow
		}
	case eql.OpDiv:
		if y == 0 {
			return nullValue, errDivByZero
		}
		if !long && x == math.MinInt32 && y == -1 {
			return intValue(math.MinInt32), nil // Java int division wraps silently
		}
		r = x / y // Go, like Java, truncates toward zero (and MinInt64 / -1 wraps)
	case eql.OpMod:
		if y == 0 {
			return nullValue, errDivByZero
		}
		if y == -1 {
			r = 0
		} else {
			r = x % y
		}
	}
	if long {
		return longValue(r), nil
	}
	if r > math.MaxInt32 || r < math.MinInt32 {
		return nullValue, errOverflow
	}
	return intValue(r), nil
}

func opName(op eql.BinaryOp) string {
	return [...]string{"or", "and", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%"}[op]
}

// matchValue compiles ':', like and regex as script expressions; insensitiveNot is
// the negated insensitive equality "not x : c".
func (c *compiler) matchValue(n *eql.Match, insensitiveNot bool) (*sx, error) {
	x, err := c.value(n.X)
	if err != nil {
		return nil, err
	}
	if !compatible(x.st, stString) {
		return nil, errorf(n.X.Pos(), "%s: can only be used to compare strings, found [%s]", matchName(n.Op), x.st)
	}
	insensitive := n.Insensitive || n.Op == eql.MatchSeq
	var tests []func(string) bool // regex patterns, or the one matcher of the others
	m := newStrMatcher(insensitive)
	hasNull := false
	for _, p := range n.Patterns {
		k, isConst, err := c.constant(p)
		if err != nil {
			return nil, err
		}
		if !isConst {
			return nil, errorf(p.Pos(), "Comparisons against fields are not (currently) supported; offender [%s]", exprName(p))
		}
		if k.k == kNull {
			hasNull = true
			continue
		}
		if k.k != kString {
			return nil, errorf(p.Pos(), "%s: the pattern must be a string, found [%s]", matchName(n.Op), k.String())
		}
		if n.Op != eql.MatchRegex {
			m.addWildcard(k.s, false)
			continue
		}
		t, err := patternTest(n.Op, insensitive, k.s, p.Pos())
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
	}
	if n.Op != eql.MatchRegex {
		tests = append(tests, m.done().match)
	}
	return c.fold1(n.At, x, stBool, func(a value) (value, error) {
		if a.k != kString {
			return nullValue, nil
		}
		for _, t := range tests {
			if t(a.s) {
				return boolValue(!insensitiveNot), nil
			}
		}
		if hasNull {
			return nullValue, nil
		}
		return boolValue(insensitiveNot), nil
	})
}

// inValue compiles "x in (...)" as a script expression: null when x is null, or when
// nothing equals x and the list holds a null.
func (c *compiler) inValue(n *eql.In) (*sx, error) {
	x, err := c.value(n.X)
	if err != nil {
		return nil, err
	}
	var items []value
	hasNull := false
	for _, it := range n.List {
		k, isConst, err := c.constant(it)
		if err != nil {
			return nil, err
		}
		if !isConst {
			return nil, errorf(it.Pos(), "Comparisons against fields are not (currently) supported; offender [%s]", exprName(it))
		}
		if k.k == kNull {
			hasNull = true
			continue
		}
		items = append(items, k)
	}
	insensitive, not := n.Insensitive, n.Not
	return c.fold1(n.At, x, stBool, func(a value) (value, error) {
		if a.k == kNull {
			return nullValue, nil
		}
		found := false
		for _, k := range items {
			if insensitive && a.k == kString && k.k == kString {
				found = foldEqual(k.s, a.s, true)
			} else {
				l, r := coerceFor(a, k)
				found, _ = equalValues(l, r)
			}
			if found {
				break
			}
		}
		switch {
		case found:
			return boolValue(!not), nil
		case hasNull:
			return nullValue, nil
		}
		return boolValue(not), nil
	})
}

// exprName renders an expression for messages.
func exprName(e eql.Expr) string {
	switch n := e.(type) {
	case *eql.Field:
		if n.Optional {
			return "?" + n.Name
		}
		return n.Name
	case *eql.Literal:
		v := literal(n)
		if v.k == kString {
			return strconv.Quote(v.s)
		}
		return v.String()
	case *eql.Paren:
		return "(" + exprName(n.X) + ")"
	case *eql.Call:
		args := make([]string, len(n.Args))
		for i, a := range n.Args {
			args[i] = exprName(a)
		}
		tilde := ""
		if n.Insensitive {
			tilde = "~"
		}
		return n.Name + tilde + "(" + strings.Join(args, ", ") + ")"
	case *eql.Binary:
		return exprName(n.X) + " " + opName(n.Op) + " " + exprName(n.Y)
	case *eql.Unary:
		if n.Op == eql.UnaryMinus {
			return "-" + exprName(n.X)
		}
		return "+" + exprName(n.X)
	case *eql.Not:
		return "not " + exprName(n.X)
	}
	return "expression"
}
