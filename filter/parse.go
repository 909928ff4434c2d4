package filter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// KeyKind is what a filter or order_by key refers to.
type KeyKind string

// The kinds of keys MLflow's run search knows, spelled as MLflow's parser reports them.
const (
	Metric    KeyKind = "metric"
	Param     KeyKind = "parameter"
	Tag       KeyKind = "tag"
	Attribute KeyKind = "attribute"
	Dataset   KeyKind = "dataset"
)

// Filter is a parsed run-search filter: the AND of its clauses. The zero Filter matches every run.
type Filter struct {
	Clauses []Clause
}

// Clause is one comparison of a filter.
type Clause struct {
	Kind KeyKind
	// Key is the metric, param or tag key, the attribute name, or the dataset field, with quotes and
	// backticks removed and MLflow's aliases resolved: "created"/"Created" become "start_time" and
	// "run name"/"Run name"/"Run Name" become "run_name" — for every kind, as MLflow does, so
	// `params.created` names the param "start_time".
	Key string
	// Alias is the key as written when it was an alias ("" otherwise).
	Alias string
	// Op is the comparator, upper-cased: = != > >= < <= LIKE ILIKE IN NOT IN IS NULL IS NOT NULL.
	Op string
	// Value is float64 for metrics; int64 or float64 for start_time/end_time (as written); string for
	// params, tags, string attributes and datasets; []string for IN and NOT IN; nil for IS [NOT] NULL.
	Value any
	// Pos is the byte offset of the clause in the filter string.
	Pos int

	// dialect selects Match's semantics (ParseFor).
	dialect Dialect
	// problem is a check that failed but that the dialect's store makes only when it evaluates
	// the clause on a run (FileStore); Search reports it then.
	problem error
}

// SyntaxError is a filter or order_by clause that MLflow would reject, with the position of the
// problem.
type SyntaxError struct {
	// Source names what was parsed: "filter" or "order_by[i]".
	Source string
	// Input is the text that was parsed.
	Input string
	// Pos is the byte offset in Input where the problem is.
	Pos int
	// Msg says what is wrong and what was expected.
	Msg string
}

// Error renders the message, the position, and the input with a caret under the problem.
func (e *SyntaxError) Error() string {
	line, col := caretLine(e.Input, e.Pos)
	return fmt.Sprintf("%s: %s at position %d:\n  %s\n  %s^", e.Source, e.Msg, e.Pos, line, strings.Repeat(" ", col))
}

// caretLine returns a one-line rendering of s around byte offset pos and the column of pos in it.
// Control characters are shown as spaces so that the caret lines up; long inputs are cut to a window.
func caretLine(s string, pos int) (string, int) {
	if pos > len(s) {
		pos = len(s)
	}
	const window = 60
	var runes []rune
	col := -1
	for i, r := range s {
		if i >= pos && col < 0 {
			col = len(runes)
		}
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 {
			r = ' '
		}
		runes = append(runes, r)
	}
	if col < 0 {
		col = len(runes)
	}
	start, end := 0, len(runes)
	prefix, suffix := "", ""
	if col > window {
		start = col - window
		prefix = "…"
	}
	if end-col > window {
		end = col + window
		suffix = "…"
	}
	return prefix + string(runes[start:end]) + suffix, col - start + utf8.RuneCountInString(prefix)
}

