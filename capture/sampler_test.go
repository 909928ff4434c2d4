package capture

import (
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/mltrack/mltrack/proctree"
)

const sampleMiB = 1 << 20

// startSampled starts `sh -c script` and arranges for it and its descendants to be killed when
// the test ends.
func startSampled(t testing.TB, script string) *exec.Cmd {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("needs sh")
	}
	cmd := exec.Command("sh", "-c", script)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killSampled(cmd) })
	return cmd
}

// killSampled kills the child's descendants (found while the child still holds them) and then the
// child, and reaps it.
func killSampled(cmd *exec.Cmd) {
	if snap, err := proctree.Take(); err == nil {
		for _, p := range snap.Descendants(cmd.Process.Pid) {
			if proc, err := os.FindProcess(p.PID); err == nil {
				_ = proc.Kill()
			}
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// sampleRecorder collects the samples given to OnSample.
type sampleRecorder struct {
	mu      sync.Mutex
	samples []Sample
	arrived chan struct{} // a token per sample, never blocking the sampler
}

func newSampleRecorder() *sampleRecorder {
	return &sampleRecorder{arrived: make(chan struct{}, 1)}
}

func (r *sampleRecorder) add(s Sample) {
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
	select {
	case r.arrived <- struct{}{}:
	default:
	}
}

func (r *sampleRecorder) all() []Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Sample(nil), r.samples...)
}

// waitFor waits until the samples so far satisfy done, or until timeout; it reports which. The
// timeouts are long because a loaded machine (tests of other packages running in parallel) can
// delay both the child and the sampler; a healthy run ends in about a second.
func (r *sampleRecorder) waitFor(timeout time.Duration, done func([]Sample) bool) bool {
	deadline := time.After(timeout)
	for {
		if done(r.all()) {
			return true
		}
		select {
		case <-r.arrived:
		case <-deadline:
			return done(r.all())
		}
	}
}

func TestSamplerMemoryPeakOfGrandchild(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	// sh forks python (the "; true" keeps sh from exec'ing it), so the memory is held by a
	// grandchild of the sampled process. b"\x01" * n writes every page, so all of it is resident.
	const held = 200 * sampleMiB
	cmd := startSampled(t, python+` -c 'import time; b = b"\x01" * (200 << 20); time.sleep(60)'; true`)
	rec := newSampleRecorder()
	s := StartSampler(cmd.Process.Pid, SamplerOptions{Interval: 100 * time.Millisecond, OnSample: rec.add})
	rec.waitFor(20*time.Second, func(ss []Sample) bool {
		return len(ss) > 0 && ss[len(ss)-1].TreeRSS >= held
	})
	time.Sleep(250 * time.Millisecond) // a few more samples at the plateau
	sum := s.Stop()
	t.Logf("summary: %+v", sum)
	if sum.Samples == 0 {
		t.Fatal("no samples")
	}
	// Upper bound: the bytes object plus some MiB of interpreter and sh (bytes * int writes the
	// result in place, there is no transient second copy).
	if sum.PeakTreeRSS < held || sum.PeakTreeRSS > held+120*sampleMiB {
		t.Errorf("PeakTreeRSS = %d MiB, want between %d and %d MiB", sum.PeakTreeRSS/sampleMiB, held/sampleMiB, (held+120*sampleMiB)/sampleMiB)
	}
	if sum.PeakTreeProcs < 2 {
		t.Errorf("PeakTreeProcs = %d, want >= 2 (sh and python)", sum.PeakTreeProcs)
	}
	if sum.PeakSystemMemPercent <= 0 || sum.PeakSystemMemPercent > 100 {
		t.Errorf("PeakSystemMemPercent = %v, want in (0, 100]", sum.PeakSystemMemPercent)
	}
}

func TestSamplerBusyLoopCPU(t *testing.T) {
	cmd := startSampled(t, "while :; do :; done")
	begin := time.Now()
	rec := newSampleRecorder()
	s := StartSampler(cmd.Process.Pid, SamplerOptions{Interval: 200 * time.Millisecond, OnSample: rec.add})
	ok := rec.waitFor(15*time.Second, func(ss []Sample) bool {
		return len(ss) >= 4 && ss[len(ss)-1].TreeCPUPercent > 50
	})
	sum := s.Stop()
	samples := rec.all()
	killSampled(cmd)
	if !ok {
		// Tell a sampler bug from a machine too busy to give the loop half a core: the kernel's
		// own account of the child (wait4 rusage) says how much CPU it got.
		got := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds() / time.Since(begin).Seconds() * 100
		if got < 60 {
			t.Skipf("machine overloaded: the busy loop got only %.0f%% of a core", got)
		}
		t.Errorf("no sample above 50%% in %d samples although the busy loop got %.0f%% of a core", len(samples), got)
	}
	if len(samples) != sum.Samples {
		t.Errorf("OnSample called %d times, Summary.Samples = %d", len(samples), sum.Samples)
	}
	for i, smp := range samples {
		t.Logf("sample %d: cpu %.1f%% user %v sys %v rss %d KiB system cpu %.1f%%", i, smp.TreeCPUPercent,
			smp.TreeUserCPU, smp.TreeSystemCPU, smp.TreeRSS>>10, smp.SystemCPUPercent)
		if i > 0 && !smp.Time.After(samples[i-1].Time) {
			t.Errorf("sample %d time %v not after the previous one", i, smp.Time)
		}
		if smp.SystemCPUPercent < 0 || smp.SystemCPUPercent > 100 {
			t.Errorf("sample %d: SystemCPUPercent = %v, want in [0, 100]", i, smp.SystemCPUPercent)
		}
	}
	if sum.PeakTreeCPUPercent <= 50 || sum.MeanTreeCPUPercent <= 0 {
		t.Errorf("peak %.1f%%, mean %.1f%%, want peak > 50 and mean > 0", sum.PeakTreeCPUPercent, sum.MeanTreeCPUPercent)
	}
	if last := samples[len(samples)-1]; last.TreeUserCPU+last.TreeSystemCPU <= 0 {
		t.Errorf("cumulative CPU %v after a busy loop, want > 0", last.TreeUserCPU+last.TreeSystemCPU)
	}
}

func TestSamplerCountsProcesses(t *testing.T) {
	cmd := startSampled(t, "sleep 30 & sleep 30 & wait")
	rec := newSampleRecorder()
	s := StartSampler(cmd.Process.Pid, SamplerOptions{Interval: 100 * time.Millisecond, OnSample: rec.add})
	rec.waitFor(15*time.Second, func(ss []Sample) bool {
		return len(ss) > 0 && ss[len(ss)-1].TreeProcs >= 3
	})
	sum := s.Stop()
	if sum.PeakTreeProcs < 3 {
		t.Errorf("PeakTreeProcs = %d, want >= 3 (sh and two sleeps)", sum.PeakTreeProcs)
	}
	if sum.PeakTreeThreads < sum.PeakTreeProcs {
		t.Errorf("PeakTreeThreads = %d < PeakTreeProcs = %d", sum.PeakTreeThreads, sum.PeakTreeProcs)
	}
	if runtime.GOOS == "linux" && (sum.MaxTreeReadBytes < 0 || sum.MaxTreeWriteBytes < 0) {
		t.Errorf("I/O counters unknown (%d, %d) for our own children on linux", sum.MaxTreeReadBytes, sum.MaxTreeWriteBytes)
	}
}

func TestSamplerStopIsPrompt(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration // how long to let the sampler run before Stop
	}{
		{"before the first sample", 10 * time.Millisecond},
		{"between samples", 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := startSampled(t, "sleep 5")
			var calls atomic.Int32
			s := StartSampler(cmd.Process.Pid, SamplerOptions{Interval: time.Second, OnSample: func(Sample) { calls.Add(1) }})
			time.Sleep(tt.after)
			begin := time.Now()
			sum := s.Stop()
			if took := time.Since(begin); took > 100*time.Millisecond {
				t.Errorf("Stop took %v, want <= 100ms", took)
			}
			n := calls.Load()
			if int(n) != sum.Samples {
				t.Errorf("OnSample called %d times, Summary.Samples = %d", n, sum.Samples)
			}
			time.Sleep(150 * time.Millisecond)
			if calls.Load() != n {
				t.Error("OnSample called after Stop returned")
			}
			if again := s.Stop(); again != sum {
				t.Errorf("second Stop = %+v, want %+v", again, sum)
			}
		})
	}
}

