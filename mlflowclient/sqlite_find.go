package mlflowclient

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

var _ RunFinder = (*sqliteStore)(nil)

// FindRunsByTag returns the runs of an experiment (deleted ones included, with their lifecycle
// stage) whose tag key has exactly that value, oldest first. An experiment that does not exist
// has no runs.
func (s *sqliteStore) FindRunsByTag(ctx context.Context, experimentID, key, value string) ([]RunInfo, error) {
	expID, err := parseSQLiteExperimentID(experimentID)
	if err != nil {
		return nil, nil
	}
	db, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT r.run_uuid, r.name, r.user_id, r.status, r.start_time, r.end_time, r.lifecycle_stage, r.artifact_uri
		FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid
		WHERE r.experiment_id = ? AND t.key = ? AND t.value = ?
		ORDER BY r.start_time, r.run_uuid`, expID, key, value)
	if err != nil {
		return nil, fmt.Errorf("search runs with tag %s in %s: %w", key, s.path, s.lockError(err))
	}
	defer rows.Close()
	var out []RunInfo
	for rows.Next() {
		var (
			info                             RunInfo
			name, user, status, life, artURI sql.NullString
			start, end                       sql.NullInt64
		)
		if err := rows.Scan(&info.RunID, &name, &user, &status, &start, &end, &life, &artURI); err != nil {
			return nil, fmt.Errorf("search runs with tag %s in %s: %w", key, s.path, err)
		}
		info.ExperimentID = strconv.FormatInt(expID, 10)
		info.RunName, info.UserID, info.Status = name.String, user.String, RunStatus(status.String)
		info.StartTime, info.EndTime = start.Int64, end.Int64
		info.LifecycleStage, info.ArtifactURI = life.String, artURI.String
		out = append(out, info)
	}
	if err := rows.Err(); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, fmt.Errorf("search runs with tag %s in %s: %w", key, s.path, s.lockError(err))
	}
	return out, nil
}