func syntaxErr(input string, pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Source: "filter", Input: input, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Entity prefixes MLflow accepts (case-sensitive), and the kind each one means.
var entityKinds = map[string]KeyKind{
	"metric": Metric, "metrics": Metric,
	"parameter": Param, "parameters": Param, "param": Param, "params": Param,
	"tag": Tag, "tags": Tag,
	"attribute": Attribute, "attributes": Attribute, "attr": Attribute, "run": Attribute,
	"dataset": Dataset, "datasets": Dataset,
}

// Attribute names. Searchable and orderable attributes are the same set in MLflow 3.18, plus the
// aliases; the spaced run-name aliases are valid in filters only.
var (
	numericAttributes = map[string]bool{"start_time": true, "end_time": true, "created": true, "Created": true}
	searchAttributes  = map[string]bool{
		"artifact_uri": true, "end_time": true, "run_id": true, "run_name": true, "start_time": true,
		"status": true, "user_id": true, "created": true, "Created": true,
		"run name": true, "Run name": true, "Run Name": true,
	}
	orderAttributes = map[string]bool{
		"artifact_uri": true, "end_time": true, "run_id": true, "run_name": true, "start_time": true,
		"status": true, "user_id": true, "created": true, "Created": true,
	}
	datasetFields = map[string]bool{"name": true, "digest": true, "context": true}
)

const attributeList = "run_id, run_name, status, user_id, artifact_uri, start_time, end_time, created"

// translateAlias maps MLflow's key aliases to the attribute they stand for (applied to every kind).
func translateAlias(key string) string {
	switch key {
	case "created", "Created":
		return "start_time"
	case "run name", "Run name", "Run Name":
		return "run_name"
	}
	return key
}

// Comparators each kind accepts (checked by MLflow's stores when they run the search).
var (
	metricOps          = []string{"=", "!=", ">", ">=", "<", "<="}
	paramTagOps        = []string{"=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"}
	stringAttributeOps = []string{"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"}
	numericAttrOps     = metricOps
	datasetOps         = stringAttributeOps
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Parse parses a run-search filter with MLflow 3.18's grammar and meaning. The empty string is the
// empty filter; anything MLflow rejects — including a filter of only whitespace, which MLflow cannot
// parse — returns a *SyntaxError.
//
// What MLflow accepts: clauses `key op value`, `key IN (...)`, `key NOT IN (...)`, `key IS NULL`,
// `key IS NOT NULL`, separated by AND (any case). MLflow does not require the AND: it only refuses
// tokens that are neither clauses nor AND, so `a = 1 b = 2` and `AND a = 1` are accepted, and so
// is a filter consisting of AND alone (matching every run). Keys are `entity.key` (entity one of
// metric(s), param(s)/parameter(s), tag(s), attribute(s)/attr/run, dataset(s), case-sensitive, split
// at the first dot) or a bare attribute name; keys may be quoted with backticks, double or single
// quotes. String values need single or double quotes (no escapes: the quotes are just removed);
// metric and start_time/end_time values are unquoted numbers.
func Parse(s string) (Filter, error) {
	return parse(SQLStore, s)
}

func parse(d Dialect, s string) (Filter, error) {
	if s == "" {
		return Filter{}, nil
	}
	if !utf8.ValidString(s) {
		return Filter{}, syntaxErr(s, invalidUTF8At(s), "the filter is not valid UTF-8")
	}
	stmt, err := parseStatement(s, "filter")
	if err != nil {
		return Filter{}, err
	}
	top := joinInComparisons(stmt.kids)
	for i, t := range top {
		if !(t.class == gComparison || t.is(tKeyword, "AND")) {
			return Filter{}, diagnoseTopLevel(s, top, i)
		}
	}
	var f Filter
	for _, t := range top {
		if t.class != gComparison {
			continue
		}
		c, err := comparison(d, s, t)
		if err != nil {
			return Filter{}, err
		}
		c.dialect = d
		f.Clauses = append(f.Clauses, c)
	}
	// The stores check comparators when they run the search, after parsing every clause. The SQL
	// store checks every clause before it runs the query, so mltrack reports those problems at
	// parse time; the file store checks a clause when it evaluates it on a run, so they wait for
	// Search.
	for i := range f.Clauses {
		if err := checkClause(d, s, top, &f.Clauses[i]); err != nil {
			if d != FileStore {
				return Filter{}, err
			}
			f.Clauses[i].problem = err
		}
	}
	return f, nil
}

func invalidUTF8At(s string) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return 0
}

// parseStatement tokenizes and groups s as sqlparse would for one statement.
func parseStatement(s, source string) (stmt *node, err error) {
	toks, tooLong := tokenize(s)
	if tooLong >= 0 {
		what := strings.SplitN(source, "[", 2)[0]
		return nil, &SyntaxError{Source: source, Input: s, Pos: tooLong,
			Msg: fmt.Sprintf("the %s has more than %d tokens, more than MLflow's parser accepts", what, maxGroupingTokens)}
	}
	blank := true
	for _, t := range toks {
		if !t.typ.isWhitespace() {
			blank = false
			break
		}
	}
	if blank {
		if source == "filter" {
			return nil, &SyntaxError{Source: source, Input: s, Pos: 0,
				Msg: "the filter is blank (MLflow cannot parse whitespace only); use an empty string to match every run"}
		}
		return nil, &SyntaxError{Source: source, Input: s, Pos: 0, Msg: "the order_by clause is empty; expected a key such as metrics.loss, optionally followed by ASC or DESC"}
	}
	stmt = &node{class: gStatement, src: s, pos: 0, end: len(s), kids: toks}
	defer func() {
		if r := recover(); r != nil {
			tc, ok := r.(tooComplex)
			if !ok {
				panic(r)
			}
			stmt = nil
			err = &SyntaxError{Source: source, Input: s, Pos: tc.pos,
				Msg: fmt.Sprintf("the %s is too deeply nested or too long for MLflow's parser (at most %d levels of nesting and %d tokens per level)", strings.SplitN(source, "[", 2)[0], maxGroupingDepth, maxGroupingTokens)}
		}
	}()
	group(stmt)
	return stmt, nil
}

// joinInComparisons is MLflow's _join_in_comparison_tokens: at the top level it turns
// `identifier IN (...)`, `identifier NOT IN (...)`, `identifier IS NULL` and `identifier IS NOT
// NULL` into comparisons (sqlparse does not group those), looking at the non-whitespace tokens in
// steps of up to four exactly as MLflow does. It drops whitespace.
func joinInComparisons(kids []*node) []*node {
	var toks []*node
	for _, k := range kids {
		if k.isGroup() || !k.typ.isWhitespace() {
			toks = append(toks, k)
		}
	}
	var out []*node
	n := len(toks)
	for i := 0; i < n; {
		first := toks[i]
		if n-i < 3 {
			out = append(out, toks[i:]...)
			break
		}
		i++
		if first.class != gIdentifier {
			out = append(out, first)
			continue
		}
		second, third := toks[i], toks[i+1]
		i += 2
		join := func(op *node, value *node) *node {
			c := &node{class: gComparison, pos: first.pos, end: first.end, src: first.src, kids: []*node{first, op}}
			if value != nil {
				c.kids = append(c.kids, value)
				c.end = value.end
			} else {
				c.end = third.end
			}
			return c
		}
		synth := func(text string, at *node) *node {
			return &node{typ: tKeyword, pos: at.pos, end: at.end, src: at.src, synth: text}
		}
		if second.is(tKeyword, "IN") && third.class == gParenthesis {
			out = append(out, join(second, third))
			continue
		}
		if second.is(tKeyword, "IS") && third.is(tKeyword, "NULL") {
			out = append(out, join(synth("IS NULL", second), nil))
			continue
		}
		if second.is(tKeyword, "IS") && third.typIn(tKeyword) && pyUpper(third.text()) == "NOT NULL" {
			out = append(out, join(synth("IS NOT NULL", second), nil))
			continue
		}
		if i >= n {
			out = append(out, first, second, third)
			break
		}
		fourth := toks[i]
		i++
		if second.is(tKeyword, "NOT") && third.is(tKeyword, "IN") && fourth.class == gParenthesis {
			out = append(out, join(synth("NOT IN", second), fourth))
			continue
		}
		out = append(out, first, second, third, fourth)
	}
	return out
}

// comparison turns one comparison group into a clause, with MLflow's checks (_get_comparison).
func comparison(d Dialect, s string, c *node) (Clause, error) {
	var toks []*node
	for _, k := range c.kids {
		if k.isGroup() || !k.typ.isWhitespace() {
			toks = append(toks, k)
		}
	}
	if len(toks) == 2 { // IS NULL / IS NOT NULL
		op := pyUpper(toks[1].text())
		kind, key, alias, err := identifier(s, toks[0], searchAttributes, "filter")
		if err != nil {
			return Clause{}, err
		}
		if kind != Tag && kind != Param {
			return Clause{}, syntaxErr(s, toks[1].pos, "%s is only supported for params and tags, not for %s %q", op, kindName(kind), displayKey(key, alias))
		}
		return Clause{Kind: kind, Key: key, Alias: alias, Op: op, Pos: c.pos}, nil
	}
	if len(toks) != 3 {
		bad := toks[len(toks)-1]
		return Clause{}, syntaxErr(s, bad.pos, "unexpected %s inside the clause %q", describe(bad), c.text())
	}
	left, opTok, right := toks[0], toks[1], toks[2]
	if left.class != gIdentifier {
		return Clause{}, badKeyError(s, left, opTok)
	}
	kind, key, alias, err := identifier(s, left, searchAttributes, "filter")
	if err != nil {
		return Clause{}, err
	}
	cl := Clause{Kind: kind, Key: key, Alias: alias, Op: opTok.text(), Pos: c.pos}
	after := fmt.Sprintf("%q", left.text()+" "+opTok.text())
	rawKey := key // aliases are resolved later, in checkClause, as the store does
	switch kind {
	case Metric:
		if !right.typIn(tNumberInteger, tNumberFloat) {
			return Clause{}, valueError(s, right, "expected a number (unquoted, e.g. 0.5) after "+after+"; metric values are numbers")
		}
		v, err := parseFloat(right.text())
		if err != nil {
			return Clause{}, syntaxErr(s, right.pos, "%v", err)
		}
		cl.Value = v
	case Param, Tag:
		if !(right.typIn(tStringSingle) || right.class == gIdentifier) {
			return Clause{}, valueError(s, right, "expected a quoted string value after "+after+" (e.g. 'abc'); "+kindName(kind)+" values are strings")
		}
		v, ok := stripQuotes(right.text())
		if !ok {
			return Clause{}, valueError(s, right, "expected a quoted string value after "+after+": use single or double quotes, e.g. 'abc'")
		}
		cl.Value = v
	case Attribute:
		switch {
		case numericAttributes[rawKey]:
			switch {
			case right.typIn(tNumberInteger):
				v, err := strconv.ParseInt(asciiDigits(right.text()), 10, 64)
				if err != nil && d == FileStore {
					cl.Value = hugeInt(asciiDigits(right.text())) // Python compares big integers
					break
				}
				if err != nil {
					// Python reads any size; the SQL store then fails to bind it.
					return Clause{}, syntaxErr(s, right.pos, "%s is out of range for %s (a 64-bit integer of epoch milliseconds)", right.text(), displayKey(key, alias))
				}
				cl.Value = v
			case right.typIn(tNumberFloat):
				v, err := parseFloat(right.text())
				if err != nil {
					return Clause{}, syntaxErr(s, right.pos, "%v", err)
				}
				cl.Value = v
			default:
				return Clause{}, valueError(s, right, "expected a number (epoch milliseconds, unquoted) after "+after)
			}
		case right.typIn(tStringSingle) || right.class == gIdentifier:
			v, ok := stripQuotes(right.text())
			if !ok {
				return Clause{}, valueError(s, right, "expected a quoted string value after "+after+": use single or double quotes, e.g. 'abc'")
			}
			cl.Value = v
		case right.class == gParenthesis:
			if rawKey != "run_id" {
				return Clause{}, syntaxErr(s, right.pos, "only run_id (and datasets.name, digest, context) accept a list of quoted strings, not %q", displayKey(key, alias))
			}
			v, err := listValue(s, right, after)
			if err != nil {
				return Clause{}, err
			}
			cl.Value = v
		default:
			return Clause{}, valueError(s, right, "expected a quoted string value after "+after+" (e.g. 'abc')")
		}
	case Dataset:
		switch {
		case right.typIn(tStringSingle) || right.class == gIdentifier:
			v, ok := stripQuotes(right.text())
			if !ok {
				return Clause{}, valueError(s, right, "expected a quoted string value after "+after+": use single or double quotes, e.g. 'abc'")
			}
			cl.Value = v
		case right.class == gParenthesis:
			v, err := listValue(s, right, after)
			if err != nil {
				return Clause{}, err
			}
			cl.Value = v
		default:
			return Clause{}, valueError(s, right, "expected a quoted string value after "+after+" (e.g. 'abc')")
		}
	}
	return cl, nil
}

func listValue(s string, paren *node, after string) ([]string, error) {
	v, err := literalStrings(paren.text())
	if err != nil {
		var le *literalError
		pos := paren.pos
		msg := err.Error()
		if errors.As(err, &le) {
			pos += le.pos
		}
		return nil, syntaxErr(s, pos, "expected a non-empty list of quoted strings after %s, e.g. ('a', 'b'): %s", after, msg)
	}
	return v, nil
}

// checkClause applies the checks MLflow's stores make when they run the search: the comparator
// must suit the key, and a list needs IN or NOT IN. It resolves aliases and upper-cases the
// comparator first, even when a check fails, because the file store dialect keeps such a clause
// (its error is raised when a run reaches it). In that dialect = and != with a list are not errors:
// Python compares a string with the list.
func checkClause(d Dialect, s string, top []*node, c *Clause) error {
	op := pyUpper(c.Op)
	opPos := c.Pos
	for _, t := range top {
		if t.class == gComparison && t.pos == c.Pos {
			for _, k := range t.kids[1:] {
				if k.isGroup() || !k.typ.isWhitespace() {
					opPos = k.pos
					break
				}
			}
		}
	}
	raw := c.Key
	c.Key = translateAlias(c.Key)
	if c.Key != raw {
		c.Alias = raw
	}
	var allowed []string
	switch c.Kind {
	case Metric:
		allowed = metricOps
	case Param, Tag:
		allowed = paramTagOps
	case Attribute:
		if numericAttributes[c.Key] {
			allowed = numericAttrOps
		} else {
			allowed = stringAttributeOps
		}
	case Dataset:
		allowed = datasetOps
	}
	written := c.Op
	c.Op = op
	if !contains(allowed, op) {
		return syntaxErr(s, opPos, "comparator %q is not allowed for %s %q; expected one of %s", written, kindName(c.Kind), displayKey(c.Key, c.Alias), strings.Join(allowed, ", "))
	}
	_, isList := c.Value.([]string)
	if isList && op != "IN" && op != "NOT IN" {
		switch {
		case d != FileStore:
			return syntaxErr(s, opPos, "a parenthesized list needs IN or NOT IN, not %q", op)
		case (op == "LIKE" || op == "ILIKE") && c.Kind == Attribute:
			// Python's re.escape fails on the list; for datasets the file store compares nothing.
			return syntaxErr(s, opPos, "%s needs a quoted string pattern, not a parenthesized list", op)
		}
	}
	return nil
}

// identifier splits a key into kind and key with MLflow's rules (_get_identifier): split at the
// first dot; the entity must be one of the known prefixes (backticks allowed); the key loses one
// pair of surrounding quotes, then one pair of backticks; no prefix means an attribute.
func identifier(s string, tok *node, attrs map[string]bool, what string) (KeyKind, string, string, error) {
	text := tok.text()
	return splitIdentifier(s, tok.pos, text, attrs, what)
}

func splitIdentifier(s string, pos int, text string, attrs map[string]bool, what string) (KeyKind, string, string, error) {
	entity, key, dotted := strings.Cut(text, ".")
	kind := Attribute
	if !dotted {
		key = text
	} else {
		e := trimBackticks(entity)
		k, ok := entityKinds[e]
		if !ok {
			return "", "", "", &SyntaxError{Source: what, Input: s, Pos: pos,
				Msg: fmt.Sprintf("unknown entity type %q in %q; expected metrics., params., tags., attributes. or datasets. (lower case; singular forms work too)", e, text)}
		}
		kind = k
		if q, ok := stripQuotes(key); ok {
			key = q
		}
		key = trimBackticks(key)
	}
	if !dotted {
		if q, ok := stripQuotes(key); ok {
			key = q
		}
		key = trimBackticks(key)
	}
	switch kind {
	case Attribute:
		if !attrs[key] {
			list := attributeList
			if what == "filter" {
				list += ", `run name`"
			}
			return "", "", "", &SyntaxError{Source: what, Input: s, Pos: pos,
				Msg: fmt.Sprintf("unknown attribute %q; expected one of %s, or a key prefixed with metrics., params. or tags.", key, list)}
		}
	case Dataset:
		if !datasetFields[key] {
			return "", "", "", &SyntaxError{Source: what, Input: s, Pos: pos,
				Msg: fmt.Sprintf("unknown dataset field %q; expected datasets.name, datasets.digest or datasets.context", key)}
		}
	}
	return kind, key, "", nil
}

func isQuoted(v string, q byte) bool {
	return len(v) >= 2 && v[0] == q && v[len(v)-1] == q
}

// stripQuotes removes one pair of surrounding single or double quotes (no unescaping).
func stripQuotes(v string) (string, bool) {
	if isQuoted(v, '\'') || isQuoted(v, '"') {
		return v[1 : len(v)-1], true
	}
	return v, false
}

func trimBackticks(v string) string {
	if isQuoted(v, '`') {
		return v[1 : len(v)-1]
	}
	return v
}

// parseFloat reads a number token as Python's float() does (any decimal digits; overflow is ±Inf).
func parseFloat(text string) (float64, error) {
	v, err := strconv.ParseFloat(asciiDigits(text), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return v, nil
		}
		return 0, fmt.Errorf("cannot read %q as a number", text)
	}
	return v, nil
}

