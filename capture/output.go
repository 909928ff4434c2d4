package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/mltrack/mltrack/redact"
)

// OutputOptions configures NewOutput.
type OutputOptions struct {
	// Dir is where the log files are written, in its subdirectory "logs" (created). It should be a
	// private directory the caller made and removes after the upload: the files are 0600 but may
	// still hold secrets the Masker does not know.
	Dir string
	// Cap is how many bytes of each stream are kept; 0 keeps everything. Over the cap the log keeps
	// the first Cap/2 bytes and the last Cap-Cap/2, with a marker line between saying how many bytes
	// were cut. The count is of masked bytes.
	Cap int64
	// Masker masks secrets before anything reaches the disk (and before the cap, so a secret that
	// straddles the cut is still masked). Nil masks nothing.
	Masker *redact.Masker
}

// LogFile is one log file to upload as an artifact.
type LogFile struct {
	// Stream is "stdout", "stderr", or "output" when both shared one terminal.
	Stream string
	// Readable is true for the .txt copy with terminal control sequences removed and redraws
	// collapsed (see Readable); false for the .log file, which has the bytes as written (masked).
	Readable bool
	// LocalPath is the file; ArtifactPath its name in the run: logs/stdout.log, logs/stdout.txt, …
	LocalPath, ArtifactPath string
	// Bytes is how many bytes the command wrote to the stream (before masking and the cap).
	Bytes int64
	// Kept is the size of the file at LocalPath.
	Kept int64
	// Truncated is true when the middle of the stream was cut because of the cap.
	Truncated bool
}

// Output collects a command's stdout and stderr into log files: raw (masked) bytes in
// logs/<stream>.log and a readable copy in logs/<stream>.txt.
//
// The writers never fail and never hold the command up for more than a buffered file write: Write
// always returns len(p), nil; a disk error stops that stream's log and is reported by Close. Memory
// does not grow with the output: the head of a stream goes to its log file, and over the cap the tail
// is kept in a ring file on disk that is written cyclically and put back in order at Close.
//
// Stdout and Stderr may be written concurrently with each other; each one by one writer at a time.
type Output struct {
	opts    OutputOptions
	dir     string // opts.Dir/logs
	streams [2]*stream

	mu     sync.Mutex
	closed bool
}

// markerFormat is the line put where bytes were cut. It starts on a line of its own.
const markerFormat = "[mltrack: %d bytes cut here; this log keeps the first %d and the last %d bytes]\n"

// NewOutput prepares the log directory; the files are created on the first byte of each stream.
func NewOutput(opts OutputOptions) (*Output, error) {
	if opts.Dir == "" {
		return nil, errors.New("capture: no directory for the output logs")
	}
	if opts.Cap < 0 {
		return nil, fmt.Errorf("capture: output log cap %d is negative; use 0 for no cap", opts.Cap)
	}
	dir := filepath.Join(opts.Dir, "logs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("capture: log directory: %w", err)
	}
	o := &Output{opts: opts, dir: dir}
	for i, name := range []string{"stdout", "stderr"} {
		o.streams[i] = newStream(name, dir, opts)
	}
	return o, nil
}

// Stdout is the writer for the command's standard output (and for both streams when they share a
// terminal).
func (o *Output) Stdout() io.Writer { return o.streams[0] }

// Stderr is the writer for the command's standard error.
func (o *Output) Stderr() io.Writer { return o.streams[1] }

// Close finishes the logs and returns the files to upload: for each stream that received bytes,
// logs/<name>.log and, unless it reads as nothing, logs/<name>.txt. A stream that received nothing
// has no files (an empty artifact says nothing the missing one does not). With shared, the stdout
// stream is named "output" (logs/output.log): stdout and stderr came through one pty; anything that
// still came through Stderr is kept as stderr.
//
// The readable copies are made here, reading the raw files back: this costs time in proportion to
// what was kept (BenchmarkReadable: 50–140 MB/s on one loaded core, so about a second per 100 MB;
// with Cap 0 it grows with the output). Writes after Close are ignored. On error the files returned
// are still complete files but may miss what could not be written; the error says which stream.
func (o *Output) Close(shared bool) ([]LogFile, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil, errors.New("capture: output closed twice")
	}
	o.closed = true
	var files []LogFile
	var errs []error
	for i, s := range o.streams {
		name := s.name
		if i == 0 && shared {
			name = "output"
		}
		fs, err := s.finish(name)
		files = append(files, fs...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s log: %w", name, err))
		}
	}
	return files, errors.Join(errs...)
}

