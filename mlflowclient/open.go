package mlflowclient

import (
	"fmt"
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
	}
	return nil, fmt.Errorf("tracking URI %s: MLflow tracking servers over REST are not supported yet", RedactURI(uri))
}
