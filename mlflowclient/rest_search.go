package mlflowclient

import (
	"context"
	"errors"
	"fmt"
	"net/url"
)

// restSearchMaxPages bounds how many pages a search follows: with pages of up to SearchMaxResults
// runs it is never reached by a server that makes progress, and it stops one that hands out
// tokens forever.
const restSearchMaxPages = 10000

// restSearchMaxResponse bounds one page's answer: a page of SearchMaxResults runs with many
// params and tags is tens of MiB.
const restSearchMaxResponse = 1 << 30

// SearchRuns asks the server (POST runs/search) for the runs that match, following
// next_page_token until req.MaxResults runs (SearchDefaultMaxResults when <= 0) were returned or
// the server has no more. Each page asks for what is still missing, at most SearchMaxResults, the
// most MLflow serves at once. The server evaluates Filter and OrderBy and reports its own errors
// (HTTP 400 INVALID_PARAMETER_VALUE); callers that want mltrack's positioned errors check them with
// package filter first, as package search does.
func (s *RESTStore) SearchRuns(ctx context.Context, req SearchRunsRequest) ([]Run, error) {
	if err := checkViewType(req.View); err != nil {
		return nil, err
	}
	limit := req.MaxResults
	if limit <= 0 {
		limit = SearchDefaultMaxResults
	}
	ids := req.ExperimentIDs
	if ids == nil {
		ids = []string{}
	}
	orderBy := req.OrderBy
	if orderBy == nil {
		orderBy = []string{}
	}
	runs := []Run{}
	token := ""
	seen := map[string]bool{}
	for page := 0; page < restSearchMaxPages && len(runs) < limit; page++ {
		body := struct {
			ExperimentIDs []string `json:"experiment_ids"`
			Filter        string   `json:"filter,omitempty"`
			RunViewType   string   `json:"run_view_type"`
			MaxResults    int      `json:"max_results"`
			OrderBy       []string `json:"order_by"`
			PageToken     string   `json:"page_token,omitempty"`
		}{ids, req.Filter, req.View.String(), min(limit-len(runs), SearchMaxResults), orderBy, token}
		var out struct {
			Runs          []wireRun `json:"runs"`
			NextPageToken string    `json:"next_page_token"`
		}
		big := func(cl *call) { cl.maxResponse = restSearchMaxResponse }
		if err := s.c.callJSON(ctx, "POST", "mlflow/runs/search", nil, body, &out, big); err != nil {
			return nil, fmt.Errorf("search runs: %w", err)
		}
		for _, r := range out.Runs {
			if len(runs) == limit {
				break
			}
			runs = append(runs, r.run())
		}
		if out.NextPageToken == "" || (len(out.Runs) == 0) || seen[out.NextPageToken] {
			break
		}
		seen[out.NextPageToken] = true
		token = out.NextPageToken
	}
	return runs, nil
}

// ListExperiments lists the experiments in the view (POST experiments/search, every page), in
// the server's default order (creation_time descending, then experiment id).
func (s *RESTStore) ListExperiments(ctx context.Context, view ViewType) ([]Experiment, error) {
	if err := checkViewType(view); err != nil {
		return nil, err
	}
	exps := []Experiment{}
	token := ""
	seen := map[string]bool{}
	for page := 0; page < restSearchMaxPages; page++ {
		body := struct {
			MaxResults int    `json:"max_results"`
			ViewType   string `json:"view_type"`
			PageToken  string `json:"page_token,omitempty"`
		}{SearchMaxResults, view.String(), token}
		var out struct {
			Experiments   []wireExperiment `json:"experiments"`
			NextPageToken string           `json:"next_page_token"`
		}
		big := func(cl *call) { cl.maxResponse = restSearchMaxResponse }
		if err := s.c.callJSON(ctx, "POST", "mlflow/experiments/search", nil, body, &out, big); err != nil {
			return nil, fmt.Errorf("list experiments: %w", err)
		}
		for _, e := range out.Experiments {
			exps = append(exps, e.experiment())
		}
		if out.NextPageToken == "" || len(out.Experiments) == 0 || seen[out.NextPageToken] {
			break
		}
		seen[out.NextPageToken] = true
		token = out.NextPageToken
	}
	return exps, nil
}

// ListArtifacts lists one level of the run's artifacts at path as the server sees them (GET
// artifacts/list), wherever it keeps them (proxied mlflow-artifacts:, a shared disk, a bucket).
func (s *RESTStore) ListArtifacts(ctx context.Context, run RunInfo, path string) ([]ArtifactInfo, error) {
	if run.RunID == "" {
		return nil, errors.New("list artifacts: no run id")
	}
	rel, err := cleanArtifactListPath(path)
	if err != nil {
		return nil, err
	}
	out := []ArtifactInfo{}
	token := ""
	seen := map[string]bool{}
	for page := 0; page < maxSearchPages; page++ {
		q := url.Values{"run_id": {run.RunID}}
		if rel != "" {
			q.Set("path", rel)
		}
		if token != "" {
			q.Set("page_token", token)
		}
		var resp struct {
			Files []struct {
				Path     string    `json:"path"`
				IsDir    bool      `json:"is_dir"`
				FileSize jsonInt64 `json:"file_size"`
			} `json:"files"`
			NextPageToken string `json:"next_page_token"`
		}
		if err := s.c.callJSON(ctx, "GET", "mlflow/artifacts/list", q, nil, &resp); err != nil {
			return nil, fmt.Errorf("list artifacts of run %s: %w", run.RunID, err)
		}
		for _, f := range resp.Files {
			info := ArtifactInfo{Path: f.Path, IsDir: f.IsDir}
			if !f.IsDir {
				info.Size = int64(f.FileSize)
			}
			out = append(out, info)
		}
		if resp.NextPageToken == "" || len(resp.Files) == 0 || seen[resp.NextPageToken] {
			break
		}
		seen[resp.NextPageToken] = true
		token = resp.NextPageToken
	}
	return out, nil
}
