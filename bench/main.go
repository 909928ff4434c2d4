//go:build linux

// Command bench measures mltrack against its anchors (bare commands, GNU tools, MLflow's Python
// client) and writes docs/performance.md. Run it through bench/run.sh, which prepares the tools:
//
//	bench/run.sh            full run, writes docs/performance.md (about 15 minutes)
//	bench/run.sh --quick    small sizes, few repetitions, writes a scratch file (about 3 minutes)
//
// Every figure is measured in the same run as its anchor, with anchor and mltrack interleaved
// (A B A B) so that load from other processes on the machine falls on both alike. Everything lives
// in one temporary directory, removed at the end; the only server is an `mlflow server` on
// 127.0.0.1, stopped at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// suite holds what every section needs.
type suite struct {
	quick   bool
	repo    string // the mltrack checkout
	root    string // the temporary directory everything goes into
	mltrack string // the mltrack binary built for this run
	self    string // this program, also the workload for the accuracy section
	python  string // the pinned MLflow's interpreter
	server  string // the loopback mlflow server's URI, once started
	srvDir  string
	srvCmd  *exec.Cmd
	srvDone chan struct{}

	sections []*section
	problems []string // things that looked wrong, listed in the document
}

// section is one table of the document.
type section struct {
	Title  string
	Intro  string
	Header []string
	Rows   [][]string
	Notes  []string
	Rerun  string
	Load   [2]string // load average when the section started and ended
	Took   time.Duration
	Err    string // set when the section could not run
	Result string // the column the Targets table shows (default: "ratio", else the one left of "target")
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "workload":
			os.Exit(workloadMain(os.Args[2:]))
		case "hold":
			os.Exit(holdMain(os.Args[2:]))
		}
	}
	quick := flag.Bool("quick", false, "small sizes and few repetitions, for development")
	repo := flag.String("repo", ".", "the mltrack checkout to build and measure")
	python := flag.String("python", "", "python of the venv holding the pinned MLflow")
	out := flag.String("out", "", "where to write the document (default: docs/performance.md, or a scratch file with --quick)")
	only := flag.String("only", "", "comma-separated sections to run (startup,passthrough,sampling,artifacts,remote,accuracy,search)")
	keep := flag.Bool("keep", false, "keep the temporary directory (for debugging)")
	flag.Parse()
	if *python == "" {
		fmt.Fprintln(os.Stderr, "bench: -python is required (bench/run.sh passes it)")
		os.Exit(2)
	}
	s := &suite{quick: *quick}
	var err error
	if s.repo, err = filepath.Abs(*repo); err != nil {
		fail(err)
	}
	s.python = *python
	if s.self, err = os.Executable(); err != nil {
		fail(err)
	}
	if s.root, err = os.MkdirTemp("", "mltrack-bench-"); err != nil {
		fail(err)
	}
	cleanup := func() {
		s.stopServer()
		if !*keep {
			os.RemoveAll(s.root)
		} else {
			fmt.Fprintln(os.Stderr, "bench: kept", s.root)
		}
	}
	// Ctrl-C or TERM: stop the server and remove the temporary directory before leaving.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-sigs
		fmt.Fprintf(os.Stderr, "bench: %v, cleaning up\n", sig)
		cleanup()
		os.Exit(130)
	}()
	code := s.main(*out, *only)
	cleanup()
	os.Exit(code)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (s *suite) main(out, only string) int {
	started := time.Now()
	mach := describeMachine(s)
	logf("building mltrack in %s", s.root)
	s.mltrack = filepath.Join(s.root, "mltrack")
	build := exec.Command("go", "build", "-o", s.mltrack, ".")
	build.Dir = s.repo
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: go build failed:", err)
		return 1
	}
	mach.mltrackVersion = strings.TrimSpace(outputOf(s.mltrack, "version"))

	want := map[string]bool{}
	for _, name := range strings.Split(only, ",") {
		if name = strings.TrimSpace(name); name != "" {
			want[name] = true
		}
	}
	type entry struct {
		name string
		fn   func(*section) error
	}
	all := []entry{
		{"startup", s.benchStartup},
		{"passthrough", s.benchPassthrough},
		{"sampling", s.benchSampling},
		{"artifacts", s.benchArtifacts},
		{"remote", s.benchRemote},
		{"accuracy", s.benchAccuracy},
		{"search", s.benchSearch},
	}
	for _, e := range all {
		if len(want) > 0 && !want[e.name] {
			continue
		}
		sec := &section{}
		sec.Load[0] = loadAvg()
		t0 := time.Now()
		logf("section %s (load %s)", e.name, sec.Load[0])
		if err := e.fn(sec); err != nil {
			sec.Err = err.Error()
			logf("section %s failed: %v", e.name, err)
		}
		sec.Took = time.Since(t0)
		sec.Load[1] = loadAvg()
		s.sections = append(s.sections, sec)
		logf("section %s done in %s", e.name, sec.Took.Round(time.Second))
	}
	s.checkSpool()
	mach.loadEnd = loadAvg()
	mach.took = time.Since(started)
	doc := s.render(mach, only)
	if out == "" {
		if s.quick || only != "" {
			out = filepath.Join(os.TempDir(), "mltrack-performance-quick.md")
		} else {
			out = filepath.Join(s.repo, "docs", "performance.md")
		}
	}
	if err := os.WriteFile(out, []byte(doc), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	logf("wrote %s (%s)", out, mach.took.Round(time.Second))
	for _, sec := range s.sections {
		if sec.Err != "" {
			return 1
		}
	}
	return 0
}

