package mlflowclient

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A run in an experiment moved to .trash is still found (with the run's own lifecycle), and run
// directories MLflow would not read (no meta.yaml yet, a stray file) are skipped.
func TestFileStoreFindRunsByTagTrashAndStrays(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "mlruns")
	st, err := OpenFileStore(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := st.(*fileStore)
	exp, err := EnsureExperiment(ctx, st, "trashed")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.CreateRun(ctx, CreateRunRequest{ExperimentID: exp.ID, StartTime: 1, Tags: []Tag{{Key: RunKeyTag, Value: "k"}}})
	if err != nil {
		t.Fatal(err)
	}
	// A run directory being created: tags written, meta.yaml not yet.
	half := filepath.Join(root, exp.ID, "0123456789abcdef0123456789abcdef")
	for _, sub := range []string{"metrics", "params", "artifacts", "tags"} {
		if err := os.MkdirAll(filepath.Join(half, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(half, "tags", RunKeyTag), []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, exp.ID, "stray"), []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	runs, err := fs.FindRunsByTag(ctx, exp.ID, RunKeyTag, "k")
	if err != nil || len(runs) != 1 || runs[0].RunID != info.RunID {
		t.Fatalf("runs = %+v, %v; want only %s", runs, err, info.RunID)
	}
	if err := os.Rename(filepath.Join(root, exp.ID), filepath.Join(root, fsTrashDir, exp.ID)); err != nil {
		t.Fatal(err)
	}
	runs, err = fs.FindRunsByTag(ctx, exp.ID, RunKeyTag, "k")
	if err != nil || len(runs) != 1 || runs[0].RunID != info.RunID {
		t.Fatalf("in trash: runs = %+v, %v", runs, err)
	}
	if _, err := fs.FindRunsByTag(ctx, exp.ID, "bad\x00key", "k"); err == nil {
		t.Error("invalid tag name: no error")
	}
}
