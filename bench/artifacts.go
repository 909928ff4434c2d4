//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// genFiles writes count files of size bytes each (random, incompressible) in 10 subdirectories.
func genFiles(dir string, count int, size int64) error {
	rng := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, size)
	for i := 0; i < count; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("part-%02d", i%10))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		_, _ = rng.Read(buf)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("file-%04d.bin", i)), buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// pyResult is a line client.py prints.
type pyResult struct {
	Seconds float64 `json:"seconds"`
	RunID   string  `json:"run_id"`
	Rows    int     `json:"rows"`
	Groups  int     `json:"groups"`
	Status  string  `json:"status"`
	Params  int     `json:"params"`
	Samples int     `json:"metric_samples"`
}

func (s *suite) runClient(dir string, env []string, args ...string) (procResult, pyResult, error) {
	var out pyResult
	spec := procSpec{Argv: append([]string{s.python, filepath.Join(s.repo, "bench", "client.py")}, args...), Dir: dir, Env: s.baseEnv(env...)}
	// client.py prints its JSON line on stdout; run captures stderr only, so have it write a file.
	outPath := filepath.Join(dir, "client.json")
	os.Remove(outPath)
	spec.Argv = append([]string{"sh", "-c", `"$@" > "$0"`, outPath}, spec.Argv...)
	r, err := mustRun(spec)
	if err != nil {
		return r, out, err
	}
	b, err := os.ReadFile(outPath)
	if err != nil {
		return r, out, err
	}
	// MLflow's client prints "View run ..." lines on stdout too; the result is the last line.
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
		return r, out, fmt.Errorf("client.py %s printed %q: %w", args[0], b, err)
	}
	return r, out, nil
}

// benchArtifacts: files from an output directory into the local store against `cp -r`, and to a
// loopback server against mlflow.log_artifacts.
func (s *suite) benchArtifacts(sec *section) error {
	sec.Title = "Artifacts"
	sec.Rerun = "bench/run.sh --only artifacts"
	count := pick(s, 200, 1000)
	size := pick(s, int64(256<<10), int64(1<<20))
	reps := pick(s, 2, 3)
	srvReps := pick(s, 1, 2) // uploads through the Python server are slow; fewer repetitions
	total := int64(count) * size
	sec.Intro = fmt.Sprintf(`
%d files of %s (%s in all, random bytes, in 10 subdirectories) already in an output directory, logged by
`+"`mltrack -q -o DIR --all-outputs --end-budget 10m -- true`"+`. Locally (SQLite default store, artifacts
copied into `+"`./mlruns/0/<run>/artifacts`"+`) against `+"`cp -r DIR DEST`"+`; to the loopback server against
bench/client.py, which does `+"`mlflow.start_run()`"+` and `+"`mlflow.log_artifacts(DIR)`"+` (its wall time
includes `+"`import mlflow`"+`; the time of the log_artifacts call alone is given too). The end budget is raised
from its 30 s default so that a slow upload is measured rather than cut off into the journal. %d
interleaved repetitions locally, %d to the server, `+"`sync`"+` before each, the store emptied between them.`, count, sizeName(size), sizeName(total), reps, srvReps)
	area := s.dir("artifacts")
	src := filepath.Join(area, "outputs")
	if err := genFiles(src, count, size); err != nil {
		return err
	}
	srv, err := s.startServer()
	if err != nil {
		return err
	}
	runMltrack := func(env ...string) (procResult, error) {
		store := filepath.Join(area, "store")
		os.RemoveAll(store)
		os.MkdirAll(store, 0o755)
		sumPath := filepath.Join(area, "summary.json")
		os.Remove(sumPath)
		syncDisks()
		r, err := mustRun(procSpec{Argv: []string{s.mltrack, "-q", "--summary-json", sumPath, "-o", src, "--all-outputs", "--end-budget", "10m", "--", "true"}, Dir: store, Env: s.baseEnv(env...), PollHWM: true})
		if err != nil {
			return r, err
		}
		sum, err := readSummary(sumPath)
		if err != nil {
			return r, err
		}
		s.delivered("artifacts", sum)
		if sum.Artifacts.Count < count || sum.Artifacts.Bytes < total {
			return r, fmt.Errorf("mltrack logged %d artifacts (%d bytes), expected at least %d (%d bytes)", sum.Artifacts.Count, sum.Artifacts.Bytes, count, total)
		}
		return r, nil
	}
	clearServerArtifacts := func() { os.RemoveAll(filepath.Join(s.srvDir, "artifacts")) }

	var cpWall, localWall, localHWM, pyWall, pyCall, srvWall, srvHWM sample
	dest := filepath.Join(area, "copy")
	for i := 0; i < reps; i++ {
		os.RemoveAll(dest)
		syncDisks()
		r, err := mustRun(procSpec{Argv: []string{"cp", "-r", src, dest}, Dir: area, Env: s.baseEnv()})
		if err != nil {
			return err
		}
		cpWall = append(cpWall, seconds(r.Wall))
		os.RemoveAll(dest)
		if r, err = runMltrack(); err != nil {
			return err
		}
		localWall = append(localWall, seconds(r.Wall))
		localHWM = append(localHWM, float64(r.HWM))

		if i >= srvReps {
			continue
		}
		clearServerArtifacts()
		syncDisks()
		pyDir := s.dir("artifacts", "py")
		r, out, err := s.runClient(pyDir, []string{"MLFLOW_TRACKING_URI=" + srv}, "log-artifacts", src)
		if err != nil {
			return err
		}
		pyWall = append(pyWall, seconds(r.Wall))
		pyCall = append(pyCall, out.Seconds)
		clearServerArtifacts()
		if r, err = runMltrack("MLFLOW_TRACKING_URI=" + srv); err != nil {
			return err
		}
		srvWall = append(srvWall, seconds(r.Wall))
		srvHWM = append(srvHWM, float64(r.HWM))
	}
	clearServerArtifacts()
	os.RemoveAll(area)
	sec.Header = []string{"figure", "anchor", "anchor's time", "mltrack", "ratio", "mltrack's own peak memory", "target", "met"}
	sec.Rows = append(sec.Rows,
		[]string{fmt.Sprintf("%d files / %s into the local store", count, sizeName(total)), "`cp -r`", cpWall.spreadSec(), localWall.spreadSec(), fmtRatio(localWall.median() / cpWall.median()), localHWM.spreadMiB(), "—", ""},
		[]string{fmt.Sprintf("%d files / %s to a loopback server", count, sizeName(total)), "Python `log_artifacts`, whole process", pyWall.spreadSec(), srvWall.spreadSec(), fmtRatio(srvWall.median() / pyWall.median()), srvHWM.spreadMiB(), "—", ""},
		[]string{"", "Python `log_artifacts` call alone", pyCall.spreadSec(), "", fmtRatio(srvWall.median() / pyCall.median()), "", "—", ""},
	)
	sec.Notes = append(sec.Notes,
		"ratio = mltrack's time divided by the anchor's (below 1: mltrack is faster). mltrack's time is the whole run: start-up, the listing of the directory, the run in the store, and the files.",
		"The issue sets no target for artifacts; these figures are for comparison.")
	return nil
}
