package mlflowclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func restMetrics(n int) []Metric {
	ms := make([]Metric, n)
	for i := range ms {
		ms[i] = Metric{Key: fmt.Sprintf("m%d", i%7), Value: float64(i) / 3, Timestamp: 1714380000000 + int64(i), Step: int64(i)}
	}
	return ms
}

func restParams(n int, value string) []Param {
	ps := make([]Param, n)
	for i := range ps {
		ps[i] = Param{Key: fmt.Sprintf("p%d", i), Value: value}
	}
	return ps
}

func restTags(n int, value string) []Tag {
	ts := make([]Tag, n)
	for i := range ts {
		ts[i] = Tag{Key: fmt.Sprintf("t%d", i), Value: value}
	}
	return ts
}

// restCheckBatches checks the server's limits on every request and that the requests carry every
// entity once, in order.
func restCheckBatches(t *testing.T, batches []logBatchBody, metrics []Metric, params []Param, tags []Tag, limit int) {
	t.Helper()
	var gotM []Metric
	var gotP []Param
	var gotT []Tag
	for i, b := range batches {
		body, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		n := len(b.Metrics) + len(b.Params) + len(b.Tags)
		if n == 0 {
			t.Errorf("batch %d is empty", i)
		}
		if len(b.Metrics) > 1000 || len(b.Params) > 100 || len(b.Tags) > 100 || n > 1000 {
			t.Errorf("batch %d: %d metrics, %d params, %d tags", i, len(b.Metrics), len(b.Params), len(b.Tags))
		}
		if len(body) > limit && n > 1 {
			t.Errorf("batch %d: body of %d bytes > %d", i, len(body), limit)
		}
		if b.Metrics == nil || b.Params == nil || b.Tags == nil || b.RunID != "run1" {
			t.Errorf("batch %d: %+v", i, b)
		}
		for _, m := range b.Metrics {
			gotM = append(gotM, m.metric())
		}
		gotP = append(gotP, b.Params...)
		gotT = append(gotT, b.Tags...)
	}
	if len(gotM) != len(metrics) || len(gotP) != len(params) || len(gotT) != len(tags) {
		t.Fatalf("batches carry %d metrics, %d params, %d tags; want %d, %d, %d", len(gotM), len(gotP), len(gotT), len(metrics), len(params), len(tags))
	}
	for i := range metrics {
		if gotM[i] != metrics[i] && !(math.IsNaN(gotM[i].Value) && math.IsNaN(metrics[i].Value)) {
			t.Fatalf("metric %d: %+v, want %+v", i, gotM[i], metrics[i])
		}
	}
	for i := range params {
		if gotP[i] != params[i] {
			t.Fatalf("param %d out of order", i)
		}
	}
	for i := range tags {
		if gotT[i] != tags[i] {
			t.Fatalf("tag %d out of order", i)
		}
	}
}

func TestRESTSplitBatchCounts(t *testing.T) {
	tests := []struct {
		name                     string
		metrics, params, tags    int
		value                    string
		wantBatches              int
		wantFirst                [3]int // metrics, params, tags in the first request
		wantMetricsInLastRequest int
	}{
		{"nothing", 0, 0, 0, "v", 0, [3]int{}, 0},
		{"one metric", 1, 0, 0, "v", 1, [3]int{1, 0, 0}, 1},
		{"exactly 1000 metrics", 1000, 0, 0, "v", 1, [3]int{1000, 0, 0}, 1000},
		{"1001 metrics", 1001, 0, 0, "v", 2, [3]int{1000, 0, 0}, 1},
		{"2500 metrics", 2500, 0, 0, "v", 3, [3]int{1000, 0, 0}, 500},
		{"101 params", 0, 101, 0, "v", 2, [3]int{0, 100, 0}, 0},
		{"params and tags fill up with metrics", 2000, 250, 150, "v", 3, [3]int{800, 100, 100}, 350},
		{"100 params 100 tags 800 metrics fit one", 800, 100, 100, "v", 1, [3]int{800, 100, 100}, 800},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, ps, ts := restMetrics(tt.metrics), restParams(tt.params, tt.value), restTags(tt.tags, tt.value)
			batches := splitBatch("run1", ms, ps, ts, MaxBatchLogRequestSize)
			if len(batches) != tt.wantBatches {
				t.Fatalf("%d requests, want %d", len(batches), tt.wantBatches)
			}
			restCheckBatches(t, batches, ms, ps, ts, MaxBatchLogRequestSize)
			if len(batches) == 0 {
				return
			}
			b := batches[0]
			if got := [3]int{len(b.Metrics), len(b.Params), len(b.Tags)}; got != tt.wantFirst {
				t.Errorf("first request holds %v, want %v", got, tt.wantFirst)
			}
			if got := len(batches[len(batches)-1].Metrics); got != tt.wantMetricsInLastRequest {
				t.Errorf("last request holds %d metrics, want %d", got, tt.wantMetricsInLastRequest)
			}
		})
	}
}

