//go:build unix

package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	_ "modernc.org/sqlite" // to plant a schema mltrack does not know

	"github.com/mltrack/mltrack/journal"
	"github.com/mltrack/mltrack/mlflowclient"
)

// The bad-input suite (issue #6): mltrack is run as users run it, as a separate process (the copy
// of this test binary that testscript.Main put on $PATH as `mltrack`, which runs main()), so that
// the exact stderr and exit status are seen. Each case gets its own directory, HOME and spool, and
// a clean environment. Where the command ran, the same command is also run bare (without mltrack,
// in a directory set up the same way) and its exit status, stdout bytes and own stderr lines must
// be identical; the run must be in the store or in the journal, as the case says.

// badInputCase is one row of the table. "{dir}" in args and env is replaced by the case's directory.
type badInputCase struct {
	name  string
	args  []string // after "mltrack"
	env   []string // added to the clean environment
	setup func(t *testing.T, dir string)

	code int
	// stderr: regexps for mltrack's own lines ("mltrack: ..."). Each must match a whole line, and
	// every line of mltrack's must be matched by one of them: nothing unexpected is said.
	stderr []string

	// ran: the command ran. The bare command is compared and the run must be recorded in state
	// ("delivered": the store has it with status; "journaled": the journal has it, ended).
	ran    bool
	noBare bool // the bare command cannot be run the same way (it does not exist)
	state  string
	status mlflowclient.RunStatus
	check  func(t *testing.T, dir string, sum badInputSummary)
}

// badInputSummary is the part of --summary-json the suite reads.
type badInputSummary struct {
	RunID        string                 `json:"run_id"`
	ExperimentID string                 `json:"experiment_id"`
	TrackingURI  string                 `json:"tracking_uri"`
	Status       mlflowclient.RunStatus `json:"status"`
	ExitCode     int                    `json:"exit_code"`
	Error        string                 `json:"error"`
	Artifacts    artifactReport         `json:"artifacts"`
	Tracking     trackingState          `json:"tracking"`
	Warnings     []string               `json:"warnings"`
}

// invocationResult is what a process did.
type invocationResult struct {
	code   int // exit code, or 128+N for death by signal N
	stdout []byte
	stderr string
}

func testBinary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on $PATH (testscript.Main puts it there): %v", name, err)
	}
	return p
}

// cleanEnv is the environment of every case: nothing from the developer's MLflow or mltrack setup.
func cleanEnv(dir string, extra []string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"MLTRACK_SPOOL_DIR=" + filepath.Join(dir, ".spool"),
		"LOGNAME=tester",
		"USER=tester",
		"LANG=C",
		"TMPDIR=" + os.TempDir(),
	}
	for _, e := range extra {
		env = append(env, strings.ReplaceAll(e, "{dir}", dir))
	}
	return env
}

// runProcess runs argv in dir, bounded in time. stdout may be nil (a buffer is used).
func runProcess(t *testing.T, dir string, env, argv []string, stdout *os.File) invocationResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	var out, errb bytes.Buffer
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		cmd.Stdout = &out
	}
	cmd.Stderr = &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%q did not end within 60s (a hang)\nstderr:\n%s", argv, errb.String())
	}
	res := invocationResult{stdout: out.Bytes(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.code = 128 + int(ws.Signal())
		} else {
			res.code = ee.ExitCode()
		}
	default:
		t.Fatalf("running %q: %v", argv, err)
	}
	return res
}

func commandOf(args []string) []string {
	for i, a := range args {
		if a == "--" {
			return args[i+1:]
		}
	}
	return nil
}

func expand(args []string, dir string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "{dir}", dir)
	}
	return out
}

// splitStderr separates mltrack's own lines from the command's.
func splitStderr(s string) (own, other []string) {
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "mltrack: ") {
			own = append(own, l)
		} else {
			other = append(other, l)
		}
	}
	return own, other
}

// checkOwnLines: every pattern matches a line, every line matches a pattern.
func checkOwnLines(t *testing.T, own []string, patterns []string) {
	t.Helper()
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		res[i] = regexp.MustCompile(p)
	}
	used := make([]bool, len(res))
	for _, l := range own {
		ok := false
		for i, re := range res {
			if re.MatchString(l) {
				used[i], ok = true, true
			}
		}
		if !ok {
			t.Errorf("unexpected line from mltrack: %q", l)
		}
	}
	for i, u := range used {
		if !u {
			t.Errorf("no line of mltrack's stderr matches %q; got:\n%s", patterns[i], strings.Join(own, "\n"))
		}
	}
}

func readSummary(t *testing.T, path string) badInputSummary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("summary: %v", err)
	}
	var s badInputSummary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("summary %s: %v", b, err)
	}
	return s
}

// storedRun reads the run back from the store the summary names.
func storedRun(t *testing.T, sum badInputSummary) mlflowclient.Run {
	t.Helper()
	store, err := mlflowclient.Open(sum.TrackingURI, mlflowclient.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", sum.TrackingURI, err)
	}
	defer store.Close()
	run, err := store.GetRun(context.Background(), sum.RunID)
	if err != nil {
		t.Fatalf("get run %s from %s: %v", sum.RunID, sum.TrackingURI, err)
	}
	return run
}