// baseEnv is the environment every measured process gets: the caller's, without MLflow's and
// mltrack's settings (a stray MLFLOW_TRACKING_URI would send runs elsewhere), with the journal in
// the temporary directory.
func (s *suite) baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MLFLOW_") || strings.HasPrefix(kv, "MLTRACK_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"MLTRACK_SPOOL_DIR="+filepath.Join(s.root, "spool"),
		"PYTHONDONTWRITEBYTECODE=1",
		"GIT_PYTHON_REFRESH=quiet",
		// MLflow >= 3.13 opens a file store only with this; harmless elsewhere.
		"MLFLOW_ALLOW_FILE_STORE=true",
	)
	return append(env, extra...)
}

// dir makes a fresh directory under the temporary root.
func (s *suite) dir(parts ...string) string {
	d := filepath.Join(append([]string{s.root}, parts...)...)
	if err := os.MkdirAll(d, 0o755); err != nil {
		fail(err)
	}
	return d
}

// pick returns the quick or the full value.
func pick[T any](s *suite, quick, full T) T {
	if s.quick {
		return quick
	}
	return full
}

func outputOf(name string, args ...string) string {
	b, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return "unknown (" + strings.TrimSpace(string(b)) + ")"
	}
	return string(b)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// startServer starts `mlflow server` on a free loopback port (SQLite backend, artifacts served
// from a local directory, one worker) and waits for /health, at most 3 minutes.
func (s *suite) startServer() (string, error) {
	if s.server != "" {
		return s.server, nil
	}
	s.srvDir = s.dir("server")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(s.python, "-m", "mlflow", "server",
		"--backend-store-uri", "sqlite:///"+filepath.Join(s.srvDir, "mlflow.db"),
		"--artifacts-destination", filepath.Join(s.srvDir, "artifacts"),
		"--host", "127.0.0.1", "--port", port, "--workers", "1")
	cmd.Dir = s.srvDir
	cmd.Env = s.baseEnv("MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false")
	logFile, err := os.Create(filepath.Join(s.srvDir, "server.log"))
	if err != nil {
		return "", err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // uvicorn runs as a child; stop the group
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return "", fmt.Errorf("start mlflow server: %w", err)
	}
	s.srvCmd = cmd
	s.srvDone = make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(s.srvDone) }()
	uri := "http://127.0.0.1:" + port
	client := &http.Client{Timeout: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for {
		select {
		case <-s.srvDone:
			b, _ := os.ReadFile(filepath.Join(s.srvDir, "server.log"))
			return "", fmt.Errorf("mlflow server exited: %s", lastLines(string(b), 5))
		case <-ctx.Done():
			return "", fmt.Errorf("mlflow server did not answer /health within 3 minutes")
		case <-time.After(200 * time.Millisecond):
		}
		if resp, err := client.Get(uri + "/health"); err == nil {
			ok := resp.StatusCode == http.StatusOK
			resp.Body.Close()
			if ok {
				s.server = uri
				logf("mlflow server on %s", uri)
				return uri, nil
			}
		}
	}
}

func (s *suite) stopServer() {
	if s.srvCmd == nil || s.srvCmd.Process == nil {
		return
	}
	pgid := s.srvCmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.srvDone:
	case <-time.After(20 * time.Second):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	s.srvCmd = nil
}

// checkSpool reports runs left in mltrack's journal: every benchmark expects full delivery.
func (s *suite) checkSpool() {
	spool := filepath.Join(s.root, "spool")
	var pending []string
	_ = filepath.WalkDir(spool, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(spool, path)
			pending = append(pending, rel)
		}
		return nil
	})
	if len(pending) > 0 {
		if len(pending) > 5 {
			pending = append(pending[:5], "...")
		}
		s.problems = append(s.problems, fmt.Sprintf("mltrack's journal was not empty at the end of the suite (%s); some run was not fully delivered", strings.Join(pending, ", ")))
	}
}
