package search

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mltrack/mltrack/internal/mlflowtest"
	"github.com/mltrack/mltrack/mlflowclient"
)

// TestSearchMatchesMLflow is the differential test of search.Runs against the real MLflow: one
// Python process writes the same ~30 runs with MLflow's client into a SQLite store, a file store
// and a real `mlflow server` (SQLite backend), and answers every query with mlflow.search_runs;
// then search.Runs answers the same queries on the same stores, and the run ids (in order) or the
// refusal must be the same on every store: on the file stores mltrack follows MLflow's file store
// (which evaluates searches in Python), elsewhere its SQL store, edge cases included.

const diffBase = int64(1_700_000_000_000)

// diffRun is one run to log, described for the Python script.
type diffRun struct {
	Exp        int               `json:"exp"` // index into diffExperiments
	Name       string            `json:"name"`
	StartTime  int64             `json:"start_time"`
	Status     string            `json:"status"`
	EndTime    int64             `json:"end_time"`
	CreateTags map[string]string `json:"create_tags"`
	Params     map[string]string `json:"params"`
	Tags       map[string]string `json:"tags"`
	Metrics    []diffMetric      `json:"metrics"`
	DeleteTags []string          `json:"delete_tags"`
	Deleted    bool              `json:"deleted"`
}

type diffMetric struct {
	Key       string `json:"key"`
	Value     string `json:"value"` // a Python float() literal: NaN and ±inf survive JSON
	Timestamp int64  `json:"timestamp"`
	Step      int64  `json:"step"`
}

// diffExperiments: the runs go into the first two; the third stays empty (MLflow's file store
// raises some errors only when there is a run to evaluate).
var diffExperiments = []string{"diff-a", "diff-b", "diff-empty"}

// diffRuns builds 30 runs over two experiments that differ in everything a filter looks at: the
// seed's params and metrics, missing keys, NaN and ±inf, several steps per metric, case and
// accents, LIKE wildcards and newlines inside values, quotes, keys with spaces, dots and slashes,
// every status, equal start times, deleted runs, a deleted run-name tag.
func diffRuns() []diffRun {
	procedures := []string{"extract-best-frame", "Extract-Best-Frame", "resize-images", ""}
	issues := []string{"123", "0123", "12", "123 ", ""}
	models := []string{"resnet", "ResNet", "res_net", "res%net", "vit", "résumé", "RÉSUMÉ", "a'b", `a"b`, ""}
	lrs := []string{"0.1", "0.01", "1e-3", ""}
	teams := []string{"Alpha", "alpha", "beta", ""}
	notes := []string{"100%", "a_b", "axb", "line\nbreak", "x", ""}
	tails := []string{"end\n", "END", "End\nx", "", "énd", "ÉND\n", "ıd", "ID"}
	users := []string{"alice", "Bob", "carol"}
	durations := []string{"30", "60", "60.5", "90", "nan", "inf", "-inf", "-0.0", "", "120", "59.9"}
	statuses := []string{"FINISHED", "FAILED", "FINISHED", "KILLED", "RUNNING"}
	names := map[int]string{3: "Alpha", 4: "alpha", 7: "ALPHA_beta", 9: "résumé"}
	var runs []diffRun
	for i := 0; i < 30; i++ {
		r := diffRun{
			Exp:        i % 2,
			Name:       fmt.Sprintf("run-%02d", i),
			StartTime:  diffBase + int64(i%7)*1000,
			Status:     statuses[i%5],
			CreateTags: map[string]string{"mlflow.user": users[i%3]},
			Params:     map[string]string{},
			Tags:       map[string]string{},
			Deleted:    i == 5 || i == 17 || i == 28,
		}
		if n, ok := names[i]; ok {
			r.Name = n
		}
		if r.Status != "RUNNING" {
			r.EndTime = r.StartTime + 1000 + int64(i)*100
		}
		set := func(m map[string]string, k, v string) {
			if v != "" {
				m[k] = v
			}
		}
		set(r.Params, "procedure_name", procedures[i%4])
		set(r.Params, "issue_number", issues[i%5])
		set(r.Params, "model", models[i%10])
		set(r.Params, "lr", lrs[i%4])
		if i%5 == 0 {
			r.Params["my key"] = "spaced"
		}
		if i%6 == 1 {
			r.Params["a.b"] = "dotted"
		}
		set(r.Tags, "team", teams[i%4])
		set(r.Tags, "note", notes[i%6])
		set(r.Tags, "tail", tails[i%8])
		if i == 11 {
			r.DeleteTags = []string{"mlflow.runName"}
		}
		ts := diffBase + int64(i)
		if d := durations[i%11]; d != "" {
			r.Metrics = append(r.Metrics, diffMetric{"duration_seconds", d, ts, 0})
		}
		switch i % 3 {
		case 0: // failed first, then succeeded: the latest (step 1) counts
			r.Metrics = append(r.Metrics, diffMetric{"success", "0", ts, 0}, diffMetric{"success", "1", ts + 5, 1})
		case 1:
			r.Metrics = append(r.Metrics, diffMetric{"success", "0", ts, 0})
		}
		if i%4 != 3 {
			// The largest step wins even when logged earlier.
			r.Metrics = append(r.Metrics,
				diffMetric{"loss", strconv.FormatFloat(float64(i%9)/4, 'f', -1, 64), ts, 3},
				diffMetric{"loss", "100", ts + 50, 1})
		}
		if i%3 != 2 {
			r.Metrics = append(r.Metrics, diffMetric{"train/acc", strconv.FormatFloat(float64(i%10)/10, 'f', -1, 64), ts, 0})
		}
		runs = append(runs, r)
	}
	return runs
}