func paramOf(run mlflowclient.Run, key string) (string, bool) {
	for _, p := range run.Data.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

func tagOf(run mlflowclient.Run, key string) (string, bool) {
	for _, p := range run.Data.Tags {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

func defaultStatus(code int) mlflowclient.RunStatus {
	switch {
	case code == 0:
		return mlflowclient.StatusFinished
	case code > 128 || code == 124 || code == 137:
		return mlflowclient.StatusKilled
	}
	return mlflowclient.StatusFailed
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// newSQLiteStore makes an MLflow database the way mltrack makes one, and returns its path.
func newSQLiteStore(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "mlflow.db")
	store, err := mlflowclient.Open("sqlite:///"+filepath.ToSlash(path), mlflowclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.GetExperiment(context.Background(), mlflowclient.DefaultExperimentID); err != nil {
		t.Fatal(err)
	}
	store.Close()
	return path
}

func execSQL(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

const (
	usageLine        = `^mltrack: no command given; usage: mltrack \[flags\] -- <command> \[args\.\.\.\]$`
	namesMayOnly     = `names may only contain alphanumerics, underscores \(_\), dashes \(-\), periods \(\.\), spaces \( \), colon \(:\) and slashes \(/\)$`
	normalisedPath   = `it must be a normalised relative path \(no leading '/', no '\.\.', '\.', or '//' parts\)$`
	deliverLater     = `^mltrack: warning: (deliver it later with: mltrack sync --tracking-uri .*|once the tracking URI is fixed, deliver it with: mltrack sync --from .* --tracking-uri URI)$`
	journalUnusable  = `^mltrack: warning: cannot keep a local journal of this run: create journal in .*: mkdir .*: not a directory; set MLTRACK_SPOOL_DIR to a writable directory \(the run is lost if the store is unusable too\)$`
	sqlitePrefixWarn = `^mltrack: warning: tracking store: experiment: sqlite database .*`
)

func badInputCases() []badInputCase {
	long251 := strings.Repeat("k", 251)
	return []badInputCase{
		// --- wrong invocations: exit 125, one line, nothing started, nothing created ---
		{name: "no arguments", args: nil, code: 125, stderr: []string{usageLine}},
		{name: "double dash without command", args: []string{"--"}, code: 125, stderr: []string{usageLine}},
		{name: "flags without command", args: []string{"-p", "a=1"}, code: 125, stderr: []string{usageLine}},
		{name: "unknown flag", args: []string{"--frobnicate", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: flag provided but not defined: -frobnicate$`}},
		{name: "flag missing its value", args: []string{"-p"}, code: 125,
			stderr: []string{`^mltrack: flag needs an argument: -p$`}},
		{name: "param without equals", args: []string{"-p", "novalue", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: -p "novalue" is not KEY=VALUE \(for example -p issue_number=123\)$`}},
		{name: "param with empty name", args: []string{"-p", "=v", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: -p "=v" has an empty param name; write -p NAME=VALUE$`}},
		{name: "tag without equals", args: []string{"-t", "novalue", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: -t "novalue" is not KEY=VALUE \(for example -t issue_number=123\)$`}},
		{name: "param name with a forbidden character", args: []string{"-p", "bad!name=1", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: -p: invalid param name "bad!name": ` + namesMayOnly}},
		{name: "param name not a normalised path", args: []string{"-p", "a//b=1", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: -p: invalid param name "a//b": ` + normalisedPath}},
		{name: "param name climbing out", args: []string{"-p", "../x=1", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: -p: invalid param name "\.\./x": ` + normalisedPath}},
		{name: "param name over 250 characters", args: []string{"-p", long251 + "=1", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: -p: invalid param name "k{40}\.\.\.": 251 characters, MLflow allows at most 250$`}},
		{name: "tag name over 250 characters", args: []string{"-t", long251 + "=1", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: -t: invalid tag name "k{40}\.\.\.": 251 characters, MLflow allows at most 250$`}},
		{name: "param name not UTF-8", args: []string{"-p", "\xff=1", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: -p: invalid param name "\\xff": ` + namesMayOnly}},
		{name: "timeout not a duration", args: []string{"--timeout", "soon", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: --timeout: duration "soon" is not understood; write for example 90s, 5m, 1\.5h or 2d$`}},
		{name: "negative timeout", args: []string{"--timeout", "-1s", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: --timeout: duration "-1s" is negative$`}},
		{name: "kill-after without timeout", args: []string{"--kill-after", "5", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: --kill-after needs --timeout$`}},
		{name: "sample interval too fast", args: []string{"--sample-interval", "1ms", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: --sample-interval 1ms is below the fastest allowed, 100ms \(0 disables sampling\)$`}},
		{name: "log cap not a size", args: []string{"--log-cap", "lots", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: --log-cap: size "lots" is not understood; write for example 100MiB, 1GB or 0 for no limit$`}},
		{name: "log cap with unknown unit", args: []string{"--log-cap", "5XB", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: --log-cap: size "5XB" has an unknown unit "XB"; use B, KiB, MiB, GiB, KB, MB or GB$`}},
		{name: "experiment name and id", args: []string{"-e", "a", "--experiment-id", "3", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: give either --experiment or --experiment-id, not both$`}},
		{name: "empty experiment name", args: []string{"-e", "", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: --experiment: experiment name is empty; give a name of 1 to 500 characters, or leave the flag out for the Default experiment$`}},
		{name: "experiment name over 500 characters", args: []string{"-e", strings.Repeat("e", 501), "--", "true"}, code: 125,
			stderr: []string{`^mltrack: --experiment: experiment name has 501 characters, MLflow allows at most 500; give a name of 1 to 500 characters, or leave the flag out for the Default experiment$`}},
		{name: "pty and no-pty", args: []string{"--pty", "--no-pty", "--", "true"}, code: 125,
			stderr: []string{`^mltrack: give either --pty or --no-pty, not both$`}},

		// --- the command cannot start: 127/126 as a shell says, and the run is recorded as FAILED ---
		{name: "command not found", args: []string{"--", "/nonexistent/cmd"}, code: 127, ran: true, noBare: true, state: "delivered",
			stderr: []string{`^mltrack: cannot run "/nonexistent/cmd": no such file or directory$`},
			check: func(t *testing.T, dir string, sum badInputSummary) {
				if v, _ := tagOf(storedRun(t, sum), "mltrack.error"); !strings.Contains(v, "no such file") {
					t.Errorf("mltrack.error tag = %q", v)
				}
			}},
		{name: "command is a directory", args: []string{"--", "/"}, code: 126, ran: true, noBare: true, state: "delivered",
			stderr: []string{`^mltrack: cannot run "/": is a directory, not a program$`}},
		{name: "command not executable", args: []string{"--", "./script.sh"}, code: 126, ran: true, noBare: true, state: "delivered",
			setup:  func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "script.sh"), "echo hi\n") },
			stderr: []string{`^mltrack: cannot run "\./script\.sh": permission denied \(the file is not executable\)$`}},

		// --- values MLflow would refuse: truncated as MLflow's client does, the run kept ---
		{name: "param value over 6000 characters", args: []string{"-p", "k=" + strings.Repeat("v", 7000), "--", "testchild", "out", "ok"},
			ran: true, state: "delivered",
			stderr: []string{`^mltrack: warning: param "k" value truncated to 6000 characters \(MLflow's limit\)$`},
			check: func(t *testing.T, dir string, sum badInputSummary) {
				if v, _ := paramOf(storedRun(t, sum), "k"); v != strings.Repeat("v", 6000) {
					t.Errorf("param k has %d characters, want 6000", len(v))
				}
			}},
		{name: "tag value over 8000 characters", args: []string{"-t", "k=" + strings.Repeat("v", 9000), "--", "testchild", "exit", "3"},
			code: 3, ran: true, state: "delivered",
			stderr: []string{`^mltrack: warning: tag "k" value truncated to 8000 characters \(MLflow's limit\)$`},
			check: func(t *testing.T, dir string, sum badInputSummary) {
				if v, _ := tagOf(storedRun(t, sum), "k"); v != strings.Repeat("v", 8000) {
					t.Errorf("tag k has %d characters, want 8000", len(v))
				}
			}},
		{name: "param given twice", args: []string{"-p", "k=1", "-p", "k=2", "--", "true"}, ran: true, state: "delivered",
			stderr: []string{`^mltrack: warning: param "k" given twice; kept "1"$`},
			check: func(t *testing.T, dir string, sum badInputSummary) {
				if v, _ := paramOf(storedRun(t, sum), "k"); v != "1" {
					t.Errorf("param k = %q, want 1", v)
				}
			}},
		{name: "non-UTF-8 argv, param, run name and output",
			args: []string{"-p", "v=a\xffb", "-n", "run\xfe", "--", "testchild", "out", "x\xffy", ";", "args", "arg\xff"},
			ran:  true, state: "delivered",
			stderr: []string{
				`^mltrack: warning: param "v": invalid UTF-8 replaced by U\+FFFD$`,
				`^mltrack: warning: param "command": invalid UTF-8 replaced by U\+FFFD$`,
				`^mltrack: warning: tag "mltrack\.command": invalid UTF-8 replaced by U\+FFFD$`,
			},
			check: func(t *testing.T, dir string, sum badInputSummary) {
				run := storedRun(t, sum)
				if v, _ := paramOf(run, "v"); v != "a\uFFFDb" {
					t.Errorf("param v = %q, want a\\uFFFDb", v)
				}
				for _, p := range run.Data.Params {
					if !utf8.ValidString(p.Value) {
						t.Errorf("param %s = %q is not valid UTF-8", p.Key, p.Value)
					}
				}
				for _, p := range run.Data.Tags {
					if !utf8.ValidString(p.Value) {
						t.Errorf("tag %s = %q is not valid UTF-8", p.Key, p.Value)
					}
				}
				if !utf8.ValidString(run.Info.RunName) {
					t.Errorf("run name %q is not valid UTF-8", run.Info.RunName)
				}
				// The raw log keeps the command's bytes.
				log := findArtifact(t, dir, "logs/stdout.log")
				if !bytes.Contains(log, []byte("x\xffy")) {
					t.Errorf("logs/stdout.log lost the raw bytes: %q", log)
				}
			}},

		// --- tracking URIs mltrack cannot use: the command runs, the run is journaled ---
		{name: "tracking URI with unknown scheme", args: []string{"--tracking-uri", "ftp://x/y", "--", "testchild", "out", "ran", ";", "exit", "3"},
			code: 3, ran: true, state: "journaled",
			stderr: []string{`^mltrack: warning: tracking URI "ftp://x/y" has an unknown scheme "ftp"; use sqlite:///PATH, file:///PATH, a directory path, or http\(s\)://SERVER$`, deliverLater}},
		{name: "tracking URI of a database mltrack does not write", args: []string{"--tracking-uri", "postgresql://u:pw-9911@db/x", "--", "true"},
			ran: true, state: "journaled",
			stderr: []string{`^mltrack: warning: tracking URI scheme "postgresql" is not written directly by mltrack; run ` + "`" + `mlflow server --backend-store-uri postgresql://db/x` + "`" + ` and point MLFLOW_TRACKING_URI at that server \(http://\.\.\.\)$`, deliverLater},
			check: func(t *testing.T, dir string, sum badInputSummary) {
				assertNotUnder(t, filepath.Join(dir, ".spool"), "pw-9911")
			}},
		{name: "tracking URI databricks", args: []string{"--tracking-uri", "databricks", "--", "true"}, ran: true, state: "journaled",
			stderr: []string{`^mltrack: warning: tracking URI "databricks" names MLflow's databricks store, which mltrack does not write directly; use an http\(s\):// tracking server, or write \./databricks for a local directory of that name$`, deliverLater},
			check: func(t *testing.T, dir string, sum badInputSummary) {
				if _, err := os.Stat(filepath.Join(dir, "databricks")); err == nil {
					t.Errorf("a file store ./databricks was created for MLflow's Databricks URI")
				}
			}},
		{name: "tracking URI in-memory sqlite", args: []string{"--tracking-uri", "sqlite://", "--", "true"}, ran: true, state: "journaled",
			stderr: []string{`^mltrack: warning: tracking URI "sqlite://" is an in-memory database; nothing would be kept\. Use sqlite:///mlflow\.db$`, deliverLater}},
		{name: "tracking URI malformed http", args: []string{"--tracking-uri", "http://[::1", "--", "true"}, ran: true, state: "journaled",
			stderr: []string{`^mltrack: warning: tracking store http://\[::1: tracking URI "http://\[::1" is not an http\(s\)://host\[:port\]\[/path\] address$`, deliverLater}},
		{name: "tracking server down", args: []string{"--tracking-uri", "http://{closed}", "--start-budget", "1s", "--end-budget", "1s", "--", "testchild", "out", "fine"},
			ran: true, state: "journaled",
			stderr: []string{`^mltrack: warning: tracking store: experiment: get experiment 0: GET http://127\.0\.0\.1:\d+/api/2\.0/mlflow/experiments/get: dial tcp 127\.0\.0\.1:\d+: connect: connection refused \(is the tracking server running\?\).*$`, deliverLater}},

		// --- stores that cannot be read or written ---
		{name: "sqlite file that is not a database", args: []string{"--tracking-uri", "sqlite:///bad.db", "--", "true"}, ran: true, state: "journaled",
			setup:  func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "bad.db"), "garbage, not SQLite\n") },
			stderr: []string{sqlitePrefixWarn + `/bad\.db: read the tables and their columns: file is not a database \(26\)$`, deliverLater}},
		{name: "sqlite path is a directory", args: []string{"--tracking-uri", "sqlite:///dir.db", "--", "true"}, ran: true, state: "journaled",
			setup:  func(t *testing.T, dir string) { os.Mkdir(filepath.Join(dir, "dir.db"), 0o755) },
			stderr: []string{sqlitePrefixWarn + `/dir\.db: read the tables and their columns: unable to open database file \(14\)$`, deliverLater}},
		{name: "sqlite path through a regular file", args: []string{"--tracking-uri", "sqlite:///afile/sub/mlflow.db", "--", "true"}, ran: true, state: "journaled",
			setup:  func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "afile"), "x") },
			stderr: []string{`^mltrack: warning: tracking store.*afile/sub/mlflow\.db.*not a directory.*$`, deliverLater}},
		{name: "file store inside a regular file", args: []string{"--tracking-uri", "afile/mlruns", "--", "true"}, ran: true, state: "journaled",
			setup:  func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "afile"), "x") },
			stderr: []string{`^mltrack: warning: tracking store file://.*/afile/mlruns: .*not a directory$`, deliverLater}},
		{name: "sqlite schema at an unknown alembic revision with known tables", args: []string{"--", "true"}, ran: true, state: "delivered",
			setup: func(t *testing.T, dir string) {
				execSQL(t, newSQLiteStore(t, dir), `UPDATE alembic_version SET version_num = 'ffffffffffff'`)
			}},
		{name: "sqlite schema mltrack does not know", args: []string{"--", "testchild", "out", "kept"}, ran: true, state: "journaled",
			setup: func(t *testing.T, dir string) {
				execSQL(t, newSQLiteStore(t, dir),
					`UPDATE alembic_version SET version_num = 'ffffffffffff'`,
					`ALTER TABLE params RENAME COLUMN value TO value_v2`)
			},
			stderr: []string{`^mltrack: warning: tracking store: experiment: sqlite database .*/mlflow\.db: table "params" has no column "value", which mltrack needs; the database was made by an MLflow whose schema mltrack does not know: upgrade mltrack, or run ` + "`" + `mlflow server --backend-store-uri sqlite:///.*/mlflow\.db` + "`" + ` and set MLFLOW_TRACKING_URI to that server \(http://127\.0\.0\.1:5000\).*$`, deliverLater}},
		{name: "experiment id that does not exist", args: []string{"--experiment-id", "999", "--", "true"}, ran: true, state: "journaled",
			stderr: []string{`^mltrack: warning: tracking store: experiment: experiment id 999 does not exist in sqlite:///.*/mlflow\.db; create it or use -e NAME: .*not found$`, deliverLater}},

		// --- the journal cannot be written: the run still goes to the store ---
		{name: "spool directory is a regular file", args: []string{"--", "testchild", "out", "x", ";", "exit", "2"},
			env: []string{"MLTRACK_SPOOL_DIR={dir}/spoolfile"}, code: 2, ran: true, state: "delivered",
			setup:  func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "spoolfile"), "x") },
			stderr: []string{journalUnusable}},
		{name: "spool directory under /dev/full", args: []string{"--", "true"},
			env: []string{"MLTRACK_SPOOL_DIR={dir}/full/spool"}, ran: true, state: "delivered",
			setup: func(t *testing.T, dir string) {
				if err := os.Symlink("/dev/full", filepath.Join(dir, "full")); err != nil {
					t.Fatal(err)
				}
			},
			stderr: []string{journalUnusable, `^mltrack: warning: spool directory .*/full/spool: lstat .*: not a directory$`}},

		// --- output directories ---
		{name: "output directory missing", args: []string{"-o", "nonexist", "--", "true"}, ran: true, state: "delivered",
			stderr: []string{`^mltrack: warning: output directories: output directory nonexist does not exist$`}},
		{name: "output directory is a file", args: []string{"-o", "afile", "--", "true"}, ran: true, state: "delivered",
			setup:  func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "afile"), "x") },
			stderr: []string{`^mltrack: warning: output directories: output directory afile is not a directory$`}},
		{name: "output directory with loops, escaping symlinks and a fifo",
			args: []string{"-o", "od", "--", "sh", "-c", "echo a > od/a.txt; ln -s ../secret.txt od/escape; ln -s /etc/hostname od/abs; ln -s loop1 od/loop2; ln -s loop2 od/loop1; mkfifo od/fifo; ln -s a.txt od/inside"},
			ran:  true, state: "delivered",
			setup: func(t *testing.T, dir string) {
				os.Mkdir(filepath.Join(dir, "od"), 0o755)
				writeFile(t, filepath.Join(dir, "secret.txt"), "OUTSIDE-SECRET-4242\n")
			},
			stderr: []string{
				`^mltrack: warning: output .*/od/escape skipped: symlink points outside the output directory$`,
				`^mltrack: warning: output .*/od/abs skipped: symlink points outside the output directory$`,
				`^mltrack: warning: output .*/od/loop1 skipped: symlink loop$`,
				`^mltrack: warning: output .*/od/loop2 skipped: symlink loop$`,
				`^mltrack: warning: output .*/od/fifo skipped: named pipe \(FIFO\), not a regular file$`,
			},
			check: func(t *testing.T, dir string, sum badInputSummary) {
				if got := string(findArtifact(t, dir, "outputs/a.txt")); got != "a\n" {
					t.Errorf("outputs/a.txt = %q", got)
				}
				if got := string(findArtifact(t, dir, "outputs/inside")); got != "a\n" {
					t.Errorf("outputs/inside (a symlink inside the directory) = %q", got)
				}
				assertNotUnder(t, filepath.Join(dir, "mlruns"), "OUTSIDE-SECRET-4242")
				assertNotUnder(t, filepath.Join(dir, "mlflow.db"), "OUTSIDE-SECRET-4242")
			}},

		// --- commands that misbehave ---
		{name: "command closes its stdout early and runs on",
			args: []string{"--", "sh", "-c", "echo before; exec 1>&-; sleep 0.3; echo after >&2; exit 5"},
			code: 5, ran: true, state: "delivered"},
		{name: "command ignores TERM under timeout", args: []string{"--timeout", "0.3s", "--kill-after", "0.3s", "--", "sh", "-c", "trap '' TERM; echo up; sleep 5"},
			code: 137, ran: true, state: "delivered",
			check: func(t *testing.T, dir string, sum badInputSummary) {
				if v, _ := tagOf(storedRun(t, sum), "mltrack.signal"); v != "SIGKILL" {
					t.Errorf("mltrack.signal = %q, want SIGKILL", v)
				}
			}},
		{name: "command honours TERM under timeout", args: []string{"--timeout", "0.3s", "--", "sleep", "5"},
			code: 124, ran: true, state: "delivered"},
	}
}

