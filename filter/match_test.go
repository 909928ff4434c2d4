package filter

import (
	"math"
	"reflect"
	"testing"

	"github.com/mltrack/mltrack/mlflowclient"
)

// testRun builds a run; metrics maps a key to its latest value.
func testRun(id string, start, end int64, status mlflowclient.RunStatus, metrics map[string]float64, params, tags map[string]string) mlflowclient.Run {
	r := mlflowclient.Run{Info: mlflowclient.RunInfo{RunID: id, RunName: id, StartTime: start, EndTime: end, Status: status, UserID: "u-" + id, ArtifactURI: "file:///a/" + id}}
	for k, v := range metrics {
		r.Data.Metrics = append(r.Data.Metrics, mlflowclient.Metric{Key: k, Value: v, Timestamp: 1})
	}
	for k, v := range params {
		r.Data.Params = append(r.Data.Params, mlflowclient.Param{Key: k, Value: v})
	}
	for k, v := range tags {
		r.Data.Tags = append(r.Data.Tags, mlflowclient.Tag{Key: k, Value: v})
	}
	return r
}

var matchRuns = []mlflowclient.Run{
	testRun("a", 100, 200, mlflowclient.StatusFinished, map[string]float64{"m": 1, "n": math.NaN()}, map[string]string{"p": "Hello"}, map[string]string{"mlflow.runName": "Alpha"}),
	testRun("b", 300, 0, mlflowclient.StatusRunning, map[string]float64{"m": math.Inf(1)}, map[string]string{"p": "hello", "u": "ÉCOLE"}, map[string]string{"t": "100%"}),
	testRun("c", 200, 250, mlflowclient.StatusFailed, map[string]float64{"m": -5, "n": 2}, map[string]string{"p": "h_llo%"}, map[string]string{"mlflow.runName": "gamma", "t": "a\nb"}),
	testRun("d", 300, 400, mlflowclient.StatusKilled, nil, nil, nil),
}

func matching(t *testing.T, filter string) []string {
	t.Helper()
	f, err := Parse(filter)
	if err != nil {
		t.Fatalf("Parse(%q): %v", filter, err)
	}
	var ids []string
	for _, r := range matchRuns {
		if f.Match(r) {
			ids = append(ids, r.Info.RunID)
		}
	}
	return ids
}

func TestMatch(t *testing.T) {
	tests := []struct {
		filter string
		want   []string
	}{
		{"", []string{"a", "b", "c", "d"}},
		{"metrics.m > 0", []string{"a", "b"}},
		{"metrics.m != 1", []string{"b", "c"}},                 // d has no m: fails != too
		{"metrics.n != 5", []string{"a", "c"}},                 // NaN satisfies !=
		{"metrics.n < 1e400", []string{"c"}},                   // and nothing else
		{"metrics.m = 1e400", nil},                             // +Inf is stored as MaxFloat64
		{"metrics.m >= 1.7976931348623157e308", []string{"b"}}, // which is what it compares as
		{"params.p = 'hello'", []string{"b"}},
		{"params.p != 'hello'", []string{"a", "c"}},
		{"params.p LIKE 'h%'", []string{"b", "c"}},
		{"params.p LIKE 'H%'", []string{"a"}},
		{"params.p ILIKE 'H%'", []string{"a", "b", "c"}},
		{"params.p LIKE 'h_llo'", []string{"b"}},
		{"params.p LIKE '%\\%'", nil},             // no escape character: '\' is literal
		{"params.p LIKE 'h_llo_'", []string{"c"}}, // '_' matches the literal '%' too
		{"params.u ILIKE 'école'", nil},           // SQLite folds ASCII only
		{"params.u ILIKE 'ÉcOLE'", []string{"b"}},
		{"params.p IS NULL", []string{"d"}},
		{"params.p IS NOT NULL", []string{"a", "b", "c"}},
		{"tags.t LIKE '%\n%'", []string{"c"}}, // % and _ cross line breaks
		{"tags.t LIKE '100%'", []string{"b"}},
		{"run_name = 'Alpha'", []string{"a"}},  // the mlflow.runName tag, not RunInfo.RunName
		{"run_name != 'Alpha'", []string{"c"}}, // runs without the tag never match
		{"run_name LIKE '%'", []string{"a", "c"}},
		{"run_id IN ('a', 'c', 'x')", []string{"a", "c"}},
		{"run_id NOT IN ('a')", []string{"b", "c", "d"}},
		{"status = 'RUNNING'", []string{"b"}},
		{"status LIKE '%ED'", []string{"a", "c", "d"}},
		{"user_id = 'u-a'", []string{"a"}},
		{"artifact_uri LIKE '%/c'", []string{"c"}},
		{"start_time >= 200", []string{"b", "c", "d"}},
		{"created < 200.5", []string{"a", "c"}},
		{"start_time = 300.0", []string{"b", "d"}},
		{"end_time > 0", []string{"a", "c", "d"}}, // b is still running: no end time
		{"end_time != 250", []string{"a", "d"}},
		{"datasets.name != 'x'", nil},
		{"metrics.m > 0 AND params.p LIKE 'h%'", []string{"b"}},
	}
	for _, tt := range tests {
		if got := matching(t, tt.filter); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q matches %v, want %v", tt.filter, got, tt.want)
		}
	}
}