func kindName(k KeyKind) string {
	switch k {
	case Metric:
		return "metrics"
	case Param:
		return "params"
	case Tag:
		return "tags"
	case Dataset:
		return "datasets"
	}
	return "attribute"
}

func displayKey(key, alias string) string {
	if alias != "" {
		return alias
	}
	return key
}

// valueError reports a bad value token, pointing at it (or at the end of the input).
func valueError(s string, tok *node, msg string) error {
	pos := len(s)
	if tok != nil {
		pos = tok.pos
	}
	return syntaxErr(s, pos, "%s", msg)
}

// badKeyError reports a comparison whose left side is not a key.
func badKeyError(s string, left, op *node) error {
	msg := fmt.Sprintf("expected a key such as metrics.loss or params.name before %q, found %s", op.text(), describe(left))
	if left.class == gOperation {
		msg += "; keys with special characters must be quoted with backticks, e.g. metrics.`my-key`"
	}
	return syntaxErr(s, left.pos, "%s", msg)
}

// describe names a token for an error message.
func describe(n *node) string {
	t := n.text()
	if len(t) > 40 {
		t = t[:40] + "…"
	}
	switch {
	case n.class == gParenthesis:
		return fmt.Sprintf("parentheses %q", t)
	case n.class == gComment || !n.isGroup() && n.typ.isComment():
		return "a comment"
	case n.class == gFunction:
		return fmt.Sprintf("a function call %q", t)
	case n.class == gOperation:
		return fmt.Sprintf("an expression %q", t)
	case n.isGroup():
		return fmt.Sprintf("%q", t)
	case n.typ.isKeyword():
		return fmt.Sprintf("the keyword %s", pyUpper(t))
	case n.typ == tStringSingle || n.typ == tStringSymbol:
		return fmt.Sprintf("the string %s", t)
	case n.typ.isNumber():
		return fmt.Sprintf("the number %s", t)
	}
	return fmt.Sprintf("%q", t)
}

