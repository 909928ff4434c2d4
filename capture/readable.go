package capture

import (
	"bufio"
	"errors"
	"io"
	"slices"
	"unicode/utf8"
)

// Limits of the readable filter's memory: the lines it may still rewrite.
const (
	// readableMaxLine is the longest line (in characters) kept in memory; a longer line is written
	// out in pieces of this size (joined: no newline is added) and only its last piece can still be
	// rewritten. 1<<18 characters take 1 MiB.
	readableMaxLine = 1 << 18
	// readableWindowLines is how many lines a cursor-up sequence can reach back: enough for
	// multi-line progress displays (tqdm with several bars, docker pull, pip and rich), small enough
	// that lines leave memory soon.
	readableWindowLines = 64
	// readableWindowChars bounds all lines kept together (4 MiB).
	readableWindowChars = 1 << 20
)

// Readable turns terminal output into plain text that reads like the final screen: what a person
// would have seen, not every redraw. It is a streaming filter; memory does not grow with the
// input (see the readable* limits).
//
// What it does:
//   - Removes escape sequences: CSI (colours, modes, cursor moves), OSC (window titles, hyperlinks;
//     ended by BEL or ESC \, or cut at a newline), DCS/SOS/PM/APC strings, charset selections and
//     other two- and three-byte ESC sequences. Other C0 control characters (BEL, NUL, SO, SI…) and
//     DEL are dropped; tabs are kept.
//   - Keeps a cursor: "\r" returns to the start of the line and later characters overwrite, so a
//     progress bar redrawn 1000 times leaves its final state; "\r\n" is a newline; backspace moves
//     left (so "abc\b\bX" reads "aXc"); "\n", VT and FF start a new line.
//   - Applies the cursor moves that redraws use, on the last readableWindowLines lines: up/down
//     (CUU, CUD, CNL, CPL, VPR, ESC M), left/right (CUB, CUF, HPR), to a column (CHA, HPA, the column
//     of CUP), erase in line (EL 0/1/2), erase characters (ECH), delete characters (DCH), erase
//     below (ED 0). Clearing the screen (ED 2/3) starts a new line and keeps what was there.
//     Row addressing (the row of CUP, VPA), scrolling regions and insert modes are not emulated.
//   - Moving right past the end of a line pads with spaces, at most as many as the sequence has
//     bytes; moving up or down clamps the column to the target line's length. So the text is never
//     longer than its input.
//   - Passes UTF-8 through; bytes that are not UTF-8 are kept as they are. Every character counts
//     as one column (wide East Asian characters too).
type Readable struct {
	w   *bufio.Writer
	err error

	state    int
	seqLen   int // bytes in the current escape sequence
	params   [16]int
	nParams  int
	private  bool // CSI with a private marker ('<' '=' '>' '?') or intermediates: not applied
	utf8Buf  [utf8.UTFMax]byte
	utf8Len  int
	lines    []*[]rune // the window, a slice of store; the cursor is in it
	store    []*[]rune
	free     []*[]rune
	scratch  []byte
	row, col int
	closed   bool
}

const (
	stGround = iota
	stEsc    // after ESC
	stEscInt // ESC and intermediate bytes (charset selection and other nF sequences)
	stCSI    // ESC [
	stStr    // OSC, DCS, SOS, PM, APC: until BEL or ST
	stStrEsc // ESC inside a string: ST if followed by '\'
)

// printable marks the bytes that are shown as they are: ' ' to '~'.
var printable = func() (t [256]bool) {
	for b := ' '; b <= '~'; b++ {
		t[b] = true
	}
	return t
}()

// invalidBase maps a byte that is not UTF-8 to a rune that UTF-8 text cannot produce (a lone
// low surrogate), so that the byte comes out unchanged.
const invalidBase = 0xDC00

// NewReadable returns a Readable writing to w. Close writes what is still held.
func NewReadable(w io.Writer) *Readable {
	r := &Readable{w: bufio.NewWriterSize(w, 64<<10)}
	r.store = make([]*[]rune, 2*readableWindowLines+2)
	r.lines = r.store[:1]
	r.lines[0] = r.newLine()
	return r
}

