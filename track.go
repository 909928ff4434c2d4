package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mltrack/mltrack/capture"
	"github.com/mltrack/mltrack/channel"
	"github.com/mltrack/mltrack/journal"
	"github.com/mltrack/mltrack/mlflowclient"
	"github.com/mltrack/mltrack/redact"
	"github.com/mltrack/mltrack/runner"
)

// runCommand is `mltrack [flags] -- command...`: parse, run the command, record it, exit like it.
func runCommand(ctx context.Context, args []string, io stdio, env environment) int {
	cfg, ran, err := parseRunArgs(ctx, args, io, env)
	if err != nil {
		fmt.Fprintf(io.err, "mltrack: %s\n", oneLine(err))
		return exitUsage
	}
	if !ran {
		return 0 // --help or --version
	}
	if truthy(env.get("MLTRACK_DISABLE")) {
		// No tracking at all: the command gets mltrack's own descriptors, nothing is observed.
		res := runner.Run(ctx, runner.Spec{
			Argv: cfg.Argv, Env: env.list, Stdin: io.in, Stdout: io.out, Stderr: io.err,
			PTY: runner.PTYOff, Timeout: cfg.Timeout, KillAfter: cfg.KillAfter,
		})
		if res.StartErr != nil {
			fmt.Fprintf(io.err, "mltrack: %s\n", oneLine(res.StartErr))
		}
		return exitLikeChild(res)
	}
	t := &tracker{cfg: cfg, io: io, env: env, warnings: &warnings{}}
	return t.run(ctx)
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// tracker runs one command and records it.
type tracker struct {
	cfg      runConfig
	io       stdio
	env      environment
	warnings *warnings

	masker     *redact.Masker
	cwd        string
	uri        string // resolved tracking URI, absolute; "" when unusable
	rec        *recorder
	journal    *journal.Run
	spoolDir   string
	runKey     string
	journalURI string // the tracking URI without credentials, as the journal keeps it

	artifactFiles []mlflowclient.ArtifactFile // what the run should have as artifacts
	notes         []string                    // said after the summary (unless --quiet)

	channel         *channel.Server // `mltrack log` and nested mltrack processes talk to it
	channelDir      string
	metricsFile     *capture.MetricsFile        // MLTRACK_METRICS
	loggedArtifacts []mlflowclient.ArtifactFile // from `mltrack log artifact`
	parent          *channel.Client             // the mltrack whose command started this one (nested run)
	ci              capture.CIContext
}

func (t *tracker) run(ctx context.Context) int {
	start := time.Now()
	// Secrets come from secret-named variables and from secret-looking arguments (--token X).
	// A secret-named -p/-t value (-p password=X) is stored as *** and masked wherever else it shows.
	t.masker = redact.FromEnviron(t.env.list, redact.DefaultMinLen).With(redact.ArgSecrets(t.cfg.Argv)).With(secretValues(t.cfg.Params, t.cfg.Tags))
	cwd, err := os.Getwd()
	if err != nil {
		cwd = "."
	}
	t.cwd = cwd

	params, tags, err := t.userParamsAndTags()
	if err != nil {
		fmt.Fprintf(t.io.err, "mltrack: %s\n", oneLine(err))
		return exitUsage
	}

	// Observation that must not delay the start runs concurrently with it.
	contextCh := make(chan capture.Context, 1)
	go func() {
		contextCh <- capture.GatherContext(ctx, cwd, t.env.get, 2*time.Second)
	}()
	outDirs := capture.WatchOutputDirs(t.cfg.OutputDirs, start, t.cfg.AllOutputs)

	t.resolveURI()
	t.openJournal(start)
	t.openStore()
	parentTags := t.joinParent(ctx)
	t.openChannel()
	t.openMetricsFile()
	defer t.closeChannel()

	logDir := ""
	if t.journal != nil {
		logDir = t.journal.FilesDir()
	} else if d, err := os.MkdirTemp("", "mltrack-logs-*"); err == nil {
		logDir = d
		defer os.RemoveAll(d)
	}
	output, err := capture.NewOutput(capture.OutputOptions{Dir: logDir, Cap: t.cfg.LogCap, Masker: t.masker})
	if err != nil {
		t.warnings.add("output capture unavailable: %s; the command's output is not recorded", oneLine(err))
		output = nil
	}

	// The run exists (RUNNING) before the command starts, within the start budget.
	startCtx, cancelStart := context.WithTimeout(ctx, t.cfg.StartBudget)
	t.rec.create(startCtx, t.cfg.Experiment, t.cfg.ExperimentID, mlflowclient.CreateRunRequest{
		UserID:    userName(t.env),
		RunName:   t.cfg.RunName,
		StartTime: start.UnixMilli(),
		Tags:      append(append(t.startTags(), parentTags...), tags...),
		Params:    params,
	})
	cancelStart()
	if t.parent != nil {
		_ = t.parent.ChildStarted(ctx, t.runKey)
	}
	if errors.Is(startCtx.Err(), context.DeadlineExceeded) && !t.rec.runCreated() {
		t.warnings.add("the tracking store did not answer within the start budget (%s); the command started anyway", t.cfg.StartBudget)
	}

	// Resource samples stream into the run while it runs, sent by a background flusher so that a
	// slow store never holds up sampling.
	t.rec.startFlusher(ctx, t.cfg.StartBudget)
	var sampler *capture.Sampler
	sampleStep := int64(0)
	spec := runner.Spec{
		Argv: t.cfg.Argv, Env: t.childEnv(), Dir: "",
		Stdin: t.io.in, Stdout: t.io.out, Stderr: t.io.err,
		PTY: t.cfg.PTY, Timeout: t.cfg.Timeout, KillAfter: t.cfg.KillAfter,
		Started: func(pid int) {
			sampler = capture.StartSampler(pid, capture.SamplerOptions{
				Interval: t.cfg.SampleInterval,
				OnSample: func(s capture.Sample) {
					t.rec.logBatch(sampleMetrics(s, sampleStep), nil, nil)
					sampleStep++
					t.pollMetricsFile(false)
				},
			})
		},
	}
	if output != nil {
		spec.CaptureStdout, spec.CaptureStderr = output.Stdout(), output.Stderr()
	}
	res := runner.Run(ctx, spec)
	var summary capture.Summary
	if sampler != nil {
		summary = sampler.Stop()
	}
	t.rec.stopFlusher()
	t.closeChannel()
	t.channel, t.channelDir = nil, ""
	t.pollMetricsFile(true)
	for _, w := range res.Warnings {
		t.warnings.add("%s", w)
	}

	// Everything after the command ended shares one budget; what does not fit stays in the journal.
	endCtx, cancelEnd := context.WithTimeout(context.Background(), t.cfg.EndBudget)
	defer cancelEnd()

	var logs []capture.LogFile
	if output != nil {
		logs, err = output.Close(res.SharedOutput)
		if err != nil {
			t.warnings.add("output log: %s%s", oneLine(err), spaceAdvice(err))
		}
	}
	var produced []capture.ProducedFile
	if len(t.cfg.OutputDirs) > 0 {
		var skipped []capture.SkippedFile
		produced, skipped, err = outDirs.Collect(endCtx)
		if err != nil {
			t.warnings.add("output directories: %s", oneLine(err))
		}
		for _, s := range skipped {
			t.warnings.add("output %s skipped: %s", s.Path, s.Reason)
		}
	}
	var runCtx capture.Context
	select {
	case runCtx = <-contextCh:
	case <-time.After(500 * time.Millisecond):
		t.warnings.add("run context (git, host) took too long; recorded without it")
	}

	status := runStatus(res)
	final := finalMetrics(res, summary, logs, res.End)
	if _, oneStep := t.rec.store.(mlflowclient.RunFinisher); oneStep {
		// A local store copies the files on this machine: record them first, so that the last
		// metrics and the final status go in one write (one SQLite transaction, fewer fsyncs).
		t.logArtifacts(endCtx, logs, produced)
		t.rec.logBatch(final, nil, t.endTags(res, runCtx))
	} else {
		// Elsewhere the metrics go first: a slow upload must not hold them back.
		t.rec.logBatch(final, nil, t.endTags(res, runCtx))
		t.logArtifacts(endCtx, logs, produced)
	}
	t.rec.finish(endCtx, status, res.End)

	tracking, art := t.closeJournal()
	if t.parent != nil {
		_ = t.parent.ChildEnded(context.Background(), t.runKey, status)
		t.parent.Close()
	}
	t.writeStepSummary(status, res)
	t.afterRun(endCtx, tracking)
	t.report(res, status, summary, art, tracking)
	return exitLikeChild(res)
}

// secretValues are the values of secret-named -p and -t pairs.
func secretValues(lists ...[]keyValue) []string {
	var out []string
	for _, list := range lists {
		for _, kv := range list {
			if kv.Value != "" && redact.IsSecretName(kv.Key) {
				out = append(out, kv.Value)
			}
		}
	}
	return out
}

// userParamsAndTags checks -p and -t against MLflow's rules before anything starts: a name MLflow
// would refuse is a wrong invocation (exit 125); an over-long value is truncated as MLflow does.
func (t *tracker) userParamsAndTags() ([]mlflowclient.Param, []mlflowclient.Tag, error) {
	var params []mlflowclient.Param
	for _, kv := range t.cfg.Params {
		if err := mlflowclient.ValidateKey("param", kv.Key); err != nil {
			return nil, nil, fmt.Errorf("-p: %w", err) // the error quotes the name, shortened
		}
		params = append(params, mlflowclient.Param{Key: kv.Key, Value: t.masker.Value(kv.Key, kv.Value)})
	}
	// The recorded command line is a param too (searchable as params.command), unless the user gave one.
	if !hasParam(params, "command") {
		params = append(params, mlflowclient.Param{Key: "command", Value: t.commandLine()})
	}
	var tags []mlflowclient.Tag
	for _, kv := range t.cfg.Tags {
		if err := mlflowclient.ValidateKey("tag", kv.Key); err != nil {
			return nil, nil, fmt.Errorf("-t: %w", err)
		}
		tags = append(tags, mlflowclient.Tag{Key: kv.Key, Value: t.masker.Value(kv.Key, kv.Value)})
	}
	s := mlflowclient.Sanitize(nil, params, tags)
	for _, w := range s.Warnings {
		t.warnings.add("%s", w)
	}
	return s.Params, s.Tags, nil
}

func hasParam(ps []mlflowclient.Param, key string) bool {
	for _, p := range ps {
		if p.Key == key {
			return true
		}
	}
	return false
}

// commandLine is the command as a shell would show it, with secrets masked.
func (t *tracker) commandLine() string {
	return shellJoin(t.masker.Strings(t.cfg.Argv))
}

func (t *tracker) openJournal(start time.Time) {
	t.spoolDir = t.cfg.SpoolDir
	t.runKey = newRunKey()
	if t.spoolDir == "" {
		t.spoolDir = spoolDirFor(t.env)
	}
	meta := journal.Meta{
		Key:          t.runKey,
		TrackingURI:  t.journalURI,
		Experiment:   t.cfg.Experiment,
		ExperimentID: t.cfg.ExperimentID,
		Created:      start,
	}
	j, err := journal.Create(t.spoolDir, meta)
	if err != nil {
		// Without a journal the run survives only if the store takes it; say how to get one back.
		t.warnings.add("cannot keep a local journal of this run: %s; set MLTRACK_SPOOL_DIR to a writable directory (the run is lost if the store is unusable too)", oneLine(err))
		return
	}
	t.journal = j
}

// resolveURI chooses the tracking URI (MLflow's rules) without touching the store.
func (t *tracker) resolveURI() {
	uri, err := mlflowclient.ResolveTrackingURI(t.cfg.TrackingURI, t.cwd)
	if err != nil {
		t.warnings.add("%s", oneLine(err))
		// Keep what was configured (without credentials), so `mltrack sync --list` can say where
		// the run was meant to go.
		t.journalURI = mlflowclient.RedactURI(t.cfg.TrackingURI)
		return
	}
	t.uri = uri
	t.journalURI = mlflowclient.RedactURI(uri)
}

// openStore opens the store of the resolved URI. A problem never stops the command: the run is
// then kept in the journal.
func (t *tracker) openStore() {
	t.rec = newRecorder(nil, t.journal, t.warnings)
	if t.uri == "" {
		return
	}
	uri := t.uri
	store, err := mlflowclient.Open(uri, mlflowclient.Options{
		LockTimeout: t.cfg.StartBudget,
		Warn:        func(msg string) { t.warnings.add("%s", msg) },
		HTTP:        httpOptions(t.env, t.warnings.add, t.io.err),
		UserAgent:   userAgent(),
	})
	if err != nil {
		t.warnings.add("tracking store %s: %s", mlflowclient.RedactURI(uri), oneLine(err))
		return
	}
	t.rec.store = store
}

// startTags are the tags known before the command starts.
func (t *tracker) startTags() []mlflowclient.Tag {
	host, _ := os.Hostname()
	tags := []mlflowclient.Tag{
		{Key: "mlflow.user", Value: userName(t.env)},
		{Key: "mlflow.source.name", Value: t.masker.String(t.cfg.Argv[0])},
		{Key: "mlflow.source.type", Value: "LOCAL"},
		{Key: "mltrack.command", Value: t.commandLine()},
		{Key: "mltrack.cwd", Value: t.cwd},
		{Key: "mltrack.host", Value: host},
		{Key: "mltrack.version", Value: mltrackVersion()},
		// A key unique to this run: retries and `mltrack sync` find the run by it instead of
		// creating it twice.
		{Key: mlflowclient.RunKeyTag, Value: t.runKey},
	}
	if t.cfg.Note != "" {
		tags = append(tags, mlflowclient.Tag{Key: "mlflow.note.content", Value: t.masker.String(t.cfg.Note)})
	}
	if ci, ok := capture.DetectCI(t.env.get); ok {
		t.ci = ci
		keys := make([]string, 0, len(ci.Tags))
		for k := range ci.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			tags = append(tags, mlflowclient.Tag{Key: k, Value: t.masker.String(ci.Tags[k])})
		}
	}
	return mlflowclient.Sanitize(nil, nil, tags).Tags
}