// diffQuery is one search. Filters may hold {run:N}, replaced by the id run N got in each store.
type diffQuery struct {
	Filter  string   `json:"filter"`
	OrderBy []string `json:"order_by"`
	Exps    []int    `json:"exps"` // indexes into diffExperiments
	View    string   `json:"view"` // ACTIVE_ONLY, DELETED_ONLY, ALL
	Max     int      `json:"max"`  // 0: default
	Server  bool     `json:"server"`
}

type diffFilter struct {
	filter string
	server bool
}

func diffFilters() []diffFilter {
	t := func(ms int64) string { return strconv.FormatInt(diffBase+ms, 10) }
	return []diffFilter{
		// The seed's queries.
		{filter: "", server: true},
		{filter: "metrics.duration_seconds > 60", server: true},
		{filter: "metrics.success = 0", server: true},
		{filter: "params.issue_number = '123'", server: true},
		{filter: `params.procedure_name = "extract-best-frame" AND metrics.success = 0`, server: true},
		// Metrics: every comparator, NaN, ±inf, -0.0, a missing metric, quoting of keys.
		{filter: "metrics.duration_seconds >= 60", server: true},
		{filter: "metrics.duration_seconds < 60", server: true},
		{filter: "metrics.duration_seconds <= 60.5"},
		{filter: "metrics.duration_seconds != 60", server: true},
		{filter: "metrics.duration_seconds = 60"},
		{filter: "metrics.duration_seconds = 0"},
		{filter: "metrics.duration_seconds > 1e308"},
		{filter: "metrics.duration_seconds < -1e308"},
		// 1e400 is +inf: the SQL store keeps +inf as the largest float, the file store compares
		// real infinities.
		{filter: "metrics.duration_seconds = 1e400", server: true},
		{filter: "metrics.duration_seconds != 1e400"},
		{filter: "metrics.duration_seconds < 1e400"},
		{filter: "metrics.duration_seconds >= 1.7976931348623157e308"},
		{filter: "metrics.duration_seconds = -1e400"},
		{filter: "metrics.duration_seconds != 0"}, // NaN satisfies != everywhere
		{filter: "metrics.`train/acc` >= 0.5", server: true},
		{filter: `metrics."train/acc" < 0.5`},
		{filter: "metric.loss < 1"},
		{filter: "`metrics`.loss <= 0.5 AND metrics.success = 1"},
		{filter: "metrics.missing_metric > 0"},
		{filter: "metrics.success=0"},
		// Params: =, !=, LIKE, ILIKE, IS [NOT] NULL, quoting styles, keys with spaces and dots.
		{filter: "params.model = 'resnet'", server: true},
		{filter: `params.model = "ResNet"`},
		{filter: "params.model != 'resnet'", server: true},
		{filter: "params.model LIKE 'res%'", server: true},
		{filter: "params.model LIKE 'res_net'"},
		{filter: "params.model ILIKE 'RES%'", server: true},
		{filter: "params.model like '%net'"},
		// ILIKE: SQLite's lower() folds ASCII letters only; Python's re.IGNORECASE folds É too.
		{filter: "params.model ilike 'résumé'"},
		{filter: "params.model ILIKE '%É%'"},
		{filter: `params.model = "a'b"`},
		{filter: `params.model = 'a"b'`},
		{filter: "params.`my key` = 'spaced'", server: true},
		{filter: `params."my key" IS NOT NULL`},
		{filter: "params.`a.b` = 'dotted'"},
		{filter: "params.lr IS NULL", server: true},
		{filter: "params.lr is not null"},
		{filter: "param.lr = '0.1'"},
		{filter: "parameters.lr != '0.1'"},
		{filter: "params.issue_number LIKE '%12%'"},
		{filter: "params.procedure_name ILIKE 'extract-best-frame'", server: true},
		// Tags.
		{filter: "tags.team = 'alpha'", server: true},
		{filter: "tags.team ILIKE 'alpha'"},
		{filter: "tags.team LIKE 'A%'"},
		{filter: "tags.note = '100%'"},
		{filter: "tags.note LIKE '100%'"},
		{filter: "tags.note LIKE 'a_b'"},
		// LIKE in Python: % and _ stop at a newline, a pattern may end before a final newline,
		// and IGNORECASE follows Python's Unicode rules (ı and İ are i).
		{filter: "tags.note LIKE '%break'"},
		{filter: "tags.note LIKE 'line_break'"},
		{filter: "tags.tail LIKE 'end'"},
		{filter: "tags.tail = 'end'"},
		{filter: "tags.tail ILIKE 'end%'"},
		{filter: "tags.tail ILIKE 'e%'"},
		{filter: "tags.tail LIKE '%x'"},
		{filter: "tags.tail ILIKE 'id'"},
		{filter: "tags.tail ILIKE 'énd_'"},
		{filter: "tags.tail LIKE ''"},
		{filter: "tags.note LIKE 'line%'"},
		{filter: "tags.team IS NULL", server: true},
		{filter: "tags.`mlflow.runName` = 'run-03'"},
		{filter: `tags."mlflow.user" = 'alice'`},
		{filter: "tag.team != 'beta'"},
		// Attributes, with and without the entity, and their aliases.
		{filter: "attributes.status = 'FAILED'", server: true},
		{filter: "status != 'FINISHED'"},
		{filter: "attributes.status LIKE 'F%'"},
		{filter: "attribute.run_name = 'Alpha'", server: true},
		{filter: "run_name ILIKE 'alpha%'"},
		// run_name: the SQL store compares the mlflow.runName tag (deleted on run 11), the file
		// store the run's name.
		{filter: "`Run name` LIKE 'run-1%'"},
		{filter: `"run name" = 'run-12'`},
		{filter: "attributes.run_name = 'run-11'"},
		{filter: "run_name != 'run-11'"},
		{filter: "attributes.user_id = 'alice'", server: true},
		{filter: "attributes.start_time > " + t(3000), server: true},
		{filter: "created >= " + t(5000)},
		{filter: "attributes.start_time = " + t(0)},
		{filter: "start_time != " + t(0)},
		{filter: "attributes.end_time < " + t(3500), server: true},
		{filter: "end_time > 0"},
		{filter: "attributes.run_id IN ('{run:3}', '{run:4}', '{run:5}')", server: true},
		{filter: "run_id = '{run:4}'"},
		{filter: "attributes.run_id NOT IN ('{run:1}', \"{run:2}\")"},
		{filter: "attributes.artifact_uri LIKE '%/artifacts'"},
		{filter: "datasets.name = 'x'"},
		// Combinations and MLflow's lenient AND.
		{filter: "metrics.duration_seconds > 60 AND params.model LIKE 'res%' AND tags.team != 'beta'", server: true},
		{filter: "metrics.success = 0 and params.issue_number = '123'"},
		{filter: "metrics.success = 0 params.issue_number = '123'"},
		{filter: "params.model = 'resnet' AND"},
		{filter: "AND metrics.success = 1"},
		// What MLflow refuses.
		{filter: "params.issue_number = 123", server: true},
		{filter: "metrics.success = '0'", server: true},
		{filter: "metrics.duration_seconds > 60 OR metrics.success = 0", server: true},
		{filter: "params.model < 'z'", server: true},
		{filter: "status IN ('FINISHED')"},
		{filter: "metrics.success IS NULL"},
		{filter: "(metrics.success = 0)"},
		{filter: "lifecycle_stage = 'deleted'"},
		{filter: "duration > 5"},
		{filter: "   ", server: true},
		{filter: "tags.team = alpha"},
		{filter: "params.model = 'resnet' AND NOT params.lr = '0.1'"},
		{filter: "foo.bar = 'x'"},
		// Refused by the SQL store before it runs, by the file store only when a run reaches the
		// clause (every clause before it true), or never.
		{filter: "metrics.missing_metric > 0 AND params.model < 'z'"},
		{filter: "params.model IS NULL AND tags.team > 'a'"},
		{filter: "metrics.success = 1 AND status < 'Z'"},
		{filter: "datasets.name LIKE ('x')"},
		{filter: "attributes.run_id = ('{run:1}', '{run:2}')"},
		{filter: "attributes.run_id != ('{run:1}')"},
		{filter: "run_id LIKE ('{run:1}')"},
		{filter: "metrics.missing_metric > 0 AND run_id ILIKE ('{run:1}')"},
		{filter: "attributes.start_time < 99999999999999999999"},
		{filter: "end_time > -99999999999999999999"},
		{filter: "params.model NOT LIKE 'res%'"},
	}
}