// bareCommand is what the case's command does without mltrack: timeouts as coreutils timeout.
func bareCommand(c badInputCase, args []string) []string {
	argv := commandOf(args)
	for i := 0; i < len(args) && args[i] != "--"; i++ {
		if args[i] == "--timeout" {
			pre := []string{"timeout"}
			for j := 0; j < len(args) && args[j] != "--"; j++ {
				if args[j] == "--kill-after" {
					pre = append(pre, "-k", args[j+1])
				}
			}
			return append(append(pre, args[i+1]), argv...)
		}
	}
	return argv
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("the suite uses sh, fifos and symlinks")
	}
	bin := testBinary(t, "mltrack")
	cases := badInputCases()
	if len(cases) < 30 {
		t.Fatalf("the table has %d cases; issue #6 asks for at least 30", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			closed := closedPort(t)
			fill := func(args []string, dir string) []string {
				out := expand(args, dir)
				for i := range out {
					out[i] = strings.ReplaceAll(out[i], "{closed}", closed)
				}
				return out
			}
			dir := t.TempDir()
			if c.setup != nil {
				c.setup(t, dir)
			}
			args := fill(c.args, dir)
			summaryPath := filepath.Join(dir, ".summary.json")
			argv := []string{bin}
			if c.ran {
				argv = append(argv, "-q", "--summary-json", summaryPath, "--sample-interval", "0")
			}
			argv = append(argv, args...)
			res := runProcess(t, dir, cleanEnv(dir, c.env), argv, nil)
			if res.code != c.code {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", res.code, c.code, res.stderr)
			}
			own, other := splitStderr(res.stderr)
			checkOwnLines(t, own, c.stderr)

			if !c.ran {
				// A wrong invocation: exactly one line, nothing on stdout, nothing created.
				if len(own) != 1 || len(other) != 0 || len(res.stdout) != 0 {
					t.Errorf("want one line on stderr and nothing on stdout; got stdout %q stderr %q", res.stdout, res.stderr)
				}
				for _, p := range []string{"mlflow.db", "mlruns", ".spool"} {
					if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
						t.Errorf("%s was created by a wrong invocation", p)
					}
				}
				return
			}

			if !c.noBare {
				bareDir := t.TempDir()
				if c.setup != nil {
					c.setup(t, bareDir)
				}
				bare := runProcess(t, bareDir, cleanEnv(bareDir, c.env), bareCommand(c, fill(c.args, bareDir)), nil)
				if bare.code != res.code {
					t.Errorf("exit code %d, the bare command's %d", res.code, bare.code)
				}
				if !bytes.Equal(bare.stdout, res.stdout) {
					t.Errorf("stdout %q, the bare command's %q", res.stdout, bare.stdout)
				}
				_, bareOther := splitStderr(bare.stderr)
				if strings.Join(other, "\n") != strings.Join(bareOther, "\n") {
					t.Errorf("the command's stderr %q, bare %q", other, bareOther)
				}
			}

			sum := readSummary(t, summaryPath)
			if sum.Tracking.State != c.state {
				t.Fatalf("tracking state %q, want %q (summary %+v)", sum.Tracking.State, c.state, sum)
			}
			want := c.status
			if want == "" {
				want = defaultStatus(c.code)
			}
			if sum.Status != want {
				t.Errorf("summary status %s, want %s", sum.Status, want)
			}
			switch c.state {
			case "delivered":
				if got := storedRun(t, sum).Info.Status; got != want {
					t.Errorf("stored status %s, want %s", got, want)
				}
			case "journaled":
				p, err := journal.Load(sum.Tracking.Journal)
				if err != nil {
					t.Fatalf("journal: %v", err)
				}
				if !p.Ended() || p.Delivered() {
					t.Errorf("journal %s: ended %v, delivered %v; want an ended, undelivered run", p.Dir, p.Ended(), p.Delivered())
				}
			}
			if c.check != nil {
				c.check(t, dir, sum)
			}
		})
	}
}

