package channel

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mltrack/mltrack/mlflowclient"
)

// recordingHandler keeps everything it is given. block, when set, is waited on by every call
// (or the call's context).
type recordingHandler struct {
	mu        sync.Mutex
	metrics   []mlflowclient.Metric
	params    []mlflowclient.Param
	tags      []mlflowclient.Tag
	artifacts [][2]string
	started   []string
	ended     map[string]mlflowclient.RunStatus
	hello     HelloInfo
	err       error
	panicMsg  string
	block     chan struct{}
	entered   chan struct{} // receives once per blocked call, if set
	ctxErrs   []error
}

func (h *recordingHandler) wait(ctx context.Context) error {
	if h.entered != nil {
		h.entered <- struct{}{}
	}
	if h.block == nil {
		return nil
	}
	select {
	case <-h.block:
		return nil
	case <-ctx.Done():
		h.mu.Lock()
		h.ctxErrs = append(h.ctxErrs, ctx.Err())
		h.mu.Unlock()
		return ctx.Err()
	}
}

func (h *recordingHandler) common(ctx context.Context) error {
	if err := h.wait(ctx); err != nil {
		return err
	}
	if h.panicMsg != "" {
		panic(h.panicMsg)
	}
	return h.err
}

func (h *recordingHandler) Hello(ctx context.Context) (HelloInfo, error) {
	if err := h.common(ctx); err != nil {
		return HelloInfo{}, err
	}
	return h.hello, nil
}

func (h *recordingHandler) LogMetrics(ctx context.Context, m []mlflowclient.Metric) error {
	if err := h.common(ctx); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.metrics = append(h.metrics, m...)
	return nil
}

func (h *recordingHandler) LogParams(ctx context.Context, p []mlflowclient.Param) error {
	if err := h.common(ctx); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.params = append(h.params, p...)
	return nil
}

func (h *recordingHandler) SetTags(ctx context.Context, t []mlflowclient.Tag) error {
	if err := h.common(ctx); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tags = append(h.tags, t...)
	return nil
}

func (h *recordingHandler) LogArtifact(ctx context.Context, local, artifact string) error {
	if err := h.common(ctx); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.artifacts = append(h.artifacts, [2]string{local, artifact})
	return nil
}

func (h *recordingHandler) ChildStarted(ctx context.Context, key string) error {
	if err := h.common(ctx); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.started = append(h.started, key)
	return nil
}

func (h *recordingHandler) ChildEnded(ctx context.Context, key string, st mlflowclient.RunStatus) error {
	if err := h.common(ctx); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended == nil {
		h.ended = map[string]mlflowclient.RunStatus{}
	}
	h.ended[key] = st
	return nil
}

