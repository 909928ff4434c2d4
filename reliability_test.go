//go:build unix

package main

// The reliability suite's exit-status part (issue #6, docs/reliability.md): a built mltrack binary,
// run as a shell runs it, must end exactly like the bare command it wraps — every exit code 0–255 and
// the common signals, with and without a pty, with and without a --timeout that does not fire, on
// pipes and on a real terminal — and a signal sent to mltrack must end the command as it would have
// ended it without mltrack. Every run lands in one SQLite store, and MLflow then reads back the
// status, exit_code, signal and pty each run recorded.
//
// The testscript harness runs mltrack in-process (TestMain); here the binary is built once, because
// what a shell sees is the wait status of a real process.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/mltrack/mltrack/internal/mlflowtest"
)

// reliabilitySignals are the signals the issue names: a command may die of any of them.
var reliabilitySignals = []syscall.Signal{
	unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGKILL, unix.SIGSEGV, unix.SIGABRT,
}

// forwardedSignals are the ones a user or a supervisor sends to mltrack itself (kill PID, Ctrl-C
// from a parent, a CI runner cancelling a step): mltrack must pass them on to the command.
var forwardedSignals = []syscall.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1}

// waitStatus is how a process ended, as its parent sees it.
type waitStatus struct {
	code int            // exit code, when sig == 0
	sig  syscall.Signal // the signal that killed it
}

// shell is `$?` in a POSIX shell.
func (w waitStatus) shell() int {
	if w.sig != 0 {
		return 128 + int(w.sig)
	}
	return w.code
}

func (w waitStatus) String() string {
	if w.sig != 0 {
		return fmt.Sprintf("killed by %s ($?=%d)", unix.SignalName(w.sig), w.shell())
	}
	return fmt.Sprintf("exit %d", w.code)
}

// procResult is one finished process.
type procResult struct {
	status         waitStatus
	stdout, stderr string
	err            error // could not start, or did not end in time
}

// relMode is one way of calling mltrack: the flags that select it.
type relMode struct {
	name  string
	flags []string
	pty   bool // the command gets a pseudo-terminal
}

var relModes = []relMode{
	{"pipes", nil, false},
	{"pty", []string{"--pty"}, true},
	{"timeout", []string{"--timeout", "1h"}, false},
	{"pty+timeout", []string{"--pty", "--timeout", "1h"}, true},
}

// relHarness holds the built binary and the directory every run works in (its default store,
// ./mlflow.db, receives every run).
type relHarness struct {
	bin  string
	dir  string
	env  []string
	runs atomic.Int64 // tracked runs started, each of which must reach the store
}

func TestReliability(t *testing.T) {
	h := newRelHarness(t)
	t.Run("exit-status", h.testExitStatus)
	t.Run("forwarded-signals", h.testForwardedSignals)
	t.Run("timeout-fires", h.testTimeoutFires)
	t.Run("terminal", h.testTerminal)
	t.Run("shell", h.testShell)
	t.Run("mlflow", h.testMLflowReadsBack)
}

func newRelHarness(t *testing.T) *relHarness {
	dir := t.TempDir()
	// A command dying of SEGV, QUIT or ABRT would leave a core file (and one from mltrack, were its
	// own core dumps not turned off): none here, for the bare command and mltrack alike.
	var core unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &core); err == nil && core.Cur != 0 {
		zero := unix.Rlimit{Cur: 0, Max: core.Max}
		if err := unix.Setrlimit(unix.RLIMIT_CORE, &zero); err == nil {
			t.Cleanup(func() { _ = unix.Setrlimit(unix.RLIMIT_CORE, &core) })
		}
	}
	h := &relHarness{bin: buildMltrack(t, filepath.Join(dir, "bin")), dir: filepath.Join(dir, "work")}
	if err := os.MkdirAll(filepath.Join(h.dir, "ready"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A small, fixed environment: no MLflow or mltrack settings of the developer's (nor a parent
	// mltrack's channel), no CI variables, the default store in the working directory.
	h.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + h.dir,
		"MLTRACK_SPOOL_DIR=" + filepath.Join(h.dir, ".spool"),
		"LOGNAME=tester", "USER=tester", "LANG=C", "TERM=xterm",
		"TMPDIR=" + os.TempDir(),
	}
	return h
}

