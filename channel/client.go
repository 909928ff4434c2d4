package channel

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mltrack/mltrack/mlflowclient"
)

// ErrUnavailable says the parent could not be reached or did not answer in time: tracking is down,
// not the request wrong. `mltrack log` inside a tracked command turns it into a warning (exit 0).
// Whether a request that timed out was applied is unknown.
var ErrUnavailable = errors.New("the parent mltrack is unavailable")

// ErrTooLarge says a request would exceed MaxRequestBytes; it was not sent.
var ErrTooLarge = errors.New("request too large")

// RequestError is the parent's refusal of a request (a bad name, a file it cannot read, ...).
type RequestError struct {
	Op      string // the request kind, as on the wire ("log_metrics", ...)
	Message string // the parent's explanation
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("the parent mltrack refused %s: %s", e.Op, e.Message)
}

// Client talks to a parent's channel. It is safe for concurrent use: every call uses its own
// connection, so calls never wait for each other.
type Client struct {
	path    string
	timeout time.Duration

	mu      sync.Mutex
	first   net.Conn // the connection Dial made; used by a call that follows soon after
	firstAt time.Time
	closed  bool
}

// reuseFirstWithin is how long the connection made by Dial stays good for the first call; later
// calls connect afresh rather than find it closed by the server's idle timeout.
const reuseFirstWithin = time.Second

// Dial connects to the channel at addr (the value of MLTRACK_CHANNEL: a socket path, optionally
// prefixed "unix:"), so that a parent that is gone is found out now, with a clear error wrapping
// ErrUnavailable. timeout bounds the connection and every later call whose context has no deadline
// (<= 0: DefaultTimeout).
func Dial(addr string, timeout time.Duration) (*Client, error) {
	p := strings.TrimPrefix(addr, "unix:")
	if p == "" {
		return nil, fmt.Errorf("empty channel address (%s)", EnvVar)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Client{path: p, timeout: timeout}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	c.first, c.firstAt = conn, time.Now()
	return c, nil
}

// Close releases the connection Dial made if no call used it. The Client is unusable afterwards.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.first != nil {
		err := c.first.Close()
		c.first = nil
		return err
	}
	return nil
}

// Hello asks the parent about its run.
func (c *Client) Hello(ctx context.Context) (HelloInfo, error) {
	rep, err := c.call(ctx, request{Op: opHello})
	if err != nil {
		return HelloInfo{}, err
	}
	if rep.Hello == nil {
		return HelloInfo{}, fmt.Errorf("%w: its hello reply carried no run", ErrUnavailable)
	}
	return *rep.Hello, nil
}

// LogMetrics logs metric samples into the parent's run (see Metric for the default step and time).
func (c *Client) LogMetrics(ctx context.Context, metrics []Metric) error {
	wm := make([]wireMetric, len(metrics))
	for i, m := range metrics {
		wm[i] = wireMetric{Key: m.Key, Value: wireFloat(m.Value), Timestamp: m.Timestamp, Step: m.Step}
	}
	_, err := c.call(ctx, request{Op: opLogMetrics, Metrics: wm})
	return err
}

// LogParams logs params into the parent's run.
func (c *Client) LogParams(ctx context.Context, params []mlflowclient.Param) error {
	_, err := c.call(ctx, request{Op: opLogParams, Params: params})
	return err
}

// SetTags sets tags on the parent's run.
func (c *Client) SetTags(ctx context.Context, tags []mlflowclient.Tag) error {
	_, err := c.call(ctx, request{Op: opSetTags, Tags: tags})
	return err
}

// LogArtifact asks the parent to record the file localPath (made absolute here, against this
// process's working directory) as artifactPath, the file's path inside the run's artifacts (see
// ArtifactPath). The parent copies the file before it replies, so the file may be deleted after a
// nil return. Copying takes time for a large file: give ctx a deadline that fits.
func (c *Client) LogArtifact(ctx context.Context, localPath, artifactPath string) error {
	abs, err := filepath.Abs(localPath)
	if err != nil {
		return fmt.Errorf("artifact %s: %w", localPath, err)
	}
	_, err = c.call(ctx, request{Op: opLogArtifact, LocalPath: abs, ArtifactPath: artifactPath})
	return err
}

