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
// goes to the journal first (an append), then into an ordered queue of undelivered events, which is
// sent to the store in order; each event the store confirmed is acknowledged in the journal.
//
// A store that fails (locked by a migration, restarting, unreachable) is not given up on: the events
// stay queued, the next attempt comes after a pause (retryPause) during the run, and once more at
// the end within the end budget. What is still queued then stays in the journal for `mltrack sync`.
// Store calls are serialised by a mutex: the sampler's periodic batches and the main flow share it.
type recorder struct {
	// mu serialises store calls and guards the delivery state below; qmu guards the queue and the
	// journal appends. They are separate so that a slow store (held by mu in the background
	// flusher) never blocks the sampler from queueing and journaling its next sample.
	mu         sync.Mutex
	qmu        sync.Mutex
	wake       chan struct{} // made with the recorder (newRecorder): the channel's goroutines use it
	stopped    chan struct{}
	store      mlflowclient.Store // nil: no store (bad URI, unusable); journal only
	journal    *journal.Run       // nil: the journal could not be created (warned)
	warnings   *warnings
	createReq  *createRequest // the run to create; kept until the store created it
	run        mlflowclient.RunInfo
	experiment mlflowclient.Experiment
	queue      []queuedEvent // undelivered events, in order
	lastErr    error         // the last store failure, nil after a success
	retryAt    time.Time     // no store call before this, except at the end
	// permanent: a failure that retrying cannot fix (schema not understood, experiment deleted);
	// the run stays in the journal.
	permanent bool
	// undelivered: files the store refused for themselves; they stay in the journal.
	undelivered []mlflowclient.ArtifactFile
	stopFlusher func()
}

func newRecorder(store mlflowclient.Store, j *journal.Run, w *warnings) *recorder {
	return &recorder{store: store, journal: j, warnings: w, wake: make(chan struct{}, 1)}
}

// retryPause is how long the recorder leaves a failing store alone during the run, so that a dead
// store costs one bounded wait per pause, not one per sample.
const retryPause = 15 * time.Second

type createRequest struct {
	experimentName, experimentID string
	req                          mlflowclient.CreateRunRequest
	seq                          int64
}

type queuedEvent struct {
	seq      int64
	batch    *batchEvent
	artifact *mlflowclient.ArtifactFile
	end      *endEvent
}

// The events' payloads are journal's types, shared with the delivery that replays them.
type (
	createEvent   = journal.CreateData
	batchEvent    = journal.BatchData
	artifactEvent = journal.ArtifactData
	endEvent      = journal.EndData
)

// journalAppend writes an event ahead; a journal failure is warned once and otherwise ignored.
func (r *recorder) journalAppend(typ string, data any) int64 {
	if r.journal == nil {
		return 0
	}
	seq, err := r.journal.Append(typ, data)
	if err != nil {
		r.warnings.once("journal", "journal: %s%s", oneLine(err), spaceAdvice(err))
	}
	return seq
}

func (r *recorder) ack(seq int64) {
	if r.journal != nil && seq > 0 {
		_ = r.journal.Ack(seq)
	}
}

// failed notes a store failure; the first of each kind is warned.
func (r *recorder) failed(what string, err error, permanent bool) {
	r.lastErr = fmt.Errorf("%s: %w", what, err)
	r.retryAt = time.Now().Add(retryPause)
	if permanent {
		r.permanent = true
	}
	r.warnings.once("store:"+what, "tracking store: %s: %s", what, oneLine(err))
}

// create journals the run and creates it in the store (experiment resolved or created first).
func (r *recorder) create(ctx context.Context, experimentName, experimentID string, req mlflowclient.CreateRunRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.qmu.Lock()
	seq := r.journalAppend(journal.TypeCreate, createEvent{
		ExperimentID: experimentID, Experiment: experimentName, RunName: req.RunName, UserID: req.UserID,
		StartTime: req.StartTime, Tags: req.Tags, Params: req.Params,
	})
	r.qmu.Unlock()
	r.createReq = &createRequest{experimentName: experimentName, experimentID: experimentID, req: req, seq: seq}
	r.ensureRun(ctx)
	if r.journal != nil {
		_ = r.journal.Flush()
	}
}

