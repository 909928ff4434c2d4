package filter

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/mltrack/mltrack/internal/mlflowtest"
	"github.com/mltrack/mltrack/mlflowclient"
)

func TestPyLike(t *testing.T) {
	tests := []struct {
		s, pattern string
		fold, want bool
	}{
		{"resnet", "res%", false, true},
		{"resnet", "RES%", false, false},
		{"resnet", "RES%", true, true},
		{"res_net", "res_net", false, true},
		{"resXnet", "res_net", false, true},
		{"line\nbreak", "%break", false, false}, // '.' does not match a newline
		{"line\nbreak", "line_break", false, false},
		{"line\nbreak", "line%", false, true}, // no '$': a prefix is enough
		{"line\nbreak", "%", false, true},
		{"end\n", "end", false, true}, // '$' matches before a final newline
		{"end\n\n", "end", false, false},
		{"end\n", "end_", false, false},
		{"end\n", "end%", false, true},
		{"", "", false, true},
		{"\n", "", false, true},
		{"x", "", false, false},
		{"100%", "100%", false, true},
		{"a.b", "a.b", false, true}, // regex metacharacters are escaped
		{"axb", "a.b", false, false},
		{"a(b", "a(b", false, true},
		{`a\b`, `a\b`, false, true},
		{"résumé", "RÉSUMÉ", true, true}, // Python folds every letter
		{"RÉSUMÉ", "r_sum_", true, true},
		{"ıd", "ID", true, true}, // dotless i is i
		{"İd", "id", true, true}, // İ lower-cases to i
		{"ſ", "S", true, true},   // long s
		{"ß", "SS", true, false},
		{"ẞ", "ß", true, true},
		{"σ", "ς", true, true},
		{"Ω", "ω", true, true},
		{"Ω", "Ω", true, true},  // the Ohm sign lower-cases to ω
		{"1", "١", true, false}, // digits are not cased
		{"aaa", "%a%a%a%", false, true},
		{"aa", "%a%a%a%", false, false},
	}
	for _, tt := range tests {
		if got := pyLike(tt.s, tt.pattern, tt.fold); got != tt.want {
			t.Errorf("pyLike(%q, %q, fold=%v) = %v, want %v", tt.s, tt.pattern, tt.fold, got, tt.want)
		}
	}
}

// pyLikeRegexp is MLflow's translation of a LIKE pattern into a regular expression, in Go's syntax:
// an independent oracle for pyLike without case folding ('$' becomes "\n?\z", which is what
// Python's '$' means at the end of a pattern).
func pyLikeRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`\A`)
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	if !strings.HasSuffix(pattern, "%") {
		b.WriteString(`\n?\z`)
	}
	return regexp.MustCompile(b.String())
}

func FuzzPyLike(f *testing.F) {
	for _, s := range []string{"a%b", "line\nbreak", "%\n%", "_\n", "x\n", "a.b", "%%", "__%_"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, s, pattern string) {
		if !utf8Valid(s) || !utf8Valid(pattern) || len(s) > 200 || len(pattern) > 50 {
			return
		}
		want := pyLikeRegexp(pattern).MatchString(s)
		if got := pyLike(s, pattern, false); got != want {
			t.Fatalf("pyLike(%q, %q) = %v, regexp says %v", s, pattern, got, want)
		}
		if pyLike(s, pattern, false) && !pyLike(s, pattern, true) {
			t.Fatalf("pyLike(%q, %q) matches but not with case folding", s, pattern)
		}
	})
}

func utf8Valid(s string) bool { return utf8.ValidString(s) }

func fileMatching(t *testing.T, filter string) ([]string, error) {
	t.Helper()
	f, err := ParseFor(FileStore, filter)
	if err != nil {
		t.Fatalf("ParseFor(FileStore, %q): %v", filter, err)
	}
	hits, err := Search(matchRuns, f, nil)
	var ids []string
	for _, r := range hits {
		ids = append(ids, r.Info.RunID)
	}
	return ids, err
}

