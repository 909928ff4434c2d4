package capture

import (
	"fmt"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/mem"

	"github.com/mltrack/mltrack/proctree"
)

// firstSampleDelay is when the first sample is taken after StartSampler: early, so that a command
// that ends within a second still gets a peak, but late enough for the child to have exec'd and
// started its real work.
const firstSampleDelay = 100 * time.Millisecond

// Sample is the resource use of the command's process tree, and of the machine, at one instant.
type Sample struct {
	Time time.Time

	// The process tree rooted at the child: the child and every descendant found by one scan of the
	// process table (proctree). Descendants that re-parented themselves away from the tree
	// (daemonised, orphaned) are not part of it.
	TreeProcs   int
	TreeThreads int
	// TreeRSS is the sum of resident set sizes over the tree, in bytes. Pages shared between
	// processes (fork copy-on-write, shared libraries) are counted once per process, so a tree of
	// forked workers reads higher than the memory it really holds.
	TreeRSS uint64
	// TreeCPUPercent is the CPU the tree used since the previous sample (or since StartSampler for
	// the first one), in percent of one core: 200 means two cores busy. The CPU a process used
	// between the previous sample and its exit is not seen, so short-lived children are
	// under-counted.
	TreeCPUPercent float64
	// TreeUserCPU and TreeSystemCPU are the cumulative CPU times of the processes of the tree that
	// are alive at this sample. When a process exits its CPU leaves the sum, so these can go down;
	// the run's final CPU totals come from the child's wait4 rusage, which includes every
	// descendant the child waited for.
	TreeUserCPU, TreeSystemCPU time.Duration
	// TreeReadBytes and TreeWriteBytes are the cumulative storage I/O (bytes that reached or came
	// from the block layer, not the page cache) of the live processes of the tree, summed over the
	// processes whose counters are readable; -1 when no process's counters could be read (platform
	// or permissions). Like the CPU times they drop when a process exits.
	TreeReadBytes, TreeWriteBytes int64

	// System-wide figures, the same quantities as MLflow's own system metrics
	// (system/cpu_utilization_percentage, system/system_memory_usage_megabytes,
	// system/system_memory_usage_percentage).
	//
	// SystemCPUPercent is the busy share of all cores since the previous sample, 0–100.
	SystemCPUPercent float64
	// SystemMemUsedBytes is total minus available memory (gopsutil's Used); SystemMemPercent is
	// that in percent of total.
	SystemMemUsedBytes uint64
	SystemMemPercent   float64
}

// Summary is what the samples of one run add up to.
type Summary struct {
	Samples         int
	PeakTreeRSS     uint64
	PeakTreeProcs   int
	PeakTreeThreads int
	// PeakTreeCPUPercent is the highest TreeCPUPercent of any sample (percent of one core).
	PeakTreeCPUPercent float64
	// MeanTreeCPUPercent is the tree's CPU over the whole sampled span divided by its length, in
	// percent of one core: a time-weighted mean, so the short first interval does not count as
	// much as a full one.
	MeanTreeCPUPercent   float64
	PeakSystemMemPercent float64
	// MaxTreeReadBytes and MaxTreeWriteBytes are the highest TreeReadBytes/TreeWriteBytes seen;
	// -1 when never known.
	MaxTreeReadBytes, MaxTreeWriteBytes int64
	// Err is the first error met while sampling (the sampler kept going); nil when none.
	Err error
}

// SamplerOptions configures StartSampler.
type SamplerOptions struct {
	// Interval between samples; 0 (or less) disables sampling altogether.
	Interval time.Duration
	// OnSample, when not nil, is called with every sample from the sampler goroutine. It must
	// return quickly (hand the sample over to a queue) and must not call Stop: Stop waits for a
	// call in progress, so that no call happens after Stop returned.
	OnSample func(Sample)
}

// Sampler samples a process tree periodically in its own goroutine until Stop.
type Sampler struct {
	stop     chan struct{} // closed by Stop: wakes the goroutine up
	stopOnce sync.Once

	mu      sync.Mutex
	stopped bool    // set by Stop; the goroutine reports nothing once it is set
	summary Summary // the summary so far
}

