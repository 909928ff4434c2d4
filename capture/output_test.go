package capture

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/mltrack/mltrack/redact"
)

func newTestOutput(t testing.TB, cap int64, m *redact.Masker) (*Output, string) {
	t.Helper()
	dir := t.TempDir()
	o, err := NewOutput(OutputOptions{Dir: dir, Cap: cap, Masker: m})
	if err != nil {
		t.Fatal(err)
	}
	return o, dir
}

// writeInPieces writes data to w in pieces of random sizes up to maxPiece, checking that Write takes
// everything.
func writeInPieces(t testing.TB, w io.Writer, data []byte, maxPiece int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 0))
	for len(data) > 0 {
		n := min(len(data), 1+r.IntN(maxPiece))
		got, err := w.Write(data[:n])
		if got != n || err != nil {
			t.Fatalf("Write returned %d, %v for %d bytes", got, err, n)
		}
		data = data[n:]
	}
}

func readLogFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// byArtifact indexes the files by artifact path and checks each one's Kept against its size.
func byArtifact(t testing.TB, files []LogFile) map[string]LogFile {
	t.Helper()
	m := map[string]LogFile{}
	for _, f := range files {
		if _, dup := m[f.ArtifactPath]; dup {
			t.Errorf("artifact %s twice", f.ArtifactPath)
		}
		m[f.ArtifactPath] = f
		st, err := os.Stat(f.LocalPath)
		if err != nil {
			t.Errorf("%s: %v", f.ArtifactPath, err)
			continue
		}
		if st.Size() != f.Kept {
			t.Errorf("%s: Kept %d, file has %d bytes", f.ArtifactPath, f.Kept, st.Size())
		}
		if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f.ArtifactPath, st.Mode().Perm())
		}
	}
	return m
}

func TestOutputSmall(t *testing.T) {
	o, dir := newTestOutput(t, 0, nil)
	fmt.Fprint(o.Stdout(), "hello\n")
	fmt.Fprint(o.Stderr(), "oops\x1b[0m\r\n")
	fmt.Fprint(o.Stdout(), "world")
	files, err := o.Close(false)
	if err != nil {
		t.Fatal(err)
	}
	got := byArtifact(t, files)
	want := map[string]struct {
		content string
		bytes   int64
	}{
		"logs/stdout.log": {"hello\nworld", 11},
		"logs/stdout.txt": {"hello\nworld", 11},
		"logs/stderr.log": {"oops\x1b[0m\r\n", 10},
		"logs/stderr.txt": {"oops\n", 10},
	}
	if len(got) != len(want) {
		t.Errorf("files %v, want %d", files, len(want))
	}
	for path, w := range want {
		f, ok := got[path]
		if !ok {
			t.Errorf("no %s", path)
			continue
		}
		if c := readLogFile(t, f.LocalPath); c != w.content {
			t.Errorf("%s = %q, want %q", path, c, w.content)
		}
		if f.Bytes != w.bytes || f.Truncated {
			t.Errorf("%s: Bytes %d Truncated %v, want %d false", path, f.Bytes, f.Truncated, w.bytes)
		}
		if f.LocalPath != filepath.Join(dir, filepath.FromSlash(path)) {
			t.Errorf("%s at %s", path, f.LocalPath)
		}
		wantStream := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(path, "logs/"), ".log"), ".txt")
		if f.Stream != wantStream || f.Readable != strings.HasSuffix(path, ".txt") {
			t.Errorf("%s: Stream %q Readable %v", path, f.Stream, f.Readable)
		}
	}
	// Nothing else is left in the directory (no ring files).
	entries, _ := os.ReadDir(filepath.Join(dir, "logs"))
	if len(entries) != 4 {
		t.Errorf("logs directory holds %d entries", len(entries))
	}
}

