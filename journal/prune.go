package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// abandonedCreateAge: a journal directory without header this old is a Create that died before
// writing anything (Create writes the header within milliseconds).
const abandonedCreateAge = time.Hour

// Prune keeps the spool directory under maxBytes (0 or less: no cap) by removing what was
// delivered already, oldest journal first: leftovers of removals, the files of acknowledged
// artifact events (only files inside the journal, never a file the event points at elsewhere,
// and never one an unacknowledged event still needs), and the journals of fully delivered runs.
// Undelivered data is never removed, and journals held by another process are not touched. When
// the spool stays over the cap, a warning says how much is pending and where.
func Prune(spoolDir string, maxBytes int64) (freed int64, warnings []string) {
	if maxBytes <= 0 {
		return 0, nil
	}
	total, err := dirSize(spoolDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, []string{fmt.Sprintf("spool directory %s: %v", spoolDir, err)}
	}
	over := func() bool { return total-freed > maxBytes }
	if !over() {
		return 0, nil
	}

	// Leftovers first: they hold nothing anyone needs.
	entries, _ := os.ReadDir(spoolDir)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(spoolDir, e.Name())
		switch {
		case strings.HasPrefix(e.Name(), removedPrefix):
			freed += removeCounting(dir)
		case !strings.HasPrefix(e.Name(), ".") && beingCreated(dir):
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > abandonedCreateAge {
				if lk, err := lockDir(dir, 0, RolePruning); err == nil {
					if beingCreated(dir) {
						size, _ := dirSize(dir)
						if removeJournalDir(dir, lk) == nil {
							freed += size
						}
					} else {
						lk.release()
					}
				}
			}
		}
	}

	pending, _ := List(spoolDir) // oldest first; unreadable journals are left alone
	for _, p := range pending {
		if !over() {
			break
		}
		lk, err := lockDir(p.Dir, 0, RolePruning)
		if err != nil {
			continue // being recorded or delivered
		}
		p, err = Load(p.Dir) // as it is now that it is held
		if err != nil {
			lk.release()
			continue
		}
		if p.Delivered() {
			size, _ := dirSize(p.Dir)
			if removeJournalDir(p.Dir, lk) == nil {
				freed += size
			}
			continue
		}
		for _, path := range deliveredFiles(p) {
			if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && os.Remove(path) == nil {
				freed += fi.Size()
			}
		}
		lk.release()
	}
	if over() {
		left, _ := dirSize(spoolDir)
		n, _ := List(spoolDir)
		warnings = append(warnings, fmt.Sprintf(
			"the spool directory %s holds %s of runs not delivered yet (%d runs), over its cap of %s; nothing undelivered was removed: run `mltrack sync` to deliver them, or raise the cap",
			spoolDir, formatBytes(left), len(n), formatBytes(maxBytes)))
	}
	return freed, warnings
}

// deliveredFiles lists the files inside a journal that only acknowledged artifact events refer to.
func deliveredFiles(p Pending) []string {
	acked := p.AckedSeqs()
	done := map[string]bool{}
	needed := map[string]bool{}
	root := filepath.Clean(p.Dir)
	for _, ev := range p.Events {
		if ev.Type != TypeArtifact {
			continue
		}
		var a ArtifactData
		if json.Unmarshal(ev.Data, &a) != nil || a.File == "" {
			continue
		}
		path := a.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		path = filepath.Clean(path)
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue // not the journal's own copy: never touched
		}
		if acked[ev.Seq] {
			done[path] = true
		} else {
			needed[path] = true
		}
	}
	var out []string
	for path := range done {
		if !needed[path] {
			out = append(out, path)
		}
	}
	return out
}

func removeCounting(dir string) int64 {
	size, _ := dirSize(dir)
	if os.RemoveAll(dir) != nil {
		after, _ := dirSize(dir)
		return size - after
	}
	return size
}

// dirSize is the total size of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && d != nil {
				return nil // removed while we walked
			}
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n, err
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// LooksEphemeral reports whether this machine looks like one that is thrown away after the job (a
// CI runner, a hosted notebook), and which provider, from the environment (getenv is the caller's:
// only package main reads the environment). Pending runs on such a machine are lost when the job
// ends unless `mltrack sync` delivers them first.
func LooksEphemeral(getenv func(string) string) (bool, string) {
	truthy := func(k string) bool {
		v := strings.TrimSpace(getenv(k))
		return strings.EqualFold(v, "true") || v == "1"
	}
	set := func(k string) bool { return strings.TrimSpace(getenv(k)) != "" }
	switch {
	case truthy("GITHUB_ACTIONS"):
		return true, "GitHub Actions"
	case set("GITLAB_CI"):
		return true, "GitLab CI"
	case truthy("BUILDKITE"):
		return true, "Buildkite"
	case truthy("CIRCLECI"):
		return true, "CircleCI"
	case truthy("TF_BUILD"):
		return true, "Azure Pipelines"
	case set("JENKINS_URL") && set("BUILD_ID"):
		return true, "Jenkins"
	case truthy("TRAVIS"):
		return true, "Travis CI"
	case set("BITBUCKET_BUILD_NUMBER"):
		return true, "Bitbucket Pipelines"
	case set("CODEBUILD_BUILD_ID"):
		return true, "AWS CodeBuild"
	case set("TEAMCITY_VERSION"):
		return true, "TeamCity"
	case truthy("DRONE"):
		return true, "Drone"
	case truthy("APPVEYOR"):
		return true, "AppVeyor"
	case truthy("SEMAPHORE"):
		return true, "Semaphore"
	case set("COLAB_RELEASE_TAG"):
		return true, "Google Colab"
	case set("KAGGLE_KERNEL_RUN_TYPE"):
		return true, "Kaggle"
	case truthy("CI"):
		return true, "a CI runner (CI=" + strings.TrimSpace(getenv("CI")) + ")"
	}
	return false, ""
}
