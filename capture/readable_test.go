package capture

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

func filterReadable(t testing.TB, in []byte, splits ...int) string {
	t.Helper()
	var buf bytes.Buffer
	r := NewReadable(&buf)
	last := 0
	for _, s := range splits {
		r.Write(in[last:s])
		last = s
	}
	if _, err := r.Write(in[last:]); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestReadable(t *testing.T) {
	var tqdm strings.Builder
	for i := 0; i <= 1000; i++ {
		fmt.Fprintf(&tqdm, "\r\x1b[32m%3d%%|%-20s| %d/1000\x1b[0m", i/10, strings.Repeat("█", i/50), i)
	}
	tqdm.WriteString("\n")
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello\nworld\n", "hello\nworld\n"},
		{"no final newline", "abc", "abc"},
		{"empty lines", "\n\na\n\n", "\n\na\n\n"},
		{"colours", "\x1b[31mred\x1b[0m \x1b[1;4;38;5;208mbold\x1b[m\n", "red bold\n"},
		{"truecolour", "\x1b[38;2;255;0;0mX\x1b[49m\n", "X\n"},
		{"carriage return overwrites", "abcdef\rXY\n", "XYcdef\n"},
		{"crlf is a newline", "line1\r\nline2\r\n", "line1\nline2\n"},
		{"progress bar keeps its final state", "  0%\r 50%\r100%\ndone\n", "100%\ndone\n"},
		{"tqdm 1000 redraws", tqdm.String(), "100%|████████████████████| 1000/1000\n"},
		{"backspace", "abc\b\bX\n", "aXc\n"},
		{"backspace at start", "\b\bab\n", "ab\n"},
		{"spinner", "|\b/\b-\b\\\bdone\n", "done\n"},
		{"erase to end of line", "loading...\r\x1b[Kdone\n", "done\n"},
		{"erase line", "loading...\x1b[2K\rok\n", "ok\n"},
		{"erase line keeps the column", "abcd\x1b[2Kx\n", "    x\n"},
		{"erase to start", "abcdef\x1b[3D\x1b[1K\n", "    ef\n"},
		{"erase characters", "abcdef\r\x1b[2X\n", "  cdef\n"},
		{"delete characters", "abcdef\r\x1b[2Pxy\n", "xyef\n"},
		{"cursor left and right", "abcdef\x1b[4DX\x1b[1CY\n", "abXdYf\n"},
		{"column absolute", "abcdef\x1b[3GX\n", "abXdef\n"},
		{"cursor position column", "abcdef\x1b[5;2HX\n", "aXcdef\n"},
		{"pad right past the end", "a\x1b[3Cb\n", "a   b\n"},
		{"padding bounded by the sequence", "a\x1b[999Cb\n", "a      b\n"},
		{"multi-bar redraw with cursor up", "bar1 10%\nbar2 10%\n\x1b[2A\rbar1 50%\n\rbar2 50%\n", "bar1 50%\nbar2 50%\n"},
		{"rich-style erase upwards", "a\nb\n\x1b[1A\x1b[2K\x1b[1A\x1b[2Kc\nd\n", "c\nd\n"},
		{"previous line", "one\ntwo\x1b[Fxyz\n", "xyz\ntwo"}, // the \n moves down onto "two"
		{"cursor up past the window top", "x\x1b[99Ay\n", "xy\n"},
		{"cursor down stays in the window", "x\x1b[5By\n", "xy\n"},
		{"reverse index", "one\ntwo\x1bMX\n", "oneX\ntwo"},
		{"erase below", "a\nb\nc\x1b[2A\x1b[J\n", "a\n"},
		{"clear screen keeps text", "old\x1b[2J\x1b[Hnew\n", "old\nnew\n"},
		{"osc title with bel", "\x1b]0;my title\x07text\n", "text\n"},
		{"osc hyperlink with st", "\x1b]8;;http://x.y/\x1b\\link\x1b]8;;\x1b\\\n", "link\n"},
		{"unterminated osc ends at newline", "\x1b]0;title\nnext\n", "\nnext\n"},
		{"dcs", "\x1bPq#0;2;0;0;0\x1b\\after\n", "after\n"},
		{"charset selection", "\x1b(Bplain\x1b)0\x1b#8\n", "plain\n"},
		{"private modes", "\x1b[?25lhidden\x1b[?25h \x1b[?1049h\x1b[>4;1m\n", "hidden \n"},
		{"keypad and save cursor", "\x1b=\x1b7a\x1b8b\x1b>\n", "ab\n"},
		{"bel and nul dropped", "ding\x07\x00\x0e\x0f\x7f\n", "ding\n"},
		{"tab kept", "a\tb\n", "a\tb\n"},
		{"vertical tab and form feed are newlines", "a\vb\fc", "a\nb\nc"},
		{"utf-8", "héllo wörld — 日本語 🎉\n", "héllo wörld — 日本語 🎉\n"},
		{"utf-8 overwrite", "日本\r語\n", "語本\n"},
		{"invalid utf-8 kept", "a\xff\xfeb\xc3\n", "a\xff\xfeb\xc3\n"},
		{"truncated utf-8 at the end", "ab\xe6\x97", "ab\xe6\x97"},
		{"esc interrupted by newline", "a\x1b\nb\n", "a\nb\n"},
		{"csi interrupted by control", "a\x1b[3\nb\n", "a\nb\n"},
		{"esc esc", "\x1b\x1b[31mx\n", "x\n"},
		{"marker line survives", "head\n[mltrack: 5 bytes cut here]\ntail", "head\n[mltrack: 5 bytes cut here]\ntail"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := filterReadable(t, []byte(tc.in)); got != tc.want {
				t.Errorf("Readable(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			// Any split into two writes gives the same.
			step := max(1, len(tc.in)/200)
			for cut := 0; cut <= len(tc.in); cut += step {
				if got := filterReadable(t, []byte(tc.in), cut); got != tc.want {
					t.Fatalf("split at %d: got %q, want %q", cut, got, tc.want)
				}
			}
		})
	}
}

func TestReadableLongLine(t *testing.T) {
	line := bytes.Repeat([]byte("0123456789"), readableMaxLine/10*3+7) // three pieces and a bit
	in := append(append([]byte{}, line...), "\nend\n"...)
	if got := filterReadable(t, in); got != string(in) {
		t.Errorf("long line changed: %d bytes in, %d out", len(in), len(got))
	}
	// Only the last piece can still be overwritten.
	in = append(append([]byte{}, line...), "\rXY\n"...)
	got := filterReadable(t, in)
	piece := readableMaxLine * (len(line) / readableMaxLine)
	want := string(line[:piece]) + "XY" + string(line[piece+2:]) + "\n"
	if got != want {
		t.Errorf("carriage return in a long line: got %d bytes, want %d", len(got), len(want))
	}
}

func TestReadableWindow(t *testing.T) {
	// More lines than the window: all come out, in order.
	var in strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&in, "line %d\n", i)
	}
	if got := filterReadable(t, []byte(in.String())); got != in.String() {
		t.Errorf("1000 lines changed")
	}
}

