package filter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mltrack/mltrack/internal/mlflowtest"
)

// The differential tests run the real MLflow once: one Python process creates a SQLite store, logs
// the semantic test's runs, asks MLflow's parser about every filter and order_by of the parse test,
// runs every search of the semantic test, and dumps sqparse's keyword table. Creating MLflow's
// SQLite schema alone takes seconds, so sharing the process keeps `go test` fast.

// mlflowScript reads the cases from the JSON file named by $CASES (every section optional) and
// prints the results as JSON.
//
// A filter or order_by counts as accepted when MLflow's parser accepts it AND a search with it
// succeeds on the SQLite store: the SQL store checks comparators, aliases, datasets and duplicate
// order_by keys, and fails to bind some values, only when it runs the query.
const mlflowScript = `
import json, os, re, sys, tempfile, logging, warnings
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.utils.search_utils import SearchUtils

cases = json.load(open(os.environ["CASES"], encoding="utf-8"))
out = {}

if cases.get("keywords"):
    from sqlparse.lexer import Lexer
    words = {}
    for d in Lexer.get_default_instance()._keywords:
        for k, v in d.items():
            if re.fullmatch(r"\w[$#\w]*", k):
                words.setdefault(k, str(v))
    out["keywords"] = words

tmp = tempfile.mkdtemp()
uri = "sqlite:///" + os.path.join(tmp, "m.db")
mlflow.set_tracking_uri(uri)
client = MlflowClient(uri)
store = client._tracking_client.store
exp = client.create_experiment("filter-tests")

ids = []
for r in cases.get("runs") or []:
    run = client.create_run(exp, start_time=r["start_time"], tags=r["create_tags"], run_name=r["name"])
    rid = run.info.run_id
    ids.append(rid)
    client.log_batch(rid,
        metrics=[Metric(m["key"], float(m["value"]), m["timestamp"], m["step"]) for m in r["metrics"]],
        params=[Param(k, v) for k, v in r["params"].items()],
        tags=[RunTag(k, v) for k, v in r["tags"].items()])
    for k in r["delete_tags"] or []:
        client.delete_tag(rid, k)
    if r["status"] in ("FINISHED", "FAILED", "KILLED"):
        client.set_terminated(rid, status=r["status"], end_time=r["end_time"])
    elif r["status"] != "RUNNING":
        client.update_run(rid, status=r["status"])
if not ids:
    r = client.create_run(exp, start_time=1000, run_name="one")
    client.log_metric(r.info.run_id, "m", 1.0)
    client.log_param(r.info.run_id, "p", "v")
    client.set_tag(r.info.run_id, "t", "v")

def enc(v):
    if v is None: return None
    if isinstance(v, bool): return {"str": str(v)}
    if isinstance(v, int): return {"int": str(v)}
    if isinstance(v, float): return {"float": repr(v)}
    if isinstance(v, str): return {"str": v}
    if isinstance(v, (tuple, list)): return {"list": [enc(x) for x in v]}
    return {"other": repr(v)}

out["filters"] = []
for f in cases.get("filters") or []:
    try:
        clauses = []
        for c in SearchUtils.parse_search_filter(f):
            v = c["value"]
            if c["type"] == "metric":
                v = float(v)
            clauses.append({"type": c["type"], "key": c["key"], "comparator": c["comparator"], "value": enc(v)})
        store.search_runs([exp], f, ViewType.ALL, max_results=5)
        out["filters"].append({"ok": True, "clauses": clauses})
    except BaseException as e:
        out["filters"].append({"ok": False, "err": type(e).__name__ + ": " + str(e)[:300]})
out["order_bys"] = []
for obs in cases.get("order_bys") or []:
    try:
        parsed = [SearchUtils.parse_order_by_for_search_runs(o) for o in obs]
        store.search_runs([exp], "", ViewType.ALL, max_results=5, order_by=obs)
        out["order_bys"].append({"ok": True, "clauses": [{"type": t, "key": k, "asc": a} for (t, k, a) in parsed]})
    except BaseException as e:
        out["order_bys"].append({"ok": False, "err": type(e).__name__ + ": " + str(e)[:300]})

def subst(s):
    for i, rid in enumerate(ids):
        s = s.replace("{{r%d}}" % i, rid).replace("{{R%d}}" % i, rid.upper())
    return s

out["runs"] = []
for rid in ids:
    run = client.get_run(rid)
    i = run.info
    out["runs"].append({
        "info": {"run_id": i.run_id, "experiment_id": i.experiment_id, "run_name": i.run_name,
                 "user_id": i.user_id, "status": i.status, "start_time": i.start_time,
                 "end_time": i.end_time or 0, "artifact_uri": i.artifact_uri,
                 "lifecycle_stage": i.lifecycle_stage},
        "data": {
            "metrics": [{"key": m.key, "value": repr(m.value), "timestamp": m.timestamp, "step": m.step}
                        for m in run.data._metric_objs],
            "params": [{"key": k, "value": v} for k, v in sorted(run.data.params.items())],
            "tags": [{"key": k, "value": v} for k, v in sorted(run.data.tags.items())],
        },
    })
out["results"] = []
for q in cases.get("queries") or []:
    try:
        got = mlflow.search_runs(experiment_ids=[exp], filter_string=subst(q["filter"]),
                                 order_by=q["order_by"], output_format="list")
        out["results"].append({"ok": True, "ids": [r.info.run_id for r in got]})
    except BaseException as e:
        out["results"].append({"ok": False, "err": type(e).__name__ + ": " + str(e)[:300]})
sys.stdout.write(json.dumps(out))
`

