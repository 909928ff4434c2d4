// Package delivery replays runs kept in the journal into a tracking store: the engine behind
// `mltrack sync` and behind the delivery a successful mltrack run does at its end.
//
// A delivery is idempotent and resumable. It holds the journal's lock while it works (two
// deliveries never work on one journal, and none works on a journal its mltrack still records),
// finds the run the journal belongs to before creating one (the run_id a previous attempt
// recorded, else the run carrying the journal's key in the mlflowclient.RunKeyTag tag), and
// acknowledges every event in the journal right after the store took it, so that a delivery
// interrupted anywhere resumes with what was not acknowledged and sends nothing twice.
//
// The one window that cannot be closed: the store applied a request but the acknowledgement was
// not written (the process died, or the answer was lost and the store reported an error). That
// request is sent again on the next delivery. Everything a delivery sends is safe to send twice
// except metric samples in a file store: params are write-once (the same value again is a no-op),
// tags and the final status are overwritten with the same values, artifacts are overwritten with
// the same bytes, a run is found again by its key instead of being created twice, and MLflow's
// SQL stores (a sqlite:// database written by mltrack, and a tracking server on a database) drop a
// metric sample identical to one they hold. A file store (./mlruns) appends the samples of that one
// request a second time.
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mltrack/mltrack/journal"
	"github.com/mltrack/mltrack/mlflowclient"
)

// State is where a journal stands after a delivery.
type State string

const (
	// StateDelivered: the store has the whole run and the journal was removed (or another process
	// delivered and removed it meanwhile: see Result.Note).
	StateDelivered State = "delivered"
	// StateRunning: the run has no end yet and the mltrack recording it may still be running;
	// what the journal held was delivered and the journal kept.
	StateRunning State = "running"
	// StateLocked: another process holds the journal (the mltrack recording it, or another
	// delivery); nothing was done. Result.Note says who.
	StateLocked State = "locked"
	// StateFailed: something could not be delivered; Result.Err says what. The journal keeps it,
	// and a later delivery resumes.
	StateFailed State = "failed"
)

// Tags put on a run that a delivery closes because the mltrack recording it is gone.
const (
	ClosedByTag     = "mltrack.closed_by"
	ClosedReasonTag = "mltrack.closed_reason"
)

// Options tune a delivery. The zero value is what `mltrack sync` uses.
type Options struct {
	// ClosedBy is the value of the mltrack.closed_by tag on a run closed because its mltrack is
	// gone: "sync" when empty.
	ClosedBy string
	// OwnerGone decides whether the mltrack that recorded a journal is gone; journal.OwnerGone
	// when nil.
	OwnerGone func(journal.Meta) (gone bool, why string)
	// ArtifactsPerCall bounds how many artifacts one upload call carries (a tracking server
	// uploads them several at a time); 32 when 0.
	ArtifactsPerCall int
}

// Counts says what a delivery sent to the store.
type Counts struct {
	Metrics       int   `json:"metrics"` // samples
	Params        int   `json:"params"`
	Tags          int   `json:"tags"`
	Artifacts     int   `json:"artifacts"`
	ArtifactBytes int64 `json:"artifact_bytes"`
}

// Result is what one delivery did.
type Result struct {
	Key          string `json:"key"`
	Dir          string `json:"journal"`
	Destination  string `json:"destination"` // the store's URI
	RunID        string `json:"run_id,omitempty"`
	ExperimentID string `json:"experiment_id,omitempty"`
	RunURL       string `json:"run_url,omitempty"` // stores with a web UI (tracking servers)
	State        State  `json:"state"`
	Err          error  `json:"-"`               // set when State is StateFailed
	Error        string `json:"error,omitempty"` // Err's text, for JSON output
	// Note explains a state in one line: who holds a locked journal, why a run is considered
	// still running, that another process delivered it.
	Note string `json:"note,omitempty"`
	// Created: this delivery created the run (no earlier attempt had).
	Created bool `json:"created,omitempty"`
	// Closed is set when this delivery closed the run as FAILED because the mltrack recording it
	// is gone; it is the reason, as in the mltrack.closed_reason tag.
	Closed    string   `json:"closed,omitempty"`
	Delivered Counts   `json:"delivered"`
	Remaining int      `json:"remaining"` // events still undelivered in the journal
	Warnings  []string `json:"warnings,omitempty"`
}

