// Package mlflowtest finds and runs the real MLflow that the test setup installed, so that tests can
// prove that MLflow reads what mltrack writes. Under CI (CI=true) a missing MLflow fails the test; on a
// developer machine it skips with a message saying how to install it.
package mlflowtest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// DefaultVenv is where scripts/mlflow-venv.sh puts the pinned MLflow when .ci/run installs it.
const DefaultVenv = "/root/.cache/mltrack/venv-3.18.0"

// Python returns the interpreter of the venv holding MLflow: $MLTRACK_TEST_PYTHON, else DefaultVenv's
// (or $HOME/.cache/mltrack/venv-3.18.0's). It fails under CI and skips elsewhere when there is none.
func Python(t testing.TB) string {
	t.Helper()
	py, err := Find()
	if err == nil {
		return py
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(err)
	}
	t.Skip(err)
	return ""
}

// Find returns the interpreter Python would use, or an error saying how to install it. It is for
// callers that cannot fail or skip a test themselves (testscript commands run on other goroutines).
func Find() (string, error) {
	candidates := []string{os.Getenv("MLTRACK_TEST_PYTHON"), filepath.Join(DefaultVenv, "bin", "python")}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".cache", "mltrack", "venv-3.18.0", "bin", "python"))
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", errors.New("no Python with MLflow found: run `scripts/mlflow-venv.sh 3.18.0 ~/.cache/mltrack/venv-3.18.0` or set MLTRACK_TEST_PYTHON")
}

// Run runs a Python script with MLflow importable and returns its stdout. env entries ("K=V") are
// added to the test process's environment (MLflow's own variables from the outer environment are
// removed first so a developer's settings cannot leak into a test). The script fails the test on a
// non-zero exit, with its stderr in the message.
func Run(t testing.TB, script string, env ...string) string {
	t.Helper()
	out, err := RunErr(t, script, env...)
	if err != nil {
		t.Fatalf("python failed: %v\n--- script ---\n%s\n--- output ---\n%s", err, script, out)
	}
	return out
}

// RunErr is Run that returns the error (with combined output) instead of failing the test.
func RunErr(t testing.TB, script string, env ...string) (string, error) {
	t.Helper()
	py := Python(t)
	cmd := exec.Command(py, "-c", script)
	// A directory of its own, which lives exactly as long as the process: Python puts the working
	// directory on sys.path and fails at import when it is gone.
	dir, err := os.MkdirTemp("", "mlflowtest-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	cmd.Dir = dir
	cmd.Env = append(CleanEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return stdout.String() + stderr.String(), err
		}
		return stdout.String(), nil
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("python did not finish within 3 minutes\n%s", stderr.String())
		return "", nil
	}
}

// CleanEnv is the test process's environment without MLflow's and mltrack's own variables.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MLFLOW_") || strings.HasPrefix(kv, "MLTRACK_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PYTHONDONTWRITEBYTECODE=1", "GIT_PYTHON_REFRESH=quiet")
}
