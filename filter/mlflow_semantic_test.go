package filter

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/mltrack/mltrack/mlflowclient"
)

// TestSearchMatchesMLflow logs ~40 varied runs with MLflow's Python client into a temporary SQLite
// store, runs mlflow.search_runs for many filters and order_by lists, and requires Match + Sort to
// return the same runs in the same order (and Parse/ParseOrderBy to refuse what MLflow refuses).
// Everything runs in one Python process.

// semRun is a run to log: the truth the Go side filters, with everything MLflow needs to log it.
type semRun struct {
	Name       string            `json:"name"`
	StartTime  int64             `json:"start_time"`
	Status     string            `json:"status"`
	EndTime    int64             `json:"end_time"`
	CreateTags map[string]string `json:"create_tags"`
	Params     map[string]string `json:"params"`
	Tags       map[string]string `json:"tags"`
	Metrics    []semMetric       `json:"metrics"`
	DeleteTags []string          `json:"delete_tags"`
}

type semMetric struct {
	Key       string `json:"key"`
	Value     string `json:"value"` // a Python float() literal, so NaN and ±Inf survive JSON
	Timestamp int64  `json:"timestamp"`
	Step      int64  `json:"step"`
}

type semQuery struct {
	Filter  string   `json:"filter"`
	OrderBy []string `json:"order_by"`
}

// semanticRuns builds 40 runs that differ in every way a filter can look at: missing keys, NaN and
// ±Inf metrics, several points per metric, case and accent differences, LIKE wildcards inside
// values, unicode, every status, equal start times, a deleted run-name tag.
func semanticRuns() []semRun {
	const base = int64(1_700_000_000_000)
	names := map[int]string{3: "Alpha", 4: "alpha", 5: "ALPHA_beta", 6: "100%", 7: "a_b", 8: "日本語", 9: "résumé", 10: "RÉSUMÉ"}
	statuses := []string{"RUNNING", "FINISHED", "FAILED", "KILLED", "SCHEDULED"}
	users := []string{"alice", "Bob", ""}
	models := []string{"resnet", "ResNet", "res_net", "res%net", "vit", "", "résumé", "RÉSUMÉ", "日本語", "a'b", `a"b`, "x y", ""}
	lrs := []string{"0.1", "0.01", "1e-3", "10", "2", ""}
	teams := []string{"Alpha", "alpha", "beta", "", "ALPHA"}
	notes := []string{"100%", "a_b", "a%b", "line\nbreak", "tab\there", "ümlaut", "x", ""}
	durations := []string{"60", "60.5", "59.9", "nan", "inf", "-inf", "0", "-0.0", "1e308", ""}
	var runs []semRun
	for i := 0; i < 40; i++ {
		r := semRun{
			Name:       fmt.Sprintf("run-%02d", i),
			StartTime:  base + int64(i%9)*1000,
			Status:     statuses[i%5],
			CreateTags: map[string]string{},
			Params:     map[string]string{},
			Tags:       map[string]string{},
		}
		if n, ok := names[i]; ok {
			r.Name = n
		}
		if r.Status != "RUNNING" && r.Status != "SCHEDULED" {
			r.EndTime = r.StartTime + 500 + int64(i)
		}
		if u := users[i%3]; u != "" {
			r.CreateTags["mlflow.user"] = u
		}
		if m := models[i%13]; i%13 != 12 {
			r.Params["model"] = m
		}
		if lr := lrs[i%6]; lr != "" {
			r.Params["lr"] = lr
		}
		switch i % 4 {
		case 0:
			r.Params["issue_number"] = "123"
		case 1:
			r.Params["issue_number"] = "0123"
		case 2:
			r.Params["issue_number"] = "12"
		}
		switch i % 3 {
		case 0:
			r.Params["procedure_name"] = "extract-best-frame"
		case 1:
			r.Params["procedure_name"] = "Extract-Best-Frame"
		}
		if i%5 == 0 {
			r.Params["my key"] = "spaced"
		}
		if i%7 == 0 {
			r.Params["a.b"] = "dotted"
		}
		if i%8 == 0 {
			r.Params["start_time"] = "p"
		}
		if t := teams[i%5]; t != "" {
			r.Tags["team"] = t
		}
		if n := notes[i%8]; n != "" {
			r.Tags["note"] = n
		}
		if i%10 == 1 {
			r.Tags["run_name"] = "aliased"
		}
		if i == 11 {
			r.DeleteTags = []string{"mlflow.runName"}
		}
		if d := durations[i%10]; d != "" {
			r.Metrics = append(r.Metrics, semMetric{"duration_seconds", d, base, 0})
		}
		r.Metrics = append(r.Metrics, semMetric{"success", strconv.Itoa(i % 2), base, 0})
		switch i % 3 {
		case 0: // the latest is the highest step, then the latest timestamp
			r.Metrics = append(r.Metrics,
				semMetric{"loss", "5", base + 1, 0},
				semMetric{"loss", strconv.Itoa(i), base + 2, 1},
				semMetric{"loss", strconv.FormatFloat(float64(i)/2, 'g', -1, 64), base + 3, 1})
		case 1: // a NaN that is not the latest
			r.Metrics = append(r.Metrics, semMetric{"loss", "nan", base, 0}, semMetric{"loss", "1", base, 2})
		case 2: // same step and timestamp: the larger stored value wins (NaN is stored as 0)
			r.Metrics = append(r.Metrics, semMetric{"loss", "nan", base, 5}, semMetric{"loss", "1", base, 5})
		}
		switch i % 4 {
		case 0:
			r.Metrics = append(r.Metrics, semMetric{"acc", "0.5", base, 0})
		case 1:
			r.Metrics = append(r.Metrics, semMetric{"acc", "-1e-300", base, 0})
		case 2:
			r.Metrics = append(r.Metrics, semMetric{"acc", "1e-300", base, 0})
		}
		if i%6 == 0 {
			r.Metrics = append(r.Metrics, semMetric{"train/loss", "0.25", base, 0})
		}
		runs = append(runs, r)
	}
	return runs
}

