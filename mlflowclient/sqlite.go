package mlflowclient

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	sqlite "modernc.org/sqlite"
)

// SQLite result codes mltrack tells apart (extended codes are on in modernc.org/sqlite).
const (
	sqliteBusy             = 5
	sqliteLocked           = 6
	sqliteConstraintUnique = 2067
	sqliteConstraintPK     = 1555
)

// MLflow's tag that names a run; the store keeps it equal to runs.name.
const runNameTagKey = "mlflow.runName"

// sqliteStore writes MLflow's SQLite tracking database directly, as MLflow's SqlAlchemyStore does.
//
// Concurrency: MLflow (its Python client, `mlflow ui`) may use the same file at the same time. Every
// write is one short BEGIN IMMEDIATE transaction, so mltrack never holds a read lock it later has to
// upgrade (the case where SQLite reports "database is locked" without waiting); the busy wait is
// bounded by Options.LockTimeout and by the caller's context. The journal mode is never changed.
type sqliteStore struct {
	uri  string
	path string
	opts Options

	mu      sync.Mutex // guards the fields below; the Store contract is one caller at a time anyway
	db      *sql.DB
	shape   sqliteShape
	err     error // set by Close
	created bool  // this store created the database file (tests check that exactly one racer does)
}

// OpenSQLite returns the store for a sqlite:/// tracking URI. It does no I/O: the database is opened
// (and created, when missing, as MLflow would) on the first call that needs it, so constructing a
// store costs nothing when tracking is never used.
func OpenSQLite(uri string, opts Options) (Store, error) {
	p, err := SQLitePath(uri)
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(p) {
		if p, err = filepath.Abs(p); err != nil {
			return nil, fmt.Errorf("tracking URI %s: %w", RedactURI(uri), err)
		}
	}
	p = filepath.Clean(p)
	return &sqliteStore{uri: "sqlite:///" + filepath.ToSlash(p), path: p, opts: opts}, nil
}

func (s *sqliteStore) URI() string { return s.uri }

// sqliteDSN is modernc.org/sqlite's data source name for path with the per-connection settings
// MLflow applies to every session (foreign_keys, case_sensitive_like; busy_timeout is ours) and
// BEGIN IMMEDIATE for write transactions. A file: URI with an escaped path keeps '?', '#' and '%'
// in file names from being read as URI syntax.
func sqliteDSN(path string, busyTimeoutMS int64) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/x -> file:///C:/x, the form SQLite's URI parser expects on Windows
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busyTimeoutMS, 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "case_sensitive_like(1)")
	q.Set("_txlock", "immediate")
	// An empty authority ("file://" + "/abs") also keeps a UNC path (//server/share) a path.
	return "file://" + (&url.URL{Path: p}).EscapedPath() + "?" + q.Encode()
}

// artifactRoot is where experiments created in this database keep artifacts: the "mlruns" directory
// next to the database. It is what MLflow's Python client uses for a local sqlite URI
// (DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH "./mlruns" resolved against its working directory, which is
// the database's directory in the default setup), and `mlflow ui` serves such absolute paths
// wherever it is started.
func (s *sqliteStore) artifactRoot() string {
	return filepath.Join(filepath.Dir(s.path), "mlruns")
}

// sqliteArtifactLocation is MLflow's append_to_uri_path(root, id) for a local root: a plain absolute
// path on POSIX, a file: URI on Windows (resolve_uri_if_local returns one there).
func sqliteArtifactLocation(root, experimentID string) string {
	p := filepath.Join(root, experimentID)
	if runtime.GOOS == "windows" {
		return "file://" + toURIPath(p)
	}
	return p
}

// sqliteAppendURIPath appends slash-separated parts to the path of an artifact location, keeping a query
// string at the end (MLflow's append_to_uri_path).
func sqliteAppendURIPath(location string, parts ...string) string {
	base, query := location, ""
	if i := strings.Index(location, "?"); i >= 0 && strings.Contains(location[:i], ":") {
		base, query = location[:i], location[i:]
	}
	for _, p := range parts {
		base = strings.TrimRight(base, "/") + "/" + strings.Trim(p, "/")
	}
	return base + query
}

func nowMillisSQLite() int64 { return time.Now().UnixMilli() }

