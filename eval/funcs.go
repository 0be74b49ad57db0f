package eval

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tripline/tripline/eql"
)

// canonicalFunc returns the camelCase name of an EQL function, or "" if there is no
// such function. Elasticsearch's function registry resolves names case-insensitively.
func canonicalFunc(name string) string {
	f, _ := eql.LookupFunction(name)
	return f.Name
}

var errRuntime = errors.New("runtime error")

// call compiles a function call as a script expression.
func (c *compiler) call(n *eql.Call) (*sx, error) {
	spec, ok := eql.LookupFunction(n.Name)
	if !ok {
		return nil, errorf(n.At, "Unknown function [%s]", n.Name)
	}
	name := spec.Name
	if n.Insensitive && !spec.Insensitive {
		return nil, errorf(n.At, "Function [%s] does not support case-insensitive matching (~)", name)
	}
	if len(n.Args) < spec.MinArgs || spec.MaxArgs >= 0 && len(n.Args) > spec.MaxArgs {
		return nil, errorf(n.At, "function [%s] takes %s, found %d", name, arity(spec), len(n.Args))
	}
	xs := make([]*sx, len(n.Args))
	for i, a := range n.Args {
		x, err := c.value(a)
		if err != nil {
			return nil, err
		}
		xs[i] = x
	}
	ci := n.Insensitive
	need := func(i int, want stype, wantName string) error {
		if !compatible(xs[i].st, want) {
			return errorf(n.Args[i].Pos(), "%s argument of [%s] must be [%s], found value [%s] type [%s]",
				ordinal(i), exprName(n), wantName, exprName(n.Args[i]), xs[i].st)
		}
		return nil
	}
	needAll := func(want stype, wantName string) error {
		for i := range xs {
			if err := need(i, want, wantName); err != nil {
				return err
			}
		}
		return nil
	}
	switch name {
	case "add", "subtract", "multiply", "divide", "modulo":
		if err := needAll(stNumber, "numeric"); err != nil {
			return nil, err
		}
		op := map[string]eql.BinaryOp{"add": eql.OpAdd, "subtract": eql.OpSub, "multiply": eql.OpMul, "divide": eql.OpDiv, "modulo": eql.OpMod}[name]
		return c.fold2(n.At, xs[0], xs[1], stNumber, func(a, b value) (value, error) { return arith(op, a, b) })
	case "between":
		if err := needAll3(need, stString, "string"); err != nil {
			return nil, err
		}
		greedy := false
		if len(xs) == 4 {
			if xs[3].fn != nil || (xs[3].c.k != kBool && xs[3].c.k != kNull) {
				return nil, errorf(n.Args[3].Pos(), "fourth argument of [%s] must be a constant boolean", exprName(n))
			}
			greedy = xs[3].c.b
		}
		return c.fold3(n.At, xs[:3], stString, func(a, l, r value) (value, error) {
			if a.k != kString || l.k != kString || r.k != kString { // null, or a dynamic non-string value
				return nullValue, nil
			}
			s, ok := between(a.s, l.s, r.s, greedy, ci)
			if !ok {
				return nullValue, errRuntime
			}
			return strValue(s), nil
		})
	case "cidrMatch":
		if !compatible(xs[0].st, stIP) {
			return nil, errorf(n.Args[0].Pos(), "first argument of [%s] must be [ip], found value [%s] type [%s]", exprName(n), exprName(n.Args[0]), xs[0].st)
		}
		var ks []string
		for i, x := range xs[1:] {
			if x.fn != nil {
				return nil, errorf(n.Args[i+1].Pos(), "argument of [%s] must be a constant, received [%s]", exprName(n), exprName(n.Args[i+1]))
			}
			if x.c.k == kNull {
				return constX(nullValue), nil // a null block gives null
			}
			if x.c.k != kString {
				return nil, errorf(n.Args[i+1].Pos(), "%s argument of [%s] must be [string], found [%s]", ordinal(i+1), exprName(n), x.c.String())
			}
			ks = append(ks, x.c.s)
		}
		ps, err := parseCIDRs(ks, n.Args[1:])
		if err != nil {
			return nil, err
		}
		return c.fold1(n.At, xs[0], stBool, func(a value) (value, error) {
			if a.k == kNull {
				return nullValue, nil
			}
			ip, ok := ipOf(a)
			if !ok {
				return nullValue, errRuntime
			}
			return boolValue(inPrefixes(ip, ps)), nil
		})
	case "concat":
		return c.concatX(n.At, xs)
	case "endsWith", "startsWith", "stringContains":
		if err := needAll(stString, "string"); err != nil {
			return nil, err
		}
		return c.fold2(n.At, xs[0], xs[1], stBool, func(a, b value) (value, error) {
			if a.k != kString || b.k != kString {
				return nullValue, nil
			}
			s, sub := a.s, b.s
			if ci {
				s, sub = lower(s), lower(sub)
			}
			switch name {
			case "endsWith":
				return boolValue(strings.HasSuffix(s, sub)), nil
			case "startsWith":
				return boolValue(strings.HasPrefix(s, sub)), nil
			}
			// StringUtils.stringContains: false when either string is empty.
			return boolValue(s != "" && sub != "" && strings.Contains(s, sub)), nil
		})
	case "indexOf":
		if err := need(0, stString, "string"); err != nil {
			return nil, err
		}
		if err := need(1, stString, "string"); err != nil {
			return nil, err
		}
		if len(xs) == 3 {
			if err := need(2, stNumber, "numeric"); err != nil {
				return nil, err
			}
		}
		return c.fold3(n.At, xs, stNumber, func(a, b, from value) (value, error) {
			if a.k != kString || b.k != kString {
				return nullValue, nil
			}
			start := int64(0)
			if from.k != kNull {
				start = int64(int32(from.float())) // Number.intValue()
			}
			s, sub := a.s, b.s
			if ci {
				s, sub = lower(s), lower(sub)
			}
			i := javaIndexOf(s, sub, start)
			if i < 0 {
				return nullValue, nil
			}
			return intValue(i), nil
		})
	case "length":
		if err := need(0, stString, "string"); err != nil {
			return nil, err
		}
		return c.fold1(n.At, xs[0], stNumber, func(a value) (value, error) {
			if a.k != kString {
				return nullValue, nil
			}
			return intValue(int64(utf16Len(a.s))), nil
		})
	case "number":
		if err := need(0, stString, "string"); err != nil {
			return nil, err
		}
		if len(xs) == 2 {
			if err := need(1, stNumber, "integer"); err != nil {
				return nil, err
			}
		} else {
			xs = append(xs, constX(nullValue))
		}
		return c.fold2(n.At, xs[0], xs[1], stNumber, toNumber)
	case "string":
		return c.fold1(n.At, xs[0], stString, func(a value) (value, error) {
			if a.k == kNull || a.k == kString {
				return a, nil
			}
			return strValue(a.String()), nil
		})
	case "substring":
		if err := need(0, stString, "string"); err != nil {
			return nil, err
		}
		for i := 1; i < len(xs); i++ {
			if err := need(i, stNumber, "integer"); err != nil {
				return nil, err
			}
		}
		return c.fold3(n.At, xs, stString, func(a, start, end value) (value, error) {
			if a.k != kString {
				return nullValue, nil
			}
			return strValue(substring(a.s, start, end)), nil
		})
	}
	return nil, errorf(n.At, "Unknown function [%s]", n.Name)
}

