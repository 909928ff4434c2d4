package mlflowclient

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ListRuns loads every run of the experiments (all experiments when experimentIDs is empty) in
// the view's lifecycle stages with params, tags and latest metrics.
//
// It reads with four set-based queries (runs, latest_metrics, params, tags, each selecting the
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
	selected := "run_uuid IN (SELECT run_uuid FROM runs WHERE " + where + ")"

	runs, index, err := sqliteSelectRuns(ctx, tx, where, args)
	if err != nil {
		return fail(err)
	}
	if len(runs) == 0 {
		return runs, nil
	}
	keys := newInterner()
	if err := sqliteSelectLatestMetrics(ctx, tx, selected, args, runs, index, keys); err != nil {
		return fail(err)
	}
	if err := sqliteSelectKeyValues(ctx, tx, "params", selected, args, index, keys, func(i int, k, v string) {
		runs[i].Data.Params = append(runs[i].Data.Params, Param{Key: k, Value: v})
	}); err != nil {
		return fail(err)
	}
	if err := sqliteSelectKeyValues(ctx, tx, "tags", selected, args, index, keys, func(i int, k, v string) {
		runs[i].Data.Tags = append(runs[i].Data.Tags, Tag{Key: k, Value: v})
	}); err != nil {
		return fail(err)
	}
	for i := range runs {
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
	for rows.Next() {
		var (
			info                                  RunInfo
			name, user, status, life, artifactURI sql.NullString
			start, end                            sql.NullInt64
			expID                                 int64
		)
		if err := rows.Scan(&info.RunID, &name, &user, &status, &start, &end, &life, &artifactURI, &expID); err != nil {
			return nil, nil, err
		}
		info.ExperimentID = strconv.FormatInt(expID, 10)
		info.RunName, info.UserID, info.Status = name.String, user.String, RunStatus(status.String)
		info.StartTime, info.EndTime = start.Int64, end.Int64
		info.LifecycleStage, info.ArtifactURI = life.String, artifactURI.String
		index[info.RunID] = len(runs)
		runs = append(runs, Run{Info: info})
	}
	return runs, index, rows.Err()
}

func sqliteSelectLatestMetrics(ctx context.Context, tx *sql.Tx, selected string, args []any, runs []Run, index map[string]int, keys *interner) error {
	rows, err := tx.QueryContext(ctx, "SELECT run_uuid, key, value, timestamp, step, is_nan FROM latest_metrics WHERE "+selected, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			runID, key sql.RawBytes
			m          Metric
			ts, step   sql.NullInt64
			isNaN      sql.NullBool
		)
		if err := rows.Scan(&runID, &key, &m.Value, &ts, &step, &isNaN); err != nil {
			return err
		}
		i, ok := index[string(runID)]
		if !ok {
			continue
		}
		m.Key = keys.intern(key)
		m.Timestamp, m.Step = ts.Int64, step.Int64
		if isNaN.Bool {
			m.Value = math.NaN()
		}
		runs[i].Data.Metrics = append(runs[i].Data.Metrics, m)
	}
	return rows.Err()
}

func sqliteSelectKeyValues(ctx context.Context, tx *sql.Tx, table, selected string, args []any, index map[string]int, keys *interner, add func(i int, k, v string)) error {
	rows, err := tx.QueryContext(ctx, "SELECT run_uuid, key, value FROM "+table+" WHERE "+selected, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			runID, key sql.RawBytes
			value      sql.NullString
		)
		if err := rows.Scan(&runID, &key, &value); err != nil {
			return err
		}
		i, ok := index[string(runID)]
		if !ok {
			continue
		}
		add(i, keys.intern(key), value.String)
	}
	return rows.Err()
}

// interner shares one string per distinct key: thousands of runs repeat the same few keys.
type interner struct{ m map[string]string }

func newInterner() *interner { return &interner{m: map[string]string{}} }

func (in *interner) intern(b []byte) string {
	if s, ok := in.m[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
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
