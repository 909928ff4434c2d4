package mlflowclient

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// localArtifactDir maps a run's artifact URI to a local directory when the URI is one mltrack can
// write directly: a plain absolute path or a file: URI. Anything else (mlflow-artifacts:, s3://, ...)
// yields ErrUnsupportedArtifactURI.
func localArtifactDir(artifactURI string) (string, error) {
	if filepath.IsAbs(artifactURI) {
		return artifactURI, nil
	}
	if strings.HasPrefix(artifactURI, "file:") {
		u, err := url.Parse(artifactURI)
		if err != nil {
			return "", fmt.Errorf("artifact location %q: %w", artifactURI, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("artifact location %q is on another host: %w", artifactURI, ErrUnsupportedArtifactURI)
		}
		p := u.Path
		if p == "" {
			p = u.Opaque
		}
		return filepath.FromSlash(trimDriveSlash(p)), nil
	}
	return "", fmt.Errorf("artifact location %q needs a tracking server to write it: %w", artifactURI, ErrUnsupportedArtifactURI)
}

// trimDriveSlash turns the URI path "/C:/x" of file:///C:/x into the Windows path "C:/x".
func trimDriveSlash(p string) string {
	if len(p) >= 3 && p[0] == '/' && p[2] == ':' && (p[1] >= 'a' && p[1] <= 'z' || p[1] >= 'A' && p[1] <= 'Z') {
		return p[1:]
	}
	return p
}

// checkArtifactPath refuses artifact paths that would escape the run's artifact directory.
func checkArtifactPath(artifactPath string) error {
	if artifactPath == "" || path.IsAbs(artifactPath) || path.Clean(artifactPath) != artifactPath || strings.HasPrefix(artifactPath, "../") || artifactPath == ".." {
		return fmt.Errorf("artifact path %q must be a clean relative path", artifactPath)
	}
	return nil
}

// copyLocalArtifact copies localPath to <artifact dir>/<artifactPath> through a temporary file and a
// rename, so that a reader (mlflow ui) never sees half a file.
func copyLocalArtifact(ctx context.Context, artifactURI, localPath, artifactPath string) error {
	if err := checkArtifactPath(artifactPath); err != nil {
		return err
	}
	root, err := localArtifactDir(artifactURI)
	if err != nil {
		return err
	}
	dst := filepath.Join(root, filepath.FromSlash(artifactPath))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("create artifact directory: %w", err)
	}
	src, err := os.Open(localPath)
	if err != nil {
		return fmt.Errorf("open %s: %w", localPath, err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".mltrack-*.part")
	if err != nil {
		return fmt.Errorf("write artifact %s: %w", artifactPath, err)
	}
	_, err = io.Copy(tmp, &ctxReader{ctx: ctx, r: src})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// CreateTemp makes the file private (0600); artifacts are read by `mlflow ui`, possibly as
		// another user, so give them the mode MLflow's own client would (0666 less a usual umask).
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write artifact %s: %w", artifactPath, err)
	}
	return nil
}

// ctxReader stops a long copy when the caller's budget runs out.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
