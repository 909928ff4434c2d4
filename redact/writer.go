package redact

import (
	"errors"
	"io"
)

// chunkSize is how much of one Write is masked at a time: big enough that the per-chunk work (one
// search per secret) is noise, small enough that memory stays flat for any Write size.
const chunkSize = 64 << 10

// ErrClosed is returned by a Writer used after Close.
var ErrClosed = errors.New("redact: write after close")

// Writer returns a WriteCloser that masks the stream written to it and passes the result to w,
// byte for byte otherwise (binary safe). A secret split across Write calls is still masked: the
// writer holds back at most the longest secret's length minus one byte until it knows whether a
// secret starts there. Close flushes what is held back; it does not close w. The output for a
// whole stream equals m.Bytes of the whole stream, however it was split.
//
// With no secrets (or a nil m) the writer passes every Write straight through.
//
// An error from w is returned by that Write and by every later Write and Close. The writer is not
// safe for concurrent Writes (one stream, one writer).
func (m *Masker) Writer(w io.Writer) io.WriteCloser {
	if m.Len() == 0 {
		return &passWriter{w: w}
	}
	mw := &maskWriter{m: m, w: w}
	mw.st.init(len(m.secrets))
	return mw
}

type passWriter struct {
	w      io.Writer
	closed bool
}

func (p *passWriter) Write(b []byte) (int, error) {
	if p.closed {
		return 0, ErrClosed
	}
	return p.w.Write(b)
}

func (p *passWriter) Close() error {
	p.closed = true
	return nil
}

type maskWriter struct {
	m       *Masker
	w       io.Writer
	st      scanState
	pending []byte // held-back bytes, then the chunk being masked
	out     []byte // reused output buffer
	err     error
	closed  bool
}

func (mw *maskWriter) Write(p []byte) (int, error) {
	if mw.closed {
		return 0, ErrClosed
	}
	if mw.err != nil {
		return 0, mw.err
	}
	total := len(p)
	for len(p) > 0 {
		n := min(len(p), chunkSize)
		mw.pending = append(mw.pending, p[:n]...)
		p = p[n:]
		if err := mw.flush(false); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// Close writes the bytes held back. It does not close the underlying writer.
func (mw *maskWriter) Close() error {
	if mw.closed {
		return mw.err
	}
	mw.closed = true
	if mw.err != nil {
		return mw.err
	}
	return mw.flush(true)
}

func (mw *maskWriter) flush(final bool) error {
	out, done := mw.m.scan(&mw.st, mw.pending, final, mw.out[:0])
	// Keep the held-back bytes at the front of pending for the next chunk.
	rest := copy(mw.pending, mw.pending[done:])
	mw.pending = mw.pending[:rest]
	mw.out = out[:0]
	if len(out) == 0 {
		return nil
	}
	if _, err := mw.w.Write(out); err != nil {
		mw.err = err
		return err
	}
	return nil
}
