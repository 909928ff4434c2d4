package mlflowclient

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FileStoreNote tells the user how current MLflow opens the file store mltrack wrote. MLflow >= 3.13
// refuses to open a file store unless MLFLOW_ALLOW_FILE_STORE=true; mltrack still writes it because
// the user chose it (or ./mlruns already held data). Print it once per store, e.g. via
// FileStoreNoteFor.
const FileStoreNote = "MLflow >= 3.13 opens a file store (./mlruns) only with MLFLOW_ALLOW_FILE_STORE=true " +
	"(e.g. MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri DIR), or migrate it: " +
	"mlflow migrate-filestore --source DIR --target sqlite:///mlflow.db"

// FileStoreNoteFor is FileStoreNote with DIR replaced by the store's directory (uri as given to
// OpenFileStore). It falls back to the generic note when uri is not a file store.
func FileStoreNoteFor(uri string) string {
	root, _, _, err := fsLocation(uri)
	if err != nil {
		return FileStoreNote
	}
	if strings.ContainsAny(root, " \t'\"$`\\") {
		root = "'" + strings.ReplaceAll(root, "'", `'\''`) + "'"
	}
	return strings.ReplaceAll(FileStoreNote, "DIR", root)
}

// Names inside a file store, as mlflow/store/tracking/file_store.py spells them.
const (
	fsTrashDir     = ".trash"
	fsMetaFile     = "meta.yaml"
	fsMetricsDir   = "metrics"
	fsParamsDir    = "params"
	fsTagsDir      = "tags"
	fsArtifactsDir = "artifacts"
	fsModelsDir    = "models" // the model registry's folder at the root; not an experiment

	// fsExperimentsLock is the lock file that serialises experiment creation among mltrack
	// processes. It is a plain file at the root: MLflow only looks at directories there.
	fsExperimentsLock = ".mltrack-experiments.lock"
	// fsTempPrefix names temporary files. They live next to meta.yaml (in the experiment or run
	// directory), never inside params/, tags/ or metrics/, where MLflow would read them as keys.
	fsTempPrefix = ".mltrack-"

	// Modes before the umask, as Python's open() and os.makedirs() use them, so the store gets the
	// permissions MLflow would give it.
	fsFileMode = 0o666
	fsDirMode  = 0o777
)

// MLflow's numeric run status, as the file store keeps it in meta.yaml (service.proto RunStatus).
var fsRunStatusCodes = map[RunStatus]int64{
	StatusRunning: 1, StatusScheduled: 2, StatusFinished: 3, StatusFailed: 4, StatusKilled: 5,
}

// MLflow's id syntax (mlflow/utils/validation.py). Checking it before building a path keeps ids
// from walking out of the store.
var (
	fsExperimentIDPattern = fsIDSyntax{maxLen: 64}  // ^[a-zA-Z0-9][\w\-]{0,63}$
	fsRunIDPattern        = fsIDSyntax{maxLen: 256} // ^[a-zA-Z0-9][\w\-]{0,255}$
)

// fsIDSyntax is MLflow's id pattern ^[a-zA-Z0-9][\w\-]{0,maxLen-1}$ (ASCII \w), checked by hand:
// as a regexp the bounded repetition compiled into hundreds of kilobytes at every start of mltrack.
type fsIDSyntax struct{ maxLen int }

// MatchString reports whether s is a valid id.
func (p fsIDSyntax) MatchString(s string) bool {
	if len(s) == 0 || len(s) > p.maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || (c != '_' && c != '-')) {
			return false
		}
	}
	return true
}

// fileStore writes MLflow's file-store layout (./mlruns) exactly as file_store.py reads it.
//
// Concurrency: every file a reader may open is replaced atomically (temp file + rename) or created
// complete (temp file + hard link); metric values are appended with one write per key. Experiment
// creation by name is serialised among mltrack processes by an OS file lock (see CreateExperiment).
// A fileStore value is safe for concurrent use by several goroutines.
type fileStore struct {
	uri          string // what URI() shows: the store's absolute URI or path
	root         string // local directory
	trash        string
	artifactRoot string // prefix of new experiments' artifact_location, spelled as MLflow would
	opts         Options

	mu      sync.Mutex        // serialises read-modify-write of run meta.yaml within this process
	runDirs map[string]string // run ID → run directory (cache; checked before use)

	lockWarnOnce sync.Once

	// Test hooks. testNoLock makes CreateExperiment skip the lock (as on a file system without
	// locks); testAfterPublish runs after a new experiment's meta.yaml is in place, before the
	// re-scan for duplicates.
	testNoLock       bool
	testAfterPublish func()
}

var _ Store = (*fileStore)(nil)

// OpenFileStore opens (creating when needed) the MLflow file store at uri: file:///abs/dir,
// file:relative/dir or a plain path. Like MLflow's FileStore it creates the root directory,
// experiment "0" ("Default") and .trash/ when they are missing.
//
// New experiments get artifact_location <store uri>/<experiment id>, spelled the way the Python
// client spells it for the same tracking URI: the file: URI as given for a file: URI, an absolute
// path for a plain path (file:///... on Windows).
func OpenFileStore(uri string, opts Options) (Store, error) {
	root, artifactRoot, shown, err := fsLocation(uri)
	if err != nil {
		return nil, err
	}
	s := &fileStore{
		uri:          shown,
		root:         root,
		trash:        filepath.Join(root, fsTrashDir),
		artifactRoot: artifactRoot,
		opts:         opts,
		runDirs:      map[string]string{},
	}
	if err := s.initRoot(); err != nil {
		return nil, fmt.Errorf("open MLflow file store %s: %w", shown, err)
	}
	return s, nil
}