// TestFileStoreMatch: the file store dialect over the runs of TestMatch (a: m=1 n=NaN p=Hello;
// b: m=+Inf running, p=hello u=ÉCOLE t=100%; c: m=-5 n=2 p=h_llo%, t="a\nb"; d: nothing; Search
// orders them by start time descending, then run id: b d c a).
func TestFileStoreMatch(t *testing.T) {
	tests := []struct {
		filter string
		want   []string
	}{
		{"", []string{"b", "d", "c", "a"}},
		{"metrics.m = 1e400", []string{"b"}}, // real infinities
		{"metrics.m >= 1.7976931348623157e308", []string{"b"}},
		{"metrics.m < 1e400", []string{"c", "a"}},
		{"metrics.n != 5", []string{"c", "a"}}, // NaN satisfies != only
		{"metrics.n < 1e400", []string{"c"}},
		{"metrics.m != 1", []string{"b", "c"}}, // a missing metric fails != too
		{"params.u ILIKE 'école'", []string{"b"}},
		{"tags.t LIKE 'a%'", []string{"c"}},
		{"tags.t LIKE '%b'", nil},
		{"tags.t LIKE 'a_b'", nil},
		{"run_name = 'a'", []string{"a"}}, // the run's name, not the mlflow.runName tag
		{"run_name = 'Alpha'", nil},
		{"end_time > 0", []string{"d", "c", "a"}}, // b is running
		{"start_time < 99999999999999999999", []string{"b", "d", "c", "a"}},
		{"start_time > -99999999999999999999", []string{"b", "d", "c", "a"}},
		{"start_time = 99999999999999999999", nil},
		{"run_id = ('a', 'b')", nil}, // a string never equals a list
		{"run_id != ('a')", []string{"b", "d", "c", "a"}},
		{"metrics.missing > 0 AND params.p < 'x'", nil}, // never evaluated
		{"metrics.m = 1 AND datasets.name LIKE ('x')", nil},
	}
	for _, tt := range tests {
		got, err := fileMatching(t, tt.filter)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %v, %v; want %v", tt.filter, got, err, tt.want)
		}
	}
}

// TestFileStoreDeferredErrors: what the SQL store refuses up front, the file store refuses when a
// run reaches the clause.
func TestFileStoreDeferredErrors(t *testing.T) {
	for _, filter := range []string{
		"params.p < 'x'",
		"metrics.m = 1 AND params.p < 'x'", // run a reaches the second clause
		"status > 'A'",
		"run_id LIKE ('a')",
		"params.p NOT LIKE 'x'",
		"datasets.name < 'x'",
	} {
		if _, err := Parse(filter); err == nil {
			t.Errorf("Parse(%q) accepted it; the SQL store refuses it", filter)
		}
		_, err := fileMatching(t, filter)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: Search error = %v, want a *SyntaxError", filter, err)
		}
		f, _ := ParseFor(FileStore, filter)
		if got, err := Search(nil, f, nil); err != nil || len(got) != 0 {
			t.Errorf("%q over no runs: %v, %v; want no runs and no error", filter, got, err)
		}
	}
	for _, filter := range []string{"start_time < 99999999999999999999", "run_id = ('a')"} {
		if _, err := Parse(filter); err == nil {
			t.Errorf("Parse(%q) accepted it; the SQL store refuses it", filter)
		}
	}
}