// Write filters p. It returns an error only when the underlying writer failed.
func (r *Readable) Write(p []byte) (int, error) {
	if r.closed {
		return 0, errors.New("capture: readable filter: write after close")
	}
	if r.err != nil {
		return 0, r.err
	}
	for i := 0; i < len(p); i++ {
		b := p[i]
		if r.state == stGround && r.utf8Len == 0 && printable[b] {
			// Fast path: a run of printable ASCII.
			j := i + 1
			for j < len(p) && printable[p[j]] {
				j++
			}
			r.putASCII(p[i:j])
			i = j - 1
			continue
		}
		r.byte(b)
	}
	return len(p), r.err
}

// Close writes the lines still held and flushes. It does not close the underlying writer.
func (r *Readable) Close() error {
	if r.closed {
		return r.err
	}
	r.flushUTF8()
	r.closed = true
	for i, l := range r.lines {
		r.writeLine(*l, i < len(r.lines)-1)
	}
	r.lines = r.lines[:0]
	if err := r.w.Flush(); err != nil && r.err == nil {
		r.err = err
	}
	return r.err
}

func (r *Readable) byte(b byte) {
	r.seqLen++
	switch r.state {
	case stGround:
		r.ground(b)
	case stEsc:
		switch {
		case b == '[':
			r.state = stCSI
			r.nParams, r.params[0], r.private = 0, 0, false
		case b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_':
			r.state = stStr
		case b >= 0x20 && b <= 0x2f:
			r.state = stEscInt
		case b == 'M': // reverse index: up one line
			r.state = stGround
			r.moveRow(-1)
		case b == 'D' || b == 'E': // index, next line
			r.state = stGround
			r.newline()
		case b == 0x1b:
			r.seqLen = 1
		case b >= 0x30 && b <= 0x7e:
			r.state = stGround // ESC 7, ESC 8, ESC =, ESC c, …: nothing to show
		default:
			r.abort(b)
		}
	case stEscInt:
		switch {
		case b >= 0x20 && b <= 0x2f:
		case b >= 0x30 && b <= 0x7e:
			r.state = stGround
		default:
			r.abort(b)
		}
	case stCSI:
		switch {
		case b >= '0' && b <= '9':
			if p := &r.params[r.nParams]; *p < 10000 {
				*p = *p*10 + int(b-'0')
			}
		case b == ';' || b == ':':
			if r.nParams < len(r.params)-1 {
				r.nParams++
				r.params[r.nParams] = 0
			}
		case b >= 0x3c && b <= 0x3f, b >= 0x20 && b <= 0x2f:
			r.private = true
		case b >= 0x40 && b <= 0x7e:
			r.state = stGround
			if !r.private {
				r.csi(b)
			}
		default:
			r.abort(b)
		}
	case stStr:
		switch b {
		case 0x07:
			r.state = stGround
		case 0x1b:
			r.state = stStrEsc
		case '\n', 0x18, 0x1a: // a newline, CAN or SUB ends an unterminated string
			r.abort(b)
		}
	case stStrEsc:
		if b == '\\' {
			r.state = stGround
			return
		}
		// Not ST: the ESC starts a new sequence.
		r.state = stEsc
		r.seqLen = 1
		r.byte(b)
	}
}

// abort ends a malformed sequence and handles b as ordinary input.
func (r *Readable) abort(b byte) {
	r.state = stGround
	r.seqLen = 0
	r.byte(b)
}

func (r *Readable) ground(b byte) {
	if b >= 0x80 {
		r.utf8Buf[r.utf8Len] = b
		r.utf8Len++
		r.decodeUTF8(false)
		return
	}
	r.flushUTF8()
	switch b {
	case 0x1b:
		r.state = stEsc
		r.seqLen = 1
	case '\n', '\v', '\f':
		r.newline()
	case '\r':
		r.col = 0
	case '\b':
		if r.col > 0 {
			r.col--
		}
	case '\t':
		r.put('\t')
	default:
		if b >= 0x20 && b < 0x7f {
			r.put(rune(b))
		}
		// Other C0 controls and DEL: nothing to show.
	}
}