// findArtifact reads one artifact of the only run in dir's default store (sqlite:///mlflow.db keeps
// artifacts in ./mlruns/<experiment>/<run>/artifacts, as MLflow does).
func findArtifact(t *testing.T, dir, artifactPath string) []byte {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(dir, "mlruns", "*", "*", "artifacts", filepath.FromSlash(artifactPath)))
	if len(matches) != 1 {
		t.Fatalf("artifact %s: found %v", artifactPath, matches)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertNotUnder fails when any file below root holds secret. Symlinks are not followed.
func assertNotUnder(t *testing.T, root, secret string) {
	t.Helper()
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds %q", path, secret)
		}
		return nil
	})
}

// TestBadInputStdoutReaderGoesAway: the reader of mltrack's stdout closes after one byte (`| head
// -c1`). mltrack must not die of SIGPIPE itself: the command meets the broken pipe as it would
// alone, mltrack exits like it and records the run.
func TestBadInputStdoutReaderGoesAway(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("SIGPIPE")
	}
	bin := testBinary(t, "mltrack")
	script := `i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; exit 3`
	run := func(dir string, argv []string) invocationResult {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			var b [1]byte
			r.Read(b[:])
			r.Close()
		}()
		defer w.Close()
		res := runProcess(t, dir, cleanEnv(dir, nil), argv, w)
		return res
	}
	bareDir, dir := t.TempDir(), t.TempDir()
	bare := run(bareDir, []string{"sh", "-c", script})
	res := run(dir, []string{bin, "-q", "--summary-json", filepath.Join(dir, "s.json"), "--", "sh", "-c", script})
	if res.code != bare.code {
		t.Errorf("exit code %d, bare %d; stderr:\n%s", res.code, bare.code, res.stderr)
	}
	sum := readSummary(t, filepath.Join(dir, "s.json"))
	if sum.Tracking.State != "delivered" {
		t.Errorf("tracking %+v", sum.Tracking)
	}
	if got := storedRun(t, sum).Info.Status; got != defaultStatus(bare.code) {
		t.Errorf("stored status %s for exit %d", got, bare.code)
	}
	own, _ := splitStderr(res.stderr)
	checkOwnLines(t, own, nil)
}

