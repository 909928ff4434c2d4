package mlflowclient

import (
	"fmt"
	"io"
	"time"
)

// Options configure a store. The zero value is usable.
type Options struct {
	// LockTimeout bounds how long one write waits for a lock another process holds (SQLite's busy
	// wait). Zero means 5 seconds. It is kept short so that a store held by someone else never
	// stalls the wrapped command's exit beyond mltrack's end budget.
	LockTimeout time.Duration
	// Warn receives one-line warnings (a param conflict, a value truncated). Nil discards them.
	Warn func(msg string)
	// HTTP configures REST stores (http:// and https:// tracking URIs). main fills it from MLflow's
	// own environment variables; the zero value means MLflow's defaults and no credentials.
	HTTP HTTPOptions
	// UserAgent is sent to tracking servers, e.g. "mltrack/1.2.3".
	UserAgent string
}

// HTTPOptions are the settings of MLflow's Python client for talking to a tracking server, under
// the same names (see docs/configuration.md).
type HTTPOptions struct {
	Username, Password string // MLFLOW_TRACKING_USERNAME / _PASSWORD: basic auth, wins over Token when both are set
	Token              string // MLFLOW_TRACKING_TOKEN: bearer
	InsecureTLS        bool   // MLFLOW_TRACKING_INSECURE_TLS
	ServerCertPath     string // MLFLOW_TRACKING_SERVER_CERT_PATH: CA bundle; wins over InsecureTLS
	ClientCertPath     string // MLFLOW_TRACKING_CLIENT_CERT_PATH: PEM with certificate (and key)
	Workspace          string // MLFLOW_WORKSPACE: sent as X-MLFLOW-WORKSPACE

	MaxRetries       int           // MLFLOW_HTTP_REQUEST_MAX_RETRIES (default 7, at most 10)
	BackoffFactor    float64       // MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR (default 2)
	BackoffJitter    float64       // MLFLOW_HTTP_REQUEST_BACKOFF_JITTER, seconds (default 1)
	RequestTimeout   time.Duration // MLFLOW_HTTP_REQUEST_TIMEOUT (default 120s); always also bounded by the caller's ctx
	IgnoreRetryAfter bool          // MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER=false
	ArtifactUploads  int           // concurrent artifact uploads (default 4)
	Progress         io.Writer     // where to draw upload progress (a terminal), nil for none
}

func (o Options) lockTimeout() time.Duration {
	if o.LockTimeout <= 0 {
		return 5 * time.Second
	}
	return o.LockTimeout
}

func (o Options) warn(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, args...))
	}
}

// Open returns the store a tracking URI selects. The URI should already be absolute
// (see ResolveTrackingURI).
func Open(uri string, opts Options) (Store, error) {
	scheme, err := ParseScheme(uri)
	if err != nil {
		return nil, err
	}
	switch scheme {
	case SchemeSQLite:
		return OpenSQLite(uri, opts)
	case SchemeFile:
		return OpenFileStore(uri, opts)
	case SchemeHTTP:
		return OpenREST(uri, opts)
	}
	return nil, fmt.Errorf("tracking URI %s: no store for this scheme", RedactURI(uri))
}
