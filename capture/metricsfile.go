package capture

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MetricsFileEnv is the variable through which the command learns the metrics file's path.
const MetricsFileEnv = "MLTRACK_METRICS"

// Bounds of the metrics file reader.
const (
	// MaxMetricsLine is the longest line read; a longer one is reported and skipped without
	// being held in memory.
	MaxMetricsLine = 64 << 10
	// MetricsPollBytes is the most one Poll reads; More says when it stopped there.
	MetricsPollBytes = 256 << 10
	// MaxMetricNames caps the distinct names the file may use (each keeps a step counter).
	MaxMetricNames = 10000
	// badTextMax caps the copy of a bad line kept for the report.
	badTextMax = 200
)

// Reasons a line is reported in BadLine. They are fixed phrases, one per kind of problem, so the
// caller can report each kind once (with the first line as an example).
const (
	BadFormat       = "expected NAME VALUE [STEP]"
	BadValue        = "VALUE is not a number (or is out of the float64 range)"
	BadStep         = "STEP is not a whole number"
	BadTooLong      = "line longer than 64 KiB"
	BadTooManyNames = "more than 10000 different metric names"
	// BadRestarted is not a line: the file shrank or was replaced, and is read again from its
	// start. Reported the first time only.
	BadRestarted = "the file was truncated or replaced, so it is read again from its start; append to it (>>) instead of overwriting it"
)

// MetricSample is one metric value read from the metrics file.
type MetricSample struct {
	Name  string
	Value float64
	Step  int64
	Time  time.Time // the `now` of the Poll (or Final) that read the line
}

// BadLine is a line that was skipped, or (Line 0, BadRestarted) an event of the file.
type BadLine struct {
	Line   int    // 1-based line number in the file (counted again from 1 after a restart)
	Text   string // the line, cut to 200 bytes and made valid UTF-8; the lead masks secrets
	Reason string // one of the Bad* constants
}

// MetricsFile reads the metrics side channel: the parent creates an empty file and exports its
// path in MLTRACK_METRICS (MetricsFileEnv); the command appends lines
//
//	NAME VALUE [STEP]
//
// separated by spaces or tabs, each of which becomes a metric sample. Blank lines and lines whose
// first non-blank character is '#' are ignored; "\r\n" line ends are accepted.
//
//   - NAME is any run of non-blank bytes. Only that is checked here: MLflow's name rules are the
//     caller's to apply (mlflowclient.ValidateKey), so a bad name is reported where every other
//     bad name is.
//   - VALUE is a Go float (strconv.ParseFloat: 1, -2.5, 1e-3, 0x1p-2) or nan, inf, +inf, -inf,
//     infinity in any case.
//   - STEP is an integer. Without it, the step is the next of a per-name counter: 0, 1, 2, ...; an
//     explicit step moves the counter past it (the next default is max(steps so far)+1), so
//     mixing both never goes back in steps. A negative step leaves the counter alone.
//
// Every sample gets the time passed to the Poll that read it: the time the line was seen, as
// precise as the polling interval.
//
// Reading is incremental from the last offset with a fixed buffer, so memory does not grow with
// the file. Only complete lines are taken; a line still waiting for its newline is kept (at most
// MaxMetricsLine bytes) for the next Poll, and Final takes it as it is. A file that shrank
// (truncated: `>` instead of `>>`) or was replaced by another file (rename, delete and recreate)
// is read again from its start, after what remained of the old one. A shrunk file is noticed by
// its size, one rewritten to the same size or more by the last 32 bytes read having changed; a
// rewrite that leaves those bytes as they were cannot be told from an append.
//
// On Windows the file cannot be deleted or renamed over while mltrack holds it open: there the
// command can only append to it (or truncate it).
//
// A MetricsFile is not safe for concurrent use; the command may write while it is read.
type MetricsFile struct {
	path      string
	f         *os.File
	offset    int64  // bytes of f read so far (including those held in partial)
	partial   []byte // start of a line without its newline yet
	skipping  bool   // inside an over-long line: dropped up to its newline
	line      int    // lines completed in this file
	names     map[string]*metricName
	restarted bool     // BadRestarted was reported
	tail      [32]byte // the last bytes read, to notice a file overwritten to the same size
	tailLen   int
	more      bool
	done      bool // Final was called
	buf       []byte

	samples []MetricSample
	bad     []BadLine
	now     time.Time
}

type metricName struct {
	name string // kept once, shared by every sample
	next int64  // the next default step
}