// String is the result in one line, for `mltrack sync` and the end of a run.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s", r.Key)
	if r.RunID != "" {
		fmt.Fprintf(&b, " (MLflow run %s)", r.RunID)
	}
	switch r.State {
	case StateDelivered:
		b.WriteString(": delivered to " + r.Destination)
	case StateRunning:
		b.WriteString(": still running; delivered what it recorded so far to " + r.Destination)
	case StateLocked:
		b.WriteString(": skipped")
	case StateFailed:
		b.WriteString(": not delivered to " + r.Destination)
		if r.Err != nil {
			b.WriteString(": " + r.Err.Error())
		}
	}
	if r.Note != "" {
		b.WriteString(" (" + r.Note + ")")
	}
	if r.Closed != "" {
		b.WriteString("; closed as FAILED: " + r.Closed)
	}
	return b.String()
}

// Deliver replays the undelivered events of the journal p into store (see the package comment).
// It honours ctx: at the deadline it stops between two requests (a request under way is bounded
// by ctx too) and leaves the journal consistent, every completed request acknowledged. The error
// is Result.Err: non-nil exactly when State is StateFailed.
func Deliver(ctx context.Context, p journal.Pending, store mlflowclient.Store, opts Options) (Result, error) {
	res := deliver(ctx, p, store, opts)
	if res.Err != nil {
		res.State, res.Error = StateFailed, res.Err.Error()
	}
	return res, res.Err
}

func deliver(ctx context.Context, p journal.Pending, store mlflowclient.Store, opts Options) Result {
	res := Result{Key: p.Meta.Key, Dir: p.Dir, Destination: store.URI()}
	j, err := journal.OpenExisting(p.Dir)
	switch {
	case errors.Is(err, journal.ErrLocked):
		res.State = StateLocked
		var le *journal.LockedError
		pid, role := 0, ""
		if errors.As(err, &le) {
			pid, role = le.PID, le.Role
		}
		switch {
		case role == journal.RoleRecording && pid != 0:
			res.Note = fmt.Sprintf("still being recorded by mltrack (pid %d)", pid)
		case role == journal.RoleRecording:
			res.Note = "still being recorded by mltrack"
		case role == journal.RolePruning:
			res.Note = fmt.Sprintf("being pruned by another mltrack (pid %d)", pid)
		case pid != 0:
			res.Note = fmt.Sprintf("being delivered by another process (pid %d)", pid)
		default:
			res.Note = "being delivered by another process"
		}
		return res
	case errors.Is(err, fs.ErrNotExist):
		res.State = StateDelivered
		res.Note = "delivered by another process meanwhile"
		return res
	case err != nil:
		res.State, res.Err = StateFailed, err
		return res
	}
	if w := j.LockWarning(); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	d := &deliverer{j: j, store: store, opts: opts, res: &res}
	d.do(ctx)
	return res
}

// deliverer is one delivery of one journal.
type deliverer struct {
	j     *journal.Run
	store mlflowclient.Store
	opts  Options
	res   *Result

	meta      journal.Meta
	acked     map[int64]bool
	create    *journal.CreateData
	createSeq int64
	knownRun  journal.RunIDData // the last run_id event
	lastSeen  int64             // time of the owner's last event (ms)
	ended     bool
	items     []journal.Event  // undelivered batch, artifact and end events, in order
	lastOfArt map[string]int64 // artifact path → seq of its last event
	artFiles  map[string]bool  // local files the artifact events name (absolute, clean)
	run       mlflowclient.RunInfo
	kept      []string // why events stay in the journal although the store works
}

func (d *deliverer) warn(format string, args ...any) {
	d.res.Warnings = append(d.res.Warnings, fmt.Sprintf(format, args...))
}

func (d *deliverer) do(ctx context.Context) {
	err := d.deliver(ctx)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("stopped at the time budget (%w); a later delivery resumes: %w", ctx.Err(), err)
	}
	// Where the journal stands now decides its fate.
	cur, lerr := d.j.Load()
	if lerr != nil && err == nil {
		err = lerr
	}
	if lerr == nil {
		d.res.Remaining = len(cur.Undelivered())
	}
	switch {
	case err != nil:
		d.res.State, d.res.Err = StateFailed, err
	case cur.Delivered():
		if rerr := d.j.Remove(); rerr != nil {
			d.warn("the delivered run's journal %s could not be removed: %v", d.res.Dir, rerr)
		}
		d.res.State = StateDelivered
		return
	case !cur.Ended():
		d.res.State = StateRunning
	default:
		d.res.State = StateFailed
		d.res.Err = fmt.Errorf("%d events stay in the journal: %s", d.res.Remaining, strings.Join(d.kept, "; "))
		if len(d.kept) == 0 {
			d.res.Err = fmt.Errorf("%d events stay in the journal", d.res.Remaining)
		}
	}
	if cerr := d.j.Close(); cerr != nil && d.res.Err == nil {
		d.res.State, d.res.Err = StateFailed, fmt.Errorf("journal %s: %w", d.res.Dir, cerr)
	}
}

