package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// outputCopier copies one output stream of the command (the read end of a pipe, or the pty master)
// to mltrack's real file and then to the capture writer, chunk by chunk as it arrives: no buffering,
// so the order of bytes and the command's interactive feel are kept.
type outputCopier struct {
	name    string   // "stdout", "stderr" or "stdout and stderr", for warnings
	src     *os.File // read end of the pipe, or the pty master
	dst     *os.File // mltrack's real stdout/stderr; nil: capture only
	capture io.Writer
	isPTY   bool   // src is a pty master: EIO means every slave holder is gone, and the pty owns src
	holder  string // what the other end looks like in /proc/PID/fd (Linux), to name who holds it

	// pollable: src supports read deadlines, so copying can be bounded precisely; otherwise the
	// copier is abandoned at the deadline unless it is busy writing to dst.
	pollable bool
	done     chan struct{}

	mu         sync.Mutex // guards the fields below and every call of capture
	stopped    bool       // set when Run gives up on this stream; nothing is written afterwards
	writing    bool       // inside a write to dst (the destination is slow, not the source)
	held       bool       // copying ended while another process still held the stream open
	dstErr     error      // first error writing dst
	capturePan any        // panic value of the capture writer, which is then no longer called
}

const copyBufferSize = 32 << 10

func newOutputCopier(name string, src, dst *os.File, capture io.Writer, isPTY bool) *outputCopier {
	c := &outputCopier{name: name, src: src, dst: dst, capture: capture, isPTY: isPTY, done: make(chan struct{})}
	c.pollable = src.SetReadDeadline(time.Time{}) == nil
	if !isPTY {
		c.holder = holderName(src)
	}
	return c
}

func (c *outputCopier) start() { go c.run() }

func (c *outputCopier) run() {
	defer close(c.done)
	buf := make([]byte, copyBufferSize)
	for {
		n, err := c.src.Read(buf)
		if n > 0 && !c.deliver(buf[:n]) {
			return
		}
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			c.drainAfterGrace(buf)
			return
		default:
			// io.EOF; EIO from a pty master once no process holds the slave; the file was closed.
			return
		}
	}
}

// deliver writes one chunk to dst and then to the capture. It returns false when copying must stop.
func (c *outputCopier) deliver(p []byte) bool {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return false
	}
	c.writing = true
	writeDst := c.dst != nil && c.dstErr == nil
	c.mu.Unlock()

	keepReading := true
	var dstErr error
	if writeDst {
		if _, err := c.dst.Write(p); err != nil {
			dstErr = err
			// The reader of mltrack's output went away (`mltrack -- yes | head -1`). Closing our read
			// end makes the command's next write fail with EPIPE/SIGPIPE, exactly as without mltrack.
			keepReading = c.isPTY || !errors.Is(err, syscall.EPIPE)
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.writing = false
	if dstErr != nil {
		c.dstErr = dstErr
	}
	if c.capture != nil && !c.stopped {
		c.writeCapture(p)
	}
	if !keepReading {
		_ = c.src.Close()
	}
	return keepReading
}

// writeCapture calls the capture writer; its errors are ignored and a panic disables it, because
// tracking must never break the command. Called with c.mu held.
func (c *outputCopier) writeCapture(p []byte) {
	defer func() {
		if r := recover(); r != nil {
			c.capturePan = r
			c.capture = nil
		}
	}()
	_, _ = c.capture.Write(p)
}

// drainAfterGrace runs when the read deadline (the command's exit + OutputGrace) passed while the
// stream was still open. Either the copier was slow (mltrack's stdout is a slow pipe) and the
// command's last output is still buffered, or another process still holds the stream open. Copy
// what is buffered now, then look once, without waiting, whether the stream is at its end.
func (c *outputCopier) drainAfterGrace(buf []byte) {
	_ = c.src.SetReadDeadline(time.Time{})
	for n := bytesBuffered(c.src); n > 0; {
		m, err := c.src.Read(buf[:min(n, len(buf))])
		if m > 0 && !c.deliver(buf[:m]) {
			return
		}
		if err != nil {
			return
		}
		n -= m
	}
	n, atEnd := readNoWait(c.src, buf)
	if n > 0 {
		c.deliver(buf[:n])
	}
	if !atEnd {
		c.mu.Lock()
		c.held = true
		c.stopped = true
		c.mu.Unlock()
	}
}

// endBy bounds the copy: reads that would wait past deadline fail, and drainAfterGrace decides.
func (c *outputCopier) endBy(deadline time.Time) {
	if c.pollable {
		_ = c.src.SetReadDeadline(deadline)
	}
}

// wait waits for the copier to finish and reports whether it stopped while the stream was still
// held open by another process. Without read deadlines, it abandons the copier at the deadline
// unless the copier is busy writing to a slow destination.
func (c *outputCopier) wait(deadline time.Time) (held bool) {
	if !c.pollable {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		for waiting := true; waiting; {
			select {
			case <-c.done:
				waiting = false
			case <-t.C:
				c.mu.Lock()
				if c.writing {
					t.Reset(50 * time.Millisecond)
				} else {
					c.stopped, c.held, waiting = true, true, false
				}
				c.mu.Unlock()
			}
		}
	}
	if c.pollable {
		<-c.done
	}
	if !c.isPTY {
		_ = c.src.Close()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held
}

// problems describes what went wrong while copying, as warnings.
func (c *outputCopier) problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	if c.dstErr != nil && !(errors.Is(c.dstErr, syscall.EPIPE) && !c.isPTY) {
		out = append(out, fmt.Sprintf("writing the command's %s to mltrack's %s failed (%v); the rest was only recorded",
			c.name, c.dstName(), c.dstErr))
	}
	if c.capturePan != nil {
		out = append(out, fmt.Sprintf("recording the command's %s failed (panic: %v); the rest was not recorded", c.name, c.capturePan))
	}
	return out
}

func (c *outputCopier) dstName() string {
	if c.dst == nil {
		return "output"
	}
	return c.dst.Name()
}
