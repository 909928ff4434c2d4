package journal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRecorderHoldsLockUntilClose(t *testing.T) {
	spool := t.TempDir()
	r, err := Create(spool, Meta{Key: "held", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	r.Append(TypeCreate, CreateData{RunName: "x"})
	_, err = OpenExisting(r.Dir())
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) || le.Role != RoleRecording || le.PID != os.Getpid() {
		t.Fatalf("OpenExisting while recording: %v", err)
	}
	if !strings.Contains(err.Error(), "still being recorded by mltrack") {
		t.Errorf("message %q", err)
	}
	if h := LockHolder(r.Dir()); h == nil || h.Role != RoleRecording {
		t.Fatalf("LockHolder = %+v", h)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if h := LockHolder(r.Dir()); h != nil {
		t.Fatalf("LockHolder after Close = %+v", h)
	}
	d, err := OpenExisting(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenExisting(r.Dir())
	if !errors.As(err, &le) || le.Role != RoleDelivering {
		t.Fatalf("second OpenExisting: %v", err)
	}
	d.Close()
	d.Close() // twice is fine
}

func TestConcurrentOpenExistingOneWins(t *testing.T) {
	spool := t.TempDir()
	r, err := Create(spool, Meta{Key: "race"})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	var wins, locked atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	held := make(chan *Run, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			j, err := OpenExisting(r.Dir())
			switch {
			case err == nil:
				wins.Add(1)
				held <- j
			case errors.Is(err, ErrLocked):
				locked.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(held)
	if wins.Load() != 1 || locked.Load() != 7 {
		t.Fatalf("wins %d, locked %d", wins.Load(), locked.Load())
	}
	for j := range held {
		j.Close()
	}
}

// The lock excludes other processes, says who holds it, and dies with its holder (kill -9).
func TestLockAcrossProcesses(t *testing.T) {
	if os.Getenv("JOURNAL_TEST_HOLD") != "" {
		return // the helper runs in TestHelperHoldJournal
	}
	spool := t.TempDir()
	r, err := Create(spool, Meta{Key: "xproc"})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	for _, kill := range []bool{false, true} {
		t.Run(fmt.Sprintf("kill=%v", kill), func(t *testing.T) {
			cmd, stdin := startHolder(t, r.Dir())
			_, err := OpenExisting(r.Dir())
			var le *LockedError
			if !errors.As(err, &le) || le.PID != cmd.Process.Pid || le.Role != RoleDelivering {
				t.Fatalf("OpenExisting while another process holds it: %v (holder %d)", err, cmd.Process.Pid)
			}
			if kill {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			} else {
				stdin.Close()
			}
			cmd.Wait()
			j, err := OpenExisting(r.Dir())
			if err != nil {
				t.Fatalf("after the holder exited: %v", err)
			}
			j.Close()
		})
	}
}

func startHolder(t *testing.T, dir string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperHoldJournal$")
	cmd.Env = append(os.Environ(), "JOURNAL_TEST_HOLD="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "HELD") {
				line <- sc.Text()
				return
			}
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		if !ok {
			t.Fatal("holder exited without taking the lock")
		}
		_ = l
	case <-time.After(30 * time.Second):
		t.Fatal("holder did not take the lock within 30 s")
	}
	return cmd, stdin
}

// TestHelperHoldJournal is the other process of TestLockAcrossProcesses: it holds the journal
// until its stdin closes.
func TestHelperHoldJournal(t *testing.T) {
	dir := os.Getenv("JOURNAL_TEST_HOLD")
	if dir == "" {
		t.Skip("helper process only")
	}
	j, err := OpenExisting(dir)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println("HELD")
	io.Copy(io.Discard, os.Stdin)
	j.Close()
	os.Exit(0)
}

func TestParseLockHolder(t *testing.T) {
	tests := []struct {
		in   string
		pid  int
		role string
	}{
		{"123 delivering\n", 123, RoleDelivering},
		{"123 recording", 123, RoleRecording},
		{"123", 123, ""},
		{"123 something-else", 123, ""},
		{"", 0, ""},
		{"-5 recording", 0, RoleRecording},
		{"abc def", 0, ""},
		{"99999999999999999999999 delivering", 0, RoleDelivering},
	}
	for _, tt := range tests {
		pid, role := parseLockHolder(tt.in)
		if pid != tt.pid || role != tt.role {
			t.Errorf("parseLockHolder(%q) = %d %q, want %d %q", tt.in, pid, role, tt.pid, tt.role)
		}
	}
}

func FuzzParseLockHolder(f *testing.F) {
	f.Add("123 delivering\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		pid, role := parseLockHolder(s)
		if pid < 0 {
			t.Fatalf("negative pid %d", pid)
		}
		switch role {
		case "", RoleRecording, RoleDelivering, RolePruning, roleProbing:
		default:
			t.Fatalf("role %q", role)
		}
	})
}

// Remove renames the journal away before deleting it: List never sees half a journal, and a
// delivery that comes too late finds nothing.
func TestRemoveIsAtomicForOthers(t *testing.T) {
	spool := t.TempDir()
	r, err := Create(spool, Meta{Key: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	dir := r.Dir()
	os.WriteFile(filepath.Join(r.FilesDir(), "big"), make([]byte, 1<<16), 0o600)
	if err := r.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("journal still there: %v", err)
	}
	if _, err := OpenExisting(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenExisting of a removed journal: %v", err)
	}
	entries, _ := os.ReadDir(spool)
	if len(entries) != 0 {
		t.Fatalf("left in spool: %v", entries)
	}
	if runtime.GOOS != "windows" {
		// A lock file created in a removed directory cannot be: the directory is gone.
		if _, err := os.Stat(filepath.Join(dir, lockFileName)); !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
}
