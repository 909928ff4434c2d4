package stats

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/mltrack/mltrack/mlflowclient"
)

// t0 is an arbitrary start of the test runs' timeline.
var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// runAt builds a run that started at t0+offset.
type runSpec struct {
	offset   time.Duration
	status   mlflowclient.RunStatus
	metrics  map[string]float64
	params   map[string]string
	tags     map[string]string
	name     string
	endAfter time.Duration // end_time = start + endAfter when > 0
	noStart  bool
}

func mkRun(s runSpec) mlflowclient.Run {
	r := mlflowclient.Run{Info: mlflowclient.RunInfo{RunName: s.name, Status: s.status}}
	if s.status == "" {
		r.Info.Status = mlflowclient.StatusFinished
	}
	if !s.noStart {
		r.Info.StartTime = t0.Add(s.offset).UnixMilli()
		if s.endAfter > 0 {
			r.Info.EndTime = t0.Add(s.offset + s.endAfter).UnixMilli()
		}
	}
	for k, v := range s.metrics {
		r.Data.Metrics = append(r.Data.Metrics, mlflowclient.Metric{Key: k, Value: v})
	}
	for k, v := range s.params {
		r.Data.Params = append(r.Data.Params, mlflowclient.Param{Key: k, Value: v})
	}
	for k, v := range s.tags {
		r.Data.Tags = append(r.Data.Tags, mlflowclient.Tag{Key: k, Value: v})
	}
	return r
}

// mltrackRun is a run as mltrack records it.
func mltrackRun(offset time.Duration, ok bool, dur float64, params map[string]string) mlflowclient.Run {
	succ, code, st := 1.0, 0.0, mlflowclient.StatusFinished
	if !ok {
		succ, code, st = 0, 2, mlflowclient.StatusFailed
	}
	return mkRun(runSpec{offset: offset, status: st, params: params,
		metrics: map[string]float64{"success": succ, "exit_code": code, "duration_seconds": dur}})
}

func TestPercentile(t *testing.T) {
	// Expected values computed by hand with h = (n-1)p and checked with numpy.percentile (1.x/2.x
	// default method "linear").
	tests := []struct {
		values []float64
		p      float64
		want   float64
	}{
		{nil, 0.5, math.NaN()},
		{[]float64{10}, 0.5, 10},
		{[]float64{10}, 0.95, 10},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},   // even count: mean of the two middle values
		{[]float64{1, 2, 3, 4}, 0.95, 3.85}, // h = 2.85
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.5, 5.5},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.95, 9.55}, // h = 8.55
		{[]float64{0, 100}, 0.95, 95},
		{[]float64{1.5, 2.5, 2.5, 7, 120.25}, 0.5, 2.5},
		{[]float64{1.5, 2.5, 2.5, 7, 120.25}, 0.95, 97.6}, // h = 3.8: 7 + 0.8*113.25
		{[]float64{0.1, 0.2, 0.3}, 0.95, 0.29},
		{[]float64{1, 2, 3}, 0, 1},
		{[]float64{1, 2, 3}, 1, 3},
		{[]float64{1, 2, 3}, 7, 3},  // clamped
		{[]float64{1, 2, 3}, -1, 1}, // clamped
	}
	for _, tt := range tests {
		got := Percentile(tt.values, tt.p)
		if math.IsNaN(tt.want) != math.IsNaN(got) || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tt.values, tt.p, got, tt.want)
		}
	}
}

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) < 1e-9
}