func TestLatestMetric(t *testing.T) {
	r := mlflowclient.Run{Data: mlflowclient.RunData{Metrics: []mlflowclient.Metric{
		{Key: "x", Value: 9, Step: 0, Timestamp: 5},
		{Key: "x", Value: 3, Step: 2, Timestamp: 1},
		{Key: "x", Value: 1, Step: 2, Timestamp: 4},
		{Key: "x", Value: 2, Step: 2, Timestamp: 4},
		{Key: "x", Value: math.NaN(), Step: 2, Timestamp: 4}, // stored as 0: loses to 2
	}}}
	if v, ok := latestMetric(r, "x"); !ok || v != 2 {
		t.Errorf("latest = %v, %v; want 2", v, ok)
	}
}

func TestSort(t *testing.T) {
	runs := func() []mlflowclient.Run {
		return []mlflowclient.Run{
			testRun("r1", 100, 0, mlflowclient.StatusRunning, map[string]float64{"m": 2}, map[string]string{"p": "b"}, nil),
			testRun("r2", 300, 5, mlflowclient.StatusFinished, map[string]float64{"m": math.NaN()}, map[string]string{"p": "B"}, nil),
			testRun("r3", 300, 7, mlflowclient.StatusFailed, nil, map[string]string{"p": "a"}, nil),
			testRun("r4", 200, 6, mlflowclient.StatusFinished, map[string]float64{"m": math.Inf(-1)}, nil, nil),
			testRun("r5", 200, 0, mlflowclient.StatusRunning, map[string]float64{"m": math.NaN()}, map[string]string{"p": "é"}, nil),
		}
	}
	tests := []struct {
		order []string
		want  []string
	}{
		{nil, []string{"r2", "r3", "r4", "r5", "r1"}}, // start_time DESC, run_id ASC
		{[]string{"metrics.m"}, []string{"r4", "r1", "r2", "r5", "r3"}},
		{[]string{"metrics.m DESC"}, []string{"r1", "r4", "r2", "r5", "r3"}}, // NaN then missing stay last
		{[]string{"params.p"}, []string{"r2", "r3", "r1", "r5", "r4"}},       // byte order: B < a < b < é
		{[]string{"params.p DESC"}, []string{"r5", "r1", "r3", "r2", "r4"}},
		{[]string{"end_time"}, []string{"r2", "r4", "r3", "r5", "r1"}},   // running runs have no end time
		{[]string{"start_time"}, []string{"r1", "r4", "r5", "r2", "r3"}}, // no start_time DESC tie-break
		{[]string{"created DESC"}, []string{"r2", "r3", "r4", "r5", "r1"}},
		{[]string{"status", "run_id DESC"}, []string{"r3", "r4", "r2", "r5", "r1"}},
	}
	for _, tt := range tests {
		ob, err := ParseOrderBy(tt.order)
		if err != nil {
			t.Fatalf("ParseOrderBy(%q): %v", tt.order, err)
		}
		rs := runs()
		Sort(rs, ob)
		var got []string
		for _, r := range rs {
			got = append(got, r.Info.RunID)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("order_by %q: %v, want %v", tt.order, got, tt.want)
		}
	}
}

func TestSQLLike(t *testing.T) {
	tests := []struct {
		s, p string
		fold bool
		want bool
	}{
		{"", "", false, true},
		{"", "%", false, true},
		{"a", "", false, false},
		{"abc", "a%c", false, true},
		{"abc", "a_c", false, true},
		{"abc", "A%", false, false},
		{"abc", "A%", true, true},
		{"日本語", "__語", false, true},
		{"aaa", "%a%a%a%", false, true},
		{"aa", "%a%a%a%", false, false},
		{"mississippi", "%iss%pi", false, true},
		{"mississippi", "m%iss%ppi%x", false, false},
	}
	for _, tt := range tests {
		if got := sqlLike(tt.s, tt.p, tt.fold); got != tt.want {
			t.Errorf("sqlLike(%q, %q, %v) = %v", tt.s, tt.p, tt.fold, got)
		}
	}
}

func TestCompareTime(t *testing.T) {
	big := int64(1) << 60
	if !compareTime(big+1, float64(big), ">") || compareTime(big+1, float64(big), "=") {
		t.Error("int/float comparison lost precision")
	}
	if !compareTime(5, 5.5, "<") || !compareTime(6, 5.5, ">") || !compareTime(-6, -5.5, "<") {
		t.Error("fractional comparison wrong")
	}
	if !compareTime(math.MaxInt64, math.Inf(1), "<") || !compareTime(math.MinInt64, math.Inf(-1), ">") {
		t.Error("infinite comparison wrong")
	}
}
