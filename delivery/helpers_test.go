package delivery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mltrack/mltrack/journal"
	"github.com/mltrack/mltrack/mlflowclient"
)

// testStore is a real store in a temp directory, with what a test needs to look inside it.
type testStore struct {
	kind  string // "sqlite" or "file"
	store mlflowclient.Store
	db    string // sqlite: database path
	root  string // file: store root
}

var storeKinds = []string{"sqlite", "file"}

func newTestStore(t *testing.T, kind string) *testStore {
	t.Helper()
	dir := t.TempDir()
	ts := &testStore{kind: kind}
	var err error
	switch kind {
	case "sqlite":
		ts.db = filepath.Join(dir, "mlflow.db")
		ts.store, err = mlflowclient.OpenSQLite("sqlite:///"+filepath.ToSlash(ts.db), mlflowclient.Options{})
	case "file":
		ts.root = filepath.Join(dir, "mlruns")
		ts.store, err = mlflowclient.OpenFileStore(ts.root, mlflowclient.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.store.Close() })
	return ts
}

// runs lists every run id in the store.
func (ts *testStore) runs(t *testing.T) []string {
	t.Helper()
	var ids []string
	switch ts.kind {
	case "sqlite":
		if !exists(ts.db) {
			return nil // no call made the database yet
		}
		db := ts.rawDB(t)
		rows, err := db.Query("SELECT run_uuid FROM runs ORDER BY run_uuid")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			rows.Scan(&id)
			ids = append(ids, id)
		}
	case "file":
		exps, _ := os.ReadDir(ts.root)
		for _, e := range exps {
			if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			runs, _ := os.ReadDir(filepath.Join(ts.root, e.Name()))
			for _, r := range runs {
				if r.IsDir() {
					ids = append(ids, r.Name())
				}
			}
		}
		sort.Strings(ids)
	}
	return ids
}

func (ts *testStore) rawDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+ts.db+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// history counts the stored samples of each metric of a run (every sample, not the latest).
func (ts *testStore) history(t *testing.T, run mlflowclient.RunInfo) map[string]int {
	t.Helper()
	out := map[string]int{}
	switch ts.kind {
	case "sqlite":
		rows, err := ts.rawDB(t).Query("SELECT key, COUNT(*) FROM metrics WHERE run_uuid = ? GROUP BY key", run.RunID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var n int
			rows.Scan(&k, &n)
			out[k] = n
		}
	case "file":
		dir := filepath.Join(ts.root, run.ExperimentID, run.RunID, "metrics")
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = strings.Count(string(b), "\n")
		}
	}
	return out
}

// artifact reads a stored artifact of a run.
func artifact(t *testing.T, run mlflowclient.RunInfo, artifactPath string) string {
	t.Helper()
	root := run.ArtifactURI
	if strings.HasPrefix(root, "file:") {
		u, err := url.Parse(root)
		if err != nil {
			t.Fatal(err)
		}
		root = u.Path
	}
	b, err := os.ReadFile(filepath.Join(filepath.FromSlash(root), filepath.FromSlash(artifactPath)))
	if err != nil {
		return "<missing: " + err.Error() + ">"
	}
	return string(b)
}

// expected is what a store must hold after a journal was delivered.
type expected struct {
	experiment string
	runName    string
	params     map[string]string
	tags       map[string]string
	history    map[string]int // samples per metric key
	artifacts  map[string]string
	status     mlflowclient.RunStatus
	endTime    int64
}

// journalSpec builds a journal the way the recording mltrack writes it.
type journalSpec struct {
	key        string
	uri        string
	meta       journal.Meta // owner fields; Key, TrackingURI, Experiment and Created are set
	noEnd      bool         // the recorder died before the end
	keepOpen   bool         // return with the journal still open (the recorder still runs)
	extraBatch int          // that many more one-sample batches (a long run's sampler)
}

var specCounter struct {
	sync.Mutex
	n int
}

func newKey() string {
	specCounter.Lock()
	defer specCounter.Unlock()
	specCounter.n++
	return fmt.Sprintf("k%d-%d", time.Now().UnixNano(), specCounter.n)
}