// endTags are the tags known once the command ended: how it ended, and the context gathered meanwhile.
func (t *tracker) endTags(res runner.Result, c capture.Context) []mlflowclient.Tag {
	var tags []mlflowclient.Tag
	add := func(k, v string) { tags = append(tags, mlflowclient.Tag{Key: k, Value: v}) }
	if c.Git != nil {
		add("mlflow.source.git.commit", c.Git.Commit)
		if c.Git.Branch != "" {
			add("mlflow.source.git.branch", c.Git.Branch)
		}
		if c.Git.RepoURL != "" {
			add("mlflow.source.git.repoURL", t.masker.String(c.Git.RepoURL))
		}
		if c.Git.DirtyKnown {
			add("mlflow.source.git.dirty", fmt.Sprint(c.Git.Dirty))
		}
	}
	if res.Signal != 0 {
		add("mltrack.signal", signalName(res.Signal))
		add("mltrack.signal_source", res.SignalSource)
	}
	if res.TimedOut {
		add("mltrack.timed_out", "true")
		add("mltrack.timeout", t.cfg.Timeout.String())
	}
	if res.StartErr != nil {
		add("mltrack.error", t.masker.String(oneLine(res.StartErr)))
	}
	add("mltrack.pty", fmt.Sprint(res.SharedOutput || res.PTY))
	return mlflowclient.Sanitize(nil, nil, tags).Tags
}

