package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/mltrack/mltrack/mlflowclient"
	"github.com/mltrack/mltrack/search"
)

// experimentsCommand is `mltrack experiments list`.
func experimentsCommand(ctx context.Context, args []string, io stdio, env environment) int {
	const usage = "mltrack experiments list [--view active|deleted|all] [--format table|json|csv]"
	if len(args) < 2 || (args[1] != "list" && args[1] != "ls") {
		if len(args) >= 2 && (args[1] == "help" || args[1] == "-h" || args[1] == "--help") {
			fmt.Fprintf(io.out, "usage: %s\n", usage)
			return 0
		}
		fmt.Fprintf(io.err, "mltrack experiments: the subcommand is list\nusage: %s\n", usage)
		return exitUsage
	}
	const name = "mltrack experiments list"
	var uriFlag, format, view string
	cmd := historyCLI(name, "list the store's experiments", usage, []cli.Flag{
		trackingURIFlag(env, &uriFlag),
		viewFlag("experiments", &view),
		&cli.StringFlag{Name: "format", Usage: "output `FORMAT`: table, json (MLflow's experiments/search shape) or csv", Value: "table", Destination: &format},
	}, io)
	if goOn, code := runHistoryCLI(ctx, cmd, args[2:], io); !goOn {
		return code
	}
	if cmd.Args().Len() > 0 {
		return historyError(io, name, usageProblem{fmt.Errorf("unexpected argument %q", cmd.Args().First())})
	}
	if err := checkFormat(format, "table", "json", "csv"); err != nil {
		return historyError(io, name, err)
	}
	viewType, err := parseView(view)
	if err != nil {
		return historyError(io, name, err)
	}
	store, done, err := openForHistory(uriFlag, env, io)
	if err != nil {
		return historyError(io, name, err)
	}
	defer done()
	var exps []mlflowclient.Experiment
	if viewType == mlflowclient.ViewActiveOnly {
		exps, err = search.Experiments(ctx, store, nil)
	} else if lister, ok := store.(mlflowclient.ExperimentLister); ok {
		exps, err = lister.ListExperiments(ctx, viewType)
	} else {
		err = fmt.Errorf("the store %s cannot list experiments", store.URI())
	}
	if err != nil {
		return historyError(io, name, err)
	}
	switch format {
	case "json":
		b, err := mlflowclient.RESTExperimentsJSON(exps)
		if err != nil {
			return historyError(io, name, err)
		}
		fmt.Fprintf(io.out, "%s\n", b)
	case "csv":
		rows := [][]string{{"experiment_id", "name", "lifecycle_stage", "artifact_location", "creation_time"}}
		for _, e := range exps {
			rows = append(rows, []string{e.ID, e.Name, e.LifecycleStage, e.ArtifactLocation, csvTime(e.CreationTime)})
		}
		if err := writeCSV(io, rows); err != nil {
			return historyError(io, name, err)
		}
	default:
		rows := [][]string{{"ID", "NAME", "CREATED", "STAGE", "ARTIFACT LOCATION"}}
		for _, e := range exps {
			rows = append(rows, []string{e.ID, e.Name, formatMillis(e.CreationTime), e.LifecycleStage, e.ArtifactLocation})
		}
		if len(exps) == 0 {
			fmt.Fprintln(io.err, "no experiments")
			return 0
		}
		writeTable(io, rows, 1, terminalWidth(io.out))
	}
	return 0
}