// semanticQueries are the filters and order_by lists compared; {{rN}} stands for the id of run N
// ({{RN}} for it in upper case).
func semanticQueries() []semQuery {
	const t = "1700000004000"
	filters := []string{
		"", "AND",
		// The seed's filters.
		"metrics.duration_seconds > 60", "metrics.success = 0", "params.issue_number = '123'",
		`params.procedure_name = "extract-best-frame" AND metrics.success = 0`,
		// Metrics: comparators, NaN, ±Inf, -0.0, the latest value.
		"metrics.duration_seconds >= 60", "metrics.duration_seconds < 60", "metrics.duration_seconds <= 60",
		"metrics.duration_seconds = 60", "metrics.duration_seconds != 60", "metrics.duration_seconds = 1e400",
		"metrics.duration_seconds > 1e308", "metrics.duration_seconds >= 1e308", "metrics.duration_seconds < -1e308",
		"metrics.duration_seconds <= -1e308", "metrics.duration_seconds = 0", "metrics.duration_seconds = -0.0",
		"metrics.duration_seconds < 1e400", "metrics.loss < 2", "metrics.loss = 1", "metrics.loss != 1",
		"metrics.acc > 0", "metrics.acc < 0", "metrics.`train/loss` = 0.25", "metrics.missing != 1",
		// Params: case, LIKE wildcards, unicode, NULL checks, aliases.
		"params.model = 'resnet'", "params.model != 'resnet'", "params.model LIKE 'res%'", "params.model LIKE 'res_net'",
		"params.model ILIKE 'RES%'", "params.model ILIKE 'résumé'", "params.model ILIKE '%É%'", "params.model LIKE '%'",
		"params.model = ''", "params.model LIKE ''", "params.model IS NULL", "params.model IS NOT NULL",
		"params.model LIKE '%''%'", `params.model = "a'b"`, `params.model LIKE '%"%'`, "params.model LIKE '日%'",
		"params.lr = '10'", "params.`my key` = 'spaced'", "params.`a.b` IS NOT NULL", "params.created = 'p'",
		"params.issue_number LIKE '%12%'", "params.procedure_name ILIKE 'extract-best-frame'",
		// Tags.
		"tags.note LIKE '100%'", "tags.note LIKE 'a_b'", "tags.note = 'line\nbreak'", "tags.note LIKE '%break'",
		"tags.note LIKE 'line_break'", "tags.note ILIKE 'ÜMLAUT'", "tags.note ILIKE '%\t%'", "tags.team ILIKE 'alpha'",
		"tags.team = 'alpha'", "tags.team != 'alpha'", "tags.team IS NULL", "tags.`mlflow.runName` LIKE 'run-0%'",
		"tags.`run name` = 'aliased'", "tags.`mlflow.user` = 'alice'",
		// Attributes.
		"status = 'RUNNING'", "attributes.status != 'FINISHED'", "status LIKE '%ED'", "status ILIKE 'running'",
		"run_name = 'Alpha'", "run_name ILIKE 'alpha'", "attributes.`Run name` LIKE '%É%'", "run_name = 'run-11'",
		"run_name != 'Alpha'", "run_name LIKE '100%'", "run_name ILIKE '%_beta'",
		"user_id = 'unknown'", "user_id ILIKE 'bob'", "user_id != 'alice'",
		"start_time > " + t, "created >= " + t, "Created < " + t, "start_time = 1.700000004e12", "start_time != " + t,
		"end_time < 1700000005000", "end_time != 0", "end_time >= 0",
		"run_id IN ('{{r1}}', '{{r2}}', '{{R3}}')", "run_id NOT IN ('{{r1}}')", "run_id = '{{r5}}'",
		"attributes.run_id != '{{r5}}'", "run_id LIKE '%'", "run_id ILIKE '{{R7}}'", "artifact_uri LIKE '%{{r2}}%'",
		"run_id IN ('{{R1}}')",
		// Datasets (no run has any).
		"datasets.name = 'x'", "datasets.name != 'x'", "datasets.context NOT IN ('a')",
		// Combinations.
		"metrics.success = 1 AND params.model LIKE 'res%' AND tags.team IS NOT NULL",
		"status = 'FINISHED' and metrics.duration_seconds > 0 and end_time > 0",
		// Refused.
		"params.lr > '1'", "metrics.loss = 'a'", "   ", "status IN ('RUNNING')", "metrics.loss IS NULL",
		"params.model = 'x' OR params.model = 'y'", "run_id = ('{{r1}}')",
	}
	orders := [][]string{
		nil, {"metrics.duration_seconds"}, {"metrics.duration_seconds DESC"}, {"params.model"}, {"params.model DESC"},
		{"tags.team"}, {"run_name"}, {"run_name DESC"}, {"status", "start_time ASC"}, {"end_time"}, {"end_time DESC"},
		{"user_id", "metrics.loss DESC"}, {"created"}, {"start_time"}, {"metrics.loss", "params.lr DESC"},
		{"artifact_uri"}, {"run_id DESC"}, {"metrics.acc"}, {"params.created"}, {"tags.`mlflow.runName`"},
		{"metrics.`train/loss` DESC", "tags.note"}, {"Created DESC"}, {"params.issue_number", "run_id"},
		{"datasets.name"}, {"start_time", "created"}, {"metrics.a", "metric.a"}, {"metrics.loss "},
	}
	var qs []semQuery
	for _, f := range filters {
		qs = append(qs, semQuery{Filter: f})
	}
	sortFilters := []string{"", "metrics.success = 1", "params.model IS NOT NULL", "status != 'RUNNING'"}
	for i, ob := range orders {
		if ob == nil {
			continue
		}
		qs = append(qs, semQuery{Filter: sortFilters[i%len(sortFilters)], OrderBy: ob})
	}
	return qs
}

