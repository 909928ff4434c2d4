// Package search answers run searches and experiment lookups on every store mltrack knows, for
// `mltrack runs search|get|compare`, `mltrack stats` and `mltrack experiments list`.
//
// Filters and order_by clauses are always checked with package filter first, so a bad one gets
// mltrack's positioned error whatever the store. Then a tracking server answers the search itself
// (mlflowclient.ServerSearcher, page by page), and for the local stores (SQLite, file) mltrack
// loads the runs (mlflowclient.RunLister) and applies the semantics MLflow has on that store with
// filter.Search: its SQL store's on SQLite, its file store's (Python) on a file store
// (mlflowclient.PythonSearcher), which differ at the edges (see filter.FileStore).
package search

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mltrack/mltrack/filter"
	"github.com/mltrack/mltrack/mlflowclient"
)

// Request is one run search, with MLflow's search_runs arguments.
type Request struct {
	// ExperimentIDs are the experiments to search (ids, not names: see Experiments). Empty means
	// every active experiment of the store.
	ExperimentIDs []string
	// Filter is MLflow's filter string ("" matches every run).
	Filter string
	// OrderBy are MLflow's order_by clauses, e.g. "metrics.duration_seconds DESC".
	OrderBy []string
	// MaxResults caps the number of runs returned: 0 means mlflowclient.SearchDefaultMaxResults
	// (1000, MLflow's default); more than mlflowclient.SearchMaxResults (50000) is refused, as
	// MLflow refuses it.
	MaxResults int
	// View selects active runs (the default), deleted runs, or both.
	View mlflowclient.ViewType
}

