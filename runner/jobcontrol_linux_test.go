package runner

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/mltrack/mltrack/proctree"
)

// interactiveShell is bash with job control on a pty of its own, driven like a user would: the
// test types commands and keys, and reads the screen. It checks what a unit test cannot: that the
// shell sees mltrack's job stop on Ctrl-Z, that fg continues it, and that the terminal goes back
// to the shell afterwards.
type interactiveShell struct {
	t      *testing.T
	master *os.File
	screen syncBuffer
	seen   int // screen offset already matched
}

func startInteractiveShell(t *testing.T) *interactiveShell {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash")
	}
	m, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	_ = pty.Setsize(tty, &pty.Winsize{Rows: 24, Cols: 200})
	cmd := exec.Command(bash, "--norc", "--noprofile", "-i")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TERM=dumb", "PS1=PROMPT> ", "HOME=" + t.TempDir()}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	sh := &interactiveShell{t: t, master: pollableMaster(m)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := sh.master.Read(buf)
			sh.screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		// Everything the shell started, mltrack's stand-in and its command included.
		if snap, err := proctree.Take(); err == nil {
			for _, p := range snap.Descendants(cmd.Process.Pid) {
				syscall.Kill(p.PID, syscall.SIGKILL)
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		sh.master.Close()
		<-done
		if t.Failed() {
			t.Logf("screen:\n%s", sh.screen.String())
		}
	})
	sh.expect("PROMPT> ")
	return sh
}

func (sh *interactiveShell) typeIn(s string) {
	sh.t.Helper()
	if _, err := sh.master.Write([]byte(s)); err != nil {
		sh.t.Fatal(err)
	}
}

