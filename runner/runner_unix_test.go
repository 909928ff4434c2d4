//go:build unix

package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestExitCodes(t *testing.T) {
	for _, code := range []int{0, 1, 2, 42, 255} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			var pid int
			res := runBounded(t, context.Background(), Spec{
				Argv:    []string{"sh", "-c", "exit " + strconv.Itoa(code)},
				Started: func(p int) { pid = p },
			}, 10*time.Second)
			if res.StartErr != nil {
				t.Fatal(res.StartErr)
			}
			if res.ExitCode != code || res.ChildExitCode != code || res.Signal != 0 || res.SignalSource != "" {
				t.Errorf("got exit %d child %d signal %v source %q, want %d and no signal",
					res.ExitCode, res.ChildExitCode, res.Signal, res.SignalSource, code)
			}
			if pid == 0 || pid != res.PID {
				t.Errorf("Started got pid %d, Result.PID %d", pid, res.PID)
			}
			if !res.End.After(res.Start) {
				t.Errorf("End %v not after Start %v", res.End, res.Start)
			}
		})
	}
}

func TestDeathBySignal(t *testing.T) {
	for _, tc := range []struct {
		kill string
		sig  syscall.Signal
	}{
		{"TERM", syscall.SIGTERM},
		{"KILL", syscall.SIGKILL},
		{"SEGV", syscall.SIGSEGV},
		{"ABRT", syscall.SIGABRT},
		{"USR1", syscall.SIGUSR1},
	} {
		t.Run(tc.kill, func(t *testing.T) {
			res := runBounded(t, context.Background(), Spec{
				Argv: []string{"sh", "-c", "kill -" + tc.kill + " $$"},
				Dir:  t.TempDir(), // a core dump, if any, stays out of the source tree
			}, 10*time.Second)
			want := 128 + int(tc.sig)
			if res.Signal != tc.sig || res.ExitCode != want || res.ChildExitCode != want || res.SignalSource != "external" {
				t.Errorf("got signal %v exit %d child %d source %q, want %v %d external",
					res.Signal, res.ExitCode, res.ChildExitCode, res.SignalSource, tc.sig, want)
			}
		})
	}
}

func TestStartFailures(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noExec := write("noexec.sh", "#!/bin/sh\necho never\n", 0o644)
	garbage := write("garbage", "\x01\x02\x03 not a program\n", 0o755)
	badInterp := write("badinterp", "#!/no/such/interpreter\n", 0o755)
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	pathDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(pathDir, "onlyhere"), []byte("#!/bin/sh\nexit 7\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pathDir, "notx"), []byte("#!/bin/sh\nexit 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		argv     []string
		env      []string
		dir      string
		code     int
		kind     error
		mentions string
	}{
		{"not found in PATH", []string{"no-such-program-xyz"}, nil, "", 127, ErrNotFound, "no-such-program-xyz"},
		{"missing path", []string{filepath.Join(dir, "missing")}, nil, "", 127, ErrNotFound, "missing"},
		{"no execute bit", []string{noExec}, nil, "", 126, ErrNotExecutable, "noexec.sh"},
		{"directory", []string{filepath.Join(dir, "adir")}, nil, "", 126, ErrNotExecutable, "adir"},
		{"relative to Dir", []string{"./adir"}, nil, dir, 126, ErrNotExecutable, "adir"},
		{"exec format error", []string{garbage}, nil, "", 126, ErrNotExecutable, "exec format"},
		{"missing interpreter", []string{badInterp}, nil, "", 127, ErrNotFound, "interpreter"},
		{"PATH from Env", []string{"onlyhere"}, []string{"PATH=" + pathDir}, "", 7, nil, ""},
		{"only a non-executable in PATH", []string{"notx"}, []string{"PATH=" + pathDir}, "", 126, ErrNotExecutable, "notx"},
		{"no such Dir", []string{"true"}, nil, filepath.Join(dir, "nodir"), 125, ErrStartFailed, "nodir"},
		{"empty argv", nil, nil, "", 127, ErrNotFound, "no command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runBounded(t, context.Background(), Spec{Argv: tc.argv, Env: tc.env, Dir: tc.dir}, 10*time.Second)
			if res.ExitCode != tc.code {
				t.Errorf("exit code %d, want %d (StartErr %v)", res.ExitCode, tc.code, res.StartErr)
			}
			if tc.kind == nil {
				if res.StartErr != nil {
					t.Errorf("unexpected StartErr %v", res.StartErr)
				}
				return
			}
			if !errors.Is(res.StartErr, tc.kind) {
				t.Fatalf("StartErr %v is not %v", res.StartErr, tc.kind)
			}
			msg := res.StartErr.Error()
			if !strings.Contains(msg, tc.mentions) || strings.Contains(msg, "\n") {
				t.Errorf("StartErr %q should be one line mentioning %q", msg, tc.mentions)
			}
			if res.PID != 0 {
				t.Errorf("PID %d for a command that never ran", res.PID)
			}
		})
	}
}

