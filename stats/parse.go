package stats

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// GroupKey says what runs are grouped by: a param, a tag, the run name, or nothing (Kind "").
type GroupKey struct {
	Kind string // KindParam, KindTag, KindRunName or "" (no grouping)
	Name string // the param or tag key; empty for KindRunName and ""
}

// The kinds of GroupKey.
const (
	KindParam   = "params"
	KindTag     = "tags"
	KindRunName = "run_name"
)

// String spells the key as --group-by takes it ("params.model", "run_name"), so that ParseGroupBy
// reads it back. Names are written unquoted (spaces are fine) unless ParseGroupBy would change them:
// a name with leading or trailing spaces, or one that starts and ends with the same quote
// character, is wrapped in backticks, the one pair ParseGroupBy removes.
func (k GroupKey) String() string {
	switch k.Kind {
	case "":
		return ""
	case KindRunName:
		return KindRunName
	}
	name := k.Name
	if len(name) >= 2 && isQuote(name[0]) && name[len(name)-1] == name[0] {
		name = "`" + name + "`"
	} else if name != strings.TrimSpace(name) {
		name = "`" + name + "`" // ParseGroupBy trims unquoted input
	}
	return k.Kind + "." + name
}

func isQuote(c byte) bool { return c == '`' || c == '"' || c == '\'' }

// groupEntities maps the entity prefixes --group-by accepts (MLflow's spellings in filters, which
// are case-sensitive there; here any case is accepted) to a kind.
var groupEntities = map[string]string{
	"params": KindParam, "param": KindParam, "parameters": KindParam, "parameter": KindParam,
	"tags": KindTag, "tag": KindTag,
	"attributes": KindRunName, "attribute": KindRunName, "attr": KindRunName, "run": KindRunName,
}

const groupByHelp = "expected params.NAME, tags.NAME or run_name (a name may be quoted: params.`a b`)"

// ParseGroupBy reads a --group-by value: "params.NAME", "tags.NAME" (split at the first dot, so
// "tags.mlflow.user" is the tag "mlflow.user"), or "run_name" (also "attributes.run_name"). The
// name may be wrapped in one pair of backticks, double or single quotes, which is removed. The
// empty string means no grouping. Singular and long entity spellings (param, parameters, tag) are
// accepted, in any case.
func ParseGroupBy(s string) (GroupKey, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return GroupKey{}, nil
	}
	if strings.EqualFold(t, KindRunName) {
		return GroupKey{Kind: KindRunName}, nil
	}
	entity, name, ok := strings.Cut(t, ".")
	if !ok {
		return GroupKey{}, fmt.Errorf("group-by %q: %s", s, groupByHelp)
	}
	kind, known := groupEntities[strings.ToLower(entity)]
	if !known {
		return GroupKey{}, fmt.Errorf("group-by %q: unknown entity %q; %s", s, entity, groupByHelp)
	}
	if len(name) >= 2 && isQuote(name[0]) && name[len(name)-1] == name[0] {
		name = name[1 : len(name)-1]
	}
	if kind == KindRunName {
		if name != KindRunName {
			return GroupKey{}, fmt.Errorf("group-by %q: the only attribute runs can be grouped by is run_name; %s", s, groupByHelp)
		}
		return GroupKey{Kind: KindRunName}, nil
	}
	if name == "" {
		return GroupKey{}, fmt.Errorf("group-by %q: the %s name is empty; %s", s, kind, groupByHelp)
	}
	return GroupKey{Kind: kind, Name: name}, nil
}

// maxSince bounds relative --since values so the arithmetic cannot overflow time.Duration.
const maxSince = 100 * 365 * 24 * time.Hour

const sinceHelp = "expected a duration back from now (30m, 12h, 7d, 2w, 1d12h; units s, m, h, d, w) or a date or time (2026-11-01, 2026-11-01T15:04:05Z)"

// sinceLayouts are the absolute forms --since accepts. Those without a zone are read in now's location.
var sinceLayouts = []string{
	time.RFC3339Nano, // also reads RFC 3339 without fractional seconds
	"2006-01-02",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
}

// ParseSince reads a --since value relative to now: a duration back from now made of one or more
// NUMBER UNIT parts (units s, m, h, d = 24h, w = 7d; "m" is minutes; decimals allowed: 1.5d), or an
// absolute date or time (2026-11-01 is midnight in now's location; RFC 3339 carries its own zone).
// A time after now is refused: it would select no run.
func ParseSince(s string, now time.Time) (time.Time, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return time.Time{}, fmt.Errorf("since is empty; %s", sinceHelp)
	}
	if d, ok, err := parseAgo(t); ok {
		if err != nil {
			return time.Time{}, fmt.Errorf("since %q: %w", s, err)
		}
		return now.Add(-d), nil
	}
	for _, layout := range sinceLayouts {
		at, err := time.ParseInLocation(layout, t, now.Location())
		if err != nil {
			continue
		}
		if at.After(now) {
			return time.Time{}, fmt.Errorf("since %q is in the future (now is %s)", s, now.Format(time.RFC3339))
		}
		return at, nil
	}
	return time.Time{}, fmt.Errorf("since %q: %s", s, sinceHelp)
}

var sinceUnits = map[byte]time.Duration{
	's': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour,
}

// parseAgo reads "1d12h"-style durations. ok is false when s does not look like one at all (so the
// caller tries dates); err is set when it does but is wrong (unknown unit, too long).
func parseAgo(s string) (d time.Duration, ok bool, err error) {
	if s[0] < '0' || s[0] > '9' {
		return 0, false, nil
	}
	if len(s) >= 5 && s[4] == '-' {
		return 0, false, nil // 2026-11-01...
	}
	total := 0.0
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
			j++
		}
		if j == i {
			return 0, true, fmt.Errorf("expected a number at %q; %s", s[i:], sinceHelp)
		}
		n, perr := strconv.ParseFloat(s[i:j], 64)
		if perr != nil {
			return 0, true, fmt.Errorf("%q is not a number; %s", s[i:j], sinceHelp)
		}
		if j == len(s) {
			return 0, true, fmt.Errorf("%q has no unit; %s", s, sinceHelp)
		}
		unit, known := sinceUnits[s[j]]
		if !known || (j+1 < len(s) && isLetter(s[j+1])) {
			k := j
			for k < len(s) && isLetter(s[k]) {
				k++
			}
			if k == j {
				k = j + 1
			}
			return 0, true, fmt.Errorf("unknown unit %q; %s", s[j:k], sinceHelp)
		}
		total += n * float64(unit)
		i = j + 1
	}
	if total > float64(maxSince) || math.IsNaN(total) {
		return 0, true, errors.New("more than 100 years back; give a date instead")
	}
	return time.Duration(total), true, nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
