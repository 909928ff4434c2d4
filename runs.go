package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/urfave/cli/v3"

	"github.com/mltrack/mltrack/filter"
	"github.com/mltrack/mltrack/mlflowclient"
	"github.com/mltrack/mltrack/search"
	"github.com/mltrack/mltrack/stats"
)

const runsUsage = `mltrack runs search [-e EXPERIMENT]... [--filter F] [--order-by CLAUSE]... [--max-results N] [--format table|json|csv]
   mltrack runs get RUN_ID [--format text|json]
   mltrack runs compare RUN_ID RUN_ID... [--diff] [--format table|json]`

// runsCommand is `mltrack runs search|get|compare`: the run history, read from the same store a
// run would be recorded in.
func runsCommand(ctx context.Context, args []string, io stdio, env environment) int {
	if len(args) < 2 {
		fmt.Fprintf(io.err, "mltrack runs: say what to do: search, get or compare\nusage: %s\n", runsUsage)
		return exitUsage
	}
	switch args[1] {
	case "search", "list":
		return runsSearchCommand(ctx, args[2:], io, env)
	case "get":
		return runsGetCommand(ctx, args[2:], io, env)
	case "compare":
		return runsCompareCommand(ctx, args[2:], io, env)
	case "help", "-h", "--help":
		fmt.Fprintf(io.out, "usage: %s\n\nmltrack runs search --help (and get, compare) shows each one's flags; docs/history.md has examples.\n", runsUsage)
		return 0
	}
	fmt.Fprintf(io.err, "mltrack runs: unknown subcommand %q: use search, get or compare\n", args[1])
	return exitUsage
}

// trackingURIFlag is --tracking-uri as every history command takes it.
func trackingURIFlag(env environment, dest *string) cli.Flag {
	return &cli.StringFlag{Name: "tracking-uri", Usage: "read the store at `URI` (default: MLflow's rules, as for a run)", Sources: envVars(env, "MLFLOW_TRACKING_URI"), Destination: dest}
}