// diffOrders are rotated over the filters; the last ones are refused by MLflow's SQL store.
var diffOrders = [][]string{
	{"metrics.duration_seconds DESC"},
	{"params.model"},
	{"attributes.start_time ASC", "metrics.loss"},
	{"tags.team DESC"},
	{"run_name"},
	{"metrics.success ASC", "params.issue_number DESC"},
	{"end_time"},
	{"metrics.`train/acc` DESC"},
	{"attributes.status", "tags.`mlflow.user`"},
	{"created DESC", "params.lr"},
}

func diffQueries() []diffQuery {
	var qs []diffQuery
	both := []int{0, 1}
	for i, f := range diffFilters() {
		qs = append(qs, diffQuery{Filter: f.filter, Exps: both, View: "ACTIVE_ONLY", Server: f.server})
		qs = append(qs, diffQuery{Filter: f.filter, OrderBy: diffOrders[i%len(diffOrders)], Exps: both, View: "ACTIVE_ONLY", Server: f.server})
	}
	extra := []diffQuery{
		{Filter: "", View: "DELETED_ONLY", Exps: both, Server: true},
		{Filter: "metrics.success = 0", View: "ALL", Exps: both, Server: true},
		{Filter: "", View: "ALL", OrderBy: []string{"metrics.duration_seconds ASC"}, Exps: both, Server: true},
		{Filter: "", Exps: []int{1}, View: "ACTIVE_ONLY", Server: true},
		{Filter: "params.model LIKE 'res%'", Exps: []int{0}, View: "ACTIVE_ONLY", OrderBy: []string{"params.model DESC"}},
		{Filter: "", Exps: both, View: "ACTIVE_ONLY", Max: 5, OrderBy: []string{"metrics.duration_seconds DESC"}, Server: true},
		{Filter: "metrics.loss >= 0", Exps: both, View: "ALL", Max: 3},
		{Filter: "", Exps: both, View: "ACTIVE_ONLY", OrderBy: []string{"metrics.loss DESCENDING"}, Server: true},
		{Filter: "", Exps: both, View: "ACTIVE_ONLY", OrderBy: []string{" metrics.loss"}},
		// Duplicate order_by keys: the SQL store refuses them, the file store sorts by both.
		{Filter: "", Exps: both, View: "ACTIVE_ONLY", OrderBy: []string{"params.model ASC", "params.model DESC"}},
		{Filter: "", Exps: both, View: "ALL", OrderBy: []string{"metrics.loss DESC", "metric.loss", "params.lr"}},
		{Filter: "", Exps: both, View: "ACTIVE_ONLY", OrderBy: []string{"datasets.name"}},
		{Filter: "", Exps: both, View: "ACTIVE_ONLY", OrderBy: []string{"`Run name`"}},
		// Ordering by a dataset key: the file store fails only when there is a run to sort.
		{Filter: "metrics.missing_metric > 0", Exps: both, View: "ACTIVE_ONLY", OrderBy: []string{"datasets.name"}},
		{Filter: "", Exps: []int{2}, View: "ACTIVE_ONLY", OrderBy: []string{"datasets.digest DESC"}, Server: true},
		// An empty experiment: the file store evaluates no clause at all.
		{Filter: "params.model < 'z'", Exps: []int{2}, View: "ACTIVE_ONLY", Server: true},
		{Filter: "params.model = 'resnet'", Exps: []int{2}, View: "ALL"},
		// Order with missing values, NaN and infinities, and ties broken by start time and run id.
		{Filter: "", Exps: both, View: "ALL", OrderBy: []string{"metrics.duration_seconds"}},
		{Filter: "", Exps: both, View: "ALL", OrderBy: []string{"tags.tail DESC", "end_time"}},
		{Filter: "", Exps: both, View: "DELETED_ONLY", OrderBy: []string{"params.lr DESC"}},
		{Filter: "", Exps: both, View: "ACTIVE_ONLY", OrderBy: []string{"run_name DESC"}, Max: 4},
		{Filter: "", Exps: both, View: "ACTIVE_ONLY", OrderBy: []string{"user_id", "status DESC"}},
		// An experiment named twice: the file store searches it twice.
		{Filter: "metrics.success = 0", Exps: []int{0, 0}, View: "ACTIVE_ONLY", Server: true},
		{Filter: "", Exps: []int{1, 0, 1}, View: "ALL", OrderBy: []string{"metrics.loss"}, Max: 7},
	}
	return append(qs, extra...)
}