func TestReadableMemory(t *testing.T) {
	// 32 MiB of one endless line redrawn with \r: memory stays flat.
	total := 32 << 20
	if testing.Short() || outputTestsUnderRace {
		total = 4 << 20
	}
	chunk := bytes.Repeat([]byte("progress 123456789 "), 3000)
	chunk = append(chunk, '\r')
	r := NewReadable(io.Discard)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	for i := 0; i < total/len(chunk); i++ {
		r.Write(chunk)
		if i%100 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	r.Close()
	if peak > base+32<<20 {
		t.Errorf("heap grew from %d to %d bytes", base, peak)
	}
}

func TestReadableWriteError(t *testing.T) {
	r := NewReadable(&failingReadableDst{})
	r.Write(bytes.Repeat([]byte("line\n"), 100000))
	if err := r.Close(); err == nil {
		t.Error("no error from a failing writer")
	}
}

type failingReadableDst struct{}

func (failingReadableDst) Write(p []byte) (int, error) { return 0, io.ErrShortWrite }

// FuzzReadable: no panic, the same result however the input is split, and never longer than the
// input.
func FuzzReadable(f *testing.F) {
	f.Add([]byte("\x1b[31mred\x1b[0m\r\nab\rc\b\x1b[2K\x1b]0;t\x07\x1b[3A\x1b[5Cx\n"), uint64(1))
	f.Add([]byte("a\x1b[999Cb\x1b[2Kc\x1b[Ad\x1b[J\x1b[2J\xff\xe6\x97"), uint64(2))
	f.Add([]byte("x\ny\nz\x1b[2A\x1b[10Cw\x1b[B\x1b[Pq"), uint64(3))
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		whole := filterReadable(t, in)
		if len(whole) > len(in) {
			t.Fatalf("output (%d bytes) longer than input (%d): %q → %q", len(whole), len(in), in, whole)
		}
		r := rand.New(rand.NewPCG(seed, 1))
		var splits []int
		for p := 0; p < len(in); {
			p += 1 + r.IntN(len(in))
			if p < len(in) {
				splits = append(splits, p)
			}
		}
		if split := filterReadable(t, in, splits...); split != whole {
			t.Fatalf("split %v: %q != %q (input %q)", splits, split, whole, in)
		}
	})
}

// BenchmarkReadable is the cost of making the readable copy at Close.
func BenchmarkReadable(b *testing.B) {
	var text bytes.Buffer
	for i := 0; text.Len() < 1<<20; i++ {
		if i%10 == 0 {
			fmt.Fprintf(&text, "\r\x1b[32m%3d%%|%-20s|\x1b[0m", i%100, strings.Repeat("#", i%20))
		} else {
			fmt.Fprintf(&text, "epoch %d step %d loss=%.4f — ok\n", i/100, i, 1/float64(i+1))
		}
	}
	b.SetBytes(int64(text.Len()))
	for range b.N {
		r := NewReadable(io.Discard)
		r.Write(text.Bytes())
		r.Close()
	}
}
