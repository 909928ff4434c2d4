package mlflowclient

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

var _ RunFinder = (*fileStore)(nil)

// FindRunsByTag returns the runs of an experiment (active or in .trash; deleted runs included,
// with their lifecycle stage) whose tag key has exactly that value, oldest first. It reads one tag
// file per run, as MLflow's file store would to search. An experiment that does not exist has no
// runs.
func (s *fileStore) FindRunsByTag(ctx context.Context, experimentID, key, value string) ([]RunInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !fsExperimentIDPattern.MatchString(experimentID) {
		return nil, nil
	}
	if err := ValidateKey("tag", key); err != nil {
		return nil, fmt.Errorf("search runs with tag %q: %w", key, err)
	}
	var out []RunInfo
	for _, parent := range []string{s.root, s.trash} {
		expDir := filepath.Join(parent, experimentID)
		entries, err := os.ReadDir(expDir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) || !fsIsDir(expDir) {
				continue
			}
			return nil, fmt.Errorf("search runs with tag %s in experiment %s: %w", key, experimentID, err)
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			runID := e.Name()
			if !fsRunIDPattern.MatchString(runID) || !fsIsDirEntry(expDir, e) {
				continue
			}
			runDir := filepath.Join(expDir, runID)
			tagPath, err := fsKeyPath(runDir, fsTagsDir, key)
			if err != nil {
				return nil, err
			}
			b, err := os.ReadFile(tagPath)
			if err != nil || string(b) != value || !fsIsRunDir(runDir) {
				continue
			}
			m, err := fsReadRunMeta(ctx, experimentID, runDir)
			if err != nil {
				continue // MLflow skips runs it cannot read too
			}
			info := m.info
			if info.RunName == "" {
				if b, err := os.ReadFile(filepath.Join(runDir, fsTagsDir, fsTagRunName)); err == nil {
					info.RunName = string(b)
				}
			}
			out = append(out, info)
			s.mu.Lock()
			s.runDirs[runID] = runDir
			s.mu.Unlock()
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].StartTime != out[j].StartTime {
			return out[i].StartTime < out[j].StartTime
		}
		return out[i].RunID < out[j].RunID
	})
	return out, nil
}
