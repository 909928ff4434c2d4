package mlflowclient

import (
	"bufio"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// newTestSQLite opens a store on a database that does not exist yet in a fresh directory.
func newTestSQLite(t *testing.T, opts Options) (*sqliteStore, string) {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "mlflow.db")
	st, err := OpenSQLite("sqlite:///"+filepath.ToSlash(dbPath), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st.(*sqliteStore), dbPath
}

// sqliteRawDB opens the database file directly, as another program would.
func sqliteRawDB(t *testing.T, dbPath string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", sqliteDSN(dbPath, 5000))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func sqliteQueryString(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	var s sql.NullString
	if err := db.QueryRow(q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s.String
}

func sqliteQueryInt(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n sql.NullInt64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n.Int64
}

func sqliteCreateTestRun(t *testing.T, st Store, req CreateRunRequest) RunInfo {
	t.Helper()
	if req.ExperimentID == "" {
		req.ExperimentID = DefaultExperimentID
	}
	if req.StartTime == 0 {
		req.StartTime = 1_700_000_000_000
	}
	info, err := st.CreateRun(context.Background(), req)
	if err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	return info
}

func TestSQLiteSchemaEmbedded(t *testing.T) {
	first, _, _ := strings.Cut(sqliteSchemaSQL, "\n")
	if first != "-- revision: "+sqliteSchemaRevision {
		t.Errorf("schema header %q does not name revision %s", first, sqliteSchemaRevision)
	}
	if !strings.Contains(sqliteSchemaSQL, `INSERT INTO "alembic_version" ("version_num") VALUES ('`+sqliteSchemaRevision+`')`) {
		t.Errorf("schema does not stamp alembic_version %s", sqliteSchemaRevision)
	}
	if strings.Contains(sqliteSchemaSQL, `INSERT INTO "experiments"`) {
		t.Error("schema must not carry experiment rows; experiment 0 is inserted with this database's artifact root")
	}
}

func TestSQLiteCreatesDatabaseLikeMLflow(t *testing.T) {
	st, dbPath := newTestSQLite(t, Options{})
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Fatalf("OpenSQLite touched the file system: %v", err)
	}
	info := sqliteCreateTestRun(t, st, CreateRunRequest{RunName: "first"})
	db := sqliteRawDB(t, dbPath)
	if got := sqliteQueryString(t, db, "SELECT version_num FROM alembic_version"); got != sqliteSchemaRevision {
		t.Errorf("alembic_version = %q, want %q", got, sqliteSchemaRevision)
	}
	want := filepath.Join(filepath.Dir(dbPath), "mlruns", "0")
	if runtime.GOOS == "windows" {
		want = "file://" + toURIPath(want)
	}
	if got := sqliteQueryString(t, db, "SELECT artifact_location FROM experiments WHERE experiment_id = 0"); got != want {
		t.Errorf("experiment 0 artifact_location = %q, want %q", got, want)
	}
	if got := sqliteQueryString(t, db, "SELECT name || '/' || lifecycle_stage FROM experiments WHERE experiment_id = 0"); got != "Default/active" {
		t.Errorf("experiment 0 = %q", got)
	}
	if info.ArtifactURI != want+"/"+info.RunID+"/artifacts" {
		t.Errorf("artifact_uri = %q", info.ArtifactURI)
	}
	// The database holds every object of the embedded schema.
	mem := sqliteRawDB(t, sqliteSchemaVariant(t, ""))
	q := "SELECT count(*) FROM sqlite_master WHERE sql IS NOT NULL"
	if a, b := sqliteQueryInt(t, db, q), sqliteQueryInt(t, mem, q); a != b || a < 60 {
		t.Errorf("created database has %d schema objects, the embedded schema %d", a, b)
	}
	if got := sqliteQueryString(t, db, "PRAGMA journal_mode"); got != "delete" {
		t.Errorf("journal_mode = %q; mltrack must leave MLflow's default", got)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dbPath), ".*.tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestSQLiteOpenRejectsBadURIs(t *testing.T) {
	for _, uri := range []string{"sqlite://", "sqlite:///:memory:", "file:///x", "sqlite:///"} {
		if _, err := OpenSQLite(uri, Options{}); err == nil {
			t.Errorf("OpenSQLite(%q) succeeded", uri)
		}
	}
}

func TestSQLiteOddPathCharacters(t *testing.T) {
	// '?' cannot appear: a sqlite URI's query starts there (SQLitePath); the rest must reach SQLite
	// verbatim although mltrack passes it a file: URI.
	dir := filepath.Join(t.TempDir(), "a dir#with%25odd&chars=")
	dbPath := filepath.Join(dir, "sub", "my db.db")
	st, err := OpenSQLite("sqlite:///"+filepath.ToSlash(dbPath), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sqliteCreateTestRun(t, st, CreateRunRequest{})
	if _, err := os.Stat(dbPath); err != nil {
		t.Fatalf("database not at %s: %v", dbPath, err)
	}
}

var sqliteGeneratedName = regexp.MustCompile(`^[a-z]+-[a-z]+-[0-9]{1,4}$`)

func TestSQLiteCreateRun(t *testing.T) {
	st, dbPath := newTestSQLite(t, Options{})
	db := sqliteRawDB(t, dbPath)
	tests := []struct {
		name     string
		req      CreateRunRequest
		wantName string // "" = generated
	}{
		{"named", CreateRunRequest{RunName: "train", UserID: "alice"}, "train"},
		{"generated", CreateRunRequest{}, ""},
		{"name from tag", CreateRunRequest{Tags: []Tag{{Key: "mlflow.runName", Value: "from-tag"}}}, "from-tag"},
		{"request wins over tag", CreateRunRequest{RunName: "req", Tags: []Tag{{Key: "mlflow.runName", Value: "tag"}}}, "req"},
		{"with params and tags", CreateRunRequest{RunName: "p",
			Params: []Param{{Key: "lr", Value: "0.1"}, {Key: "epochs", Value: "3"}},
			Tags:   []Tag{{Key: "team", Value: "a"}, {Key: "team", Value: "b"}}}, "p"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info := sqliteCreateTestRun(t, st, tc.req)
			if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(info.RunID) || info.RunID[12] != '4' {
				t.Errorf("run id %q is not uuid4 hex", info.RunID)
			}
			if tc.wantName == "" {
				if !sqliteGeneratedName.MatchString(info.RunName) || len(info.RunName) > 20 {
					t.Errorf("generated name %q", info.RunName)
				}
			} else if info.RunName != tc.wantName {
				t.Errorf("run name %q, want %q", info.RunName, tc.wantName)
			}
			var (
				name, srcType, srcName, entry, status, life, art, srcVersion string
				user                                                         sql.NullString
				start                                                        int64
				end, deleted                                                 sql.NullInt64
				expID                                                        int64
			)
			err := db.QueryRow(`SELECT name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time,
				deleted_time, source_version, lifecycle_stage, artifact_uri, experiment_id FROM runs WHERE run_uuid = ?`, info.RunID).
				Scan(&name, &srcType, &srcName, &entry, &user, &status, &start, &end, &deleted, &srcVersion, &life, &art, &expID)
			if err != nil {
				t.Fatal(err)
			}
			if name != info.RunName || srcType != "UNKNOWN" || srcName != "" || entry != "" || status != "RUNNING" ||
				start != 1_700_000_000_000 || end.Valid || deleted.Valid || srcVersion != "" || life != "active" ||
				art != info.ArtifactURI || expID != 0 || !user.Valid || user.String != cmp.Or(tc.req.UserID, "unknown") {
				t.Errorf("row = %q %q %q %q %v %q %d %v %v %q %q %q %d", name, srcType, srcName, entry, user, status, start, end, deleted, srcVersion, life, art, expID)
			}
			if got := sqliteQueryString(t, db, "SELECT value FROM tags WHERE run_uuid = ? AND key = 'mlflow.runName'", info.RunID); got != info.RunName {
				t.Errorf("mlflow.runName tag = %q, want %q", got, info.RunName)
			}
			run, err := st.GetRun(context.Background(), info.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if len(run.Data.Params) != len(tc.req.Params) {
				t.Errorf("params = %v, want %v", run.Data.Params, tc.req.Params)
			}
			if tc.name == "with params and tags" {
				if got := sqliteQueryString(t, db, "SELECT value FROM tags WHERE run_uuid = ? AND key = 'team'", info.RunID); got != "b" {
					t.Errorf("repeated tag kept %q, want the last value", got)
				}
			}
		})
	}
}

func TestSQLiteCreateRunErrors(t *testing.T) {
	st, dbPath := newTestSQLite(t, Options{})
	ctx := context.Background()
	if _, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: "42", StartTime: 1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing experiment: %v", err)
	}
	if _, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: "abc", StartTime: 1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("non-numeric experiment: %v", err)
	}
	id, err := st.CreateExperiment(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	sqliteRawDB(t, dbPath).Exec("UPDATE experiments SET lifecycle_stage = 'deleted' WHERE experiment_id = ?", id)
	var dee *DeletedExperimentError
	if _, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: id, StartTime: 1}); !errors.As(err, &dee) {
		t.Errorf("deleted experiment: %v", err)
	}
}