// childEnv is the command's environment: mltrack's own, plus what lets MLflow code inside the
// command log into this run (as `mlflow run` does for its children): the store, the experiment
// (id and a matching name, since MLflow refuses the two when they disagree) and, once the run exists
// in the store, MLFLOW_RUN_ID, so `mlflow.start_run()` resumes it. mltrack samples resources itself,
// so MLflow's own system-metrics logging is turned off for the command unless the user set it.
func (t *tracker) childEnv() []string {
	set := map[string]string{}
	if t.uri != "" {
		set["MLFLOW_TRACKING_URI"] = t.uri
	}
	switch {
	case t.rec.runCreated():
		set["MLFLOW_RUN_ID"] = t.rec.run.RunID
		set["MLFLOW_EXPERIMENT_ID"] = t.rec.run.ExperimentID
		set["MLFLOW_EXPERIMENT_NAME"] = t.rec.experiment.Name
	case t.cfg.Experiment != "":
		// The run is only journaled: nested runs still go to the same experiment.
		set["MLFLOW_EXPERIMENT_NAME"] = t.cfg.Experiment
	case t.cfg.ExperimentID != "":
		set["MLFLOW_EXPERIMENT_ID"] = t.cfg.ExperimentID
	}
	if t.env.get("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING") == "" {
		set["MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"] = "false"
	}
	if t.channel != nil {
		set[channel.EnvVar] = t.channel.Addr()
	}
	if t.metricsFile != nil {
		set[capture.MetricsFileEnv] = t.metricsFile.Path()
	}
	return mergeEnv(t.env.list, set)
}