func TestSamplerIntervalZeroDisables(t *testing.T) {
	cmd := startSampled(t, "sleep 1")
	var calls atomic.Int32
	s := StartSampler(cmd.Process.Pid, SamplerOptions{Interval: 0, OnSample: func(Sample) { calls.Add(1) }})
	time.Sleep(200 * time.Millisecond)
	sum := s.Stop()
	if sum.Samples != 0 || calls.Load() != 0 {
		t.Errorf("Samples = %d, OnSample calls = %d, want none", sum.Samples, calls.Load())
	}
	if sum.MaxTreeReadBytes != -1 || sum.MaxTreeWriteBytes != -1 {
		t.Errorf("I/O maxima = %d, %d, want -1 (unknown)", sum.MaxTreeReadBytes, sum.MaxTreeWriteBytes)
	}
}

func TestSamplerChildGoneGivesNoSamples(t *testing.T) {
	cmd := startSampled(t, "exit 0")
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	s := StartSampler(cmd.Process.Pid, SamplerOptions{Interval: 20 * time.Millisecond})
	time.Sleep(100 * time.Millisecond)
	if sum := s.Stop(); sum.Samples != 0 {
		t.Errorf("Samples = %d for a reaped child, want 0", sum.Samples)
	}
}

// TestSamplerAccount checks the per-tick arithmetic on made-up trees: sums, CPU deltas keyed by
// (PID, start time) so a reused PID is a new process, and unknown I/O.
func TestSamplerAccount(t *testing.T) {
	t0 := time.Unix(1000, 0)
	proc := func(pid int, start uint64, cpu time.Duration, rss uint64, rb, wb int64) proctree.Proc {
		return proctree.Proc{PID: pid, StartTime: start, UserCPU: cpu * 3 / 4, SystemCPU: cpu / 4, RSS: rss, Threads: 2, ReadBytes: rb, WriteBytes: wb}
	}
	type step struct {
		at       time.Duration // since t0
		tree     []proctree.Proc
		wantCPU  float64 // TreeCPUPercent
		wantRSS  uint64
		wantRead int64
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "first sample counts all CPU since start",
			steps: []step{
				{at: time.Second, tree: []proctree.Proc{proc(10, 5, 500*time.Millisecond, 100, 7, 8)}, wantCPU: 50, wantRSS: 100, wantRead: 7},
			},
		},
		{
			name: "delta over two samples and a new child",
			steps: []step{
				{at: time.Second, tree: []proctree.Proc{proc(10, 5, time.Second, 100, 1, 1)}, wantCPU: 100, wantRSS: 100, wantRead: 1},
				{at: 2 * time.Second, tree: []proctree.Proc{proc(10, 5, 1500*time.Millisecond, 100, 1, 1), proc(11, 6, time.Second, 50, 2, 2)}, wantCPU: 150, wantRSS: 150, wantRead: 3},
			},
		},
		{
			name: "reused PID is a new process",
			steps: []step{
				{at: time.Second, tree: []proctree.Proc{proc(10, 5, 100*time.Millisecond, 100, 0, 0), proc(11, 6, 5*time.Second, 10, 0, 0)}, wantCPU: 510, wantRSS: 110, wantRead: 0},
				// PID 11 exited and the kernel handed 11 to a new process with less CPU: its whole
				// CPU counts, nothing negative.
				{at: 2 * time.Second, tree: []proctree.Proc{proc(10, 5, 100*time.Millisecond, 100, 0, 0), proc(11, 9, 200*time.Millisecond, 10, 0, 0)}, wantCPU: 20, wantRSS: 110, wantRead: 0},
			},
		},
		{
			name: "unknown I/O stays -1",
			steps: []step{
				{at: time.Second, tree: []proctree.Proc{proc(10, 5, 0, 100, -1, -1)}, wantCPU: 0, wantRSS: 100, wantRead: -1},
			},
		},
		{
			name: "partly known I/O sums the known",
			steps: []step{
				{at: time.Second, tree: []proctree.Proc{proc(10, 5, 0, 100, -1, -1), proc(11, 6, 0, 1, 40, 2)}, wantCPU: 0, wantRSS: 101, wantRead: 40},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &samplerState{root: 10, prevTime: t0, prevCPU: map[procKey]time.Duration{}, nextCPU: map[procKey]time.Duration{}, sum: newSummary()}
			for i, sp := range tt.steps {
				got := st.account(t0.Add(sp.at), sp.tree)
				st.record(got)
				if diff := got.TreeCPUPercent - sp.wantCPU; diff > 0.001 || diff < -0.001 {
					t.Errorf("step %d: TreeCPUPercent = %v, want %v", i, got.TreeCPUPercent, sp.wantCPU)
				}
				if got.TreeRSS != sp.wantRSS || got.TreeReadBytes != sp.wantRead || got.TreeProcs != len(sp.tree) || got.TreeThreads != 2*len(sp.tree) {
					t.Errorf("step %d: got %+v, want RSS %d, read %d, %d procs", i, got, sp.wantRSS, sp.wantRead, len(sp.tree))
				}
			}
			sum := st.summary()
			if sum.Samples != len(tt.steps) {
				t.Errorf("Samples = %d, want %d", sum.Samples, len(tt.steps))
			}
		})
	}
}