// buildMltrack builds the mltrack binary into dir. Without the race detector, even under
// `go test -race`: it triples each run's start-up and the table has over a thousand runs; the
// in-process testscript runs (TestScripts) cover mltrack under the race detector end to end.
func buildMltrack(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "mltrack")
	start := time.Now()
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built mltrack in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// run runs argv in the harness directory, in a session of its own (no controlling terminal, as in
// CI), and waits at most limit.
func (h *relHarness) run(argv []string, limit time.Duration) procResult {
	return h.runSignalled(argv, limit, 0, "")
}

// runSignalled is run that, when sig is not 0, waits for the file ready to appear and then sends sig
// to the started process (only to it, as `kill PID` does).
func (h *relHarness) runSignalled(argv []string, limit time.Duration, sig syscall.Signal, ready string) procResult {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = h.dir, h.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return procResult{err: err}
	}
	if sig != 0 {
		for {
			if _, err := os.Stat(ready); err == nil {
				break
			}
			if ctx.Err() != nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		_ = cmd.Process.Signal(sig)
	}
	waitErr := cmd.Wait()
	res := procResult{stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		res.err = fmt.Errorf("did not end within %v", limit)
		return res
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		res.err = waitErr
		return res
	}
	res.status = statusOf(cmd.ProcessState)
	return res
}

func statusOf(ps *os.ProcessState) waitStatus {
	ws := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return waitStatus{sig: ws.Signal()}
	}
	return waitStatus{code: ws.ExitStatus()}
}

// tracked is mltrack's command line for one run: quiet, into the default store, budgets raised (a
// loaded CI machine with the race detector must not turn a slow store into a journaled run), and the
// outcome the run must record as params the MLflow check compares with.
func (h *relHarness) tracked(name string, m relMode, want recordedOutcome, child ...string) []string {
	h.runs.Add(1)
	argv := []string{h.bin, "-q", "-e", "reliability", "--start-budget", "2m", "--end-budget", "2m",
		"-p", "case=" + name, "-p", "mode=" + m.name,
		"-p", "want_status=" + want.status, "-p", "want_exit_code=" + strconv.Itoa(want.exitCode),
		"-p", "want_signal=" + want.signal, "-p", "want_source=" + want.source,
		"-p", "want_pty=" + strconv.FormatBool(m.pty)}
	argv = append(argv, m.flags...)
	return append(append(argv, "--"), child...)
}

// recordedOutcome is what the run in MLflow must say about how the command ended.
type recordedOutcome struct {
	status   string // FINISHED, FAILED, KILLED
	exitCode int    // the exit_code metric
	signal   string // tag mltrack.signal, "-" when none
	source   string // tag mltrack.signal_source, "-" when none
}

func outcomeOf(w waitStatus, source string) recordedOutcome {
	switch {
	case w.sig != 0:
		return recordedOutcome{"KILLED", w.shell(), unix.SignalName(w.sig), source}
	case w.code == 0:
		return recordedOutcome{"FINISHED", 0, "-", "-"}
	default:
		return recordedOutcome{"FAILED", w.code, "-", "-"}
	}
}