type exportedRun struct {
	Info mlflowclient.RunInfo `json:"info"`
	Data struct {
		Metrics []semMetric          `json:"metrics"`
		Params  []mlflowclient.Param `json:"params"`
		Tags    []mlflowclient.Tag   `json:"tags"`
	} `json:"data"`
}

type semResult struct {
	OK  bool     `json:"ok"`
	IDs []string `json:"ids"`
	Err string   `json:"err"`
}

func pyFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("metric value %q: %v", s, err)
	}
	return v
}

func TestSearchMatchesMLflow(t *testing.T) {
	runs := semanticRuns()
	queries := semanticQueries()
	if len(runs) < 40 || len(queries) < 60 {
		t.Fatalf("too few cases: %d runs, %d queries", len(runs), len(queries))
	}
	checkSearches(t, runs, queries, sharedMLflow(t))
}

// checkSearches compares MLflow's search results (res) with Match + Sort over the same runs.
func checkSearches(t *testing.T, runs []semRun, queries []semQuery, res *mlflowOutput) {
	t.Helper()
	// Two views of the same runs: as MLflow reads them back (latest metrics only, ±Inf stored as
	// ±MaxFloat64) and as they were logged (every point, real infinities).
	readBack := make([]mlflowclient.Run, len(runs))
	logged := make([]mlflowclient.Run, len(runs))
	var ids []string
	for i, e := range res.Runs {
		ids = append(ids, e.Info.RunID)
		rb := mlflowclient.Run{Info: e.Info}
		rb.Data.Params, rb.Data.Tags = e.Data.Params, e.Data.Tags
		for _, m := range e.Data.Metrics {
			rb.Data.Metrics = append(rb.Data.Metrics, mlflowclient.Metric{Key: m.Key, Value: pyFloat(t, m.Value), Timestamp: m.Timestamp, Step: m.Step})
		}
		readBack[i] = rb
		lg := mlflowclient.Run{Info: e.Info}
		lg.Data.Params, lg.Data.Tags = e.Data.Params, e.Data.Tags
		for _, m := range runs[i].Metrics {
			lg.Data.Metrics = append(lg.Data.Metrics, mlflowclient.Metric{Key: m.Key, Value: pyFloat(t, m.Value), Timestamp: m.Timestamp, Step: m.Step})
		}
		logged[i] = lg
		// What MLflow read back must be what was logged, as the SQL store keeps it.
		for _, m := range rb.Data.Metrics {
			want, _ := latestMetric(lg, m.Key)
			if got := m.Value; !(math.IsNaN(want) && math.IsNaN(got)) && sqlStoredFloat(want) != got {
				t.Errorf("run %d metric %s: MLflow keeps %v as latest, Go computes %v", i, m.Key, got, want)
			}
		}
	}
	subst := func(s string) string {
		for i, id := range ids {
			s = strings.ReplaceAll(s, fmt.Sprintf("{{r%d}}", i), id)
			s = strings.ReplaceAll(s, fmt.Sprintf("{{R%d}}", i), strings.ToUpper(id))
		}
		return s
	}
	nonEmpty := 0
	for qi, q := range queries {
		py := res.Results[qi]
		f, ferr := Parse(subst(q.Filter))
		ob, oerr := ParseOrderBy(q.OrderBy)
		goErr := ferr
		if goErr == nil {
			goErr = oerr
		}
		name := fmt.Sprintf("filter %q order_by %q", q.Filter, q.OrderBy)
		if (goErr == nil) != py.OK {
			t.Errorf("%s: MLflow ok=%v (%s), Go error %v", name, py.OK, py.Err, goErr)
			continue
		}
		if goErr != nil {
			continue
		}
		if len(py.IDs) > 0 {
			nonEmpty++
		}
		for view, set := range map[string][]mlflowclient.Run{"read back": readBack, "as logged": logged} {
			var got []mlflowclient.Run
			for _, r := range set {
				if f.Match(r) {
					got = append(got, r)
				}
			}
			Sort(got, ob)
			var gotIDs []string
			for _, r := range got {
				gotIDs = append(gotIDs, r.Info.RunID)
			}
			if strings.Join(gotIDs, ",") != strings.Join(py.IDs, ",") {
				t.Errorf("%s (%s): Go returns %v, MLflow %v", name, view, runNames(gotIDs, ids), runNames(py.IDs, ids))
			}
		}
	}
	t.Logf("compared %d searches over %d runs (%d with a non-empty result)", len(queries), len(runs), nonEmpty)
}