// mergeEnv returns environ with the variables in set replaced or added, keeping the order.
func mergeEnv(environ []string, set map[string]string) []string {
	out := make([]string, 0, len(environ)+len(set))
	done := map[string]bool{}
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := set[k]; ok {
			if !done[k] {
				out = append(out, k+"="+v)
				done[k] = true
			}
			continue
		}
		out = append(out, kv)
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !done[k] {
			out = append(out, k+"="+set[k])
		}
	}
	return out
}

// artifactReport says what happened to the run's files.
type artifactReport struct {
	Count       int   `json:"count"`
	Bytes       int64 `json:"bytes"`
	Undelivered int   `json:"undelivered"`
}

// logArtifacts uploads the logs and produced files.
func (t *tracker) logArtifacts(ctx context.Context, logs []capture.LogFile, produced []capture.ProducedFile) {
	var files []mlflowclient.ArtifactFile
	for _, l := range logs {
		files = append(files, mlflowclient.ArtifactFile{LocalPath: l.LocalPath, ArtifactPath: l.ArtifactPath, Size: l.Kept})
	}
	files = append(files, t.loggedArtifacts...)
	for _, p := range produced {
		if _, err := os.Stat(p.LocalPath); err != nil {
			t.warnings.add("output %s vanished before it could be recorded", p.ArtifactPath)
			continue
		}
		files = append(files, mlflowclient.ArtifactFile{LocalPath: p.LocalPath, ArtifactPath: p.ArtifactPath, Size: p.Size})
	}
	t.artifactFiles = files
	t.rec.logArtifacts(ctx, files)
}