// newSQLiteRunUUID is uuid.uuid4().hex, MLflow's run id.
func newSQLiteRunUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// conn opens the database on first use: creates it when missing, checks the shape of its core
// tables, and waits (within the lock budget) for a database that another program is still creating.
func (s *sqliteStore) conn(ctx context.Context) (*sql.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil || s.err != nil {
		return s.db, s.err
	}
	db, shape, err := s.open(ctx)
	if err != nil {
		// Not remembered: a lock, a deadline or a database under construction pass, and a
		// finished database mltrack cannot write fails fast on every try.
		return nil, err
	}
	s.db, s.shape = db, shape
	return db, nil
}

func (s *sqliteStore) open(ctx context.Context) (*sql.DB, sqliteShape, error) {
	budget := s.opts.lockTimeout()
	busyMS := budget.Milliseconds()
	if _, err := os.Stat(s.path); errors.Is(err, os.ErrNotExist) {
		created, err := createSQLiteDatabase(ctx, s.path, s.artifactRoot(), nowMillisSQLite(), busyMS)
		if err != nil {
			return nil, sqliteShape{}, err
		}
		s.created = created
	} else if err != nil {
		return nil, sqliteShape{}, fmt.Errorf("sqlite database %s: %w", s.path, err)
	}
	db, err := sql.Open("sqlite", sqliteDSN(s.path, busyMS))
	if err != nil {
		return nil, sqliteShape{}, fmt.Errorf("open sqlite database %s: %w", s.path, err)
	}
	// One connection: mltrack's calls are sequential, and a single connection keeps SQLite's locks
	// (and so the interplay with MLflow's own connections) simple.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	shape, err := s.waitReady(ctx, db, budget)
	if err != nil {
		db.Close()
		return nil, sqliteShape{}, err
	}
	return db, shape, nil
}

// waitReady returns once the database has MLflow's core tables in a shape mltrack can write and
// holds experiment 0. MLflow inserts experiment 0 only after its migrations finished, so a database
// without it may still be under construction by MLflow, and is waited for (within budget):
//   - no tables at all: an empty file, which MLflow (SQLAlchemy) creates a moment before its first
//     tables. After a short wait it is initialized in place, as MLflow does with an empty file.
//   - core tables incomplete (ErrSchema): waited for; a finished database (with experiment 0) in a
//     shape mltrack cannot write is reported at once.
//   - complete but without experiment 0: after the wait, experiment 0 is added as MLflow's store
//     would add it.
func (s *sqliteStore) waitReady(ctx context.Context, db *sql.DB, budget time.Duration) (sqliteShape, error) {
	start := time.Now()
	deadline := start.Add(budget)
	emptyDeadline := start.Add(min(budget, 500*time.Millisecond))
	for {
		shape, err := checkSQLiteShape(ctx, db, s.path)
		now := time.Now()
		switch {
		case err == nil:
			has0, err := hasDefaultExperiment(ctx, db)
			if err != nil {
				return shape, fmt.Errorf("sqlite database %s: %w", s.path, s.lockError(err))
			}
			if has0 {
				return shape, nil
			}
			if now.After(deadline) {
				return shape, s.write(ctx, db, func(tx *sql.Tx) error {
					return insertDefaultExperiment(ctx, tx, shape, s.artifactRoot(), nowMillisSQLite())
				})
			}
		case errors.Is(err, errSQLiteNoTables):
			if now.After(emptyDeadline) {
				if err := s.initializeEmpty(ctx, db); err != nil {
					return shape, fmt.Errorf("initialize empty sqlite database %s: %w", s.path, err)
				}
				continue
			}
		case errors.Is(err, ErrSchema):
			if has0, _ := hasDefaultExperiment(ctx, db); has0 {
				return shape, err // finished, and its shape will not improve
			}
			if now.After(deadline) {
				return shape, fmt.Errorf("waited %s for another program (MLflow?) to finish creating it: %w", budget, err)
			}
		default:
			if !isSQLiteBusy(err) || now.After(deadline) {
				return shape, fmt.Errorf("sqlite database %s: %w", s.path, s.lockError(err))
			}
		}
		select {
		case <-ctx.Done():
			return shape, fmt.Errorf("sqlite database %s: %w", s.path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func hasDefaultExperiment(ctx context.Context, q sqliteQuerier) (bool, error) {
	rows, err := q.QueryContext(ctx, "SELECT 1 FROM experiments WHERE experiment_id = 0")
	if err != nil {
		return false, err
	}
	defer rows.Close()
	has := rows.Next()
	return has, rows.Err()
}

// initializeEmpty writes MLflow's schema into a database file that has no tables (an empty file,
// as `touch` or an interrupted client leaves). The emptiness is checked again inside the write
// transaction, so that a concurrent creator's tables are never written over.
func (s *sqliteStore) initializeEmpty(ctx context.Context, db *sql.DB) error {
	return s.write(ctx, db, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		return initializeSQLiteSchema(ctx, tx, s.artifactRoot(), nowMillisSQLite())
	})
}

// write runs fn in one BEGIN IMMEDIATE transaction.
func (s *sqliteStore) write(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return s.lockError(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return s.lockError(err)
	}
	if err := tx.Commit(); err != nil {
		return s.lockError(err)
	}
	return nil
}

// lockError explains a lock timeout; other errors pass through.
func (s *sqliteStore) lockError(err error) error {
	if isSQLiteBusy(err) {
		return fmt.Errorf("sqlite database %s stayed locked by another program for longer than mltrack's budget of %s: %w",
			s.path, s.opts.lockTimeout(), err)
	}
	return err
}

func isSQLiteBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff
		return code == sqliteBusy || code == sqliteLocked
	}
	return false
}

func isSQLiteUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqliteConstraintUnique || se.Code() == sqliteConstraintPK
	}
	return false
}

func (s *sqliteStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	s.err = errors.New("store is closed")
	return err
}

// --- experiments ---

func parseSQLiteExperimentID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("experiment id %q is not a number: %w", id, ErrNotFound)
	}
	return n, nil
}

const sqliteExperimentColumns = "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time"

func (s *sqliteStore) GetExperiment(ctx context.Context, id string) (Experiment, error) {
	db, err := s.conn(ctx)
	if err != nil {
		return Experiment{}, err
	}
	n, err := parseSQLiteExperimentID(id)
	if err != nil {
		return Experiment{}, err
	}
	exp, err := s.readExperiment(ctx, db, "SELECT "+sqliteExperimentColumns+" FROM experiments WHERE experiment_id = ?", n)
	if errors.Is(err, ErrNotFound) {
		return Experiment{}, fmt.Errorf("experiment %s in %s: %w", id, s.uri, ErrNotFound)
	}
	return exp, err
}

func (s *sqliteStore) GetExperimentByName(ctx context.Context, name string) (Experiment, error) {
	db, err := s.conn(ctx)
	if err != nil {
		return Experiment{}, err
	}
	q := "SELECT " + sqliteExperimentColumns + " FROM experiments WHERE name = ?"
	if s.shape.hasWorkspace {
		q += " AND workspace = 'default'"
	}
	exp, err := s.readExperiment(ctx, db, q, name)
	if errors.Is(err, ErrNotFound) {
		return Experiment{}, fmt.Errorf("experiment %q in %s: %w", name, s.uri, ErrNotFound)
	}
	return exp, err
}

