package filter

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// The lexer reproduces the tokenizer MLflow 3.18 runs on a filter: sqlparse 0.6.1's lexer, whose
// token stream decides everything that follows (which words are identifiers, where a quoted string
// ends, which parenthesis closes a list). It tries sqlparse's rules in sqlparse's order at each
// position, exactly as sqlparse does with its regular expressions; each rule is written out by hand
// because several of them rely on look-behind and on Python's backtracking, which Go's regexp lacks.

// ttype is a token type, named after sqlparse's token types.
type ttype uint8

const (
	tNone ttype = iota // groups have no token type
	tWhitespace
	tNewline
	tCommentSingle
	tCommentSingleHint
	tCommentMultiline
	tCommentMultilineHint
	tAssignment
	tPunct
	tWildcard
	tName
	tNamePlaceholder
	tNameBuiltin
	tCommand
	tKeyword
	tKeywordDML
	tKeywordDDL
	tKeywordDCL
	tKeywordCTE
	tKeywordOrder
	tKeywordTZCast
	tNumberHex
	tNumberFloat
	tNumberInteger
	tStringSingle
	tStringSymbol
	tLiteral // a dollar-quoted string
	tOperator
	tOperatorComparison
	tError
)

func (t ttype) isWhitespace() bool { return t == tWhitespace || t == tNewline }
func (t ttype) isKeyword() bool    { return t >= tKeyword && t <= tKeywordTZCast }
func (t ttype) isComment() bool    { return t >= tCommentSingle && t <= tCommentMultilineHint }
func (t ttype) isNumber() bool     { return t >= tNumberHex && t <= tNumberInteger }
func (t ttype) isName() bool       { return t == tName || t == tNamePlaceholder || t == tNameBuiltin }

// sqlKeywords maps an upper-cased word to its token type.
var sqlKeywords = func() map[string]ttype {
	m := map[string]ttype{}
	for _, c := range sqlKeywordClasses {
		for _, w := range strings.Fields(c.words) {
			m[w] = c.typ
		}
	}
	return m
}()

// lexer holds the input and the positions of dollar-quoted strings and /* */ comments, which
// sqlparse resolves from a table of openers and closers built in one pass.
type lexer struct {
	s       string
	openers []spanOpener // by position
	next0   int          // index of the first opener not before the lexer's position
	closers map[string][]spanCloser
}

type spanOpener struct {
	pos int
	end int    // offset just past the opening delimiter
	tag string // "/*" for comments, the delimiter itself for dollar quotes
	typ ttype
}

type spanCloser struct{ start, end int }

// tokenize splits s into sqlparse's flat token stream. s must be valid UTF-8.
//
// sqlparse refuses a statement of more than maxGroupingTokens tokens (counting a run of comments
// followed by another token as one, as its first grouping pass merges those), so tokenize stops
// as soon as that many are certain and returns tooLong with the offset where it stopped. This
// bounds the work of every later stage by the limit, whatever the input's length.
func tokenize(s string) (toks []*node, tooLong int) {
	lx := &lexer{s: s}
	lx.findDelimitedSpans()
	count, run := 0, 0 // tokens certain to be top-level; tokens of the current comment run
	for i := 0; i < len(s); {
		end, typ := lx.next(i)
		toks = append(toks, &node{typ: typ, pos: i, end: end, src: s})
		switch {
		case typ.isComment() || run > 0 && typ == tNewline:
			run++
		default:
			if run > 0 {
				count++ // the run becomes one group
				run = 0
			}
			count++
		}
		if count > maxGroupingTokens {
			return nil, i
		}
		i = end
	}
	return toks, -1
}

