package mlflowclient

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// RunKeyTag is the tag mltrack puts on every run it creates with a value unique to that run.
// It makes creating a run on a tracking server safe to retry: see RESTStore.CreateRun.
const RunKeyTag = "mltrack.run_key"

// RESTStore is an MLflow tracking server reached over its REST API (http:// and https://
// tracking URIs). It implements Store, RunLinker and RunFinder, and LogArtifacts for uploading
// many files at once. It is safe for concurrent use.
type RESTStore struct {
	c    *httpClient
	opts Options
}

var (
	_ Store               = (*RESTStore)(nil)
	_ RunLinker           = (*RESTStore)(nil)
	_ RunFinder           = (*RESTStore)(nil)
	_ BatchArtifactLogger = (*RESTStore)(nil)
)

// OpenREST prepares a store for the tracking server at uri (http(s)://host[:port][/prefix]).
// It does not contact the server: the first call does, so that opening costs nothing when the
// server is down. Credentials may be in opts.HTTP or in the URI (https://user:pass@host); they
// never appear in URI(), RunURL or any error.
func OpenREST(uri string, opts Options) (Store, error) {
	c, err := newHTTPClient(uri, opts)
	if err != nil {
		return nil, err
	}
	return &RESTStore{c: c, opts: opts}, nil
}

// URI is the tracking URI without credentials.
func (s *RESTStore) URI() string { return s.c.shown }

// RunURL is the run's page in the server's web UI.
func (s *RESTStore) RunURL(experimentID, runID string) string {
	return s.c.shown + "/#/experiments/" + url.PathEscape(experimentID) + "/runs/" + url.PathEscape(runID)
}

// Close releases idle connections.
func (s *RESTStore) Close() error {
	s.c.close()
	return nil
}

// GetExperiment reads an experiment by id (deleted ones too).
func (s *RESTStore) GetExperiment(ctx context.Context, id string) (Experiment, error) {
	var out struct {
		Experiment wireExperiment `json:"experiment"`
	}
	if err := s.c.callJSON(ctx, "GET", "mlflow/experiments/get", url.Values{"experiment_id": {id}}, nil, &out); err != nil {
		return Experiment{}, fmt.Errorf("get experiment %s: %w", id, err)
	}
	return out.Experiment.experiment(), nil
}

// GetExperimentByName reads an experiment by name; deleted experiments are returned with their
// lifecycle stage. A missing one is ErrNotFound.
func (s *RESTStore) GetExperimentByName(ctx context.Context, name string) (Experiment, error) {
	var out struct {
		Experiment wireExperiment `json:"experiment"`
	}
	if err := s.c.callJSON(ctx, "GET", "mlflow/experiments/get-by-name", url.Values{"experiment_name": {name}}, nil, &out); err != nil {
		return Experiment{}, fmt.Errorf("get experiment %q: %w", name, err)
	}
	return out.Experiment.experiment(), nil
}

// CreateExperiment creates an experiment and returns its id. A name that exists (HTTP 400
// RESOURCE_ALREADY_EXISTS) is ErrAlreadyExists. Retrying is safe: names are unique, so a create
// repeated after a lost answer fails with ErrAlreadyExists, which EnsureExperiment resolves by
// reading the experiment.
func (s *RESTStore) CreateExperiment(ctx context.Context, name string) (string, error) {
	if err := ValidateExperimentName(name); err != nil {
		return "", err
	}
	var out struct {
		ExperimentID string `json:"experiment_id"`
	}
	body := struct {
		Name string `json:"name"`
	}{name}
	if err := s.c.callJSON(ctx, "POST", "mlflow/experiments/create", nil, body, &out); err != nil {
		return "", fmt.Errorf("create experiment %q: %w", name, err)
	}
	if out.ExperimentID == "" {
		return "", fmt.Errorf("create experiment %q: the server answered without an experiment id", name)
	}
	return out.ExperimentID, nil
}

// CreateRun creates a run (and logs req.Params in a second request: the REST API has no way to
// create a run with params). If the params cannot be logged, the created run's info is returned
// with the error.
//
// Creating a run is not idempotent: if the server created the run but its answer was lost (a
// timeout, a reset connection, a 5xx from a proxy or from a server that failed after its
// commit), sending the request again creates a second, "ghost" run (mlflow/mlflow#3100,
// #8238). MLflow 3.18's own client therefore resends runs/create only after failures that prove
// the server did not act (a refused connection, 408, 429) and gives up otherwise. mltrack does
// better when req.Tags holds RunKeyTag (a value unique to this run): after an ambiguous failure
// it first searches the experiment for a run with that tag; if one exists, the earlier attempt
// worked and that run is returned; if the search shows none, the create is sent again; if the
// search itself fails, nothing is resent until a later search succeeds (within the retry
// budget). Without the tag, ambiguous failures are not retried, as in MLflow.
func (s *RESTStore) CreateRun(ctx context.Context, req CreateRunRequest) (RunInfo, error) {
	if req.ExperimentID == "" {
		return RunInfo{}, errors.New("create run: no experiment id")
	}
	if req.StartTime == 0 {
		return RunInfo{}, errors.New("create run: no start time")
	}
	body := struct {
		ExperimentID string `json:"experiment_id"`
		UserID       string `json:"user_id,omitempty"`
		RunName      string `json:"run_name,omitempty"`
		StartTime    int64  `json:"start_time"`
		Tags         []Tag  `json:"tags,omitempty"`
	}{req.ExperimentID, req.UserID, req.RunName, req.StartTime, req.Tags}

	runKey := ""
	for _, t := range req.Tags {
		if t.Key == RunKeyTag {
			runKey = t.Value
		}
	}
	var found RunInfo
	idempotency := func(cl *call) {
		cl.nonIdempotent = true
		if runKey == "" {
			return
		}
		cl.beforeResend = func(ctx context.Context) (bool, error) {
			runs, err := s.findRunsByTag(ctx, req.ExperimentID, RunKeyTag, runKey, true)
			if err != nil || len(runs) == 0 {
				return false, err
			}
			found = runs[0]
			return true, nil
		}
	}
	var out struct {
		Run wireRun `json:"run"`
	}
	var info RunInfo
	err := s.c.callJSON(ctx, "POST", "mlflow/runs/create", nil, body, &out, idempotency)
	switch {
	case errors.Is(err, errDone):
		info = found
	case err != nil:
		return RunInfo{}, fmt.Errorf("create run in experiment %s: %w", req.ExperimentID, err)
	default:
		info = out.Run.Info.info()
	}
	if info.RunID == "" {
		return RunInfo{}, fmt.Errorf("create run in experiment %s: the server answered without a run id", req.ExperimentID)
	}
	if len(req.Params) > 0 {
		if err := s.LogBatch(ctx, info.RunID, nil, req.Params, nil); err != nil {
			return info, fmt.Errorf("log the params of new run %s: %w", info.RunID, err)
		}
	}
	return info, nil
}

