package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mltrack/mltrack/capture"
	"github.com/mltrack/mltrack/channel"
	"github.com/mltrack/mltrack/delivery"
	"github.com/mltrack/mltrack/mlflowclient"
	"github.com/mltrack/mltrack/runner"
)

// This file is what lets the command log into its own run: the local channel that `mltrack log`
// and nested mltrack processes talk to, and the MLTRACK_METRICS side channel.

// runChannel is the parent's side of the channel: requests become events of this run, recorded
// like everything else (journal first, then the store), so they work while the store is down.
type runChannel struct {
	t        *tracker
	mu       sync.Mutex
	steps    map[string]int64 // per-name step counters for metrics sent without a step
	children struct {
		started, succeeded, failed int
	}
}

func (h *runChannel) Hello(context.Context) (channel.HelloInfo, error) {
	t := h.t
	t.rec.mu.Lock()
	defer t.rec.mu.Unlock()
	return channel.HelloInfo{
		RunID: t.rec.run.RunID, ExperimentID: t.rec.run.ExperimentID, ExperimentName: t.rec.experiment.Name,
		TrackingURI: t.journalURI, RunKey: t.runKey, PID: os.Getpid(),
	}, nil
}

func (h *runChannel) LogMetrics(_ context.Context, metrics []mlflowclient.Metric) error {
	h.t.rec.logBatch(metrics, nil, nil)
	return nil
}

func (h *runChannel) LogParams(_ context.Context, params []mlflowclient.Param) error {
	s := mlflowclient.Sanitize(nil, params, nil)
	for _, w := range s.Warnings {
		h.t.warnings.add("mltrack log: %s", w)
	}
	for i := range s.Params {
		s.Params[i].Value = h.t.masker.Value(s.Params[i].Key, s.Params[i].Value)
	}
	h.t.rec.logBatch(nil, s.Params, nil)
	return nil
}

func (h *runChannel) SetTags(_ context.Context, tags []mlflowclient.Tag) error {
	s := mlflowclient.Sanitize(nil, nil, tags)
	for i := range s.Tags {
		s.Tags[i].Value = h.t.masker.Value(s.Tags[i].Key, s.Tags[i].Value)
	}
	h.t.rec.logBatch(nil, nil, s.Tags)
	return nil
}

// LogArtifact copies the file into the run's files before answering (the caller may delete it),
// and uploads it with the run's other artifacts at the end.
func (h *runChannel) LogArtifact(_ context.Context, localPath, artifactPath string) error {
	t := h.t
	dir := ""
	if t.journal != nil {
		dir = filepath.Join(t.journal.FilesDir(), "logged")
	} else if d, err := os.MkdirTemp("", "mltrack-logged-*"); err == nil {
		dir = d
	}
	dst := filepath.Join(dir, filepath.FromSlash(artifactPath))
	if err := copyFile(localPath, dst); err != nil {
		return fmt.Errorf("keep %s: %w", localPath, err)
	}
	st, _ := os.Stat(dst)
	h.mu.Lock()
	t.loggedArtifacts = append(t.loggedArtifacts, mlflowclient.ArtifactFile{LocalPath: dst, ArtifactPath: artifactPath, Size: st.Size()})
	h.mu.Unlock()
	return nil
}

func (h *runChannel) ChildStarted(context.Context, string) error {
	h.mu.Lock()
	h.children.started++
	m := h.stepMetrics()
	h.mu.Unlock()
	h.t.rec.logBatch(m, nil, nil)
	return nil
}

func (h *runChannel) ChildEnded(_ context.Context, _ string, status mlflowclient.RunStatus) error {
	h.mu.Lock()
	if status == mlflowclient.StatusFinished {
		h.children.succeeded++
	} else {
		h.children.failed++
	}
	m := h.stepMetrics()
	h.mu.Unlock()
	h.t.rec.logBatch(m, nil, nil)
	return nil
}

// stepMetrics is "step completion" on the parent: children (nested mltrack runs) started,
// succeeded and failed so far. The step is the number of child events so far. Called with mu held.
func (h *runChannel) stepMetrics() []mlflowclient.Metric {
	ts := time.Now().UnixMilli()
	step := int64(h.children.started + h.children.succeeded + h.children.failed)
	return []mlflowclient.Metric{
		{Key: "steps_started", Value: float64(h.children.started), Timestamp: ts, Step: step},
		{Key: "steps_succeeded", Value: float64(h.children.succeeded), Timestamp: ts, Step: step},
		{Key: "steps_failed", Value: float64(h.children.failed), Timestamp: ts, Step: step},
	}
}