// fsLocation derives the root directory, the artifact root and the URI to show.
func fsLocation(uri string) (root, artifactRoot, shown string, err error) {
	if uri == "" {
		return "", "", "", fmt.Errorf("file store URI is empty; use file:///PATH or a directory path")
	}
	if strings.HasPrefix(uri, "file:") {
		p, err := FileStorePath(uri)
		if err != nil {
			return "", "", "", err
		}
		p = fsWindowsDrivePath(p)
		if filepath.IsAbs(p) {
			root = filepath.Clean(p)
			if strings.ContainsAny(uri, "?#") {
				u := "file://" + toURIPath(root)
				return root, u, u, nil
			}
			// MLflow keeps the URI as the user wrote it (percent-escapes included) as the prefix
			// of every artifact_location.
			u := strings.TrimRight(uri, "/")
			if u == "file:" || strings.HasSuffix(u, ":") {
				u = uri
			}
			return root, u, u, nil
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", "", "", fmt.Errorf("file store %q: %w", uri, err)
		}
		u := "file://" + toURIPath(abs)
		return abs, u, u, nil
	}
	abs, err := filepath.Abs(uri)
	if err != nil {
		return "", "", "", fmt.Errorf("file store %q: %w", uri, err)
	}
	if runtime.GOOS == "windows" {
		// MLflow turns Windows paths into file: URIs; a bare C:\ path would parse as scheme "c".
		return abs, "file://" + toURIPath(abs), abs, nil
	}
	return abs, filepath.ToSlash(abs), abs, nil
}

// fsWindowsDrivePath turns \C:\dir (what a file:///C:/dir URI's path becomes) into C:\dir.
func fsWindowsDrivePath(p string) string {
	if runtime.GOOS == "windows" && len(p) >= 3 && (p[0] == '\\' || p[0] == '/') && p[2] == ':' {
		return p[1:]
	}
	return p
}

func (s *fileStore) URI() string  { return s.uri }
func (s *fileStore) Close() error { return nil }

// initRoot does what FileStore.__init__ does: create the root with experiment 0 when missing, and
// .trash/. Unlike MLflow it also creates experiment 0 when the root exists without it (an empty
// directory the user pointed at), since clients fall back to experiment 0.
func (s *fileStore) initRoot() error {
	fi, err := os.Stat(s.root)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%s is not a directory; point the tracking URI at a directory", s.root)
	case errors.Is(err, fs.ErrNotExist):
		// A store mltrack creates is private to its user (as the SQLite store, see
		// createSQLiteDatabase); what lies below inherits the protection of the root.
		if err := os.MkdirAll(filepath.Dir(s.root), fsDirMode); err != nil {
			return fmt.Errorf("create store directory: %w", err)
		}
		if err := os.Mkdir(s.root, privateDirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create store directory: %w", err)
		}
	case err != nil:
		return err
	}
	if !fsFileExists(filepath.Join(s.root, DefaultExperimentID, fsMetaFile)) &&
		!fsFileExists(filepath.Join(s.trash, DefaultExperimentID, fsMetaFile)) {
		dir := filepath.Join(s.root, DefaultExperimentID)
		if err := os.Mkdir(dir, fsDirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create default experiment: %w", err)
		}
		now := fsNowMillis()
		exp := Experiment{
			ID: DefaultExperimentID, Name: DefaultExperimentName,
			ArtifactLocation: fsAppendURIPath(s.artifactRoot, DefaultExperimentID),
			LifecycleStage:   LifecycleActive, CreationTime: now, LastUpdateTime: now,
		}
		// Several processes may initialise the same root at once: the first complete meta.yaml wins.
		if _, err := fsCreateOnce(filepath.Join(dir, fsMetaFile), fsExperimentMetaYAML(exp), dir); err != nil {
			return fmt.Errorf("create default experiment: %w", err)
		}
	}
	if err := os.Mkdir(s.trash, fsDirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", s.trash, err)
	}
	return nil
}

// ---------------------------------------------------------------------------------------------
// Experiments

func fsExperimentMetaYAML(e Experiment) []byte {
	// The keys MLflow 3.18 writes (dict(Experiment) minus tags). Older readers ignore unknown keys.
	return fsMarshalYAML(map[string]fsYAMLValue{
		"artifact_location":                  fsYStr(e.ArtifactLocation),
		"creation_time":                      fsYInt(e.CreationTime),
		"effective_trace_archival_retention": fsYNull(),
		"experiment_id":                      fsYStr(e.ID),
		"last_update_time":                   fsYInt(e.LastUpdateTime),
		"lifecycle_stage":                    fsYStr(e.LifecycleStage),
		"name":                               fsYStr(e.Name),
		"trace_location":                     fsYNull(),
		"workspace":                          fsYStr("default"),
	})
}

var fsErrExperimentMismatch = errors.New("experiment_id in meta.yaml differs from its directory name")

// readExperiment reads the experiment in dir. An experiment under .trash is reported deleted
// whatever its meta.yaml says, so that nothing is ever written into the trash.
func (s *fileStore) readExperiment(ctx context.Context, dir, id string, inTrash bool) (Experiment, error) {
	meta, err := fsReadMeta(ctx, filepath.Join(dir, fsMetaFile))
	if err != nil {
		return Experiment{}, err
	}
	e := Experiment{
		ID:               meta.str("experiment_id"),
		Name:             meta.str("name"),
		ArtifactLocation: meta.str("artifact_location"),
		LifecycleStage:   meta.str("lifecycle_stage"),
	}
	e.CreationTime, _ = meta.int64Val("creation_time")
	e.LastUpdateTime, _ = meta.int64Val("last_update_time")
	if e.ID != id {
		return Experiment{}, fmt.Errorf("%s: %w", dir, fsErrExperimentMismatch)
	}
	if e.LifecycleStage == "" {
		e.LifecycleStage = LifecycleActive
	}
	if inTrash {
		e.LifecycleStage = LifecycleDeleted
	}
	tags, err := fsReadKeyValueDir(filepath.Join(dir, fsTagsDir))
	if err != nil {
		return Experiment{}, err
	}
	for _, kv := range tags {
		e.Tags = append(e.Tags, Tag{Key: kv[0], Value: kv[1]})
	}
	return e, nil
}