// findDelimitedSpans records dollar-quote delimiters ($$ or $tag$) and comment delimiters.
func (lx *lexer) findDelimitedSpans() {
	s := lx.s
	lx.closers = map[string][]spanCloser{}
	hasDollar, hasComment := strings.IndexByte(s, '$') >= 0, strings.Contains(s, "/*")
	if !hasDollar && !hasComment {
		return
	}
	for p := 0; p < len(s); p++ {
		switch {
		case s[p] == '$' && hasDollar:
			end, ok := dollarTag(s, p)
			if !ok {
				continue
			}
			tag := s[p:end]
			lx.closers[tag] = append(lx.closers[tag], spanCloser{p, end})
			// A delimiter can open a literal unless a word character, '"' or '$' precedes it.
			prev := runeBefore(s, p)
			if p == 0 || !(pyIsWord(prev) || prev == '"' || prev == '$') {
				lx.openers = append(lx.openers, spanOpener{p, end, tag, tLiteral})
			}
		case s[p] == '/' && hasComment && p+1 < len(s) && s[p+1] == '*':
			if p+2 < len(s) && s[p+2] == '+' {
				lx.openers = append(lx.openers, spanOpener{p, p + 3, "/*", tCommentMultilineHint})
			} else {
				lx.openers = append(lx.openers, spanOpener{p, p + 2, "/*", tCommentMultiline})
			}
			p++ // sqlparse finds "/*" without overlaps
		}
	}
	if hasComment {
		for p := 0; p+1 < len(s); p++ {
			if s[p] == '*' && s[p+1] == '/' {
				lx.closers["/*"] = append(lx.closers["/*"], spanCloser{p, p + 2})
				p++
			}
		}
	}
}

// dollarTag matches `\$(?:[_A-ZÀ-Ü]\w*)?\$` at p.
func dollarTag(s string, p int) (int, bool) {
	i := p + 1
	if r, n := utf8.DecodeRuneInString(s[i:]); n > 0 && (r == '_' || pyIsNameStart(r)) {
		i = scanWord(s, i+n)
		if i < len(s) && s[i] == '$' {
			return i + 1, true
		}
		return 0, false
	}
	if i < len(s) && s[i] == '$' {
		return i + 1, true
	}
	return 0, false
}

// resolveSpan returns the end of the delimited span opening at p, if its closer exists. The lexer
// only moves forward, so the openers are walked with a cursor.
func (lx *lexer) resolveSpan(p int) (int, ttype, bool) {
	for lx.next0 < len(lx.openers) && lx.openers[lx.next0].pos < p {
		lx.next0++
	}
	if lx.next0 >= len(lx.openers) || lx.openers[lx.next0].pos != p {
		return 0, 0, false
	}
	op := lx.openers[lx.next0]
	cl := lx.closers[op.tag]
	k := sort.Search(len(cl), func(k int) bool { return cl[k].start >= op.end })
	if k == len(cl) {
		return 0, 0, false
	}
	return cl[k].end, op.typ, true
}

// scanWord returns the end of the run of `\w` characters starting at i.
func scanWord(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !pyIsWord(r) {
			break
		}
		i += n
	}
	return i
}

// scanSpace returns the end of the run of `\s` characters starting at i.
func scanSpace(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !pyIsSpace(r) {
			break
		}
		i += n
	}
	return i
}

// scanDigits returns the end of the run of `\d` characters starting at i.
func scanDigits(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !pyIsDigit(r) {
			break
		}
		i += n
	}
	return i
}

// lastRuneStart returns the offset of the last rune in s[:end] (end must be > 0).
func lastRuneStart(s string, end int) int {
	_, n := utf8.DecodeLastRuneInString(s[:end])
	return end - n
}

func runeAt(s string, i int) (rune, int) {
	if i >= len(s) {
		return -1, 0
	}
	return utf8.DecodeRuneInString(s[i:])
}

