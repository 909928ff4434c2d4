package mlflowclient

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// ListRuns loads every run of the experiments (all experiments when experimentIDs is empty) in
// the view's lifecycle stages with params, tags and latest metrics.
//
// It reads with a handful of set-based queries (runs, then latest_metrics, params and tags of the
// same runs) inside one deferred, read-only transaction: one consistent snapshot that takes only
// SQLite's shared lock, never a write lock, so MLflow's writers are held up for no longer than the
// reads take (and not at all in WAL mode). Waiting for a writer's lock is bounded by the store's
// busy timeout. The rows are joined in Go by run id.
func (s *sqliteStore) ListRuns(ctx context.Context, experimentIDs []string, view ViewType) ([]Run, error) {
	if err := checkViewType(view); err != nil {
		return nil, err
	}
	expIDs := make([]int64, 0, len(experimentIDs))
	for _, id := range experimentIDs {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			expIDs = append(expIDs, n)
		}
	}
	if len(experimentIDs) > 0 && len(expIDs) == 0 {
		return []Run{}, nil // no id names an experiment of this store
	}
	db, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	fail := func(err error) ([]Run, error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, fmt.Errorf("list runs in %s: %w", s.path, s.lockError(err))
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // a plain BEGIN: deferred
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()

	// The selection, as a WHERE clause on runs and its arguments. Experiment ids travel as one
	// JSON array, so any number of them fits in one bound parameter.
	where := "lifecycle_stage IN (SELECT value FROM json_each(?))"
	stages, _ := json.Marshal(view.stages())
	args := []any{string(stages)}
	if len(expIDs) > 0 {
		ids, _ := json.Marshal(expIDs)
		where += " AND experiment_id IN (SELECT value FROM json_each(?))"
		args = append(args, string(ids))
	}
	runs, index, err := sqliteSelectRuns(ctx, tx, where, args)
	if err != nil {
		return fail(err)
	}
	if len(runs) == 0 {
		return runs, nil
	}
	// Reading a whole table in rowid order is far cheaper per row than probing its run_uuid index
	// for each run, so a selection of most runs reads the tables whole and drops the other rows
	// in Go; a small selection (one experiment among many) probes the index.
	selected, selArgs := "", []any(nil)
	var total int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM runs").Scan(&total); err != nil {
		return fail(err)
	}
	if len(runs)*4 < total {
		selected, selArgs = " WHERE run_uuid IN (SELECT run_uuid FROM runs WHERE "+where+")", args
	}
	metrics, err := sqliteSelectLatestMetrics(ctx, tx, selected, selArgs, len(runs), index)
	if err != nil {
		return fail(err)
	}
	params, err := sqliteSelectKeyValues(ctx, tx, "params", selected, selArgs, len(runs), index,
		func(k, v string) Param { return Param{Key: k, Value: v} })
	if err != nil {
		return fail(err)
	}
	tags, err := sqliteSelectKeyValues(ctx, tx, "tags", selected, selArgs, len(runs), index,
		func(k, v string) Tag { return Tag{Key: k, Value: v} })
	if err != nil {
		return fail(err)
	}
	for i := range runs {
		runs[i].Data.Metrics, runs[i].Data.Params, runs[i].Data.Tags = metrics[i], params[i], tags[i]
		sortRunData(&runs[i].Data)
	}
	sortRunsDefault(runs)
	return runs, nil
}

