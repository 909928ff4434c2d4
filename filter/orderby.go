package filter

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// OrderBy is one order_by clause of a run search.
type OrderBy struct {
	Kind KeyKind // Metric, Param, Tag or Attribute (datasets cannot be ordered by)
	// Key is the key with quotes removed and aliases resolved ("created" → "start_time"), as in Clause.
	Key string
	// Alias is the key as written when it was an alias ("" otherwise).
	Alias     string
	Ascending bool

	// dialect selects Sort's semantics (ParseOrderByFor).
	dialect Dialect
	// problem is an error the dialect's store raises only when there is a run to sort (a dataset
	// key in MLflow's file store); Search reports it then.
	problem error
}

// ParseOrderBy parses order_by clauses with MLflow 3.18's rules: each clause is one key,
// optionally followed by ASC or DESC (any case; ascending by default). A clause must be exactly one
// sqlparse identifier, so leading or trailing whitespace is an error, as in MLflow. The key is then
// split with Python's shlex after backticks are turned into double quotes, which removes quotes
// inside the key; a clause without ASC/DESC keeps its quotes and has them removed like a filter key.
// Bare attributes are run_id, run_name, status, user_id, artifact_uri, start_time, end_time and
// created/Created (the spaced "run name" aliases are not orderable). Datasets and duplicate keys
// are refused, as MLflow's SQL store does. Errors are *SyntaxError with Source "order_by[i]".
func ParseOrderBy(clauses []string) ([]OrderBy, error) {
	return parseOrderBy(SQLStore, clauses)
}

func parseOrderBy(d Dialect, clauses []string) ([]OrderBy, error) {
	out := make([]OrderBy, 0, len(clauses))
	seen := map[[2]string]int{}
	for i, c := range clauses {
		source := fmt.Sprintf("order_by[%d]", i)
		ob, err := parseOrderByClause(c, source)
		if err != nil {
			return nil, err
		}
		ob.dialect = d
		if ob.Kind == Dataset {
			err := &SyntaxError{Source: source, Input: c, Pos: 0, Msg: "datasets cannot be ordered by; expected a metrics., params., tags. or attribute key"}
			if d != FileStore {
				return nil, err
			}
			// MLflow's file store parses the key and fails only when it computes a run's sort key.
			ob.problem = err
		}
		k := [2]string{string(ob.Kind), ob.Key}
		if j, dup := seen[k]; dup && d != FileStore { // the file store just sorts by the key again
			return nil, &SyntaxError{Source: source, Input: c, Pos: 0,
				Msg: fmt.Sprintf("duplicate order_by key: %s %q is already ordered by in order_by[%d]", kindName(ob.Kind), ob.Key, j)}
		}
		seen[k] = i
		out = append(out, ob)
	}
	return out, nil
}

func parseOrderByClause(c, source string) (OrderBy, error) {
	fail := func(pos int, format string, args ...any) (OrderBy, error) {
		return OrderBy{}, &SyntaxError{Source: source, Input: c, Pos: pos, Msg: fmt.Sprintf(format, args...)}
	}
	if !utf8.ValidString(c) {
		return fail(invalidUTF8At(c), "the clause is not valid UTF-8")
	}
	stmt, err := parseStatement(c, source)
	if err != nil {
		return OrderBy{}, err
	}
	if len(stmt.kids) != 1 || stmt.kids[0].class != gIdentifier {
		for _, k := range stmt.kids {
			if k.is(tPunct, ";") {
				return fail(k.pos, "';' is not allowed in an order_by clause")
			}
		}
		if len(stmt.kids) > 0 && !stmt.kids[0].isGroup() && stmt.kids[0].typ.isWhitespace() {
			return fail(0, "unexpected whitespace before the key")
		}
		if last := stmt.kids[len(stmt.kids)-1]; !last.isGroup() && last.typ.isWhitespace() {
			return fail(last.pos, "unexpected whitespace after the clause")
		}
		bad := stmt.kids[0]
		if bad.class == gIdentifier {
			if _, next := stmt.tokenNext(0); next != nil {
				bad = next
			}
		}
		return fail(bad.pos, "expected a single key such as metrics.loss, optionally followed by ASC or DESC, found %s", describe(bad))
	}
	value := stmt.kids[0].text()
	ascending := true
	words, err := shlexSplit(strings.ReplaceAll(value, "`", `"`))
	if err != nil {
		return fail(len(c), "%v in the order_by clause", err)
	}
	switch {
	case len(words) > 2:
		return fail(0, "expected a key optionally followed by ASC or DESC, found %d words (keys with spaces must be quoted with backticks)", len(words))
	case len(words) == 2:
		dir := pyLower(words[1])
		if dir != "asc" && dir != "desc" {
			// shlex removed any quotes, so point after the last space instead of searching the word.
			return fail(strings.LastIndexAny(c, " \t\r\n")+1, "expected ASC or DESC after the key, found %q (keys with spaces must be quoted with backticks)", words[1])
		}
		ascending = dir == "asc"
		value = words[0]
	}
	kind, key, _, err := splitIdentifier(c, 0, pyStrip(value), orderAttributes, source)
	if err != nil {
		return OrderBy{}, err
	}
	ob := OrderBy{Kind: kind, Key: translateAlias(key), Ascending: ascending}
	if ob.Key != key {
		ob.Alias = key
	}
	return ob, nil
}

// shlexSplit is Python's shlex.split(s) (POSIX mode, no comments): words split at spaces, tabs and
// line breaks; single quotes keep everything literally; double quotes allow backslash escapes of
// '"' and '\'; a backslash outside quotes escapes any character.
func shlexSplit(s string) ([]string, error) {
	const ws = " \t\r\n"
	var words []string
	var tok strings.Builder
	inWord, quoted := false, false
	state := ' ' // ' ' between words, 'a' in a word, '\'' or '"' in quotes
	escapedState := 'a'
	runes := []rune(s)
	for i := 0; ; i++ {
		if i >= len(runes) {
			switch state {
			case '\'', '"':
				return nil, errors.New("no closing quotation")
			case '\\':
				return nil, errors.New("no escaped character")
			}
			if inWord || quoted {
				words = append(words, tok.String())
			}
			return words, nil
		}
		r := runes[i]
		switch state {
		case ' ', 'a':
			switch {
			case strings.ContainsRune(ws, r):
				if inWord || quoted {
					words = append(words, tok.String())
				}
				tok.Reset()
				inWord, quoted = false, false
				state = ' '
			case r == '\\':
				escapedState = 'a'
				state = '\\'
				inWord = true
			case r == '\'' || r == '"':
				state = r
				inWord = true
			default:
				tok.WriteRune(r)
				inWord = true
				state = 'a'
			}
		case '\'', '"':
			quoted = true
			switch {
			case r == state:
				state = 'a'
			case r == '\\' && state == '"':
				escapedState = state
				state = '\\'
			default:
				tok.WriteRune(r)
			}
		case '\\':
			if (escapedState == '\'' || escapedState == '"') && r != escapedState && r != '\\' {
				tok.WriteRune('\\')
			}
			tok.WriteRune(r)
			state = escapedState
		}
	}
}
