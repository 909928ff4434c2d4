package delivery

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/mltrack/mltrack/journal"
	"github.com/mltrack/mltrack/mlflowclient"
)

// DeliverPending delivers, oldest first, the journals in spoolDir that were meant for the store's
// destination (their header's tracking URI is the same store: see SameDestination); journals
// meant for other stores, or for none, are left alone. It is what a successful mltrack run does
// at its end, inside its end budget: it stops when ctx is done, leaving the rest for later, so an
// outage heals itself without sending anything to another server. Journals held by another
// process come back as StateLocked; unreadable journals as errors (they are not touched).
func DeliverPending(ctx context.Context, spoolDir string, store mlflowclient.Store, opts Options) ([]Result, []error) {
	pending, errs := journal.List(spoolDir)
	var results []Result
	for _, p := range pending {
		if ctx.Err() != nil {
			break
		}
		if p.Meta.TrackingURI == "" || !SameDestination(p.Meta.TrackingURI, store.URI()) {
			continue
		}
		res, _ := Deliver(ctx, p, store, opts)
		results = append(results, res)
	}
	return results, errs
}

// SameDestination reports whether two tracking URIs (without credentials, as journals keep them
// and Store.URI shows them) name the same store: the same database file, the same file-store
// directory, or the same server (scheme, host and port, and path prefix; user info, a trailing
// slash and the case of scheme and host do not matter).
func SameDestination(a, b string) bool {
	if a == b {
		return true
	}
	na, ok1 := normalizeURI(a)
	nb, ok2 := normalizeURI(b)
	return ok1 && ok2 && na == nb
}

func normalizeURI(uri string) (string, bool) {
	scheme, err := mlflowclient.ParseScheme(uri)
	if err != nil {
		return "", false
	}
	switch scheme {
	case mlflowclient.SchemeSQLite:
		p, err := mlflowclient.SQLitePath(uri)
		if err != nil {
			return "", false
		}
		return "sqlite:" + cleanPath(p), true
	case mlflowclient.SchemeFile:
		p, err := mlflowclient.FileStorePath(uri)
		if err != nil {
			return "", false
		}
		return "file:" + cleanPath(p), true
	case mlflowclient.SchemeHTTP:
		u, err := url.Parse(uri)
		if err != nil {
			return "", false
		}
		host := strings.ToLower(u.Hostname())
		port := u.Port()
		scheme := strings.ToLower(u.Scheme)
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[scheme]
		}
		return scheme + "://" + host + ":" + port + strings.TrimRight(u.EscapedPath(), "/"), true
	}
	return "", false
}

func cleanPath(p string) string {
	p = filepath.Clean(p)
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return filepath.ToSlash(p)
}