// fsReadMeta reads and parses a meta.yaml. Like MLflow's _read_yaml it retries an empty file twice
// (0.1 s, then 0.2 s): a Python writer truncates before it writes.
func fsReadMeta(ctx context.Context, path string) (fsMeta, error) {
	for attempt := 0; ; attempt++ {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		meta, err := fsParseMeta(data)
		if !errors.Is(err, fsErrEmptyMeta) || attempt == 2 {
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return meta, nil
		}
		if err := fsSleep(ctx, time.Duration(attempt+1)*100*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// fsExperimentDirs lists the experiment directories directly under parent, the way MLflow does
// (every subdirectory but .trash and models), keeping only names MLflow accepts as ids.
func fsExperimentDirs(parent string) ([]string, error) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		name := e.Name()
		if name == fsTrashDir || name == fsModelsDir || !fsExperimentIDPattern.MatchString(name) || !fsIsDirEntry(parent, e) {
			continue
		}
		ids = append(ids, name)
	}
	return ids, nil
}

func (s *fileStore) GetExperiment(ctx context.Context, id string) (Experiment, error) {
	if err := ctx.Err(); err != nil {
		return Experiment{}, err
	}
	if !fsExperimentIDPattern.MatchString(id) {
		return Experiment{}, fmt.Errorf("experiment id %q is not a valid MLflow experiment id: %w", id, ErrNotFound)
	}
	for _, loc := range []struct {
		parent  string
		inTrash bool
	}{{s.root, false}, {s.trash, true}} {
		dir := filepath.Join(loc.parent, id)
		if !fsIsDir(dir) {
			continue
		}
		e, err := s.readExperiment(ctx, dir, id, loc.inTrash)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fsErrExperimentMismatch) {
			continue // MLflow ignores such directories too
		}
		if err != nil {
			return Experiment{}, fmt.Errorf("read experiment %s: %w", id, err)
		}
		return e, nil
	}
	return Experiment{}, fmt.Errorf("experiment %s in %s: %w", id, s.uri, ErrNotFound)
}

// experimentsNamed returns every experiment (active and deleted) with that exact name. Unreadable
// experiments are skipped, as MLflow's search_experiments skips them.
func (s *fileStore) experimentsNamed(ctx context.Context, name string) ([]Experiment, error) {
	var found []Experiment
	for _, loc := range []struct {
		parent  string
		inTrash bool
	}{{s.root, false}, {s.trash, true}} {
		ids, err := fsExperimentDirs(loc.parent)
		if err != nil {
			return nil, fmt.Errorf("list experiments in %s: %w", loc.parent, err)
		}
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			e, err := s.readExperiment(ctx, filepath.Join(loc.parent, id), id, loc.inTrash)
			if err != nil {
				continue
			}
			if e.Name == name {
				found = append(found, e)
			}
		}
	}
	return found, nil
}

// fsPreferredExperiment orders experiments with the same name: active before deleted, then as
// MLflow's get_experiment_by_name picks (creation_time descending, then experiment_id ascending).
func fsPreferredExperiment(a, b Experiment) bool {
	if (a.LifecycleStage == LifecycleActive) != (b.LifecycleStage == LifecycleActive) {
		return a.LifecycleStage == LifecycleActive
	}
	if a.CreationTime != b.CreationTime {
		return a.CreationTime > b.CreationTime
	}
	return a.ID < b.ID
}

func (s *fileStore) GetExperimentByName(ctx context.Context, name string) (Experiment, error) {
	if err := ctx.Err(); err != nil {
		return Experiment{}, err
	}
	found, err := s.experimentsNamed(ctx, name)
	if err != nil {
		return Experiment{}, err
	}
	if len(found) == 0 {
		return Experiment{}, fmt.Errorf("experiment %q in %s: %w", name, s.uri, ErrNotFound)
	}
	sort.SliceStable(found, func(i, j int) bool { return fsPreferredExperiment(found[i], found[j]) })
	return found[0], nil
}

