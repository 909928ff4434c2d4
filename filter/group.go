package filter

// After tokenizing, sqlparse groups tokens into a tree (parentheses, dotted identifiers, comparisons,
// aliases, ...), and MLflow accepts a filter only when that tree has the shape it expects. The
// grouping below follows sqlparse 0.6.1's passes in its order, with the same quirks (extended
// groups, look-back at tokens that were already absorbed into a group, delimiters that may not be
// operands), because those quirks decide corner cases such as `params.a b IS NULL` (accepted by
// MLflow, key "a b") or `params.a = "x"."y"` (accepted, value `x"."y`). Only sqlparse's VALUES
// grouping is left out: it can only wrap tokens that make a filter invalid anyway.

// gclass is the class of a group (sqlparse's TokenList subclasses).
type gclass uint8

const (
	gToken gclass = iota // a plain token, not a group
	gStatement
	gParenthesis
	gSquareBrackets
	gCase
	gIf
	gFor
	gBegin
	gOver
	gWhere
	gIdentifier
	gComparison
	gFunction
	gOperation
	gTypedLiteral
	gComment
	gIdentifierList
	gAssignment
)

// node is a token or a group of tokens. Groups always cover a contiguous part of the input, so a
// node's text is src[pos:end].
type node struct {
	typ      ttype
	class    gclass
	pos, end int
	src      string
	kids     []*node
	synth    string // the text of a token MLflow synthesizes ("IS NULL", "NOT IN")
}

func (n *node) text() string {
	if n.synth != "" {
		return n.synth
	}
	return n.src[n.pos:n.end]
}

func (n *node) isGroup() bool { return n.class != gToken }

// normalized is sqlparse's Token.normalized: upper case for keywords, the text otherwise.
func (n *node) normalized() string {
	if n.typ.isKeyword() {
		return pyUpper(n.text())
	}
	return n.text()
}

// is reports whether n is a token of exactly type t whose normalized text is one of values (any
// text when values is empty); sqlparse's Token.match.
func (n *node) is(t ttype, values ...string) bool {
	if n == nil || n.isGroup() || n.typ != t {
		return false
	}
	if len(values) == 0 {
		return true
	}
	norm := n.normalized()
	for _, v := range values {
		if t.isKeyword() {
			v = pyUpper(v)
		}
		if norm == v {
			return true
		}
	}
	return false
}

func (n *node) in(classes ...gclass) bool {
	if n == nil {
		return false
	}
	for _, c := range classes {
		if n.class == c {
			return true
		}
	}
	return false
}

func (n *node) typIn(types ...ttype) bool {
	if n == nil || n.isGroup() {
		return false
	}
	for _, t := range types {
		if n.typ == t {
			return true
		}
	}
	return false
}

// Limits sqlparse enforces while grouping (it raises, and MLflow reports "Error on parsing filter").
const (
	maxGroupingDepth  = 100
	maxGroupingTokens = 10000
)

// tooComplex is the panic value the grouping passes use to abort, as sqlparse raises.
type tooComplex struct{ pos int }

func checkLimits(tl *node, depth int) {
	if depth > maxGroupingDepth || len(tl.kids) > maxGroupingTokens {
		panic(tooComplex{tl.pos})
	}
}

// tokenNext returns the index and node of the first non-whitespace token after idx (-1, nil if none).
func (tl *node) tokenNext(idx int) (int, *node) {
	for k := idx + 1; k < len(tl.kids); k++ {
		if !tl.kids[k].typ.isWhitespace() || tl.kids[k].isGroup() {
			return k, tl.kids[k]
		}
	}
	return -1, nil
}

// tokenPrev returns the last non-whitespace token before idx.
func (tl *node) tokenPrev(idx int) (int, *node) {
	for k := idx - 1; k >= 0; k-- {
		if !tl.kids[k].typ.isWhitespace() || tl.kids[k].isGroup() {
			return k, tl.kids[k]
		}
	}
	return -1, nil
}

