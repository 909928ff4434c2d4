package mlflowclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestFileStore opens a file store in a fresh temporary directory through a file: URI.
func newTestFileStore(t *testing.T) (*fileStore, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "mlruns")
	st, err := OpenFileStore("file://"+toURIPath(root), Options{Warn: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	return st.(*fileStore), root
}

func fsTestRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	fsTestTimeLine = regexp.MustCompile(`(?m)^(creation_time|last_update_time|start_time): \d+$`)
	fsTestIDLine   = regexp.MustCompile(`'\d{18}'`)
)

// fsTestNormaliseMeta replaces the values that change on every run so meta.yaml can be compared whole.
func fsTestNormaliseMeta(s, root string) string {
	s = fsTestTimeLine.ReplaceAllString(s, "$1: <T>")
	s = fsTestIDLine.ReplaceAllString(s, "'<ID>'")
	return strings.ReplaceAll(s, toURIPath(root), "<ROOT>")
}

func TestFileStoreOpenCreatesRoot(t *testing.T) {
	st, root := newTestFileStore(t)
	if !fsIsDir(filepath.Join(root, ".trash")) {
		t.Fatal(".trash was not created")
	}
	got := fsTestNormaliseMeta(fsTestRead(t, filepath.Join(root, "0", "meta.yaml")), root)
	want := `artifact_location: file://<ROOT>/0
creation_time: <T>
effective_trace_archival_retention: null
experiment_id: '0'
last_update_time: <T>
lifecycle_stage: active
name: Default
trace_location: null
workspace: default
`
	if got != want {
		t.Fatalf("0/meta.yaml:\n%s\nwant:\n%s", got, want)
	}
	exp, err := st.GetExperiment(context.Background(), "0")
	if err != nil {
		t.Fatal(err)
	}
	if exp.Name != "Default" || exp.LifecycleStage != LifecycleActive || exp.CreationTime == 0 || exp.ArtifactLocation != st.URI()+"/0" {
		t.Fatalf("experiment 0 = %+v", exp)
	}
	if !HasFileStoreData(root) {
		t.Fatal("HasFileStoreData does not recognise the new store")
	}
}