func (d *deliverer) deliver(ctx context.Context) error {
	cur, err := d.j.Load()
	if err != nil {
		return err
	}
	d.scan(cur)
	if d.knownRun.RunID != "" {
		d.res.RunID, d.res.ExperimentID = d.knownRun.RunID, d.knownRun.ExperimentID
	}
	if d.meta.TrackingURI != "" && !SameDestination(d.meta.TrackingURI, d.store.URI()) && len(d.acked) > 0 {
		d.warn("run %s was meant for %s, which took part of it already; %s gets only the part not delivered there",
			d.meta.Key, d.meta.TrackingURI, d.store.URI())
	}

	if !d.ended {
		gone, why := d.ownerGone()
		if !gone {
			d.res.Note = why
		} else {
			if err := d.salvageFiles(); err != nil {
				return err
			}
			if d.create == nil && d.knownRun.RunID == "" && len(d.items) == 0 {
				// Its mltrack died before recording anything: there is no run to deliver.
				d.res.Note = "nothing was recorded (" + why + "); journal removed"
				return d.closeEmpty()
			}
			if err := d.appendClose(why); err != nil {
				return err
			}
		}
	}

	needRun := len(d.items) > 0 || (d.create != nil && !d.acked[d.createSeq])
	if !needRun {
		return nil
	}
	if err := d.resolveRun(ctx); err != nil {
		return err
	}
	return d.replay(ctx)
}

// scan reads the journal: the run's creation, the run found earlier, what is left to deliver.
func (d *deliverer) scan(p journal.Pending) {
	d.meta = p.Meta
	d.acked = p.AckedSeqs()
	d.lastOfArt = map[string]int64{}
	d.artFiles = map[string]bool{}
	for _, ev := range p.Events {
		switch ev.Type {
		case journal.TypeAck:
			continue
		case journal.TypeRunID:
			var r journal.RunIDData
			if json.Unmarshal(ev.Data, &r) == nil && r.RunID != "" {
				d.knownRun = r
			}
			continue
		case journal.TypeCreate:
			d.lastSeen = max(d.lastSeen, ev.Time)
			if d.create != nil {
				d.items = d.appendUnacked(d.items, ev) // a second create: reported in replay
				continue
			}
			var c journal.CreateData
			if err := json.Unmarshal(ev.Data, &c); err != nil {
				d.warn("the journal's create event (seq %d) cannot be read (%v); the run is created from the journal's header", ev.Seq, err)
				c = journal.CreateData{}
			}
			d.create, d.createSeq = &c, ev.Seq
			continue
		case journal.TypeArtifact:
			var a journal.ArtifactData
			if json.Unmarshal(ev.Data, &a) == nil {
				d.lastOfArt[a.ArtifactPath] = ev.Seq
				d.artFiles[d.localPath(a.File)] = true
			}
		case journal.TypeEnd:
			d.ended = true
		}
		if ev.Type == journal.TypeBatch || ev.Type == journal.TypeArtifact {
			d.lastSeen = max(d.lastSeen, ev.Time)
		}
		d.items = d.appendUnacked(d.items, ev)
	}
}

func (d *deliverer) appendUnacked(items []journal.Event, ev journal.Event) []journal.Event {
	if d.acked[ev.Seq] {
		return items
	}
	return append(items, ev)
}

func (d *deliverer) ownerGone() (bool, string) {
	if d.opts.OwnerGone != nil {
		return d.opts.OwnerGone(d.meta)
	}
	return journal.OwnerGone(d.meta)
}

