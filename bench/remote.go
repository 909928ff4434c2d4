//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// benchRemote: runs per second to a loopback server, each with 100 params and 1,000 metric samples,
// mltrack (one process per run) against MLflow's Python client (one process for all runs).
func (s *suite) benchRemote(sec *section) error {
	sec.Title = "Remote logging"
	sec.Rerun = "bench/run.sh --only remote"
	runs := pick(s, 4, 20)
	reps := pick(s, 2, 3)
	naiveRuns, naiveReps := 1, pick(s, 1, 2)
	sec.Intro = fmt.Sprintf(`
Runs per second to the loopback `+"`mlflow server`"+`, each run with 100 params and 1,000 metric samples (10
metrics × 100 steps). mltrack: one `+"`mltrack -q -p param_0=value-0 ... -p param_99=value-99 -- sh -c 'cat FILE >> \"$MLTRACK_METRICS\"'`"+`
per run, %d runs one after the other; besides the params and samples each run also gets mltrack's own
tags, final metrics, system metrics and its stdout/stderr logs. Python: bench/client.py doing %d runs in one
process (`+"`import mlflow`"+` excluded, which favours Python), each `+"`start_run`"+`, one `+"`log_batch`"+` of the
100 params and one of the 1,000 samples (the fastest the client offers), `+"`end_run`"+`; and, for reference,
the way most scripts log (`+"`log_params`"+`, then `+"`log_metric`"+` per sample, %d run(s)). %d interleaved repetitions.
After the runs, MLflow's client reads one of mltrack's runs back to check it holds the 100 params and 1,000 samples.`,
		runs, runs, naiveRuns, reps)
	srv, err := s.startServer()
	if err != nil {
		return err
	}
	area := s.dir("remote")
	metricsFile := filepath.Join(area, "samples.txt")
	var lines strings.Builder
	for k := 0; k < 10; k++ {
		for step := 0; step < 100; step++ {
			fmt.Fprintf(&lines, "metric_%d %g %d\n", k, float64(step)*0.001+float64(k), step)
		}
	}
	if err := os.WriteFile(metricsFile, []byte(lines.String()), 0o644); err != nil {
		return err
	}
	argv := []string{s.mltrack, "-q", "-e", "bench-remote"}
	for i := 0; i < 100; i++ {
		argv = append(argv, "-p", fmt.Sprintf("param_%d=value-%d", i, i))
	}
	sumPath := filepath.Join(area, "summary.json")
	argv = append(argv, "--summary-json", sumPath, "--", "sh", "-c", `cat "$0" >> "$MLTRACK_METRICS"`, metricsFile)
	env := []string{"MLFLOW_TRACKING_URI=" + srv}
	var mRate, pRate, naiveRate sample
	var lastRun string
	for i := 0; i < reps; i++ {
		start := time.Now()
		for j := 0; j < runs; j++ {
			os.Remove(sumPath)
			if _, err := mustRun(procSpec{Argv: argv, Dir: area, Env: s.baseEnv(env...)}); err != nil {
				return err
			}
			sum, err := readSummary(sumPath)
			if err != nil {
				return err
			}
			s.delivered("remote logging", sum)
			lastRun = sum.RunID
		}
		mRate = append(mRate, float64(runs)/time.Since(start).Seconds())
		_, out, err := s.runClient(area, append(env, "MLFLOW_EXPERIMENT_NAME=bench-remote-py"), "remote-log", fmt.Sprint(runs))
		if err != nil {
			return err
		}
		pRate = append(pRate, float64(runs)/out.Seconds)
	}
	for i := 0; i < reps; i++ {
		_, out, err := s.runClient(area, append(env, "MLFLOW_EXPERIMENT_NAME=bench-remote-py"), "remote-log", fmt.Sprint(naiveRuns), "--naive")
		if err != nil {
			return err
		}
		naiveRate = append(naiveRate, float64(naiveRuns)/out.Seconds)
		if len(naiveRate) == naiveReps {
			break
		}
	}
	_, check, err := s.runClient(area, env, "verify", lastRun)
	if err != nil {
		return err
	}
	if check.Params < 100 || check.Samples != 1000 || check.Status != "FINISHED" {
		s.problems = append(s.problems, fmt.Sprintf("remote logging: MLflow reads back run %s as %s with %d params and %d metric samples (expected FINISHED, ≥100, 1000)", lastRun, check.Status, check.Params, check.Samples))
	}
	sec.Header = []string{"figure", "anchor", "anchor's runs/s", "mltrack runs/s", "ratio", "target", "met"}
	sec.Rows = append(sec.Rows,
		[]string{"runs/s, 100 params + 1,000 samples each", "Python, batched (`log_batch`)", pRate.spreadGeneric("%.2f", ""), mRate.spreadGeneric("%.2f", ""), fmtRatio(mRate.median() / pRate.median()), "—", ""},
		[]string{"", "Python, per call (`log_metric`)", naiveRate.spreadGeneric("%.3f", ""), "", fmtRatio(mRate.median() / naiveRate.median()), "—", ""},
	)
	sec.Notes = append(sec.Notes,
		"ratio = mltrack's runs per second divided by the anchor's (above 1: mltrack is faster).",
		fmt.Sprintf("Read back by MLflow's client: run %s is %s with %d params (100 given, plus mltrack's `command`) and %d samples of the 10 metrics.", lastRun, check.Status, check.Params, check.Samples),
		"The issue sets no target here; these figures are for comparison.")
	return nil
}