// ArtifactPath is where `mltrack log artifact FILE --artifact-path DIR` puts FILE, as MLflow's
// log_artifact does: DIR (a slash-separated directory inside the run's artifacts, "" for the top)
// followed by the file's base name.
func ArtifactPath(localPath, dir string) string {
	base := filepath.Base(localPath)
	dir = strings.Trim(filepath.ToSlash(dir), "/")
	if dir == "" || dir == "." {
		return base
	}
	return path.Join(dir, base)
}

// ChildStarted tells the parent that this (nested) mltrack started a run with runKey under it.
func (c *Client) ChildStarted(ctx context.Context, runKey string) error {
	_, err := c.call(ctx, request{Op: opChildStarted, RunKey: runKey})
	return err
}

// ChildEnded tells the parent that the nested run ended with status (FINISHED, FAILED or KILLED).
func (c *Client) ChildEnded(ctx context.Context, runKey string, status mlflowclient.RunStatus) error {
	_, err := c.call(ctx, request{Op: opChildEnded, RunKey: runKey, Status: string(status)})
	return err
}

// call sends one request on its own connection and reads the reply. The deadline is ctx's if it
// has one, else the client's timeout from now.
func (c *Client) call(ctx context.Context, req request) (reply, error) {
	req.V = ProtocolVersion
	line, err := json.Marshal(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s: %w", req.Op, err)
	}
	if len(line) > MaxRequestBytes {
		return reply{}, fmt.Errorf("%s: %w (%d bytes, at most %d): send fewer values per call", req.Op, ErrTooLarge, len(line), MaxRequestBytes)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	budget := time.Until(deadline).Round(time.Millisecond)

	conn, err := c.takeFirst()
	if err != nil {
		return reply{}, err
	}
	if conn == nil {
		if conn, err = c.connect(ctx); err != nil {
			return reply{}, err
		}
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	// A cancelled context interrupts a blocked read or write at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	br := bufio.NewReaderSize(conn, 4096)
	if _, werr := conn.Write(append(line, '\n')); werr != nil {
		// The parent may have answered before it hung up (a refused peer, an oversized
		// request): its reply is still there to read.
		b, err := readLine(br, maxReplyBytes)
		if err != nil {
			return reply{}, unavailable(ctx, req.Op, "sending", budget, werr)
		}
		return parseReply(req.Op, b)
	}
	b, err := readLine(br, maxReplyBytes)
	if err != nil {
		return reply{}, unavailable(ctx, req.Op, "waiting for its reply", budget, err)
	}
	return parseReply(req.Op, b)
}

func parseReply(op string, b []byte) (reply, error) {
	var rep reply
	if err := json.Unmarshal(b, &rep); err != nil {
		return reply{}, fmt.Errorf("%w: %s: unreadable reply: %s", ErrUnavailable, op, errText(err))
	}
	if !rep.OK {
		msg := rep.Error
		if msg == "" {
			msg = "no reason given"
		}
		return rep, &RequestError{Op: op, Message: msg}
	}
	return rep, nil
}

func (c *Client) takeFirst() (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("channel client is closed")
	}
	conn := c.first
	c.first = nil
	if conn != nil && time.Since(c.firstAt) > reuseFirstWithin {
		conn.Close()
		conn = nil
	}
	return conn, nil
}

func (c *Client) connect(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.path)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
			return nil, fmt.Errorf("%w: nothing listens at %s (%s); the mltrack that started this command has ended: %w", ErrUnavailable, c.path, EnvVar, err)
		case errors.Is(err, os.ErrPermission):
			return nil, fmt.Errorf("%w: %s (%s) belongs to another user: %w", ErrUnavailable, c.path, EnvVar, err)
		}
		return nil, fmt.Errorf("%w: connecting to %s (%s): %w", ErrUnavailable, c.path, EnvVar, err)
	}
	return conn, nil
}

// unavailable explains a failed exchange: a timeout, a cancellation, or a parent that hung up.
func unavailable(ctx context.Context, op, doing string, budget time.Duration, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, ctx.Err())
	case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: %s: no answer from the parent mltrack within %s; the request may or may not have been applied", ErrUnavailable, op, budget)
	}
	return fmt.Errorf("%w: %s: the parent mltrack hung up while %s: %w", ErrUnavailable, op, doing, err)
}