func TestPassthroughExact(t *testing.T) {
	// Binary bytes, a NUL, no trailing newline, on both streams.
	script := `printf 'out\000\001\377binary'; printf 'err\376\nline2' >&2; printf 'more out'`
	for _, capture := range []bool{false, true} {
		t.Run("capture="+strconv.FormatBool(capture), func(t *testing.T) {
			stdout, stderr := tempFile(t, "out"), tempFile(t, "err")
			spec := Spec{Argv: []string{"sh", "-c", script}, Stdout: stdout, Stderr: stderr}
			var capOut, capErr syncBuffer
			if capture {
				spec.CaptureStdout, spec.CaptureStderr = &capOut, &capErr
			}
			res := runBounded(t, context.Background(), spec, 10*time.Second)
			if res.ExitCode != 0 || len(res.Warnings) > 0 {
				t.Fatalf("exit %d, warnings %q", res.ExitCode, res.Warnings)
			}
			wantOut, wantErr := "out\x00\x01\xffbinarymore out", "err\xfe\nline2"
			if got := string(fileContent(t, stdout)); got != wantOut {
				t.Errorf("stdout %q, want %q", got, wantOut)
			}
			if got := string(fileContent(t, stderr)); got != wantErr {
				t.Errorf("stderr %q, want %q", got, wantErr)
			}
			if capture && (capOut.String() != wantOut || capErr.String() != wantErr) {
				t.Errorf("captures %q / %q differ from the real output", capOut.String(), capErr.String())
			}
			if res.PTY || res.SharedOutput {
				t.Errorf("PTY %v SharedOutput %v without a terminal", res.PTY, res.SharedOutput)
			}
		})
	}
}