func needAll3(need func(int, stype, string) error, want stype, name string) error {
	for i := 0; i < 3; i++ {
		if err := need(i, want, name); err != nil {
			return err
		}
	}
	return nil
}

func arity(f eql.FuncInfo) string {
	switch {
	case f.MaxArgs < 0:
		return strconv.Itoa(f.MinArgs) + " or more arguments"
	case f.MinArgs == f.MaxArgs:
		return strconv.Itoa(f.MinArgs) + " arguments"
	}
	return strconv.Itoa(f.MinArgs) + " to " + strconv.Itoa(f.MaxArgs) + " arguments"
}

func ordinal(i int) string {
	return [...]string{"first", "second", "third", "fourth", "fifth"}[min(i, 4)]
}

// fold3 builds a node of up to three operands (missing ones are null), folding it
// when all operands are constant. Operands are passed by value so that evaluating
// the node allocates nothing.
func (c *compiler) fold3(pos eql.Pos, xs []*sx, st stype, f func(a, b, c value) (value, error)) (*sx, error) {
	for len(xs) < 3 {
		xs = append(xs, constX(nullValue))
	}
	x, y, z := xs[0], xs[1], xs[2]
	if x.fn == nil && y.fn == nil && z.fn == nil {
		r, err := f(x.c, y.c, z.c)
		if err != nil {
			return nil, errorf(pos, "%v", err)
		}
		return &sx{c: r, st: st}, nil
	}
	return &sx{st: st, fn: func(ctx *sctx) value {
		r, err := f(x.eval(ctx), y.eval(ctx), z.eval(ctx))
		if err != nil {
			return nullValue
		}
		return r
	}}, nil
}