// stream is one of the command's output streams on its way to disk: masker, then cap.
type stream struct {
	name string
	dir  string

	mu     sync.Mutex
	seen   int64          // bytes the command wrote
	in     io.WriteCloser // what Write feeds: the masker in front of file, or file itself
	file   *capFile
	closed bool
}

func newStream(name, dir string, opts OutputOptions) *stream {
	s := &stream{name: name, dir: dir, file: newCapFile(filepath.Join(dir, name+".log"), opts.Cap)}
	if opts.Masker.Len() > 0 {
		s.in = opts.Masker.Writer(s.file)
	} else {
		s.in = logNopCloser{s.file}
	}
	return s
}

type logNopCloser struct{ io.Writer }

func (logNopCloser) Close() error { return nil }

// Write takes a copy of the command's bytes. It always succeeds.
func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return len(p), nil
	}
	s.seen += int64(len(p))
	s.in.Write(p) // capFile never fails; it keeps its error for finish
	return len(p), nil
}

// finish flushes the stream into its final files named after name.
func (s *stream) finish(name string) ([]LogFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.in.Close()
	if s.seen == 0 {
		return nil, nil
	}
	res, err := s.file.finish()
	if res.path == "" {
		return nil, err
	}
	raw := filepath.Join(s.dir, name+".log")
	if raw != res.path {
		if _, statErr := os.Lstat(raw); statErr == nil {
			return nil, errors.Join(err, fmt.Errorf("%s exists already; the log stays in %s", raw, res.path))
		}
		if renameErr := os.Rename(res.path, raw); renameErr != nil {
			return nil, errors.Join(err, fmt.Errorf("name the log: %w", renameErr))
		}
	}
	files := []LogFile{{
		Stream: name, LocalPath: raw, ArtifactPath: "logs/" + name + ".log",
		Bytes: s.seen, Kept: res.size, Truncated: res.truncated,
	}}
	txt := filepath.Join(s.dir, name+".txt")
	size, txtErr := writeReadableCopy(raw, txt)
	switch {
	case txtErr != nil:
		err = errors.Join(err, fmt.Errorf("readable copy: %w", txtErr))
	case size > 0:
		files = append(files, LogFile{
			Stream: name, Readable: true, LocalPath: txt, ArtifactPath: "logs/" + name + ".txt",
			Bytes: s.seen, Kept: size, Truncated: res.truncated,
		})
	}
	return files, err
}

// writeReadableCopy filters the raw log into dst; an empty result is removed.
func writeReadableCopy(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	counter := &logByteCounter{w: out}
	r := NewReadable(counter)
	_, err = io.Copy(r, in)
	err = errors.Join(err, r.Close(), out.Close())
	if err != nil || counter.n == 0 {
		os.Remove(dst)
		return 0, err
	}
	return counter.n, nil
}

type logByteCounter struct {
	w io.Writer
	n int64
}