func TestStdinAndDir(t *testing.T) {
	in := tempFile(t, "in")
	if _, err := in.WriteString("line one\nline two\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := tempFile(t, "out")
	var capOut syncBuffer
	res := runBounded(t, context.Background(), Spec{
		Argv: []string{"sh", "-c", "cat; pwd"}, Dir: dir, Stdin: in, Stdout: out, CaptureStdout: &capOut,
	}, 10*time.Second)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d", res.ExitCode)
	}
	real, _ := filepath.EvalSymlinks(dir)
	want := "line one\nline two\n" + real + "\n"
	if got := string(fileContent(t, out)); got != want && got != "line one\nline two\n"+dir+"\n" {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestLargeOutputOrdering(t *testing.T) {
	const size = 20 << 20
	stdout, stderr := tempFile(t, "out"), tempFile(t, "err")
	var capOut, capErr syncBuffer
	res := runBounded(t, context.Background(), Spec{
		// Both streams at once, so that their copies run concurrently.
		Argv:   []string{"sh", "-c", "head -c " + strconv.Itoa(size) + " /dev/urandom; seq 1 200000 >&2"},
		Stdout: stdout, Stderr: stderr, CaptureStdout: &capOut, CaptureStderr: &capErr,
	}, 60*time.Second)
	if res.ExitCode != 0 || len(res.Warnings) > 0 {
		t.Fatalf("exit %d, warnings %q", res.ExitCode, res.Warnings)
	}
	out := fileContent(t, stdout)
	if len(out) != size || !bytes.Equal(out, capOut.Bytes()) {
		t.Errorf("stdout %d bytes, capture %d bytes, equal %v", len(out), len(capOut.Bytes()), bytes.Equal(out, capOut.Bytes()))
	}
	seq, _ := exec.Command("seq", "1", "200000").Output()
	if errOut := fileContent(t, stderr); !bytes.Equal(errOut, seq) || !bytes.Equal(capErr.Bytes(), seq) {
		t.Errorf("stderr out of order or incomplete (%d and %d bytes, want %d)", len(errOut), len(capErr.Bytes()), len(seq))
	}
	if res.UserCPU+res.SystemCPU <= 0 || res.MaxRSS <= 0 {
		t.Errorf("no resource usage: user %v system %v maxrss %d", res.UserCPU, res.SystemCPU, res.MaxRSS)
	}
}

// When the reader of mltrack's stdout goes away, the command sees a broken pipe as it would alone.
func TestBrokenPipe(t *testing.T) {
	for _, capture := range []bool{false, true} {
		t.Run("capture="+strconv.FormatBool(capture), func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			go func() {
				buf := make([]byte, 4)
				_, _ = io.ReadFull(r, buf) // "y\ny\n", then the reader goes away
				r.Close()
			}()
			spec := Spec{Argv: []string{"yes"}, Stdout: w}
			var capOut syncBuffer
			if capture {
				spec.CaptureStdout = &capOut
			}
			res := runBounded(t, context.Background(), spec, 10*time.Second)
			if res.Signal != syscall.SIGPIPE || res.ExitCode != 128+int(syscall.SIGPIPE) {
				t.Errorf("signal %v exit %d, want SIGPIPE 141 (warnings %q)", res.Signal, res.ExitCode, res.Warnings)
			}
			if capture && !strings.HasPrefix(capOut.String(), "y\ny\n") {
				t.Errorf("capture %q lacks the output written before the pipe broke", capOut.String()[:min(20, len(capOut.String()))])
			}
			if len(res.Warnings) > 0 {
				t.Errorf("warnings %q", res.Warnings)
			}
		})
	}
}

// mltrack itself writes the command's output to its fd 1; when that breaks, Go would kill a
// program that does not handle SIGPIPE. The helper must survive to report the command's SIGPIPE.
func TestBrokenPipeOnMltracksStdout(t *testing.T) {
	resultFile := filepath.Join(t.TempDir(), "result.json")
	cmd := exec.Command(os.Args[0], "--", "yes")
	cmd.Env = append(os.Environ(), "RUNNER_TEST_HELPER=run", "RUNNER_TEST_CAPTURE=1", "RUNNER_TEST_RESULT="+resultFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "y\n" {
		t.Fatalf("read %q, %v", buf, err)
	}
	out.Close()
	err = cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGPIPE {
		t.Errorf("helper ended with %v, want death by SIGPIPE like yes", err)
	}
	hr := readHelperResult(t, resultFile)
	if hr.Signal != int(syscall.SIGPIPE) || hr.SignalSource != "external" {
		t.Errorf("helper's result: signal %d source %q, want SIGPIPE external", hr.Signal, hr.SignalSource)
	}
}

// A grandchild that keeps the output open must not keep Run waiting beyond OutputGrace.
func TestGrandchildHoldsOutput(t *testing.T) {
	for _, capture := range []bool{true, false} {
		t.Run("capture="+strconv.FormatBool(capture), func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			stdout := tempFile(t, "out")
			var capOut syncBuffer
			spec := Spec{
				Argv:        []string{"sh", "-c", "sleep 30 & echo $! > " + pidFile + "; echo hi"},
				Stdout:      stdout,
				OutputGrace: 500 * time.Millisecond,
			}
			if capture {
				spec.CaptureStdout = &capOut
			}
			t.Cleanup(func() {
				if b, err := os.ReadFile(pidFile); err == nil {
					if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
						syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			})
			start := time.Now()
			res := runBounded(t, context.Background(), spec, 10*time.Second)
			elapsed := time.Since(start)
			if res.ExitCode != 0 {
				t.Fatalf("exit %d", res.ExitCode)
			}
			if elapsed > spec.OutputGrace+time.Second {
				t.Errorf("Run took %s, want at most OutputGrace+1s", elapsed)
			}
			if string(fileContent(t, stdout)) != "hi\n" {
				t.Errorf("stdout %q", fileContent(t, stdout))
			}
			if !capture {
				if len(res.Warnings) > 0 {
					t.Errorf("zero-copy mode has nothing to wait for, got warnings %q", res.Warnings)
				}
				return
			}
			if capOut.String() != "hi\n" {
				t.Errorf("capture %q", capOut.String())
			}
			if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "(sleep)") || !strings.Contains(res.Warnings[0], "stdout") {
				t.Errorf("warnings %q, want one naming the sleep that holds stdout", res.Warnings)
			}
		})
	}
}

// A slow reader of mltrack's stdout is not a holder: the command's last output, still buffered
// in mltrack's pipe when it exits, must not be dropped when OutputGrace passes.
func TestSlowReaderKeepsTail(t *testing.T) {
	const size = 150000 // more than the command can leave in the pipes without mltrack copying
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := make(chan []byte, 1)
	go func() {
		time.Sleep(1500 * time.Millisecond) // well after the command exited and the grace passed
		b, _ := io.ReadAll(r)
		got <- b
	}()
	var capOut syncBuffer
	res := runBounded(t, context.Background(), Spec{
		Argv:   []string{"head", "-c", strconv.Itoa(size), "/dev/zero"},
		Stdout: w, CaptureStdout: &capOut, OutputGrace: 200 * time.Millisecond,
	}, 20*time.Second)
	w.Close()
	if res.ExitCode != 0 || len(res.Warnings) > 0 {
		t.Errorf("exit %d warnings %q", res.ExitCode, res.Warnings)
	}
	if b := <-got; len(b) != size || len(capOut.Bytes()) != size {
		t.Errorf("reader got %d bytes, capture %d, want %d", len(b), len(capOut.Bytes()), size)
	}
}

func TestTimeout(t *testing.T) {
	for _, tc := range []struct {
		name       string
		script     string
		killAfter  time.Duration
		code       int
		signal     syscall.Signal
		killNeeded bool
	}{
		{"TERM suffices", "sleep 10", 0, 124, syscall.SIGTERM, false},
		{"child exits 0 on TERM", `trap 'exit 0' TERM; sleep 10 & wait`, 0, 124, 0, false},
		{"TERM ignored, KILL needed", `trap '' TERM; sleep 10`, 300 * time.Millisecond, 137, syscall.SIGKILL, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res := runBounded(t, context.Background(), Spec{
				Argv: []string{"sh", "-c", tc.script}, Timeout: 300 * time.Millisecond, KillAfter: tc.killAfter,
			}, 10*time.Second)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %s", d)
			}
			if !res.TimedOut || res.ExitCode != tc.code || res.KillNeeded != tc.killNeeded || res.Signal != tc.signal {
				t.Errorf("timed out %v exit %d kill needed %v signal %v; want true %d %v %v (warnings %q)",
					res.TimedOut, res.ExitCode, res.KillNeeded, res.Signal, tc.code, tc.killNeeded, tc.signal, res.Warnings)
			}
			if res.SignalSource != "timeout" {
				t.Errorf("signal source %q", res.SignalSource)
			}
		})
	}
}