// diffScript logs the runs into each store and runs every query with mlflow.search_runs.
const diffScript = `
import json, os, sys, logging, warnings
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType

cases = json.load(open(os.environ["CASES"], encoding="utf-8"))
out = {}
for store in cases["stores"]:
    uri = store["uri"]
    client = MlflowClient(uri)
    if store.get("ids"):  # written by mltrack: MLflow only searches it
        exp_ids, ids = store["experiments"], store["ids"]
        cases_runs = []
    else:
        exp_ids = [client.create_experiment(n) for n in cases["experiments"]]
        ids = []
        cases_runs = cases["runs"]
    for r in cases_runs:
        run = client.create_run(exp_ids[r["exp"]], start_time=r["start_time"], tags=r["create_tags"], run_name=r["name"])
        rid = run.info.run_id
        client.log_batch(rid,
            metrics=[Metric(m["key"], float(m["value"]), m["timestamp"], m["step"]) for m in r["metrics"]],
            params=[Param(k, v) for k, v in r["params"].items()],
            tags=[RunTag(k, v) for k, v in r["tags"].items()])
        for k in r["delete_tags"] or []:
            client.delete_tag(rid, k)
        if r["status"] != "RUNNING":
            client.set_terminated(rid, r["status"], end_time=r["end_time"])
        if r["deleted"]:
            client.delete_run(rid)
        ids.append(rid)
    artifacts = {}
    if cases_runs:
        client.log_text(ids[0], "hello", "outputs/hello.txt")
        client.log_text(ids[0], "top", "top.txt")
        for p in ["", "outputs", "outputs/", "missing"]:
            artifacts[p] = [[f.path, f.is_dir, f.file_size or 0] for f in client.list_artifacts(ids[0], p or None)]
    mlflow.set_tracking_uri(uri)
    results = []
    for q in cases["queries"]:
        if store["server"] and not q["server"]:
            results.append(None)
            continue
        f = q["filter"]
        for i, rid in enumerate(ids):
            f = f.replace("{run:%d}" % i, rid)
        kwargs = {}
        if q["max"]:
            kwargs["max_results"] = q["max"]
        try:
            runs = mlflow.search_runs(experiment_ids=[exp_ids[i] for i in q["exps"]], filter_string=f,
                run_view_type=ViewType.from_string(q["view"].lower()), order_by=q["order_by"] or None,
                output_format="list", **kwargs)
            results.append({"ids": [r.info.run_id for r in runs]})
        except Exception as e:
            results.append({"error": (type(e).__name__ + ": " + str(e))[:300]})
    out[store["name"]] = {"experiments": exp_ids, "runs": ids, "results": results, "artifacts": artifacts}
json.dump(out, open(os.environ["OUT"], "w", encoding="utf-8"))
`

