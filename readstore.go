package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/mltrack/mltrack/filter"
	"github.com/mltrack/mltrack/mlflowclient"
	"github.com/mltrack/mltrack/search"
)

// This file holds what the history commands (`runs`, `stats`, `experiments`) share: opening the
// store for reading, their flag parser, and printing their errors.

// errNoStore means the resolved local store does not exist. The history commands never create a
// store: reading an empty directory must not leave an mlflow.db behind.
var errNoStore = errors.New("no MLflow store")

// openStoreForReading opens the store a history command reads: --tracking-uri or
// MLFLOW_TRACKING_URI, else MLflow's default rules, exactly as a run resolves it. A local store that
// does not exist yet is an error that says where mltrack looked, rather than a new empty store.
func openStoreForReading(uriFlag string, env environment, io stdio, w *warnings) (mlflowclient.Store, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("find the current directory: %w", err)
	}
	uri, err := mlflowclient.ResolveTrackingURI(uriFlag, cwd)
	if err != nil {
		return nil, err
	}
	scheme, err := mlflowclient.ParseScheme(uri)
	if err != nil {
		return nil, err
	}
	var local string
	switch scheme {
	case mlflowclient.SchemeSQLite:
		local, err = mlflowclient.SQLitePath(uri)
	case mlflowclient.SchemeFile:
		local, err = mlflowclient.FileStorePath(uri)
	}
	if err != nil {
		return nil, err
	}
	if local != "" {
		// Opening a store creates what is missing (an empty SQLite file gets MLflow's schema, an
		// empty directory experiment 0), so what would be created is refused here instead.
		fi, statErr := os.Stat(local)
		empty := errors.Is(statErr, os.ErrNotExist) ||
			(statErr == nil && scheme == mlflowclient.SchemeSQLite && fi.Mode().IsRegular() && fi.Size() == 0) ||
			(statErr == nil && scheme == mlflowclient.SchemeFile && fi.IsDir() && !mlflowclient.HasFileStoreData(local))
		if empty {
			return nil, fmt.Errorf("%w at %s: nothing has been recorded there yet; run `mltrack -- COMMAND` here first, or point --tracking-uri (or MLFLOW_TRACKING_URI) at a store", errNoStore, mlflowclient.RedactURI(uri))
		}
	}
	return mlflowclient.Open(uri, mlflowclient.Options{
		LockTimeout: 10 * time.Second,
		Warn:        func(msg string) { w.add("%s", msg) },
		HTTP:        httpOptions(env, w.add, nil),
		UserAgent:   userAgent(),
	})
}

// historyCLI builds the flag parser of one history command. action is run once the flags are
// parsed (not for --help). The returned function runs it and maps a usage problem to exit 125.
func historyCLI(name, usage, usageText string, flags []cli.Flag, io stdio) *cli.Command {
	return &cli.Command{
		Name:            name,
		Usage:           usage,
		UsageText:       usageText,
		HideHelpCommand: true,
		Writer:          io.out,
		ErrWriter:       io.err,
		ExitErrHandler:  func(context.Context, *cli.Command, error) {},
		// A mistyped flag is one line on stderr (runHistoryCLI), never the help on stdout, where
		// a --format json pipeline reads.
		OnUsageError: func(_ context.Context, _ *cli.Command, err error, _ bool) error { return err },
		Flags:        flags,
	}
}

// runHistoryCLI parses args with cmd. It reports whether the command's action should go on (false
// after --help) and the exit code to return when it should not.
func runHistoryCLI(ctx context.Context, cmd *cli.Command, args []string, io stdio) (goOn bool, code int) {
	ran := false
	cmd.Action = func(context.Context, *cli.Command) error { ran = true; return nil }
	if err := cmd.Run(ctx, append([]string{cmd.Name}, args...)); err != nil {
		fmt.Fprintf(io.err, "%s: %s (%s --help shows the flags)\n", cmd.Name, oneLine(err), cmd.Name)
		return false, exitUsage
	}
	return ran, 0
}

// historyError prints a history command's error and returns its exit code: 125 for what the user
// typed (a filter MLflow would reject, an unknown experiment), 1 for a store that could not answer.
// A filter error keeps its caret line, which shows where the problem is.
func historyError(io stdio, name string, err error) int {
	var se *filter.SyntaxError
	if errors.As(err, &se) {
		fmt.Fprintf(io.err, "%s: %s\n", name, strings.TrimRight(se.Error(), "\n"))
		return exitUsage
	}
	fmt.Fprintf(io.err, "%s: %s\n", name, oneLine(err))
	var ue usageProblem
	if errors.As(err, &ue) {
		return exitUsage
	}
	return 1
}

// usageProblem marks an error as the user's input (exit 125) rather than the store's.
type usageProblem struct{ error }

func (u usageProblem) Unwrap() error { return u.error }

// terminalWidth is the width to fit tables to: the terminal's when out is one, else 0 (no limit:
// a table piped to a file or another program keeps every character).
func terminalWidth(out *os.File) int {
	if out == nil || !term.IsTerminal(int(out.Fd())) {
		return 0
	}
	w, _, err := term.GetSize(int(out.Fd()))
	if err != nil || w <= 0 {
		return 0
	}
	return w
}

// checkFormat accepts one of the output formats a history command offers.
func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usageProblem{fmt.Errorf("--format %q: use one of %s", format, strings.Join(allowed, ", "))}
}

// writeJSON prints v as one line of JSON.
func writeJSON(io stdio, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintf(io.err, "mltrack: encode JSON: %s\n", err)
		return
	}
	fmt.Fprintf(io.out, "%s\n", b)
}

// writeCSV prints rows (the first is the header) as CSV.
func writeCSV(io stdio, rows [][]string) error {
	cw := csv.NewWriter(io.out)
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}

// searchInExperiments resolves the -e arguments (names or ids; none means every active
// experiment) and runs req over those experiments. An unknown or ambiguous experiment is the
// user's mistake (exit 125), not the store's.
func searchInExperiments(ctx context.Context, store mlflowclient.Store, namesOrIDs []string, req search.Request) ([]mlflowclient.Run, []mlflowclient.Experiment, error) {
	exps, err := search.Experiments(ctx, store, namesOrIDs)
	if err != nil {
		if ee := (*search.ExperimentError)(nil); errors.As(err, &ee) {
			err = usageProblem{err}
		}
		return nil, nil, err
	}
	if len(exps) == 0 {
		return nil, exps, nil
	}
	for _, e := range exps {
		req.ExperimentIDs = append(req.ExperimentIDs, e.ID)
	}
	runs, err := search.Runs(ctx, store, req)
	return runs, exps, err
}

// viewFlag is --view as the history commands take it; parseView reads its value.
func viewFlag(what string, dest *string) cli.Flag {
	return &cli.StringFlag{Name: "view", Usage: "which " + what + " (`VIEW`): active, deleted or all", Value: "active", Destination: dest}
}

func parseView(view string) (mlflowclient.ViewType, error) {
	v, err := mlflowclient.ParseViewType(view)
	if err != nil {
		return 0, usageProblem{fmt.Errorf("--view: %w", err)}
	}
	return v, nil
}

// openForHistory opens the store a history command reads and returns it with the function that
// closes it and prints the warnings gathered meanwhile.
func openForHistory(uriFlag string, env environment, io stdio) (mlflowclient.Store, func(), error) {
	w := &warnings{}
	store, err := openStoreForReading(uriFlag, env, io, w)
	if err != nil {
		w.print(io.err)
		return nil, nil, err
	}
	return store, func() { store.Close(); w.print(io.err) }, nil
}