func sqliteSelectRuns(ctx context.Context, tx *sql.Tx, where string, args []any) ([]Run, map[string]int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT run_uuid, name, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri, experiment_id
		FROM runs WHERE `+where, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	runs := []Run{}
	index := map[string]int{}
	var (
		runID                                 string
		name, user, status, life, artifactURI sql.NullString
		start, end                            sql.NullInt64
		expID                                 int64
	)
	dest := []any{&runID, &name, &user, &status, &start, &end, &life, &artifactURI, &expID}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, err
		}
		index[runID] = len(runs)
		runs = append(runs, Run{Info: RunInfo{
			RunID: runID, ExperimentID: strconv.FormatInt(expID, 10),
			RunName: name.String, UserID: user.String, Status: RunStatus(status.String),
			StartTime: start.Int64, EndTime: end.Int64,
			LifecycleStage: life.String, ArtifactURI: artifactURI.String,
		}})
	}
	return runs, index, rows.Err()
}

// sqliteGroup hands out one contiguous backing array per table, cut into each run's part: far
// fewer allocations than growing thousands of small slices row by row.
func sqliteGroup[T any](nRuns int, owners []int32, items []T) [][]T {
	offsets := make([]int, nRuns+1)
	for _, o := range owners {
		offsets[o+1]++
	}
	for i := 1; i <= nRuns; i++ {
		offsets[i] += offsets[i-1]
	}
	backing := make([]T, len(items))
	next := slices.Clone(offsets[:nRuns])
	for j, o := range owners {
		backing[next[o]] = items[j]
		next[o]++
	}
	out := make([][]T, nRuns)
	for i := range out {
		if offsets[i] < offsets[i+1] {
			out[i] = backing[offsets[i]:offsets[i+1]:offsets[i+1]]
		}
	}
	return out
}

func sqliteSelectLatestMetrics(ctx context.Context, q sqliteQuerier, selected string, args []any, nRuns int, index map[string]int) ([][]Metric, error) {
	keys := newInterner()
	rows, err := q.QueryContext(ctx, "SELECT run_uuid, key, value, COALESCE(timestamp, 0), step, is_nan FROM latest_metrics"+selected, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		owners   []int32
		items    []Metric
		runID    string
		key      string
		value    float64
		ts, step int64
		isNaN    int64
	)
	dest := []any{&runID, &key, &value, &ts, &step, &isNaN}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		i, ok := index[runID]
		if !ok {
			continue
		}
		m := Metric{Key: keys.intern(key), Value: value, Timestamp: ts, Step: step}
		if isNaN != 0 {
			m.Value = math.NaN()
		}
		owners = append(owners, int32(i))
		items = append(items, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return sqliteGroup(nRuns, owners, items), nil
}

// sqliteSelectKeyValues reads the params or tags of the selected runs, grouped by run.
func sqliteSelectKeyValues[T any](ctx context.Context, q sqliteQuerier, table, selected string, args []any, nRuns int, index map[string]int, mk func(k, v string) T) ([][]T, error) {
	keys := newInterner()
	rows, err := q.QueryContext(ctx, "SELECT run_uuid, key, COALESCE(value, '') FROM "+table+selected, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		owners            []int32
		items             []T
		runID, key, value string
	)
	dest := []any{&runID, &key, &value}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		i, ok := index[runID]
		if !ok {
			continue
		}
		owners = append(owners, int32(i))
		items = append(items, mk(keys.intern(key), value))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return sqliteGroup(nRuns, owners, items), nil
}

// interner shares one string per distinct key: thousands of runs repeat the same few keys.
type interner struct{ m map[string]string }

func newInterner() *interner { return &interner{m: map[string]string{}} }

func (in *interner) intern(s string) string {
	if c, ok := in.m[s]; ok {
		return c
	}
	in.m[s] = s
	return s
}

// ListExperiments lists the experiments in the view, with their tags, in MLflow's default order.
func (s *sqliteStore) ListExperiments(ctx context.Context, view ViewType) ([]Experiment, error) {
	if err := checkViewType(view); err != nil {
		return nil, err
	}
	db, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	fail := func(err error) ([]Experiment, error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, fmt.Errorf("list experiments in %s: %w", s.path, s.lockError(err))
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	stages, _ := json.Marshal(view.stages())
	where := "lifecycle_stage IN (SELECT value FROM json_each(?))"
	if s.shape.hasWorkspace {
		where += " AND workspace = 'default'"
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+sqliteExperimentColumns+" FROM experiments WHERE "+where, string(stages))
	if err != nil {
		return fail(err)
	}
	exps := []Experiment{}
	index := map[int64]int{}
	for rows.Next() {
		var (
			exp                  Experiment
			id                   int64
			location, lifecycle  sql.NullString
			created, lastUpdated sql.NullInt64
		)
		if err := rows.Scan(&id, &exp.Name, &location, &lifecycle, &created, &lastUpdated); err != nil {
			rows.Close()
			return fail(err)
		}
		exp.ID = strconv.FormatInt(id, 10)
		exp.ArtifactLocation, exp.LifecycleStage = location.String, lifecycle.String
		exp.CreationTime, exp.LastUpdateTime = created.Int64, lastUpdated.Int64
		index[id] = len(exps)
		exps = append(exps, exp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	rows, err = tx.QueryContext(ctx, "SELECT experiment_id, key, value FROM experiment_tags ORDER BY key")
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id    int64
			t     Tag
			value sql.NullString
		)
		if err := rows.Scan(&id, &t.Key, &value); err != nil {
			return fail(err)
		}
		if i, ok := index[id]; ok {
			t.Value = value.String
			exps[i].Tags = append(exps[i].Tags, t)
		}
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	sortExperimentsDefault(exps)
	return exps, nil
}