func runsSearchCommand(ctx context.Context, args []string, io stdio, env environment) int {
	const name = "mltrack runs search"
	var uriFlag, filterText, format, view string
	var experiments, orderBy, columns []string
	var maxResults int64
	cmd := historyCLI(name, "search runs with MLflow's filter language",
		"mltrack runs search [-e EXPERIMENT]... [--filter F] [--order-by CLAUSE]... [--max-results N] [--format table|json|csv] [--columns KEYS] [--view active|deleted|all]",
		[]cli.Flag{
			trackingURIFlag(env, &uriFlag),
			&cli.StringSliceFlag{Name: "experiment", Aliases: []string{"e"}, Usage: "search `EXPERIMENT` (a name or an id; repeat for several; default: every active experiment)", Destination: &experiments},
			&cli.StringFlag{Name: "filter", Aliases: []string{"f"}, Usage: "MLflow `FILTER` string, e.g. \"metrics.success = 0 AND params.procedure_name = 'x'\"", Destination: &filterText},
			&cli.StringSliceFlag{Name: "order-by", Usage: "MLflow order_by `CLAUSE`, e.g. \"metrics.duration_seconds DESC\" (repeat for several)", Destination: &orderBy},
			&cli.Int64Flag{Name: "max-results", Usage: "return at most `N` runs (MLflow's limit: 50000)", Value: mlflowclient.SearchDefaultMaxResults, Destination: &maxResults},
			&cli.StringFlag{Name: "format", Usage: "output `FORMAT`: table, json (MLflow's REST shape) or csv (mlflow.search_runs's columns)", Value: "table", Destination: &format},
			&cli.StringSliceFlag{Name: "columns", Aliases: []string{"c"}, Usage: "table `COLUMNS` to add: params.X, metrics.X or tags.X, comma-separated (default: the keys the filter and order-by name)", Destination: &columns},
			viewFlag("runs", &view),
		}, io)
	if goOn, code := runHistoryCLI(ctx, cmd, args, io); !goOn {
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
	if maxResults <= 0 || maxResults > mlflowclient.SearchMaxResults {
		return historyError(io, name, usageProblem{fmt.Errorf("--max-results %d: give a number from 1 to %d (MLflow's limit)", maxResults, mlflowclient.SearchMaxResults)})
	}
	cols, err := parseColumns(columns)
	if err != nil {
		return historyError(io, name, err)
	}
	// Check the filter before touching the store, so a typo costs no connection. The file store's
	// rules accept everything any MLflow store accepts; search.Runs then applies the store's own.
	parsed, err := filter.ParseFor(filter.FileStore, filterText)
	if err != nil {
		return historyError(io, name, err)
	}
	parsedOrder, err := filter.ParseOrderByFor(filter.FileStore, orderBy)
	if err != nil {
		return historyError(io, name, err)
	}
	if len(cols) == 0 {
		cols = columnsNamedBy(parsed, parsedOrder)
	}

	store, done, err := openForHistory(uriFlag, env, io)
	if err != nil {
		return historyError(io, name, err)
	}
	defer done()
	// One run more than asked tells whether the limit cut the list (MLflow's own limit aside).
	ask := int(maxResults)
	if ask < mlflowclient.SearchMaxResults {
		ask++
	}
	req := search.Request{Filter: filterText, OrderBy: orderBy, MaxResults: ask, View: viewType}
	runs, exps, err := searchInExperiments(ctx, store, experiments, req)
	if err != nil {
		return historyError(io, name, err)
	}
	cut := len(runs) > int(maxResults)
	if cut {
		runs = runs[:maxResults]
	}
	switch format {
	case "json":
		b, err := mlflowclient.RESTRunsJSON(runs)
		if err != nil {
			return historyError(io, name, err)
		}
		fmt.Fprintf(io.out, "%s\n", b)
	case "csv":
		if err := writeRunsCSV(io, runs); err != nil {
			return historyError(io, name, err)
		}
	default:
		names := map[string]string{}
		for _, e := range exps {
			names[e.ID] = e.Name
		}
		writeRunsTable(io, runs, cols, names, len(exps) > 1, terminalWidth(io.out))
		if cut {
			fmt.Fprintf(io.err, "%s: showing the first %d runs; --max-results raises the limit\n", name, maxResults)
		}
	}
	return 0
}

// column is one extra table column: a metric, param or tag.
type column struct {
	kind filter.KeyKind
	key  string
}

func (c column) header() string {
	switch c.kind {
	case filter.Metric:
		return "metrics." + c.key
	case filter.Param:
		return "params." + c.key
	}
	return "tags." + c.key
}

// value is the run's value for the column, "" when the run has none.
func (c column) value(r mlflowclient.Run) string {
	switch c.kind {
	case filter.Metric:
		for _, m := range r.Data.Metrics {
			if m.Key == c.key {
				return formatMetric(m.Value)
			}
		}
	case filter.Param:
		for _, p := range r.Data.Params {
			if p.Key == c.key {
				return p.Value
			}
		}
	case filter.Tag:
		for _, t := range r.Data.Tags {
			if t.Key == c.key {
				return t.Value
			}
		}
	}
	return ""
}

// parseColumns reads --columns: params.X, metrics.X or tags.X (also param./metric./tag.), several
// per flag separated by commas.
func parseColumns(specs []string) ([]column, error) {
	var out []column
	for _, spec := range specs {
		for _, s := range strings.Split(spec, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			prefix, key, ok := strings.Cut(s, ".")
			var kind filter.KeyKind
			switch prefix {
			case "metrics", "metric":
				kind = filter.Metric
			case "params", "param":
				kind = filter.Param
			case "tags", "tag":
				kind = filter.Tag
			default:
				ok = false
			}
			if !ok || key == "" {
				return nil, usageProblem{fmt.Errorf("--columns %q: name a column as params.KEY, metrics.KEY or tags.KEY", s)}
			}
			out = appendColumn(out, column{kind, key})
		}
	}
	return out, nil
}

func appendColumn(cols []column, c column) []column {
	if slices.Contains(cols, c) {
		return cols
	}
	return append(cols, c)
}

// columnsNamedBy is the default extra columns: the metrics, params and tags the filter and
// order-by look at, so the table shows why each run matched. duration_seconds has its own column.
func columnsNamedBy(f filter.Filter, order []filter.OrderBy) []column {
	var cols []column
	add := func(kind filter.KeyKind, key string) {
		if kind == filter.Metric && key == metricDuration {
			return
		}
		if kind == filter.Metric || kind == filter.Param || kind == filter.Tag {
			cols = appendColumn(cols, column{kind, key})
		}
	}
	for _, c := range f.Clauses {
		add(c.Kind, c.Key)
	}
	for _, o := range order {
		add(o.Kind, o.Key)
	}
	return cols
}

// runDuration is a run's duration in seconds, by the rules `mltrack stats` counts with: mltrack's
// duration_seconds metric when it is a finite, non-negative number, else end minus start for runs
// other clients recorded. ok is false for a run without a usable duration.
func runDuration(r mlflowclient.Run) (seconds float64, ok bool) {
	for _, m := range r.Data.Metrics {
		if m.Key == metricDuration && !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) && m.Value >= 0 && m.Value < math.MaxFloat64 {
			return m.Value, true
		}
	}
	if r.Info.EndTime > 0 && r.Info.StartTime > 0 && r.Info.EndTime >= r.Info.StartTime {
		return float64(r.Info.EndTime-r.Info.StartTime) / 1000, true
	}
	return 0, false
}

