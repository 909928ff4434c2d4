// Package stats computes what `mltrack stats` prints: per group of runs, how many ran, how many
// succeeded, and how long they took (median, 95th percentile, maximum), with a trend over time; and
// renders it as an aligned table, JSON or CSV.
//
// # How a run is read
//
// Runs recorded by mltrack carry the metrics success (1/0), exit_code and duration_seconds
// (docs/metrics.md). Runs recorded by other MLflow clients may not, so each value falls back:
//
//   - Running: a run whose status is RUNNING or SCHEDULED is counted as running, whatever its
//     metrics say. Running runs count in Runs and Running only: they are left out of the success
//     rate, the durations and the per-bucket success rate.
//   - Outcome of any other run: the success metric when present (non-zero = succeeded, 0 = failed;
//     NaN is treated as absent); else the exit_code metric (0 = succeeded); else the status
//     (FINISHED = succeeded; FAILED, KILLED or anything else = failed).
//   - Duration of a run that is not running: the duration_seconds metric when present, finite and
//     not negative; else (end_time - start_time) / 1000 when both are set (> 0) and end_time is not
//     before start_time; else the run has no duration (it still counts for the success rate).
//   - Run name (--group-by run_name): the run's run_name, else its mlflow.runName tag.
//   - start_time <= 0 means unknown: such runs are dropped when Options.Since is set (they cannot be
//     shown to be recent); otherwise they are counted but are not placed in the trend nor in
//     First/Last.
//
// Runs lacking the grouped param or tag (or without a name) form one group with Missing set; it is
// shown as "(none)". A param present with an empty value is the group "" (shown as `""`).
//
// # Numbers
//
// SuccessRate = Succeeded / (Succeeded + Failed), NaN when there is no finished run (null in JSON,
// empty in CSV, "-" in the table). Percentiles use linear interpolation between closest ranks,
// numpy's and pandas' default (numpy.percentile(method="linear"), Hyndman & Fan type 7): for the
// sorted values x[0..n-1] and p in [0, 1], h = (n-1)·p and the result is
// x[⌊h⌋] + (h-⌊h⌋)·(x[⌊h⌋+1]-x[⌊h⌋]). So the median of an even count is the mean of the two middle
// values, and numpy.percentile(durations, 95) or pandas' Series.quantile(0.95) give the same p95.
// Durations are in seconds; NaN when the group has no duration.
//
// # Trend
//
// The time range [Since, or the first run's start; Now, or the last run's start if later] is split
// into Options.Buckets equal buckets (default 10, at most 200), the same for every group so that
// columns line up; each run falls in the bucket of its start_time. A zero-length range has one
// bucket. Each bucket counts runs, successes and failures and has its own success rate and median
// duration.
package stats

import (
	"math"
	"math/bits"
	"sort"
	"time"

	"github.com/mltrack/mltrack/mlflowclient"
)

// Options says how to compute a Report.
type Options struct {
	GroupBy GroupKey  // Kind "" = one group, the total
	Since   time.Time // runs that started before it are left out; zero = all runs
	Now     time.Time // end of the trend range (if later than the last run); zero = the last run's start. Its location is the one of the Report's times.
	Buckets int       // number of trend buckets; <= 0 means DefaultBuckets; capped at MaxBuckets
}

// Bucket counts.
const (
	DefaultBuckets = 10
	MaxBuckets     = 200
)

// Group is the statistics of one group of runs (or of all runs: Report.Total).
type Group struct {
	Key     string // the param or tag value or run name; "" for Total and for the missing group
	Missing bool   // the runs lack the param, tag or name

	Runs, Succeeded, Failed, Running int
	SuccessRate                      float64 // Succeeded/(Succeeded+Failed); NaN without finished runs

	DurationMedian, DurationP95, DurationMax float64 // seconds; NaN without durations
	Durations                                int     // how many runs had a duration

	First, Last time.Time // earliest and latest start_time; zero when unknown
	Trend       []Bucket
}

// Bucket is one time slice of a group's trend: the runs that started in [Start, End) (the last
// bucket includes End).
type Bucket struct {
	Start, End                  time.Time
	Runs, Succeeded, Failed     int
	SuccessRate, DurationMedian float64 // NaN when there is no finished run / no duration
}

// Report is the result of Compute.
type Report struct {
	GroupBy              GroupKey
	Since                time.Time // zero: all runs
	TrendStart, TrendEnd time.Time // the trend range; zero when no run has a start_time
	Total                Group
	Groups               []Group // nil without GroupBy; sorted by Runs descending, then Key (the missing group after a named one with as many runs)
}

// outcome of one run.
const (
	outcomeRunning = iota
	outcomeSucceeded
	outcomeFailed
)

// runFacts is what Compute needs of one run.
type runFacts struct {
	group    int
	start    int64 // epoch ms, 0 = unknown
	outcome  int
	duration float64 // NaN = none
}