type diffStore struct {
	Name        string   `json:"name"`
	URI         string   `json:"uri"`
	Server      bool     `json:"server"`
	Experiments []string `json:"experiments,omitempty"` // set when mltrack wrote the store
	IDs         []string `json:"ids,omitempty"`
}

// writeCorpusWithMltrack writes diffRuns with mltrack's own store, doing what the Store interface
// cannot (deleting a run, deleting a tag) as MLflow does it, directly in the store.
func writeCorpusWithMltrack(t *testing.T, uri string) (expIDs, runIDs []string) {
	t.Helper()
	ctx := context.Background()
	st, err := mlflowclient.Open(uri, mlflowclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, name := range diffExperiments {
		e, err := mlflowclient.EnsureExperiment(ctx, st, name)
		if err != nil {
			t.Fatal(err)
		}
		expIDs = append(expIDs, e.ID)
	}
	var deleted []mlflowclient.RunInfo
	var untagged []mlflowclient.RunInfo
	for _, r := range diffRuns() {
		req := mlflowclient.CreateRunRequest{ExperimentID: expIDs[r.Exp], RunName: r.Name, StartTime: r.StartTime, UserID: r.CreateTags["mlflow.user"]}
		for k, v := range r.CreateTags {
			req.Tags = append(req.Tags, mlflowclient.Tag{Key: k, Value: v})
		}
		info, err := st.CreateRun(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var metrics []mlflowclient.Metric
		for _, m := range r.Metrics {
			v, err := strconv.ParseFloat(m.Value, 64)
			if err != nil {
				t.Fatal(err)
			}
			metrics = append(metrics, mlflowclient.Metric{Key: m.Key, Value: v, Timestamp: m.Timestamp, Step: m.Step})
		}
		var params []mlflowclient.Param
		for k, v := range r.Params {
			params = append(params, mlflowclient.Param{Key: k, Value: v})
		}
		var tags []mlflowclient.Tag
		for k, v := range r.Tags {
			tags = append(tags, mlflowclient.Tag{Key: k, Value: v})
		}
		if err := st.LogBatch(ctx, info.RunID, metrics, params, tags); err != nil {
			t.Fatal(err)
		}
		if r.Status != "RUNNING" {
			if err := st.UpdateRun(ctx, info.RunID, mlflowclient.RunStatus(r.Status), r.EndTime); err != nil {
				t.Fatal(err)
			}
		}
		if r.Deleted {
			deleted = append(deleted, info)
		}
		if len(r.DeleteTags) > 0 {
			untagged = append(untagged, info)
		}
		runIDs = append(runIDs, info.RunID)
	}
	if strings.HasPrefix(uri, "sqlite:") {
		db, err := sql.Open("sqlite", strings.TrimPrefix(uri, "sqlite:///"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, r := range deleted {
			if _, err := db.Exec("UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE run_uuid = ?", diffBase, r.RunID); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range untagged {
			if _, err := db.Exec("DELETE FROM tags WHERE run_uuid = ? AND key = 'mlflow.runName'", r.RunID); err != nil {
				t.Fatal(err)
			}
		}
		return expIDs, runIDs
	}
	root := filepath.FromSlash(strings.TrimPrefix(uri, "file://"))
	for _, r := range deleted {
		meta := filepath.Join(root, r.ExperimentID, r.RunID, "meta.yaml")
		b, err := os.ReadFile(meta)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(meta, bytes.Replace(b, []byte("lifecycle_stage: active"), []byte("lifecycle_stage: deleted"), 1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range untagged {
		if err := os.Remove(filepath.Join(root, r.ExperimentID, r.RunID, "tags", "mlflow.runName")); err != nil {
			t.Fatal(err)
		}
	}
	return expIDs, runIDs
}

type diffStoreResult struct {
	Experiments []string `json:"experiments"`
	Runs        []string `json:"runs"`
	Results     []*struct {
		IDs   []string `json:"ids"`
		Error string   `json:"error"`
	} `json:"results"`
	Artifacts map[string][][]any `json:"artifacts"` // path listed → [path, is_dir, size] as MLflow lists them
}

func TestSearchMatchesMLflow(t *testing.T) {
	py := mlflowtest.Python(t)
	if testing.Short() {
		t.Skip("starts MLflow and an mlflow server")
	}
	dir := t.TempDir()
	srv := mlflowtest.StartServer(t, nil).URI
	// Stores the Python client writes, and stores mltrack writes (MLflow then only searches them).
	stores := []diffStore{
		{Name: "sqlite", URI: "sqlite:///" + filepath.ToSlash(filepath.Join(dir, "db", "mlflow.db"))},
		{Name: "file", URI: "file://" + filepath.ToSlash(filepath.Join(dir, "mlruns"))},
		{Name: "server", URI: srv, Server: true},
		{Name: "sqlite-by-mltrack", URI: "sqlite:///" + filepath.ToSlash(filepath.Join(dir, "db2", "mlflow.db"))},
		{Name: "file-by-mltrack", URI: "file://" + filepath.ToSlash(filepath.Join(dir, "mlruns2"))},
	}
	for _, d := range []string{"db", "db2"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := range stores {
		if strings.HasSuffix(stores[i].Name, "-by-mltrack") {
			stores[i].Experiments, stores[i].IDs = writeCorpusWithMltrack(t, stores[i].URI)
		}
	}
	queries := diffQueries()
	if n := len(diffFilters()); n < 60 {
		t.Fatalf("only %d filters", n)
	}
	nServer := 0
	for _, q := range queries {
		if q.Server && q.Filter != "" {
			nServer++
		}
	}
	cases, err := json.Marshal(map[string]any{"stores": stores, "experiments": diffExperiments, "runs": diffRuns(), "queries": queries})
	if err != nil {
		t.Fatal(err)
	}
	casesPath, outPath := filepath.Join(dir, "cases.json"), filepath.Join(dir, "out.json")
	if err := os.WriteFile(casesPath, cases, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runPython(t, py, dir, diffScript, "CASES="+casesPath, "OUT="+outPath, "MLFLOW_ALLOW_FILE_STORE=true")
	t.Logf("MLflow logged %d runs into 3 stores and answered %d queries on 5 stores (%d on the server) in %s",
		len(diffRuns()), len(queries), nServer, time.Since(start).Round(time.Millisecond))
	data, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]diffStoreResult
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}

	// How often MLflow itself answers differently on its file store and its SQL store (other runs,
	// or an error on one only; the order is left out, as run ids are random and break ties): the
	// cases where following the SQL store's semantics on a file store would be wrong.
	asIndexes := func(res diffStoreResult, qi int) string {
		r := res.Results[qi]
		if r == nil || r.Error != "" {
			return "error"
		}
		idx := map[string]int{}
		for i, id := range res.Runs {
			idx[id] = i
		}
		var s []string
		for _, id := range r.IDs {
			s = append(s, strconv.Itoa(idx[id]))
		}
		slices.Sort(s)
		return strings.Join(s, " ")
	}
	differ := 0
	for qi := range queries {
		if asIndexes(got["sqlite"], qi) != asIndexes(got["file"], qi) {
			differ++
		}
	}
	t.Logf("MLflow's file store and SQL store match different runs (or only one refuses) for %d of %d queries", differ, len(queries))

	ctx := context.Background()
	for _, sd := range stores {
		t.Run(sd.Name, func(t *testing.T) {
			res := got[sd.Name]
			if len(res.Results) != len(queries) {
				t.Fatalf("%d results for %d queries", len(res.Results), len(queries))
			}
			st, err := mlflowclient.Open(sd.URI, mlflowclient.Options{Warn: func(m string) { t.Logf("warning: %s", m) }})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			name := map[string]string{} // run id → "run N", for readable messages
			for i, id := range res.Runs {
				name[id] = "run " + strconv.Itoa(i)
			}
			show := func(ids []string) string {
				var s []string
				for _, id := range ids {
					s = append(s, strings.TrimPrefix(name[id], "run "))
				}
				return "[" + strings.Join(s, " ") + "]"
			}
			if sd.IDs == nil && len(res.Artifacts) != 4 {
				t.Errorf("MLflow listed %d artifact paths, want 4", len(res.Artifacts))
			}
			checkExperimentsAndArtifacts(t, st, res)
			compared, same := 0, 0
			for qi, q := range queries {
				want := res.Results[qi]
				if want == nil {
					continue
				}
				compared++
				f := q.Filter
				for i, id := range res.Runs {
					f = strings.ReplaceAll(f, "{run:"+strconv.Itoa(i)+"}", id)
				}
				var ids []string
				for _, e := range q.Exps {
					ids = append(ids, res.Experiments[e])
				}
				view, err := mlflowclient.ParseViewType(q.View)
				if err != nil {
					t.Fatal(err)
				}
				runs, err := Runs(ctx, st, Request{ExperimentIDs: ids, Filter: f, OrderBy: q.OrderBy, MaxResults: q.Max, View: view})
				var diff string
				switch {
				case err != nil && want.Error == "":
					diff = fmt.Sprintf("mltrack refused (%v); MLflow returned %s", firstLine(err.Error()), show(want.IDs))
				case err == nil && want.Error != "":
					diff = fmt.Sprintf("mltrack returned %s; MLflow refused (%s)", show(runIDs(runs)), want.Error)
				case err == nil && !slices.Equal(runIDs(runs), want.IDs):
					diff = fmt.Sprintf("mltrack returned %s; MLflow %s", show(runIDs(runs)), show(want.IDs))
				}
				label := fmt.Sprintf("filter %q order_by %q view %s max %d experiments %v", q.Filter, q.OrderBy, q.View, q.Max, q.Exps)
				if diff == "" {
					same++
				} else {
					t.Errorf("%s: %s", label, diff)
				}
			}
			t.Logf("%s: %d queries compared, %d identical", sd.Name, compared, same)
		})
	}
}

// checkExperimentsAndArtifacts resolves the experiments by name and by id, and lists run 0's
// artifacts as MLflow's client listed them.
func checkExperimentsAndArtifacts(t *testing.T, st mlflowclient.Store, res diffStoreResult) {
	t.Helper()
	ctx := context.Background()
	exps, err := Experiments(ctx, st, []string{diffExperiments[0], res.Experiments[1], diffExperiments[0]})
	if err != nil || len(exps) != 2 || exps[0].ID != res.Experiments[0] || exps[1].Name != diffExperiments[1] {
		t.Errorf("Experiments(name, id, name) = %+v, %v", exps, err)
	}
	all, err := Experiments(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range all {
		names = append(names, e.Name)
	}
	slices.Sort(names)
	if want := []string{"Default", "diff-a", "diff-b", "diff-empty"}; !slices.Equal(names, want) {
		t.Errorf("every active experiment = %q, want %q", names, want)
	}
	if len(res.Artifacts) == 0 {
		return
	}
	al, ok := st.(mlflowclient.ArtifactLister)
	if !ok {
		t.Fatalf("%T lists no artifacts", st)
	}
	run, err := st.GetRun(ctx, res.Runs[0])
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range res.Artifacts {
		got, err := al.ListArtifacts(ctx, run.Info, p)
		if err != nil {
			t.Errorf("ListArtifacts(%q): %v", p, err)
			continue
		}
		var gotRows [][]any
		for _, a := range got {
			gotRows = append(gotRows, []any{a.Path, a.IsDir, float64(a.Size)})
		}
		if fmt.Sprint(gotRows) != fmt.Sprint(want) {
			t.Errorf("ListArtifacts(%q) = %v; MLflow lists %v", p, gotRows, want)
		}
	}
}

func runIDs(runs []mlflowclient.Run) []string {
	ids := []string{}
	for _, r := range runs {
		ids = append(ids, r.Info.RunID)
	}
	return ids
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// runPython runs script with MLflow's Python (in dir, with MLflow's variables cleared and env
// added), failing the test on an error or after 8 minutes.
func runPython(t *testing.T, py, dir, script string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", script)
	cmd.Dir = dir
	cmd.Env = append(mlflowtest.CleanEnv(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("python: %v\n%s", err, out.String())
	}
}
