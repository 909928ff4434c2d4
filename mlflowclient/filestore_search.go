package mlflowclient

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// Folders inside an experiment directory that are not runs (FileStore.RESERVED_EXPERIMENT_FOLDERS).
var fsReservedExperimentFolders = map[string]bool{"tags": true, "datasets": true, "traces": true, "models": true}

// fsListWorkers bounds how many runs are read at once: reading a run is a handful of small file
// reads, so a few goroutines hide the file system's latency without flooding it.
func fsListWorkers() int { return min(max(runtime.GOMAXPROCS(0)*2, 4), 16) }

// ListRuns loads every run of the experiments (all experiments, active and deleted, when
// experimentIDs is empty) whose lifecycle stage is in the view, as MLflow's file store does for a
// search: meta.yaml, params, tags, and the latest value of each metric (the maximum by step,
// timestamp, value). A run directory without meta.yaml is not a run and is skipped silently, as
// MLflow does; a run whose meta.yaml cannot be read or belongs elsewhere is skipped with a warning.
func (s *fileStore) ListRuns(ctx context.Context, experimentIDs []string, view ViewType) ([]Run, error) {
	if err := checkViewType(view); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	expDirs, err := s.experimentDirsFor(experimentIDs)
	if err != nil {
		return nil, err
	}
	type job struct{ expID, runDir string }
	var jobs []job
	for _, ed := range expDirs {
		entries, err := os.ReadDir(ed.dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("list runs of experiment %s: %w", ed.id, err)
		}
		for _, e := range entries {
			name := e.Name()
			if fsReservedExperimentFolders[name] || !fsRunIDPattern.MatchString(name) || !fsIsDirEntry(ed.dir, e) {
				continue
			}
			jobs = append(jobs, job{ed.id, filepath.Join(ed.dir, name)})
		}
	}

	results := make([]*Run, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(fsListWorkers(), len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = s.readRunForList(ctx, jobs[i].expID, jobs[i].runDir, view)
			}
		}()
	}
feed:
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	runs := make([]Run, 0, len(jobs))
	for i, r := range results {
		if errs[i] != nil {
			s.opts.warn("skipped run %s in experiment %s of %s: %v", filepath.Base(jobs[i].runDir), jobs[i].expID, s.uri, errs[i])
			continue
		}
		if r != nil {
			runs = append(runs, *r)
		}
	}
	sortRunsDefault(runs)
	return runs, nil
}

// SearchesInPython reports true: MLflow's FileStore filters and sorts runs in Python (see
// PythonSearcher).
func (s *fileStore) SearchesInPython() bool { return true }

type fsExperimentDir struct{ id, dir string }

// experimentDirsFor resolves experiment ids to their directories, active first, then .trash, as
// MLflow's _get_experiment_path does (the first found wins); ids that do not exist are dropped.
// No ids means every experiment directory.
func (s *fileStore) experimentDirsFor(experimentIDs []string) ([]fsExperimentDir, error) {
	var out []fsExperimentDir
	if len(experimentIDs) == 0 {
		seen := map[string]bool{}
		for _, parent := range []string{s.root, s.trash} {
			ids, err := fsExperimentDirs(parent)
			if err != nil {
				return nil, fmt.Errorf("list experiments in %s: %w", parent, err)
			}
			for _, id := range ids {
				if !seen[id] {
					seen[id] = true
					out = append(out, fsExperimentDir{id, filepath.Join(parent, id)})
				}
			}
		}
		return out, nil
	}
	seen := map[string]bool{}
	for _, id := range experimentIDs {
		if seen[id] || !fsExperimentIDPattern.MatchString(id) {
			continue
		}
		seen[id] = true
		for _, parent := range []string{s.root, s.trash} {
			if dir := filepath.Join(parent, id); fsIsDir(dir) {
				out = append(out, fsExperimentDir{id, dir})
				break
			}
		}
	}
	return out, nil
}

// readRunForList reads one run for ListRuns. It returns nil (and no error) for a directory that is
// not a run or a run outside the view.
func (s *fileStore) readRunForList(ctx context.Context, expID, runDir string, view ViewType) (*Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil
	}
	m, err := fsReadRunMeta(ctx, expID, runDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil // no meta.yaml: an artifact folder or a run being created
		}
		return nil, err
	}
	if !view.Matches(m.info.LifecycleStage) {
		return nil, nil
	}
	run := Run{Info: m.info}
	params, err := fsReadKeyValueDir(filepath.Join(runDir, fsParamsDir))
	if err != nil {
		return nil, fmt.Errorf("read params: %w", err)
	}
	run.Data.Params = make([]Param, 0, len(params))
	for _, kv := range params {
		run.Data.Params = append(run.Data.Params, Param{Key: kv[0], Value: kv[1]})
	}
	tags, err := fsReadKeyValueDir(filepath.Join(runDir, fsTagsDir))
	if err != nil {
		return nil, fmt.Errorf("read tags: %w", err)
	}
	run.Data.Tags = make([]Tag, 0, len(tags))
	for _, kv := range tags {
		run.Data.Tags = append(run.Data.Tags, Tag{Key: kv[0], Value: kv[1]})
		if kv[0] == fsTagRunName && run.Info.RunName == "" {
			run.Info.RunName = kv[1] // MLflow's _get_run_from_info fills a missing name from the tag
		}
	}
	run.Data.Metrics, err = fsReadLatestMetrics(filepath.Join(runDir, fsMetricsDir))
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	sortRunData(&run.Data)
	return &run, nil
}

// ListExperiments lists the experiments in the view (active ones in the root, deleted ones in
// .trash), with their tags, in MLflow's default order. Unreadable experiments are skipped with a
// warning, as MLflow's search_experiments skips them.
func (s *fileStore) ListExperiments(ctx context.Context, view ViewType) ([]Experiment, error) {
	if err := checkViewType(view); err != nil {
		return nil, err
	}
	exps := []Experiment{}
	for _, loc := range []struct {
		parent  string
		inTrash bool
	}{{s.root, false}, {s.trash, true}} {
		if (loc.inTrash && view == ViewActiveOnly) || (!loc.inTrash && view == ViewDeletedOnly) {
			continue
		}
		ids, err := fsExperimentDirs(loc.parent)
		if err != nil {
			return nil, fmt.Errorf("list experiments in %s: %w", loc.parent, err)
		}
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			e, err := s.readExperiment(ctx, filepath.Join(loc.parent, id), id, loc.inTrash)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					s.opts.warn("skipped experiment %s of %s: %v", id, s.uri, err)
				}
				continue
			}
			if !view.Matches(e.LifecycleStage) {
				continue
			}
			exps = append(exps, e)
		}
	}
	sortExperimentsDefault(exps)
	return exps, nil
}
