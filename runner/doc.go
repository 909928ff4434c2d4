// Package runner runs the wrapped command as mltrack's child so that, seen from outside, it behaves
// as if it ran alone: the same bytes reach the same files, the terminal belongs to the command while
// it runs, signals reach it once, Ctrl-Z and fg work, and mltrack can end with the command's exit
// status (Result.ExitCode, or RaiseSignal when the command died of a signal).
//
// It owns the child's start, the pseudo-terminal, signal forwarding, job control, the timeout and
// the exit status. It never exits the process; package main does.
//
// # Descriptors
//
// Without capture, the command gets mltrack's own descriptors (no copy). With capture, each output
// stream goes through a pipe that runner copies, chunk by chunk as it arrives, to mltrack's real file
// and then to the capture writer. In pty mode (PTYAuto when stdout is a terminal, or PTYOn) the pty
// slave replaces only the descriptors whose mltrack counterpart is a terminal; mltrack's terminal is
// put in raw mode while runner copies the keyboard into the pty.
//
// # Process groups and the terminal (Unix)
//
//   - Pipe mode, mltrack alone in its process group (a job of an interactive shell): the command gets
//     a process group of its own, made the terminal's foreground group when mltrack had it, so that
//     keyboard signals reach the command once and directly (as sudo and tini do).
//   - Pipe mode, mltrack sharing its group with others and having a terminal (a pipeline such as
//     `mltrack -- make | less`, a script, make): the command stays in that group. Giving it a group of
//     its own would stop less (SIGTTIN) and keep Ctrl-C from the script. Keyboard-type signals (INT,
//     QUIT, TSTP, HUP, WINCH, CONT) then already reach the command and are not forwarded again.
//   - Pipe mode without a terminal (CI, cron): a group of its own, so that the timeout reaches the tree.
//   - Pty mode: the command leads a session with the pty as controlling terminal. Its process group is
//     then orphaned, so the kernel discards SIGTSTP for it: runner stops it with SIGSTOP for a Ctrl-Z
//     (or a SIGTSTP sent to mltrack). When mltrack shares its group (a script's loop), runner also
//     signals the other members for Ctrl-C, Ctrl-\ and Ctrl-Z, which the raw terminal no longer does.
//
// When the command stops, mltrack takes the terminal back (foreground group, modes) and stops itself
// with the same signal, so the shell sees the job stopped; when continued it hands the terminal back
// and continues the command.
//
// # Known limits
//
//   - Pty mode: keys typed while the command runs go to the command, also those meant for the shell
//     after it (as with sudo or script). A program that suspends itself with kill(0, SIGTSTP) (an
//     editor in raw mode) cannot stop under a pty, its SIGTSTP being discarded by the kernel.
//   - Only SIGHUP and SIGINT ignored at mltrack's start stay ignored for the command (the Go runtime
//     hides other inherited SIG_IGN dispositions).
//   - After Run, SIGTSTP stays caught by the Go runtime: mltrack cannot be suspended while it
//     uploads. SIGPIPE stays handled, so a write to a closed stdout fails with EPIPE.
//   - Darwin: no raw sigaction, so RaiseSignal re-raises only SIGHUP, SIGINT and SIGTERM faithfully,
//     and mltrack stops itself with SIGSTOP; holders of the output are guessed from the process group.
//   - Windows: no pty, no process groups or job control; Ctrl-C reaches the command through the
//     console; the timeout terminates the command at once.
package runner