// appendClose records in the journal that the run ended because its mltrack is gone: a batch
// with the tags that say so, and an end event (FAILED, at the time of its last event). Written to
// the journal first, they are delivered like any event, and a delivery interrupted after this
// point resumes with them.
func (d *deliverer) appendClose(why string) error {
	closedBy := d.opts.ClosedBy
	if closedBy == "" {
		closedBy = "sync"
	}
	end := d.lastSeen
	if end == 0 {
		end = d.meta.Created.UnixMilli()
	}
	if d.create != nil && end < d.create.StartTime {
		end = d.create.StartTime
	}
	batch := journal.BatchData{Tags: []mlflowclient.Tag{{Key: ClosedByTag, Value: closedBy}, {Key: ClosedReasonTag, Value: why}}}
	bseq, err := d.j.Append(journal.TypeBatch, batch)
	if err != nil {
		return fmt.Errorf("record the run's end in the journal: %w", err)
	}
	eseq, err := d.j.Append(journal.TypeEnd, journal.EndData{Status: mlflowclient.StatusFailed, EndTime: end})
	if err != nil {
		return fmt.Errorf("record the run's end in the journal: %w", err)
	}
	if err := d.j.Sync(); err != nil {
		return fmt.Errorf("record the run's end in the journal: %w", err)
	}
	cur, err := d.j.Load()
	if err != nil {
		return err
	}
	for _, ev := range cur.Events {
		if ev.Seq == bseq || ev.Seq == eseq {
			d.items = append(d.items, ev)
		}
	}
	d.ended = true
	d.res.Closed = why
	return nil
}

// localPath resolves an artifact event's file: absolute, or relative to the journal.
func (d *deliverer) localPath(file string) string {
	if !filepath.IsAbs(file) {
		file = filepath.Join(d.res.Dir, filepath.FromSlash(file))
	}
	return filepath.Clean(file)
}

// salvageFiles adds an artifact event for every file in the journal's files/ directory that no
// artifact event names: what a recorder killed mid-run captured (its logs up to its end) would be
// lost otherwise. The files' modification times count as the run's last signs of life. The file's path under files/ is its artifact path, as the recorder names them
// (logs/stdout.log, copies of outputs under their artifact path).
func (d *deliverer) salvageFiles() error {
	root := filepath.Join(d.res.Dir, "files")
	var found []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if strings.HasPrefix(e.Name(), ".") && p != root {
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() {
			return nil
		}
		// The child's output reached these files until the end: a sign of life later than the
		// last event when the recorder died between two flushes of its journal.
		if fi, err := e.Info(); err == nil {
			d.lastSeen = max(d.lastSeen, fi.ModTime().UnixMilli())
		}
		if !d.artFiles[filepath.Clean(p)] {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("look for files in the journal: %w", err)
	}
	for _, p := range found {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			continue
		}
		ap := filepath.ToSlash(rel)
		if _, ok := d.lastOfArt[ap]; ok {
			continue // an event stores another file under this path
		}
		data := journal.ArtifactData{File: filepath.ToSlash(filepath.Join("files", rel)), ArtifactPath: ap}
		seq, err := d.j.Append(journal.TypeArtifact, data)
		if err != nil {
			return fmt.Errorf("record the files left in the journal: %w", err)
		}
		raw, _ := json.Marshal(data)
		d.items = append(d.items, journal.Event{Seq: seq, Type: journal.TypeArtifact, Data: raw})
		d.lastOfArt[ap] = seq
		d.artFiles[filepath.Clean(p)] = true
	}
	return nil
}

// closeEmpty removes a journal in which nothing was recorded and whose mltrack is gone.
func (d *deliverer) closeEmpty() error {
	// An end event makes the journal "delivered" for run(), which then removes it.
	seq, err := d.j.Append(journal.TypeEnd, journal.EndData{Status: mlflowclient.StatusFailed, EndTime: d.meta.Created.UnixMilli()})
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return d.ack(seq)
}

func (d *deliverer) ack(seqs ...int64) error {
	for _, s := range seqs {
		if err := d.j.Ack(s); err != nil {
			return fmt.Errorf("record the delivery in the journal: %w", err)
		}
		d.acked[s] = true
	}
	if err := d.j.Flush(); err != nil {
		return fmt.Errorf("record the delivery in the journal: %w", err)
	}
	return nil
}

