package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mltrack/mltrack/capture"
	"github.com/mltrack/mltrack/mlflowclient"
	"github.com/mltrack/mltrack/runner"
)

// runSummary is what --summary-json writes: what an agent or a CI step needs to know about the run
// without parsing human text. Fields are stable; new ones may be added.
type runSummary struct {
	RunID           string                 `json:"run_id,omitempty"`
	RunName         string                 `json:"run_name,omitempty"`
	ExperimentID    string                 `json:"experiment_id,omitempty"`
	TrackingURI     string                 `json:"tracking_uri,omitempty"`
	Location        string                 `json:"location,omitempty"` // where to look: the store, or the UI URL
	Status          mlflowclient.RunStatus `json:"status"`
	ExitCode        int                    `json:"exit_code"`         // what mltrack exits with
	CommandExitCode int                    `json:"command_exit_code"` // the command's own code, 128+N for signal N
	Signal          string                 `json:"signal,omitempty"`
	SignalSource    string                 `json:"signal_source,omitempty"`
	TimedOut        bool                   `json:"timed_out"`
	Error           string                 `json:"error,omitempty"`
	DurationSeconds float64                `json:"duration_seconds"`
	Resources       resourceSummary        `json:"resources"`
	Artifacts       artifactReport         `json:"artifacts"`
	Tracking        trackingState          `json:"tracking"`
	Warnings        []string               `json:"warnings,omitempty"`
}

type resourceSummary struct {
	CPUUserSeconds        float64 `json:"cpu_user_seconds"`
	CPUSystemSeconds      float64 `json:"cpu_system_seconds"`
	MaxProcessMemoryBytes int64   `json:"max_process_memory_bytes"`
	PeakTreeMemoryBytes   uint64  `json:"peak_tree_memory_bytes,omitempty"`
	PeakTreeProcesses     int     `json:"peak_tree_processes,omitempty"`
	PeakTreeCPUPercentage float64 `json:"peak_tree_cpu_percentage,omitempty"`
	ResourceSamples       int     `json:"resource_samples"`
}

// report prints warnings, the one-line summary (unless --quiet) and the JSON summary. None of it
// goes to stdout: that belongs to the command.
func (t *tracker) report(res runner.Result, status mlflowclient.RunStatus, sum capture.Summary, art artifactReport, tracking trackingState) {
	s := runSummary{
		RunID:           t.rec.run.RunID,
		RunName:         t.rec.run.RunName,
		ExperimentID:    t.rec.run.ExperimentID,
		TrackingURI:     mlflowclient.RedactURI(t.uri),
		Location:        mlflowclient.RedactURI(t.uri),
		Status:          status,
		ExitCode:        exitCodeFor(res),
		CommandExitCode: commandExitCode(res),
		TimedOut:        res.TimedOut,
		DurationSeconds: res.End.Sub(res.Start).Seconds(),
		Resources: resourceSummary{
			CPUUserSeconds:        res.UserCPU.Seconds(),
			CPUSystemSeconds:      res.SystemCPU.Seconds(),
			MaxProcessMemoryBytes: res.MaxRSS,
			PeakTreeMemoryBytes:   sum.PeakTreeRSS,
			PeakTreeProcesses:     sum.PeakTreeProcs,
			PeakTreeCPUPercentage: round1(sum.PeakTreeCPUPercent),
			ResourceSamples:       sum.Samples,
		},
		Artifacts: art,
		Tracking:  tracking,
		Warnings:  t.warnings.all(),
	}
	if linker, ok := t.rec.store.(mlflowclient.RunLinker); ok && s.RunID != "" {
		s.Location = linker.RunURL(s.ExperimentID, s.RunID)
	}
	if res.Signal != 0 {
		s.Signal = signalName(res.Signal)
		s.SignalSource = res.SignalSource
	}
	if res.StartErr != nil {
		s.Error = t.masker.String(oneLine(res.StartErr))
		fmt.Fprintf(t.io.err, "mltrack: %s\n", s.Error)
	}
	t.warnings.print(t.io.err)
	if !t.cfg.Quiet {
		fmt.Fprintln(t.io.err, humanSummary(s))
		for _, n := range t.notes {
			fmt.Fprintf(t.io.err, "mltrack: %s\n", n)
		}
	}
	if t.cfg.SummaryJSON != "" {
		t.writeSummaryJSON(s)
	}
}

func (t *tracker) writeSummaryJSON(s runSummary) {
	b, _ := json.MarshalIndent(s, "", "  ")
	b = append(b, '\n')
	if t.cfg.SummaryJSON == "-" {
		t.io.err.Write(b)
		return
	}
	if err := os.WriteFile(t.cfg.SummaryJSON, b, 0o644); err != nil {
		fmt.Fprintf(t.io.err, "mltrack: warning: --summary-json: %s\n", oneLine(err))
	}
}

// humanSummary is the one line on stderr after the command ended.
func humanSummary(s runSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mltrack: %s", s.Status)
	switch {
	case s.TimedOut:
		fmt.Fprintf(&b, " (timed out)")
	case s.Signal != "":
		fmt.Fprintf(&b, " (%s)", s.Signal)
	case s.Error == "":
		fmt.Fprintf(&b, " (exit %d)", s.CommandExitCode)
	}
	fmt.Fprintf(&b, " in %s", formatDuration(s.DurationSeconds))
	switch s.Tracking.State {
	case "delivered":
		fmt.Fprintf(&b, "; run %s", s.RunID)
		if s.RunName != "" {
			fmt.Fprintf(&b, " (%s)", s.RunName)
		}
		fmt.Fprintf(&b, ", experiment %s: %s", s.ExperimentID, s.Location)
	case "journaled":
		fmt.Fprintf(&b, "; run kept locally in %s (not in the tracking store)", s.Tracking.Journal)
	default:
		fmt.Fprintf(&b, "; run not recorded")
	}
	return b.String()
}

func formatDuration(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