// tokenNextBy returns the first token after idx for which f holds.
func (tl *node) tokenNextBy(idx int, f func(*node) bool) (int, *node) {
	for k := idx + 1; k < len(tl.kids); k++ {
		if f(tl.kids[k]) {
			return k, tl.kids[k]
		}
	}
	return -1, nil
}

// groupTokens replaces kids[start..end] by a group of class c, or appends them to kids[start] when
// extend is set and kids[start] already is such a group (any group, for the plain TokenList that
// sqlparse's comment alignment asks for, signalled by gToken).
func (tl *node) groupTokens(c gclass, start, end int, extend bool) *node {
	first := tl.kids[start]
	if extend && (first.class == c || c == gToken && first.isGroup()) {
		first.kids = append(first.kids, tl.kids[start+1:end+1]...)
		first.end = tl.kids[end].end
		tl.kids = append(tl.kids[:start+1], tl.kids[end+1:]...)
		return first
	}
	grp := &node{class: c, pos: first.pos, end: tl.kids[end].end, src: first.src}
	grp.kids = append([]*node(nil), tl.kids[start:end+1]...)
	tl.kids[start] = grp
	n := copy(tl.kids[start+1:], tl.kids[end+1:])
	tl.kids = tl.kids[:start+1+n]
	return grp
}

// isDelimiter reports whether tok is the opening or closing token of tl itself (a parenthesis, a
// CASE…END, …); those may not become operands of a group inside tl.
func isDelimiter(tl, tok *node) bool {
	if tok == nil || len(tl.kids) == 0 {
		return false
	}
	switch tl.class {
	case gParenthesis, gSquareBrackets, gCase, gIf, gFor, gBegin:
		return tok == tl.kids[0] || tok == tl.kids[len(tl.kids)-1]
	}
	return false
}

// groupMatching groups tokens between matching open and close tokens (sqlparse _group_matching).
func groupMatching(tl *node, c gclass, open, close func(*node) bool, depth int) {
	checkLimits(tl, depth)
	var opens []int
	offset := 0
	snapshot := append([]*node(nil), tl.kids...)
	for idx, tok := range snapshot {
		tidx := idx - offset
		if tok.typ.isWhitespace() && !tok.isGroup() {
			continue
		}
		if tok.isGroup() && tok.class != c {
			groupMatching(tok, c, open, close, depth+1)
			continue
		}
		if open(tok) {
			opens = append(opens, tidx)
		} else if close(tok) {
			if len(opens) == 0 {
				continue // unbalanced: sqlparse carries on
			}
			o := opens[len(opens)-1]
			opens = opens[:len(opens)-1]
			tl.groupTokens(c, o, tidx, false)
			offset += tidx - o
		}
	}
}

// groupSpec describes one binary grouping pass (sqlparse _group).
type groupSpec struct {
	class     gclass
	match     func(*node) bool
	validPrev func(*node) bool // receives nil when there is no token
	validNext func(*node) bool
	post      func(tl *node, pidx, tidx, nidx int) (int, int)
	extend    bool
	recurse   bool
}

func notNil(n *node) bool { return n != nil }

func (sp *groupSpec) run(tl *node, depth int) {
	checkLimits(tl, depth)
	offset := 0
	pidx, prev := -1, (*node)(nil)
	snapshot := append([]*node(nil), tl.kids...)
	for idx, tok := range snapshot {
		tidx := idx - offset
		if tidx < 0 {
			continue
		}
		if tok.typ.isWhitespace() && !tok.isGroup() {
			continue
		}
		if sp.recurse && tok.isGroup() && tok.class != sp.class {
			sp.run(tok, depth+1)
		}
		if sp.match(tok) {
			nidx, next := tl.tokenNext(tidx)
			if prev != nil && sp.validPrev(prev) && sp.validNext(next) &&
				!isDelimiter(tl, prev) && !isDelimiter(tl, next) {
				from, to := sp.post(tl, pidx, tidx, nidx)
				grp := tl.groupTokens(sp.class, from, to, sp.extend)
				offset += to - from
				pidx, prev = from, grp
				continue
			}
		}
		pidx, prev = tidx, tok
	}
}