// resolveRun finds the run in the store, or creates it: the run a previous attempt recorded,
// else the run with the journal's key, else a new one. It records the run in the journal so that
// a delivery interrupted later resumes with it.
func (d *deliverer) resolveRun(ctx context.Context) error {
	info, found, err := d.findRun(ctx)
	if err != nil {
		return err
	}
	if !found {
		if info, err = d.createRun(ctx); err != nil {
			return err
		}
		d.res.Created = true
	}
	d.run = info
	d.res.RunID, d.res.ExperimentID = info.RunID, info.ExperimentID
	if l, ok := d.store.(mlflowclient.RunLinker); ok {
		d.res.RunURL = l.RunURL(info.ExperimentID, info.RunID)
	}
	if d.knownRun.RunID != info.RunID {
		if _, err := d.j.Append(journal.TypeRunID, journal.RunIDData{RunID: info.RunID, ExperimentID: info.ExperimentID}); err != nil {
			return fmt.Errorf("record the run id in the journal: %w", err)
		}
		if err := d.j.Sync(); err != nil {
			return fmt.Errorf("record the run id in the journal: %w", err)
		}
		d.knownRun = journal.RunIDData{RunID: info.RunID, ExperimentID: info.ExperimentID}
	}
	if d.create == nil || d.acked[d.createSeq] {
		return nil
	}
	if found {
		// The run exists but its creation was never acknowledged: the store may have created it
		// without all of its params and tags (a tracking server logs params after creating the
		// run). Sending them again is harmless: same params, same tags.
		if err := d.logBatch(ctx, nil, d.create.Params, d.create.Tags); err != nil {
			return err
		}
	}
	d.res.Delivered.Params += len(d.create.Params)
	d.res.Delivered.Tags += len(d.create.Tags)
	return d.ack(d.createSeq)
}

// findRun looks for the journal's run in the store.
func (d *deliverer) findRun(ctx context.Context) (mlflowclient.RunInfo, bool, error) {
	if id := d.knownRun.RunID; id != "" {
		run, err := d.store.GetRun(ctx, id)
		switch {
		case err == nil && run.Info.LifecycleStage == mlflowclient.LifecycleDeleted:
			return run.Info, false, deletedRunError(d.store, run.Info.RunID)
		case err == nil:
			return run.Info, true, nil
		case !errors.Is(err, mlflowclient.ErrNotFound):
			return mlflowclient.RunInfo{}, false, fmt.Errorf("look up run %s: %w", id, err)
		}
	}
	exp, found, err := d.experiment(ctx, false)
	if err != nil || !found {
		return mlflowclient.RunInfo{}, false, err
	}
	finder, ok := d.store.(mlflowclient.RunFinder)
	if !ok {
		d.warn("%s cannot search runs by tag: if an earlier delivery created this run, it is created again", d.store.URI())
		return mlflowclient.RunInfo{}, false, nil
	}
	runs, err := finder.FindRunsByTag(ctx, exp.ID, mlflowclient.RunKeyTag, d.meta.Key)
	if err != nil {
		return mlflowclient.RunInfo{}, false, fmt.Errorf("look for run %s in experiment %s: %w", d.meta.Key, exp.ID, err)
	}
	var active, deleted []mlflowclient.RunInfo
	for _, r := range runs {
		if r.LifecycleStage == mlflowclient.LifecycleDeleted {
			deleted = append(deleted, r)
		} else {
			active = append(active, r)
		}
	}
	if len(active) == 0 {
		if len(deleted) > 0 {
			return deleted[0], false, deletedRunError(d.store, deleted[0].RunID)
		}
		return mlflowclient.RunInfo{}, false, nil
	}
	sort.Slice(active, func(i, j int) bool {
		if active[i].StartTime != active[j].StartTime {
			return active[i].StartTime < active[j].StartTime
		}
		return active[i].RunID < active[j].RunID
	})
	if len(active) > 1 {
		d.warn("%d runs in experiment %s carry the key %s; completing the oldest, %s", len(active), exp.ID, d.meta.Key, active[0].RunID)
	}
	return active[0], true, nil
}

func deletedRunError(s mlflowclient.Store, runID string) error {
	return fmt.Errorf("run %s was deleted in %s; restore it with `mlflow runs restore --run-id %s` (MLFLOW_TRACKING_URI=%s) to deliver the rest of it",
		runID, s.URI(), runID, s.URI())
}

