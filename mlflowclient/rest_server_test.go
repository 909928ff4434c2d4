package mlflowclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mltrack/mltrack/internal/mlflowtest"
)

// mlflowServer is a real `mlflow server` started by a test (mlflowtest.StartServer).
type mlflowServer = mlflowtest.Server

// startMLflowServer starts the real tracking server with a SQLite backend and served artifacts;
// extraArgs are added to `mlflow server` (e.g. "--no-serve-artifacts").
func startMLflowServer(t testing.TB, extraArgs ...string) *mlflowServer {
	t.Helper()
	return mlflowtest.StartServer(t, nil, extraArgs...)
}

// restPython runs a script with the Python client pointed at uri and decodes the JSON object it
// prints last.
func restPython(t *testing.T, uri, script string, out any, env ...string) {
	t.Helper()
	stdout := mlflowtest.Run(t, script, append([]string{"MLFLOW_TRACKING_URI=" + uri}, env...)...)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), out); err != nil {
		t.Fatalf("python output: %v\n%s", err, stdout)
	}
}

func restRandomFile(t *testing.T, dir, name string, size int) (string, string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return p, hex.EncodeToString(sum[:])
}

func restOpen(t *testing.T, uri string, opts Options) *RESTStore {
	t.Helper()
	st, err := OpenREST(uri, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st.(*RESTStore)
}

func restNewKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestRESTRealServer drives the real tracking server the way mltrack does and has MLflow's own
// Python client read everything back.
func TestRESTRealServer(t *testing.T) {
	t.Parallel() // each has its own server; their start-ups overlap
	srv := startMLflowServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	t.Run("EnsureExperimentRace", func(t *testing.T) {
		const n = 16
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := restOpen(t, srv.URI, Options{UserAgent: "mltrack-test"})
				exp, err := EnsureExperiment(ctx, st, "raced")
				ids[i], errs[i] = exp.ID, err
			}()
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("goroutine %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("goroutine %d got experiment %s, goroutine 0 got %s", i, ids[i], ids[0])
			}
		}
	})

	t.Run("ExperimentErrors", func(t *testing.T) {
		st := restOpen(t, srv.URI, Options{})
		if _, err := st.GetExperimentByName(ctx, "no such experiment"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetExperimentByName(missing) = %v, want ErrNotFound", err)
		}
		var apiErr *APIError
		_, err := st.GetExperimentByName(ctx, "no such experiment")
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "RESOURCE_DOES_NOT_EXIST" {
			t.Fatalf("want APIError 404 RESOURCE_DOES_NOT_EXIST, got %#v", err)
		}
		if _, err := st.GetExperiment(ctx, "987654"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetExperiment(missing) = %v, want ErrNotFound", err)
		}
		id, err := st.CreateExperiment(ctx, "twice")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateExperiment(ctx, "twice"); !errors.Is(err, ErrAlreadyExists) {
			t.Fatalf("second CreateExperiment = %v, want ErrAlreadyExists", err)
		}
		// Delete it as MLflow's client does (POST experiments/delete).
		if err := st.c.callJSON(ctx, "POST", "mlflow/experiments/delete", nil, map[string]string{"experiment_id": id}, nil); err != nil {
			t.Fatal(err)
		}
		exp, err := EnsureExperiment(ctx, st, "twice")
		var del *DeletedExperimentError
		if !errors.As(err, &del) || exp.LifecycleStage != LifecycleDeleted || del.StoreURI != srv.URI {
			t.Fatalf("EnsureExperiment(deleted) = %+v, %v; want DeletedExperimentError", exp, err)
		}
	})

	t.Run("Run", func(t *testing.T) { restRealServerRun(t, ctx, srv) })
	t.Run("FindRunsByTagQuoting", func(t *testing.T) {
		st := restOpen(t, srv.URI, Options{})
		exp, err := EnsureExperiment(ctx, st, "quoting")
		if err != nil {
			t.Fatal(err)
		}
		values := []string{"plain", "it's", `say "hi"`, `it's "x"`, `a\b`, `a\'b"c`, "100%_x", "it_s \"x\"", "", "ünï cödé"}
		ids := map[string]string{}
		for _, v := range values {
			info, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: exp.ID, StartTime: time.Now().UnixMilli(), Tags: []Tag{{Key: "odd key/with.dots", Value: v}}})
			if err != nil {
				t.Fatal(err)
			}
			ids[v] = info.RunID
		}
		for _, v := range values {
			found, err := st.FindRunsByTag(ctx, exp.ID, "odd key/with.dots", v)
			if err != nil {
				t.Fatalf("FindRunsByTag(%q): %v", v, err)
			}
			if len(found) != 1 || found[0].RunID != ids[v] {
				t.Errorf("FindRunsByTag(%q) = %+v, want run %s", v, found, ids[v])
			}
		}
	})
	t.Run("ResetDuringUpload", func(t *testing.T) { restResetDuringUpload(t, ctx, srv) })
}

