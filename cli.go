package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/mltrack/mltrack/mlflowclient"
	"github.com/mltrack/mltrack/runner"
)

// runConfig is everything the run command needs, resolved from flags, then the environment, then
// defaults (in that order of precedence).
type runConfig struct {
	Argv []string

	TrackingURI  string // as configured; empty means MLflow's default
	Experiment   string
	ExperimentID string
	RunName      string
	Params       []keyValue
	Tags         []keyValue
	Note         string

	OutputDirs []string
	AllOutputs bool

	Timeout, KillAfter time.Duration
	PTY                runner.PTYMode

	Quiet       bool
	SummaryJSON string

	SampleInterval time.Duration
	LogCap         int64
	StartBudget    time.Duration
	EndBudget      time.Duration
	SpoolDir       string
	Disabled       bool
	NoNest         bool
}

// Defaults, documented in docs/configuration.md.
const (
	defaultSampleInterval = 5 * time.Second
	minSampleInterval     = 100 * time.Millisecond
	defaultLogCap         = 100 << 20
	defaultStartBudget    = 5 * time.Second
	defaultEndBudget      = 30 * time.Second
)

// envSource is a flag value source reading mltrack's environment (the map run was given, not the
// process's), so that tests and the help text see the same thing. An empty value counts as unset, as
// MLflow treats MLFLOW_TRACKING_URI="".
type envSource struct {
	env environment
	key string
}

func (s envSource) Lookup() (string, bool) {
	v := s.env.get(s.key)
	return v, v != ""
}
func (s envSource) IsFromEnv() bool  { return true }
func (s envSource) Key() string      { return s.key }
func (s envSource) String() string   { return fmt.Sprintf("environment variable %q", s.key) }
func (s envSource) GoString() string { return fmt.Sprintf("envSource{%q}", s.key) }
func envVars(env environment, keys ...string) cli.ValueSourceChain {
	var srcs []cli.ValueSource
	for _, k := range keys {
		srcs = append(srcs, envSource{env: env, key: k})
	}
	return cli.NewValueSourceChain(srcs...)
}

const runUsage = `mltrack [flags] -- <command> [args...]

   Runs <command> exactly as if it ran alone (same output, exit status and signals) and records it
   as an MLflow run. Everything after "--", and everything from the command's name on, belongs to
   the command. With nothing configured, runs go to MLflow's default store: ./mlruns when it holds
   MLflow data, else sqlite:///mlflow.db here; "mlflow ui" in this directory shows them.

   Subcommands (only as the first argument):
     mltrack runs search|get|compare   search and inspect recorded runs (MLflow's filter language)
     mltrack stats                     runs, success rate and durations per group, with the trend
     mltrack experiments list          the store's experiments
     mltrack log metric|param|tag|artifact   log into the current run from inside the command
     mltrack sync                      deliver runs kept in the local journal
     mltrack version | help`