func TestRESTSplitBatchBodySize(t *testing.T) {
	tests := []struct {
		name     string
		metrics  int
		params   []Param
		tags     []Tag
		limit    int
		minSplit int
	}{
		// 100 tags of 8000 two-byte characters: 1.6 MB in one request without the byte limit.
		{"long unicode tags", 500, nil, restTags(100, strings.Repeat("é", MaxTagValueLength)), MaxBatchLogRequestSize, 2},
		// Control characters are escaped as \u00XX: 6 bytes each, 4.8 MB.
		{"escaped tags", 0, nil, restTags(100, strings.Repeat("\x01", MaxTagValueLength)), MaxBatchLogRequestSize, 5},
		{"long params and tags", 1000, restParams(100, strings.Repeat("<>&", MaxParamValueLength/3)), restTags(100, strings.Repeat("x", MaxTagValueLength)), MaxBatchLogRequestSize, 2},
		{"small limit", 300, restParams(30, "value"), restTags(30, "value"), 2000, 10},
		{"limit smaller than one entity", 3, restParams(2, strings.Repeat("v", 100)), nil, 50, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := restMetrics(tt.metrics)
			batches := splitBatch("run1", ms, tt.params, tt.tags, tt.limit)
			if len(batches) < tt.minSplit {
				t.Fatalf("%d requests, want at least %d", len(batches), tt.minSplit)
			}
			restCheckBatches(t, batches, ms, tt.params, tt.tags, tt.limit)
			// The packing is tight: the next entity would not have fitted in a request that is
			// not full by count.
			for i, b := range batches[:len(batches)-1] {
				body, _ := json.Marshal(b)
				if n := len(b.Metrics) + len(b.Params) + len(b.Tags); n < 1000 && len(b.Params) < 100 && len(body) < tt.limit/2 {
					t.Errorf("request %d is only %d bytes with %d entities", i, len(body), n)
				}
			}
		})
	}
}

func TestRESTSplitBatchExactSizes(t *testing.T) {
	// The size bookkeeping matches the encoder byte for byte: for every limit around the size of
	// a two-entity request, no request exceeds it.
	ms := []Metric{{Key: "a", Value: math.NaN(), Timestamp: 1, Step: 2}, {Key: "b", Value: math.Inf(-1), Timestamp: 3}}
	ps := []Param{{Key: "k", Value: "v\"<"}}
	full, _ := json.Marshal(logBatchBody{RunID: "run1", Metrics: []wireMetric{toWireMetric(ms[0]), toWireMetric(ms[1])}, Params: ps, Tags: []Tag{}})
	for limit := len(full) - 40; limit <= len(full)+1; limit++ {
		batches := splitBatch("run1", ms, ps, nil, limit)
		restCheckBatches(t, batches, ms, ps, nil, limit)
		if limit >= len(full) && len(batches) != 1 {
			t.Errorf("limit %d (body %d): %d requests, want 1", limit, len(full), len(batches))
		}
		if limit < len(full) && len(batches) == 1 {
			t.Errorf("limit %d (body %d): one request", limit, len(full))
		}
	}
}

