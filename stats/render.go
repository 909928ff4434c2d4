package stats

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Labels the table and CSV use for rows that are not a key.
const (
	missingLabel = "(none)"
	totalLabel   = "(all)"
)

// FormatDuration spells seconds for people: 350ms, 1.2s, 42s, 3m04s, 1h02m, 2d03h; "-" for NaN.
// Each form is rounded before the unit is chosen, so 59.6 s is 1m00s, not 60s.
func FormatDuration(sec float64) string {
	switch {
	case math.IsNaN(sec) || sec < 0:
		return "-"
	case math.IsInf(sec, 1):
		return "∞"
	}
	if ms := math.Round(sec * 1000); ms < 1000 {
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	}
	if tenths := math.Round(sec * 10); tenths < 100 {
		return strconv.FormatFloat(tenths/10, 'f', 1, 64) + "s"
	}
	if s := math.Round(sec); s < 60 {
		return strconv.FormatFloat(s, 'f', 0, 64) + "s"
	} else if s < 3600 {
		return fmt.Sprintf("%dm%02ds", int64(s)/60, int64(s)%60)
	}
	if m := math.Round(sec / 60); m < 24*60 {
		return fmt.Sprintf("%dh%02dm", int64(m)/60, int64(m)%60)
	}
	h := math.Round(sec / 3600)
	if h >= 1e15 {
		return "∞"
	}
	return fmt.Sprintf("%dd%02dh", int64(h)/24, int64(h)%24)
}

// formatRate spells a success rate as a percentage with one decimal; "-" for NaN. Rounding never
// reaches 100.0% while a run failed, nor 0.0% while one succeeded (999 of 1000 is 99.9%).
func formatRate(r float64) string {
	if math.IsNaN(r) {
		return "-"
	}
	tenths := math.Round(r * 1000)
	switch {
	case tenths >= 1000 && r < 1:
		tenths = 999
	case tenths <= 0 && r > 0:
		tenths = 1
	}
	return strconv.FormatFloat(tenths/10, 'f', 1, 64) + "%"
}

// sparkLevels draw success rates from 0% (lowest) to 100% (full block).
var sparkLevels = []rune("▁▂▃▄▅▆▇█")

// noFinishedRun marks a bucket without a finished run (empty, or running runs only).
const noFinishedRun = '·'

// Sparkline draws the per-bucket success rate of a trend, one character per bucket.
func Sparkline(trend []Bucket) string {
	var b strings.Builder
	for _, bk := range trend {
		if math.IsNaN(bk.SuccessRate) {
			b.WriteRune(noFinishedRun)
			continue
		}
		b.WriteRune(sparkLevels[int(math.Round(bk.SuccessRate*float64(len(sparkLevels)-1)))])
	}
	return b.String()
}

// displayKey is how a group's key appears in the table: quoted when it is empty, could be
// mistaken for a label, or holds characters that would break the layout or drive the terminal
// (control characters, escape sequences).
func displayKey(g Group) string {
	if g.Missing {
		return missingLabel
	}
	k := g.Key
	if k == "" || k == missingLabel || k == totalLabel || !printable(k) {
		return strconv.Quote(k)
	}
	return k
}

// printable reports whether s is valid UTF-8 without control or other non-printing characters
// (spaces excepted).
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r != ' ' && !unicode.IsPrint(r) })
}

// truncate shortens s to at most w runes, marking the cut with "…".
func truncate(s string, w int) string {
	if utf8.RuneCountInString(s) <= w {
		return s
	}
	if w <= 1 {
		return "…"
	}
	r := []rune(s)
	return string(r[:w-1]) + "…"
}

// tableLayout is one way to fit the table: which optional columns it shows and how narrow the key
// column may get.
type tableLayout struct {
	trend, counts bool
	keyMin        int
}

// layouts are tried in order until one fits the width: first the key column is trimmed, then the
// failed and running counts are dropped (the success rate remains), then the trend.
var layouts = []tableLayout{
	{trend: true, counts: true, keyMin: 12},
	{trend: true, counts: false, keyMin: 12},
	{trend: false, counts: true, keyMin: 12},
	{trend: false, counts: false, keyMin: 8},
	{trend: false, counts: false, keyMin: 4},
}

