package mlflowclient

import (
	"context"
	"errors"
	"fmt"
)

// Store is one MLflow tracking store. Every method is safe to call from one goroutine at a time per
// Store value; mltrack's recorder serialises its calls. Methods honour ctx deadlines: a store that is
// slow must not hold the wrapped command's exit beyond the caller's budget.
type Store interface {
	// URI is the tracking URI, absolute and without credentials, as the command and the summary see it.
	URI() string

	GetExperiment(ctx context.Context, id string) (Experiment, error)         // ErrNotFound
	GetExperimentByName(ctx context.Context, name string) (Experiment, error) // ErrNotFound; deleted ones too
	CreateExperiment(ctx context.Context, name string) (string, error)        // ErrAlreadyExists

	CreateRun(ctx context.Context, req CreateRunRequest) (RunInfo, error)
	GetRun(ctx context.Context, runID string) (Run, error)
	// LogBatch writes metrics, params and tags. A param conflict is reported as *ParamConflictError
	// after everything else was written.
	LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error
	// UpdateRun sets the status and end time (0: leave end time unset).
	UpdateRun(ctx context.Context, runID string, status RunStatus, endTime int64) error

	// LogArtifact copies one local file into the run's artifact store at artifactPath (a relative,
	// slash-separated path including the file name).
	LogArtifact(ctx context.Context, run RunInfo, localPath, artifactPath string) error

	Close() error
}

// RunFinisher is implemented by stores that can write a run's last metrics, params and tags and
// its final status in one step (the SQLite store: one transaction instead of two). The result is
// the same as LogBatch then UpdateRun, a *ParamConflictError included.
type RunFinisher interface {
	FinishRun(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag, status RunStatus, endTime int64) error
}

var _ RunFinisher = (*sqliteStore)(nil)

// EnsureExperiment returns the experiment with that name, creating it when missing. It is safe when
// several processes race to create the same name: the loser reads the winner's experiment. A deleted
// experiment yields *DeletedExperimentError.
func EnsureExperiment(ctx context.Context, s Store, name string) (Experiment, error) {
	for attempt := 0; attempt < 3; attempt++ {
		exp, err := s.GetExperimentByName(ctx, name)
		if err == nil {
			if exp.LifecycleStage == LifecycleDeleted {
				return exp, &DeletedExperimentError{Name: name, ID: exp.ID, StoreURI: s.URI()}
			}
			return exp, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return Experiment{}, fmt.Errorf("look up experiment %q: %w", name, err)
		}
		id, err := s.CreateExperiment(ctx, name)
		if errors.Is(err, ErrAlreadyExists) {
			continue // another process created it between our read and our write
		}
		if err != nil {
			return Experiment{}, fmt.Errorf("create experiment %q: %w", name, err)
		}
		return s.GetExperiment(ctx, id)
	}
	return Experiment{}, fmt.Errorf("create experiment %q: it keeps appearing and disappearing; another process is deleting it", name)
}

// RunLinker is implemented by stores that can point at a run in a web UI (tracking servers).
type RunLinker interface {
	RunURL(experimentID, runID string) string
}

// RunFinder is implemented by every store: it finds runs by a tag value, which `mltrack sync` uses
// to complete a run that a previous delivery already created instead of creating it twice.
type RunFinder interface {
	FindRunsByTag(ctx context.Context, experimentID, key, value string) ([]RunInfo, error)
}