// NewMetricsFile creates the file at path, empty and private (0600); it must not exist yet.
func NewMetricsFile(path string) (*MetricsFile, error) {
	w, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("metrics file: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("metrics file: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metrics file: %w", err)
	}
	return &MetricsFile{path: path, f: f, names: map[string]*metricName{}, buf: make([]byte, 32<<10)}, nil
}

// Path is the file's path, to export as MLTRACK_METRICS.
func (m *MetricsFile) Path() string { return m.path }

// Poll reads the complete lines appended since the last Poll, up to MetricsPollBytes.
func (m *MetricsFile) Poll(now time.Time) (samples []MetricSample, bad []BadLine) {
	return m.read(now, false)
}

// More reports whether the last Poll stopped at MetricsPollBytes with more to read. Call Poll
// again (before Final) to keep each batch bounded.
func (m *MetricsFile) More() bool { return m.more }

// Final reads everything that is left, including a last line without its newline. Later calls
// return nothing.
func (m *MetricsFile) Final(now time.Time) (samples []MetricSample, bad []BadLine) {
	return m.read(now, true)
}

// Close releases the file (it is left on disk).
func (m *MetricsFile) Close() error {
	if m.f == nil {
		return nil
	}
	err := m.f.Close()
	m.f = nil
	return err
}

func (m *MetricsFile) read(now time.Time, final bool) ([]MetricSample, []BadLine) {
	if m.done || m.f == nil {
		return nil, nil
	}
	m.samples, m.bad, m.now, m.more = nil, nil, now, false
	budget := int64(MetricsPollBytes)
	if final {
		budget = math.MaxInt64
	}

	cur, curErr := m.f.Stat()
	if onDisk, err := os.Stat(m.path); err == nil && curErr == nil && !os.SameFile(cur, onDisk) {
		// Replaced: finish the old file first (its last line counts as complete: what is
		// appended to it from now on is not looked at), then start on the new one.
		m.readFrom(budget)
		if m.more && !final {
			return m.samples, m.bad // more of the old file first, at the next Poll
		}
		m.endLine()
		if f, err := os.Open(m.path); err == nil {
			m.f.Close()
			m.f = f
			m.restart()
			cur, curErr = m.f.Stat()
		}
	}
	if curErr == nil && (cur.Size() < m.offset || !m.tailIntact()) {
		m.restart()
	}
	m.readFrom(budget)
	if final {
		m.endLine()
		m.done = true
	}
	return m.samples, m.bad
}

// restart reads the current file again from its start, and says so the first time.
func (m *MetricsFile) restart() {
	m.offset, m.partial, m.skipping, m.line, m.tailLen = 0, m.partial[:0], false, 0, 0
	if !m.restarted {
		m.restarted = true
		m.bad = append(m.bad, BadLine{Reason: BadRestarted})
	}
}

// readFrom reads from the offset until end of file or until budget bytes were read.
func (m *MetricsFile) readFrom(budget int64) {
	var read int64
	for read < budget {
		n, err := m.f.ReadAt(m.buf, m.offset)
		if n > 0 {
			m.offset += int64(n)
			read += int64(n)
			m.keepTail(m.buf[:n])
			m.consume(m.buf[:n])
		}
		if err != nil || n == 0 {
			// io.EOF, or a read error, which is like the end for now: the next Poll retries.
			return
		}
		if n < len(m.buf) {
			return // at the end for now
		}
	}
	m.more = true
}

// keepTail remembers the last bytes read, which tailIntact checks at the next Poll.
func (m *MetricsFile) keepTail(chunk []byte) {
	if len(chunk) >= len(m.tail) {
		m.tailLen = copy(m.tail[:], chunk[len(chunk)-len(m.tail):])
		return
	}
	keep := min(m.tailLen, len(m.tail)-len(chunk))
	copy(m.tail[:], m.tail[m.tailLen-keep:m.tailLen])
	m.tailLen = keep + copy(m.tail[keep:], chunk)
}

// tailIntact reports whether the bytes just before the offset are still those that were read:
// a file overwritten with as much text as before (`echo "step 5" > $MLTRACK_METRICS` after
// `echo "step 4" > ...`) has not shrunk, but has changed there.
func (m *MetricsFile) tailIntact() bool {
	if m.tailLen == 0 {
		return true
	}
	var now [len(m.tail)]byte
	n, err := m.f.ReadAt(now[:m.tailLen], m.offset-int64(m.tailLen))
	if n < m.tailLen {
		return err == nil // a failed read proves nothing; a short one means it shrank
	}
	return bytes.Equal(now[:n], m.tail[:m.tailLen])
}