// decodeUTF8 puts the characters complete in utf8Buf; at the end (or before a byte below 0x80)
// an incomplete sequence is kept as raw bytes.
func (r *Readable) decodeUTF8(force bool) {
	for r.utf8Len > 0 {
		buf := r.utf8Buf[:r.utf8Len]
		if !force && !utf8.FullRune(buf) {
			return
		}
		c, size := utf8.DecodeRune(buf)
		if c == utf8.RuneError && size <= 1 {
			c, size = rune(invalidBase+int(buf[0])), 1
		}
		r.put(c)
		r.utf8Len = copy(r.utf8Buf[:], buf[size:])
	}
}

func (r *Readable) flushUTF8() {
	if r.utf8Len > 0 {
		r.decodeUTF8(true)
	}
}

func (r *Readable) newLine() *[]rune {
	if n := len(r.free); n > 0 {
		l := r.free[n-1]
		r.free = r.free[:n-1]
		*l = (*l)[:0]
		return l
	}
	l := make([]rune, 0, 128)
	return &l
}

func (r *Readable) recycle(l *[]rune) {
	if cap(*l) <= 64<<10 && len(r.free) < readableWindowLines {
		r.free = append(r.free, l)
	}
}

func (r *Readable) putASCII(p []byte) {
	for len(p) > 0 {
		l := r.lines[r.row]
		if r.col != len(*l) {
			r.put(rune(p[0])) // overwriting, or padding first
			p = p[1:]
			continue
		}
		// Appending at the end of the line: in bulk, up to the line limit.
		n := min(len(p), readableMaxLine-1-len(*l))
		if n <= 0 {
			r.put(rune(p[0]))
			p = p[1:]
			continue
		}
		start := len(*l)
		*l = append(*l, make([]rune, n)...)
		dst := (*l)[start : start+n]
		for i, b := range p[:n] {
			dst[i] = rune(b)
		}
		r.col += n
		p = p[n:]
	}
}

// put writes c at the cursor.
func (r *Readable) put(c rune) {
	l := r.lines[r.row]
	switch {
	case r.col < len(*l):
		(*l)[r.col] = c
	default:
		for len(*l) < r.col {
			*l = append(*l, ' ')
		}
		*l = append(*l, c)
	}
	r.col++
	if len(*l) >= readableMaxLine {
		r.flushLongLine()
	}
}

// flushLongLine writes out the lines up to the cursor's, the cursor's without a newline: it goes
// on in a fresh piece.
func (r *Readable) flushLongLine() {
	for range r.row {
		r.commitTop()
	}
	l := r.lines[0]
	r.writeLine(*l, false)
	r.col = max(0, r.col-len(*l))
	*l = (*l)[:0]
}

// commitTop writes the top line of the window and drops it.
func (r *Readable) commitTop() {
	top := r.lines[0]
	r.writeLine(*top, true)
	r.lines[0] = nil
	r.lines = r.lines[1:]
	r.recycle(top)
	if r.row > 0 {
		r.row--
	} else {
		r.col = min(r.col, len(*r.lines[0]))
	}
}

func (r *Readable) newline() {
	r.col = 0
	if r.row == len(r.lines)-1 {
		if len(r.lines) == cap(r.lines) {
			// The window reached the end of store: move it back to the start.
			n := copy(r.store, r.lines)
			clear(r.store[n:])
			r.lines = r.store[:n]
		}
		r.lines = append(r.lines, r.newLine())
	}
	r.leaveRow(r.row + 1)
	if len(r.lines) > readableWindowLines {
		r.commitTop()
	}
}

// leaveRow moves the cursor to another row. A line that is left long may make the window too big;
// while no line left behind is longer than readableWindowChars/readableWindowLines, the window
// holds at most readableWindowChars plus the cursor's line, and there is nothing to count.
func (r *Readable) leaveRow(row int) {
	long := len(*r.lines[r.row]) > readableWindowChars/readableWindowLines
	r.row = row
	if !long {
		return
	}
	chars := 0
	for _, l := range r.lines {
		chars += len(*l)
	}
	for chars > readableWindowChars && len(r.lines) > 1 {
		chars -= len(*r.lines[0])
		r.commitTop()
	}
}