func startServer(t *testing.T, h Handler, lim limits) *Server {
	t.Helper()
	s, err := listen(privateDir(t), h, lim)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// privateDir is a fresh 0700 directory (t.TempDir's own mode depends on the umask).
func privateDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

func dial(t *testing.T, s *Server, timeout time.Duration) *Client {
	t.Helper()
	if timeout == 0 {
		timeout = 10 * time.Second // generous: a loaded CI machine is slow to schedule the server
	}
	c, err := Dial(s.Addr(), timeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func step(n int64) *int64 { return &n }

// rawExchange sends lines on one connection and returns the replies.
func rawExchange(t *testing.T, addr string, lines ...string) []reply {
	t.Helper()
	conn, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	var reps []reply
	for _, l := range lines {
		if _, err := conn.Write([]byte(l + "\n")); err != nil {
			t.Fatalf("write: %v", err)
		}
		b, err := br.ReadBytes('\n')
		if err != nil {
			t.Fatalf("read reply to %.60q: %v", l, err)
		}
		var r reply
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("reply %q: %v", b, err)
		}
		reps = append(reps, r)
	}
	return reps
}

func TestManyConcurrentClientsEveryMetricOnce(t *testing.T) {
	h := &recordingHandler{}
	s := startServer(t, h, defaultLimits())
	const clients, perClient = 200, 5
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := Dial(s.Addr(), 20*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			ms := make([]Metric, perClient)
			for j := range ms {
				ms[j] = Metric{Key: fmt.Sprintf("client/%d", i), Value: float64(j) + 0.5, Step: step(int64(j)), Timestamp: 1000}
			}
			if err := c.LogMetrics(context.Background(), ms); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("client: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.metrics) != clients*perClient {
		t.Fatalf("got %d metrics, want %d", len(h.metrics), clients*perClient)
	}
	seen := map[string]bool{}
	for _, m := range h.metrics {
		id := fmt.Sprintf("%s@%d=%g", m.Key, m.Step, m.Value)
		if seen[id] {
			t.Fatalf("metric %s arrived twice", id)
		}
		seen[id] = true
		if m.Value != float64(m.Step)+0.5 || m.Timestamp != 1000 {
			t.Fatalf("metric %+v altered", m)
		}
	}
}

func TestConcurrentAutoStepsAreUnique(t *testing.T) {
	h := &recordingHandler{}
	s := startServer(t, h, defaultLimits())
	const n = 100
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(s.Addr(), 20*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			if err := c.LogMetrics(context.Background(), []Metric{{Key: "loss", Value: 1}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	var steps []int
	for _, m := range h.metrics {
		steps = append(steps, int(m.Step))
	}
	sort.Ints(steps)
	for i, st := range steps {
		if st != i {
			t.Fatalf("auto steps %v: want 0..%d each once", steps, n-1)
		}
	}
}

func TestAutoStepRules(t *testing.T) {
	var c stepCounter
	now := time.UnixMilli(5000)
	in := []wireMetric{
		{Key: "a", Value: 1},                 // 0
		{Key: "a", Value: 1},                 // 1
		{Key: "b", Value: 1},                 // 0 (own counter)
		{Key: "a", Value: 1, Step: step(10)}, // explicit 10
		{Key: "a", Value: 1},                 // 11
		{Key: "a", Value: 1, Step: step(3)},  // explicit, earlier: counter stays
		{Key: "a", Value: 1},                 // 12
		{Key: "c", Value: 1, Step: step(-5)}, // negative: counter stays at 0
		{Key: "c", Value: 1},                 // 0
		{Key: "d", Value: 1, Timestamp: 42},  // timestamp kept
		{Key: "e", Value: 1, Step: step(math.MaxInt64)},
		{Key: "e", Value: 1}, // saturates
	}
	got := c.assign(in, now)
	want := []int64{0, 1, 0, 10, 11, 3, 12, -5, 0, 0, math.MaxInt64, math.MaxInt64}
	for i, m := range got {
		if m.Step != want[i] {
			t.Errorf("sample %d (%s): step %d, want %d", i, m.Key, m.Step, want[i])
		}
	}
	if got[0].Timestamp != 5000 || got[9].Timestamp != 42 {
		t.Errorf("timestamps %d and %d, want 5000 (receipt) and 42 (given)", got[0].Timestamp, got[9].Timestamp)
	}
}

func TestEveryRequestKind(t *testing.T) {
	h := &recordingHandler{hello: HelloInfo{RunID: "r1", ExperimentID: "7", TrackingURI: "sqlite:///x.db", RunKey: "k1", PID: 99}}
	s := startServer(t, h, defaultLimits())
	c := dial(t, s, 0)
	ctx := context.Background()

	info, err := c.Hello(ctx)
	if err != nil || info != h.hello {
		t.Fatalf("hello: %+v, %v; want %+v", info, err, h.hello)
	}
	if err := c.LogMetrics(ctx, []Metric{
		{Key: "nan", Value: math.NaN()}, {Key: "inf", Value: math.Inf(1)}, {Key: "ninf", Value: math.Inf(-1)},
		{Key: "tiny", Value: 5e-324}, {Key: "big", Value: -1.7976931348623157e308},
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.LogParams(ctx, []mlflowclient.Param{{Key: "lr", Value: "0.1"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetTags(ctx, []mlflowclient.Tag{{Key: "stage", Value: "eval\nline2"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.LogArtifact(ctx, "rel/file.txt", ArtifactPath("rel/file.txt", "plots/")); err != nil {
		t.Fatal(err)
	}
	if err := c.ChildStarted(ctx, "child1"); err != nil {
		t.Fatal(err)
	}
	if err := c.ChildEnded(ctx, "child1", mlflowclient.StatusFailed); err != nil {
		t.Fatal(err)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.metrics
	if len(m) != 5 || !math.IsNaN(m[0].Value) || !math.IsInf(m[1].Value, 1) || !math.IsInf(m[2].Value, -1) ||
		m[3].Value != 5e-324 || m[4].Value != -1.7976931348623157e308 {
		t.Errorf("metrics %+v", m)
	}
	if len(h.params) != 1 || h.params[0] != (mlflowclient.Param{Key: "lr", Value: "0.1"}) {
		t.Errorf("params %+v", h.params)
	}
	if len(h.tags) != 1 || h.tags[0].Value != "eval\nline2" {
		t.Errorf("tags %+v", h.tags)
	}
	wd, _ := os.Getwd()
	if len(h.artifacts) != 1 || h.artifacts[0] != [2]string{filepath.Join(wd, "rel", "file.txt"), "plots/file.txt"} {
		t.Errorf("artifacts %+v", h.artifacts)
	}
	if len(h.started) != 1 || h.started[0] != "child1" || h.ended["child1"] != mlflowclient.StatusFailed {
		t.Errorf("children %v %v", h.started, h.ended)
	}
}

func TestArtifactPath(t *testing.T) {
	for _, tc := range []struct{ local, dir, want string }{
		{"a.png", "", "a.png"},
		{"/x/y/a.png", "plots", "plots/a.png"},
		{"a.png", "/plots/2024/", "plots/2024/a.png"},
		{"a.png", ".", "a.png"},
	} {
		if got := ArtifactPath(tc.local, tc.dir); got != tc.want {
			t.Errorf("ArtifactPath(%q, %q) = %q, want %q", tc.local, tc.dir, got, tc.want)
		}
	}
}

func TestBadRequestsAreRefusedOneByOne(t *testing.T) {
	h := &recordingHandler{}
	s := startServer(t, h, defaultLimits())
	cases := []struct{ line, want string }{
		{`not json`, "malformed request"},
		{`{"op":"hello"}`, "without protocol version"},
		{`{"v":2,"op":"hello"}`, "protocol version 2 is not supported"},
		{`{"v":1}`, `without "op"`},
		{`{"v":1,"op":"explode"}`, `unknown request "explode"`},
		{`{"v":1,"op":"log_metrics"}`, "without metrics"},
		{`{"v":1,"op":"log_metrics","metrics":[{"key":"bad key!","value":1}]}`, "invalid metric name"},
		{`{"v":1,"op":"log_metrics","metrics":[{"key":"a","value":"lots"}]}`, "not a number"},
		{`{"v":1,"op":"log_metrics","metrics":[{"key":"a","value":1e999}]}`, "out of range"},
		{`{"v":1,"op":"log_params","params":[{"key":"","value":"x"}]}`, "param name is empty"},
		{`{"v":1,"op":"set_tags","tags":[{"key":"/abs","value":"x"}]}`, "normalised relative path"},
		{`{"v":1,"op":"log_artifact","local_path":"rel","artifact_path":"a"}`, "not an absolute path"},
		{`{"v":1,"op":"log_artifact","local_path":"` + jsonPath(absPath("f")) + `","artifact_path":"../a"}`, "artifact path"},
		{`{"v":1,"op":"child_started","run_key":""}`, "run key"},
		{`{"v":1,"op":"child_ended","run_key":"k","status":"RUNNING"}`, "want FINISHED, FAILED or KILLED"},
	}
	lines := make([]string, len(cases))
	for i, tc := range cases {
		lines[i] = tc.line
	}
	// All on one connection: a refused request does not end the conversation.
	reps := rawExchange(t, s.Addr(), lines...)
	for i, tc := range cases {
		if reps[i].OK || !strings.Contains(reps[i].Error, tc.want) || reps[i].V != ProtocolVersion {
			t.Errorf("%s: reply %+v, want an error containing %q", tc.line, reps[i], tc.want)
		}
	}
	if len(h.metrics)+len(h.params)+len(h.tags)+len(h.artifacts)+len(h.started) != 0 {
		t.Errorf("a refused request reached the handler")
	}
	// The connection still serves good requests.
	if r := rawExchange(t, s.Addr(), `{"v":1,"op":"log_params","params":[{"key":"a","value":"b"}],"future_field":1}`); !r[0].OK {
		t.Errorf("good request after bad ones: %+v", r[0])
	}
}

func absPath(name string) string {
	p, _ := filepath.Abs(name)
	return p
}

func jsonPath(p string) string {
	b, _ := json.Marshal(p)
	return string(b[1 : len(b)-1])
}

func TestHandlerErrorsAndPanicsBecomeReplies(t *testing.T) {
	h := &recordingHandler{err: errors.New("store said no")}
	s := startServer(t, h, defaultLimits())
	c := dial(t, s, 0)
	err := c.LogParams(context.Background(), []mlflowclient.Param{{Key: "a", Value: "b"}})
	var re *RequestError
	if !errors.As(err, &re) || re.Op != "log_params" || re.Message != "store said no" || errors.Is(err, ErrUnavailable) {
		t.Fatalf("err %v; want a RequestError with the handler's message", err)
	}
	h.err, h.panicMsg = nil, "boom"
	err = c.SetTags(context.Background(), []mlflowclient.Tag{{Key: "a", Value: "b"}})
	if !errors.As(err, &re) || !strings.Contains(re.Message, "boom") {
		t.Fatalf("err %v; want the panic as a refusal", err)
	}
	h.panicMsg = ""
	if err := c.SetTags(context.Background(), []mlflowclient.Tag{{Key: "a", Value: "b"}}); err != nil {
		t.Fatalf("server broken after a panic: %v", err)
	}
}

func TestClosedServerFailsFast(t *testing.T) {
	h := &recordingHandler{}
	s, err := Listen(privateDir(t), h)
	if err != nil {
		t.Fatal(err)
	}
	early := dial(t, s, 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Addr()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after Close: %v", err)
	}
	start := time.Now()
	_, err = Dial(s.Addr(), 0)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "nothing listens") {
		t.Fatalf("dial a closed server: %v", err)
	}
	// A client dialed before the close fails fast too (its first connection was hung up).
	err = early.LogMetrics(context.Background(), []Metric{{Key: "a", Value: 1}})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("call on a closed server: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %s to fail", d)
	}
	if s.Close() != nil {
		t.Error("second Close failed")
	}
}

func TestDialErrors(t *testing.T) {
	if _, err := Dial("", 0); err == nil || !strings.Contains(err.Error(), EnvVar) {
		t.Errorf("empty address: %v", err)
	}
	_, err := Dial("unix:"+filepath.Join(privateDir(t), "missing.sock"), 0)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("missing socket: %v", err)
	}
}

func TestOversizedRequestRefused(t *testing.T) {
	h := &recordingHandler{}
	lim := defaultLimits()
	s := startServer(t, h, lim)

	// Client side: refused before sending.
	c := dial(t, s, 0)
	err := c.LogParams(context.Background(), []mlflowclient.Param{{Key: "huge", Value: strings.Repeat("x", MaxRequestBytes)}})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("client-side: %v", err)
	}

	// Server side: a raw client sending more than the cap gets an error and is hung up on.
	conn, err := net.Dial("unix", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	go func() {
		big := `{"v":1,"op":"log_params","params":[{"key":"a","value":"` + strings.Repeat("y", MaxRequestBytes) + `"}]}` + "\n"
		_, _ = conn.Write([]byte(big))
	}()
	br := bufio.NewReader(conn)
	line, err := br.ReadBytes('\n')
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	var r reply
	_ = json.Unmarshal(line, &r)
	if r.OK || !strings.Contains(r.Error, "larger than") {
		t.Fatalf("reply %s", line)
	}
	if _, err := br.ReadBytes('\n'); err == nil {
		t.Fatal("connection still open after an oversized request")
	}
	if len(h.params) != 0 {
		t.Fatal("oversized request reached the handler")
	}
	// A request exactly at the cap is accepted.
	pad := MaxRequestBytes - len(`{"v":1,"op":"log_params","params":[{"key":"a","value":""}]}`)
	if r := rawExchange(t, s.Addr(), `{"v":1,"op":"log_params","params":[{"key":"a","value":"`+strings.Repeat("z", pad)+`"}]}`); !r[0].OK {
		t.Fatalf("request of exactly %d bytes: %+v", MaxRequestBytes, r[0])
	}
}

func TestSlowHandlerVersusClientTimeout(t *testing.T) {
	h := &recordingHandler{block: make(chan struct{})}
	s := startServer(t, h, defaultLimits())
	defer close(h.block)
	c := dial(t, s, 150*time.Millisecond)
	start := time.Now()
	err := c.LogMetrics(context.Background(), []Metric{{Key: "a", Value: 1}})
	d := time.Since(start)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("err %v; want a timeout", err)
	}
	if d < 100*time.Millisecond || d > time.Second {
		t.Fatalf("call took %s with a 150ms timeout", d)
	}

	// A context deadline overrides the client's timeout, and cancellation cuts the call short.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start = time.Now()
	ctx2, cancel2 := context.WithTimeout(ctx, time.Hour)
	defer cancel2()
	err = c.LogMetrics(ctx2, []Metric{{Key: "a", Value: 1}})
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("cancelled call: %v after %s", err, time.Since(start))
	}
}

func TestCloseWaitsForInFlightAndHangsUpIdle(t *testing.T) {
	h := &recordingHandler{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	s := startServer(t, h, defaultLimits())

	idle, err := net.Dial("unix", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	c := dial(t, s, 5*time.Second)
	result := make(chan error, 1)
	go func() { result <- c.LogMetrics(context.Background(), []Metric{{Key: "a", Value: 1}}) }()
	<-h.entered // the request is in the handler

	closed := make(chan error, 1)
	start := time.Now()
	go func() { closed <- s.Close() }()

	// The idle connection is hung up on at once.
	_ = idle.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle connection not hung up by Close: %v", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) before the request in flight finished", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(h.block)
	if err := <-result; err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > CloseGrace {
		t.Fatalf("Close took %s", d)
	}
}

func TestCloseGivesUpOnAStuckHandler(t *testing.T) {
	h := &recordingHandler{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	defer close(h.block)
	lim := defaultLimits()
	lim.grace = 200 * time.Millisecond
	s := startServer(t, h, lim)
	c := dial(t, s, 5*time.Second)
	result := make(chan error, 1)
	go func() { result <- c.LogMetrics(context.Background(), []Metric{{Key: "a", Value: 1}}) }()
	<-h.entered
	start := time.Now()
	err := s.Close()
	if err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("Close took %s with a 200ms grace", d)
	}
	if err := <-result; !errors.Is(err, ErrUnavailable) {
		t.Fatalf("the stuck call: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		h.mu.Lock()
		n := len(h.ctxErrs)
		h.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the handler's context was not cancelled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConnectionCap(t *testing.T) {
	h := &recordingHandler{}
	lim := defaultLimits()
	lim.maxConns = 2
	s := startServer(t, h, lim)
	var hogs []net.Conn
	for i := 0; i < 2; i++ {
		conn, err := net.Dial("unix", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		hogs = append(hogs, conn)
	}
	// Let the server accept both (they take the two slots).
	time.Sleep(50 * time.Millisecond)
	c := dial(t, s, 200*time.Millisecond)
	err := c.SetTags(context.Background(), []mlflowclient.Tag{{Key: "a", Value: "b"}})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("third connection with two slots taken: %v; want it to wait and time out", err)
	}
	// A slot frees: a waiting call now goes through.
	c2, err := Dial(s.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	done := make(chan error, 1)
	go func() { done <- c2.SetTags(context.Background(), []mlflowclient.Tag{{Key: "a", Value: "b"}}) }()
	time.Sleep(50 * time.Millisecond)
	hogs[0].Close()
	if err := <-done; err != nil {
		t.Fatalf("after a slot freed: %v", err)
	}
}

func TestIdleConnectionsAreClosed(t *testing.T) {
	lim := defaultLimits()
	lim.idle = 100 * time.Millisecond
	s := startServer(t, &recordingHandler{}, lim)
	conn, err := net.Dial("unix", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle connection kept: %v", err)
	}
	// A Client dialed long before its first call still works (it connects afresh).
	c := dial(t, s, 0)
	time.Sleep(reuseFirstWithin + 100*time.Millisecond)
	if err := c.SetTags(context.Background(), []mlflowclient.Tag{{Key: "a", Value: "b"}}); err != nil {
		t.Fatalf("late first call: %v", err)
	}
}

func TestOtherUsersAreRefused(t *testing.T) {
	if peerCheck == "" {
		t.Skip("no peer credential check on " + runtime.GOOS)
	}
	h := &recordingHandler{}
	lim := defaultLimits()
	lim.uid = os.Geteuid() + 1 // as if this process were another user
	s := startServer(t, h, lim)
	c := dial(t, s, 0)
	err := c.SetTags(context.Background(), []mlflowclient.Tag{{Key: "a", Value: "b"}})
	var re *RequestError
	if !errors.As(err, &re) || !strings.Contains(re.Message, "refused a connection from uid") {
		t.Fatalf("err %v; want a refusal naming the uid", err)
	}
	if len(h.tags) != 0 {
		t.Fatal("another user's request reached the handler")
	}
}

func TestLongDirectoryFallsBackToShortSocketPath(t *testing.T) {
	dir := filepath.Join(privateDir(t), strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	h := &recordingHandler{}
	s, err := Listen(dir, h)
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if len(addr) > maxSocketPath || strings.HasPrefix(addr, dir) {
		t.Fatalf("socket at %s (%d bytes)", addr, len(addr))
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Dir(addr))
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("fallback directory: %v %v", fi.Mode(), err)
		}
	}
	c := dial(t, s, 0)
	if err := c.SetTags(context.Background(), []mlflowclient.Tag{{Key: "a", Value: "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(addr)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("fallback directory left behind: %v", err)
	}
}

func TestListenNeedsAPrivateDirectory(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes do not protect directories on Windows")
	}
	dir := privateDir(t)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(dir, &recordingHandler{}); err == nil || !strings.Contains(err.Error(), "open to other users") {
		t.Fatalf("listen in a 0755 directory: %v", err)
	}
	if _, err := Listen(filepath.Join(dir, "missing"), &recordingHandler{}); err == nil {
		t.Fatal("listen in a missing directory succeeded")
	}
	if _, err := Listen(privateDir(t), nil); err == nil {
		t.Fatal("listen without a handler succeeded")
	}
}

func TestStaleSocketIsReplaced(t *testing.T) {
	dir := privateDir(t)
	p := filepath.Join(dir, socketName)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false) // as if the previous parent crashed
	ln.Close()
	s, err := Listen(dir, &recordingHandler{})
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	defer s.Close()
	if err := os.WriteFile(filepath.Join(privateDir(t), "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A regular file in the way is not removed.
	dir2 := privateDir(t)
	if err := os.WriteFile(filepath.Join(dir2, socketName), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(dir2, &recordingHandler{}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("listen over a regular file: %v", err)
	}
}

func TestReadLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want []string
		err  error
	}{
		{"a\nbb\n", 10, []string{"a", "bb"}, nil},
		{"abc\n", 3, []string{"abc"}, nil},
		{"abcd\n", 3, nil, errTooLarge},
		{strings.Repeat("x", 100) + "\n", 100, []string{strings.Repeat("x", 100)}, nil},
		{strings.Repeat("x", 101) + "\n", 100, nil, errTooLarge},
	} {
		br := bufio.NewReaderSize(strings.NewReader(tc.in), 16)
		var got []string
		var err error
		for {
			var l []byte
			l, err = readLine(br, tc.max)
			if err != nil {
				break
			}
			got = append(got, string(l))
		}
		if tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("%q: err %v, want %v", tc.in, err, tc.err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: lines %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"op":"hello"}`,
		`{"v":1,"op":"log_metrics","metrics":[{"key":"loss","value":0.5,"timestamp":1,"step":3}]}`,
		`{"v":1,"op":"log_metrics","metrics":[{"key":"a","value":"NaN"},{"key":"b","value":"-Infinity"}]}`,
		`{"v":1,"op":"log_params","params":[{"key":"lr","value":"0.1"}]}`,
		`{"v":1,"op":"set_tags","tags":[{"key":"a/b","value":""}]}`,
		`{"v":1,"op":"log_artifact","local_path":"/a/b","artifact_path":"x/y.png"}`,
		`{"v":1,"op":"child_started","run_key":"abc"}`,
		`{"v":1,"op":"child_ended","run_key":"abc","status":"KILLED"}`,
		`{"v":1,"op":"log_metrics","metrics":[{"key":"a","value":1e308,"step":-9223372036854775808}]}`,
		`{"v":1e0,"op":"hello"}`, `[]`, `null`, `{"v":1,"op":"hello"} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := decodeRequest(line)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		// Whatever is accepted survives the client's encoding unchanged.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", req, err)
		}
		again, err := decodeRequest(b)
		if err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		if len(again.Metrics) != len(req.Metrics) || again.Op != req.Op || again.RunKey != req.RunKey ||
			again.LocalPath != req.LocalPath || again.ArtifactPath != req.ArtifactPath {
			t.Fatalf("round trip changed %+v into %+v", req, again)
		}
		for i, m := range req.Metrics {
			a := again.Metrics[i]
			same := a.Value == m.Value || (math.IsNaN(float64(a.Value)) && math.IsNaN(float64(m.Value)))
			if !same || a.Key != m.Key || a.Timestamp != m.Timestamp || (a.Step == nil) != (m.Step == nil) {
				t.Fatalf("metric %+v became %+v", m, a)
			}
		}
	})
}