// CreateExperiment creates an experiment with a random 18-digit id, as MLflow's file store does.
//
// MLflow's file store checks the name and then creates the directory without any lock, so two
// processes creating the same name at once both succeed. mltrack must not do that (a Makefile with
// `make -j` starts many mltrack processes on a new experiment name at once), so:
//
//  1. Creation holds an exclusive OS lock (flock / LockFileEx) on <root>/.mltrack-experiments.lock,
//     waiting at most Options.LockTimeout. The kernel releases it when the holder exits or
//     crashes, so no stale lock can be left behind. Under the lock the name is looked up again
//     (active and .trash, as MLflow refuses a name that exists deleted) and the experiment is
//     created only when absent: among mltrack processes the lock alone guarantees one experiment.
//  2. Writers that do not take the lock (the Python client, or mltrack on a file system without
//     locks) can still race. So after publishing its meta.yaml the creator re-scans the names.
//     Under the lock any other experiment with the same name came from such a writer, and Python
//     never gives way, so the creator gives way: it withdraws its own experiment if no run has
//     been put into it yet and returns ErrAlreadyExists (EnsureExperiment then reads the other).
//     Without the lock, racing mltrack processes give way by the order GetExperimentByName uses,
//     so that all of them end up on the experiment every reader picks.
//
// Withdrawing removes meta.yaml first (the experiment disappears for readers) and then the
// directory with a non-recursive remove, so a run another process managed to create inside it in
// the meantime is never deleted: the experiment is then kept (with a warning).
func (s *fileStore) CreateExperiment(ctx context.Context, name string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := ValidateExperimentName(name); err != nil {
		return "", err
	}
	unlock, locked, err := s.lockExperiments(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()

	existing, err := s.experimentsNamed(ctx, name)
	if err != nil {
		return "", err
	}
	if len(existing) > 0 {
		return "", fmt.Errorf("experiment %q (id %s): %w", name, existing[0].ID, ErrAlreadyExists)
	}
	id, dir, err := s.makeExperimentDir()
	if err != nil {
		return "", err
	}
	now := fsNowMillis()
	exp := Experiment{
		ID: id, Name: name, ArtifactLocation: fsAppendURIPath(s.artifactRoot, id),
		LifecycleStage: LifecycleActive, CreationTime: now, LastUpdateTime: now,
	}
	if err := fsWriteAtomic(filepath.Join(dir, fsMetaFile), fsExperimentMetaYAML(exp), dir); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("create experiment %q: %w", name, err)
	}
	if s.testAfterPublish != nil {
		s.testAfterPublish()
	}

	// Re-scan (step 2 above). A failed scan leaves our experiment in place: it is valid.
	after, err := s.experimentsNamed(ctx, name)
	if err != nil {
		return id, nil
	}
	yield := false
	for _, other := range after {
		if other.ID == id {
			continue
		}
		if locked || fsPreferredExperiment(other, exp) {
			yield = true
			break
		}
	}
	if !yield {
		return id, nil
	}
	if s.withdrawExperiment(dir) {
		return "", fmt.Errorf("experiment %q was created at the same time by another process: %w", name, ErrAlreadyExists)
	}
	s.opts.warn("experiment %q now exists twice in %s (another program created it at the same moment, and runs already went into ours, id %s)", name, s.uri, id)
	return id, nil
}

// withdrawExperiment removes an experiment this process just created, unless something was put
// into it meanwhile. It reports whether the experiment is gone.
func (s *fileStore) withdrawExperiment(dir string) bool {
	meta := filepath.Join(dir, fsMetaFile)
	data, err := os.ReadFile(meta)
	if err != nil {
		return false
	}
	if err := os.Remove(meta); err != nil {
		return false
	}
	_ = os.Remove(filepath.Join(dir, fsTagsDir)) // only if empty
	if err := os.Remove(dir); err == nil {
		return true
	}
	// Someone created a run in it: restore it rather than lose their data.
	_ = fsWriteAtomic(meta, data, dir)
	return false
}

// makeExperimentDir picks a fresh id and creates its directory.
func (s *fileStore) makeExperimentDir() (id, dir string, err error) {
	for attempt := 0; attempt < 20; attempt++ {
		id = fsNewExperimentID()
		if fsIsDir(filepath.Join(s.trash, id)) {
			continue
		}
		dir = filepath.Join(s.root, id)
		err = os.Mkdir(dir, fsDirMode)
		if err == nil {
			return id, dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", "", fmt.Errorf("create experiment directory: %w", err)
		}
	}
	return "", "", fmt.Errorf("create experiment directory in %s: no free id found", s.root)
}

var fsErrLockUnsupported = errors.New("file locks are not supported here")

// lockExperiments takes the experiment-creation lock, waiting at most Options.LockTimeout (and
// ctx). locked is false when the file system cannot lock (creation then relies on the re-scan).
func (s *fileStore) lockExperiments(ctx context.Context) (unlock func(), locked bool, err error) {
	noop := func() {}
	if s.testNoLock {
		return noop, false, nil
	}
	path := filepath.Join(s.root, fsExperimentsLock)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fsFileMode)
	if err != nil {
		return nil, false, fmt.Errorf("open lock file: %w", err)
	}
	timeout := s.opts.lockTimeout()
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		ok, err := fsTryLock(f)
		if ok {
			return func() {
				_ = fsUnlock(f)
				_ = f.Close()
			}, true, nil
		}
		if errors.Is(err, fsErrLockUnsupported) {
			_ = f.Close()
			s.lockWarnOnce.Do(func() {
				s.opts.warn("file locks are not supported for %s; creating experiments without a lock", s.root)
			})
			return noop, false, nil
		}
		if err != nil {
			_ = f.Close()
			return nil, false, fmt.Errorf("lock %s: %w", path, err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			_ = f.Close()
			return nil, false, fmt.Errorf("another process kept %s locked for more than %s while creating an experiment; try again", path, timeout)
		}
		d := min(wait+fsRandDuration(wait/2), left)
		if err := fsSleep(ctx, d); err != nil {
			_ = f.Close()
			return nil, false, err
		}
		wait = min(wait*2, 50*time.Millisecond)
	}
}

// ---------------------------------------------------------------------------------------------
// Runs

// fsRunMeta is a run's meta.yaml: the RunInfo plus the one field RunInfo lacks.
type fsRunMeta struct {
	info        RunInfo
	deletedTime int64
}