// recurseApply runs f on every group below tl whose class is not excluded (deepest first), then on
// tl: sqlparse's @recurse decorator.
func recurseApply(tl *node, f func(*node), excluded ...gclass) {
	for _, k := range append([]*node(nil), tl.kids...) {
		if k.isGroup() && !k.in(excluded...) {
			recurseApply(k, f, excluded...)
		}
	}
	f(tl)
}

// Token classes used by several passes (sqlparse's T_NUMERICAL + T_STRING + T_NAME, compared by exact
// type; T.Number and T.String themselves never occur).
var operandTypes = []ttype{tNumberInteger, tNumberFloat, tStringSingle, tStringSymbol, tName, tNamePlaceholder}

// group runs sqlparse's grouping passes over a statement. It panics with tooComplex where sqlparse
// raises.
func group(stmt *node) {
	groupComments(stmt)
	groupMatching(stmt, gSquareBrackets, func(n *node) bool { return n.is(tPunct, "[") }, func(n *node) bool { return n.is(tPunct, "]") }, 0)
	groupMatching(stmt, gParenthesis, func(n *node) bool { return n.is(tPunct, "(") }, func(n *node) bool { return n.is(tPunct, ")") }, 0)
	groupMatching(stmt, gCase, func(n *node) bool { return n.is(tKeyword, "CASE") }, func(n *node) bool { return n.is(tKeyword, "END") }, 0)
	groupMatching(stmt, gIf, func(n *node) bool { return n.is(tKeyword, "IF") }, func(n *node) bool { return n.is(tKeyword, "END IF") }, 0)
	groupMatching(stmt, gFor, func(n *node) bool { return n.is(tKeyword, "FOR", "FOREACH") }, func(n *node) bool { return n.is(tKeyword, "END LOOP") }, 0)
	groupMatching(stmt, gBegin, func(n *node) bool { return n.is(tKeyword, "BEGIN") }, func(n *node) bool { return n.is(tKeyword, "END") }, 0)
	groupOver(stmt)
	groupFunctions(stmt)
	groupWhere(stmt)
	groupPeriod(stmt)
	groupArrays(stmt)
	groupIdentifiers(stmt)
	groupOrder(stmt)
	groupTypecasts(stmt)
	groupTZCasts(stmt)
	groupTypedLiterals(stmt)
	groupOperators(stmt)
	groupComparisons(stmt)
	groupAs(stmt)
	groupAliased(stmt)
	groupAssignments(stmt)
	alignComments(stmt)
	groupIdentifierLists(stmt)
}

// groupComments groups each run of comments (and the line breaks between them) that is followed by
// some other token into one Comment group; a run that reaches the end of the statement stops the
// pass, as in sqlparse. It runs first, on the flat token list, in one linear pass.
func groupComments(stmt *node) {
	isComment := func(n *node) bool { return !n.isGroup() && n.typ.isComment() }
	kids := stmt.kids
	out := kids[:0:0]
	for i := 0; i < len(kids); {
		if !isComment(kids[i]) {
			out = append(out, kids[i])
			i++
			continue
		}
		j := i
		for j < len(kids) && (isComment(kids[j]) || kids[j].is(tNewline)) {
			j++
		}
		if j == len(kids) {
			out = append(out, kids[i:]...)
			break
		}
		grp := &node{class: gComment, pos: kids[i].pos, end: kids[j-1].end, src: kids[i].src}
		grp.kids = append([]*node(nil), kids[i:j]...)
		out = append(out, grp)
		i = j
	}
	stmt.kids = out
}

