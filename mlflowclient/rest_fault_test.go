package mlflowclient

// Fault injection with fake servers. The real server's behaviour is proven in
// rest_server_test.go; these tests cover what a real server does not do on demand: 503 bursts,
// stalls, lost answers, refused connections.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fastRetries keeps MLflow's retry semantics with waits short enough for tests.
var fastRetries = HTTPOptions{BackoffFactor: 0.01, BackoffJitter: 0.001}

func restFakeServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func restWriteJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

const restExperimentJSON = `{"experiment": {"experiment_id": "1", "name": "x", "lifecycle_stage": "active"}}`

// restDropConnection closes the connection without an answer: the client cannot tell whether
// the server acted.
func restDropConnection(t *testing.T, w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Error("cannot hijack")
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	conn.Close()
}

func TestRESTRetryStatusBurstThenSuccess(t *testing.T) {
	var calls atomic.Int32
	srv := restFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			restWriteJSON(w, 503, `{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}`)
		case 2:
			w.WriteHeader(500)
		case 3:
			w.WriteHeader(502)
		case 4:
			w.WriteHeader(504)
		case 5:
			w.WriteHeader(429)
		case 6:
			w.WriteHeader(408)
		default:
			restWriteJSON(w, 200, restExperimentJSON)
		}
	})
	st := restOpen(t, srv.URL, Options{HTTP: fastRetries})
	if _, err := st.GetExperiment(context.Background(), "1"); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 7 {
		t.Fatalf("%d requests, want 7", calls.Load())
	}
}

// TestRESTRetryPoolExhausted: MLflow answers a full database connection pool with 400
// BAD_REQUEST "QueuePool limit ... reached"; mltrack retries it (any other 400 it does not).
func TestRESTRetryPoolExhausted(t *testing.T) {
	var calls atomic.Int32
	srv := restFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			restWriteJSON(w, 400, `{"error_code": "BAD_REQUEST", "message": "(sqlalchemy.exc.TimeoutError) QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00"}`)
			return
		}
		restWriteJSON(w, 200, restExperimentJSON)
	})
	st := restOpen(t, srv.URL, Options{HTTP: fastRetries})
	if _, err := st.GetExperiment(context.Background(), "1"); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d requests, want 3", calls.Load())
	}

	var other atomic.Int32
	srv = restFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		other.Add(1)
		restWriteJSON(w, 400, `{"error_code": "INVALID_PARAMETER_VALUE", "message": "bad"}`)
	})
	st = restOpen(t, srv.URL, Options{HTTP: fastRetries})
	if _, err := st.GetExperiment(context.Background(), "1"); err == nil {
		t.Fatal("a plain 400 succeeded")
	}
	if other.Load() != 1 {
		t.Fatalf("a plain 400 was sent %d times, want once", other.Load())
	}
}

func TestRESTRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name       string
		header     func() string
		ignore     bool
		min, max   time.Duration
		wantCalls  int32
		maxRetries int
	}{
		{"seconds", func() string { return "1" }, false, 2 * time.Second, 10 * time.Second, 3, 0},
		{"HTTP date", func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, false, 1900 * time.Millisecond, 10 * time.Second, 3, 0},
		{"ignored", func() string { return "1" }, true, 0, 1900 * time.Millisecond, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := restFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) <= 2 {
					w.Header().Set("Retry-After", tt.header())
					w.WriteHeader(503)
					return
				}
				restWriteJSON(w, 200, restExperimentJSON)
			})
			o := fastRetries
			o.IgnoreRetryAfter = tt.ignore
			st := restOpen(t, srv.URL, Options{HTTP: o})
			start := time.Now()
			if _, err := st.GetExperiment(context.Background(), "1"); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < tt.min || d > tt.max {
				t.Fatalf("took %s, want between %s and %s", d, tt.min, tt.max)
			}
			if calls.Load() != tt.wantCalls {
				t.Fatalf("%d requests, want %d", calls.Load(), tt.wantCalls)
			}
		})
	}
}

func TestRESTRetryStopsBeforeTheDeadline(t *testing.T) {
	var calls atomic.Int32
	srv := restFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "10")
		restWriteJSON(w, 503, `{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "down for maintenance"}`)
	})
	st := restOpen(t, srv.URL, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := st.GetExperiment(ctx, "1")
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Fatalf("took %s: waited for a Retry-After beyond the deadline", d)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || !strings.Contains(err.Error(), "after the deadline") || !strings.Contains(err.Error(), "down for maintenance") {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d requests, want 1", calls.Load())
	}
}

