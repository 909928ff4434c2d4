package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/mltrack/mltrack/filter"
	"github.com/mltrack/mltrack/mlflowclient"
	"github.com/mltrack/mltrack/search"
	"github.com/mltrack/mltrack/stats"
)

// statsCommand is `mltrack stats`: per group of runs, how many, how often they succeed, how long
// they take, and the trend over time. The runs come from the same search as `mltrack runs search`;
// package stats does the counting and the rendering.
func statsCommand(ctx context.Context, args []string, io stdio, env environment) int {
	const name = "mltrack stats"
	var uriFlag, filterText, groupBy, since, format, view string
	var experiments []string
	var buckets int64
	cmd := historyCLI(name, "runs, success rate and durations per group, with the trend",
		"mltrack stats [-e EXPERIMENT]... [--filter F] [--group-by params.X|tags.X|run_name] [--since 7d] [--buckets N] [--format table|json|csv] [--view active|deleted|all]",
		[]cli.Flag{
			trackingURIFlag(env, &uriFlag),
			&cli.StringSliceFlag{Name: "experiment", Aliases: []string{"e"}, Usage: "count runs of `EXPERIMENT` (a name or an id; repeat for several; default: every active experiment)", Destination: &experiments},
			&cli.StringFlag{Name: "filter", Aliases: []string{"f"}, Usage: "count only the runs the MLflow `FILTER` string matches", Destination: &filterText},
			&cli.StringFlag{Name: "group-by", Aliases: []string{"g"}, Usage: "one line per value of `KEY`: params.X, tags.X or run_name", Destination: &groupBy},
			&cli.StringFlag{Name: "since", Usage: "only runs started in the last `DURATION` (30m, 12h, 7d, 2w) or since a date (2026-11-01)", Destination: &since},
			&cli.Int64Flag{Name: "buckets", Usage: "number of time buckets (`N`) in the trend", Value: stats.DefaultBuckets, Destination: &buckets},
			&cli.StringFlag{Name: "format", Usage: "output `FORMAT`: table, json or csv", Value: "table", Destination: &format},
			viewFlag("runs", &view),
		}, io)
	if goOn, code := runHistoryCLI(ctx, cmd, args[1:], io); !goOn {
		return code
	}
	if cmd.Args().Len() > 0 {
		return historyError(io, name, usageProblem{fmt.Errorf("unexpected argument %q; a filter goes in --filter \"...\"", cmd.Args().First())})
	}
	if err := checkFormat(format, "table", "json", "csv"); err != nil {
		return historyError(io, name, err)
	}
	viewType, err := parseView(view)
	if err != nil {
		return historyError(io, name, err)
	}
	key, err := stats.ParseGroupBy(groupBy)
	if err != nil {
		return historyError(io, name, usageProblem{fmt.Errorf("--group-by: %w", err)})
	}
	if buckets < 1 || buckets > stats.MaxBuckets {
		return historyError(io, name, usageProblem{fmt.Errorf("--buckets %d: give a number from 1 to %d", buckets, stats.MaxBuckets)})
	}
	now := time.Now()
	var sinceTime time.Time
	if since != "" {
		if sinceTime, err = stats.ParseSince(since, now); err != nil {
			return historyError(io, name, usageProblem{fmt.Errorf("--since: %w", err)})
		}
	}
	if _, err := filter.ParseFor(filter.FileStore, filterText); err != nil {
		return historyError(io, name, err)
	}
	// --since narrows the search itself, so the store sends only the runs that count.
	query := filterText
	if !sinceTime.IsZero() {
		clause := fmt.Sprintf("attributes.start_time >= %d", sinceTime.UnixMilli())
		if query == "" {
			query = clause
		} else {
			query += " AND " + clause
		}
	}

	store, done, err := openForHistory(uriFlag, env, io)
	if err != nil {
		return historyError(io, name, err)
	}
	defer done()
	req := search.Request{Filter: query, MaxResults: mlflowclient.SearchMaxResults, View: viewType}
	runs, _, err := searchInExperiments(ctx, store, experiments, req)
	if err != nil {
		return historyError(io, name, err)
	}
	if len(runs) == mlflowclient.SearchMaxResults {
		fmt.Fprintf(io.err, "%s: warning: counted the newest %d runs (MLflow's limit for one search); older ones, if any, are not counted: narrow with --since, --filter or -e\n", name, len(runs))
	}
	report := stats.Compute(runs, stats.Options{GroupBy: key, Since: sinceTime, Now: now, Buckets: int(buckets)})
	switch format {
	case "json":
		err = stats.WriteJSON(io.out, report)
	case "csv":
		err = stats.WriteCSV(io.out, report)
	default:
		err = stats.WriteTable(io.out, report, terminalWidth(io.out))
	}
	if err != nil {
		return historyError(io, name, fmt.Errorf("write the report: %w", err))
	}
	return 0
}
