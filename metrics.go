package main

import (
	"time"

	"github.com/mltrack/mltrack/capture"
	"github.com/mltrack/mltrack/mlflowclient"
	"github.com/mltrack/mltrack/runner"
)

// This file maps what runner and capture observed to MLflow's vocabulary: metric names, statuses.
// Names follow the seed's queries (duration_seconds, success, exit_code) and MLflow's system metrics
// (system/...), so the UI's System metrics tab charts the samples. docs/metrics.md explains each.

const megabyte = 1e6 // MLflow's system metrics use decimal megabytes

// sampleMetrics turns one resource sample into metrics at one step.
func sampleMetrics(s capture.Sample, step int64) []mlflowclient.Metric {
	ts := s.Time.UnixMilli()
	m := func(key string, v float64) mlflowclient.Metric {
		return mlflowclient.Metric{Key: key, Value: v, Timestamp: ts, Step: step}
	}
	out := []mlflowclient.Metric{
		// MLflow's own names and meanings (system-wide).
		m("system/cpu_utilization_percentage", round1(s.SystemCPUPercent)),
		m("system/system_memory_usage_megabytes", round1(float64(s.SystemMemUsedBytes)/megabyte)),
		m("system/system_memory_usage_percentage", round1(s.SystemMemPercent)),
		// The command's process tree: what MLflow has no names for.
		m("system/process_tree_cpu_percentage", round1(s.TreeCPUPercent)),
		m("system/process_tree_memory_megabytes", round1(float64(s.TreeRSS)/megabyte)),
		m("system/process_tree_processes", float64(s.TreeProcs)),
		m("system/process_tree_threads", float64(s.TreeThreads)),
	}
	if s.TreeReadBytes >= 0 {
		out = append(out, m("system/process_tree_read_megabytes", round1(float64(s.TreeReadBytes)/megabyte)))
	}
	if s.TreeWriteBytes >= 0 {
		out = append(out, m("system/process_tree_write_megabytes", round1(float64(s.TreeWriteBytes)/megabyte)))
	}
	return out
}

// finalMetrics are logged once, when the command ended.
func finalMetrics(res runner.Result, sum capture.Summary, logs []capture.LogFile, end time.Time) []mlflowclient.Metric {
	ts := end.UnixMilli()
	m := func(key string, v float64) mlflowclient.Metric {
		return mlflowclient.Metric{Key: key, Value: v, Timestamp: ts}
	}
	success := 0.0
	if res.StartErr == nil && res.Signal == 0 && !res.TimedOut && res.ExitCode == 0 {
		success = 1
	}
	out := []mlflowclient.Metric{
		m(metricDuration, res.End.Sub(res.Start).Seconds()),
		m(metricSuccess, success),
		m(metricExitCode, float64(commandExitCode(res))),
	}
	if res.StartErr != nil {
		return out
	}
	out = append(out,
		m("cpu_user_seconds", res.UserCPU.Seconds()),
		m("cpu_system_seconds", res.SystemCPU.Seconds()),
		m("max_process_memory_megabytes", float64(res.MaxRSS)/megabyte),
	)
	if sum.Samples > 0 {
		out = append(out,
			m("peak_tree_memory_megabytes", float64(sum.PeakTreeRSS)/megabyte),
			m("peak_tree_processes", float64(sum.PeakTreeProcs)),
			m("peak_tree_cpu_percentage", round1(sum.PeakTreeCPUPercent)),
			m("mean_tree_cpu_percentage", round1(sum.MeanTreeCPUPercent)),
		)
		if sum.MaxTreeReadBytes >= 0 {
			out = append(out, m("tree_read_megabytes", float64(sum.MaxTreeReadBytes)/megabyte))
		}
		if sum.MaxTreeWriteBytes >= 0 {
			out = append(out, m("tree_write_megabytes", float64(sum.MaxTreeWriteBytes)/megabyte))
		}
	}
	for _, l := range logs {
		switch l.ArtifactPath {
		case "logs/stdout.log", "logs/output.log":
			out = append(out, m("stdout_bytes", float64(l.Bytes)))
		case "logs/stderr.log":
			out = append(out, m("stderr_bytes", float64(l.Bytes)))
		}
	}
	return out
}

// commandExitCode is the exit_code metric: the command's own code, or 128+N when signal N ended it
// (also when a timeout sent the signal; mltrack itself then exits 124 or 137, like timeout(1)).
func commandExitCode(res runner.Result) int {
	if res.Signal != 0 {
		return 128 + int(res.Signal)
	}
	return res.ChildExitCode
}

// runStatus maps how the command ended to MLflow's run status.
func runStatus(res runner.Result) mlflowclient.RunStatus {
	switch {
	case res.Signal != 0 || res.TimedOut:
		return mlflowclient.StatusKilled
	case res.StartErr != nil || res.ExitCode != 0:
		return mlflowclient.StatusFailed
	}
	return mlflowclient.StatusFinished
}

func round1(v float64) float64 {
	return float64(int64(v*10+0.5)) / 10
}

// The names of the metrics the seed's queries and `mltrack stats` rely on.
const (
	metricDuration = "duration_seconds"
	metricSuccess  = "success"
	metricExitCode = "exit_code"
)
