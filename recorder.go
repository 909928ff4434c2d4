package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mltrack/mltrack/journal"
	"github.com/mltrack/mltrack/mlflowclient"
)

// recorder delivers one run to its store and writes it ahead to the journal. Every piece of the run
// goes to the journal first (an append), then to the store; what the store confirmed is acknowledged
// in the journal. After the first store failure the recorder stops calling the store, so a dead store
// costs one bounded wait, not one per call; everything then stays in the journal for `mltrack sync`.
//
// Store calls are serialised by a mutex: the sampler's periodic batches and the main flow share it.
type recorder struct {
	mu       sync.Mutex
	store    mlflowclient.Store // nil: no store (bad URI, unusable); journal only
	journal  *journal.Run       // nil: the journal could not be created (warned)
	run      mlflowclient.RunInfo
	storeErr error // first failure; the store is not called after it
	warnings *warnings
}

func (r *recorder) storeUsable() bool {
	return r.store != nil && r.storeErr == nil && r.run.RunID != ""
}

// fail records the first store failure and says so once.
func (r *recorder) fail(what string, err error) {
	if r.storeErr != nil {
		return
	}
	r.storeErr = fmt.Errorf("%s: %w", what, err)
	r.warnings.add("tracking store: %s: %s", what, oneLine(err))
}

// journalAppend writes an event ahead; a journal failure is warned once and otherwise ignored.
func (r *recorder) journalAppend(typ string, data any) int64 {
	if r.journal == nil {
		return 0
	}
	seq, err := r.journal.Append(typ, data)
	if err != nil {
		r.warnings.once("journal", "journal: %s", oneLine(err))
	}
	return seq
}

func (r *recorder) ack(seq int64) {
	if r.journal != nil && seq > 0 {
		_ = r.journal.Ack(seq)
	}
}

// createEvent is what the journal keeps of a run's creation.
type createEvent struct {
	ExperimentID string               `json:"experiment_id"`
	Experiment   string               `json:"experiment,omitempty"`
	RunName      string               `json:"run_name,omitempty"`
	UserID       string               `json:"user_id,omitempty"`
	StartTime    int64                `json:"start_time"`
	Tags         []mlflowclient.Tag   `json:"tags,omitempty"`
	Params       []mlflowclient.Param `json:"params,omitempty"`
}

// create makes the run in the store (experiment resolved or created first).
func (r *recorder) create(ctx context.Context, experimentName, experimentID string, req mlflowclient.CreateRunRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq := r.journalAppend(journal.TypeCreate, createEvent{
		ExperimentID: experimentID, Experiment: experimentName, RunName: req.RunName, UserID: req.UserID,
		StartTime: req.StartTime, Tags: req.Tags, Params: req.Params,
	})
	if r.store == nil {
		return
	}
	exp, err := resolveExperiment(ctx, r.store, experimentName, experimentID)
	if err != nil {
		r.fail("experiment", err)
		return
	}
	req.ExperimentID = exp.ID
	info, err := r.store.CreateRun(ctx, req)
	if err != nil {
		var conflict *mlflowclient.ParamConflictError
		if !errors.As(err, &conflict) {
			r.fail("create run", err)
			return
		}
		r.warnings.add("%s", conflict.Error())
	}
	r.run = info
	r.journalAppend(journal.TypeRunID, map[string]string{"run_id": info.RunID, "experiment_id": info.ExperimentID})
	r.ack(seq)
	if r.journal != nil {
		_ = r.journal.Flush()
	}
}

// resolveExperiment finds the experiment the run goes to: by id, by name (created when missing),
// or MLflow's default experiment 0.
func resolveExperiment(ctx context.Context, s mlflowclient.Store, name, id string) (mlflowclient.Experiment, error) {
	switch {
	case name != "":
		return mlflowclient.EnsureExperiment(ctx, s, name)
	case id != "":
		exp, err := s.GetExperiment(ctx, id)
		if errors.Is(err, mlflowclient.ErrNotFound) {
			return exp, fmt.Errorf("experiment id %s does not exist in %s; create it or use -e NAME", id, s.URI())
		}
		if err == nil && exp.LifecycleStage == mlflowclient.LifecycleDeleted {
			return exp, &mlflowclient.DeletedExperimentError{Name: exp.Name, ID: exp.ID, StoreURI: s.URI()}
		}
		return exp, err
	default:
		return s.GetExperiment(ctx, mlflowclient.DefaultExperimentID)
	}
}