// TestBadInputOutputsVanish: files the command leaves behind are deleted by a process it started,
// while mltrack collects and uploads them. Whatever the timing, mltrack neither hangs nor crashes,
// exits like the command, keeps the run, uploads the file that stays, and says what vanished.
func TestBadInputOutputsVanish(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("sh")
	}
	bin := testBinary(t, "mltrack")
	dir := t.TempDir()
	script := `mkdir -p od; echo stays > od/keep.txt; i=0; while [ $i -lt 300 ]; do echo $i > od/f$i.txt; i=$((i+1)); done
( i=0; while [ $i -lt 300 ]; do rm -f od/f$i.txt; i=$((i+1)); done ) >/dev/null 2>&1 </dev/null &
exit 0`
	res := runProcess(t, dir, cleanEnv(dir, nil), []string{bin, "-q", "--summary-json", filepath.Join(dir, "s.json"), "-o", "od", "--", "sh", "-c", script}, nil)
	if res.code != 0 {
		t.Errorf("exit code %d\n%s", res.code, res.stderr)
	}
	own, _ := splitStderr(res.stderr)
	for _, l := range own {
		if !regexp.MustCompile(`^mltrack: warning: (output outputs/f\d+\.txt vanished before it could be recorded|artifacts: outputs/f\d+\.txt was removed before it could be uploaded; files that vanish are skipped|could not keep outputs/f\d+\.txt in the journal: .*no such file or directory|deliver it later with: mltrack sync.*)$`).MatchString(l) {
			t.Errorf("unexpected line %q", l)
		}
	}
	sum := readSummary(t, filepath.Join(dir, "s.json"))
	if sum.RunID == "" {
		t.Fatalf("the run was not created: %+v", sum)
	}
	if got := string(findArtifact(t, dir, "outputs/keep.txt")); got != "stays\n" {
		t.Errorf("outputs/keep.txt = %q", got)
	}
	t.Logf("tracking %+v, artifacts %+v, %d warning lines", sum.Tracking, sum.Artifacts, len(own))
	if sum.Tracking.State == "journaled" {
		// A file that vanished cannot be delivered later either: the journal must not keep the
		// run pending for ever because of it.
		p, err := journal.Load(sum.Tracking.Journal)
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("the run stays pending in the journal because outputs vanished: %d undelivered events (%s)", len(p.Undelivered()), p.Dir)
	}
}