func runeBefore(s string, i int) rune {
	if i <= 0 {
		return -1
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r
}

// isWordAt reports whether `\w` matches the rune at i (false at the end).
func isWordAt(s string, i int) bool {
	r, n := runeAt(s, i)
	return n > 0 && pyIsWord(r)
}

// wordBoundaryAfterWord reports `\b` at i when the character before i is a word character.
func wordBoundaryAfterWord(s string, i int) bool { return !isWordAt(s, i) }

// matchFold matches the ASCII word w case-insensitively (Python re.IGNORECASE) at i.
func matchFold(s string, i int, w string) (int, bool) {
	for k := 0; k < len(w); k++ {
		r, n := runeAt(s, i)
		if n == 0 || !pyFoldEq(r, w[k]) {
			return 0, false
		}
		i += n
	}
	return i, true
}

// matchWords matches words separated by `\s+`, each case-insensitively, at i.
func matchWords(s string, i int, words ...string) (int, bool) {
	for k, w := range words {
		if k > 0 {
			j := scanSpace(s, i)
			if j == i {
				return 0, false
			}
			i = j
		}
		var ok bool
		if i, ok = matchFold(s, i, w); !ok {
			return 0, false
		}
	}
	return i, true
}

// matchWordsB is matchWords followed by `\b`.
func matchWordsB(s string, i int, words ...string) (int, bool) {
	end, ok := matchWords(s, i, words...)
	if !ok || !wordBoundaryAfterWord(s, end) {
		return 0, false
	}
	return end, true
}

// anyWordsB tries alternatives (each a sequence of words) in order and returns the first that
// matches followed by `\b`.
func anyWordsB(s string, i int, alts ...[]string) (int, bool) {
	for _, a := range alts {
		if end, ok := matchWordsB(s, i, a...); ok {
			return end, true
		}
	}
	return 0, false
}

// notNameStartAt is sqlparse's `(?![_A-ZÀ-Ü])` at i.
func notNameStartAt(s string, i int) bool {
	r, n := runeAt(s, i)
	return n == 0 || !(r == '_' || pyIsNameStart(r))
}

// quoted matches `Q(QQ|\\Q|[^Q])*Q` (withBackslash) or `Q(QQ|[^Q])*Q` at i, where s[i] == q, with the
// result Python's backtracking regex engine produces: the greedy scan ends at the first lone quote;
// if it runs off the end instead, the engine backs up to the last doubled or backslash-escaped quote
// and closes the string there.
func quoted(s string, i int, q byte, withBackslash bool) (int, bool) {
	last, lastKind := -1, byte(0)
	k := i + 1
	for k < len(s) {
		switch {
		case s[k] == q && k+1 < len(s) && s[k+1] == q:
			last, lastKind = k, q
			k += 2
		case withBackslash && s[k] == '\\' && k+1 < len(s) && s[k+1] == q:
			last, lastKind = k, '\\'
			k += 2
		case s[k] == q:
			return k + 1, true
		default:
			k++
		}
	}
	switch {
	case last < 0:
		return 0, false
	case lastKind == q:
		return last + 1, true // close with the first quote of the pair
	default:
		return last + 2, true // the backslash is an ordinary character, its quote closes
	}
}

// next returns the end and type of the token starting at i.
func (lx *lexer) next(i int) (int, ttype) {
	s := lx.s
	if end, typ, ok := lx.resolveSpan(i); ok {
		return end, typ
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	rest := s[i:]

	// Comments: `(--|# )\+?.*?(\r\n|\r|\n|$)`.
	if strings.HasPrefix(rest, "--") || strings.HasPrefix(rest, "# ") {
		typ := tCommentSingle
		if len(rest) > 2 && rest[2] == '+' {
			typ = tCommentSingleHint
		}
		k := strings.IndexAny(rest[2:], "\r\n")
		if k < 0 {
			return len(s), typ
		}
		end := i + 2 + k
		if s[end] == '\r' && end+1 < len(s) && s[end+1] == '\n' {
			return end + 2, typ
		}
		return end + 1, typ
	}
	switch {
	case strings.HasPrefix(rest, "\r\n"):
		return i + 2, tNewline
	case r == '\r' || r == '\n':
		return i + 1, tNewline
	case pyIsSpace(r):
		return i + n, tWhitespace // `\s+?` takes one character at a time
	case strings.HasPrefix(rest, ":="):
		return i + 2, tAssignment
	case strings.HasPrefix(rest, "::"):
		return i + 2, tPunct
	case r == '*':
		return i + 1, tWildcard
	case r == '`':
		if end, ok := quoted(s, i, '`', false); ok {
			return end, tName
		}
	case r == '´':
		if end, ok := quotedRune(s, i, '´'); ok {
			return end, tName
		}
	}
	if r == '?' {
		return i + 1, tNamePlaceholder
	}
	if r == '%' { // `%(\(\w+\))?s`
		k := i + 1
		if k < len(s) && s[k] == '(' {
			if w := scanWord(s, k+1); w > k+1 && w < len(s) && s[w] == ')' {
				if r2, n2 := runeAt(s, w+1); n2 > 0 && pyFoldEq(r2, 's') {
					return w + 1 + n2, tNamePlaceholder
				}
			}
		}
		if r2, n2 := runeAt(s, k); n2 > 0 && pyFoldEq(r2, 's') {
			return k + n2, tNamePlaceholder
		}
	}
	if (r == '$' || r == ':' || r == '?') && !pyIsWord(runeBefore(s, i)) { // `(?<!\w)[$:?]\w+`
		if w := scanWord(s, i+1); w > i+1 {
			return w, tNamePlaceholder
		}
	}
	if r == '\\' { // `\\\w+`
		if w := scanWord(s, i+1); w > i+1 {
			return w, tCommand
		}
	}
	// `(CASE|IN|VALUES|USING|FROM|AS)\b`
	if end, ok := anyWordsB(s, i, []string{"CASE"}, []string{"IN"}, []string{"VALUES"}, []string{"USING"}, []string{"FROM"}, []string{"AS"}); ok {
		return end, tKeyword
	}
	// `(@|##|#)[A-ZÀ-Ü]\w+`
	for _, p := range []string{"@", "##", "#"} {
		if strings.HasPrefix(rest, p) {
			k := i + len(p)
			if r2, n2 := runeAt(s, k); n2 > 0 && pyIsNameStart(r2) {
				if w := scanWord(s, k+n2); w > k+n2 {
					return w, tName
				}
			}
		}
	}
	if pyIsNameStart(r) {
		w := scanWord(s, i+n)
		// `[A-ZÀ-Ü]\w*(?=\s*\.(?!\d))`: a name followed by a dot (an entity, a table).
		if k := scanSpace(s, w); k < len(s) && s[k] == '.' {
			if r2, n2 := runeAt(s, k+1); n2 == 0 || !pyIsDigit(r2) {
				return w, tName
			}
		}
		// `(?<=\.)[A-ZÀ-Ü]\w*`: a name right after a dot (a key).
		if runeBefore(s, i) == '.' {
			return w, tName
		}
		// `[A-ZÀ-Ü]\w*(?=\()`: a function name.
		if w < len(s) && s[w] == '(' {
			return w, tName
		}
	}
	if end, typ, ok := lexNumber(s, i); ok {
		return end, typ
	}
	if r == '\'' {
		if end, ok := quoted(s, i, '\'', true); ok {
			return end, tStringSingle
		}
	}
	if r == '"' {
		// `"(""|\\"|[^"])*"`; sqlparse's second double-quote rule can only match where this one does.
		if end, ok := quoted(s, i, '"', true); ok {
			return end, tStringSymbol
		}
	}
	if r == '[' && !(pyIsWord(runeBefore(s, i)) || runeBefore(s, i) == ']' || runeBefore(s, i) == ')') {
		// `(?<![\w\])])(\[[^\]\[]+\])`: a bracketed (SQLite-style) name.
		k := i + 1
		for k < len(s) && s[k] != '[' && s[k] != ']' {
			k++
		}
		if k > i+1 && k < len(s) && s[k] == ']' {
			return k + 1, tName
		}
	}
	if end, ok := lexJoin(s, i); ok {
		return end, tKeyword
	}
	if end, ok := anyWordsB(s, i,
		[]string{"END", "IF"}, []string{"END", "LOOP"}, []string{"END", "WHILE"}, []string{"END", "FOR"},
		[]string{"END", "CASE"}, []string{"END"},
		[]string{"IF", "NOT", "EXISTS"}, []string{"IF", "EXISTS"},
		[]string{"NOT", "NULL"}); ok {
		return end, tKeyword
	}
	if end, ok := anyWordsB(s, i,
		[]string{"ASC", "NULLS", "FIRST"}, []string{"ASC", "NULLS", "LAST"}, []string{"ASC"},
		[]string{"DESC", "NULLS", "FIRST"}, []string{"DESC", "NULLS", "LAST"}, []string{"DESC"},
		[]string{"NULLS", "FIRST"}, []string{"NULLS", "LAST"}); ok {
		return end, tKeywordOrder
	}
	if end, ok := matchWordsB(s, i, "UNION", "ALL"); ok {
		return end, tKeyword
	}
	if end, ok := anyWordsB(s, i, []string{"CREATE", "OR", "REPLACE"}, []string{"CREATE"}); ok {
		return end, tKeywordDDL
	}
	if end, ok := matchWordsB(s, i, "DOUBLE", "PRECISION"); ok {
		return end, tNameBuiltin
	}
	if end, ok := anyWordsB(s, i, []string{"GROUP", "BY"}, []string{"ORDER", "BY"}, []string{"PRIMARY", "KEY"}, []string{"HANDLER", "FOR"}); ok {
		return end, tKeyword
	}
	if end, ok := lexGoN(s, i); ok {
		return end, tKeyword
	}
	if end, ok := lexLateralView(s, i); ok {
		return end, tKeyword
	}
	if end, ok := lexTZCast(s, i); ok {
		return end, tKeywordTZCast
	}
	// `(NOT\s+)?(LIKE|ILIKE|RLIKE)\b` and `(NOT\s+)?(REGEXP)(\s+(BINARY))?\b`
	if end, ok := anyWordsB(s, i,
		[]string{"NOT", "LIKE"}, []string{"NOT", "ILIKE"}, []string{"NOT", "RLIKE"},
		[]string{"LIKE"}, []string{"ILIKE"}, []string{"RLIKE"},
		[]string{"NOT", "REGEXP", "BINARY"}, []string{"NOT", "REGEXP"},
		[]string{"REGEXP", "BINARY"}, []string{"REGEXP"}); ok {
		return end, tOperatorComparison
	}
	// `\w[$#\w]*`, then the keyword dictionaries.
	if pyIsWord(r) {
		k := i + n
		for k < len(s) {
			r2, n2 := utf8.DecodeRuneInString(s[k:])
			if !(pyIsWord(r2) || r2 == '$' || r2 == '#') {
				break
			}
			k += n2
		}
		if typ, ok := sqlKeywords[pyUpper(s[i:k])]; ok {
			return k, typ
		}
		return k, tName
	}
	switch r {
	case ';', ':', '(', ')', '[', ']', ',', '.':
		return i + 1, tPunct
	}
	// `(\->>?|#>>?|@>|<@|\?\|?|\?&|\-|#\-)`
	switch {
	case strings.HasPrefix(rest, "->>"), strings.HasPrefix(rest, "#>>"):
		return i + 3, tOperator
	case strings.HasPrefix(rest, "->"), strings.HasPrefix(rest, "#>"), strings.HasPrefix(rest, "@>"),
		strings.HasPrefix(rest, "<@"), strings.HasPrefix(rest, "#-"):
		return i + 2, tOperator
	case r == '-':
		return i + 1, tOperator
	}
	if strings.IndexByte("<>=~!", byte(r)) >= 0 && r < 0x80 {
		k := i
		for k < len(s) && strings.IndexByte("<>=~!", s[k]) >= 0 {
			k++
		}
		return k, tOperatorComparison
	}
	if strings.IndexByte("+/@#%^&|-", byte(r)) >= 0 && r < 0x80 {
		k := i
		for k < len(s) && strings.IndexByte("+/@#%^&|-", s[k]) >= 0 {
			k++
		}
		return k, tOperator
	}
	return i + n, tError
}

// quotedRune is quoted() for a non-ASCII delimiter without backslash escapes (sqlparse's `´…´` names).
func quotedRune(s string, i int, q rune) (int, bool) {
	qn := utf8.RuneLen(q)
	last := -1
	k := i + qn
	for k < len(s) {
		r, n := utf8.DecodeRuneInString(s[k:])
		if r == q {
			if r2, _ := runeAt(s, k+n); r2 == q {
				last = k
				k += 2 * n
				continue
			}
			return k + n, true
		}
		k += n
	}
	if last < 0 {
		return 0, false
	}
	return last + qn, true
}

// lexNumber matches sqlparse's number rules at i: hexadecimal `-?0x[\dA-F]+`, exponent floats
// `-?\d+(\.\d+)?E-?\d+`, decimal floats `-?(\d+(\.\d*)|\.\d+)` and integers `-?\d+`, the last two
// not followed by a letter or '_' (Python backtracks digit by digit to satisfy that).
func lexNumber(s string, i int) (int, ttype, bool) {
	if s[i] == '-' {
		i++
	}
	// Hexadecimal.
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') {
		k := i + 2
		for k < len(s) {
			r, n := utf8.DecodeRuneInString(s[k:])
			if !(pyIsDigit(r) || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				break
			}
			k += n
		}
		if k > i+2 {
			return k, tNumberHex, true
		}
	}
	d1 := scanDigits(s, i)
	// Exponent float.
	if d1 > i {
		k := d1
		if k < len(s) && s[k] == '.' {
			if d2 := scanDigits(s, k+1); d2 > k+1 {
				if end, ok := exponent(s, d2); ok {
					return end, tNumberFloat, true
				}
			}
		}
		if end, ok := exponent(s, d1); ok {
			return end, tNumberFloat, true
		}
	}
	// Decimal float: digits '.' digits*, or '.' digits+.
	if d1 > i && d1 < len(s) && s[d1] == '.' {
		d2 := scanDigits(s, d1+1)
		if notNameStartAt(s, d2) {
			return d2, tNumberFloat, true
		}
		if d2 > d1+1 {
			return lastRuneStart(s, d2), tNumberFloat, true
		}
	} else if d1 == i && i < len(s) && s[i] == '.' {
		d2 := scanDigits(s, i+1)
		if d2 > i+1 {
			if notNameStartAt(s, d2) {
				return d2, tNumberFloat, true
			}
			if last := lastRuneStart(s, d2); last > i+1 {
				return last, tNumberFloat, true
			}
		}
	}
	// Integer.
	if d1 > i {
		if notNameStartAt(s, d1) {
			return d1, tNumberInteger, true
		}
		if last := lastRuneStart(s, d1); last > i {
			return last, tNumberInteger, true
		}
	}
	return 0, 0, false
}

// exponent matches `E-?\d+` at i.
func exponent(s string, i int) (int, bool) {
	if i >= len(s) || (s[i] != 'e' && s[i] != 'E') {
		return 0, false
	}
	k := i + 1
	if k < len(s) && s[k] == '-' {
		if d := scanDigits(s, k+1); d > k+1 {
			return d, true
		}
	}
	if d := scanDigits(s, k); d > k {
		return d, true
	}
	return 0, false
}

// lexJoin matches `((LEFT\s+|RIGHT\s+|FULL\s+)?(INNER\s+|OUTER\s+|STRAIGHT\s+)?|(CROSS\s+|NATURAL\s+)?)?JOIN\b`.
func lexJoin(s string, i int) (int, bool) {
	prefix := func(i int, words ...string) (int, bool) {
		for _, w := range words {
			if end, ok := matchFold(s, i, w); ok {
				if k := scanSpace(s, end); k > end {
					return k, true
				}
			}
		}
		return 0, false
	}
	join := func(i int) (int, bool) { return matchWordsB(s, i, "JOIN") }
	if k1, ok := prefix(i, "LEFT", "RIGHT", "FULL"); ok {
		if k2, ok := prefix(k1, "INNER", "OUTER", "STRAIGHT"); ok {
			if end, ok := join(k2); ok {
				return end, true
			}
		}
		if end, ok := join(k1); ok {
			return end, true
		}
	}
	if k2, ok := prefix(i, "INNER", "OUTER", "STRAIGHT"); ok {
		if end, ok := join(k2); ok {
			return end, true
		}
	}
	if end, ok := join(i); ok {
		return end, true
	}
	if k, ok := prefix(i, "CROSS", "NATURAL"); ok {
		if end, ok := join(k); ok {
			return end, true
		}
	}
	return 0, false
}

// lexGoN matches `GO(\s\d+)\b`.
func lexGoN(s string, i int) (int, bool) {
	k, ok := matchFold(s, i, "GO")
	if !ok {
		return 0, false
	}
	r, n := runeAt(s, k)
	if n == 0 || !pyIsSpace(r) {
		return 0, false
	}
	d := scanDigits(s, k+n)
	if d == k+n || isWordAt(s, d) {
		return 0, false
	}
	return d, true
}

// lexLateralView matches `(LATERAL\s+VIEW\s+)(EXPLODE|INLINE|PARSE_URL_TUPLE|POSEXPLODE|STACK)\b`.
func lexLateralView(s string, i int) (int, bool) {
	for _, w := range []string{"EXPLODE", "INLINE", "PARSE_URL_TUPLE", "POSEXPLODE", "STACK"} {
		if end, ok := matchWordsB(s, i, "LATERAL", "VIEW", w); ok {
			return end, true
		}
	}
	return 0, false
}

// lexTZCast matches `(AT|WITH')\s+TIME\s+ZONE\s+'[^']+'` (sic: sqlparse's WITH carries a quote).
func lexTZCast(s string, i int) (int, bool) {
	k, ok := matchFold(s, i, "AT")
	if !ok {
		if k, ok = matchFold(s, i, "WITH"); !ok || k >= len(s) || s[k] != '\'' {
			return 0, false
		}
		k++
	}
	for _, w := range []string{"TIME", "ZONE"} {
		j := scanSpace(s, k)
		if j == k {
			return 0, false
		}
		if k, ok = matchFold(s, j, w); !ok {
			return 0, false
		}
	}
	j := scanSpace(s, k)
	if j == k || j >= len(s) || s[j] != '\'' {
		return 0, false
	}
	e := strings.IndexByte(s[j+1:], '\'')
	if e <= 0 {
		return 0, false
	}
	return j + 1 + e + 1, true
}
