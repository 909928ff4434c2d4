//go:build linux

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/mltrack/mltrack/mlflowclient"
)

// populate creates a SQLite store (mltrack's schema, which MLflow migrates on first open) holding n
// runs shaped like mltrack's in one experiment: 10 params, 8 tags, 7 metrics (latest value and
// one history sample each). Rows are inserted directly in one transaction: logging 10,000 runs
// through a client would take minutes and is not what is measured.
func populate(dbPath, experiment string, n int) error {
	ctx := context.Background()
	st, err := mlflowclient.OpenSQLite("sqlite:///"+filepath.ToSlash(dbPath), mlflowclient.Options{})
	if err != nil {
		return err
	}
	exp, err := mlflowclient.EnsureExperiment(ctx, st, experiment)
	st.Close()
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = tx.Prepare(q)
		return s
	}
	insRun := prep(`INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id)
		VALUES (?, ?, 'LOCAL', 'python', '', 'bench', ?, ?, ?, '', 'active', ?, ?)`)
	insParam := prep(`INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)`)
	insTag := prep(`INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)`)
	insLatest := prep(`INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, 0, 0, ?)`)
	insMetric := prep(`INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, 0, 0)`)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(3, 4))
	models := []string{"resnet", "vit", "mlp", "lstm", "xgboost"}
	base := filepath.Join(filepath.Dir(dbPath), "mlruns", exp.ID)
	exec := func(st *sql.Stmt, args ...any) {
		if err == nil {
			_, err = st.Exec(args...)
		}
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%032x", rng.Uint64()) // random, as MLflow's uuid4 hex
		id = id[:16] + fmt.Sprintf("%016x", i)
		start := int64(1_790_000_000_000) + int64(i)*60_000
		dur := 5 + rng.Float64()*600
		status := "FINISHED"
		if rng.IntN(10) == 0 {
			status = "FAILED"
		}
		name := fmt.Sprintf("run-%d", i)
		exec(insRun, id, name, status, start, start+int64(dur*1000), "file://"+filepath.Join(base, id, "artifacts"), exp.ID)
		model := models[i%len(models)]
		params := [][2]string{
			{"model", model}, {"lr", []string{"0.1", "0.01", "0.001", "0.0001"}[rng.IntN(4)]},
			{"batch_size", []string{"32", "64", "128", "256"}[rng.IntN(4)]}, {"seed", fmt.Sprint(i)},
			{"epochs", fmt.Sprint(1 + rng.IntN(100))}, {"optimizer", []string{"adam", "sgd"}[rng.IntN(2)]},
			{"dataset", []string{"cifar10", "imagenet", "mnist"}[rng.IntN(3)]}, {"dropout", fmt.Sprintf("%.1f", rng.Float64()/2)},
			{"weight_decay", "0.0001"}, {"command", "python train.py --model " + model},
		}
		for _, p := range params {
			exec(insParam, p[0], p[1], id)
		}
		tags := [][2]string{
			{"mlflow.runName", name}, {"mlflow.user", "bench"}, {"mlflow.source.name", "python"}, {"mlflow.source.type", "LOCAL"},
			{"mltrack.command", "python train.py --model " + model}, {"mltrack.host", "bench-host"}, {"mltrack.cwd", "/work"},
			{"mltrack.version", "bench"},
		}
		for _, t := range tags {
			exec(insTag, t[0], t[1], id)
		}
		success := 1.0
		if status == "FAILED" {
			success = 0
		}
		metrics := [][2]any{
			{"duration_seconds", dur}, {"success", success}, {"exit_code", 1 - success},
			{"cpu_user_seconds", dur * rng.Float64()}, {"max_process_memory_megabytes", 100 + rng.Float64()*4000},
			{"accuracy", rng.Float64()}, {"loss", rng.Float64() * 3},
		}
		for _, m := range metrics {
			exec(insLatest, m[0], m[1], start, id)
			exec(insMetric, m[0], m[1], start, id)
		}
		if err != nil {
			return fmt.Errorf("populate run %d: %w", i, err)
		}
	}
	return tx.Commit()
}

// hasSubcommand tells whether this mltrack has `mltrack NAME ...` (the names are reserved before).
func (s *suite) hasSubcommand(args ...string) bool {
	r, err := run(procSpec{Argv: append(append([]string{s.mltrack}, args...), "--help"), Dir: s.root, Env: s.baseEnv()})
	return err == nil && r.Exit == 0 && !strings.Contains(r.Stderr, "reserved")
}

