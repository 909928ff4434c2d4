//go:build windows

package runner

import (
	"errors"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mltrack/mltrack/proctree"
)

// Windows support is basic: no pseudo-terminal, no process groups or job control, and the timeout
// terminates the command at once (there is no SIGTERM to ask first). Pipes and capture work as on
// Unix.

// platform is the Windows part of the supervisor.
type platform struct {
	relay chan os.Signal
}

func (s *supervisor) start(path string) error {
	if s.spec.PTY == PTYOn {
		s.warn("pseudo-terminals are not supported on Windows; the command runs with pipes")
	}
	// Ctrl-C reaches every process attached to the console, the command included: mltrack only
	// has to survive it and wait for the command.
	s.relay = make(chan os.Signal, 4)
	signal.Notify(s.relay, os.Interrupt)
	s.signals = s.relay

	stdout, err := s.outputFor("stdout", s.spec.Stdout, s.spec.CaptureStdout)
	if err != nil {
		s.closeChildFiles()
		s.abandonCopiers()
		return err
	}
	stderr, err := s.outputFor("stderr", s.spec.Stderr, s.spec.CaptureStderr)
	if err != nil {
		s.closeChildFiles()
		s.abandonCopiers()
		return err
	}
	cmd := s.command(path, s.spec.Stdin, stdout, stderr)
	s.res.Start = time.Now()
	err = cmd.Start()
	s.closeChildFiles()
	if err != nil {
		s.abandonCopiers()
		return classifyStartError(path, err)
	}
	s.cmd, s.pid, s.res.PID = cmd, cmd.Process.Pid, cmd.Process.Pid
	s.startCopiers()
	go s.waitLoop()
	return nil
}

func (s *supervisor) waitLoop() {
	ps, err := s.cmd.Process.Wait()
	at := time.Now()
	if err != nil {
		s.waitEvents <- waitEvent{status: exitStatus{code: ExitStartFailed}, at: at}
		return
	}
	s.waitEvents <- waitEvent{status: exitStatus{
		code:      ps.ExitCode(),
		userCPU:   ps.UserTime(),
		systemCPU: ps.SystemTime(),
	}, at: at}
}

func (s *supervisor) onSignal(os.Signal) {}

func (s *supervisor) onChildStopped(syscall.Signal) {}

// forward can only terminate the command: Windows has no signals to pass on.
func (s *supervisor) forward(sig syscall.Signal) {
	s.forwarded[sig] = true
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
}

func (s *supervisor) signalTree(sig syscall.Signal) {
	if sig == syscall.SIGTERM {
		s.warn("on Windows the timeout terminates the command at once (there is no SIGTERM)")
	}
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
}

func (s *supervisor) reportSurvivors() {}

func (s *supervisor) holderGroup() int { return 0 }

func (s *supervisor) restore() {
	s.closeChildFiles()
	if s.relay != nil {
		signal.Stop(s.relay)
	}
}

// RaiseSignal does nothing on Windows, where processes do not die of signals; the caller exits
// with 128+N.
func RaiseSignal(syscall.Signal) {}

func holderName(*os.File) string                       { return "" }
func findHolders(map[string]bool, int) []proctree.Proc { return nil }
func bytesBuffered(*os.File) int                       { return 0 }
func readNoWait(*os.File, []byte) (n int, atEnd bool)  { return 0, true }
func signalName(sig syscall.Signal) string             { return sig.String() }
func envValue(env []string, key string) (string, bool) { return envLookup(env, key) }
func inDir(dir, path string) string                    { return joinDir(dir, path) }
func joinDir(dir, path string) string {
	if dir == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// envLookup finds key case-insensitively, as Windows does, taking the last duplicate.
func envLookup(env []string, key string) (string, bool) {
	if env == nil {
		return os.LookupEnv(key)
	}
	for i := len(env) - 1; i >= 0; i-- {
		k, v, ok := strings.Cut(env[i], "=")
		if ok && strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// lookPath finds argv[0] with the PATH and PATHEXT of the command's environment.
func lookPath(argv, env []string, dir string) (string, error) {
	if len(argv) == 0 || argv[0] == "" {
		return "", &StartError{Kind: ErrNotFound, Reason: "no command given"}
	}
	name := argv[0]
	exts := []string{""}
	if filepath.Ext(name) == "" {
		pathext, ok := envLookup(env, "PATHEXT")
		if !ok || pathext == "" {
			pathext = ".COM;.EXE;.BAT;.CMD"
		}
		exts = nil
		for _, e := range strings.Split(pathext, ";") {
			if e != "" {
				exts = append(exts, strings.ToLower(e))
			}
		}
	}
	var dirs []string
	if strings.ContainsAny(name, `/\:`) {
		dirs = []string{""}
	} else {
		path, _ := envLookup(env, "PATH")
		dirs = append([]string{"."}, filepath.SplitList(path)...)
	}
	for _, d := range dirs {
		for _, e := range exts {
			candidate := name + e
			if d != "" {
				candidate = filepath.Join(d, candidate)
			}
			st, err := os.Stat(inDir(dir, candidate))
			if err == nil && !st.IsDir() {
				return candidate, nil
			}
			if err == nil && st.IsDir() && len(dirs) == 1 && e == "" {
				return "", &StartError{Path: name, Kind: ErrNotExecutable, Reason: "is a directory, not a program"}
			}
		}
	}
	if len(dirs) == 1 {
		return "", &StartError{Path: name, Kind: ErrNotFound, Reason: "no such file or directory"}
	}
	return "", &StartError{Path: name, Kind: ErrNotFound, Reason: "command not found in PATH"}
}

// classifyErrno explains a CreateProcess failure.
func classifyErrno(errno syscall.Errno) (kind error, reason string) {
	switch {
	case errors.Is(errno, fs.ErrNotExist):
		return ErrNotFound, errno.Error()
	case errors.Is(errno, fs.ErrPermission), errno == syscall.Errno(193), errno == syscall.Errno(216):
		// ERROR_BAD_EXE_FORMAT, ERROR_EXE_MACHINE_TYPE_MISMATCH
		return ErrNotExecutable, errno.Error()
	}
	return ErrStartFailed, errno.Error()
}
