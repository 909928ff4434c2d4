//go:build unix

package capture

import (
	"syscall"
	"testing"
	"time"
)

func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSamplerCostOverTenSeconds runs the sampler at its default-like 1 s interval for 10 s over a
// small tree and reports the CPU this test process used meanwhile (the sampler is the only thing
// working; the test goroutine sleeps). The bound is generous on purpose: it catches a runaway loop,
// not a regression of a few percent; the figure is logged.
func TestSamplerCostOverTenSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 10 s")
	}
	cmd := startSampled(t, "sleep 12 & sleep 12 & wait")
	before := processCPU(t)
	s := StartSampler(cmd.Process.Pid, SamplerOptions{Interval: time.Second})
	time.Sleep(10 * time.Second)
	sum := s.Stop()
	used := processCPU(t) - before
	t.Logf("sampler: %d samples in 10 s at 1 s interval, process CPU %v (%.3f%% of one core), %v per sample",
		sum.Samples, used, used.Seconds()/10*100, used/time.Duration(max(1, sum.Samples)))
	if sum.Samples < 8 || sum.Samples > 11 {
		t.Errorf("Samples = %d in 10 s at 1 s, want 8..11", sum.Samples)
	}
	if used > 500*time.Millisecond {
		t.Errorf("process CPU %v over 10 s of sampling, want < 500ms", used)
	}
}