// Compute reads the runs and computes the report. It does not keep references to runs.
func Compute(runs []mlflowclient.Run, opt Options) Report {
	nBuckets := opt.Buckets
	if nBuckets <= 0 {
		nBuckets = DefaultBuckets
	}
	nBuckets = min(nBuckets, MaxBuckets)
	loc := time.UTC
	if !opt.Now.IsZero() {
		loc = opt.Now.Location()
	}
	var sinceMs int64
	if !opt.Since.IsZero() {
		sinceMs = opt.Since.UnixMilli()
	}

	groupIndex := map[string]int{}
	missingIndex := -1
	var keys []string // index -> key ("" for missing)
	facts := make([]runFacts, 0, len(runs))
	var first, last int64
	for i := range runs {
		r := &runs[i]
		start := r.Info.StartTime
		if start <= 0 {
			start = 0
		}
		if !opt.Since.IsZero() && (start == 0 || start < sinceMs) {
			continue
		}
		f := runFacts{start: start, outcome: runOutcome(r), duration: math.NaN()}
		if f.outcome != outcomeRunning {
			f.duration = runDuration(r)
		}
		if opt.GroupBy.Kind != "" {
			key, ok := groupValue(r, opt.GroupBy)
			switch {
			case !ok:
				if missingIndex < 0 {
					missingIndex = len(keys)
					keys = append(keys, "")
				}
				f.group = missingIndex
			default:
				gi, seen := groupIndex[key]
				if !seen {
					gi = len(keys)
					groupIndex[key] = gi
					keys = append(keys, key)
				}
				f.group = gi
			}
		}
		if start > 0 {
			if first == 0 || start < first {
				first = start
			}
			last = max(last, start)
		}
		facts = append(facts, f)
	}

	rep := Report{GroupBy: opt.GroupBy, Since: opt.Since}
	var tr trendRange
	if first > 0 {
		tr = newTrendRange(first, last, sinceMs, opt.Now, nBuckets)
		rep.TrendStart = time.UnixMilli(tr.start).In(loc)
		rep.TrendEnd = time.UnixMilli(tr.end).In(loc)
	}

	total := newAccumulator(tr.n)
	var groups []*accumulator
	if opt.GroupBy.Kind != "" {
		groups = make([]*accumulator, len(keys))
		for i := range groups {
			groups[i] = newAccumulator(tr.n)
		}
	}
	for _, f := range facts {
		b := -1
		if f.start > 0 && tr.n > 0 {
			b = tr.bucket(f.start)
		}
		total.add(f, b)
		if groups != nil {
			groups[f.group].add(f, b)
		}
	}
	rep.Total = total.group(tr, loc)
	if groups != nil {
		rep.Groups = make([]Group, len(groups))
		for i, a := range groups {
			g := a.group(tr, loc)
			g.Key = keys[i]
			g.Missing = i == missingIndex
			rep.Groups[i] = g
		}
		sort.Slice(rep.Groups, func(i, j int) bool {
			a, b := &rep.Groups[i], &rep.Groups[j]
			if a.Runs != b.Runs {
				return a.Runs > b.Runs
			}
			if a.Missing != b.Missing {
				return !a.Missing
			}
			return a.Key < b.Key
		})
	}
	return rep
}

// runOutcome applies the rules of the package comment.
func runOutcome(r *mlflowclient.Run) int {
	switch r.Info.Status {
	case mlflowclient.StatusRunning, mlflowclient.StatusScheduled:
		return outcomeRunning
	}
	if v, ok := metric(r, "success"); ok {
		return boolOutcome(v != 0)
	}
	if v, ok := metric(r, "exit_code"); ok {
		return boolOutcome(v == 0)
	}
	return boolOutcome(r.Info.Status == mlflowclient.StatusFinished)
}

func boolOutcome(ok bool) int {
	if ok {
		return outcomeSucceeded
	}
	return outcomeFailed
}

// runDuration applies the rules of the package comment; NaN when the run has no duration.
func runDuration(r *mlflowclient.Run) float64 {
	if v, ok := metric(r, "duration_seconds"); ok && !math.IsInf(v, 0) && v >= 0 {
		return v
	}
	if s, e := r.Info.StartTime, r.Info.EndTime; s > 0 && e > 0 && e >= s {
		return float64(e-s) / 1000
	}
	return math.NaN()
}

// metric returns the value of a metric; NaN counts as absent.
func metric(r *mlflowclient.Run, key string) (float64, bool) {
	for _, m := range r.Data.Metrics {
		if m.Key == key && !math.IsNaN(m.Value) {
			return m.Value, true
		}
	}
	return 0, false
}

// groupValue is the run's value of the grouping key; false when the run lacks it.
func groupValue(r *mlflowclient.Run, k GroupKey) (string, bool) {
	switch k.Kind {
	case KindParam:
		for _, p := range r.Data.Params {
			if p.Key == k.Name {
				return p.Value, true
			}
		}
	case KindTag:
		for _, t := range r.Data.Tags {
			if t.Key == k.Name {
				return t.Value, true
			}
		}
	case KindRunName:
		if r.Info.RunName != "" {
			return r.Info.RunName, true
		}
		for _, t := range r.Data.Tags {
			if t.Key == "mlflow.runName" && t.Value != "" {
				return t.Value, true
			}
		}
	}
	return "", false
}

