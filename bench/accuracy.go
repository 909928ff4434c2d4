//go:build linux

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// selfReport is what each workload process writes about itself as it exits: the known values.
type selfReport struct {
	CPUSeconds float64 `json:"cpu_seconds"` // getrusage(RUSAGE_SELF) user + system
	HWMBytes   int64   `json:"hwm_bytes"`   // VmHWM: this process's peak resident set
}

func writeSelfReport(path string) error {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	hwm, _ := readVmHWM("/proc/self/status")
	b, _ := json.Marshal(selfReport{CPUSeconds: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), HWMBytes: hwm})
	return os.WriteFile(path, b, 0o644)
}

// holdMemory allocates mib MiB and touches every page so that it is resident.
func holdMemory(mib int) []byte {
	b := make([]byte, mib<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

// workloadMain is the accuracy section's command: it starts a grandchild (holdMain) that holds
// -child-mem MiB for -hold, holds -mem MiB itself, burns -cpu seconds of CPU, waits for the
// grandchild, and writes its own figures to -report/child.json (the grandchild writes grandchild.json).
func workloadMain(args []string) int {
	fs := flag.NewFlagSet("workload", flag.ExitOnError)
	cpu := fs.Duration("cpu", 3*time.Second, "CPU time to burn")
	mem := fs.Int("mem", 100, "MiB to hold")
	childMem := fs.Int("child-mem", 150, "MiB the grandchild holds")
	hold := fs.Duration("hold", 7*time.Second, "how long the grandchild holds its memory")
	report := fs.String("report", ".", "directory for the self-reports")
	_ = fs.Parse(args)
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	gc := exec.Command(self, "hold", "-mem", strconv.Itoa(*childMem), "-hold", hold.String(), "-report", filepath.Join(*report, "grandchild.json"))
	gc.Stderr = os.Stderr
	if err := gc.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	held := holdMemory(*mem)
	// Burn until getrusage says so: the known CPU time is exact, whatever the load.
	x := 1.0
	for {
		for i := 0; i < 1_000_000; i++ {
			x = x*1.0000001 + 1e-9
		}
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		if time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) >= *cpu {
			break
		}
	}
	if err := gc.Wait(); err != nil {
		fmt.Fprintln(os.Stderr, "grandchild:", err)
		return 1
	}
	if err := writeSelfReport(filepath.Join(*report, "child.json")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	runtime.KeepAlive(held)
	if math.IsNaN(x) {
		fmt.Println(x) // keeps the loop from being optimised away
	}
	return 0
}

func holdMain(args []string) int {
	fs := flag.NewFlagSet("hold", flag.ExitOnError)
	mem := fs.Int("mem", 150, "MiB to hold")
	hold := fs.Duration("hold", 7*time.Second, "how long")
	report := fs.String("report", "grandchild.json", "self-report file")
	_ = fs.Parse(args)
	start := time.Now()
	held := holdMemory(*mem)
	time.Sleep(time.Until(start.Add(*hold)))
	if err := writeSelfReport(*report); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	runtime.KeepAlive(held)
	return 0
}

var gnuTimeField = regexp.MustCompile(`(?m)^\s*(User time \(seconds\)|System time \(seconds\)|Maximum resident set size \(kbytes\)): ([0-9.]+)`)

// parseGNUTime returns user+system seconds and max RSS in bytes from `time -v` output.
func parseGNUTime(text string) (cpu float64, maxRSS int64, err error) {
	found := 0
	for _, m := range gnuTimeField.FindAllStringSubmatch(text, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		switch m[1] {
		case "Maximum resident set size (kbytes)":
			maxRSS = int64(v) * 1024
		default:
			cpu += v
		}
		found++
	}
	if found != 3 {
		return 0, 0, fmt.Errorf("could not read GNU time's output: %q", lastLines(text, 5))
	}
	return cpu, maxRSS, nil
}

// benchAccuracy: mltrack's CPU and memory figures for a workload whose values are known, against
// GNU time -v and the known values.
func (s *suite) benchAccuracy(sec *section) error {
	sec.Title = "Accuracy"
	sec.Rerun = "bench/run.sh --only accuracy"
	sec.Result = "mltrack ÷ known"
	reps := pick(s, 1, 3)
	const cpuSec, mem, childMem = 3, 100, 150
	sec.Intro = fmt.Sprintf(`
A workload with known figures: a child that holds %d MiB and burns %d s of CPU (checked with getrusage), and
its grandchild that holds %d MiB for 7 s, both alive at once. Each process writes its own CPU time and VmHWM
as it exits: the known values. mltrack (`+"`--summary-json`"+`, default sampling interval, so the samples at
0.1 s and 5.1 s) against `+"`/usr/bin/time -v`"+` on the same workload, %d interleaved repetitions. A tree's peak
memory is the sum over processes alive at once; rusage's maxrss (what GNU time reports) is the largest single
process. Tolerances are the suite's: CPU within 5 %% of the known value, memory within 10 %%.`, mem, cpuSec, childMem, reps)
	area := s.dir("accuracy")
	var knownCPU, knownMax, knownTree, timeCPU, timeMax, mCPU, mMax, mTree sample
	workload := func(report string) []string {
		return []string{s.self, "workload", "-cpu", fmt.Sprintf("%ds", cpuSec), "-mem", strconv.Itoa(mem), "-child-mem", strconv.Itoa(childMem), "-hold", "7s", "-report", report}
	}
	readKnown := func(report string) error {
		var child, grand selfReport
		for path, into := range map[string]*selfReport{"child.json": &child, "grandchild.json": &grand} {
			b, err := os.ReadFile(filepath.Join(report, path))
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, into); err != nil {
				return err
			}
		}
		knownCPU = append(knownCPU, child.CPUSeconds+grand.CPUSeconds)
		knownMax = append(knownMax, float64(max(child.HWMBytes, grand.HWMBytes)))
		knownTree = append(knownTree, float64(child.HWMBytes+grand.HWMBytes))
		return nil
	}
	for i := 0; i < reps; i++ {
		report := s.dir("accuracy", fmt.Sprintf("time-%d", i))
		timeOut := filepath.Join(report, "time.txt")
		if _, err := mustRun(procSpec{Argv: append([]string{"/usr/bin/time", "-v", "-o", timeOut}, workload(report)...), Dir: report, Env: s.baseEnv()}); err != nil {
			return err
		}
		b, err := os.ReadFile(timeOut)
		if err != nil {
			return err
		}
		c, m, err := parseGNUTime(string(b))
		if err != nil {
			return err
		}
		timeCPU = append(timeCPU, c)
		timeMax = append(timeMax, float64(m))
		if err := readKnown(report); err != nil {
			return err
		}

		report = s.dir("accuracy", fmt.Sprintf("mltrack-%d", i))
		sumPath := filepath.Join(report, "summary.json")
		if _, err := mustRun(procSpec{Argv: append([]string{s.mltrack, "-q", "--summary-json", sumPath, "--"}, workload(report)...), Dir: report, Env: s.baseEnv()}); err != nil {
			return err
		}
		sum, err := readSummary(sumPath)
		if err != nil {
			return err
		}
		s.delivered("accuracy", sum)
		mCPU = append(mCPU, sum.Resources.CPUUser+sum.Resources.CPUSystem)
		mMax = append(mMax, float64(sum.Resources.MaxProcessMem))
		mTree = append(mTree, float64(sum.Resources.PeakTreeMemory))
		if err := readKnown(report); err != nil {
			return err
		}
	}

	// A tiny command: what the largest process's memory reads for `true`.
	var tinyTime, tinyM sample
	for i := 0; i < reps; i++ {
		dir := s.dir("accuracy", fmt.Sprintf("tiny-%d", i))
		timeOut := filepath.Join(dir, "time.txt")
		if _, err := mustRun(procSpec{Argv: []string{"/usr/bin/time", "-v", "-o", timeOut, "true"}, Dir: dir, Env: s.baseEnv()}); err != nil {
			return err
		}
		b, _ := os.ReadFile(timeOut)
		_, m, err := parseGNUTime(string(b))
		if err != nil {
			return err
		}
		tinyTime = append(tinyTime, float64(m))
		sumPath := filepath.Join(dir, "summary.json")
		if _, err := mustRun(procSpec{Argv: []string{s.mltrack, "-q", "--summary-json", sumPath, "--", "true"}, Dir: dir, Env: s.baseEnv()}); err != nil {
			return err
		}
		sum, err := readSummary(sumPath)
		if err != nil {
			return err
		}
		tinyM = append(tinyM, float64(sum.Resources.MaxProcessMem))
	}
	os.RemoveAll(area)

	within := func(got, want, tol float64) bool { return math.Abs(got-want) <= tol*want }
	sec.Header = []string{"figure", "known", "GNU `time -v`", "mltrack", "mltrack ÷ known", "target", "met"}
	sec.Rows = append(sec.Rows,
		[]string{"CPU seconds of the tree (user + system)", knownCPU.spreadGeneric("%.3f", " s"), timeCPU.spreadGeneric("%.3f", " s"), mCPU.spreadGeneric("%.3f", " s"),
			fmt.Sprintf("%.3f", mCPU.median()/knownCPU.median()), "±5 %", met(within(mCPU.median(), knownCPU.median(), 0.05))},
		[]string{"largest single process's peak memory", knownMax.spreadMiB(), timeMax.spreadMiB(), mMax.spreadMiB(),
			fmt.Sprintf("%.3f", mMax.median()/knownMax.median()), "±10 %", met(within(mMax.median(), knownMax.median(), 0.10))},
		[]string{"tree's peak memory (sum over processes)", knownTree.spreadMiB(), "— (not measured: maxrss is one process)", mTree.spreadMiB(),
			fmt.Sprintf("%.3f", mTree.median()/knownTree.median()), "±10 %", met(within(mTree.median(), knownTree.median(), 0.10))},
		[]string{"largest process's peak memory for `true`", "", tinyTime.spreadMiB(), tinyM.spreadMiB(),
			fmt.Sprintf("%.1f (÷ GNU time)", tinyM.median()/tinyTime.median()), "±10 % of GNU time", met(within(tinyM.median(), tinyTime.median(), 0.10))},
	)
	sec.Notes = append(sec.Notes,
		"Known CPU is the sum of each process's own getrusage(RUSAGE_SELF); known peak memory is each process's own VmHWM (the sum for the tree, both being alive at once).",
		"The `true` row: Linux carries the parent's peak resident set into a child's maxrss when the child was started with vfork (CLONE_VM) and then called exec, which is how Go's os/exec (and Python's subprocess) start commands; GNU time forks. So mltrack's `max_process_memory` is never below mltrack's own peak at the moment it started the command (about 16–18 MiB), whatever the command. A Go program holding 100 MiB that runs `true` reads a child maxrss of about 103 MiB.",
		"mltrack's peak tree memory is sampled (here at 0.1 s and 5.1 s): a peak shorter than the interval can be missed; the known peak here lasts about 7 s.")
	return nil
}