// TestBadInputFullDisk: the journal's file system is full (a 16 KiB tmpfs in a private mount
// namespace). The command's bytes and exit status are untouched; the run reaches the store, or the
// journal keeps what fitted; a warning says what happened.
func TestBadInputFullDisk(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root on Linux to mount a tmpfs in a private mount namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare")
	}
	bin := testBinary(t, "mltrack")
	for _, tc := range []struct {
		name  string
		flags string
		state string
	}{
		{"store up", "", "delivered"},
		{"store down", "--tracking-uri http://" + closedPort(t) + " --start-budget 0.5s --end-budget 0.5s", "journaled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			full := filepath.Join(dir, "full")
			os.Mkdir(full, 0o755)
			probe := exec.Command(unshare, "-m", "sh", "-c", "mount -t tmpfs -o size=16k tmpfs "+full)
			if out, err := probe.CombinedOutput(); err != nil {
				t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
			}
			cmd := `head -c 300000 /dev/zero | tr '\0' x; echo; exit 4`
			script := fmt.Sprintf("mount -t tmpfs -o size=16k tmpfs %s && exec %s -q --summary-json %s/s.json %s -- sh -c %q",
				full, bin, dir, tc.flags, cmd)
			res := runProcess(t, dir, cleanEnv(dir, []string{"MLTRACK_SPOOL_DIR=" + full + "/spool"}), []string{unshare, "-m", "sh", "-c", script}, nil)
			if res.code != 4 || len(res.stdout) != 300001 || !bytes.Equal(res.stdout[:300000], bytes.Repeat([]byte("x"), 300000)) {
				t.Errorf("exit %d, %d bytes of stdout; want 4 and the command's 300001 bytes\n%s", res.code, len(res.stdout), res.stderr)
			}
			own, _ := splitStderr(res.stderr)
			logFull := regexp.MustCompile(`^mltrack: warning: output log: stdout log: write .*/full/spool/[0-9a-f]+/files/logs/stdout\.log: no space left on device.*$`)
			allowed := regexp.MustCompile(`^mltrack: warning: (tracking store: .*connection refused.*|deliver it later with: mltrack sync.*|journal: .*no space left on device.*|could not keep .* in the journal: .*no space left on device)$`)
			sawFull := false
			for _, l := range own {
				switch {
				case logFull.MatchString(l):
					sawFull = true
				case allowed.MatchString(l):
				default:
					t.Errorf("unexpected line %q", l)
				}
			}
			if !sawFull {
				t.Errorf("no warning says the log could not be written:\n%s", res.stderr)
			}
			sum := readSummary(t, filepath.Join(dir, "s.json"))
			if sum.Tracking.State != tc.state {
				t.Errorf("tracking %+v, want %s", sum.Tracking, tc.state)
			}
			// The message should say what to do, not only what went wrong (principle 6).
			for _, l := range own {
				if strings.Contains(l, "no space left") && !strings.Contains(l, "MLTRACK_SPOOL_DIR") && !strings.Contains(l, "free") {
					t.Errorf("the full-disk warning does not say what to do (free space, or set MLTRACK_SPOOL_DIR): %q", l)
				}
			}
		})
	}
}

// Secret values planted for the security tests. Each is long enough to be masked (at least 6
// characters) and unlikely to appear by chance.
const (
	envSecret   = "s3cr3t-value-123"  // MY_API_TOKEN, a secret-named variable
	argSecret   = "tok-arg-secret-77" // --token VALUE on the command line
	paramSecret = "hunter2-param-99"  // -p password=VALUE
	tagSecret   = "tag-secret-555"    // -t api_key=VALUE
	uriSecret   = "pw-in-uri-5678"    // https://user:PASSWORD@host
)

// plantedSecrets are the values mltrack knows to be secret from the environment, the command line
// and the tracking URI. The values of secret-named -p/-t are checked apart (see
// TestSecurityParamSecretsMaskedEverywhere).
var plantedSecrets = []string{envSecret, argSecret, uriSecret}

// secretArgs runs a command that prints every planted secret, with secrets in params, tags, the
// note and the command line.
func secretArgs(extra ...string) []string {
	args := append([]string{
		"-q", "--sample-interval", "0",
		"-p", "password=" + paramSecret, "-t", "api_key=" + tagSecret,
		"--note", "uses " + envSecret,
	}, extra...)
	return append(args, "--", "testchild", "args", "--token", argSecret, envSecret, ";",
		"err", envSecret+" "+argSecret+" "+uriSecret+"\n", ";", "out", paramSecret+" "+tagSecret+"\n")
}

func secretEnv() []string {
	return []string{"MY_API_TOKEN=" + envSecret, "MLFLOW_TRACKING_PASSWORD=" + uriSecret}
}