// parallel runs f(0..n-1) on two workers per CPU.
func parallel(n int, f func(i int)) {
	workers := 2 * runtime.GOMAXPROCS(0) // each run also waits (process start, the store's fsync)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// failures collects mismatches from parallel workers and reports the first few.
type failures struct {
	mu    sync.Mutex
	lines []string
}

func (f *failures) add(format string, args ...any) {
	f.mu.Lock()
	f.lines = append(f.lines, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *failures) report(t *testing.T, total int) {
	t.Helper()
	if len(f.lines) == 0 {
		return
	}
	shown := f.lines
	if len(shown) > 25 {
		shown = shown[:25]
	}
	t.Errorf("%d of %d cases wrong:\n%s", len(f.lines), total, strings.Join(shown, "\n"))
}

// exitCase is a command that ends on its own: exit N, or death by a signal it sends itself. The
// command is sh rather than testchild: testchild is this (race-instrumented) test binary, ten times
// slower to start, and its `kill` step does not know USR1.
type exitCase struct {
	name  string
	child []string
}

func exitCases() []exitCase {
	var cases []exitCase
	for n := 0; n <= 255; n++ {
		cases = append(cases, exitCase{fmt.Sprintf("exit-%d", n), []string{"sh", "-c", fmt.Sprintf("exit %d", n)}})
	}
	for _, sig := range reliabilitySignals {
		name := strings.TrimPrefix(unix.SignalName(sig), "SIG")
		cases = append(cases, exitCase{"kill-" + name, []string{"sh", "-c", "kill -" + name + " $$"}})
	}
	return cases
}

// testExitStatus: every exit code and signal × {pipes, pty} × {no timeout, a timeout that does not
// fire}: mltrack's wait status equals the bare command's, measured here the same way; nothing is
// written to stdout or stderr.
//
// With -short only the two extreme modes run (pipes, and pty with a timeout): every code and signal
// still passes through each code path, in half the time.
func (h *relHarness) testExitStatus(t *testing.T) {
	cases := exitCases()
	modes := relModes
	if testing.Short() {
		modes = []relMode{relModes[0], relModes[3]}
	}
	bare := make([]procResult, len(cases))
	start := time.Now()
	parallel(len(cases), func(i int) { bare[i] = h.run(cases[i].child, 2*time.Minute) })
	for i, c := range cases {
		if bare[i].err != nil {
			t.Fatalf("bare %s: %v", c.name, bare[i].err)
		}
	}
	t.Logf("%d bare commands in %v", len(cases), time.Since(start).Round(time.Millisecond))

	var fails failures
	total := len(cases) * len(modes)
	start = time.Now()
	parallel(total, func(i int) {
		c, m := cases[i/len(modes)], modes[i%len(modes)]
		want := bare[i/len(modes)].status
		got := h.run(h.tracked(c.name, m, outcomeOf(want, "external"), c.child...), 2*time.Minute)
		switch {
		case got.err != nil:
			fails.add("%s [%s]: %v", c.name, m.name, got.err)
		case got.status != want:
			fails.add("%s [%s]: mltrack %v, bare command %v; stderr %q", c.name, m.name, got.status, want, got.stderr)
		case got.stdout != "" || got.stderr != "":
			fails.add("%s [%s]: unexpected output: stdout %q stderr %q", c.name, m.name, got.stdout, got.stderr)
		}
	})
	t.Logf("%d mltrack runs (%d cases × %d modes) in %v", total, len(cases), len(modes), time.Since(start).Round(time.Millisecond))
	fails.report(t, total)
}

// testForwardedSignals: a signal sent to mltrack (not to the command) ends the command as the same
// signal sent to the bare command does, and mltrack then dies of it too.
func (h *relHarness) testForwardedSignals(t *testing.T) {
	type job struct {
		sig  syscall.Signal
		mode *relMode // nil: the bare command
	}
	var jobs []job
	for _, sig := range forwardedSignals {
		jobs = append(jobs, job{sig, nil})
		for i := range relModes {
			jobs = append(jobs, job{sig, &relModes[i]})
		}
	}
	results := make([]procResult, len(jobs))
	start := time.Now()
	parallel(len(jobs), func(i int) {
		j := jobs[i]
		name := "forward-" + strings.TrimPrefix(unix.SignalName(j.sig), "SIG")
		label := "bare"
		if j.mode != nil {
			label = j.mode.name
		}
		ready := filepath.Join(h.dir, "ready", name+"-"+strings.ReplaceAll(label, "+", "-"))
		// The command says it is running, then becomes a plain sleep (default dispositions).
		child := []string{"sh", "-c", `: > "$1"; exec sleep 60`, "sh", ready}
		argv := child
		if j.mode != nil {
			argv = h.tracked(name, *j.mode, outcomeOf(waitStatus{sig: j.sig}, "forwarded"), child...)
		}
		results[i] = h.runSignalled(argv, 2*time.Minute, j.sig, ready)
	})
	var fails failures
	var bare waitStatus
	for i, j := range jobs {
		r := results[i]
		if j.mode == nil {
			if r.err != nil || r.status != (waitStatus{sig: j.sig}) {
				t.Fatalf("bare sleep sent %s: %v %v", unix.SignalName(j.sig), r.status, r.err)
			}
			bare = r.status
			continue
		}
		switch {
		case r.err != nil:
			fails.add("%s to mltrack [%s]: %v", unix.SignalName(j.sig), j.mode.name, r.err)
		case r.status != bare:
			fails.add("%s to mltrack [%s]: mltrack %v, bare command %v; stderr %q", unix.SignalName(j.sig), j.mode.name, r.status, bare, r.stderr)
		case r.stderr != "":
			fails.add("%s to mltrack [%s]: stderr %q", unix.SignalName(j.sig), j.mode.name, r.stderr)
		}
	}
	t.Logf("%d signals to mltrack and to the bare command in %v", len(jobs), time.Since(start).Round(time.Millisecond))
	fails.report(t, len(jobs))
}

// testTimeoutFires: a --timeout that fires exits 124 (TERM was enough) or 137 (KILL after
// --kill-after), as `$?` of coreutils timeout (compared when installed), with and without a pty.
func (h *relHarness) testTimeoutFires(t *testing.T) {
	type timeoutCase struct {
		name     string
		flags    []string // mltrack's
		coreutil []string // coreutils timeout's
		child    []string
		shell    int
		recorded recordedOutcome
	}
	cases := []timeoutCase{
		{"timeout-term", []string{"--timeout", "0.3"}, []string{"0.3"}, []string{"sleep", "30"},
			124, recordedOutcome{"KILLED", 143, "SIGTERM", "timeout"}},
		{"timeout-term-kill-after", []string{"--timeout", "0.3", "--kill-after", "5"}, []string{"-k", "5", "0.3"}, []string{"sleep", "30"},
			124, recordedOutcome{"KILLED", 143, "SIGTERM", "timeout"}},
		{"timeout-kill", []string{"--timeout", "0.3", "--kill-after", "0.3"}, []string{"-k", "0.3", "0.3"}, []string{"sh", "-c", `trap "" TERM; sleep 30`},
			137, recordedOutcome{"KILLED", 137, "SIGKILL", "timeout"}},
	}
	coreutils, _ := exec.LookPath("timeout")
	type job struct {
		c    timeoutCase
		pty  *bool // nil: coreutils timeout
		mode relMode
	}
	var jobs []job
	for _, c := range cases {
		if coreutils != "" {
			jobs = append(jobs, job{c: c})
		}
		for _, p := range []bool{false, true} {
			m := relMode{name: "timeout-fires", flags: c.flags, pty: p}
			if p {
				m = relMode{name: "pty+timeout-fires", flags: append([]string{"--pty"}, c.flags...), pty: true}
			}
			jobs = append(jobs, job{c: c, pty: &p, mode: m})
		}
	}
	results := make([]procResult, len(jobs))
	parallel(len(jobs), func(i int) {
		j := jobs[i]
		if j.pty == nil {
			results[i] = h.run(append(append([]string{coreutils}, j.c.coreutil...), j.c.child...), 2*time.Minute)
			return
		}
		results[i] = h.run(h.tracked(j.c.name, j.mode, j.c.recorded, j.c.child...), 2*time.Minute)
	})
	for i, j := range jobs {
		r := results[i]
		who := "mltrack [" + j.mode.name + "]"
		if j.pty == nil {
			who = "coreutils timeout"
		}
		switch {
		case r.err != nil:
			t.Errorf("%s %s: %v", j.c.name, who, r.err)
		case r.status.shell() != j.c.shell:
			t.Errorf("%s %s: %v, want $?=%d; stderr %q", j.c.name, who, r.status, j.c.shell, r.stderr)
		case j.pty != nil && r.status.sig != 0:
			t.Errorf("%s %s: %v, want an exit code (mltrack exits, it does not die)", j.c.name, who, r.status)
		case j.pty != nil && r.stderr != "":
			t.Errorf("%s %s: stderr %q", j.c.name, who, r.stderr)
		}
	}
}

// testTerminal: mltrack started on a real terminal (its session's controlling terminal, as in an
// interactive shell) — with the automatic pty and with --no-pty (the command in its own foreground
// process group) — ends like the bare command started on a terminal. A sample of codes and every
// signal, with and without a timeout.
func (h *relHarness) testTerminal(t *testing.T) {
	var cases []exitCase
	for _, c := range exitCases() {
		switch c.name {
		case "exit-0", "exit-1", "exit-2", "exit-42", "exit-124", "exit-125", "exit-126", "exit-127", "exit-128", "exit-130", "exit-143", "exit-255":
			cases = append(cases, c)
		default:
			if strings.HasPrefix(c.name, "kill-") {
				cases = append(cases, c)
			}
		}
	}
	modes := []relMode{
		{"terminal", nil, true},
		{"terminal+timeout", []string{"--timeout", "1h"}, true},
		{"terminal+no-pty", []string{"--no-pty"}, false},
		{"terminal+no-pty+timeout", []string{"--no-pty", "--timeout", "1h"}, false},
	}
	bare := make([]procResult, len(cases))
	parallel(len(cases), func(i int) { bare[i] = h.runOnTerminal(cases[i].child, 2*time.Minute) })
	for i, c := range cases {
		if bare[i].err != nil {
			t.Fatalf("bare %s on a terminal: %v", c.name, bare[i].err)
		}
	}
	var fails failures
	total := len(cases) * len(modes)
	start := time.Now()
	parallel(total, func(i int) {
		c, m := cases[i/len(modes)], modes[i%len(modes)]
		want := bare[i/len(modes)].status
		got := h.runOnTerminal(h.tracked(c.name, m, outcomeOf(want, "external"), c.child...), 2*time.Minute)
		switch {
		case got.err != nil:
			fails.add("%s [%s]: %v", c.name, m.name, got.err)
		case got.status != want:
			fails.add("%s [%s]: mltrack %v, bare command %v; terminal output %q", c.name, m.name, got.status, want, got.stdout)
		case strings.Contains(got.stdout, "mltrack"):
			fails.add("%s [%s]: mltrack wrote to the terminal: %q", c.name, m.name, got.stdout)
		}
	})
	t.Logf("%d mltrack runs on a terminal in %v", total, time.Since(start).Round(time.Millisecond))
	fails.report(t, total)
}

// runOnTerminal runs argv as the leader of a new session whose controlling terminal is a fresh pty
// (stdin, stdout and stderr on it), and returns its status and everything it wrote there.
func (h *relHarness) runOnTerminal(argv []string, limit time.Duration) procResult {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = h.dir, h.env
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		return procResult{err: err}
	}
	defer ptmx.Close()
	output := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(ptmx) // ends with EIO once no process holds the terminal
		output <- b
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var res procResult
	select {
	case err := <-waited:
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			return procResult{err: err}
		}
		res.status = statusOf(cmd.ProcessState)
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-waited
		return procResult{err: fmt.Errorf("did not end within %v", limit)}
	}
	select {
	case b := <-output:
		res.stdout = string(b)
	case <-time.After(10 * time.Second):
		res.err = errors.New("the terminal stayed open 10s after the process ended")
	}
	return res
}