func TestBusyPercent(t *testing.T) {
	tests := []struct {
		name          string
		before, after [4]float64 // user, system, idle, iowait
		want          float64
	}{
		{"half busy", [4]float64{10, 10, 10, 0}, [4]float64{15, 15, 20, 0}, 50},
		{"iowait is idle", [4]float64{0, 0, 0, 0}, [4]float64{1, 0, 2, 1}, 25},
		{"no time passed", [4]float64{1, 1, 1, 1}, [4]float64{1, 1, 1, 1}, 0},
		{"counter went back", [4]float64{5, 5, 5, 0}, [4]float64{1, 1, 1, 0}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mk := func(v [4]float64) cpu.TimesStat {
				return cpu.TimesStat{User: v[0], System: v[1], Idle: v[2], Iowait: v[3]}
			}
			if got := busyPercent(mk(tt.before), mk(tt.after)); got != tt.want {
				t.Errorf("busyPercent = %v, want %v", got, tt.want)
			}
		})
	}
}

// BenchmarkSamplerTick measures one sample of a small live tree (sh with a sleeping child): the
// process-table scan, the tree's /proc/PID/io reads, and the system CPU and memory reads.
func BenchmarkSamplerTick(b *testing.B) {
	cmd := startSampled(b, "sleep 30 & sleep 30 & wait")
	time.Sleep(50 * time.Millisecond)
	st := newSamplerState(cmd.Process.Pid)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := st.tick(); !ok {
			b.Fatal("tick found no tree")
		}
	}
}