func TestOutputEmptyStreams(t *testing.T) {
	o, dir := newTestOutput(t, 0, nil)
	files, err := o.Close(false)
	if err != nil || len(files) != 0 {
		t.Errorf("nothing written: files %v, err %v", files, err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "logs"))
	if len(entries) != 0 {
		t.Errorf("empty output left %d files", len(entries))
	}

	o, _ = newTestOutput(t, 0, nil)
	o.Stderr().Write([]byte("only stderr\n"))
	o.Stdout().Write(nil)
	files, err = o.Close(false)
	got := byArtifact(t, files)
	if err != nil || len(got) != 2 || got["logs/stderr.log"].Kept != 12 || got["logs/stderr.txt"].Kept != 12 {
		t.Errorf("only stderr: files %+v, err %v", files, err)
	}

	// A stream of control sequences only has a raw log but no readable copy.
	o, _ = newTestOutput(t, 0, nil)
	o.Stdout().Write([]byte("\x1b[?25l\x1b[0m"))
	files, err = o.Close(false)
	if got := byArtifact(t, files); err != nil || len(got) != 1 || got["logs/stdout.log"].Kept != 10 {
		t.Errorf("controls only: files %+v, err %v", files, err)
	}
}

func TestOutputShared(t *testing.T) {
	o, _ := newTestOutput(t, 0, nil)
	o.Stdout().Write([]byte("out\r\nerr\r\n"))
	files, err := o.Close(true)
	if err != nil {
		t.Fatal(err)
	}
	got := byArtifact(t, files)
	if len(got) != 2 || readLogFile(t, got["logs/output.log"].LocalPath) != "out\r\nerr\r\n" ||
		readLogFile(t, got["logs/output.txt"].LocalPath) != "out\nerr\n" || got["logs/output.log"].Stream != "output" {
		t.Errorf("shared: %+v", files)
	}
}

func TestOutputBinary(t *testing.T) {
	var data []byte
	for i := range 10000 {
		data = append(data, byte(i), byte(i*7), 0, 0xff)
	}
	o, _ := newTestOutput(t, 0, nil)
	writeInPieces(t, o.Stdout(), data, 1000, 1)
	files, err := o.Close(false)
	if err != nil {
		t.Fatal(err)
	}
	got := byArtifact(t, files)
	if readLogFile(t, got["logs/stdout.log"].LocalPath) != string(data) {
		t.Error("binary data changed")
	}
}

// capped is what a log with this cap must hold for the (masked) stream s.
func capped(s string, cap int) string {
	if cap == 0 || len(s) <= cap {
		return s
	}
	head, tail := cap/2, cap-cap/2
	out := s[:head]
	if head > 0 && s[head-1] != '\n' {
		out += "\n"
	}
	return out + fmt.Sprintf(markerFormat, len(s)-cap, head, tail) + s[len(s)-tail:]
}

func TestOutputCapExact(t *testing.T) {
	in := "0123456789abcdefghijklmnopqrstuvwxyz" // 36 bytes
	want := "0123456789\n[mltrack: 16 bytes cut here; this log keeps the first 10 and the last 10 bytes]\nqrstuvwxyz"
	if capped(in, 20) != want {
		t.Fatalf("test helper: %q", capped(in, 20))
	}
	for _, piece := range []int{1, 3, 7, 10, 11, 36} {
		o, _ := newTestOutput(t, 20, nil)
		writeInPieces(t, o.Stdout(), []byte(in), piece, uint64(piece))
		files, err := o.Close(false)
		if err != nil {
			t.Fatal(err)
		}
		f := byArtifact(t, files)["logs/stdout.log"]
		if got := readLogFile(t, f.LocalPath); got != want {
			t.Errorf("pieces up to %d: %q, want %q", piece, got, want)
		}
		if f.Bytes != 36 || !f.Truncated {
			t.Errorf("Bytes %d Truncated %v", f.Bytes, f.Truncated)
		}
	}
	// At the cap nothing is cut; one byte more is.
	for _, n := range []int{19, 20, 21} {
		o, _ := newTestOutput(t, 20, nil)
		o.Stdout().Write([]byte(in[:n]))
		files, _ := o.Close(false)
		f := byArtifact(t, files)["logs/stdout.log"]
		if got := readLogFile(t, f.LocalPath); got != capped(in[:n], 20) || f.Truncated != (n > 20) {
			t.Errorf("%d bytes: %q truncated %v", n, got, f.Truncated)
		}
	}
	// A head that ends a line gets no extra newline; an odd cap keeps one more byte at the end.
	for _, tc := range []struct {
		in   string
		cap  int64
		want string
	}{
		{"abcd\nfghijklmnopqrstuvwxyz", 10, "abcd\n" + fmt.Sprintf(markerFormat, 16, 5, 5) + "vwxyz"},
		{"abcdefghij", 5, "ab\n" + fmt.Sprintf(markerFormat, 5, 2, 3) + "hij"},
		{"abcdefghij", 1, fmt.Sprintf(markerFormat, 9, 0, 1) + "j"},
	} {
		o, _ := newTestOutput(t, tc.cap, nil)
		o.Stdout().Write([]byte(tc.in))
		files, _ := o.Close(false)
		if got := readLogFile(t, byArtifact(t, files)["logs/stdout.log"].LocalPath); got != tc.want {
			t.Errorf("cap %d of %q: %q, want %q", tc.cap, tc.in, got, tc.want)
		}
	}
}