func groupOver(stmt *node) {
	recurseApply(stmt, func(tl *node) {
		isOver := func(n *node) bool { return n.is(tKeyword, "OVER") }
		tidx, tok := tl.tokenNextBy(-1, isOver)
		for tok != nil {
			nidx, next := tl.tokenNext(tidx)
			if next != nil && (next.class == gParenthesis || !next.isGroup() && next.typ.isName()) {
				tl.groupTokens(gOver, tidx, nidx, false)
			}
			tidx, tok = tl.tokenNextBy(tidx, isOver)
		}
	}, gOver)
}

func groupFunctions(stmt *node) {
	recurseApply(stmt, func(tl *node) {
		var hasCreate, hasTable, hasAs bool
		for _, k := range tl.kids {
			switch pyUpper(k.text()) {
			case "CREATE":
				hasCreate = true
			case "TABLE":
				hasTable = true
			case "AS":
				hasAs = true
			}
		}
		if hasCreate && hasTable && !hasAs {
			return
		}
		isName := func(n *node) bool { return !n.isGroup() && n.typ.isName() }
		tidx, tok := tl.tokenNextBy(-1, isName)
		for tok != nil {
			nidx, next := tl.tokenNext(tidx)
			if next != nil && next.class == gParenthesis {
				eidx := nidx
				if oidx, over := tl.tokenNext(nidx); over != nil && over.class == gOver {
					eidx = oidx
				}
				tl.groupTokens(gFunction, tidx, eidx, false)
			}
			tidx, tok = tl.tokenNextBy(tidx, isName)
		}
	}, gFunction)
}

func groupWhere(stmt *node) {
	closers := []string{"ORDER BY", "GROUP BY", "LIMIT", "UNION", "UNION ALL", "EXCEPT", "HAVING", "RETURNING", "INTO"}
	recurseApply(stmt, func(tl *node) {
		isWhere := func(n *node) bool { return n.is(tKeyword, "WHERE") }
		tidx, tok := tl.tokenNextBy(-1, isWhere)
		for tok != nil {
			eidx, _ := tl.tokenNextBy(tidx, func(n *node) bool { return n.is(tKeyword, closers...) })
			if eidx < 0 {
				eidx = len(tl.kids) - 1
				if tl.in(gParenthesis, gSquareBrackets) {
					eidx = len(tl.kids) - 2 // the closing delimiter is not groupable
				}
			} else {
				eidx--
			}
			if eidx < tidx {
				eidx = tidx
			}
			tl.groupTokens(gWhere, tidx, eidx, false)
			tidx, tok = tl.tokenNextBy(tidx, isWhere)
		}
	}, gWhere)
}

func groupPeriod(stmt *node) {
	sp := &groupSpec{
		class: gIdentifier,
		match: func(n *node) bool { return n.is(tPunct, ".") || n.is(tOperator, "->", "->>") },
		validPrev: func(n *node) bool {
			return n.in(gSquareBrackets, gIdentifier) || n.typIn(tName, tStringSymbol)
		},
		validNext: func(*node) bool { return true },
		post: func(tl *node, pidx, tidx, nidx int) (int, int) {
			if nidx >= 0 {
				next := tl.kids[nidx]
				if next.in(gSquareBrackets, gFunction) || next.typIn(tName, tStringSymbol, tWildcard, tStringSingle) {
					return pidx, nidx
				}
			}
			return pidx, tidx
		},
		extend: true, recurse: true,
	}
	sp.run(stmt, 0)
}

func groupArrays(stmt *node) {
	sp := &groupSpec{
		class: gIdentifier,
		match: func(n *node) bool { return n.class == gSquareBrackets },
		validPrev: func(n *node) bool {
			return n.in(gSquareBrackets, gIdentifier, gFunction) || n.typIn(tName, tStringSymbol)
		},
		validNext: func(*node) bool { return true },
		post:      func(tl *node, pidx, tidx, nidx int) (int, int) { return pidx, tidx },
		extend:    true, recurse: false,
	}
	sp.run(stmt, 0)
}

