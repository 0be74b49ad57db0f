package eql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxDepth bounds the nesting of expressions so that hostile input cannot exhaust the
// stack of the parser, the printer or an evaluator.
const maxDepth = 1000

// Parse parses an EQL statement and verifies it as Elasticsearch does before running it
// (without looking at a mapping). On success, every Call.Name holds the canonical
// camelCase function name. The error is an *Error, or an ErrorList when the verifier finds
// several problems.
func Parse(src string) (*Statement, error) {
	st, err := ParseSyntax(src)
	if err != nil {
		return nil, err
	}
	if err := Verify(st); err != nil {
		return nil, err
	}
	return st, nil
}

// ParseSyntax parses an EQL statement without verifying it: function names are left as
// written and semantic restrictions (pipes, join-key counts, runs, ...) are not checked.
func ParseSyntax(src string) (*Statement, error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	var st *Statement
	if err := p.run(func() { st = p.statement() }); err != nil {
		return nil, err
	}
	return st, nil
}

// ParseExpr parses and verifies a single expression, such as the condition of an event
// query.
func ParseExpr(src string) (Expr, error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	var x Expr
	if err := p.run(func() {
		x = p.expr()
		if p.tok().Kind != tEOF {
			p.unexpected("an operator or end of expression")
		}
	}); err != nil {
		return nil, err
	}
	v := &verifier{}
	v.expr(x)
	if err := v.errs.err(); err != nil {
		return nil, err
	}
	return x, nil
}

type parser struct {
	toks  []token
	i     int
	depth int
}

// bailout carries a syntax error out of the recursive descent.
type bailout struct{ err *Error }

func newParser(src string) (*parser, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	return &parser{toks: toks}, nil
}

// run calls f, turning a bailout into an error.
func (p *parser) run(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			err = b.err
		}
	}()
	f()
	return nil
}

func (p *parser) tok() token { return p.toks[p.i] }