func TestSQLiteParamsWriteOnce(t *testing.T) {
	st, dbPath := newTestSQLite(t, Options{})
	ctx := context.Background()
	info := sqliteCreateTestRun(t, st, CreateRunRequest{Params: []Param{{Key: "a", Value: "1"}}})
	// Same value again: a no-op.
	if err := st.LogBatch(ctx, info.RunID, nil, []Param{{Key: "a", Value: "1"}}, nil); err != nil {
		t.Fatalf("same value: %v", err)
	}
	// Another value: kept the first, reported, and everything else in the batch is written.
	err := st.LogBatch(ctx, info.RunID,
		[]Metric{{Key: "m", Value: 1, Timestamp: 5, Step: 0}},
		[]Param{{Key: "a", Value: "2"}, {Key: "b", Value: "x"}},
		[]Tag{{Key: "t", Value: "v"}})
	var pce *ParamConflictError
	if !errors.As(err, &pce) {
		t.Fatalf("want *ParamConflictError, got %v", err)
	}
	if len(pce.Conflicts) != 1 || pce.Conflicts[0] != (ParamConflict{Key: "a", Existing: "1", Refused: "2"}) || pce.RunID != info.RunID {
		t.Errorf("conflicts = %+v", pce)
	}
	db := sqliteRawDB(t, dbPath)
	if got := sqliteQueryString(t, db, "SELECT value FROM params WHERE run_uuid = ? AND key = 'a'", info.RunID); got != "1" {
		t.Errorf("param a = %q, want the first value", got)
	}
	for q, want := range map[string]int64{
		"SELECT count(*) FROM params WHERE key = 'b' AND run_uuid = ?":  1,
		"SELECT count(*) FROM metrics WHERE key = 'm' AND run_uuid = ?": 1,
		"SELECT count(*) FROM tags WHERE key = 't' AND run_uuid = ?":    1,
	} {
		if got := sqliteQueryInt(t, db, q, info.RunID); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
}

func TestSQLiteTagsUpsert(t *testing.T) {
	st, dbPath := newTestSQLite(t, Options{})
	ctx := context.Background()
	info := sqliteCreateTestRun(t, st, CreateRunRequest{RunName: "before", Tags: []Tag{{Key: "k", Value: "1"}}})
	if err := st.LogBatch(ctx, info.RunID, nil, nil, []Tag{{Key: "k", Value: "2"}, {Key: "mlflow.runName", Value: "after"}}); err != nil {
		t.Fatal(err)
	}
	db := sqliteRawDB(t, dbPath)
	if got := sqliteQueryString(t, db, "SELECT value FROM tags WHERE run_uuid = ? AND key = 'k'", info.RunID); got != "2" {
		t.Errorf("tag k = %q, want 2", got)
	}
	if got := sqliteQueryString(t, db, "SELECT name FROM runs WHERE run_uuid = ?", info.RunID); got != "after" {
		t.Errorf("runs.name = %q, want the mlflow.runName tag's value", got)
	}
	if got := sqliteQueryInt(t, db, "SELECT count(*) FROM tags WHERE run_uuid = ? AND key = 'mlflow.runName'", info.RunID); got != 1 {
		t.Errorf("%d mlflow.runName tags", got)
	}
}

func TestSQLiteMetricValues(t *testing.T) {
	st, dbPath := newTestSQLite(t, Options{})
	ctx := context.Background()
	info := sqliteCreateTestRun(t, st, CreateRunRequest{})
	ms := []Metric{
		{Key: "nan", Value: math.NaN(), Timestamp: 1, Step: 0},
		{Key: "pinf", Value: math.Inf(1), Timestamp: 1, Step: 0},
		{Key: "ninf", Value: math.Inf(-1), Timestamp: 1, Step: 0},
		{Key: "dup", Value: 1.5, Timestamp: 1, Step: 2},
		{Key: "dup", Value: 1.5, Timestamp: 1, Step: 2},
	}
	for range 2 { // logging the same batch twice adds nothing
		if err := st.LogBatch(ctx, info.RunID, ms, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	db := sqliteRawDB(t, dbPath)
	type row struct {
		value float64
		isNaN int64
	}
	for key, want := range map[string]row{"nan": {0, 1}, "pinf": {math.MaxFloat64, 0}, "ninf": {-math.MaxFloat64, 0}, "dup": {1.5, 0}} {
		for _, table := range []string{"metrics", "latest_metrics"} {
			var got row
			if err := db.QueryRow("SELECT value, is_nan FROM "+table+" WHERE run_uuid = ? AND key = ?", info.RunID, key).Scan(&got.value, &got.isNaN); err != nil {
				t.Fatalf("%s %s: %v", table, key, err)
			}
			if got != want {
				t.Errorf("%s %s = %+v, want %+v", table, key, got, want)
			}
		}
	}
	if n := sqliteQueryInt(t, db, "SELECT count(*) FROM metrics WHERE run_uuid = ?", info.RunID); n != 4 {
		t.Errorf("%d metric rows, want 4 (exact duplicates dropped)", n)
	}
	run, err := st.GetRun(ctx, info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range run.Data.Metrics {
		if m.Key == "nan" && !math.IsNaN(m.Value) {
			t.Errorf("GetRun returns NaN metric as %v", m.Value)
		}
	}
}

func TestSQLiteLatestMetric(t *testing.T) {
	st, dbPath := newTestSQLite(t, Options{})
	ctx := context.Background()
	db := sqliteRawDB(t, dbPath)
	m := func(v float64, ts, step int64) Metric { return Metric{Key: "x", Value: v, Timestamp: ts, Step: step} }
	tests := []struct {
		name    string
		batches [][]Metric
		want    Metric
	}{
		{"higher step wins over later time", [][]Metric{{m(1, 100, 5)}, {m(2, 200, 4)}}, m(1, 100, 5)},
		{"same step, later time wins", [][]Metric{{m(1, 100, 5)}, {m(2, 200, 5)}}, m(2, 200, 5)},
		{"same step and time, larger value wins", [][]Metric{{m(3, 100, 5)}, {m(2, 100, 5)}}, m(3, 100, 5)},
		{"within one batch", [][]Metric{{m(1, 1, 1), m(9, 1, 3), m(4, 1, 2)}}, m(9, 1, 3)},
		{"out of order across batches", [][]Metric{{m(1, 10, 10)}, {m(5, 1, 1), m(6, 2, 2)}, {m(7, 11, 10)}}, m(7, 11, 10)},
		{"NaN compares as 0", [][]Metric{{m(-1, 1, 1)}, {m(math.NaN(), 1, 1)}}, m(math.NaN(), 1, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info := sqliteCreateTestRun(t, st, CreateRunRequest{})
			for _, b := range tc.batches {
				if err := st.LogBatch(ctx, info.RunID, b, nil, nil); err != nil {
					t.Fatal(err)
				}
			}
			var got Metric
			var isNaN bool
			if err := db.QueryRow("SELECT value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid = ? AND key = 'x'", info.RunID).
				Scan(&got.Value, &got.Timestamp, &got.Step, &isNaN); err != nil {
				t.Fatal(err)
			}
			if isNaN != math.IsNaN(tc.want.Value) || got.Timestamp != tc.want.Timestamp || got.Step != tc.want.Step ||
				(!isNaN && got.Value != tc.want.Value) {
				t.Errorf("latest = %+v (nan %v), want %+v", got, isNaN, tc.want)
			}
		})
	}
}

func TestSQLiteExperiments(t *testing.T) {
	st, dbPath := newTestSQLite(t, Options{})
	ctx := context.Background()
	id1, err := st.CreateExperiment(ctx, "exp-a")
	if err != nil {
		t.Fatal(err)
	}
	id2, err := st.CreateExperiment(ctx, "exp-b")
	if err != nil {
		t.Fatal(err)
	}
	if id1 != "1" || id2 != "2" {
		t.Errorf("ids %s, %s; MLflow numbers them 1, 2 after experiment 0", id1, id2)
	}
	if _, err := st.CreateExperiment(ctx, "exp-a"); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("duplicate name: %v", err)
	}
	if _, err := st.CreateExperiment(ctx, "  "); err == nil {
		t.Error("blank name accepted")
	}
	exp, err := st.GetExperimentByName(ctx, "exp-a")
	if err != nil {
		t.Fatal(err)
	}
	wantLoc := filepath.Join(filepath.Dir(dbPath), "mlruns", "1")
	if runtime.GOOS == "windows" {
		wantLoc = "file://" + toURIPath(wantLoc)
	}
	if exp.ID != "1" || exp.ArtifactLocation != wantLoc || exp.LifecycleStage != LifecycleActive || exp.CreationTime == 0 || exp.LastUpdateTime != exp.CreationTime {
		t.Errorf("experiment = %+v", exp)
	}
	if _, err := st.GetExperimentByName(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing name: %v", err)
	}
	if _, err := st.GetExperiment(ctx, "99"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing id: %v", err)
	}
	db := sqliteRawDB(t, dbPath)
	db.Exec("UPDATE experiments SET lifecycle_stage = 'deleted' WHERE experiment_id = 2")
	db.Exec("INSERT INTO experiment_tags (key, value, experiment_id) VALUES ('mlflow.note.content', 'hi', 2)")
	exp, err = st.GetExperimentByName(ctx, "exp-b")
	if err != nil || exp.LifecycleStage != LifecycleDeleted || len(exp.Tags) != 1 || exp.Tags[0].Value != "hi" {
		t.Errorf("deleted experiment by name = %+v, %v", exp, err)
	}
	var dee *DeletedExperimentError
	if _, err := EnsureExperiment(ctx, st, "exp-b"); !errors.As(err, &dee) {
		t.Errorf("EnsureExperiment on a deleted one: %v", err)
	}
	got, err := EnsureExperiment(ctx, st, "exp-c")
	if err != nil || got.Name != "exp-c" || got.ID != "3" {
		t.Errorf("EnsureExperiment new = %+v, %v", got, err)
	}
}

func TestSQLiteExperimentNameRace(t *testing.T) {
	_, dbPath := newTestSQLite(t, Options{})
	uri := "sqlite:///" + filepath.ToSlash(dbPath)
	ctx := context.Background()
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := OpenSQLite(uri, Options{LockTimeout: 10 * time.Second})
			if err != nil {
				errs[i] = err
				return
			}
			defer st.Close()
			exp, err := EnsureExperiment(ctx, st, "shared")
			ids[i], errs[i] = exp.ID, err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Errorf("process %d: id %q, err %v (want one shared experiment)", i, ids[i], errs[i])
		}
	}
}

func TestSQLiteUpdateRun(t *testing.T) {
	st, dbPath := newTestSQLite(t, Options{})
	ctx := context.Background()
	db := sqliteRawDB(t, dbPath)
	info := sqliteCreateTestRun(t, st, CreateRunRequest{})
	if err := st.UpdateRun(ctx, info.RunID, StatusKilled, 0); err != nil {
		t.Fatal(err)
	}
	if end := sqliteQueryString(t, db, "SELECT coalesce(end_time, 'null') FROM runs WHERE run_uuid = ?", info.RunID); end != "null" {
		t.Errorf("end_time = %s with endTime 0", end)
	}
	if err := st.UpdateRun(ctx, info.RunID, StatusFinished, 1_700_000_009_000); err != nil {
		t.Fatal(err)
	}
	run, err := st.GetRun(ctx, info.RunID)
	if err != nil || run.Info.Status != StatusFinished || run.Info.EndTime != 1_700_000_009_000 {
		t.Errorf("after update: %+v, %v", run.Info, err)
	}
	if err := st.UpdateRun(ctx, info.RunID, "DONE", 1); err == nil {
		t.Error("unknown status accepted")
	}
	if err := st.UpdateRun(ctx, "0123456789abcdef0123456789abcdef", StatusFinished, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
	if err := st.LogBatch(ctx, "0123456789abcdef0123456789abcdef", []Metric{{Key: "m", Value: 1}}, nil, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("LogBatch on a missing run: %v", err)
	}
	if _, err := st.GetRun(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetRun on a missing run: %v", err)
	}
	db.Exec("UPDATE runs SET lifecycle_stage = 'deleted' WHERE run_uuid = ?", info.RunID)
	if err := st.UpdateRun(ctx, info.RunID, StatusFailed, 1); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("update of a deleted run: %v", err)
	}
}

func TestSQLiteGetRun(t *testing.T) {
	st, _ := newTestSQLite(t, Options{})
	ctx := context.Background()
	info := sqliteCreateTestRun(t, st, CreateRunRequest{RunName: "r", UserID: "bob", Params: []Param{{Key: "p", Value: "1"}}, Tags: []Tag{{Key: "t", Value: "x"}}})
	if err := st.LogBatch(ctx, info.RunID, []Metric{{Key: "loss", Value: 0.5, Timestamp: 10, Step: 1}, {Key: "loss", Value: 0.25, Timestamp: 20, Step: 2}}, []Param{{Key: "q", Value: "2"}}, nil); err != nil {
		t.Fatal(err)
	}
	run, err := st.GetRun(ctx, info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Info.RunName != "r" || run.Info.UserID != "bob" || run.Info.Status != StatusRunning || run.Info.StartTime != info.StartTime ||
		run.Info.ArtifactURI != info.ArtifactURI || run.Info.ExperimentID != "0" || run.Info.LifecycleStage != "active" {
		t.Errorf("info = %+v", run.Info)
	}
	if len(run.Data.Metrics) != 1 || run.Data.Metrics[0] != (Metric{Key: "loss", Value: 0.25, Timestamp: 20, Step: 2}) {
		t.Errorf("metrics = %+v", run.Data.Metrics)
	}
	if fmt.Sprint(run.Data.Params) != "[{p 1} {q 2}]" {
		t.Errorf("params = %v", run.Data.Params)
	}
	if fmt.Sprint(run.Data.Tags) != "[{mlflow.runName r} {t x}]" {
		t.Errorf("tags = %v", run.Data.Tags)
	}
}

func TestSQLiteLogBatchSanitizes(t *testing.T) {
	var warnings []string
	st, _ := newTestSQLite(t, Options{Warn: func(m string) { warnings = append(warnings, m) }})
	info := sqliteCreateTestRun(t, st, CreateRunRequest{})
	err := st.LogBatch(context.Background(), info.RunID, []Metric{{Key: "bad//key", Value: 1}}, []Param{{Key: "long", Value: strings.Repeat("x", MaxParamValueLength+5)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	run, _ := st.GetRun(context.Background(), info.RunID)
	if len(run.Data.Metrics) != 0 || len(run.Data.Params) != 1 || len(run.Data.Params[0].Value) != MaxParamValueLength {
		t.Errorf("run data = %d metrics, params %d", len(run.Data.Metrics), len(run.Data.Params))
	}
	if len(warnings) != 2 {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestSQLiteLogArtifact(t *testing.T) {
	st, _ := newTestSQLite(t, Options{})
	ctx := context.Background()
	info := sqliteCreateTestRun(t, st, CreateRunRequest{})
	src := filepath.Join(t.TempDir(), "out.txt")
	os.WriteFile(src, []byte("hello"), 0o644)
	if err := st.LogArtifact(ctx, info, src, "logs/out.txt"); err != nil {
		t.Fatal(err)
	}
	dir, err := localArtifactDir(info.ArtifactURI)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "logs", "out.txt")); err != nil || string(b) != "hello" {
		t.Errorf("artifact = %q, %v", b, err)
	}
	// Without ArtifactURI the store looks it up.
	if err := st.LogArtifact(ctx, RunInfo{RunID: info.RunID}, src, "again.txt"); err != nil {
		t.Fatal(err)
	}
	served := RunInfo{RunID: info.RunID, ArtifactURI: "mlflow-artifacts:/0/" + info.RunID + "/artifacts"}
	err = st.LogArtifact(ctx, served, src, "x.txt")
	if !errors.Is(err, ErrUnsupportedArtifactURI) || !strings.Contains(err.Error(), "MLFLOW_TRACKING_URI") {
		t.Errorf("mlflow-artifacts location: %v", err)
	}
}

func TestSQLiteAppendURIPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/a/mlruns/0", "/a/mlruns/0/r/artifacts"},
		{"/a/mlruns/0/", "/a/mlruns/0/r/artifacts"},
		{"file:///C:/a/mlruns/0", "file:///C:/a/mlruns/0/r/artifacts"},
		{"mlflow-artifacts:/0", "mlflow-artifacts:/0/r/artifacts"},
		{"s3://bucket/p?x=1", "s3://bucket/p/r/artifacts?x=1"},
	}
	for _, tc := range tests {
		if got := sqliteAppendURIPath(tc.in, "r", "artifacts"); got != tc.want {
			t.Errorf("sqliteAppendURIPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// sqliteSchemaVariant builds a database from the embedded schema changed by edit, plus experiment 0.
func sqliteSchemaVariant(t *testing.T, edit string) string {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "mlflow.db")
	db := sqliteRawDB(t, dbPath)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(sqliteSchemaSQL); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (0, 'Default', '/x/0', 'active', 1, 1)"); err != nil {
		t.Fatal(err)
	}
	if edit != "" {
		if _, err := tx.Exec(edit); err != nil {
			t.Fatalf("%s: %v", edit, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return dbPath
}

func TestSQLiteSchemaShape(t *testing.T) {
	tests := []struct {
		name    string
		edit    string
		wantErr string // "" = accepted
	}{
		{"as created", "", ""},
		{"newer MLflow: nullable column", "ALTER TABLE runs ADD COLUMN future TEXT", ""},
		{"newer MLflow: NOT NULL with default", "ALTER TABLE metrics ADD COLUMN model_id TEXT NOT NULL DEFAULT ''", ""},
		{"newer MLflow: new table", "CREATE TABLE future_things (id INTEGER PRIMARY KEY)", ""},
		{"workspace column", "ALTER TABLE experiments ADD COLUMN workspace VARCHAR(63) NOT NULL DEFAULT 'default'", ""},
		{"alembic revision unknown", "UPDATE alembic_version SET version_num = 'ffffffffffff'", ""},
		{"missing table", "DROP TABLE latest_metrics", `no table "latest_metrics"`},
		{"missing column", "ALTER TABLE params DROP COLUMN value", `table "params" has no column "value"`},
		{"unknown required column", "ALTER TABLE tags ADD COLUMN owner TEXT NOT NULL DEFAULT 'x'; " +
			"CREATE TABLE tags2 AS SELECT * FROM tags; DROP TABLE tags; CREATE TABLE tags (key VARCHAR(250) NOT NULL, value VARCHAR(8000), run_uuid VARCHAR(32) NOT NULL, owner TEXT NOT NULL, PRIMARY KEY (key, run_uuid))",
			`table "tags" has a required column "owner"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dbPath := sqliteSchemaVariant(t, tc.edit)
			st, err := OpenSQLite("sqlite:///"+filepath.ToSlash(dbPath), Options{LockTimeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			_, err = st.CreateRun(context.Background(), CreateRunRequest{ExperimentID: "0", StartTime: 1})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), dbPath) {
				t.Fatalf("error %v, want ErrSchema mentioning %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestSQLiteWorkspaceColumn(t *testing.T) {
	dbPath := sqliteSchemaVariant(t, "ALTER TABLE experiments ADD COLUMN workspace VARCHAR(63)")
	st, err := OpenSQLite("sqlite:///"+filepath.ToSlash(dbPath), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	id, err := st.CreateExperiment(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	db := sqliteRawDB(t, dbPath)
	if got := sqliteQueryString(t, db, "SELECT workspace FROM experiments WHERE experiment_id = ?", id); got != "default" {
		t.Errorf("workspace = %q, want default", got)
	}
	// An experiment of another workspace with the same name is not ours.
	db.Exec("INSERT INTO experiments (name, lifecycle_stage, workspace) VALUES ('other', 'active', 'team-b')")
	if _, err := st.GetExperimentByName(ctx, "other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("experiment of another workspace: %v", err)
	}
	if exp, err := st.GetExperimentByName(ctx, "ws"); err != nil || exp.ID != id {
		t.Errorf("by name: %+v %v", exp, err)
	}
}

func TestSQLiteEmptyFileIsInitialized(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "mlflow.db")
	os.WriteFile(dbPath, nil, 0o644)
	st, err := OpenSQLite("sqlite:///"+filepath.ToSlash(dbPath), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sqliteCreateTestRun(t, st, CreateRunRequest{})
	if got := sqliteQueryString(t, sqliteRawDB(t, dbPath), "SELECT version_num FROM alembic_version"); got != sqliteSchemaRevision {
		t.Errorf("alembic_version = %q", got)
	}
}

func TestSQLiteNotADatabase(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "mlflow.db")
	os.WriteFile(dbPath, []byte(strings.Repeat("this is not sqlite\n", 100)), 0o644)
	st, _ := OpenSQLite("sqlite:///"+filepath.ToSlash(dbPath), Options{LockTimeout: 100 * time.Millisecond})
	defer st.Close()
	_, err := st.GetExperiment(context.Background(), "0")
	if err == nil || !strings.Contains(err.Error(), dbPath) {
		t.Errorf("err = %v", err)
	}
}

func TestSQLiteMissingDefaultExperimentIsAdded(t *testing.T) {
	dbPath := sqliteSchemaVariant(t, "DELETE FROM experiments")
	st, _ := OpenSQLite("sqlite:///"+filepath.ToSlash(dbPath), Options{LockTimeout: 100 * time.Millisecond})
	defer st.Close()
	exp, err := st.GetExperiment(context.Background(), "0")
	if err != nil || exp.Name != DefaultExperimentName {
		t.Errorf("experiment 0 = %+v, %v", exp, err)
	}
}

// TestSQLiteLockTimeout: a database held by another writer makes mltrack give up within its budget
// with an error that says so, instead of waiting for ever.
func TestSQLiteLockTimeout(t *testing.T) {
	st, dbPath := newTestSQLite(t, Options{LockTimeout: 300 * time.Millisecond})
	info := sqliteCreateTestRun(t, st, CreateRunRequest{})
	holder := sqliteRawDB(t, dbPath)
	tx, err := holder.Begin() // BEGIN IMMEDIATE (see sqliteDSN): holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("UPDATE runs SET name = name"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = st.LogBatch(context.Background(), info.RunID, []Metric{{Key: "m", Value: 1}}, nil, nil)
	elapsed := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("err = %v", err)
	}
	if elapsed < 250*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("gave up after %v with a 300ms budget", elapsed)
	}
	// The caller's deadline wins when it is shorter.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	st2, _ := OpenSQLite(st.URI(), Options{LockTimeout: 10 * time.Second})
	defer st2.Close()
	start = time.Now()
	st2.(*sqliteStore).conn(context.Background())
	err = st2.UpdateRun(ctx, info.RunID, StatusFinished, 1)
	if elapsed := time.Since(start); err == nil || elapsed > 2*time.Second {
		t.Errorf("with a 50ms deadline: err %v after %v", err, elapsed)
	}
	tx.Rollback()
	if err := st.LogBatch(context.Background(), info.RunID, []Metric{{Key: "m", Value: 1}}, nil, nil); err != nil {
		t.Errorf("after the lock is released: %v", err)
	}
}

// sqliteCheckOneDatabase verifies that concurrent creators left one database with one experiment 0, the
// wanted number of runs and no temporary files.
func sqliteCheckOneDatabase(t *testing.T, dbPath string, runs int) {
	t.Helper()
	db := sqliteRawDB(t, dbPath)
	if n := sqliteQueryInt(t, db, "SELECT count(*) FROM experiments WHERE experiment_id = 0"); n != 1 {
		t.Errorf("%d experiment 0 rows", n)
	}
	if n := sqliteQueryInt(t, db, "SELECT count(*) FROM runs"); n != int64(runs) {
		t.Errorf("%d runs, want %d", n, runs)
	}
	if got := sqliteQueryString(t, db, "PRAGMA integrity_check"); got != "ok" {
		t.Errorf("integrity_check: %s", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(dbPath))
	for _, e := range entries {
		if e.Name() != filepath.Base(dbPath) {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestSQLiteConcurrentCreateGoroutines(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "mlflow.db")
	const n = 32
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		start   = make(chan struct{})
	)
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, err := OpenSQLite("sqlite:///"+filepath.ToSlash(dbPath), Options{LockTimeout: 20 * time.Second})
			if err != nil {
				errs <- err
				return
			}
			defer st.Close()
			if _, err := st.CreateRun(context.Background(), CreateRunRequest{ExperimentID: "0", StartTime: 1}); err != nil {
				errs <- err
			}
			mu.Lock()
			if st.(*sqliteStore).created {
				created++
			}
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if created != 1 {
		t.Errorf("%d goroutines created the database, want 1", created)
	}
	sqliteCheckOneDatabase(t, dbPath, n)
}

// TestSQLiteConcurrentCreateProcesses starts 32 copies of the test binary that each create a run in
// the same, initially empty, directory.
func TestSQLiteConcurrentCreateProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 32 processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(t.TempDir(), "mlflow.db")
	const n = 32
	cmds := make([]*exec.Cmd, n)
	outs := make([]*strings.Builder, n)
	for i := range n {
		cmd := exec.Command(exe, "-test.run=^TestSQLiteHelperProcess$", "-test.v")
		cmd.Env = append(os.Environ(), "MLTRACK_SQLITE_HELPER_DB="+dbPath)
		outs[i] = &strings.Builder{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		cmds[i] = cmd
	}
	for _, c := range cmds { // start them back to back so that they race
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("process %d: %v\n%s", i, err, outs[i])
			}
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		for _, c := range cmds {
			c.Process.Kill()
		}
		<-done
		t.Fatal("helper processes did not finish within 2 minutes")
	}
	sqliteCheckOneDatabase(t, dbPath, n)
	created := 0
	for _, o := range outs {
		sc := bufio.NewScanner(strings.NewReader(o.String()))
		for sc.Scan() {
			if strings.Contains(sc.Text(), "created-database=true") {
				created++
			}
		}
	}
	if created != 1 {
		t.Errorf("%d processes report creating the database, want 1", created)
	}
}

// TestSQLiteHelperProcess is the child of TestSQLiteConcurrentCreateProcesses.
func TestSQLiteHelperProcess(t *testing.T) {
	dbPath := os.Getenv("MLTRACK_SQLITE_HELPER_DB")
	if dbPath == "" {
		t.Skip("helper for TestSQLiteConcurrentCreateProcesses")
	}
	ctx := context.Background()
	st, err := OpenSQLite("sqlite:///"+filepath.ToSlash(dbPath), Options{LockTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: "0", StartTime: 1, Params: []Param{{Key: "pid", Value: strconv.Itoa(os.Getpid())}}}); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("created-database=%v\n", st.(*sqliteStore).created)
}

// TestSQLiteOpenAndCreateRunTime measures what start-up costs: OpenSQLite plus CreateRun on an
// existing database (the common case). Most of it is the commit's fsyncs, so it is reported, not
// asserted, except for a bound far above any healthy disk.
func TestSQLiteOpenAndCreateRunTime(t *testing.T) {
	st, dbPath := newTestSQLite(t, Options{})
	sqliteCreateTestRun(t, st, CreateRunRequest{}) // creates the database
	st.Close()
	const rounds = 41
	var open, total []time.Duration
	for range rounds {
		start := time.Now()
		s, err := OpenSQLite("sqlite:///"+filepath.ToSlash(dbPath), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.(*sqliteStore).conn(context.Background()); err != nil {
			t.Fatal(err)
		}
		opened := time.Since(start)
		if _, err := s.CreateRun(context.Background(), CreateRunRequest{ExperimentID: "0", StartTime: 1, Params: []Param{{Key: "a", Value: "b"}}}); err != nil {
			t.Fatal(err)
		}
		total = append(total, time.Since(start))
		open = append(open, opened)
		s.Close()
	}
	slices.Sort(open)
	slices.Sort(total)
	t.Logf("OpenSQLite + first use (connect, pragmas, schema check): median %v, p90 %v", open[rounds/2], open[rounds*9/10])
	t.Logf("OpenSQLite + CreateRun on an existing database: median %v, p90 %v, min %v (over %d rounds)", total[rounds/2], total[rounds*9/10], total[0], rounds)
	if total[rounds/2] > 2*time.Second {
		t.Errorf("median OpenSQLite + CreateRun took %v", total[rounds/2])
	}
}

func BenchmarkSQLiteOpenAndCreateRun(b *testing.B) {
	dbPath := filepath.Join(b.TempDir(), "mlflow.db")
	uri := "sqlite:///" + filepath.ToSlash(dbPath)
	s, _ := OpenSQLite(uri, Options{})
	s.CreateRun(context.Background(), CreateRunRequest{ExperimentID: "0", StartTime: 1})
	s.Close()
	for b.Loop() {
		s, err := OpenSQLite(uri, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.CreateRun(context.Background(), CreateRunRequest{ExperimentID: "0", StartTime: 1}); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

func BenchmarkSQLiteCreateDatabase(b *testing.B) {
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		s, _ := OpenSQLite("sqlite:///"+filepath.ToSlash(filepath.Join(dir, strconv.Itoa(i)+".db")), Options{})
		if _, err := s.CreateRun(context.Background(), CreateRunRequest{ExperimentID: "0", StartTime: 1}); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

func TestSQLiteInvalidUTF8(t *testing.T) {
	var warnings []string
	st, dbPath := newTestSQLite(t, Options{Warn: func(m string) { warnings = append(warnings, m) }})
	ctx := context.Background()
	info := sqliteCreateTestRun(t, st, CreateRunRequest{RunName: "r\xff", Params: []Param{{Key: "arg", Value: "a\xffb"}}})
	if err := st.LogBatch(ctx, info.RunID, nil, nil, []Tag{{Key: "cmd", Value: "x\xfe"}}); err != nil {
		t.Fatal(err)
	}
	db := sqliteRawDB(t, dbPath)
	for _, q := range []string{"SELECT value FROM params WHERE key = 'arg'", "SELECT value FROM tags WHERE key = 'cmd'", "SELECT name FROM runs"} {
		if v := sqliteQueryString(t, db, q); !utf8.ValidString(v) || !strings.Contains(v, "\uFFFD") {
			t.Errorf("%s = %q", q, v)
		}
	}
	if len(warnings) != 2 {
		t.Errorf("warnings = %q", warnings)
	}
	if _, err := st.CreateExperiment(ctx, "bad\xff"); err == nil {
		t.Error("experiment name with invalid UTF-8 accepted")
	}
}

// FuzzSQLiteLogBatch: whatever a command's params, tags and metrics are, LogBatch either stores them
// (as Sanitize leaves them) and GetRun returns them, or reports a param conflict; it never fails.
func FuzzSQLiteLogBatch(f *testing.F) {
	f.Add("lr", "0.1", "note", "héllo\x00world", 1.5, int64(3), int64(1))
	f.Add("a/b c:d", "", "mlflow.runName", "new name", math.Inf(1), int64(-1), int64(0))
	f.Add("k", "\xff\xfe", "t", strings.Repeat("v", 9000), math.NaN(), int64(math.MaxInt64), int64(-5))
	st, err := OpenSQLite("sqlite:///"+filepath.ToSlash(filepath.Join(f.TempDir(), "mlflow.db")), Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	ctx := context.Background()
	info, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: "0", StartTime: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, pKey, pVal, tKey, tVal string, value float64, step, ts int64) {
		ms := []Metric{{Key: "m", Value: value, Timestamp: ts, Step: step}}
		ps := []Param{{Key: pKey, Value: pVal}}
		tags := []Tag{{Key: tKey, Value: tVal}}
		err := st.LogBatch(ctx, info.RunID, ms, ps, tags)
		var pce *ParamConflictError
		if err != nil && !errors.As(err, &pce) {
			t.Fatalf("LogBatch: %v", err)
		}
		run, err := st.GetRun(ctx, info.RunID)
		if err != nil {
			t.Fatal(err)
		}
		clean := Sanitize(nil, nil, []Tag{{Key: strings.ToValidUTF8(tKey, "\uFFFD"), Value: strings.ToValidUTF8(tVal, "\uFFFD")}})
		for _, want := range clean.Tags {
			found := false
			for _, got := range run.Data.Tags {
				found = found || got == want
			}
			if !found {
				t.Errorf("tag %q=%q not read back", want.Key, want.Value)
			}
		}
	})
}

func TestSQLiteRemovesStaleTemporaries(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".mlflow.db.mltrack-0123456789abcdef.tmp")
	fresh := filepath.Join(dir, ".mlflow.db.mltrack-fedcba9876543210.tmp")
	os.WriteFile(stale, []byte("x"), 0o644)
	os.WriteFile(fresh, []byte("x"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(stale, old, old)
	st, _ := OpenSQLite("sqlite:///"+filepath.ToSlash(filepath.Join(dir, "mlflow.db")), Options{})
	defer st.Close()
	sqliteCreateTestRun(t, st, CreateRunRequest{})
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a temporary another process may be building was removed: %v", err)
	}
}
