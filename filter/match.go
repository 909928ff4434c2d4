package filter

import (
	"math"

	"github.com/mltrack/mltrack/mlflowclient"
)

// The meaning of a filter follows MLflow's SQL store on SQLite (the store MLflow creates by default
// and the one mltrack writes), which is also what `mlflow ui` shows for such a store:
//
//   - Metrics compare their latest value (the maximum by step, timestamp, value). NaN is stored as
//     "is_nan": it satisfies != and nothing else. ±Inf is stored as ±math.MaxFloat64, so
//     `metrics.x = 1e400` (Python reads +Inf) matches nothing and `metrics.x > 1e308` matches +Inf.
//   - A run without the metric, param or tag fails every comparison, != included; only IS NULL
//     matches it.
//   - String = and != are exact (case-sensitive). LIKE is SQLite's with case_sensitive_like on:
//     % is any run of characters, _ one character, no escape character, case-sensitive. ILIKE is
//     lower(x) LIKE lower(pattern), and SQLite's lower() folds ASCII letters only, so
//     `ILIKE 'école'` does not match "ÉCOLE" (it does in Python's file store; we follow SQLite).
//   - run_name compares the tag mlflow.runName (a run without that tag never matches), as the SQL
//     store does; run_id, status, user_id and artifact_uri compare the run's fields.
//   - start_time and end_time compare as numbers; a run without an end time (EndTime 0, still
//     running) fails every end_time comparison.
//   - Datasets: mltrack runs have no dataset inputs, so a dataset clause never matches (MLflow's
//     stores join dataset inputs, and a run without any fails the clause whatever the comparator).

// Match reports whether the run satisfies every clause of the filter.
func (f Filter) Match(r mlflowclient.Run) bool {
	for _, c := range f.Clauses {
		if !c.Match(r) {
			return false
		}
	}
	return true
}

// Match reports whether the run satisfies the clause, with the semantics of the clause's dialect
// (see ParseFor). A clause whose check MLflow's file store makes only on evaluation (an unsuitable
// comparator) matches nothing; Search reports it as MLflow does.
func (c Clause) Match(r mlflowclient.Run) bool {
	if c.dialect == FileStore {
		return c.matchFileStore(r)
	}
	switch c.Kind {
	case Metric:
		m, ok := latestMetric(r, c.Key)
		if !ok {
			return false
		}
		want, _ := c.Value.(float64)
		if math.IsNaN(m) {
			return c.Op == "!="
		}
		return compareFloat(sqlStoredFloat(m), want, c.Op)
	case Param:
		v, ok := paramValue(r, c.Key)
		return matchString(v, ok, c)
	case Tag:
		v, ok := tagValue(r, c.Key)
		return matchString(v, ok, c)
	case Attribute:
		switch c.Key {
		case "start_time":
			return compareTime(r.Info.StartTime, c.Value, c.Op)
		case "end_time":
			if r.Info.EndTime == 0 {
				return false
			}
			return compareTime(r.Info.EndTime, c.Value, c.Op)
		case "run_name":
			v, ok := tagValue(r, "mlflow.runName")
			return matchString(v, ok, c)
		default:
			v, _ := attributeString(r, c.Key)
			return matchString(v, true, c)
		}
	}
	return false // datasets: mltrack runs have none
}

// attributeString returns a string attribute's value.
func attributeString(r mlflowclient.Run, key string) (string, bool) {
	switch key {
	case "run_id":
		return r.Info.RunID, true
	case "run_name":
		return r.Info.RunName, true
	case "status":
		return string(r.Info.Status), true
	case "user_id":
		return r.Info.UserID, true
	case "artifact_uri":
		return r.Info.ArtifactURI, true
	}
	return "", false
}

// latestMetric returns the latest value of a metric: Run.Data.Metrics normally holds one entry per
// key; if it holds several, the maximum by (step, timestamp, value) wins, as in MLflow.
func latestMetric(r mlflowclient.Run, key string) (float64, bool) {
	return latestMetricIn(SQLStore, r, key)
}