// formatSeconds writes a duration the way a person reads it (350ms, 12.3s, 3m04s, 1h02m), as the
// summary line and `mltrack stats` do.
func formatSeconds(s float64) string { return stats.FormatDuration(s) }

// formatMetric writes a metric value compactly but exactly enough to tell runs apart.
func formatMetric(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func formatMillis(ms int64) string {
	if ms <= 0 {
		return ""
	}
	return time.UnixMilli(ms).Local().Format("2006-01-02 15:04:05")
}

// shortID is the part of a run id the table shows; `mltrack runs get` takes it back.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// writeRunsTable prints runs as an aligned table fitted to width (0: no limit).
func writeRunsTable(io stdio, runs []mlflowclient.Run, cols []column, expNames map[string]string, showExperiment bool, width int) {
	if len(runs) == 0 {
		fmt.Fprintln(io.err, "no runs match")
		return
	}
	header := []string{"RUN", "STATUS", "START", "DURATION"}
	if showExperiment {
		header = append(header, "EXPERIMENT")
	}
	header = append(header, "NAME")
	for _, c := range cols {
		header = append(header, c.header())
	}
	rows := [][]string{header}
	for _, r := range runs {
		dur := ""
		if d, ok := runDuration(r); ok {
			dur = formatSeconds(d)
		}
		row := []string{shortID(r.Info.RunID), string(r.Info.Status), formatMillis(r.Info.StartTime), dur}
		if showExperiment {
			row = append(row, expNames[r.Info.ExperimentID])
		}
		row = append(row, r.Info.RunName)
		for _, c := range cols {
			row = append(row, c.value(r))
		}
		rows = append(rows, row)
	}
	// The first four columns are short and never trimmed; names and values give way to the width.
	writeTable(io, rows, 4, width)
}

// writeTable prints rows (the first is the header) in aligned columns separated by two spaces.
// When width > 0 the columns from fixed on are narrowed, widest first, down to 8 characters, so
// that a line fits; a trimmed cell ends with "…".
func writeTable(io stdio, rows [][]string, fixed, width int) {
	if len(rows) == 0 {
		return
	}
	n := len(rows[0])
	widths := make([]int, n)
	for _, row := range rows {
		for i, cell := range row {
			row[i] = printableCell(cell)
			widths[i] = max(widths[i], displayWidth(row[i]))
		}
	}
	if width > 0 {
		total := func() int {
			t := 2 * (n - 1)
			for _, w := range widths {
				t += w
			}
			return t
		}
		for total() > width {
			widest := -1
			for i := fixed; i < n; i++ {
				if widths[i] > 8 && (widest < 0 || widths[i] > widths[widest]) {
					widest = i
				}
			}
			if widest < 0 {
				break
			}
			widths[widest] = max(8, widths[widest]-(total()-width))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		b.Reset()
		for i, cell := range row {
			cell = trimCell(cell, widths[i])
			b.WriteString(cell)
			if i < n-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(cell)+2))
			}
		}
		fmt.Fprintln(io.out, strings.TrimRight(b.String(), " "))
	}
}

// displayWidth counts runes (close enough to terminal cells for the text runs hold).
func displayWidth(s string) int { return len([]rune(s)) }