// experiment resolves the experiment the run goes to, as the recording mltrack did: by name
// (created when missing if create is set), by id, or MLflow's default experiment. found is false
// when a named experiment does not exist (and create is not set).
func (d *deliverer) experiment(ctx context.Context, create bool) (mlflowclient.Experiment, bool, error) {
	name, id := d.meta.Experiment, d.meta.ExperimentID
	if d.create != nil && (d.create.Experiment != "" || d.create.ExperimentID != "") {
		name, id = d.create.Experiment, d.create.ExperimentID
	}
	switch {
	case name != "" && create:
		exp, err := mlflowclient.EnsureExperiment(ctx, d.store, name)
		return exp, err == nil, err
	case name != "":
		exp, err := d.store.GetExperimentByName(ctx, name)
		if errors.Is(err, mlflowclient.ErrNotFound) {
			return exp, false, nil
		}
		if err == nil && exp.LifecycleStage == mlflowclient.LifecycleDeleted {
			return exp, false, &mlflowclient.DeletedExperimentError{Name: exp.Name, ID: exp.ID, StoreURI: d.store.URI()}
		}
		return exp, err == nil, err
	case id == "":
		id = mlflowclient.DefaultExperimentID
	}
	exp, err := d.store.GetExperiment(ctx, id)
	if errors.Is(err, mlflowclient.ErrNotFound) {
		return exp, false, fmt.Errorf("experiment id %s does not exist in %s; create it, or deliver to the store the run was meant for (%s)", id, d.store.URI(), d.meta.TrackingURI)
	}
	if err == nil && exp.LifecycleStage == mlflowclient.LifecycleDeleted {
		return exp, false, &mlflowclient.DeletedExperimentError{Name: exp.Name, ID: exp.ID, StoreURI: d.store.URI()}
	}
	return exp, err == nil, err
}

// createRun creates the run from the journal's create event (or its header when there is none).
func (d *deliverer) createRun(ctx context.Context) (mlflowclient.RunInfo, error) {
	exp, _, err := d.experiment(ctx, true)
	if err != nil {
		return mlflowclient.RunInfo{}, err
	}
	req := mlflowclient.CreateRunRequest{ExperimentID: exp.ID, StartTime: d.meta.Created.UnixMilli()}
	if c := d.create; c != nil {
		req.RunName, req.UserID, req.Params = c.RunName, c.UserID, c.Params
		req.Tags = append(req.Tags, c.Tags...)
		if c.StartTime != 0 {
			req.StartTime = c.StartTime
		}
	}
	hasKey := false
	for i, t := range req.Tags {
		if t.Key == mlflowclient.RunKeyTag {
			req.Tags[i].Value, hasKey = d.meta.Key, true
		}
	}
	if !hasKey {
		req.Tags = append(req.Tags, mlflowclient.Tag{Key: mlflowclient.RunKeyTag, Value: d.meta.Key})
	}
	req.Tags = d.linkParent(ctx, exp.ID, req.Tags)
	info, err := d.store.CreateRun(ctx, req)
	var conflict *mlflowclient.ParamConflictError
	if errors.As(err, &conflict) && info.RunID != "" {
		d.warn("%s", conflict.Error())
		err = nil
	}
	if err != nil {
		return info, fmt.Errorf("create run in experiment %s: %w", exp.ID, err)
	}
	return info, nil
}