func (c *logByteCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// capFile writes one stream to disk within a cap: the head to the log file itself, the tail to a
// ring file of the tail's size, and at finish the ring's content, in order, after the head. It never
// returns an error from Write: the first error is kept, later bytes are dropped, and finish
// reports it.
type capFile struct {
	path      string
	unlimited bool
	headLimit int64 // bytes kept at the start
	tailCap   int64 // bytes kept at the end (the ring's size)

	f        *os.File
	w        *bufio.Writer
	headN    int64
	lastByte byte // last byte of the head, to start the marker on its own line

	ring      *os.File
	pend      []byte // tail bytes not yet in the ring: tail positions [tailN-len(pend), tailN)
	pendLimit int
	tailN     int64 // bytes that went to the tail

	err error
}

// ringBuffer is the most of the tail kept in memory between writes to the ring file.
const ringBuffer = 64 << 10

func newCapFile(path string, limit int64) *capFile {
	c := &capFile{path: path, unlimited: limit == 0}
	if !c.unlimited {
		c.headLimit = limit / 2
		c.tailCap = limit - c.headLimit
		c.pendLimit = int(min(ringBuffer, c.tailCap))
	}
	return c
}

func (c *capFile) Write(p []byte) (int, error) {
	n := len(p)
	if c.err != nil || n == 0 {
		return n, nil
	}
	if c.f == nil {
		f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			c.err = err
			return n, nil
		}
		c.f, c.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	if c.unlimited || c.headN < c.headLimit {
		h := len(p)
		if !c.unlimited {
			h = int(min(int64(h), c.headLimit-c.headN))
		}
		if _, err := c.w.Write(p[:h]); err != nil {
			c.err = err
			return n, nil
		}
		c.headN += int64(h)
		c.lastByte = p[h-1]
		p = p[h:]
	}
	if len(p) > 0 {
		c.writeTail(p)
	}
	return n, nil
}

func (c *capFile) writeTail(p []byte) {
	if c.ring == nil {
		ring, err := os.OpenFile(c.path+".tail", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			c.err = err
			return
		}
		c.ring = ring
		c.pend = make([]byte, 0, c.pendLimit)
	}
	if int64(len(p)) >= c.tailCap {
		// Only the last tailCap bytes survive; what is pending would be overwritten.
		c.pend = c.pend[:0]
		skip := int64(len(p)) - c.tailCap
		c.tailN += skip
		c.writeRing(c.tailN, p[skip:])
		c.tailN += c.tailCap
		return
	}
	if len(c.pend)+len(p) > c.pendLimit {
		c.flushPend()
	}
	if len(p) > c.pendLimit {
		c.writeRing(c.tailN, p)
	} else {
		c.pend = append(c.pend, p...)
	}
	c.tailN += int64(len(p))
}

func (c *capFile) flushPend() {
	if len(c.pend) > 0 {
		c.writeRing(c.tailN-int64(len(c.pend)), c.pend)
		c.pend = c.pend[:0]
	}
}

// writeRing writes b (at most tailCap bytes) at tail position pos.
func (c *capFile) writeRing(pos int64, b []byte) {
	if c.err != nil {
		return
	}
	off := pos % c.tailCap
	first := min(int64(len(b)), c.tailCap-off)
	if _, err := c.ring.WriteAt(b[:first], off); err != nil {
		c.err = err
		return
	}
	if first < int64(len(b)) {
		if _, err := c.ring.WriteAt(b[first:], 0); err != nil {
			c.err = err
		}
	}
}

type capResult struct {
	path      string // "" when nothing was written
	size      int64
	truncated bool
}

// finish puts the tail after the head and closes the files.
func (c *capFile) finish() (capResult, error) {
	if c.f == nil {
		return capResult{}, c.err
	}
	res := capResult{path: c.path}
	if c.ring != nil {
		c.flushPend()
		if c.err == nil {
			c.appendTail(&res)
		}
		c.ring.Close()
		os.Remove(c.ring.Name())
	}
	if err := c.w.Flush(); err != nil && c.err == nil {
		c.err = err
	}
	if err := c.f.Close(); err != nil && c.err == nil {
		c.err = err
	}
	if st, err := os.Stat(c.path); err == nil {
		res.size = st.Size()
	}
	return res, c.err
}

func (c *capFile) appendTail(res *capResult) {
	copyRing := func(off, n int64) {
		if c.err != nil || n == 0 {
			return
		}
		if _, err := io.Copy(c.w, io.NewSectionReader(c.ring, off, n)); err != nil {
			c.err = err
		}
	}
	if c.tailN <= c.tailCap {
		copyRing(0, c.tailN)
		return
	}
	res.truncated = true
	if c.headN > 0 && c.lastByte != '\n' {
		c.w.WriteByte('\n')
	}
	fmt.Fprintf(c.w, markerFormat, c.tailN-c.tailCap, c.headLimit, c.tailCap)
	start := c.tailN % c.tailCap
	copyRing(start, c.tailCap-start)
	copyRing(0, start)
}