// newRunCLI builds the run command's flag parser. It fills cfg; run-time work happens in runCommand.
func newRunCLI(io stdio, env environment, cfg *runConfig) *cli.Command {
	stopAfterCommandName := 1
	var pty, noPTY bool
	var params, tags []string
	var timeout, killAfter, sampleInterval, startBudget, endBudget, logCap string
	cmd := &cli.Command{
		Name:            "mltrack",
		Usage:           "run a command and record it as an MLflow run",
		UsageText:       runUsage,
		Version:         mltrackVersion(),
		HideHelpCommand: true,
		// From the command's name on, nothing is an mltrack flag: `mltrack python -e x` passes -e to python.
		StopOnNthArg: &stopAfterCommandName,
		Writer:       io.err,
		ErrWriter:    io.err,
		// Errors are reported by runCommand as one line; urfave must neither print nor exit.
		ExitErrHandler: func(context.Context, *cli.Command, error) {},
		OnUsageError: func(_ context.Context, _ *cli.Command, err error, _ bool) error {
			return usageError{err}
		},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "tracking-uri", Usage: "MLflow tracking URI: sqlite:///PATH, file:///DIR, a directory, or http(s)://SERVER", Sources: envVars(env, "MLFLOW_TRACKING_URI"), Destination: &cfg.TrackingURI},
			&cli.StringFlag{Name: "experiment", Aliases: []string{"e"}, Usage: "experiment `NAME`, created when missing [$MLFLOW_EXPERIMENT_NAME]", Destination: &cfg.Experiment},
			&cli.StringFlag{Name: "experiment-id", Usage: "experiment `ID` (must exist) [$MLFLOW_EXPERIMENT_ID]", Destination: &cfg.ExperimentID},
			&cli.StringFlag{Name: "run-name", Aliases: []string{"n"}, Usage: "run `NAME` (default: MLflow's adjective-noun-N)", Destination: &cfg.RunName},
			&cli.StringSliceFlag{Name: "param", Aliases: []string{"p"}, Usage: "run parameter `KEY=VALUE` (repeatable)", Destination: &params},
			&cli.StringSliceFlag{Name: "tag", Aliases: []string{"t"}, Usage: "run tag `KEY=VALUE` (repeatable)", Destination: &tags},
			&cli.StringFlag{Name: "note", Usage: "run description (Markdown; the UI's \"About this run\")", Destination: &cfg.Note},
			&cli.StringSliceFlag{Name: "output-dir", Aliases: []string{"o"}, Usage: "log files the command creates or changes in `DIR` as artifacts under outputs/ (repeatable)", Destination: &cfg.OutputDirs},
			&cli.BoolFlag{Name: "all-outputs", Usage: "log every file in the output directories, not only those the command created or changed", Destination: &cfg.AllOutputs},
			&cli.StringFlag{Name: "timeout", Usage: "send TERM to the command after `DURATION` (90s, 5m, 1.5h, 2d; plain numbers are seconds); exit 124", Destination: &timeout},
			&cli.StringFlag{Name: "kill-after", Usage: "with --timeout: send KILL `DURATION` after TERM if the command is still running; exit 137", Destination: &killAfter},
			&cli.BoolFlag{Name: "pty", Usage: "give the command a pseudo-terminal even when stdout is not a terminal", Destination: &pty},
			&cli.BoolFlag{Name: "no-pty", Usage: "never give the command a pseudo-terminal (default: one when stdout is a terminal)", Destination: &noPTY},
			&cli.BoolFlag{Name: "no-nest", Usage: "inside another mltrack's command, start an independent run instead of a child run", Sources: envVars(env, "MLTRACK_NO_NEST"), Destination: &cfg.NoNest},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no summary line on stderr (warnings still print)", Sources: envVars(env, "MLTRACK_QUIET"), Destination: &cfg.Quiet},
			&cli.StringFlag{Name: "summary-json", Usage: "write a JSON summary of the run to `FILE` (- for stderr)", Sources: envVars(env, "MLTRACK_SUMMARY_JSON"), Destination: &cfg.SummaryJSON},
			&cli.StringFlag{Name: "sample-interval", Usage: "how often to sample the process tree's resources (`DURATION`; 0 disables)", Value: defaultSampleInterval.String(), Sources: envVars(env, "MLTRACK_SAMPLE_INTERVAL"), Destination: &sampleInterval},
			&cli.StringFlag{Name: "log-cap", Usage: "keep at most `SIZE` of each output stream (head and tail; 0 = all)", Value: "100MiB", Sources: envVars(env, "MLTRACK_LOG_CAP"), Destination: &logCap},
			&cli.StringFlag{Name: "start-budget", Usage: "longest the command waits for the store before it starts anyway (`DURATION`)", Value: defaultStartBudget.String(), Sources: envVars(env, "MLTRACK_START_BUDGET"), Destination: &startBudget},
			&cli.StringFlag{Name: "end-budget", Usage: "longest mltrack spends recording after the command ended (`DURATION`); the rest stays in the journal", Value: defaultEndBudget.String(), Sources: envVars(env, "MLTRACK_END_BUDGET"), Destination: &endBudget},
		},
		Action: func(_ context.Context, c *cli.Command) error {
			cfg.Argv = c.Args().Slice()
			if len(cfg.Argv) == 0 {
				return usageError{errors.New("no command given; usage: mltrack [flags] -- <command> [args...]")}
			}
			var err error
			if cfg.Params, err = parseKeyValues("param", "-p", params); err != nil {
				return usageError{err}
			}
			if cfg.Tags, err = parseKeyValues("tag", "-t", tags); err != nil {
				return usageError{err}
			}
			// The experiment flags are resolved here rather than with value sources, because a flag
			// must beat both variables: -e NAME wins over MLFLOW_EXPERIMENT_ID from the environment.
			switch {
			case c.IsSet("experiment") && c.IsSet("experiment-id"):
				return usageError{errors.New("give either --experiment or --experiment-id, not both")}
			case !c.IsSet("experiment") && !c.IsSet("experiment-id"):
				// MLflow's rule: the name wins over the id when both variables are set.
				cfg.Experiment = env.get("MLFLOW_EXPERIMENT_NAME")
				if cfg.Experiment == "" {
					cfg.ExperimentID = env.get("MLFLOW_EXPERIMENT_ID")
				}
			}
			if c.IsSet("experiment") {
				// MLflow refuses such a name when the run is created; refusing it now keeps a run
				// from being journaled for a delivery that can never succeed.
				if err := mlflowclient.ValidateExperimentName(cfg.Experiment); err != nil {
					return usageError{fmt.Errorf("--experiment: %w; give a name of 1 to %d characters, or leave the flag out for the Default experiment", err, mlflowclient.MaxExperimentNameLen)}
				}
			}
			if c.IsSet("experiment-id") && strings.TrimSpace(cfg.ExperimentID) == "" {
				return usageError{errors.New("--experiment-id is empty; give an experiment id, or leave the flag out for the default experiment")}
			}
			if pty && noPTY {
				return usageError{errors.New("give either --pty or --no-pty, not both")}
			}
			switch {
			case pty:
				cfg.PTY = runner.PTYOn
			case noPTY:
				cfg.PTY = runner.PTYOff
			default:
				cfg.PTY = runner.PTYAuto
			}
			for _, d := range []struct {
				name string
				in   string
				out  *time.Duration
			}{
				{"--timeout", timeout, &cfg.Timeout},
				{"--kill-after", killAfter, &cfg.KillAfter},
				{"--sample-interval", sampleInterval, &cfg.SampleInterval},
				{"--start-budget", startBudget, &cfg.StartBudget},
				{"--end-budget", endBudget, &cfg.EndBudget},
			} {
				if d.in == "" {
					continue
				}
				v, err := parseDuration(d.in)
				if err != nil {
					return usageError{fmt.Errorf("%s: %w", d.name, err)}
				}
				*d.out = v
			}
			if killAfter != "" && timeout == "" {
				return usageError{errors.New("--kill-after needs --timeout")}
			}
			if cfg.SampleInterval != 0 && cfg.SampleInterval < minSampleInterval {
				return usageError{fmt.Errorf("--sample-interval %s is below the fastest allowed, %s (0 disables sampling)", cfg.SampleInterval, minSampleInterval)}
			}
			if cfg.LogCap, err = parseSize(logCap); err != nil {
				return usageError{fmt.Errorf("--log-cap: %w", err)}
			}
			return nil
		},
	}
	return cmd
}

// usageError marks a wrong mltrack invocation: exit 125, one line, nothing started.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// parseRunArgs parses the run command's flags. It writes nothing but help and version text.
func parseRunArgs(ctx context.Context, args []string, io stdio, env environment) (runConfig, bool, error) {
	var cfg runConfig
	cmd := newRunCLI(io, env, &cfg)
	ran := false
	action := cmd.Action
	cmd.Action = func(ctx context.Context, c *cli.Command) error {
		ran = true
		return action(ctx, c)
	}
	err := cmd.Run(ctx, args)
	if err != nil {
		return cfg, false, err
	}
	// --help and --version print and return without running the action.
	return cfg, ran, nil
}

// oneLine keeps the first line of an error message: the user sees one clear line, not a dump.
func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