// replay sends the undelivered events in order, acknowledging each once the store took it.
func (d *deliverer) replay(ctx context.Context) error {
	items := d.items
	for len(items) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		var n int
		var err error
		switch items[0].Type {
		case journal.TypeBatch:
			n, err = d.replayBatches(ctx, items)
		case journal.TypeArtifact:
			n = 1
			for n < len(items) && items[n].Type == journal.TypeArtifact {
				n++
			}
			err = d.replayArtifacts(ctx, items[:n])
		case journal.TypeEnd:
			n, err = 1, d.replayEnd(ctx, items[0])
		case journal.TypeCreate:
			n = 1
			d.warn("the journal records the run's creation twice (seq %d); the second is ignored", items[0].Seq)
			err = d.ack(items[0].Seq)
		default:
			n = 1
			d.warn("the journal holds an event of unknown type %q (seq %d); it is kept for a newer mltrack", items[0].Type, items[0].Seq)
			d.kept = append(d.kept, fmt.Sprintf("an event of unknown type %q", items[0].Type))
		}
		if err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

// Limits of one merged LogBatch call: MLflow's limits for one request, so that a tracking server
// takes it in one go and an acknowledgement covers a bounded amount.
const (
	mergeMetrics = 1000
	mergeParams  = 100
	mergeTags    = 100
)

// replayBatches sends consecutive batch events merged into as few LogBatch calls as MLflow's
// limits allow (a run sampled every second for hours has thousands of small batches). A key is
// never repeated within one call, so that the order of changes is kept and a server never sees
// one param twice in a request. It returns how many events it consumed.
func (d *deliverer) replayBatches(ctx context.Context, items []journal.Event) (int, error) {
	var (
		merged  journal.BatchData
		seqs    []int64
		params  = map[string]bool{}
		tags    = map[string]bool{}
		n       int
		badSeqs []int64
	)
	for n < len(items) && items[n].Type == journal.TypeBatch {
		ev := items[n]
		var b journal.BatchData
		if err := json.Unmarshal(ev.Data, &b); err != nil {
			d.warn("batch event %d of the journal cannot be read (%v); it is dropped", ev.Seq, err)
			badSeqs = append(badSeqs, ev.Seq)
			n++
			continue
		}
		if len(seqs) > 0 && !fits(merged, b, params, tags) {
			break
		}
		merged.Metrics = append(merged.Metrics, b.Metrics...)
		merged.Params = append(merged.Params, b.Params...)
		merged.Tags = append(merged.Tags, b.Tags...)
		for _, p := range b.Params {
			params[p.Key] = true
		}
		for _, t := range b.Tags {
			tags[t.Key] = true
		}
		seqs = append(seqs, ev.Seq)
		n++
	}
	if len(seqs) > 0 {
		if err := d.logBatch(ctx, merged.Metrics, merged.Params, merged.Tags); err != nil {
			return n, err
		}
		d.res.Delivered.Metrics += len(merged.Metrics)
		d.res.Delivered.Params += len(merged.Params)
		d.res.Delivered.Tags += len(merged.Tags)
	}
	return n, d.ack(append(seqs, badSeqs...)...)
}

func fits(merged, b journal.BatchData, params, tags map[string]bool) bool {
	if len(merged.Metrics)+len(b.Metrics) > mergeMetrics || len(merged.Params)+len(b.Params) > mergeParams || len(merged.Tags)+len(b.Tags) > mergeTags {
		return false
	}
	for _, p := range b.Params {
		if params[p.Key] {
			return false
		}
	}
	for _, t := range b.Tags {
		if tags[t.Key] {
			return false
		}
	}
	return true
}

// logBatch sends one batch; a param already logged with another value is a warning (MLflow
// params are write-once, and the store kept the first value).
func (d *deliverer) logBatch(ctx context.Context, metrics []mlflowclient.Metric, params []mlflowclient.Param, tags []mlflowclient.Tag) error {
	if len(metrics)+len(params)+len(tags) == 0 {
		return nil
	}
	err := d.store.LogBatch(ctx, d.run.RunID, metrics, params, tags)
	var conflict *mlflowclient.ParamConflictError
	if errors.As(err, &conflict) {
		d.warn("%s", conflict.Error())
		return nil
	}
	if err != nil {
		return fmt.Errorf("log metrics, params and tags to run %s: %w", d.run.RunID, err)
	}
	return nil
}

// replayArtifacts stores consecutive artifact events. For one artifact path only the journal's
// last event counts (earlier ones are acknowledged unsent: uploading them would overwrite the
// newer file). A file that is gone cannot be delivered, ever: it is reported and acknowledged.
// A file the store cannot take (an artifact location mltrack cannot write, a name the server
// refuses) stays in the journal, and the rest goes on.
func (d *deliverer) replayArtifacts(ctx context.Context, items []journal.Event) error {
	type upload struct {
		seq  int64
		file mlflowclient.ArtifactFile
	}
	var uploads []upload
	for _, ev := range items {
		var a journal.ArtifactData
		if err := json.Unmarshal(ev.Data, &a); err != nil {
			d.warn("artifact event %d of the journal cannot be read (%v); it is dropped", ev.Seq, err)
			if err := d.ack(ev.Seq); err != nil {
				return err
			}
			continue
		}
		if d.lastOfArt[a.ArtifactPath] != ev.Seq {
			if err := d.ack(ev.Seq); err != nil { // a later event replaces this file
				return err
			}
			continue
		}
		if err := checkArtifactPath(a.ArtifactPath); err != nil {
			d.warn("artifact %q cannot be stored: %v; it is dropped", a.ArtifactPath, err)
			if err := d.ack(ev.Seq); err != nil {
				return err
			}
			continue
		}
		local := a.File
		if !filepath.IsAbs(local) {
			local = filepath.Join(d.res.Dir, filepath.FromSlash(local))
		}
		fi, err := os.Stat(local)
		if err != nil || !fi.Mode().IsRegular() {
			why := "it is not a regular file"
			if err != nil {
				why = err.Error()
			}
			d.warn("artifact %s cannot be delivered: its file %s is gone (%s)", a.ArtifactPath, local, why)
			if err := d.ack(ev.Seq); err != nil {
				return err
			}
			continue
		}
		uploads = append(uploads, upload{ev.Seq, mlflowclient.ArtifactFile{LocalPath: local, ArtifactPath: a.ArtifactPath, Size: fi.Size()}})
	}
	per := d.opts.ArtifactsPerCall
	if per <= 0 {
		per = 32
	}
	for len(uploads) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		group := uploads[:min(per, len(uploads))]
		uploads = uploads[len(group):]
		files := make([]mlflowclient.ArtifactFile, len(group))
		for i, u := range group {
			files[i] = u.file
		}
		if err := mlflowclient.LogArtifactFiles(ctx, d.store, d.run, files); err == nil {
			for _, u := range group {
				d.res.Delivered.Artifacts++
				d.res.Delivered.ArtifactBytes += u.file.Size
				if err := d.ack(u.seq); err != nil {
					return err
				}
			}
			continue
		}
		// Something failed: find out file by file (storing a file again overwrites it).
		for _, u := range group {
			if err := ctx.Err(); err != nil {
				return err
			}
			err := d.store.LogArtifact(ctx, d.run, u.file.LocalPath, u.file.ArtifactPath)
			switch {
			case err == nil:
				d.res.Delivered.Artifacts++
				d.res.Delivered.ArtifactBytes += u.file.Size
				if err := d.ack(u.seq); err != nil {
					return err
				}
			case errors.Is(err, mlflowclient.ErrUnsupportedArtifactURI):
				d.warn("artifact %s stays in the journal: %v", u.file.ArtifactPath, err)
				d.kept = append(d.kept, fmt.Sprintf("artifact %s: %v", u.file.ArtifactPath, err))
			case errors.Is(err, os.ErrNotExist) && fileGone(u.file.LocalPath):
				d.warn("artifact %s cannot be delivered: its file %s is gone", u.file.ArtifactPath, u.file.LocalPath)
				if err := d.ack(u.seq); err != nil {
					return err
				}
			default:
				return fmt.Errorf("store artifact %s of run %s: %w", u.file.ArtifactPath, d.run.RunID, err)
			}
		}
	}
	return nil
}

