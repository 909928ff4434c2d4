package mlflowclient

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ViewType selects runs or experiments by lifecycle stage, as MLflow's run_view_type and
// view_type do. The zero value is ViewActiveOnly, MLflow's default.
type ViewType int

// The view types. Their numbers are mltrack's own (MLflow's enum starts at 1); String gives
// MLflow's names.
const (
	ViewActiveOnly ViewType = iota
	ViewDeletedOnly
	ViewAll
)

// String is MLflow's name of the view type: ACTIVE_ONLY, DELETED_ONLY or ALL.
func (v ViewType) String() string {
	switch v {
	case ViewActiveOnly:
		return "ACTIVE_ONLY"
	case ViewDeletedOnly:
		return "DELETED_ONLY"
	case ViewAll:
		return "ALL"
	}
	return "ViewType(" + strconv.Itoa(int(v)) + ")"
}

// ParseViewType reads a view type as MLflow spells it (ACTIVE_ONLY, DELETED_ONLY, ALL) or in the
// short forms a command line takes (active, deleted, all), in any case.
func ParseViewType(s string) (ViewType, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "ACTIVE_ONLY", "ACTIVE":
		return ViewActiveOnly, nil
	case "DELETED_ONLY", "DELETED":
		return ViewDeletedOnly, nil
	case "ALL":
		return ViewAll, nil
	}
	return 0, fmt.Errorf("view type %q is not one of active, deleted, all", s)
}

// valid reports whether v is one of the three view types.
func (v ViewType) valid() bool { return v >= ViewActiveOnly && v <= ViewAll }

// Matches reports whether a run or experiment in that lifecycle stage belongs to the view, as
// MLflow's LifecycleStage.matches_view_type.
func (v ViewType) Matches(lifecycleStage string) bool {
	switch v {
	case ViewActiveOnly:
		return lifecycleStage == LifecycleActive
	case ViewDeletedOnly:
		return lifecycleStage == LifecycleDeleted
	case ViewAll:
		return lifecycleStage == LifecycleActive || lifecycleStage == LifecycleDeleted
	}
	return false
}

// stages is the list of lifecycle stages the view selects.
func (v ViewType) stages() []string {
	switch v {
	case ViewActiveOnly:
		return []string{LifecycleActive}
	case ViewDeletedOnly:
		return []string{LifecycleDeleted}
	}
	return []string{LifecycleActive, LifecycleDeleted}
}

func checkViewType(v ViewType) error {
	if !v.valid() {
		return fmt.Errorf("view type %d is not ViewActiveOnly, ViewDeletedOnly or ViewAll", int(v))
	}
	return nil
}

// ArtifactInfo is one entry of an artifact listing, as MLflow's FileInfo: Path is relative to the
// run's artifact root (slash-separated, e.g. "outputs/model.bin"); Size is 0 for directories.
type ArtifactInfo struct {
	Path  string `json:"path"`
	IsDir bool   `json:"is_dir"`
	Size  int64  `json:"file_size,omitempty"`
}

// RunLister is implemented by the local stores (SQLite and file): they load whole runs (info,
// params, tags and the latest value of every metric) and the caller filters and sorts them with
// package filter. An empty experimentIDs means every experiment in the store, deleted ones
// included; ids that do not exist have no runs. Runs come in MLflow's default order (start_time
// descending, then run id).
type RunLister interface {
	ListRuns(ctx context.Context, experimentIDs []string, view ViewType) ([]Run, error)
}

// PythonSearcher is implemented by the file store, whose run searches MLflow evaluates in Python
// (FileStore._search_runs: SearchUtils.filter and SearchUtils.sort over every run) rather than in
// SQL. The two engines answer differently at the edges (infinities, LIKE and newlines, ILIKE and
// accents, run_name, when errors are raised), so a caller that searches a RunLister's runs itself
// must know which one to imitate: package search uses filter.FileStore semantics for it.
type PythonSearcher interface {
	RunLister
	// SearchesInPython reports whether MLflow searches this store in Python.
	SearchesInPython() bool
}

// ExperimentLister lists experiments in MLflow's default order (creation_time descending, then
// experiment id), with their tags.
type ExperimentLister interface {
	ListExperiments(ctx context.Context, view ViewType) ([]Experiment, error)
}

// ArtifactLister lists one level of a run's artifacts at path ("" for the root), like MLflow's
// artifacts/list: entries sorted by path, a path that is not a directory lists nothing.
type ArtifactLister interface {
	ListArtifacts(ctx context.Context, run RunInfo, path string) ([]ArtifactInfo, error)
}

// SearchRunsRequest is a run search a tracking server answers itself (runs/search).
type SearchRunsRequest struct {
	ExperimentIDs []string
	Filter        string
	OrderBy       []string
	MaxResults    int // <= 0: SearchDefaultMaxResults; the server is asked page by page until it is reached
	View          ViewType
}

// ServerSearcher is implemented by tracking servers: they evaluate the filter and order_by
// themselves, and the client follows the pages.
type ServerSearcher interface {
	SearchRuns(ctx context.Context, req SearchRunsRequest) ([]Run, error)
}

// MLflow's limits on max_results (mlflow/utils/search_utils.py, mlflow/store/tracking).
const (
	SearchDefaultMaxResults = 1000  // SEARCH_MAX_RESULTS_DEFAULT
	SearchMaxResults        = 50000 // SEARCH_MAX_RESULTS_THRESHOLD: the most one request may ask for
)

var (
	_ RunLister        = (*sqliteStore)(nil)
	_ ExperimentLister = (*sqliteStore)(nil)
	_ ArtifactLister   = (*sqliteStore)(nil)
	_ RunLister        = (*fileStore)(nil)
	_ ExperimentLister = (*fileStore)(nil)
	_ ArtifactLister   = (*fileStore)(nil)
	_ PythonSearcher   = (*fileStore)(nil)
	_ ServerSearcher   = (*RESTStore)(nil)
	_ ExperimentLister = (*RESTStore)(nil)
	_ ArtifactLister   = (*RESTStore)(nil)
)

// sortRunsDefault puts runs in MLflow's default search order: start_time descending, run id
// ascending.
func sortRunsDefault(runs []Run) {
	slices.SortFunc(runs, func(a, b Run) int {
		if a.Info.StartTime != b.Info.StartTime {
			if a.Info.StartTime > b.Info.StartTime {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Info.RunID, b.Info.RunID)
	})
}

// sortExperimentsDefault puts experiments in MLflow's default order: creation_time descending,
// then experiment id ascending (numerically when both ids are numbers, as the SQL store's integer
// ids compare).
func sortExperimentsDefault(exps []Experiment) {
	slices.SortStableFunc(exps, func(a, b Experiment) int {
		if a.CreationTime != b.CreationTime {
			if a.CreationTime > b.CreationTime {
				return -1
			}
			return 1
		}
		return compareExperimentIDs(a.ID, b.ID)
	})
}

func compareExperimentIDs(a, b string) int {
	ai, aerr := strconv.ParseInt(a, 10, 64)
	bi, berr := strconv.ParseInt(b, 10, 64)
	if aerr == nil && berr == nil {
		switch {
		case ai < bi:
			return -1
		case ai > bi:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

// sortRunData orders a run's metrics, params and tags by key, as GetRun returns them.
func sortRunData(d *RunData) {
	slices.SortFunc(d.Metrics, func(a, b Metric) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(d.Params, func(a, b Param) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(d.Tags, func(a, b Tag) int { return strings.Compare(a.Key, b.Key) })
}