// printableCell makes a value safe to show on a terminal: tabs and line breaks become spaces, and
// any other control or non-printing character (an escape sequence planted in a run name or param)
// is written as a Go escape, \x1b, so that it can neither drive the terminal nor be cut in half
// by trimming. Invalid UTF-8 bytes are escaped the same way.
func printableCell(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t' || r == '\r':
			b.WriteByte(' ')
		case r != ' ' && !unicode.IsPrint(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

func trimCell(s string, w int) string {
	rs := []rune(s)
	if len(rs) <= w {
		return s
	}
	return string(rs[:w-1]) + "…"
}

// writeRunsCSV prints runs with the columns of mlflow.search_runs's DataFrame: run_id,
// experiment_id, status, artifact_uri, start_time, end_time, then metrics.*, params.*, tags.*
// (each sorted by key, the union over the runs). Times are RFC 3339 in UTC with milliseconds.
func writeRunsCSV(io stdio, runs []mlflowclient.Run) error {
	metricKeys, paramKeys, tagKeys := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		for _, m := range r.Data.Metrics {
			metricKeys[m.Key] = true
		}
		for _, p := range r.Data.Params {
			paramKeys[p.Key] = true
		}
		for _, t := range r.Data.Tags {
			tagKeys[t.Key] = true
		}
	}
	sorted := func(m map[string]bool) []string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys
	}
	mk, pk, tk := sorted(metricKeys), sorted(paramKeys), sorted(tagKeys)
	header := []string{"run_id", "experiment_id", "run_name", "status", "artifact_uri", "start_time", "end_time"}
	for _, k := range mk {
		header = append(header, "metrics."+k)
	}
	for _, k := range pk {
		header = append(header, "params."+k)
	}
	for _, k := range tk {
		header = append(header, "tags."+k)
	}
	cw := csv.NewWriter(io.out)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range runs {
		row := []string{r.Info.RunID, r.Info.ExperimentID, r.Info.RunName, string(r.Info.Status), r.Info.ArtifactURI, csvTime(r.Info.StartTime), csvTime(r.Info.EndTime)}
		metrics := map[string]float64{}
		for _, m := range r.Data.Metrics {
			metrics[m.Key] = m.Value
		}
		params := map[string]string{}
		for _, p := range r.Data.Params {
			params[p.Key] = p.Value
		}
		tags := map[string]string{}
		for _, t := range r.Data.Tags {
			tags[t.Key] = t.Value
		}
		for _, k := range mk {
			if v, ok := metrics[k]; ok {
				row = append(row, strconv.FormatFloat(v, 'g', -1, 64))
			} else {
				row = append(row, "")
			}
		}
		for _, k := range pk {
			row = append(row, params[k])
		}
		for _, k := range tk {
			row = append(row, tags[k])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvTime(ms int64) string {
	if ms <= 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// findRun returns the run with that id, or the only run whose id starts with it (the table's
// short ids). A prefix must be at least 4 characters.
func findRun(ctx context.Context, store mlflowclient.Store, id string) (mlflowclient.Run, error) {
	id = strings.ToLower(id)
	if len(id) == 32 {
		run, err := store.GetRun(ctx, id)
		if errors.Is(err, mlflowclient.ErrNotFound) {
			return run, usageProblem{fmt.Errorf("no run %s in %s", id, store.URI())}
		}
		return run, err
	}
	if len(id) < 4 || strings.Trim(strings.ToLower(id), "0123456789abcdef") != "" {
		return mlflowclient.Run{}, usageProblem{fmt.Errorf("run id %q: give a run id (32 hexadecimal characters) or at least its first 4 characters", id)}
	}
	req := search.Request{Filter: fmt.Sprintf("attributes.run_id LIKE '%s%%'", strings.ToLower(id)), MaxResults: 2, View: mlflowclient.ViewAll}
	runs, _, err := searchInExperiments(ctx, store, nil, req)
	if err != nil {
		return mlflowclient.Run{}, err
	}
	switch len(runs) {
	case 0:
		return mlflowclient.Run{}, usageProblem{fmt.Errorf("no run whose id starts with %s in the active experiments of %s", id, store.URI())}
	case 1:
		// Search results may hold only the latest metric values; GetRun has the whole run.
		return store.GetRun(ctx, runs[0].Info.RunID)
	}
	return mlflowclient.Run{}, usageProblem{fmt.Errorf("run id %s is ambiguous: several runs start with it; give more characters", id)}
}

func runsGetCommand(ctx context.Context, args []string, io stdio, env environment) int {
	const name = "mltrack runs get"
	var uriFlag, format string
	cmd := historyCLI(name, "show everything about one run", "mltrack runs get RUN_ID [--format text|json]",
		[]cli.Flag{
			trackingURIFlag(env, &uriFlag),
			&cli.StringFlag{Name: "format", Usage: "output `FORMAT`: text, or json (MLflow's runs/get shape plus \"artifacts\")", Value: "text", Destination: &format},
		}, io)
	if goOn, code := runHistoryCLI(ctx, cmd, args, io); !goOn {
		return code
	}
	if cmd.Args().Len() != 1 {
		return historyError(io, name, usageProblem{errors.New("give one RUN_ID (the first characters are enough)")})
	}
	if err := checkFormat(format, "text", "json"); err != nil {
		return historyError(io, name, err)
	}
	store, done, err := openForHistory(uriFlag, env, io)
	if err != nil {
		return historyError(io, name, err)
	}
	defer done()
	run, err := findRun(ctx, store, cmd.Args().First())
	if err != nil {
		return historyError(io, name, err)
	}
	artifacts, artErr := listAllArtifacts(ctx, store, run.Info, maxListedArtifacts)
	if artErr != nil {
		fmt.Fprintf(io.err, "%s: warning: could not list the artifacts of run %s: %s\n", name, run.Info.RunID, oneLine(artErr))
	}
	if format == "json" {
		if artifacts == nil {
			artifacts = []mlflowclient.ArtifactInfo{}
		}
		b, err := mlflowclient.RESTRunJSON(run, artifacts)
		if err != nil {
			return historyError(io, name, err)
		}
		fmt.Fprintf(io.out, "%s\n", b)
		return 0
	}
	expName := run.Info.ExperimentID
	if e, err := store.GetExperiment(ctx, run.Info.ExperimentID); err == nil {
		expName = fmt.Sprintf("%s (%s)", e.Name, e.ID)
	}
	writeRunText(io, run, expName, artifacts, artErr == nil)
	return 0
}

// maxListedArtifacts bounds `runs get`'s artifact listing: a run with a huge output directory
// still answers quickly.
const maxListedArtifacts = 1000

// listAllArtifacts walks a run's artifact tree breadth first, files only, at most limit entries.
func listAllArtifacts(ctx context.Context, store mlflowclient.Store, run mlflowclient.RunInfo, limit int) ([]mlflowclient.ArtifactInfo, error) {
	lister, ok := store.(mlflowclient.ArtifactLister)
	if !ok {
		return nil, errors.New("this store cannot list artifacts")
	}
	var files []mlflowclient.ArtifactInfo
	dirs := []string{""}
	for len(dirs) > 0 && len(files) < limit {
		dir := dirs[0]
		dirs = dirs[1:]
		entries, err := lister.ListArtifacts(ctx, run, dir)
		if err != nil {
			return files, err
		}
		for _, e := range entries {
			if e.IsDir {
				dirs = append(dirs, e.Path)
			} else if len(files) < limit {
				files = append(files, e)
			}
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

func writeRunText(io stdio, run mlflowclient.Run, expName string, artifacts []mlflowclient.ArtifactInfo, listed bool) {
	info := run.Info
	kv := [][]string{
		{"run", info.RunID},
		{"name", info.RunName},
		{"experiment", expName},
		{"status", string(info.Status)},
		{"start", formatMillis(info.StartTime)},
		{"end", formatMillis(info.EndTime)},
	}
	if d, ok := runDuration(run); ok {
		kv = append(kv, []string{"duration", formatSeconds(d)})
	}
	kv = append(kv, []string{"user", info.UserID}, []string{"artifacts at", info.ArtifactURI})
	if info.LifecycleStage != "" && info.LifecycleStage != mlflowclient.LifecycleActive {
		kv = append(kv, []string{"lifecycle", info.LifecycleStage})
	}
	writeTable(io, kv, 2, 0)
	section := func(title string, rows [][]string) {
		fmt.Fprintf(io.out, "\n%s (%d)\n", title, len(rows))
		for i := range rows {
			rows[i] = append([]string{""}, rows[i]...)
		}
		writeTable(io, rows, len(rows), 0)
	}
	var rows [][]string
	for _, p := range run.Data.Params {
		rows = append(rows, []string{p.Key, p.Value})
	}
	section("params", rows)
	rows = nil
	for _, m := range run.Data.Metrics {
		rows = append(rows, []string{m.Key, formatMetric(m.Value), fmt.Sprintf("step %d", m.Step)})
	}
	section("metrics", rows)
	rows = nil
	for _, t := range run.Data.Tags {
		rows = append(rows, []string{t.Key, t.Value})
	}
	section("tags", rows)
	if listed {
		rows = nil
		for _, a := range artifacts {
			rows = append(rows, []string{a.Path, formatBytes(a.Size)})
		}
		section("artifacts", rows)
		if len(artifacts) == maxListedArtifacts {
			fmt.Fprintf(io.out, "  (the first %d; `mlflow artifacts list` shows them all)\n", maxListedArtifacts)
		}
	}
}

func formatBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

// comparisonRow is one key of `runs compare`: its value in each run ("" when absent).
type comparisonRow struct {
	Key     string   `json:"key"`
	Values  []string `json:"values"`
	Differs bool     `json:"differs"`
}

func runsCompareCommand(ctx context.Context, args []string, io stdio, env environment) int {
	const name = "mltrack runs compare"
	var uriFlag, format string
	var onlyDiff bool
	cmd := historyCLI(name, "show runs' params and metrics side by side", "mltrack runs compare RUN_ID RUN_ID... [--diff] [--format table|json]",
		[]cli.Flag{
			trackingURIFlag(env, &uriFlag),
			&cli.BoolFlag{Name: "diff", Usage: "show only the keys whose values differ", Destination: &onlyDiff},
			&cli.StringFlag{Name: "format", Usage: "output `FORMAT`: table or json", Value: "table", Destination: &format},
		}, io)
	if goOn, code := runHistoryCLI(ctx, cmd, args, io); !goOn {
		return code
	}
	ids := cmd.Args().Slice()
	if len(ids) < 2 {
		return historyError(io, name, usageProblem{errors.New("give at least two RUN_IDs to compare")})
	}
	if err := checkFormat(format, "table", "json"); err != nil {
		return historyError(io, name, err)
	}
	store, done, err := openForHistory(uriFlag, env, io)
	if err != nil {
		return historyError(io, name, err)
	}
	defer done()
	var runs []mlflowclient.Run
	for _, id := range ids {
		run, err := findRun(ctx, store, id)
		if err != nil {
			return historyError(io, name, err)
		}
		runs = append(runs, run)
	}
	rows := compareRuns(runs)
	if onlyDiff {
		kept := rows[:0]
		for _, r := range rows {
			if r.Differs {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	if format == "json" {
		body := struct {
			RunIDs []string        `json:"run_ids"`
			Rows   []comparisonRow `json:"rows"`
		}{Rows: rows}
		for _, r := range runs {
			body.RunIDs = append(body.RunIDs, r.Info.RunID)
		}
		if body.Rows == nil {
			body.Rows = []comparisonRow{}
		}
		writeJSON(io, body)
		return 0
	}
	header := []string{"", "KEY"}
	for _, r := range runs {
		header = append(header, shortID(r.Info.RunID))
	}
	table := [][]string{header}
	for _, r := range rows {
		mark := ""
		if r.Differs {
			mark = "≠"
		}
		table = append(table, append([]string{mark, r.Key}, r.Values...))
	}
	writeTable(io, table, 2, terminalWidth(io.out))
	return 0
}

// compareRuns lines the runs up key by key: a few attributes, then every param and metric any of
// them has (sorted). A key differs when any two runs' values differ, absence included.
func compareRuns(runs []mlflowclient.Run) []comparisonRow {
	var rows []comparisonRow
	add := func(key string, value func(mlflowclient.Run) string) {
		row := comparisonRow{Key: key}
		for _, r := range runs {
			row.Values = append(row.Values, value(r))
		}
		for _, v := range row.Values[1:] {
			if v != row.Values[0] {
				row.Differs = true
			}
		}
		rows = append(rows, row)
	}
	add("run_name", func(r mlflowclient.Run) string { return r.Info.RunName })
	add("status", func(r mlflowclient.Run) string { return string(r.Info.Status) })
	add("start_time", func(r mlflowclient.Run) string { return csvTime(r.Info.StartTime) })
	add("duration", func(r mlflowclient.Run) string {
		if d, ok := runDuration(r); ok {
			return formatSeconds(d)
		}
		return ""
	})
	params, metrics := map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		for _, p := range r.Data.Params {
			params[p.Key] = true
		}
		for _, m := range r.Data.Metrics {
			metrics[m.Key] = true
		}
	}
	for _, k := range sortedKeys(params) {
		add("params."+k, column{filter.Param, k}.value)
	}
	for _, k := range sortedKeys(metrics) {
		// Exact values: two metrics that differ in the 7th digit differ.
		add("metrics."+k, func(r mlflowclient.Run) string {
			for _, m := range r.Data.Metrics {
				if m.Key == k {
					return strconv.FormatFloat(m.Value, 'g', -1, 64)
				}
			}
			return ""
		})
	}
	return rows
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
