package filter

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []Clause
	}{
		{"", nil},
		{"AND", nil}, // MLflow accepts a lone AND: no clause, every run
		{"metrics.duration_seconds > 60", []Clause{{Kind: Metric, Key: "duration_seconds", Op: ">", Value: 60.0}}},
		{"metrics.success = 0", []Clause{{Kind: Metric, Key: "success", Op: "=", Value: 0.0}}},
		{"params.issue_number = '123'", []Clause{{Kind: Param, Key: "issue_number", Op: "=", Value: "123"}}},
		{`params.procedure_name = "extract-best-frame" AND metrics.success = 0`, []Clause{
			{Kind: Param, Key: "procedure_name", Op: "=", Value: "extract-best-frame"},
			{Kind: Metric, Key: "success", Op: "=", Value: 0.0, Pos: 49},
		}},
		{"metric.loss <= -2.5E-3", []Clause{{Kind: Metric, Key: "loss", Op: "<=", Value: -2.5e-3}}},
		{"metrics.loss > 1e400", []Clause{{Kind: Metric, Key: "loss", Op: ">", Value: math.Inf(1)}}},
		{"metrics.loss > .5", []Clause{{Kind: Metric, Key: "loss", Op: ">", Value: 0.5}}},
		{"metrics.loss > ٣", []Clause{{Kind: Metric, Key: "loss", Op: ">", Value: 3.0}}}, // Python reads any decimal digit
		{"params.m like 'a%'", []Clause{{Kind: Param, Key: "m", Op: "LIKE", Value: "a%"}}},
		{"tags.t ILIKE '%x'", []Clause{{Kind: Tag, Key: "t", Op: "ILIKE", Value: "%x"}}},
		{"params.m is not null", []Clause{{Kind: Param, Key: "m", Op: "IS NOT NULL"}}},
		{"tags.`mlflow.runName` IS NULL", []Clause{{Kind: Tag, Key: "mlflow.runName", Op: "IS NULL"}}},
		{"tags.\"my tag\" != 'x'", []Clause{{Kind: Tag, Key: "my tag", Op: "!=", Value: "x"}}},
		{"tags.'my tag' = 'x'", []Clause{{Kind: Tag, Key: "my tag", Op: "=", Value: "x"}}},
		{"tags.a.b.c = 'x'", []Clause{{Kind: Tag, Key: "a.b.c", Op: "=", Value: "x"}}},
		{"`params`.a = 'x'", []Clause{{Kind: Param, Key: "a", Op: "=", Value: "x"}}},
		{"params.select = 'x'", []Clause{{Kind: Param, Key: "select", Op: "=", Value: "x"}}},
		// No unescaping: the quotes are just removed.
		{"params.m = 'it''s'", []Clause{{Kind: Param, Key: "m", Op: "=", Value: "it''s"}}},
		{`params.m = "x"."y"`, []Clause{{Kind: Param, Key: "m", Op: "=", Value: `x"."y`}}},
		// sqlparse's aliasing: MLflow reads these keys with spaces.
		{"params.a b IS NULL", []Clause{{Kind: Param, Key: "a b", Op: "IS NULL"}}},
		{"params. = 'x'", []Clause{{Kind: Param, Key: "", Op: "=", Value: "x"}}},
		// Python upper-cases "ı" to "I".
		{"params.a ılıke 'x'", []Clause{{Kind: Param, Key: "a", Op: "ILIKE", Value: "x"}}},
		// Attributes and aliases.
		{"status = 'FINISHED'", []Clause{{Kind: Attribute, Key: "status", Op: "=", Value: "FINISHED"}}},
		{"attr.run_id IN ('a', \"b\",)", []Clause{{Kind: Attribute, Key: "run_id", Op: "IN", Value: []string{"a", "b"}}}},
		{"run_id not in ('a' 'b')", []Clause{{Kind: Attribute, Key: "run_id", Op: "NOT IN", Value: []string{"ab"}}}},
		{"run_id IN ('a\\n', r'\\d')", []Clause{{Kind: Attribute, Key: "run_id", Op: "IN", Value: []string{"a\n", `\d`}}}},
		{"created > 5", []Clause{{Kind: Attribute, Key: "start_time", Alias: "created", Op: ">", Value: int64(5)}}},
		{"attributes.end_time <= 1.5", []Clause{{Kind: Attribute, Key: "end_time", Op: "<=", Value: 1.5}}},
		{"`Run name` = 'x'", []Clause{{Kind: Attribute, Key: "run_name", Alias: "Run name", Op: "=", Value: "x"}}},
		{"params.created = 'x'", []Clause{{Kind: Param, Key: "start_time", Alias: "created", Op: "=", Value: "x"}}},
		{"datasets.name IN ('a')", []Clause{{Kind: Dataset, Key: "name", Op: "IN", Value: []string{"a"}}}},
		// MLflow does not insist on AND between clauses.
		{"metrics.a > 1 params.b = 'x'", []Clause{
			{Kind: Metric, Key: "a", Op: ">", Value: 1.0},
			{Kind: Param, Key: "b", Op: "=", Value: "x", Pos: 14},
		}},
		{" \tmetrics.a>1\nand params.b='x' ", []Clause{
			{Kind: Metric, Key: "a", Op: ">", Value: 1.0, Pos: 2},
			{Kind: Param, Key: "b", Op: "=", Value: "x", Pos: 18},
		}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got.Clauses, tt.want) {
			t.Errorf("Parse(%q) =\n  %#v\nwant\n  %#v", tt.in, got.Clauses, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		pos  int
		want string // part of the message
	}{
		{"params.x = 123", 11, `expected a quoted string value after "params.x ="`},
		{"   ", 0, "blank"},
		{"metrics.loss = '1'", 15, "expected a number"},
		{"metrics.loss IS NULL", 13, "only supported for params and tags"},
		{"params.m < 'z'", 9, `comparator "<" is not allowed for params`},
		{"start_time LIKE 5", 11, `comparator "LIKE" is not allowed`},
		{"metrics.a > 1 OR params.b = 'x'", 14, "OR is not supported"},
		{"NOT params.b = 'x'", 0, "NOT is only supported"},
		{"(metrics.a > 1)", 0, "parentheses are not supported"},
		{"metrics.a > 1 garbage", 14, `expected AND or the end of the filter after "metrics.a > 1"`},
		{"metrics.a > 1;", 13, "';' is not allowed"},
		{"Metrics.a > 1", 0, `unknown entity type "Metrics"`},
		{"lifecycle_stage = 'active'", 0, `unknown attribute "lifecycle_stage"`},
		{"datasets.foo = 'x'", 0, `unknown dataset field "foo"`},
		{"params.a = 'x", 11, "unterminated quoted string"},
		{"params.a IS NUL", 12, "expected NULL or NOT NULL"},
		{"run_id IN 'a'", 10, "parenthesized list"},
		{"status IN ('a')", 10, "only run_id"},
		{"run_id IN ()", 10, "the list is empty"},
		{"run_id IN ('a', 1)", 16, "expected a quoted string"},
		{"run_id = ('a')", 7, "needs IN or NOT IN"},
		{"start_time > 99999999999999999999", 13, "out of range"},
		{"params.a-b = 'x'", 0, "backticks"},
		{"params.a", 8, "expected a comparison"},
		{"params.a = 'x' -- note", 15, "comments are not allowed"},
		{"\xff", 0, "not valid UTF-8"},
		{"run_id IN " + strings.Repeat("(", 101) + "'a'" + strings.Repeat(")", 101), 110, "nesting"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", tt.in, err)
			continue
		}
		if se.Pos != tt.pos || !strings.Contains(se.Msg, tt.want) {
			t.Errorf("Parse(%q): position %d, %q; want position %d, %q", tt.in, se.Pos, se.Msg, tt.pos, tt.want)
		}
		if se.Pos < 0 || se.Pos > len(tt.in) {
			t.Errorf("Parse(%q): position %d outside the input", tt.in, se.Pos)
		}
	}
}

func TestSyntaxErrorFormat(t *testing.T) {
	_, err := Parse("params.x = 123")
	want := "filter: expected a quoted string value after \"params.x =\" (e.g. 'abc'); params values are strings at position 11:\n" +
		"  params.x = 123\n" +
		"             ^"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	// Control characters are shown as spaces so that the caret lines up; long inputs are cut.
	_, err = Parse("metrics.a > 1 AND\n\tparams.b = 5")
	if lines := strings.Split(err.Error(), "\n"); len(lines) != 3 || strings.Index(lines[2], "^") != strings.Index(lines[1], "5") {
		t.Errorf("caret misplaced:\n%v", err)
	}
	_, err = Parse(strings.Repeat("metrics.a > 1 AND ", 20) + "params.b = 5")
	if lines := strings.Split(err.Error(), "\n"); len(lines) != 3 || len([]rune(lines[1])) > 130 || []rune(lines[1])[strings.Index(lines[2], "^")] != '5' {
		t.Errorf("long input not windowed around the caret:\n%v", err)
	}
}

func TestParseOrderBy(t *testing.T) {
	tests := []struct {
		in   []string
		want []OrderBy
		err  string
	}{
		{in: nil, want: []OrderBy{}},
		{in: []string{"metrics.loss"}, want: []OrderBy{{Kind: Metric, Key: "loss", Ascending: true}}},
		{in: []string{"metrics.loss desc", "params.m ASC"}, want: []OrderBy{{Kind: Metric, Key: "loss"}, {Kind: Param, Key: "m", Ascending: true}}},
		{in: []string{"tags.`a b` DESC"}, want: []OrderBy{{Kind: Tag, Key: "a b"}}},
		{in: []string{"\"metrics.a\" DESC"}, want: []OrderBy{{Kind: Metric, Key: "a"}}}, // shlex removes the quotes
		{in: []string{"Created"}, want: []OrderBy{{Kind: Attribute, Key: "start_time", Alias: "Created", Ascending: true}}},
		{in: []string{"run_name DESC"}, want: []OrderBy{{Kind: Attribute, Key: "run_name"}}},
		{in: []string{"\"metrics.a\""}, err: `unknown entity type "\"metrics"`},
		{in: []string{"metrics.a "}, err: "whitespace after"},
		{in: []string{""}, err: "empty"},
		{in: []string{"metrics.a DESC NULLS LAST"}, err: "found 4 words"},
		{in: []string{"run name"}, err: "expected ASC or DESC"},
		{in: []string{"datasets.name"}, err: "datasets cannot be ordered"},
		{in: []string{"start_time", "created"}, err: "duplicate"},
		{in: []string{"metrics.`a\"b` DESC"}, err: "no closing quotation"},
	}
	for _, tt := range tests {
		got, err := ParseOrderBy(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseOrderBy(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseOrderBy(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestLiteralStrings(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"('a')", []string{"a"}},
		{"('a',)", []string{"a"}},
		{"( 'a' , \"b\" )", []string{"a", "b"}},
		{"(('a', 'b'))", []string{"a", "b"}},
		{"('a' 'b' \"c\")", []string{"abc"}},
		{"('a', # comment\n 'b')", []string{"a", "b"}},
		{"('a', \\\n 'b')", []string{"a", "b"}},
		{"('''x\ny''')", []string{"x\ny"}},
		{"('\\x41\\u00e9\\U0001F600\\101\\t\\q')", []string{"Aé😀A\t\\q"}},
		{"(r'\\'', R\"\\d\", u'x')", []string{`\'`, `\d`, "x"}},
		{"('a')\n# trailing comment\n", []string{"a"}},
		{"()", nil},
		{"(1)", nil},
		{"('a', ('b',))", nil},
		{"(b'a')", nil},
		{"(f'a')", nil},
		{"('a' + 'b')", nil},
		{"('a\n')", nil},
		{"('a'", nil},
		{"('\\x4')", nil},
		{"('\\N{BULLET}')", nil},
		{"('\\ud800')", nil},
		{"('a')('b')", nil},
		{"('a' #)", nil},
	}
	for _, tt := range tests {
		got, err := literalStrings(tt.in)
		if tt.want == nil {
			if err == nil {
				t.Errorf("literalStrings(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("literalStrings(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestShlexSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "a b", want: []string{"a", "b"}},
		{in: `metrics."a b" DESC`, want: []string{"metrics.a b", "DESC"}},
		{in: `'a b'c`, want: []string{"a bc"}},
		{in: `""`, want: []string{""}},
		{in: `a\ b`, want: []string{"a b"}},
		{in: `"a\"b" "a\qb"`, want: []string{`a"b`, `a\qb`}},
		{in: "  a\t\nb  ", want: []string{"a", "b"}},
		{in: `"a`, err: true},
		{in: `a\`, err: true},
	}
	for _, tt := range tests {
		got, err := shlexSplit(tt.in)
		if (err != nil) != tt.err || !tt.err && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("shlexSplit(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}