func fsRunMetaYAML(m fsRunMeta) []byte {
	info := m.info
	// The fields of _make_persisted_run_info_dict. run_uuid is written next to run_id because MLflow
	// 2.x's RunInfo requires it, while 3.x reads run_id and ignores run_uuid.
	return fsMarshalYAML(map[string]fsYAMLValue{
		"artifact_uri":     fsYStr(info.ArtifactURI),
		"deleted_time":     fsYIntOrNull(m.deletedTime),
		"end_time":         fsYIntOrNull(info.EndTime),
		"entry_point_name": fsYStr(""),
		"experiment_id":    fsYStr(info.ExperimentID),
		"lifecycle_stage":  fsYStr(info.LifecycleStage),
		"run_id":           fsYStr(info.RunID),
		"run_name":         fsYStr(info.RunName),
		"run_uuid":         fsYStr(info.RunID),
		"source_name":      fsYStr(""),
		"source_type":      fsYInt(4), // SourceType.LOCAL, what the file store always writes
		"source_version":   fsYStr(""),
		"start_time":       fsYInt(info.StartTime),
		"status":           fsYInt(fsRunStatusCodes[info.Status]),
		"tags":             fsYEmptyList(),
		"user_id":          fsYStr(info.UserID),
	})
}

func fsParseRunMeta(meta fsMeta) (fsRunMeta, error) {
	var m fsRunMeta
	info := &m.info
	info.RunID = meta.str("run_id")
	if info.RunID == "" {
		info.RunID = meta.str("run_uuid") // MLflow 2.x
	}
	info.ExperimentID = meta.str("experiment_id")
	info.RunName = meta.str("run_name")
	info.UserID = meta.str("user_id")
	info.ArtifactURI = meta.str("artifact_uri")
	info.LifecycleStage = meta.str("lifecycle_stage")
	if info.LifecycleStage == "" {
		info.LifecycleStage = LifecycleActive
	}
	info.StartTime, _ = meta.int64Val("start_time")
	info.EndTime, _ = meta.int64Val("end_time")
	m.deletedTime, _ = meta.int64Val("deleted_time")
	info.Status = StatusRunning // MLflow's reading of a missing status
	if meta.has("status") {
		if code, ok := meta.int64Val("status"); ok {
			st, known := fsRunStatusByCode(code)
			if !known {
				return m, fmt.Errorf("run %s has unknown status %d: %w", info.RunID, code, ErrSchema)
			}
			info.Status = st
		} else if st := RunStatus(meta.str("status")); fsRunStatusCodes[st] != 0 {
			info.Status = st
		}
	}
	return m, nil
}

func fsRunStatusByCode(code int64) (RunStatus, bool) {
	for st, c := range fsRunStatusCodes {
		if c == code {
			return st, true
		}
	}
	return "", false
}

// findRunDir finds a run's directory in any experiment, active or deleted, as MLflow's
// _find_run_root does: a directory named like the run with metrics/, params/ and artifacts/ in it.
func (s *fileStore) findRunDir(runID string) (expID, runDir string, err error) {
	if !fsRunIDPattern.MatchString(runID) {
		return "", "", fmt.Errorf("run id %q is not a valid MLflow run id: %w", runID, ErrNotFound)
	}
	s.mu.Lock()
	cached, ok := s.runDirs[runID]
	s.mu.Unlock()
	if ok && fsIsRunDir(cached) {
		return filepath.Base(fsExperimentDirOf(cached)), cached, nil
	}
	for _, parent := range []string{s.root, s.trash} {
		ids, err := fsExperimentDirs(parent)
		if err != nil {
			return "", "", fmt.Errorf("list experiments in %s: %w", parent, err)
		}
		for _, id := range ids {
			dir := filepath.Join(parent, id, runID)
			if fsIsRunDir(dir) {
				s.mu.Lock()
				s.runDirs[runID] = dir
				s.mu.Unlock()
				return id, dir, nil
			}
		}
	}
	return "", "", fmt.Errorf("run %s in %s: %w", runID, s.uri, ErrNotFound)
}

func fsExperimentDirOf(runDir string) string { return filepath.Dir(runDir) }

func fsIsRunDir(dir string) bool {
	for _, sub := range []string{fsMetricsDir, fsParamsDir, fsArtifactsDir} {
		if !fsIsDir(filepath.Join(dir, sub)) {
			return false
		}
	}
	return fsFileExists(filepath.Join(dir, fsMetaFile))
}

// fsReadRunMeta reads a run's meta.yaml and checks it belongs where it lies (MLflow refuses a run
// whose experiment_id or run_id disagrees with its directories).
func fsReadRunMeta(ctx context.Context, expID, runDir string) (fsRunMeta, error) {
	meta, err := fsReadMeta(ctx, filepath.Join(runDir, fsMetaFile))
	if err != nil {
		return fsRunMeta{}, err
	}
	m, err := fsParseRunMeta(meta)
	if err != nil {
		return m, err
	}
	if m.info.ExperimentID != expID || m.info.RunID != filepath.Base(runDir) {
		return m, fmt.Errorf("run %s: meta.yaml names experiment %q and run %q: %w", filepath.Base(runDir), m.info.ExperimentID, m.info.RunID, ErrSchema)
	}
	return m, nil
}