func groupIdentifiers(stmt *node) {
	recurseApply(stmt, func(tl *node) {
		isName := func(n *node) bool { return n.typIn(tStringSymbol, tName) }
		tidx, tok := tl.tokenNextBy(-1, isName)
		for tok != nil {
			tl.groupTokens(gIdentifier, tidx, tidx, false)
			tidx, tok = tl.tokenNextBy(tidx, isName)
		}
	}, gIdentifier)
}

func groupOrder(stmt *node) {
	recurseApply(stmt, func(tl *node) {
		isOrder := func(n *node) bool { return n.typIn(tKeywordOrder) }
		tidx, tok := tl.tokenNextBy(-1, isOrder)
		for tok != nil {
			pidx, prev := tl.tokenPrev(tidx)
			if prev != nil && (prev.class == gIdentifier || !prev.isGroup() && prev.typ.isNumber()) {
				tl.groupTokens(gIdentifier, pidx, tidx, false)
				tidx = pidx
			}
			tidx, tok = tl.tokenNextBy(tidx, isOrder)
		}
	}, gIdentifier)
}

func groupTypecasts(stmt *node) {
	sp := &groupSpec{
		class:     gIdentifier,
		match:     func(n *node) bool { return n.is(tPunct, "::") },
		validPrev: notNil, validNext: notNil,
		post:   func(tl *node, pidx, tidx, nidx int) (int, int) { return pidx, nidx },
		extend: true, recurse: true,
	}
	sp.run(stmt, 0)
}

func groupTZCasts(stmt *node) {
	sp := &groupSpec{
		class:     gIdentifier,
		match:     func(n *node) bool { return n.typIn(tKeywordTZCast) },
		validPrev: notNil,
		validNext: func(n *node) bool {
			return n != nil && (n.typIn(tWhitespace, tNewline) || n.is(tKeyword, "AS") || n.typIn(tStringSingle))
		},
		post:   func(tl *node, pidx, tidx, nidx int) (int, int) { return pidx, nidx },
		extend: true, recurse: true,
	}
	sp.run(stmt, 0)
}

func groupTypedLiterals(stmt *node) {
	post := func(tl *node, pidx, tidx, nidx int) (int, int) { return tidx, nidx }
	open := &groupSpec{
		class:     gTypedLiteral,
		match:     func(n *node) bool { return n.typIn(tNameBuiltin) || n.is(tKeyword, "TIMESTAMP") },
		validPrev: notNil,
		validNext: func(n *node) bool { return n.typIn(tStringSingle) },
		post:      post, extend: false, recurse: true,
	}
	open.run(stmt, 0)
	extend := &groupSpec{
		class:     gTypedLiteral,
		match:     func(n *node) bool { return n.class == gTypedLiteral },
		validPrev: notNil,
		validNext: func(n *node) bool { return n.is(tKeyword, "DAY", "HOUR", "MINUTE", "MONTH", "SECOND", "YEAR") },
		post:      post, extend: true, recurse: true,
	}
	extend.run(stmt, 0)
}

func groupOperators(stmt *node) {
	valid := func(n *node) bool {
		return n.in(gSquareBrackets, gParenthesis, gFunction, gIdentifier, gOperation, gTypedLiteral) ||
			n.typIn(operandTypes...) || n.is(tKeyword, "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP")
	}
	sp := &groupSpec{
		class:     gOperation,
		match:     func(n *node) bool { return n.typIn(tOperator, tWildcard) },
		validPrev: valid, validNext: valid,
		post: func(tl *node, pidx, tidx, nidx int) (int, int) {
			tl.kids[tidx].typ = tOperator
			return pidx, nidx
		},
		extend: false, recurse: true,
	}
	sp.run(stmt, 0)
}