func restRealServerRun(t *testing.T, ctx context.Context, srv *mlflowServer) {
	var progress bytes.Buffer
	st := restOpen(t, srv.URI, Options{UserAgent: "mltrack-test", HTTP: HTTPOptions{Progress: &progress}})
	exp, err := EnsureExperiment(ctx, st, "rest-run")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UnixMilli()
	runKey := restNewKey()
	info, err := st.CreateRun(ctx, CreateRunRequest{
		ExperimentID: exp.ID, UserID: "alice", RunName: "rest-run-1", StartTime: start,
		Tags: []Tag{
			{Key: RunKeyTag, Value: runKey},
			{Key: "mlflow.user", Value: "alice"},
			{Key: "mlflow.source.name", Value: "make train"},
			{Key: "mlflow.source.type", Value: "LOCAL"},
		},
		Params: []Param{{Key: "lr", Value: "0.01"}, {Key: "model", Value: "resnet"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != StatusRunning || info.StartTime != start || info.RunName != "rest-run-1" || !strings.HasPrefix(info.ArtifactURI, "mlflow-artifacts:/") {
		t.Fatalf("created run info = %+v", info)
	}

	// More than 1000 metric samples (three requests' worth), plus params and tags.
	var metrics []Metric
	for step := range 600 {
		ts := start + int64(step)
		metrics = append(metrics,
			Metric{Key: "loss", Value: 1 / float64(step+1), Timestamp: ts, Step: int64(step)},
			Metric{Key: "train/acc", Value: float64(step) / 600, Timestamp: ts, Step: int64(step)})
		if step < 300 {
			metrics = append(metrics, Metric{Key: "gpu 0:util", Value: float64(step % 100), Timestamp: ts, Step: int64(step)})
		}
	}
	metrics = append(metrics,
		Metric{Key: "odd", Value: math.NaN(), Timestamp: start, Step: 0},
		Metric{Key: "odd", Value: math.Inf(1), Timestamp: start, Step: 1},
		Metric{Key: "odd", Value: math.Inf(-1), Timestamp: start, Step: 2})
	params := []Param{{Key: "batch", Value: "32"}, {Key: "unicode", Value: "héllo wörld ✓ 'quoted' \"double\""}, {Key: "long", Value: strings.Repeat("x", 6000)}}
	for i := range 150 { // more than one request's worth of params
		params = append(params, Param{Key: fmt.Sprintf("p%03d", i), Value: strconv.Itoa(i)})
	}
	tags := []Tag{{Key: "team", Value: "vision"}, {Key: "mltrack.command", Value: "make train"}}
	if err := st.LogBatch(ctx, info.RunID, metrics, params, tags); err != nil {
		t.Fatal(err)
	}

	// A param conflict must not lose the rest of the batch.
	err = st.LogBatch(ctx, info.RunID,
		[]Metric{{Key: "after_conflict", Value: 7, Timestamp: start, Step: 3}},
		[]Param{{Key: "lr", Value: "0.02"}, {Key: "model", Value: "resnet"}, {Key: "new_param", Value: "yes"}},
		[]Tag{{Key: "after_conflict", Value: "written"}})
	var conflict *ParamConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("LogBatch with a changed param = %v, want *ParamConflictError", err)
	}
	if want := []ParamConflict{{Key: "lr", Existing: "0.01", Refused: "0.02"}}; !slices.Equal(conflict.Conflicts, want) || conflict.RunID != info.RunID {
		t.Fatalf("conflicts = %+v, want %+v", conflict.Conflicts, want)
	}

	// Artifacts through the server's proxy: several MB, a subdirectory, a name that needs escaping.
	local := t.TempDir()
	big1, sum1 := restRandomFile(t, local, "model.bin", 6<<20)
	big2, sum2 := restRandomFile(t, local, "logs/stdout.log", 3<<20)
	small, sum3 := restRandomFile(t, local, "x", 1000)
	files := []ArtifactFile{
		{LocalPath: big1, ArtifactPath: "model.bin", Size: 6 << 20},
		{LocalPath: big2, ArtifactPath: "logs/stdout.log", Size: 3 << 20},
		{LocalPath: small, ArtifactPath: "odd dir/notes (1) 100% ü.txt", Size: 1000},
	}
	if err := st.LogArtifacts(ctx, info, files); err != nil {
		t.Fatal(err)
	}
	if p := progress.String(); !strings.Contains(p, "uploading artifacts: ") || !strings.Contains(p, "3/3 files, 9.4/9.4 MB") || !strings.HasSuffix(p, "\r") {
		t.Fatalf("progress output = %q", p)
	}

	end := time.Now().UnixMilli()
	if err := st.UpdateRun(ctx, info.RunID, StatusFinished, end); err != nil {
		t.Fatal(err)
	}

	found, err := st.FindRunsByTag(ctx, exp.ID, RunKeyTag, runKey)
	if err != nil || len(found) != 1 || found[0].RunID != info.RunID {
		t.Fatalf("FindRunsByTag = %+v, %v", found, err)
	}
	if found, err := st.FindRunsByTag(ctx, exp.ID, RunKeyTag, "nope"); err != nil || len(found) != 0 {
		t.Fatalf("FindRunsByTag(other value) = %+v, %v", found, err)
	}
	run, err := st.GetRun(ctx, info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Info.Status != StatusFinished || run.Info.EndTime != end || len(run.Data.Params) != len(params)+3 {
		t.Fatalf("GetRun = %+v (%d params)", run.Info, len(run.Data.Params))
	}
	if got := st.RunURL(exp.ID, info.RunID); got != srv.URI+"/#/experiments/"+exp.ID+"/runs/"+info.RunID {
		t.Fatalf("RunURL = %s", got)
	}

	// MLflow's Python client reads it all back.
	var got struct {
		Status    string
		EndTime   int64
		StartTime int64
		RunName   string
		UserID    string
		Params    map[string]string
		Tags      map[string]string
		Metrics   map[string][][3]any
		Artifacts map[string]string
		Raced     int
	}
	script := `
import json, os, hashlib, math, tempfile, mlflow
c = mlflow.MlflowClient()
rid = "` + info.RunID + `"
r = c.get_run(rid)
def num(v):
    if math.isnan(v): return "NaN"
    if math.isinf(v): return "Infinity" if v > 0 else "-Infinity"
    return v
out = {"Status": r.info.status, "EndTime": r.info.end_time, "StartTime": r.info.start_time,
       "RunName": r.info.run_name, "UserID": r.info.user_id,
       "Params": r.data.params, "Tags": r.data.tags, "Metrics": {}, "Artifacts": {},
       "Raced": len([e for e in c.search_experiments(view_type=mlflow.entities.ViewType.ALL) if e.name == "raced"])}
for k in r.data.metrics:
    out["Metrics"][k] = [[m.step, num(m.value), m.timestamp] for m in c.get_metric_history(rid, k)]
d = c.download_artifacts(rid, "", tempfile.mkdtemp())
for root, _, names in os.walk(d):
    for n in names:
        p = os.path.join(root, n)
        out["Artifacts"][os.path.relpath(p, d).replace(os.sep, "/")] = hashlib.sha256(open(p, "rb").read()).hexdigest()
print(json.dumps(out))`
	restPython(t, srv.URI, script, &got)

	if got.Status != "FINISHED" || got.EndTime != end || got.StartTime != start || got.RunName != "rest-run-1" || got.UserID != "alice" {
		t.Errorf("run info read by MLflow: %s end=%d start=%d name=%q user=%q", got.Status, got.EndTime, got.StartTime, got.RunName, got.UserID)
	}
	wantParams := map[string]string{"lr": "0.01", "model": "resnet", "new_param": "yes"}
	for _, p := range params {
		wantParams[p.Key] = p.Value
	}
	if len(got.Params) != len(wantParams) {
		t.Errorf("MLflow reads %d params, want %d", len(got.Params), len(wantParams))
	}
	for k, v := range wantParams {
		if got.Params[k] != v {
			t.Errorf("param %s = %.40q, want %.40q", k, got.Params[k], v)
		}
	}
	for _, tg := range append(tags, Tag{Key: "after_conflict", Value: "written"}, Tag{Key: RunKeyTag, Value: runKey}, Tag{Key: "mlflow.source.name", Value: "make train"}) {
		if got.Tags[tg.Key] != tg.Value {
			t.Errorf("tag %s = %q, want %q", tg.Key, got.Tags[tg.Key], tg.Value)
		}
	}
	// Metric histories: every sample with its step, value and timestamp.
	want := map[string][]string{}
	for _, m := range append(metrics, Metric{Key: "after_conflict", Value: 7, Timestamp: start, Step: 3}) {
		if math.IsInf(m.Value, 0) {
			// MLflow's SQL store keeps ±Inf as ±MaxFloat64 (sqlalchemy_store.py: "Sql can not
			// represent Infs").
			m.Value = math.Copysign(math.MaxFloat64, m.Value)
		}
		want[m.Key] = append(want[m.Key], restSample(m.Step, m.Value, m.Timestamp))
	}
	total := 0
	for k, samples := range want {
		var have []string
		for _, s := range got.Metrics[k] {
			have = append(have, restSample(int64(s[0].(float64)), restNum(s[1]), int64(s[2].(float64))))
		}
		sort.Strings(have)
		sort.Strings(samples)
		if !slices.Equal(have, samples) {
			t.Errorf("metric %s: MLflow has %d samples, want %d (first: %v vs %v)", k, len(have), len(samples), restFirst(have), restFirst(samples))
		}
		total += len(have)
	}
	if total <= 1000 {
		t.Errorf("only %d metric samples; the test must exceed one batch", total)
	}
	wantArts := map[string]string{"model.bin": sum1, "logs/stdout.log": sum2, "odd dir/notes (1) 100% ü.txt": sum3}
	if got.Raced > 1 {
		t.Errorf("MLflow lists %d experiments named raced, want 1", got.Raced)
	}
	if !restMapsEqual(got.Artifacts, wantArts) {
		t.Errorf("artifacts downloaded by MLflow = %v, want %v", got.Artifacts, wantArts)
	}
}

func restSample(step int64, v float64, ts int64) string {
	return fmt.Sprintf("%d %v %d", step, v, ts)
}

func restNum(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		switch x {
		case "NaN":
			return math.NaN()
		case "Infinity":
			return math.Inf(1)
		case "-Infinity":
			return math.Inf(-1)
		}
	}
	return math.NaN()
}

func restFirst(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func restMapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// restResetProxy is a loopback TCP proxy in front of a real server that can reset one connection
// once it has carried a number of bytes from the client: a network failure in the middle of an
// upload.
type restResetProxy struct {
	ln        net.Listener
	target    string
	resetAt   atomic.Int64 // 0: disarmed
	resets    atomic.Int32
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     []net.Conn
	closeOnce sync.Once
}

func newRestResetProxy(t *testing.T, target string) *restResetProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &restResetProxy{ln: ln, target: target}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.serve(c) }()
		}
	}()
	t.Cleanup(p.close)
	return p
}

