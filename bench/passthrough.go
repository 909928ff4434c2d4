//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// genText writes size bytes of log-like text lines (what commands usually print), deterministic.
func genText(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	var written int64
	line := make([]byte, 0, 256)
	for step := 0; written < size; step++ {
		line = line[:0]
		line = append(line, "epoch "...)
		line = strconv.AppendInt(line, int64(step/1000), 10)
		line = append(line, " step "...)
		line = strconv.AppendInt(line, int64(step), 10)
		line = append(line, " loss="...)
		line = strconv.AppendFloat(line, rng.Float64(), 'f', 6, 64)
		line = append(line, " acc="...)
		line = strconv.AppendFloat(line, rng.Float64(), 'f', 4, 64)
		line = append(line, " lr=0.0003 grad_norm="...)
		line = strconv.AppendFloat(line, rng.Float64()*10, 'f', 3, 64)
		line = append(line, " | data/s="...)
		line = strconv.AppendInt(line, int64(rng.IntN(100000)), 10)
		line = append(line, '\n')
		if rem := size - written; int64(len(line)) > rem {
			line = line[:rem]
		}
		n, err := w.Write(line)
		written += int64(n)
		if err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// summary is the part of mltrack's --summary-json the suite reads.
type summary struct {
	RunID     string `json:"run_id"`
	ExitCode  int    `json:"exit_code"`
	Resources struct {
		CPUUser        float64 `json:"cpu_user_seconds"`
		CPUSystem      float64 `json:"cpu_system_seconds"`
		MaxProcessMem  int64   `json:"max_process_memory_bytes"`
		PeakTreeMemory int64   `json:"peak_tree_memory_bytes"`
		PeakTreeProcs  int     `json:"peak_tree_processes"`
		Samples        int     `json:"resource_samples"`
	} `json:"resources"`
	Artifacts struct {
		Count       int   `json:"count"`
		Bytes       int64 `json:"bytes"`
		Undelivered int   `json:"undelivered"`
	} `json:"artifacts"`
	Tracking struct {
		State string `json:"state"`
	} `json:"tracking"`
	Warnings []string `json:"warnings"`
}

func readSummary(path string) (summary, error) {
	var sum summary
	b, err := os.ReadFile(path)
	if err != nil {
		return sum, fmt.Errorf("mltrack wrote no summary: %w", err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		return sum, fmt.Errorf("mltrack's summary: %w", err)
	}
	return sum, nil
}

// delivered checks the summary says the store has everything, else records a problem.
func (s *suite) delivered(what string, sum summary) {
	if sum.Tracking.State != "delivered" || sum.Artifacts.Undelivered != 0 {
		s.problems = append(s.problems, fmt.Sprintf("%s: tracking state %q, %d artifacts undelivered, warnings %q", what, sum.Tracking.State, sum.Artifacts.Undelivered, sum.Warnings))
	}
}

// dropCaches is not possible without privileges we should not use; instead `sync` before each timed
// run keeps one run's dirty pages from being written back during the next.
func syncDisks() { _ = exec.Command("sync").Run() }

// benchPassthrough: bytes through `mltrack -- cat` against `cat | tee file`, and mltrack's own peak
// memory at several volumes.
func (s *suite) benchPassthrough(sec *section) error {
	sec.Title = "Output passthrough"
	sec.Rerun = "bench/run.sh --only passthrough"
	mainSize := pick(s, int64(64<<20), int64(1<<30))
	sizes := pick(s, []int64{8 << 20, 64 << 20}, []int64{16 << 20, 128 << 20, 1 << 30})
	reps := pick(s, 2, 3)
	sec.Intro = fmt.Sprintf(`
%s of log-like text lines from a file on stdin, through `+"`mltrack -q -- cat`"+` (SQLite default store, default
log cap of 100 MiB per stream) against `+"`sh -c 'cat | tee FILE'`"+`, both with stdout a pipe that the suite
reads and discards (as a terminal or a downstream program would). "Through" is the time until the last byte
came out; "exit" includes mltrack's recording after the command ended (the capped logs and their readable
copies stored as artifacts). mltrack's own peak memory is VmHWM of the mltrack process itself (polled from
/proc every 20 ms; the command's memory is not included), at several volumes. %d interleaved repetitions at
%s, one at each other volume. Targets: within 10 %% of the anchor, and under 30 MiB of memory whatever the
volume.`, sizeName(mainSize), reps, sizeName(mainSize))
	area := s.dir("passthrough")
	inputs := map[int64]string{}
	for _, size := range sizes {
		path := filepath.Join(area, "input-"+strconv.FormatInt(size, 10))
		if err := genText(path, size); err != nil {
			return err
		}
		inputs[size] = path
	}
	teeOut := filepath.Join(area, "tee.out")
	anchor := procSpec{Argv: []string{"sh", "-c", `cat | tee "$1"`, "sh", teeOut}, Dir: area, Env: s.baseEnv(), Stdin: inputs[mainSize], DrainStdout: true}
	runMltrack := func(size int64) (procResult, summary, error) {
		store := filepath.Join(area, "store")
		os.RemoveAll(store)
		os.MkdirAll(store, 0o755)
		sumPath := filepath.Join(area, "summary.json")
		os.Remove(sumPath)
		syncDisks()
		r, err := mustRun(procSpec{Argv: []string{s.mltrack, "-q", "--summary-json", sumPath, "--", "cat"}, Dir: store, Env: s.baseEnv(), Stdin: inputs[size], DrainStdout: true, PollHWM: true})
		if err != nil {
			return r, summary{}, err
		}
		if r.Bytes != size {
			return r, summary{}, fmt.Errorf("mltrack -- cat passed %d bytes of %d", r.Bytes, size)
		}
		sum, err := readSummary(sumPath)
		if err == nil {
			s.delivered("passthrough "+sizeName(size), sum)
		}
		return r, sum, err
	}
	var aWall, aThrough, mWall, mThrough, mCPU sample
	hwm := map[int64]sample{}
	var maxrss sample
	for i := 0; i < reps; i++ {
		os.Remove(teeOut)
		syncDisks()
		r, err := mustRun(anchor)
		if err != nil {
			return err
		}
		if r.Bytes != mainSize {
			return fmt.Errorf("cat | tee passed %d bytes of %d", r.Bytes, mainSize)
		}
		aWall = append(aWall, seconds(r.Wall))
		aThrough = append(aThrough, seconds(r.LastByte))
		r, sum, err := runMltrack(mainSize)
		if err != nil {
			return err
		}
		mWall = append(mWall, seconds(r.Wall))
		mThrough = append(mThrough, seconds(r.LastByte))
		// mltrack's own CPU: rusage of mltrack and its children, minus the command's (cat's) own.
		mCPU = append(mCPU, seconds(r.CPU())-sum.Resources.CPUUser-sum.Resources.CPUSystem)
		hwm[mainSize] = append(hwm[mainSize], float64(r.HWM))
		maxrss = append(maxrss, float64(r.MaxRSS))
	}
	os.Remove(teeOut)
	for _, size := range sizes {
		if size == mainSize {
			continue
		}
		r, _, err := runMltrack(size)
		if err != nil {
			return err
		}
		hwm[size] = append(hwm[size], float64(r.HWM))
	}
	os.RemoveAll(area)

	sec.Header = []string{"figure", "anchor", "anchor's time", "mltrack", "ratio", "target", "met"}
	ratio := mWall.median() / aWall.median()
	sec.Rows = append(sec.Rows,
		[]string{sizeName(mainSize) + " to exit", "`cat | tee FILE`", aWall.spreadSec(), mWall.spreadSec(), fmtRatio(ratio), "≤ 1.10×", met(ratio <= 1.10)},
		[]string{sizeName(mainSize) + " through (last byte out)", "`cat | tee FILE`", aThrough.spreadSec(), mThrough.spreadSec(), fmtRatio(mThrough.median() / aThrough.median()), "—", ""},
		[]string{"mltrack's own CPU for " + sizeName(mainSize), "", "", mCPU.spreadSec(), "", "—", ""},
	)
	for _, size := range sizes {
		h := hwm[size]
		sec.Rows = append(sec.Rows, []string{"mltrack's own peak memory, " + sizeName(size), "", "", h.spreadMiB(), "", "< 30 MiB", met(h.max() < 30<<20)})
	}
	lo, hi := hwm[sizes[0]].median(), hwm[sizes[len(sizes)-1]].median()
	sec.Notes = append(sec.Notes,
		fmt.Sprintf("Memory from %s to %s of output: %s → %s (%+.1f MiB); flat means it does not grow with the volume.", sizeName(sizes[0]), sizeName(sizes[len(sizes)-1]), fmtMiB(lo), fmtMiB(hi), (hi-lo)/(1<<20)),
		fmt.Sprintf("rusage maxrss of mltrack and `cat` together (the largest single process): %s; it agrees with VmHWM when mltrack is the largest.", maxrss.spreadMiB()),
	)
	return nil
}

func sizeName(b int64) string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", b>>30)
	case b >= 1<<20:
		return fmt.Sprintf("%d MiB", b>>20)
	default:
		return fmt.Sprintf("%d KiB", b>>10)
	}
}