func (s *fileStore) CreateRun(ctx context.Context, req CreateRunRequest) (RunInfo, error) {
	if err := ctx.Err(); err != nil {
		return RunInfo{}, err
	}
	expID := req.ExperimentID
	if expID == "" {
		expID = DefaultExperimentID
	}
	exp, err := s.GetExperiment(ctx, expID)
	if err != nil {
		return RunInfo{}, err
	}
	if exp.LifecycleStage != LifecycleActive {
		return RunInfo{}, fmt.Errorf("experiment %q (id %s) is deleted; restore it with `mlflow experiments restore --experiment-id %s` or choose another experiment", exp.Name, exp.ID, exp.ID)
	}
	san := Sanitize(nil, req.Params, req.Tags)
	for _, w := range san.Warnings {
		s.opts.warn("%s", w)
	}
	runName, tags := s.resolveRunName(req.RunName, san.Tags)

	runID := fsNewRunID()
	runDir := filepath.Join(s.root, expID, runID)
	info := RunInfo{
		RunID: runID, ExperimentID: expID, RunName: runName, UserID: req.UserID,
		Status: StatusRunning, StartTime: req.StartTime,
		ArtifactURI:    fsAppendURIPath(exp.ArtifactLocation, runID, fsArtifactsDir),
		LifecycleStage: LifecycleActive,
	}
	// The run directory is filled first and meta.yaml written last: MLflow skips a run directory
	// without meta.yaml, so no reader ever sees a run without its tags and params.
	if err := os.Mkdir(runDir, fsDirMode); err != nil {
		return RunInfo{}, fmt.Errorf("create run directory: %w", err)
	}
	fail := func(err error) (RunInfo, error) {
		_ = os.RemoveAll(runDir)
		return RunInfo{}, fmt.Errorf("create run in experiment %s: %w", expID, err)
	}
	for _, sub := range []string{fsMetricsDir, fsParamsDir, fsArtifactsDir, fsTagsDir} {
		if err := os.Mkdir(filepath.Join(runDir, sub), fsDirMode); err != nil {
			return fail(err)
		}
	}
	for _, t := range tags {
		if err := fsWriteTag(runDir, t); err != nil {
			return fail(err)
		}
	}
	for _, p := range san.Params {
		if _, _, err := fsWriteParamOnce(runDir, p); err != nil {
			return fail(err)
		}
	}
	if err := fsWriteAtomic(filepath.Join(runDir, fsMetaFile), fsRunMetaYAML(fsRunMeta{info: info}), runDir); err != nil {
		return fail(err)
	}
	s.mu.Lock()
	s.runDirs[runID] = runDir
	s.mu.Unlock()
	return info, nil
}

// resolveRunName applies MLflow's create_run rule: the run name, else the mlflow.runName tag, else
// a generated name; the tag is always written and equals the name.
func (s *fileStore) resolveRunName(name string, tags []Tag) (string, []Tag) {
	tagIdx := -1
	for i, t := range tags {
		if t.Key == fsTagRunName {
			tagIdx = i
		}
	}
	if name == "" && tagIdx >= 0 {
		name = tags[tagIdx].Value
	}
	if name == "" {
		name = GenerateRunName()
	}
	out := append([]Tag(nil), tags...)
	if tagIdx >= 0 {
		if out[tagIdx].Value != name {
			s.opts.warn("run name %q and tag %s=%q differ; using %q", name, fsTagRunName, out[tagIdx].Value, name)
		}
		out[tagIdx].Value = name
	} else {
		out = append(out, Tag{Key: fsTagRunName, Value: name})
	}
	return name, out
}

const fsTagRunName = "mlflow.runName"

func (s *fileStore) GetRun(ctx context.Context, runID string) (Run, error) {
	if err := ctx.Err(); err != nil {
		return Run{}, err
	}
	expID, runDir, err := s.findRunDir(runID)
	if err != nil {
		return Run{}, err
	}
	m, err := fsReadRunMeta(ctx, expID, runDir)
	if err != nil {
		return Run{}, fmt.Errorf("read run %s: %w", runID, err)
	}
	run := Run{Info: m.info}
	params, err := fsReadKeyValueDir(filepath.Join(runDir, fsParamsDir))
	if err != nil {
		return Run{}, fmt.Errorf("read params of run %s: %w", runID, err)
	}
	for _, kv := range params {
		run.Data.Params = append(run.Data.Params, Param{Key: kv[0], Value: kv[1]})
	}
	tags, err := fsReadKeyValueDir(filepath.Join(runDir, fsTagsDir))
	if err != nil {
		return Run{}, fmt.Errorf("read tags of run %s: %w", runID, err)
	}
	for _, kv := range tags {
		run.Data.Tags = append(run.Data.Tags, Tag{Key: kv[0], Value: kv[1]})
		if kv[0] == fsTagRunName && run.Info.RunName == "" {
			run.Info.RunName = kv[1]
		}
	}
	run.Data.Metrics, err = fsReadLatestMetrics(filepath.Join(runDir, fsMetricsDir))
	if err != nil {
		return Run{}, fmt.Errorf("read metrics of run %s: %w", runID, err)
	}
	return run, nil
}

// activeRun finds a run and refuses a deleted one, as MLflow's check_run_is_active does.
func (s *fileStore) activeRun(ctx context.Context, runID string) (expID, runDir string, err error) {
	expID, runDir, err = s.findRunDir(runID)
	if err != nil {
		return "", "", err
	}
	m, err := fsReadRunMeta(ctx, expID, runDir)
	if err != nil {
		return "", "", fmt.Errorf("read run %s: %w", runID, err)
	}
	if m.info.LifecycleStage != LifecycleActive {
		return "", "", fmt.Errorf("run %s is deleted; restore it with `mlflow runs restore --run-id %s` to log to it", runID, runID)
	}
	return expID, runDir, nil
}

