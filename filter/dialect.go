package filter

import (
	"fmt"
	"math"

	"github.com/mltrack/mltrack/mlflowclient"
)

// Dialect says whose semantics a parsed filter or order_by follows. MLflow has two search engines
// for runs that accept the same language (the same parser, SearchUtils.parse_search_filter) but
// answer differently at the edges: its SQL store (SQLite and other databases, and every tracking
// server with such a backend) translates the search into SQL, while its file store (./mlruns)
// loads every run and filters and sorts them in Python (SearchUtils.filter and SearchUtils.sort).
type Dialect int

const (
	// SQLStore follows MLflow's SQL store on SQLite (the zero value, and what Parse, ParseOrderBy,
	// Match and Sort do).
	SQLStore Dialect = iota
	// FileStore follows MLflow's file store. The differences, each because the file store
	// evaluates the search in Python rather than SQL:
	//
	//   - Errors the SQL store raises while building the query — a comparator that does not suit
	//     the key (`params.a < 'x'`), a dataset order_by key — the file store raises only when it
	//     evaluates them on a run: a filter clause when some run satisfies every clause before it,
	//     a dataset order_by key when at least one run matched. Parse accepts them; Search reports
	//     them when MLflow would.
	//   - Duplicate order_by keys are accepted (the SQL store refuses them; Python just sorts twice).
	//   - start_time/end_time integers of any size are accepted (Python compares big integers;
	//     the SQL store cannot bind them).
	//   - A parenthesized list after = or != is accepted: Python compares a string with a list,
	//     so = matches nothing and != matches every run that reaches it; after LIKE or ILIKE it is
	//     an error when evaluated (Python's re.escape refuses a list).
	//   - Metrics compare their real value: ±Inf stay infinite (`= 1e400` matches +Inf, the SQL
	//     store keeps ±MaxFloat64).
	//   - run_name compares the run's name (from meta.yaml, else the mlflow.runName tag), not the
	//     mlflow.runName tag the SQL store joins.
	//   - LIKE and ILIKE are Python regular expressions (see pyLike): '%' and '_' do not match a
	//     newline, a pattern not ending in '%' may match before a final newline, and ILIKE folds
	//     case with Python's Unicode rules (É matches é), not SQLite's ASCII-only lower().
	//   - Duplicate experiment ids search the experiment once per mention (search.Runs does that).
	FileStore
)

// String names the dialect.
func (d Dialect) String() string {
	switch d {
	case SQLStore:
		return "sql"
	case FileStore:
		return "file"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// ParseFor parses a filter with MLflow's grammar and the checks of the store the dialect follows
// (Parse is ParseFor(SQLStore, s)). With FileStore, the checks MLflow's file store only makes
// while evaluating a clause are kept with the clause and reported by Search.
func ParseFor(d Dialect, s string) (Filter, error) {
	return parse(d, s)
}

// ParseOrderByFor parses order_by clauses with MLflow's grammar and the checks of the store the
// dialect follows (ParseOrderBy is ParseOrderByFor(SQLStore, clauses)). With FileStore, duplicate
// keys are accepted and a dataset key is an error only when there is a run to sort (Search).
func ParseOrderByFor(d Dialect, clauses []string) ([]OrderBy, error) {
	return parseOrderBy(d, clauses)
}

// Search returns the runs that match f, ordered by order, as MLflow's store of f's dialect answers
// a search before max_results applies. The result is a new slice; runs is not modified.
//
// With the SQL dialect it never fails (Parse and ParseOrderBy already refused what the SQL store
// refuses). With the FileStore dialect it returns the errors MLflow's file store raises while
// evaluating: a clause whose check failed, as soon as a run satisfies every clause before it (a
// *SyntaxError, as from Parse); a dataset order_by key when at least one run matched.
func Search(runs []mlflowclient.Run, f Filter, order []OrderBy) ([]mlflowclient.Run, error) {
	hits := make([]mlflowclient.Run, 0, len(runs))
	for _, r := range runs {
		ok := true
		for _, c := range f.Clauses {
			if c.problem != nil {
				return nil, c.problem
			}
			if !c.Match(r) {
				ok = false
				break
			}
		}
		if ok {
			hits = append(hits, r)
		}
	}
	if len(hits) > 0 {
		for _, ob := range order {
			if ob.problem != nil {
				return nil, ob.problem
			}
		}
	}
	Sort(hits, order)
	return hits, nil
}

// matchFileStore is Clause.Match with the file store's semantics (SearchUtils._does_run_match_clause).
func (c Clause) matchFileStore(r mlflowclient.Run) bool {
	if c.problem != nil {
		return false // Search reports it
	}
	switch c.Kind {
	case Metric:
		m, ok := latestMetricIn(FileStore, r, c.Key)
		if !ok {
			return false
		}
		want, _ := c.Value.(float64)
		return compareFloat(m, want, c.Op) // Python float comparisons: NaN satisfies only !=
	case Param:
		v, ok := paramValue(r, c.Key)
		return matchPyString(v, ok, c)
	case Tag:
		v, ok := tagValue(r, c.Key)
		return matchPyString(v, ok, c)
	case Attribute:
		switch c.Key {
		case "start_time":
			return compareTime(r.Info.StartTime, c.Value, c.Op)
		case "end_time":
			if r.Info.EndTime == 0 {
				return false // None while the run is running
			}
			return compareTime(r.Info.EndTime, c.Value, c.Op)
		case "run_name":
			// The run's name; an empty one is a run from before names existed (None in MLflow).
			return matchPyString(r.Info.RunName, r.Info.RunName != "", c)
		default:
			v, _ := attributeString(r, c.Key)
			return matchPyString(v, true, c)
		}
	}
	return false // datasets: mltrack runs have none, and any() over no inputs is false
}

// matchPyString compares a string as Python does in SearchUtils.get_comparison_func.
func matchPyString(v string, present bool, c Clause) bool {
	switch c.Op {
	case "IS NULL":
		return !present
	case "IS NOT NULL":
		return present
	}
	if !present {
		return false
	}
	want, isString := c.Value.(string)
	switch c.Op {
	case "=":
		return isString && v == want // a string never equals a list
	case "!=":
		return !isString || v != want
	case "LIKE":
		return isString && pyLike(v, want, false)
	case "ILIKE":
		return isString && pyLike(v, want, true)
	}
	return matchString(v, present, c) // IN, NOT IN
}

// hugeInt is the value of a start_time/end_time integer beyond 64 bits in the file store
// dialect: Python compares it exactly with the run's time, and every int64 compares with it as it
// does with an infinity of the same sign.
func hugeInt(text string) float64 {
	if len(text) > 0 && text[0] == '-' {
		return math.Inf(-1)
	}
	return math.Inf(1)
}