// benchSearch (#5): `mltrack runs search` and `mltrack stats` on 10,000 runs in SQLite against
// mlflow.search_runs on the same database.
func (s *suite) benchSearch(sec *section) error {
	sec.Title = "Search and stats over 10,000 runs (#5)"
	sec.Rerun = "bench/run.sh --only search"
	n := pick(s, 2000, 10_000)
	reps := pick(s, 2, 3)
	const exp = "bench-search"
	const filter = "params.model = 'resnet' AND metrics.accuracy > 0.5"
	sec.Intro = fmt.Sprintf(`
%d runs in one experiment of a SQLite store (10 params, 8 tags, 7 metrics each, shaped like mltrack's runs;
inserted directly, then opened once by MLflow, which migrates the schema to its head). mltrack's commands
against `+"`mlflow.search_runs(experiment_names=[...], max_results=50000)`"+` on the same database, both as whole
processes with output discarded; the Python call alone (after `+"`import mlflow`"+`) is given too. The stats
anchor is search_runs followed by a pandas group-by (count, mean, min, max of every metric). Filter: `+"`%s`"+`.
%d interleaved repetitions after one warm-up each.`, n, filter, reps)
	missing := []string{}
	if !s.hasSubcommand("runs", "search") {
		missing = append(missing, "`mltrack runs search`")
	}
	if !s.hasSubcommand("stats") {
		missing = append(missing, "`mltrack stats`")
	}
	if len(missing) > 0 {
		return fmt.Errorf("command missing: %s (this mltrack reserves the name but does not have it yet)", strings.Join(missing, " and "))
	}
	area := s.dir("search")
	dbPath := filepath.Join(area, "mlflow.db")
	if err := populate(dbPath, exp, n); err != nil {
		return err
	}
	env := []string{"MLFLOW_TRACKING_URI=sqlite:///" + dbPath}
	// MLflow migrates the database on first open; do it before anything is timed.
	if _, _, err := s.runClient(area, env, "search", exp); err != nil {
		return err
	}
	type query struct {
		name    string
		mltrack []string
		client  []string
	}
	queries := []query{
		{"all runs, JSON", []string{"runs", "search", "-e", exp, "--max-results", "50000", "--format", "json"}, []string{"search", exp}},
		{"filtered, JSON", []string{"runs", "search", "-e", exp, "--filter", filter, "--max-results", "50000", "--format", "json"}, []string{"search", exp, filter}},
		{"stats grouped by params.model", []string{"stats", "-e", exp, "--group-by", "params.model"}, []string{"stats", exp, "params.model"}},
	}
	sec.Header = []string{"figure", "Python, whole process", "Python call alone", "mltrack", "ratio (whole)", "ratio (call alone)", "target", "met"}
	for _, q := range queries {
		spec := procSpec{Argv: append([]string{s.mltrack}, q.mltrack...), Dir: area, Env: s.baseEnv(env...), DrainStdout: true}
		// Warm-up, keeping the output to check that mltrack finds as many runs as MLflow.
		outPath := filepath.Join(area, "out.json")
		warm := spec
		warm.Argv = append([]string{"sh", "-c", `"$@" > "$0"`, outPath}, spec.Argv...)
		warm.DrainStdout = false
		if _, err := mustRun(warm); err != nil {
			return err
		}
		mltrackRows := -1
		if b, err := os.ReadFile(outPath); err == nil {
			var res struct {
				Runs []json.RawMessage `json:"runs"`
			}
			if json.Unmarshal(b, &res) == nil && res.Runs != nil {
				mltrackRows = len(res.Runs)
			}
		}
		var pyWall, pyCall, mWall sample
		var rows int
		var bytes int64
		for i := 0; i < reps; i++ {
			r, out, err := s.runClient(area, env, q.client...)
			if err != nil {
				return err
			}
			pyWall = append(pyWall, seconds(r.Wall))
			pyCall = append(pyCall, out.Seconds)
			rows = out.Rows
			m, err := mustRun(spec)
			if err != nil {
				return err
			}
			mWall = append(mWall, seconds(m.Wall))
			bytes = m.Bytes
		}
		if mltrackRows >= 0 && mltrackRows != rows {
			s.problems = append(s.problems, fmt.Sprintf("search, %s: mltrack returned %d runs, mlflow.search_runs %d", q.name, mltrackRows, rows))
		}
		found := fmt.Sprintf("%d runs from both", rows)
		if mltrackRows < 0 {
			found = fmt.Sprintf("%d runs from Python", rows)
		} else if mltrackRows != rows {
			found = fmt.Sprintf("%d runs from Python, %d from mltrack", rows, mltrackRows)
		}
		sec.Rows = append(sec.Rows, []string{
			fmt.Sprintf("%s (%s; mltrack wrote %s)", q.name, found, sizeName(max(bytes, 1024))),
			pyWall.spreadSec(), pyCall.spreadSec(), mWall.spreadSec(),
			fmtRatio(pyWall.median() / mWall.median()), fmtRatio(pyCall.median() / mWall.median()), "—", "",
		})
	}
	sec.Notes = append(sec.Notes, "ratio = Python's time divided by mltrack's (above 1: mltrack is faster). The issue sets no target.")
	return nil
}