func TestParseOrderByForFileStore(t *testing.T) {
	dup := []string{"params.p", "param.p DESC"}
	if _, err := ParseOrderBy(dup); err == nil {
		t.Error("the SQL dialect accepted duplicate keys")
	}
	obs, err := ParseOrderByFor(FileStore, dup)
	if err != nil || len(obs) != 2 {
		t.Fatalf("FileStore: %v, %v", obs, err)
	}
	f, _ := ParseFor(FileStore, "")
	got, err := Search(matchRuns, f, obs)
	if err != nil {
		t.Fatal(err)
	}
	// p: a Hello, b hello, c h_llo%, d missing; ascending byte order, missing last.
	var ids []string
	for _, r := range got {
		ids = append(ids, r.Info.RunID)
	}
	if want := []string{"a", "c", "b", "d"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("order = %v, want %v", ids, want)
	}

	ds, err := ParseOrderByFor(FileStore, []string{"datasets.name"})
	if err != nil {
		t.Fatalf("FileStore refused a dataset key at parse time: %v", err)
	}
	if _, err := Search(matchRuns, f, ds); err == nil {
		t.Error("ordering runs by a dataset key did not fail")
	}
	if got, err := Search(nil, f, ds); err != nil || len(got) != 0 {
		t.Errorf("ordering no runs by a dataset key: %v, %v", got, err)
	}
	if _, err := ParseOrderByFor(FileStore, []string{"datasets.size"}); err == nil {
		t.Error("an unknown dataset field was accepted")
	}
}

// TestFileStoreSortInfinity: the file store sorts +Inf after the largest float; the SQL store
// keeps both as the largest float and breaks the tie by start time.
func TestFileStoreSortInfinity(t *testing.T) {
	runs := []mlflowclient.Run{
		testRun("inf", 100, 0, mlflowclient.StatusFinished, map[string]float64{"m": math.Inf(1)}, nil, nil),
		testRun("max", 200, 0, mlflowclient.StatusFinished, map[string]float64{"m": math.MaxFloat64}, nil, nil),
		testRun("nan", 300, 0, mlflowclient.StatusFinished, map[string]float64{"m": math.NaN()}, nil, nil),
		testRun("none", 400, 0, mlflowclient.StatusFinished, nil, nil, nil),
	}
	for _, tt := range []struct {
		d    Dialect
		by   string
		want string
	}{
		{SQLStore, "metrics.m", "max inf nan none"},
		{FileStore, "metrics.m", "max inf nan none"},
		{SQLStore, "metrics.m DESC", "max inf nan none"},
		{FileStore, "metrics.m DESC", "inf max nan none"},
	} {
		obs, err := ParseOrderByFor(tt.d, []string{tt.by})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Search(runs, Filter{}, obs)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range got {
			ids = append(ids, r.Info.RunID)
		}
		if strings.Join(ids, " ") != tt.want {
			t.Errorf("%v %s: %v, want %s", tt.d, tt.by, ids, tt.want)
		}
	}
}

// TestPyCaseTables checks the Unicode tables behind ILIKE in the file store dialect against
// Python's regular-expression engine over every code point: which characters are cased, and their
// lower case.
func TestPyCaseTables(t *testing.T) {
	mlflowtest.Python(t) // skips, or fails under CI, without MLflow's Python
	out := filepath.Join(t.TempDir(), "case.json")
	mlflowtest.Run(t, `
import _sre, json, os
json.dump({"cased": [c for c in range(0x110000) if _sre.unicode_iscased(c)],
           "lower": {str(c): _sre.unicode_tolower(c) for c in range(0x110000) if _sre.unicode_tolower(c) != c}},
          open(os.environ["OUT"], "w"))
`, "OUT="+out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var tables struct {
		Cased []rune          `json:"cased"`
		Lower map[string]rune `json:"lower"`
	}
	if err := json.Unmarshal(b, &tables); err != nil {
		t.Fatal(err)
	}
	cased := map[rune]bool{}
	for _, r := range tables.Cased {
		cased[r] = true
	}
	bad := 0
	for r := rune(0); r <= unicode.MaxRune && bad < 20; r++ {
		if pyIsCased(r) != cased[r] {
			t.Errorf("%U: cased = %v, Python says %v", r, pyIsCased(r), cased[r])
			bad++
		}
		want := r
		if l, ok := tables.Lower[strconv.Itoa(int(r))]; ok {
			want = l
		}
		if got := unicode.ToLower(r); got != want {
			t.Errorf("%U: lower case %U, Python says %U", r, got, want)
			bad++
		}
	}
}
