package mlflowclient

import (
	"context"
	"path/filepath"
	"testing"
)

// findTestStores runs fn against a fresh SQLite store and a fresh file store.
func findTestStores(t *testing.T, fn func(t *testing.T, st Store, deleteRun func(RunInfo))) {
	t.Run("sqlite", func(t *testing.T) {
		dbPath := filepath.Join(t.TempDir(), "mlflow.db")
		st, err := OpenSQLite(sqliteURIFor(dbPath), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		fn(t, st, func(r RunInfo) {
			db := sqliteRawDB(t, dbPath)
			if _, err := db.Exec("UPDATE runs SET lifecycle_stage = 'deleted' WHERE run_uuid = ?", r.RunID); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("file", func(t *testing.T) {
		st, err := OpenFileStore(filepath.Join(t.TempDir(), "mlruns"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		fs := st.(*fileStore)
		fn(t, st, func(r RunInfo) {
			expID, runDir, err := fs.findRunDir(r.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if err := fs.updateRunMeta(context.Background(), expID, runDir, func(m *fsRunMeta) { m.info.LifecycleStage = LifecycleDeleted }); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestFindRunsByTag(t *testing.T) {
	findTestStores(t, func(t *testing.T, st Store, deleteRun func(RunInfo)) {
		ctx := context.Background()
		finder, ok := st.(RunFinder)
		if !ok {
			t.Fatalf("%T does not implement RunFinder", st)
		}
		exp, err := EnsureExperiment(ctx, st, "find")
		if err != nil {
			t.Fatal(err)
		}
		other, err := EnsureExperiment(ctx, st, "other")
		if err != nil {
			t.Fatal(err)
		}
		mk := func(expID, key string, start int64) RunInfo {
			info, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: expID, StartTime: start, RunName: "r" + key,
				Tags: []Tag{{Key: RunKeyTag, Value: key}, {Key: "x", Value: "y"}}})
			if err != nil {
				t.Fatal(err)
			}
			return info
		}
		a2 := mk(exp.ID, "k1", 200)
		a1 := mk(exp.ID, "k1", 100)
		mk(exp.ID, "k2", 100)
		mk(other.ID, "k1", 100)
		quoted := mk(exp.ID, `it's "odd" \ key`, 100)
		deleted := mk(exp.ID, "k3", 100)
		deleteRun(deleted)

		tests := []struct {
			name, exp, key, value string
			want                  []string
		}{
			{"two runs oldest first", exp.ID, RunKeyTag, "k1", []string{a1.RunID, a2.RunID}},
			{"other experiment", other.ID, RunKeyTag, "k2", nil},
			{"no match", exp.ID, RunKeyTag, "nope", nil},
			{"prefix is no match", exp.ID, RunKeyTag, "k", nil},
			{"quotes and backslash", exp.ID, RunKeyTag, `it's "odd" \ key`, []string{quoted.RunID}},
			{"deleted run included", exp.ID, RunKeyTag, "k3", []string{deleted.RunID}},
			{"missing experiment", "424242", RunKeyTag, "k1", nil},
			{"not an experiment id", "../x", RunKeyTag, "k1", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				runs, err := finder.FindRunsByTag(ctx, tt.exp, tt.key, tt.value)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range runs {
					got = append(got, r.RunID)
					if r.ExperimentID != tt.exp || r.ArtifactURI == "" || r.StartTime == 0 || r.RunName == "" {
						t.Errorf("incomplete run info %+v", r)
					}
				}
				if len(got) != len(tt.want) {
					t.Fatalf("runs = %v, want %v", got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Fatalf("runs = %v, want %v", got, tt.want)
					}
				}
			})
		}
		runs, _ := finder.FindRunsByTag(ctx, exp.ID, RunKeyTag, "k3")
		if len(runs) != 1 || runs[0].LifecycleStage != LifecycleDeleted {
			t.Errorf("deleted run = %+v, want lifecycle deleted", runs)
		}
		ctx2, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := finder.FindRunsByTag(ctx2, exp.ID, RunKeyTag, "k1"); err == nil {
			t.Error("cancelled context: no error")
		}
	})
}