// WriteTable writes the report as aligned columns: the key, runs, success rate, failed, running,
// median, p95 and max duration, and a sparkline of the success rate per trend bucket, followed by a
// legend for the sparkline. width is the terminal width (<= 0: unlimited); when the table does not
// fit, the key column is trimmed (with "…"), then the failed and running columns are dropped, then
// the trend. Without runs it writes "no runs".
func WriteTable(w io.Writer, r Report, width int) error {
	bw := bufio.NewWriter(w)
	if r.Total.Runs == 0 {
		fmt.Fprintln(bw, "no runs")
		return bw.Flush()
	}
	rows := r.Groups
	keyHeader := r.GroupBy.String()
	if keyHeader == "" {
		keyHeader = "group"
	} else if !printable(keyHeader) {
		keyHeader = strconv.Quote(keyHeader)
	}
	keys := make([]string, 0, len(rows)+1)
	for _, g := range rows {
		keys = append(keys, displayKey(g))
	}
	keys = append(keys, totalLabel)
	all := append(append([]Group(nil), rows...), r.Total)

	type cells struct{ runs, rate, failed, running, median, p95, max, trend string }
	header := cells{"runs", "success", "failed", "running", "median", "p95", "max", "trend"}
	body := make([]cells, len(all))
	for i, g := range all {
		body[i] = cells{
			strconv.Itoa(g.Runs), formatRate(g.SuccessRate), strconv.Itoa(g.Failed), strconv.Itoa(g.Running),
			FormatDuration(g.DurationMedian), FormatDuration(g.DurationP95), FormatDuration(g.DurationMax),
			Sparkline(g.Trend),
		}
	}
	colw := func(get func(cells) string) int {
		n := utf8.RuneCountInString(get(header))
		for _, c := range body {
			n = max(n, utf8.RuneCountInString(get(c)))
		}
		return n
	}
	wRuns := colw(func(c cells) string { return c.runs })
	wRate := colw(func(c cells) string { return c.rate })
	wFailed := colw(func(c cells) string { return c.failed })
	wRunning := colw(func(c cells) string { return c.running })
	wMedian := colw(func(c cells) string { return c.median })
	wP95 := colw(func(c cells) string { return c.p95 })
	wMax := colw(func(c cells) string { return c.max })
	wTrend := colw(func(c cells) string { return c.trend })
	keyNatural := utf8.RuneCountInString(keyHeader)
	for _, k := range keys {
		keyNatural = max(keyNatural, utf8.RuneCountInString(k))
	}

	const gap = 2
	fixed := func(l tableLayout) int {
		n := wRuns + wRate + wMedian + wP95 + wMax + 5*gap
		if l.counts {
			n += wFailed + wRunning + 2*gap
		}
		if l.trend && len(r.Total.Trend) > 0 {
			n += wTrend + gap
		}
		return n
	}
	layout := layouts[0]
	keyW := keyNatural
	if width > 0 {
		layout = layouts[len(layouts)-1]
		for _, l := range layouts {
			if fixed(l)+min(keyNatural, l.keyMin) <= width {
				layout = l
				break
			}
		}
		keyW = max(min(keyNatural, width-fixed(layout)), min(keyNatural, layout.keyMin))
	}
	showTrend := layout.trend && len(r.Total.Trend) > 0

	writeRow := func(key string, c cells) {
		var b strings.Builder
		pad := func(s string, w int, right bool) {
			n := w - utf8.RuneCountInString(s)
			if right {
				b.WriteString(strings.Repeat(" ", max(n, 0)))
				b.WriteString(s)
			} else {
				b.WriteString(s)
				b.WriteString(strings.Repeat(" ", max(n, 0)))
			}
		}
		sep := func() { b.WriteString(strings.Repeat(" ", gap)) }
		pad(truncate(key, keyW), keyW, false)
		sep()
		pad(c.runs, wRuns, true)
		sep()
		pad(c.rate, wRate, true)
		if layout.counts {
			sep()
			pad(c.failed, wFailed, true)
			sep()
			pad(c.running, wRunning, true)
		}
		sep()
		pad(c.median, wMedian, true)
		sep()
		pad(c.p95, wP95, true)
		sep()
		pad(c.max, wMax, true)
		if showTrend {
			sep()
			b.WriteString(c.trend)
		}
		bw.WriteString(strings.TrimRight(b.String(), " "))
		bw.WriteByte('\n')
	}
	writeRow(keyHeader, header)
	for i, c := range body {
		writeRow(keys[i], c)
	}
	if showTrend {
		bw.WriteString(trendLegend(r, width))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// trendLegend explains the trend column in the longest wording that fits the width.
func trendLegend(r Report, width int) string {
	step := FormatDuration(r.TrendEnd.Sub(r.TrendStart).Seconds() / float64(len(r.Total.Trend)))
	const stamp = "2006-01-02 15:04"
	from, to := r.TrendStart.Format(stamp), r.TrendEnd.Format(stamp)
	scale := fmt.Sprintf("%c 0%% … %c 100%%", sparkLevels[0], sparkLevels[len(sparkLevels)-1])
	if !r.TrendEnd.After(r.TrendStart) {
		return fmt.Sprintf("trend: success rate at %s; %s", from, scale)
	}
	candidates := []string{
		fmt.Sprintf("trend: success rate per %s from %s to %s; %s, %c no finished run", step, from, to, scale, noFinishedRun),
		fmt.Sprintf("trend: success rate per %s up to %s; %s, %c none", step, to, scale, noFinishedRun),
		fmt.Sprintf("trend: success rate per %s; %s, %c none", step, scale, noFinishedRun),
		fmt.Sprintf("trend: success rate per %s", step),
	}
	for _, c := range candidates {
		if width <= 0 || utf8.RuneCountInString(c) <= width {
			return c
		}
	}
	return candidates[len(candidates)-1]
}

// JSON shapes. Field names are part of mltrack's interface (docs: the package comment of WriteJSON).
type jsonReport struct {
	GroupBy    *string     `json:"group_by"`
	Since      *string     `json:"since"`
	TrendStart *string     `json:"trend_start"`
	TrendEnd   *string     `json:"trend_end"`
	Total      jsonGroup   `json:"total"`
	Groups     []jsonGroup `json:"groups"`
}

type jsonGroup struct {
	Key            *string      `json:"key"`
	Missing        bool         `json:"missing"`
	Runs           int          `json:"runs"`
	Succeeded      int          `json:"succeeded"`
	Failed         int          `json:"failed"`
	Running        int          `json:"running"`
	SuccessRate    *float64     `json:"success_rate"`
	Durations      int          `json:"durations"`
	DurationMedian *float64     `json:"duration_median_seconds"`
	DurationP95    *float64     `json:"duration_p95_seconds"`
	DurationMax    *float64     `json:"duration_max_seconds"`
	FirstStart     *string      `json:"first_start_time"`
	LastStart      *string      `json:"last_start_time"`
	Trend          []jsonBucket `json:"trend"`
}

type jsonBucket struct {
	Start          string   `json:"start"`
	End            string   `json:"end"`
	Runs           int      `json:"runs"`
	Succeeded      int      `json:"succeeded"`
	Failed         int      `json:"failed"`
	SuccessRate    *float64 `json:"success_rate"`
	DurationMedian *float64 `json:"duration_median_seconds"`
}

// jsonTimeLayout is RFC 3339 in UTC with milliseconds, MLflow's time resolution.
const jsonTimeLayout = "2006-01-02T15:04:05.000Z07:00"

func jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(jsonTimeLayout)
	return &s
}

func jsonNumber(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func toJSONGroup(g Group, total bool) jsonGroup {
	j := jsonGroup{
		Missing: g.Missing, Runs: g.Runs, Succeeded: g.Succeeded, Failed: g.Failed, Running: g.Running,
		SuccessRate: jsonNumber(g.SuccessRate), Durations: g.Durations,
		DurationMedian: jsonNumber(g.DurationMedian), DurationP95: jsonNumber(g.DurationP95),
		DurationMax: jsonNumber(g.DurationMax),
		FirstStart:  jsonTime(g.First), LastStart: jsonTime(g.Last),
		Trend: make([]jsonBucket, len(g.Trend)),
	}
	if !total && !g.Missing {
		k := g.Key
		j.Key = &k
	}
	for i, b := range g.Trend {
		j.Trend[i] = jsonBucket{
			Start: *jsonTime(b.Start), End: *jsonTime(b.End),
			Runs: b.Runs, Succeeded: b.Succeeded, Failed: b.Failed,
			SuccessRate: jsonNumber(b.SuccessRate), DurationMedian: jsonNumber(b.DurationMedian),
		}
	}
	return j
}

// WriteJSON writes the report as one indented JSON object:
//
//	{"group_by": "params.model" | null, "since": TIME | null, "trend_start": TIME | null,
//	 "trend_end": TIME | null, "total": GROUP, "groups": [GROUP...]}
//
// GROUP is {"key": string | null (null for total and for the missing group), "missing": bool,
// "runs", "succeeded", "failed", "running", "durations" (runs with a duration): integers,
// "success_rate": 0..1 | null, "duration_median_seconds", "duration_p95_seconds",
// "duration_max_seconds": number | null, "first_start_time", "last_start_time": TIME | null,
// "trend": [{"start", "end": TIME, "runs", "succeeded", "failed": integers, "success_rate",
// "duration_median_seconds": number | null}...]}. TIME is RFC 3339 in UTC with milliseconds.
// "groups" is [] without --group-by. NaN never appears: a value that does not exist is null.
func WriteJSON(w io.Writer, r Report) error {
	j := jsonReport{
		Since: jsonTime(r.Since), TrendStart: jsonTime(r.TrendStart), TrendEnd: jsonTime(r.TrendEnd),
		Total:  toJSONGroup(r.Total, true),
		Groups: make([]jsonGroup, len(r.Groups)),
	}
	if s := r.GroupBy.String(); s != "" {
		j.GroupBy = &s
	}
	for i, g := range r.Groups {
		j.Groups[i] = toJSONGroup(g, false)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(j); err != nil {
		return fmt.Errorf("writing stats as JSON: %w", err)
	}
	return nil
}

// csvHeader names the CSV columns. "row" is "group" or "total"; empty cells are values that do not
// exist (no finished run, no duration, unknown time). The trend is in the JSON output only.
var csvHeader = []string{
	"row", "key", "missing", "runs", "succeeded", "failed", "running", "success_rate",
	"durations", "duration_median_seconds", "duration_p95_seconds", "duration_max_seconds",
	"first_start_time", "last_start_time",
}

func csvNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func csvTime(t time.Time) string {
	if s := jsonTime(t); s != nil {
		return *s
	}
	return ""
}

// WriteCSV writes one header line (csvHeader's columns) and a row per group, then the total row
// (row = "total", empty key). Keys are written as they are, quoted by CSV's rules.
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	row := func(kind string, g Group) []string {
		return []string{
			kind, g.Key, strconv.FormatBool(g.Missing),
			strconv.Itoa(g.Runs), strconv.Itoa(g.Succeeded), strconv.Itoa(g.Failed), strconv.Itoa(g.Running),
			csvNumber(g.SuccessRate), strconv.Itoa(g.Durations),
			csvNumber(g.DurationMedian), csvNumber(g.DurationP95), csvNumber(g.DurationMax),
			csvTime(g.First), csvTime(g.Last),
		}
	}
	cw.Write(csvHeader)
	for _, g := range r.Groups {
		cw.Write(row("group", g))
	}
	cw.Write(row("total", r.Total))
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing stats as CSV: %w", err)
	}
	return nil
}