// testShell: the same comparison through a real sh, as a Makefile or CI step runs mltrack: `$?`
// after mltrack equals `$?` after the bare command, for a sample of codes and every signal.
func (h *relHarness) testShell(t *testing.T) {
	const loop = `for c in "exit 0" "exit 1" "exit 126" "exit 127" "exit 128" "exit 255" ` +
		`"kill -INT \$\$" "kill -TERM \$\$" "kill -HUP \$\$" "kill -QUIT \$\$" "kill -USR1 \$\$" "kill -KILL \$\$" "kill -SEGV \$\$" "kill -ABRT \$\$"; do
  $PREFIX sh -c "$c"; echo "$c: $?"
done`
	bare := h.run([]string{"sh", "-c", strings.ReplaceAll(loop, "$PREFIX ", "")}, 2*time.Minute)
	h.runs.Add(14)
	prefix := fmt.Sprintf("%q -q -e reliability-shell --start-budget 2m --end-budget 2m --", h.bin)
	wrapped := h.run([]string{"sh", "-c", strings.ReplaceAll(loop, "$PREFIX", prefix)}, 2*time.Minute)
	if bare.err != nil || wrapped.err != nil {
		t.Fatalf("bare: %v; wrapped: %v", bare.err, wrapped.err)
	}
	if bare.stdout != wrapped.stdout || !strings.Contains(bare.stdout, "kill -ABRT $$: 134") {
		t.Errorf("$? differs:\nbare:\n%s\nthrough mltrack:\n%s\nstderr: %s", bare.stdout, wrapped.stdout, wrapped.stderr)
	}
}