func TestRESTRetryExhausted(t *testing.T) {
	var calls atomic.Int32
	srv := restFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(500)
	})
	o := fastRetries
	o.MaxRetries = 2
	st := restOpen(t, srv.URL, Options{HTTP: o})
	_, err := st.GetExperiment(context.Background(), "1")
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") || calls.Load() != 3 {
		t.Fatalf("err = %v after %d requests", err, calls.Load())
	}
	// MLflow's own deterministic failures are not retried even as a 500.
	calls.Store(0)
	srv3 := restFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		restWriteJSON(w, 500, `{"error_code": "INVALID_STATE", "message": "Run 'r' metadata is in invalid state."}`)
	})
	st3 := restOpen(t, srv3.URL, Options{})
	if _, err := st3.GetRun(context.Background(), "r"); err == nil || calls.Load() != 1 {
		t.Fatalf("err = %v after %d requests", err, calls.Load())
	}
	// Client errors are not retried.
	calls.Store(0)
	srv2 := restFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		restWriteJSON(w, 400, `{"error_code": "INVALID_PARAMETER_VALUE", "message": "no"}`)
	})
	st2 := restOpen(t, srv2.URL, Options{})
	if _, err := st2.GetExperiment(context.Background(), "1"); err == nil || calls.Load() != 1 {
		t.Fatalf("err = %v after %d requests", err, calls.Load())
	}
}

func TestRESTSlowServerBoundedByDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var calls atomic.Int32
	srv := restFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})

	// The caller's deadline ends the wait, whatever the request timeout.
	st := restOpen(t, srv.URL, Options{})
	const budget = 700 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	_, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: "1", StartTime: 1, Tags: []Tag{{Key: RunKeyTag, Value: "k"}}})
	d := time.Since(start)
	if d < budget-100*time.Millisecond || d > budget+100*time.Millisecond {
		t.Fatalf("returned after %s, want %s ± 100 ms", d, budget)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "before the deadline") {
		t.Fatalf("err = %v", err)
	}

	// A request timeout shorter than the budget: attempts time out and are retried, still
	// within the budget.
	calls.Store(0)
	o := fastRetries
	o.RequestTimeout = 150 * time.Millisecond
	st = restOpen(t, srv.URL, Options{HTTP: o})
	ctx2, cancel2 := context.WithTimeout(context.Background(), budget)
	defer cancel2()
	start = time.Now()
	_, err = st.GetExperiment(ctx2, "1")
	d = time.Since(start)
	if d > budget+100*time.Millisecond {
		t.Fatalf("returned after %s, budget %s", d, budget)
	}
	if calls.Load() < 3 || err == nil {
		t.Fatalf("%d attempts, err %v; want several timed-out attempts", calls.Load(), err)
	}
	t.Logf("%d attempts in %s: %v", calls.Load(), d, err)
}

func TestRESTConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	uri := "http://" + ln.Addr().String()
	ln.Close()

	// MLflow's defaults: the second retry would wait 4 s, past a 2 s budget: give up at once.
	st := restOpen(t, uri, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err = st.GetExperimentByName(ctx, "x")
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("took %s", d)
	}
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "after the deadline") || errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}

	// Short backoff: retries until the next wait would pass the deadline, never beyond it.
	st = restOpen(t, uri, Options{HTTP: HTTPOptions{BackoffFactor: 0.1, BackoffJitter: 0.01, MaxRetries: 10}})
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start = time.Now()
	if _, err = st.CreateExperiment(ctx, "x"); err == nil {
		t.Fatal("want an error")
	}
	if d := time.Since(start); d > 1100*time.Millisecond {
		t.Fatalf("took %s with a 1 s budget", d)
	}

	// No deadline: bounded by the number of retries.
	st = restOpen(t, uri, Options{HTTP: HTTPOptions{BackoffFactor: 0.01, BackoffJitter: 0.001, MaxRetries: 3}})
	if _, err = st.GetRun(context.Background(), "r"); err == nil || !strings.Contains(err.Error(), "gave up after 4 attempts") {
		t.Fatalf("err = %v", err)
	}
}

// restFakeTracking is a fake server for runs/create with injectable failures.
type restFakeTracking struct {
	mu           sync.Mutex
	runs         []wireRun
	createCalls  int
	searchCalls  int
	batchCalls   int
	onCreate     func(call int) string // "ok", "drop-after-create", "503", "429"
	onSearch     func(call int) string // "ok", "503"
	lastSearch   string
	lastBatchLen int
}