func (s *fileStore) LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(metrics) == 0 && len(params) == 0 && len(tags) == 0 {
		return nil
	}
	expID, runDir, err := s.activeRun(ctx, runID)
	if err != nil {
		return err
	}
	san := Sanitize(metrics, params, tags)
	for _, w := range san.Warnings {
		s.opts.warn("%s", w)
	}
	// Same order as MLflow's log_batch: params, metrics, tags. One failing entry does not stop
	// the others; every failure is reported at the end.
	var errs []error
	conflict := &ParamConflictError{RunID: runID}
	for _, p := range san.Params {
		existing, existed, err := fsWriteParamOnce(runDir, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("log param %q: %w", p.Key, err))
			continue
		}
		if existed && existing != p.Value {
			conflict.Conflicts = append(conflict.Conflicts, ParamConflict{Key: p.Key, Existing: existing, Refused: p.Value})
		}
	}
	if err := fsAppendMetrics(runDir, san.Metrics); err != nil {
		errs = append(errs, err)
	}
	for _, t := range san.Tags {
		if err := fsWriteTag(runDir, t); err != nil {
			errs = append(errs, fmt.Errorf("set tag %q: %w", t.Key, err))
			continue
		}
		if t.Key == fsTagRunName {
			// MLflow keeps meta.yaml's run_name equal to the tag.
			value := t.Value
			if err := s.updateRunMeta(ctx, expID, runDir, func(m *fsRunMeta) { m.info.RunName = value }); err != nil {
				errs = append(errs, fmt.Errorf("rename run: %w", err))
			}
		}
	}
	if len(conflict.Conflicts) > 0 {
		errs = append(errs, conflict)
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

func (s *fileStore) UpdateRun(ctx context.Context, runID string, status RunStatus, endTime int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, ok := fsRunStatusCodes[status]; !ok {
		return fmt.Errorf("run status %q is not one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED", status)
	}
	expID, runDir, err := s.activeRun(ctx, runID)
	if err != nil {
		return err
	}
	return s.updateRunMeta(ctx, expID, runDir, func(m *fsRunMeta) {
		m.info.Status = status
		if endTime != 0 {
			m.info.EndTime = endTime
		}
	})
}

// updateRunMeta rewrites a run's meta.yaml atomically.
func (s *fileStore) updateRunMeta(ctx context.Context, expID, runDir string, change func(*fsRunMeta)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := fsReadRunMeta(ctx, expID, runDir)
	if err != nil {
		return err
	}
	change(&m)
	return fsWriteAtomic(filepath.Join(runDir, fsMetaFile), fsRunMetaYAML(m), runDir)
}

func (s *fileStore) LogArtifact(ctx context.Context, run RunInfo, localPath, artifactPath string) error {
	uri := run.ArtifactURI
	if uri == "" {
		r, err := s.GetRun(ctx, run.RunID)
		if err != nil {
			return err
		}
		uri = r.Info.ArtifactURI
	}
	return copyLocalArtifact(ctx, uri, localPath, artifactPath)
}

// ---------------------------------------------------------------------------------------------
// params, tags, metrics files

func fsKeyPath(runDir, sub, key string) (string, error) {
	if err := ValidateKey(strings.TrimSuffix(sub, "s"), key); err != nil {
		return "", err // keeps every key inside its folder
	}
	return filepath.Join(runDir, sub, filepath.FromSlash(key)), nil
}

// fsWriteParamOnce writes params/<key> unless it exists. It returns the existing value when it did.
func fsWriteParamOnce(runDir string, p Param) (existing string, existed bool, err error) {
	path, err := fsKeyPath(runDir, fsParamsDir, p.Key)
	if err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), fsDirMode); err != nil {
		return "", false, err
	}
	created, err := fsCreateOnce(path, []byte(p.Value), runDir)
	if err != nil {
		return "", false, err
	}
	if created {
		return "", false, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false, err
	}
	return string(b), true, nil
}

func fsWriteTag(runDir string, t Tag) error {
	path, err := fsKeyPath(runDir, fsTagsDir, t.Key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), fsDirMode); err != nil {
		return err
	}
	return fsWriteAtomic(path, []byte(t.Value), runDir)
}

// fsAppendMetrics appends "<timestamp> <value> <step>\n" lines to metrics/<key>, all lines of one key
// in a single write so that concurrent appenders never interleave inside a line.
func fsAppendMetrics(runDir string, metrics []Metric) error {
	var order []string
	lines := map[string][]byte{}
	for _, m := range metrics {
		if _, ok := lines[m.Key]; !ok {
			order = append(order, m.Key)
		}
		lines[m.Key] = append(lines[m.Key], fsMetricLine(m)...)
	}
	var errs []error
	for _, key := range order {
		if err := fsAppendMetricFile(runDir, key, lines[key]); err != nil {
			errs = append(errs, fmt.Errorf("log metric %q: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

func fsAppendMetricFile(runDir, key string, data []byte) error {
	path, err := fsKeyPath(runDir, fsMetricsDir, key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), fsDirMode); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fsFileMode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func fsMetricLine(m Metric) string {
	return strconv.FormatInt(m.Timestamp, 10) + " " + pyFloatRepr(m.Value) + " " + strconv.FormatInt(m.Step, 10) + "\n"
}

// pyFloatRepr formats a float as Python's str(float) does (repr, "short" style): nan, inf, -inf,
// 0.5, 100.0, 1e-05, 1e+16. MLflow reads metric values back with float(), and the file store's
// own writer uses this spelling.
func pyFloatRepr(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(v, 'e', -1, 64) // shortest digits that round-trip, like Python's repr
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e // Python: 1e-05, 1.5e+16 (at least two exponent digits, as Go writes them)
	}
	f := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(f, ".") {
		f += ".0"
	}
	return f
}

// fsParseMetricLine reads one line of a metric file as MLflow's _get_metric_from_line does:
// "ts value", "ts value step" or "ts value step dataset_name dataset_digest".
func fsParseMetricLine(line string) (Metric, bool) {
	parts := strings.Split(strings.TrimSpace(line), " ")
	if len(parts) != 2 && len(parts) != 3 && len(parts) != 5 {
		return Metric{}, false
	}
	ts, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return Metric{}, false
	}
	v, err := fsParsePyFloat(parts[1])
	if err != nil {
		return Metric{}, false
	}
	var step int64
	if len(parts) == 3 {
		if step, err = strconv.ParseInt(parts[2], 10, 64); err != nil {
			return Metric{}, false
		}
	}
	return Metric{Timestamp: ts, Value: v, Step: step}, true
}

func fsParsePyFloat(s string) (float64, error) {
	switch strings.ToLower(strings.TrimLeft(s, "+")) {
	case "nan", "-nan":
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, 64)
}

// fsMetricAfter reports whether a is "greater" than b by MLflow's key (step, timestamp, value),
// with Python's tuple comparison (a NaN value never compares greater).
func fsMetricAfter(a, b Metric) bool {
	if a.Step != b.Step {
		return a.Step > b.Step
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	return a.Value > b.Value
}

// fsReadLatestMetrics returns the latest value of every metric under dir (keys with '/' are nested
// directories). Files are streamed, so memory does not grow with the length of a run. Lines that do
// not parse (one being appended right now) are skipped.
func fsReadLatestMetrics(dir string) ([]Metric, error) {
	var out []Metric
	err := fsWalkKeyFiles(dir, func(key, path string) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 4096), 64*1024) // a metric line is ~40 bytes; longer ones are garbage
		var latest Metric
		found := false
		for sc.Scan() {
			m, ok := fsParseMetricLine(sc.Text())
			if !ok {
				continue
			}
			if !found || fsMetricAfter(m, latest) {
				latest, found = m, true
			}
		}
		if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
			return err
		}
		if found {
			latest.Key = key
			out = append(out, latest)
		}
		return nil
	})
	return out, err
}

