// Package mlflowclient owns MLflow's vocabulary (experiments, runs, metrics, params, tags, artifacts)
// and every store mltrack writes to: MLflow's SQLite schema, its file-store layout, and (later) the
// REST API of a tracking server. Nothing outside this package knows how a store lays out its data.
//
// The package never reads the environment: callers pass URIs, credentials and budgets in.
package mlflowclient

import (
	"errors"
	"fmt"
)

// RunStatus is MLflow's run status, spelled as the REST API and the SQL store spell it.
type RunStatus string

// The statuses MLflow knows. KILLED is valid in every store although the Python client never sets it;
// mltrack uses it for commands that died of a signal or timed out.
const (
	StatusRunning   RunStatus = "RUNNING"
	StatusScheduled RunStatus = "SCHEDULED"
	StatusFinished  RunStatus = "FINISHED"
	StatusFailed    RunStatus = "FAILED"
	StatusKilled    RunStatus = "KILLED"
)

// Terminal reports whether the status ends a run.
func (s RunStatus) Terminal() bool {
	return s == StatusFinished || s == StatusFailed || s == StatusKilled
}

// Lifecycle stages of experiments and runs.
const (
	LifecycleActive  = "active"
	LifecycleDeleted = "deleted"
)

// DefaultExperimentID is the experiment every MLflow store has and falls back to.
const DefaultExperimentID = "0"

// DefaultExperimentName is the name of experiment 0.
const DefaultExperimentName = "Default"

// Metric is one sample of a metric. Timestamp is Unix epoch milliseconds, as everywhere in MLflow.
type Metric struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"`
	Timestamp int64   `json:"timestamp"`
	Step      int64   `json:"step"`
}

// Param is a run parameter. Params are write-once in MLflow.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Tag is a run or experiment tag. Tags are upserts.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Experiment is an MLflow experiment.
type Experiment struct {
	ID               string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location,omitempty"`
	LifecycleStage   string `json:"lifecycle_stage,omitempty"`
	CreationTime     int64  `json:"creation_time,omitempty"`
	LastUpdateTime   int64  `json:"last_update_time,omitempty"`
	Tags             []Tag  `json:"tags,omitempty"`
}

// RunInfo is the metadata of a run, shaped like MLflow's RunInfo message.
type RunInfo struct {
	RunID          string    `json:"run_id"`
	ExperimentID   string    `json:"experiment_id"`
	RunName        string    `json:"run_name,omitempty"`
	UserID         string    `json:"user_id,omitempty"`
	Status         RunStatus `json:"status"`
	StartTime      int64     `json:"start_time"`
	EndTime        int64     `json:"end_time,omitempty"`
	ArtifactURI    string    `json:"artifact_uri,omitempty"`
	LifecycleStage string    `json:"lifecycle_stage,omitempty"`
}

// RunData is what was logged to a run. Metrics holds the latest value of each key (MLflow's
// "latest" is the maximum by (step, timestamp, value), not the last written).
type RunData struct {
	Metrics []Metric `json:"metrics,omitempty"`
	Params  []Param  `json:"params,omitempty"`
	Tags    []Tag    `json:"tags,omitempty"`
}

// Run is a run with its data.
type Run struct {
	Info RunInfo `json:"info"`
	Data RunData `json:"data"`
}

// CreateRunRequest describes a run to create. StartTime is required (stores do not fill it in).
type CreateRunRequest struct {
	ExperimentID string
	UserID       string
	RunName      string // empty: the store generates an adjective-noun-N name as MLflow does
	StartTime    int64
	Tags         []Tag
	Params       []Param // logged in the same transaction as the run where the store allows it
}

// Sentinel errors shared by every store. Callers test them with errors.Is.
var (
	// ErrNotFound: the experiment or run does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: an experiment with that name exists (a concurrent creator won the race).
	ErrAlreadyExists = errors.New("already exists")
	// ErrUnsupportedArtifactURI: the run's artifact location is one this store cannot write.
	ErrUnsupportedArtifactURI = errors.New("unsupported artifact location")
	// ErrSchema: the store holds data in a shape mltrack does not understand.
	ErrSchema = errors.New("store schema not understood")
)

// ParamConflictError reports params that were already logged with a different value. MLflow params
// are write-once: the first value stays. Stores return it after logging everything else in the batch,
// so callers can treat it as a warning.
type ParamConflictError struct {
	RunID     string
	Conflicts []ParamConflict
}

// ParamConflict is one param whose new value was refused.
type ParamConflict struct {
	Key, Existing, Refused string
}

func (e *ParamConflictError) Error() string {
	if len(e.Conflicts) == 1 {
		c := e.Conflicts[0]
		return fmt.Sprintf("param %q of run %s was already logged with value %q; kept it and dropped %q (MLflow params are write-once)", c.Key, e.RunID, c.Existing, c.Refused)
	}
	return fmt.Sprintf("%d params of run %s were already logged with other values; kept the first values (MLflow params are write-once)", len(e.Conflicts), e.RunID)
}

// DeletedExperimentError says that the named experiment exists but is deleted, and how to restore it.
type DeletedExperimentError struct {
	Name, ID, StoreURI string
}

func (e *DeletedExperimentError) Error() string {
	return fmt.Sprintf("experiment %q (id %s) is deleted; restore it with `mlflow experiments restore --experiment-id %s` (MLFLOW_TRACKING_URI=%s) or choose another name",
		e.Name, e.ID, e.ID, e.StoreURI)
}
