//go:build linux

package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// benchSampling: mltrack's own CPU while the command sleeps, at the default sampling interval, at
// the fastest allowed, and with sampling off.
func (s *suite) benchSampling(sec *section) error {
	sec.Title = "Sampling cost"
	sec.Rerun = "bench/run.sh --only sampling"
	sec.Result = "% of one core"
	dur := pick(s, 5*time.Second, 60*time.Second)
	reps := pick(s, 2, 3)
	sec.Intro = fmt.Sprintf(`
mltrack's own CPU time while the command is `+"`sleep %d`"+`: rusage of mltrack and its children minus the
command's own (from `+"`--summary-json`"+`), in percent of one core over the run's wall time. It includes
start-up and recording at the end. %d repetitions of each setting, all running at the same time (they are
idle, so they hardly compete), next to a bare `+"`sleep`"+`. Target: under 1 %% of a core at the default
interval (5 s).`, int(dur.Seconds()), reps)
	area := s.dir("sampling")
	settings := []struct {
		name  string
		flags []string
	}{
		{"default interval (5 s)", nil},
		{"fastest allowed (100 ms)", []string{"--sample-interval", "100ms"}},
		{"sampling off (0)", []string{"--sample-interval", "0"}},
	}
	type outcome struct {
		setting int
		res     procResult
		sum     summary
		err     error
	}
	var mu sync.Mutex
	var outs []outcome
	var wg sync.WaitGroup
	arg := strconv.Itoa(int(dur.Seconds()))
	for i := 0; i < reps; i++ {
		for j, st := range settings {
			wg.Add(1)
			go func(i, j int, flags []string) {
				defer wg.Done()
				dir := s.dir("sampling", fmt.Sprintf("%d-%d", j, i))
				sumPath := filepath.Join(dir, "summary.json")
				argv := append([]string{s.mltrack, "-q", "--summary-json", sumPath}, flags...)
				r, err := mustRun(procSpec{Argv: append(argv, "--", "sleep", arg), Dir: dir, Env: s.baseEnv(), PollHWM: true})
				var sum summary
				if err == nil {
					sum, err = readSummary(sumPath)
				}
				mu.Lock()
				outs = append(outs, outcome{j, r, sum, err})
				mu.Unlock()
			}(i, j, st.flags)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := mustRun(procSpec{Argv: []string{"sleep", arg}, Dir: area, Env: s.baseEnv()})
			mu.Lock()
			outs = append(outs, outcome{-1, r, summary{}, err})
			mu.Unlock()
		}()
	}
	wg.Wait()
	cpu := make([]sample, len(settings))
	pct := make([]sample, len(settings))
	hwm := make([]sample, len(settings))
	samples := make([]sample, len(settings))
	var bare sample
	for _, o := range outs {
		if o.err != nil {
			return o.err
		}
		if o.setting < 0 {
			bare = append(bare, seconds(o.res.CPU()))
			continue
		}
		s.delivered("sampling", o.sum)
		own := seconds(o.res.CPU()) - o.sum.Resources.CPUUser - o.sum.Resources.CPUSystem
		cpu[o.setting] = append(cpu[o.setting], own)
		pct[o.setting] = append(pct[o.setting], 100*own/seconds(o.res.Wall))
		hwm[o.setting] = append(hwm[o.setting], float64(o.res.HWM))
		samples[o.setting] = append(samples[o.setting], float64(o.sum.Resources.Samples))
	}
	sec.Header = []string{"figure", "mltrack's own CPU", "% of one core", "resource samples", "mltrack's own peak memory", "target", "met"}
	for j, st := range settings {
		target, ok := "—", ""
		if j == 0 {
			target, ok = "< 1 % of a core", met(pct[j].median() < 1)
		}
		sec.Rows = append(sec.Rows, []string{st.name, cpu[j].spreadMs(), pct[j].spreadGeneric("%.3f", " %"), samples[j].spreadGeneric("%.0f", ""), hwm[j].spreadMiB(), target, ok})
	}
	sec.Notes = append(sec.Notes, fmt.Sprintf("Bare `sleep %s` used %s of CPU (the anchor: what the command costs without mltrack).", arg, bare.spreadMs()))
	if len(pct[0]) > 0 && len(pct[2]) > 0 {
		sec.Notes = append(sec.Notes, fmt.Sprintf("Sampling itself at the default interval costs about %.3f %% of a core (default minus off); at 100 ms about %.3f %%.",
			pct[0].median()-pct[2].median(), pct[1].median()-pct[2].median()))
	}
	return nil
}
