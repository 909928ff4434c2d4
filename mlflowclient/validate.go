package mlflowclient

import (
	"fmt"
	"path"
	"runtime"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MLflow's limits (mlflow/utils/validation.py). Lengths count Unicode code points, as Python's len does.
const (
	MaxEntityKeyLength     = 250
	MaxParamValueLength    = 6000
	MaxTagValueLength      = 8000
	MaxExperimentNameLen   = 500
	MaxParamsTagsPerBatch  = 100
	MaxMetricsPerBatch     = 1000
	MaxEntitiesPerBatch    = 1000
	MaxBatchLogRequestSize = 1_000_000
)

// validKeyChars reports whether a name uses only MLflow's allowed characters: Python's
// Unicode-aware \w (letters, digits, marks, underscore) plus / . - space and, except on Windows,
// colon. A function rather than a regexp: the Unicode classes made the regexp cost milliseconds to
// compile at every start of mltrack.
func validKeyChars(key string) bool {
	for _, r := range key {
		switch {
		case unicode.IsLetter(r), unicode.IsNumber(r), unicode.IsMark(r):
		case r == '/' || r == '_' || r == '.' || r == '-' || r == ' ':
		case r == ':' && runtime.GOOS != "windows":
		default:
			return false // includes utf8.RuneError for invalid bytes
		}
	}
	return true
}

// ValidateKey applies MLflow's rules for metric, param and tag names: allowed characters, at most
// 250 characters, and a normalised relative path (no "a//b", "./a", "a/..", leading "/").
func ValidateKey(kind, key string) error {
	if key == "" {
		return fmt.Errorf("%s name is empty", kind)
	}
	if !validKeyChars(key) {
		return fmt.Errorf("invalid %s name %q: names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon (:) and slashes (/)", kind, key)
	}
	if n := utf8.RuneCountInString(key); n > MaxEntityKeyLength {
		return fmt.Errorf("invalid %s name %q: %d characters, MLflow allows at most %d", kind, truncateRunes(key, 40)+"...", n, MaxEntityKeyLength)
	}
	if path.Clean(key) != key || key == "." || strings.HasPrefix(key, "..") || strings.HasPrefix(key, "/") {
		return fmt.Errorf("invalid %s name %q: it must be a normalised relative path (no leading '/', no '..', '.', or '//' parts)", kind, key)
	}
	return nil
}

// Sanitized is a batch made fit for MLflow, with what was changed or dropped said in Warnings.
type Sanitized struct {
	Metrics  []Metric
	Params   []Param
	Tags     []Tag
	Warnings []string
}

// Sanitize applies what MLflow's own client does before a batch reaches a store, so that one bad
// entry never loses the run: invalid names are dropped (with a warning), over-long param and tag
// values are truncated (MLflow's default, MLFLOW_TRUNCATE_LONG_VALUES=true), and a key repeated
// within the params keeps its first value (a duplicate inside one batch fails the whole batch in
// MLflow).
func Sanitize(metrics []Metric, params []Param, tags []Tag) Sanitized {
	var s Sanitized
	for _, m := range metrics {
		if err := ValidateKey("metric", m.Key); err != nil {
			s.Warnings = append(s.Warnings, err.Error()+"; metric dropped")
			continue
		}
		s.Metrics = append(s.Metrics, m)
	}
	seen := map[string]string{}
	for _, p := range params {
		if err := ValidateKey("param", p.Key); err != nil {
			s.Warnings = append(s.Warnings, err.Error()+"; param dropped")
			continue
		}
		if prev, dup := seen[p.Key]; dup {
			if prev != p.Value {
				s.Warnings = append(s.Warnings, fmt.Sprintf("param %q given twice; kept %q", p.Key, prev))
			}
			continue
		}
		if utf8.RuneCountInString(p.Value) > MaxParamValueLength {
			s.Warnings = append(s.Warnings, fmt.Sprintf("param %q value truncated to %d characters (MLflow's limit)", p.Key, MaxParamValueLength))
			p.Value = truncateRunes(p.Value, MaxParamValueLength)
		}
		seen[p.Key] = p.Value
		s.Params = append(s.Params, p)
	}
	for _, t := range tags {
		if err := ValidateKey("tag", t.Key); err != nil {
			s.Warnings = append(s.Warnings, err.Error()+"; tag dropped")
			continue
		}
		if utf8.RuneCountInString(t.Value) > MaxTagValueLength {
			s.Warnings = append(s.Warnings, fmt.Sprintf("tag %q value truncated to %d characters (MLflow's limit)", t.Key, MaxTagValueLength))
			t.Value = truncateRunes(t.Value, MaxTagValueLength)
		}
		s.Tags = append(s.Tags, t)
	}
	return s
}

// ValidateExperimentName applies MLflow's rule for experiment names.
func ValidateExperimentName(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("experiment name is empty")
	}
	if n := utf8.RuneCountInString(name); n > MaxExperimentNameLen {
		return fmt.Errorf("experiment name has %d characters, MLflow allows at most %d", n, MaxExperimentNameLen)
	}
	return nil
}

func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
