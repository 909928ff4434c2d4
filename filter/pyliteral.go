package filter

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MLflow turns the parenthesized list after IN into values with Python's ast.literal_eval on the
// list's raw text, so `IN ('a', "b")`, `IN ('a',)`, `IN ('a' 'b')` (implicit concatenation: 'ab'),
// `IN ('a\n')` (a Python escape), `IN (r'\d')`, comments and line breaks inside the parentheses all
// follow Python's rules, not SQL's: notably `''` inside a listed string is NOT an escaped quote but
// two adjacent strings. literalStrings evaluates that subset of Python: the result must be a string
// or a non-empty tuple of strings, everything else is an error, as in MLflow.

// literalError is a problem in the list, at a byte offset relative to the list text.
type literalError struct {
	pos int
	msg string
}

func (e *literalError) Error() string { return e.msg }

// literalStrings evaluates text (which starts with '(') like ast.literal_eval and returns the
// strings of the resulting string or tuple of strings.
func literalStrings(text string) ([]string, error) {
	if strings.IndexByte(text, 0) >= 0 {
		return nil, &literalError{strings.IndexByte(text, 0), "the list contains a NUL character"}
	}
	p := &pyParser{s: text}
	v, err := p.expr()
	if err != nil {
		return nil, err
	}
	// After the list, Python allows only blank lines and comments.
	for {
		if err := p.skip(false); err != nil {
			return nil, err
		}
		if nl := newlineLen(p.s, p.i); nl > 0 {
			p.i += nl
			continue
		}
		break
	}
	if p.i < len(p.s) {
		return nil, &literalError{p.i, fmt.Sprintf("unexpected %q after the list", p.rest())}
	}
	if v.isStr {
		return []string{v.s}, nil
	}
	if len(v.items) == 0 {
		return nil, &literalError{0, "the list is empty"}
	}
	out := make([]string, 0, len(v.items))
	for _, it := range v.items {
		if !it.isStr {
			return nil, &literalError{it.pos, "the list may only hold quoted strings, not a nested list"}
		}
		out = append(out, it.s)
	}
	return out, nil
}

type pyValue struct {
	isStr bool
	s     string
	items []pyValue
	pos   int
}

type pyParser struct {
	s     string
	i     int
	depth int
}

func (p *pyParser) rest() string {
	r := p.s[p.i:]
	if len(r) > 20 {
		r = r[:20] + "…"
	}
	return r
}

// skip passes over what Python's tokenizer ignores between tokens: spaces, tabs, form feeds,
// comments, backslash line continuations, and (inside parentheses) line breaks.
func (p *pyParser) skip(inParens bool) error {
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			p.i++
		case c == '#':
			for p.i < len(p.s) && p.s[p.i] != '\n' && p.s[p.i] != '\r' {
				p.i++
			}
		case c == '\\':
			if strings.HasPrefix(p.s[p.i+1:], "\r\n") {
				p.i += 3
			} else if p.i+1 < len(p.s) && (p.s[p.i+1] == '\n' || p.s[p.i+1] == '\r') {
				p.i += 2
			} else {
				return &literalError{p.i, "a backslash outside a string must end the line"}
			}
		case c == '\n' || c == '\r':
			if !inParens {
				return nil // a line break ends the expression outside parentheses
			}
			p.i++
		default:
			return nil
		}
	}
	return nil
}

func (p *pyParser) expr() (pyValue, error) {
	if err := p.skip(p.depth > 0); err != nil {
		return pyValue{}, err
	}
	start := p.i
	if p.i >= len(p.s) {
		return pyValue{}, &literalError{p.i, "the list ends too early"}
	}
	if p.s[p.i] == '(' {
		p.depth++
		if p.depth > 190 {
			return pyValue{}, &literalError{p.i, "too many nested parentheses"}
		}
		p.i++
		if err := p.skip(true); err != nil {
			return pyValue{}, err
		}
		if p.i < len(p.s) && p.s[p.i] == ')' {
			p.i++
			p.depth--
			return pyValue{pos: start}, nil // ()
		}
		first, err := p.expr()
		if err != nil {
			return pyValue{}, err
		}
		if err := p.skip(true); err != nil {
			return pyValue{}, err
		}
		if p.i < len(p.s) && p.s[p.i] == ')' {
			p.i++
			p.depth--
			first.pos = start
			return first, nil // a parenthesized expression
		}
		items := []pyValue{first}
		for {
			if p.i >= len(p.s) || p.s[p.i] != ',' {
				return pyValue{}, &literalError{p.i, "expected ',' or ')' between the listed strings"}
			}
			p.i++
			if err := p.skip(true); err != nil {
				return pyValue{}, err
			}
			if p.i < len(p.s) && p.s[p.i] == ')' {
				break
			}
			it, err := p.expr()
			if err != nil {
				return pyValue{}, err
			}
			items = append(items, it)
			if err := p.skip(true); err != nil {
				return pyValue{}, err
			}
			if p.i < len(p.s) && p.s[p.i] == ')' {
				break
			}
		}
		p.i++
		p.depth--
		return pyValue{items: items, pos: start}, nil
	}
	// One or more adjacent string literals, concatenated.
	var b strings.Builder
	n := 0
	for {
		s, ok, err := p.stringLiteral()
		if err != nil {
			return pyValue{}, err
		}
		if !ok {
			break
		}
		b.WriteString(s)
		n++
		save := p.i
		if err := p.skip(p.depth > 0); err != nil {
			return pyValue{}, err
		}
		if p.i >= len(p.s) || !p.atString() {
			p.i = save
			break
		}
	}
	if n == 0 {
		return pyValue{}, &literalError{p.i, fmt.Sprintf("expected a quoted string, found %q", p.rest())}
	}
	return pyValue{isStr: true, s: b.String(), pos: start}, nil
}

