package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/mltrack/mltrack/delivery"
	"github.com/mltrack/mltrack/journal"
	"github.com/mltrack/mltrack/mlflowclient"
)

// syncCommand is `mltrack sync`: deliver the runs kept in the local journal.
//
//	mltrack sync                       runs meant for the current tracking URI, delivered there
//	mltrack sync --tracking-uri URI    runs meant for URI, delivered there (with URI's credentials)
//	mltrack sync --from OLD --tracking-uri NEW   runs meant for OLD, delivered to NEW instead
//	mltrack sync --list                what is pending, where it is meant to go, and its state
func syncCommand(ctx context.Context, args []string, io stdio, env environment) int {
	var uriFlag, from, budget string
	var list, asJSON, ran bool
	cmd := &cli.Command{
		Name:            "sync",
		Usage:           "deliver the runs kept in the local journal",
		UsageText:       "mltrack sync [--tracking-uri URI] [--from URI] [--list] [--json] [--budget DURATION]",
		HideHelpCommand: true,
		Writer:          io.err,
		ErrWriter:       io.err,
		ExitErrHandler:  func(context.Context, *cli.Command, error) {},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "tracking-uri", Usage: "deliver to this store (default: MLflow's rules, as for a run)", Sources: envVars(env, "MLFLOW_TRACKING_URI"), Destination: &uriFlag},
			&cli.StringFlag{Name: "from", Usage: "deliver the runs meant for this URI (default: the destination itself)", Destination: &from},
			&cli.BoolFlag{Name: "list", Usage: "list pending runs instead of delivering them", Destination: &list},
			&cli.BoolFlag{Name: "json", Usage: "print results as JSON lines", Destination: &asJSON},
			&cli.StringFlag{Name: "budget", Usage: "stop delivering after `DURATION`; the rest stays pending", Value: "10m", Destination: &budget},
		},
		Action: func(context.Context, *cli.Command) error { ran = true; return nil },
	}
	if err := cmd.Run(ctx, append([]string{"mltrack sync"}, args[1:]...)); err != nil {
		fmt.Fprintf(io.err, "mltrack sync: %s\n", oneLine(err))
		return exitUsage
	}
	if !ran {
		return 0 // --help
	}
	spoolDir := spoolDirFor(env)
	if list {
		return listPending(io, spoolDir, asJSON)
	}
	d, err := parseDuration(budget)
	if err != nil {
		fmt.Fprintf(io.err, "mltrack sync: --budget: %s\n", oneLine(err))
		return exitUsage
	}
	cwd, _ := os.Getwd()
	uri, err := mlflowclient.ResolveTrackingURI(uriFlag, cwd)
	if err != nil {
		fmt.Fprintf(io.err, "mltrack sync: %s\n", oneLine(err))
		return exitUsage
	}
	w := &warnings{}
	store, err := mlflowclient.Open(uri, mlflowclient.Options{
		LockTimeout: 10 * time.Second,
		Warn:        func(msg string) { w.add("%s", msg) },
		HTTP:        httpOptions(env, w.add, io.err),
		UserAgent:   userAgent(),
	})
	if err != nil {
		fmt.Fprintf(io.err, "mltrack sync: %s\n", oneLine(err))
		return 1
	}
	defer store.Close()
	source := store.URI()
	if from != "" {
		if source, err = mlflowclient.AbsoluteURI(from, cwd); err != nil {
			fmt.Fprintf(io.err, "mltrack sync: --from: %s\n", oneLine(err))
			return exitUsage
		}
		source = mlflowclient.RedactURI(source)
	}
	dctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	pending, errs := journal.List(spoolDir)
	status := 0
	n := 0
	for _, p := range pending {
		if p.Meta.TrackingURI == "" || !delivery.SameDestination(p.Meta.TrackingURI, source) {
			continue
		}
		n++
		if dctx.Err() != nil {
			fmt.Fprintf(io.err, "mltrack sync: budget of %s used up; %s left pending\n", d, p.Meta.Key)
			status = 1
			continue
		}
		res, _ := delivery.Deliver(dctx, p, store, delivery.Options{})
		printResult(io, res, asJSON)
		if res.State == delivery.StateFailed {
			status = 1
		}
	}
	for _, e := range errs {
		fmt.Fprintf(io.err, "mltrack sync: %s\n", oneLine(e))
		status = 1
	}
	w.print(io.err)
	if n == 0 && !asJSON {
		fmt.Fprintf(io.err, "mltrack sync: nothing pending for %s (mltrack sync --list shows every pending run)\n", source)
	}
	return status
}

func printResult(io stdio, res delivery.Result, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(io.out, string(b))
		return
	}
	fmt.Fprintf(io.out, "%s\n", res.String())
	for _, w := range res.Warnings {
		fmt.Fprintf(io.err, "mltrack sync: warning: %s\n", w)
	}
}