// concatX builds concat(xs...): null if any argument is null.
func (c *compiler) concatX(pos eql.Pos, xs []*sx) (*sx, error) {
	f := func(ctx *sctx) value {
		var b strings.Builder
		for _, x := range xs {
			a := x.eval(ctx)
			if a.k == kNull {
				return nullValue
			}
			b.WriteString(a.String())
		}
		return strValue(b.String())
	}
	for _, x := range xs {
		if x.fn != nil {
			return &sx{st: stString, fn: f}, nil
		}
	}
	return &sx{c: f(nil), st: stString}, nil
}

// between returns the text after the first left up to the next right (or the last
// right when greedy), as EQL's StringUtils.between: the input unchanged when it or a
// delimiter is empty, "" when a delimiter is not found. ok is false when Java would
// throw (greedy, and the last right begins before the end of left).
func between(s, left, right string, greedy, insensitive bool) (string, bool) {
	if s == "" || left == "" || right == "" {
		return s, true
	}
	m := s
	if insensitive {
		m, left, right = lower(s), lower(left), lower(right)
		if len(m) != len(s) {
			return "", false // lower-casing changed the length: indexes would not line up
		}
	}
	i := strings.Index(m, left)
	if i < 0 {
		return "", true
	}
	start := i + len(left)
	var end int
	if greedy {
		end = strings.LastIndex(m, right)
	} else {
		end = strings.Index(m[start:], right)
		if end >= 0 {
			end += start
		}
	}
	if end < 0 {
		return "", true
	}
	if end < start {
		return "", false
	}
	return s[start:end], true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// utf16Len is Java's String.length(): UTF-16 code units.
func utf16Len(s string) int {
	if isASCII(s) {
		return len(s)
	}
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// javaIndexOf is Java's String.indexOf(sub, from) in UTF-16 code units.
func javaIndexOf(s, sub string, from int64) int64 {
	if isASCII(s) && isASCII(sub) {
		n := int64(len(s))
		from = max(0, min(from, n))
		i := strings.Index(s[from:], sub)
		if i < 0 {
			return -1
		}
		return from + int64(i)
	}
	a, b := utf16.Encode([]rune(s)), utf16.Encode([]rune(sub))
	n := int64(len(a))
	from = max(0, min(from, n))
	for i := from; i+int64(len(b)) <= n; i++ {
		ok := true
		for j := range b {
			if a[i+int64(j)] != b[j] {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// substring is EQL's substring: Python slice semantics on UTF-16 code units.
func substring(s string, startV, endV value) string {
	ascii := isASCII(s)
	var u []uint16
	n := int64(len(s))
	if !ascii {
		u = utf16.Encode([]rune(s))
		n = int64(len(u))
	}
	start := int64(0)
	if startV.isNumber() {
		start = int64(startV.float())
	}
	end := n
	if endV.isNumber() {
		end = int64(endV.float())
	}
	clamp := func(i int64) int64 {
		if i < 0 {
			i += n
		}
		return max(0, min(i, n))
	}
	start, end = clamp(start), clamp(end)
	if start >= end {
		return ""
	}
	if ascii {
		return s[start:end]
	}
	return string(utf16.Decode(u[start:end]))
}

// toNumber is EQL's number(s, base): base 10 (or absent and no 0x prefix) parses an
// integer or a decimal; base 16 is chosen for a 0x prefix when the base is absent;
// other bases parse 64-bit integers. Unparsable input is an error.
func toNumber(a, b value) (value, error) {
	if a.k != kString {
		return nullValue, nil
	}
	s := strings.TrimSpace(a.s)
	base := int64(10)
	if b.k == kNull {
		if strings.HasPrefix(s, "0x") {
			base = 16
		}
	} else {
		base = int64(b.float())
	}
	if base == 16 {
		// The 0x prefix is stripped for base 16, given or implied by the prefix
		// (conformance: number("0x32", 16) == 50).
		s = strings.TrimPrefix(s, "0x")
	}
	fail := func() (value, error) {
		return nullValue, errors.New("Unable to convert [" + a.s + "] to number of base [" + strconv.FormatInt(base, 10) + "]")
	}
	if base < 2 || base > 36 {
		return fail()
	}
	if base == 10 {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return longValue(n), nil
		}
		if !isDecimal(s) {
			return fail()
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !math.IsInf(f, 0) {
			return fail()
		}
		return dblValue(f), nil
	}
	n, err := strconv.ParseInt(s, int(base), 64)
	if err != nil || strings.Contains(s, "_") {
		return fail()
	}
	return longValue(n), nil
}

// isDecimal accepts what Java's Double.parseDouble accepts for plain decimals:
// [+-]digits[.digits][(e|E)[+-]digits], at least one digit.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		e := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, e = i+1, e+1
		}
		if e == 0 {
			return false
		}
	}
	return i == len(s)
}

func decodeRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }
