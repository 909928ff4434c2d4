package mlflowclient

import (
	"context"
	"crypto/rand"
	"database/sql"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// sqliteSchemaRevision is the alembic revision of the schema mltrack writes into a new database.
// It is the parent of add_jobs_table (bf29a5ff90ea). Every MLflow from 3.7 on lists `jobs` among the
// tables it must find (or, from 3.12, checks every table of its ORM), so each one finds a table
// missing, migrates the database from this stamp to its own head on first open, and starts without
// `mlflow db upgrade`. See schema/README.md.
const sqliteSchemaRevision = "3da73c924c2f"

// sqliteSchemaSQL is the schema real MLflow creates at sqliteSchemaRevision, dumped by
// scripts/gen-sqlite-schema.py: every CREATE statement plus the alembic_version row.
//
//go:embed schema/mlflow-3.18.0-3da73c924c2f.sql
var sqliteSchemaSQL string

// sqliteColumnInfo is one row of PRAGMA table_info.
type sqliteColumnInfo struct {
	name       string
	typ        string
	notNull    bool
	hasDefault bool
	pk         int
}

// sqliteTableSpec says which columns of a core table mltrack reads or writes (needed) and which
// further columns it knows how to fill (optional: written when present).
type sqliteTableSpec struct {
	name     string
	needed   []string
	optional []string
	inserts  bool // mltrack inserts rows, so unknown NOT NULL columns without a default are fatal
}

// sqliteCoreTables are the tables mltrack touches. Their shape, not the alembic revision, decides
// whether mltrack can write a database: a newer MLflow that migrated it keeps working as long as
// these columns are there.
var sqliteCoreTables = []sqliteTableSpec{
	{name: "experiments", inserts: true,
		needed:   []string{"experiment_id", "name", "artifact_location", "lifecycle_stage", "creation_time", "last_update_time"},
		optional: []string{"workspace"}},
	{name: "experiment_tags", needed: []string{"key", "value", "experiment_id"}},
	{name: "runs", inserts: true,
		needed: []string{"run_uuid", "name", "source_type", "source_name", "entry_point_name", "user_id", "status",
			"start_time", "end_time", "source_version", "lifecycle_stage", "artifact_uri", "experiment_id"},
		optional: []string{"deleted_time"}},
	{name: "metrics", inserts: true, needed: []string{"key", "value", "timestamp", "step", "is_nan", "run_uuid"}},
	{name: "latest_metrics", inserts: true, needed: []string{"key", "value", "timestamp", "step", "is_nan", "run_uuid"}},
	{name: "params", inserts: true, needed: []string{"key", "value", "run_uuid"}},
	{name: "tags", inserts: true, needed: []string{"key", "value", "run_uuid"}},
}

// sqliteShape is what the schema check learnt about a database.
type sqliteShape struct {
	hasWorkspace bool // experiments.workspace (MLflow >= 3.10): written as 'default'
}

// errSQLiteNoTables marks a database file with no tables at all: new, or still being created by
// another program.
var errSQLiteNoTables = errors.New("database has no tables")

// sqliteQuerier is what the schema check needs from *sql.DB, *sql.Tx or *sql.Conn.
type sqliteQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// checkSQLiteShape reads the core tables' columns and decides whether mltrack can write them.
// The error says which table or column is wrong and what to do; it wraps ErrSchema (or
// errSQLiteNoTables for an empty database).
func checkSQLiteShape(ctx context.Context, q sqliteQuerier, dbPath string) (sqliteShape, error) {
	var shape sqliteShape
	tables, err := sqliteColumns(ctx, q)
	if err != nil {
		return shape, err
	}
	if len(tables) == 0 {
		return shape, fmt.Errorf("sqlite database %s: %w", dbPath, errSQLiteNoTables)
	}
	what := "upgrade mltrack, or run `mlflow server --backend-store-uri sqlite:///" + filepath.ToSlash(dbPath) +
		"` and set MLFLOW_TRACKING_URI to that server (http://127.0.0.1:5000)"
	for _, spec := range sqliteCoreTables {
		cols, ok := tables[spec.name]
		if !ok {
			return shape, fmt.Errorf("sqlite database %s has no table %q, so it is not an MLflow tracking database (or MLflow has not finished creating it); point MLFLOW_TRACKING_URI at an MLflow database or move the file away: %w",
				dbPath, spec.name, ErrSchema)
		}
		byName := map[string]sqliteColumnInfo{}
		for _, c := range cols {
			byName[c.name] = c
		}
		for _, n := range spec.needed {
			if _, ok := byName[n]; !ok {
				return shape, fmt.Errorf("sqlite database %s: table %q has no column %q, which mltrack needs; the database was made by an MLflow whose schema mltrack does not know: %s: %w",
					dbPath, spec.name, n, what, ErrSchema)
			}
		}
		if !spec.inserts {
			continue
		}
		known := map[string]bool{}
		for _, n := range spec.needed {
			known[n] = true
		}
		for _, n := range spec.optional {
			known[n] = true
		}
		for _, c := range cols {
			if c.notNull && !c.hasDefault && !known[c.name] {
				return shape, fmt.Errorf("sqlite database %s: table %q has a required column %q (NOT NULL, no default) that mltrack does not know how to fill; the database was probably made by a newer MLflow: %s: %w",
					dbPath, spec.name, c.name, what, ErrSchema)
			}
		}
		if spec.name == "experiments" {
			id := byName["experiment_id"]
			pks := 0
			for _, c := range cols {
				if c.pk > 0 {
					pks++
				}
			}
			// New experiment ids come from SQLite's rowid, as in MLflow; that needs experiment_id to be
			// the table's only primary key column, declared INTEGER.
			if !strings.EqualFold(id.typ, "INTEGER") || id.pk != 1 || pks != 1 {
				return shape, fmt.Errorf("sqlite database %s: experiments.experiment_id is not an INTEGER primary key, so mltrack cannot number new experiments; %s: %w",
					dbPath, what, ErrSchema)
			}
			_, shape.hasWorkspace = byName["workspace"]
		}
	}
	return shape, nil
}

// sqliteColumns reads the columns of every table in one statement (the table-valued form of
// PRAGMA table_info): the shape check runs on every open, on the wrapped command's start path, and
// one statement costs a fraction of one per table. A table without columns cannot exist, so the
// keys are also the list of tables.
func sqliteColumns(ctx context.Context, q sqliteQuerier) (map[string][]sqliteColumnInfo, error) {
	rows, err := q.QueryContext(ctx, `SELECT m.name, p.name, p.type, p."notnull", p.dflt_value, p.pk
		FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p
		WHERE m.type = 'table' ORDER BY m.name, p.cid`)
	if err != nil {
		return nil, fmt.Errorf("read the tables and their columns: %w", err)
	}
	defer rows.Close()
	tables := map[string][]sqliteColumnInfo{}
	for rows.Next() {
		var (
			table   string
			c       sqliteColumnInfo
			notNull int
			dflt    sql.NullString
		)
		if err := rows.Scan(&table, &c.name, &c.typ, &notNull, &dflt, &c.pk); err != nil {
			return nil, fmt.Errorf("read the tables and their columns: %w", err)
		}
		c.notNull, c.hasDefault = notNull != 0, dflt.Valid
		tables[table] = append(tables[table], c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the tables and their columns: %w", err)
	}
	return tables, nil
}

// initializeSQLiteSchema writes the embedded schema and experiment 0 into an empty database, in one
// transaction. tx must be a write transaction.
func initializeSQLiteSchema(ctx context.Context, tx *sql.Tx, artifactRoot string, now int64) error {
	if _, err := tx.ExecContext(ctx, sqliteSchemaSQL); err != nil {
		return fmt.Errorf("create MLflow's tables: %w", err)
	}
	return insertDefaultExperiment(ctx, tx, sqliteShape{}, artifactRoot, now)
}

// insertDefaultExperiment adds experiment 0 "Default" the way MLflow's
// SqlAlchemyStore._create_default_experiment does (a plain INSERT with id 0), unless it exists.
func insertDefaultExperiment(ctx context.Context, tx *sql.Tx, shape sqliteShape, artifactRoot string, now int64) error {
	cols := "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time"
	vals := "0, ?, ?, ?, ?, ?"
	if shape.hasWorkspace {
		cols += ", workspace"
		vals += ", 'default'"
	}
	_, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO experiments ("+cols+") VALUES ("+vals+")",
		DefaultExperimentName, sqliteArtifactLocation(artifactRoot, DefaultExperimentID), LifecycleActive, now, now)
	if err != nil {
		return fmt.Errorf("create experiment 0 (Default): %w", err)
	}
	return nil
}

// createSQLiteDatabase makes a new MLflow database at dbPath unless one appears there first. It
// builds the database in a temporary file next to dbPath and hard-links it into place, which fails
// instead of replacing when dbPath exists: of many processes starting at once in an empty directory,
// exactly one creates the database and the others use it. It reports whether this call created it.
func createSQLiteDatabase(ctx context.Context, dbPath, artifactRoot string, now int64, lockTimeoutMS int64) (bool, error) {
	dir := filepath.Dir(dbPath)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("create the directory of %s: %w", dbPath, err)
	}
	removeStaleTemporaries(dir, filepath.Base(dbPath))
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, "."+filepath.Base(dbPath)+".mltrack-"+hex.EncodeToString(rnd[:])+".tmp")
	defer func() {
		// The journal is gone after a commit; removing it too covers a failure half-way.
		os.Remove(tmp)
		os.Remove(tmp + "-journal")
	}()
	if err := buildSQLiteDatabase(ctx, tmp, artifactRoot, now, lockTimeoutMS); err != nil {
		return false, err
	}
	// A store mltrack creates is private to its user: runs hold command lines, outputs and
	// environment-derived context. An existing store keeps whatever permissions it has.
	if err := os.Chmod(tmp, privateFileMode); err != nil {
		return false, fmt.Errorf("create database %s: %w", dbPath, err)
	}
	err := os.Link(tmp, dbPath)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrExist) {
		return false, nil // another process won the race; use its database
	}
	// Some file systems (FAT, some network and FUSE mounts) have no hard links. Fall back to an
	// exclusive create and a copy: still never replaces a database, but a reader starting in the
	// same instant could see the file before it is complete.
	created, cerr := copyNewFile(tmp, dbPath)
	if cerr != nil {
		return false, fmt.Errorf("put the new database in place at %s: link: %v; copy: %w", dbPath, err, cerr)
	}
	return created, nil
}

// Modes of what mltrack creates at the top of a new local store (see createSQLiteDatabase).
const (
	privateFileMode = 0o600
	privateDirMode  = 0o700
)

// privateArtifactRoot creates the default artifact root of a private database (./mlruns next to
// it, see sqliteStore.artifactRoot) private as well, before the first artifact goes under it, so
// that the artifacts below are private whatever their own modes. A root that exists, or the root
// of a database others may read, is left alone; a failure is left for the upload to report.
func privateArtifactRoot(dbPath, root, artifactDir string) {
	if rel, err := filepath.Rel(root, artifactDir); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return
	}
	if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
		return
	}
	if fi, err := os.Stat(dbPath); err != nil || fi.Mode().Perm()&0o077 != 0 {
		return
	}
	_ = os.Mkdir(root, privateDirMode)
}

// removeStaleTemporaries deletes temporary databases that a killed mltrack left next to base; one
// that is minutes old is no longer being built.
func removeStaleTemporaries(dir, base string) {
	matches, _ := filepath.Glob(filepath.Join(dir, "."+base+".mltrack-*.tmp*"))
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && time.Since(fi.ModTime()) > 10*time.Minute {
			os.Remove(m)
		}
	}
}

// buildSQLiteDatabase writes a complete, closed database file at path.
func buildSQLiteDatabase(ctx context.Context, path, artifactRoot string, now int64, lockTimeoutMS int64) error {
	db, err := sql.Open("sqlite", sqliteDSN(path, lockTimeoutMS))
	if err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	if err := initializeSQLiteSchema(ctx, tx, artifactRoot, now); err != nil {
		tx.Rollback()
		return fmt.Errorf("create database %s: %w", path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	return nil
}

// copyNewFile copies src to dst only if dst does not exist yet.
func copyNewFile(src, dst string) (bool, error) {
	in, err := os.Open(src)
	if err != nil {
		return false, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, privateFileMode)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = io.Copy(out, in)
	if serr := out.Sync(); err == nil {
		err = serr
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return false, err
	}
	return true, nil
}