// assertNoSecrets fails for every planted secret found in a file below root (or in root itself).
func assertNoSecrets(t *testing.T, root string) {
	t.Helper()
	for _, s := range plantedSecrets {
		assertNotUnder(t, root, s)
	}
}

func assertNoSecretsIn(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range plantedSecrets {
		if strings.Contains(text, s) {
			t.Errorf("%s holds the secret %q:\n%s", what, s, text)
		}
	}
}

// TestSecuritySecretsMasked: with each kind of store, and with the store down (the run in the
// journal), no planted secret is at rest anywhere in the working directory, the spool or HOME, nor
// in mltrack's own stderr; the terminal still gets the command's real bytes.
func TestSecuritySecretsMasked(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("unix paths")
	}
	bin := testBinary(t, "mltrack")
	for _, tc := range []struct {
		name  string
		flags []string
		state string
	}{
		{"sqlite", nil, "delivered"},
		{"file store", []string{"--tracking-uri", "mlruns"}, "delivered"},
		{"journal", []string{"--tracking-uri", "https://user:" + uriSecret + "@" + closedPort(t), "--start-budget", "1s", "--end-budget", "1s"}, "journaled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			sumPath := filepath.Join(dir, "s.json")
			argv := append([]string{bin, "--summary-json", sumPath}, secretArgs(tc.flags...)...)
			res := runProcess(t, dir, cleanEnv(dir, secretEnv()), argv, nil)
			if res.code != 0 {
				t.Fatalf("exit %d\n%s", res.code, res.stderr)
			}
			for _, s := range []string{argSecret, envSecret, paramSecret, tagSecret} {
				if !bytes.Contains(res.stdout, []byte(s)) {
					t.Errorf("the terminal did not get the command's bytes %q: %q", s, res.stdout)
				}
			}
			own, _ := splitStderr(res.stderr)
			assertNoSecretsIn(t, "mltrack's stderr", strings.Join(own, "\n"))
			sum := readSummary(t, sumPath)
			if sum.Tracking.State != tc.state {
				t.Fatalf("tracking %+v, want %s", sum.Tracking, tc.state)
			}
			// Everything at rest: the store (DB, WAL, artifacts, file store tree), the summary, the
			// journal (HOME and the spool are inside dir).
			assertNoSecrets(t, dir)
			if tc.state == "delivered" {
				run := storedRun(t, sum)
				if v, _ := paramOf(run, "password"); v != "***" {
					t.Errorf("param password = %q, want ***", v)
				}
				if v, _ := tagOf(run, "api_key"); v != "***" {
					t.Errorf("tag api_key = %q, want ***", v)
				}
				if v, _ := paramOf(run, "command"); !strings.Contains(v, "--token '***'") {
					t.Errorf("param command = %q, want the token masked", v)
				}
			}
		})
	}
}

// TestSecurityParamSecretsMaskedEverywhere: a value given as a secret-named param or tag
// (-p password=X, -t api_key=X) is masked in that param, and also wherever else it appears: the
// command's output logs, the recorded command line, the journal.
func TestSecurityParamSecretsMaskedEverywhere(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("unix paths")
	}
	bin := testBinary(t, "mltrack")
	dir := t.TempDir()
	sumPath := filepath.Join(dir, "s.json")
	argv := append([]string{bin, "--summary-json", sumPath}, secretArgs()...)
	res := runProcess(t, dir, cleanEnv(dir, secretEnv()), argv, nil)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	run := storedRun(t, readSummary(t, sumPath))
	if v, _ := paramOf(run, "password"); v != "***" {
		t.Errorf("param password = %q, want ***", v)
	}
	for _, s := range []string{paramSecret, tagSecret} {
		assertNotUnder(t, dir, s)
	}
}

// TestSecurityErrorsMasked: error messages and the tags that keep them hold no secret.
func TestSecurityErrorsMasked(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("unix paths")
	}
	bin := testBinary(t, "mltrack")
	dir := t.TempDir()
	sumPath := filepath.Join(dir, "s.json")
	res := runProcess(t, dir, cleanEnv(dir, secretEnv()), []string{bin, "-q", "--summary-json", sumPath, "--", "/nonexistent/" + envSecret, "--token", argSecret}, nil)
	if res.code != 127 {
		t.Errorf("exit %d, want 127", res.code)
	}
	assertNoSecretsIn(t, "stderr", res.stderr)
	if !regexp.MustCompile(`(?m)^mltrack: cannot run "/nonexistent/\*\*\*": no such file or directory$`).MatchString(res.stderr) {
		t.Errorf("stderr %q", res.stderr)
	}
	assertNoSecrets(t, dir)

	// A tracking URI with credentials that fails: the message names the server without them.
	dir = t.TempDir()
	res = runProcess(t, dir, cleanEnv(dir, nil), []string{bin, "-q", "--tracking-uri", "http://user:" + uriSecret + "@" + closedPort(t), "--start-budget", "0.5s", "--end-budget", "0.5s", "--", "true"}, nil)
	assertNoSecretsIn(t, "stderr", res.stderr)
	assertNoSecrets(t, dir)
}

// TestSecurityPrivatePermissions: the journal is private (documented: docs/stores.md, server.md).
// New local stores are reported (MLflow itself creates them with the process umask).
func TestSecurityPrivatePermissions(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("unix permissions")
	}
	bin := testBinary(t, "mltrack")
	old := syscall.Umask(0o022)
	syscall.Umask(old)
	dir := t.TempDir()
	sumPath := filepath.Join(dir, "s.json")
	res := runProcess(t, dir, cleanEnv(dir, nil), []string{bin, "-q", "--summary-json", sumPath, "--tracking-uri", "http://" + closedPort(t), "--start-budget", "0.5s", "--end-budget", "0.5s", "--", "testchild", "out", "x"}, nil)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	spool := filepath.Join(dir, ".spool")
	n := 0
	_ = filepath.WalkDir(spool, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		info, err := os.Lstat(path)
		if err != nil {
			return nil
		}
		n++
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: the journal must be private (no group or other access)", path, info.Mode().Perm())
		}
		return nil
	})
	if n < 3 {
		t.Errorf("the journal has %d entries; the run was not journaled", n)
	}

	// The stores mltrack creates are private too: the SQLite database (0600) and its artifact
	// root (0700), and a file store's root (0700). Nothing inside is world-writable.
	dir = t.TempDir()
	runProcess(t, dir, cleanEnv(dir, nil), []string{bin, "-q", "--", "testchild", "out", "x"}, nil)
	fsDir := t.TempDir()
	runProcess(t, fsDir, cleanEnv(fsDir, nil), []string{bin, "-q", "--tracking-uri", "mlruns", "--", "testchild", "out", "x"}, nil)
	for path, want := range map[string]os.FileMode{
		filepath.Join(dir, "mlflow.db"): 0o600, filepath.Join(dir, "mlruns"): 0o700, filepath.Join(fsDir, "mlruns"): 0o700,
	} {
		if info, err := os.Stat(path); err != nil {
			t.Error(err)
		} else if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v (umask %03o)", path, info.Mode().Perm(), want, old)
		}
		_ = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
			if err == nil {
				if info, err := os.Lstat(p); err == nil && info.Mode().Perm()&0o002 != 0 {
					t.Errorf("%s is world-writable (%v)", p, info.Mode().Perm())
				}
			}
			return nil
		})
	}
}

