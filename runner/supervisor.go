package runner

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/mltrack/mltrack/proctree"
)

// supervisor holds one run's state. Only Run's goroutine touches it, except the copiers (which
// synchronise themselves) and the wait goroutine (which only sends on waitEvents).
type supervisor struct {
	spec Spec
	res  *Result

	cmd        *exec.Cmd
	pid        int
	waitEvents chan waitEvent
	signals    <-chan os.Signal // signals received by mltrack; nil where none are relayed

	copiers    []*outputCopier
	childFiles []*os.File // our copies of the command's descriptors, closed once it started

	forwarded map[syscall.Signal]bool // signals mltrack passed on to the command
	status    exitStatus
	finished  bool // fillResult ran: Run is returning normally, not panicking

	platform // per-OS state (process group, terminal, pty, signal relay)
}

func newSupervisor(spec Spec, res *Result) *supervisor {
	return &supervisor{
		spec:       spec,
		res:        res,
		waitEvents: make(chan waitEvent, 4),
		forwarded:  map[syscall.Signal]bool{},
	}
}

// command builds the exec.Cmd. Only non-nil files are assigned: a nil *os.File in the io.Reader
// field would not be nil for exec.
func (s *supervisor) command(path string, stdin, stdout, stderr *os.File) *exec.Cmd {
	cmd := &exec.Cmd{Path: path, Args: s.spec.Argv, Env: s.spec.Env, Dir: s.spec.Dir}
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if stdout != nil {
		cmd.Stdout = stdout
	}
	if stderr != nil {
		cmd.Stderr = stderr
	}
	return cmd
}

// outputFor gives the command's descriptor for one output stream: mltrack's own file when nothing
// is captured (zero copy, the command writes straight to it), otherwise the write end of a pipe
// that a copier drains to the real file and then to the capture.
func (s *supervisor) outputFor(name string, real *os.File, capture io.Writer) (*os.File, error) {
	if capture == nil {
		return real, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, &StartError{Kind: ErrStartFailed, Reason: fmt.Sprintf("create a pipe for the command's %s: %v", name, err), Err: err}
	}
	s.copiers = append(s.copiers, newOutputCopier(name, r, real, capture, false))
	s.childFiles = append(s.childFiles, w)
	return w, nil
}

// closeChildFiles closes our copies of the command's descriptors: the command has its own, and a
// pipe reaches end-of-file only when every write end is closed.
func (s *supervisor) closeChildFiles() {
	for _, f := range s.childFiles {
		_ = f.Close()
	}
	s.childFiles = nil
}

// abandonCopiers releases the copiers' descriptors when the command never started.
func (s *supervisor) abandonCopiers() {
	for _, c := range s.copiers {
		if !c.isPTY {
			_ = c.src.Close()
		}
	}
	s.copiers = nil
}

func (s *supervisor) startCopiers() {
	for _, c := range s.copiers {
		c.start()
	}
}

// warnHolders names the processes that kept the command's output open after it exited.
func (s *supervisor) warnHolders(held []*outputCopier) {
	var streams []string
	ids := map[string]bool{}
	for _, c := range held {
		streams = append(streams, c.name)
		if c.holder != "" {
			ids[c.holder] = true
		}
	}
	what := strings.Join(streams, " and ")
	holders := findHolders(ids, s.holderGroup())
	if len(holders) == 0 {
		s.warn("another process still held the command's %s open %s after the command exited; its later output was not captured",
			what, s.spec.OutputGrace)
		return
	}
	s.warn("%s still held the command's %s open %s after the command exited; its later output was not captured",
		describeProcs(holders), what, s.spec.OutputGrace)
}

// copyProblems turns the copiers' own problems into warnings.
func (s *supervisor) copyProblems() {
	for _, c := range s.copiers {
		for _, p := range c.problems() {
			s.warn("%s", p)
		}
	}
}

// describeProcs lists processes as "pid 12 (sleep), pid 13 (python3)".
func describeProcs(procs []proctree.Proc) string {
	sort.Slice(procs, func(i, j int) bool { return procs[i].PID < procs[j].PID })
	parts := make([]string, 0, len(procs))
	for _, p := range procs {
		parts = append(parts, fmt.Sprintf("pid %d (%s)", p.PID, p.Comm))
	}
	return strings.Join(parts, ", ")
}

func isTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd()))
}