func TestOutputCapLarge(t *testing.T) {
	// 5 MiB of numbered lines through a 1 MiB cap, in writes of all sizes (some larger than the tail).
	var in bytes.Buffer
	for i := 0; in.Len() < 5<<20; i++ {
		fmt.Fprintf(&in, "line %d of the output\n", i)
	}
	const cap = 1 << 20
	for _, piece := range []int{100, 70 << 10, 2 << 20} {
		o, _ := newTestOutput(t, cap, nil)
		writeInPieces(t, o.Stdout(), in.Bytes(), piece, 3)
		files, err := o.Close(false)
		if err != nil {
			t.Fatal(err)
		}
		got := byArtifact(t, files)
		if log := readLogFile(t, got["logs/stdout.log"].LocalPath); log != capped(in.String(), cap) {
			t.Errorf("pieces up to %d: log differs (%d bytes)", piece, len(log))
		}
		if txt := readLogFile(t, got["logs/stdout.txt"].LocalPath); txt != capped(in.String(), cap) {
			t.Errorf("pieces up to %d: readable copy differs (%d bytes)", piece, len(txt))
		}
	}
}

func TestOutputSecrets(t *testing.T) {
	secret := "s3cr3t-token-value"
	m := redact.New([]string{secret}, 0)

	// Split across writes.
	o, _ := newTestOutput(t, 0, m)
	o.Stdout().Write([]byte("abc s3cr3t-"))
	o.Stdout().Write([]byte("token-value def\n"))
	o.Stderr().Write([]byte(secret))
	files, err := o.Close(false)
	if err != nil {
		t.Fatal(err)
	}
	got := byArtifact(t, files)
	if s := readLogFile(t, got["logs/stdout.log"].LocalPath); s != "abc *** def\n" {
		t.Errorf("stdout.log = %q", s)
	}
	if s := readLogFile(t, got["logs/stderr.log"].LocalPath); s != "***" {
		t.Errorf("stderr.log = %q", s)
	}
	if got["logs/stdout.log"].Bytes != 27 {
		t.Errorf("Bytes counts what the command wrote: %d", got["logs/stdout.log"].Bytes)
	}

	// Across the head/tail boundary and across the end of the head and the start of the tail, in
	// every position: masking comes first.
	for pos := 0; pos < 40; pos++ {
		in := strings.Repeat("x", pos) + secret + strings.Repeat("y", 60)
		o, _ := newTestOutput(t, 40, m)
		writeInPieces(t, o.Stdout(), []byte(in), 5, uint64(pos))
		files, err := o.Close(false)
		if err != nil {
			t.Fatal(err)
		}
		got := byArtifact(t, files)
		log := readLogFile(t, got["logs/stdout.log"].LocalPath)
		if want := capped(string(m.Bytes([]byte(in))), 40); log != want {
			t.Errorf("secret at %d: %q, want %q", pos, log, want)
		}
		for _, f := range files {
			if c := readLogFile(t, f.LocalPath); strings.Contains(c, secret) || strings.Contains(c, "s3cr3t") {
				t.Errorf("secret at %d: %s holds it: %q", pos, f.ArtifactPath, c)
			}
		}
	}
}