// TestSecurityTLSVerified: a tracking server whose certificate is not trusted is refused (the run
// is journaled, the command unaffected); MLflow's MLFLOW_TRACKING_INSECURE_TLS=true and
// MLFLOW_TRACKING_SERVER_CERT_PATH let mltrack talk to it.
func TestSecurityTLSVerified(t *testing.T) {
	t.Parallel()
	bin := testBinary(t, "mltrack")
	var hits atomicCounter
	srv := httptestTLSServer(t, &hits)
	certPath := filepath.Join(t.TempDir(), "server.pem")
	writeFile(t, certPath, srv.certPEM)
	for _, tc := range []struct {
		name     string
		env      []string
		reached  bool
		warnLine string
	}{
		{"verified by default", nil, false, `^mltrack: warning: tracking store: experiment: .*certificate.*$`},
		{"insecure by MLflow's variable", []string{"MLFLOW_TRACKING_INSECURE_TLS=true"}, true, `^mltrack: warning: tracking store: experiment: .*$`},
		{"trusted by MLflow's cert path", []string{"MLFLOW_TRACKING_SERVER_CERT_PATH=" + certPath}, true, `^mltrack: warning: tracking store: experiment: .*$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hits.load()
			dir := t.TempDir()
			sumPath := filepath.Join(dir, "s.json")
			res := runProcess(t, dir, cleanEnv(dir, tc.env), []string{bin, "-q", "--summary-json", sumPath, "--tracking-uri", srv.url, "--start-budget", "2s", "--end-budget", "2s", "--", "testchild", "out", "ran", ";", "exit", "6"}, nil)
			if res.code != 6 || string(res.stdout) != "ran" {
				t.Errorf("exit %d stdout %q, want 6 and %q", res.code, res.stdout, "ran")
			}
			own, _ := splitStderr(res.stderr)
			checkOwnLines(t, own, []string{tc.warnLine, deliverLater})
			if reached := hits.load() > before; reached != tc.reached {
				t.Errorf("requests reached the server: %v, want %v\n%s", reached, tc.reached, res.stderr)
			}
			if s := readSummary(t, sumPath); s.Tracking.State != "journaled" {
				t.Errorf("tracking %+v, want journaled", s.Tracking)
			}
		})
	}
}

// TestSecurityOutputsStayInside: nothing outside the declared output directories is read: a
// symlink (made before the run, or by the command) to a secret file or directory outside is
// reported and skipped, with --all-outputs too, and the secret is nowhere in the store.
func TestSecurityOutputsStayInside(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("symlinks")
	}
	bin := testBinary(t, "mltrack")
	for _, all := range []bool{false, true} {
		t.Run(fmt.Sprintf("all-outputs=%v", all), func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "private", "id_key"), "OUTSIDE-SECRET-4242\n")
			os.Mkdir(filepath.Join(dir, "od"), 0o755)
			os.Symlink(filepath.Join(dir, "private", "id_key"), filepath.Join(dir, "od", "before"))
			args := []string{bin, "-q", "--summary-json", filepath.Join(dir, "s.json"), "-o", "od"}
			if all {
				args = append(args, "--all-outputs")
			}
			args = append(args, "--", "sh", "-c", "ln -s ../private/id_key od/made; ln -s ../private od/dirlink; ln ../private/id_key od/hardlink 2>/dev/null; echo ok > od/ok.txt")
			res := runProcess(t, dir, cleanEnv(dir, nil), args, nil)
			if res.code != 0 {
				t.Fatalf("exit %d\n%s", res.code, res.stderr)
			}
			own, _ := splitStderr(res.stderr)
			want := []string{
				`^mltrack: warning: output .*/od/made skipped: symlink points outside the output directory$`,
				`^mltrack: warning: output .*/od/dirlink skipped: symlink points outside the output directory$`,
			}
			beforeLine := regexp.MustCompile(`^mltrack: warning: output .*/od/before skipped: symlink points outside the output directory$`)
			if all {
				want = append(want, beforeLine.String())
			} else {
				// "before" was made a moment before the run: within the file system's timestamp
				// granularity it may count as changed during the run, and then it is reported
				// (never followed). Allowed, not required.
				own = slices.DeleteFunc(own, beforeLine.MatchString)
			}
			checkOwnLines(t, own, want)
			if got := string(findArtifact(t, dir, "outputs/ok.txt")); got != "ok\n" {
				t.Errorf("outputs/ok.txt = %q", got)
			}
			// A hard link is a file inside the directory (the same inode): it is uploaded, as any
			// file the command wrote there. Only symlinks can point outside.
			os.Remove(filepath.Join(dir, "od", "hardlink"))
			os.RemoveAll(filepath.Join(dir, "od"))
			for _, p := range []string{"mlruns", "mlflow.db"} {
				root := filepath.Join(dir, p)
				_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
					if err != nil || !d.Type().IsRegular() {
						return nil
					}
					if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("OUTSIDE-SECRET-4242")) && !strings.HasSuffix(path, "/outputs/hardlink") {
						t.Errorf("%s holds the content of a file outside the output directory", path)
					}
					return nil
				})
			}
		})
	}
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) load() int64 { return c.n.Load() }

type tlsTestServer struct {
	url     string
	certPEM string
}

// httptestTLSServer is a loopback HTTPS server with a self-signed certificate that answers every
// MLflow request with an error (what matters is whether the TLS handshake let the request in).
func httptestTLSServer(t *testing.T, hits *atomicCounter) tlsTestServer {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error_code":"INVALID_PARAMETER_VALUE","message":"test server takes no runs"}`)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return tlsTestServer{url: srv.URL, certPEM: string(block)}
}
