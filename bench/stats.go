package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// sample is a set of repeated measurements of one quantity, in its natural unit (seconds, bytes, ...).
type sample []float64

func (s sample) sorted() []float64 {
	c := append([]float64(nil), s...)
	sort.Float64s(c)
	return c
}

// median is the middle value (mean of the two middle ones for an even count); NaN when empty.
func (s sample) median() float64 {
	c := s.sorted()
	n := len(c)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}

func (s sample) min() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return s.sorted()[0]
}

func (s sample) max() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return s.sorted()[len(s)-1]
}

// quantile by linear interpolation between closest ranks.
func (s sample) quantile(q float64) float64 {
	c := s.sorted()
	if len(c) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(c)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return c[lo] + (c[hi]-c[lo])*(pos-float64(lo))
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// Formatting helpers: "median (min–max, n=N)" in a unit chosen for the magnitude.

func fmtMs(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	ms := v * 1000
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f s", v)
	}
}

func (s sample) spreadMs() string {
	if len(s) == 0 {
		return "not run"
	}
	if len(s) == 1 {
		return fmt.Sprintf("%s (n=1)", fmtMs(s[0]))
	}
	return fmt.Sprintf("%s (%s, IQR %s, n=%d)", fmtMs(s.median()), rng(fmtMs(s.min()), fmtMs(s.max())),
		rng(fmtMs(s.quantile(0.25)), fmtMs(s.quantile(0.75))), len(s))
}

// spreadSec is for long runs: median (min–max, n).
func (s sample) spreadSec() string {
	if len(s) == 0 {
		return "not run"
	}
	if len(s) == 1 {
		return fmt.Sprintf("%s (n=1)", fmtMs(s[0]))
	}
	return fmt.Sprintf("%s (%s, n=%d)", fmtMs(s.median()), rng(fmtMs(s.min()), fmtMs(s.max())), len(s))
}

func fmtMiB(b float64) string {
	if math.IsNaN(b) {
		return "—"
	}
	return fmt.Sprintf("%.1f MiB", b/(1<<20))
}

func (s sample) spreadMiB() string {
	if len(s) == 0 {
		return "not run"
	}
	if len(s) == 1 {
		return fmtMiB(s[0]) + " (n=1)"
	}
	return fmt.Sprintf("%s (%s, n=%d)", fmtMiB(s.median()), rng(fmtMiB(s.min()), fmtMiB(s.max())), len(s))
}

func (s sample) spreadGeneric(format, unit string) string {
	if len(s) == 0 {
		return "not run"
	}
	if len(s) == 1 {
		return fmt.Sprintf(format+"%s (n=1)", s[0], unit)
	}
	return fmt.Sprintf(format+"%s ("+format+"–"+format+"%s, n=%d)", s.median(), unit, s.min(), s.max(), unit, len(s))
}

// rng writes a range, with the unit once when both ends share it ("1.2–3.4 ms").
func rng(lo, hi string) string {
	i, j := strings.LastIndexByte(lo, ' '), strings.LastIndexByte(hi, ' ')
	if i > 0 && j > 0 && lo[i:] == hi[j:] {
		return lo[:i] + "–" + hi
	}
	return lo + "–" + hi
}

func fmtRatio(r float64) string {
	switch {
	case math.IsNaN(r) || math.IsInf(r, 0):
		return "—"
	case r >= 100:
		return fmt.Sprintf("%.0f×", r)
	case r >= 10:
		return fmt.Sprintf("%.1f×", r)
	default:
		return fmt.Sprintf("%.2f×", r)
	}
}
