package filter

import (
	"math"
	"sort"

	"github.com/mltrack/mltrack/mlflowclient"
)

// Sort orders runs in place as MLflow's SQL store orders search results: by each order_by clause in
// turn, then by start_time descending (unless a clause already orders by start_time), then by run_id
// ascending. Within a clause, runs that have the key come first, in the requested direction;
// runs without it come last whatever the direction. For metrics, NaN values sort after every real
// value and before missing ones, and compare equal to each other; ±Inf sort as ±MaxFloat64 (what the
// store keeps). Strings compare byte-wise (SQLite's BINARY collation); run_name orders by the run's
// name (the runs table's name column, not the tag); end_time is missing while a run has none
// (EndTime 0), and run_name while the name is empty (a NULL column). With no clauses the order is
// start_time descending, run_id ascending.
//
// Clauses parsed with the FileStore dialect sort as MLflow's file store does (SearchUtils.sort:
// stable sorts by each clause from the last to the first over the default order, which comes to
// the same rules), except that metrics sort by their real value (+Inf after MaxFloat64).
func Sort(runs []mlflowclient.Run, order []OrderBy) {
	keys := make([][]sortKey, len(runs))
	for i, r := range runs {
		keys[i] = make([]sortKey, len(order))
		for j, ob := range order {
			keys[i][j] = sortKeyOf(r, ob)
		}
	}
	byStart := true
	for _, ob := range order {
		if ob.Kind == Attribute && ob.Key == "start_time" {
			byStart = false
		}
	}
	idx := make([]int, len(runs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ra, rb := idx[a], idx[b]
		for j, ob := range order {
			if c := keys[ra][j].compare(keys[rb][j], ob.Ascending); c != 0 {
				return c < 0
			}
		}
		if byStart && runs[ra].Info.StartTime != runs[rb].Info.StartTime {
			return runs[ra].Info.StartTime > runs[rb].Info.StartTime
		}
		return runs[ra].Info.RunID < runs[rb].Info.RunID
	})
	sorted := make([]mlflowclient.Run, len(runs))
	for i, k := range idx {
		sorted[i] = runs[k]
	}
	copy(runs, sorted)
}

// sortKey is one run's value for one order_by clause: a rank (0 present, 1 NaN metric, 2 missing)
// that always sorts ascending, then the value.
type sortKey struct {
	rank int
	kind byte // 'f' float, 'i' integer, 's' string
	num  float64
	i    int64
	str  string
}

func (a sortKey) compare(b sortKey, ascending bool) int {
	if a.rank != b.rank {
		return cmpInt(int64(a.rank), int64(b.rank))
	}
	if a.rank != 0 {
		return 0
	}
	c := 0
	switch a.kind {
	case 'f':
		switch {
		case a.num < b.num:
			c = -1
		case a.num > b.num:
			c = 1
		}
	case 'i':
		c = cmpInt(a.i, b.i)
	default:
		switch {
		case a.str < b.str:
			c = -1
		case a.str > b.str:
			c = 1
		}
	}
	if !ascending {
		c = -c
	}
	return c
}

func sortKeyOf(r mlflowclient.Run, ob OrderBy) sortKey {
	missing := sortKey{rank: 2}
	switch ob.Kind {
	case Metric:
		v, ok := latestMetricIn(ob.dialect, r, ob.Key)
		if !ok {
			return missing
		}
		if math.IsNaN(v) {
			return sortKey{rank: 1}
		}
		if ob.dialect == FileStore {
			return sortKey{kind: 'f', num: v} // Python sorts the real value, ±Inf included
		}
		return sortKey{kind: 'f', num: sqlStoredFloat(v)}
	case Param:
		if v, ok := paramValue(r, ob.Key); ok {
			return sortKey{kind: 's', str: v}
		}
		return missing
	case Tag:
		if v, ok := tagValue(r, ob.Key); ok {
			return sortKey{kind: 's', str: v}
		}
		return missing
	case Attribute:
		switch ob.Key {
		case "start_time":
			return sortKey{kind: 'i', i: r.Info.StartTime}
		case "end_time":
			if r.Info.EndTime == 0 {
				return missing
			}
			return sortKey{kind: 'i', i: r.Info.EndTime}
		}
		if v, ok := attributeString(r, ob.Key); ok {
			if ob.Key == "run_name" && v == "" {
				return missing // a NULL name column (runs from MLflow <= 1.29); MLflow always names runs now
			}
			return sortKey{kind: 's', str: v}
		}
	}
	return missing
}
