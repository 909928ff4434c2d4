package mlflowclient

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// DefaultTrackingURI is what MLflow >= 3.7 uses when nothing is configured.
const DefaultTrackingURI = "sqlite:///mlflow.db"

// ResolveTrackingURI chooses the tracking URI exactly as MLflow >= 3.7 does: the configured URI when
// there is one; else ./mlruns when it already holds MLflow data (a numeric experiment directory with a
// meta.yaml); else sqlite:///mlflow.db in dir. The result is absolute, so that a command that changes
// directory (make -C sub) still lands in the same store.
func ResolveTrackingURI(configured, dir string) (string, error) {
	if configured == "" {
		if HasFileStoreData(filepath.Join(dir, "mlruns")) {
			configured = filepath.Join(dir, "mlruns")
		} else {
			configured = DefaultTrackingURI
		}
	}
	return AbsoluteURI(configured, dir)
}

var experimentDirPattern = regexp.MustCompile(`^[0-9]+$`)

// HasFileStoreData reports whether root looks like an MLflow file store with data in it, the test
// MLflow's _has_existing_mlruns_data applies.
func HasFileStoreData(root string) bool {
	entries, err := os.ReadDir(root)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() && experimentDirPattern.MatchString(e.Name()) {
			if _, err := os.Stat(filepath.Join(root, e.Name(), "meta.yaml")); err == nil {
				return true
			}
		}
	}
	return false
}

// Scheme names the kind of store a URI selects.
type Scheme string

// Store kinds.
const (
	SchemeSQLite Scheme = "sqlite"
	SchemeFile   Scheme = "file"
	SchemeHTTP   Scheme = "http"
)

// ParseScheme tells which store a URI selects, or why mltrack cannot use it.
func ParseScheme(uri string) (Scheme, error) {
	switch {
	case strings.HasPrefix(uri, "sqlite:"):
		return SchemeSQLite, nil
	case strings.HasPrefix(uri, "http://"), strings.HasPrefix(uri, "https://"):
		return SchemeHTTP, nil
	case strings.HasPrefix(uri, "file:"):
		return SchemeFile, nil
	}
	// MLflow reads these bare words as schemes, not as directory names (its store registry:
	// `store_uri in {"databricks", "databricks-uc", "uc"}`); a file store named ./databricks
	// would silently keep runs the user expects in Databricks.
	switch uri {
	case "databricks", "databricks-uc", "uc":
		return "", fmt.Errorf("tracking URI %q names MLflow's %s store, which mltrack does not write directly; use an http(s):// tracking server, or write ./%s for a local directory of that name", uri, uri, uri)
	}
	if u, err := url.Parse(uri); err == nil && len(u.Scheme) > 1 {
		switch u.Scheme {
		case "postgresql", "postgres", "mysql", "mssql", "databricks", "databricks-uc", "uc":
			return "", fmt.Errorf("tracking URI scheme %q is not written directly by mltrack; run `mlflow server --backend-store-uri %s` and point MLFLOW_TRACKING_URI at that server (http://...)", u.Scheme, RedactURI(uri))
		default:
			if !strings.Contains(u.Scheme, "+") {
				return "", fmt.Errorf("tracking URI %q has an unknown scheme %q; use sqlite:///PATH, file:///PATH, a directory path, or http(s)://SERVER", RedactURI(uri), u.Scheme)
			}
			return "", fmt.Errorf("tracking URI scheme %q is not supported; use sqlite:///PATH, file:///PATH, a directory path, or http(s)://SERVER", u.Scheme)
		}
	}
	return SchemeFile, nil // a plain path is a file store, as in MLflow
}

// AbsoluteURI makes a sqlite or file URI (or a plain path) absolute relative to dir. Other URIs are
// returned unchanged.
func AbsoluteURI(uri, dir string) (string, error) {
	scheme, err := ParseScheme(uri)
	if err != nil {
		return "", err
	}
	switch scheme {
	case SchemeSQLite:
		p, err := SQLitePath(uri)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return "sqlite:///" + filepath.ToSlash(p), nil
	case SchemeFile:
		p, err := FileStorePath(uri)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return "file://" + toURIPath(p), nil
	}
	return uri, nil
}

// SQLitePath extracts the database path from a sqlite URI as SQLAlchemy reads it: sqlite:///rel.db is
// relative, sqlite:////abs.db is absolute; a query string is ignored.
func SQLitePath(uri string) (string, error) {
	rest, ok := strings.CutPrefix(uri, "sqlite:///")
	if !ok {
		if uri == "sqlite://" || uri == "sqlite:///:memory:" {
			return "", fmt.Errorf("tracking URI %q is an in-memory database; nothing would be kept. Use sqlite:///mlflow.db", uri)
		}
		return "", fmt.Errorf("tracking URI %q is not a sqlite file URI; use sqlite:///relative.db or sqlite:////absolute/path.db", uri)
	}
	rest, _, _ = strings.Cut(rest, "?")
	if rest == "" || rest == ":memory:" {
		return "", fmt.Errorf("tracking URI %q names no database file; use sqlite:///mlflow.db", uri)
	}
	return filepath.FromSlash(rest), nil
}

// FileStorePath extracts the directory of a file store from file:///abs, file:rel or a plain path.
func FileStorePath(uri string) (string, error) {
	if !strings.HasPrefix(uri, "file:") {
		return uri, nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("tracking URI %q: %w", uri, err)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("tracking URI %q names a remote host; file stores must be local", uri)
	}
	p := u.Path
	if p == "" {
		p = u.Opaque
	}
	if p == "" {
		return "", fmt.Errorf("tracking URI %q names no directory", uri)
	}
	return filepath.FromSlash(trimDriveSlash(p)), nil
}

func toURIPath(p string) string {
	p = filepath.ToSlash(p)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive letters: file:///C:/x
	}
	return (&url.URL{Path: p}).EscapedPath()
}

// RedactURI removes credentials from a URI (user:password@ and token-like query values) so it can
// be shown or stored.
func RedactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return uri
	}
	if u.User != nil {
		u.User = nil
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			lk := strings.ToLower(k)
			if strings.Contains(lk, "token") || strings.Contains(lk, "password") || strings.Contains(lk, "secret") || strings.Contains(lk, "key") {
				q.Set(k, "REDACTED")
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}