func TestComputeRunRules(t *testing.T) {
	tests := []struct {
		name                             string
		run                              runSpec
		succeeded, failed, running, durs int
		dur                              float64
	}{
		{"mltrack success", runSpec{metrics: map[string]float64{"success": 1, "exit_code": 0, "duration_seconds": 3.5}, endAfter: 9 * time.Second}, 1, 0, 0, 1, 3.5},
		{"mltrack failure", runSpec{status: mlflowclient.StatusFailed, metrics: map[string]float64{"success": 0, "exit_code": 1, "duration_seconds": 2}}, 0, 1, 0, 1, 2},
		{"success metric wins over status", runSpec{status: mlflowclient.StatusFailed, metrics: map[string]float64{"success": 1}}, 1, 0, 0, 0, math.NaN()},
		{"exit_code without success", runSpec{metrics: map[string]float64{"exit_code": 3}}, 0, 1, 0, 0, math.NaN()},
		{"NaN success falls back to status", runSpec{metrics: map[string]float64{"success": math.NaN()}}, 1, 0, 0, 0, math.NaN()},
		{"other client FINISHED", runSpec{endAfter: 90 * time.Second}, 1, 0, 0, 1, 90},
		{"other client FAILED", runSpec{status: mlflowclient.StatusFailed, endAfter: 1500 * time.Millisecond}, 0, 1, 0, 1, 1.5},
		{"other client KILLED", runSpec{status: mlflowclient.StatusKilled}, 0, 1, 0, 0, math.NaN()},
		{"unknown status", runSpec{status: "WEIRD"}, 0, 1, 0, 0, math.NaN()},
		{"running", runSpec{status: mlflowclient.StatusRunning, endAfter: time.Second, metrics: map[string]float64{"success": 1, "duration_seconds": 5}}, 0, 0, 1, 0, math.NaN()},
		{"scheduled", runSpec{status: mlflowclient.StatusScheduled}, 0, 0, 1, 0, math.NaN()},
		{"negative duration metric falls back to times", runSpec{metrics: map[string]float64{"duration_seconds": -1}, endAfter: 4 * time.Second}, 1, 0, 0, 1, 4},
		{"infinite duration metric, no end", runSpec{metrics: map[string]float64{"duration_seconds": math.Inf(1)}}, 1, 0, 0, 0, math.NaN()},
		{"zero duration metric", runSpec{metrics: map[string]float64{"duration_seconds": 0}}, 1, 0, 0, 1, 0},
		{"no start time", runSpec{noStart: true}, 1, 0, 0, 0, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Compute([]mlflowclient.Run{mkRun(tt.run)}, Options{})
			g := rep.Total
			if g.Runs != 1 || g.Succeeded != tt.succeeded || g.Failed != tt.failed || g.Running != tt.running || g.Durations != tt.durs {
				t.Fatalf("got runs=%d succeeded=%d failed=%d running=%d durations=%d; want 1/%d/%d/%d/%d",
					g.Runs, g.Succeeded, g.Failed, g.Running, g.Durations, tt.succeeded, tt.failed, tt.running, tt.durs)
			}
			if !near(g.DurationMedian, tt.dur) || !near(g.DurationMax, tt.dur) {
				t.Errorf("duration median/max = %v/%v, want %v", g.DurationMedian, g.DurationMax, tt.dur)
			}
			wantRate := math.NaN()
			if tt.succeeded+tt.failed > 0 {
				wantRate = float64(tt.succeeded)
			}
			if !near(g.SuccessRate, wantRate) {
				t.Errorf("success rate = %v, want %v", g.SuccessRate, wantRate)
			}
			if rep.Groups != nil {
				t.Errorf("Groups = %v without GroupBy, want nil", rep.Groups)
			}
		})
	}
}