func TestOutputMemory(t *testing.T) {
	total := 200 << 20
	if testing.Short() || outputTestsUnderRace {
		total = 20 << 20
	}
	m := redact.New([]string{"some-secret-value", "another-secret"}, 0)
	o, _ := newTestOutput(t, 1<<20, m)
	chunk := bytes.Repeat([]byte("step 123456 loss=0.123 some-secret-value \r\n"), 32<<10/43)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	written := 0
	for i := 0; written < total; i++ {
		o.Stdout().Write(chunk)
		written += len(chunk)
		if i%500 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	files, err := o.Close(false)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapAlloc)
	if peak > base+4<<20 {
		t.Errorf("heap grew from %d to %d bytes over %d MiB of output", base, peak, written>>20)
	}
	f := byArtifact(t, files)["logs/stdout.log"]
	if f.Bytes != int64(written) || !f.Truncated || f.Kept > 1<<20+200 {
		t.Errorf("Bytes %d (want %d) Kept %d Truncated %v", f.Bytes, written, f.Kept, f.Truncated)
	}
	t.Logf("%d MiB through a 1 MiB cap: heap %d → peak %d bytes", written>>20, base, peak)
}

func TestOutputConcurrent(t *testing.T) {
	o, _ := newTestOutput(t, 4096, redact.New([]string{"hunter22-secret"}, 0))
	var wg sync.WaitGroup
	for _, w := range []io.Writer{o.Stdout(), o.Stderr()} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				w.Write([]byte("a line with hunter22-secret in it\n"))
			}
		}()
	}
	wg.Wait()
	files, err := o.Close(false)
	if err != nil || len(files) != 4 {
		t.Fatalf("files %v err %v", files, err)
	}
	for _, f := range files {
		if strings.Contains(readLogFile(t, f.LocalPath), "hunter22") {
			t.Errorf("%s holds the secret", f.ArtifactPath)
		}
	}
}

func TestOutputDiskError(t *testing.T) {
	o, dir := newTestOutput(t, 0, nil)
	// The log directory disappears: creating the file fails. Writes still succeed.
	if err := os.RemoveAll(filepath.Join(dir, "logs")); err != nil {
		t.Fatal(err)
	}
	if n, err := o.Stdout().Write([]byte("data\n")); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	files, err := o.Close(false)
	if err == nil || !strings.Contains(err.Error(), "stdout log") || len(files) != 0 {
		t.Errorf("files %v, err %v", files, err)
	}
}

func TestOutputAfterClose(t *testing.T) {
	o, _ := newTestOutput(t, 0, nil)
	o.Stdout().Write([]byte("a"))
	if _, err := o.Close(false); err != nil {
		t.Fatal(err)
	}
	if n, err := o.Stdout().Write([]byte("late")); n != 4 || err != nil {
		t.Errorf("write after close: %d, %v", n, err)
	}
	if _, err := o.Close(false); err == nil {
		t.Error("second Close: no error")
	}
}

func TestNewOutputErrors(t *testing.T) {
	if _, err := NewOutput(OutputOptions{}); err == nil {
		t.Error("no directory: no error")
	}
	if _, err := NewOutput(OutputOptions{Dir: t.TempDir(), Cap: -1}); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative cap: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := NewOutput(OutputOptions{Dir: file}); err == nil {
		t.Error("directory is a file: no error")
	}
}

// BenchmarkOutput is the cost the runner's copy loop pays per byte (MB/s), 32 KiB writes into a
// 1 MiB cap, with and without secrets to mask.
func BenchmarkOutput(b *testing.B) {
	chunk := bytes.Repeat([]byte("epoch 3 step 123456 loss=0.1234 lr=3e-4 tokens/s=98765\n"), 32<<10/56)
	for _, bc := range []struct {
		name string
		m    *redact.Masker
		cap  int64
	}{
		{"cap1MiB", nil, 1 << 20},
		{"cap1MiB-3secrets", redact.New([]string{"sk-proj-abcdef012345", "hf_QWERTYuiop123456", "password123"}, 0), 1 << 20},
		{"cap64MiB-3secrets", redact.New([]string{"sk-proj-abcdef012345", "hf_QWERTYuiop123456", "password123"}, 0), 64 << 20},
	} {
		b.Run(bc.name, func(b *testing.B) {
			o, _ := newTestOutput(b, bc.cap, bc.m)
			w := o.Stdout()
			b.SetBytes(int64(len(chunk)))
			b.ResetTimer()
			for range b.N {
				w.Write(chunk)
			}
			b.StopTimer()
			if _, err := o.Close(false); err != nil {
				b.Fatal(err)
			}
		})
	}
}