func (f *restFakeTracking) handler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch r.URL.Path {
		case "/api/2.0/mlflow/runs/create":
			f.createCalls++
			var req struct {
				ExperimentID string `json:"experiment_id"`
				StartTime    int64  `json:"start_time"`
				Tags         []Tag  `json:"tags"`
			}
			json.NewDecoder(r.Body).Decode(&req)
			mode := f.onCreate(f.createCalls)
			switch mode {
			case "503":
				w.WriteHeader(503)
				return
			case "429":
				w.WriteHeader(429)
				return
			}
			var run wireRun
			run.Info = wireRunInfo{RunID: fmt.Sprintf("run%d", len(f.runs)+1), ExperimentID: req.ExperimentID, Status: "RUNNING", StartTime: jsonInt64(req.StartTime), ArtifactURI: "mlflow-artifacts:/1/x/artifacts"}
			run.Data.Tags = req.Tags
			f.runs = append(f.runs, run)
			if mode == "drop-after-create" {
				restDropConnection(t, w)
				return
			}
			b, _ := json.Marshal(map[string]any{"run": map[string]any{"info": map[string]any{"run_id": run.Info.RunID, "experiment_id": run.Info.ExperimentID, "status": "RUNNING", "start_time": req.StartTime}}})
			restWriteJSON(w, 200, string(b))
		case "/api/2.0/mlflow/runs/search":
			f.searchCalls++
			var req struct {
				Filter string `json:"filter"`
			}
			json.NewDecoder(r.Body).Decode(&req)
			f.lastSearch = req.Filter
			if f.onSearch != nil && f.onSearch(f.searchCalls) == "503" {
				w.WriteHeader(503)
				return
			}
			var out struct {
				Runs []map[string]any `json:"runs"`
			}
			for _, run := range f.runs {
				out.Runs = append(out.Runs, map[string]any{"info": map[string]any{"run_id": run.Info.RunID, "experiment_id": run.Info.ExperimentID, "status": "RUNNING"}, "data": map[string]any{"tags": run.Data.Tags}})
			}
			b, _ := json.Marshal(out)
			restWriteJSON(w, 200, string(b))
		case "/api/2.0/mlflow/runs/log-batch":
			f.batchCalls++
			restWriteJSON(w, 200, `{}`)
		default:
			w.WriteHeader(404)
		}
	}
}

func TestRESTCreateRunAfterAmbiguousFailure(t *testing.T) {
	tests := []struct {
		name                  string
		key                   string
		onCreate              func(int) string
		onSearch              func(int) string
		wantErr               bool
		wantCreates, wantRuns int
		wantSearches          int
	}{
		{"answer lost after the server created the run: found, not created twice", "key-1",
			func(n int) string { return map[bool]string{true: "drop-after-create", false: "ok"}[n == 1] }, nil, false, 1, 1, 1},
		{"5xx before creating: looked up, then sent again", "key-2",
			func(n int) string { return map[bool]string{true: "503", false: "ok"}[n == 1] }, nil, false, 2, 1, 1},
		{"lookup fails: nothing resent until a lookup answers", "key-3",
			func(n int) string { return map[bool]string{true: "drop-after-create", false: "ok"}[n == 1] },
			func(n int) string { return map[bool]string{true: "503", false: "ok"}[n <= 2] }, false, 1, 1, 3},
		{"429 proves nothing was done: resent without a lookup", "key-4",
			func(n int) string { return map[bool]string{true: "429", false: "ok"}[n == 1] }, nil, false, 2, 1, 0},
		{"no run key: an ambiguous failure is not retried (as MLflow)", "",
			func(n int) string { return map[bool]string{true: "503", false: "ok"}[n == 1] }, nil, true, 1, 0, 0},
		{"no run key: a refused-type failure is retried", "",
			func(n int) string { return map[bool]string{true: "429", false: "ok"}[n == 1] }, nil, false, 2, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &restFakeTracking{onCreate: tt.onCreate, onSearch: tt.onSearch}
			srv := restFakeServer(t, f.handler(t))
			st := restOpen(t, srv.URL, Options{HTTP: fastRetries})
			req := CreateRunRequest{ExperimentID: "1", StartTime: 1714380000000, Params: []Param{{Key: "a", Value: "1"}}}
			if tt.key != "" {
				req.Tags = []Tag{{Key: RunKeyTag, Value: tt.key}}
			}
			info, err := st.CreateRun(context.Background(), req)
			f.mu.Lock()
			defer f.mu.Unlock()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if f.createCalls != tt.wantCreates || len(f.runs) != tt.wantRuns || f.searchCalls != tt.wantSearches {
				t.Fatalf("%d creates, %d runs, %d searches; want %d, %d, %d", f.createCalls, len(f.runs), f.searchCalls, tt.wantCreates, tt.wantRuns, tt.wantSearches)
			}
			if err == nil {
				if info.RunID != f.runs[0].Info.RunID || f.batchCalls != 1 {
					t.Fatalf("info %+v, %d log-batch calls", info, f.batchCalls)
				}
				if tt.wantSearches > 0 && f.lastSearch != "tags.`mltrack.run_key` = '"+tt.key+"'" {
					t.Fatalf("search filter %q", f.lastSearch)
				}
			}
		})
	}
}

