//go:build unix

package mlflowclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mltrack/mltrack/internal/mlflowtest"
)

// TestSQLiteMLflowServerServesRun: `mlflow server` on an mltrack-made database serves the run over
// REST and its artifact through /get-artifact. (Unix only: the server's workers are stopped as a
// process group.)
func TestSQLiteMLflowServerServesRun(t *testing.T) {
	py := mlflowtest.Python(t)
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "mlflow.db")
	st, err := OpenSQLite(sqliteURIFor(dbPath), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	info, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: "0", RunName: "served", StartTime: 1_700_000_000_000,
		Params: []Param{{Key: "issue_number", Value: "123"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.LogBatch(ctx, info.RunID, []Metric{{Key: "duration_seconds", Value: 61.5, Timestamp: 1_700_000_001_000}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateRun(ctx, info.RunID, StatusFinished, 1_700_000_002_000); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "report.txt")
	os.WriteFile(src, []byte("served bytes\n"), 0o644)
	if err := st.LogArtifact(ctx, info, src, "out/report.txt"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	// Started from another directory than the database's: the artifact location is absolute.
	cmd := exec.Command(py, "-m", "mlflow", "server", "--backend-store-uri", sqliteURIFor(dbPath),
		"--host", "127.0.0.1", "--port", fmt.Sprint(port), "--workers", "1")
	cmd.Dir = t.TempDir()
	// No job runner: it starts a fleet of worker processes this test does not need.
	cmd.Env = append(mlflowtest.CleanEnv(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}()

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(3 * time.Minute) // a loaded machine takes a minute to start it
	for {
		resp, err := client.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("mlflow server exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mlflow server not healthy within 3 minutes\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	get := func(path string) []byte {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s\n%s\n--- server log ---\n%s", path, resp.Status, body, logs.String())
		}
		return body
	}
	var got struct {
		Run struct {
			Info struct {
				RunID   string `json:"run_id"`
				RunName string `json:"run_name"`
				Status  string `json:"status"`
				EndTime int64  `json:"end_time"`
			} `json:"info"`
			Data struct {
				Params  []Param  `json:"params"`
				Metrics []Metric `json:"metrics"`
			} `json:"data"`
		} `json:"run"`
	}
	if err := json.Unmarshal(get("/api/2.0/mlflow/runs/get?run_id="+info.RunID), &got); err != nil {
		t.Fatal(err)
	}
	i := got.Run.Info
	if i.RunID != info.RunID || i.RunName != "served" || i.Status != "FINISHED" || i.EndTime != 1_700_000_002_000 ||
		len(got.Run.Data.Params) != 1 || got.Run.Data.Params[0] != (Param{Key: "issue_number", Value: "123"}) ||
		len(got.Run.Data.Metrics) != 1 || got.Run.Data.Metrics[0].Value != 61.5 {
		t.Errorf("runs/get = %+v", got.Run)
	}
	art := get("/get-artifact?path=" + url.QueryEscape("out/report.txt") + "&run_uuid=" + info.RunID)
	if string(art) != "served bytes\n" {
		t.Errorf("get-artifact = %q", art)
	}
}
