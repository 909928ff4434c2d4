package mlflowclient

// Integration tests: the real MLflow (internal/mlflowtest finds it) reads what mltrack writes into
// its SQLite store, and mltrack writes into databases MLflow made, while MLflow writes too.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mltrack/mltrack/internal/mlflowtest"
)

// sqlitePyPrelude is shared by the Python scripts: it reads its inputs from the environment and works in
// a scratch directory, so that MLflow creates nothing in the package directory.
const sqlitePyPrelude = `
import json, os, sys, math
os.chdir(os.environ["SCRATCH"])
import mlflow
from mlflow import MlflowClient
uri = os.environ["DB_URI"]
client = MlflowClient(tracking_uri=uri)
mlflow.set_tracking_uri(uri)
def out(obj):
    print("RESULT " + json.dumps(obj, sort_keys=True))
`

// sqlitePyResult decodes the line "RESULT <json>" of a script's output.
func sqlitePyResult(t *testing.T, output string, v any) {
	t.Helper()
	for _, line := range strings.Split(output, "\n") {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			if err := json.Unmarshal([]byte(rest), v); err != nil {
				t.Fatalf("decode %q: %v", rest, err)
			}
			return
		}
	}
	t.Fatalf("no RESULT line in python output:\n%s", output)
}

func sqliteURIFor(path string) string { return "sqlite:///" + filepath.ToSlash(path) }

// sqliteSeedRun is one run the end-to-end test writes and then expects MLflow to find.
type sqliteSeedRun struct {
	name      string
	procedure string
	issue     string
	duration  float64
	success   []float64 // logged at steps 0, 1, ...: the last is the latest
	status    RunStatus
}