func TestRESTParamConflictFileStoreServer(t *testing.T) {
	// A FileStore-backed server reports a param conflict in log-batch as INTERNAL_ERROR (500),
	// which must not be retried as a server failure.
	const conflictMsg = "Changing param values is not allowed. Param with key='lr' was already logged with value='0.01' for run ID='r1'. Attempted logging new value '0.02'."
	var mu sync.Mutex
	var batches []logBatchBody
	var single []string
	srv := restFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/api/2.0/mlflow/runs/log-batch":
			var b logBatchBody
			json.NewDecoder(r.Body).Decode(&b)
			batches = append(batches, b)
			if len(b.Params) > 0 {
				restWriteJSON(w, 500, fmt.Sprintf(`{"error_code": "INTERNAL_ERROR", "message": %q}`, conflictMsg))
				return
			}
			restWriteJSON(w, 200, `{}`)
		case "/api/2.0/mlflow/runs/log-parameter":
			var p Param
			json.NewDecoder(r.Body).Decode(&p)
			single = append(single, p.Key)
			if p.Key == "lr" {
				restWriteJSON(w, 400, fmt.Sprintf(`{"error_code": "INVALID_PARAMETER_VALUE", "message": %q}`, conflictMsg))
				return
			}
			restWriteJSON(w, 200, `{}`)
		case "/api/2.0/mlflow/runs/get":
			restWriteJSON(w, 200, `{"run": {"info": {"run_id": "r1"}, "data": {"params": [{"key": "lr", "value": "0.01"}]}}}`)
		}
	})
	st := restOpen(t, srv.URL, Options{}) // MLflow's default backoff: a retry would take seconds
	start := time.Now()
	err := st.LogBatch(context.Background(), "r1", restMetrics(5), []Param{{Key: "lr", Value: "0.02"}, {Key: "b", Value: "2"}}, restTags(2, "v"))
	var conflict *ParamConflictError
	if !errors.As(err, &conflict) || len(conflict.Conflicts) != 1 || conflict.Conflicts[0] != (ParamConflict{Key: "lr", Existing: "0.01", Refused: "0.02"}) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("took %s: the conflict was retried", time.Since(start))
	}
	if len(batches) != 2 || len(batches[1].Params) != 0 || len(batches[1].Metrics) != 5 || len(batches[1].Tags) != 2 {
		t.Fatalf("log-batch requests: %+v", batches)
	}
	if strings.Join(single, ",") != "lr,b" {
		t.Fatalf("log-parameter requests: %v", single)
	}
	if !strings.Contains(conflict.Error(), `"0.01"`) {
		t.Fatalf("message: %v", conflict)
	}
}

func TestRESTExistingFromMessage(t *testing.T) {
	msg := "Changing param values is not allowed. Param with key='k' was already logged with value='it's' for run ID='r'. Attempted logging new value 'x'."
	if got := existingFromMessage(&APIError{Message: msg}); got != "it's" {
		t.Fatalf("got %q", got)
	}
	if got := existingFromMessage(errors.New("x")); got != "" {
		t.Fatalf("got %q", got)
	}
}

