package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// keyValue is one -p or -t argument.
type keyValue struct{ Key, Value string }

// parseKeyValues parses KEY=VALUE arguments. The value may contain '=' and may be empty; the key may
// not. Keys are checked against MLflow's naming rules later, with the rest of the run's data.
func parseKeyValues(kind, flag string, args []string) ([]keyValue, error) {
	out := make([]keyValue, 0, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("%s %q is not KEY=VALUE (for example %s issue_number=123)", flag, a, flag)
		}
		if k == "" {
			return nil, fmt.Errorf("%s %q has an empty %s name; write %s NAME=VALUE", flag, a, kind, flag)
		}
		out = append(out, keyValue{Key: k, Value: v})
	}
	return out, nil
}

// parseDuration accepts Go durations (1h30m, 250ms), and coreutils timeout's forms: a plain number of
// seconds (10, 1.5) or a number with one of the suffixes s, m, h, d.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration; write for example 90s, 5m or 1.5h")
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return 0, fmt.Errorf("duration %q is negative", s)
		}
		return d, nil
	}
	unit := time.Second
	num := s
	switch s[len(s)-1] {
	case 's':
		num = s[:len(s)-1]
	case 'm':
		unit, num = time.Minute, s[:len(s)-1]
	case 'h':
		unit, num = time.Hour, s[:len(s)-1]
	case 'd':
		unit, num = 24*time.Hour, s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("duration %q is not understood; write for example 90s, 5m, 1.5h or 2d", s)
	}
	if f < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	v := f * float64(unit)
	if v > float64(math.MaxInt64) {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	return time.Duration(v), nil
}

// parseSize accepts a byte count with an optional unit: B, KB/MB/GB (powers of 1000) or
// K/KiB, M/MiB, G/GiB (powers of 1024). 0 means unlimited where the caller says so.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is not understood; write for example 100MiB, 1GB or 0 for no limit", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
		"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q has an unknown unit %q; use B, KiB, MiB, GiB, KB, MB or GB", s, t[i:])
	}
	v := f * mult
	if v > float64(math.MaxInt64/2) {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(v), nil
}