// writeJournal writes a complete run: create, batches with params, tags and metrics with steps,
// two artifacts of which one path is logged twice (the last wins), end. It returns the journal,
// what the store must hold once it is delivered, and the open Run when keepOpen is set.
func writeJournal(t *testing.T, spool string, spec journalSpec) (journal.Pending, expected, *journal.Run) {
	t.Helper()
	if spec.key == "" {
		spec.key = newKey()
	}
	meta := spec.meta
	meta.Key, meta.TrackingURI, meta.Experiment, meta.Created = spec.key, spec.uri, "deliver", time.UnixMilli(1_700_000_000_000)
	r, err := journal.Create(spool, meta)
	if err != nil {
		t.Fatal(err)
	}
	exp := expected{
		experiment: "deliver",
		runName:    "train",
		params:     map[string]string{"lr": "0.1", "command": "python train.py --lr 0.1", "epochs": "3"},
		tags:       map[string]string{"mltrack.run_key": spec.key, "mlflow.user": "tester", "stage": "b", "mlflow.runName": "train"},
		history:    map[string]int{"loss": 10, "cpu_percent": 3},
		artifacts:  map[string]string{"logs/stdout.log": "second version\n", "out/model.bin": "weights\x00\x01"},
		status:     mlflowclient.StatusFinished,
		endTime:    1_700_000_060_000,
	}
	must := func(_ int64, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Append(journal.TypeCreate, journal.CreateData{
		Experiment: "deliver", RunName: "train", UserID: "tester", StartTime: 1_700_000_000_000,
		Tags:   []mlflowclient.Tag{{Key: "mlflow.user", Value: "tester"}, {Key: mlflowclient.RunKeyTag, Value: spec.key}, {Key: "stage", Value: "a"}},
		Params: []mlflowclient.Param{{Key: "lr", Value: "0.1"}, {Key: "command", Value: "python train.py --lr 0.1"}},
	}))
	ms := func(key string, from, to int) []mlflowclient.Metric {
		var out []mlflowclient.Metric
		for s := from; s < to; s++ {
			out = append(out, mlflowclient.Metric{Key: key, Value: 1 / float64(s+1), Timestamp: 1_700_000_000_000 + int64(s)*1000, Step: int64(s)})
		}
		return out
	}
	must(r.Append(journal.TypeBatch, journal.BatchData{Metrics: append(ms("loss", 0, 5), ms("cpu_percent", 0, 3)...)}))
	must(r.Append(journal.TypeBatch, journal.BatchData{Params: []mlflowclient.Param{{Key: "epochs", Value: "3"}}, Tags: []mlflowclient.Tag{{Key: "stage", Value: "a"}}}))
	must(r.Append(journal.TypeBatch, journal.BatchData{Metrics: ms("loss", 5, 10), Tags: []mlflowclient.Tag{{Key: "stage", Value: "b"}}}))
	for i := 0; i < spec.extraBatch; i++ {
		must(r.Append(journal.TypeBatch, journal.BatchData{Metrics: ms("gpu", i, i+1)}))
	}
	if spec.extraBatch > 0 {
		exp.history["gpu"] = spec.extraBatch
	}
	write := func(p, content string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A log in the journal (relative path), an output outside it (absolute), the log again.
	write(filepath.Join(r.FilesDir(), "stdout.log"), "first version\n")
	must(r.Append(journal.TypeArtifact, journal.ArtifactData{File: "files/stdout.log", ArtifactPath: "logs/stdout.log"}))
	model := write(filepath.Join(t.TempDir(), "out", "model.bin"), "weights\x00\x01")
	must(r.Append(journal.TypeArtifact, journal.ArtifactData{File: model, ArtifactPath: "out/model.bin"}))
	second := write(filepath.Join(r.FilesDir(), "logs", "stdout.log"), "second version\n")
	must(r.Append(journal.TypeArtifact, journal.ArtifactData{File: second, ArtifactPath: "logs/stdout.log"}))
	if !spec.noEnd {
		must(r.Append(journal.TypeEnd, journal.EndData{Status: mlflowclient.StatusFinished, EndTime: exp.endTime}))
	}
	if spec.keepOpen {
		if err := r.Flush(); err != nil {
			t.Fatal(err)
		}
		p, err := journal.Load(r.Dir())
		if err != nil {
			t.Fatal(err)
		}
		return p, exp, r
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := journal.Load(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	return p, exp, nil
}

// check verifies that the store holds exactly one run with everything expected.
func check(t *testing.T, ts *testStore, want expected, allowMetricDuplicates int) mlflowclient.Run {
	t.Helper()
	ctx := context.Background()
	ids := ts.runs(t)
	if len(ids) != 1 {
		t.Fatalf("%d runs in the store (%v), want exactly one", len(ids), ids)
	}
	run, err := ts.store.GetRun(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if run.Info.RunName != want.runName || run.Info.Status != want.status || (want.endTime != 0 && run.Info.EndTime != want.endTime) {
		t.Errorf("run info = %+v, want name %q status %s end %d", run.Info, want.runName, want.status, want.endTime)
	}
	params := map[string]string{}
	for _, p := range run.Data.Params {
		params[p.Key] = p.Value
	}
	for k, v := range want.params {
		if params[k] != v {
			t.Errorf("param %s = %q, want %q", k, params[k], v)
		}
	}
	if len(params) != len(want.params) {
		t.Errorf("params = %v, want %v", params, want.params)
	}
	tags := map[string]string{}
	for _, tg := range run.Data.Tags {
		tags[tg.Key] = tg.Value
	}
	for k, v := range want.tags {
		if tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, tags[k], v)
		}
	}
	got := ts.history(t, run.Info)
	extra := 0
	for k, n := range want.history {
		if got[k] < n {
			t.Errorf("metric %s has %d samples, want %d", k, got[k], n)
		}
		extra += got[k] - n
	}
	if len(got) != len(want.history) {
		t.Errorf("metric keys = %v, want %v", got, want.history)
	}
	if extra > allowMetricDuplicates {
		t.Errorf("metric samples = %v, want %v (%d duplicated, at most %d allowed)", got, want.history, extra, allowMetricDuplicates)
	}
	for p, content := range want.artifacts {
		if a := artifact(t, run.Info, p); a != content {
			t.Errorf("artifact %s = %q, want %q", p, a, content)
		}
	}
	return run
}

var errInjected = errors.New("injected failure")

// faultyStore wraps a store: it counts calls, can fail one of them (before or after applying it:
// a lost answer), and can run a hook after each call (to cancel a context, to wait).
type faultyStore struct {
	mlflowclient.Store
	mu            sync.Mutex
	calls         int
	failAt        int  // 1-based call to fail; 0: none
	applyThenFail bool // the failing call reaches the store, its answer is lost
	lostMetrics   int  // metric samples in a LogBatch whose answer was lost
	after         func(n int, method string)
	methods       []string
}

func (f *faultyStore) step(method string) (n int, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.methods = append(f.methods, method)
	return f.calls, f.calls == f.failAt
}

func (f *faultyStore) done(n int, method string) {
	if f.after != nil {
		f.after(n, method)
	}
}

func (f *faultyStore) GetExperiment(ctx context.Context, id string) (mlflowclient.Experiment, error) {
	n, fail := f.step("GetExperiment")
	defer f.done(n, "GetExperiment")
	if fail {
		return mlflowclient.Experiment{}, errInjected
	}
	return f.Store.GetExperiment(ctx, id)
}

func (f *faultyStore) GetExperimentByName(ctx context.Context, name string) (mlflowclient.Experiment, error) {
	n, fail := f.step("GetExperimentByName")
	defer f.done(n, "GetExperimentByName")
	if fail {
		return mlflowclient.Experiment{}, errInjected
	}
	return f.Store.GetExperimentByName(ctx, name)
}

func (f *faultyStore) CreateExperiment(ctx context.Context, name string) (string, error) {
	n, fail := f.step("CreateExperiment")
	defer f.done(n, "CreateExperiment")
	if fail && !f.applyThenFail {
		return "", errInjected
	}
	id, err := f.Store.CreateExperiment(ctx, name)
	if fail {
		return "", errInjected
	}
	return id, err
}

func (f *faultyStore) CreateRun(ctx context.Context, req mlflowclient.CreateRunRequest) (mlflowclient.RunInfo, error) {
	n, fail := f.step("CreateRun")
	defer f.done(n, "CreateRun")
	if fail && !f.applyThenFail {
		return mlflowclient.RunInfo{}, errInjected
	}
	info, err := f.Store.CreateRun(ctx, req)
	if fail {
		return mlflowclient.RunInfo{}, errInjected
	}
	return info, err
}

func (f *faultyStore) GetRun(ctx context.Context, id string) (mlflowclient.Run, error) {
	n, fail := f.step("GetRun")
	defer f.done(n, "GetRun")
	if fail {
		return mlflowclient.Run{}, errInjected
	}
	return f.Store.GetRun(ctx, id)
}

func (f *faultyStore) LogBatch(ctx context.Context, runID string, m []mlflowclient.Metric, p []mlflowclient.Param, tg []mlflowclient.Tag) error {
	n, fail := f.step("LogBatch")
	defer f.done(n, "LogBatch")
	if fail && !f.applyThenFail {
		return errInjected
	}
	err := f.Store.LogBatch(ctx, runID, m, p, tg)
	if fail {
		f.mu.Lock()
		f.lostMetrics += len(m)
		f.mu.Unlock()
		return errInjected
	}
	return err
}

func (f *faultyStore) UpdateRun(ctx context.Context, runID string, st mlflowclient.RunStatus, end int64) error {
	n, fail := f.step("UpdateRun")
	defer f.done(n, "UpdateRun")
	if fail && !f.applyThenFail {
		return errInjected
	}
	err := f.Store.UpdateRun(ctx, runID, st, end)
	if fail {
		return errInjected
	}
	return err
}

func (f *faultyStore) LogArtifact(ctx context.Context, run mlflowclient.RunInfo, local, artifactPath string) error {
	n, fail := f.step("LogArtifact")
	defer f.done(n, "LogArtifact")
	if fail && !f.applyThenFail {
		return errInjected
	}
	err := f.Store.LogArtifact(ctx, run, local, artifactPath)
	if fail {
		return errInjected
	}
	return err
}

func (f *faultyStore) FindRunsByTag(ctx context.Context, exp, key, value string) ([]mlflowclient.RunInfo, error) {
	n, fail := f.step("FindRunsByTag")
	defer f.done(n, "FindRunsByTag")
	if fail {
		return nil, errInjected
	}
	finder, ok := f.Store.(mlflowclient.RunFinder)
	if !ok {
		return nil, errors.New("not a RunFinder")
	}
	return finder.FindRunsByTag(ctx, exp, key, value)
}

func (f *faultyStore) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *faultyStore) callsOf(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.methods {
		if m == method {
			n++
		}
	}
	return n
}

// exists reports whether a path exists.
func exists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, os.ErrNotExist)
}

func reload(t *testing.T, dir string) journal.Pending {
	t.Helper()
	p, err := journal.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