// listPending prints one line per pending run: when, where it is meant to go, what is left, state.
func listPending(io stdio, spoolDir string, asJSON bool) int {
	pending, errs := journal.List(spoolDir)
	type row struct {
		Key         string    `json:"key"`
		Created     time.Time `json:"created"`
		Destination string    `json:"destination"`
		Experiment  string    `json:"experiment,omitempty"`
		Undelivered int       `json:"undelivered_events"`
		State       string    `json:"state"`
		Journal     string    `json:"journal"`
	}
	var rows []row
	for _, p := range pending {
		state := "pending"
		if h := journal.LockHolder(p.Dir); h != nil {
			state = "locked: " + h.Error()
		} else if !p.Ended() {
			if gone, _ := journal.OwnerGone(p.Meta); gone {
				state = "interrupted (its mltrack is gone; sync closes it as FAILED)"
			} else {
				state = "running"
			}
		}
		exp := p.Meta.Experiment
		if exp == "" {
			exp = p.Meta.ExperimentID
		}
		rows = append(rows, row{p.Meta.Key, p.Meta.Created, p.Meta.TrackingURI, exp, len(p.Undelivered()), state, p.Dir})
	}
	if asJSON {
		for _, r := range rows {
			b, _ := json.Marshal(r)
			fmt.Fprintln(io.out, string(b))
		}
	} else if len(rows) == 0 {
		fmt.Fprintf(io.out, "nothing pending in %s\n", spoolDir)
	} else {
		tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tCREATED\tDESTINATION\tEXPERIMENT\tEVENTS\tSTATE")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", r.Key, r.Created.Local().Format("2006-01-02 15:04:05"), r.Destination, r.Experiment, r.Undelivered, r.State)
		}
		tw.Flush()
	}
	for _, e := range errs {
		fmt.Fprintf(io.err, "mltrack sync: %s\n", oneLine(e))
	}
	if len(errs) > 0 {
		return 1
	}
	return 0
}

// spoolDirFor is the journal directory from mltrack's environment.
func spoolDirFor(env environment) string {
	return journal.DefaultDir(env.get("MLTRACK_SPOOL_DIR"), env.get("XDG_STATE_HOME"), homeDir(env), env.get("LOCALAPPDATA"))
}

// spoolCap is the size above which mltrack prunes delivered data from the journal and warns.
const spoolCap = 1 << 30

// afterRun is the journal's housekeeping at the end of a run: deliver runs left pending for the
// same store (an outage heals itself, inside the end budget, without sending anything to another
// store), keep the spool under its cap, and warn loudly when pending runs sit on a machine that
// will not last.
func (t *tracker) afterRun(ctx context.Context, tracking trackingState) {
	if tracking.State == "delivered" && t.rec.store != nil && ctx.Err() == nil {
		t.deliverEarlierRuns(ctx)
	}
	if _, warns := journal.Prune(t.spoolDir, spoolCap); len(warns) > 0 {
		for _, w := range warns {
			t.warnings.add("%s", w)
		}
	}
	if tracking.State != "journaled" {
		return
	}
	if ephemeral, provider := journal.LooksEphemeral(t.env.get); ephemeral {
		t.warnings.add("this looks like a %s machine: the run kept in %s will be lost with the machine; run `mltrack sync` before the job ends (or fix the tracking store)", provider, tracking.Journal)
	} else {
		t.warnings.add("%s", syncHint(t.uri, t.journalURI))
	}
}

// syncHint says how to deliver a journaled run: to the resolved store (absolute, so it works from
// any directory), or, when the tracking URI itself was unusable, to a store the user picks.
func syncHint(resolved, journalURI string) string {
	if resolved == "" {
		return fmt.Sprintf("once the tracking URI is fixed, deliver it with: mltrack sync --from %s --tracking-uri URI", shellQuote(journalURI))
	}
	return "deliver it later with: mltrack sync --tracking-uri " + shellQuote(mlflowclient.RedactURI(resolved))
}

// deliverEarlierRuns delivers journals left for this run's store. Journals held by another process
// (runs still being recorded, or delivered by a sync) are skipped without being read, so that many
// mltrack processes ending at once do not read each other's journals.
func (t *tracker) deliverEarlierRuns(ctx context.Context) {
	entries, err := os.ReadDir(t.spoolDir)
	if err != nil {
		return
	}
	var pending []journal.Pending
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(t.spoolDir, e.Name())
		if journal.LockHolder(dir) != nil {
			continue
		}
		p, err := journal.Load(dir)
		if err != nil || p.Meta.TrackingURI == "" || !delivery.SameDestination(p.Meta.TrackingURI, t.rec.store.URI()) {
			continue
		}
		pending = append(pending, p)
	}
	// Oldest first, so that a parent run is in the store before its children are linked to it.
	sort.Slice(pending, func(i, j int) bool { return pending[i].Meta.Created.Before(pending[j].Meta.Created) })
	for _, p := range pending {
		if ctx.Err() != nil {
			return
		}
		res, _ := delivery.Deliver(ctx, p, t.rec.store, delivery.Options{ClosedBy: "mltrack"})
		if res.State == delivery.StateDelivered {
			t.notes = append(t.notes, "delivered an earlier run kept in the journal: "+res.String())
		}
	}
}