// openChannel starts the channel in a private directory; a failure only means `mltrack log`
// will not reach this run (warned).
func (t *tracker) openChannel() {
	dir, err := os.MkdirTemp("", "mltrack-ch-*")
	if err != nil {
		t.warnings.add("mltrack log channel unavailable: %s", oneLine(err))
		return
	}
	t.channelDir = dir
	h := &runChannel{t: t}
	srv, err := channel.Listen(dir, h)
	if err != nil {
		t.warnings.add("mltrack log channel unavailable: %s", oneLine(err))
		return
	}
	t.channel = srv
}

func (t *tracker) closeChannel() {
	if t.channel != nil {
		if err := t.channel.Close(); err != nil {
			t.warnings.add("mltrack log channel: %s", oneLine(err))
		}
	}
	if t.channelDir != "" {
		os.RemoveAll(t.channelDir)
	}
}

// openMetricsFile creates the MLTRACK_METRICS file the command may append `NAME VALUE [STEP]` lines to.
func (t *tracker) openMetricsFile() {
	dir := ""
	if t.journal != nil {
		dir = t.journal.FilesDir()
	} else if d, err := os.MkdirTemp("", "mltrack-metrics-*"); err == nil {
		dir = d
	}
	mf, err := capture.NewMetricsFile(filepath.Join(dir, "metrics.txt"))
	if err != nil {
		t.warnings.add("MLTRACK_METRICS unavailable: %s", oneLine(err))
		return
	}
	t.metricsFile = mf
}

// pollMetricsFile turns new lines of the MLTRACK_METRICS file into metric samples.
func (t *tracker) pollMetricsFile(final bool) {
	if t.metricsFile == nil {
		return
	}
	now := time.Now()
	for {
		var samples []capture.MetricSample
		var bad []capture.BadLine
		if final {
			samples, bad = t.metricsFile.Final(now)
		} else {
			samples, bad = t.metricsFile.Poll(now)
		}
		metrics := make([]mlflowclient.Metric, 0, len(samples))
		for _, s := range samples {
			metrics = append(metrics, mlflowclient.Metric{Key: s.Name, Value: s.Value, Timestamp: s.Time.UnixMilli(), Step: s.Step})
		}
		san := mlflowclient.Sanitize(metrics, nil, nil)
		for _, w := range san.Warnings {
			t.warnings.once("metricsfile:"+w, "MLTRACK_METRICS: %s", w)
		}
		for _, b := range bad {
			t.warnings.once("metricsfile-bad:"+string(b.Reason), "MLTRACK_METRICS line %d skipped (%s): %s", b.Line, b.Reason, t.masker.String(b.Text))
		}
		t.rec.logBatch(san.Metrics, nil, nil)
		if final || !t.metricsFile.More() {
			break
		}
	}
	if final {
		t.metricsFile.Close()
	}
}

// joinParent links this run to the mltrack whose command started it (a Makefile step under
// `mltrack -- make`, a CI stage under a job-level mltrack): it becomes a child run in the same store
// and experiment (they come through the environment the parent set), tagged mlflow.parentRunId so
// the UI shows the tree. --no-nest (MLTRACK_NO_NEST=1) starts an independent run instead.
func (t *tracker) joinParent(ctx context.Context) []mlflowclient.Tag {
	addr := t.env.get(channel.EnvVar)
	if addr == "" || t.cfg.NoNest {
		return nil
	}
	c, err := channel.Dial(addr, 2*time.Second)
	if err != nil {
		t.warnings.add("not nested under the mltrack that started this command: %s", oneLine(err))
		return nil
	}
	hello, err := c.Hello(ctx)
	if err != nil {
		c.Close()
		t.warnings.add("not nested under the mltrack that started this command: %s", oneLine(err))
		return nil
	}
	t.parent = c
	tags := []mlflowclient.Tag{{Key: delivery.ParentKeyTag, Value: hello.RunKey}}
	if hello.RunID != "" {
		tags = append(tags, mlflowclient.Tag{Key: "mlflow.parentRunId", Value: hello.RunID})
	}
	return tags
}

// writeStepSummary appends the run's status and link to GitHub Actions' step summary.
func (t *tracker) writeStepSummary(status mlflowclient.RunStatus, res runner.Result) {
	if t.ci.StepSummaryPath == "" || t.parent != nil {
		return // nested runs leave the summary to the outermost mltrack
	}
	where := t.journalURI
	if linker, ok := t.rec.store.(mlflowclient.RunLinker); ok && t.rec.run.RunID != "" {
		where = linker.RunURL(t.rec.run.ExperimentID, t.rec.run.RunID)
	}
	line := fmt.Sprintf("- mltrack: `%s` **%s** in %s, MLflow run `%s`: %s", t.commandLine(), status,
		formatDuration(res.End.Sub(res.Start).Seconds()), t.rec.run.RunID, where)
	if err := capture.AppendStepSummary(t.ci.StepSummaryPath, line); err != nil {
		t.warnings.add("GITHUB_STEP_SUMMARY: %s", oneLine(err))
	}
}
