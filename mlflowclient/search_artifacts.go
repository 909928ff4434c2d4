package mlflowclient

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Temporary files that are not artifacts yet: MLflow's local artifact repository writes
// ".artifact.uploading.*" and hides them from listings; copyLocalArtifact writes ".mltrack-*.part".
const mlflowTempArtifactPrefix = ".artifact.uploading."

func isTempArtifactName(name string) bool {
	return strings.HasPrefix(name, mlflowTempArtifactPrefix) ||
		(strings.HasPrefix(name, ".mltrack-") && strings.HasSuffix(name, ".part"))
}

// cleanArtifactListPath checks the directory to list inside a run's artifacts: "" (or ".") is the
// root; anything else must be a relative, slash-separated path that stays inside it, as MLflow's
// validate_path_is_safe requires.
func cleanArtifactListPath(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	if strings.ContainsRune(p, 0) || strings.Contains(p, `\`) {
		return "", fmt.Errorf("artifact path %q: use a relative path with forward slashes", p)
	}
	c := path.Clean(p)
	if c == "." {
		return "", nil
	}
	if path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") || filepath.IsAbs(p) || filepath.VolumeName(p) != "" {
		return "", fmt.Errorf("artifact path %q must be a relative path inside the run's artifacts", p)
	}
	return c, nil
}

// listLocalArtifacts lists one level of the local artifact directory behind artifactURI (a plain
// path or a file: URI) at rel, like MLflow's LocalArtifactRepository.list_artifacts: entries
// sorted by path, paths relative to the artifact root, directory sizes 0, nothing for a missing
// directory or a file.
func listLocalArtifacts(ctx context.Context, runID, artifactURI, rel string) ([]ArtifactInfo, error) {
	rel, err := cleanArtifactListPath(rel)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(artifactURI, "mlflow-artifacts:") {
		return nil, fmt.Errorf("list artifacts of run %s: they are kept by a tracking server (%s); point MLFLOW_TRACKING_URI at that server (http://...) to list them: %w",
			runID, artifactURI, ErrUnsupportedArtifactURI)
	}
	root, err := localArtifactDir(artifactURI)
	if err != nil {
		return nil, fmt.Errorf("list artifacts of run %s: %w", runID, err)
	}
	dir := filepath.Join(root, filepath.FromSlash(rel))
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || !fsIsDir(dir) {
			return []ArtifactInfo{}, nil
		}
		return nil, fmt.Errorf("list artifacts of run %s at %q: %w", runID, rel, err)
	}
	out := make([]ArtifactInfo, 0, len(entries))
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := e.Name()
		if isTempArtifactName(name) {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, name)) // follows symlinks, as MLflow's os.path calls do
		if err != nil {
			continue // removed meanwhile, or a dangling link
		}
		p := name
		if rel != "" {
			p = rel + "/" + name
		}
		info := ArtifactInfo{Path: p, IsDir: fi.IsDir()}
		if !info.IsDir {
			info.Size = fi.Size()
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b ArtifactInfo) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// ListArtifacts lists one level of the run's artifacts at path ("" for the root).
func (s *sqliteStore) ListArtifacts(ctx context.Context, run RunInfo, path string) ([]ArtifactInfo, error) {
	if run.ArtifactURI == "" {
		got, err := s.GetRun(ctx, run.RunID)
		if err != nil {
			return nil, err
		}
		run = got.Info
	}
	return listLocalArtifacts(ctx, run.RunID, run.ArtifactURI, path)
}

// ListArtifacts lists one level of the run's artifacts at path ("" for the root).
func (s *fileStore) ListArtifacts(ctx context.Context, run RunInfo, path string) ([]ArtifactInfo, error) {
	if run.ArtifactURI == "" {
		got, err := s.GetRun(ctx, run.RunID)
		if err != nil {
			return nil, err
		}
		run = got.Info
	}
	return listLocalArtifacts(ctx, run.RunID, run.ArtifactURI, path)
}
