package delivery

// Proof with the real MLflow (3.18.0, found by internal/mlflowtest): it reads back what a delivery
// wrote into a SQLite store, and a real `mlflow server` receives a journal, resumed after a
// partial delivery, as exactly one complete run.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mltrack/mltrack/internal/mlflowtest"
	"github.com/mltrack/mltrack/journal"
	"github.com/mltrack/mltrack/mlflowclient"
)

// readBackScript prints, as one JSON line, what MLflow's client sees of a run: params, tags,
// status, end time, the number of samples of each metric, and the bytes of each artifact.
const readBackScript = `
import json, os, sys, tempfile
os.chdir(os.environ["SCRATCH"])
import mlflow
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=os.environ["URI"])
rid = os.environ["RUN_ID"]
r = c.get_run(rid)
out = {
    "params": r.data.params,
    "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.") or k in ("mlflow.user", "mlflow.runName")},
    "status": r.info.status,
    "end_time": r.info.end_time,
    "history": {k: len(c.get_metric_history(rid, k)) for k in r.data.metrics},
    "artifacts": {},
}
d = c.download_artifacts(rid, "", tempfile.mkdtemp())
for root, _, files in os.walk(d):
    for f in files:
        p = os.path.join(root, f)
        out["artifacts"][os.path.relpath(p, d).replace(os.sep, "/")] = open(p, "rb").read().decode("latin-1")
print("RESULT " + json.dumps(out))
`

type readBack struct {
	Params    map[string]string `json:"params"`
	Tags      map[string]string `json:"tags"`
	Status    string            `json:"status"`
	EndTime   int64             `json:"end_time"`
	History   map[string]int    `json:"history"`
	Artifacts map[string]string `json:"artifacts"`
}

func mlflowReadBack(t *testing.T, uri, runID string) readBack {
	t.Helper()
	out := mlflowtest.Run(t, readBackScript, "URI="+uri, "RUN_ID="+runID, "SCRATCH="+t.TempDir())
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			var rb readBack
			if err := json.Unmarshal([]byte(rest), &rb); err != nil {
				t.Fatalf("decode %q: %v", rest, err)
			}
			return rb
		}
	}
	t.Fatalf("no RESULT line:\n%s", out)
	return readBack{}
}

func compareReadBack(t *testing.T, got readBack, want expected) {
	t.Helper()
	for k, v := range want.params {
		if got.Params[k] != v {
			t.Errorf("MLflow reads param %s = %q, want %q", k, got.Params[k], v)
		}
	}
	if len(got.Params) != len(want.params) {
		t.Errorf("MLflow reads params %v, want %v", got.Params, want.params)
	}
	for k, v := range want.tags {
		if got.Tags[k] != v {
			t.Errorf("MLflow reads tag %s = %q, want %q", k, got.Tags[k], v)
		}
	}
	if got.Status != string(want.status) || got.EndTime != want.endTime {
		t.Errorf("MLflow reads status %s end %d, want %s %d", got.Status, got.EndTime, want.status, want.endTime)
	}
	if len(got.History) != len(want.history) {
		t.Errorf("MLflow reads metrics %v, want %v", got.History, want.history)
	}
	for k, n := range want.history {
		if got.History[k] != n {
			t.Errorf("MLflow reads %d samples of %s, want %d", got.History[k], k, n)
		}
	}
	if len(got.Artifacts) != len(want.artifacts) {
		t.Errorf("MLflow reads artifacts %v, want %v", got.Artifacts, want.artifacts)
	}
	for p, content := range want.artifacts {
		if got.Artifacts[p] != content {
			t.Errorf("MLflow reads artifact %s = %q, want %q", p, got.Artifacts[p], content)
		}
	}
}

func TestMLflowReadsDeliveredSQLiteRun(t *testing.T) {
	mlflowtest.Python(t)
	ctx := context.Background()
	ts := newTestStore(t, "sqlite")
	p, want, _ := writeJournal(t, t.TempDir(), journalSpec{uri: ts.store.URI()})
	// Interrupted once in the middle, then resumed: MLflow must see one clean run.
	fs := &faultyStore{Store: ts.store, failAt: 7, applyThenFail: true}
	if res, err := Deliver(ctx, p, fs, Options{}); err == nil {
		t.Fatalf("partial delivery = %+v", res)
	}
	res, err := Deliver(ctx, reload(t, p.Dir), ts.store, Options{})
	if err != nil || res.State != StateDelivered {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	check(t, ts, want, 0)
	compareReadBack(t, mlflowReadBack(t, ts.store.URI(), res.RunID), want)
}

// A journal meant for a tracking server that failed in the middle of an earlier delivery (the
// run exists, the journal holds its run_id, part of the data is acknowledged): the next delivery
// leaves exactly one complete run on the server, which MLflow's client reads back.
func TestDeliverToMLflowServerResumes(t *testing.T) {
	uri := mlflowtest.StartServer(t, nil).URI
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := mlflowclient.OpenREST(uri, mlflowclient.Options{HTTP: mlflowclient.HTTPOptions{MaxRetries: 1, BackoffFactor: 0.1, BackoffJitter: 0.01}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, want, _ := writeJournal(t, t.TempDir(), journalSpec{uri: uri, extraBatch: 1200})
	// The earlier delivery: the server took the run and the first batch, then "went away" with
	// the answer to the second batch lost.
	fs := &faultyStore{Store: st, failAt: 7, applyThenFail: true}
	res, err := Deliver(ctx, p, fs, Options{})
	if err == nil || res.RunID == "" {
		t.Fatalf("partial delivery = %+v, %v (calls %v)", res, err, fs.methods)
	}
	first := res.RunID
	var hasRunID bool
	for _, ev := range reload(t, p.Dir).Events {
		hasRunID = hasRunID || ev.Type == journal.TypeRunID
	}
	if !hasRunID {
		t.Fatal("the partial delivery did not record the run id")
	}

	res, err = Deliver(ctx, reload(t, p.Dir), st, Options{})
	if err != nil || res.State != StateDelivered || res.RunID != first || res.Created {
		t.Fatalf("resumed Deliver = %+v, %v (first run %s)", res, err, first)
	}
	if !strings.HasPrefix(res.RunURL, uri+"/#/experiments/") {
		t.Errorf("run URL %q", res.RunURL)
	}
	runs, err := st.(mlflowclient.RunFinder).FindRunsByTag(ctx, res.ExperimentID, mlflowclient.RunKeyTag, p.Meta.Key)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs with the key on the server: %+v, %v", runs, err)
	}
	compareReadBack(t, mlflowReadBack(t, uri, res.RunID), want)
}