func (r *Readable) writeLine(l []rune, newline bool) {
	if r.err != nil {
		return
	}
	buf := slices.Grow(r.scratch[:0], len(l)+1)
	// ASCII first, without a capacity check per byte.
	ascii := buf[:len(l)]
	i := 0
	for ; i < len(l) && l[i] < utf8.RuneSelf; i++ {
		ascii[i] = byte(l[i])
	}
	buf = ascii[:i]
	for _, c := range l[i:] {
		switch {
		case c < utf8.RuneSelf:
			buf = append(buf, byte(c))
		case c >= invalidBase+0x80 && c <= invalidBase+0xff:
			buf = append(buf, byte(c-invalidBase))
		default:
			buf = utf8.AppendRune(buf, c)
		}
	}
	if newline {
		buf = append(buf, '\n')
	}
	if _, err := r.w.Write(buf); err != nil {
		r.err = err
	}
	if cap(buf) <= 64<<10 {
		r.scratch = buf[:0]
	}
}

func (r *Readable) param(i, def int) int {
	if i > r.nParams || r.params[i] == 0 {
		return def
	}
	return r.params[i]
}

// csi applies a CSI sequence ending in final.
func (r *Readable) csi(final byte) {
	n := r.param(0, 1)
	l := r.lines[r.row]
	switch final {
	case 'A': // CUU
		r.moveRow(-n)
	case 'B', 'e': // CUD, VPR
		r.moveRow(n)
	case 'E': // CNL
		r.moveRow(n)
		r.col = 0
	case 'F': // CPL
		r.moveRow(-n)
		r.col = 0
	case 'C', 'a': // CUF, HPR
		r.moveRight(n)
	case 'D': // CUB
		r.col = max(0, r.col-n)
	case 'G', '`': // CHA, HPA
		r.moveToCol(n - 1)
	case 'H', 'f': // CUP: the column only
		r.moveToCol(r.param(1, 1) - 1)
	case 'K': // EL
		switch r.param(0, 0) {
		case 0:
			if r.col < len(*l) {
				*l = (*l)[:r.col]
			}
		case 1:
			for i := 0; i <= r.col && i < len(*l); i++ {
				(*l)[i] = ' '
			}
		case 2:
			*l = (*l)[:0]
		}
	case 'X': // ECH
		for i := r.col; i < r.col+n && i < len(*l); i++ {
			(*l)[i] = ' '
		}
	case 'P': // DCH
		if r.col < len(*l) {
			k := min(n, len(*l)-r.col)
			*l = append((*l)[:r.col], (*l)[r.col+k:]...)
		}
	case 'J': // ED
		switch r.param(0, 0) {
		case 0:
			if r.col < len(*l) {
				*l = (*l)[:r.col]
			}
			for _, below := range r.lines[r.row+1:] {
				r.recycle(below)
			}
			clear(r.lines[r.row+1:])
			r.lines = r.lines[:r.row+1]
		case 2, 3:
			r.newScreen()
		}
	}
}

// newScreen keeps everything shown so far and goes on at the start of a fresh line.
func (r *Readable) newScreen() {
	for len(r.lines) > 1 {
		r.commitTop()
	}
	if l := r.lines[0]; len(*l) > 0 {
		r.writeLine(*l, true)
		*l = (*l)[:0]
	}
	r.row, r.col = 0, 0
}

func (r *Readable) moveRow(d int) {
	r.leaveRow(min(max(0, r.row+d), len(r.lines)-1))
	r.col = min(r.col, len(*r.lines[r.row]))
}

// moveRight moves n columns right; past the end of the line, by no more than the sequence's length
// (and never past readableMaxLine, so padding stays bounded).
func (r *Readable) moveRight(n int) {
	target := r.col + n
	if end := max(r.col, len(*r.lines[r.row])); target > end {
		target = min(target, end+r.seqLen)
	}
	r.col = min(target, readableMaxLine-1)
}

func (r *Readable) moveToCol(c int) {
	c = max(0, c)
	if c > r.col {
		r.moveRight(c - r.col)
		return
	}
	r.col = c
}
