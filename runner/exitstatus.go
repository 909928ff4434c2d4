package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// StartError says why the command could not be started. errors.Is(err, ErrNotFound /
// ErrNotExecutable / ErrStartFailed) tells the kind; its message is one line with the path.
type StartError struct {
	Path   string // the command as given or as found in PATH; "" when the problem is not the program
	Kind   error  // ErrNotFound, ErrNotExecutable or ErrStartFailed
	Reason string // what was wrong, in words
	Err    error  // the underlying error, if any
}

func (e *StartError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return fmt.Sprintf("cannot run %q: %s", e.Path, e.Reason)
}

// Is makes errors.Is(err, ErrNotFound) and friends work.
func (e *StartError) Is(target error) bool { return target == e.Kind }

func (e *StartError) Unwrap() error { return e.Err }

// checkDir makes a bad working directory a clear error before anything starts (exec would report
// it as a failure to execute the program).
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	st, err := os.Stat(dir)
	if err == nil && !st.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &StartError{Kind: ErrStartFailed, Reason: fmt.Sprintf("cannot change to directory %q: %v", dir, err), Err: err}
	}
	return nil
}

// classifyStartError explains an exec.Cmd.Start failure. Like coreutils env/timeout: ENOENT is
// "not found" (127), other exec failures are "cannot execute" (126), the rest (working directory,
// fork) is 125.
func classifyStartError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Op == "chdir" {
		return &StartError{Kind: ErrStartFailed, Reason: fmt.Sprintf("cannot change to directory %q: %v", pe.Path, pe.Err), Err: err}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		kind, reason := classifyErrno(errno)
		return &StartError{Path: path, Kind: kind, Reason: reason, Err: err}
	}
	return &StartError{Path: path, Kind: ErrStartFailed, Reason: err.Error(), Err: err}
}

// exitStatus is how the command ended, platform-neutral.
type exitStatus struct {
	code      int            // exit code when it exited
	signal    syscall.Signal // signal that killed it, 0 when it exited
	userCPU   time.Duration
	systemCPU time.Duration
	maxRSS    int64 // bytes
}

// fillResult turns the wait status into the exit code mltrack should use.
func (s *supervisor) fillResult() {
	r, st := s.res, s.status
	r.UserCPU, r.SystemCPU, r.MaxRSS = st.userCPU, st.systemCPU, st.maxRSS
	r.Signal = st.signal
	r.ChildExitCode = st.code
	if st.signal != 0 {
		r.ChildExitCode = 128 + int(st.signal)
	}
	r.ExitCode = r.ChildExitCode
	switch {
	case r.TimedOut:
		r.SignalSource = "timeout"
		r.ExitCode = ExitTimedOut
		if r.KillNeeded {
			r.ExitCode = ExitTimedOutKill
		}
	case r.Signal != 0 && s.forwarded[r.Signal]:
		r.SignalSource = "forwarded"
	case r.Signal != 0:
		r.SignalSource = "external"
	}
	s.finished = true
}

func startFailed(res Result, err error) Result {
	res.StartErr = err
	switch {
	case errors.Is(err, ErrNotFound):
		res.ExitCode = ExitNotFound
	case errors.Is(err, ErrNotExecutable):
		res.ExitCode = ExitNotExecutable
	default:
		res.ExitCode = ExitStartFailed
	}
	res.ChildExitCode = res.ExitCode
	now := time.Now()
	if res.Start.IsZero() {
		res.Start = now
	}
	res.End = now
	return res
}
