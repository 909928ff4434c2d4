package channel

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/mltrack/mltrack/mlflowclient"
)

// Handler is what the parent does with each request. The server calls it from several goroutines
// at once (one per connection, up to MaxConns), so an implementation must be safe for concurrent
// use; the parent's recorder serialises its store calls anyway. A returned error goes back to the
// client as the reply's message (keep it one line, without secrets). The context is cancelled when
// Close gives up waiting (after CloseGrace); a handler should not block much longer than the
// client's timeout (DefaultTimeout), since the client has stopped waiting by then.
type Handler interface {
	// Hello describes the parent's run.
	Hello(ctx context.Context) (HelloInfo, error)
	// LogMetrics logs samples; keys are valid MLflow names, steps and timestamps are filled in.
	LogMetrics(ctx context.Context, metrics []mlflowclient.Metric) error
	// LogParams logs params; keys are valid MLflow names (values unchecked).
	LogParams(ctx context.Context, params []mlflowclient.Param) error
	// SetTags sets tags; keys are valid MLflow names (values unchecked).
	SetTags(ctx context.Context, tags []mlflowclient.Tag) error
	// LogArtifact records the file at localPath (absolute) as artifactPath (a normalised relative
	// slash path: directories and file name inside the run's artifacts). The client may delete
	// the file as soon as the reply arrives, so the handler must copy it (into its journal)
	// before returning.
	LogArtifact(ctx context.Context, localPath, artifactPath string) error
	// ChildStarted says a nested mltrack started a run with this run key under the parent.
	ChildStarted(ctx context.Context, runKey string) error
	// ChildEnded says that nested run ended; status is FINISHED, FAILED or KILLED.
	ChildEnded(ctx context.Context, runKey string, status mlflowclient.RunStatus) error
}

// socketName is the socket's file name inside the parent's directory.
const socketName = "ch.sock"

// maxSocketPath is the longest socket path used: sun_path holds 104 bytes on macOS and the BSDs
// (108 on Linux and Windows), including the terminating NUL; a few bytes are kept in reserve.
const maxSocketPath = 100

// limits are the server's bounds (the exported constants by default; tests shrink them).
type limits struct {
	maxRequest  int
	maxConns    int
	idle        time.Duration
	grace       time.Duration
	writeReply  time.Duration
	maxSockPath int
	uid         int // the uid peers must have; -1: this process's
}

func defaultLimits() limits {
	return limits{
		maxRequest: MaxRequestBytes, maxConns: MaxConns, idle: IdleTimeout, grace: CloseGrace,
		writeReply: DefaultTimeout, maxSockPath: maxSocketPath, uid: -1,
	}
}

// Server serves one parent's channel.
type Server struct {
	ln      *net.UnixListener
	path    string
	tmpDir  string // a fallback directory made by Listen, removed by Close
	handler Handler
	lim     limits
	steps   stepCounter

	ctx    context.Context // handlers' context, cancelled when Close gives up
	cancel context.CancelFunc

	slots      chan struct{} // one per served connection
	closing    chan struct{}
	acceptDone chan struct{}
	wg         sync.WaitGroup // served connections

	mu     sync.Mutex
	closed bool
	conns  map[*serverConn]struct{}
}

type serverConn struct {
	c    net.Conn
	idle bool // waiting for a request (guarded by Server.mu)
}

// Listen creates the channel's socket in dir, a private directory (0700, owned by this user) of the
// parent, and serves it with handler until Close. When dir's path is too long for a socket
// address, the socket goes to a new private directory under os.TempDir() instead; Addr says where.
func Listen(dir string, handler Handler) (*Server, error) {
	return listen(dir, handler, defaultLimits())
}