// The timeout reaches descendants that left the command's process group (setsid).
func TestTimeoutKillsSetsidGrandchild(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	res := runBounded(t, context.Background(), Spec{
		Argv:    []string{"sh", "-c", "setsid sleep 30 & echo $! > " + pidFile + "; wait"},
		Timeout: 500 * time.Millisecond,
	}, 10*time.Second)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if res.ExitCode != 124 {
		t.Errorf("exit %d, want 124", res.ExitCode)
	}
	waitFor(t, "the setsid grandchild to die", 2*time.Second, func() bool { return !alive(pid) })
	if len(res.Warnings) > 0 {
		t.Errorf("warnings %q", res.Warnings)
	}
}

// What survives the timeout's signals is reported.
func TestTimeoutReportsSurvivors(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	res := runBounded(t, context.Background(), Spec{
		Argv:    []string{"sh", "-c", `setsid sh -c "trap '' TERM; exec sleep 30" & echo $! > ` + pidFile + "; wait"},
		Timeout: 500 * time.Millisecond,
	}, 10*time.Second)
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if res.ExitCode != 124 {
		t.Errorf("exit %d, want 124", res.ExitCode)
	}
	want := "pid " + strconv.Itoa(pid) + " (sleep)"
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], want) || !strings.Contains(res.Warnings[0], "SIGTERM") {
		t.Errorf("warnings %q, want one about %s surviving SIGTERM", res.Warnings, want)
	}
}

// Signals mltrack receives reach the command once (injected here; real ones in the helper test).
func TestForwardReceivedSignals(t *testing.T) {
	dir := t.TempDir()
	signals := make(chan os.Signal, 1)
	var capOut syncBuffer
	spec := Spec{
		Argv: []string{"sh", "-c", `trap 'echo got-usr1' USR1; echo ready > ready; while :; do sleep 0.05; done`},
		Dir:  dir, Stdout: tempFile(t, "out"), CaptureStdout: &capOut, testSignals: signals,
	}
	done := make(chan Result, 1)
	go func() { done <- Run(context.Background(), spec) }()
	waitFor(t, "the command to start", 5*time.Second, func() bool { _, err := os.Stat(filepath.Join(dir, "ready")); return err == nil })
	signals <- syscall.SIGUSR1
	waitFor(t, "the trap", 5*time.Second, func() bool { return strings.Contains(capOut.String(), "got-usr1") })
	signals <- syscall.SIGTERM
	var res Result
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after SIGTERM")
	}
	if n := strings.Count(capOut.String(), "got-usr1"); n != 1 {
		t.Errorf("the command got SIGUSR1 %d times, want once", n)
	}
	if res.Signal != syscall.SIGTERM || res.SignalSource != "forwarded" || res.ExitCode != 143 {
		t.Errorf("signal %v source %q exit %d, want SIGTERM forwarded 143", res.Signal, res.SignalSource, res.ExitCode)
	}
}

