package stats

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mltrack/mltrack/mlflowclient"
)

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		sec  float64
		want string
	}{
		{math.NaN(), "-"},
		{-1, "-"},
		{math.Inf(1), "∞"},
		{0, "0ms"},
		{0.0004, "0ms"},
		{0.35, "350ms"},
		{0.9994, "999ms"},
		{0.9996, "1.0s"},
		{1.23, "1.2s"},
		{9.94, "9.9s"},
		{9.96, "10s"},
		{42.4, "42s"},
		{59.6, "1m00s"},
		{184, "3m04s"},
		{3599.4, "59m59s"},
		{3599.6, "1h00m"},
		{3720, "1h02m"},
		{86369, "23h59m"},
		{86370, "1d00h"},
		{2*86400 + 3*3600, "2d03h"},
		{1e300, "∞"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.sec); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.sec, got, tt.want)
		}
	}
}

func TestFormatRate(t *testing.T) {
	tests := []struct {
		r    float64
		want string
	}{
		{math.NaN(), "-"},
		{0, "0.0%"},
		{1, "100.0%"},
		{2.0 / 3, "66.7%"},
		{0.5, "50.0%"},
		{999.0 / 1000, "99.9%"},
		{9999.0 / 10000, "99.9%"}, // a failure never shows as 100%
		{1.0 / 10000, "0.1%"},     // a success never shows as 0%
	}
	for _, tt := range tests {
		if got := formatRate(tt.r); got != tt.want {
			t.Errorf("formatRate(%v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestSparkline(t *testing.T) {
	nan := math.NaN()
	var bs []Bucket
	for _, r := range []float64{0, 1.0 / 7, 0.5, 6.0 / 7, 1, nan} {
		bs = append(bs, Bucket{SuccessRate: r})
	}
	if got, want := Sparkline(bs), "▁▂▅▇█·"; got != want {
		t.Errorf("Sparkline = %q, want %q", got, want)
	}
	if got := Sparkline(nil); got != "" {
		t.Errorf("Sparkline(nil) = %q", got)
	}
}

// sampleReport has long, hostile and missing keys, a running run and several time buckets.
func sampleReport() Report {
	p := func(v string) map[string]string { return map[string]string{"model": v} }
	runs := []mlflowclient.Run{
		mltrackRun(0, true, 10, p("resnet")),
		mltrackRun(time.Hour, false, 200, p("resnet")),
		mltrackRun(20*time.Hour, true, 3700, p("resnet")),
		mltrackRun(30*time.Hour, true, 0.35, p("a very long model name that goes on")),
		mltrackRun(40*time.Hour, true, 2, nil),
		mkRun(runSpec{offset: 50 * time.Hour, status: mlflowclient.StatusRunning, params: p("x\x1b[31mred\n")}),
	}
	return Compute(runs, Options{GroupBy: GroupKey{KindParam, "model"}, Now: t0.Add(60 * time.Hour)})
}

func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, sampleReport(), 0); err != nil {
		t.Fatal(err)
	}
	want := `params.model                         runs  success  failed  running  median     p95    max  trend
resnet                                  3    66.7%       1        0   3m20s  55m50s  1h02m  ▅··█······
a very long model name that goes on     1   100.0%       0        0   350ms   350ms  350ms  ·····█····
"x\x1b[31mred\n"                        1        -       0        1       -       -      -  ··········
(none)                                  1   100.0%       0        0    2.0s    2.0s   2.0s  ······█···
(all)                                   6    80.0%       1        1     10s  50m00s  1h02m  ▅··█·██···
trend: success rate per 6h00m from 2026-11-01 00:00 to 2026-11-03 12:00; ▁ 0% … █ 100%, · no finished run
`
	if buf.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestWriteTableWidth(t *testing.T) {
	rep := sampleReport()
	tests := []struct {
		width                    int
		trend, failed, truncated bool
	}{
		{0, true, true, false},
		{200, true, true, false},
		{102, true, true, false},
		{101, true, true, true},
		{90, true, true, true},
		{80, true, true, true},
		{70, true, false, true},
		{62, true, false, true},
		{61, false, false, true}, // with the counts the key would be narrower than 12
		{60, false, false, true},
		{55, false, false, true}, // the counts go before the key shrinks below 12
		{50, false, false, true},
		{45, false, false, true},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := WriteTable(&buf, rep, tt.width); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if n := utf8.RuneCountInString(line); tt.width > 0 && n > tt.width {
				t.Errorf("width %d: line of %d characters: %q", tt.width, n, line)
			}
		}
		if got := strings.Contains(out, "trend"); got != tt.trend {
			t.Errorf("width %d: trend shown = %v, want %v\n%s", tt.width, got, tt.trend, out)
		}
		if got := strings.Contains(out, "failed"); got != tt.failed {
			t.Errorf("width %d: failed column shown = %v, want %v\n%s", tt.width, got, tt.failed, out)
		}
		if got := !strings.Contains(out, "a very long model name that goes on "); got != tt.truncated {
			t.Errorf("width %d: key truncated = %v, want %v\n%s", tt.width, got, tt.truncated, out)
		}
		if !strings.Contains(out, "(all)") || !strings.Contains(out, "resnet") {
			t.Errorf("width %d: rows missing:\n%s", tt.width, out)
		}
	}
	// Too narrow for anything: the key column shrinks to a few characters and the line overflows.
	var buf bytes.Buffer
	WriteTable(&buf, rep, 10)
	if !strings.HasPrefix(buf.String(), "par…  runs") {
		t.Errorf("width 10:\n%s", buf.String())
	}
}

func TestWriteTableHostileGroupName(t *testing.T) {
	runs := []mlflowclient.Run{mltrackRun(0, true, 1, map[string]string{"a\x1b]0;x\a": "v\xff"})}
	var buf bytes.Buffer
	WriteTable(&buf, Compute(runs, Options{GroupBy: GroupKey{KindParam, "a\x1b]0;x\a"}}), 0)
	if strings.ContainsAny(buf.String(), "\x1b\a\xff") {
		t.Errorf("control characters reach the terminal: %q", buf.String())
	}
	if !strings.HasPrefix(buf.String(), `"params.a\x1b]0;x\a"`) || !strings.Contains(buf.String(), `"v\xff"`) {
		t.Errorf("table:\n%s", buf.String())
	}
}

func TestWriteTableNoGroupsNoRuns(t *testing.T) {
	var buf bytes.Buffer
	WriteTable(&buf, Compute(nil, Options{}), 80)
	if buf.String() != "no runs\n" {
		t.Errorf("no runs: %q", buf.String())
	}
	buf.Reset()
	runs := []mlflowclient.Run{mltrackRun(0, true, 1.5, nil)}
	WriteTable(&buf, Compute(runs, Options{}), 0)
	want := "group  runs  success  failed  running  median   p95   max  trend\n" +
		"(all)     1   100.0%       0        0    1.5s  1.5s  1.5s  █\n" +
		"trend: success rate at 2026-11-01 00:00; ▁ 0% … █ 100%\n"
	if buf.String() != want {
		t.Errorf("no groups:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "NaN") || strings.Contains(buf.String(), "Inf") {
		t.Fatalf("JSON holds NaN/Inf:\n%s", buf.String())
	}
	var got struct {
		GroupBy    *string `json:"group_by"`
		Since      *string `json:"since"`
		TrendStart string  `json:"trend_start"`
		Total      struct {
			Key         *string  `json:"key"`
			Runs        int      `json:"runs"`
			SuccessRate *float64 `json:"success_rate"`
		} `json:"total"`
		Groups []struct {
			Key         *string          `json:"key"`
			Missing     bool             `json:"missing"`
			Runs        int              `json:"runs"`
			Running     int              `json:"running"`
			SuccessRate *float64         `json:"success_rate"`
			Median      *float64         `json:"duration_median_seconds"`
			P95         *float64         `json:"duration_p95_seconds"`
			Trend       []map[string]any `json:"trend"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if got.GroupBy == nil || *got.GroupBy != "params.model" || got.Since != nil || got.TrendStart != "2026-11-01T00:00:00.000Z" {
		t.Errorf("header: %+v", got)
	}
	if got.Total.Key != nil || got.Total.Runs != 6 || got.Total.SuccessRate == nil || *got.Total.SuccessRate != 0.8 {
		t.Errorf("total: %+v", got.Total)
	}
	if len(got.Groups) != 4 {
		t.Fatalf("groups: %+v", got.Groups)
	}
	if g := got.Groups[0]; g.Key == nil || *g.Key != "resnet" || g.Missing || g.Runs != 3 || *g.Median != 200 || math.Abs(*g.P95-3350) > 1e-9 || len(g.Trend) != 10 {
		t.Errorf("resnet: %+v", g)
	}
	if g := got.Groups[2]; g.Key == nil || *g.Key != "x\x1b[31mred\n" || g.Running != 1 || g.SuccessRate != nil || g.Median != nil || g.P95 != nil {
		t.Errorf("running group: %+v", g)
	}
	if g := got.Groups[3]; g.Key != nil || !g.Missing {
		t.Errorf("missing group: %+v", g)
	}
	b := got.Groups[0].Trend[1]
	if b["runs"] != 0.0 || b["success_rate"] != nil || b["duration_median_seconds"] != nil || b["start"] != "2026-11-01T06:00:00.000Z" {
		t.Errorf("empty bucket: %v", b)
	}

	// Without runs or groups: groups is [], not null.
	buf.Reset()
	WriteJSON(&buf, Compute(nil, Options{}))
	if !strings.Contains(buf.String(), `"groups": []`) || !strings.Contains(buf.String(), `"trend": []`) || !strings.Contains(buf.String(), `"group_by": null`) {
		t.Errorf("empty report:\n%s", buf.String())
	}
}

func TestWriteCSV(t *testing.T) {
	runs := []mlflowclient.Run{
		mltrackRun(0, true, 1.5, map[string]string{"model": `a,"b"` + "\nc"}),
		mltrackRun(time.Hour, false, 2, map[string]string{"model": `a,"b"` + "\nc"}),
		mkRun(runSpec{offset: 2 * time.Hour, status: mlflowclient.StatusRunning}),
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, Compute(runs, Options{GroupBy: GroupKey{KindParam, "model"}})); err != nil {
		t.Fatal(err)
	}
	want := "row,key,missing,runs,succeeded,failed,running,success_rate,durations,duration_median_seconds,duration_p95_seconds,duration_max_seconds,first_start_time,last_start_time\n" +
		"group,\"a,\"\"b\"\"\nc\",false,2,1,1,0,0.5,2,1.75,1.975,2,2026-11-01T00:00:00.000Z,2026-11-01T01:00:00.000Z\n" +
		"group,,true,1,0,0,1,,0,,,,2026-11-01T02:00:00.000Z,2026-11-01T02:00:00.000Z\n" +
		"total,,false,3,1,1,1,0.5,2,1.75,1.975,2,2026-11-01T00:00:00.000Z,2026-11-01T02:00:00.000Z\n"
	if buf.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", buf.String(), want)
	}
	recs, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	if err != nil || len(recs) != 4 || recs[1][1] != `a,"b"`+"\nc" {
		t.Errorf("reading the CSV back: %v %q", err, recs)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errFull }

var errFull = errors.New("disk full")

func TestWritersReportErrors(t *testing.T) {
	rep := sampleReport()
	if err := WriteTable(failingWriter{}, rep, 80); err == nil {
		t.Error("WriteTable: no error from a failing writer")
	}
	if err := WriteJSON(failingWriter{}, rep); err == nil {
		t.Error("WriteJSON: no error from a failing writer")
	}
	if err := WriteCSV(failingWriter{}, rep); err == nil {
		t.Error("WriteCSV: no error from a failing writer")
	}
}