// StartSampler starts sampling the tree rooted at pid and returns at once; the first sample is
// taken about 100 ms later (sooner if Interval is shorter), then one every Interval. Call it right
// after the child started: the first sample's CPU percentage counts the tree's CPU since then.
//
// Each sample costs one scan of the process table plus one read of /proc/PID/io per tree process
// and two small system-wide reads (/proc/stat, /proc/meminfo) on Linux; see BenchmarkSamplerTick.
func StartSampler(pid int, opts SamplerOptions) *Sampler {
	s := &Sampler{stop: make(chan struct{}), summary: newSummary()}
	if opts.Interval > 0 {
		go s.run(pid, opts)
	}
	return s
}

// Stop stops sampling and returns the summary of the samples taken. It returns at once, without
// waiting for a sample being taken (on a loaded machine with many processes a scan can take a
// while): that sample is dropped, and the goroutine ends when its scan does. Only an OnSample call
// in progress is waited for. Calling Stop again returns the same summary.
func (s *Sampler) Stop() Summary {
	s.stopOnce.Do(func() { close(s.stop) })
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	return s.summary
}

func newSummary() Summary {
	return Summary{MaxTreeReadBytes: -1, MaxTreeWriteBytes: -1}
}

func (s *Sampler) run(pid int, opts SamplerOptions) {
	st := newSamplerState(pid)
	timer := time.NewTimer(min(firstSampleDelay, opts.Interval))
	defer timer.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-timer.C:
		}
		started := time.Now()
		sample, ok := st.tick()
		if !s.report(st, sample, ok, opts.OnSample) {
			return
		}
		// Keep the period regular: the next sample is Interval after this one began, or at once
		// when a sample took longer than the interval.
		timer.Reset(max(0, opts.Interval-time.Since(started)))
	}
}

// report publishes one tick under the lock Stop takes, so that nothing is reported after Stop;
// false when Stop was called.
func (s *Sampler) report(st *samplerState, sample Sample, ok bool, onSample func(Sample)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	if ok {
		st.record(sample)
	}
	s.summary = st.summary()
	if ok && onSample != nil {
		onSample(sample)
	}
	return true
}

// procKey tells processes apart across samples: the kernel reuses PIDs, and a PID with another
// start time is another process whose CPU must not be subtracted from the old one's.
type procKey struct {
	pid   int
	start uint64
}

// samplerState is everything one sampler carries from one tick to the next. Only the sampler
// goroutine (or a benchmark) touches it.
type samplerState struct {
	root int

	prevTime time.Time
	prevCPU  map[procKey]time.Duration
	nextCPU  map[procKey]time.Duration // reused to avoid allocating a map per tick

	prevSys   cpu.TimesStat
	prevSysOK bool

	sum      Summary
	treeCPU  time.Duration // tree CPU over all sampled intervals
	sampledT time.Duration // length of all sampled intervals
}

func newSamplerState(root int) *samplerState {
	st := &samplerState{
		root:     root,
		prevTime: time.Now(),
		prevCPU:  map[procKey]time.Duration{},
		nextCPU:  map[procKey]time.Duration{},
		sum:      newSummary(),
	}
	if t, err := cpu.Times(false); err == nil && len(t) > 0 {
		st.prevSys, st.prevSysOK = t[0], true
	}
	return st
}

// tick takes one sample. ok is false when there is nothing to report: the process table could not
// be read, or the child is gone (after it ended the tree is empty and a sample of zeros would only
// drag the means down).
func (st *samplerState) tick() (Sample, bool) {
	snap, err := proctree.Take()
	if err != nil {
		st.noteErr(fmt.Errorf("reading the process table: %w", err))
		return Sample{}, false
	}
	if _, alive := snap.Procs[st.root]; !alive {
		return Sample{}, false
	}
	s := st.account(snap.Taken, snap.Tree(st.root))
	if t, err := cpu.Times(false); err != nil {
		st.noteErr(fmt.Errorf("reading system CPU times: %w", err))
	} else if len(t) > 0 {
		if st.prevSysOK {
			s.SystemCPUPercent = busyPercent(st.prevSys, t[0])
		}
		st.prevSys, st.prevSysOK = t[0], true
	}
	if vm, err := mem.VirtualMemory(); err != nil {
		st.noteErr(fmt.Errorf("reading system memory: %w", err))
	} else {
		s.SystemMemUsedBytes = vm.Used
		s.SystemMemPercent = vm.UsedPercent
	}
	return s, true
}