func TestComputeGroups(t *testing.T) {
	p := func(v string) map[string]string { return map[string]string{"model": v} }
	runs := []mlflowclient.Run{
		mltrackRun(0, true, 10, p("b")),
		mltrackRun(time.Hour, false, 20, p("b")),
		mltrackRun(2*time.Hour, true, 30, p("b")),
		mltrackRun(3*time.Hour, true, 1, p("a")),
		mltrackRun(4*time.Hour, true, 2, p("c")),
		mltrackRun(5*time.Hour, true, 3, nil),
		mltrackRun(6*time.Hour, true, 4, nil),
		mltrackRun(7*time.Hour, true, 5, p("")),
		mltrackRun(8*time.Hour, true, 6, p("(none)")),
		mltrackRun(9*time.Hour, true, 7, p("(none)")),
		mkRun(runSpec{offset: 10 * time.Hour, status: mlflowclient.StatusRunning, params: p("a")}),
	}
	rep := Compute(runs, Options{GroupBy: GroupKey{KindParam, "model"}})
	type row struct {
		key                    string
		missing                bool
		runs, ok, fail, runnng int
		median                 float64
	}
	want := []row{
		{"b", false, 3, 2, 1, 0, 20},
		{"(none)", false, 2, 2, 0, 0, 6.5}, // a real value "(none)", before the missing group
		{"a", false, 2, 1, 0, 1, 1},
		{"", true, 2, 2, 0, 0, 3.5}, // as many runs as "a": the missing group comes after named ones
		{"", false, 1, 1, 0, 0, 5},
		{"c", false, 1, 1, 0, 0, 2},
	}
	if len(rep.Groups) != len(want) {
		t.Fatalf("got %d groups, want %d: %+v", len(rep.Groups), len(want), rep.Groups)
	}
	for i, w := range want {
		g := rep.Groups[i]
		got := row{g.Key, g.Missing, g.Runs, g.Succeeded, g.Failed, g.Running, g.DurationMedian}
		if got != w {
			t.Errorf("group %d = %+v, want %+v", i, got, w)
		}
	}
	if rep.Total.Runs != 11 || rep.Total.Succeeded != 9 || rep.Total.Failed != 1 || rep.Total.Running != 1 {
		t.Errorf("total = %+v", rep.Total)
	}
	if !near(rep.Total.SuccessRate, 0.9) {
		t.Errorf("total success rate = %v, want 0.9", rep.Total.SuccessRate)
	}
	if b := rep.Groups[0]; !b.First.Equal(t0) || !b.Last.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("group b first/last = %v/%v", b.First, b.Last)
	}
}

func TestComputeGroupByTagAndRunName(t *testing.T) {
	runs := []mlflowclient.Run{
		mkRun(runSpec{name: "build", tags: map[string]string{"env": "ci"}}),
		mkRun(runSpec{tags: map[string]string{"mlflow.runName": "build", "env": "ci"}}),
		mkRun(runSpec{name: "test"}),
		mkRun(runSpec{}),
	}
	rep := Compute(runs, Options{GroupBy: GroupKey{Kind: KindRunName}})
	got := fmt.Sprint(keysOf(rep.Groups))
	if want := "[build:2 test:1 (missing):1]"; got != want {
		t.Errorf("run_name groups = %s, want %s", got, want)
	}
	rep = Compute(runs, Options{GroupBy: GroupKey{KindTag, "env"}})
	if got, want := fmt.Sprint(keysOf(rep.Groups)), "[ci:2 (missing):2]"; got != want {
		t.Errorf("tags.env groups = %s, want %s", got, want)
	}
}

func keysOf(gs []Group) []string {
	var out []string
	for _, g := range gs {
		k := g.Key
		if g.Missing {
			k = "(missing)"
		}
		out = append(out, fmt.Sprintf("%s:%d", k, g.Runs))
	}
	return out
}

func TestComputeSince(t *testing.T) {
	runs := []mlflowclient.Run{
		mltrackRun(0, true, 1, nil),
		mltrackRun(time.Hour, false, 2, nil),
		mltrackRun(2*time.Hour, true, 3, nil),
		mkRun(runSpec{noStart: true}),
	}
	rep := Compute(runs, Options{Since: t0.Add(time.Hour)})
	if rep.Total.Runs != 2 || rep.Total.Failed != 1 || rep.Total.DurationMax != 3 {
		t.Errorf("since 1h: total = %+v, want the 2 runs from t0+1h", rep.Total)
	}
	rep = Compute(runs, Options{})
	if rep.Total.Runs != 4 || !rep.Total.First.Equal(t0) {
		t.Errorf("no since: total = %+v, want 4 runs, first at t0", rep.Total)
	}
	var trendRuns int
	for _, b := range rep.Total.Trend {
		trendRuns += b.Runs
	}
	if trendRuns != 3 {
		t.Errorf("trend holds %d runs, want 3 (the run without start_time is not placed)", trendRuns)
	}
}

