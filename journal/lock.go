package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The lock: one process at a time works on a journal. It is an OS file lock (flock on Unix,
// LockFileEx on Windows) on the file "lock" in the journal's directory, taken without blocking.
// The kernel releases it when its holder exits or crashes, so a lock is never left behind, and a
// journal whose lock is free is not being written by anyone.
//
//   - The recording mltrack takes it in Create and releases it in Close or Remove: a `mltrack sync`
//     meanwhile leaves the journal alone (it is still being written).
//   - A delivery takes it in OpenExisting and releases it in Close or Remove: two deliveries (two
//     `mltrack sync` at once, or a sync and the delivery a successful mltrack run does at its end)
//     never work on the same journal, and a delivery never appends while the recorder does.
//   - Prune takes it before removing anything from a journal.
//
// The holder writes its pid and role ("recording", "delivering", "pruning") into the lock file, so
// that the one who finds it locked can say who holds it. Where the file system cannot lock (some network file systems) or the platform has no
// such lock, the lock only excludes other holders within this process, and Warning says so.

const lockFileName = "lock"

// How long taking the lock retries: a probe (LockHolder) holds it for an instant, and must not
// make Create fail or a delivery report a journal in use.
const (
	createLockWait = 2 * time.Second
	openLockWait   = 50 * time.Millisecond
)

// ErrLocked matches the error of taking a journal that another process holds.
var ErrLocked = errors.New("journal is in use by another process")

// Roles of a lock holder.
const (
	RoleRecording  = "recording"  // the mltrack that records the run (Create)
	RoleDelivering = "delivering" // a delivery (OpenExisting)
	RolePruning    = "pruning"    // Prune
	roleProbing    = "probing"    // LockHolder, for an instant
)

// LockedError says that another process holds a journal, and which one when it is known.
type LockedError struct {
	Dir  string
	PID  int    // 0 when unknown
	Role string // RoleRecording, RoleDelivering, RolePruning, or "" when unknown
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("process %d", e.PID)
	}
	switch e.Role {
	case RoleRecording:
		return fmt.Sprintf("journal %s is still being recorded by mltrack (%s)", e.Dir, who)
	case RoleDelivering:
		return fmt.Sprintf("journal %s is being delivered by %s", e.Dir, who)
	}
	return fmt.Sprintf("journal %s is in use by %s", e.Dir, who)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// errLockUnsupported: the file system or the platform cannot lock files.
var errLockUnsupported = errors.New("file locks are not supported here")

// dirLock is a held journal lock.
type dirLock struct {
	f       *os.File // nil when only the in-process lock is held
	key     string   // in-process registry key
	once    sync.Once
	warning string
}

// inProcess registers the journals held by this process. It is what excludes holders where OS
// locks are not available, and it keeps two holders in this process apart everywhere.
var inProcess = struct {
	sync.Mutex
	held map[string]string // key → role
}{held: map[string]string{}}

func lockKey(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return filepath.Clean(dir)
}

// lockDir takes the lock of the journal in dir, retrying for at most wait. Another holder yields
// a *LockedError; a missing directory an error matching fs.ErrNotExist.
func lockDir(dir string, wait time.Duration, role string) (*dirLock, error) {
	key := lockKey(dir)
	deadline := time.Now().Add(wait)
	for {
		lk, err := tryLockDir(dir, key, role)
		if !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			return lk, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func tryLockDir(dir, key, role string) (*dirLock, error) {
	inProcess.Lock()
	if held, ok := inProcess.held[key]; ok {
		inProcess.Unlock()
		return nil, &LockedError{Dir: dir, PID: os.Getpid(), Role: held}
	}
	inProcess.held[key] = role
	inProcess.Unlock()
	lk := &dirLock{key: key}

	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		lk.release()
		return nil, fmt.Errorf("lock journal %s: %w", dir, err)
	}
	ok, err := tryLockFile(f)
	switch {
	case ok:
		lk.f = f
		// Who holds it, for the one who finds it locked. Best effort.
		if f.Truncate(0) == nil {
			_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+" "+role+"\n"), 0)
		}
		return lk, nil
	case errors.Is(err, errLockUnsupported):
		f.Close()
		lk.warning = fmt.Sprintf("file locks are not supported for %s: only this process is kept from working on the journal at the same time", dir)
		return lk, nil
	case err != nil:
		f.Close()
		lk.release()
		return nil, fmt.Errorf("lock journal %s: %w", dir, err)
	}
	f.Close()
	lk.release()
	pid, holderRole := readLockHolder(path)
	return nil, &LockedError{Dir: dir, PID: pid, Role: holderRole}
}

// release gives the lock up. Safe to call more than once.
func (l *dirLock) release() {
	if l == nil {
		return
	}
	l.once.Do(func() {
		if l.f != nil {
			_ = unlockFile(l.f)
			_ = l.f.Close()
		}
		inProcess.Lock()
		delete(inProcess.held, l.key)
		inProcess.Unlock()
	})
}

func readLockHolder(path string) (int, string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, ""
	}
	return parseLockHolder(string(b))
}

// parseLockHolder reads what a holder wrote into the lock file ("<pid> <role>"); 0 and "" for
// what is missing or malformed.
func parseLockHolder(s string) (pid int, role string) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return 0, ""
	}
	if n, err := strconv.Atoi(fields[0]); err == nil && n > 0 {
		pid = n
	}
	if len(fields) > 1 {
		switch fields[1] {
		case RoleRecording, RoleDelivering, RolePruning, roleProbing:
			role = fields[1]
		}
	}
	return pid, role
}

// LockHolder reports whether a process holds the journal in dir, with the holder's pid and role
// when known (for `mltrack sync --list`). It takes the lock for an instant when it is free;
// Create and OpenExisting retry briefly, so the probe does not disturb them.
func LockHolder(dir string) (holder *LockedError) {
	lk, err := tryLockDir(dir, lockKey(dir), roleProbing)
	if err == nil {
		lk.release()
		return nil
	}
	var le *LockedError
	if errors.As(err, &le) {
		return le
	}
	return nil
}