// diagnoseTopLevel explains the first top-level token MLflow would refuse ("Invalid clause(s) in
// filter string"), using the tokens around it to say what was expected.
func diagnoseTopLevel(s string, top []*node, i int) error {
	bad := top[i]
	var next, next2 *node
	if i+1 < len(top) {
		next = top[i+1]
	}
	if i+2 < len(top) {
		next2 = top[i+2]
	}
	switch {
	case bad.is(tKeyword, "OR"):
		return syntaxErr(s, bad.pos, "OR is not supported; MLflow filters can only combine clauses with AND (run several searches instead)")
	case bad.is(tKeyword, "NOT"):
		return syntaxErr(s, bad.pos, "NOT is only supported in NOT IN (...) and IS NOT NULL")
	case bad.class == gParenthesis:
		return syntaxErr(s, bad.pos, "parentheses are not supported around clauses; MLflow filters are clauses joined by AND")
	case bad.is(tPunct, ";"):
		return syntaxErr(s, bad.pos, "';' is not allowed; a filter is a single expression")
	case bad.is(tPunct, ","):
		return syntaxErr(s, bad.pos, "unexpected ','; lists are only allowed in parentheses after IN, e.g. run_id IN ('a', 'b')")
	case bad.class == gComment || !bad.isGroup() && bad.typ.isComment():
		return syntaxErr(s, bad.pos, "comments are not allowed in a filter")
	case !bad.isGroup() && bad.typ == tError && (bad.text() == "'" || bad.text() == "\""):
		return syntaxErr(s, bad.pos, "unterminated quoted string; close it with %s", bad.text())
	case !bad.isGroup() && bad.typ == tError:
		return syntaxErr(s, bad.pos, "unexpected character %q", bad.text())
	case bad.class == gIdentifier && len(bad.kids) > 0 && bad.kids[0].class == gComparison:
		// sqlparse turned "clause word" into an alias; the word is what is unexpected.
		_, extra := bad.tokenNext(0)
		if extra == nil {
			extra = bad
		}
		return syntaxErr(s, extra.pos, "expected AND or the end of the filter after %q, found %s", bad.kids[0].text(), describe(extra))
	case bad.class == gIdentifier:
		key := bad.text()
		if next2 != nil && !next2.isGroup() && next2.typ == tError && (next2.text() == "'" || next2.text() == "\"") {
			return syntaxErr(s, next2.pos, "unterminated quoted string; close it with %s", next2.text())
		}
		switch {
		case next == nil:
			return syntaxErr(s, bad.end, "expected a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS NULL, ...) after %q", key)
		case next.typIn(tOperatorComparison):
			return valueError(s, next2, fmt.Sprintf("expected a value after %q: %s", key+" "+next.text(), expectedValue(s, bad)))
		case next.is(tKeyword, "IS"):
			return valueError(s, next2, fmt.Sprintf("expected NULL or NOT NULL after %q", key+" IS"))
		case next.is(tKeyword, "IN"):
			return valueError(s, next2, fmt.Sprintf("expected a parenthesized list of quoted strings after %q, e.g. ('a', 'b')", key+" IN"))
		case next.is(tKeyword, "NOT"):
			if next2 != nil && next2.is(tKeyword, "IN") {
				var v *node
				if i+3 < len(top) {
					v = top[i+3]
				}
				return valueError(s, v, fmt.Sprintf("expected a parenthesized list of quoted strings after %q, e.g. ('a', 'b')", key+" NOT IN"))
			}
			return valueError(s, next2, fmt.Sprintf("expected IN (...) after %q", key+" NOT"))
		case next.class == gComparison || next.class == gIdentifier || next.class == gOperation:
			return syntaxErr(s, next.pos, "expected a comparison after %q, found %s; keys with spaces or special characters must be quoted with backticks, e.g. params.`my key`", key, describe(next))
		}
		return syntaxErr(s, next.pos, "expected a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS NULL, ...) after %q, found %s", key, describe(next))
	case !bad.isGroup() && bad.typ == tOperatorComparison:
		return syntaxErr(s, bad.pos, "expected a key such as metrics.loss or params.name before %q", bad.text())
	}
	return syntaxErr(s, bad.pos, "unexpected %s; expected a clause such as metrics.loss < 0.5 or params.name = 'x', or AND", describe(bad))
}

// expectedValue says what value the key written in tok takes, for error messages.
func expectedValue(s string, tok *node) string {
	kind, key, _, err := identifier(s, tok, searchAttributes, "filter")
	switch {
	case err != nil:
		return "a quoted string such as 'abc' or a number"
	case kind == Metric:
		return "an unquoted number such as 0.5"
	case kind == Attribute && numericAttributes[key]:
		return "an unquoted number of epoch milliseconds"
	}
	return "a quoted string such as 'abc'"
}
