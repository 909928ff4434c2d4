package runner

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

// RaiseSignal runs in a re-executed test binary: it must die of the signal, without a core dump,
// even for signals where the Go runtime keeps its own handler (SIGQUIT would print a goroutine
// dump and exit 2, SIGUSR1 would be ignored).
func TestRaiseSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGSEGV, syscall.SIGABRT, syscall.SIGPIPE, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir() // core_pattern "core" would put a dump here
			cmd := exec.Command(os.Args[0])
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "RUNNER_TEST_HELPER=raise", "RUNNER_TEST_SIGNAL="+strconv.Itoa(int(sig)))
			out, _ := cmd.CombinedOutput()
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ws.Signaled() || ws.Signal() != sig {
				t.Fatalf("helper ended with %v, want death by %v (output %q)", cmd.ProcessState, sig, out)
			}
			if ws.CoreDump() {
				t.Errorf("the helper dumped core")
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("files left in the working directory: %v", entries)
			}
			if len(out) > 0 {
				t.Errorf("unexpected output %q", out)
			}
		})
	}
}

// A signal whose default action is to ignore it cannot kill: RaiseSignal returns.
func TestRaiseSignalReturnsWhenItCannotKill(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "RUNNER_TEST_HELPER=raise", "RUNNER_TEST_SIGNAL="+strconv.Itoa(int(syscall.SIGWINCH)))
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 99 {
		t.Errorf("helper ended with %v, want exit 99 after RaiseSignal returned", err)
	}
}