// Runs returns the runs that match req, in MLflow's order (req.OrderBy, then start_time
// descending, then run id), at most req.MaxResults of them.
//
// A bad filter or order_by clause is a *filter.SyntaxError (one line of message, then the input
// with a caret under the problem), for every store. On a tracking server the server evaluates the
// search; on the SQLite and file stores mltrack does, with the semantics MLflow has on that store,
// so the answer is what mlflow.search_runs answers there: the same runs, in the same order, and an
// error where MLflow raises one.
func Runs(ctx context.Context, store mlflowclient.Store, req Request) ([]mlflowclient.Run, error) {
	// A tracking server is checked as the SQL store it almost always runs (a file-store backend
	// would accept a few filters mltrack then refuses, such as duplicate order_by keys).
	dialect := filter.SQLStore
	if ps, ok := store.(mlflowclient.PythonSearcher); ok && ps.SearchesInPython() {
		dialect = filter.FileStore
	}
	f, err := filter.ParseFor(dialect, req.Filter)
	if err != nil {
		return nil, err
	}
	order, err := filter.ParseOrderByFor(dialect, req.OrderBy)
	if err != nil {
		return nil, err
	}
	limit, err := maxResults(req.MaxResults)
	if err != nil {
		return nil, err
	}
	switch req.View {
	case mlflowclient.ViewActiveOnly, mlflowclient.ViewDeletedOnly, mlflowclient.ViewAll:
	default:
		return nil, fmt.Errorf("search runs: view type %d is not ViewActiveOnly, ViewDeletedOnly or ViewAll", int(req.View))
	}
	ids := req.ExperimentIDs
	if len(ids) == 0 {
		exps, err := Experiments(ctx, store, nil)
		if err != nil {
			return nil, err
		}
		for _, e := range exps {
			ids = append(ids, e.ID)
		}
		if len(ids) == 0 {
			return []mlflowclient.Run{}, nil
		}
	}

	if ss, ok := store.(mlflowclient.ServerSearcher); ok {
		runs, err := ss.SearchRuns(ctx, mlflowclient.SearchRunsRequest{
			ExperimentIDs: ids, Filter: req.Filter, OrderBy: req.OrderBy, MaxResults: limit, View: req.View,
		})
		if err != nil {
			return nil, fmt.Errorf("search runs in %s: %w", store.URI(), err)
		}
		return runs, nil
	}
	lister, ok := store.(mlflowclient.RunLister)
	if !ok {
		return nil, fmt.Errorf("search runs: the store %s cannot be searched by mltrack", store.URI())
	}
	all, err := lister.ListRuns(ctx, ids, req.View)
	if err != nil {
		return nil, fmt.Errorf("search runs in %s: %w", store.URI(), err)
	}
	if dialect == filter.FileStore {
		all = repeatPerMention(all, ids)
	}
	hits, err := filter.Search(all, f, order)
	if err != nil {
		return nil, err
	}
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

// repeatPerMention repeats each run once per mention of its experiment in ids: MLflow's file store
// searches the experiments one after the other, so an experiment named twice gives its runs twice
// (the SQL store's "experiment_id IN (...)" gives them once).
func repeatPerMention(runs []mlflowclient.Run, ids []string) []mlflowclient.Run {
	mentions := map[string]int{}
	repeated := false
	for _, id := range ids {
		mentions[id]++
		repeated = repeated || mentions[id] > 1
	}
	if !repeated {
		return runs
	}
	var out []mlflowclient.Run
	for _, r := range runs {
		for range max(mentions[r.Info.ExperimentID], 1) {
			out = append(out, r)
		}
	}
	return out
}

// maxResults applies MLflow's default and limit to a requested maximum.
func maxResults(n int) (int, error) {
	switch {
	case n == 0:
		return mlflowclient.SearchDefaultMaxResults, nil
	case n < 0:
		return 0, fmt.Errorf("max results %d: give a positive number (at most %d)", n, mlflowclient.SearchMaxResults)
	case n > mlflowclient.SearchMaxResults:
		return 0, fmt.Errorf("max results %d is above MLflow's limit of %d runs per search; narrow the search with a filter or fewer experiments", n, mlflowclient.SearchMaxResults)
	}
	return n, nil
}

// Experiments resolves experiment names or ids to experiments, in the order given, without
// duplicates. Each argument is an experiment id or an experiment name: an argument that is the id
// of one experiment and the name of another is refused as ambiguous, and one that is neither is
// an error that says so. A deleted experiment named explicitly is returned (with its lifecycle
// stage); the caller decides whether to search it. No arguments means every active experiment, in
// MLflow's default order (newest first).
func Experiments(ctx context.Context, store mlflowclient.Store, namesOrIDs []string) ([]mlflowclient.Experiment, error) {
	lister, canList := store.(mlflowclient.ExperimentLister)
	if len(namesOrIDs) == 0 {
		if !canList {
			return nil, fmt.Errorf("list experiments: the store %s cannot list experiments; name them", store.URI())
		}
		exps, err := lister.ListExperiments(ctx, mlflowclient.ViewActiveOnly)
		if err != nil {
			return nil, fmt.Errorf("list experiments in %s: %w", store.URI(), err)
		}
		return exps, nil
	}
	resolve := lookupOneByOne(ctx, store)
	if canList {
		all, err := lister.ListExperiments(ctx, mlflowclient.ViewAll)
		if err != nil {
			return nil, fmt.Errorf("list experiments in %s: %w", store.URI(), err)
		}
		resolve = lookupInList(all)
	}
	var out []mlflowclient.Experiment
	seen := map[string]bool{}
	for _, arg := range namesOrIDs {
		byID, byName, err := resolve(arg)
		if err != nil {
			return nil, fmt.Errorf("experiment %q in %s: %w", arg, store.URI(), err)
		}
		var exp mlflowclient.Experiment
		switch {
		case byID != nil && byName != nil && byID.ID != byName.ID:
			return nil, &ExperimentError{Msg: fmt.Sprintf("experiment %q is ambiguous in %s: it is the id of experiment %q and the name of the experiment with id %s; give the id of the one you mean",
				arg, store.URI(), byID.Name, byName.ID)}
		case byID != nil:
			exp = *byID
		case byName != nil:
			exp = *byName
		default:
			return nil, &ExperimentError{Msg: fmt.Sprintf("no experiment named %q or with that id in %s; `mltrack experiments list` shows them", arg, store.URI())}
		}
		if !seen[exp.ID] {
			seen[exp.ID] = true
			out = append(out, exp)
		}
	}
	return out, nil
}

// ExperimentError is an experiment argument that names no experiment, or two: the caller's input
// is wrong, the store answered fine.
type ExperimentError struct{ Msg string }

func (e *ExperimentError) Error() string { return e.Msg }

type resolver func(arg string) (byID, byName *mlflowclient.Experiment, err error)

// lookupInList resolves against a listing of every experiment (active and deleted). A name that
// several experiments share (possible in a file store, and between an active and a deleted one)
// resolves to an active one first, then to the newest, as MLflow's get_experiment_by_name.
func lookupInList(all []mlflowclient.Experiment) resolver {
	return func(arg string) (byID, byName *mlflowclient.Experiment, err error) {
		for i := range all {
			e := &all[i]
			if e.ID == arg && byID == nil {
				byID = e
			}
			if e.Name == arg && (byName == nil || (byName.LifecycleStage != mlflowclient.LifecycleActive && e.LifecycleStage == mlflowclient.LifecycleActive)) {
				byName = e
			}
		}
		return byID, byName, nil
	}
}

// lookupOneByOne resolves with the Store's own getters, for stores that cannot list experiments.
// Only an argument made of digits is tried as an id: a tracking server may answer a malformed id
// with an internal error rather than "not found".
func lookupOneByOne(ctx context.Context, store mlflowclient.Store) resolver {
	return func(arg string) (byID, byName *mlflowclient.Experiment, err error) {
		if arg != "" && strings.Trim(arg, "0123456789") == "" {
			e, err := store.GetExperiment(ctx, arg)
			switch {
			case err == nil:
				byID = &e
			case !errors.Is(err, mlflowclient.ErrNotFound):
				return nil, nil, err
			}
		}
		e, err := store.GetExperimentByName(ctx, arg)
		switch {
		case err == nil:
			byName = &e
		case !errors.Is(err, mlflowclient.ErrNotFound):
			return nil, nil, err
		}
		return byID, byName, nil
	}
}
