package mlflowtest

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ServerStartTimeout bounds the wait for `mlflow server` to answer /health. Importing MLflow and
// migrating a fresh database takes seconds on an idle machine and much longer on a loaded one.
const ServerStartTimeout = 5 * time.Minute

// Server is a real `mlflow server` started by a test.
type Server struct {
	URI string // http://127.0.0.1:<port>
	Dir string // its working directory (./mlartifacts, ./mlruns live here)
	Log string // its output
}

// StartServer starts the pinned MLflow's tracking server on a free loopback port, in a fresh
// directory with a SQLite backend and served artifacts, waits (bounded) until /health answers,
// and stops it with its children when the test ends. env entries ("K=V") are added to the
// server's environment; extraArgs to `mlflow server` (a "--backend-store-uri" among them replaces
// the default one).
func StartServer(t testing.TB, env []string, extraArgs ...string) *Server {
	t.Helper()
	py := Python(t)
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()

	args := []string{"-m", "mlflow", "server", "--host", "127.0.0.1", "--port", port, "--workers", "1"}
	if !slices.Contains(extraArgs, "--backend-store-uri") {
		args = append(args, "--backend-store-uri", "sqlite:///"+filepath.ToSlash(filepath.Join(dir, "mlflow.db")))
	}
	args = append(args, extraArgs...)
	cmd := exec.Command(py, args...)
	cmd.Dir = dir
	// Job execution starts extra worker processes the tests do not need.
	cmd.Env = append(append(CleanEnv(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false"), env...)
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	ownProcessGroup(cmd)
	started := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start mlflow server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		stopProcessGroup(cmd, exited, 20*time.Second)
		logFile.Close()
	})

	srv := &Server{URI: "http://127.0.0.1:" + port, Dir: dir, Log: logPath}
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-exited:
			t.Fatalf("mlflow server exited while starting:\n%s", Tail(logPath))
		default:
		}
		if resp, err := client.Get(srv.URI + "/health"); err == nil {
			ok := resp.StatusCode == http.StatusOK
			resp.Body.Close()
			if ok {
				break
			}
		}
		if time.Since(started) > ServerStartTimeout {
			t.Fatalf("mlflow server did not answer /health within %s:\n%s", ServerStartTimeout, Tail(logPath))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("mlflow server %s %s ready in %s", srv.URI, strings.Join(extraArgs, " "), time.Since(started).Round(100*time.Millisecond))
	return srv
}

// Tail is the last 4000 bytes of a log file, for failure messages.
func Tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