func TestFileStoreOpenExistingRoot(t *testing.T) {
	ctx := context.Background()
	t.Run("empty directory gets experiment 0", func(t *testing.T) {
		root := t.TempDir()
		st, err := OpenFileStore(root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetExperiment(ctx, "0"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("existing experiment 0 is left alone", func(t *testing.T) {
		_, root := newTestFileStore(t)
		meta := filepath.Join(root, "0", "meta.yaml")
		custom := "artifact_location: /elsewhere/0\ncreation_time: 1\nexperiment_id: '0'\nlast_update_time: 1\nlifecycle_stage: active\nname: Default\n"
		if err := os.WriteFile(meta, []byte(custom), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenFileStore(root, Options{}); err != nil {
			t.Fatal(err)
		}
		if got := fsTestRead(t, meta); got != custom {
			t.Fatalf("meta.yaml rewritten:\n%s", got)
		}
	})
	t.Run("a file is refused", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := OpenFileStore(f, Options{})
		if err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestFileStoreLocation(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX paths")
	}
	cwd, _ := os.Getwd()
	tests := []struct {
		uri, root, artifactRoot, shown string
	}{
		{"file:///data/mlruns", "/data/mlruns", "file:///data/mlruns", "file:///data/mlruns"},
		{"file:///data/mlruns/", "/data/mlruns", "file:///data/mlruns", "file:///data/mlruns"},
		{"file:///data/my%20runs", "/data/my runs", "file:///data/my%20runs", "file:///data/my%20runs"},
		{"file://localhost/data/mlruns", "/data/mlruns", "file://localhost/data/mlruns", "file://localhost/data/mlruns"},
		{"file:rel/mlruns", filepath.Join(cwd, "rel/mlruns"), "file://" + toURIPath(filepath.Join(cwd, "rel/mlruns")), "file://" + toURIPath(filepath.Join(cwd, "rel/mlruns"))},
		// A plain path: MLflow's artifact locations are then plain absolute paths.
		{"/data/mlruns", "/data/mlruns", "/data/mlruns", "/data/mlruns"},
		{"./mlruns", filepath.Join(cwd, "mlruns"), filepath.Join(cwd, "mlruns"), filepath.Join(cwd, "mlruns")},
	}
	for _, tt := range tests {
		root, art, shown, err := fsLocation(tt.uri)
		if err != nil {
			t.Errorf("%s: %v", tt.uri, err)
			continue
		}
		if root != tt.root || art != tt.artifactRoot || shown != tt.shown {
			t.Errorf("%s: got (%q, %q, %q), want (%q, %q, %q)", tt.uri, root, art, shown, tt.root, tt.artifactRoot, tt.shown)
		}
	}
	if _, _, _, err := fsLocation("file://otherhost/x"); err == nil {
		t.Error("a remote host was accepted")
	}
}

func TestFileStorePlainPathArtifactLocation(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("plain Windows paths become file: URIs")
	}
	root := filepath.Join(t.TempDir(), "plain")
	st, err := OpenFileStore(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.CreateExperiment(context.Background(), "plain")
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := st.GetExperiment(context.Background(), id)
	if exp.ArtifactLocation != root+"/"+id {
		t.Fatalf("artifact_location = %q", exp.ArtifactLocation)
	}
	if st.URI() != root {
		t.Fatalf("URI = %q", st.URI())
	}
}

func TestFileStoreExperimentIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 5000; i++ {
		id := fsNewExperimentID()
		if len(id) != 18 || id[0] == '0' || strings.Trim(id, "0123456789") != "" {
			t.Fatalf("bad id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	runID := fsNewRunID()
	if !regexp.MustCompile(`^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$`).MatchString(runID) {
		t.Fatalf("run id %q is not a uuid4 hex", runID)
	}
}

func TestFileStoreCreateExperiment(t *testing.T) {
	ctx := context.Background()
	st, root := newTestFileStore(t)
	id, err := st.CreateExperiment(ctx, "my exp: ünïcode")
	if err != nil {
		t.Fatal(err)
	}
	got := fsTestNormaliseMeta(fsTestRead(t, filepath.Join(root, id, "meta.yaml")), root)
	want := `artifact_location: file://<ROOT>/` + id + `
creation_time: <T>
effective_trace_archival_retention: null
experiment_id: '<ID>'
last_update_time: <T>
lifecycle_stage: active
name: 'my exp: ünïcode'
trace_location: null
workspace: default
`
	if got != want {
		t.Fatalf("meta.yaml:\n%s\nwant:\n%s", got, want)
	}
	byName, err := st.GetExperimentByName(ctx, "my exp: ünïcode")
	if err != nil || byName.ID != id || byName.LifecycleStage != LifecycleActive {
		t.Fatalf("GetExperimentByName = %+v, %v", byName, err)
	}
	if _, err := st.CreateExperiment(ctx, "my exp: ünïcode"); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("second create: %v", err)
	}
	if _, err := st.GetExperimentByName(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing name: %v", err)
	}
	for _, bad := range []string{"", "  ", strings.Repeat("x", 501)} {
		if _, err := st.CreateExperiment(ctx, bad); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	for _, bad := range []string{"../0", "a/b", "", ".trash"} {
		if _, err := st.GetExperiment(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetExperiment(%q) = %v", bad, err)
		}
	}
}

// fsTestDeleteExperiment does what FileStore.delete_experiment does.
func fsTestDeleteExperiment(t *testing.T, root, id string) {
	t.Helper()
	meta := filepath.Join(root, id, "meta.yaml")
	s := strings.Replace(fsTestRead(t, meta), "lifecycle_stage: active", "lifecycle_stage: deleted", 1)
	if err := os.WriteFile(meta, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, id), filepath.Join(root, ".trash", id)); err != nil {
		t.Fatal(err)
	}
}

func TestFileStoreDeletedExperiment(t *testing.T) {
	ctx := context.Background()
	st, root := newTestFileStore(t)
	id, err := st.CreateExperiment(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	fsTestDeleteExperiment(t, root, id)
	exp, err := st.GetExperimentByName(ctx, "gone")
	if err != nil || exp.ID != id || exp.LifecycleStage != LifecycleDeleted {
		t.Fatalf("GetExperimentByName = %+v, %v", exp, err)
	}
	if exp, err := st.GetExperiment(ctx, id); err != nil || exp.LifecycleStage != LifecycleDeleted {
		t.Fatalf("GetExperiment = %+v, %v", exp, err)
	}
	if _, err := st.CreateExperiment(ctx, "gone"); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("create over a deleted name: %v", err)
	}
	var del *DeletedExperimentError
	if _, err := EnsureExperiment(ctx, st, "gone"); !errors.As(err, &del) || del.ID != id {
		t.Fatalf("EnsureExperiment = %v", err)
	}
	if _, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: id, StartTime: 1}); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("CreateRun in a deleted experiment: %v", err)
	}
}

func TestFileStoreLookupSkipsForeignDirectories(t *testing.T) {
	ctx := context.Background()
	st, root := newTestFileStore(t)
	id, err := st.CreateExperiment(ctx, "real")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite := func(rel, content string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite("models/meta.yaml", "name: real\nexperiment_id: models\n")                        // model registry
	mustWrite("not an id/meta.yaml", "name: real\nexperiment_id: not an id\n")                  // invalid id
	mustWrite("555/meta.yaml", "name: real\nexperiment_id: '556'\n")                            // id mismatch
	mustWrite("777/meta.yaml", "name: [unclosed\n")                                             // unparsable
	mustWrite("README.txt", "a file at the root")                                               // ignored
	mustWrite("888/meta.yaml", "artifact_location: /x\nexperiment_id: 888\nname: legacy int\n") // legacy int id
	exp, err := st.GetExperimentByName(ctx, "real")
	if err != nil || exp.ID != id {
		t.Fatalf("GetExperimentByName = %+v, %v", exp, err)
	}
	legacy, err := st.GetExperimentByName(ctx, "legacy int")
	if err != nil || legacy.ID != "888" || legacy.LifecycleStage != LifecycleActive {
		t.Fatalf("legacy = %+v, %v", legacy, err)
	}
}

func TestFileStoreCreateRun(t *testing.T) {
	ctx := context.Background()
	st, root := newTestFileStore(t)
	expID, err := st.CreateExperiment(ctx, "runs")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.CreateRun(ctx, CreateRunRequest{
		ExperimentID: expID, UserID: "alice", StartTime: 1700000000123,
		Tags:   []Tag{{"mlflow.user", "alice"}, {"team/name", "vision"}},
		Params: []Param{{"lr", "0.01"}, {"model/depth", "12"}, {"empty", ""}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[a-z]+-[a-z]+-\d{1,4}$`).MatchString(info.RunName) || len(info.RunName) > 20 {
		t.Fatalf("generated run name %q", info.RunName)
	}
	runDir := filepath.Join(root, expID, info.RunID)
	for _, sub := range []string{"metrics", "params", "artifacts", "tags"} {
		if !fsIsDir(filepath.Join(runDir, sub)) {
			t.Fatalf("%s/ missing", sub)
		}
	}
	want := fmt.Sprintf(`artifact_uri: file://<ROOT>/%[1]s/%[2]s/artifacts
deleted_time: null
end_time: null
entry_point_name: ''
experiment_id: '<ID>'
lifecycle_stage: active
run_id: %[2]s
run_name: %[3]s
run_uuid: %[2]s
source_name: ''
source_type: 4
source_version: ''
start_time: <T>
status: 1
tags: []
user_id: alice
`, expID, info.RunID, info.RunName)
	if got := fsTestNormaliseMeta(fsTestRead(t, filepath.Join(runDir, "meta.yaml")), root); got != want {
		t.Fatalf("run meta.yaml:\n%s\nwant:\n%s", got, want)
	}
	if got := fsTestRead(t, filepath.Join(runDir, "params", "model", "depth")); got != "12" {
		t.Fatalf("param file = %q", got)
	}
	if got := fsTestRead(t, filepath.Join(runDir, "tags", "mlflow.runName")); got != info.RunName {
		t.Fatalf("mlflow.runName tag = %q", got)
	}
	wantInfo := RunInfo{RunID: info.RunID, ExperimentID: expID, RunName: info.RunName, UserID: "alice", Status: StatusRunning,
		StartTime: 1700000000123, ArtifactURI: st.URI() + "/" + expID + "/" + info.RunID + "/artifacts", LifecycleStage: LifecycleActive}
	if info != wantInfo {
		t.Fatalf("info = %+v\nwant %+v", info, wantInfo)
	}
	run, err := st.GetRun(ctx, info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Info != wantInfo {
		t.Fatalf("GetRun info = %+v", run.Info)
	}
	wantParams := []Param{{"empty", ""}, {"lr", "0.01"}, {"model/depth", "12"}}
	if fmt.Sprint(run.Data.Params) != fmt.Sprint(wantParams) {
		t.Fatalf("params = %v", run.Data.Params)
	}
	wantTags := []Tag{{"mlflow.runName", info.RunName}, {"mlflow.user", "alice"}, {"team/name", "vision"}}
	if fmt.Sprint(run.Data.Tags) != fmt.Sprint(wantTags) {
		t.Fatalf("tags = %v", run.Data.Tags)
	}

	t.Run("run name rules", func(t *testing.T) {
		tests := []struct {
			name    string
			tags    []Tag
			want    string
			wantTag string
		}{
			{"given", nil, "given", "given"},
			{"", []Tag{{"mlflow.runName", "from-tag"}}, "from-tag", "from-tag"},
			{"wins", []Tag{{"mlflow.runName", "loses"}}, "wins", "wins"},
		}
		for _, tt := range tests {
			info, err := st.CreateRun(ctx, CreateRunRequest{RunName: tt.name, Tags: tt.tags, StartTime: 1})
			if err != nil {
				t.Fatal(err)
			}
			if info.ExperimentID != "0" || info.RunName != tt.want {
				t.Errorf("%q: info = %+v", tt.name, info)
			}
			if got := fsTestRead(t, filepath.Join(root, "0", info.RunID, "tags", "mlflow.runName")); got != tt.wantTag {
				t.Errorf("%q: tag = %q", tt.name, got)
			}
		}
	})
	if _, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: "123", StartTime: 1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown experiment: %v", err)
	}
}

func fsTestRun(t *testing.T, st *fileStore) RunInfo {
	t.Helper()
	info, err := st.CreateRun(context.Background(), CreateRunRequest{ExperimentID: "0", UserID: "u", StartTime: 1000, RunName: "test-run"})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestFileStoreParamsAreWriteOnce(t *testing.T) {
	ctx := context.Background()
	st, root := newTestFileStore(t)
	info := fsTestRun(t, st)
	runDir := filepath.Join(root, "0", info.RunID)
	if err := st.LogBatch(ctx, info.RunID, nil, []Param{{"a", "1"}, {"b", "two words\nand a line"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.LogBatch(ctx, info.RunID, nil, []Param{{"a", "1"}}, nil); err != nil {
		t.Fatalf("same value again: %v", err)
	}
	err := st.LogBatch(ctx, info.RunID,
		[]Metric{{Key: "m", Value: 1, Timestamp: 5}},
		[]Param{{"a", "9"}, {"c", "3"}},
		[]Tag{{"t", "v"}})
	var pc *ParamConflictError
	if !errors.As(err, &pc) || pc.RunID != info.RunID || len(pc.Conflicts) != 1 || pc.Conflicts[0] != (ParamConflict{"a", "1", "9"}) {
		t.Fatalf("err = %v", err)
	}
	if got := fsTestRead(t, filepath.Join(runDir, "params", "a")); got != "1" {
		t.Fatalf("first value lost: %q", got)
	}
	if got := fsTestRead(t, filepath.Join(runDir, "params", "b")); got != "two words\nand a line" {
		t.Fatalf("b = %q", got)
	}
	// Everything else in the conflicting batch was written.
	if got := fsTestRead(t, filepath.Join(runDir, "params", "c")); got != "3" {
		t.Fatalf("c = %q", got)
	}
	if got := fsTestRead(t, filepath.Join(runDir, "metrics", "m")); got != "5 1.0 0\n" {
		t.Fatalf("metric = %q", got)
	}
	if got := fsTestRead(t, filepath.Join(runDir, "tags", "t")); got != "v" {
		t.Fatalf("tag = %q", got)
	}
}

func TestFileStoreTags(t *testing.T) {
	ctx := context.Background()
	st, root := newTestFileStore(t)
	info := fsTestRun(t, st)
	runDir := filepath.Join(root, "0", info.RunID)
	for _, v := range []string{"first", "second value", ""} {
		if err := st.LogBatch(ctx, info.RunID, nil, nil, []Tag{{"k/nested", v}}); err != nil {
			t.Fatal(err)
		}
		if got := fsTestRead(t, filepath.Join(runDir, "tags", "k", "nested")); got != v {
			t.Fatalf("tag = %q, want %q", got, v)
		}
	}
	if err := st.LogBatch(ctx, info.RunID, nil, nil, []Tag{{"mlflow.runName", "renamed: run"}}); err != nil {
		t.Fatal(err)
	}
	if meta := fsTestRead(t, filepath.Join(runDir, "meta.yaml")); !strings.Contains(meta, "run_name: 'renamed: run'\n") {
		t.Fatalf("meta.yaml not renamed:\n%s", meta)
	}
	run, err := st.GetRun(ctx, info.RunID)
	if err != nil || run.Info.RunName != "renamed: run" {
		t.Fatalf("GetRun = %+v, %v", run.Info, err)
	}
}

func TestFileStorePyFloatRepr(t *testing.T) {
	tenth := 0.1 // a variable, so that 0.1+0.2 is computed in float64 and not exactly
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {1, "1.0"}, {-2, "-2.0"}, {0.5, "0.5"}, {100, "100.0"},
		{1e-05, "1e-05"}, {0.0001, "0.0001"}, {1.5e-07, "1.5e-07"}, {1e16, "1e+16"}, {1234567890123456, "1234567890123456.0"},
		{1.5e300, "1.5e+300"}, {5e-324, "5e-324"}, {tenth + 2*tenth, "0.30000000000000004"}, {123456789.123, "123456789.123"},
		{math.MaxFloat64, "1.7976931348623157e+308"}, {math.NaN(), "nan"}, {math.Inf(1), "inf"}, {math.Inf(-1), "-inf"},
	}
	for _, tt := range tests {
		if got := pyFloatRepr(tt.v); got != tt.want {
			t.Errorf("pyFloatRepr(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestFileStoreParseMetricLine(t *testing.T) {
	tests := []struct {
		line string
		want Metric
		ok   bool
	}{
		{"1700 0.5 3\n", Metric{Timestamp: 1700, Value: 0.5, Step: 3}, true},
		{"1700 0.5", Metric{Timestamp: 1700, Value: 0.5}, true},
		{"1700 1e-05 2 train abc123", Metric{Timestamp: 1700, Value: 1e-05}, true}, // 5 fields: step ignored, as MLflow does
		{"1700 inf 1", Metric{Timestamp: 1700, Value: math.Inf(1), Step: 1}, true},
		{"1700 -inf 1\r\n", Metric{Timestamp: 1700, Value: math.Inf(-1), Step: 1}, true},
		{"", Metric{}, false},
		{"1700", Metric{}, false},
		{"1700 0.5 3 x", Metric{}, false},
		{"17x00 0.5 3", Metric{}, false},
		{"1700 abc 3", Metric{}, false},
		{"1700  0.5 3", Metric{}, false},
	}
	for _, tt := range tests {
		got, ok := fsParseMetricLine(tt.line)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("fsParseMetricLine(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
	if m, ok := fsParseMetricLine("1 nan 2"); !ok || !math.IsNaN(m.Value) {
		t.Errorf("nan: %+v %v", m, ok)
	}
}

func TestFileStoreMetrics(t *testing.T) {
	ctx := context.Background()
	st, root := newTestFileStore(t)
	info := fsTestRun(t, st)
	runDir := filepath.Join(root, "0", info.RunID)
	err := st.LogBatch(ctx, info.RunID, []Metric{
		{Key: "loss", Value: 0.5, Timestamp: 10, Step: 0},
		{Key: "system/cpu_utilization_percentage", Value: 12.5, Timestamp: 10, Step: 0},
		{Key: "loss", Value: 1e-05, Timestamp: 11, Step: 1},
		{Key: "odd", Value: math.NaN(), Timestamp: 1},
		{Key: "odd", Value: math.Inf(1), Timestamp: 2},
		{Key: "odd", Value: math.Inf(-1), Timestamp: 3},
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.LogBatch(ctx, info.RunID, []Metric{{Key: "loss", Value: 100, Timestamp: 12, Step: 2}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	wantFiles := map[string]string{
		"loss":                              "10 0.5 0\n11 1e-05 1\n12 100.0 2\n",
		"system/cpu_utilization_percentage": "10 12.5 0\n",
		"odd":                               "1 nan 0\n2 inf 0\n3 -inf 0\n",
	}
	for key, want := range wantFiles {
		if got := fsTestRead(t, filepath.Join(runDir, "metrics", filepath.FromSlash(key))); got != want {
			t.Errorf("metrics/%s = %q, want %q", key, got, want)
		}
	}
	run, err := st.GetRun(ctx, info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	latest := map[string]Metric{}
	for _, m := range run.Data.Metrics {
		latest[m.Key] = m
	}
	if m := latest["loss"]; m.Value != 100 || m.Step != 2 || m.Timestamp != 12 {
		t.Errorf("loss = %+v", m)
	}
	if m := latest["odd"]; !math.IsInf(m.Value, -1) {
		t.Errorf("odd = %+v (latest timestamp is -inf)", m)
	}
	if _, ok := latest["system/cpu_utilization_percentage"]; !ok || len(latest) != 3 {
		t.Errorf("metrics = %+v", run.Data.Metrics)
	}
}

func TestFileStoreLatestMetricOrder(t *testing.T) {
	// MLflow's latest value: max over lines by (step, timestamp, value), Python tuple comparison.
	tests := []struct {
		name  string
		lines string
		want  string
	}{
		{"higher step wins over later timestamp", "5 1 0\n1 2 2\n9 3 1\n", "1 2.0 2"},
		{"same step: later timestamp", "5 1 1\n9 0 1\n7 8 1\n", "9 0.0 1"},
		{"same step and time: larger value", "5 1 1\n5 3 1\n5 2 1\n", "5 3.0 1"},
		{"NaN first stays", "5 nan 1\n5 3 1\n", "5 nan 1"},
		{"NaN later never wins", "5 3 1\n5 nan 1\n", "5 3.0 1"},
		{"partial last line skipped", "5 3 1\n6", "5 3.0 1"},
		{"two fields mean step 0", "5 3 0\n6 4", "6 4.0 0"},
		{"garbage skipped", "5 3 1\n6 4 x\n", "5 3.0 1"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "m"), []byte(tt.lines), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := fsReadLatestMetrics(dir)
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v %v", tt.name, got, err)
		}
		if s := strings.TrimSpace(fsMetricLine(got[0])); s != tt.want {
			t.Errorf("%s: latest = %q, want %q", tt.name, s, tt.want)
		}
	}
}

func TestFileStoreUpdateRun(t *testing.T) {
	ctx := context.Background()
	st, root := newTestFileStore(t)
	info := fsTestRun(t, st)
	meta := filepath.Join(root, "0", info.RunID, "meta.yaml")
	for status, code := range fsRunStatusCodes {
		if err := st.UpdateRun(ctx, info.RunID, status, 5000); err != nil {
			t.Fatal(err)
		}
		if m := fsTestRead(t, meta); !strings.Contains(m, fmt.Sprintf("status: %d\n", code)) || !strings.Contains(m, "end_time: 5000\n") {
			t.Fatalf("%s:\n%s", status, m)
		}
		run, err := st.GetRun(ctx, info.RunID)
		if err != nil || run.Info.Status != status || run.Info.EndTime != 5000 {
			t.Fatalf("%s: %+v %v", status, run.Info, err)
		}
	}
	if err := st.UpdateRun(ctx, info.RunID, StatusFinished, 0); err != nil {
		t.Fatal(err)
	}
	if m := fsTestRead(t, meta); !strings.Contains(m, "end_time: 5000\n") {
		t.Fatalf("end time 0 changed end_time:\n%s", m)
	}
	if err := st.UpdateRun(ctx, info.RunID, "DONE", 1); err == nil {
		t.Fatal("unknown status accepted")
	}
	if err := st.UpdateRun(ctx, "0123456789abcdef0123456789abcdef", StatusFinished, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown run: %v", err)
	}
}

func TestFileStoreDeletedRunIsReadOnly(t *testing.T) {
	ctx := context.Background()
	st, root := newTestFileStore(t)
	info := fsTestRun(t, st)
	meta := filepath.Join(root, "0", info.RunID, "meta.yaml")
	s := strings.Replace(fsTestRead(t, meta), "lifecycle_stage: active", "lifecycle_stage: deleted", 1)
	if err := os.WriteFile(meta, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.LogBatch(ctx, info.RunID, nil, nil, []Tag{{"a", "b"}}); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("LogBatch: %v", err)
	}
	if err := st.UpdateRun(ctx, info.RunID, StatusFinished, 2); err == nil {
		t.Fatal("UpdateRun on a deleted run succeeded")
	}
	if run, err := st.GetRun(ctx, info.RunID); err != nil || run.Info.LifecycleStage != LifecycleDeleted {
		t.Fatalf("GetRun: %+v %v", run.Info, err)
	}
}

func TestFileStoreGetRunErrors(t *testing.T) {
	ctx := context.Background()
	st, root := newTestFileStore(t)
	for _, id := range []string{"0123456789abcdef0123456789abcdef", "../0", "..", "a/b", ""} {
		if _, err := st.GetRun(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetRun(%q) = %v", id, err)
		}
	}
	// A run directory without artifacts/ is skipped, as MLflow's _find_run_root does.
	info := fsTestRun(t, st)
	st.runDirs = map[string]string{}
	if err := os.Remove(filepath.Join(root, "0", info.RunID, "artifacts")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetRun(ctx, info.RunID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("run without artifacts/: %v", err)
	}
}

func TestFileStoreRejectsEscapingKeys(t *testing.T) {
	ctx := context.Background()
	st, root := newTestFileStore(t)
	info := fsTestRun(t, st)
	var warnings []string
	st.opts.Warn = func(s string) { warnings = append(warnings, s) }
	err := st.LogBatch(ctx, info.RunID,
		[]Metric{{Key: "../../escape", Value: 1}},
		[]Param{{"/abs", "x"}, {"ok", "y"}},
		[]Tag{{"a/../../b", "z"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 3 {
		t.Fatalf("warnings = %q", warnings)
	}
	var files []string
	_ = filepath.WalkDir(filepath.Dir(root), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	for _, f := range files {
		if strings.Contains(f, "escape") || strings.HasSuffix(f, "abs") || filepath.Base(f) == "b" {
			t.Errorf("file written outside its folder: %s", f)
		}
	}
}

// TestFileStoreReadsMLflowWrittenFiles reads a layout written the way MLflow 2.x and 3.x write it.
func TestFileStoreReadsMLflowWrittenFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	files := map[string]string{
		"0/meta.yaml": "artifact_location: file:///x/0\ncreation_time: 1\nexperiment_id: '0'\nlast_update_time: 1\nlifecycle_stage: active\nname: Default\n",
		"123/meta.yaml": "artifact_location: file:///x/123\ncreation_time: 1714380000000\nexperiment_id: '123'\n" +
			"last_update_time: 1714380000000\nlifecycle_stage: active\nname: 'yes'\n",
		"123/tags/mlflow.note.content": "about",
		// MLflow 2.x: run_uuid only, no status (reads RUNNING), int experiment id.
		"123/aaaa/meta.yaml": "artifact_uri: file:///x/123/aaaa/artifacts\nend_time: null\nentry_point_name: ''\nexperiment_id: '123'\n" +
			"lifecycle_stage: active\nrun_uuid: aaaa\nsource_name: ''\nsource_type: 4\nsource_version: ''\nstart_time: 17\ntags: []\nuser_id: bob\n",
		"123/aaaa/metrics/acc":         "1 0.5\n2 0.75 1\n",
		"123/aaaa/metrics/with_data":   "3 0.25 4 train 0123abcd\n",
		"123/aaaa/params/p":            "v",
		"123/aaaa/tags/mlflow.runName": "old-run-7",
		"123/bbbb/meta.yaml": "artifact_uri: file:///x/123/bbbb/artifacts\nend_time: 20\nexperiment_id: '123'\n" +
			"lifecycle_stage: active\nrun_id: bbbb\nrun_name: new-run\nstart_time: 10\nstatus: 3\nuser_id: ''\n",
	}
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, run := range []string{"aaaa", "bbbb"} {
		for _, sub := range []string{"metrics", "params", "artifacts"} {
			if err := os.MkdirAll(filepath.Join(root, "123", run, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	st, err := OpenFileStore(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := st.GetExperimentByName(ctx, "yes")
	if err != nil || exp.ID != "123" || exp.CreationTime != 1714380000000 || len(exp.Tags) != 1 || exp.Tags[0] != (Tag{"mlflow.note.content", "about"}) {
		t.Fatalf("experiment = %+v, %v", exp, err)
	}
	a, err := st.GetRun(ctx, "aaaa")
	if err != nil {
		t.Fatal(err)
	}
	wantA := RunInfo{RunID: "aaaa", ExperimentID: "123", RunName: "old-run-7", UserID: "bob", Status: StatusRunning, StartTime: 17,
		ArtifactURI: "file:///x/123/aaaa/artifacts", LifecycleStage: LifecycleActive}
	if a.Info != wantA {
		t.Fatalf("aaaa = %+v", a.Info)
	}
	if fmt.Sprint(a.Data.Metrics) != fmt.Sprint([]Metric{{"acc", 0.75, 2, 1}, {"with_data", 0.25, 3, 0}}) {
		t.Fatalf("metrics = %+v", a.Data.Metrics)
	}
	b, err := st.GetRun(ctx, "bbbb")
	if err != nil || b.Info.Status != StatusFinished || b.Info.EndTime != 20 || b.Info.RunName != "new-run" {
		t.Fatalf("bbbb = %+v, %v", b.Info, err)
	}
	// mltrack can keep writing to a run MLflow 2.x created, and keeps both id fields.
	if err := st.UpdateRun(ctx, "aaaa", StatusFailed, 99); err != nil {
		t.Fatal(err)
	}
	m := fsTestRead(t, filepath.Join(root, "123", "aaaa", "meta.yaml"))
	if !strings.Contains(m, "run_id: aaaa\n") || !strings.Contains(m, "run_uuid: aaaa\n") || !strings.Contains(m, "status: 4\n") {
		t.Fatalf("meta.yaml:\n%s", m)
	}
}

func TestFileStoreLogArtifact(t *testing.T) {
	ctx := context.Background()
	st, root := newTestFileStore(t)
	info := fsTestRun(t, st)
	src := filepath.Join(t.TempDir(), "out.txt")
	if err := os.WriteFile(src, []byte("artifact bytes\x00\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.LogArtifact(ctx, info, src, "outputs/out.txt"); err != nil {
		t.Fatal(err)
	}
	if err := st.LogArtifact(ctx, RunInfo{RunID: info.RunID}, src, "again.txt"); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"outputs/out.txt", "again.txt"} {
		if got := fsTestRead(t, filepath.Join(root, "0", info.RunID, "artifacts", filepath.FromSlash(rel))); got != "artifact bytes\x00\xff" {
			t.Fatalf("%s = %q", rel, got)
		}
	}
	if err := st.LogArtifact(ctx, info, src, "../escape"); err == nil {
		t.Fatal("escaping artifact path accepted")
	}
}

func TestFileStoreNote(t *testing.T) {
	if !strings.Contains(FileStoreNote, "MLFLOW_ALLOW_FILE_STORE=true") || !strings.Contains(FileStoreNote, "mlflow migrate-filestore --source DIR --target sqlite:///mlflow.db") {
		t.Fatal(FileStoreNote)
	}
	if runtime.GOOS == "windows" {
		return
	}
	got := FileStoreNoteFor("file:///data/my%20runs")
	if !strings.Contains(got, "--backend-store-uri '/data/my runs'") || !strings.Contains(got, "--source '/data/my runs' --target") {
		t.Fatal(got)
	}
}

// fsTestExperimentsNamed counts the experiment directories whose meta.yaml carries name.
func fsTestExperimentsNamed(t *testing.T, root, name string) []string {
	t.Helper()
	var ids []string
	for _, parent := range []string{root, filepath.Join(root, ".trash")} {
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(parent, e.Name(), "meta.yaml"))
			if err != nil {
				continue
			}
			m, err := fsParseMeta(b)
			if err == nil && m.str("name") == name {
				ids = append(ids, e.Name())
			}
		}
	}
	return ids
}

// fsTestNoStrayFiles checks that no temporary file was left anywhere and that nothing but
// experiment directories, .trash and the lock file sit at the root.
func fsTestNoStrayFiles(t *testing.T, root string) {
	t.Helper()
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if strings.HasPrefix(d.Name(), fsTempPrefix) && d.Name() != fsExperimentsLock {
			t.Errorf("stray temporary file %s", p)
		}
		return nil
	})
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if e.IsDir() && (e.Name() == ".trash" || fsExperimentIDPattern.MatchString(e.Name())) {
			continue
		}
		if e.Name() == fsExperimentsLock {
			continue
		}
		t.Errorf("unexpected entry at the store root: %s", e.Name())
	}
}

func TestFileStoreConcurrentCreateGoroutines(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "mlruns")
	const n = 32
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			// Each goroutine opens its own store, as separate processes would; the root does not
			// exist yet, so its initialisation races too.
			st, err := OpenFileStore("file://"+toURIPath(root), Options{LockTimeout: 10 * time.Second})
			if err != nil {
				errs[i] = err
				return
			}
			exp, err := EnsureExperiment(ctx, st, "race")
			ids[i], errs[i] = exp.ID, err
			if err == nil {
				_, errs[i] = st.CreateRun(ctx, CreateRunRequest{ExperimentID: exp.ID, StartTime: 1})
			}
		}(i)
	}
	close(start)
	wg.Wait()
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("goroutine %d got experiment %s, goroutine 0 got %s", i, ids[i], ids[0])
		}
	}
	if got := fsTestExperimentsNamed(t, root, "race"); len(got) != 1 {
		t.Fatalf("experiments named race: %v", got)
	}
	if got := fsTestExperimentsNamed(t, root, "Default"); len(got) != 1 {
		t.Fatalf("experiments named Default: %v", got)
	}
	runs, _ := os.ReadDir(filepath.Join(root, ids[0]))
	if len(runs) != n+1 { // n runs + meta.yaml
		t.Fatalf("experiment holds %d entries, want %d runs + meta.yaml", len(runs), n)
	}
	fsTestNoStrayFiles(t, root)
}

// TestFileStoreHelperProcess is not a test: TestFileStoreConcurrentCreateProcesses runs the test
// binary with it selected to get a separate process that creates an experiment.
func TestFileStoreHelperProcess(t *testing.T) {
	root := os.Getenv("MLTRACK_FILESTORE_HELPER_ROOT")
	if root == "" {
		t.Skip("helper process for TestFileStoreConcurrentCreateProcesses")
	}
	startAt, _ := strconv.ParseInt(os.Getenv("MLTRACK_FILESTORE_HELPER_START"), 10, 64)
	time.Sleep(time.Until(time.Unix(0, startAt))) // all helpers start together
	st, err := OpenFileStore(root, Options{LockTimeout: 20 * time.Second})
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	exp, err := EnsureExperiment(context.Background(), st, "process race")
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	fmt.Println("EXPERIMENT", exp.ID)
}

func TestFileStoreConcurrentCreateProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 32 processes")
	}
	root := filepath.Join(t.TempDir(), "mlruns")
	const n = 32
	startAt := time.Now().Add(2 * time.Second).UnixNano()
	type result struct {
		out string
		err error
	}
	results := make(chan result, n)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := 0; i < n; i++ {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFileStoreHelperProcess$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "MLTRACK_FILESTORE_HELPER_ROOT="+root, fmt.Sprintf("MLTRACK_FILESTORE_HELPER_START=%d", startAt))
		go func() {
			out, err := cmd.CombinedOutput()
			results <- result{string(out), err}
		}()
	}
	ids := map[string]int{}
	for i := 0; i < n; i++ {
		r := <-results
		if r.err != nil {
			t.Fatalf("helper: %v\n%s", r.err, r.out)
		}
		sc := bufio.NewScanner(strings.NewReader(r.out))
		found := false
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "EXPERIMENT "); ok {
				ids[id]++
				found = true
			}
		}
		if !found {
			t.Fatalf("helper printed no experiment:\n%s", r.out)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("helpers disagree on the experiment: %v", ids)
	}
	if got := fsTestExperimentsNamed(t, root, "process race"); len(got) != 1 {
		t.Fatalf("experiments named 'process race': %v", got)
	}
	fsTestNoStrayFiles(t, root)
}

// fsTestForeignExperiment writes an experiment the way a writer outside mltrack (the Python
// client) would, without the lock.
func fsTestForeignExperiment(t *testing.T, root, id, name string, created int64) {
	t.Helper()
	dir := filepath.Join(root, id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := Experiment{ID: id, Name: name, ArtifactLocation: "file:///foreign/" + id, LifecycleStage: LifecycleActive, CreationTime: created, LastUpdateTime: created}
	if err := os.WriteFile(filepath.Join(dir, "meta.yaml"), fsExperimentMetaYAML(e), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFileStoreRescanAfterCreate(t *testing.T) {
	ctx := context.Background()
	const foreignID = "999999999999999999"
	t.Run("locked: yields to a foreign writer", func(t *testing.T) {
		st, root := newTestFileStore(t)
		st.testAfterPublish = func() { fsTestForeignExperiment(t, root, foreignID, "dup", fsNowMillis()-5000) }
		if _, err := st.CreateExperiment(ctx, "dup"); !errors.Is(err, ErrAlreadyExists) {
			t.Fatalf("err = %v", err)
		}
		if got := fsTestExperimentsNamed(t, root, "dup"); len(got) != 1 || got[0] != foreignID {
			t.Fatalf("experiments named dup: %v", got)
		}
		st.testAfterPublish = nil
		exp, err := EnsureExperiment(ctx, st, "dup")
		if err != nil || exp.ID != foreignID {
			t.Fatalf("EnsureExperiment = %+v, %v", exp, err)
		}
		fsTestNoStrayFiles(t, root)
	})
	t.Run("keeps its experiment when a run already went in", func(t *testing.T) {
		st, root := newTestFileStore(t)
		var warned []string
		st.opts.Warn = func(s string) { warned = append(warned, s) }
		var ours string
		st.testAfterPublish = func() {
			fsTestForeignExperiment(t, root, foreignID, "dup", fsNowMillis()-5000)
			// Another process found our experiment and created a run in it.
			ids := fsTestExperimentsNamed(t, root, "dup")
			for _, id := range ids {
				if id != foreignID {
					ours = id
				}
			}
			if err := os.MkdirAll(filepath.Join(root, ours, "0123456789abcdef0123456789abcdef", "metrics"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		id, err := st.CreateExperiment(ctx, "dup")
		if err != nil || id != ours {
			t.Fatalf("CreateExperiment = %q, %v (ours %q)", id, err, ours)
		}
		if len(warned) != 1 || !strings.Contains(warned[0], "exists twice") {
			t.Fatalf("warnings = %q", warned)
		}
		if !fsFileExists(filepath.Join(root, ours, "meta.yaml")) {
			t.Fatal("our meta.yaml is gone")
		}
	})
	t.Run("unlocked: yields to the experiment readers pick", func(t *testing.T) {
		st, root := newTestFileStore(t)
		st.testNoLock = true
		st.testAfterPublish = func() { fsTestForeignExperiment(t, root, foreignID, "dup", fsNowMillis()+60_000) }
		if _, err := st.CreateExperiment(ctx, "dup"); !errors.Is(err, ErrAlreadyExists) {
			t.Fatalf("err = %v", err)
		}
		if got := fsTestExperimentsNamed(t, root, "dup"); len(got) != 1 || got[0] != foreignID {
			t.Fatalf("experiments named dup: %v", got)
		}
	})
	t.Run("unlocked: keeps its own when readers pick it", func(t *testing.T) {
		st, root := newTestFileStore(t)
		st.testNoLock = true
		st.testAfterPublish = func() { fsTestForeignExperiment(t, root, foreignID, "dup", 1) }
		id, err := st.CreateExperiment(ctx, "dup")
		if err != nil {
			t.Fatal(err)
		}
		exp, err := st.GetExperimentByName(ctx, "dup")
		if err != nil || exp.ID != id {
			t.Fatalf("GetExperimentByName = %+v, %v; want ours %s", exp, err, id)
		}
	})
}

func TestFileStoreLockTimeout(t *testing.T) {
	st, root := newTestFileStore(t)
	f, err := os.OpenFile(filepath.Join(root, fsExperimentsLock), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ok, err := fsTryLock(f)
	if errors.Is(err, fsErrLockUnsupported) {
		t.Skip("no file locks on this platform")
	}
	if !ok || err != nil {
		t.Fatalf("take lock: %v %v", ok, err)
	}
	defer fsUnlock(f)

	st.opts.LockTimeout = 150 * time.Millisecond
	began := time.Now()
	_, err = st.CreateExperiment(context.Background(), "blocked")
	if err == nil || !strings.Contains(err.Error(), "locked for more than") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(began); d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("waited %v for a 150ms lock timeout", d)
	}
	st.opts.LockTimeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began = time.Now()
	if _, err := st.CreateExperiment(ctx, "blocked"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("ctx deadline ignored: waited %v", d)
	}
	if got := fsTestExperimentsNamed(t, root, "blocked"); len(got) != 0 {
		t.Fatalf("created while locked: %v", got)
	}
}

// TestFileStoreReadersNeverSeePartialFiles hammers a run with updates while readers parse it, as
// `mlflow ui` does while mltrack records.
func TestFileStoreReadersNeverSeePartialFiles(t *testing.T) {
	ctx := context.Background()
	st, root := newTestFileStore(t)
	info := fsTestRun(t, st)
	runDir := filepath.Join(root, "0", info.RunID)
	reader, err := OpenFileStore(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var readErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			run, err := reader.GetRun(ctx, info.RunID)
			if err != nil {
				readErr = err
				return
			}
			for _, tag := range run.Data.Tags {
				if tag.Key == "phase" && !strings.HasPrefix(tag.Value, "phase-") {
					readErr = fmt.Errorf("partial tag %q", tag.Value)
					return
				}
			}
			b, err := os.ReadFile(filepath.Join(runDir, "meta.yaml"))
			if err != nil || len(b) == 0 {
				readErr = fmt.Errorf("meta.yaml read: %v (%d bytes)", err, len(b))
				return
			}
		}
	}()
	for i := 0; i < 200; i++ {
		tag := Tag{"phase", "phase-" + strings.Repeat("x", i*10)}
		if err := st.LogBatch(ctx, info.RunID, []Metric{{Key: "step", Value: float64(i), Timestamp: int64(i), Step: int64(i)}}, nil, []Tag{tag}); err != nil {
			t.Fatal(err)
		}
		if err := st.UpdateRun(ctx, info.RunID, StatusRunning, 0); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if readErr != nil {
		t.Fatal(readErr)
	}
	lines := strings.Count(fsTestRead(t, filepath.Join(runDir, "metrics", "step")), "\n")
	if lines != 200 {
		t.Fatalf("metric lines = %d", lines)
	}
	fsTestNoStrayFiles(t, root)
}

func TestFileStoreYAMLScalar(t *testing.T) {
	// Expected outputs are what PyYAML's CSafeDumper (MLflow's writer) produces.
	tests := []struct{ in, want string }{
		{"", "''"}, {"0", "'0'"}, {"123456789012345678", "'123456789012345678'"}, {"Default", "Default"},
		{"bright-panda-264", "bright-panda-264"}, {"d80276b287cb45fca23d394fab29a212", "d80276b287cb45fca23d394fab29a212"},
		{"1e10", "1e10"}, {"1.5", "'1.5'"}, {"1:20", "'1:20'"}, {"yes", "'yes'"}, {"No", "'No'"}, {"null", "'null'"},
		{"~", "'~'"}, {"2001-12-14", "'2001-12-14'"}, {"0x1F", "'0x1F'"}, {".inf", "'.inf'"}, {"<<", "'<<'"}, {"=", "'='"},
		{"x: y", "'x: y'"}, {"a:b", "a:b"}, {"a #b", "'a #b'"}, {"a#b", "a#b"}, {"- a", "'- a'"}, {"-a", "-a"},
		{"#c", "'#c'"}, {"it's", "it's"}, {"'q'", `'''q'''`}, {" lead", "' lead'"}, {"trail ", "'trail '"},
		{"ünïcode", "ünïcode"}, {"tab\tx", `"tab\tx"`}, {"new\nline", `"new\nline"`}, {"bell\a", `"bell\a"`},
		{"😀", `"\U0001F600"`}, {"\ufeffbom", `"\uFEFFbom"`}, {"file:///tmp/a b/0", "file:///tmp/a b/0"},
		{"mlflow-artifacts:/123", "mlflow-artifacts:/123"}, {"--- x", "'--- x'"}, {"invalid\xffutf8", "invalid\ufffdutf8"},
	}
	for _, tt := range tests {
		if got := fsYAMLScalar(tt.in); got != tt.want {
			t.Errorf("fsYAMLScalar(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func FuzzFileStoreYAMLScalar(f *testing.F) {
	for _, s := range []string{"", "0", "yes", "a: b", "x\ny", "😀", "\x85", "\u0085", "\u2028 x", " a ", "'\"\\", "1:20", "#", "---", "\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc := fsMarshalYAML(map[string]fsYAMLValue{"k": fsYStr(s), "n": fsYInt(7)})
		m, err := fsParseMeta(doc)
		if err != nil {
			t.Fatalf("%q: %s: %v", s, doc, err)
		}
		if got, want := m.str("k"), strings.ToValidUTF8(s, "\ufffd"); got != want {
			t.Fatalf("%q: read back %q from %s", s, got, doc)
		}
		if n, ok := m.int64Val("n"); !ok || n != 7 {
			t.Fatalf("%q: n = %d %v", s, n, ok)
		}
	})
}

func FuzzFileStoreMetricLine(f *testing.F) {
	f.Add(int64(1700000000000), 0.5, int64(3), "1 2 3")
	f.Add(int64(0), math.NaN(), int64(-1), "1 nan")
	f.Add(int64(-5), math.Inf(-1), int64(0), "x y z w v")
	f.Fuzz(func(t *testing.T, ts int64, v float64, step int64, line string) {
		fsParseMetricLine(line) // must not panic
		m, ok := fsParseMetricLine(fsMetricLine(Metric{Key: "k", Value: v, Timestamp: ts, Step: step}))
		if !ok || m.Timestamp != ts || m.Step != step || !(m.Value == v || (math.IsNaN(v) && math.IsNaN(m.Value))) {
			t.Fatalf("round trip of (%d, %v, %d) gave %+v, %v", ts, v, step, m, ok)
		}
	})
}

func FuzzFileStoreRunMeta(f *testing.F) {
	f.Add([]byte("run_id: a\nstatus: 3\nend_time: null\n"))
	f.Add([]byte("status: FINISHED\nstart_time: 1.5e3\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := fsParseMeta(data)
		if err != nil {
			return
		}
		if rm, err := fsParseRunMeta(m); err == nil {
			// What we read, we can write and read back the same.
			back, err := fsParseMeta(fsRunMetaYAML(rm))
			if err != nil {
				t.Fatal(err)
			}
			again, err := fsParseRunMeta(back)
			if err != nil {
				t.Fatal(err)
			}
			want := rm.info
			want.RunName, want.UserID, want.ArtifactURI = strings.ToValidUTF8(want.RunName, "\ufffd"), strings.ToValidUTF8(want.UserID, "\ufffd"), strings.ToValidUTF8(want.ArtifactURI, "\ufffd")
			want.RunID, want.ExperimentID, want.LifecycleStage = strings.ToValidUTF8(want.RunID, "\ufffd"), strings.ToValidUTF8(want.ExperimentID, "\ufffd"), strings.ToValidUTF8(want.LifecycleStage, "\ufffd")
			if again.info != want && want.LifecycleStage != "" {
				t.Fatalf("round trip: %+v\nwant %+v", again.info, want)
			}
		}
	})
}

// TestFSIDSyntax checks the hand-written id check against the regexp MLflow uses.
func TestFSIDSyntax(t *testing.T) {
	exp := regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,63}$`)
	run := regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,255}$`)
	for _, s := range []string{"", "0", "a", "_a", "-a", "a_b-c", "a.b", "a/b", "..", "é", "a\x00", "ab c",
		strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("a", 256), strings.Repeat("a", 257), "0123456789abcdef0123456789abcdef"} {
		if got, want := fsExperimentIDPattern.MatchString(s), exp.MatchString(s); got != want {
			t.Errorf("experiment id %q: %v, regexp says %v", s, got, want)
		}
		if got, want := fsRunIDPattern.MatchString(s), run.MatchString(s); got != want {
			t.Errorf("run id %q: %v, regexp says %v", s, got, want)
		}
	}
}
