package filter

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mltrack/mltrack/mlflowclient"
)

// FuzzParse checks that no input makes Parse or ParseOrderBy (in both dialects) panic or run long,
// that errors are *SyntaxError with a position inside the input, that a parsed filter can be
// matched and a parsed order_by used to sort, and that the file store dialect accepts everything
// the SQL dialect accepts (it only defers or drops checks).
func FuzzParse(f *testing.F) {
	seeds := append(append([]string(nil), diffFilters...),
		"run_id IN ('a' # c\n)", "params.a AS case x end IS NULL", "x::y", "$$a$$", "/* a */", "`a``b`",
		"´a´", "[a]", "a[0].b", "f(x) over (y)", "a where b", "'''", "\"a\\\"", "0x1F.5e3", "%(a)s", ":a", "\\cmd")
	for _, s := range seeds {
		f.Add(s)
	}
	run := testRun("a", 100, 200, mlflowclient.StatusFinished, map[string]float64{"a": 1}, map[string]string{"a": "x"}, map[string]string{"a": "y"})
	f.Fuzz(func(t *testing.T, s string) {
		start := time.Now()
		flt, err := Parse(s)
		checkErr(t, s, err)
		if err == nil {
			flt.Match(run)
		}
		sqlErr := err
		obs, err := ParseOrderBy([]string{s, s})
		checkErr(t, s, err)
		if err == nil {
			Sort([]mlflowclient.Run{run, run}, obs)
		}
		ff, err := ParseFor(FileStore, s)
		checkErr(t, s, err)
		if err != nil && sqlErr == nil {
			t.Fatalf("%q: the SQL dialect accepts it, the file store dialect refuses it: %v", s, err)
		}
		fobs, oerr := ParseOrderByFor(FileStore, []string{s, s})
		checkErr(t, s, oerr)
		if err == nil && oerr == nil {
			_, err := Search([]mlflowclient.Run{run, run}, ff, fobs)
			if err != nil {
				checkErr(t, s, err)
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("parsing %d bytes took %v", len(s), d)
		}
	})
}

func checkErr(t *testing.T, s string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("%q: error %T is not a *SyntaxError", s, err)
	}
	if se.Pos < 0 || se.Pos > len(s) {
		t.Fatalf("%q: position %d outside the input", s, se.Pos)
	}
	if utf8.ValidString(s) && !utf8.ValidString(err.Error()) {
		t.Fatalf("%q: error message is not UTF-8", s)
	}
	_ = se.Error()
}

// TestLargeInputsStayFast feeds megabyte-sized adversarial filters: the lexer and sqlparse's grouping
// (which MLflow caps at 10000 tokens per level) must stay roughly linear.
func TestLargeInputsStayFast(t *testing.T) {
	const n = 1 << 20
	inputs := map[string]string{
		"spaces":          strings.Repeat(" ", n) + "x",
		"words":           strings.Repeat("a ", n/2),
		"long word":       strings.Repeat("a", n),
		"open quotes":     strings.Repeat("'", n),
		"escaped quotes":  "'" + strings.Repeat("\\'", n/2),
		"unclosed string": "params.a = '" + strings.Repeat("x", n),
		"long string":     "params.a = '" + strings.Repeat("x", n) + "'",
		"parens":          strings.Repeat("(", n),
		"brackets":        strings.Repeat("[a", n/2),
		"comments":        strings.Repeat("-- c\nx ", n/7),
		"comment run":     strings.Repeat("-- c\n", n/5) + "x",
		"dollars":         strings.Repeat("$a", n/2),
		"block comments":  strings.Repeat("/*", n/2),
		"digits":          strings.Repeat("1", n) + "a",
		"not spaces":      strings.Repeat("NOT"+strings.Repeat(" ", 100), n/103),
		"IN list":         "run_id IN (" + strings.Repeat("'a',", 4000) + ")",
		"many clauses":    strings.Repeat("metrics.a > 1 AND ", 900) + "metrics.a > 1",
		"nested":          "run_id IN " + strings.Repeat("(", 99) + "'a'" + strings.Repeat(")", 99),
		"backticks":       strings.Repeat("`", n),
		"word then dots":  strings.Repeat("a"+strings.Repeat(" ", 50)+".", n/52),
	}
	for name, s := range inputs {
		start := time.Now()
		_, _ = Parse(s)
		_, _ = ParseOrderBy([]string{s})
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s (%d bytes): %v", name, len(s), d)
		} else {
			t.Logf("%s (%d bytes): %v", name, len(s), d.Round(time.Millisecond))
		}
	}
}