// ensureRun creates the run in the store if that has not happened yet. Called with mu held.
func (r *recorder) ensureRun(ctx context.Context) bool {
	if r.run.RunID != "" {
		return true
	}
	if r.store == nil || r.permanent || r.createReq == nil {
		return false
	}
	c := r.createReq
	exp, err := resolveExperiment(ctx, r.store, c.experimentName, c.experimentID)
	if err != nil {
		var deleted *mlflowclient.DeletedExperimentError
		permanent := errors.As(err, &deleted) || errors.Is(err, mlflowclient.ErrNotFound) || errors.Is(err, mlflowclient.ErrSchema)
		r.failed("experiment", err, permanent)
		return false
	}
	req := c.req
	req.ExperimentID = exp.ID
	info, err := r.store.CreateRun(ctx, req)
	var conflict *mlflowclient.ParamConflictError
	if errors.As(err, &conflict) {
		r.warnings.add("%s", conflict.Error())
		err = nil
	}
	if err != nil {
		if info.RunID == "" {
			r.failed("create run", err, errors.Is(err, mlflowclient.ErrSchema))
			return false
		}
		// The run exists but its params did not all arrive: log them again with the first batch.
		r.qmu.Lock()
		r.queue = append([]queuedEvent{{batch: &batchEvent{Params: req.Params}}}, r.queue...)
		r.qmu.Unlock()
	}
	r.experiment = exp
	r.run = info
	r.lastErr = nil
	r.qmu.Lock()
	r.journalAppend(journal.TypeRunID, journal.RunIDData{RunID: info.RunID, ExperimentID: info.ExperimentID})
	r.ack(c.seq)
	r.qmu.Unlock()
	return true
}

// logBatch queues metrics, params and tags; the background flusher sends them (see startFlusher).
// It never waits for the store.
func (r *recorder) logBatch(metrics []mlflowclient.Metric, params []mlflowclient.Param, tags []mlflowclient.Tag) {
	if len(metrics)+len(params)+len(tags) == 0 {
		return
	}
	r.qmu.Lock()
	ev := batchEvent{Metrics: metrics, Params: params, Tags: tags}
	seq := r.journalAppend(journal.TypeBatch, ev)
	r.queue = append(r.queue, queuedEvent{seq: seq, batch: &ev})
	// Hand the samples to the kernel now: a kill -9 of mltrack then loses nothing already sampled.
	if r.journal != nil {
		_ = r.journal.Flush()
	}
	r.qmu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default: // a flush is already due
	}
}

// startFlusher sends queued events in the background while the command runs, each attempt bounded
// by callTimeout. stopFlusher waits for the attempt under way to end.
func (r *recorder) startFlusher(ctx context.Context, callTimeout time.Duration) {
	r.stopped = make(chan struct{})
	done := make(chan struct{})
	r.stopFlusher = func() {
		close(done)
		<-r.stopped
	}
	go func() {
		defer close(r.stopped)
		for {
			select {
			case <-done:
				return
			case <-r.wake:
			}
			callCtx, cancel := context.WithTimeout(ctx, callTimeout)
			r.mu.Lock()
			r.flush(callCtx, false)
			r.mu.Unlock()
			cancel()
		}
	}()
}

// logArtifacts queues files (uploaded several at a time on a tracking server) and sends the queue.
func (r *recorder) logArtifacts(ctx context.Context, files []mlflowclient.ArtifactFile) {
	r.qmu.Lock()
	for i := range files {
		f := files[i]
		seq := r.journalAppend(journal.TypeArtifact, artifactEvent{File: f.LocalPath, ArtifactPath: f.ArtifactPath})
		r.queue = append(r.queue, queuedEvent{seq: seq, artifact: &f})
	}
	r.qmu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flush(ctx, true)
}

// finish queues the final status and end time, and sends everything still queued.
func (r *recorder) finish(ctx context.Context, status mlflowclient.RunStatus, end time.Time) {
	r.qmu.Lock()
	ev := endEvent{Status: status, EndTime: end.UnixMilli()}
	seq := r.journalAppend(journal.TypeEnd, ev)
	r.queue = append(r.queue, queuedEvent{seq: seq, end: &ev})
	r.qmu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flush(ctx, true)
}

// head returns the first n queued events (fewer when the queue is shorter).
func (r *recorder) head(n int) []queuedEvent {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	if n > len(r.queue) {
		n = len(r.queue)
	}
	return append([]queuedEvent(nil), r.queue[:n]...)
}

// pop removes the first n events, which were delivered, acknowledging those marked.
func (r *recorder) pop(n int, ack bool) {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	if ack {
		for _, ev := range r.queue[:n] {
			r.ack(ev.seq)
		}
	}
	r.queue = r.queue[n:]
}