// trendRange is the trend's time range in epoch ms, split in n buckets; n = 0 when there is none.
type trendRange struct {
	start, end int64
	n          int
}

func newTrendRange(first, last, since int64, now time.Time, n int) trendRange {
	tr := trendRange{start: first, end: last, n: n}
	if since > 0 {
		tr.start = since
	}
	if !now.IsZero() {
		tr.end = max(tr.end, now.UnixMilli())
	}
	if tr.end <= tr.start {
		tr.end = tr.start
		tr.n = 1
	}
	return tr
}

// bucketStart is the first millisecond of bucket i (i = n gives the end): start + ⌈span·i/n⌉, so
// that bucket(t) == i exactly when bucketStart(i) <= t < bucketStart(i+1). 128-bit arithmetic:
// span·i overflows int64 for far-apart bogus timestamps.
func (tr trendRange) bucketStart(i int) int64 {
	if i >= tr.n {
		return tr.end
	}
	span := uint64(tr.end - tr.start)
	hi, lo := bits.Mul64(span, uint64(i))
	q, rem := bits.Div64(hi, lo, uint64(tr.n))
	if rem != 0 {
		q++
	}
	return tr.start + int64(q)
}

// bucket is the index of the bucket holding t (clamped to the range).
func (tr trendRange) bucket(t int64) int {
	if t <= tr.start || tr.end == tr.start {
		return 0
	}
	if t >= tr.end {
		return tr.n - 1
	}
	hi, lo := bits.Mul64(uint64(t-tr.start), uint64(tr.n))
	q, _ := bits.Div64(hi, lo, uint64(tr.end-tr.start))
	return min(int(q), tr.n-1)
}

// accumulator gathers one group's runs.
type accumulator struct {
	runs, succeeded, failed, running int
	first, last                      int64
	durations                        []float64
	buckets                          []bucketAcc
}

type bucketAcc struct {
	runs, succeeded, failed int
	durations               []float64
}

func newAccumulator(n int) *accumulator {
	return &accumulator{buckets: make([]bucketAcc, n)}
}

func (a *accumulator) add(f runFacts, b int) {
	a.runs++
	switch f.outcome {
	case outcomeRunning:
		a.running++
	case outcomeSucceeded:
		a.succeeded++
	case outcomeFailed:
		a.failed++
	}
	if !math.IsNaN(f.duration) {
		a.durations = append(a.durations, f.duration)
	}
	if f.start > 0 {
		if a.first == 0 || f.start < a.first {
			a.first = f.start
		}
		a.last = max(a.last, f.start)
	}
	if b < 0 {
		return
	}
	bk := &a.buckets[b]
	bk.runs++
	switch f.outcome {
	case outcomeSucceeded:
		bk.succeeded++
	case outcomeFailed:
		bk.failed++
	}
	if !math.IsNaN(f.duration) {
		bk.durations = append(bk.durations, f.duration)
	}
}

func (a *accumulator) group(tr trendRange, loc *time.Location) Group {
	g := Group{
		Runs: a.runs, Succeeded: a.succeeded, Failed: a.failed, Running: a.running,
		SuccessRate: rate(a.succeeded, a.failed),
		Durations:   len(a.durations),
	}
	sort.Float64s(a.durations)
	g.DurationMedian = Percentile(a.durations, 0.5)
	g.DurationP95 = Percentile(a.durations, 0.95)
	g.DurationMax = Percentile(a.durations, 1)
	if a.first > 0 {
		g.First = time.UnixMilli(a.first).In(loc)
		g.Last = time.UnixMilli(a.last).In(loc)
	}
	if tr.n > 0 {
		g.Trend = make([]Bucket, tr.n)
		for i := range g.Trend {
			bk := &a.buckets[i]
			sort.Float64s(bk.durations)
			g.Trend[i] = Bucket{
				Start:          time.UnixMilli(tr.bucketStart(i)).In(loc),
				End:            time.UnixMilli(tr.bucketStart(i + 1)).In(loc),
				Runs:           bk.runs,
				Succeeded:      bk.succeeded,
				Failed:         bk.failed,
				SuccessRate:    rate(bk.succeeded, bk.failed),
				DurationMedian: Percentile(bk.durations, 0.5),
			}
		}
	}
	return g
}

func rate(succeeded, failed int) float64 {
	if succeeded+failed == 0 {
		return math.NaN()
	}
	return float64(succeeded) / float64(succeeded+failed)
}

// Percentile returns the p-quantile (p in [0, 1]) of sorted values by linear interpolation between
// closest ranks (numpy's default method, "linear"); NaN for no values. p outside [0, 1] is clamped.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 || math.IsNaN(p) {
		return math.NaN()
	}
	p = math.Max(0, math.Min(1, p))
	h := float64(n-1) * p
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	frac := h - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}