func TestRESTArtifactTargets(t *testing.T) {
	tests := []struct {
		tracking, artifact string
		want               string // URL, "local", or "unsupported"
	}{
		{"http://127.0.0.1:5000", "mlflow-artifacts:/1/abc/artifacts", "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"},
		{"https://mlflow.example.com/prefix/", "mlflow-artifacts:/1/abc/artifacts", "https://mlflow.example.com/prefix/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"},
		{"http://u:p@127.0.0.1:5000", "mlflow-artifacts://artifacts.example:6000/2/r/artifacts", "http://artifacts.example:6000/api/2.0/mlflow-artifacts/artifacts/2/r/artifacts"},
		{"http://127.0.0.1:5000", "mlflow-artifacts:/dir%20x/r", "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/dir%20x/r"},
		{"http://127.0.0.1:5000", "http://other:7000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts", "http://other:7000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts"},
		{"http://127.0.0.1:5000", "/srv/mlruns/1/r/artifacts", "local"},
		{"http://localhost:5000", "file:///srv/mlruns/1/r/artifacts", "local"},
		{"http://[::1]:5000", "file:///srv/mlruns/1/r/artifacts", "local"},
		{"http://mlflow.example.com", "file:///srv/mlruns/1/r/artifacts", "unsupported"},
		{"http://127.0.0.1:5000", "s3://bucket/p/1/r/artifacts", "unsupported"},
		{"http://127.0.0.1:5000", "gs://bucket/p", "unsupported"},
		{"http://127.0.0.1:5000", "wasbs://c@acct.blob.core.windows.net/p", "unsupported"},
		{"http://127.0.0.1:5000", "mlruns/1/r/artifacts", "unsupported"},
		{"http://127.0.0.1:5000", "mlflow-artifacts://5000/1/r", "error"},
	}
	for _, tt := range tests {
		st := restOpen(t, tt.tracking, Options{})
		target, local, err := st.artifactTarget(RunInfo{RunID: "r", ArtifactURI: tt.artifact})
		var got string
		switch {
		case errors.Is(err, ErrUnsupportedArtifactURI):
			got = "unsupported"
			if !strings.Contains(err.Error(), "kept locally") {
				t.Errorf("%s: %v does not say the artifacts are kept locally", tt.artifact, err)
			}
		case err != nil:
			got = "error"
		case local:
			got = "local"
		default:
			got = target.String()
		}
		if got != tt.want {
			t.Errorf("artifactTarget(%s, %s) = %s (%v), want %s", tt.tracking, tt.artifact, got, err, tt.want)
		}
		if strings.Contains(fmt.Sprint(err), ":p@") {
			t.Errorf("credentials in %v", err)
		}
	}
	u, _ := restArtifactURL("http://h/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts", "odd dir/a b?c%d ü.txt")
	if want := "http://h/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/odd%20dir/a%20b%3Fc%25d%20%C3%BC.txt"; u != want {
		t.Errorf("fileURL = %s, want %s", u, want)
	}
}

func restArtifactURL(target, artifactPath string) (string, error) {
	st, err := OpenREST("http://127.0.0.1:1", Options{})
	if err != nil {
		return "", err
	}
	tu, _, err := st.(*RESTStore).artifactTarget(RunInfo{ArtifactURI: target})
	if err != nil {
		return "", err
	}
	return fileURL(tu, artifactPath).String(), nil
}

// restArtifactSink is a fake artifact server: it keeps what PUT requests send, and can fail the
// first attempt of each path after reading part of the body.
type restArtifactSink struct {
	mu          sync.Mutex
	files       map[string][]byte
	attempts    map[string]int
	dropFirst   bool
	active, max int
	delay       time.Duration
	badLength   bool
}

func (s *restArtifactSink) handler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "PUT" {
			w.WriteHeader(405)
			return
		}
		p := strings.TrimPrefix(r.URL.Path, "/api/2.0/mlflow-artifacts/artifacts/")
		s.mu.Lock()
		s.attempts[p]++
		n := s.attempts[p]
		s.active++
		s.max = max(s.max, s.active)
		s.mu.Unlock()
		defer func() { s.mu.Lock(); s.active--; s.mu.Unlock() }()
		if r.ContentLength <= 0 || r.TransferEncoding != nil {
			s.mu.Lock()
			s.badLength = true
			s.mu.Unlock()
		}
		if s.dropFirst && n == 1 {
			io.CopyN(io.Discard, r.Body, r.ContentLength/2)
			restDropConnection(t, w)
			return
		}
		time.Sleep(s.delay)
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.files[p] = data
		s.mu.Unlock()
		restWriteJSON(w, 200, `{}`)
	}
}

