package search

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mltrack/mltrack/mlflowclient"
)

// buildSQLiteRuns creates a SQLite store holding n runs in one experiment, each with 10 params,
// 10 tags and 10 latest metrics, written by direct inserts in one transaction (the store's own
// writes would take minutes for 10,000 runs). It returns the store and the experiment id.
func buildSQLiteRuns(tb testing.TB, n int) (mlflowclient.Store, string) {
	tb.Helper()
	dbPath := filepath.Join(tb.TempDir(), "mlflow.db")
	st, err := mlflowclient.OpenSQLite("sqlite:///"+filepath.ToSlash(dbPath), mlflowclient.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	exp, err := mlflowclient.EnsureExperiment(context.Background(), st, "bench")
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%032x", i+1)
		start := int64(1_700_000_000_000 + i*1000)
		if _, err := tx.Exec(`INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id)
			VALUES (?, ?, 'UNKNOWN', '', '', 'bench', ?, ?, ?, '', 'active', ?, ?)`,
			id, fmt.Sprintf("run-%d", i), []string{"FINISHED", "FAILED", "KILLED"}[i%3], start, start+int64(i%600)*1000, "/tmp/mlruns/"+id, exp.ID); err != nil {
			tb.Fatal(err)
		}
		for k := 0; k < 10; k++ {
			if _, err := tx.Exec("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", fmt.Sprintf("param_%d", k), fmt.Sprintf("value-%d-%d", k, i%37), id); err != nil {
				tb.Fatal(err)
			}
			if _, err := tx.Exec("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", fmt.Sprintf("tag.%d", k), fmt.Sprintf("tag value %d", i%11), id); err != nil {
				tb.Fatal(err)
			}
			if _, err := tx.Exec("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, 0, ?)", fmt.Sprintf("metric_%d", k), float64(i%97)/7, start, k, id); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	return st, exp.ID
}

// BenchmarkSearchRuns10k is `mltrack runs search` on the SQLite store with 10,000 runs: load every
// run, filter, sort, keep the first 1000.
func BenchmarkSearchRuns10k(b *testing.B) {
	st, expID := buildSQLiteRuns(b, 10_000)
	ctx := context.Background()
	req := Request{
		ExperimentIDs: []string{expID},
		Filter:        "metrics.metric_3 > 5 AND params.param_1 LIKE 'value-1%'",
		OrderBy:       []string{"metrics.metric_0 DESC"},
	}
	runs, err := Runs(ctx, st, req)
	if err != nil {
		b.Fatal(err)
	}
	if len(runs) == 0 {
		b.Fatal("no run matched")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Runs(ctx, st, req); err != nil {
			b.Fatal(err)
		}
	}
}
