package capture

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestMetricsFile(t *testing.T) *MetricsFile {
	t.Helper()
	m, err := NewMetricsFile(filepath.Join(t.TempDir(), "metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func appendMetrics(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// sampleString shows samples compactly: name@step=value.
func sampleString(ss []MetricSample) string {
	var parts []string
	for _, s := range ss {
		parts = append(parts, fmt.Sprintf("%s@%d=%g", s.Name, s.Step, s.Value))
	}
	return strings.Join(parts, " ")
}

func badString(bs []BadLine) string {
	var parts []string
	for _, b := range bs {
		parts = append(parts, fmt.Sprintf("%d:%q:%s", b.Line, b.Text, b.Reason))
	}
	return strings.Join(parts, " | ")
}

func TestMetricsFileCreate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m")
	m, err := NewMetricsFile(p)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Path() != p {
		t.Errorf("Path %q", m.Path())
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Size() != 0 {
		t.Fatalf("file: %v %v", fi, err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := NewMetricsFile(p); err == nil {
		t.Error("a second NewMetricsFile on the same path succeeded")
	}
	if s, b := m.Poll(time.Now()); len(s)+len(b) != 0 {
		t.Errorf("empty file gave %v %v", s, b)
	}
}

func TestMetricsFileLinesAndSteps(t *testing.T) {
	m := newTestMetricsFile(t)
	appendMetrics(t, m.Path(), strings.Join([]string{
		"loss 0.5",
		"loss 0.4",
		"acc 0.9",
		"",
		"   # a comment",
		"#another",
		"loss 0.3 10",   // explicit step moves the counter
		"loss 0.2",      // 11
		"loss 0.25 3",   // an earlier explicit step: counter stays
		"loss 0.1",      // 12
		"\tacc\t0.95\t", // tabs and trailing blanks
		"lr 1e-3\r",     // CRLF
		"neg 1 -5",      // negative step: counter stays at 0
		"neg 2",         // 0
		"x NaN", "x -inf", "x +Infinity", "x 0x1p-2",
		"big 1 9223372036854775807",
		"big 2", // saturates
	}, "\n")+"\n")
	now := time.Unix(1700000000, 0)
	s, b := m.Poll(now)
	want := "loss@0=0.5 loss@1=0.4 acc@0=0.9 loss@10=0.3 loss@11=0.2 loss@3=0.25 loss@12=0.1 acc@1=0.95 lr@0=0.001 " +
		"neg@-5=1 neg@0=2 x@0=NaN x@1=-Inf x@2=+Inf x@3=0.25 big@9223372036854775807=1 big@9223372036854775807=2"
	if got := sampleString(s); got != want {
		t.Errorf("samples\n got %s\nwant %s", got, want)
	}
	if len(b) != 0 {
		t.Errorf("bad lines: %s", badString(b))
	}
	for _, x := range s {
		if !x.Time.Equal(now) {
			t.Fatalf("sample time %v, want the Poll's %v", x.Time, now)
		}
	}
	// Nothing new: nothing returned.
	if s, b := m.Poll(now); len(s)+len(b) != 0 {
		t.Errorf("second poll: %v %v", s, b)
	}
}

func TestMetricsFileValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1", 1, true}, {"-2.5", -2.5, true}, {"1e-3", 1e-3, true}, {".5", 0.5, true}, {"+3", 3, true},
		{"nan", math.NaN(), true}, {"NaN", math.NaN(), true}, {"NAN", math.NaN(), true},
		{"inf", math.Inf(1), true}, {"-inf", math.Inf(-1), true}, {"+Inf", math.Inf(1), true},
		{"INFINITY", math.Inf(1), true}, {"-Infinity", math.Inf(-1), true},
		{"0x1p-2", 0.25, true}, {"1_000", 1000, true}, {"1__0", 0, false}, {"1e999", 0, false}, {"abc", 0, false},
		{"1,5", 0, false}, {"0.5%", 0, false}, {"", 0, false},
	} {
		name, v, _, _, reason := parseMetricLine([]byte("m " + tc.in))
		if !tc.ok {
			if reason == "" && tc.in != "" {
				t.Errorf("%q accepted as %g", tc.in, v)
			}
			continue
		}
		if reason != "" || string(name) != "m" {
			t.Errorf("%q: %s", tc.in, reason)
			continue
		}
		if v != tc.want && !(math.IsNaN(v) && math.IsNaN(tc.want)) {
			t.Errorf("%q = %g, want %g", tc.in, v, tc.want)
		}
	}
}

func TestMetricsFileBadLines(t *testing.T) {
	m := newTestMetricsFile(t)
	appendMetrics(t, m.Path(), strings.Join([]string{
		"loss",                        // 1: too few fields
		"loss 1 2 3",                  // 2: too many
		"loss one",                    // 3: bad value
		"loss 1 two",                  // 4: bad step
		"loss 1 1.5",                  // 5: step not whole
		"loss 1 99999999999999999999", // 6: step out of range
		"good 1",                      // 7
		"café 2",                      // 8: names are not checked here beyond structure
	}, "\n")+"\n")
	s, b := m.Poll(time.Now())
	if got := sampleString(s); got != "good@0=1 café@0=2" {
		t.Errorf("samples %s", got)
	}
	want := []BadLine{
		{1, "loss", BadFormat}, {2, "loss 1 2 3", BadFormat}, {3, "loss one", BadValue},
		{4, "loss 1 two", BadStep}, {5, "loss 1 1.5", BadStep}, {6, "loss 1 99999999999999999999", BadStep},
	}
	if badString(b) != badString(want) {
		t.Errorf("bad\n got %s\nwant %s", badString(b), badString(want))
	}
}

func TestMetricsFilePartialLines(t *testing.T) {
	m := newTestMetricsFile(t)
	appendMetrics(t, m.Path(), "loss 0.")
	if s, _ := m.Poll(time.Now()); len(s) != 0 {
		t.Fatalf("an unterminated line was taken: %v", sampleString(s))
	}
	appendMetrics(t, m.Path(), "5")
	if s, _ := m.Poll(time.Now()); len(s) != 0 {
		t.Fatalf("an unterminated line was taken: %v", sampleString(s))
	}
	appendMetrics(t, m.Path(), "\nacc 1\nlast 7 3")
	s, b := m.Poll(time.Now())
	if got := sampleString(s); got != "loss@0=0.5 acc@0=1" || len(b) != 0 {
		t.Fatalf("got %s, bad %s", got, badString(b))
	}
	s, b = m.Final(time.Now())
	if got := sampleString(s); got != "last@3=7" || len(b) != 0 {
		t.Fatalf("final: %s, bad %s", got, badString(b))
	}
	appendMetrics(t, m.Path(), "after 1\n")
	if s, b := m.Final(time.Now()); len(s)+len(b) != 0 {
		t.Fatal("Final read twice")
	}
	if s, b := m.Poll(time.Now()); len(s)+len(b) != 0 {
		t.Fatal("Poll after Final read")
	}
}

func TestMetricsFileConcurrentWriter(t *testing.T) {
	m := newTestMetricsFile(t)
	const lines = 5000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f, err := os.OpenFile(m.Path(), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		for i := 0; i < lines; i++ {
			l := fmt.Sprintf("m%d %d\n", i%7, i)
			// Split some lines across writes, so a Poll sees half of them.
			if i%3 == 0 {
				k := len(l) / 2
				_, _ = f.WriteString(l[:k])
				_, _ = f.WriteString(l[k:])
			} else {
				_, _ = f.WriteString(l)
			}
		}
	}()
	var all []MetricSample
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		s, b := m.Poll(time.Now())
		if len(b) != 0 {
			t.Fatalf("bad lines: %s", badString(b))
		}
		all = append(all, s...)
	}
	s, b := m.Final(time.Now())
	if len(b) != 0 {
		t.Fatalf("bad lines: %s", badString(b))
	}
	all = append(all, s...)
	if len(all) != lines {
		t.Fatalf("%d samples, want %d", len(all), lines)
	}
	for i, x := range all {
		if x.Name != fmt.Sprintf("m%d", i%7) || x.Value != float64(i) || x.Step != int64(i/7) {
			t.Fatalf("sample %d: %+v", i, x)
		}
	}
}

func TestMetricsFileHugeLine(t *testing.T) {
	m := newTestMetricsFile(t)
	// A 200 KiB line arriving over several polls, then a good line.
	appendMetrics(t, m.Path(), "before 1\nhuge ")
	chunk := strings.Repeat("9", 50<<10)
	var bad []BadLine
	var samples []MetricSample
	for i := 0; i < 4; i++ {
		appendMetrics(t, m.Path(), chunk)
		s, b := m.Poll(time.Now())
		samples, bad = append(samples, s...), append(bad, b...)
		if cap(m.partial) > 2*MaxMetricsLine {
			t.Fatalf("holding %d bytes for one line", cap(m.partial))
		}
	}
	appendMetrics(t, m.Path(), "\nafter 2\n")
	s, b := m.Poll(time.Now())
	samples, bad = append(samples, s...), append(bad, b...)
	if got := sampleString(samples); got != "before@0=1 after@0=2" {
		t.Errorf("samples %s", got)
	}
	if len(bad) != 1 || bad[0].Reason != BadTooLong || bad[0].Line != 2 || !strings.HasPrefix(bad[0].Text, "huge 999") || len(bad[0].Text) > badTextMax+3 {
		t.Errorf("bad %s", badString(bad))
	}

	// In a single write, and unterminated at the end.
	appendMetrics(t, m.Path(), strings.Repeat("x", 100<<10)+"\nok 3\n"+strings.Repeat("y", 70<<10))
	s, b = m.Poll(time.Now())
	if sampleString(s) != "ok@0=3" || len(b) != 2 || b[0].Line != 4 || b[1].Line != 6 || b[0].Reason != BadTooLong {
		t.Errorf("got %s, bad %s", sampleString(s), badString(b))
	}
	s, b = m.Final(time.Now())
	if len(s)+len(b) != 0 {
		t.Errorf("final: %s %s", sampleString(s), badString(b))
	}
}

func TestMetricsFileLongLineJustUnderTheCap(t *testing.T) {
	m := newTestMetricsFile(t)
	name := strings.Repeat("n", MaxMetricsLine-2)
	appendMetrics(t, m.Path(), name+" 1\n")
	s, b := m.Poll(time.Now())
	if len(s) != 1 || s[0].Name != name || len(b) != 0 {
		t.Fatalf("%d samples, bad %s", len(s), badString(b))
	}
	appendMetrics(t, m.Path(), name+" 12\n")
	s, b = m.Poll(time.Now())
	if len(s) != 0 || len(b) != 1 || b[0].Reason != BadTooLong {
		t.Fatalf("one byte over: %d samples, bad %s", len(s), badString(b))
	}
}

func TestMetricsFileTruncated(t *testing.T) {
	m := newTestMetricsFile(t)
	appendMetrics(t, m.Path(), "a 1\na 2\nb 1\n")
	if s, _ := m.Poll(time.Now()); len(s) != 3 {
		t.Fatalf("%d samples", len(s))
	}
	// The command overwrites instead of appending.
	if err := os.WriteFile(m.Path(), []byte("a 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, b := m.Poll(time.Now())
	if sampleString(s) != "a@2=3" || len(b) != 1 || b[0].Reason != BadRestarted || b[0].Line != 0 {
		t.Fatalf("got %s, bad %s", sampleString(s), badString(b))
	}
	// Reported once; later restarts are silent but still read, even to the same size.
	if err := os.WriteFile(m.Path(), []byte("c 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, b = m.Poll(time.Now())
	if sampleString(s) != "c@0=1" || len(b) != 0 {
		t.Fatalf("got %s, bad %s", sampleString(s), badString(b))
	}
	// Overwritten to a larger size.
	if err := os.WriteFile(m.Path(), []byte("d 1\nd 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, b = m.Poll(time.Now())
	if sampleString(s) != "d@0=1 d@1=2" || len(b) != 0 {
		t.Fatalf("got %s, bad %s", sampleString(s), badString(b))
	}
	// Line numbers count from the restart.
	appendMetrics(t, m.Path(), "bad\n")
	if _, b := m.Poll(time.Now()); len(b) != 1 || b[0].Line != 3 {
		t.Fatalf("bad %s", badString(b))
	}
}

func TestMetricsFileReplaced(t *testing.T) {
	m := newTestMetricsFile(t)
	appendMetrics(t, m.Path(), "a 1\n")
	if s, _ := m.Poll(time.Now()); len(s) != 1 {
		t.Fatal("no sample")
	}
	// More is appended to the old file, then a new file takes its place (the editor way:
	// write elsewhere, rename over). The old file's rest, even unterminated, is read first.
	appendMetrics(t, m.Path(), "a 2\na 3")
	tmp := m.Path() + ".new"
	if err := os.WriteFile(tmp, []byte("b 1\nb 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, m.Path()); err != nil {
		t.Skipf("cannot rename over an open file here: %v", err)
	}
	s, b := m.Poll(time.Now())
	if got := sampleString(s); got != "a@1=2 a@2=3 b@0=1 b@1=2" {
		t.Fatalf("got %s", got)
	}
	if len(b) != 1 || b[0].Reason != BadRestarted {
		t.Fatalf("bad %s", badString(b))
	}
	appendMetrics(t, m.Path(), "b 3\n")
	if s, _ := m.Poll(time.Now()); sampleString(s) != "b@2=3" {
		t.Fatalf("after the switch: %s", sampleString(s))
	}
}

func TestMetricsFileDeleted(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("an open file cannot be deleted on Windows")
	}
	m := newTestMetricsFile(t)
	f, err := os.OpenFile(m.Path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, _ = f.WriteString("a 1\n")
	if err := os.Remove(m.Path()); err != nil {
		t.Fatal(err)
	}
	// The command still holds it open and writes on.
	_, _ = f.WriteString("a 2\n")
	s, b := m.Poll(time.Now())
	if sampleString(s) != "a@0=1 a@1=2" || len(b) != 0 {
		t.Fatalf("got %s, bad %s", sampleString(s), badString(b))
	}
	// Recreated: a new file, read from its start.
	if err := os.WriteFile(m.Path(), []byte("c 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, b = m.Poll(time.Now())
	if sampleString(s) != "c@0=5" || len(b) != 1 || b[0].Reason != BadRestarted {
		t.Fatalf("got %s, bad %s", sampleString(s), badString(b))
	}
}

func TestMetricsFilePollIsBounded(t *testing.T) {
	m := newTestMetricsFile(t)
	var sb strings.Builder
	n := 0
	for sb.Len() < 3*MetricsPollBytes {
		fmt.Fprintf(&sb, "m %d\n", n)
		n++
	}
	appendMetrics(t, m.Path(), sb.String())
	var all []MetricSample
	polls := 0
	for {
		s, b := m.Poll(time.Now())
		polls++
		if len(b) != 0 {
			t.Fatalf("bad %s", badString(b))
		}
		all = append(all, s...)
		if !m.More() {
			break
		}
		if polls > 10 {
			t.Fatal("More never became false")
		}
	}
	if polls < 3 {
		t.Errorf("%d polls for %d bytes; want each bounded by %d", polls, sb.Len(), MetricsPollBytes)
	}
	if len(all) != n {
		t.Fatalf("%d samples, want %d", len(all), n)
	}
	for i, x := range all {
		if x.Value != float64(i) || x.Step != int64(i) {
			t.Fatalf("sample %d: %+v", i, x)
		}
	}
}

func TestMetricsFileTooManyNames(t *testing.T) {
	m := newTestMetricsFile(t)
	var sb strings.Builder
	for i := 0; i <= MaxMetricNames; i++ {
		fmt.Fprintf(&sb, "n%d 1\n", i)
	}
	sb.WriteString("n0 2\n") // a known name still works
	appendMetrics(t, m.Path(), sb.String())
	var samples []MetricSample
	var bad []BadLine
	for {
		s, b := m.Poll(time.Now())
		samples, bad = append(samples, s...), append(bad, b...)
		if !m.More() {
			break
		}
	}
	if len(samples) != MaxMetricNames+1 || len(bad) != 1 || bad[0].Reason != BadTooManyNames {
		t.Fatalf("%d samples, bad %s", len(samples), badString(bad))
	}
}

func TestMetricsFileBadText(t *testing.T) {
	long := strings.Repeat("é", 300) // 600 bytes
	got := badText([]byte(long))
	if !strings.HasSuffix(got, "...") || len(got) > badTextMax+3 || !utf8ValidNoReplacement(strings.TrimSuffix(got, "...")) {
		t.Errorf("badText cut badly: %q", got)
	}
	if got := badText([]byte("a\xffb\r")); got != "a\uFFFDb" {
		t.Errorf("badText = %q", got)
	}
}

func utf8ValidNoReplacement(s string) bool {
	return !strings.ContainsRune(s, '\uFFFD') && strings.ToValidUTF8(s, "?") == s
}

func FuzzMetricsFileLine(f *testing.F) {
	for _, s := range []string{"loss 0.5", "loss 0.5 3", "# c", "", "  \t", "a b c d", "x nan -1", "x 1e999", "\xff 1", "a\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		name, _, _, hasStep, reason := parseMetricLine(line)
		if reason != "" {
			if name != nil {
				t.Fatal("a name with a reason")
			}
			return
		}
		if name == nil {
			if hasStep {
				t.Fatal("step without a name")
			}
			return
		}
		// (The reader never passes a '\n': lines are split on it.)
		if len(name) == 0 || bytes.ContainsAny(name, " \t\r\v\f") || name[0] == '#' {
			t.Fatalf("name %q", name)
		}
	})
}

// FuzzMetricsFileChunks checks that how the command's writes are split across polls does not
// change what is read.
func FuzzMetricsFileChunks(f *testing.F) {
	f.Add([]byte("a 1\nb 2 5\nbad\n# c\na 3"), uint16(3), uint16(9))
	f.Add([]byte("x 1\r\n\n\ny nan\n"), uint16(0), uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, cut1, cut2 uint16) {
		if len(data) > 1<<16 {
			return
		}
		c1, c2 := int(cut1)%(len(data)+1), int(cut2)%(len(data)+1)
		if c1 > c2 {
			c1, c2 = c2, c1
		}
		whole := readAllMetrics(t, [][]byte{data})
		split := readAllMetrics(t, [][]byte{data[:c1], data[c1:c2], data[c2:]})
		if whole != split {
			t.Fatalf("whole:\n%s\nsplit at %d,%d:\n%s", whole, c1, c2, split)
		}
	})
}

func readAllMetrics(t *testing.T, chunks [][]byte) string {
	m, err := NewMetricsFile(filepath.Join(t.TempDir(), "m"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var s []MetricSample
	var b []BadLine
	now := time.Unix(1, 0)
	for _, c := range chunks {
		appendMetrics(t, m.Path(), string(c))
		ss, bb := m.Poll(now)
		s, b = append(s, ss...), append(b, bb...)
	}
	ss, bb := m.Final(now)
	s, b = append(s, ss...), append(b, bb...)
	return sampleString(s) + "\n" + badString(b)
}