func TestRESTWireJSON(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0.1, -3, 1e300} {
		b, err := json.Marshal(toWireMetric(Metric{Key: "k", Value: f, Timestamp: 1714380000000, Step: -1}))
		if err != nil {
			t.Fatal(err)
		}
		var back wireMetric
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		m := back.metric()
		if (m.Value != f && !(math.IsNaN(f) && math.IsNaN(m.Value))) || m.Timestamp != 1714380000000 || m.Step != -1 || m.Key != "k" {
			t.Errorf("%v → %s → %+v", f, b, m)
		}
	}
	var r wireRun
	in := `{"run": {"info": {"run_uuid": "abc", "experiment_id": "2", "status": 3, "start_time": "17", "end_time": 18,
		"artifact_uri": "mlflow-artifacts:/2/abc/artifacts", "lifecycle_stage": "active"},
		"data": {"metrics": [{"key": "m", "value": "Infinity", "timestamp": "5", "step": "1"}], "params": [{"key": "p", "value": "v"}]}}}`
	var wrap struct {
		Run *wireRun `json:"run"`
	}
	wrap.Run = &r
	if err := json.Unmarshal([]byte(in), &wrap); err != nil {
		t.Fatal(err)
	}
	run := r.run()
	if run.Info.RunID != "abc" || run.Info.Status != StatusFinished || run.Info.StartTime != 17 || run.Info.EndTime != 18 ||
		len(run.Data.Metrics) != 1 || !math.IsInf(run.Data.Metrics[0].Value, 1) || run.Data.Metrics[0].Timestamp != 5 || run.Data.Params[0] != (Param{"p", "v"}) {
		t.Errorf("decoded %+v", run)
	}
	for _, bad := range []string{`"x"`, `1.5`, `"1e400"`} {
		var v jsonInt64
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("jsonInt64 accepted %s", bad)
		}
	}
}

func FuzzRESTJSONInt64(f *testing.F) {
	for _, s := range []string{`1`, `"2"`, `-3`, `1.7e12`, `null`, `"x"`, `9223372036854775807`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v jsonInt64
		_ = json.Unmarshal([]byte(s), &v) // must not panic
		var fl jsonFloat
		_ = json.Unmarshal([]byte(s), &fl)
	})
}

func TestRESTTagFilter(t *testing.T) {
	tests := []struct {
		key, value, want string
	}{
		{RunKeyTag, "3f2a9c", "tags.`mltrack.run_key` = '3f2a9c'"},
		{"a b/c-d:e", "x y", "tags.`a b/c-d:e` = 'x y'"},
		{"k", "it's", "tags.`k` = \"it's\""},
		{"k", `say "hi"`, "tags.`k` = 'say \"hi\"'"},
		{"k", `it's "x"`, "tags.`k` LIKE 'it_s _x_'"},
		{"k", `a\b`, "tags.`k` LIKE 'a_b'"},
		{"k", "100%_", "tags.`k` = '100%_'"},
		{"k", "", "tags.`k` = ''"},
	}
	for _, tt := range tests {
		got, err := tagFilter(tt.key, tt.value)
		if err != nil || got != tt.want {
			t.Errorf("tagFilter(%q, %q) = %q, %v; want %q", tt.key, tt.value, got, err, tt.want)
		}
	}
	if _, err := tagFilter("a`b", "v"); err == nil {
		t.Error("a key with a backtick was accepted")
	}
}

func TestRESTCheckProxiedArtifactPath(t *testing.T) {
	for p, ok := range map[string]bool{
		"model.bin": true, "odd dir/notes (1) 100% ü.txt": true, "a%zz": true,
		"notes #1.txt": false, "a%41.txt": false, "a%2F": false, "tab\there": false,
	} {
		err := checkProxiedArtifactPath(p)
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrUnsupportedArtifactURI)) {
			t.Errorf("checkProxiedArtifactPath(%q) = %v", p, err)
		}
	}
}
