//go:build unix

package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// fakeTerminal is a pty pair standing in for the user's terminal: the tty side is given to Run as
// mltrack's stdin/stdout, the test plays the user on the master side.
type fakeTerminal struct {
	master, tty *os.File
	screen      syncBuffer // everything written to the terminal
}

func openFakeTerminal(t *testing.T, rows, cols uint16) *fakeTerminal {
	t.Helper()
	m, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	ft := &fakeTerminal{master: pollableMaster(m), tty: tty}
	if err := pty.Setsize(tty, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := ft.master.Read(buf)
			ft.screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		ft.tty.Close()
		ft.master.Close()
		<-done
	})
	return ft
}

func (ft *fakeTerminal) state(t *testing.T) *term.State {
	t.Helper()
	st, err := term.GetState(int(ft.tty.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestPTYOnlyWhereMltracksTerminalIs(t *testing.T) {
	ft := openFakeTerminal(t, 33, 111)
	before := ft.state(t)
	errFile := tempFile(t, "err")
	var capOut, capErr syncBuffer
	res := runBounded(t, context.Background(), Spec{
		Argv: []string{"sh", "-c", `test -t 0 && echo in-tty; test -t 1 && echo out-tty; ` +
			`test -t 2 || echo err-not-tty >&2; stty size`},
		Stdin: ft.tty, Stdout: ft.tty, Stderr: errFile, CaptureStdout: &capOut, CaptureStderr: &capErr,
	}, 10*time.Second)
	if res.ExitCode != 0 || len(res.Warnings) > 0 {
		t.Fatalf("exit %d warnings %q", res.ExitCode, res.Warnings)
	}
	if !res.PTY || res.SharedOutput {
		t.Errorf("PTY %v SharedOutput %v, want a pty for stdin and stdout only", res.PTY, res.SharedOutput)
	}
	want := "in-tty\r\nout-tty\r\n33 111\r\n"
	if capOut.String() != want {
		t.Errorf("captured %q, want %q", capOut.String(), want)
	}
	waitFor(t, "the output on the terminal", 5*time.Second, func() bool { return ft.screen.String() == want })
	if got := string(fileContent(t, errFile)); got != "err-not-tty\n" || capErr.String() != got {
		t.Errorf("stderr file %q, capture %q, want err-not-tty through a pipe", got, capErr.String())
	}
	if after := ft.state(t); !reflect.DeepEqual(before, after) {
		t.Errorf("terminal modes not restored")
	}
}

func TestPTYCtrlCReachesTheCommand(t *testing.T) {
	ft := openFakeTerminal(t, 24, 80)
	before := ft.state(t)
	done := make(chan Result, 1)
	started := make(chan int, 1)
	go func() {
		// sleep itself, not sh: dash defers a SIGINT that arrives before it forked its child.
		done <- Run(context.Background(), Spec{
			Argv:  []string{"sleep", "10"},
			Stdin: ft.tty, Stdout: ft.tty, Stderr: ft.tty,
			Started: func(pid int) { started <- pid },
		})
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not start")
	}
	if _, err := ft.master.Write([]byte{3}); err != nil { // Ctrl-C typed on mltrack's terminal
		t.Fatal(err)
	}
	var res Result
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("Ctrl-C did not end the command; screen %q", ft.screen.String())
	}
	if res.ExitCode != 130 || res.Signal != syscall.SIGINT || res.SignalSource != "external" {
		t.Errorf("exit %d signal %v source %q, want 130 SIGINT external", res.ExitCode, res.Signal, res.SignalSource)
	}
	if !res.SharedOutput {
		t.Errorf("stdout and stderr on one terminal should share the pty")
	}
	if after := ft.state(t); !reflect.DeepEqual(before, after) {
		t.Errorf("terminal modes not restored after Ctrl-C")
	}
}

func TestPTYWindowSizeFollows(t *testing.T) {
	ft := openFakeTerminal(t, 24, 80)
	signals := make(chan os.Signal, 1)
	done := make(chan Result, 1)
	go func() {
		done <- Run(context.Background(), Spec{
			Argv:  []string{"sh", "-c", `trap 'stty size' WINCH; echo rea''dy; while :; do sleep 0.05; done`},
			Stdin: ft.tty, Stdout: ft.tty, Stderr: ft.tty, testSignals: signals,
		})
	}()
	waitFor(t, "ready", 5*time.Second, func() bool { return strings.Contains(ft.screen.String(), "ready") })
	if err := pty.Setsize(ft.tty, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	signals <- syscall.SIGWINCH // what the terminal sends mltrack when its window changes
	waitFor(t, "the new size", 5*time.Second, func() bool { return strings.Contains(ft.screen.String(), "40 120") })
	signals <- syscall.SIGTERM
	select {
	case res := <-done:
		if res.Signal != syscall.SIGTERM || res.SignalSource != "forwarded" {
			t.Errorf("signal %v source %q", res.Signal, res.SignalSource)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not end the command")
	}
}

func TestPTYStdinNotATerminal(t *testing.T) {
	ft := openFakeTerminal(t, 24, 80)
	in := tempFile(t, "in")
	in.WriteString("hello\n")
	in.Seek(0, 0)
	res := runBounded(t, context.Background(), Spec{
		Argv:  []string{"sh", "-c", "test -t 0 || echo in-not-tty; cat"},
		Stdin: in, Stdout: ft.tty, Stderr: ft.tty,
	}, 10*time.Second)
	if res.ExitCode != 0 || !res.PTY {
		t.Fatalf("exit %d pty %v", res.ExitCode, res.PTY)
	}
	// mltrack's terminal is not put in raw mode when it does not feed the pty (its output
	// processing then turns the pty's \r\n into \r\r\n, which looks the same).
	waitFor(t, "the output", 2*time.Second, func() bool {
		return strings.ReplaceAll(ft.screen.String(), "\r", "") == "in-not-tty\nhello\n"
	})
}

func TestPTYOnWithoutTerminal(t *testing.T) {
	stdout, stderr := tempFile(t, "out"), tempFile(t, "err")
	var capOut syncBuffer
	res := runBounded(t, context.Background(), Spec{
		Argv:   []string{"sh", "-c", "test -t 1 && test -t 2 && echo both-tty; stty size </dev/tty; echo err >&2"},
		Stdout: stdout, Stderr: stderr, CaptureStdout: &capOut, PTY: PTYOn,
	}, 10*time.Second)
	want := "both-tty\r\n24 80\r\nerr\r\n"
	if res.ExitCode != 0 || !res.SharedOutput || string(fileContent(t, stdout)) != want || capOut.String() != want {
		t.Errorf("exit %d shared %v stdout %q capture %q, want %q", res.ExitCode, res.SharedOutput,
			fileContent(t, stdout), capOut.String(), want)
	}
	if len(fileContent(t, stderr)) != 0 {
		t.Errorf("stderr got %q", fileContent(t, stderr))
	}
}

// A process that ignores the hang-up and keeps the pty open must not hold Run beyond OutputGrace.
func TestPTYHolderAfterExit(t *testing.T) {
	ft := openFakeTerminal(t, 24, 80)
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	start := time.Now()
	res := runBounded(t, context.Background(), Spec{
		Argv:  []string{"sh", "-c", `(trap '' HUP; exec sleep 30) & echo $! > ` + pidFile + `; sleep 0.3; echo hi`},
		Stdin: ft.tty, Stdout: ft.tty, Stderr: ft.tty, CaptureStdout: &syncBuffer{},
		OutputGrace: 500 * time.Millisecond,
	}, 10*time.Second)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Run took %s", d)
	}
	if res.ExitCode != 0 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "(sleep)") {
		t.Errorf("exit %d warnings %q, want one naming the sleep", res.ExitCode, res.Warnings)
	}
}

// Without a pty the command still runs, with pipes, and a warning says so.
func TestPTYUnavailableFallsBackToPipes(t *testing.T) {
	defer func(open func() (*os.File, *os.File, error)) { openPTYPair = open }(openPTYPair)
	openPTYPair = func() (*os.File, *os.File, error) { return nil, nil, errors.New("out of ptys") }
	ft := openFakeTerminal(t, 24, 80)
	var capOut syncBuffer
	res := runBounded(t, context.Background(), Spec{
		Argv:  []string{"sh", "-c", "test -t 1 || echo not-a-tty"},
		Stdin: ft.tty, Stdout: ft.tty, Stderr: ft.tty, CaptureStdout: &capOut,
	}, 10*time.Second)
	if res.ExitCode != 0 || res.PTY || capOut.String() != "not-a-tty\n" {
		t.Errorf("exit %d pty %v output %q", res.ExitCode, res.PTY, capOut.String())
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "out of ptys") {
		t.Errorf("warnings %q", res.Warnings)
	}
}