// keepInJournal copies a file the store did not take into the journal, so that later changes to the
// output directory do not alter the record.
func (t *tracker) keepInJournal(local, artifactPath string) {
	if t.journal == nil || strings.HasPrefix(local, t.journal.FilesDir()+string(filepath.Separator)) {
		return
	}
	dst := filepath.Join(t.journal.FilesDir(), filepath.FromSlash(artifactPath))
	if err := copyFile(local, dst); err != nil {
		t.warnings.once("keep:"+artifactPath, "could not keep %s in the journal: %s%s", artifactPath, oneLine(err), spaceAdvice(err))
		return
	}
	t.rec.journalAppend(journal.TypeArtifact, artifactEvent{File: dst, ArtifactPath: artifactPath})
}

// trackingState is the tracking part of the summary.
type trackingState struct {
	State   string `json:"state"` // "delivered", "journaled" or "failed"
	Journal string `json:"journal,omitempty"`
}

// closeJournal removes the journal when the store has everything, and keeps it otherwise, with a
// copy of each file the store did not take (so later changes to the output directory do not alter
// the record).
func (t *tracker) closeJournal() (trackingState, artifactReport) {
	delivered, pending := t.rec.outcome()
	var rep artifactReport
	undelivered := map[string]bool{}
	for _, f := range pending {
		undelivered[f.ArtifactPath] = true
	}
	for _, f := range t.artifactFiles {
		if undelivered[f.ArtifactPath] {
			rep.Undelivered++
			continue
		}
		rep.Count++
		rep.Bytes += f.Size
	}
	if !t.rec.runCreated() {
		rep.Count, rep.Bytes, rep.Undelivered = 0, 0, len(t.artifactFiles)
	}
	if delivered {
		if t.journal != nil {
			if err := t.journal.Remove(); err != nil {
				t.warnings.add("could not remove the delivered run's journal: %s", oneLine(err))
			}
		}
		return trackingState{State: "delivered"}, rep
	}
	if t.journal == nil {
		return trackingState{State: "failed"}, rep
	}
	for _, f := range pending {
		t.keepInJournal(f.LocalPath, f.ArtifactPath)
	}
	if !t.rec.runCreated() {
		for _, f := range t.artifactFiles {
			t.keepInJournal(f.LocalPath, f.ArtifactPath)
		}
	}
	if err := t.journal.Close(); err != nil {
		t.warnings.add("journal: %s%s", oneLine(err), spaceAdvice(err))
	}
	return trackingState{State: "journaled", Journal: t.journal.Dir()}, rep
}

func newRunKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func homeDir(env environment) string {
	if h := env.get("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := out.ReadFrom(in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