// expect waits until text appears on the screen after what was matched before.
func (sh *interactiveShell) expect(text string) {
	sh.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := sh.screen.String()
		if i := strings.Index(s[sh.seen:], text); i >= 0 {
			sh.seen += i + len(text)
			return
		}
		if time.Now().After(deadline) {
			sh.t.Fatalf("%q did not appear on the screen", text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// helperCommand is the command line that runs the test binary as mltrack. The command prints
// computed markers (A2B...) so that the echo of the typed line never matches them.
func helperCommand(t *testing.T, ptyMode, resultFile, command string) string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return "RUNNER_TEST_HELPER=run RUNNER_TEST_PTY=" + ptyMode + " RUNNER_TEST_RESULT=" + resultFile + " " +
		self + " -- sh -c '" + command + "'\n"
}

func TestJobControlCtrlZAndFg(t *testing.T) {
	for _, mode := range []string{"off", "auto"} { // pipe mode, then pty mode (stdout is a terminal)
		t.Run("pty="+mode, func(t *testing.T) {
			sh := startInteractiveShell(t)
			result := filepath.Join(t.TempDir(), "result.json")
			sh.typeIn(helperCommand(t, mode, result, `echo A$((1+1))B; sleep 2; echo C$((2+2))D`))
			sh.expect("A2B")
			// Let sh start sleep first: a Ctrl-Z while sh is inside vfork stops the child before
			// its exec, and the vfork parent cannot stop until then (natively as well).
			time.Sleep(300 * time.Millisecond)
			sh.typeIn("\x1a") // Ctrl-Z
			sh.expect("Stopped")
			sh.expect("PROMPT> ") // the shell has the terminal back
			if strings.Contains(sh.screen.String(), "Stopped (") {
				t.Errorf("mltrack stopped with another signal than SIGTSTP (the shell says %q)", "Stopped (signal)")
			}
			sh.typeIn("jobs -l\n")
			sh.expect("Stopped")
			sh.typeIn("fg\n")
			sh.expect("C4D") // the command was continued and finished
			// Wait for the prompt: in pty mode, keys typed while mltrack still runs go to the
			// command (as with sudo or script), not to the shell.
			sh.expect("PROMPT> ")
			sh.typeIn("echo status=$?\n")
			sh.expect("status=0")
			hr := readHelperResult(t, result)
			if hr.ExitCode != 0 || hr.Signal != 0 || hr.PTY != (mode == "auto") {
				t.Errorf("result %+v", hr)
			}
		})
	}
}

func TestJobControlCtrlC(t *testing.T) {
	for _, mode := range []string{"off", "auto"} {
		t.Run("pty="+mode, func(t *testing.T) {
			sh := startInteractiveShell(t)
			result := filepath.Join(t.TempDir(), "result.json")
			sh.typeIn(helperCommand(t, mode, result, `echo A$((1+1))B; exec sleep 10`))
			sh.expect("A2B")
			time.Sleep(300 * time.Millisecond) // dash defers a SIGINT that comes before its exec
			sh.typeIn("\x03")                  // Ctrl-C
			sh.expect("PROMPT> ")
			sh.typeIn("echo status=$?\n")
			sh.expect("status=130") // mltrack died of SIGINT like the command
			hr := readHelperResult(t, result)
			// The keyboard signalled the command directly: mltrack did not forward anything.
			if hr.Signal != int(syscall.SIGINT) || hr.SignalSource != "external" {
				t.Errorf("result %+v, want SIGINT from outside", hr)
			}
		})
	}
}

// After bg, the command runs on in the background; when it then reads the terminal it is
// stopped (SIGTTIN), mltrack stops with it, and fg gives it the terminal.
func TestJobControlBackgroundRead(t *testing.T) {
	sh := startInteractiveShell(t)
	result := filepath.Join(t.TempDir(), "result.json")
	sh.typeIn(helperCommand(t, "off", result, `echo A$((1+1))B; sleep 1; read x; echo got-$x`))
	sh.expect("A2B")
	time.Sleep(300 * time.Millisecond) // see TestJobControlCtrlZAndFg
	sh.typeIn("\x1a")
	sh.expect("Stopped")
	sh.expect("PROMPT> ")
	sh.typeIn("bg\n")
	sh.expect("PROMPT> ")
	// The read from the background stops the job again, now for terminal input.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(sh.screen.String()[sh.seen:], "Stopped") {
		if time.Now().After(deadline) {
			t.Fatal("the job was not reported stopped after reading from the background")
		}
		sh.typeIn("jobs\n")
		time.Sleep(300 * time.Millisecond)
	}
	sh.seen = len(sh.screen.String())
	sh.typeIn("fg\n")
	time.Sleep(300 * time.Millisecond)
	sh.typeIn("hello\n")
	sh.expect("got-hello")
	sh.expect("PROMPT> ")
	sh.typeIn("echo status=$?\n")
	sh.expect("status=0")
}

// Ctrl-C in a script's loop interrupts the script too, as without mltrack: the shell running the
// script only stops its loop if it received SIGINT itself. In pipe mode the command stays in the
// script's process group; in pty mode mltrack's terminal is raw, and mltrack signals the group.
func TestJobControlCtrlCStopsTheScript(t *testing.T) {
	for _, mode := range []string{"off", "auto"} {
		t.Run("pty="+mode, func(t *testing.T) {
			sh := startInteractiveShell(t)
			self, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			sh.typeIn("export RUNNER_TEST_HELPER=run RUNNER_TEST_PTY=" + mode + "\n")
			sh.expect("PROMPT> ")
			script := filepath.Join(t.TempDir(), "loop.sh")
			err = os.WriteFile(script, []byte("for i in 1 2 3; do\n  "+self+` -- sh -c 'echo A$((1+1))B; exec sleep 5'`+
				"\n  echo N$((i*10))X\ndone\n"), 0o644)
			if err != nil {
				t.Fatal(err)
			}
			sh.typeIn("bash " + script + "\n")
			sh.expect("A2B")
			time.Sleep(300 * time.Millisecond)
			sh.typeIn("\x03")
			sh.expect("PROMPT> ")
			sh.typeIn("echo status=$?\n")
			sh.expect("status=130")
			if strings.Contains(sh.screen.String(), "N10X") {
				t.Errorf("the script went on after Ctrl-C")
			}
		})
	}
}