func TestComputeTrend(t *testing.T) {
	// Range [t0, t0+10h] in 5 buckets of 2h. Runs at 0h, 1h59m (bucket 0), 2h (bucket 1), 9h and
	// 10h (the end, in the last bucket).
	runs := []mlflowclient.Run{
		mltrackRun(0, true, 1, nil),
		mltrackRun(119*time.Minute, false, 3, nil),
		mltrackRun(2*time.Hour, true, 5, nil),
		mltrackRun(9*time.Hour, true, 7, nil),
		mltrackRun(10*time.Hour, false, 9, nil),
		mkRun(runSpec{offset: 9 * time.Hour, status: mlflowclient.StatusRunning}),
	}
	rep := Compute(runs, Options{Buckets: 5})
	if !rep.TrendStart.Equal(t0) || !rep.TrendEnd.Equal(t0.Add(10*time.Hour)) {
		t.Fatalf("trend range %v..%v", rep.TrendStart, rep.TrendEnd)
	}
	type b struct {
		runs, ok, fail int
		rate, median   float64
	}
	nan := math.NaN()
	want := []b{{2, 1, 1, 0.5, 2}, {1, 1, 0, 1, 5}, {0, 0, 0, nan, nan}, {0, 0, 0, nan, nan}, {3, 1, 1, 0.5, 8}}
	tr := rep.Total.Trend
	if len(tr) != len(want) {
		t.Fatalf("%d buckets, want %d", len(tr), len(want))
	}
	for i, w := range want {
		g := tr[i]
		if g.Runs != w.runs || g.Succeeded != w.ok || g.Failed != w.fail || !near(g.SuccessRate, w.rate) || !near(g.DurationMedian, w.median) {
			t.Errorf("bucket %d = %+v, want %+v", i, g, w)
		}
		if wantStart := t0.Add(time.Duration(i) * 2 * time.Hour); !g.Start.Equal(wantStart) || !g.End.Equal(wantStart.Add(2*time.Hour)) {
			t.Errorf("bucket %d spans %v..%v", i, g.Start, g.End)
		}
	}
	if got := Sparkline(tr); got != "▅█··▅" {
		t.Errorf("Sparkline = %q, want %q", got, "▅█··▅")
	}

	// Now extends the range; Since starts it; groups share the buckets.
	now := t0.Add(20 * time.Hour)
	rep = Compute(runs, Options{Buckets: 4, Since: t0.Add(-4 * time.Hour), Now: now, GroupBy: GroupKey{KindParam, "x"}})
	if !rep.TrendStart.Equal(t0.Add(-4*time.Hour)) || !rep.TrendEnd.Equal(now) {
		t.Errorf("trend range %v..%v, want since..now", rep.TrendStart, rep.TrendEnd)
	}
	// 6h buckets from t0-4h: runs at 0h and 1h59m; 2h; 9h, 9h (running) and 10h; none.
	if got := fmt.Sprint(bucketRuns(rep.Groups[0].Trend)); got != "[2 1 3 0]" {
		t.Errorf("missing group's bucket runs = %s, want [2 1 3 0]", got)
	}

	// A single instant: one bucket.
	rep = Compute(runs[:1], Options{Buckets: 7})
	if len(rep.Total.Trend) != 1 || rep.Total.Trend[0].Runs != 1 {
		t.Errorf("one run: trend = %+v, want one bucket with the run", rep.Total.Trend)
	}
	// No runs: no trend, zero counts.
	rep = Compute(nil, Options{GroupBy: GroupKey{KindParam, "x"}})
	if rep.Total.Runs != 0 || rep.Total.Trend != nil || len(rep.Groups) != 0 || !math.IsNaN(rep.Total.SuccessRate) {
		t.Errorf("no runs: %+v", rep)
	}
	// Bucket count limits.
	if n := len(Compute(runs, Options{Buckets: 100000}).Total.Trend); n != MaxBuckets {
		t.Errorf("Buckets 100000 gave %d buckets, want %d", n, MaxBuckets)
	}
	if n := len(Compute(runs, Options{}).Total.Trend); n != DefaultBuckets {
		t.Errorf("default gave %d buckets, want %d", n, DefaultBuckets)
	}
}