// latestMetricIn is latestMetric for a dialect: the SQL store compares the values it keeps (±Inf
// as ±MaxFloat64, NaN as 0); the file store compares the real values with Python's max(), where
// the first of several points with the same step and timestamp wins unless a later one is
// greater (NaN is never greater, nor is anything greater than NaN).
func latestMetricIn(d Dialect, r mlflowclient.Run, key string) (float64, bool) {
	var best mlflowclient.Metric
	found := false
	for _, m := range r.Data.Metrics {
		if m.Key != key {
			continue
		}
		if !found || newerMetric(d, m, best) {
			best, found = m, true
		}
	}
	return best.Value, found
}

func newerMetric(d Dialect, a, b mlflowclient.Metric) bool {
	if a.Step != b.Step {
		return a.Step > b.Step
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	if d == FileStore {
		return a.Value > b.Value
	}
	return sqlStoredFloat(a.Value) > sqlStoredFloat(b.Value)
}

// sqlStoredFloat is the value MLflow's SQL store keeps for a metric: ±Inf become ±MaxFloat64 and
// NaN becomes 0 (with a separate is_nan flag).
func sqlStoredFloat(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

func paramValue(r mlflowclient.Run, key string) (string, bool) {
	v, ok := "", false
	for _, p := range r.Data.Params {
		if p.Key == key {
			v, ok = p.Value, true
		}
	}
	return v, ok
}

func tagValue(r mlflowclient.Run, key string) (string, bool) {
	v, ok := "", false
	for _, t := range r.Data.Tags {
		if t.Key == key {
			v, ok = t.Value, true
		}
	}
	return v, ok
}

func compareFloat(a, b float64, op string) bool {
	switch op {
	case "=":
		return a == b
	case "!=":
		return a != b
	case ">":
		return a > b
	case ">=":
		return a >= b
	case "<":
		return a < b
	case "<=":
		return a <= b
	}
	return false
}

// compareTime compares an integer column with an int64 or float64 value exactly, as SQLite does.
func compareTime(a int64, value any, op string) bool {
	var cmp int
	switch v := value.(type) {
	case int64:
		cmp = cmpInt(a, v)
	case float64:
		if math.IsNaN(v) {
			return false
		}
		cmp = cmpIntFloat(a, v)
	default:
		return false
	}
	switch op {
	case "=":
		return cmp == 0
	case "!=":
		return cmp != 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	}
	return false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpIntFloat compares an integer with a float without losing precision.
func cmpIntFloat(a int64, f float64) int {
	switch {
	case f >= 9223372036854775808.0:
		return -1
	case f < -9223372036854775808.0:
		return 1
	}
	t := math.Trunc(f)
	if c := cmpInt(a, int64(t)); c != 0 {
		return c
	}
	switch {
	case f > t:
		return -1
	case f < t:
		return 1
	}
	return 0
}

func matchString(v string, present bool, c Clause) bool {
	switch c.Op {
	case "IS NULL":
		return !present
	case "IS NOT NULL":
		return present
	}
	if !present {
		return false
	}
	switch c.Op {
	case "=":
		return v == c.Value
	case "!=":
		return v != c.Value
	case "LIKE":
		return sqlLike(v, c.Value.(string), false)
	case "ILIKE":
		return sqlLike(v, c.Value.(string), true)
	case "IN", "NOT IN":
		in := false
		for _, x := range c.Value.([]string) {
			if v == x {
				in = true
				break
			}
		}
		return in == (c.Op == "IN")
	}
	return false
}

// sqlLike is SQLite's LIKE with case_sensitive_like on: '%' matches any run of characters (possibly
// empty), '_' one character, everything else itself; no escape character. With fold set it compares
// ASCII letters case-insensitively, which is what lower(x) LIKE lower(y) does in SQLite. It runs in
// O(len(s)·len(pattern)) at worst.
func sqlLike(s, pattern string, fold bool) bool {
	str, pat := []rune(s), []rune(pattern)
	si, pi := 0, 0
	starP, starS := -1, 0
	for si < len(str) {
		if pi < len(pat) {
			switch p := pat[pi]; {
			case p == '%':
				starP, starS = pi, si
				pi++
				continue
			case p == '_' || runeEq(p, str[si], fold):
				pi++
				si++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		si = starS
		pi = starP + 1
	}
	for pi < len(pat) && pat[pi] == '%' {
		pi++
	}
	return pi == len(pat)
}

func runeEq(a, b rune, fold bool) bool {
	if a == b {
		return true
	}
	if !fold {
		return false
	}
	return asciiLower(a) == asciiLower(b)
}

func asciiLower(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}