// flush sends queued events in order until one fails. During the run it respects the pause after a
// failure; at the end (force) it always tries. Called with mu held.
func (r *recorder) flush(ctx context.Context, force bool) {
	if r.store == nil || r.permanent || len(r.head(1)) == 0 {
		return
	}
	if !force && time.Now().Before(r.retryAt) {
		return
	}
	if !r.ensureRun(ctx) {
		return
	}
	for {
		evs := r.head(1)
		if len(evs) == 0 {
			return
		}
		ev := evs[0]
		switch {
		case ev.batch != nil && r.finishesRun():
			// The last batch and the final status in one step where the store can (SQLite: one
			// transaction, fewer fsyncs on the command's exit path).
			end := r.head(2)[1].end
			err := r.store.(mlflowclient.RunFinisher).FinishRun(ctx, r.run.RunID, ev.batch.Metrics, ev.batch.Params, ev.batch.Tags, end.Status, end.EndTime)
			var conflict *mlflowclient.ParamConflictError
			if errors.As(err, &conflict) {
				r.warnings.add("%s", conflict.Error())
				err = nil
			}
			if err != nil {
				r.failed("log the last metrics and the final status", err, false)
				return
			}
			r.pop(2, true)
		case ev.batch != nil:
			err := r.store.LogBatch(ctx, r.run.RunID, ev.batch.Metrics, ev.batch.Params, ev.batch.Tags)
			var conflict *mlflowclient.ParamConflictError
			if errors.As(err, &conflict) {
				r.warnings.add("%s", conflict.Error())
				err = nil
			}
			if err != nil {
				r.failed("log metrics, params and tags", err, false)
				return
			}
			r.pop(1, true)
		case ev.artifact != nil:
			// Consecutive artifacts go together, so a tracking server uploads several at a time.
			group := r.head(1 << 20)
			n := 0
			for n < len(group) && group[n].artifact != nil {
				n++
			}
			if !r.sendArtifacts(ctx, group[:n]) {
				return
			}
			r.pop(n, false) // sendArtifacts acknowledged the delivered ones
		case ev.end != nil:
			if err := r.store.UpdateRun(ctx, r.run.RunID, ev.end.Status, ev.end.EndTime); err != nil {
				r.failed("set final status", err, false)
				return
			}
			r.pop(1, true)
		default:
			r.pop(1, true)
		}
		r.lastErr = nil
	}
}

// finishesRun reports whether the queue starts with a batch followed by the end event, and the
// store can write both at once.
func (r *recorder) finishesRun() bool {
	if _, ok := r.store.(mlflowclient.RunFinisher); !ok {
		return false
	}
	evs := r.head(2)
	return len(evs) == 2 && evs[0].batch != nil && evs[1].end != nil
}

// sendArtifacts uploads a group of queued artifacts, acknowledging each delivered one. A file the
// store refuses for itself (a location mltrack cannot write, a name the artifact server refuses)
// does not count as a store failure: that file alone stays in the journal (undelivered).
func (r *recorder) sendArtifacts(ctx context.Context, group []queuedEvent) bool {
	files := make([]mlflowclient.ArtifactFile, len(group))
	for i, ev := range group {
		files[i] = *ev.artifact
	}
	if err := mlflowclient.LogArtifactFiles(ctx, r.store, r.run, files); err == nil {
		r.qmu.Lock()
		for _, ev := range group {
			r.ack(ev.seq)
		}
		r.qmu.Unlock()
		return true
	}
	// Something failed: find out file by file (an upload overwrites, so nothing is duplicated).
	for _, ev := range group {
		f := ev.artifact
		err := r.store.LogArtifact(ctx, r.run, f.LocalPath, f.ArtifactPath)
		switch {
		case err == nil:
			r.qmu.Lock()
			r.ack(ev.seq)
			r.qmu.Unlock()
		case errors.Is(err, os.ErrNotExist):
			// The command (or someone) removed the file after it was seen: there is nothing left
			// to deliver, and keeping the event would leave the run pending for ever.
			r.qmu.Lock()
			r.ack(ev.seq)
			r.qmu.Unlock()
			r.warnings.once("artifact-vanished", "artifacts: %s was removed before it could be uploaded; files that vanish are skipped", f.ArtifactPath)
		case errors.Is(err, mlflowclient.ErrUnsupportedArtifactURI):
			r.undelivered = append(r.undelivered, *f)
			r.warnings.once("artifact-refused", "artifacts: %s", oneLine(err))
		default:
			r.failed("log artifact "+f.ArtifactPath, err, false)
			return false
		}
	}
	return true
}

// outcome says what the store got: everything, or what is left (queued events, refused files).
func (r *recorder) outcome() (delivered bool, pendingArtifacts []mlflowclient.ArtifactFile) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.qmu.Lock()
	defer r.qmu.Unlock()
	pending := append([]mlflowclient.ArtifactFile(nil), r.undelivered...)
	for _, ev := range r.queue {
		if ev.artifact != nil {
			pending = append(pending, *ev.artifact)
		}
	}
	return r.run.RunID != "" && len(r.queue) == 0 && len(r.undelivered) == 0, pending
}

// runCreated reports whether the store holds the run (it may still miss some of its data).
func (r *recorder) runCreated() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.run.RunID != ""
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
			return exp, fmt.Errorf("experiment id %s does not exist in %s; create it or use -e NAME: %w", id, s.URI(), err)
		}
		if err == nil && exp.LifecycleStage == mlflowclient.LifecycleDeleted {
			return exp, &mlflowclient.DeletedExperimentError{Name: exp.Name, ID: exp.ID, StoreURI: s.URI()}
		}
		return exp, err
	default:
		return s.GetExperiment(ctx, mlflowclient.DefaultExperimentID)
	}
}