func bucketRuns(bs []Bucket) []int {
	var out []int
	for _, b := range bs {
		out = append(out, b.Runs)
	}
	return out
}

// Timestamps far apart (bogus start_time values) must not overflow the bucket arithmetic.
func TestTrendRangeExtremes(t *testing.T) {
	tr := trendRange{start: 1, end: math.MaxInt64, n: MaxBuckets}
	prev := tr.start
	for i := 1; i <= tr.n; i++ {
		s := tr.bucketStart(i)
		if s < prev {
			t.Fatalf("bucketStart(%d) = %d < bucketStart(%d) = %d", i, s, i-1, prev)
		}
		prev = s
	}
	for _, ts := range []int64{1, 2, math.MaxInt64 / 2, math.MaxInt64 - 1, math.MaxInt64} {
		b := tr.bucket(ts)
		if b < 0 || b >= tr.n || ts < tr.bucketStart(b) || (b < tr.n-1 && ts >= tr.bucketStart(b+1)) {
			t.Errorf("bucket(%d) = %d, outside [%d, %d)", ts, b, tr.bucketStart(b), tr.bucketStart(b+1))
		}
	}
	// Every millisecond of a small odd range lands in the bucket whose bounds hold it.
	tr = trendRange{start: 1000, end: 1017, n: 7}
	for ts := tr.start; ts <= tr.end; ts++ {
		b := tr.bucket(ts)
		if ts < tr.bucketStart(b) || (b < tr.n-1 && ts >= tr.bucketStart(b+1)) {
			t.Errorf("bucket(%d) = %d, bounds [%d, %d)", ts, b, tr.bucketStart(b), tr.bucketStart(b+1))
		}
	}
	runs := []mlflowclient.Run{mkRun(runSpec{}), {Info: mlflowclient.RunInfo{Status: mlflowclient.StatusFinished, StartTime: math.MaxInt64}}}
	if rep := Compute(runs, Options{}); rep.Total.Trend[0].Runs != 1 || rep.Total.Trend[len(rep.Total.Trend)-1].Runs != 1 {
		t.Errorf("extreme start times: trend %v", bucketRuns(rep.Total.Trend))
	}
}

func BenchmarkCompute10k(b *testing.B) {
	runs := make([]mlflowclient.Run, 10000)
	models := []string{"resnet", "vit", "bert", "gpt", "t5"}
	for i := range runs {
		r := mltrackRun(time.Duration(i)*time.Minute, i%7 != 0, float64(i%300)+0.5, map[string]string{"model": models[i%len(models)], "seed": fmt.Sprint(i % 50)})
		for j := 0; j < 10; j++ {
			r.Data.Metrics = append(r.Data.Metrics, mlflowclient.Metric{Key: fmt.Sprintf("m%d", j), Value: float64(j)})
		}
		if i%100 == 0 {
			r.Info.Status = mlflowclient.StatusRunning
		}
		runs[i] = r
	}
	opt := Options{GroupBy: GroupKey{KindParam, "model"}, Now: t0.Add(10000 * time.Minute), Buckets: 20}
	b.ReportAllocs()
	for b.Loop() {
		Compute(runs, opt)
	}
}