func TestContextCancelForwardsTERM(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	res := runBounded(t, ctx, Spec{Argv: []string{"sleep", "10"}}, 10*time.Second)
	if res.Signal != syscall.SIGTERM || res.SignalSource != "forwarded" || res.ExitCode != 143 {
		t.Errorf("signal %v source %q exit %d, want SIGTERM forwarded 143", res.Signal, res.SignalSource, res.ExitCode)
	}
}

// Real signals sent to the helper ("mltrack") reach its command once, and the helper then dies
// of the command's signal.
func TestHelperForwardsRealSignals(t *testing.T) {
	resultFile := filepath.Join(t.TempDir(), "result.json")
	cmd := exec.Command(os.Args[0], "--", "sh", "-c", `trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.05; done`)
	cmd.Env = append(os.Environ(), "RUNNER_TEST_HELPER=run", "RUNNER_TEST_RESULT="+resultFile)
	var out syncBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "ready", 5*time.Second, func() bool { return strings.Contains(out.String(), "ready") })
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the trap", 5*time.Second, func() bool { return strings.Contains(out.String(), "got-usr1") })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case <-waitErr:
	case <-time.After(10 * time.Second):
		t.Fatal("the helper did not end after SIGTERM")
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("helper ended with %v, want death by SIGTERM", cmd.ProcessState)
	}
	if n := strings.Count(out.String(), "got-usr1"); n != 1 {
		t.Errorf("SIGUSR1 arrived %d times, want once", n)
	}
	if hr := readHelperResult(t, resultFile); hr.SignalSource != "forwarded" {
		t.Errorf("signal source %q, want forwarded", hr.SignalSource)
	}
}

// SIGHUP and SIGINT ignored when mltrack started stay ignored for the command (nohup, background
// jobs of non-interactive shells); the signals mltrack handles or ignores itself (SIGTTIN, SIGTTOU,
// SIGPIPE) reach the command with the default disposition.
func TestInheritedIgnoredSignals(t *testing.T) {
	own, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("needs /proc")
	}
	cmd := exec.Command("sh", "-c", `trap '' HUP INT; exec "$0" -- cat /proc/self/status`, os.Args[0])
	cmd.Env = append(os.Environ(), "RUNNER_TEST_HELPER=run")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	ignoredMask := func(status []byte) uint64 {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
				m, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
				return m
			}
		}
		t.Fatalf("no SigIgn in %q", status)
		return 0
	}
	// What this test process ignores (a terminal multiplexer may ignore SIGTTOU...) is inherited
	// along the chain legitimately.
	inherited, mask := ignoredMask(own), ignoredMask(out)
	bit := func(m uint64, sig syscall.Signal) bool { return m&(1<<(uint(sig)-1)) != 0 }
	if !bit(mask, syscall.SIGHUP) || !bit(mask, syscall.SIGINT) {
		t.Errorf("command's ignored signals %#x lack SIGHUP or SIGINT", mask)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGPIPE, syscall.SIGTTOU, syscall.SIGTTIN} {
		if bit(mask, sig) && !bit(inherited, sig) {
			t.Errorf("command ignores %v (mask %#x), which mltrack's parent did not ignore", sig, mask)
		}
	}
}

// Run leaves the process's signal dispositions as it found them.
func TestSignalDispositionsRestored(t *testing.T) {
	before, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("needs /proc")
	}
	ignored := func(status []byte) string {
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "SigIgn:") {
				return line
			}
		}
		return ""
	}
	Run(context.Background(), Spec{Argv: []string{"true"}})
	after, _ := os.ReadFile("/proc/self/status")
	if ignored(before) != ignored(after) {
		t.Errorf("ignored signals changed: %q -> %q", ignored(before), ignored(after))
	}
}

func TestCapturePanicDoesNotBreakTheCommand(t *testing.T) {
	stdout := tempFile(t, "out")
	res := runBounded(t, context.Background(), Spec{
		Argv: []string{"sh", "-c", "echo one; sleep 0.1; echo two"}, Stdout: stdout,
		CaptureStdout: panicWriter{},
	}, 10*time.Second)
	if res.ExitCode != 0 || string(fileContent(t, stdout)) != "one\ntwo\n" {
		t.Errorf("exit %d output %q", res.ExitCode, fileContent(t, stdout))
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "panic") {
		t.Errorf("warnings %q", res.Warnings)
	}
}

type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("capture broke") }