func (s *sqliteStore) readExperiment(ctx context.Context, db *sql.DB, query string, arg any) (Experiment, error) {
	var (
		exp                  Experiment
		id                   int64
		location, lifecycle  sql.NullString
		created, lastUpdated sql.NullInt64
	)
	err := db.QueryRowContext(ctx, query, arg).Scan(&id, &exp.Name, &location, &lifecycle, &created, &lastUpdated)
	if errors.Is(err, sql.ErrNoRows) {
		return Experiment{}, ErrNotFound
	}
	if err != nil {
		return Experiment{}, fmt.Errorf("read experiment from %s: %w", s.path, s.lockError(err))
	}
	exp.ID = strconv.FormatInt(id, 10)
	exp.ArtifactLocation, exp.LifecycleStage = location.String, lifecycle.String
	exp.CreationTime, exp.LastUpdateTime = created.Int64, lastUpdated.Int64
	rows, err := db.QueryContext(ctx, "SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY key", id)
	if err != nil {
		return Experiment{}, fmt.Errorf("read tags of experiment %s: %w", exp.ID, s.lockError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var t Tag
		var v sql.NullString
		if err := rows.Scan(&t.Key, &v); err != nil {
			return Experiment{}, fmt.Errorf("read tags of experiment %s: %w", exp.ID, err)
		}
		t.Value = v.String
		exp.Tags = append(exp.Tags, t)
	}
	if err := rows.Err(); err != nil {
		return Experiment{}, fmt.Errorf("read tags of experiment %s: %w", exp.ID, err)
	}
	return exp, nil
}

func (s *sqliteStore) CreateExperiment(ctx context.Context, name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("experiment name %q is not valid UTF-8", name)
	}
	if err := ValidateExperimentName(name); err != nil {
		return "", err
	}
	db, err := s.conn(ctx)
	if err != nil {
		return "", err
	}
	var id int64
	err = s.write(ctx, db, func(tx *sql.Tx) error {
		now := nowMillisSQLite()
		cols, vals := "name, artifact_location, lifecycle_stage, creation_time, last_update_time", "?, NULL, ?, ?, ?"
		if s.shape.hasWorkspace {
			cols, vals = cols+", workspace", vals+", 'default'"
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO experiments ("+cols+") VALUES ("+vals+")", name, LifecycleActive, now, now)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		// Like MLflow: the id is known only after the insert, and the location derives from it.
		_, err = tx.ExecContext(ctx, "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
			sqliteArtifactLocation(s.artifactRoot(), strconv.FormatInt(id, 10)), id)
		return err
	})
	if isSQLiteUniqueViolation(err) {
		return "", fmt.Errorf("experiment %q in %s: %w", name, s.uri, ErrAlreadyExists)
	}
	if err != nil {
		return "", fmt.Errorf("create experiment %q in %s: %w", name, s.path, err)
	}
	return strconv.FormatInt(id, 10), nil
}

// --- runs ---

func (s *sqliteStore) CreateRun(ctx context.Context, req CreateRunRequest) (RunInfo, error) {
	db, err := s.conn(ctx)
	if err != nil {
		return RunInfo{}, err
	}
	expID, err := parseSQLiteExperimentID(req.ExperimentID)
	if err != nil {
		return RunInfo{}, err
	}

	// The run name: the request's, else an mlflow.runName tag's, else a generated one. The tag is
	// always written and always equals runs.name.
	clean := Sanitize(nil, s.validUTF8Params(req.Params), s.validUTF8Tags(req.Tags))
	for _, w := range clean.Warnings {
		s.opts.warn("%s", w)
	}
	tags, params := dedupeTags(clean.Tags), clean.Params
	name := strings.ToValidUTF8(req.RunName, "\uFFFD")
	for _, t := range tags {
		if t.Key == runNameTagKey && t.Value != "" {
			if name == "" {
				name = t.Value
			} else if t.Value != name {
				s.opts.warn("run name %q replaces the %s tag %q given with it", name, runNameTagKey, t.Value)
			}
		}
	}
	if name == "" {
		name = GenerateRunName()
	}
	tags = slices.DeleteFunc(tags, func(t Tag) bool { return t.Key == runNameTagKey })
	tags = append(tags, Tag{Key: runNameTagKey, Value: name})

	// runs.user_id must not be NULL: MLflow's RunInfo refuses None. Without a user, do what MLflow's
	// client does (create_run: the mlflow.user tag, else "unknown").
	userID := req.UserID
	if userID == "" {
		userID = "unknown"
		for _, t := range tags {
			if t.Key == "mlflow.user" {
				userID = t.Value
			}
		}
	}
	info := RunInfo{
		RunID:          newSQLiteRunUUID(),
		ExperimentID:   strconv.FormatInt(expID, 10),
		RunName:        name,
		UserID:         strings.ToValidUTF8(userID, "\uFFFD"),
		Status:         StatusRunning,
		StartTime:      req.StartTime,
		LifecycleStage: LifecycleActive,
	}
	var conflicts []ParamConflict
	err = s.write(ctx, db, func(tx *sql.Tx) error {
		var (
			expName   string
			location  sql.NullString
			lifecycle sql.NullString
		)
		err := tx.QueryRowContext(ctx, "SELECT name, artifact_location, lifecycle_stage FROM experiments WHERE experiment_id = ?", expID).
			Scan(&expName, &location, &lifecycle)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("experiment %s in %s: %w", req.ExperimentID, s.uri, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if lifecycle.String == LifecycleDeleted {
			return &DeletedExperimentError{Name: expName, ID: info.ExperimentID, StoreURI: s.uri}
		}
		loc := location.String
		if loc == "" {
			loc = sqliteArtifactLocation(s.artifactRoot(), info.ExperimentID)
		}
		info.ArtifactURI = sqliteAppendURIPath(loc, info.RunID, "artifacts")
		if _, err := tx.ExecContext(ctx, `INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name,
			user_id, status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id)
			VALUES (?, ?, 'UNKNOWN', '', '', ?, ?, ?, NULL, '', ?, ?, ?)`,
			info.RunID, name, info.UserID, string(StatusRunning), info.StartTime, LifecycleActive, info.ArtifactURI, expID); err != nil {
			return err
		}
		for _, t := range tags {
			if _, err := tx.ExecContext(ctx, "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", t.Key, t.Value, info.RunID); err != nil {
				return err
			}
		}
		conflicts, err = sqliteLogParams(ctx, tx, info.RunID, params)
		return err
	})
	if err != nil {
		var dee *DeletedExperimentError
		if errors.Is(err, ErrNotFound) || errors.As(err, &dee) {
			return RunInfo{}, err
		}
		return RunInfo{}, fmt.Errorf("create run in experiment %s of %s: %w", req.ExperimentID, s.path, err)
	}
	if len(conflicts) > 0 { // only possible with a key given twice with different values
		s.opts.warn("%s", (&ParamConflictError{RunID: info.RunID, Conflicts: conflicts}).Error())
	}
	return info, nil
}

// dedupeTags keeps the last value of each key, in first-seen order (MLflow's _set_tags resolves a
// repeated key to its last value).
func dedupeTags(tags []Tag) []Tag {
	idx := map[string]int{}
	var out []Tag
	for _, t := range tags {
		if i, ok := idx[t.Key]; ok {
			out[i].Value = t.Value
			continue
		}
		idx[t.Key] = len(out)
		out = append(out, t)
	}
	return out
}

// sqliteLogParams inserts params that the run does not have yet. A param logged again with the same
// value is a no-op; with another value the first stays and the pair is returned as a conflict.
func sqliteLogParams(ctx context.Context, tx *sql.Tx, runID string, params []Param) ([]ParamConflict, error) {
	if len(params) == 0 {
		return nil, nil
	}
	existing := map[string]string{}
	rows, err := tx.QueryContext(ctx, "SELECT key, value FROM params WHERE run_uuid = ?", runID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return nil, err
		}
		existing[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var conflicts []ParamConflict
	for _, p := range params {
		if old, ok := existing[p.Key]; ok {
			if old != p.Value {
				conflicts = append(conflicts, ParamConflict{Key: p.Key, Existing: old, Refused: p.Value})
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", p.Key, p.Value, runID); err != nil {
			return nil, err
		}
		existing[p.Key] = p.Value
	}
	return conflicts, nil
}

// sqliteMetric is a metric as MLflow stores it: NaN as value 0 with is_nan set, ±Inf as ±MaxFloat64.
type sqliteMetric struct {
	key       string
	value     float64
	timestamp int64
	step      int64
	isNaN     bool
}

func sanitizeSQLiteMetric(m Metric) sqliteMetric {
	sm := sqliteMetric{key: m.Key, value: m.Value, timestamp: m.Timestamp, step: m.Step}
	switch {
	case math.IsNaN(m.Value):
		sm.value, sm.isNaN = 0, true
	case math.IsInf(m.Value, 1):
		sm.value = math.MaxFloat64
	case math.IsInf(m.Value, -1):
		sm.value = -math.MaxFloat64
	}
	return sm
}

// newerThan is MLflow's latest-metric order: strictly greater by (step, timestamp, value).
func (a sqliteMetric) newerThan(b sqliteMetric) bool {
	if a.step != b.step {
		return a.step > b.step
	}
	if a.timestamp != b.timestamp {
		return a.timestamp > b.timestamp
	}
	return a.value > b.value
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sqliteLogMetrics inserts metric samples (exact duplicates of stored ones are dropped, as MLflow
// drops them) and moves latest_metrics forward where a new sample is newer.
func sqliteLogMetrics(ctx context.Context, tx *sql.Tx, runID string, metrics []Metric) error {
	if len(metrics) == 0 {
		return nil
	}
	insert, err := tx.PrepareContext(ctx, "INSERT OR IGNORE INTO metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	defer insert.Close()
	newest := map[string]sqliteMetric{}
	var keys []string
	for _, m := range metrics {
		sm := sanitizeSQLiteMetric(m)
		if _, err := insert.ExecContext(ctx, sm.key, sm.value, sm.timestamp, sm.step, boolInt(sm.isNaN), runID); err != nil {
			return err
		}
		if cur, ok := newest[sm.key]; !ok {
			newest[sm.key] = sm
			keys = append(keys, sm.key)
		} else if sm.newerThan(cur) {
			newest[sm.key] = sm
		}
	}
	slices.Sort(keys) // MLflow updates latest_metrics in key order
	for _, k := range keys {
		sm := newest[k]
		var cur sqliteMetric
		var ts sql.NullInt64
		err := tx.QueryRowContext(ctx, "SELECT value, timestamp, step FROM latest_metrics WHERE run_uuid = ? AND key = ?", runID, k).
			Scan(&cur.value, &ts, &cur.step)
		cur.timestamp = ts.Int64
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)",
				k, sm.value, sm.timestamp, sm.step, boolInt(sm.isNaN), runID)
		case err != nil:
		case sm.newerThan(cur):
			_, err = tx.ExecContext(ctx, "UPDATE latest_metrics SET value = ?, timestamp = ?, step = ?, is_nan = ? WHERE run_uuid = ? AND key = ?",
				sm.value, sm.timestamp, sm.step, boolInt(sm.isNaN), runID, k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sqliteSetTags upserts run tags; mlflow.runName also renames the run, as MLflow's set_tag does.
func sqliteSetTags(ctx context.Context, tx *sql.Tx, runID string, tags []Tag) error {
	for _, t := range dedupeTags(tags) {
		res, err := tx.ExecContext(ctx, "UPDATE tags SET value = ? WHERE run_uuid = ? AND key = ?", t.Value, runID, t.Key)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", t.Key, t.Value, runID); err != nil {
				return err
			}
		}
		if t.Key == runNameTagKey {
			if _, err := tx.ExecContext(ctx, "UPDATE runs SET name = ? WHERE run_uuid = ?", t.Value, runID); err != nil {
				return err
			}
		}
	}
	return nil
}

// activeRun fails unless the run exists and is active (MLflow refuses writes to deleted runs).
func (s *sqliteStore) activeRun(ctx context.Context, tx *sql.Tx, runID string) error {
	var lifecycle sql.NullString
	err := tx.QueryRowContext(ctx, "SELECT lifecycle_stage FROM runs WHERE run_uuid = ?", runID).Scan(&lifecycle)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("run %s in %s: %w", runID, s.uri, ErrNotFound)
	}
	if err != nil {
		return err
	}
	if lifecycle.String != LifecycleActive {
		return fmt.Errorf("run %s in %s is deleted; restore it with `mlflow runs restore --run-id %s` to log to it", runID, s.uri, runID)
	}
	return nil
}

// validUTF8Params and validUTF8Tags replace invalid UTF-8 (command lines may hold any bytes):
// SQLite would store it, but MLflow's Python reader then fails on the whole run ("Could not decode
// to UTF-8").
func (s *sqliteStore) validUTF8Params(params []Param) []Param {
	var out []Param
	for i, p := range params {
		if utf8.ValidString(p.Key) && utf8.ValidString(p.Value) {
			continue
		}
		if out == nil {
			out = slices.Clone(params)
		}
		out[i] = Param{Key: strings.ToValidUTF8(p.Key, "\uFFFD"), Value: strings.ToValidUTF8(p.Value, "\uFFFD")}
		s.opts.warn("param %q: invalid UTF-8 replaced by U+FFFD", out[i].Key)
	}
	if out == nil {
		return params
	}
	return out
}

func (s *sqliteStore) validUTF8Tags(tags []Tag) []Tag {
	var out []Tag
	for i, t := range tags {
		if utf8.ValidString(t.Key) && utf8.ValidString(t.Value) {
			continue
		}
		if out == nil {
			out = slices.Clone(tags)
		}
		out[i] = Tag{Key: strings.ToValidUTF8(t.Key, "\uFFFD"), Value: strings.ToValidUTF8(t.Value, "\uFFFD")}
		s.opts.warn("tag %q: invalid UTF-8 replaced by U+FFFD", out[i].Key)
	}
	if out == nil {
		return tags
	}
	return out
}

func (s *sqliteStore) LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error {
	if len(metrics) == 0 && len(params) == 0 && len(tags) == 0 {
		return nil
	}
	clean := Sanitize(metrics, s.validUTF8Params(params), s.validUTF8Tags(tags))
	for _, w := range clean.Warnings {
		s.opts.warn("%s", w)
	}
	db, err := s.conn(ctx)
	if err != nil {
		return err
	}
	var conflicts []ParamConflict
	err = s.write(ctx, db, func(tx *sql.Tx) error {
		if err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		var err error
		conflicts, err = sqliteLogBatchTx(ctx, tx, runID, clean)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("log to run %s in %s: %w", runID, s.path, err)
	}
	if len(conflicts) > 0 {
		return &ParamConflictError{RunID: runID, Conflicts: conflicts}
	}
	return nil
}

// sqliteLogBatchTx writes sanitized params, metrics and tags inside tx, as MLflow's log_batch.
func sqliteLogBatchTx(ctx context.Context, tx *sql.Tx, runID string, clean Sanitized) ([]ParamConflict, error) {
	conflicts, err := sqliteLogParams(ctx, tx, runID, clean.Params)
	if err != nil {
		return nil, err
	}
	if err := sqliteLogMetrics(ctx, tx, runID, clean.Metrics); err != nil {
		return nil, err
	}
	return conflicts, sqliteSetTags(ctx, tx, runID, clean.Tags)
}

// sqliteUpdateRunTx sets a run's status (and end time unless 0) inside tx.
func sqliteUpdateRunTx(ctx context.Context, tx *sql.Tx, runID string, status RunStatus, endTime int64) error {
	var err error
	if endTime != 0 {
		_, err = tx.ExecContext(ctx, "UPDATE runs SET status = ?, end_time = ? WHERE run_uuid = ?", string(status), endTime, runID)
	} else {
		_, err = tx.ExecContext(ctx, "UPDATE runs SET status = ? WHERE run_uuid = ?", string(status), runID)
	}
	return err
}

func checkRunStatus(status RunStatus) error {
	switch status {
	case StatusRunning, StatusScheduled, StatusFinished, StatusFailed, StatusKilled:
		return nil
	}
	return fmt.Errorf("run status %q is not one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED", status)
}

// FinishRun is LogBatch then UpdateRun in one transaction (RunFinisher): every transaction costs
// a few fsyncs in SQLite's rollback-journal mode, and the end of a run is on the wrapped command's
// exit path.
func (s *sqliteStore) FinishRun(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag, status RunStatus, endTime int64) error {
	if err := checkRunStatus(status); err != nil {
		return err
	}
	clean := Sanitize(metrics, s.validUTF8Params(params), s.validUTF8Tags(tags))
	for _, w := range clean.Warnings {
		s.opts.warn("%s", w)
	}
	db, err := s.conn(ctx)
	if err != nil {
		return err
	}
	var conflicts []ParamConflict
	err = s.write(ctx, db, func(tx *sql.Tx) error {
		if err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		var err error
		if conflicts, err = sqliteLogBatchTx(ctx, tx, runID, clean); err != nil {
			return err
		}
		return sqliteUpdateRunTx(ctx, tx, runID, status, endTime)
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("finish run %s in %s: %w", runID, s.path, err)
	}
	if len(conflicts) > 0 {
		return &ParamConflictError{RunID: runID, Conflicts: conflicts}
	}
	return nil
}

func (s *sqliteStore) UpdateRun(ctx context.Context, runID string, status RunStatus, endTime int64) error {
	if err := checkRunStatus(status); err != nil {
		return err
	}
	db, err := s.conn(ctx)
	if err != nil {
		return err
	}
	err = s.write(ctx, db, func(tx *sql.Tx) error {
		if err := s.activeRun(ctx, tx, runID); err != nil {
			return err
		}
		return sqliteUpdateRunTx(ctx, tx, runID, status, endTime)
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("update run %s in %s: %w", runID, s.path, err)
	}
	return nil
}

func (s *sqliteStore) GetRun(ctx context.Context, runID string) (Run, error) {
	db, err := s.conn(ctx)
	if err != nil {
		return Run{}, err
	}
	// A read-only transaction is a plain (deferred) BEGIN: one consistent snapshot, no write lock.
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Run{}, fmt.Errorf("read run %s from %s: %w", runID, s.path, s.lockError(err))
	}
	defer tx.Rollback()
	run, err := s.readRun(ctx, tx, runID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Run{}, err
		}
		return Run{}, fmt.Errorf("read run %s from %s: %w", runID, s.path, s.lockError(err))
	}
	return run, nil
}

func (s *sqliteStore) readRun(ctx context.Context, tx *sql.Tx, runID string) (Run, error) {
	var (
		r                        Run
		name, user, status, life sql.NullString
		artifactURI              sql.NullString
		start, end               sql.NullInt64
		expID                    int64
	)
	err := tx.QueryRowContext(ctx, `SELECT name, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri, experiment_id
		FROM runs WHERE run_uuid = ?`, runID).Scan(&name, &user, &status, &start, &end, &life, &artifactURI, &expID)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("run %s in %s: %w", runID, s.uri, ErrNotFound)
	}
	if err != nil {
		return Run{}, err
	}
	r.Info = RunInfo{
		RunID: runID, ExperimentID: strconv.FormatInt(expID, 10), RunName: name.String, UserID: user.String,
		Status: RunStatus(status.String), StartTime: start.Int64, EndTime: end.Int64,
		ArtifactURI: artifactURI.String, LifecycleStage: life.String,
	}

	rows, err := tx.QueryContext(ctx, "SELECT key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid = ? ORDER BY key", runID)
	if err != nil {
		return Run{}, err
	}
	for rows.Next() {
		var m Metric
		var ts sql.NullInt64
		var isNaN bool
		if err := rows.Scan(&m.Key, &m.Value, &ts, &m.Step, &isNaN); err != nil {
			rows.Close()
			return Run{}, err
		}
		m.Timestamp = ts.Int64
		if isNaN {
			m.Value = math.NaN()
		}
		r.Data.Metrics = append(r.Data.Metrics, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Run{}, err
	}

	rows, err = tx.QueryContext(ctx, "SELECT key, value FROM params WHERE run_uuid = ? ORDER BY key", runID)
	if err != nil {
		return Run{}, err
	}
	for rows.Next() {
		var p Param
		if err := rows.Scan(&p.Key, &p.Value); err != nil {
			rows.Close()
			return Run{}, err
		}
		r.Data.Params = append(r.Data.Params, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Run{}, err
	}

	rows, err = tx.QueryContext(ctx, "SELECT key, value FROM tags WHERE run_uuid = ? ORDER BY key", runID)
	if err != nil {
		return Run{}, err
	}
	for rows.Next() {
		var t Tag
		var v sql.NullString
		if err := rows.Scan(&t.Key, &v); err != nil {
			rows.Close()
			return Run{}, err
		}
		t.Value = v.String
		r.Data.Tags = append(r.Data.Tags, t)
	}
	rows.Close()
	return r, rows.Err()
}

// --- artifacts ---

func (s *sqliteStore) LogArtifact(ctx context.Context, run RunInfo, localPath, artifactPath string) error {
	uri := run.ArtifactURI
	if uri == "" {
		got, err := s.GetRun(ctx, run.RunID)
		if err != nil {
			return err
		}
		uri = got.Info.ArtifactURI
	}
	if strings.HasPrefix(uri, "mlflow-artifacts:") {
		return fmt.Errorf("run %s keeps its artifacts behind a tracking server (%s: its experiment was created by `mlflow server` or `mlflow ui`); point MLFLOW_TRACKING_URI at that server (http://...) or use an experiment created by mltrack or MLflow's Python client: %w",
			run.RunID, uri, ErrUnsupportedArtifactURI)
	}
	if dir, err := localArtifactDir(uri); err == nil {
		privateArtifactRoot(s.path, s.artifactRoot(), dir)
	}
	if err := copyLocalArtifact(ctx, uri, localPath, artifactPath); err != nil {
		return fmt.Errorf("log artifact %s of run %s: %w", artifactPath, run.RunID, err)
	}
	return nil
}
