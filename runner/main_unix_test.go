//go:build unix

package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary doubles as a stand-in for mltrack (helper mode), so that real signals can be
// sent to "mltrack", its standard files can be real pipes and terminals, and it can die of a
// signal, without touching the test process itself.
//
//	RUNNER_TEST_HELPER=run   args: -- command...   runs Run with the process's own stdio
//	RUNNER_TEST_HELPER=raise RUNNER_TEST_SIGNAL=N  calls RaiseSignal(N) with core dumps allowed
//
// Options of the run helper: RUNNER_TEST_PTY=on|off|auto, RUNNER_TEST_CAPTURE=1,
// RUNNER_TEST_TIMEOUT=duration, RUNNER_TEST_RESULT=file for the Result as JSON.
func TestMain(m *testing.M) {
	switch os.Getenv("RUNNER_TEST_HELPER") {
	case "run":
		os.Exit(helperRun())
	case "raise":
		os.Exit(helperRaise())
	}
	os.Exit(m.Run())
}

// helperResult is what the run helper records.
type helperResult struct {
	PID          int
	ExitCode     int
	Signal       int
	SignalSource string
	TimedOut     bool
	PTY          bool
	SharedOutput bool
	StartErr     string
	Warnings     []string
}

func helperRun() int {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RUNNER_TEST_") {
			env = append(env, kv)
		}
	}
	spec := Spec{Argv: args, Env: env, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	switch os.Getenv("RUNNER_TEST_PTY") {
	case "on":
		spec.PTY = PTYOn
	case "off":
		spec.PTY = PTYOff
	}
	var out, errOut bytes.Buffer
	if os.Getenv("RUNNER_TEST_CAPTURE") == "1" {
		spec.CaptureStdout, spec.CaptureStderr = &out, &errOut
	}
	if d, err := time.ParseDuration(os.Getenv("RUNNER_TEST_TIMEOUT")); err == nil {
		spec.Timeout = d
	}
	res := Run(context.Background(), spec)
	if path := os.Getenv("RUNNER_TEST_RESULT"); path != "" {
		hr := helperResult{PID: res.PID, ExitCode: res.ExitCode, Signal: int(res.Signal), SignalSource: res.SignalSource,
			TimedOut: res.TimedOut, PTY: res.PTY, SharedOutput: res.SharedOutput, Warnings: res.Warnings}
		if res.StartErr != nil {
			hr.StartErr = res.StartErr.Error()
		}
		b, _ := json.Marshal(hr)
		_ = os.WriteFile(path, b, 0o644)
	}
	if res.Signal != 0 && !res.TimedOut {
		RaiseSignal(res.Signal)
	}
	return res.ExitCode
}

func helperRaise() int {
	n, _ := strconv.Atoi(os.Getenv("RUNNER_TEST_SIGNAL"))
	// Allow core dumps, so that the test proves RaiseSignal turns them off.
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_CORE, &lim) == nil {
		lim.Cur = lim.Max
		_ = unix.Setrlimit(unix.RLIMIT_CORE, &lim)
	}
	RaiseSignal(syscall.Signal(n))
	return 99
}

func readHelperResult(t *testing.T, path string) helperResult {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("helper left no result: %v", err)
	}
	var hr helperResult
	if err := json.Unmarshal(b, &hr); err != nil {
		t.Fatalf("helper result %s: %v", b, err)
	}
	return hr
}

// syncBuffer is a capture writer the test may read while Run is running.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// runBounded runs Run and fails the test if it does not return within limit.
func runBounded(t *testing.T, ctx context.Context, spec Spec, limit time.Duration) Result {
	t.Helper()
	done := make(chan Result, 1)
	go func() { done <- Run(ctx, spec) }()
	select {
	case res := <-done:
		return res
	case <-time.After(limit):
		t.Fatalf("Run(%q) did not return within %s", spec.Argv, limit)
		return Result{}
	}
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie does not count).
func alive(pid int) bool {
	if err := unix.Kill(pid, 0); err != nil {
		return false
	}
	return !isZombie(pid)
}

// tempFile creates an empty file for the command's output.
func tempFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Create(t.TempDir() + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func fileContent(t *testing.T, f *os.File) []byte {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b
}