// runNames turns run ids into run indexes for readable failures.
func runNames(got, ids []string) []int {
	idx := map[string]int{}
	for i, id := range ids {
		idx[id] = i
	}
	var out []int
	for _, id := range got {
		out = append(out, idx[id])
	}
	return out
}

// TestSearchMatchesMLflowRandom runs random filters and order_by lists over the semantic test's runs
// (set MLTRACK_FILTER_RANDOM to the number of searches; seed MLTRACK_FILTER_SEED).
func TestSearchMatchesMLflowRandom(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MLTRACK_FILTER_RANDOM"))
	if n <= 0 {
		t.Skip("set MLTRACK_FILTER_RANDOM=N to compare N random searches with MLflow")
	}
	seed, _ := strconv.ParseInt(os.Getenv("MLTRACK_FILTER_SEED"), 10, 64)
	rng := rand.New(rand.NewSource(seed + 1))
	runs := semanticRuns()
	var strs []string
	for _, r := range runs {
		for _, v := range r.Params {
			strs = append(strs, v)
		}
		for _, v := range r.Tags {
			strs = append(strs, v)
		}
		strs = append(strs, r.Name)
	}
	strs = append(strs, "RUNNING", "FINISHED", "FAILED", "KILLED", "SCHEDULED", "alice", "Bob", "unknown")
	pattern := func() string {
		rs := []rune(strs[rng.Intn(len(strs))])
		for k := range rs {
			switch rng.Intn(8) {
			case 0:
				rs[k] = '_'
			case 1:
				rs[k] = '%'
			case 2:
				rs[k] = []rune(strings.ToUpper(string(rs[k])))[0]
			case 3:
				rs[k] = []rune(strings.ToLower(string(rs[k])))[0]
			}
		}
		if rng.Intn(3) == 0 {
			return "%" + string(rs) + "%"
		}
		return string(rs)
	}
	quote := func(s string) string {
		if !strings.Contains(s, "'") {
			return "'" + s + "'"
		}
		return `"` + s + `"`
	}
	strKeys := []string{"params.model", "params.lr", "params.issue_number", "params.procedure_name", "params.`my key`",
		"tags.team", "tags.note", "tags.`mlflow.runName`", "tags.`mlflow.user`", "run_name", "status", "user_id", "params.missing"}
	numKeys := []string{"metrics.duration_seconds", "metrics.loss", "metrics.acc", "metrics.success", "metrics.`train/loss`", "metrics.missing"}
	nums := []string{"0", "60", "59.9", "1e308", "-1e308", "1e400", "-1e400", "-0.0", "1", "2", "0.5", "1e-300", "-1e-300", "0.25"}
	timeKeys := []string{"start_time", "end_time", "created"}
	times := []string{"1700000000000", "1700000004000", "1700000004500", "1700000008999", "0", "1.7000000045e12"}
	orderKeys := []string{"metrics.duration_seconds", "metrics.loss", "metrics.acc", "params.model", "params.lr", "tags.team",
		"tags.note", "run_name", "status", "user_id", "start_time", "end_time", "run_id", "artifact_uri", "params.missing"}
	var queries []semQuery
	for i := 0; i < n; i++ {
		var clauses []string
		for c := rng.Intn(3); c >= 0; c-- {
			switch rng.Intn(4) {
			case 0, 1:
				k := strKeys[rng.Intn(len(strKeys))]
				switch op := []string{"=", "!=", "LIKE", "ILIKE", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"}[rng.Intn(8)]; op {
				case "IS NULL", "IS NOT NULL":
					if strings.HasPrefix(k, "params.") || strings.HasPrefix(k, "tags.") {
						clauses = append(clauses, k+" "+op)
					}
				case "=", "!=":
					clauses = append(clauses, k+" "+op+" "+quote(strs[rng.Intn(len(strs))]))
				default:
					clauses = append(clauses, k+" "+op+" "+quote(pattern()))
				}
			case 2:
				clauses = append(clauses, numKeys[rng.Intn(len(numKeys))]+" "+metricOps[rng.Intn(len(metricOps))]+" "+nums[rng.Intn(len(nums))])
			case 3:
				clauses = append(clauses, timeKeys[rng.Intn(len(timeKeys))]+" "+metricOps[rng.Intn(len(metricOps))]+" "+times[rng.Intn(len(times))])
			}
		}
		q := semQuery{Filter: strings.Join(clauses, " AND ")}
		used := map[string]bool{}
		for c := rng.Intn(3); c > 0; c-- {
			k := orderKeys[rng.Intn(len(orderKeys))]
			if used[k] {
				continue
			}
			used[k] = true
			q.OrderBy = append(q.OrderBy, k+[]string{"", " ASC", " DESC"}[rng.Intn(3)])
		}
		queries = append(queries, q)
	}
	res, err := runMLflow(t, mlflowCases{Runs: runs, Queries: queries})
	if err != nil {
		t.Fatal(err)
	}
	checkSearches(t, runs, queries, res)
}
