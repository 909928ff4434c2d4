package main

import (
	"testing"

	"github.com/mltrack/mltrack/mlflowclient"
)

func TestPrintableCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"two\nlines\tand\rtab", "two lines and tab"},
		{"a\x1b[31mred\x1b[0m", `a\x1b[31mred\x1b[0m`},
		{"a\x1b]0;title\x07b", `a\x1b]0;title\ab`},
		{"bad\xffbyte", `bad\xffbyte`},
		{"café ✓", "café ✓"},
		{"zero\u200bwidth", `zero\u200bwidth`},
	}
	for _, tt := range tests {
		if got := printableCell(tt.in); got != tt.want {
			t.Errorf("printableCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRunDuration(t *testing.T) {
	metric := func(v float64) mlflowclient.Run {
		return mlflowclient.Run{Info: mlflowclient.RunInfo{StartTime: 1000, EndTime: 3500},
			Data: mlflowclient.RunData{Metrics: []mlflowclient.Metric{{Key: metricDuration, Value: v}}}}
	}
	tests := []struct {
		name string
		run  mlflowclient.Run
		want float64
		ok   bool
	}{
		{"metric", metric(1.5), 1.5, true},
		{"infinite metric falls back to end-start", metric(1.7976931348623157e308), 2.5, true},
		{"negative metric falls back", metric(-1), 2.5, true},
		{"no metric", mlflowclient.Run{Info: mlflowclient.RunInfo{StartTime: 1000, EndTime: 1250}}, 0.25, true},
		{"running", mlflowclient.Run{Info: mlflowclient.RunInfo{StartTime: 1000}}, 0, false},
	}
	for _, tt := range tests {
		got, ok := runDuration(tt.run)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: runDuration = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if got := formatSeconds(1.7976931348623157e308); got != "∞" {
		t.Errorf("formatSeconds(max float) = %q", got)
	}
}

func TestCompareRunsExactMetrics(t *testing.T) {
	run := func(id string, v float64) mlflowclient.Run {
		return mlflowclient.Run{Info: mlflowclient.RunInfo{RunID: id}, Data: mlflowclient.RunData{Metrics: []mlflowclient.Metric{{Key: "acc", Value: v}}}}
	}
	for _, row := range compareRuns([]mlflowclient.Run{run("a", 0.1234567), run("b", 0.1234568)}) {
		if row.Key == "metrics.acc" {
			if !row.Differs || row.Values[0] != "0.1234567" || row.Values[1] != "0.1234568" {
				t.Errorf("metrics.acc row = %+v", row)
			}
			return
		}
	}
	t.Fatal("no metrics.acc row")
}

// TestHTTPOptionsRetries: MLflow's MLFLOW_HTTP_REQUEST_MAX_RETRIES=0 means no retries (the option's
// own zero value means the default, so main passes a negative number).
func TestHTTPOptionsRetries(t *testing.T) {
	tests := []struct {
		env  string
		want int
	}{{"", 7}, {"0", -1}, {"3", 3}, {"11", 10}}
	for _, tt := range tests {
		environ := []string{}
		if tt.env != "" {
			environ = append(environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES="+tt.env)
		}
		o := httpOptions(newEnvironment(environ), func(string, ...any) {}, nil)
		if o.MaxRetries != tt.want {
			t.Errorf("MLFLOW_HTTP_REQUEST_MAX_RETRIES=%q: MaxRetries %d, want %d", tt.env, o.MaxRetries, tt.want)
		}
	}
}