// consume splits data into lines, keeping an unterminated tail in m.partial.
func (m *MetricsFile) consume(data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			m.hold(data)
			return
		}
		seg := data[:i]
		data = data[i+1:]
		m.line++
		if m.skipping {
			m.skipping = false
			continue
		}
		if len(m.partial) == 0 {
			m.takeLine(seg)
			continue
		}
		if len(m.partial)+len(seg) > MaxMetricsLine {
			m.tooLong(head(m.partial, seg), m.line)
			m.partial = m.partial[:0]
			continue
		}
		m.partial = append(m.partial, seg...)
		m.takeLine(m.partial)
		m.partial = m.partial[:0]
	}
}

// hold keeps the start of a line until its newline comes; past MaxMetricsLine it gives up on it.
func (m *MetricsFile) hold(data []byte) {
	if m.skipping {
		return
	}
	if len(m.partial)+len(data) > MaxMetricsLine {
		m.tooLong(head(m.partial, data), m.line+1)
		m.partial = m.partial[:0]
		m.skipping = true
		return
	}
	m.partial = append(m.partial, data...)
}

// endLine takes the unterminated last line, if any (at the end of a file).
func (m *MetricsFile) endLine() {
	if m.skipping {
		m.skipping = false
		m.line++
		return
	}
	if len(m.partial) > 0 {
		m.line++
		m.takeLine(m.partial)
		m.partial = m.partial[:0]
	}
}

func (m *MetricsFile) tooLong(text []byte, line int) {
	m.bad = append(m.bad, BadLine{Line: line, Text: badText(text), Reason: BadTooLong})
}

func (m *MetricsFile) takeLine(b []byte) {
	if len(b) > MaxMetricsLine {
		m.tooLong(b, m.line)
		return
	}
	name, value, step, hasStep, reason := parseMetricLine(b)
	if reason != "" {
		m.bad = append(m.bad, BadLine{Line: m.line, Text: badText(b), Reason: reason})
		return
	}
	if name == nil {
		return // blank or comment
	}
	n := m.names[string(name)]
	if n == nil {
		if len(m.names) >= MaxMetricNames {
			m.bad = append(m.bad, BadLine{Line: m.line, Text: badText(b), Reason: BadTooManyNames})
			return
		}
		n = &metricName{name: string(name)}
		m.names[n.name] = n
	}
	if !hasStep {
		step = n.next
	}
	if step >= n.next {
		if step < math.MaxInt64 {
			n.next = step + 1
		} else {
			n.next = step
		}
	}
	m.samples = append(m.samples, MetricSample{Name: n.name, Value: value, Step: step, Time: m.now})
}

// parseMetricLine parses "NAME VALUE [STEP]". A blank or comment line gives a nil name and no
// reason; a malformed one gives the reason (a Bad* constant).
func parseMetricLine(b []byte) (name []byte, value float64, step int64, hasStep bool, reason string) {
	var fields [4][]byte
	n := 0
	for i := 0; i < len(b); {
		for i < len(b) && isBlank(b[i]) {
			i++
		}
		if i == len(b) {
			break
		}
		j := i
		for j < len(b) && !isBlank(b[j]) {
			j++
		}
		if n == 0 && b[i] == '#' {
			return nil, 0, 0, false, ""
		}
		if n == len(fields) {
			return nil, 0, 0, false, BadFormat
		}
		fields[n] = b[i:j]
		n++
		i = j
	}
	switch n {
	case 0:
		return nil, 0, 0, false, ""
	case 2, 3:
	default:
		return nil, 0, 0, false, BadFormat
	}
	v, err := strconv.ParseFloat(string(fields[1]), 64)
	if err != nil {
		return nil, 0, 0, false, BadValue
	}
	if n == 3 {
		step, err = strconv.ParseInt(string(fields[2]), 10, 64)
		if err != nil {
			return nil, 0, 0, false, BadStep
		}
		hasStep = true
	}
	return fields[0], v, step, hasStep, ""
}

// isBlank is ASCII white space, "\r" included (a CRLF line end is blank at the end of a line).
func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
}

// head is the start of a+b, enough for badText, without copying all of b.
func head(a, b []byte) []byte {
	if len(a) >= badTextMax+utf8.UTFMax {
		return a
	}
	n := min(len(b), badTextMax+utf8.UTFMax-len(a))
	return append(a[:len(a):len(a)], b[:n]...)
}

// badText is a bad line as reported: at most badTextMax bytes (cut at a character boundary),
// valid UTF-8.
func badText(b []byte) string {
	b = bytes.TrimRight(b, "\r")
	if len(b) <= badTextMax {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	n := badTextMax
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return strings.ToValidUTF8(string(b[:n]), "\uFFFD") + "..."
}