func (p *parser) peek(n int) token {
	if j := p.i + n; j < len(p.toks) {
		return p.toks[j]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.Kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) fail(pos Pos, format string, args ...any) {
	panic(bailout{errorf(pos, format, args...)})
}

// unexpected reports the current token as a syntax error.
func (p *parser) unexpected(expected string) {
	t := p.tok()
	msg := fmt.Sprintf("Unexpected %s, expected %s", t.describe(), expected)
	if t.Kind == tIdent {
		if _, ok := keywords[strings.ToLower(t.Text)]; ok {
			msg += fmt.Sprintf(" (keywords are lower case: write [%s])", strings.ToLower(t.Text))
		}
	} else if t.Kind.isKeyword() && strings.Contains(expected, "expression") {
		msg += fmt.Sprintf(" ([%s] is a reserved word: write `%s` for a field of that name)", t.Text, t.Text)
	}
	p.fail(t.Pos, "%s", msg)
}

func (p *parser) expect(k tokenKind, expected string) token {
	if p.tok().Kind != k {
		p.unexpected(expected)
	}
	return p.next()
}

func (p *parser) enter(pos Pos) {
	p.depth++
	if p.depth > maxDepth {
		p.fail(pos, "Query is nested too deeply (more than %d levels)", maxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

func (p *parser) statement() *Statement {
	st := &Statement{Query: p.query()}
	for p.tok().Kind == tPipe {
		st.Pipes = append(st.Pipes, p.pipe())
	}
	if p.tok().Kind != tEOF {
		switch p.tok().Kind {
		case tLBracket, tBang:
			p.unexpected("[|] or end of query (stages follow only [sequence] or [sample])")
		}
		p.unexpected("[|] or end of query")
	}
	return st
}

func (p *parser) query() Query {
	switch t := p.tok(); t.Kind {
	case tSequence:
		return p.sequence()
	case tSample:
		return p.sample()
	case tJoin:
		p.fail(t.Pos, "Queries using [join] are not supported")
	}
	return p.eventQuery()
}

func (p *parser) eventQuery() *EventQuery {
	t := p.tok()
	q := &EventQuery{At: t.Pos, CategoryPos: t.Pos}
	switch t.Kind {
	case tAny:
		q.Any = true
	case tIdent, tString:
		q.Category = t.Str
	case tQuotedIdent:
		p.fail(t.Pos, "Use a string [\"%s\"] for an event category, not a quoted identifier", t.Str)
	case tJoin:
		p.fail(t.Pos, "Queries using [join] are not supported")
	case tSequence, tSample:
		p.fail(t.Pos, "A [%s] cannot be nested inside another query", t.Text)
	default:
		p.unexpected("an event category or [any]")
	}
	p.next()
	p.expect(tWhere, "[where]")
	q.Where = p.expr()
	return q
}

func (p *parser) sequence() *Sequence {
	seqTok := p.next()
	seq := &Sequence{At: seqTok.Pos}
	switch p.tok().Kind {
	case tBy:
		seq.By = p.joinKeys()
		if p.tok().Kind == tWith {
			seq.MaxSpan = p.maxspan()
		}
	case tWith:
		seq.MaxSpan = p.maxspan()
		if p.tok().Kind == tBy {
			p.fail(seqTok.Pos, "Please specify sequence [by] before [with] not after")
		}
	}
	for p.tok().Kind == tLBracket || p.tok().Kind == tBang {
		seq.Stages = append(seq.Stages, p.stage())
	}
	if len(seq.Stages) == 0 {
		p.unexpected("[[] to start the first stage of the sequence")
	}
	if p.tok().Kind == tUntil {
		p.next()
		if k := p.tok().Kind; k != tLBracket && k != tBang {
			p.unexpected("[[] to start the [until] stage")
		}
		seq.Until = p.stage()
	}
	return seq
}

func (p *parser) sample() *Sample {
	t := p.next()
	s := &Sample{At: t.Pos}
	if p.tok().Kind == tBy {
		s.By = p.joinKeys()
	}
	if w := p.tok(); w.Kind == tWith {
		p.fail(w.Pos, "Samples do not support [with maxspan]")
	}
	for p.tok().Kind == tLBracket || p.tok().Kind == tBang {
		s.Stages = append(s.Stages, p.stage())
	}
	if len(s.Stages) == 0 {
		p.unexpected("[[] to start the first filter of the sample")
	}
	if u := p.tok(); u.Kind == tUntil {
		p.fail(u.Pos, "Samples do not support [until]")
	}
	return s
}

// maxspan parses "with maxspan=N unit".
func (p *parser) maxspan() *Duration {
	p.expect(tWith, "[with]")
	if t := p.tok(); t.Kind == tIdent && t.Text == "runs" {
		p.fail(t.Pos, "[runs] applies to a stage: write [[...] with runs=N] after the stage")
	}
	p.expect(tMaxspan, "[maxspan]")
	p.expect(tAssign, "[=] after [maxspan]")
	num := p.tok()
	switch num.Kind {
	case tDecimal:
		p.fail(num.Pos, "Decimal time interval [%s] not supported; please use a positive integer", num.Text)
	case tInt:
	case tMinus:
		p.fail(num.Pos, "A positive maxspan value is required; found [-%s]", p.peek(1).Text)
	default:
		p.unexpected("a positive integer and a time unit (e.g. [5s]) after [maxspan=]")
	}
	p.next()
	v, err := strconv.ParseInt(num.Text, 10, 64)
	if err != nil {
		p.fail(num.Pos, "maxspan value [%s] is too large", num.Text)
	}
	if v <= 0 {
		p.fail(num.Pos, "A positive maxspan value is required; found [%d]", v)
	}
	unit := p.tok()
	if unit.Kind != tIdent {
		p.fail(num.Pos, "No time unit specified, did you mean [s] as in [%ss]?", num.Text)
	}
	p.next()
	switch unit.Text {
	case "ms", "s", "m", "h", "d":
	default:
		p.fail(unit.Pos, "Unrecognized time unit [%s] in [%s%s], please specify one of [ms, s, m, h, d]", unit.Text, num.Text, unit.Text)
	}
	return &Duration{At: num.Pos, Value: v, Unit: unit.Text}
}

// stage parses "[query] [by keys] [with runs=N]", or "![query] ..." for a missing event.
func (p *parser) stage() *Stage {
	t := p.next()
	st := &Stage{At: t.Pos}
	if t.Kind == tBang {
		st.Missing = true
		p.expect(tLBracket, "[[] after [!] (a missing event is written ![...])")
	}
	st.Query = p.eventQuery()
	p.expect(tRBracket, "[]] to close the stage, or an operator")
	if f := p.tok(); f.Kind == tIdent && f.Text == "fork" {
		p.fail(f.Pos, "[fork] is not supported")
	}
	if p.tok().Kind == tBy {
		st.By = p.joinKeys()
	}
	if p.tok().Kind == tWith {
		w := p.next()
		key := p.tok()
		if key.Kind == tMaxspan {
			p.fail(key.Pos, "[maxspan] applies to the whole sequence: write [sequence with maxspan=...] before the first stage")
		}
		if key.Kind != tIdent || key.Text != "runs" {
			p.unexpected("[runs] after [with]")
		}
		p.next()
		p.expect(tAssign, "[=] after [runs]")
		num := p.tok()
		if num.Kind != tInt {
			if num.Kind == tMinus && p.peek(1).Kind == tInt {
				p.fail(num.Pos, "A number of runs between 1 and 100 is required; found [-%s]", p.peek(1).Text)
			}
			p.unexpected("an integer after [runs=]")
		}
		p.next()
		v, err := strconv.ParseInt(num.Text, 10, 64)
		if err != nil || v > math.MaxInt32 {
			v = math.MaxInt32
		}
		st.Runs = int(v)
		st.RunsPos = key.Pos
		_ = w
		if b := p.tok(); b.Kind == tBy {
			p.fail(b.Pos, "Please specify the stage's [by] before [with runs] not after")
		}
	}
	return st
}

// joinKeys parses "by expr, expr..." and requires every key to be a field reference.
func (p *parser) joinKeys() []*Field {
	p.expect(tBy, "[by]")
	var keys []*Field
	for {
		x := p.expr()
		f, ok := x.(*Field)
		if !ok {
			p.fail(x.Pos(), "Unsupported join key [%s]; join keys must be field names", Format(x))
		}
		keys = append(keys, f)
		if p.tok().Kind != tComma {
			return keys
		}
		p.next()
	}
}

func (p *parser) pipe() *Pipe {
	p.expect(tPipe, "[|]")
	name := p.tok()
	if name.Kind != tIdent {
		p.unexpected("a pipe name such as [head] or [tail]")
	}
	p.next()
	pp := &Pipe{At: name.Pos, Name: name.Text}
	if k := p.tok().Kind; k == tPipe || k == tEOF {
		return pp
	}
	for {
		pp.Args = append(pp.Args, p.expr())
		if p.tok().Kind != tComma {
			return pp
		}
		p.next()
	}
}

// expr parses a boolean expression (the lowest precedence level).
func (p *parser) expr() Expr {
	p.enter(p.tok().Pos)
	defer p.leave()
	x := p.and()
	for p.tok().Kind == tOr {
		op := p.next()
		y := p.and()
		x = &Binary{At: x.Pos(), Op: OpOr, X: x, Y: y, OpPos: op.Pos}
	}
	return x
}

func (p *parser) and() Expr {
	x := p.not()
	for p.tok().Kind == tAnd {
		op := p.next()
		y := p.not()
		x = &Binary{At: x.Pos(), Op: OpAnd, X: x, Y: y, OpPos: op.Pos}
	}
	return x
}

func (p *parser) not() Expr {
	if t := p.tok(); t.Kind == tNot {
		p.next()
		p.enter(t.Pos)
		x := p.not()
		p.leave()
		return &Not{At: t.Pos, X: x}
	}
	return p.comparison()
}

var comparisonOps = map[tokenKind]BinaryOp{
	tEq: OpEq, tNeq: OpNeq, tLt: OpLt, tLte: OpLte, tGt: OpGt, tGte: OpGte,
}

func (p *parser) comparison() Expr {
	x := p.additive()
	if op, ok := comparisonOps[p.tok().Kind]; ok {
		t := p.next()
		y := p.additive()
		x = &Binary{At: x.Pos(), Op: op, X: x, Y: y, OpPos: t.Pos}
		if c := p.tok(); comparisonOps[c.Kind] != 0 || c.Kind == tEq {
			p.fail(c.Pos, "Chained comparisons such as [a < b < c] are not supported; combine comparisons with [and]")
		}
	}
	if t := p.tok(); t.Kind == tAssign {
		p.fail(t.Pos, "[=] is not a comparison operator; use [==]")
	}
	return x
}

func (p *parser) additive() Expr {
	x := p.multiplicative()
	for {
		var op BinaryOp
		switch p.tok().Kind {
		case tPlus:
			op = OpAdd
		case tMinus:
			op = OpSub
		default:
			return x
		}
		t := p.next()
		y := p.multiplicative()
		x = &Binary{At: x.Pos(), Op: op, X: x, Y: y, OpPos: t.Pos}
	}
}

func (p *parser) multiplicative() Expr {
	x := p.unary()
	for {
		var op BinaryOp
		switch p.tok().Kind {
		case tStar:
			op = OpMul
		case tSlash:
			op = OpDiv
		case tPercent:
			op = OpMod
		default:
			return x
		}
		t := p.next()
		y := p.unary()
		x = &Binary{At: x.Pos(), Op: op, X: x, Y: y, OpPos: t.Pos}
	}
}

func (p *parser) unary() Expr {
	t := p.tok()
	var op UnaryOp
	switch t.Kind {
	case tMinus:
		op = UnaryMinus
	case tPlus:
		op = UnaryPlus
	default:
		return p.predicated()
	}
	p.next()
	p.enter(t.Pos)
	x := p.unary()
	p.leave()
	return &Unary{At: t.Pos, Op: op, X: x}
}

// predicated parses a primary expression and an optional predicate suffix: in, in~,
// not in, not in~, :, like, like~, regex, regex~.
func (p *parser) predicated() Expr {
	x := p.primary()
	t := p.tok()
	switch t.Kind {
	case tNot:
		in := p.peek(1)
		if in.Kind != tIn && in.Kind != tInInsensitive {
			p.fail(t.Pos, "[not] after a value must be followed by [in] or [in~]; write [not x : ...] to negate other predicates")
		}
		p.next()
		p.next()
		return &In{At: x.Pos(), X: x, List: p.inList(in.Text), Not: true, Insensitive: in.Kind == tInInsensitive, OpPos: t.Pos}
	case tIn, tInInsensitive:
		p.next()
		return &In{At: x.Pos(), X: x, List: p.inList(t.Text), Insensitive: t.Kind == tInInsensitive, OpPos: t.Pos}
	case tSeq, tLike, tLikeInsensitive, tRegex, tRegexInsensitive:
		p.next()
		m := &Match{At: x.Pos(), X: x, OpPos: t.Pos}
		switch t.Kind {
		case tSeq:
			m.Op, m.Insensitive = MatchSeq, true
		case tLike, tLikeInsensitive:
			m.Op, m.Insensitive = MatchLike, t.Kind == tLikeInsensitive
		default:
			m.Op, m.Insensitive = MatchRegex, t.Kind == tRegexInsensitive
		}
		if p.tok().Kind == tLParen {
			m.List = true
			open := p.next()
			p.enter(open.Pos)
			for {
				m.Patterns = append(m.Patterns, p.constant(t.Text))
				if p.tok().Kind != tComma {
					break
				}
				p.next()
			}
			p.leave()
			p.expect(tRParen, "[,] or [)] in the pattern list")
		} else {
			m.Patterns = []Expr{p.constant(t.Text)}
		}
		return m
	}
	return x
}

// inList parses "(expr, ...)" after in / in~.
func (p *parser) inList(op string) []Expr {
	open := p.expect(tLParen, "[(] after ["+op+"]")
	if p.tok().Kind == tRParen {
		p.fail(p.tok().Pos, "[%s] needs at least one value in its list", op)
	}
	p.enter(open.Pos)
	var list []Expr
	for {
		list = append(list, p.expr())
		if p.tok().Kind != tComma {
			break
		}
		p.next()
	}
	p.leave()
	p.expect(tRParen, "[,] or [)] in the ["+op+"] list")
	return list
}

// constant parses a literal on the right of :, like or regex.
func (p *parser) constant(op string) Expr {
	switch p.tok().Kind {
	case tString, tInt, tDecimal, tTrue, tFalse, tNull:
		return p.literal()
	}
	t := p.tok()
	if t.Kind == tEOF {
		p.unexpected("a constant pattern after [" + op + "]")
	}
	p.fail(t.Pos, "The right side of [%s] must be a constant (such as a string) or a parenthesised list of constants, found %s", op, t.describe())
	return nil
}

func (p *parser) primary() Expr {
	t := p.tok()
	switch t.Kind {
	case tString, tInt, tDecimal, tTrue, tFalse, tNull:
		return p.literal()
	case tLParen:
		p.next()
		x := p.expr()
		p.expect(tRParen, "[)] or an operator")
		return x
	case tQuestion:
		p.next()
		if k := p.tok().Kind; k != tIdent && k != tQuotedIdent {
			p.unexpected("a field name after [?]")
		}
		f := p.field()
		f.At = t.Pos
		f.Optional = true
		return f
	case tTildeIdent:
		if p.peek(1).Kind != tLParen {
			p.fail(t.Pos, "[%s] must be a function call: [~] follows only function names", t.Text)
		}
		return p.call()
	case tIdent:
		switch p.peek(1).Kind {
		case tLParen:
			return p.call()
		case tOf:
			p.fail(t.Pos, "[%s of] is not supported", t.Text)
		}
		return p.field()
	case tQuotedIdent:
		return p.field()
	}
	p.unexpected("an expression")
	return nil
}

// field parses a possibly dotted field name.
func (p *parser) field() *Field {
	first := p.next()
	name := first.Str
	if p.tok().Kind == tDot {
		var b strings.Builder
		b.WriteString(name)
		for p.tok().Kind == tDot {
			p.next()
			seg := p.tok()
			if seg.Kind != tIdent && seg.Kind != tQuotedIdent {
				p.unexpected("a field name after [.]")
			}
			p.next()
			b.WriteByte('.')
			b.WriteString(seg.Str)
		}
		name = b.String()
	}
	if lb := p.tok(); lb.Kind == tLBracket && p.peek(1).Kind == tInt {
		p.fail(lb.Pos, "Array indexing [%s[%s]] is not supported", name, p.peek(1).Text)
	}
	return &Field{At: first.Pos, Name: name}
}

func (p *parser) call() Expr {
	nameTok := p.next()
	c := &Call{At: nameTok.Pos, Name: nameTok.Str, Insensitive: nameTok.Kind == tTildeIdent}
	open := p.expect(tLParen, "[(]")
	if p.tok().Kind != tRParen {
		p.enter(open.Pos)
		for {
			c.Args = append(c.Args, p.expr())
			if p.tok().Kind != tComma {
				break
			}
			p.next()
		}
		p.leave()
	}
	p.expect(tRParen, "[,] or [)] in the arguments of ["+c.Name+"]")
	return c
}

func (p *parser) literal() *Literal {
	t := p.next()
	l := &Literal{At: t.Pos}
	switch t.Kind {
	case tNull:
		l.Kind = LitNull
	case tTrue, tFalse:
		l.Kind, l.Bool = LitBool, t.Kind == tTrue
	case tString:
		l.Kind, l.Str = LitString, t.Str
	case tInt:
		v, err := strconv.ParseInt(t.Text, 10, 64)
		switch {
		case err != nil:
			// Too large for a long: Elasticsearch quietly makes it a double.
			f, _ := strconv.ParseFloat(t.Text, 64)
			if math.IsInf(f, 0) {
				p.fail(t.Pos, "Number [%s] is too large", t.Text)
			}
			l.Kind, l.Double = LitDouble, f
		case v >= math.MinInt32 && v <= math.MaxInt32:
			l.Kind, l.Int = LitInt, v
		default:
			l.Kind, l.Int = LitLong, v
		}
	case tDecimal:
		f, err := strconv.ParseFloat(t.Text, 64)
		if err != nil && math.IsInf(f, 0) {
			p.fail(t.Pos, "Number [%s] is too large", t.Text)
		}
		l.Kind, l.Double = LitDouble, f
	}
	return l
}