// GetRun reads a run with its params, tags and the latest value of each metric.
func (s *RESTStore) GetRun(ctx context.Context, runID string) (Run, error) {
	var out struct {
		Run wireRun `json:"run"`
	}
	if err := s.c.callJSON(ctx, "GET", "mlflow/runs/get", url.Values{"run_id": {runID}}, nil, &out); err != nil {
		return Run{}, fmt.Errorf("get run %s: %w", runID, err)
	}
	return out.Run.run(), nil
}

// UpdateRun sets the status and, when endTime > 0, the end time.
func (s *RESTStore) UpdateRun(ctx context.Context, runID string, status RunStatus, endTime int64) error {
	body := struct {
		RunID   string    `json:"run_id"`
		Status  RunStatus `json:"status,omitempty"`
		EndTime int64     `json:"end_time,omitempty"`
	}{runID, status, endTime}
	if err := s.c.callJSON(ctx, "POST", "mlflow/runs/update", nil, body, nil); err != nil {
		return fmt.Errorf("update run %s: %w", runID, err)
	}
	return nil
}

// FindRunsByTag returns the runs of an experiment (deleted ones included, with their lifecycle
// stage) whose tag key has exactly that value.
func (s *RESTStore) FindRunsByTag(ctx context.Context, experimentID, key, value string) ([]RunInfo, error) {
	return s.findRunsByTag(ctx, experimentID, key, value, false)
}

// maxSearchPages bounds FindRunsByTag: a tag meant to be unique never needs more.
const maxSearchPages = 50

func (s *RESTStore) findRunsByTag(ctx context.Context, experimentID, key, value string, once bool) ([]RunInfo, error) {
	filter, err := tagFilter(key, value)
	if err != nil {
		return nil, err
	}
	var runs []RunInfo
	token := ""
	for page := 0; page < maxSearchPages; page++ {
		body := struct {
			ExperimentIDs []string `json:"experiment_ids"`
			Filter        string   `json:"filter"`
			RunViewType   string   `json:"run_view_type"`
			MaxResults    int      `json:"max_results"`
			PageToken     string   `json:"page_token,omitempty"`
		}{[]string{experimentID}, filter, "ALL", 1000, token}
		var out struct {
			Runs          []wireRun `json:"runs"`
			NextPageToken string    `json:"next_page_token"`
		}
		tune := func(cl *call) { cl.noRetry = once }
		if err := s.c.callJSON(ctx, "POST", "mlflow/runs/search", nil, body, &out, tune); err != nil {
			return nil, fmt.Errorf("search runs with tag %s: %w", key, err)
		}
		for _, r := range out.Runs {
			// The filter may be wider than the exact value (see tagFilter).
			for _, t := range r.Data.Tags {
				if t.Key == key && t.Value == value {
					runs = append(runs, r.Info.info())
					break
				}
			}
		}
		if out.NextPageToken == "" {
			return runs, nil
		}
		token = out.NextPageToken
	}
	return runs, nil
}

// tagFilter builds a runs/search filter matching tag key = value. MLflow's filter parser
// (mlflow/utils/search_utils.py, on sqlparse) takes a key in backticks and a value in single or
// double quotes, strips the outer quotes and unescapes nothing: a value holding a backslash, or
// both kinds of quote, cannot be written exactly. Such values are matched with LIKE, those
// characters replaced by the one-character wildcard `_`; the caller keeps only exact matches.
func tagFilter(key, value string) (string, error) {
	if key == "" || strings.ContainsAny(key, "`") {
		return "", fmt.Errorf("tag name %q cannot be searched for (empty, or holds a backtick)", key)
	}
	ident := "tags.`" + key + "`"
	switch {
	case !strings.ContainsAny(value, `'\`):
		return ident + " = '" + value + "'", nil
	case !strings.ContainsAny(value, `"\`):
		return ident + ` = "` + value + `"`, nil
	}
	pattern := strings.NewReplacer(`'`, "_", `"`, "_", `\`, "_").Replace(value)
	return ident + " LIKE '" + pattern + "'", nil
}