func groupComparisons(stmt *node) {
	valid := func(n *node) bool {
		return n.in(gParenthesis, gFunction, gIdentifier, gOperation, gTypedLiteral) ||
			n.typIn(operandTypes...) || n != nil && !n.isGroup() && n.typ.isKeyword() && n.normalized() == "NULL"
	}
	sp := &groupSpec{
		class:     gComparison,
		match:     func(n *node) bool { return n.typIn(tOperatorComparison) },
		validPrev: valid, validNext: valid,
		post:   func(tl *node, pidx, tidx, nidx int) (int, int) { return pidx, nidx },
		extend: false, recurse: true,
	}
	sp.run(stmt, 0)
}

func groupAs(stmt *node) {
	sp := &groupSpec{
		class: gIdentifier,
		match: func(n *node) bool { return !n.isGroup() && n.typ.isKeyword() && n.normalized() == "AS" },
		validPrev: func(n *node) bool {
			return n.normalized() == "NULL" || n.isGroup() || !n.typ.isKeyword()
		},
		validNext: func(n *node) bool { return n != nil && !n.typIn(tKeywordDML, tKeywordDDL, tKeywordCTE) },
		post:      func(tl *node, pidx, tidx, nidx int) (int, int) { return pidx, nidx },
		extend:    true, recurse: true,
	}
	sp.run(stmt, 0)
}

func groupAliased(stmt *node) {
	recurseApply(stmt, func(tl *node) {
		isAliasable := func(n *node) bool {
			return n.in(gParenthesis, gFunction, gCase, gIdentifier, gOperation, gComparison) ||
				!n.isGroup() && n.typ.isNumber()
		}
		tidx, tok := tl.tokenNextBy(-1, isAliasable)
		for tok != nil {
			nidx, next := tl.tokenNext(tidx)
			if next != nil && next.class == gIdentifier {
				tl.groupTokens(gIdentifier, tidx, nidx, true)
			}
			tidx, tok = tl.tokenNextBy(tidx, isAliasable)
		}
	})
}

func groupAssignments(stmt *node) {
	valid := func(n *node) bool { return n != nil && !n.typIn(tKeyword) }
	sp := &groupSpec{
		class:     gAssignment,
		match:     func(n *node) bool { return n.is(tAssignment, ":=") },
		validPrev: valid, validNext: valid,
		post: func(tl *node, pidx, tidx, nidx int) (int, int) {
			if sidx, _ := tl.tokenNextBy(nidx, func(n *node) bool { return n.is(tPunct, ";") }); sidx > 0 {
				nidx = sidx
			}
			return pidx, nidx
		},
		extend: true, recurse: true,
	}
	sp.run(stmt, 0)
}

func alignComments(stmt *node) {
	recurseApply(stmt, func(tl *node) {
		isComment := func(n *node) bool { return n.class == gComment }
		tidx, tok := tl.tokenNextBy(-1, isComment)
		for tok != nil {
			pidx, prev := tl.tokenPrev(tidx)
			if prev != nil && prev.isGroup() {
				tl.groupTokens(gToken, pidx, tidx, true) // extends the preceding group
				tidx = pidx
			}
			tidx, tok = tl.tokenNextBy(tidx, isComment)
		}
	})
}

func groupIdentifierLists(stmt *node) {
	valid := func(n *node) bool {
		return n.in(gFunction, gCase, gIdentifier, gComparison, gIdentifierList, gOperation) ||
			n.is(tKeyword, "NULL", "ROLE") ||
			n.typIn(append([]ttype{tKeyword, tWildcard}, operandTypes...)...)
	}
	sp := &groupSpec{
		class:     gIdentifierList,
		match:     func(n *node) bool { return n.is(tPunct, ",") },
		validPrev: valid, validNext: valid,
		post:   func(tl *node, pidx, tidx, nidx int) (int, int) { return pidx, nidx },
		extend: true, recurse: true,
	}
	sp.run(stmt, 0)
}