type mlflowCases struct {
	Keywords bool       `json:"keywords,omitempty"`
	Filters  []string   `json:"filters,omitempty"`
	OrderBys [][]string `json:"order_bys,omitempty"`
	Runs     []semRun   `json:"runs,omitempty"`
	Queries  []semQuery `json:"queries,omitempty"`
}

type mlflowOutput struct {
	Keywords map[string]string `json:"keywords"`
	Filters  []pyVerdict       `json:"filters"`
	OrderBys []pyVerdict       `json:"order_bys"`
	Runs     []exportedRun     `json:"runs"`
	Results  []semResult       `json:"results"`
	Elapsed  time.Duration     `json:"-"`
}

// runMLflow runs mlflowScript on the cases in one Python process.
func runMLflow(t *testing.T, cases mlflowCases) (*mlflowOutput, error) {
	t.Helper()
	data, err := json.Marshal(cases)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, err
	}
	start := time.Now()
	out, err := mlflowtest.RunErr(t, mlflowScript, "CASES="+path, "MLFLOW_TRACKING_URI=")
	if err != nil {
		return nil, err
	}
	var res mlflowOutput
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(start)
	if len(res.Filters) != len(cases.Filters) || len(res.OrderBys) != len(cases.OrderBys) ||
		len(res.Runs) != len(cases.Runs) || len(res.Results) != len(cases.Queries) {
		return nil, errShortOutput
	}
	return &res, nil
}

type shortOutputError struct{}

func (shortOutputError) Error() string { return "MLflow returned fewer results than cases" }

var errShortOutput = shortOutputError{}

var shared struct {
	once sync.Once
	out  *mlflowOutput
	err  error
}

// sharedMLflow returns MLflow's answers for the parse, keyword and semantic tests, computed once.
// It skips (or, under CI, fails) the test when MLflow is not installed.
func sharedMLflow(t *testing.T) *mlflowOutput {
	t.Helper()
	mlflowtest.Python(t)
	shared.once.Do(func() {
		shared.out, shared.err = runMLflow(t, mlflowCases{
			Keywords: true,
			Filters:  append(append([]string(nil), diffFilters...), longFilters()...),
			OrderBys: diffOrderBys,
			Runs:     semanticRuns(),
			Queries:  semanticQueries(),
		})
		if shared.err == nil {
			t.Logf("MLflow (one Python process) answered %d filters, %d order_by lists and %d searches over %d runs in %v",
				len(shared.out.Filters), len(shared.out.OrderBys), len(shared.out.Results), len(shared.out.Runs),
				shared.out.Elapsed.Round(time.Millisecond))
		}
	})
	if shared.err != nil {
		t.Fatalf("running MLflow: %v", shared.err)
	}
	return shared.out
}