// testMLflowReadsBack: every tracked run of the other subtests is in the store, and MLflow reads
// the status, exit_code, signal, signal source and pty each recorded.
func (h *relHarness) testMLflowReadsBack(t *testing.T) {
	mlflowtest.Python(t)
	const check = `
import os
from mlflow.tracking import MlflowClient
c = MlflowClient("sqlite:///" + os.environ["RELIABILITY_DB"])
exp = c.get_experiment_by_name("reliability")
runs = c.search_runs([exp.experiment_id], max_results=50000)
bad = []
for r in runs:
    p, m, tg = r.data.params, r.data.metrics, r.data.tags
    got = (r.info.status, int(m.get("exit_code", -1)), tg.get("mltrack.signal", "-"), tg.get("mltrack.signal_source", "-"), tg.get("mltrack.pty"))
    want = (p["want_status"], int(p["want_exit_code"]), p["want_signal"], p["want_source"], p["want_pty"])
    if got != want:
        bad.append(f"{p['case']} [{p['mode']}]: recorded {got}, want {want}")
shell = c.get_experiment_by_name("reliability-shell")
print("runs", len(runs) + len(c.search_runs([shell.experiment_id], max_results=1000)))
print("mismatches", len(bad))
for b in bad[:25]:
    print(b)
`
	out := mlflowtest.Run(t, check, "RELIABILITY_DB="+filepath.Join(h.dir, "mlflow.db"))
	want := fmt.Sprintf("runs %d\nmismatches 0\n", h.runs.Load())
	if out != want {
		t.Errorf("MLflow read back:\n%s\nwant:\n%s", out, want)
	}
	// Nothing left in the local journal: every run reached the store within its budgets.
	p := h.run([]string{h.bin, "sync", "--list"}, time.Minute)
	if p.err != nil || !strings.Contains(p.stdout+p.stderr, "nothing pending") {
		t.Errorf("mltrack sync --list: %v %v\n%s%s", p.status, p.err, p.stdout, p.stderr)
	}
}