// account turns the tree seen at one instant into the tree part of a sample, and remembers each
// process's CPU for the next one.
func (st *samplerState) account(taken time.Time, tree []proctree.Proc) Sample {
	s := Sample{Time: taken, TreeProcs: len(tree), TreeReadBytes: -1, TreeWriteBytes: -1}
	var cpuDelta time.Duration
	clear(st.nextCPU)
	for _, p := range tree {
		s.TreeThreads += p.Threads
		s.TreeRSS += p.RSS
		s.TreeUserCPU += p.UserCPU
		s.TreeSystemCPU += p.SystemCPU
		if p.ReadBytes >= 0 {
			s.TreeReadBytes = max(s.TreeReadBytes, 0) + p.ReadBytes
		}
		if p.WriteBytes >= 0 {
			s.TreeWriteBytes = max(s.TreeWriteBytes, 0) + p.WriteBytes
		}
		k := procKey{p.PID, p.StartTime}
		total := p.UserCPU + p.SystemCPU
		st.nextCPU[k] = total
		// A process not seen before started after the previous sample (or is seen for the first
		// time): all its CPU was used in this interval. A reused PID has another start time, so it
		// is such a new process too.
		if d := total - st.prevCPU[k]; d > 0 {
			cpuDelta += d
		}
	}
	st.prevCPU, st.nextCPU = st.nextCPU, st.prevCPU

	elapsed := taken.Sub(st.prevTime)
	st.prevTime = taken
	if elapsed > 0 {
		s.TreeCPUPercent = cpuDelta.Seconds() / elapsed.Seconds() * 100
		st.treeCPU += cpuDelta
		st.sampledT += elapsed
	}
	return s
}

func (st *samplerState) noteErr(err error) {
	if st.sum.Err == nil {
		st.sum.Err = err
	}
}

func (st *samplerState) record(s Sample) {
	sum := &st.sum
	sum.Samples++
	sum.PeakTreeRSS = max(sum.PeakTreeRSS, s.TreeRSS)
	sum.PeakTreeProcs = max(sum.PeakTreeProcs, s.TreeProcs)
	sum.PeakTreeThreads = max(sum.PeakTreeThreads, s.TreeThreads)
	sum.PeakTreeCPUPercent = max(sum.PeakTreeCPUPercent, s.TreeCPUPercent)
	sum.PeakSystemMemPercent = max(sum.PeakSystemMemPercent, s.SystemMemPercent)
	sum.MaxTreeReadBytes = max(sum.MaxTreeReadBytes, s.TreeReadBytes)
	sum.MaxTreeWriteBytes = max(sum.MaxTreeWriteBytes, s.TreeWriteBytes)
}

func (st *samplerState) summary() Summary {
	sum := st.sum
	if st.sampledT > 0 && sum.Samples > 0 {
		sum.MeanTreeCPUPercent = st.treeCPU.Seconds() / st.sampledT.Seconds() * 100
	}
	return sum
}

// busyPercent is the share of non-idle CPU time between two readings of the system-wide counters,
// as psutil.cpu_percent (which MLflow's system metrics use) computes it: guest time is already
// part of user time on Linux, and iowait counts as idle.
func busyPercent(before, after cpu.TimesStat) float64 {
	all := func(t cpu.TimesStat) (total, busy float64) {
		total = t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
		return total, total - t.Idle - t.Iowait
	}
	t1, b1 := all(before)
	t2, b2 := all(after)
	if t2 <= t1 || b2 <= b1 {
		return 0
	}
	return min(100, (b2-b1)/(t2-t1)*100)
}