func (p *restResetProxy) URI() string { return "http://" + p.ln.Addr().String() }

func (p *restResetProxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *restResetProxy) close() {
	p.closeOnce.Do(func() {
		p.ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
}

func (p *restResetProxy) serve(client net.Conn) {
	p.track(client)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.track(server)
	go func() { _, _ = io.Copy(client, server); client.Close() }()
	var n int64
	buf := make([]byte, 32<<10)
	for {
		k, err := client.Read(buf)
		if k > 0 {
			n += int64(k)
			if at := p.resetAt.Load(); at > 0 && n >= at && p.resetAt.CompareAndSwap(at, 0) {
				// Forward part of what arrived, then reset both sides: the server sees a
				// truncated body, the client a reset connection.
				_, _ = server.Write(buf[:k/2])
				if tc, ok := client.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				client.Close()
				server.Close()
				p.resets.Add(1)
				return
			}
			if _, werr := server.Write(buf[:k]); werr != nil {
				client.Close()
				return
			}
		}
		if err != nil {
			server.Close()
			return
		}
	}
}

func restResetDuringUpload(t *testing.T, ctx context.Context, srv *mlflowServer) {
	proxy := newRestResetProxy(t, strings.TrimPrefix(srv.URI, "http://"))
	st := restOpen(t, proxy.URI(), Options{HTTP: HTTPOptions{BackoffFactor: 0.05, BackoffJitter: 0.01}})
	exp, err := EnsureExperiment(ctx, st, "reset")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: exp.ID, StartTime: time.Now().UnixMilli(), Tags: []Tag{{Key: RunKeyTag, Value: restNewKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	local, sum := restRandomFile(t, t.TempDir(), "big.bin", 5<<20)
	proxy.resetAt.Store(2 << 20)
	if err := st.LogArtifact(ctx, info, local, "out/big.bin"); err != nil {
		t.Fatalf("upload through a connection reset: %v", err)
	}
	if proxy.resets.Load() != 1 {
		t.Fatalf("the proxy reset %d connections, want 1", proxy.resets.Load())
	}
	// The server's own storage (./mlartifacts/<exp>/<run>/artifacts/...) holds the exact bytes.
	stored := filepath.Join(srv.Dir, "mlartifacts", exp.ID, info.RunID, "artifacts", "out", "big.bin")
	data, err := os.ReadFile(stored)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(data)
	if hex.EncodeToString(h[:]) != sum || len(data) != 5<<20 {
		t.Fatalf("server stored %d bytes with another checksum after the retried upload", len(data))
	}
}

// TestRESTRealServerNoServeArtifacts: a server started with --no-serve-artifacts gives runs a
// local artifact location (SQL backend: <cwd>/mlruns/...); mltrack writes there directly because
// the server is on loopback, and checks that the server sees the files. Cloud locations are
// refused with ErrUnsupportedArtifactURI at once.
func TestRESTRealServerNoServeArtifacts(t *testing.T) {
	t.Parallel() // each has its own server; their start-ups overlap
	srv := startMLflowServer(t, "--no-serve-artifacts")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := restOpen(t, srv.URI, Options{})
	exp, err := EnsureExperiment(ctx, st, "local-artifacts")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: exp.ID, StartTime: time.Now().UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(info.ArtifactURI, "mlflow-artifacts:") {
		t.Fatalf("artifact URI %s: the server serves artifacts", info.ArtifactURI)
	}
	local, sum := restRandomFile(t, t.TempDir(), "a.bin", 200_000)
	if err := st.LogArtifacts(ctx, info, []ArtifactFile{{LocalPath: local, ArtifactPath: "outputs/a.bin"}, {LocalPath: local, ArtifactPath: "top.bin"}}); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	restPython(t, srv.URI, `
import json, os, hashlib, tempfile, mlflow
d = mlflow.MlflowClient().download_artifacts("`+info.RunID+`", "", tempfile.mkdtemp())
out = {}
for root, _, names in os.walk(d):
    for n in names:
        p = os.path.join(root, n)
        out[os.path.relpath(p, d).replace(os.sep, "/")] = hashlib.sha256(open(p, "rb").read()).hexdigest()
print(json.dumps(out))`, &got)
	if !restMapsEqual(got, map[string]string{"outputs/a.bin": sum, "top.bin": sum}) {
		t.Fatalf("MLflow downloads %v", got)
	}

	// A server that does not see what was written (another disk: a container) is detected.
	elsewhere := t.TempDir()
	fake := info
	fake.ArtifactURI = "file://" + filepath.ToSlash(elsewhere)
	err = st.LogArtifact(ctx, fake, local, "ghost.bin")
	if !errors.Is(err, ErrUnsupportedArtifactURI) || !strings.Contains(err.Error(), "does not see") {
		t.Fatalf("LogArtifact to a location the server does not see = %v", err)
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "ghost.bin")); !os.IsNotExist(err) {
		t.Fatalf("the unseen copy was left behind: %v", err)
	}

	// An experiment in cloud storage: refused at once, saying why.
	var s3 struct{ ID string }
	restPython(t, srv.URI, `
import json, mlflow
print(json.dumps({"ID": mlflow.MlflowClient().create_experiment("in-s3", artifact_location="s3://bucket/prefix")}))`, &s3)
	info, err = st.CreateRun(ctx, CreateRunRequest{ExperimentID: s3.ID, StartTime: time.Now().UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	err = st.LogArtifact(ctx, info, local, "a.bin")
	if !errors.Is(err, ErrUnsupportedArtifactURI) || !strings.Contains(err.Error(), "kept locally") || !strings.Contains(err.Error(), "s3://bucket/prefix") {
		t.Fatalf("LogArtifact to s3 = %v", err)
	}
	if time.Since(begin) > time.Second {
		t.Fatalf("refusing an s3 location took %s", time.Since(begin))
	}
}

// TestRESTRealServerBasicAuth runs MLflow's basic-auth app (mlflow/server/auth): the admin user
// comes from a basic_auth.ini in the test's directory (MLFLOW_AUTH_CONFIG_PATH), with the user
// database next to it.
func TestRESTRealServerBasicAuth(t *testing.T) {
	t.Parallel() // each has its own server; their start-ups overlap
	// The auth app needs MLflow's "auth" extra (Flask-WTF), which scripts/mlflow-venv.sh installs.
	if out, err := mlflowtest.RunErr(t, "import flask_wtf"); err != nil {
		msg := "MLflow's basic-auth app needs Flask-WTF (pip install 'mlflow[auth]'; scripts/mlflow-venv.sh installs it): " + out
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	const user, password = "admin", "correct-horse-battery-42"
	ini := fmt.Sprintf(`[mlflow]
default_permission = READ
database_uri = sqlite:///%s
admin_username = %s
admin_password = %s
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
`, filepath.ToSlash(filepath.Join(dir, "basic_auth.db")), user, password)
	iniPath := filepath.Join(dir, "basic_auth.ini")
	if err := os.WriteFile(iniPath, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := mlflowtest.StartServer(t, []string{"MLFLOW_AUTH_CONFIG_PATH=" + iniPath, "MLFLOW_FLASK_SERVER_SECRET_KEY=" + restNewKey()}, "--app-name", "basic-auth")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("RightCredentials", func(t *testing.T) {
		st := restOpen(t, srv.URI, Options{HTTP: HTTPOptions{Username: user, Password: password, Token: "ignored-because-basic-wins"}})
		exp, err := EnsureExperiment(ctx, st, "authed")
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: exp.ID, StartTime: time.Now().UnixMilli(), Tags: []Tag{{Key: RunKeyTag, Value: restNewKey()}}})
		if err != nil {
			t.Fatal(err)
		}
		local, sum := restRandomFile(t, t.TempDir(), "f", 4096)
		if err := st.LogArtifact(ctx, info, local, "f.bin"); err != nil {
			t.Fatal(err)
		}
		if err := st.UpdateRun(ctx, info.RunID, StatusFinished, time.Now().UnixMilli()); err != nil {
			t.Fatal(err)
		}
		var got struct{ Status, Sum string }
		restPython(t, srv.URI, `
import json, hashlib, tempfile, mlflow
c = mlflow.MlflowClient()
p = c.download_artifacts("`+info.RunID+`", "f.bin", tempfile.mkdtemp())
print(json.dumps({"Status": c.get_run("`+info.RunID+`").info.status, "Sum": hashlib.sha256(open(p, "rb").read()).hexdigest()}))`,
			&got, "MLFLOW_TRACKING_USERNAME="+user, "MLFLOW_TRACKING_PASSWORD="+password)
		if got.Status != "FINISHED" || got.Sum != sum {
			t.Fatalf("MLflow reads %+v", got)
		}
	})

	t.Run("CredentialsInURI", func(t *testing.T) {
		uri := strings.Replace(srv.URI, "http://", "http://"+user+":"+password+"@", 1)
		st := restOpen(t, uri, Options{})
		if _, err := EnsureExperiment(ctx, st, "authed-uri"); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(st.URI(), password) || strings.Contains(st.RunURL("1", "r"), password) {
			t.Fatalf("credentials shown: %s %s", st.URI(), st.RunURL("1", "r"))
		}
	})

	t.Run("WrongCredentials", func(t *testing.T) {
		const wrong = "wrong-password-123456"
		st := restOpen(t, srv.URI, Options{HTTP: HTTPOptions{Username: user, Password: wrong}})
		begin := time.Now()
		_, err := EnsureExperiment(ctx, st, "authed")
		elapsed := time.Since(begin)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
			t.Fatalf("wrong password: %v, want APIError 401", err)
		}
		if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), "attempts") {
			t.Fatalf("error shows the password or was retried: %v", err)
		}
		if !strings.Contains(err.Error(), "MLFLOW_TRACKING_PASSWORD") {
			t.Fatalf("error does not say what to check: %v", err)
		}
		// With MLflow's default backoff, any retry would take seconds.
		if elapsed > 3*time.Second {
			t.Fatalf("a refused login took %s: retried?", elapsed)
		}
		t.Logf("error: %v", err)

		st = restOpen(t, srv.URI, Options{})
		if _, err := EnsureExperiment(ctx, st, "authed"); !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
			t.Fatalf("no credentials: %v, want APIError 401", err)
		}
	})
}