func fileGone(p string) bool {
	_, err := os.Stat(p)
	return errors.Is(err, os.ErrNotExist)
}

// checkArtifactPath refuses artifact paths no store takes: they must be relative, clean and
// slash-separated, inside the run's artifact directory.
func checkArtifactPath(p string) error {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, `\`) {
		return fmt.Errorf("artifact path %q is not a clean relative path", p)
	}
	return nil
}

// replayEnd sets the final status and end time.
func (d *deliverer) replayEnd(ctx context.Context, ev journal.Event) error {
	var e journal.EndData
	if err := json.Unmarshal(ev.Data, &e); err != nil || !e.Status.Terminal() {
		d.warn("the journal's end event (seq %d) cannot be read; the run is closed as FAILED at %d", ev.Seq, ev.Time)
		e = journal.EndData{Status: mlflowclient.StatusFailed, EndTime: ev.Time}
	}
	if err := d.store.UpdateRun(ctx, d.run.RunID, e.Status, e.EndTime); err != nil {
		return fmt.Errorf("set the final status of run %s: %w", d.run.RunID, err)
	}
	return d.ack(ev.Seq)
}

// ParentKeyTag is the tag a nested run carries with its parent's run key. A child recorded while
// the store was down knows only that key; delivery turns it into MLflow's mlflow.parentRunId when the
// parent is in the store (journals are delivered oldest first, so the parent usually is).
const ParentKeyTag = "mltrack.parent_run_key"

// linkParent adds mlflow.parentRunId from ParentKeyTag when the tags lack it and the parent run
// can be found in the same experiment.
func (d *deliverer) linkParent(ctx context.Context, experimentID string, tags []mlflowclient.Tag) []mlflowclient.Tag {
	parentKey := ""
	for _, t := range tags {
		switch t.Key {
		case "mlflow.parentRunId":
			return tags
		case ParentKeyTag:
			parentKey = t.Value
		}
	}
	finder, ok := d.store.(mlflowclient.RunFinder)
	if parentKey == "" || !ok {
		return tags
	}
	runs, err := finder.FindRunsByTag(ctx, experimentID, mlflowclient.RunKeyTag, parentKey)
	if err != nil || len(runs) == 0 {
		d.warn("parent run (key %s) not found in the store; the run is delivered without its parent link", parentKey)
		return tags
	}
	return append(tags, mlflowclient.Tag{Key: "mlflow.parentRunId", Value: runs[0].RunID})
}