// fsReadKeyValueDir reads the one-file-per-key folders (params/, tags/) as sorted [key, value] pairs.
func fsReadKeyValueDir(dir string) ([][2]string, error) {
	var out [][2]string
	err := fsWalkKeyFiles(dir, func(key, path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, [2]string{key, string(b)})
		return nil
	})
	return out, err
}

// fsWalkKeyFiles calls fn for every file under dir with its key (the slash-separated relative path),
// in key order. A missing dir has no keys.
func fsWalkKeyFiles(dir string, fn func(key, path string) error) error {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // the dir itself, or a file replaced while we walked
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if err := fn(filepath.ToSlash(rel), path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// ---------------------------------------------------------------------------------------------
// File helpers

// fsWriteAtomic replaces path with data through a temporary file in tmpDir (same file system) and
// a rename, so that readers see the old or the new content, never a part.
func fsWriteAtomic(path string, data []byte, tmpDir string) error {
	tmp, err := fsWriteTemp(tmpDir, data)
	if err != nil {
		return err
	}
	if err := fsRename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// fsCreateOnce creates path with data unless it exists, atomically: the complete temporary file
// is hard-linked to path, which fails when path exists. Where hard links are not available it
// falls back to an exclusive create (a reader may then briefly see an empty file).
func fsCreateOnce(path string, data []byte, tmpDir string) (created bool, err error) {
	tmp, err := fsWriteTemp(tmpDir, data)
	if err != nil {
		return false, err
	}
	err = os.Link(tmp, path)
	_ = os.Remove(tmp)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fsFileMode)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err == nil, err
}

func fsWriteTemp(dir string, data []byte) (string, error) {
	for attempt := 0; ; attempt++ {
		var b [8]byte
		_, _ = rand.Read(b[:])
		name := filepath.Join(dir, fsTempPrefix+hex.EncodeToString(b[:])+".tmp")
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fsFileMode)
		if errors.Is(err, fs.ErrExist) && attempt < 10 {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(name)
			return "", err
		}
		return name, nil
	}
}

// fsRename renames, retrying briefly: on Windows a reader holding the target open makes the
// rename fail for a moment.
func fsRename(from, to string) error {
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		if err = os.Rename(from, to); err == nil || runtime.GOOS != "windows" {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return err
}

func fsFileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func fsIsDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// fsIsDirEntry follows symlinks, as Python's os.path.isdir does.
func fsIsDirEntry(parent string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink != 0 {
		return fsIsDir(filepath.Join(parent, e.Name()))
	}
	return false
}

// fsAppendURIPath appends path segments to a URI or POSIX path (MLflow's append_to_uri_path for the
// cases a file store meets), keeping a query string at the end.
func fsAppendURIPath(base string, parts ...string) string {
	suffix := ""
	if i := strings.IndexAny(base, "?#"); i >= 0 && strings.Contains(base[:i], ":") {
		base, suffix = base[:i], base[i:]
	}
	return strings.TrimRight(base, "/") + "/" + strings.Join(parts, "/") + suffix
}

func fsNowMillis() int64 { return time.Now().UnixMilli() }

func fsSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func fsRandDuration(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(max)))
	if err != nil {
		return 0
	}
	return time.Duration(n.Int64())
}

// fsNewRunID returns a random UUID4 in hex, as MLflow's uuid.uuid4().hex.
func fsNewRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// fsNewExperimentID returns a random 18-digit decimal id without leading zero, the shape of MLflow's
// _generate_unique_integer_id.
func fsNewExperimentID() string {
	var b [18]byte
	for i := range b {
		limit := int64(10)
		if i == 0 {
			limit = 9
		}
		n, err := rand.Int(rand.Reader, big.NewInt(limit))
		if err != nil {
			panic(fmt.Sprintf("crypto/rand failed: %v", err))
		}
		d := byte(n.Int64())
		if i == 0 {
			d++
		}
		b[i] = '0' + d
	}
	return string(b[:])
}