// atString reports whether a string literal (with an optional prefix) starts at p.i.
func (p *pyParser) atString() bool {
	k := p.i
	for k < len(p.s) && k-p.i < 2 && strings.IndexByte("rRuUbBfF", p.s[k]) >= 0 {
		k++
	}
	return k < len(p.s) && (p.s[k] == '\'' || p.s[k] == '"')
}

// stringLiteral reads one Python string literal at p.i.
func (p *pyParser) stringLiteral() (string, bool, error) {
	start := p.i
	k := p.i
	for k < len(p.s) && k-p.i < 2 && strings.IndexByte("rRuUbBfF", p.s[k]) >= 0 {
		k++
	}
	if k >= len(p.s) || (p.s[k] != '\'' && p.s[k] != '"') {
		return "", false, nil
	}
	prefix := strings.ToLower(p.s[p.i:k])
	raw := false
	switch prefix {
	case "", "u":
	case "r":
		raw = true
	case "b", "br", "rb":
		return "", false, &literalError{start, "byte strings are not allowed in the list"}
	case "f", "fr", "rf":
		return "", false, &literalError{start, "f-strings are not allowed in the list"}
	default:
		return "", false, &literalError{start, fmt.Sprintf("invalid string prefix %q", p.s[p.i:k])}
	}
	q := p.s[k]
	triple := strings.HasPrefix(p.s[k:], strings.Repeat(string(q), 3))
	body := k + 1
	if triple {
		body = k + 3
	}
	var b strings.Builder
	i := body
	for {
		if i >= len(p.s) {
			return "", false, &literalError{start, "unterminated string in the list"}
		}
		c := p.s[i]
		if triple && strings.HasPrefix(p.s[i:], strings.Repeat(string(q), 3)) {
			i += 3
			break
		}
		if !triple && c == q {
			i++
			break
		}
		if !triple && (c == '\n' || c == '\r') {
			return "", false, &literalError{start, "unterminated string in the list"}
		}
		if c == '\\' {
			if i+1 >= len(p.s) {
				return "", false, &literalError{start, "unterminated string in the list"}
			}
			if raw {
				// A raw string keeps the backslash and the character after it (the pair cannot end it).
				nl := newlineLen(p.s, i+1)
				if nl > 0 {
					b.WriteString("\\\n")
					i += 1 + nl
					continue
				}
				_, n := utf8.DecodeRuneInString(p.s[i+1:])
				b.WriteString(p.s[i : i+1+n])
				i += 1 + n
				continue
			}
			n, err := p.escape(&b, i, start)
			if err != nil {
				return "", false, err
			}
			i = n
			continue
		}
		if nl := newlineLen(p.s, i); nl > 0 { // Python reads source with universal newlines
			b.WriteByte('\n')
			i += nl
			continue
		}
		b.WriteByte(c)
		i++
	}
	p.i = i
	return b.String(), true, nil
}

func newlineLen(s string, i int) int {
	switch {
	case strings.HasPrefix(s[i:], "\r\n"):
		return 2
	case i < len(s) && (s[i] == '\r' || s[i] == '\n'):
		return 1
	}
	return 0
}

// escape decodes the backslash escape at i and returns the offset after it.
func (p *pyParser) escape(b *strings.Builder, i, start int) (int, error) {
	s := p.s
	if nl := newlineLen(s, i+1); nl > 0 {
		return i + 1 + nl, nil // line continuation inside the string
	}
	c := s[i+1]
	simple := map[byte]string{'\\': "\\", '\'': "'", '"': "\"", 'a': "\a", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t", 'v': "\v"}
	if v, ok := simple[c]; ok {
		b.WriteString(v)
		return i + 2, nil
	}
	switch {
	case c >= '0' && c <= '7':
		k := i + 1
		v := 0
		for k < len(s) && k < i+4 && s[k] >= '0' && s[k] <= '7' {
			v = v*8 + int(s[k]-'0')
			k++
		}
		b.WriteRune(rune(v))
		return k, nil
	case c == 'x' || c == 'u' || c == 'U':
		n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
		if i+2+n > len(s) {
			return 0, &literalError{i, fmt.Sprintf("truncated \\%cXX escape in the list", c)}
		}
		v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32)
		if err != nil || strings.ContainsAny(s[i+2:i+2+n], "+-_") {
			return 0, &literalError{i, fmt.Sprintf("truncated \\%c escape in the list", c)}
		}
		if v > 0x10ffff {
			return 0, &literalError{i, "illegal Unicode character in a \\U escape in the list"}
		}
		if v >= 0xd800 && v <= 0xdfff {
			// Python accepts a lone surrogate, but the SQL store cannot encode it and fails.
			return 0, &literalError{i, "a surrogate \\u escape cannot be stored or searched"}
		}
		b.WriteRune(rune(v))
		return i + 2 + n, nil
	case c == 'N':
		return 0, &literalError{i, `\N{...} escapes are not supported by mltrack; write the character itself`}
	}
	// Unknown escapes keep the backslash (Python warns but accepts them).
	b.WriteByte('\\')
	return i + 1, nil
}