func TestSQLiteMLflowReadsMltrackDatabase(t *testing.T) {
	mlflowtest.Python(t) // skip (or fail under CI) before doing any work when MLflow is missing
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "mlflow.db")
	st, err := OpenSQLite(sqliteURIFor(dbPath), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	exp, err := EnsureExperiment(ctx, st, "mltrack-e2e")
	if err != nil {
		t.Fatal(err)
	}
	seeds := []sqliteSeedRun{
		{"r1", "extract-best-frame", "123", 75, []float64{1, 0}, StatusFailed},
		{"r2", "extract-best-frame", "456", 30, []float64{1}, StatusFinished},
		{"r3", "other", "123", 61, []float64{0, 1}, StatusKilled},
		{"r4", "other", "789", 5, []float64{0}, StatusFinished},
	}
	ids := map[string]string{}
	var r1 RunInfo
	for i, sr := range seeds {
		start := int64(1_700_000_000_000 + i*100_000)
		info, err := st.CreateRun(ctx, CreateRunRequest{
			ExperimentID: exp.ID, UserID: "tester", RunName: sr.name, StartTime: start,
			Tags:   []Tag{{Key: "mlflow.source.type", Value: "LOCAL"}, {Key: "mlflow.user", Value: "tester"}},
			Params: []Param{{Key: "procedure_name", Value: sr.procedure}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids[sr.name] = info.RunID
		var ms []Metric
		for step, v := range sr.success {
			ms = append(ms, Metric{Key: "success", Value: v, Timestamp: start + int64(step), Step: int64(step)})
		}
		for step := range 5 {
			ms = append(ms, Metric{Key: "loss", Value: 1 / float64(step+1), Timestamp: start + int64(step)*10, Step: int64(step)})
		}
		ms = append(ms, Metric{Key: "duration_seconds", Value: sr.duration, Timestamp: start + 1000})
		ms = append(ms, Metric{Key: "weird", Value: math.NaN(), Timestamp: start, Step: 0})
		if err := st.LogBatch(ctx, info.RunID, ms, []Param{{Key: "issue_number", Value: sr.issue}}, []Tag{{Key: "exit_code", Value: "0"}}); err != nil {
			t.Fatal(err)
		}
		if err := st.UpdateRun(ctx, info.RunID, sr.status, start+75_000); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			r1 = info
		}
	}
	artifact := filepath.Join(t.TempDir(), "stdout.log")
	payload := "line one\nline two \x00\xff binary tail\n"
	if err := os.WriteFile(artifact, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.LogArtifact(ctx, r1, artifact, "logs/stdout.log"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	script := sqlitePyPrelude + `
exp = client.get_experiment_by_name("mltrack-e2e")
runs = {}
for rid in json.loads(os.environ["RUN_IDS"]):
    r = client.get_run(rid)
    runs[rid] = {
        "name": r.info.run_name, "status": r.info.status, "start": r.info.start_time, "end": r.info.end_time,
        "user": r.info.user_id, "artifact_uri": r.info.artifact_uri, "experiment_id": r.info.experiment_id,
        "params": r.data.params, "tags": r.data.tags,
        "metrics": {k: (None if math.isnan(v) else v) for k, v in r.data.metrics.items()},
        "loss": [[m.step, m.value, m.timestamp] for m in client.get_metric_history(rid, "loss")],
        "success": [[m.step, m.value] for m in client.get_metric_history(rid, "success")],
    }
searches = {}
for f in ["metrics.duration_seconds > 60", "metrics.success = 0", "params.issue_number = '123'",
          'params.procedure_name = "extract-best-frame" AND metrics.success = 0']:
    df = mlflow.search_runs(experiment_ids=[exp.experiment_id], filter_string=f)
    searches[f] = sorted(df["run_id"].tolist())
path = mlflow.artifacts.download_artifacts(run_id=os.environ["R1"], artifact_path="logs/stdout.log",
                                           dst_path=os.environ["SCRATCH"])
with open(path, "rb") as f:
    art = f.read().hex()
from mlflow.store.db.utils import _get_latest_schema_revision
out({"exp": exp.experiment_id, "runs": runs, "searches": searches, "artifact": art,
     "default": client.get_experiment("0").name, "head": _get_latest_schema_revision()})
`
	runIDs, _ := json.Marshal(slices.Collect(maps.Values(ids)))
	env := []string{"SCRATCH=" + t.TempDir(), "DB_URI=" + sqliteURIFor(dbPath), "RUN_IDS=" + string(runIDs), "R1=" + ids["r1"]}
	var got struct {
		Exp  string
		Runs map[string]struct {
			Name, Status, User, Artifact_uri, Experiment_id string
			Start, End                                      int64
			Params, Tags                                    map[string]string
			Metrics                                         map[string]*float64
			Loss                                            [][3]float64
			Success                                         [][2]float64
		}
		Searches map[string][]string
		Artifact string
		Default  string
		Head     string
	}
	sqlitePyResult(t, mlflowtest.Run(t, script, env...), &got)

	if got.Exp != exp.ID || got.Default != "Default" {
		t.Errorf("experiment %q (want %q), default %q", got.Exp, exp.ID, got.Default)
	}
	for i, sr := range seeds {
		r, ok := got.Runs[ids[sr.name]]
		if !ok {
			t.Fatalf("run %s missing", sr.name)
		}
		start := int64(1_700_000_000_000 + i*100_000)
		if r.Name != sr.name || r.Status != string(sr.status) || r.Start != start || r.End != start+75_000 || r.User != "tester" || r.Experiment_id != exp.ID {
			t.Errorf("%s info = %+v", sr.name, r)
		}
		if r.Params["procedure_name"] != sr.procedure || r.Params["issue_number"] != sr.issue || len(r.Params) != 2 {
			t.Errorf("%s params = %v", sr.name, r.Params)
		}
		if r.Tags["mlflow.runName"] != sr.name || r.Tags["exit_code"] != "0" || r.Tags["mlflow.user"] != "tester" {
			t.Errorf("%s tags = %v", sr.name, r.Tags)
		}
		if d := r.Metrics["duration_seconds"]; d == nil || *d != sr.duration {
			t.Errorf("%s duration_seconds = %v", sr.name, d)
		}
		if s := r.Metrics["success"]; s == nil || *s != sr.success[len(sr.success)-1] {
			t.Errorf("%s latest success = %v", sr.name, s)
		}
		if w, ok := r.Metrics["weird"]; !ok || w != nil {
			t.Errorf("%s NaN metric = %v (present %v)", sr.name, w, ok)
		}
		if len(r.Loss) != 5 || len(r.Success) != len(sr.success) {
			t.Errorf("%s history: loss %v, success %v", sr.name, r.Loss, r.Success)
		}
		for step, l := range r.Loss {
			if l[0] != float64(step) || l[1] != 1/float64(step+1) || int64(l[2]) != start+int64(step)*10 {
				t.Errorf("%s loss[%d] = %v", sr.name, step, l)
			}
		}
	}
	want := map[string][]string{
		"metrics.duration_seconds > 60": {ids["r1"], ids["r3"]},
		"metrics.success = 0":           {ids["r1"], ids["r4"]},
		"params.issue_number = '123'":   {ids["r1"], ids["r3"]},
		`params.procedure_name = "extract-best-frame" AND metrics.success = 0`: {ids["r1"]},
	}
	for f, w := range want {
		slices.Sort(w)
		if !slices.Equal(got.Searches[f], w) {
			t.Errorf("search_runs(%s) = %v, want %v", f, got.Searches[f], w)
		}
	}
	if got.Artifact != sqliteHex(payload) {
		t.Errorf("downloaded artifact %s, want %s", got.Artifact, sqliteHex(payload))
	}

	// MLflow migrated the database to its head on first open; mltrack still writes it, and MLflow
	// reads that too.
	st2, err := OpenSQLite(sqliteURIFor(dbPath), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if shape := sqliteMustConn(t, st2).shape; !shape.hasWorkspace {
		t.Errorf("after MLflow's migration to %s the experiments table should have a workspace column", got.Head)
	}
	exp2, err := EnsureExperiment(ctx, st2, "after-migration")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st2.CreateRun(ctx, CreateRunRequest{ExperimentID: exp2.ID, StartTime: 1_700_000_500_000, Params: []Param{{Key: "k", Value: "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st2.LogBatch(ctx, info.RunID, []Metric{{Key: "m", Value: 2, Timestamp: 1, Step: 3}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	out := mlflowtest.Run(t, sqlitePyPrelude+`
e = client.get_experiment_by_name("after-migration")
r = client.get_run(os.environ["RID"])
out({"exp": e.experiment_id, "name": r.info.run_name, "params": r.data.params, "metrics": r.data.metrics,
     "found": mlflow.search_runs(experiment_ids=[e.experiment_id], filter_string="metrics.m = 2")["run_id"].tolist()})
`, "SCRATCH="+t.TempDir(), "DB_URI="+sqliteURIFor(dbPath), "RID="+info.RunID)
	var after struct {
		Exp, Name string
		Params    map[string]string
		Metrics   map[string]float64
		Found     []string
	}
	sqlitePyResult(t, out, &after)
	if after.Exp != exp2.ID || after.Name != info.RunName || after.Params["k"] != "v" || after.Metrics["m"] != 2 || !slices.Equal(after.Found, []string{info.RunID}) {
		t.Errorf("after migration: %+v", after)
	}
}

func sqliteHex(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(digits[s[i]>>4])
		b.WriteByte(digits[s[i]&15])
	}
	return b.String()
}

func sqliteMustConn(t *testing.T, st Store) *sqliteStore {
	t.Helper()
	s := st.(*sqliteStore)
	if _, err := s.conn(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSQLiteMLflowCreatedDatabase: MLflow's Python client makes the database; mltrack writes into
// it; MLflow reads mltrack's data back and writes again afterwards.
func TestSQLiteMLflowCreatedDatabase(t *testing.T) {
	mlflowtest.Python(t)
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "mlflow.db")
	env := []string{"SCRATCH=" + dir, "DB_URI=" + sqliteURIFor(dbPath)}
	var made struct{ Exp, Run, Location string }
	sqlitePyResult(t, mlflowtest.Run(t, sqlitePyPrelude+`
eid = mlflow.create_experiment("py-exp")
mlflow.set_experiment("py-exp")
with mlflow.start_run(run_name="py-run") as run:
    mlflow.log_param("alpha", "0.5")
    mlflow.log_metric("acc", 0.9, step=1)
out({"exp": eid, "run": run.info.run_id, "location": client.get_experiment(eid).artifact_location})
`, env...), &made)

	st, err := OpenSQLite(sqliteURIFor(dbPath), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	exp, err := st.GetExperimentByName(ctx, "py-exp")
	if err != nil || exp.ID != made.Exp || exp.ArtifactLocation != made.Location {
		t.Fatalf("py-exp as mltrack reads it: %+v, %v (python: %+v)", exp, err, made)
	}
	// mltrack's experiments get the location the Python client would give them from this directory.
	goExp, err := EnsureExperiment(ctx, st, "go-exp")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSuffix(made.Location, made.Exp) + goExp.ID; goExp.ArtifactLocation != want {
		t.Errorf("go-exp artifact_location %q, want %q like the Python client's", goExp.ArtifactLocation, want)
	}
	pyRun, err := st.GetRun(ctx, made.Run)
	if err != nil || pyRun.Info.RunName != "py-run" || len(pyRun.Data.Params) != 1 || pyRun.Info.Status != StatusFinished {
		t.Fatalf("python's run as mltrack reads it: %+v, %v", pyRun, err)
	}
	info, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: exp.ID, StartTime: time.Now().UnixMilli(), Params: []Param{{Key: "alpha", Value: "0.7"}}, Tags: []Tag{{Key: "src", Value: "mltrack"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.LogBatch(ctx, info.RunID, []Metric{{Key: "acc", Value: 0.95, Timestamp: time.Now().UnixMilli(), Step: 1}}, []Param{{Key: "beta", Value: "1"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateRun(ctx, info.RunID, StatusFinished, time.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	// mltrack adds to Python's run too.
	if err := st.LogBatch(ctx, made.Run, nil, nil, []Tag{{Key: "checked_by", Value: "mltrack"}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	var back struct {
		Params   map[string]string
		Metrics  map[string]float64
		Tags     map[string]string
		Status   string
		PyTag    string
		GoExp    string
		NewRun   string
		AfterAcc float64
		Found    []string
	}
	sqlitePyResult(t, mlflowtest.Run(t, sqlitePyPrelude+`
rid = os.environ["RID"]
r = client.get_run(rid)
# Python writes after mltrack: proves mltrack left the database valid.
client.log_metric(rid, "acc", 0.99, step=2)
client.set_tag(rid, "touched", "python")
go = client.get_experiment_by_name("go-exp")
with mlflow.start_run(experiment_id=go.experiment_id) as nr:
    mlflow.log_metric("x", 1)
found = mlflow.search_runs(experiment_ids=[os.environ["EID"]], filter_string="params.alpha = '0.7'")["run_id"].tolist()
out({"params": r.data.params, "metrics": r.data.metrics, "tags": r.data.tags, "status": r.info.status,
     "pytag": client.get_run(os.environ["PYRID"]).data.tags.get("checked_by"), "goexp": go.experiment_id,
     "newrun": nr.info.run_id, "afteracc": client.get_run(rid).data.metrics["acc"], "found": found})
`, append(env, "RID="+info.RunID, "PYRID="+made.Run, "EID="+exp.ID)...), &back)
	if back.Params["alpha"] != "0.7" || back.Params["beta"] != "1" || back.Metrics["acc"] != 0.95 || back.Tags["src"] != "mltrack" ||
		back.Status != "FINISHED" || back.PyTag != "mltrack" || back.GoExp != goExp.ID || back.AfterAcc != 0.99 ||
		!slices.Equal(back.Found, []string{info.RunID}) {
		t.Errorf("python read back %+v", back)
	}
	// And mltrack reads what Python wrote last.
	st2, _ := OpenSQLite(sqliteURIFor(dbPath), Options{})
	defer st2.Close()
	r, err := st2.GetRun(ctx, info.RunID)
	if err != nil || len(r.Data.Metrics) != 1 || r.Data.Metrics[0].Value != 0.99 {
		t.Errorf("mltrack reads python's last write: %+v, %v", r.Data, err)
	}
	if _, err := st2.GetRun(ctx, back.NewRun); err != nil {
		t.Errorf("run python created in go-exp: %v", err)
	}
}

// TestSQLiteConcurrentWithMLflow: a Python process logs metrics in a loop into the same database
// while mltrack writes a run; neither sees a lock error.
func TestSQLiteConcurrentWithMLflow(t *testing.T) {
	py := mlflowtest.Python(t)
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "mlflow.db")
	st, err := OpenSQLite(sqliteURIFor(dbPath), Options{LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.GetExperiment(ctx, "0"); err != nil { // mltrack creates the database
		t.Fatal(err)
	}
	stop := filepath.Join(dir, "stop")
	cmd := exec.Command(py, "-c", sqlitePyPrelude+`
import time
run = client.create_run("0", run_name="python-loop")
n = 0
deadline = time.time() + 90
while not os.path.exists(os.environ["STOP"]) and time.time() < deadline:
    client.log_batch(run.info.run_id, metrics=[mlflow.entities.Metric("loop", n, int(time.time()*1000), n)],
                     params=[mlflow.entities.Param("p%d" % n, str(n))])
    client.get_run(run.info.run_id)
    n += 1
    if n == 3:
        print("READY", flush=True)
client.set_terminated(run.info.run_id)
out({"n": n, "run": run.info.run_id})
`)
	cmd.Env = append(mlflowtest.CleanEnv(), "SCRATCH="+dir, "DB_URI="+sqliteURIFor(dbPath), "STOP="+stop)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if l != "READY" {
			t.Fatalf("python said %q\n%s", l, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("python did not start logging within 2 minutes\n%s", stderr.String())
	}

	// mltrack's side: a run with many small batches, as the recorder writes during a command.
	info, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: "0", StartTime: time.Now().UnixMilli(), Params: []Param{{Key: "cmd", Value: "sleep"}}})
	if err != nil {
		t.Fatalf("CreateRun beside a python writer: %v", err)
	}
	const batches = 150
	start := time.Now()
	for i := range batches {
		time.Sleep(10 * time.Millisecond) // the recorder's pace, compressed
		ms := []Metric{{Key: "system/cpu", Value: float64(i), Timestamp: time.Now().UnixMilli(), Step: int64(i)}}
		if err := st.LogBatch(ctx, info.RunID, ms, []Param{{Key: "b" + strings.Repeat("x", i%3), Value: "1"}}, []Tag{{Key: "t", Value: "v"}}); err != nil {
			var pce *ParamConflictError
			if !errors.As(err, &pce) {
				t.Fatalf("LogBatch %d beside a python writer: %v", i, err)
			}
		}
	}
	if err := st.UpdateRun(ctx, info.RunID, StatusFinished, time.Now().UnixMilli()); err != nil {
		t.Fatalf("UpdateRun beside a python writer: %v", err)
	}
	os.WriteFile(stop, nil, 0o644)
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("python writer failed (a lock error would show here): %v\n%s", err, stderr.String())
	}
	var res struct {
		N   int
		Run string
	}
	sqlitePyResult(t, strings.Join(rest, "\n"), &res)
	t.Logf("mltrack's %d writes took %v", batches+2, time.Since(start))
	if res.N < 10 {
		t.Errorf("python logged only %d batches while mltrack wrote; the test did not overlap", res.N)
	}
	if strings.Contains(stderr.String(), "locked") {
		t.Errorf("python reported a lock problem:\n%s", stderr.String())
	}
	t.Logf("python logged %d batches while mltrack wrote %d", res.N, batches)
	r, err := st.GetRun(ctx, res.Run)
	if err != nil || len(r.Data.Params) != res.N {
		t.Errorf("python's run: %d params, want %d (%v)", len(r.Data.Params), res.N, err)
	}
	mine, err := st.GetRun(ctx, info.RunID)
	if err != nil || len(mine.Data.Metrics) != 1 || mine.Data.Metrics[0].Step != batches-1 || mine.Info.Status != StatusFinished {
		t.Errorf("mltrack's run: %+v, %v", mine, err)
	}
}

// TestSQLiteCompatVenvs checks older and newer MLflow releases against an mltrack-made database.
// Set MLTRACK_COMPAT_VENVS to a comma-separated list of venv directories (scripts/mlflow-venv.sh
// makes them), e.g. ~/.cache/mltrack/venv-3.10.1,~/.cache/mltrack/venv-3.14.0.
func TestSQLiteCompatVenvs(t *testing.T) {
	venvs := os.Getenv("MLTRACK_COMPAT_VENVS")
	if venvs == "" {
		t.Skip("set MLTRACK_COMPAT_VENVS=venv-dir,... to check other MLflow releases")
	}
	for _, venv := range strings.Split(venvs, ",") {
		venv = strings.TrimSpace(venv)
		py := filepath.Join(venv, "bin", "python")
		t.Run(filepath.Base(venv), func(t *testing.T) {
			if _, err := os.Stat(py); err != nil {
				t.Fatalf("no python in %s: %v", venv, err)
			}
			ctx := context.Background()
			dir := t.TempDir()
			dbPath := filepath.Join(dir, "mlflow.db")
			st, _ := OpenSQLite(sqliteURIFor(dbPath), Options{})
			defer st.Close()
			exp, err := EnsureExperiment(ctx, st, "compat")
			if err != nil {
				t.Fatal(err)
			}
			info, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: exp.ID, StartTime: 1_700_000_000_000, Params: []Param{{Key: "issue_number", Value: "123"}}})
			if err != nil {
				t.Fatal(err)
			}
			st.LogBatch(ctx, info.RunID, []Metric{{Key: "success", Value: 0, Timestamp: 1}}, nil, nil)
			st.UpdateRun(ctx, info.RunID, StatusFailed, 1_700_000_001_000)
			st.Close()
			runPy := func(script string, env ...string) string {
				cmd := exec.Command(py, "-c", sqlitePyPrelude+script)
				cmd.Env = append(append(mlflowtest.CleanEnv(), "SCRATCH="+dir, "DB_URI="+sqliteURIFor(dbPath)), env...)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", py, err, out)
				}
				return string(out)
			}
			var got struct {
				Version, Status, Head, Rev string
				Params                     map[string]string
				Found                      []string
			}
			sqlitePyResult(t, runPy(`
from mlflow.store.db.utils import _get_latest_schema_revision
import sqlite3
r = client.get_run(os.environ["RID"])
found = mlflow.search_runs(experiment_names=["compat"], filter_string="params.issue_number = '123' AND metrics.success = 0")["run_id"].tolist()
client.log_metric(r.info.run_id, "after", 1.0)
rev = sqlite3.connect(os.environ["DB"]).execute("select version_num from alembic_version").fetchone()[0]
out({"version": mlflow.__version__, "status": r.info.status, "params": r.data.params, "found": found,
     "head": _get_latest_schema_revision(), "rev": rev})
`, "RID="+info.RunID, "DB="+dbPath), &got)
			if got.Status != "FAILED" || got.Params["issue_number"] != "123" || !slices.Equal(got.Found, []string{info.RunID}) || got.Rev != got.Head {
				t.Errorf("MLflow %s read %+v", got.Version, got)
			}
			t.Logf("MLflow %s opened an mltrack database stamped %s without `mlflow db upgrade` and migrated it to %s", got.Version, sqliteSchemaRevision, got.Rev)
			// mltrack writes into the migrated database; that MLflow reads it.
			st2, _ := OpenSQLite(sqliteURIFor(dbPath), Options{})
			defer st2.Close()
			info2, err := st2.CreateRun(ctx, CreateRunRequest{ExperimentID: exp.ID, StartTime: 1_700_000_002_000, RunName: "second"})
			if err != nil {
				t.Fatalf("mltrack into a database MLflow %s migrated: %v", got.Version, err)
			}
			st2.Close()
			var second struct{ Name string }
			sqlitePyResult(t, runPy(`out({"name": client.get_run(os.environ["RID"]).info.run_name})`, "RID="+info2.RunID), &second)
			if second.Name != "second" {
				t.Errorf("second run read as %q", second.Name)
			}
		})
	}
}

// TestSQLiteWhileMLflowCreatesDatabase: mltrack opens the database while MLflow is still creating
// and migrating it. mltrack waits for MLflow to finish (experiment 0 appears last) instead of
// writing into a half-made schema or creating its own; both end up in one valid database.
func TestSQLiteWhileMLflowCreatesDatabase(t *testing.T) {
	py := mlflowtest.Python(t)
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "mlflow.db")
	cmd := exec.Command(py, "-c", sqlitePyPrelude+`
run = client.create_run("0", run_name="from-python")
client.set_terminated(run.info.run_id)
out({"run": run.info.run_id})
`)
	cmd.Env = append(mlflowtest.CleanEnv(), "SCRATCH="+dir, "DB_URI="+sqliteURIFor(dbPath))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(dbPath); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("MLflow did not create %s within 2 minutes\n%s", dbPath, stderr.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	st, err := OpenSQLite(sqliteURIFor(dbPath), Options{LockTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	info, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: "0", RunName: "from-mltrack", StartTime: 1})
	if err != nil {
		t.Fatalf("CreateRun while MLflow creates the database: %v", err)
	}
	if st.(*sqliteStore).created {
		t.Error("mltrack created a database although MLflow was creating one")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("MLflow failed while mltrack waited: %v\n%s", err, stderr.String())
	}
	var res struct{ Run string }
	sqlitePyResult(t, stdout.String(), &res)
	var check struct {
		Names []string
		Rev   string
		Head  string
	}
	sqlitePyResult(t, mlflowtest.Run(t, sqlitePyPrelude+`
import sqlite3
from mlflow.store.db.utils import _get_latest_schema_revision
names = sorted(r.info.run_name for r in client.search_runs(["0"]))
rev = sqlite3.connect(os.environ["DB"]).execute("select version_num from alembic_version").fetchone()[0]
out({"names": names, "rev": rev, "head": _get_latest_schema_revision()})
`, "SCRATCH="+dir, "DB_URI="+sqliteURIFor(dbPath), "DB="+dbPath), &check)
	if !slices.Equal(check.Names, []string{"from-mltrack", "from-python"}) || check.Rev != check.Head {
		t.Errorf("after both: %+v (mltrack run %s, python run %s)", check, info.RunID, res.Run)
	}
}