func TestRESTUploadRetriedFromFirstByte(t *testing.T) {
	sink := &restArtifactSink{files: map[string][]byte{}, attempts: map[string]int{}, dropFirst: true}
	srv := restFakeServer(t, sink.handler(t))
	var progress bytes.Buffer
	st := restOpen(t, srv.URL, Options{HTTP: HTTPOptions{BackoffFactor: 0.01, BackoffJitter: 0.001, Progress: &progress}})
	local, _ := restRandomFile(t, t.TempDir(), "big.bin", 9<<20)
	want, _ := os.ReadFile(local)
	run := RunInfo{RunID: "r", ArtifactURI: "mlflow-artifacts:/1/r/artifacts"}
	if err := st.LogArtifact(context.Background(), run, local, "out/big.bin"); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	got := sink.files["1/r/artifacts/out/big.bin"]
	if !bytes.Equal(got, want) || sink.attempts["1/r/artifacts/out/big.bin"] != 2 || sink.badLength {
		t.Fatalf("stored %d bytes (equal: %v) after %d attempts; Content-Length missing: %v", len(got), bytes.Equal(got, want), sink.attempts["1/r/artifacts/out/big.bin"], sink.badLength)
	}
	// The retried bytes are not counted twice.
	if p := progress.String(); !strings.Contains(p, "1/1 files, 9.4/9.4 MB") || strings.Contains(p, "14.") {
		t.Fatalf("progress = %q", p)
	}
}

func TestRESTLogArtifactsConcurrently(t *testing.T) {
	sink := &restArtifactSink{files: map[string][]byte{}, attempts: map[string]int{}, delay: 50 * time.Millisecond}
	srv := restFakeServer(t, sink.handler(t))
	st := restOpen(t, srv.URL, Options{HTTP: HTTPOptions{ArtifactUploads: 3}})
	dir := t.TempDir()
	var files []ArtifactFile
	for i := range 10 {
		p, _ := restRandomFile(t, dir, fmt.Sprintf("f%d", i), 1000+i)
		files = append(files, ArtifactFile{LocalPath: p, ArtifactPath: fmt.Sprintf("d/f%d", i)})
	}
	// One missing file and one refused name do not stop the others.
	files = append(files, ArtifactFile{LocalPath: filepath.Join(dir, "missing"), ArtifactPath: "missing"}, ArtifactFile{LocalPath: files[0].LocalPath, ArtifactPath: "a#b"})
	err := st.LogArtifacts(context.Background(), RunInfo{RunID: "r", ArtifactURI: "mlflow-artifacts:/1/r/artifacts"}, files)
	if err == nil || !strings.Contains(err.Error(), "missing") || !strings.Contains(err.Error(), "'#'") {
		t.Fatalf("err = %v", err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.files) != 10 || sink.max != 3 {
		t.Fatalf("%d files stored, at most %d at a time; want 10, 3", len(sink.files), sink.max)
	}
	if err := st.LogArtifact(context.Background(), RunInfo{RunID: "r", ArtifactURI: "mlflow-artifacts:/1/r/artifacts"}, files[0].LocalPath, "../escape"); err == nil {
		t.Fatal("an escaping artifact path was accepted")
	}
}

func TestRESTArtifactsNotServed(t *testing.T) {
	var calls atomic.Int32
	srv := restFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(503)
		io.WriteString(w, "Endpoint: /api/2.0/mlflow-artifacts/artifacts/<path:artifact_path> disabled due to the mlflow server running with `--no-serve-artifacts`. To enable artifacts server functionality, run `mlflow server` with `--serve-artifacts`")
	})
	st := restOpen(t, srv.URL, Options{})
	local, _ := restRandomFile(t, t.TempDir(), "f", 10)
	err := st.LogArtifact(context.Background(), RunInfo{RunID: "r", ArtifactURI: "mlflow-artifacts:/1/r/artifacts"}, local, "f")
	if !errors.Is(err, ErrUnsupportedArtifactURI) || calls.Load() != 1 {
		t.Fatalf("err = %v after %d requests", err, calls.Load())
	}
}

func TestREST401NotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := restFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("WWW-Authenticate", `Basic realm="mlflow"`)
		w.WriteHeader(401)
		io.WriteString(w, "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.")
	})
	st := restOpen(t, srv.URL, Options{HTTP: HTTPOptions{Username: "u", Password: "s3cret-pass"}})
	_, err := EnsureExperiment(context.Background(), st, "x")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || calls.Load() != 1 || strings.Contains(err.Error(), "s3cret-pass") {
		t.Fatalf("err = %v after %d requests", err, calls.Load())
	}
}