func listen(dir string, handler Handler, lim limits) (*Server, error) {
	if handler == nil {
		return nil, errors.New("channel: no handler")
	}
	if err := checkPrivateDir(dir); err != nil {
		return nil, fmt.Errorf("channel: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("channel: %w", err)
	}
	sockPath := filepath.Join(abs, socketName)
	tmpDir := ""
	if len(sockPath) > lim.maxSockPath {
		tmpDir, err = shortPrivateDir(lim.maxSockPath)
		if err != nil {
			return nil, fmt.Errorf("channel: the socket path in %s would be too long (%d bytes, at most %d) and no short directory could be made: %w", abs, len(sockPath), lim.maxSockPath, err)
		}
		sockPath = filepath.Join(tmpDir, socketName)
	}
	cleanup := func() {
		if tmpDir != "" {
			_ = os.RemoveAll(tmpDir)
		}
	}
	if err := removeStaleSocket(sockPath); err != nil {
		cleanup()
		return nil, fmt.Errorf("channel: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sockPath, Net: "unix"})
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("channel: listen on %s: %w", sockPath, err)
	}
	ln.SetUnlinkOnClose(true)
	if runtime.GOOS != "windows" {
		// The directory already keeps others out; this is a second lock on the door.
		if err := os.Chmod(sockPath, 0o600); err != nil {
			ln.Close()
			cleanup()
			return nil, fmt.Errorf("channel: %w", err)
		}
	}
	if lim.uid < 0 {
		lim.uid = os.Geteuid()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		ln: ln, path: sockPath, tmpDir: tmpDir, handler: handler, lim: lim,
		ctx: ctx, cancel: cancel,
		slots:      make(chan struct{}, lim.maxConns),
		closing:    make(chan struct{}),
		acceptDone: make(chan struct{}),
		conns:      map[*serverConn]struct{}{},
	}
	go s.acceptLoop()
	return s, nil
}

// shortPrivateDir makes a new 0700 directory whose socket path fits in max bytes.
func shortPrivateDir(max int) (string, error) {
	bases := []string{os.TempDir()}
	if runtime.GOOS != "windows" {
		bases = append(bases, "/tmp")
	}
	var lastErr error
	for _, base := range bases {
		// MkdirTemp adds up to 10 random digits to the pattern.
		if len(filepath.Join(base, "mlt-0123456789", socketName)) > max {
			lastErr = fmt.Errorf("%s is too long a temporary directory", base)
			continue
		}
		d, err := os.MkdirTemp(base, "mlt-")
		if err != nil {
			lastErr = err
			continue
		}
		if err := os.Chmod(d, 0o700); err != nil && runtime.GOOS != "windows" {
			_ = os.RemoveAll(d)
			lastErr = err
			continue
		}
		return d, nil
	}
	return "", lastErr
}

// removeStaleSocket removes a socket left in the (private) directory by an earlier parent.
func removeStaleSocket(p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&(fs.ModeSocket|fs.ModeIrregular) == 0 {
		return fmt.Errorf("%s exists and is not a socket; not replacing it", p)
	}
	return os.Remove(p)
}

// Addr is the address to export to the command in MLTRACK_CHANNEL (EnvVar): the socket's path.
func (s *Server) Addr() string { return s.path }

func (s *Server) acceptLoop() {
	defer close(s.acceptDone)
	for {
		// Take a slot before accepting: extra clients wait in the listen queue, not in memory.
		select {
		case s.slots <- struct{}{}:
		case <-s.closing:
			return
		}
		c, err := s.ln.Accept()
		if err != nil {
			<-s.slots
			select {
			case <-s.closing:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// EMFILE and the like: back off instead of spinning.
			select {
			case <-time.After(50 * time.Millisecond):
			case <-s.closing:
				return
			}
			continue
		}
		if err := checkPeer(c, s.lim.uid); err != nil {
			s.refuse(c, err)
			<-s.slots
			continue
		}
		sc := &serverConn{c: c}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			<-s.slots
			return
		}
		s.conns[sc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(sc)
	}
}

// refuse tells a peer of another user why it is turned away, then hangs up.
func (s *Server) refuse(c net.Conn, why error) {
	_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	b, _ := json.Marshal(reply{V: ProtocolVersion, Error: why.Error()})
	_, _ = c.Write(append(b, '\n'))
	c.Close()
}

func (s *Server) serve(sc *serverConn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
		sc.c.Close()
		<-s.slots
		s.wg.Done()
	}()
	br := bufio.NewReaderSize(sc.c, 4096)
	for {
		// The idle deadline is set before the connection is marked idle, so that Close (which
		// expires the deadline of idle connections) always has the last word.
		_ = sc.c.SetReadDeadline(time.Now().Add(s.lim.idle))
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		sc.idle = true
		s.mu.Unlock()

		line, err := readLine(br, s.lim.maxRequest)

		s.mu.Lock()
		sc.idle = false
		s.mu.Unlock()
		var rep reply
		switch {
		case errors.Is(err, errTooLarge):
			rep = reply{V: ProtocolVersion, Error: fmt.Sprintf("request larger than %d bytes refused; send fewer values per request", s.lim.maxRequest)}
			s.writeReply(sc.c, rep)
			return // the rest of the line cannot be told from the next request
		case err != nil:
			return // EOF, idle, or closing
		}
		rep = s.handle(line)
		if !s.writeReply(sc.c, rep) {
			return
		}
	}
}

func (s *Server) writeReply(c net.Conn, rep reply) bool {
	b, err := json.Marshal(rep)
	if err != nil {
		b, _ = json.Marshal(reply{V: ProtocolVersion, Error: "mltrack could not encode its reply: " + err.Error()})
	}
	_ = c.SetWriteDeadline(time.Now().Add(s.lim.writeReply))
	_, err = c.Write(append(b, '\n'))
	return err == nil
}

// handle decodes and executes one request. A panicking handler does not take the parent (and so
// the command's bookkeeping) down: it becomes an error reply.
func (s *Server) handle(line []byte) (rep reply) {
	rep.V = ProtocolVersion
	defer func() {
		if p := recover(); p != nil {
			rep = reply{V: ProtocolVersion, Error: fmt.Sprintf("internal error in the parent mltrack: %v", p)}
		}
	}()
	req, err := decodeRequest(line)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	ctx := s.ctx
	switch req.Op {
	case opHello:
		var info HelloInfo
		info, err = s.handler.Hello(ctx)
		if err == nil {
			rep.Hello = &info
		}
	case opLogMetrics:
		err = s.handler.LogMetrics(ctx, s.steps.assign(req.Metrics, time.Now()))
	case opLogParams:
		err = s.handler.LogParams(ctx, req.Params)
	case opSetTags:
		err = s.handler.SetTags(ctx, req.Tags)
	case opLogArtifact:
		err = s.handler.LogArtifact(ctx, req.LocalPath, req.ArtifactPath)
	case opChildStarted:
		err = s.handler.ChildStarted(ctx, req.RunKey)
	case opChildEnded:
		err = s.handler.ChildEnded(ctx, req.RunKey, mlflowclient.RunStatus(req.Status))
	}
	if err != nil {
		rep.Error = err.Error()
		if s.ctx.Err() != nil {
			rep.Error = "the parent mltrack stopped waiting for this request as it shut down: " + rep.Error
		}
		if rep.Error == "" {
			rep.Error = "refused"
		}
		return rep
	}
	rep.OK = true
	return rep
}

// Close stops accepting, hangs up idle connections, and waits up to CloseGrace for requests in
// flight. If a handler is still running then, its context is cancelled, every connection is cut,
// and Close reports it (the handler may still finish later). The socket and any fallback directory
// are removed. Close may be called more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	lnErr := s.ln.Close()
	for sc := range s.conns {
		if sc.idle {
			_ = sc.c.SetReadDeadline(time.Unix(1, 0))
		}
	}
	s.mu.Unlock()
	<-s.acceptDone

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	timer := time.NewTimer(s.lim.grace)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		// Hang up first, so that a handler returning on its cancelled context does not
		// answer with a misleading refusal.
		s.mu.Lock()
		n := len(s.conns)
		for sc := range s.conns {
			sc.c.Close()
		}
		s.mu.Unlock()
		s.cancel()
		err = fmt.Errorf("channel: %d request(s) still running after %s; stopped waiting for them", n, s.lim.grace)
	}
	s.cancel()
	if s.tmpDir != "" {
		_ = os.RemoveAll(s.tmpDir)
	}
	if err == nil && lnErr != nil && !errors.Is(lnErr, net.ErrClosed) {
		err = fmt.Errorf("channel: close: %w", lnErr)
	}
	return err
}

// stepCounter numbers metric samples sent without a step: per name, from 0, continuing after the
// largest step seen for that name.
type stepCounter struct {
	mu   sync.Mutex
	next map[string]int64
}

func (c *stepCounter) assign(in []wireMetric, now time.Time) []mlflowclient.Metric {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next == nil {
		c.next = map[string]int64{}
	}
	out := make([]mlflowclient.Metric, len(in))
	for i, m := range in {
		var step int64
		if m.Step != nil {
			step = *m.Step
		} else {
			step = c.next[m.Key]
		}
		if step >= c.next[m.Key] { // a missing name counts as 0: negative steps do not move it
			if step < math.MaxInt64 {
				c.next[m.Key] = step + 1
			} else {
				c.next[m.Key] = step
			}
		}
		ts := m.Timestamp
		if ts == 0 {
			ts = now.UnixMilli()
		}
		out[i] = mlflowclient.Metric{Key: m.Key, Value: float64(m.Value), Timestamp: ts, Step: step}
	}
	return out
}