type batchEvent struct {
	Metrics []mlflowclient.Metric `json:"metrics,omitempty"`
	Params  []mlflowclient.Param  `json:"params,omitempty"`
	Tags    []mlflowclient.Tag    `json:"tags,omitempty"`
}

// logBatch writes metrics, params and tags.
func (r *recorder) logBatch(ctx context.Context, metrics []mlflowclient.Metric, params []mlflowclient.Param, tags []mlflowclient.Tag) {
	if len(metrics)+len(params)+len(tags) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	seq := r.journalAppend(journal.TypeBatch, batchEvent{metrics, params, tags})
	if !r.storeUsable() {
		return
	}
	err := r.store.LogBatch(ctx, r.run.RunID, metrics, params, tags)
	var conflict *mlflowclient.ParamConflictError
	if errors.As(err, &conflict) {
		r.warnings.add("%s", conflict.Error())
		err = nil
	}
	if err != nil {
		r.fail("log metrics, params and tags", err)
		return
	}
	r.ack(seq)
}

type artifactEvent struct {
	File         string `json:"file"` // absolute path of the file to upload
	ArtifactPath string `json:"artifact_path"`
}

// logArtifacts uploads files (several at a time on a tracking server) and says which were
// delivered. A file the store refused for itself (a location mltrack cannot write, a name the
// artifact server refuses) does not mark the store as failed: the run is fine, that file is kept.
func (r *recorder) logArtifacts(ctx context.Context, files []mlflowclient.ArtifactFile) (delivered []bool, errs []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delivered = make([]bool, len(files))
	seqs := make([]int64, len(files))
	for i, f := range files {
		seqs[i] = r.journalAppend(journal.TypeArtifact, artifactEvent{File: f.LocalPath, ArtifactPath: f.ArtifactPath})
	}
	if !r.storeUsable() || len(files) == 0 {
		return delivered, nil
	}
	if err := mlflowclient.LogArtifactFiles(ctx, r.store, r.run, files); err == nil {
		for i := range files {
			delivered[i] = true
			r.ack(seqs[i])
		}
		return delivered, nil
	}
	// Something failed: find out file by file which ones (an upload overwrites, so a file that made
	// it the first time is not duplicated).
	for i, f := range files {
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("artifact %s: %w", f.ArtifactPath, ctx.Err()))
			continue
		}
		err := r.store.LogArtifact(ctx, r.run, f.LocalPath, f.ArtifactPath)
		if err == nil {
			delivered[i] = true
			r.ack(seqs[i])
			continue
		}
		errs = append(errs, err)
		if !errors.Is(err, mlflowclient.ErrUnsupportedArtifactURI) && !errors.Is(err, os.ErrNotExist) {
			r.fail("log artifact "+f.ArtifactPath, err)
			return delivered, errs
		}
	}
	return delivered, errs
}

type endEvent struct {
	Status  mlflowclient.RunStatus `json:"status"`
	EndTime int64                  `json:"end_time"`
}

// finish sets the final status and end time.
func (r *recorder) finish(ctx context.Context, status mlflowclient.RunStatus, end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq := r.journalAppend(journal.TypeEnd, endEvent{Status: status, EndTime: end.UnixMilli()})
	if !r.storeUsable() {
		return
	}
	if err := r.store.UpdateRun(ctx, r.run.RunID, status, end.UnixMilli()); err != nil {
		r.fail("set final status", err)
		return
	}
	r.ack(seq)
}

// delivered reports whether the store has the whole run.
func (r *recorder) delivered() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.storeUsable()
}
