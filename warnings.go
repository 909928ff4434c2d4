package main

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
)

// warnings collects what went wrong with tracking while the command ran. They are printed after the
// command ended, so that mltrack never writes into the middle of the command's own output.
type warnings struct {
	mu   sync.Mutex
	list []string
	seen map[string]bool
}

func (w *warnings) add(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, fmt.Sprintf(format, args...))
}

// once adds a warning only the first time key is seen.
func (w *warnings) once(key, format string, args ...any) {
	w.mu.Lock()
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	if w.seen[key] {
		w.mu.Unlock()
		return
	}
	w.seen[key] = true
	w.mu.Unlock()
	w.add(format, args...)
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.list...)
}

func (w *warnings) print(out io.Writer) {
	for _, s := range w.all() {
		fmt.Fprintf(out, "mltrack: warning: %s\n", s)
	}
}

// spaceAdvice is what to do when the journal's file system is full (ENOSPC), appended to the
// warning; "" for other errors.
func spaceAdvice(err error) string {
	if errors.Is(err, syscall.ENOSPC) {
		return "; free space there, or set MLTRACK_SPOOL_DIR to a directory on another file system"
	}
	return ""
}
