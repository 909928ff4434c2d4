//go:build unix

package runner

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// defaultPath is what execvp searches when the environment has no PATH at all.
const defaultPath = "/bin:/usr/bin"

// lookPath finds the program for argv[0] as execvp and the shells do, but with the PATH of the
// command's environment (not mltrack's), and says clearly why it cannot be run. A name with a slash
// is used as is; relative names are relative to dir, where the command will run.
func lookPath(argv, env []string, dir string) (string, error) {
	if len(argv) == 0 || argv[0] == "" {
		return "", &StartError{Kind: ErrNotFound, Reason: "no command given"}
	}
	name := argv[0]
	if strings.Contains(name, "/") {
		return name, checkExecutable(name, inDir(dir, name))
	}
	path, ok := envValue(env, "PATH")
	if !ok {
		path = defaultPath
	}
	var denied error
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "." // an empty PATH element means the working directory
		}
		candidate := d + "/" + name
		err := checkExecutable(candidate, inDir(dir, candidate))
		if err == nil {
			return candidate, nil
		}
		// Like bash: directories are skipped, and a file without execute permission is reported
		// (126) only when no executable one comes later in PATH.
		var se *StartError
		if denied == nil && errors.As(err, &se) && se.Kind == ErrNotExecutable && se.Reason != reasonIsDir {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", &StartError{Path: name, Kind: ErrNotFound, Reason: "command not found in PATH"}
}

const reasonIsDir = "is a directory, not a program"

// checkExecutable says whether path (shown to the user) can be executed; real is where it is.
func checkExecutable(path, real string) error {
	st, err := os.Stat(real)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &StartError{Path: path, Kind: ErrNotFound, Reason: "no such file or directory", Err: err}
		}
		var errno syscall.Errno
		reason := err.Error()
		if errors.As(err, &errno) {
			reason = errno.Error()
		}
		return &StartError{Path: path, Kind: ErrNotExecutable, Reason: reason, Err: err}
	}
	if st.IsDir() {
		return &StartError{Path: path, Kind: ErrNotExecutable, Reason: reasonIsDir}
	}
	if err := unix.Access(real, unix.X_OK); err != nil {
		return &StartError{Path: path, Kind: ErrNotExecutable, Reason: "permission denied (the file is not executable)", Err: err}
	}
	return nil
}

func inDir(dir, path string) string {
	if dir == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// envValue returns the last value of key in env, as exec uses the last duplicate. A nil env means
// mltrack's own environment, which the command then inherits.
func envValue(env []string, key string) (string, bool) {
	if env == nil {
		return os.LookupEnv(key)
	}
	prefix := key + "="
	for i := len(env) - 1; i >= 0; i-- {
		if strings.HasPrefix(env[i], prefix) {
			return env[i][len(prefix):], true
		}
	}
	return "", false
}

// classifyErrno explains an exec failure the lookup did not foresee.
func classifyErrno(errno syscall.Errno) (kind error, reason string) {
	switch errno {
	case syscall.ENOENT:
		// The file exists (lookPath checked): its #! interpreter or dynamic loader does not.
		return ErrNotFound, "no such file or directory (does its #! interpreter exist?)"
	case syscall.ENOEXEC:
		return ErrNotExecutable, "exec format error (not a program for this machine, and no #! line)"
	case syscall.EACCES:
		return ErrNotExecutable, "permission denied"
	case syscall.EAGAIN, syscall.ENOMEM:
		return ErrStartFailed, errno.Error()
	}
	return ErrNotExecutable, errno.Error()
}
